//! The login rate limiter's counts in the database, so that every replica serving one
//! PostgreSQL database sees every attempt (`login_attempts`, PostgreSQL only). The rules
//! stay in `server::ratelimit`; here, one short transaction per attempt, serialised by an
//! advisory lock of its own (never behind an import).

use super::db::{LOGIN_LOCK, params};
use super::{Result, Store};

/// Attempts of one key within the window: how many, and how old the oldest is (ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KeyCount {
    pub count: u64,
    pub oldest_age_ms: i64,
}

impl Store {
    /// Forgets attempts older than the window, counts those of `keys`, and, if `decide`
    /// allows it on those counts, records the attempt under every key as `reservation`:
    /// all in one transaction, so simultaneous attempts on any replica are counted one
    /// after another.
    pub fn reserve_login(
        &mut self,
        keys: &[String],
        window_ms: i64,
        now_ms: i64,
        reservation: i64,
        decide: impl FnOnce(&[KeyCount]) -> bool,
    ) -> Result<Vec<KeyCount>> {
        let tx = self.conn.transaction_locked(LOGIN_LOCK)?;
        tx.execute(
            "DELETE FROM login_attempts WHERE at_ms <= ?1",
            params![now_ms - window_ms],
        )?;
        let mut counts = Vec::with_capacity(keys.len());
        for key in keys {
            counts.push(tx.query_row(
                "SELECT count(*), coalesce(min(at_ms), ?2) FROM login_attempts WHERE key = ?1",
                params![key, now_ms],
                |r| {
                    Ok(KeyCount {
                        count: r.get(0)?,
                        oldest_age_ms: now_ms - r.get::<i64>(1)?,
                    })
                },
            )?);
        }
        if decide(&counts) {
            for key in keys {
                tx.execute(
                    "INSERT INTO login_attempts (key, at_ms, reservation) VALUES (?1, ?2, ?3)",
                    params![key, now_ms, reservation],
                )?;
            }
        }
        tx.commit()?;
        Ok(counts)
    }

    /// Deletes the attempts of `clear` (every reservation) and those of `withdraw` made by
    /// `reservation`.
    pub fn forget_logins(
        &mut self,
        clear: &[String],
        withdraw: &[String],
        reservation: i64,
    ) -> Result<()> {
        let tx = self.conn.transaction_locked(LOGIN_LOCK)?;
        for key in clear {
            tx.execute("DELETE FROM login_attempts WHERE key = ?1", params![key])?;
        }
        for key in withdraw {
            tx.execute(
                "DELETE FROM login_attempts WHERE key = ?1 AND reservation = ?2",
                params![key, reservation],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}
