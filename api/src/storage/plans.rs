//! Plans (schema version 3); the itineraries and check-ins drawn from them are in
//! `checkins.rs`.
//!
//! A plan is one row holding the contract's plan JSON (`document`) and the facts the API
//! filters on (night, status, the night's first and last instants, scores), plus its
//! assignments normalised into `plan_assignments` (one row per unit per slot). A re-plan
//! updates the row in place: `version` goes up by one and the document it replaces is kept
//! in `plan_versions` (append-only). Check-ins are append-only too.
//!
//! Every write is one transaction, with its audit entry inside it.

use super::audit::{AuditEntry, insert_audit};
pub use super::checkins::{NewCheckin, ZoneDosage};
use super::db::{Conn, DbResult, OptionalExt, Row, params};
use super::{Result, Store, StoreError};
use jiff::Timestamp;

/// A plan's publication state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanStatus {
    /// Visible to planners and admins only.
    Draft,
    /// Visible to officers too (their own unit's itinerary).
    Published,
}

impl PlanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Draft => "draft",
            PlanStatus::Published => "published",
        }
    }
}

/// Stored text that is not one of a column's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a {1}")]
pub struct UnknownValue(pub(super) String, pub(super) &'static str);

impl std::str::FromStr for PlanStatus {
    type Err = UnknownValue;

    fn from_str(s: &str) -> std::result::Result<Self, UnknownValue> {
        match s {
            "draft" => Ok(PlanStatus::Draft),
            "published" => Ok(PlanStatus::Published),
            other => Err(UnknownValue(other.into(), "plan status")),
        }
    }
}

/// What is stored about a plan besides its document.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanMeta {
    pub id: i64,
    /// `YYYY-MM-DD`, the local date the night starts on.
    pub night: String,
    pub status: PlanStatus,
    /// 1 when created; one more per re-plan.
    pub version: i64,
    pub created_by: String,
    pub created_at: String,
    pub updated_by: String,
    pub updated_at: String,
    pub published_by: Option<String>,
    pub published_at: Option<String>,
    /// The first slot's start and the last slot's end (UTC text, see [`super::utc_text`]).
    pub start_utc: String,
    pub end_utc: String,
    pub objective: f64,
    pub bound: f64,
    pub gap: f64,
}

/// One unit in one slot, as `plan_assignments` holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRow {
    pub callsign: String,
    pub slot: i64,
    pub start_utc: String,
    pub end_utc: String,
    /// `zone`, `travel`, `break` or `off`.
    pub kind: &'static str,
    pub zone_id: Option<String>,
    /// For `travel`: where from and to (zone ids; `None` is the unit's station).
    pub from_zone: Option<String>,
    pub to_zone: Option<String>,
}

/// A plan document with what is stored beside it: for creating a plan, and for a re-plan's
/// new version.
#[derive(Debug, Clone)]
pub struct PlanDocument {
    pub night: String,
    pub start_utc: String,
    pub end_utc: String,
    pub objective: f64,
    pub bound: f64,
    pub gap: f64,
    /// The plan JSON.
    pub document: serde_json::Value,
    pub assignments: Vec<AssignmentRow>,
}

pub(super) const META_COLUMNS: &str = "id, night, status, version, created_by, created_at, updated_by, \
     updated_at, published_by, published_at, start_utc, end_utc, objective, bound, gap";

pub(super) fn meta_from_row(row: &Row<'_>) -> DbResult<PlanMeta> {
    let status: String = row.get(2)?;
    Ok(PlanMeta {
        id: row.get(0)?,
        night: row.get(1)?,
        status: super::parse_column(2, &status, |s| s.parse::<PlanStatus>())?,
        version: row.get(3)?,
        created_by: row.get(4)?,
        created_at: row.get(5)?,
        updated_by: row.get(6)?,
        updated_at: row.get(7)?,
        published_by: row.get(8)?,
        published_at: row.get(9)?,
        start_utc: row.get(10)?,
        end_utc: row.get(11)?,
        objective: row.get(12)?,
        bound: row.get(13)?,
        gap: row.get(14)?,
    })
}

fn insert_assignments(tx: &Conn, plan_id: i64, rows: &[AssignmentRow]) -> Result<()> {
    let mut insert = tx.prepare(
        "INSERT INTO plan_assignments (plan_id, callsign, slot, start_utc, end_utc, kind,
                                       zone_id, from_zone, to_zone)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for r in rows {
        insert.execute(params![
            plan_id,
            r.callsign,
            r.slot,
            r.start_utc,
            r.end_utc,
            r.kind,
            r.zone_id,
            r.from_zone,
            r.to_zone
        ])?;
    }
    Ok(())
}

fn document_text(doc: &serde_json::Value) -> Result<String> {
    serde_json::to_string(doc)
        .map_err(|e| StoreError::Sql(super::db::DbError::Param(e.to_string())))
}

impl Store {
    /// Stores a new draft plan by `by`, and logs it with `audit` (its target set to
    /// `plan:{id}`), in one transaction. Returns the plan's id.
    pub fn create_plan(&mut self, p: &PlanDocument, by: &str, audit: &AuditEntry) -> Result<i64> {
        let now = super::utc_text(Timestamp::now());
        let doc = document_text(&p.document)?;
        let tx = self.conn.transaction()?;
        let id: i64 = tx.query_row(
            "INSERT INTO plans (night, status, version, created_by, created_at, updated_by,
                                updated_at, start_utc, end_utc, objective, bound, gap, document)
             VALUES (?1, 'draft', 1, ?2, ?3, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) RETURNING id",
            params![
                p.night,
                by,
                now,
                p.start_utc,
                p.end_utc,
                p.objective,
                p.bound,
                p.gap,
                doc
            ],
            |r| r.get(0),
        )?;
        insert_assignments(&tx, id, &p.assignments)?;
        let mut audit = audit.clone();
        audit.target = Some(format!("plan:{id}"));
        insert_audit(&tx, &audit)?;
        tx.commit()?;
        Ok(id)
    }

    /// A plan's stored facts, if there is such a plan.
    pub fn plan_meta(&self, id: i64) -> Result<Option<PlanMeta>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {META_COLUMNS} FROM plans WHERE id = ?1"),
                params![id],
                meta_from_row,
            )
            .optional()?)
    }

    /// A plan's stored facts and its current document (JSON text).
    pub fn plan(&self, id: i64) -> Result<Option<(PlanMeta, String)>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {META_COLUMNS}, document FROM plans WHERE id = ?1"),
                params![id],
                |row| Ok((meta_from_row(row)?, row.get(15)?)),
            )
            .optional()?)
    }

    /// Plans with their unit and zone counts, latest night first (then newest first),
    /// optionally only those with `status` and nights within `from..=to` (`YYYY-MM-DD`).
    pub fn list_plans(
        &self,
        status: Option<PlanStatus>,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Vec<(PlanMeta, i64, i64)>> {
        let rows = self.conn.query_map(
            &format!(
                "SELECT {META_COLUMNS},
                    coalesce(json_array_length(document, '$.units'), 0),
                    coalesce(json_array_length(document, '$.zones'), 0)
             FROM plans
             WHERE (CAST(?1 AS TEXT) IS NULL OR status = ?1)
               AND (CAST(?2 AS TEXT) IS NULL OR night >= ?2)
               AND (CAST(?3 AS TEXT) IS NULL OR night <= ?3)
             ORDER BY night DESC, id DESC"
            ),
            params![status.map(PlanStatus::as_str), from, to],
            |row| Ok((meta_from_row(row)?, row.get(15)?, row.get(16)?)),
        )?;
        Ok(rows.into_iter().collect())
    }

    /// The earlier versions of a plan, oldest first: (version, replaced_by, replaced_at,
    /// document text).
    pub fn plan_versions(&self, id: i64) -> Result<Vec<(i64, String, String, String)>> {
        let rows = self.conn.query_map(
            "SELECT version, replaced_by, replaced_at, document FROM plan_versions
             WHERE plan_id = ?1 ORDER BY version",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
        Ok(rows.into_iter().collect())
    }

    /// Publishes a draft and logs it, in one transaction. `None` when there is no such
    /// plan; [`StoreError::Conflict`] when it is already published.
    pub fn publish_plan(
        &mut self,
        id: i64,
        by: &str,
        audit: &AuditEntry,
    ) -> Result<Option<PlanMeta>> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE plans SET status = 'published', published_by = ?2, published_at = ?3
             WHERE id = ?1 AND status = 'draft'",
            params![id, by, super::utc_text(Timestamp::now())],
        )?;
        let meta = tx
            .query_row(
                &format!("SELECT {META_COLUMNS} FROM plans WHERE id = ?1"),
                params![id],
                meta_from_row,
            )
            .optional()?;
        match (n, meta) {
            (_, None) => Ok(None),
            (0, Some(m)) => Err(StoreError::Conflict(format!(
                "plan {id} is already published (by {}, at {})",
                m.published_by.unwrap_or_default(),
                m.published_at.unwrap_or_default()
            ))),
            (_, Some(m)) => {
                insert_audit(&tx, audit)?;
                tx.commit()?;
                Ok(Some(m))
            }
        }
    }

    /// Replaces version `expected_version` of a plan with a re-planned document, keeping
    /// the replaced document in `plan_versions`, and logs it, in one transaction.
    /// [`StoreError::Conflict`] when the plan is no longer at `expected_version` (someone
    /// else re-planned it meanwhile); `None` when there is no such plan.
    pub fn replace_plan(
        &mut self,
        id: i64,
        expected_version: i64,
        p: &PlanDocument,
        by: &str,
        audit: &AuditEntry,
    ) -> Result<Option<PlanMeta>> {
        let now = super::utc_text(Timestamp::now());
        let doc = document_text(&p.document)?;
        let tx = self.conn.transaction()?;
        let current: Option<(i64, String, String, String)> = tx
            .query_row(
                "SELECT version, updated_by, updated_at, document FROM plans WHERE id = ?1",
                params![id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let Some((version, made_by, made_at, old)) = current else {
            return Ok(None);
        };
        if version != expected_version {
            return Err(StoreError::Conflict(format!(
                "plan {id} changed while it was being re-planned (now version {version}); try again"
            )));
        }
        tx.execute(
            "INSERT INTO plan_versions (plan_id, version, created_by, created_at, replaced_by,
                                        replaced_at, document)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id, version, made_by, made_at, by, now, old],
        )?;
        tx.execute(
            "UPDATE plans SET version = version + 1, updated_by = ?2, updated_at = ?3,
                              start_utc = ?4, end_utc = ?5, objective = ?6, bound = ?7,
                              gap = ?8, document = ?9
             WHERE id = ?1",
            params![
                id,
                by,
                now,
                p.start_utc,
                p.end_utc,
                p.objective,
                p.bound,
                p.gap,
                doc
            ],
        )?;
        tx.execute(
            "DELETE FROM plan_assignments WHERE plan_id = ?1",
            params![id],
        )?;
        insert_assignments(&tx, id, &p.assignments)?;
        insert_audit(&tx, audit)?;
        let meta = tx.query_row(
            &format!("SELECT {META_COLUMNS} FROM plans WHERE id = ?1"),
            params![id],
            meta_from_row,
        )?;
        tx.commit()?;
        Ok(Some(meta))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::roles::Role;
    use crate::storage::NewUser;
    use serde_json::json;

    fn doc(night: &str, marker: i64) -> PlanDocument {
        let row =
            |callsign: &str, slot: i64, kind: &'static str, zone: Option<&str>| AssignmentRow {
                callsign: callsign.into(),
                slot,
                start_utc: format!("2024-03-29T{:02}:00:00Z", 18 + slot),
                end_utc: format!("2024-03-29T{:02}:00:00Z", 19 + slot),
                kind,
                zone_id: zone.map(String::from),
                from_zone: None,
                to_zone: None,
            };
        PlanDocument {
            night: night.into(),
            start_utc: "2024-03-29T18:00:00Z".into(),
            end_utc: "2024-03-29T20:00:00Z".into(),
            objective: 1.0,
            bound: 2.0,
            gap: 0.5,
            document: json!({"marker": marker}),
            assignments: vec![
                row("LN-1", 0, "zone", Some("z1")),
                row("LN-1", 1, "zone", Some("z1")),
                row("LN-2", 0, "off", None),
                row("LN-2", 1, "zone", Some("z2")),
            ],
        }
    }

    fn audit(action: &str) -> AuditEntry {
        AuditEntry {
            actor: Some("ana".into()),
            action: action.into(),
            ..Default::default()
        }
    }

    fn audit_count(s: &Store, action: &str) -> i64 {
        s.conn
            .query_row(
                "SELECT count(*) FROM audit WHERE action = ?1",
                params![action],
                |r| r.get(0),
            )
            .unwrap()
    }

    #[test]
    fn plans_are_created_published_once_and_replaced_keeping_versions() {
        let mut s = Store::open_test().unwrap();
        let id = s
            .create_plan(&doc("2024-03-29", 1), "ana", &audit("plans.create"))
            .unwrap();
        let (meta, text) = s.plan(id).unwrap().unwrap();
        assert_eq!(meta.status, PlanStatus::Draft);
        assert_eq!((meta.version, meta.night.as_str()), (1, "2024-03-29"));
        assert_eq!(text, r#"{"marker":1}"#);
        assert_eq!(audit_count(&s, "plans.create"), 1);
        // Drafts are not offered to officers.
        assert!(
            s.published_plan_for_unit("ln-1", "2024-03-29T18:30:00Z")
                .unwrap()
                .is_none()
        );
        let published = s
            .publish_plan(id, "ana", &audit("plans.publish"))
            .unwrap()
            .unwrap();
        assert_eq!(published.status, PlanStatus::Published);
        assert!(published.published_at.is_some());
        assert!(matches!(
            s.publish_plan(id, "ana", &audit("plans.publish")),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            audit_count(&s, "plans.publish"),
            1,
            "a refused publish logs nothing"
        );
        assert!(
            s.publish_plan(99, "ana", &audit("plans.publish"))
                .unwrap()
                .is_none()
        );
        // Covering, then next; a unit that is not in it has none. Of two plans covering
        // the time, the one created last; else the one starting next.
        let mut later = doc("2024-03-29", 5);
        later.start_utc = "2024-03-29T18:15:00Z".into();
        let second = s
            .create_plan(&later, "ana", &audit("plans.create"))
            .unwrap();
        s.publish_plan(second, "ana", &audit("plans.publish"))
            .unwrap();
        let (m, _) = s
            .published_plan_for_unit("LN-1", "2024-03-29T18:30:00Z")
            .unwrap()
            .unwrap();
        assert_eq!(m.id, second);
        let (m, _) = s
            .published_plan_for_unit("LN-1", "2024-03-29T18:05:00Z")
            .unwrap()
            .unwrap();
        assert_eq!(m.id, id, "only the first covers 18:05");
        let (m, _) = s
            .published_plan_for_unit("LN-1", "2024-03-29T12:00:00Z")
            .unwrap()
            .unwrap();
        assert_eq!(m.id, id, "the first starts first");
        s.conn
            .execute(
                "UPDATE plans SET status = 'draft', published_at = NULL WHERE id = ?1",
                params![second],
            )
            .unwrap();
        for at in ["2024-03-29T18:30:00Z", "2024-03-29T12:00:00Z"] {
            let (m, _) = s.published_plan_for_unit("ln-1", at).unwrap().unwrap();
            assert_eq!(m.id, id);
        }
        assert!(
            s.published_plan_for_unit("ln-1", "2024-03-29T20:00:00Z")
                .unwrap()
                .is_none()
        );
        assert!(
            s.published_plan_for_unit("LN-9", "2024-03-29T18:30:00Z")
                .unwrap()
                .is_none()
        );
        // A re-plan replaces the document and keeps the old one.
        let mut new = doc("2024-03-29", 2);
        new.assignments.truncate(3);
        let m = s
            .replace_plan(id, 1, &new, "bo", &audit("plans.replan"))
            .unwrap()
            .unwrap();
        assert_eq!((m.version, m.updated_by.as_str()), (2, "bo"));
        assert_eq!(s.unit_assignments(id, "ln-2").unwrap().len(), 1);
        let versions = s.plan_versions(id).unwrap();
        assert_eq!(versions.len(), 1);
        assert_eq!(
            (
                versions[0].0,
                versions[0].1.as_str(),
                versions[0].3.as_str()
            ),
            (1, "bo", r#"{"marker":1}"#)
        );
        // A stale version is refused, and nothing changes.
        assert!(matches!(
            s.replace_plan(id, 1, &doc("2024-03-29", 3), "bo", &audit("plans.replan")),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(s.plan(id).unwrap().unwrap().1, r#"{"marker":2}"#);
        assert_eq!(audit_count(&s, "plans.replan"), 1);
        let refused = s
            .conn
            .execute("DELETE FROM plan_versions", params![])
            .unwrap_err();
        assert!(refused.to_string().contains("append-only"), "{refused}");
    }

    #[test]
    fn checkins_are_append_only_and_counted_per_zone() {
        let mut s = Store::open_test().unwrap();
        let user = s
            .add_user(
                &NewUser {
                    name: "olu",
                    role: Role::Officer,
                    unit: Some("LN-1"),
                    password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
                },
                &audit("user.create"),
            )
            .unwrap();
        let id = s
            .create_plan(&doc("2024-03-29", 1), "ana", &audit("plans.create"))
            .unwrap();
        let checkin = |slot: i64, zone: Option<&str>, on_plan: bool| NewCheckin {
            user_id: user,
            unit: "LN-1".into(),
            plan: Some((id, 1)),
            slot: Some(slot),
            zone_id: zone.map(String::from),
            planned_zone: Some("z1".into()),
            on_plan,
            matched: if zone.is_some() { "inside" } else { "none" },
            lon: -0.42,
            lat: 51.88,
            at: "2024-03-29T18:05:00Z".into(),
        };
        for c in [
            checkin(0, Some("z1"), true),
            checkin(0, Some("z1"), true),
            checkin(1, Some("z2"), false),
            checkin(1, None, false),
        ] {
            s.add_checkin(&c, &audit("checkins.create")).unwrap();
        }
        let (zones, outside) = s.plan_dosage(id).unwrap();
        assert_eq!(outside, 1);
        assert_eq!(
            zones,
            vec![
                ZoneDosage {
                    zone_id: "z1".into(),
                    planned_slots: 2,
                    checkins: 2,
                    achieved_slots: 1,
                    on_plan_slots: 1
                },
                ZoneDosage {
                    zone_id: "z2".into(),
                    planned_slots: 1,
                    checkins: 1,
                    achieved_slots: 1,
                    on_plan_slots: 0
                },
            ]
        );
        assert_eq!(audit_count(&s, "checkins.create"), 4);
        for sql in ["UPDATE checkins SET lon = 0", "DELETE FROM checkins"] {
            let e = s.conn.execute(sql, params![]).unwrap_err();
            assert!(e.to_string().contains("append-only"), "{e}");
        }
        // The schema refuses a zone without a match, and a slot without a plan.
        let mut bad = checkin(0, Some("z1"), true);
        bad.matched = "none";
        assert!(s.add_checkin(&bad, &audit("checkins.create")).is_err());
        let mut bad = checkin(0, None, false);
        bad.plan = None;
        assert!(s.add_checkin(&bad, &audit("checkins.create")).is_err());
        assert_eq!(
            audit_count(&s, "checkins.create"),
            4,
            "nothing half-written"
        );
    }
}
