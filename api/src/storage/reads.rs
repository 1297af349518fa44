//! Reads of the imported data: incidents, premises, training, versions and counts.

use super::*;

impl Store {
    /// Every stored incident, in import order.
    pub fn incidents(&self) -> Result<Vec<Incident>> {
        Ok(self
            .incidents_with_ids(None)?
            .into_iter()
            .map(|(_, i)| i)
            .collect())
    }

    /// What the analyses read of every stored incident (place, category, time), in import
    /// order: no text column is read, so a national table loads in seconds.
    pub fn incident_points(&self) -> Result<Vec<planner::IncidentPoint>> {
        let rows = self.conn.query_map(
            "SELECT occurred_utc, occurred_month, lon, lat, category FROM incidents ORDER BY id",
            params![],
            |row| {
                let occurred = match row.get_ref(0)?.as_str_or_null()? {
                    Some(t) => OccurredAt::Exact(parse_column(0, t, |t| t.parse::<Timestamp>())?),
                    None => OccurredAt::Month(parse_column(
                        1,
                        row.get_ref(1)?.as_str()?,
                        YearMonth::parse,
                    )?),
                };
                Ok(planner::IncidentPoint {
                    lon: row.get(2)?,
                    lat: row.get(3)?,
                    category: parse_column(4, row.get_ref(4)?.as_str()?, |c| {
                        c.parse::<Category>()
                    })?,
                    occurred,
                })
            },
        )?;
        Ok(rows.into_iter().collect())
    }

    /// Stored incidents with their database ids, in import order; only those inside
    /// `bbox` (W, S, E, N degrees, edges included) when one is given.
    pub fn incidents_with_ids(&self, bbox: Option<[f64; 4]>) -> Result<Vec<(i64, Incident)>> {
        let [w, s, e, n] = bbox.unwrap_or([-180.0, -90.0, 180.0, 90.0]);
        let rows = self.conn.query_map(
            "SELECT source_id, source, occurred_utc, occurred_month, lon, lat, category,
                    category_raw, location, area_code, area_name, id
             FROM incidents
             WHERE lon BETWEEN ?1 AND ?3 AND lat BETWEEN ?2 AND ?4
             ORDER BY id",
            params![w, s, e, n],
            |row| {
                let utc: Option<String> = row.get(2)?;
                let occurred = match utc {
                    Some(t) => OccurredAt::Exact(parse_column(2, &t, |t| t.parse::<Timestamp>())?),
                    None => {
                        let m: String = row.get(3)?;
                        OccurredAt::Month(parse_column(3, &m, YearMonth::parse)?)
                    }
                };
                let category: String = row.get(6)?;
                Ok((
                    row.get(11)?,
                    Incident {
                        source_id: row.get(0)?,
                        source: row.get(1)?,
                        occurred,
                        lon: row.get(4)?,
                        lat: row.get(5)?,
                        category: parse_column(6, &category, |c| c.parse::<Category>())?,
                        category_raw: row.get(7)?,
                        location: row.get(8)?,
                        area_code: row.get(9)?,
                        area_name: row.get(10)?,
                    },
                ))
            },
        )?;
        Ok(rows.into_iter().collect())
    }

    /// Every stored premises, by name.
    pub fn premises(&self) -> Result<Vec<Premises>> {
        Ok(self
            .premises_with_ids()?
            .into_iter()
            .map(|(_, p)| p)
            .collect())
    }

    /// Every stored premises with its database id (stable across re-imports), by name.
    pub fn premises_with_ids(&self) -> Result<Vec<(i64, Premises)>> {
        let rows = self.conn.query_map(
            &format!(
                "SELECT {} FROM premises ORDER BY name, source_id",
                premises_edit::PREMISES_COLUMNS
            ),
            params![],
            premises_edit::premises_from_row,
        )?;
        Ok(rows.into_iter().collect())
    }

    /// The data version: the id of the latest import (0 for none). Anything computed from
    /// stored records is still valid while this is unchanged.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(id), 0) FROM imports", params![], |r| {
                r.get(0)
            })?)
    }

    /// Changes whenever the premises list could: imports and edits (the data version) or a
    /// new training record. Monotonic, so a cache keyed on it never serves an older list.
    pub fn premises_version(&self) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT (SELECT coalesce(max(id), 0) FROM imports) * 1000000000
                  + (SELECT coalesce(max(id), 0) FROM training_records)",
            params![],
            |r| r.get(0),
        )?)
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64> {
        migrations::version(&self.conn)
    }

    /// Number of rows in a table of this schema.
    pub fn count(&self, table: Table) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            &format!("SELECT count(*) FROM {}", table.name()),
            params![],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// Incidents per normalised category, largest first.
    pub fn incidents_by_category(&self) -> Result<Vec<(String, u64)>> {
        let rows = self.conn.query_map(
            "SELECT category, count(*) AS n FROM incidents GROUP BY category ORDER BY n DESC, category", params![], |r| Ok((r.get(0)?, r.get::<i64>(1)? as u64)))?;
        Ok(rows.into_iter().collect())
    }

    /// Training records with fictional flags, for summaries.
    pub fn training_counts(&self) -> Result<(u64, u64)> {
        Ok(self.conn.query_row(
            "SELECT count(*), coalesce(sum(fictional), 0) FROM training_records",
            params![],
            |r| Ok((r.get::<i64>(0)? as u64, r.get::<i64>(1)? as u64)),
        )?)
    }

    /// Every training record, grouped by the premises' `source_id`.
    pub fn training_by_premises(&self) -> Result<HashMap<String, Vec<TrainingRecord>>> {
        let rows = self.conn.query_map(
            "SELECT p.source_id, t.date, t.course, t.staff_trained, t.trainer, t.notes
             FROM training_records t JOIN premises p ON p.id = t.premises_id
             ORDER BY t.date",
            params![],
            |row| {
                let date: String = row.get(1)?;
                Ok(TrainingRecord {
                    premises_id: row.get(0)?,
                    date: parse_column(1, &date, |d| d.parse::<jiff::civil::Date>())?,
                    course: row.get(2)?,
                    staff_trained: row.get(3)?,
                    trainer: row.get(4)?,
                    notes: row.get(5)?,
                })
            },
        )?;
        let mut out: HashMap<String, Vec<TrainingRecord>> = HashMap::new();
        for r in rows {
            out.entry(r.premises_id.clone()).or_default().push(r);
        }
        Ok(out)
    }

    /// Every training record with its fictional flag, grouped by the premises' `source_id`,
    /// oldest first.
    pub fn training_with_flags(&self) -> Result<HashMap<String, Vec<(TrainingRecord, bool)>>> {
        let rows = self.conn.query_map(
            "SELECT p.source_id, t.date, t.course, t.staff_trained, t.trainer, t.notes, t.fictional
             FROM training_records t JOIN premises p ON p.id = t.premises_id
             ORDER BY t.date, t.id",
            params![],
            |row| {
                let date: String = row.get(1)?;
                Ok((
                    TrainingRecord {
                        premises_id: row.get(0)?,
                        date: parse_column(1, &date, |d| d.parse::<jiff::civil::Date>())?,
                        course: row.get(2)?,
                        staff_trained: row.get(3)?,
                        trainer: row.get(4)?,
                        notes: row.get(5)?,
                    },
                    row.get::<bool>(6)?,
                ))
            },
        )?;
        let mut out: HashMap<String, Vec<(TrainingRecord, bool)>> = HashMap::new();
        for r in rows {
            out.entry(r.0.premises_id.clone()).or_default().push(r);
        }
        Ok(out)
    }

    /// `PRAGMA integrity_check` passes (SQLite; PostgreSQL checks its own pages).
    #[cfg(test)]
    pub fn integrity_ok(&self) -> Result<bool> {
        let Some(conn) = self.conn.as_sqlite() else {
            return Ok(true);
        };
        let s: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        Ok(s == "ok")
    }
}
