//! Hotspot and zone results, cached per (parameters, data version). The data version is the
//! id of the latest import (`Store::data_version`, read through [`super::versions`]): an
//! import, by this server or by the CLI in another process, bumps it (and so does a
//! premises created or edited through the API: zones are named after venues), and the next
//! request finds the cache stale and empties it. A result computed from an older version than the cache
//! holds is never stored.
//!
//! Bodies are kept serialised, so a hit costs a lookup and a copy of a reference. The cache
//! is bounded by entries and bytes, and forgets the oldest entries first.
//!
//! Misses fly once: the first request for a missing key computes it while the others for
//! the same key wait ([`ResultCache::flight`]), then find it cached. Without this, a map
//! opened by many people at once (or a load test's first burst) computed the same answer
//! once per request and starved the server.

use axum::body::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::OwnedMutexGuard;

#[derive(Debug, Default)]
struct Inner {
    version: i64,
    entries: HashMap<String, Bytes>,
    order: VecDeque<String>,
    bytes: usize,
}

impl Inner {
    fn clear(&mut self, version: i64) {
        self.version = version;
        self.entries.clear();
        self.order.clear();
        self.bytes = 0;
    }
}

/// A bounded cache of serialised results.
#[derive(Debug)]
pub struct ResultCache {
    inner: Mutex<Inner>,
    /// One lock per key being computed; dead entries are swept as the map grows.
    flights: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
    max_entries: usize,
    max_bytes: usize,
}

impl ResultCache {
    pub fn new(max_entries: usize, max_bytes: usize) -> ResultCache {
        ResultCache {
            inner: Mutex::default(),
            flights: Mutex::default(),
            max_entries,
            max_bytes,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The result for `key` computed at data version `version`, if any.
    pub fn get(&self, key: &str, version: i64) -> Option<Bytes> {
        let mut inner = self.lock();
        if version > inner.version {
            inner.clear(version);
        }
        if version != inner.version {
            return None;
        }
        inner.entries.get(key).cloned()
    }

    /// Stores a result computed at data version `version`.
    pub fn put(&self, key: String, version: i64, body: Bytes) {
        if body.len() > self.max_bytes {
            return;
        }
        let mut inner = self.lock();
        if version < inner.version {
            return; // computed from data that has since changed
        }
        if version > inner.version {
            inner.clear(version);
        }
        if let Some(old) = inner.entries.remove(&key) {
            inner.bytes -= old.len();
            inner.order.retain(|k| k != &key);
        }
        while inner.entries.len() >= self.max_entries || inner.bytes + body.len() > self.max_bytes {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(old) = inner.entries.remove(&oldest) {
                inner.bytes -= old.len();
            }
        }
        inner.bytes += body.len();
        inner.order.push_back(key.clone());
        inner.entries.insert(key, body);
    }

    /// Waits until no other request is computing `key`, and holds it until the guard is
    /// dropped: take it after a miss, look again, compute only if still missing.
    pub async fn flight(&self, key: &str) -> OwnedMutexGuard<()> {
        let lock = {
            let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
            match flights.get(key).and_then(Weak::upgrade) {
                Some(lock) => lock,
                None => {
                    if flights.len() >= 1024 {
                        flights.retain(|_, w| w.strong_count() > 0);
                    }
                    let lock = Arc::new(tokio::sync::Mutex::new(()));
                    flights.insert(key.to_string(), Arc::downgrade(&lock));
                    lock
                }
            }
        };
        lock.lock_owned().await
    }

    /// Number of results held.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Cache misses (computations) a user may start per minute: a hit costs nothing, but every
/// new parameter set holds a core, so one user cannot keep the compute permits busy.
pub const MISSES_PER_MINUTE: u32 = 30;

/// Counts each user's cache misses in fixed one-minute windows, in memory.
#[derive(Debug)]
pub struct MissLimiter {
    per_minute: u32,
    windows: Mutex<HashMap<i64, (std::time::Instant, u32)>>,
}

impl Default for MissLimiter {
    fn default() -> Self {
        MissLimiter::new(MISSES_PER_MINUTE)
    }
}

impl MissLimiter {
    pub fn new(per_minute: u32) -> MissLimiter {
        MissLimiter {
            per_minute,
            windows: Mutex::default(),
        }
    }

    /// Counts one miss for `user`: `Ok`, or `Err(seconds)` until the window ends.
    pub fn take(&self, user: i64) -> Result<(), u64> {
        let now = std::time::Instant::now();
        let minute = std::time::Duration::from_secs(60);
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() > 10_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start) < minute);
        }
        let w = windows.entry(user).or_insert((now, 0));
        if now.duration_since(w.0) >= minute {
            *w = (now, 0);
        }
        if w.1 >= self.per_minute {
            let left = minute.saturating_sub(now.duration_since(w.0));
            return Err(left.as_secs().max(1));
        }
        w.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn misses_are_limited_per_user_per_minute() {
        let l = MissLimiter::new(3);
        for _ in 0..3 {
            assert!(l.take(1).is_ok());
        }
        let wait = l.take(1).unwrap_err();
        assert!((1..=60).contains(&wait));
        assert!(l.take(2).is_ok(), "another user is not held up");
    }

    use super::*;

    #[test]
    fn a_new_data_version_empties_the_cache_and_stale_results_are_dropped() {
        let c = ResultCache::new(10, 1000);
        c.put("a".into(), 1, Bytes::from_static(b"one"));
        assert_eq!(c.get("a", 1).as_deref(), Some(&b"one"[..]));
        assert_eq!(c.get("a", 2), None, "an import happened");
        assert!(c.is_empty());
        c.put("a".into(), 1, Bytes::from_static(b"old"));
        assert_eq!(c.get("a", 2), None, "computed before the import: not kept");
        c.put("a".into(), 2, Bytes::from_static(b"new"));
        assert_eq!(c.get("a", 2).as_deref(), Some(&b"new"[..]));
    }

    #[tokio::test]
    async fn a_miss_is_computed_once_while_the_others_wait() {
        let cache = Arc::new(ResultCache::new(10, 1000));
        let computed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let requests: Vec<_> = (0..8)
            .map(|_| {
                let (cache, computed) = (Arc::clone(&cache), Arc::clone(&computed));
                tokio::spawn(async move {
                    if let Some(hit) = cache.get("k", 1) {
                        return hit;
                    }
                    let _flight = cache.flight("k").await;
                    if let Some(hit) = cache.get("k", 1) {
                        return hit;
                    }
                    computed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    let body = Bytes::from_static(b"answer");
                    cache.put("k".into(), 1, body.clone());
                    body
                })
            })
            .collect();
        for r in requests {
            assert_eq!(r.await.unwrap(), Bytes::from_static(b"answer"));
        }
        assert_eq!(computed.load(std::sync::atomic::Ordering::SeqCst), 1);
        // Other keys are not held up by it.
        let _k = cache.flight("k").await;
        let other = tokio::time::timeout(std::time::Duration::from_secs(1), cache.flight("j"));
        assert!(other.await.is_ok());
    }

    #[test]
    fn the_oldest_entries_go_first_when_full() {
        let c = ResultCache::new(2, 10);
        c.put("a".into(), 1, Bytes::from_static(b"1234"));
        c.put("b".into(), 1, Bytes::from_static(b"1234"));
        c.put("c".into(), 1, Bytes::from_static(b"1234"));
        assert_eq!(c.get("a", 1), None);
        assert!(c.get("b", 1).is_some() && c.get("c", 1).is_some());
        c.put("d".into(), 1, Bytes::from_static(b"12345678"));
        assert_eq!(c.len(), 1, "bytes bound: only d fits");
        c.put("e".into(), 1, Bytes::from_static(b"12345678901"));
        assert!(c.get("e", 1).is_none(), "larger than the whole cache");
    }
}
