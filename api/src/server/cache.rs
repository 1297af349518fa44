//! Hotspot and zone results, cached per (parameters, data version). The data version is the
//! id of the latest import (`Store::data_version`, read through [`super::versions`]): an
//! import, by this server or by the CLI in another process, bumps it (and so does a
//! premises created or edited through the API: zones are named after venues), and the next
//! request finds the cache stale and empties it. A result computed from an older version than the cache
//! holds is never stored.
//!
//! Bodies are kept serialised, so a hit costs a lookup and a copy of a reference. The cache
//! is bounded by entries and bytes, and forgets the oldest entries first.

use axum::body::Bytes;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

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
    max_entries: usize,
    max_bytes: usize,
}

impl ResultCache {
    pub fn new(max_entries: usize, max_bytes: usize) -> ResultCache {
        ResultCache {
            inner: Mutex::default(),
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

    /// Number of results held.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
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
