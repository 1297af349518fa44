//! Compressed answers for the cached GeoJSON (hotspots, zones, premises): the encoding is
//! chosen from `Accept-Encoding` (brotli, else gzip, else none), and each answer is
//! compressed once, when cached, and kept beside its plain body.
//!
//! Compression is done twice, on purpose. The first request for an answer gets it
//! compressed fast (brotli quality 5: about 10 ms for a 750 KB viewport), so the map is not
//! kept waiting. When the same answer is asked for again it is popular (the map's opening
//! view, a busy town centre), and one background thread recompresses it at the best level
//! (brotli 11: about 0.8 s, a third smaller than gzip). Only one such job runs at a time,
//! so panning around the map never buys more than one core of compression. Smaller bodies
//! are what let one core answer more requests: most of the cost of a cache hit is the
//! kernel copying the body over TCP.

use super::AppError;
use super::cache::ResultCache;
use anyhow::anyhow;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, header};
use std::collections::HashMap;
use std::future::Future;
use std::io::Write;
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

/// A content coding for a cached answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

/// How hard to compress.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effort {
    /// Fast enough to do while the first request waits.
    Fast,
    /// The smallest body (brotli only), done in the background for answers asked for
    /// more than once.
    Best,
}

impl Encoding {
    /// The client's preferred coding among those it accepts (`q` above 0): brotli, which
    /// is smaller, before gzip. `*` accepts any coding not named with `q=0`.
    pub fn negotiate(headers: &HeaderMap) -> Encoding {
        let quality = |name: &str| -> Option<f32> {
            let mut star = None;
            let mut named = None;
            for value in headers.get_all(header::ACCEPT_ENCODING) {
                let Ok(value) = value.to_str() else { continue };
                for item in value.split(',') {
                    let mut parts = item.split(';').map(str::trim);
                    let coding = parts.next().unwrap_or("");
                    let q = parts
                        .filter_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")))
                        .find_map(|q| q.trim().parse::<f32>().ok())
                        .unwrap_or(1.0);
                    if coding.eq_ignore_ascii_case(name) {
                        named = Some(q);
                    } else if coding == "*" {
                        star = Some(q);
                    }
                }
            }
            named.or(star)
        };
        let accepted = |name| quality(name).is_some_and(|q| q > 0.0);
        if accepted("br") {
            Encoding::Brotli
        } else if accepted("gzip") {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }

    /// The `Content-Encoding` token, none for identity.
    pub fn token(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Brotli => Some("br"),
        }
    }

    /// The cache key of the answer `key` in this coding.
    pub fn key(self, key: &str) -> String {
        match self.token() {
            Some(token) => format!("{key}|{token}"),
            None => key.to_string(),
        }
    }

    /// `body` in this coding.
    pub fn compress(self, body: &[u8], effort: Effort) -> std::io::Result<Bytes> {
        match self {
            Encoding::Identity => Ok(Bytes::copy_from_slice(body)),
            Encoding::Gzip => {
                // Gzip's best level saves about 3 % here, and not always: one level serves.
                let mut enc = flate2::write::GzEncoder::new(
                    Vec::with_capacity(body.len() / 6),
                    flate2::Compression::default(),
                );
                enc.write_all(body)?;
                Ok(enc.finish()?.into())
            }
            Encoding::Brotli => {
                let quality = match effort {
                    Effort::Fast => 5,
                    Effort::Best => 11,
                };
                let mut out = Vec::with_capacity(body.len() / 6);
                {
                    // A 4 MiB window (lgwin 22), the brotli tool's default.
                    let mut enc = brotli::CompressorWriter::new(&mut out, 64 * 1024, quality, 22);
                    enc.write_all(body)?;
                    enc.flush()?;
                }
                Ok(out.into())
            }
        }
    }

    /// Sets `Content-Encoding` and `Vary` on a response whose body is in this coding.
    pub fn mark(self, headers: &mut HeaderMap) {
        if let Some(token) = self.token() {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(token));
        }
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
}

/// Schedules the best-effort recompression of answers asked for more than once.
#[derive(Debug)]
pub struct Recompressor {
    /// The answers (cache key in their coding) recompressed or being recompressed, with the
    /// data version they were claimed at.
    claimed: Mutex<HashMap<String, i64>>,
    /// One background job at a time.
    worker: Arc<Semaphore>,
}

impl Default for Recompressor {
    fn default() -> Self {
        Recompressor {
            claimed: Mutex::default(),
            worker: Arc::new(Semaphore::new(1)),
        }
    }
}

/// Beyond this many, the claims are forgotten (most belong to old data versions); an answer
/// recompressed twice costs time, never correctness.
const MAX_CLAIMS: usize = 4096;

impl Recompressor {
    /// The answer `key` (data version `version`) in `encoding`, and whether it was cached:
    /// the cached body in that coding; else the cached plain body, compressed; else the
    /// plain body from `compute`, cached and compressed. Misses fly once per key
    /// ([`ResultCache::flight`]). A hit on a brotli answer asks for its best-effort
    /// recompression.
    pub async fn answer<F, Fut>(
        &self,
        cache: &Arc<ResultCache>,
        key: &str,
        version: i64,
        encoding: Encoding,
        compute: F,
    ) -> Result<(Bytes, bool), AppError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, AppError>>,
    {
        let encoded_key = encoding.key(key);
        if let Some(body) = self.lookup(cache, key, &encoded_key, version, encoding) {
            return Ok((body, true));
        }
        let _flight = cache.flight(key).await;
        if let Some(body) = self.lookup(cache, key, &encoded_key, version, encoding) {
            return Ok((body, true)); // computed by the request this one waited for
        }
        let (plain, hit) = match cache.get(key, version) {
            Some(plain) => (plain, true),
            None => {
                let plain = compute().await?;
                cache.put(key.to_string(), version, plain.clone());
                (plain, false)
            }
        };
        if encoding == Encoding::Identity {
            return Ok((plain, hit));
        }
        let body = tokio::task::spawn_blocking(move || encoding.compress(&plain, Effort::Fast))
            .await
            .map_err(|e| AppError::Internal(anyhow!("compression task failed: {e}")))?
            .map_err(|e| AppError::Internal(e.into()))?;
        cache.put(encoded_key, version, body.clone());
        Ok((body, hit))
    }

    fn lookup(
        &self,
        cache: &Arc<ResultCache>,
        key: &str,
        encoded_key: &str,
        version: i64,
        encoding: Encoding,
    ) -> Option<Bytes> {
        let body = cache.get(encoded_key, version)?;
        if encoding == Encoding::Brotli {
            self.upgrade(cache, key, encoded_key, version, encoding);
        }
        Some(body)
    }

    /// Recompresses the plain answer `key` at the best level in the background, once, if
    /// the worker is free (else a later hit asks again).
    fn upgrade(
        &self,
        cache: &Arc<ResultCache>,
        key: &str,
        encoded_key: &str,
        version: i64,
        encoding: Encoding,
    ) {
        let mut claimed = self.claimed.lock().unwrap_or_else(|e| e.into_inner());
        if claimed.get(encoded_key) == Some(&version) {
            return;
        }
        let Ok(permit) = self.worker.clone().try_acquire_owned() else {
            return;
        };
        if claimed.len() >= MAX_CLAIMS {
            claimed.clear();
        }
        claimed.insert(encoded_key.to_string(), version);
        drop(claimed);
        let cache = Arc::clone(cache);
        let (key, encoded_key) = (key.to_string(), encoded_key.to_string());
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let Some(plain) = cache.get(&key, version) else {
                return; // evicted, or the data changed since
            };
            match encoding.compress(&plain, Effort::Best) {
                Ok(body) => cache.put(encoded_key, version, body),
                Err(e) => tracing::warn!(error = %e, "recompressing a cached answer failed"),
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(value).unwrap(),
        );
        h
    }

    #[test]
    fn negotiation_prefers_brotli_and_honours_q_zero() {
        let cases = [
            ("gzip, deflate, br, zstd", Encoding::Brotli),
            ("gzip", Encoding::Gzip),
            ("GZIP;q=0.5", Encoding::Gzip),
            ("br;q=0, gzip", Encoding::Gzip),
            ("br; q=0.0, gzip;q=0", Encoding::Identity),
            ("identity", Encoding::Identity),
            ("*", Encoding::Brotli),
            ("*;q=0", Encoding::Identity),
            ("br;q=0, *", Encoding::Gzip),
            ("deflate", Encoding::Identity),
        ];
        for (value, want) in cases {
            assert_eq!(Encoding::negotiate(&accept(value)), want, "{value}");
        }
        assert_eq!(Encoding::negotiate(&HeaderMap::new()), Encoding::Identity);
    }

    fn decode(encoding: Encoding, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        match encoding {
            Encoding::Identity => out.extend_from_slice(body),
            Encoding::Gzip => {
                flate2::read::GzDecoder::new(body)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            Encoding::Brotli => {
                brotli::Decompressor::new(body, 4096)
                    .read_to_end(&mut out)
                    .unwrap();
            }
        }
        out
    }

    #[test]
    fn every_coding_and_effort_round_trips_and_best_brotli_is_smaller() {
        let plain: Vec<u8> = (0..20_000)
            .flat_map(|i| {
                format!(
                    "{{\"id\":\"{}_{}\",\"score\":{}}},",
                    i % 97,
                    i % 89,
                    i * 7 % 1013
                )
                .into_bytes()
            })
            .collect();
        for encoding in [Encoding::Identity, Encoding::Gzip, Encoding::Brotli] {
            let fast = encoding.compress(&plain, Effort::Fast).unwrap();
            let best = encoding.compress(&plain, Effort::Best).unwrap();
            assert_eq!(decode(encoding, &fast), plain, "{encoding:?} fast");
            assert_eq!(decode(encoding, &best), plain, "{encoding:?} best");
            if encoding == Encoding::Brotli {
                assert!(best.len() < fast.len(), "{} < {}", best.len(), fast.len());
            }
            if encoding != Encoding::Identity {
                assert!(fast.len() < plain.len() / 4, "{encoding:?} compresses");
            }
        }
    }

    #[tokio::test]
    async fn a_repeated_hit_replaces_the_fast_body_with_the_best_one() {
        let cache = Arc::new(ResultCache::new(16, 1 << 24));
        let recompress = Recompressor::default();
        let plain: Bytes = (0..8_000)
            .flat_map(|i| {
                format!(
                    "[{:.7},{:.7}],",
                    0.4 + i as f64 * 1e-5,
                    51.8 + (i * 37 % 1000) as f64 * 1e-6
                )
                .into_bytes()
            })
            .collect::<Vec<u8>>()
            .into();
        let computed = std::sync::atomic::AtomicUsize::new(0);
        let ask = |version: i64, encoding: Encoding| {
            let plain = plain.clone();
            let computed = &computed;
            let (cache, recompress) = (&cache, &recompress);
            async move {
                recompress
                    .answer(cache, "k", version, encoding, || async move {
                        computed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        Ok(plain)
                    })
                    .await
                    .unwrap()
            }
        };
        let (fast, hit) = ask(3, Encoding::Brotli).await;
        assert!(!hit);
        assert_eq!(ask(3, Encoding::Brotli).await, (fast.clone(), true));
        // Another coding of the same answer compresses the cached plain body: no recompute.
        let (gz, hit) = ask(3, Encoding::Gzip).await;
        assert!(hit);
        assert_eq!(decode(Encoding::Gzip, &gz), plain);
        assert_eq!(ask(3, Encoding::Identity).await, (plain.clone(), true));
        assert_eq!(computed.load(std::sync::atomic::Ordering::SeqCst), 1);
        let mut best = fast.clone();
        for _ in 0..600 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            best = ask(3, Encoding::Brotli).await.0;
            if best != fast {
                break;
            }
        }
        assert!(
            best.len() < fast.len(),
            "best {} fast {}",
            best.len(),
            fast.len()
        );
        assert_eq!(decode(Encoding::Brotli, &best), plain);
        // Claimed once: no second job for the same answer.
        assert_eq!(recompress.claimed.lock().unwrap().len(), 1);
        // Another data version is another answer, computed again.
        assert!(!ask(4, Encoding::Brotli).await.1);
        assert_eq!(computed.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
