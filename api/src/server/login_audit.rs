//! Refused logins in the audit log, aggregated so that a flood of wrong passwords cannot
//! fill the disk or hold SQLite's write lock.
//!
//! Failures are grouped per key (user name in lower case, client, reason) and UTC minute:
//!
//! - the first failure of a key in a minute is written at once, as before: one `auth.login`
//!   row, `{"outcome": "refused", "reason", "count": 1, "minute"}`;
//! - further failures of that key in that minute are only counted in memory;
//! - when the minute has ended, one summary row is written for the key with `"count": N`
//!   (the failures after the first) and `"summary": true`. Summaries are written by the
//!   next login attempt after the minute ends, by a task that wakes each minute, and at
//!   shutdown.
//!
//! So the sum of `count` over a key's rows is its number of refused logins, and a key costs
//! at most two rows a minute however fast it is tried. Failures still waiting for their
//! summary are lost if the process is killed (at most one minute's; a graceful shutdown
//! writes them). Logins refused by the rate limiter (429) are counted in `/metrics`, not
//! written.

use crate::storage::AuditEntry;
use jiff::Timestamp;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Keys held at once; beyond, every ended minute is summarised and the rest written as
/// they are (one row per key and minute still holds).
const MAX_KEYS: usize = 10_000;

/// A refused login to record.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub name: String,
    /// The user's stored name and role, when the name exists.
    pub actor: Option<(String, String)>,
    pub reason: &'static str,
    pub client: Option<String>,
    /// The trusted proxy the request came through, when it did.
    pub via: Option<String>,
}

/// A key: the user name in lower case, the client, the reason.
type Key = (String, Option<String>, &'static str);

#[derive(Debug)]
struct Pending {
    minute: i64,
    /// Failures after the first in `minute`.
    extra: u64,
    refusal: Refusal,
}

/// The refused logins of the current minutes.
#[derive(Debug, Default)]
pub struct LoginAudit {
    pending: Mutex<HashMap<Key, Pending>>,
    /// Whether the minute task has been started.
    pub flusher: AtomicBool,
}

fn minute_now() -> i64 {
    Timestamp::now().as_second().div_euclid(60)
}

fn minute_text(minute: i64) -> String {
    Timestamp::from_second(minute * 60)
        .map(|t| t.strftime("%Y-%m-%dT%H:%MZ").to_string())
        .unwrap_or_default()
}

fn row(r: &Refusal, minute: i64, count: u64, summary: bool) -> AuditEntry {
    let mut detail = serde_json::json!({
        "outcome": "refused",
        "reason": r.reason,
        "count": count,
        "minute": minute_text(minute),
    });
    if summary {
        detail["summary"] = true.into();
    }
    if let Some(via) = &r.via {
        detail["via"] = via.clone().into();
    }
    AuditEntry {
        actor: r.actor.as_ref().map(|a| a.0.clone()),
        role: r.actor.as_ref().map(|a| a.1.clone()),
        action: "auth.login".into(),
        target: None,
        detail: Some(detail),
        remote_addr: r.client.clone(),
    }
}

impl LoginAudit {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Pending>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a refused login; the rows to write now (its own if it is the first of its
    /// key this minute, and the summaries of minutes that have ended).
    pub fn refused(&self, r: Refusal) -> Vec<AuditEntry> {
        self.refused_at(r, minute_now())
    }

    fn refused_at(&self, r: Refusal, minute: i64) -> Vec<AuditEntry> {
        let mut rows = self.ended_at(minute, false);
        let key = (r.name.to_lowercase(), r.client.clone(), r.reason);
        let mut map = self.lock();
        match map.get_mut(&key) {
            Some(p) if p.minute == minute => p.extra += 1,
            _ => {
                rows.push(row(&r, minute, 1, false));
                if map.len() < MAX_KEYS {
                    map.insert(
                        key,
                        Pending {
                            minute,
                            extra: 0,
                            refusal: r,
                        },
                    );
                }
            }
        }
        rows
    }

    /// The summary rows of minutes that have ended (of every minute with `all`), removed
    /// from memory.
    pub fn ended(&self, all: bool) -> Vec<AuditEntry> {
        self.ended_at(minute_now(), all)
    }

    fn ended_at(&self, minute: i64, all: bool) -> Vec<AuditEntry> {
        let mut rows = Vec::new();
        self.lock().retain(|_, p| {
            if all || p.minute < minute {
                if p.extra > 0 {
                    rows.push(row(&p.refusal, p.minute, p.extra, true));
                }
                false
            } else {
                true
            }
        });
        rows
    }

    /// Whether this call is the first to ask (and so should start the minute task).
    pub fn start_flusher(&self) -> bool {
        !self.flusher.swap(true, Ordering::AcqRel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(name: &str, client: &str) -> Refusal {
        Refusal {
            name: name.into(),
            actor: None,
            reason: "unknown user",
            client: Some(client.into()),
            via: None,
        }
    }

    #[test]
    fn one_row_per_key_and_minute_then_one_summary() {
        let a = LoginAudit::default();
        let t = 29_000_000;
        assert_eq!(a.refused_at(refusal("x", "10.0.0.1"), t).len(), 1);
        for _ in 0..99 {
            assert!(a.refused_at(refusal("X", "10.0.0.1"), t).is_empty());
        }
        // Another client is another key.
        assert_eq!(a.refused_at(refusal("x", "10.0.0.2"), t).len(), 1);
        assert!(a.ended_at(t, false).is_empty(), "the minute has not ended");
        // The next minute: the summary of the first key, and the new minute's first row.
        let rows = a.refused_at(refusal("x", "10.0.0.1"), t + 1);
        assert_eq!(rows.len(), 2, "{rows:?}");
        let summary = rows[0].detail.as_ref().unwrap();
        assert_eq!(summary["count"], 99);
        assert_eq!(summary["summary"], true);
        assert_eq!(rows[1].detail.as_ref().unwrap()["count"], 1);
        // 10.0.0.2 had no further failures: no summary. Shutdown writes what is left.
        assert!(a.ended_at(t + 2, false).is_empty());
        assert!(a.refused_at(refusal("x", "10.0.0.1"), t + 3).len() == 1);
        a.refused_at(refusal("x", "10.0.0.1"), t + 3);
        let rows = a.ended(true);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].detail.as_ref().unwrap()["count"], 1);
    }
}
