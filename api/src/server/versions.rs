//! The data versions that key the result caches, read from the database at most once per
//! [`MAX_AGE`] instead of on every request.
//!
//! A hit on a cached hotspot or premises answer used to cost a database round trip (a
//! blocking-pool hop) just to learn that nothing had changed; under load that hop was most
//! of the latency. Now:
//! - a write through this server (any `POST`, `PUT`, `PATCH` or `DELETE`: imports, premises
//!   edits, training records) marks the versions stale before its response leaves
//!   ([`forget_after_writes`]), so the writer's next read sees its own change;
//! - a write by another process (`firefly import` while the server runs, another replica
//!   on the same PostgreSQL database) is seen within [`MAX_AGE`], half a second, so that
//!   every replica answers from the new data within a second.
//!
//! One request refreshes at a time; the others wait for its answer rather than all asking
//! the database at once. A refresh that raced with a write is not kept.

use super::error::AppError;
use super::state::{AppState, Db};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a version read from the database is trusted when nothing in this process wrote.
pub const MAX_AGE: Duration = Duration::from_millis(500);

/// The versions of the stored data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Versions {
    /// `Store::data_version`: the latest import or premises edit.
    pub data: i64,
    /// `Store::premises_version`: also moves with new training records.
    pub premises: i64,
}

#[derive(Debug, Default)]
struct Known {
    /// Bumped by every [`DataVersions::forget`].
    generation: u64,
    read: Option<(Instant, Versions)>,
}

/// The last versions read, and when.
#[derive(Debug, Default)]
pub struct DataVersions {
    known: Mutex<Known>,
    refreshing: tokio::sync::Mutex<()>,
}

impl DataVersions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The versions if read less than [`MAX_AGE`] ago, and the current generation.
    fn fresh(&self) -> (Option<Versions>, u64) {
        let known = self.lock();
        let fresh = known
            .read
            .filter(|(at, _)| at.elapsed() < MAX_AGE)
            .map(|(_, v)| v);
        (fresh, known.generation)
    }

    /// The current versions: remembered, or read from the database.
    pub async fn get(&self, db: &Arc<Db>) -> Result<Versions, AppError> {
        if let (Some(v), _) = self.fresh() {
            return Ok(v);
        }
        let _one_at_a_time = self.refreshing.lock().await;
        let (fresh, generation) = self.fresh();
        if let Some(v) = fresh {
            return Ok(v);
        }
        let read = db
            .run(|s| {
                Ok(Versions {
                    data: s.data_version()?,
                    premises: s.premises_version()?,
                })
            })
            .await?;
        let mut known = self.lock();
        if known.generation == generation {
            known.read = Some((Instant::now(), read));
        }
        Ok(read)
    }

    /// Forgets the versions: the next [`get`](Self::get) reads them again.
    pub fn forget(&self) {
        let mut known = self.lock();
        known.generation += 1;
        known.read = None;
    }
}

/// Middleware: after any request that may write, the versions are read afresh.
pub async fn forget_after_writes(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let writes = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let response = next.run(request).await;
    if writes {
        state.versions.forget();
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn versions_are_remembered_until_forgotten_or_old() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        let db = Db::open(path.clone().into(), 2).unwrap();
        let versions = DataVersions::default();
        let first = versions.get(&db).await.unwrap();
        assert_eq!(first.data, 0);
        // Another process imports: not seen until forgotten (or MAX_AGE passes).
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch(
                "INSERT INTO imports (kind, files, format, actor, started_at, rows_read, added,
                                      already_present, skipped, rejected)
                 VALUES ('incidents', '[\"x.csv\"]', 'csv', 'cli:test', '2026-01-01T00:00:00Z',
                         0, 0, 0, 0, 0)",
            )
            .unwrap();
        assert_eq!(versions.get(&db).await.unwrap(), first);
        versions.forget();
        let second = versions.get(&db).await.unwrap();
        assert_eq!(second.data, 1);
        assert!(second.premises > first.premises);
        // A refresh that started before a write is not kept.
        let generation = versions.fresh().1;
        versions.forget();
        assert_ne!(versions.fresh().1, generation);
        assert_eq!(versions.fresh().0, None);
    }
}
