//! The HTTP API (`firefly serve`): axum on tokio, built by [`app`] from an [`AppState`], so
//! tests drive the whole router with `oneshot` and no socket.
//!
//! | module | holds |
//! |---|---|
//! | `routes` | [`app`]: every route, the layers, `/healthz`, `/readyz`, `/api/openapi.json` |
//! | `state` | [`AppState`] and the database connection pool ([`Db`]: SQLite or PostgreSQL) |
//! | `error` | [`AppError`]: the one mapping from failures to RFC 9457 problem details |
//! | `auth`, `policy` | login, logout, sessions, the [`auth::Authenticated`] and [`auth::Require`] extractors; who may see what |
//! | `password` | argon2id hashes, generated passwords, session tokens |
//! | `client` | the client's address: the TCP peer, or what a trusted proxy's `Forwarded` / `X-Forwarded-For` says |
//! | `ratelimit` | the login rate limiter: per name and client, per client, a progressive delay per name (in memory; in the database when replicas share PostgreSQL) |
//! | `login_audit` | refused logins audited once per name, client and minute, with a count |
//! | `audit_writer` | the audit entries of reads, committed in batches (group commit) before each answer leaves |
//! | `metrics` | request counts and durations, Prometheus text at `/metrics` |
//! | `cache` | hotspot and zone results per (parameters, data version) |
//! | `encoding` | `Accept-Encoding` negotiation; cached answers compressed fast at first, best once popular |
//! | `versions`, `sessions` | the data versions and the sessions read recently, so a cache hit needs no database round trip |
//! | `incidents`, `premises`, `analysis`, `audit` | the data endpoints |
//! | `plans` | plans (create, read, publish, re-plan, rota CSV, calendars, dosage), the officer's itinerary and check-ins |
//! | `imports` | `POST /api/v1/imports/...`: the CLI's import functions over HTTP |
//! | `ui` | the built map UI (`map-ui/dist`) at `/`, from disk; a page saying how to build it when it is missing |
//! | `premises_edit`, `training` | premises created and edited by hand (with history), training records, before/after training figures |

pub mod analysis;
pub mod audit;
pub mod audit_writer;
pub mod auth;
pub mod cache;
pub mod client;
pub mod datasets;
pub mod encoding;
pub mod error;
pub mod imports;
pub mod incidents;
pub mod login_audit;
pub mod metrics;
pub mod plans;
pub mod policy;
pub mod premises;
pub mod premises_edit;
pub mod ratelimit;
pub mod routes;
pub mod sessions;
pub mod state;
pub mod training;
pub mod ui;
pub mod users;
pub mod versions;

pub use error::AppError;
pub use routes::app;
pub use state::{AppState, Db};

use std::future::Future;
use std::net::SocketAddr;

/// The send buffer of each connection. The kernel's default starts at 16 KiB and grows
/// slowly, so a cached answer of 100 KB or more was written in pieces, with a trip through
/// the event loop between them; with room for the whole answer, one write hands it to the
/// kernel and the task is free (measured at 64 connections: about 24,500 instead of 16,000
/// to 20,000 answers a second of a 136 KB viewport on one core). A ceiling, not an allocation.
const SEND_BUFFER: usize = 1 << 20;

/// Serves `state` on `listener` until `shutdown` completes, then lets requests in flight
/// finish (graceful shutdown).
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = socket2::SockRef::from(&*tcp).set_send_buffer_size(SEND_BUFFER) {
            tracing::debug!(error = %e, "could not enlarge a connection's send buffer");
        }
    });
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
