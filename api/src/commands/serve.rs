//! `firefly serve`: the HTTP API on tokio, until Ctrl-C or SIGTERM, then a graceful
//! shutdown (requests in flight finish).

use crate::app::Failure;
use crate::config::{Config, ServerConfig, ServerOverrides};
use crate::server::{self, AppState};
use crate::storage::Table;
use anyhow::{Context, anyhow};
use clap::Args;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on (IP:PORT). Default 127.0.0.1:8080.
    #[arg(long, env = "FIREFLY_ADDR")]
    pub addr: Option<String>,
    /// Session lifetime in hours (1 to 12). Default 12.
    #[arg(long, env = "FIREFLY_SESSION_HOURS")]
    pub session_hours: Option<u32>,
    /// Development only: a plain `firefly_session` cookie without `Secure`, so a browser
    /// keeps it over http://127.0.0.1. Default: off (`__Host-firefly_session`, Secure: put
    /// TLS in front).
    #[arg(long, env = "FIREFLY_INSECURE_COOKIE")]
    pub insecure_cookie: bool,
    /// Refuse incident-point reads (`GET /api/v1/incidents`) that give no `purpose`.
    /// Default: off (served, and logged without one).
    #[arg(long, env = "FIREFLY_REQUIRE_PURPOSE")]
    pub require_purpose: bool,
    /// Proxies (IPs or CIDRs, comma-separated) whose `Forwarded` / `X-Forwarded-For`
    /// headers name the client. Default: none (those headers are ignored).
    #[arg(long, env = "FIREFLY_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Option<Vec<String>>,
    /// The origin browsers load the UI from (https://HOST[:PORT]), checked against `Origin`
    /// on cookie-authenticated writes from browsers without `Sec-Fetch-Site`.
    #[arg(long, env = "FIREFLY_PUBLIC_ORIGIN")]
    pub public_origin: Option<String>,
    /// Largest body of POST /api/v1/imports/... in MiB (1 to 1024). Default 64; other
    /// requests stay at 1 MiB.
    #[arg(long, env = "FIREFLY_IMPORT_LIMIT_MIB")]
    pub import_limit_mib: Option<u32>,
    /// The built map UI served at `/` (default: ./map-ui/dist, else the one beside the
    /// sources). Build it with `scripts/setup-ui.sh`.
    #[arg(long, env = "FIREFLY_UI_DIR")]
    pub ui_dir: Option<std::path::PathBuf>,
    /// The map's basemap: a MapLibre style URL. Default: none, an offline background of the
    /// district boundaries.
    #[arg(
        long,
        env = "FIREFLY_BASEMAP_STYLE",
        conflicts_with = "basemap_pmtiles"
    )]
    pub basemap_style: Option<String>,
    /// The map's basemap: a local PMTiles archive (vector or raster tiles), served at
    /// /basemap.pmtiles with HTTP range requests.
    #[arg(long, env = "FIREFLY_BASEMAP_PMTILES")]
    pub basemap_pmtiles: Option<std::path::PathBuf>,
    /// Database connections kept open, so database calls running at once (1 to 256).
    /// Default 8. On PostgreSQL each replica holds this many of the server's
    /// max_connections.
    #[arg(long, env = "FIREFLY_DB_CONNECTIONS")]
    pub db_connections: Option<u32>,
}

pub fn run(config: Config, args: ServeArgs) -> Result<(), Failure> {
    let mut server = ServerConfig::resolve(
        &config.server_file,
        ServerOverrides {
            addr: args.addr,
            session_hours: args.session_hours,
            insecure_cookie: args.insecure_cookie.then_some(true),
            require_purpose: args.require_purpose.then_some(true),
            trusted_proxies: args.trusted_proxies,
            public_origin: args.public_origin,
            import_limit_mib: args.import_limit_mib,
            basemap_style: args.basemap_style,
            basemap_pmtiles: args.basemap_pmtiles,
            db_connections: args.db_connections,
        },
    )
    .map_err(Failure::Invalid)?;
    server.ui_dir = args.ui_dir;
    let addr = server.addr;
    let secure = server.secure_cookie;
    let db = config.db.clone();
    let state_ui = server.ui_dir.clone();
    let state = AppState::new(config, server)?;
    let flush = state.clone();
    let users = crate::storage::Store::open(&db)?.count(Table::Users)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Failure::Invalid(anyhow!("cannot listen on {addr}: {e}")))?;
        let local = listener.local_addr().context("reading the bound address")?;
        println!("Firefly API on http://{local} (database {db})");
        server::datasets::DatasetCache::warm(&state);
        println!("  OpenAPI: http://{local}/api/openapi.json; Ctrl-C stops");
        match server::ui::ui_source(state_ui.as_deref()) {
            Some(source) => println!("  map UI: http://{local}/ (from {source})"),
            None => println!("  map UI not built: run scripts/setup-ui.sh (or npm ci && npm run build in map-ui/)"),
        }
        if users == 0 {
            println!(
                "  no users yet: create one with `firefly users add NAME --role admin` (there is no default user)"
            );
        }
        if !secure {
            println!(
                "  development mode (--insecure-cookie): the session cookie is not Secure; never use this behind a public address"
            );
        } else if local.ip().is_loopback() {
            println!(
                "  the session cookie is Secure: browsers keep it over HTTPS (a TLS proxy in front); for plain http://{local} pass --insecure-cookie"
            );
        }
        tracing::info!(%local, "listening");
        server::serve(state, listener, server::shutdown_signal())
            .await
            .context("serving HTTP")?;
        // Failed logins counted since the last summary row are written before exiting.
        server::auth::flush_login_audit(&flush, true).await;
        println!("Firefly API stopped");
        Ok(())
    })
}
