//! What every handler shares: the configuration, the database, the caches and counters.
//!
//! Database access: a small pool of `Store`s (SQLite connections), each call run on tokio's
//! blocking threads (`spawn_blocking`) so that SQLite never stalls the async workers. In WAL
//! mode readers run side by side and never block the writer; SQLite itself serialises
//! writers (each waits up to the store's busy timeout), and every write is one transaction.
//! A semaphore bounds the connections open at once; an idle connection is reused, so the
//! per-request cost is a lookup, not an open. Chosen over one `Mutex<Connection>`, which
//! would make a long read (loading a million incidents for scoring) block every login.
//! The analyses read the incidents from memory ([`DatasetCache`]), not from here.

use super::cache::{MissLimiter, ResultCache};
use super::datasets::DatasetCache;
use super::encoding::Recompressor;
use super::error::AppError;
use super::login_audit::LoginAudit;
use super::metrics::Metrics;
use super::ratelimit::LoginLimiter;
use super::sessions::SessionCache;
use super::versions::DataVersions;
use crate::config::{Config, ServerConfig};
use crate::storage::{Location, Store, StoreError};
use std::ops::Deref;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// A pool of connections to one database (an SQLite file or a PostgreSQL server).
pub struct Db {
    location: Location,
    idle: Mutex<Vec<Store>>,
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Db({})", self.location)
    }
}

impl Db {
    /// Whether other processes may serve the same database (PostgreSQL): what must hold
    /// across replicas is then kept in it.
    pub fn is_shared(&self) -> bool {
        matches!(self.location, Location::Postgres(_))
    }

    /// Opens (creating and migrating if needed) the database, keeping the connection.
    pub fn open(location: Location, connections: usize) -> Result<Arc<Db>, StoreError> {
        let first = Store::open(&location)?;
        Ok(Arc::new(Db {
            location,
            idle: Mutex::new(vec![first]),
            permits: Arc::new(Semaphore::new(connections.max(1))),
        }))
    }

    /// Runs `f` with a connection on a blocking thread.
    pub async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        let db = Arc::clone(self);
        let outcome = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let taken = db.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let mut store = match taken {
                Some(s) => s,
                None => Store::open(&db.location)?,
            };
            let result = f(&mut store);
            // A PostgreSQL connection that the server closed (a restart, a terminated
            // session) is dropped, so that the next call opens a new one.
            if result.is_ok() || !store.is_broken() {
                db.idle
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(store);
            }
            result
        })
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("database task failed: {e}")))?;
        Ok(outcome?)
    }
}

/// The shared state, cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// What [`AppState`] holds.
pub struct Inner {
    pub config: Config,
    pub server: ServerConfig,
    pub db: Arc<Db>,
    /// Hotspot and zone results per (parameters, data version).
    pub cache: Arc<ResultCache>,
    /// Premises GeoJSON, keyed by filters and day, versioned by imports and training records.
    pub premises_cache: Arc<ResultCache>,
    /// Compresses cached answers again, better, when they are asked for twice.
    pub recompress: Recompressor,
    /// The data versions, read from the database at most once a second.
    pub versions: DataVersions,
    /// Sessions read recently.
    pub sessions: SessionCache,
    pub limiter: Arc<LoginLimiter>,
    /// Appends the audit entries of reads, several requests' in one transaction.
    pub audit: super::audit_writer::AuditWriter,
    /// Bounds the password verifications at once (argon2: 19 MiB and a core each) to
    /// `ServerConfig::login_hashes`; a login that cannot get a permit soon is answered 503.
    pub hashing: Arc<Semaphore>,
    /// Refused logins, aggregated per name, client and minute before they are audited.
    pub login_audit: Arc<LoginAudit>,
    pub metrics: Metrics,
    /// Bounds the scoring runs at once to the cores there are.
    pub compute: Arc<Semaphore>,
    /// Cache misses (computations) per user per minute.
    pub misses: MissLimiter,
    /// The incidents, loaded and projected once per data version.
    pub datasets: DatasetCache,
    /// Validation blocks being computed in the background, by result-cache key.
    pub validating: Mutex<std::collections::HashSet<String>>,
}

impl Deref for AppState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// An [`AppState`] that does not keep the server alive (for background tasks).
#[derive(Clone)]
pub struct WeakState(std::sync::Weak<Inner>);

impl WeakState {
    pub fn upgrade(&self) -> Option<AppState> {
        self.0.upgrade().map(AppState)
    }
}

/// Trips a computation's cancellation token when the request that waits for it is dropped
/// (the client went away, or the request timed out) before it finished.
struct CancelOnDrop {
    token: planner::cancel::Cancel,
    finished: bool,
    state: AppState,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if !self.finished {
            self.token.cancel();
            self.state
                .metrics
                .computations_cancelled
                .fetch_add(1, Ordering::Relaxed);
        }
    }
}

impl AppState {
    /// Runs `f` on a blocking thread holding one of the compute permits (at most one heavy
    /// computation per core at once), in a cancellation scope ([`planner::cancel`]): when
    /// the request is dropped before `f` returns, the planner's loops stop at their next
    /// check and the permit is freed for the next request, instead of the work going on for
    /// nobody (and starting again when the client retries).
    pub async fn compute_cancellable<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let permit = self
            .compute
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        let mut guard = CancelOnDrop {
            token: planner::cancel::Cancel::new(),
            finished: false,
            state: self.clone(),
        };
        let token = guard.token.clone();
        let state = self.clone();
        let result = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let running = &state.metrics.computations_running;
            running.fetch_add(1, Ordering::Relaxed);
            let out = planner::cancel::scope(&token, f);
            running.fetch_sub(1, Ordering::Relaxed);
            out
        })
        .await;
        guard.finished = true;
        result.map_err(|e| AppError::Internal(anyhow::anyhow!("computation failed: {e}")))
    }

    pub fn downgrade(&self) -> WeakState {
        WeakState(Arc::downgrade(&self.0))
    }

    /// Opens the database named by `config` (creating and migrating it if needed).
    pub fn new(config: Config, server: ServerConfig) -> Result<AppState, StoreError> {
        let db = Db::open(config.db.clone(), server.db_connections)?;
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Ok(AppState(Arc::new(Inner {
            audit: Default::default(),
            limiter: Arc::new(if db.is_shared() {
                LoginLimiter::shared(server.login_limits, Arc::clone(&db))
            } else {
                LoginLimiter::new(server.login_limits)
            }),
            hashing: Arc::new(Semaphore::new(server.login_hashes.max(1))),
            login_audit: Arc::new(LoginAudit::default()),
            versions: DataVersions::default(),
            sessions: SessionCache::default(),
            config,
            server,
            db,
            cache: Arc::new(ResultCache::new(64, 256 << 20)),
            premises_cache: Arc::new(ResultCache::new(32, 32 << 20)),
            recompress: Recompressor::default(),
            metrics: Metrics::default(),
            compute: Arc::new(Semaphore::new(cores)),
            misses: MissLimiter::default(),
            datasets: DatasetCache::default(),
            validating: Mutex::default(),
        })))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a panic is the failure report
    use super::*;
    use crate::storage::db::{Conn, testing};

    /// A PostgreSQL server that ends the pool's connections (a restart, an administrator
    /// terminating sessions): the call that meets a dead connection fails, the next one
    /// opens a new connection. Needs the test server (`FIREFLY_TEST_POSTGRES`).
    #[tokio::test]
    async fn the_pool_replaces_connections_the_server_closed() {
        let Some(server) = testing::server() else {
            return; // nothing to restart: SQLite connections do not break this way
        };
        let url = testing::fresh_database(&server).unwrap();
        let db = Db::open(Location::Postgres(url.clone()), 2).unwrap();
        assert_eq!(db.run(|s| s.data_version()).await.unwrap(), 0);
        let terminated = tokio::task::spawn_blocking(move || {
            Conn::open(&Location::Postgres(url))
                .unwrap()
                .query_row(
                    "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity
                     WHERE datname = current_database() AND pid <> pg_backend_pid()",
                    &[],
                    |r| r.get::<i64>(0),
                )
                .unwrap()
        })
        .await
        .unwrap();
        assert!(terminated >= 1);
        // The pooled connection is dead: this call fails and drops it ...
        assert!(db.run(|s| s.data_version()).await.is_err());
        // ... and the next one works on a new connection.
        assert_eq!(db.run(|s| s.data_version()).await.unwrap(), 0);
    }
}
