//! TLS to PostgreSQL with libpq's settings, so that a URL that works with `psql` works
//! here: `sslmode` (`disable`, `allow`, `prefer` (the default), `require`, `verify-ca`,
//! `verify-full`), `sslrootcert` (a PEM file of trusted roots, or `system` for the
//! operating system's), and `sslcert` + `sslkey` (a client certificate). The `postgres`
//! crate understands only `disable`, `prefer` and `require` and never checks a
//! certificate itself, so these parameters are taken out of the URL and applied to a
//! rustls configuration here.
//!
//! As in libpq: `prefer` and `require` encrypt without checking who answers, unless a
//! root certificate is given (`sslrootcert`, or for `require` the file
//! `~/.postgresql/root.crt`: then the chain is checked as `verify-ca` does; where libpq's
//! `prefer` would then fall back to plain text on a failed check, this refuses);
//! `verify-ca` checks the chain, `verify-full` the chain and that the certificate names
//! the host connected to. `allow` is taken as `prefer` (it only differs in which of the
//! two, plain or TLS, it tries first).

use super::{DbError, DbResult};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// How the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// Where trusted roots come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    File(PathBuf),
    System,
}

/// The TLS parameters of a URL, and the URL without them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    pub roots: Option<Roots>,
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// The URL as the `postgres` crate reads it (no TLS parameters).
    pub url: String,
}

fn setting_error(message: String) -> DbError {
    DbError::Connection(message)
}

impl TlsSettings {
    /// Reads `sslmode`, `sslrootcert`, `sslcert` and `sslkey` from a `postgres://` URL's
    /// query. `home` is where libpq's default root file (`.postgresql/root.crt`) is
    /// looked for when a `verify-*` mode names none.
    pub fn from_url(url: &str, home: Option<&Path>) -> DbResult<TlsSettings> {
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, q),
            None => (url, ""),
        };
        let (mut mode, mut root, mut cert, mut key) = (None, None, None, None);
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = || {
                percent_encoding::percent_decode_str(value)
                    .decode_utf8()
                    .map(|v| v.into_owned())
                    .map_err(|_| setting_error(format!("{name}: not UTF-8 once decoded")))
            };
            match name {
                "sslmode" => mode = Some(decoded()?),
                "sslrootcert" => root = Some(decoded()?),
                "sslcert" => cert = Some(decoded()?),
                "sslkey" => key = Some(decoded()?),
                _ => kept.push(pair),
            }
        }
        let roots = root.map(|r| {
            if r == "system" {
                Roots::System
            } else {
                Roots::File(PathBuf::from(r))
            }
        });
        let mode = match mode.as_deref() {
            None if roots == Some(Roots::System) => SslMode::VerifyFull,
            None | Some("prefer") | Some("allow") => SslMode::Prefer,
            Some("disable") => SslMode::Disable,
            Some("require") => SslMode::Require,
            Some("verify-ca") => SslMode::VerifyCa,
            Some("verify-full") => SslMode::VerifyFull,
            Some(other) => {
                return Err(setting_error(format!(
                    "sslmode={other} is not one of disable, allow, prefer, require, \
                     verify-ca, verify-full"
                )));
            }
        };
        // libpq refuses the system's roots without the host name check: any public CA
        // would vouch for any server otherwise.
        if roots == Some(Roots::System) && mode != SslMode::VerifyFull {
            return Err(setting_error(
                "sslrootcert=system needs sslmode=verify-full (or no sslmode)".into(),
            ));
        }
        // libpq's default roots file, which also turns `require` into `verify-ca`.
        let home_roots = || {
            home.map(|h| h.join(".postgresql").join("root.crt"))
                .filter(|f| f.is_file())
                .map(Roots::File)
        };
        let roots = match (roots, mode) {
            (None, SslMode::Require) => home_roots(),
            (None, SslMode::VerifyCa | SslMode::VerifyFull) => match home_roots() {
                Some(roots) => Some(roots),
                None => {
                    return Err(setting_error(format!(
                        "sslmode={} needs trusted roots: add sslrootcert=PATH (a PEM \
                             file) or sslrootcert=system to the URL (~/.postgresql/root.crt \
                             does not exist)",
                        mode.name()
                    )));
                }
            },
            (roots, _) => roots,
        };
        let client_cert = match (cert, key) {
            (Some(c), Some(k)) => Some((PathBuf::from(c), PathBuf::from(k))),
            (None, None) => None,
            _ => {
                return Err(setting_error(
                    "sslcert and sslkey go together: give both or neither".into(),
                ));
            }
        };
        let url = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok(TlsSettings {
            mode,
            roots,
            client_cert,
            url,
        })
    }

    /// The `postgres` crate's configuration and the TLS connector that applies the mode.
    pub fn connector(&self) -> DbResult<(postgres::Config, MakeRustlsConnect)> {
        let mut config = postgres::Config::from_str(&self.url)?;
        config.ssl_mode(match self.mode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            _ => postgres::config::SslMode::Require,
        });
        Ok((config, MakeRustlsConnect::new(self.client_config()?)))
    }

    fn client_config(&self) -> DbResult<rustls::ClientConfig> {
        // ring rather than rustls's default aws-lc-rs: it builds with only a C compiler,
        // and quickly. rustls 0.23.48 deprecated it for lacking post-quantum key exchange,
        // which aws-lc-rs would add at the cost of a much larger C build.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = match &self.roots {
            None => None,
            Some(roots) => Some(
                WebPkiServerVerifier::builder_with_provider(
                    Arc::new(load_roots(roots)?),
                    provider.clone(),
                )
                .build()
                .map_err(|e| setting_error(format!("trusted roots: {e}")))?,
            ),
        };
        let verifier = Arc::new(LibpqVerifier {
            chain,
            check_name: self.mode == SslMode::VerifyFull,
            provider: provider.clone(),
        });
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| setting_error(format!("TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        match &self.client_cert {
            None => Ok(builder.with_no_client_auth()),
            Some((cert, key)) => {
                let chain = read_certificates(cert, "sslcert")?;
                let key = PrivateKeyDer::from_pem_file(key)
                    .map_err(|e| setting_error(format!("sslkey {}: {e}", key.display())))?;
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| setting_error(format!("sslcert and sslkey: {e}")))
            }
        }
    }
}

impl SslMode {
    fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Connects as the URL says, TLS included.
pub fn connect(url: &str) -> DbResult<postgres::Client> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let (config, tls) = TlsSettings::from_url(url, home.as_deref())?.connector()?;
    Ok(config.connect(tls)?)
}

fn read_certificates(file: &Path, what: &str) -> DbResult<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| setting_error(format!("{what} {}: {e}", file.display())))?;
    if certs.is_empty() {
        return Err(setting_error(format!(
            "{what} {}: no PEM certificate in it",
            file.display()
        )));
    }
    Ok(certs)
}

fn load_roots(roots: &Roots) -> DbResult<RootCertStore> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::File(file) => {
            for cert in read_certificates(file, "sslrootcert")? {
                store
                    .add(cert)
                    .map_err(|e| setting_error(format!("sslrootcert {}: {e}", file.display())))?;
            }
        }
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(setting_error(
                    "sslrootcert=system: the system has no trusted root certificates \
                     (Debian: the ca-certificates package)"
                        .into(),
                ));
            }
        }
    }
    Ok(store)
}

/// The server's certificate checked as the mode says: not at all without roots (`prefer`,
/// `require`: encrypted, but whoever answers is believed), the chain to a root
/// (`verify-ca`, or roots given with a weaker mode), or the chain and the host's name
/// (`verify-full`). The handshake's signatures are always checked, so the key exchange is
/// sound whatever the mode.
#[derive(Debug)]
struct LibpqVerifier {
    chain: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for LibpqVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        // webpki checks the chain before the name, so a name mismatch is only reported
        // for a certificate whose chain is good.
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            verdict => verdict,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        rustls::crypto::verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn settings(url: &str) -> DbResult<TlsSettings> {
        TlsSettings::from_url(url, None)
    }

    #[test]
    fn default_is_prefer_and_the_url_is_unchanged() {
        let s = settings("postgres://u:p@h:5/db").unwrap();
        assert_eq!(s.mode, SslMode::Prefer);
        assert_eq!((s.roots, s.client_cert), (None, None));
        assert_eq!(s.url, "postgres://u:p@h:5/db");
    }

    #[test]
    fn tls_parameters_are_taken_out_and_others_kept() {
        let s = settings(
            "postgres://h/db?user=u&sslmode=verify-ca&sslrootcert=%2Fetc%2Fca%20x.pem\
             &application_name=ff&sslcert=/c.pem&sslkey=/k.pem",
        )
        .unwrap();
        assert_eq!(s.mode, SslMode::VerifyCa);
        assert_eq!(s.roots, Some(Roots::File("/etc/ca x.pem".into())));
        assert_eq!(
            s.client_cert,
            Some((PathBuf::from("/c.pem"), PathBuf::from("/k.pem")))
        );
        assert_eq!(s.url, "postgres://h/db?user=u&application_name=ff");
    }

    #[test]
    fn libpq_modes() {
        for (mode, want) in [
            ("disable", SslMode::Disable),
            ("allow", SslMode::Prefer),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
        ] {
            let s = settings(&format!("postgres://h/db?sslmode={mode}")).unwrap();
            assert_eq!((s.mode, s.url.as_str()), (want, "postgres://h/db"));
        }
        let err = settings("postgres://h/db?sslmode=verify").unwrap_err();
        assert!(
            err.to_string().contains("sslmode=verify is not one of"),
            "{err}"
        );
    }

    #[test]
    fn system_roots_mean_verify_full_and_nothing_weaker() {
        let s = settings("postgres://h/db?sslrootcert=system").unwrap();
        assert_eq!(
            (s.mode, s.roots),
            (SslMode::VerifyFull, Some(Roots::System))
        );
        let err = settings("postgres://h/db?sslrootcert=system&sslmode=require").unwrap_err();
        assert!(
            err.to_string().contains("needs sslmode=verify-full"),
            "{err}"
        );
    }

    #[test]
    fn verify_modes_need_roots_from_the_url_or_home() {
        for mode in ["verify-ca", "verify-full"] {
            let err = settings(&format!("postgres://h/db?sslmode={mode}")).unwrap_err();
            assert!(err.to_string().contains("add sslrootcert=PATH"), "{err}");
        }
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".postgresql")).unwrap();
        let root = home.path().join(".postgresql/root.crt");
        std::fs::write(&root, "").unwrap();
        let s = TlsSettings::from_url("postgres://h/db?sslmode=verify-full", Some(home.path()))
            .unwrap();
        assert_eq!(s.roots, Some(Roots::File(root.clone())));
        // As in libpq, the file makes `require` check the chain; `prefer` never does.
        let s =
            TlsSettings::from_url("postgres://h/db?sslmode=require", Some(home.path())).unwrap();
        assert_eq!(s.roots, Some(Roots::File(root)));
        let s = TlsSettings::from_url("postgres://h/db", Some(home.path())).unwrap();
        assert_eq!((s.mode, s.roots), (SslMode::Prefer, None));
    }

    #[test]
    fn a_client_certificate_needs_its_key() {
        let err = settings("postgres://h/db?sslcert=/c.pem").unwrap_err();
        assert!(err.to_string().contains("go together"), "{err}");
    }

    #[test]
    fn unreadable_or_empty_root_files_are_named() {
        let s = settings("postgres://h/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")
            .unwrap();
        let err = s.connector().err().unwrap().to_string();
        assert!(err.contains("sslrootcert /nonexistent/ca.pem"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let s = settings(&format!(
            "postgres://h/db?sslmode=verify-ca&sslrootcert={}",
            empty.display()
        ))
        .unwrap();
        let err = s.connector().err().unwrap().to_string();
        assert!(err.contains("no PEM certificate"), "{err}");
    }
}

/// Every mode against a real server with TLS (`scripts/pg-cluster.sh` makes its
/// certificates; `FIREFLY_TEST_POSTGRES_TLS` names their folder), each answer checked
/// against the expected one and against libpq's own (`psql`) on the same URL.
#[cfg(test)]
mod server_tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use postgres::fallible_iterator::FallibleIterator;

    /// What a connection should do: connect in the clear or encrypted as a role, or be
    /// refused with a message containing the text.
    #[derive(Debug, Clone, Copy)]
    enum Want<'a> {
        Clear(&'a str),
        Encrypted(&'a str),
        Refused(&'a str),
    }

    /// Whether the connection is encrypted, and as whom; or the error's text.
    fn ours(url: &str) -> Result<(bool, String), String> {
        let url = url.to_owned();
        std::thread::spawn(move || -> Result<(bool, String), String> {
            let mut client = connect(&url).map_err(|e| e.to_string())?;
            let row = client
                .query_one(
                    "SELECT ssl, current_user::text FROM pg_stat_ssl \
                     WHERE pid = pg_backend_pid()",
                    &[],
                )
                .map_err(|e| e.to_string())?;
            Ok((row.get(0), row.get(1)))
        })
        .join()
        .unwrap()
    }

    /// The same through libpq, if `psql` is installed.
    fn libpq(url: &str) -> Option<Result<(bool, String), String>> {
        let out = std::process::Command::new("psql")
            .args(["-XtA", "-d", url, "-c"])
            .arg("SELECT ssl, current_user FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .env("PGCONNECT_TIMEOUT", "10")
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        Some(if out.status.success() {
            let (ssl, user) = text.trim().split_once('|').unwrap();
            Ok((ssl == "t", user.to_owned()))
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        })
    }

    #[test]
    fn every_mode_against_a_tls_server_as_libpq_does() {
        let (Some(server), Some(tls)) = (
            super::super::testing::server(),
            std::env::var_os("FIREFLY_TEST_POSTGRES_TLS").map(PathBuf::from),
        ) else {
            eprintln!("FIREFLY_TEST_POSTGRES(_TLS) not set: no TLS server to test against");
            return;
        };
        let base = server.split('?').next().unwrap().to_owned();
        let localhost = base.replace("127.0.0.1", "localhost");
        assert_ne!(base, localhost, "the test server's URL names 127.0.0.1");
        let as_role = |userinfo: &str| {
            let (scheme, rest) = base.split_once("://").unwrap();
            let host = rest.split_once('@').map_or(rest, |(_, h)| h);
            format!("{scheme}://{userinfo}@{host}")
        };
        let cert_user = as_role("firefly_cert");
        // scripts/pg-cluster.sh's throwaway role.
        let password_user = as_role("firefly_password:firefly-test-password");
        let wrong_password = as_role("firefly_password:not-the-password");
        let file = |name: &str| tls.join(name).display().to_string();
        let (ca, other) = (file("ca.crt"), file("other-ca.crt"));
        let client = format!(
            "sslcert={}&sslkey={}",
            file("client.crt"),
            file("client.key")
        );
        let user = base
            .split_once("://")
            .and_then(|(_, r)| r.split_once('@'))
            .map(|(u, _)| u.split(':').next().unwrap().to_owned())
            .unwrap();
        use Want::*;
        let cases = [
            (format!("{base}?sslmode=disable"), Clear(&user)),
            (base.clone(), Encrypted(&user)),
            (format!("{base}?sslmode=allow"), Encrypted(&user)),
            (format!("{base}?sslmode=require"), Encrypted(&user)),
            (
                format!("{base}?sslmode=verify-full&sslrootcert={ca}"),
                Encrypted(&user),
            ),
            (
                format!("{localhost}?sslmode=verify-ca&sslrootcert={ca}"),
                Encrypted(&user),
            ),
            (
                format!("{localhost}?sslmode=verify-full&sslrootcert={ca}"),
                Refused("not valid for name"),
            ),
            (
                format!("{base}?sslmode=verify-full&sslrootcert={other}"),
                Refused("UnknownIssuer"),
            ),
            // A root given makes `require` check the chain (libpq's rule).
            (
                format!("{base}?sslmode=require&sslrootcert={other}"),
                Refused("UnknownIssuer"),
            ),
            // And `prefer`: libpq falls back to plain text when that check fails; here a
            // failed check is a refusal (never a silent downgrade).
            (
                format!("{base}?sslmode=prefer&sslrootcert={other}"),
                Refused("UnknownIssuer"),
            ),
            (
                format!("{base}?sslmode=prefer&sslrootcert={ca}"),
                Encrypted(&user),
            ),
            (
                format!("{cert_user}?sslmode=verify-full&sslrootcert={ca}&{client}"),
                Encrypted("firefly_cert"),
            ),
            (
                format!("{cert_user}?sslmode=require"),
                Refused("requires a valid client certificate"),
            ),
            // SCRAM over TLS binds the password exchange to the server's certificate
            // (SCRAM-SHA-256-PLUS); in the clear there is nothing to bind to.
            (
                format!(
                    "{password_user}?sslmode=verify-full&sslrootcert={ca}&channel_binding=require"
                ),
                Encrypted("firefly_password"),
            ),
            (
                format!("{password_user}?sslmode=disable"),
                Clear("firefly_password"),
            ),
            (
                format!("{password_user}?sslmode=disable&channel_binding=require"),
                Refused("channel binding"),
            ),
            (
                format!("{wrong_password}?sslmode=require"),
                Refused("password authentication failed"),
            ),
        ];
        for (url, want) in cases {
            let got = ours(&url);
            match (&got, want) {
                (Ok(g), Clear(w)) => assert_eq!(g, &(false, w.to_owned()), "{url}"),
                (Ok(g), Encrypted(w)) => assert_eq!(g, &(true, w.to_owned()), "{url}"),
                (Err(g), Refused(w)) => assert!(g.contains(w), "{url}: {g:?} lacks {w:?}"),
                _ => panic!("{url}: got {got:?}, want {want:?}"),
            }
            // Where libpq would settle for plain text, Firefly encrypts or refuses:
            // `allow` (libpq tries in the clear first) and a failed check under `prefer`.
            let stricter = url.ends_with("sslmode=allow")
                || url.ends_with(&format!("sslmode=prefer&sslrootcert={other}"));
            match libpq(&url) {
                Some(Ok(r)) if stricter => assert!(!r.0, "{url}: libpq encrypted {r:?}"),
                Some(reference) => assert_eq!(
                    got.as_ref().ok(),
                    reference.as_ref().ok(),
                    "{url}: libpq says {reference:?}"
                ),
                None => {}
            }
        }
        // A row stream works over TLS like in the clear.
        let url = format!("{base}?sslmode=verify-full&sslrootcert={ca}");
        let n = std::thread::spawn(move || {
            let mut c = connect(&url).unwrap();
            let rows = c
                .query_raw(
                    "SELECT g FROM generate_series(1, 100000) g",
                    std::iter::empty::<i32>(),
                )
                .unwrap();
            rows.count().unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(n, 100_000);
    }
}
