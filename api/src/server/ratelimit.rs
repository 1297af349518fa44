//! The login rate limiter. Three counters of failed logins within a window (default 15
//! minutes), where a client is an IPv4 address or an IPv6 /64 prefix
//! ([`crate::net::client_key`]) and a name is matched in any case:
//!
//! - per (name, client), limit `per_user` (5): then that client is refused (429,
//!   `Retry-After`) for that name, without the password being checked, until its oldest
//!   failure leaves the window. One attacker guessing one account stops here.
//! - per client, limit `per_addr` (20): then the client is refused for every name. One
//!   attacker trying many names stops here.
//! - per name across all clients: never a refusal, so failures from one place cannot lock
//!   the account's owner out elsewhere. After `name_delay_after` failures each further
//!   attempt for the name waits before its password is checked, `name_delay` doubling with
//!   each further failure up to `name_delay_max`: guessing one account from many addresses
//!   is slowed, and the hashing pool (`AppState::hashing`) bounds the guesses a second
//!   whatever the number of addresses.
//!
//! [`LoginLimiter::check`] reserves the attempt atomically: under the same lock that checks
//! the limits, it counts the attempt as a failure in all three counters, so a burst of
//! simultaneous attempts cannot all pass the check before any of them has failed. The
//! handler then calls [`Reservation::succeeded`] (the name's failures from that client are
//! cleared, the reservation withdrawn from the others) or [`Reservation::cancel`] (the
//! password was never checked: withdrawn everywhere); a reservation dropped otherwise stays
//! a failure.
//!
//! With SQLite, in memory: a failed attempt is then not a database write (an attacker
//! cannot fill the disk or hold the write lock), a restart forgets at most one window of
//! failures, and one process serves the API, so one limiter sees every attempt. With
//! PostgreSQL, several replicas may serve one database: the counts are then kept there
//! (`Store::reserve_login`, an unlogged table under an advisory lock of its own), the same
//! rules applied to them, so an attacker gains nothing by spreading attempts over replicas.

use super::error::AppError;
use super::state::Db;
use crate::config::LoginLimits;
use crate::storage::KeyCount;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Keys beyond this many are pruned of expired failures before another is added.
const PRUNE_ABOVE: usize = 10_000;

/// One attempt: when, and which reservation made it.
type Attempts = VecDeque<(Instant, u64)>;

/// Failed (and pending) logins per key: `pair:NAME|CLIENT`, `addr:CLIENT`, `user:NAME`.
#[derive(Debug)]
pub struct LoginLimiter {
    limits: LoginLimits,
    failures: Mutex<HashMap<String, Attempts>>,
    next_id: AtomicU64,
    /// The database that keeps the counts for every replica, if it does (PostgreSQL).
    shared: Option<Arc<Db>>,
}

/// Attempts of one key within the window: how many, and the age of the oldest.
#[derive(Debug, Clone, Copy, Default)]
struct Count {
    n: usize,
    oldest_age: Duration,
}

/// The rules, on the counts of (name and client, client, name): refused for a while
/// (`Err(wait)`), or allowed after a delay (`Ok(delay)`).
fn judge(
    limits: &LoginLimits,
    pair: Count,
    addr: Count,
    name: Count,
) -> Result<Duration, Duration> {
    let mut wait = Duration::ZERO;
    for (count, limit) in [(pair, limits.per_user), (addr, limits.per_addr)] {
        if count.n > 0 && count.n >= limit as usize {
            wait = wait.max(limits.window.saturating_sub(count.oldest_age));
        }
    }
    if wait > Duration::ZERO {
        return Err(wait);
    }
    Ok(match name.n.checked_sub(limits.name_delay_after as usize) {
        None => Duration::ZERO,
        Some(extra) => limits
            .name_delay
            .saturating_mul(1u32 << extra.min(20))
            .min(limits.name_delay_max),
    })
}

/// [`judge`] on the database's counts, in key order (pair, client, name).
fn judge_stored(limits: &LoginLimits, counts: &[KeyCount]) -> Result<Duration, Duration> {
    let count = |i: usize| {
        counts.get(i).map_or(Count::default(), |c| Count {
            n: c.count as usize,
            oldest_age: Duration::from_millis(c.oldest_age_ms.max(0) as u64),
        })
    };
    judge(limits, count(0), count(1), count(2))
}

fn user_key(name: &str) -> String {
    format!("user:{}", name.to_lowercase())
}

fn addr_key(client: Option<&str>) -> String {
    format!("addr:{}", client.unwrap_or("unknown"))
}

fn pair_key(name: &str, client: Option<&str>) -> String {
    format!(
        "pair:{}|{}",
        name.to_lowercase(),
        client.unwrap_or("unknown")
    )
}

/// An attempt counted as a failure until the handler says otherwise.
#[derive(Debug)]
#[must_use = "a reservation left alone stays a failure"]
pub struct Reservation {
    limiter: Arc<LoginLimiter>,
    id: u64,
    name: String,
    client: Option<String>,
    /// How long to wait before checking the password (the name's progressive delay).
    pub delay: Duration,
}

impl Reservation {
    /// The login succeeded: the name's failures from this client are forgotten, and this
    /// attempt is withdrawn from the client's and the name's counts. Earlier failures from
    /// the client for other names stay, so logging into one's own account does not reset
    /// an address's count.
    pub fn succeeded(self) {
        if let Some(db) = &self.limiter.shared {
            let clear = vec![pair_key(&self.name, self.client.as_deref())];
            let withdraw = vec![user_key(&self.name), addr_key(self.client.as_deref())];
            forget_shared(db, clear, withdraw, self.id);
            return;
        }
        let mut map = self.limiter.lock();
        map.remove(&pair_key(&self.name, self.client.as_deref()));
        for key in [user_key(&self.name), addr_key(self.client.as_deref())] {
            withdraw(&mut map, &key, self.id);
        }
    }

    /// The password was never checked (the server was busy): the attempt is withdrawn.
    pub fn cancel(self) {
        if let Some(db) = &self.limiter.shared {
            let withdraw = vec![
                pair_key(&self.name, self.client.as_deref()),
                user_key(&self.name),
                addr_key(self.client.as_deref()),
            ];
            forget_shared(db, Vec::new(), withdraw, self.id);
            return;
        }
        let mut map = self.limiter.lock();
        for key in [
            pair_key(&self.name, self.client.as_deref()),
            user_key(&self.name),
            addr_key(self.client.as_deref()),
        ] {
            withdraw(&mut map, &key, self.id);
        }
    }
}

/// Clears and withdraws in the database, in the background: the answer to the login does
/// not wait for it (a failure to forget leaves a failure counted, the safe side).
fn forget_shared(db: &Arc<Db>, clear: Vec<String>, withdraw: Vec<String>, id: u64) {
    let db = Arc::clone(db);
    tokio::spawn(async move {
        let forgot = db
            .run(move |s| s.forget_logins(&clear, &withdraw, id as i64))
            .await;
        if let Err(e) = forgot {
            tracing::warn!(error = %e, "could not withdraw a login attempt from the shared counts");
        }
    });
}

fn withdraw(map: &mut HashMap<String, Attempts>, key: &str, id: u64) {
    if let Some(times) = map.get_mut(key) {
        times.retain(|&(_, i)| i != id);
        if times.is_empty() {
            map.remove(key);
        }
    }
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> LoginLimiter {
        LoginLimiter {
            limits,
            failures: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            shared: None,
        }
    }

    /// A limiter whose counts live in `db`, shared by every process serving it.
    pub fn shared(limits: LoginLimits, db: Arc<Db>) -> LoginLimiter {
        LoginLimiter {
            shared: Some(db),
            ..LoginLimiter::new(limits)
        }
    }

    /// [`LoginLimiter::check`], against the shared counts when there are some.
    pub async fn reserve(
        self: &Arc<Self>,
        name: &str,
        client: Option<&str>,
    ) -> Result<Result<Reservation, Duration>, AppError> {
        let Some(db) = &self.shared else {
            return Ok(self.check(name, client));
        };
        let keys = vec![pair_key(name, client), addr_key(client), user_key(name)];
        // Random, so that replicas never hand out the same one.
        let id = rand::random::<u64>() >> 1;
        let limits = self.limits;
        let window_ms = i64::try_from(limits.window.as_millis()).unwrap_or(i64::MAX);
        let now_ms = jiff::Timestamp::now().as_millisecond();
        let counts = db
            .run(move |s| {
                s.reserve_login(&keys, window_ms, now_ms, id as i64, |counts| {
                    judge_stored(&limits, counts).is_ok()
                })
            })
            .await?;
        Ok(judge_stored(&limits, &counts).map(|delay| Reservation {
            limiter: Arc::clone(self),
            id,
            name: name.to_string(),
            client: client.map(str::to_string),
            delay,
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Attempts>> {
        // A panic while holding the lock leaves only counters behind: keep using them.
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reserves an attempt for `name` from `client` (a [`crate::net::client_key`]), or
    /// `Err(wait)` when it must be refused now.
    pub fn check(
        self: &Arc<Self>,
        name: &str,
        client: Option<&str>,
    ) -> Result<Reservation, Duration> {
        self.check_at(name, client, Instant::now())
    }

    fn check_at(
        self: &Arc<Self>,
        name: &str,
        client: Option<&str>,
        now: Instant,
    ) -> Result<Reservation, Duration> {
        let limits = self.limits;
        let window = limits.window;
        let mut map = self.lock();
        if map.len() > PRUNE_ABOVE {
            map.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|&(t, _)| now.duration_since(t) < window)
            });
        }
        let mut count = |key: &str| -> Count {
            let Some(times) = map.get_mut(key) else {
                return Count::default();
            };
            while times
                .front()
                .is_some_and(|&(t, _)| now.duration_since(t) >= window)
            {
                times.pop_front();
            }
            Count {
                n: times.len(),
                oldest_age: times
                    .front()
                    .map_or(Duration::ZERO, |&(t, _)| now.duration_since(t)),
            }
        };
        let (pair, addr, user) = (
            count(&pair_key(name, client)),
            count(&addr_key(client)),
            count(&user_key(name)),
        );
        let delay = judge(&limits, pair, addr, user)?;
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        for key in [pair_key(name, client), addr_key(client), user_key(name)] {
            map.entry(key).or_default().push_back((now, id));
        }
        Ok(Reservation {
            limiter: Arc::clone(self),
            id,
            name: name.to_string(),
            client: client.map(str::to_string),
            delay,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> Arc<LoginLimiter> {
        Arc::new(LoginLimiter::new(LoginLimits {
            per_user: 3,
            per_addr: 5,
            window: Duration::from_secs(60),
            name_delay_after: 4,
            name_delay: Duration::from_secs(1),
            name_delay_max: Duration::from_secs(5),
        }))
    }

    #[test]
    fn a_name_is_refused_to_one_client_after_its_limit_but_not_to_another() {
        let l = limiter();
        let t0 = Instant::now();
        for i in 0..3 {
            let r = l.check_at("Ana", Some("10.0.0.1"), t0 + Duration::from_secs(i));
            assert!(r.is_ok(), "attempt {i}");
        }
        // Same name in another case, same client: refused until the first failure expires.
        let wait = l
            .check_at("ANA", Some("10.0.0.1"), t0 + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        // Another client may still try the name, without waiting (3 < 4).
        let r = l
            .check_at("ana", Some("10.0.0.2"), t0 + Duration::from_secs(10))
            .unwrap();
        assert_eq!(r.delay, Duration::ZERO);
        r.succeeded();
        // When the first failure leaves the window, one more attempt is allowed.
        assert!(
            l.check_at("ana", Some("10.0.0.1"), t0 + Duration::from_secs(60))
                .is_ok()
        );
    }

    #[test]
    fn failures_across_clients_slow_a_name_progressively() {
        let l = limiter();
        let t0 = Instant::now();
        let mut delays = Vec::new();
        for i in 0..8 {
            let r = l.check_at("bob", Some(&format!("10.0.1.{i}")), t0).unwrap();
            delays.push(r.delay.as_secs());
        }
        assert_eq!(delays, [0, 0, 0, 0, 1, 2, 4, 5]);
    }

    #[test]
    fn a_burst_is_counted_before_any_answer() {
        let l = limiter();
        let t0 = Instant::now();
        // Five simultaneous attempts, none answered yet: only three get through.
        let outcomes: Vec<_> = (0..5)
            .map(|_| l.check_at("cat", Some("10.0.0.7"), t0))
            .collect();
        assert_eq!(outcomes.iter().filter(|r| r.is_ok()).count(), 3);
        // A cancelled reservation is withdrawn; one that succeeded clears the pair.
        let mut ok = outcomes.into_iter().filter_map(Result::ok);
        ok.next().unwrap().cancel();
        assert!(l.check_at("cat", Some("10.0.0.7"), t0).is_ok());
        ok.next().unwrap().succeeded();
        for _ in 0..3 {
            assert!(l.check_at("cat", Some("10.0.0.7"), t0).is_ok());
        }
        assert!(l.check_at("cat", Some("10.0.0.7"), t0).is_err());
    }

    #[test]
    fn a_client_is_refused_across_names_and_success_does_not_clear_it() {
        let l = limiter();
        let t0 = Instant::now();
        for n in 0..4 {
            drop(
                l.check_at(&format!("user{n}"), Some("10.0.0.9"), t0)
                    .unwrap(),
            );
        }
        l.check_at("mine", Some("10.0.0.9"), t0)
            .unwrap()
            .succeeded();
        let _last = l.check_at("user9", Some("10.0.0.9"), t0).unwrap();
        assert!(l.check_at("someone", Some("10.0.0.9"), t0).is_err());
        assert!(l.check_at("someone", Some("10.0.0.8"), t0).is_ok());
    }
}
