//! The audit log: who read or wrote personal or incident data, when, what, and from where
//! (Data Protection Act 2018, Part 3, s.62). Append-only: the schema's triggers refuse
//! UPDATE, and DELETE outside a retention run (`storage::retention`); this module offers
//! neither.
//!
//! Tamper-evident: each row stores `prev_hash`, the previous row's `hash`, and its own
//! `hash` = SHA-256(`firefly-audit-v1`, `prev_hash`, id, at, actor, role, action, target,
//! detail, remote_addr), each field length-prefixed (absent: one 0 byte; present: a 1 byte,
//! its length as 8 bytes big-endian, its UTF-8 bytes), computed in the transaction of the
//! insert. Changing, inserting or deleting a row (triggers dropped, or the file edited)
//! breaks the chain at that row: [`Store::verify_audit`] names it. Cutting rows off the end
//! leaves a shorter valid chain, which is why an operator ships [`Store::audit_head`]
//! elsewhere (README, "Operations") and can check it later.

use super::db::{Conn, DbResult, OptionalExt, Row, params};
use super::{Result, Store};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first row ever written.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

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

/// The stored text of one row, as hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ChainRow {
    id: i64,
    at: String,
    actor: Option<String>,
    role: Option<String>,
    action: String,
    target: Option<String>,
    detail: Option<String>,
    remote_addr: Option<String>,
    prev_hash: Option<String>,
    hash: Option<String>,
}

const CHAIN_COLUMNS: &str =
    "id, at, actor, role, action, target, detail, remote_addr, prev_hash, hash";

fn chain_row(r: &Row<'_>) -> DbResult<ChainRow> {
    Ok(ChainRow {
        id: r.get(0)?,
        at: r.get(1)?,
        actor: r.get(2)?,
        role: r.get(3)?,
        action: r.get(4)?,
        target: r.get(5)?,
        detail: r.get(6)?,
        remote_addr: r.get(7)?,
        prev_hash: r.get(8)?,
        hash: r.get(9)?,
    })
}

/// Lower-case hex.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hash of a row whose predecessor's hash is `prev`.
fn row_hash(prev: &str, row: &ChainRow) -> String {
    let mut h = Sha256::new();
    let mut field = |v: Option<&str>| match v {
        None => h.update([0u8]),
        Some(text) => {
            h.update([1u8]);
            h.update((text.len() as u64).to_be_bytes());
            h.update(text.as_bytes());
        }
    };
    field(Some("firefly-audit-v1"));
    field(Some(prev));
    field(Some(&row.id.to_string()));
    field(Some(&row.at));
    field(row.actor.as_deref());
    field(row.role.as_deref());
    field(Some(&row.action));
    field(row.target.as_deref());
    field(row.detail.as_deref());
    field(row.remote_addr.as_deref());
    hex(&h.finalize())
}

/// The latest retention anchor: the id and hash of the last audit row a retention run
/// deleted; the retained chain continues from it.
fn anchor(conn: &Conn) -> Result<Option<(i64, String)>> {
    Ok(conn
        .query_row(
            "SELECT audit_anchor_id, audit_anchor_hash FROM retention_runs
             WHERE audit_anchor_id IS NOT NULL ORDER BY audit_anchor_id DESC LIMIT 1",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?)
}

/// The `prev_hash` for the next row: the last row's hash, else the anchor's, else
/// [`GENESIS`].
fn chain_tip(conn: &Conn) -> Result<String> {
    let last: Option<Option<String>> = conn
        .query_row(
            "SELECT hash FROM audit ORDER BY id DESC LIMIT 1",
            params![],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match last {
        Some(Some(hash)) => hash,
        Some(None) => GENESIS.to_owned(), // unreachable after migration 5
        None => anchor(conn)?.map_or_else(|| GENESIS.to_owned(), |(_, h)| h),
    })
}

/// Appends an entry inside an open transaction (so that a write and its entry land
/// together), chained to the row before it. Every writer here begins its transactions
/// IMMEDIATE (SQLite) or under the writer lock (PostgreSQL), so the tip cannot move
/// between reading it and inserting.
pub(super) fn insert_audit(conn: &Conn, e: &AuditEntry) -> Result<i64> {
    let ids = insert_audits(conn, std::slice::from_ref(e))?;
    Ok(ids.first().copied().unwrap_or_default())
}

/// Rows per INSERT statement when appending many: a few statement shapes only, so that
/// each is prepared once.
const AUDIT_ROWS_PER_INSERT: [usize; 3] = [64, 8, 1];

/// Appends entries in order inside an open transaction, each chained to the one before:
/// the tip and the next id are read once, the rows inserted a statement per
/// [`AUDIT_ROWS_PER_INSERT`]; their ids.
pub(super) fn insert_audits(conn: &Conn, entries: &[AuditEntry]) -> Result<Vec<i64>> {
    // AUTOINCREMENT's next id, chosen here because it is part of what is hashed.
    let first: i64 = conn.query_row(
        "SELECT coalesce(max(n), 0) + 1 FROM (
             SELECT seq AS n FROM sqlite_sequence WHERE name = 'audit'
             UNION ALL SELECT max(id) FROM audit) AS used",
        params![],
        |r| r.get(0),
    )?;
    let mut prev = chain_tip(conn)?;
    let at = Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let mut rows = Vec::with_capacity(entries.len());
    for (id, e) in (first..).zip(entries) {
        let mut row = ChainRow {
            id,
            at: at.clone(),
            actor: e.actor.clone(),
            role: e.role.clone(),
            action: e.action.clone(),
            target: e.target.clone(),
            detail: e.detail.as_ref().map(|d| d.to_string()),
            remote_addr: e.remote_addr.clone(),
            prev_hash: None,
            hash: None,
        };
        let hash = row_hash(&prev, &row);
        row.prev_hash = Some(std::mem::replace(&mut prev, hash.clone()));
        row.hash = Some(hash);
        rows.push(row);
    }
    let mut rest = &rows[..];
    while !rest.is_empty() {
        let n = AUDIT_ROWS_PER_INSERT
            .into_iter()
            .find(|&n| n <= rest.len())
            .unwrap_or(1);
        let (now, later) = rest.split_at(n);
        let mut values: Vec<&dyn super::db::ToValue> = Vec::with_capacity(n * 10);
        for row in now {
            values.extend([
                &row.id as &dyn super::db::ToValue,
                &row.at,
                &row.actor,
                &row.role,
                &row.action,
                &row.target,
                &row.detail,
                &row.remote_addr,
                &row.prev_hash,
                &row.hash,
            ]);
        }
        conn.execute(
            &format!(
                "INSERT INTO audit (id, at, actor, role, action, target, detail, remote_addr,
                                    prev_hash, hash) VALUES {}",
                vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; n].join(", ")
            ),
            &values,
        )?;
        rest = later;
    }
    Ok(rows.iter().map(|r| r.id).collect())
}

/// Migration 5's step: hashes the rows written before the chain existed, in id order,
/// inside the migration's transaction (the update trigger is dropped around it).
pub(super) fn backfill_chain(conn: &Conn) -> Result<()> {
    let rows = conn.query_map(
        &format!("SELECT {CHAIN_COLUMNS} FROM audit ORDER BY id"),
        params![],
        chain_row,
    )?;
    let mut prev = GENESIS.to_owned();
    for row in rows {
        let hash = row_hash(&prev, &row);
        conn.execute(
            "UPDATE audit SET prev_hash = ?2, hash = ?3 WHERE id = ?1",
            params![row.id, prev, hash],
        )?;
        prev = hash;
    }
    Ok(())
}

/// The outcome of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainCheck {
    /// Every row links to the one before and hashes to its stored hash.
    Intact {
        rows: u64,
        /// The last row's (id, hash); `None` when the log is empty.
        head: Option<(i64, String)>,
        /// Where the retained chain starts, when retention deleted older rows.
        anchor: Option<(i64, String)>,
    },
    /// The first row that does not check, and why.
    Broken { id: i64, reason: String },
}

impl Store {
    /// Appends one entry in its own transaction.
    pub fn append_audit(&mut self, entry: &AuditEntry) -> Result<i64> {
        let tx = self.conn.transaction()?;
        let id = insert_audit(&tx, entry)?;
        tx.commit()?;
        Ok(id)
    }

    /// Appends entries, in order, in one transaction; their ids.
    pub fn append_audits(&mut self, entries: &[AuditEntry]) -> Result<Vec<i64>> {
        let tx = self.conn.transaction()?;
        let ids = insert_audits(&tx, entries)?;
        tx.commit()?;
        Ok(ids)
    }

    /// The latest row's id and hash (the value to ship to an append-only store elsewhere).
    pub fn audit_head(&self) -> Result<Option<(i64, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, coalesce(hash, '') FROM audit ORDER BY id DESC LIMIT 1",
                params![],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// The hash stored for row `id`, if the row is there.
    pub fn audit_hash(&self, id: i64) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT hash FROM audit WHERE id = ?1", params![id], |r| {
                r.get(0)
            })
            .optional()?
            .flatten())
    }

    /// Recomputes the chain from its start (the genesis, or the retention anchor) to its
    /// head, in one read transaction, and names the first row that is changed, missing or
    /// out of place.
    pub fn verify_audit(&mut self) -> Result<ChainCheck> {
        // A deferred transaction: one consistent snapshot while writers go on.
        let tx = self.conn.snapshot()?;
        let anchor = anchor(&tx)?;
        if let Some((anchor_id, anchor_hash)) = &anchor {
            // The anchor row is in retention_runs, outside the chain; the retention run's
            // own audit entry, inside the chain, must vouch for it.
            let attested: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM audit WHERE action = 'retention.run'
                                AND json_valid(detail)
                                AND json_extract(detail, '$.audit_anchor_id') = ?1
                                AND json_extract(detail, '$.audit_anchor_hash') = ?2)",
                params![anchor_id, anchor_hash],
                |r| r.get(0),
            )?;
            if !attested {
                return Ok(ChainCheck::Broken {
                    id: anchor_id + 1,
                    reason: format!(
                        "the retention anchor (row {anchor_id}) is not vouched for by a \
                         retention.run entry"
                    ),
                });
            }
        }
        let (mut expected_id, mut prev) = match &anchor {
            Some((id, hash)) => (id + 1, hash.clone()),
            None => (1, GENESIS.to_owned()),
        };
        let mut rows = 0u64;
        let mut head = None;
        {
            let chain = tx.query_map(
                &format!("SELECT {CHAIN_COLUMNS} FROM audit ORDER BY id"),
                params![],
                chain_row,
            )?;
            for row in chain {
                if row.id < expected_id {
                    return Ok(ChainCheck::Broken {
                        id: row.id,
                        reason: "the row is older than the retention anchor".into(),
                    });
                }
                if row.id > expected_id {
                    return Ok(ChainCheck::Broken {
                        id: expected_id,
                        reason: format!("the row is missing (the next row is {})", row.id),
                    });
                }
                if row.prev_hash.as_deref() != Some(prev.as_str()) {
                    return Ok(ChainCheck::Broken {
                        id: row.id,
                        reason: "its prev_hash is not the previous row's hash \
                                 (a row before it was changed, removed or inserted)"
                            .into(),
                    });
                }
                let hash = row_hash(&prev, &row);
                if row.hash.as_deref() != Some(hash.as_str()) {
                    return Ok(ChainCheck::Broken {
                        id: row.id,
                        reason: "its contents do not match its hash (the row was changed)".into(),
                    });
                }
                rows += 1;
                expected_id = row.id + 1;
                head = Some((row.id, hash.clone()));
                prev = hash;
            }
        }
        // AUTOINCREMENT remembers the largest id ever used: rows cut off the end show here
        // (unless sqlite_sequence was edited too; the shipped head catches that).
        let seq: i64 = tx
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'audit'",
                params![],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0);
        if seq >= expected_id {
            return Ok(ChainCheck::Broken {
                id: expected_id,
                reason: format!("the row is missing (ids up to {seq} were used)"),
            });
        }
        Ok(ChainCheck::Intact { rows, head, anchor })
    }

    /// Entries matching the query, newest first.
    pub fn audit_entries(&self, q: &AuditQuery) -> Result<Vec<AuditRow>> {
        let rows = self.conn.query_map(
            "SELECT id, at, actor, role, action, target, detail, remote_addr FROM audit
             WHERE (CAST(?1 AS BIGINT) IS NULL OR id < ?1)
               AND (CAST(?2 AS TEXT) IS NULL OR actor = ?2)
               AND (CAST(?3 AS TEXT) IS NULL OR action = ?3)
             ORDER BY id DESC LIMIT ?4",
            params![q.before, q.actor, q.action, q.limit],
            |row| {
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
            },
        )?;
        Ok(rows)
    }
}
