//! Imports: incidents (streamed from the validating thread), premises and training
//! records, each in one transaction with its imports-log row (and audit entry, from the API).

use super::*;

/// Incidents per INSERT statement: to a PostgreSQL server, one round trip per 256 rows
/// (12 parameters each, well under its limit on parameters); SQLite, in process, is
/// fastest one row at a time (a third faster than 256 at once, measured).
fn incidents_per_insert(backend: db::Backend) -> usize {
    match backend {
        db::Backend::Sqlite => 1,
        db::Backend::Postgres => 256,
    }
}

/// The statement inserting `rows` incidents, skipping those whose `source_id` is stored.
fn incidents_insert_sql(rows: usize) -> String {
    let row = format!("({})", ["?"; 12].join(", "));
    format!(
        "INSERT INTO incidents (source_id, source, occurred_utc, occurred_month, lon, lat,
                                category, category_raw, location, area_code, area_name, import_id)
         VALUES {} ON CONFLICT (source_id) DO NOTHING",
        vec![row; rows].join(", ")
    )
}

/// Inserts `rows` with `sql` (made for that many rows); how many were added.
fn insert_incidents(tx: &Conn, sql: &str, rows: &[Incident], import_id: i64) -> Result<usize> {
    let derived: Vec<(Option<String>, Option<String>, &str)> = rows
        .iter()
        .map(|i| {
            let (utc, month) = match i.occurred {
                OccurredAt::Exact(t) => (Some(t.to_string()), None),
                OccurredAt::Month(m) => (None, Some(m.to_string())),
            };
            (utc, month, i.category.as_str())
        })
        .collect();
    let mut values: Vec<&dyn db::ToValue> = Vec::with_capacity(rows.len() * 12);
    for (i, (utc, month, category)) in rows.iter().zip(&derived) {
        values.extend([
            &i.source_id as &dyn db::ToValue,
            &i.source,
            utc,
            month,
            &i.lon,
            &i.lat,
            category,
            &i.category_raw,
            &i.location,
            &i.area_code,
            &i.area_name,
            &import_id,
        ]);
    }
    Ok(tx.execute(sql, &values)?)
}

impl Store {
    /// Stores incidents in one transaction. Rows whose `source_id` is already stored are
    /// left as they are (re-importing a file adds nothing). `progress` is called with the
    /// number of records processed so far.
    #[cfg(test)]
    pub fn import_incidents(
        &mut self,
        incidents: &[Incident],
        meta: &ImportMeta,
        progress: impl FnMut(u64),
    ) -> Result<Stored> {
        let stored = self.import_incidents_stream(
            std::iter::once(incidents.to_vec()),
            || Some(meta.clone()),
            progress,
        )?;
        // `finish` always commits here.
        stored.ok_or(StoreError::Sql(DbError::NoRows))
    }

    /// Stores incidents arriving in chunks, in one transaction, so that storing can run
    /// while the rest of the input is still being validated. After the last chunk,
    /// `finish` decides: `Some(meta)` commits and logs the import with `meta`; `None` rolls
    /// everything back (an invalid row was found) and returns `Ok(None)`.
    pub fn import_incidents_stream(
        &mut self,
        chunks: impl IntoIterator<Item = Vec<Incident>>,
        finish: impl FnOnce() -> Option<ImportMeta>,
        mut progress: impl FnMut(u64),
    ) -> Result<Option<Stored>> {
        let tx = self.conn.import_transaction()?;
        let placeholder = ImportMeta {
            files: vec![],
            format: String::new(),
            actor: String::new(),
            skipped: 0,
            rejected: 0,
            rows_read: 0,
            audit: None,
        };
        let import_id = Store::begin_import(&tx, "incidents", &placeholder)?;
        let (mut added, mut seen) = (0u64, 0u64);
        let batch = incidents_per_insert(tx.backend());
        let full = incidents_insert_sql(batch);
        for chunk in chunks {
            for rows in chunk.chunks(batch) {
                let partial;
                let sql = if rows.len() == batch {
                    &full
                } else {
                    partial = incidents_insert_sql(rows.len());
                    &partial
                };
                added += insert_incidents(&tx, sql, rows, import_id)? as u64;
            }
            seen += chunk.len() as u64;
            progress(seen);
        }
        let Some(meta) = finish() else {
            return Ok(None); // dropping `tx` rolls back
        };
        let files = serde_json::to_string(&meta.files).unwrap_or_else(|_| "[]".into());
        tx.execute(
            "UPDATE imports SET files = ?2, format = ?3, actor = ?4, rows_read = ?5, skipped = ?6,
                                rejected = ?7, added = ?8, already_present = ?9
             WHERE id = ?1",
            params![
                import_id,
                files,
                meta.format,
                meta.actor,
                meta.rows_read as i64,
                meta.skipped as i64,
                meta.rejected as i64,
                added as i64,
                (seen - added) as i64
            ],
        )?;
        Store::audit_import(&tx, import_id, &meta, added, seen - added)?;
        tx.commit()?;
        Ok(Some(Stored {
            import_id,
            added,
            already_present: seen - added,
        }))
    }

    /// Stores premises in one transaction. Premises already stored (same `source_id`) are
    /// updated with the newer details, keeping their database id and training history.
    pub fn import_premises(&mut self, premises: &[Premises], meta: &ImportMeta) -> Result<Stored> {
        let tx = self.conn.import_transaction()?;
        let import_id = Store::begin_import(&tx, "premises", meta)?;
        let mut added = 0u64;
        {
            let mut exists = tx.prepare("SELECT 1 FROM premises WHERE source_id = ?1")?;
            let mut upsert = tx.prepare(
                "INSERT INTO premises (source_id, name, address, postcode, kind, lon, lat,
                                       licence_ref, closing, safe_space, district, import_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
                 ON CONFLICT (source_id) DO UPDATE SET
                    name = excluded.name, address = excluded.address,
                    postcode = excluded.postcode, kind = excluded.kind, lon = excluded.lon,
                    lat = excluded.lat, licence_ref = excluded.licence_ref,
                    closing = excluded.closing, district = excluded.district",
            )?;
            for p in premises {
                premises_edit::record_import_changes(&tx, p, import_id, &meta.actor)?;
                let new = exists
                    .query_row(params![p.source_id], |_| Ok(()))
                    .optional()?
                    .is_none();
                let closing = serde_json::to_string(&p.closing).unwrap_or_else(|_| "null".into());
                upsert.execute(params![
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
                ])?;
                added += new as u64;
            }
        }
        let present = premises.len() as u64 - added;
        Store::finish_import(&tx, import_id, added, present)?;
        Store::audit_import(&tx, import_id, meta, added, present)?;
        tx.commit()?;
        Ok(Stored {
            import_id,
            added,
            already_present: present,
        })
    }

    /// Stores training records in one transaction. Every record must name stored premises;
    /// otherwise nothing is written and each unknown reference is returned as a row error
    /// (`lines[i]` is the line of `records[i]`). Identical records are stored once.
    pub fn import_training(
        &mut self,
        file: &str,
        records: &[TrainingRecord],
        lines: &[u64],
        fictional: bool,
        meta: &ImportMeta,
    ) -> Result<Stored> {
        let tx = self.conn.import_transaction()?;
        let mut ids = Vec::with_capacity(records.len());
        let mut unknown = Vec::new();
        {
            let mut find = tx.prepare("SELECT id FROM premises WHERE source_id = ?1")?;
            for (n, r) in records.iter().enumerate() {
                match find
                    .query_row(params![r.premises_id], |row| row.get::<i64>(0))
                    .optional()?
                {
                    Some(id) => ids.push(id),
                    None => unknown.push(RowError {
                        file: file.to_string(),
                        line: lines.get(n).copied().unwrap_or(0),
                        field: "premises_id".into(),
                        reason: format!(
                            "no premises with id {:?} (import premises first)",
                            r.premises_id
                        ),
                    }),
                }
            }
        }
        if !unknown.is_empty() {
            return Err(StoreError::Rows(unknown));
        }
        let import_id = Store::begin_import(&tx, "training", meta)?;
        let mut added = 0u64;
        {
            let mut insert = tx.prepare(
                "INSERT INTO training_records (premises_id, date, course, staff_trained, trainer,
                                               notes, fictional, import_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (premises_id, date, course, trainer) DO NOTHING",
            )?;
            for (r, premises_id) in records.iter().zip(ids) {
                added += insert.execute(params![
                    premises_id,
                    r.date.to_string(),
                    r.course,
                    r.staff_trained,
                    r.trainer,
                    r.notes,
                    fictional,
                    import_id
                ])? as u64;
            }
        }
        let present = records.len() as u64 - added;
        Store::finish_import(&tx, import_id, added, present)?;
        Store::audit_import(&tx, import_id, meta, added, present)?;
        tx.commit()?;
        Ok(Stored {
            import_id,
            added,
            already_present: present,
        })
    }
}
