//! The audit log: who read or wrote personal or incident data, when, what, and from where
//! (Data Protection Act 2018, Part 3). Append-only: the schema's triggers refuse UPDATE and
//! DELETE, and this module offers neither.

use super::{Result, Store};
use jiff::Timestamp;
use rusqlite::params;
use serde::{Deserialize, Serialize};

/// One entry to append. The time is the store's clock at insertion.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry {
    /// User name, `cli:<login>`, or `None` when nobody is logged in (e.g. a failed login).
    pub actor: Option<String>,
    pub role: Option<String>,
    /// What was done, `area.verb`: `incidents.read`, `auth.login`, `user.create`, ...
    pub action: String,
    /// What it was done to: `incidents`, `user:ana`, `session:12`, ...
    pub target: Option<String>,
    /// The query, counts or outcome, as JSON.
    pub detail: Option<serde_json::Value>,
    pub remote_addr: Option<String>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditRow {
    pub id: i64,
    /// UTC, RFC 3339 with milliseconds.
    pub at: String,
    pub actor: Option<String>,
    pub role: Option<String>,
    pub action: String,
    pub target: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
    pub remote_addr: Option<String>,
}

/// Which entries to list, newest first.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only entries with an id below this (the previous page's last id).
    pub before: Option<i64>,
    pub actor: Option<String>,
    pub action: Option<String>,
    pub limit: u32,
}

/// Appends an entry inside an open transaction (so that a write and its entry land
/// together).
pub(super) fn insert_audit(conn: &rusqlite::Connection, e: &AuditEntry) -> Result<i64> {
    conn.execute(
        "INSERT INTO audit (at, actor, role, action, target, detail, remote_addr)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string(),
            e.actor,
            e.role,
            e.action,
            e.target,
            e.detail.as_ref().map(|d| d.to_string()),
            e.remote_addr
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

impl Store {
    /// Appends one entry in its own transaction.
    pub fn append_audit(&mut self, entry: &AuditEntry) -> Result<i64> {
        let tx = self.conn.transaction()?;
        let id = insert_audit(&tx, entry)?;
        tx.commit()?;
        Ok(id)
    }

    /// Entries matching the query, newest first.
    pub fn audit_entries(&self, q: &AuditQuery) -> Result<Vec<AuditRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at, actor, role, action, target, detail, remote_addr FROM audit
             WHERE (?1 IS NULL OR id < ?1) AND (?2 IS NULL OR actor = ?2)
               AND (?3 IS NULL OR action = ?3)
             ORDER BY id DESC LIMIT ?4",
        )?;
        let rows = stmt.query_map(params![q.before, q.actor, q.action, q.limit], |row| {
            let detail: Option<String> = row.get(6)?;
            Ok(AuditRow {
                id: row.get(0)?,
                at: row.get(1)?,
                actor: row.get(2)?,
                role: row.get(3)?,
                action: row.get(4)?,
                target: row.get(5)?,
                detail: detail
                    .map(|d| serde_json::from_str(&d).unwrap_or(serde_json::Value::String(d))),
                remote_addr: row.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
