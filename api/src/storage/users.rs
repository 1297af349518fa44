//! Users and sessions. Passwords arrive here already hashed (argon2id, `app::password`)
//! and session tokens as their SHA-256: neither a password nor a token is ever stored.

use super::audit::{AuditEntry, insert_audit};
use super::db::{DbResult, OptionalExt, Row, params};
use super::{Result, Store, StoreError};
use crate::roles::Role;
use jiff::Timestamp;

/// A user as the server sees them (no password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The officer's unit callsign.
    pub unit: Option<String>,
    pub disabled: bool,
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub name: &'a str,
    pub role: Role,
    pub unit: Option<&'a str>,
    /// An argon2id PHC string (`$argon2id$v=19$...`).
    pub password_hash: &'a str,
}

/// A valid session and its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionUser {
    pub session_id: i64,
    pub user: User,
    pub expires_at: Timestamp,
}

/// A change to an account, made with its audit entry in one transaction.
#[derive(Debug, Clone, Copy)]
pub enum AccountChange<'a> {
    /// Disable the user and end all their sessions.
    Disable,
    Enable,
    /// A new argon2id password hash; all sessions end.
    Password(&'a str),
    /// End all the user's sessions.
    RevokeSessions,
}

impl AccountChange<'_> {
    /// The audit action: `user.disable`, `user.enable`, `user.password`, `user.revoke_sessions`.
    pub fn action(&self) -> &'static str {
        match self {
            AccountChange::Disable => "user.disable",
            AccountChange::Enable => "user.enable",
            AccountChange::Password(_) => "user.password",
            AccountChange::RevokeSessions => "user.revoke_sessions",
        }
    }
}

/// The account after a change, and the sessions it ended (to forget from caches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountChanged {
    pub user: User,
    pub revoked_sessions: Vec<i64>,
}

/// Fixed-width UTC text (`YYYY-MM-DDTHH:MM:SSZ`): comparing the text compares the instants.
pub fn utc_text(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn user_from_row(row: &Row<'_>, at: usize) -> DbResult<User> {
    let role: String = row.get(at + 2)?;
    Ok(User {
        id: row.get(at)?,
        name: row.get(at + 1)?,
        role: super::parse_column(at + 2, &role, |r| r.parse::<Role>())?,
        unit: row.get(at + 3)?,
        disabled: row.get(at + 4)?,
    })
}

impl Store {
    /// Creates a user and logs it, in one transaction. A name already taken (in any case)
    /// is [`StoreError::Conflict`].
    pub fn add_user(&mut self, user: &NewUser<'_>, audit: &AuditEntry) -> Result<i64> {
        let tx = self.conn.transaction()?;
        let inserted: Option<i64> = tx
            .query_row(
                "INSERT INTO users (name, role, unit, password_hash, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (name) DO NOTHING RETURNING id",
                params![
                    user.name,
                    user.role.as_str(),
                    user.unit,
                    user.password_hash,
                    utc_text(Timestamp::now())
                ],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = inserted else {
            return Err(StoreError::Conflict(format!(
                "a user named {:?} already exists",
                user.name
            )));
        };
        insert_audit(&tx, audit)?;
        tx.commit()?;
        Ok(id)
    }

    /// The user with this name (any case) and their password hash, for logging in.
    pub fn user_for_login(&self, name: &str) -> Result<Option<(User, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, name, role, unit, disabled, password_hash FROM users WHERE name = ?1",
                params![name],
                |row| Ok((user_from_row(row, 0)?, row.get(5)?)),
            )
            .optional()?)
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<User>> {
        let rows = self.conn.query_map(
            "SELECT id, name, role, unit, disabled FROM users ORDER BY name",
            params![],
            |row| user_from_row(row, 0),
        )?;
        Ok(rows.into_iter().collect())
    }

    /// Stores a new session (by its token's SHA-256) and logs the login, in one
    /// transaction; sessions that have expired are deleted on the way.
    pub fn create_session(
        &mut self,
        user_id: i64,
        token_sha256: &str,
        expires_at: Timestamp,
        remote_addr: Option<&str>,
        audit: &AuditEntry,
    ) -> Result<i64> {
        let now = utc_text(Timestamp::now());
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", params![now])?;
        let id: i64 = tx.query_row(
            "INSERT INTO sessions (token_sha256, user_id, created_at, expires_at, remote_addr)
             VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            params![
                token_sha256,
                user_id,
                now,
                utc_text(expires_at),
                remote_addr
            ],
            |r| r.get(0),
        )?;
        insert_audit(&tx, audit)?;
        tx.commit()?;
        Ok(id)
    }

    /// The session with this token hash, if it is neither expired nor revoked and its user
    /// is not disabled.
    pub fn session(&self, token_sha256: &str) -> Result<Option<SessionUser>> {
        let now = utc_text(Timestamp::now());
        let found = self
            .conn
            .query_row(
                "SELECT s.id, s.expires_at, u.id, u.name, u.role, u.unit, u.disabled
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.token_sha256 = ?1 AND s.revoked_at IS NULL AND s.expires_at > ?2
                   AND u.disabled = 0",
                params![token_sha256, now],
                |row| {
                    let expires: String = row.get(1)?;
                    Ok(SessionUser {
                        session_id: row.get(0)?,
                        expires_at: super::parse_column(1, &expires, |t| t.parse::<Timestamp>())?,
                        user: user_from_row(row, 2)?,
                    })
                },
            )
            .optional()?;
        Ok(found)
    }

    /// Applies `change` to the user `name` (any case) and logs it (`audit`'s detail gains
    /// the sessions ended), in one transaction. `None` when there is no such user.
    pub fn change_account(
        &mut self,
        name: &str,
        change: AccountChange<'_>,
        audit: &AuditEntry,
    ) -> Result<Option<AccountChanged>> {
        let now = utc_text(Timestamp::now());
        let tx = self.conn.transaction()?;
        let Some(mut user) = tx
            .query_row(
                "SELECT id, name, role, unit, disabled FROM users WHERE name = ?1",
                params![name],
                |row| user_from_row(row, 0),
            )
            .optional()?
        else {
            return Ok(None);
        };
        match change {
            AccountChange::Disable | AccountChange::Enable => {
                let disabled = matches!(change, AccountChange::Disable);
                tx.execute(
                    "UPDATE users SET disabled = ?2 WHERE id = ?1",
                    params![user.id, disabled],
                )?;
                user.disabled = disabled;
            }
            AccountChange::Password(hash) => {
                tx.execute(
                    "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                    params![user.id, hash],
                )?;
            }
            AccountChange::RevokeSessions => {}
        }
        let revoked_sessions: Vec<i64> = if matches!(change, AccountChange::Enable) {
            Vec::new()
        } else {
            tx.query_map(
                "UPDATE sessions SET revoked_at = ?2
                 WHERE user_id = ?1 AND revoked_at IS NULL AND expires_at > ?2
                 RETURNING id",
                params![user.id, now],
                |r| r.get(0),
            )?
        };
        let mut entry = audit.clone();
        entry.action = change.action().into();
        entry.target = Some(format!("user:{}", user.name));
        let mut detail = match entry.detail.take() {
            Some(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        detail.insert("sessions_revoked".into(), revoked_sessions.len().into());
        entry.detail = Some(serde_json::Value::Object(detail));
        insert_audit(&tx, &entry)?;
        tx.commit()?;
        Ok(Some(AccountChanged {
            user,
            revoked_sessions,
        }))
    }

    /// [`Store::session`], also refusing a session unused for `idle` or longer, and
    /// noting its use (at most once a minute, so a busy session is not a write per read).
    pub fn active_session(
        &self,
        token_sha256: &str,
        idle: std::time::Duration,
    ) -> Result<Option<SessionUser>> {
        let now = Timestamp::now();
        let idle = jiff::SignedDuration::try_from(idle).unwrap_or(jiff::SignedDuration::MAX);
        let idle_cut = utc_text(now.checked_sub(idle).unwrap_or(Timestamp::MIN));
        let last_seen: Option<String> = self
            .conn
            .query_row(
                "SELECT coalesce(last_seen_at, created_at) FROM sessions WHERE token_sha256 = ?1",
                params![token_sha256],
                |r| r.get(0),
            )
            .optional()?;
        let Some(last_seen) = last_seen else {
            return Ok(None);
        };
        if last_seen <= idle_cut {
            return Ok(None);
        }
        let Some(found) = self.session(token_sha256)? else {
            return Ok(None);
        };
        let minute_ago = utc_text(
            now.checked_sub(jiff::SignedDuration::from_secs(60))
                .unwrap_or(now),
        );
        if last_seen < minute_ago {
            self.conn.execute(
                "UPDATE sessions SET last_seen_at = ?2 WHERE id = ?1",
                params![found.session_id, utc_text(now)],
            )?;
        }
        Ok(Some(found))
    }

    /// Revokes a session and logs the logout, in one transaction. False when the session
    /// was not active.
    pub fn revoke_session(&mut self, session_id: i64, audit: &AuditEntry) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![session_id, utc_text(Timestamp::now())],
        )?;
        insert_audit(&tx, audit)?;
        tx.commit()?;
        Ok(n > 0)
    }
}
