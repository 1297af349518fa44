//! Premises and training records written through the HTTP API: premises created or edited
//! by hand (with their full history), training records added one at a time, and the reads
//! that show them with who did what, when.
//!
//! Every write below is one transaction with its audit entry (`BEGIN IMMEDIATE`, so a
//! read-modify-write never races another writer). A premises created or edited here also
//! gets an `imports` row (kind `premises`, format `api` or `api-edit`): it is the data
//! version, so cached zones (named after venues) are recomputed. Adding a training record
//! does not: nothing cached depends on training.

use super::audit::{AuditEntry, insert_audit};
use super::db::{Conn, DbResult, OptionalExt, Row, params};
use super::users::utc_text;
use super::{ImportMeta, Result, Store, StoreError, parse_column};
use jiff::Timestamp;
use planner::premises::ClosingTimes;
use planner::{Premises, PremisesKind, TrainingRecord};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A partial update of a premises: `None` leaves a field as it is; for the optional text
/// fields `Some(None)` clears it. Values are already validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PremisesPatch {
    pub name: Option<String>,
    pub kind: Option<PremisesKind>,
    pub address: Option<Option<String>>,
    pub postcode: Option<Option<String>>,
    pub licence_ref: Option<Option<String>>,
    pub district: Option<Option<String>>,
    pub closing: Option<ClosingTimes>,
    pub safe_space: Option<bool>,
    /// Longitude and latitude, WGS84 degrees, together.
    pub lonlat: Option<(f64, f64)>,
}

impl PremisesPatch {
    /// `p` with the patch applied.
    pub fn apply(&self, p: &Premises) -> Premises {
        let mut out = p.clone();
        if let Some(v) = &self.name {
            out.name = v.clone();
        }
        if let Some(v) = self.kind {
            out.kind = v;
        }
        if let Some(v) = &self.address {
            out.address = v.clone();
        }
        if let Some(v) = &self.postcode {
            out.postcode = v.clone();
        }
        if let Some(v) = &self.licence_ref {
            out.licence_ref = v.clone();
        }
        if let Some(v) = &self.district {
            out.district = v.clone();
        }
        if let Some(v) = self.closing {
            out.closing = v;
        }
        if let Some(v) = self.safe_space {
            out.safe_space = v;
        }
        if let Some((lon, lat)) = self.lonlat {
            out.lon = lon;
            out.lat = lat;
        }
        out
    }
}

/// One changed field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldChange {
    pub field: String,
    #[schema(value_type = Object)]
    pub old: Value,
    #[schema(value_type = Object)]
    pub new: Value,
}

/// One row of a premises' history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistoryRow {
    pub id: i64,
    /// UTC, RFC 3339.
    pub at: String,
    pub actor: String,
    /// The field, or `created` for a premises entered by hand (`new` is the whole record).
    pub field: String,
    #[schema(value_type = Object)]
    pub old: Value,
    #[schema(value_type = Object)]
    pub new: Value,
    /// The `imports` row of the change (an import, or the API change).
    pub import_id: Option<i64>,
}

/// A stored training record with who added it and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoredTraining {
    pub id: i64,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub course: String,
    pub staff_trained: u32,
    pub trainer: String,
    pub notes: Option<String>,
    /// Fictional demo data: label it wherever it is shown.
    pub fictional: bool,
    /// The user who added it through the API, or the import's actor (`cli:<login>`).
    pub created_by: Option<String>,
    /// UTC, RFC 3339.
    pub created_at: Option<String>,
    /// `api` (added through the API) or `import`.
    pub source: String,
    pub import_id: Option<i64>,
}

/// The fields of a premises that can change, as JSON values, in a fixed order.
fn fields(p: &Premises) -> [(&'static str, Value); 10] {
    [
        ("name", json!(p.name)),
        ("kind", json!(p.kind.as_str())),
        ("address", json!(p.address)),
        ("postcode", json!(p.postcode)),
        ("licence_ref", json!(p.licence_ref)),
        ("district", json!(p.district)),
        ("closing", json!(p.closing)),
        ("safe_space", json!(p.safe_space)),
        ("lon", json!(p.lon)),
        ("lat", json!(p.lat)),
    ]
}

/// The fields that differ between `old` and `new`, among `which` (all when `None`).
fn diff(old: &Premises, new: &Premises, which: Option<&[&str]>) -> Vec<FieldChange> {
    fields(old)
        .into_iter()
        .zip(fields(new))
        .filter(|((name, a), (_, b))| a != b && which.is_none_or(|w| w.contains(name)))
        .map(|((name, a), (_, b))| FieldChange {
            field: name.to_string(),
            old: a,
            new: b,
        })
        .collect()
}

fn insert_history(
    tx: &Conn,
    premises_id: i64,
    actor: &str,
    change: &FieldChange,
    import_id: i64,
) -> Result<()> {
    tx.execute(
        "INSERT INTO premises_history (premises_id, at, actor, field, old_value, new_value, import_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            premises_id,
            utc_text(Timestamp::now()),
            actor,
            change.field,
            change.old.to_string(),
            change.new.to_string(),
            import_id
        ],
    )?;
    Ok(())
}

/// The columns [`premises_from_row`] reads, in its order.
pub(super) const PREMISES_COLUMNS: &str = "source_id, name, address, postcode, kind, lon, lat, licence_ref, closing, safe_space, district, id";

/// A premises row (selected with [`PREMISES_COLUMNS`]) with its database id.
pub(super) fn premises_from_row(row: &Row<'_>) -> DbResult<(i64, Premises)> {
    let kind: String = row.get(4)?;
    let closing: String = row.get(8)?;
    Ok((
        row.get(11)?,
        Premises {
            source_id: row.get(0)?,
            name: row.get(1)?,
            address: row.get(2)?,
            postcode: row.get(3)?,
            kind: PremisesKind::parse(&kind).unwrap_or(PremisesKind::Other),
            lon: row.get(5)?,
            lat: row.get(6)?,
            licence_ref: row.get(7)?,
            closing: serde_json::from_str(&closing).unwrap_or_default(),
            safe_space: row.get(9)?,
            district: row.get(10)?,
        },
    ))
}

fn premises_by_id(conn: &Conn, id: i64) -> Result<Option<Premises>> {
    Ok(conn
        .query_row(
            &format!("SELECT {PREMISES_COLUMNS} FROM premises WHERE id = ?1"),
            params![id],
            premises_from_row,
        )
        .optional()?
        .map(|(_, p)| p))
}

/// The `imports` row of an API change, so that the data version moves.
fn api_change(tx: &Conn, what: String, format: &str, actor: &str, added: u64) -> Result<i64> {
    let meta = ImportMeta {
        files: vec![what],
        format: format.into(),
        actor: actor.into(),
        skipped: 0,
        rejected: 0,
        rows_read: 1,
        audit: None,
    };
    let id = Store::begin_import(tx, "premises", &meta)?;
    Store::finish_import(tx, id, added, 1 - added)?;
    Ok(id)
}

/// Records the fields a premises import changes on an already stored premises (the
/// columns the import's upsert replaces), inside the import's transaction. New premises
/// get no history row: their `import_id` says where they came from.
pub(super) fn record_import_changes(
    tx: &Conn,
    p: &Premises,
    import_id: i64,
    actor: &str,
) -> Result<()> {
    let stored = tx
        .query_row(
            &format!("SELECT {PREMISES_COLUMNS} FROM premises WHERE source_id = ?1"),
            params![p.source_id],
            premises_from_row,
        )
        .optional()?;
    let Some((id, old)) = stored else {
        return Ok(());
    };
    const REPLACED: &[&str] = &[
        "name",
        "kind",
        "address",
        "postcode",
        "licence_ref",
        "district",
        "closing",
        "lon",
        "lat",
    ];
    for change in diff(&old, p, Some(REPLACED)) {
        insert_history(tx, id, actor, &change, import_id)?;
    }
    Ok(())
}

fn training_from_row(row: &Row<'_>) -> DbResult<StoredTraining> {
    let created_at: Option<String> = row.get(8)?;
    let created_at = match created_at {
        Some(t) => Some(utc_text(parse_column(8, &t, |t| t.parse::<Timestamp>())?)),
        None => None,
    };
    let import_id: Option<i64> = row.get(9)?;
    Ok(StoredTraining {
        id: row.get(0)?,
        date: row.get(1)?,
        course: row.get(2)?,
        staff_trained: row.get(3)?,
        trainer: row.get(4)?,
        notes: row.get(5)?,
        fictional: row.get(6)?,
        created_by: row.get(7)?,
        created_at,
        source: if import_id.is_some() { "import" } else { "api" }.into(),
        import_id,
    })
}

const TRAINING_SELECT: &str =
    "SELECT t.id, t.date, t.course, t.staff_trained, t.trainer, t.notes, t.fictional,
            coalesce(t.created_by, i.actor), coalesce(t.created_at, i.started_at), t.import_id
     FROM training_records t LEFT JOIN imports i ON i.id = t.import_id";

impl Store {
    /// One premises by database id (`12`) or source id (`osm:node/1`).
    pub fn premises_by_key(&self, key: &str) -> Result<Option<(i64, Premises)>> {
        let by_id = key.parse::<i64>().ok();
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {PREMISES_COLUMNS} FROM premises WHERE id = ?1 OR source_id = ?2
                     ORDER BY id = ?1 DESC LIMIT 1"
                ),
                params![by_id, key],
                premises_from_row,
            )
            .optional()?)
    }

    /// Creates a premises entered by hand, with its `created` history row, its `imports`
    /// row (the data version) and the audit entry, in one transaction. A source id that is
    /// taken is [`StoreError::Conflict`].
    pub fn create_premises(&mut self, p: &Premises, audit: &AuditEntry) -> Result<i64> {
        let actor = audit.actor.clone().unwrap_or_default();
        let tx = self.conn.transaction()?;
        let import_id = api_change(&tx, "POST /api/v1/premises".into(), "api", &actor, 1)?;
        let closing = serde_json::to_string(&p.closing).unwrap_or_else(|_| "null".into());
        let inserted: Option<i64> = tx
            .query_row(
                "INSERT INTO premises (source_id, name, address, postcode, kind, lon, lat,
                                   licence_ref, closing, safe_space, district, import_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (source_id) DO NOTHING RETURNING id",
                params![
                    p.source_id,
                    p.name,
                    p.address,
                    p.postcode,
                    p.kind.as_str(),
                    p.lon,
                    p.lat,
                    p.licence_ref,
                    closing,
                    p.safe_space,
                    p.district,
                    import_id
                ],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = inserted else {
            return Err(StoreError::Conflict(format!(
                "a premises with id {:?} already exists",
                p.source_id
            )));
        };
        let record: serde_json::Map<String, Value> = fields(p)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let created = FieldChange {
            field: "created".into(),
            old: Value::Null,
            new: Value::Object(record),
        };
        insert_history(&tx, id, &actor, &created, import_id)?;
        let mut audit = audit.clone();
        audit.target = Some(format!("premises:{id}"));
        insert_audit(&tx, &audit)?;
        tx.commit()?;
        Ok(id)
    }

    /// Applies `patch` to the premises with database id `id`: the changed fields, one
    /// history row each, an `imports` row (only if something changed) and the audit entry
    /// (always; its detail gains the changes), in one transaction. `None` if there is no
    /// such premises.
    pub fn update_premises(
        &mut self,
        id: i64,
        patch: &PremisesPatch,
        audit: &AuditEntry,
    ) -> Result<Option<(Premises, Vec<FieldChange>)>> {
        let actor = audit.actor.clone().unwrap_or_default();
        let tx = self.conn.transaction()?;
        let Some(old) = premises_by_id(&tx, id)? else {
            return Ok(None);
        };
        let new = patch.apply(&old);
        let changes = diff(&old, &new, None);
        if !changes.is_empty() {
            let import_id = api_change(
                &tx,
                format!("PATCH /api/v1/premises/{id}"),
                "api-edit",
                &actor,
                0,
            )?;
            tx.execute(
                "UPDATE premises SET name = ?2, address = ?3, postcode = ?4, kind = ?5, lon = ?6,
                        lat = ?7, licence_ref = ?8, closing = ?9, safe_space = ?10, district = ?11
                 WHERE id = ?1",
                params![
                    id,
                    new.name,
                    new.address,
                    new.postcode,
                    new.kind.as_str(),
                    new.lon,
                    new.lat,
                    new.licence_ref,
                    serde_json::to_string(&new.closing).unwrap_or_else(|_| "null".into()),
                    new.safe_space,
                    new.district
                ],
            )?;
            for change in &changes {
                insert_history(&tx, id, &actor, change, import_id)?;
            }
        }
        let mut audit = audit.clone();
        let mut detail = match audit.detail.take() {
            Some(Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        detail.insert("changes".into(), json!(changes));
        audit.detail = Some(Value::Object(detail));
        insert_audit(&tx, &audit)?;
        tx.commit()?;
        Ok(Some((new, changes)))
    }

    /// A premises' history, oldest first.
    pub fn premises_history(&self, premises_id: i64) -> Result<Vec<HistoryRow>> {
        let json = |text: Option<String>| {
            text.and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null)
        };
        let rows = self.conn.query_map(
            "SELECT id, at, actor, field, old_value, new_value, import_id FROM premises_history
             WHERE premises_id = ?1 ORDER BY id",
            params![premises_id],
            |row| {
                Ok(HistoryRow {
                    id: row.get(0)?,
                    at: row.get(1)?,
                    actor: row.get(2)?,
                    field: row.get(3)?,
                    old: json(row.get(4)?),
                    new: json(row.get(5)?),
                    import_id: row.get(6)?,
                })
            },
        )?;
        Ok(rows)
    }

    /// The training records of one premises (by database id), oldest first, with who added
    /// them; the read is logged with `audit` in the same transaction, before anything is
    /// returned.
    pub fn training_of(
        &mut self,
        premises_id: i64,
        audit: &AuditEntry,
    ) -> Result<Vec<StoredTraining>> {
        // Immediate: the read is followed by a write (the audit entry) in one transaction.
        let tx = self.conn.transaction()?;
        let records = tx.query_map(
            &format!("{TRAINING_SELECT} WHERE t.premises_id = ?1 ORDER BY t.date, t.id"),
            params![premises_id],
            training_from_row,
        )?;
        let mut audit = audit.clone();
        if let Some(Value::Object(m)) = audit.detail.as_mut() {
            m.insert("records".into(), json!(records.len()));
        }
        insert_audit(&tx, &audit)?;
        tx.commit()?;
        Ok(records)
    }

    /// Adds one training record to the premises with database id `premises_id`, with the
    /// audit entry, in one transaction. An identical record (same date, course and
    /// trainer) is stored once: then the stored one is returned with `false`.
    pub fn add_training(
        &mut self,
        premises_id: i64,
        record: &TrainingRecord,
        fictional: bool,
        audit: &AuditEntry,
    ) -> Result<(StoredTraining, bool)> {
        let tx = self.conn.transaction()?;
        let added = tx.execute(
            "INSERT INTO training_records (premises_id, date, course, staff_trained, trainer,
                                           notes, fictional, import_id, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, NULL, ?8, ?9)
             ON CONFLICT (premises_id, date, course, trainer) DO NOTHING",
            params![
                premises_id,
                record.date.to_string(),
                record.course,
                record.staff_trained,
                record.trainer,
                record.notes,
                fictional,
                audit.actor,
                utc_text(Timestamp::now())
            ],
        )? > 0;
        let stored = tx.query_row(
            &format!(
                "{TRAINING_SELECT} WHERE t.premises_id = ?1 AND t.date = ?2 AND t.course = ?3
                   AND t.trainer = ?4"
            ),
            params![
                premises_id,
                record.date.to_string(),
                record.course,
                record.trainer
            ],
            training_from_row,
        )?;
        let mut audit = audit.clone();
        if let Some(Value::Object(m)) = audit.detail.as_mut() {
            m.insert("record".into(), json!(stored.id));
            m.insert(
                "outcome".into(),
                json!(if added { "added" } else { "already_present" }),
            );
        }
        insert_audit(&tx, &audit)?;
        tx.commit()?;
        Ok((stored, added))
    }

    /// One training record of one premises (database ids), without logging: for a
    /// correction, which is logged itself.
    pub fn training_record(
        &self,
        premises_id: i64,
        training_id: i64,
    ) -> Result<Option<StoredTraining>> {
        Ok(self
            .conn
            .query_row(
                &format!("{TRAINING_SELECT} WHERE t.id = ?1 AND t.premises_id = ?2"),
                params![training_id, premises_id],
                training_from_row,
            )
            .optional()?)
    }

    /// Corrects (`Some(new)`, a whole record: the caller merges its changes) or withdraws
    /// (`None`) the training record `training_id` of the premises `premises_id`, with a
    /// `training_history` row (the record before, after, who, why), an `imports` row (the
    /// data version, so cached lists change) and the audit entry, in one transaction.
    /// `Ok(None)` when there is no such record there; a correction clashing with another
    /// record (same date, course, trainer) is [`StoreError::Conflict`].
    pub fn change_training(
        &mut self,
        premises_id: i64,
        training_id: i64,
        new: Option<&TrainingRecord>,
        reason: &str,
        audit: &AuditEntry,
    ) -> Result<Option<(StoredTraining, Option<StoredTraining>)>> {
        let actor = audit.actor.clone().unwrap_or_default();
        let tx = self.conn.transaction()?;
        let Some(old) = tx
            .query_row(
                &format!("{TRAINING_SELECT} WHERE t.id = ?1 AND t.premises_id = ?2"),
                params![training_id, premises_id],
                training_from_row,
            )
            .optional()?
        else {
            return Ok(None);
        };
        let change = if new.is_some() {
            "corrected"
        } else {
            "withdrawn"
        };
        api_change(
            &tx,
            format!("training:{training_id} {change}"),
            "api",
            &actor,
            0,
        )?;
        let after = match new {
            Some(r) => {
                let clash: bool = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM training_records WHERE premises_id = ?1
                        AND date = ?2 AND course = ?3 AND trainer = ?4 AND id <> ?5)",
                    params![
                        premises_id,
                        r.date.to_string(),
                        r.course,
                        r.trainer,
                        training_id
                    ],
                    |row| row.get(0),
                )?;
                if clash {
                    return Err(StoreError::Conflict(
                        "another record of these premises has that date, course and trainer".into(),
                    ));
                }
                tx.execute(
                    "UPDATE training_records SET date = ?2, course = ?3, staff_trained = ?4,
                            trainer = ?5, notes = ?6 WHERE id = ?1",
                    params![
                        training_id,
                        r.date.to_string(),
                        r.course,
                        r.staff_trained,
                        r.trainer,
                        r.notes
                    ],
                )?;
                Some(tx.query_row(
                    &format!("{TRAINING_SELECT} WHERE t.id = ?1"),
                    params![training_id],
                    training_from_row,
                )?)
            }
            None => {
                tx.execute(
                    "DELETE FROM training_records WHERE id = ?1",
                    params![training_id],
                )?;
                None
            }
        };
        let text = |t: &StoredTraining| serde_json::to_string(t).unwrap_or_default();
        tx.execute(
            "INSERT INTO training_history (training_id, premises_id, at, actor, change, old,
                                           new, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                training_id,
                premises_id,
                utc_text(Timestamp::now()),
                actor,
                change,
                text(&old),
                after.as_ref().map(text),
                reason
            ],
        )?;
        let mut audit = audit.clone();
        if let Some(Value::Object(m)) = audit.detail.as_mut() {
            m.insert("record".into(), json!(training_id));
            m.insert("change".into(), json!(change));
        }
        insert_audit(&tx, &audit)?;
        tx.commit()?;
        Ok(Some((old, after)))
    }

    /// Every premises' first training date, by database id (for before/after figures).
    pub fn first_training_dates(&self) -> Result<std::collections::HashMap<i64, String>> {
        let rows = self.conn.query_map(
            "SELECT premises_id, min(date) FROM training_records GROUP BY premises_id",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(rows.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::Table;

    fn pub_(id: &str) -> Premises {
        Premises {
            source_id: id.into(),
            name: "The Bell".into(),
            address: Some("1 High St".into()),
            postcode: None,
            kind: PremisesKind::Pub,
            lon: -0.41,
            lat: 51.88,
            licence_ref: None,
            closing: ClosingTimes::default(),
            safe_space: false,
            district: Some("Luton".into()),
        }
    }

    fn entry(action: &str) -> AuditEntry {
        AuditEntry {
            actor: Some("lia".into()),
            action: action.into(),
            detail: Some(json!({})),
            ..Default::default()
        }
    }

    fn meta() -> ImportMeta {
        ImportMeta {
            files: vec!["p.geojson".into()],
            format: "osm-geojson".into(),
            actor: "cli:test".into(),
            skipped: 0,
            rejected: 0,
            rows_read: 1,
            audit: None,
        }
    }

    #[test]
    fn create_patch_and_reimport_write_history_and_move_the_data_version() {
        let mut store = Store::open_test().unwrap();
        let v0 = store.data_version().unwrap();
        let id = store
            .create_premises(&pub_("manual:1"), &entry("premises.create"))
            .unwrap();
        let v1 = store.data_version().unwrap();
        assert!(v1 > v0);
        let again = store.create_premises(&pub_("manual:1"), &entry("premises.create"));
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        let patch = PremisesPatch {
            name: Some("The Bell Inn".into()),
            address: Some(None),
            safe_space: Some(true),
            ..Default::default()
        };
        let (new, changes) = store
            .update_premises(id, &patch, &entry("premises.update"))
            .unwrap()
            .unwrap();
        assert_eq!(new.name, "The Bell Inn");
        let fields: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["name", "address", "safe_space"]);
        assert_eq!(changes[1].old, json!("1 High St"));
        assert_eq!(changes[1].new, Value::Null);
        let v2 = store.data_version().unwrap();
        assert!(v2 > v1);
        // The same patch again changes nothing: audited, no history, same data version.
        let (_, none) = store
            .update_premises(id, &patch, &entry("premises.update"))
            .unwrap()
            .unwrap();
        assert!(none.is_empty());
        assert_eq!(store.data_version().unwrap(), v2);
        assert!(
            store
                .update_premises(999, &patch, &entry("premises.update"))
                .unwrap()
                .is_none()
        );
        // A re-import that brings other values is history too.
        let mut reimported = pub_("manual:1");
        reimported.postcode = Some("LU1 1AA".into());
        store.import_premises(&[reimported], &meta()).unwrap();
        let history = store.premises_history(id).unwrap();
        let got: Vec<(&str, &str)> = history
            .iter()
            .map(|h| (h.field.as_str(), h.actor.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("created", "lia"),
                ("name", "lia"),
                ("address", "lia"),
                ("safe_space", "lia"),
                ("name", "cli:test"),
                ("address", "cli:test"),
                ("postcode", "cli:test"),
            ]
        );
        // Three audit entries: create, patch, patch (no change); none for the refused
        // second create or the unknown id.
        assert_eq!(store.count(Table::Audit).unwrap(), 3);
        let e = store
            .conn
            .execute("DELETE FROM premises_history", params![])
            .unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
    }

    #[test]
    fn training_added_once_and_read_with_who_and_when() {
        let mut store = Store::open_test().unwrap();
        let id = store
            .create_premises(&pub_("manual:2"), &entry("premises.create"))
            .unwrap();
        let record = TrainingRecord {
            premises_id: "manual:2".into(),
            date: jiff::civil::date(2025, 1, 10),
            course: "Ask for Angela".into(),
            staff_trained: 4,
            trainer: "PC 1".into(),
            notes: None,
        };
        let (first, added) = store
            .add_training(id, &record, false, &entry("training.create"))
            .unwrap();
        assert!(added);
        let (second, added) = store
            .add_training(id, &record, false, &entry("training.create"))
            .unwrap();
        assert!(!added);
        assert_eq!(first, second);
        let list = store.training_of(id, &entry("training.read")).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].created_by.as_deref(), Some("lia"));
        assert_eq!(list[0].source, "api");
        assert_eq!(
            store.first_training_dates().unwrap()[&id],
            "2025-01-10".to_string()
        );
        assert_eq!(store.count(Table::Audit).unwrap(), 4);
    }
}
