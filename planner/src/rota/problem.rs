//! What the optimiser is asked: zones with a risk per slot, units with shifts, stations and
//! breaks, and the parameters; validated once and turned into travel-time tables.
//!
//! The input is independent of how zones are drawn: a [`PlanZone`] is an id, a name, a
//! projected centre (metres, the metric CRS of the run) and one risk value per slot.
//! Walking time between two places is `ceil(distance x detour / speed / slot)` slots
//! (DESIGN.md, "Plan JSON"), with one exception: leaving a place for a different one always
//! takes at least one slot, even if the two centres coincide, so that every move shows in
//! the itinerary. The station is a place like a zone: the walk out at the start of the
//! shift and back at the end is planned and takes slots like any other walk.

use super::RotaError;
use super::plan::Assignment;
use super::slots::{Slot, local_range};
use crate::crs::Crs;
use crate::unit::Unit;
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// A patrol zone as the optimiser sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanZone {
    pub id: String,
    pub name: String,
    /// Projected centre, metres (British National Grid in Great Britain).
    pub x: f64,
    pub y: f64,
    /// Risk in each slot of the night (finite, 0 or more); one value per slot.
    pub risk: Vec<f64>,
}

/// A unit as the optimiser sees it: its shift and break in slot indices of the night.
///
/// ```
/// use planner::rota::PlanUnit;
/// // On from slot 4 to slot 36 (exclusive), a 3-slot break in the middle third.
/// let u = PlanUnit::new("LN-FF1", 2, (4, 36), (507_000.0, 221_000.0), 3);
/// assert_eq!(u.break_window, (14, 26));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanUnit {
    pub callsign: String,
    /// 1 (one officer) or 2 (a pair). A pair is one unit in the objective: it is one
    /// presence in a zone.
    pub size: u8,
    /// Slots `[first, end)` of the night the unit is on duty (clipped to the night).
    pub shift: (usize, usize),
    /// Station (start and end point), projected metres.
    pub start: (f64, f64),
    /// Meal break length in slots (0 for none).
    pub break_slots: usize,
    /// The break must lie within slots `[from, to)`.
    pub break_window: (usize, usize),
    /// Set by a re-plan when the unit dropped out at this slot: from it on the unit is off,
    /// and neither its return to the station nor its break is required any more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_at: Option<usize>,
}

impl PlanUnit {
    /// A unit with its break window in the middle third of its shift.
    pub fn new(
        callsign: &str,
        size: u8,
        shift: (usize, usize),
        start: (f64, f64),
        break_slots: usize,
    ) -> PlanUnit {
        PlanUnit {
            callsign: callsign.to_string(),
            size,
            shift,
            start,
            break_slots,
            break_window: middle_third(shift, break_slots),
            left_at: None,
        }
    }

    /// Converts a rostered [`Unit`] for the night that starts on local `night` (whose
    /// `slots` come from [`super::night_slots`]), projecting its station with `crs`.
    ///
    /// Shift times are local wall-clock times in `tz`. A shift start from 12:00 to 23:59 is
    /// on `night`; 00:00 to 11:59 is on the next morning; an end at or before the start runs
    /// past midnight. At DST changes the times resolve as window bounds do: a start inside
    /// the repeated hour is its first pass, an end its second; a time inside the skipped
    /// hour is the jump. The shift is clipped to whole slots of the night (a start between
    /// two slot boundaries counts from the next one). The break lasts
    /// `ceil(break_minutes / slot)` slots (an officer gets at least the rostered break) and
    /// must fall in the middle third of the planned part of the shift, widened evenly if the
    /// break is longer than a third.
    pub fn from_unit(
        unit: &Unit,
        night: Date,
        tz: &TimeZone,
        slots: &[Slot],
        crs: &Crs,
    ) -> Result<PlanUnit, RotaError> {
        let err = |reason: String| RotaError::Unit {
            callsign: unit.callsign.clone(),
            reason,
        };
        let first_slot = slots
            .first()
            .ok_or_else(|| err("the night has no slots".into()))?;
        let slot_minutes = first_slot
            .end_utc
            .duration_since(first_slot.start_utc)
            .as_mins()
            .max(1) as u32;
        let day = if unit.shift_start >= Time::constant(12, 0, 0, 0) {
            night
        } else {
            night
                .tomorrow()
                .map_err(|e| err(format!("no day after {night}: {e}")))?
        };
        let (start, end) = local_range(day, tz, unit.shift_start, unit.shift_end)
            .ok_or_else(|| err("shift times cannot be placed on the night".into()))?;
        let first = slots.iter().take_while(|s| s.start_utc < start).count();
        let last = slots.iter().take_while(|s| s.end_utc <= end).count();
        if last <= first {
            return Err(err(format!(
                "shift {}-{} does not cover a whole slot of the night of {night}",
                unit.shift_start.strftime("%H:%M"),
                unit.shift_end.strftime("%H:%M")
            )));
        }
        let break_slots = unit.break_minutes.div_ceil(slot_minutes) as usize;
        if break_slots >= last - first {
            return Err(err(format!(
                "a {}-minute break does not fit the {} slots of the shift planned on this night",
                unit.break_minutes,
                last - first
            )));
        }
        let p = crs
            .project(unit.start_lon, unit.start_lat)
            .map_err(|e| err(format!("start point: {e}")))?;
        Ok(PlanUnit::new(
            &unit.callsign,
            unit.size,
            (first, last),
            (p.x, p.y),
            break_slots,
        ))
    }
}

/// The middle third of `shift`, widened evenly (within the shift) until `break_slots` fit.
pub fn middle_third(shift: (usize, usize), break_slots: usize) -> (usize, usize) {
    let (a, e) = shift;
    let len = e.saturating_sub(a);
    let mut from = a + len / 3;
    let mut to = a + (2 * len).div_ceil(3);
    while to - from < break_slots && (from > a || to < e) {
        if from > a {
            from -= 1;
        }
        if to - from < break_slots && to < e {
            to += 1;
        }
    }
    (from, to)
}

/// Parameters of a plan (DESIGN.md, "Plan JSON": `params`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlanParams {
    /// Slot length in minutes (15: the Koper curve's 10 to 16 minute stop).
    pub slot_minutes: u32,
    /// Walking speed, km/h.
    pub walking_speed_kmh: f64,
    /// Street distance over straight-line distance.
    pub detour: f64,
    /// d: the k-th unit in a zone and slot adds risk x d^(k-1).
    pub second_unit_factor: f64,
    /// Seed of the randomisation: the same seed gives the same plan.
    pub seed: u64,
    /// Koper spacing: at least this many slots from one visit of a unit to a zone to the
    /// same unit's next visit there (visit slots t1 < t2 need t2 - t1 >= revisit_gap). 1
    /// lets a unit stay in a zone; 2 or more makes every visit a single slot followed by a
    /// move. Default 4 (an hour).
    pub revisit_gap: usize,
    /// Size of the seeded random tilt of risk used while the plan is built (0.05: each zone
    /// and slot looks up to 5 % more valuable), so that near-equal choices fall differently
    /// for different seeds. The final polish, the reported objective and the bound use the
    /// true risk.
    pub jitter: f64,
    /// Re-plan: the share of the remaining objective the re-plan may give up to keep more of
    /// the previous itineraries (0.005 = 0.5 %).
    pub replan_tolerance: f64,
}

impl Default for PlanParams {
    fn default() -> Self {
        PlanParams {
            slot_minutes: 15,
            walking_speed_kmh: 4.5,
            detour: 1.3,
            second_unit_factor: 0.5,
            seed: 0,
            revisit_gap: 4,
            jitter: 0.05,
            replan_tolerance: 0.005,
        }
    }
}

impl PlanParams {
    /// Walking slots for a straight-line distance in metres: at least 1 for any move.
    pub fn walking_slots(&self, metres: f64) -> usize {
        let per_slot = self.walking_speed_kmh * 1000.0 / 60.0 * self.slot_minutes as f64;
        let slots = (metres * self.detour / per_slot - 1e-9).ceil();
        (slots.max(1.0)) as usize
    }

    fn check(&self) -> Result<(), RotaError> {
        let bad = |what: &str| Err(RotaError::Params(what.to_string()));
        if self.slot_minutes == 0 {
            return bad("slot_minutes must be at least 1");
        }
        if !(self.walking_speed_kmh.is_finite() && self.walking_speed_kmh > 0.0) {
            return bad("walking_speed_kmh must be a positive number");
        }
        if !(self.detour.is_finite() && self.detour >= 1.0) {
            return bad("detour must be 1 or more");
        }
        if !(0.0..=1.0).contains(&self.second_unit_factor) {
            return bad("second_unit_factor must be between 0 and 1");
        }
        if self.revisit_gap == 0 {
            return bad("revisit_gap must be at least 1");
        }
        if !(0.0..1.0).contains(&self.jitter) {
            return bad("jitter must be at least 0 and below 1");
        }
        if !(0.0..1.0).contains(&self.replan_tolerance) {
            return bad("replan_tolerance must be at least 0 and below 1");
        }
        Ok(())
    }
}

/// The past of a re-planned night: slots before `from_slot` are fixed for the units that
/// were in the previous plan (the first `assignments.len()` units).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct History {
    pub(crate) from_slot: usize,
    pub(crate) assignments: Vec<Vec<Assignment>>,
}

/// A validated planning problem with its travel-time tables.
#[derive(Debug, Clone)]
pub struct Problem {
    slots: Vec<Slot>,
    zones: Vec<PlanZone>,
    units: Vec<PlanUnit>,
    params: PlanParams,
    pub(crate) history: Option<History>,
    /// Zone to zone walking slots, `z * n_zones + z'`.
    pub(crate) travel: Vec<usize>,
    /// Station to zone walking slots, per unit: `u * n_zones + z`.
    pub(crate) station: Vec<usize>,
}

impl Problem {
    /// Checks the input and computes the travel tables.
    pub fn new(
        slots: Vec<Slot>,
        zones: Vec<PlanZone>,
        units: Vec<PlanUnit>,
        params: PlanParams,
    ) -> Result<Problem, RotaError> {
        params.check()?;
        let n = slots.len();
        let mut ids = HashSet::new();
        for z in &zones {
            let err = |reason: String| RotaError::Zone {
                zone: z.id.clone(),
                reason,
            };
            if !ids.insert(z.id.as_str()) {
                return Err(err("duplicate zone id".into()));
            }
            if !(z.x.is_finite() && z.y.is_finite()) {
                return Err(err("centre is not a finite coordinate".into()));
            }
            if z.risk.len() != n {
                return Err(err(format!(
                    "{} risk values for {n} slots (one per slot)",
                    z.risk.len()
                )));
            }
            if let Some(r) = z.risk.iter().find(|r| !(r.is_finite() && **r >= 0.0)) {
                return Err(err(format!("risk {r} is not a finite number of 0 or more")));
            }
        }
        let mut calls = HashSet::new();
        for u in &units {
            check_unit(u, n, &mut calls)?;
        }
        let nz = zones.len();
        let dist =
            |a: (f64, f64), b: (f64, f64)| ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt();
        let mut travel = vec![0; nz * nz];
        for (i, a) in zones.iter().enumerate() {
            for (j, b) in zones.iter().enumerate() {
                if i != j {
                    travel[i * nz + j] = params.walking_slots(dist((a.x, a.y), (b.x, b.y)));
                }
            }
        }
        let station = units
            .iter()
            .flat_map(|u| {
                zones
                    .iter()
                    .map(|z| params.walking_slots(dist(u.start, (z.x, z.y))))
            })
            .collect();
        Ok(Problem {
            slots,
            zones,
            units,
            params,
            history: None,
            travel,
            station,
        })
    }

    /// The same problem with slots before `from_slot` fixed to `assignments` for the first
    /// `assignments.len()` units (the past of a re-plan). The caller keeps this when it
    /// stores a re-planned night and re-plans it again.
    pub fn with_history(
        mut self,
        from_slot: usize,
        assignments: Vec<Vec<Assignment>>,
    ) -> Result<Problem, RotaError> {
        if from_slot > self.slots.len()
            || assignments.len() > self.units.len()
            || assignments.iter().any(|a| a.len() < from_slot)
        {
            return Err(RotaError::PlanMismatch(
                "history does not fit the problem's units and slots".into(),
            ));
        }
        let assignments = assignments
            .into_iter()
            .map(|mut a| {
                a.truncate(from_slot);
                a
            })
            .collect();
        self.history = Some(History {
            from_slot,
            assignments,
        });
        Ok(self)
    }

    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    pub fn zones(&self) -> &[PlanZone] {
        &self.zones
    }

    pub fn units(&self) -> &[PlanUnit] {
        &self.units
    }

    pub fn params(&self) -> &PlanParams {
        &self.params
    }

    pub fn n_slots(&self) -> usize {
        self.slots.len()
    }

    /// The first slot that is not fixed history (0 for a fresh plan).
    pub fn frozen_until(&self) -> usize {
        self.history.as_ref().map_or(0, |h| h.from_slot)
    }

    /// The past fixed for `unit` (slots before [`Problem::frozen_until`]), if any.
    pub fn history_of(&self, unit: usize) -> Option<&[Assignment]> {
        self.history
            .as_ref()
            .and_then(|h| h.assignments.get(unit))
            .map(Vec::as_slice)
    }

    /// Index of the unit with this callsign (case ignored).
    pub fn unit_index(&self, callsign: &str) -> Option<usize> {
        self.units
            .iter()
            .position(|u| u.callsign.eq_ignore_ascii_case(callsign))
    }

    /// Index of the zone with this id.
    pub fn zone_index(&self, id: &str) -> Option<usize> {
        self.zones.iter().position(|z| z.id == id)
    }

    /// Walking slots from `from` to `to` for `unit` (`None` is the unit's station); 0 when
    /// the two are the same place.
    pub fn walk(&self, unit: usize, from: Option<usize>, to: Option<usize>) -> usize {
        let nz = self.zones.len();
        match (from, to) {
            (None, None) => 0,
            (Some(a), Some(b)) => self.travel[a * nz + b],
            (None, Some(z)) | (Some(z), None) => self.station[unit * nz + z],
        }
    }

    /// The problem with its units replaced (same zones, slots, parameters and history).
    pub(crate) fn with_units(&self, units: Vec<PlanUnit>) -> Result<Problem, RotaError> {
        let p = Problem::new(
            self.slots.clone(),
            self.zones.clone(),
            units,
            self.params.clone(),
        )?;
        Ok(Problem {
            history: self.history.clone(),
            ..p
        })
    }
}

fn check_unit(u: &PlanUnit, n: usize, calls: &mut HashSet<String>) -> Result<(), RotaError> {
    let err = |reason: String| {
        Err(RotaError::Unit {
            callsign: u.callsign.clone(),
            reason,
        })
    };
    if !calls.insert(u.callsign.to_ascii_uppercase()) {
        return err("duplicate callsign".into());
    }
    let (a, e) = u.shift;
    if a > e || e > n {
        return err(format!(
            "shift slots {a}..{e} are not within the night's {n} slots"
        ));
    }
    let (wf, wt) = u.break_window;
    if u.break_slots > 0 && (wf < a || wt > e || wt < wf || wt - wf < u.break_slots) {
        return err(format!(
            "a {}-slot break does not fit the window {wf}..{wt} inside the shift {a}..{e}",
            u.break_slots
        ));
    }
    if !(u.start.0.is_finite() && u.start.1.is_finite()) {
        return err("start point is not a finite coordinate".into());
    }
    if u.left_at.is_some_and(|l| l > n) {
        return err("left_at is beyond the night".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn slots(d: Date, h: i8, m: i8, end_h: i8) -> Vec<Slot> {
        super::super::night_slots(
            d,
            &crate::time::london(),
            time(h, m, 0, 0),
            time(end_h, 0, 0, 0),
            15,
        )
        .unwrap()
    }

    fn unit(start: Time, end: Time, break_minutes: u32) -> Unit {
        Unit {
            callsign: "LN-FF1".into(),
            size: 2,
            shift_start: start,
            shift_end: end,
            start_lon: -0.421262,
            start_lat: 51.878543,
            start_name: None,
            break_minutes,
            skills: vec![],
        }
    }

    #[test]
    fn shifts_map_to_slots_on_ordinary_and_dst_nights() {
        let crs = Crs::bng();
        let london = crate::time::london();
        // Ordinary night: 19:00-03:00 is slots 4..36 of 18:00-06:00.
        let d = date(2024, 6, 7);
        let s = slots(d, 18, 0, 6);
        let u = PlanUnit::from_unit(
            &unit(time(19, 0, 0, 0), time(3, 0, 0, 0), 45),
            d,
            &london,
            &s,
            &crs,
        )
        .unwrap();
        assert_eq!(u.shift, (4, 36));
        assert_eq!(u.break_slots, 3);
        assert_eq!(u.break_window, (14, 26));
        // Spring forward: 19:00 GMT to 03:00 BST is 7 real hours = 28 slots.
        let d = date(2024, 3, 30);
        let s = slots(d, 18, 0, 6);
        let u = PlanUnit::from_unit(
            &unit(time(19, 0, 0, 0), time(3, 0, 0, 0), 40),
            d,
            &london,
            &s,
            &crs,
        )
        .unwrap();
        assert_eq!(u.shift, (4, 32));
        assert_eq!(u.break_slots, 3); // 40 minutes round up to three slots
        // Fall back: 9 real hours = 36 slots; a shift starting after midnight is next morning.
        let d = date(2024, 10, 26);
        let s = slots(d, 18, 0, 6);
        let u = PlanUnit::from_unit(
            &unit(time(19, 0, 0, 0), time(3, 0, 0, 0), 45),
            d,
            &london,
            &s,
            &crs,
        )
        .unwrap();
        assert_eq!(u.shift, (4, 40));
        let u = PlanUnit::from_unit(
            &unit(time(0, 0, 0, 0), time(6, 0, 0, 0), 0),
            d,
            &london,
            &s,
            &crs,
        )
        .unwrap();
        assert_eq!(u.shift, (24, 52)); // 00:00 BST to 06:00 GMT is seven hours
        assert_eq!(u.break_slots, 0);
    }

    #[test]
    fn shifts_are_clipped_to_the_night_and_rejected_outside_it() {
        let crs = Crs::bng();
        let london = crate::time::london();
        let d = date(2024, 6, 7);
        let s = slots(d, 18, 0, 6);
        // 17:10-01:00: clipped to 18:00; 17:10 rounds up to the first slot.
        let u = PlanUnit::from_unit(
            &unit(time(17, 10, 0, 0), time(1, 0, 0, 0), 45),
            d,
            &london,
            &s,
            &crs,
        )
        .unwrap();
        assert_eq!(u.shift, (0, 28));
        let e = PlanUnit::from_unit(
            &unit(time(8, 0, 0, 0), time(16, 0, 0, 0), 45),
            d,
            &london,
            &s,
            &crs,
        )
        .unwrap_err();
        assert!(e.to_string().contains("does not cover"), "{e}");
        let e = PlanUnit::from_unit(
            &unit(time(5, 0, 0, 0), time(5, 40, 0, 0), 45),
            d,
            &london,
            &s,
            &crs,
        )
        .unwrap_err();
        assert!(e.to_string().contains("break"), "{e}");
    }

    #[test]
    fn middle_third_widens_for_long_breaks() {
        assert_eq!(middle_third((0, 12), 3), (4, 8));
        assert_eq!(middle_third((0, 6), 3), (1, 4));
        assert_eq!(middle_third((10, 13), 3), (10, 13));
        assert_eq!(middle_third((0, 3), 0), (1, 2));
    }

    #[test]
    fn walking_slots_follow_the_contract_formula() {
        let p = PlanParams::default();
        // 4.5 km/h for 15 minutes is 1125 m of street, 865.4 m straight at detour 1.3.
        assert_eq!(p.walking_slots(865.0), 1);
        assert_eq!(p.walking_slots(866.0), 2);
        assert_eq!(p.walking_slots(0.0), 1);
        assert_eq!(p.walking_slots(2000.0), 3);
    }

    #[test]
    fn bad_input_is_named() {
        let s = slots(date(2024, 6, 7), 18, 0, 20);
        let z = |id: &str, n: usize| PlanZone {
            id: id.into(),
            name: id.into(),
            x: 0.0,
            y: 0.0,
            risk: vec![1.0; n],
        };
        let p = PlanParams::default();
        let e = Problem::new(s.clone(), vec![z("a", 7)], vec![], p.clone()).unwrap_err();
        assert!(e.to_string().contains("7 risk values for 8 slots"), "{e}");
        let e = Problem::new(s.clone(), vec![z("a", 8), z("a", 8)], vec![], p.clone()).unwrap_err();
        assert!(e.to_string().contains("duplicate"), "{e}");
        let u = PlanUnit::new("A1", 1, (0, 9), (0.0, 0.0), 1);
        let e = Problem::new(s.clone(), vec![z("a", 8)], vec![u], p.clone()).unwrap_err();
        assert!(e.to_string().contains("A1"), "{e}");
        let bad = PlanParams {
            second_unit_factor: 1.5,
            ..p
        };
        assert!(Problem::new(s, vec![], vec![], bad).is_err());
    }
}
