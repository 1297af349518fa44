//! Sessions found recently, kept in memory for [`MAX_AGE`] so that a busy client (a map
//! panning, a load test) does not cost a database round trip per request.
//!
//! Ending a session through this server (logout) removes it here at once. A session is
//! never trusted past its own expiry. What this process cannot see, a session ended through
//! another replica on the same PostgreSQL database, or a user disabled by editing the
//! database directly, takes effect within [`MAX_AGE`] (under a second: a logout must end
//! the session on every replica within one).

use crate::storage::SessionUser;
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a session read from the database is trusted without asking again.
pub const MAX_AGE: Duration = Duration::from_millis(500);

/// Sessions remembered at most; past this the oldest reads are dropped first.
const MAX_ENTRIES: usize = 10_000;

/// Sessions by the SHA-256 of their token.
#[derive(Debug, Default)]
pub struct SessionCache {
    entries: Mutex<HashMap<String, (Instant, SessionUser)>>,
}

impl SessionCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, SessionUser)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The session of this token hash, if read less than [`MAX_AGE`] ago and not expired.
    pub fn get(&self, token_sha256: &str) -> Option<SessionUser> {
        let entries = self.lock();
        let (read_at, session) = entries.get(token_sha256)?;
        (read_at.elapsed() < MAX_AGE && session.expires_at > Timestamp::now())
            .then(|| session.clone())
    }

    /// Remembers a session just read from the database.
    pub fn put(&self, token_sha256: String, session: SessionUser) {
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (read_at, _)| read_at.elapsed() < MAX_AGE);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(token_sha256, (Instant::now(), session));
    }

    /// Forgets a session (it was ended).
    pub fn remove(&self, session_id: i64) {
        self.lock().retain(|_, (_, s)| s.session_id != session_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::Role;
    use crate::storage::User;

    fn session(id: i64, expires_at: Timestamp) -> SessionUser {
        SessionUser {
            session_id: id,
            expires_at,
            user: User {
                id: 1,
                name: "p".into(),
                role: Role::Planner,
                unit: None,
                disabled: false,
            },
        }
    }

    #[test]
    fn sessions_are_remembered_until_ended_or_expired() {
        let cache = SessionCache::default();
        let later = Timestamp::now() + jiff::SignedDuration::from_hours(1);
        cache.put("a".into(), session(1, later));
        cache.put("b".into(), session(2, later));
        assert_eq!(cache.get("a").map(|s| s.session_id), Some(1));
        cache.remove(1);
        assert!(cache.get("a").is_none(), "logged out");
        assert!(cache.get("b").is_some());
        cache.put("c".into(), session(3, Timestamp::now()));
        assert!(cache.get("c").is_none(), "expired");
        assert!(cache.get("unknown").is_none());
    }
}
