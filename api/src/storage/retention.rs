//! Retention (Data Protection Act 2018, s.39 storage limitation): the one path past the
//! append-only triggers on check-ins and the audit log.
//!
//! A run inserts its `retention_runs` row marked `active`, deletes, and clears the mark, in
//! one transaction: the delete triggers let a row go only while a run is active and only
//! when the row is older than the run's cut-off, so a plain `DELETE` still fails. Audit rows
//! go only as a prefix of the chain (ids below the first row at or after the cut-off); the
//! hash of the last one deleted becomes the anchor the retained chain is verified from, and
//! the run's own audit entry (in the chain) records it.

use super::audit::{AuditEntry, insert_audit};
use super::db::{DbResult, OptionalExt, params};
use super::users::utc_text;
use super::{Result, Store};
use jiff::Timestamp;

/// Cut-offs per kind of record: rows strictly older go; `None` keeps that kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionCutoffs {
    pub checkins: Option<Timestamp>,
    pub sessions: Option<Timestamp>,
    pub audit: Option<Timestamp>,
}

/// What a run deleted (or, dry, would delete).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RetentionReport {
    pub run_id: Option<i64>,
    pub checkins: u64,
    pub sessions: u64,
    pub audit: u64,
    pub audit_anchor_id: Option<i64>,
    pub audit_anchor_hash: Option<String>,
}

/// UTC text with milliseconds, comparable with both the audit log's times and the
/// second-precision times elsewhere (`...:00.000Z` sorts after `...:00Z`, so a row stamped
/// exactly at the cut-off stays).
fn cut_text(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl Store {
    /// Deletes what the cut-offs allow (or counts it, `dry_run`), and logs the run with
    /// `audit` (its detail gains the counts, cut-offs and anchor), in one transaction.
    pub fn apply_retention(
        &mut self,
        cut: &RetentionCutoffs,
        dry_run: bool,
        audit: &AuditEntry,
    ) -> Result<RetentionReport> {
        let far_past = "0000-01-01T00:00:00.000Z".to_owned();
        let text = |t: Option<Timestamp>| t.map_or_else(|| far_past.clone(), cut_text);
        let (c_cut, s_cut, a_cut) = (text(cut.checkins), text(cut.sessions), text(cut.audit));
        let latest = [&c_cut, &s_cut, &a_cut]
            .into_iter()
            .max()
            .cloned()
            .unwrap_or_else(|| far_past.clone());
        let tx = self.conn.transaction()?;
        // The audit rows that may go: the chain's prefix older than the cut-off.
        let audit_bound: i64 = tx.query_row(
            "SELECT coalesce((SELECT min(id) FROM audit WHERE at >= ?1),
                             (SELECT max(id) + 1 FROM audit), 0)",
            params![a_cut],
            |r| r.get(0),
        )?;
        let anchor: Option<(i64, String)> = tx
            .query_row(
                "SELECT id, hash FROM audit WHERE id < ?1 AND at < ?2 ORDER BY id DESC LIMIT 1",
                params![audit_bound, a_cut],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let mut report = RetentionReport::default();
        if dry_run {
            let count = |sql: &str, cut: &str| -> DbResult<u64> {
                tx.query_row(sql, params![cut], |r| r.get::<i64>(0))
                    .map(|n| n as u64)
            };
            report.checkins = count(
                "SELECT count(*) FROM checkins WHERE received_at < ?1",
                &c_cut,
            )?;
            report.sessions = count(
                "SELECT count(*) FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1",
                &s_cut,
            )?;
            report.audit = tx.query_row(
                "SELECT count(*) FROM audit WHERE id < ?1 AND at < ?2",
                params![audit_bound, a_cut],
                |r| r.get::<i64>(0),
            )? as u64;
            report.audit_anchor_id = anchor.as_ref().map(|a| a.0);
            report.audit_anchor_hash = anchor.map(|a| a.1);
        } else {
            let run: i64 = tx.query_row(
                "INSERT INTO retention_runs (at, actor, before_utc, active) VALUES (?1, ?2, ?3, 1) RETURNING id",
                params![
                    utc_text(Timestamp::now()),
                    audit.actor.as_deref().unwrap_or("unknown"),
                    latest
                ],
                |r| r.get(0),
            )?;
            report.run_id = Some(run);
            report.checkins = tx.execute(
                "DELETE FROM checkins WHERE received_at < ?1",
                params![c_cut],
            )? as u64;
            report.sessions = tx.execute(
                "DELETE FROM sessions WHERE expires_at < ?1 OR revoked_at < ?1",
                params![s_cut],
            )? as u64;
            report.audit = tx.execute(
                "DELETE FROM audit WHERE id < ?1 AND at < ?2",
                params![audit_bound, a_cut],
            )? as u64;
            if report.audit > 0 {
                report.audit_anchor_id = anchor.as_ref().map(|a| a.0);
                report.audit_anchor_hash = anchor.map(|a| a.1);
            }
            tx.execute(
                "UPDATE retention_runs SET checkins = ?2, sessions = ?3, audit = ?4,
                        audit_anchor_id = ?5, audit_anchor_hash = ?6, active = 0
                 WHERE id = ?1",
                params![
                    run,
                    report.checkins as i64,
                    report.sessions as i64,
                    report.audit as i64,
                    report.audit_anchor_id,
                    report.audit_anchor_hash
                ],
            )?;
        }
        let mut entry = audit.clone();
        let mut detail = match entry.detail.take() {
            Some(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        detail.insert("dry_run".into(), dry_run.into());
        detail.insert(
            "cutoffs".into(),
            serde_json::json!({
                "checkins": cut.checkins.map(cut_text),
                "sessions": cut.sessions.map(cut_text),
                "audit": cut.audit.map(cut_text),
            }),
        );
        if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(&report) {
            detail.extend(m);
        }
        entry.detail = Some(serde_json::Value::Object(detail));
        if dry_run {
            entry.action = "retention.preview".into();
        }
        insert_audit(&tx, &entry)?;
        tx.commit()?;
        Ok(report)
    }
}
