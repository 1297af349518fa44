//! Typed configuration, in layers: defaults, then the `--config` file, then `FIREFLY_*`
//! environment variables, then command-line flags. Validated once at start-up, so a bad
//! setting fails fast with a message naming it.
//!
//! | setting | flag | environment | file key | default |
//! |---|---|---|---|---|
//! | database: an SQLite file, or a `postgres://user@host:port/db` URL | `--db` | `FIREFLY_DB` | `db` | `./firefly.db` |
//! | force time zone | `--tz` | `FIREFLY_TZ` | `tz` | `Europe/London` |
//! | metric CRS | `--crs` | `FIREFLY_CRS` | `crs` | `auto` |
//! | force boundary (GeoJSON polygons) | `--boundary-file` | `FIREFLY_BOUNDARY` | `boundary` | none |
//! | server address (`firefly serve`) | `--addr` | `FIREFLY_ADDR` | `server.addr` | `127.0.0.1:8080` |
//! | session lifetime, hours | `--session-hours` | `FIREFLY_SESSION_HOURS` | `server.session_hours` | `12` (at most 12) |
//! | development only: a plain `firefly_session` cookie without `Secure`, for `http://127.0.0.1` | `--insecure-cookie` | `FIREFLY_INSECURE_COOKIE` | `server.insecure_cookie` | off: the cookie is `__Host-firefly_session`, `Secure` |
//! | proxies whose `Forwarded` / `X-Forwarded-For` headers are believed (IPs or CIDRs) | `--trusted-proxies` (comma-separated) | `FIREFLY_TRUSTED_PROXIES` (comma-separated) | `server.trusted_proxies` (a list) | none: those headers are ignored |
//! | the origin browsers load the UI from (`https://firefly.example.org`), for the `Origin` check | `--public-origin` | `FIREFLY_PUBLIC_ORIGIN` | `server.public_origin` | none: `Origin` must name the `Host` |
//! | session idle timeout, minutes (5 to 720) | | | `server.idle_minutes` | `60` |
//! | refuse incident-point reads without a `purpose` (422) | `--require-purpose` | `FIREFLY_REQUIRE_PURPOSE` | `server.require_purpose` | off: a read without one is served and logged as `purpose: null` |
//! | largest import body, MiB (`POST /api/v1/imports/...`) | `--import-limit-mib` | `FIREFLY_IMPORT_LIMIT_MIB` | `server.import_limit_mib` | `64` |
//! | map basemap: a MapLibre style URL | `--basemap-style` | `FIREFLY_BASEMAP_STYLE` | `server.basemap_style` | none: the offline district background |
//! | map basemap: a local PMTiles file, served at `/basemap.pmtiles` | `--basemap-pmtiles` | `FIREFLY_BASEMAP_PMTILES` | `server.basemap_pmtiles` | none |
//! | retention, months, for `firefly retention` | | | `retention.checkins_months`, `retention.sessions_months`, `retention.audit_months` | kept for ever |
//!
//! Without `--config`, `./firefly.toml` is read if it exists; `firefly demo` writes one
//! that points at the demo's force boundary.

use crate::storage::Location;
use anyhow::{Context, bail};
use jiff::tz::TimeZone;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The settings file read from the working folder when `--config` is not given.
pub const LOCAL_CONFIG: &str = "firefly.toml";

/// `--crs`: which metric CRS to compute in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CrsChoice {
    /// British National Grid in Great Britain, else the UTM zone of the data's centre.
    Auto,
    Bng,
    Utm,
}

/// The settings file (`--config FILE`, TOML). Relative paths are read from the file's folder.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// An SQLite file (relative to the settings file), or a `postgres://` URL.
    pub db: Option<String>,
    pub tz: Option<String>,
    pub crs: Option<CrsChoice>,
    pub boundary: Option<PathBuf>,
    #[serde(default)]
    pub server: ServerFile,
    #[serde(default)]
    pub retention: RetentionPolicy,
}

/// The `[retention]` table: how many months each kind of record is kept (`firefly
/// retention`). A kind left out is kept for ever.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionPolicy {
    pub checkins_months: Option<u32>,
    pub sessions_months: Option<u32>,
    pub audit_months: Option<u32>,
}

/// The `[server]` table of the settings file.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerFile {
    pub addr: Option<String>,
    pub session_hours: Option<u32>,
    /// Minutes a session may go unused before it ends (default 60).
    pub idle_minutes: Option<u32>,
    pub insecure_cookie: Option<bool>,
    pub trusted_proxies: Option<Vec<String>>,
    pub public_origin: Option<String>,
    pub require_purpose: Option<bool>,
    pub import_limit_mib: Option<u32>,
    pub basemap_style: Option<String>,
    pub basemap_pmtiles: Option<PathBuf>,
    /// Database connections the server keeps (default 8).
    pub db_connections: Option<u32>,
}

/// Settings given on the command line or in the environment (clap reads both).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub db: Option<Location>,
    pub tz: Option<String>,
    pub crs: Option<CrsChoice>,
    pub boundary: Option<PathBuf>,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub db: Location,
    pub tz_name: String,
    pub tz: TimeZone,
    pub crs: CrsChoice,
    pub boundary: Option<PathBuf>,
    /// The file's `[server]` table, validated by [`ServerConfig::resolve`] when serving.
    pub server_file: ServerFile,
    /// The file's `[retention]` table.
    pub retention: RetentionPolicy,
}

impl Config {
    /// Merges the layers and validates the result.
    pub fn load(config_file: Option<&Path>, overrides: Overrides) -> anyhow::Result<Config> {
        let (file, file_db) = match config_file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config file {}", path.display()))?;
                let mut f: FileConfig = toml::from_str(&text)
                    .with_context(|| format!("config file {} is invalid", path.display()))?;
                let base = path.parent().unwrap_or(Path::new("."));
                let db = f.db.take().map(|text| match Location::parse(&text) {
                    Location::Sqlite(p) => Location::Sqlite(base.join(p)),
                    server => server,
                });
                f.boundary = f.boundary.map(|p| base.join(p));
                f.server.basemap_pmtiles = f.server.basemap_pmtiles.map(|p| base.join(p));
                (f, db)
            }
            None => (FileConfig::default(), None),
        };
        let tz_name = overrides
            .tz
            .or(file.tz)
            .unwrap_or_else(|| "Europe/London".to_string());
        let tz = match TimeZone::get(&tz_name) {
            Ok(tz) => tz,
            Err(_) => bail!(
                "time zone {tz_name:?} is not an IANA zone name (e.g. Europe/London, America/Chicago)"
            ),
        };
        let boundary = overrides.boundary.or(file.boundary);
        if let Some(b) = &boundary
            && !b.is_file()
        {
            bail!("boundary file {} does not exist", b.display());
        }
        Ok(Config {
            db: overrides
                .db
                .or(file_db)
                .unwrap_or_else(|| Location::Sqlite(PathBuf::from("firefly.db"))),
            tz_name,
            tz,
            crs: overrides.crs.or(file.crs).unwrap_or(CrsChoice::Auto),
            boundary,
            server_file: file.server,
            retention: file.retention,
        })
    }
}

/// `firefly serve` settings from flags and the environment (clap reads both).
#[derive(Debug, Default, Clone)]
pub struct ServerOverrides {
    pub addr: Option<String>,
    pub session_hours: Option<u32>,
    /// `Some(true)` turns the development cookie on; `None` leaves the file's setting.
    pub insecure_cookie: Option<bool>,
    /// `Some(true)` refuses incident-point reads without a purpose.
    pub require_purpose: Option<bool>,
    /// Comma-separated IPs or CIDRs (the flag and the environment variable's form).
    pub trusted_proxies: Option<Vec<String>>,
    pub public_origin: Option<String>,
    pub import_limit_mib: Option<u32>,
    pub basemap_style: Option<String>,
    pub basemap_pmtiles: Option<PathBuf>,
    pub db_connections: Option<u32>,
}

/// The map's basemap, when one is configured (else the UI draws the district boundaries).
#[derive(Debug, Clone, PartialEq)]
pub enum Basemap {
    /// A MapLibre style document's URL (`https://...` or a path on this server).
    Style(String),
    /// A local PMTiles archive, served with range requests at `/basemap.pmtiles`.
    Pmtiles {
        path: PathBuf,
        header: crate::pmtiles::Header,
    },
}

/// Database connections a server keeps by default, and at most.
pub const DEFAULT_DB_CONNECTIONS: usize = 8;
pub const MAX_DB_CONNECTIONS: usize = 256;

/// The default largest import body, MiB: a year of a large force's police.uk files.
pub const DEFAULT_IMPORT_LIMIT_MIB: usize = 64;
/// The largest import body that may be configured, MiB (the body is held in memory).
pub const MAX_IMPORT_LIMIT_MIB: usize = 1024;

/// How many failed logins are allowed before further attempts are refused or slowed.
/// See `server::ratelimit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failed logins for one user name from one client (IPv4 address, IPv6 /64) within
    /// the window; then that client is refused for that name.
    pub per_user: u32,
    /// Failed logins from one client within the window, whatever the names; then the
    /// client is refused.
    pub per_addr: u32,
    pub window: Duration,
    /// Failed logins for one user name from all clients together within the window before
    /// each further attempt for the name waits (never refused: another client is slowed,
    /// not locked out).
    pub name_delay_after: u32,
    /// The first wait; it doubles with each further failure for the name...
    pub name_delay: Duration,
    /// ... up to this.
    pub name_delay_max: Duration,
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            per_user: 5,
            per_addr: 20,
            window: Duration::from_secs(15 * 60),
            name_delay_after: 10,
            name_delay: Duration::from_millis(500),
            name_delay_max: Duration::from_secs(10),
        }
    }
}

/// Minutes a session may go unused, unless `server.idle_minutes` says otherwise.
pub const DEFAULT_IDLE_MINUTES: u64 = 60;

/// The validated server configuration.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub addr: SocketAddr,
    /// How long a session lasts from login (no sliding renewal; at most 12 hours).
    pub session_ttl: Duration,
    /// A session unused this long ends, whatever its absolute expiry.
    pub session_idle: Duration,
    /// Mark the session cookie `Secure` (sent over HTTPS only) and name it
    /// `__Host-firefly_session`; off only in the explicit development mode.
    pub secure_cookie: bool,
    /// TCP peers whose `Forwarded` / `X-Forwarded-For` headers name the client.
    pub trusted_proxies: Vec<crate::net::IpNet>,
    /// `scheme://host[:port]` browsers load the UI from; `Origin` must equal it on a
    /// cookie-authenticated write without `Sec-Fetch-Site`.
    pub public_origin: Option<String>,
    /// Refuse `GET /api/v1/incidents` without a `purpose` (DPA 2018 s.62: the log names why
    /// personal data was consulted). Off by default so the contract's plain call keeps
    /// working; the purpose given is always logged.
    pub require_purpose: bool,
    pub login_limits: LoginLimits,
    /// Password verifications (argon2, 19 MiB each) running at once.
    pub login_hashes: usize,
    /// Longest time one request may take before it is answered 503.
    pub request_timeout: Duration,
    /// Largest request body accepted, bytes (imports excepted).
    pub body_limit: usize,
    /// Largest body of `POST /api/v1/imports/...` (the file itself), bytes.
    pub import_body_limit: usize,
    /// Database connections kept open (and so database calls running at once). With
    /// PostgreSQL, every replica holds this many of the server's `max_connections`.
    pub db_connections: usize,
    /// The built map UI (`map-ui/dist`) served at `/`; `None` looks in `./map-ui/dist`,
    /// then beside the sources (see `server::ui`).
    pub ui_dir: Option<PathBuf>,
    pub basemap: Option<Basemap>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            session_ttl: Duration::from_secs(12 * 3600),
            session_idle: Duration::from_secs(DEFAULT_IDLE_MINUTES * 60),
            secure_cookie: true,
            trusted_proxies: Vec::new(),
            public_origin: None,
            require_purpose: false,
            login_limits: LoginLimits::default(),
            login_hashes: std::thread::available_parallelism().map_or(2, usize::from),
            request_timeout: Duration::from_secs(60),
            body_limit: 1 << 20,
            import_body_limit: DEFAULT_IMPORT_LIMIT_MIB << 20,
            db_connections: DEFAULT_DB_CONNECTIONS,
            ui_dir: None,
            basemap: None,
        }
    }
}

impl ServerConfig {
    /// Merges the file's `[server]` table with flags and environment, and validates.
    ///
    /// The session cookie is `Secure` (and `__Host-` prefixed) whatever the address: a
    /// deployment has TLS in front. Plain `http://127.0.0.1` needs the explicit
    /// development switch (`--insecure-cookie`), which `scripts/demo.sh` and
    /// `scripts/e2e.sh` pass.
    pub fn resolve(file: &ServerFile, overrides: ServerOverrides) -> anyhow::Result<ServerConfig> {
        let text = overrides
            .addr
            .or_else(|| file.addr.clone())
            .unwrap_or_else(|| "127.0.0.1:8080".to_string());
        let addr: SocketAddr = text.parse().with_context(|| {
            format!("server address {text:?} is not IP:PORT (e.g. 127.0.0.1:8080)")
        })?;
        let hours = overrides.session_hours.or(file.session_hours).unwrap_or(12);
        if !(1..=12).contains(&hours) {
            bail!("session_hours {hours} is out of range: 1 to 12");
        }
        let idle = file.idle_minutes.map_or(DEFAULT_IDLE_MINUTES, u64::from);
        if !(5..=720).contains(&idle) {
            bail!("idle_minutes {idle} is out of range: 5 to 720");
        }
        let insecure = overrides
            .insecure_cookie
            .or(file.insecure_cookie)
            .unwrap_or(false);
        let proxies = overrides
            .trusted_proxies
            .or_else(|| file.trusted_proxies.clone())
            .unwrap_or_default();
        let trusted_proxies = proxies
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(|p| p.parse::<crate::net::IpNet>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("trusted_proxies: {e}"))?;
        let public_origin = overrides
            .public_origin
            .or_else(|| file.public_origin.clone())
            .map(|o| parse_origin(&o))
            .transpose()?;
        let import_mib = overrides
            .import_limit_mib
            .or(file.import_limit_mib)
            .map_or(DEFAULT_IMPORT_LIMIT_MIB, |m| m as usize);
        if !(1..=MAX_IMPORT_LIMIT_MIB).contains(&import_mib) {
            bail!(
                "import_limit_mib {import_mib} is out of range: 1 to {MAX_IMPORT_LIMIT_MIB} (MiB)"
            );
        }
        let db_connections = overrides
            .db_connections
            .or(file.db_connections)
            .map_or(DEFAULT_DB_CONNECTIONS, |n| n as usize);
        if !(1..=MAX_DB_CONNECTIONS).contains(&db_connections) {
            bail!("db_connections {db_connections} is out of range: 1 to {MAX_DB_CONNECTIONS}");
        }
        let style = overrides
            .basemap_style
            .or_else(|| file.basemap_style.clone());
        let pmtiles = overrides
            .basemap_pmtiles
            .or_else(|| file.basemap_pmtiles.clone());
        let basemap = match (style, pmtiles) {
            (Some(_), Some(_)) => {
                bail!("give basemap_style or basemap_pmtiles, not both")
            }
            (Some(url), None) => {
                let url = url.trim().to_string();
                if !(url.starts_with("https://")
                    || url.starts_with("http://")
                    || url.starts_with('/'))
                {
                    bail!("basemap_style {url:?} is not an http(s) URL or a path on this server");
                }
                Some(Basemap::Style(url))
            }
            (None, Some(path)) => {
                let header = crate::pmtiles::Header::read_file(&path)
                    .with_context(|| format!("basemap_pmtiles {}", path.display()))?;
                Some(Basemap::Pmtiles { path, header })
            }
            (None, None) => None,
        };
        Ok(ServerConfig {
            addr,
            session_ttl: Duration::from_secs(u64::from(hours) * 3600),
            session_idle: Duration::from_secs(idle * 60),
            secure_cookie: !insecure,
            trusted_proxies,
            public_origin,
            require_purpose: overrides
                .require_purpose
                .or(file.require_purpose)
                .unwrap_or(false),
            import_body_limit: import_mib << 20,
            db_connections,
            basemap,
            ..ServerConfig::default()
        })
    }
}

/// `public_origin` as browsers write `Origin`: `scheme://host[:port]`, lower case, without
/// a path or a trailing slash.
fn parse_origin(text: &str) -> anyhow::Result<String> {
    let origin = text.trim().trim_end_matches('/').to_ascii_lowercase();
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', '@', ' ']) => Ok(origin),
        _ => bail!(
            "public_origin {text:?} is not an origin: give https://HOST[:PORT] (no path), e.g. https://firefly.example.org"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_url_in_the_file_is_a_server_not_a_path_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("firefly.toml");
        std::fs::write(
            &path,
            "db = \"postgres://ff:s3cret@db.example:5432/firefly\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&path), Overrides::default()).unwrap();
        assert_eq!(
            c.db,
            Location::Postgres("postgres://ff:s3cret@db.example:5432/firefly".into())
        );
        // Shown anywhere without its password.
        assert_eq!(
            c.db.to_string(),
            "postgres://ff:***@db.example:5432/firefly"
        );
        assert!(!format!("{:?}", c.db).contains("s3cret"));
    }

    #[test]
    fn layers_apply_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("firefly.toml");
        std::fs::write(
            &path,
            "db = \"x.db\"\ntz = \"America/Chicago\"\ncrs = \"utm\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&path), Overrides::default()).unwrap();
        assert_eq!(c.db, dir.path().join("x.db").into());
        assert_eq!(c.tz_name, "America/Chicago");
        assert_eq!(c.crs, CrsChoice::Utm);
        let c = Config::load(
            Some(&path),
            Overrides {
                tz: Some("Europe/London".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(c.tz_name, "Europe/London");
        let c = Config::load(None, Overrides::default()).unwrap();
        assert_eq!(
            (c.db, c.tz_name, c.crs),
            (
                PathBuf::from("firefly.db").into(),
                "Europe/London".into(),
                CrsChoice::Auto
            )
        );
    }

    #[test]
    fn server_settings_resolve_and_validate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("firefly.toml");
        std::fs::write(
            &path,
            "[server]\naddr = \"127.0.0.1:9090\"\nsession_hours = 10\n",
        )
        .unwrap();
        let c = Config::load(Some(&path), Overrides::default()).unwrap();
        let s = ServerConfig::resolve(&c.server_file, ServerOverrides::default()).unwrap();
        assert_eq!((s.addr.port(), s.session_ttl.as_secs()), (9090, 36_000));
        // A basemap archive named in the file is found beside the file.
        std::fs::write(&path, "[server]\nbasemap_pmtiles = \"tiles/b.pmtiles\"\n").unwrap();
        let c = Config::load(Some(&path), Overrides::default()).unwrap();
        assert_eq!(
            c.server_file.basemap_pmtiles,
            Some(dir.path().join("tiles/b.pmtiles"))
        );
        std::fs::write(&path, "[server]\nport = 1\n").unwrap();
        let e = Config::load(Some(&path), Overrides::default()).unwrap_err();
        assert!(format!("{e:#}").contains("port"), "{e:#}");
        let file = ServerFile {
            addr: Some("0.0.0.0:9000".into()),
            session_hours: Some(8),
            insecure_cookie: None,
            import_limit_mib: Some(16),
            ..ServerFile::default()
        };
        let c = ServerConfig::resolve(&file, ServerOverrides::default()).unwrap();
        assert_eq!(c.addr.port(), 9000);
        assert_eq!(c.session_ttl, Duration::from_secs(8 * 3600));
        assert!(c.secure_cookie, "not loopback: Secure by default");
        assert_eq!((c.import_body_limit, c.body_limit), (16 << 20, 1 << 20));
        let e = ServerConfig::resolve(
            &ServerFile::default(),
            ServerOverrides {
                import_limit_mib: Some(0),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("import_limit_mib"), "{e}");
        // Connections: the file's, the flag's over it, and a bound.
        let file_conns = ServerFile {
            db_connections: Some(32),
            ..Default::default()
        };
        let conns = |o: ServerOverrides| ServerConfig::resolve(&file_conns, o);
        assert_eq!(conns(Default::default()).unwrap().db_connections, 32);
        let flag = ServerOverrides {
            db_connections: Some(4),
            ..Default::default()
        };
        assert_eq!(conns(flag).unwrap().db_connections, 4);
        assert_eq!(
            ServerConfig::resolve(&ServerFile::default(), Default::default())
                .unwrap()
                .db_connections,
            DEFAULT_DB_CONNECTIONS
        );
        for bad in [0, 257] {
            let e = conns(ServerOverrides {
                db_connections: Some(bad),
                ..Default::default()
            })
            .unwrap_err();
            assert!(
                e.to_string()
                    .contains(&format!("db_connections {bad} is out of range")),
                "{e}"
            );
        }
        let c = ServerConfig::resolve(
            &file,
            ServerOverrides {
                addr: Some("127.0.0.1:8081".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(
            c.secure_cookie,
            "loopback too: Secure unless the development switch"
        );
        // The development switch, from the flag (or environment) over the file.
        let dev = ServerConfig::resolve(
            &file,
            ServerOverrides {
                insecure_cookie: Some(true),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(!dev.secure_cookie);
        let dev = ServerConfig::resolve(
            &ServerFile {
                insecure_cookie: Some(true),
                ..Default::default()
            },
            ServerOverrides::default(),
        )
        .unwrap();
        assert!(!dev.secure_cookie);
        // Trusted proxies and the public origin: the flag's list over the file's.
        std::fs::write(
            &path,
            "[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"::1\"]\npublic_origin = \"https://Firefly.Example.org/\"\n",
        )
        .unwrap();
        let c = Config::load(Some(&path), Overrides::default()).unwrap();
        let s = ServerConfig::resolve(&c.server_file, ServerOverrides::default()).unwrap();
        assert_eq!(s.trusted_proxies.len(), 2);
        assert!(s.trusted_proxies[0].contains("10.9.8.7".parse().unwrap()));
        assert_eq!(
            s.public_origin.as_deref(),
            Some("https://firefly.example.org")
        );
        let s = ServerConfig::resolve(
            &c.server_file,
            ServerOverrides {
                trusted_proxies: Some(vec!["192.0.2.1".into(), " 192.0.2.0/24".into()]),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(s.trusted_proxies.len(), 2);
        assert!(!s.trusted_proxies[0].contains("10.9.8.7".parse().unwrap()));
        for (proxies, origin, named) in [
            (
                Some(vec!["10.0.0.0/40".to_string()]),
                None,
                "trusted_proxies",
            ),
            (
                None,
                Some("firefly.example.org".to_string()),
                "public_origin",
            ),
            (None, Some("https://x.org/app".to_string()), "public_origin"),
        ] {
            let e = ServerConfig::resolve(
                &ServerFile::default(),
                ServerOverrides {
                    trusted_proxies: proxies,
                    public_origin: origin,
                    ..Default::default()
                },
            )
            .unwrap_err();
            assert!(e.to_string().contains(named), "{e}");
        }
        let e = ServerConfig::resolve(
            &ServerFile::default(),
            ServerOverrides {
                addr: Some("localhost".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("IP:PORT"), "{e:#}");
        let e = ServerConfig::resolve(
            &ServerFile {
                session_hours: Some(0),
                ..Default::default()
            },
            ServerOverrides::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("session_hours"), "{e}");
    }

    #[test]
    fn bad_settings_are_named() {
        let e = Config::load(
            None,
            Overrides {
                tz: Some("Mars/Olympus".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("Mars/Olympus"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, "colour = \"red\"\n").unwrap();
        let e = Config::load(Some(&path), Overrides::default()).unwrap_err();
        assert!(format!("{e:#}").contains("colour"), "{e:#}");
    }
}
