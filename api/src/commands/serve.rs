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
    /// Session lifetime in hours (1 to 168). Default 12.
    #[arg(long, env = "FIREFLY_SESSION_HOURS")]
    pub session_hours: Option<u32>,
    /// Mark the session cookie Secure (HTTPS only). Default: on unless the address is
    /// loopback.
    #[arg(long, env = "FIREFLY_SECURE_COOKIE")]
    pub secure_cookie: Option<bool>,
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
}

pub fn run(config: Config, args: ServeArgs) -> Result<(), Failure> {
    let mut server = ServerConfig::resolve(
        &config.server_file,
        ServerOverrides {
            addr: args.addr,
            session_hours: args.session_hours,
            secure_cookie: args.secure_cookie,
            import_limit_mib: args.import_limit_mib,
            basemap_style: args.basemap_style,
            basemap_pmtiles: args.basemap_pmtiles,
        },
    )
    .map_err(Failure::Invalid)?;
    server.ui_dir = args.ui_dir;
    let addr = server.addr;
    let secure = server.secure_cookie;
    let db = config.db.clone();
    let state_ui = server.ui_dir.clone();
    let state = AppState::new(config, server)?;
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
        println!("Firefly API on http://{local} (database {})", db.display());
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
        if !secure && !local.ip().is_loopback() {
            println!(
                "  warning: the session cookie is not Secure on a non-loopback address; put TLS in front and set --secure-cookie true"
            );
        }
        tracing::info!(%local, "listening");
        server::serve(state, listener, server::shutdown_signal())
            .await
            .context("serving HTTP")?;
        println!("Firefly API stopped");
        Ok(())
    })
}
