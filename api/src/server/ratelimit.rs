//! The login rate limiter: after too many failed logins for one user name, or from one
//! address, within a window, further attempts are refused (429, `Retry-After`) without the
//! password being checked, until the oldest failure leaves the window.
//!
//! In memory, not in SQLite: a failed attempt is then not a database write (an attacker
//! cannot fill the disk or hold the write lock), and a restart forgets at most one window
//! of failures. One process serves the API, so one limiter sees every attempt. The per-name
//! limit stops guessing one account from many addresses; the per-address limit stops one
//! address trying many names. A locked name unlocks by itself after the window.

use crate::config::LoginLimits;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Keys beyond this many are pruned of expired failures before another is added.
const PRUNE_ABOVE: usize = 10_000;

/// Failed logins per key (`user:NAME`, `addr:IP`) within the window.
#[derive(Debug)]
pub struct LoginLimiter {
    limits: LoginLimits,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

fn user_key(name: &str) -> String {
    format!("user:{}", name.to_lowercase())
}

fn addr_key(addr: Option<&str>) -> String {
    format!("addr:{}", addr.unwrap_or("unknown"))
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> LoginLimiter {
        LoginLimiter {
            limits,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        // A panic while holding the lock leaves only counters behind: keep using them.
        self.failures.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Err(wait)` when a login for `name` from `addr` must be refused now.
    pub fn check(&self, name: &str, addr: Option<&str>) -> Result<(), Duration> {
        self.check_at(name, addr, Instant::now())
    }

    /// Counts a failed login.
    pub fn failed(&self, name: &str, addr: Option<&str>) {
        self.failed_at(name, addr, Instant::now());
    }

    /// A successful login clears the name's failures (not the address's).
    pub fn succeeded(&self, name: &str) {
        self.lock().remove(&user_key(name));
    }

    fn check_at(&self, name: &str, addr: Option<&str>, now: Instant) -> Result<(), Duration> {
        let window = self.limits.window;
        let mut map = self.lock();
        let mut wait = Duration::ZERO;
        for (key, limit) in [
            (user_key(name), self.limits.per_user),
            (addr_key(addr), self.limits.per_addr),
        ] {
            let Some(times) = map.get_mut(&key) else {
                continue;
            };
            while times
                .front()
                .is_some_and(|&t| now.duration_since(t) >= window)
            {
                times.pop_front();
            }
            if times.len() >= limit as usize
                && let Some(&oldest) = times.front()
            {
                wait = wait.max(window.saturating_sub(now.duration_since(oldest)));
            }
        }
        if wait > Duration::ZERO {
            Err(wait)
        } else {
            Ok(())
        }
    }

    fn failed_at(&self, name: &str, addr: Option<&str>, now: Instant) {
        let window = self.limits.window;
        let mut map = self.lock();
        if map.len() > PRUNE_ABOVE {
            map.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|&t| now.duration_since(t) < window)
            });
        }
        for key in [user_key(name), addr_key(addr)] {
            map.entry(key).or_default().push_back(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> LoginLimiter {
        LoginLimiter::new(LoginLimits {
            per_user: 3,
            per_addr: 5,
            window: Duration::from_secs(60),
        })
    }

    #[test]
    fn a_name_is_locked_after_its_limit_and_unlocks_after_the_window() {
        let l = limiter();
        let t0 = Instant::now();
        for i in 0..3 {
            assert!(
                l.check_at("Ana", Some("10.0.0.1"), t0).is_ok(),
                "attempt {i}"
            );
            l.failed_at("ana", Some("10.0.0.1"), t0 + Duration::from_secs(i));
        }
        // Same name in another case, from another address: still locked.
        let wait = l
            .check_at("ANA", Some("10.0.0.2"), t0 + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        // Another name from the first address is fine (3 < 5).
        assert!(
            l.check_at("bob", Some("10.0.0.1"), t0 + Duration::from_secs(10))
                .is_ok()
        );
        // When the first failure leaves the window, one more attempt is allowed.
        assert!(
            l.check_at("ana", Some("10.0.0.2"), t0 + Duration::from_secs(60))
                .is_ok()
        );
    }

    #[test]
    fn an_address_is_locked_across_names_and_success_clears_only_the_name() {
        let l = limiter();
        let t0 = Instant::now();
        for n in 0..5 {
            l.failed_at(&format!("user{n}"), Some("10.0.0.9"), t0);
        }
        assert!(l.check_at("someone", Some("10.0.0.9"), t0).is_err());
        assert!(l.check_at("someone", Some("10.0.0.8"), t0).is_ok());
        for _ in 0..3 {
            l.failed_at("cat", Some("10.0.0.7"), t0);
        }
        assert!(l.check_at("cat", Some("10.0.0.6"), t0).is_err());
        l.succeeded("cat");
        assert!(l.check_at("cat", Some("10.0.0.6"), t0).is_ok());
    }
}
