//! Itineraries and check-ins: a unit's published plan and assignment rows, check-ins
//! (append-only, each with its audit entry in the same transaction), and a plan's planned
//! against achieved visits.

use super::audit::{AuditEntry, insert_audit};
use super::db::{OptionalExt, params};
use super::plans::{AssignmentRow, META_COLUMNS, PlanMeta, UnknownValue, meta_from_row};
use super::{Result, Store};
use jiff::Timestamp;

/// A check-in to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCheckin {
    pub user_id: i64,
    pub unit: String,
    /// The published plan covering `at` for the unit, and its version then.
    pub plan: Option<(i64, i64)>,
    pub slot: Option<i64>,
    /// The plan's zone the point is in (or near; see `matched`).
    pub zone_id: Option<String>,
    pub planned_zone: Option<String>,
    pub on_plan: bool,
    /// `inside`, `near` or `none`.
    pub matched: &'static str,
    pub lon: f64,
    pub lat: f64,
    pub at: String,
}

/// Planned against achieved for one zone of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZoneDosage {
    pub zone_id: String,
    /// Unit-slots planned in the zone.
    pub planned_slots: i64,
    /// Check-ins located in the zone.
    pub checkins: i64,
    /// Distinct (unit, slot) with a check-in located in the zone.
    pub achieved_slots: i64,
    /// Distinct (unit, slot) with a check-in in the zone the unit was planned in then.
    pub on_plan_slots: i64,
}

impl Store {
    /// The published plan with unit `callsign` (any case) whose night covers `at` (UTC
    /// text), the most recently created if several do; else the published plan with that
    /// unit that starts next after `at`. With its document.
    pub fn published_plan_for_unit(
        &self,
        callsign: &str,
        at: &str,
    ) -> Result<Option<(PlanMeta, String)>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {META_COLUMNS}, document FROM plans p
                     WHERE status = 'published' AND end_utc > ?2
                       AND EXISTS (SELECT 1 FROM plan_assignments a
                                   WHERE a.plan_id = p.id AND a.callsign = ?1 COLLATE NOCASE)
                     ORDER BY start_utc <= ?2 DESC,
                              CASE WHEN start_utc <= ?2 THEN id END DESC,
                              start_utc ASC, id DESC
                     LIMIT 1"
                ),
                params![callsign, at],
                |row| Ok((meta_from_row(row)?, row.get(15)?)),
            )
            .optional()?)
    }

    /// One unit's assignments in a plan (callsign in any case), by slot.
    pub fn unit_assignments(&self, plan_id: i64, callsign: &str) -> Result<Vec<AssignmentRow>> {
        let rows = self.conn.query_map(
            "SELECT callsign, slot, start_utc, end_utc, kind, zone_id, from_zone, to_zone
             FROM plan_assignments WHERE plan_id = ?1 AND callsign = ?2 COLLATE NOCASE
             ORDER BY slot",
            params![plan_id, callsign],
            |r| {
                let kind: String = r.get(4)?;
                Ok(AssignmentRow {
                    callsign: r.get(0)?,
                    slot: r.get(1)?,
                    start_utc: r.get(2)?,
                    end_utc: r.get(3)?,
                    kind: super::parse_column(4, &kind, |k| match k {
                        "zone" => Ok("zone"),
                        "travel" => Ok("travel"),
                        "break" => Ok("break"),
                        "off" => Ok("off"),
                        other => Err(UnknownValue(other.into(), "assignment kind")),
                    })?,
                    zone_id: r.get(5)?,
                    from_zone: r.get(6)?,
                    to_zone: r.get(7)?,
                })
            },
        )?;
        Ok(rows.into_iter().collect())
    }

    /// Stores a check-in and logs it (`audit`'s target set to `checkin:{id}`), in one
    /// transaction. Returns its id.
    pub fn add_checkin(&mut self, c: &NewCheckin, audit: &AuditEntry) -> Result<i64> {
        let tx = self.conn.transaction()?;
        let id: i64 = tx.query_row(
            "INSERT INTO checkins (user_id, unit, plan_id, plan_version, slot, zone_id,
                                   planned_zone, on_plan, matched, lon, lat, at, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) RETURNING id",
            params![
                c.user_id,
                c.unit,
                c.plan.map(|p| p.0),
                c.plan.map(|p| p.1),
                c.slot,
                c.zone_id,
                c.planned_zone,
                c.on_plan,
                c.matched,
                c.lon,
                c.lat,
                c.at,
                super::utc_text(Timestamp::now())
            ],
            |r| r.get(0),
        )?;
        let mut audit = audit.clone();
        audit.target = Some(format!("checkin:{id}"));
        insert_audit(&tx, &audit)?;
        tx.commit()?;
        Ok(id)
    }

    /// Planned unit-slots and check-ins per zone of a plan's current assignments, by zone
    /// id; zones with neither are left out. Also the number of the plan's check-ins in no
    /// zone.
    pub fn plan_dosage(&self, plan_id: i64) -> Result<(Vec<ZoneDosage>, i64)> {
        let rows = self.conn.query_map(
            "WITH planned AS (
                 SELECT zone_id, count(*) AS n FROM plan_assignments
                 WHERE plan_id = ?1 AND kind = 'zone' GROUP BY zone_id),
             seen AS (
                 SELECT zone_id, count(*) AS n,
                        count(DISTINCT unit || '\u{1f}' || slot) AS achieved,
                        count(DISTINCT CASE WHEN on_plan = 1 THEN unit || '\u{1f}' || slot END)
                            AS on_plan
                 FROM checkins WHERE plan_id = ?1 AND zone_id IS NOT NULL GROUP BY zone_id),
             zones AS (SELECT zone_id FROM planned UNION SELECT zone_id FROM seen)
             SELECT z.zone_id, coalesce(p.n, 0), coalesce(s.n, 0), coalesce(s.achieved, 0),
                    coalesce(s.on_plan, 0)
             FROM zones z LEFT JOIN planned p USING (zone_id) LEFT JOIN seen s USING (zone_id)
             ORDER BY z.zone_id",
            params![plan_id],
            |r| {
                Ok(ZoneDosage {
                    zone_id: r.get(0)?,
                    planned_slots: r.get(1)?,
                    checkins: r.get(2)?,
                    achieved_slots: r.get(3)?,
                    on_plan_slots: r.get(4)?,
                })
            },
        )?;
        let zones = rows;
        let outside: i64 = self.conn.query_row(
            "SELECT count(*) FROM checkins WHERE plan_id = ?1 AND zone_id IS NULL",
            params![plan_id],
            |r| r.get(0),
        )?;
        Ok((zones, outside))
    }
}
