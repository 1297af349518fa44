//! Request counts and durations by route and status, and a few counters of our own, served
//! as Prometheus text at `/metrics`. Routes are labelled by their template
//! (`/api/v1/premises/{id}`), never the raw path, and methods by one of a fixed set
//! ([`method_label`]: any other token is `other`), so the label set stays bounded whatever
//! clients send. `/metrics` is for admins only (Prometheus scrapes it with
//! `authorization: { type: Bearer, credentials_file: ... }` holding an admin's token): route
//! names, error rates and login failures are reconnaissance.

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::auth::Require;
use super::policy::MetricsRead;
use super::state::AppState;

/// Upper bounds of the duration histogram, seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The server's counters.
#[derive(Debug)]
pub struct Metrics {
    started: Instant,
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    durations: Mutex<BTreeMap<String, Histogram>>,
    pub cache_hits: AtomicU64,
    pub cache_misses: AtomicU64,
    pub login_failures: AtomicU64,
    pub logins_refused: AtomicU64,
    /// Logins answered 503 because every hashing permit was taken.
    pub logins_busy: AtomicU64,
    /// Password verifications running now, and the most ever at once.
    pub hashes_in_flight: AtomicU64,
    pub hashes_peak: AtomicU64,
    /// Analyses and plans computing now (each holds a compute permit).
    pub computations_running: AtomicU64,
    /// Computations stopped because their request was dropped (client gone, timeout).
    pub computations_cancelled: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started: Instant::now(),
            requests: Mutex::default(),
            durations: Mutex::default(),
            cache_hits: AtomicU64::new(0),
            cache_misses: AtomicU64::new(0),
            login_failures: AtomicU64::new(0),
            logins_refused: AtomicU64::new(0),
            logins_busy: AtomicU64::new(0),
            hashes_in_flight: AtomicU64::new(0),
            hashes_peak: AtomicU64::new(0),
            computations_running: AtomicU64::new(0),
            computations_cancelled: AtomicU64::new(0),
        }
    }
}

/// Escapes a Prometheus label value.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    pub fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        if let Ok(mut map) = self.requests.lock() {
            *map.entry((method.to_string(), route.to_string(), status))
                .or_default() += 1;
        }
        if let Ok(mut map) = self.durations.lock() {
            let h = map.entry(route.to_string()).or_default();
            for (i, bound) in BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    h.counts[i] += 1;
                }
            }
            h.count += 1;
            h.sum += seconds;
        }
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# HELP firefly_http_requests_total HTTP requests answered, by method, route and status.\n# TYPE firefly_http_requests_total counter"
        );
        if let Ok(map) = self.requests.lock() {
            for ((method, route, status), n) in map.iter() {
                let _ = writeln!(
                    s,
                    "firefly_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{status}\"}} {n}",
                    label(method),
                    label(route)
                );
            }
        }
        let _ = writeln!(
            s,
            "# HELP firefly_http_request_duration_seconds Time to answer, by route.\n# TYPE firefly_http_request_duration_seconds histogram"
        );
        if let Ok(map) = self.durations.lock() {
            for (route, h) in map.iter() {
                let route = label(route);
                for (bound, n) in BUCKETS.iter().zip(h.counts) {
                    let _ = writeln!(
                        s,
                        "firefly_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}"
                    );
                }
                let _ = writeln!(
                    s,
                    "firefly_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}\nfirefly_http_request_duration_seconds_sum{{route=\"{route}\"}} {}\nfirefly_http_request_duration_seconds_count{{route=\"{route}\"}} {}",
                    h.count, h.sum, h.count
                );
            }
        }
        for (name, help, v) in [
            (
                "firefly_result_cache_hits_total",
                "Hotspot and zone requests answered from the cache.",
                &self.cache_hits,
            ),
            (
                "firefly_result_cache_misses_total",
                "Hotspot and zone requests computed afresh.",
                &self.cache_misses,
            ),
            (
                "firefly_login_failures_total",
                "Logins refused for a wrong name or password.",
                &self.login_failures,
            ),
            (
                "firefly_logins_rate_limited_total",
                "Logins refused by the rate limiter.",
                &self.logins_refused,
            ),
            (
                "firefly_logins_busy_total",
                "Logins answered 503: every password-hashing permit was taken.",
                &self.logins_busy,
            ),
            (
                "firefly_computations_cancelled_total",
                "Analyses and plans stopped because their request was dropped.",
                &self.computations_cancelled,
            ),
        ] {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        for (name, help, v) in [
            (
                "firefly_login_hashes_in_flight",
                "Password verifications running now.",
                &self.hashes_in_flight,
            ),
            (
                "firefly_login_hashes_in_flight_peak",
                "The most password verifications that ever ran at once.",
                &self.hashes_peak,
            ),
            (
                "firefly_computations_running",
                "Analyses and plans computing now, each on a compute permit.",
                &self.computations_running,
            ),
        ] {
            let _ = writeln!(
                s,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            s,
            "# HELP firefly_uptime_seconds Seconds since the server started.\n# TYPE firefly_uptime_seconds gauge\nfirefly_uptime_seconds {:.3}",
            self.started.elapsed().as_secs_f64()
        );
        s
    }
}

/// The method's label: one of a fixed set, `other` for anything else.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: counts every request by method, route template and status.
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = method_label(req.method());
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let res = next.run(req).await;
    state.metrics.record(
        method,
        &route,
        res.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    res
}

/// `GET /metrics`: Prometheus text, for admins.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Prometheus text exposition format 0.0.4", body = String, content_type = "text/plain"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn metrics(
    State(state): State<AppState>,
    _who: Require<MetricsRead>,
) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics.render(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_outside_the_fixed_set_share_one_label() {
        let m = Metrics::default();
        for token in ["FOO", "BAR", "GET2", "get"] {
            let method = axum::http::Method::from_bytes(token.as_bytes()).expect("a token");
            m.record(method_label(&method), "/x", 200, 0.0);
        }
        let text = m.render();
        assert!(
            text.contains("method=\"other\",route=\"/x\",status=\"200\"} 4"),
            "{text}"
        );
    }
}
