//! Plans: the optimised rota for one night over the patrol zones. [`make`] forms the zones
//! and optimises (`firefly plan`, `POST /api/v1/plans`); [`replan`] re-optimises a plan
//! document from a time when a unit drops out or joins (`firefly replan`,
//! `POST /api/v1/plans/{id}/replan`); [`document`] writes and reads the plan JSON (everything
//! needed to check a plan independently); [`rota_csv`] the rota as one row per unit per slot.

pub mod checkin;
pub mod document;
pub mod itinerary;
pub mod replan;
pub mod rota_csv;

pub use document::{Loaded, crs_of, plan_json, problem_from_json, problem_json};
pub use replan::{Replanned, Replanning, replan_doc};
pub use rota_csv::rota_csv;

use super::Failure;
use super::analysis::Prepared;
use super::zones::{self, Built, ZoneRequest};
use crate::config::Config;
use anyhow::anyhow;
use jiff::civil::{Date, Time};
use planner::rota::{Plan, PlanParams, PlanUnit, PlanZone, Problem, night_slots, optimise};
use planner::zones::risk_for_slots;

/// Plan a night: the roster, how to form the zones, how to optimise.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    /// The local date the night starts on.
    pub night: Date,
    pub units: Vec<planner::Unit>,
    /// Names the roster in messages (a file name, or the API's `units`).
    pub roster_name: String,
    pub zones: ZoneRequest,
    pub settings: PlanSettings,
}

/// Forms the zones from the incidents and premises and optimises the night.
pub fn make(
    config: &Config,
    data: &crate::app::dataset::Dataset,
    premises: Vec<planner::Premises>,
    req: &PlanRequest,
    on_prepared: &mut dyn FnMut(&Prepared) -> Result<(), Failure>,
) -> Result<Planned, Failure> {
    if req.units.is_empty() {
        return Err(Failure::Invalid(anyhow!(
            "{} lists no units",
            req.roster_name
        )));
    }
    let built = zones::build_from(config, data, premises, &req.zones, on_prepared)?;
    make_from(
        config,
        req.night,
        req.units.clone(),
        built,
        &req.settings,
        &req.roster_name,
    )
}

/// A planned night, with what produced it.
pub struct Planned {
    pub built: Built,
    pub problem: Problem,
    pub plan: Plan,
    pub units: Vec<planner::Unit>,
    pub night: Date,
}

/// What the outputs need: the problem, the plan, and where each zone is on the map.
pub struct Rota<'a> {
    pub problem: &'a Problem,
    pub plan: &'a Plan,
    pub night: Date,
    /// Zone centres, WGS84 (lon, lat), by zone index.
    pub zone_lonlat: Vec<(f64, f64)>,
}

impl Planned {
    pub fn rota(&self) -> Rota<'_> {
        let crs = &self.built.prepared.crs;
        let zone_lonlat = self
            .problem
            .zones()
            .iter()
            .map(|z| crs.unproject(z.x, z.y).unwrap_or((f64::NAN, f64::NAN)))
            .collect();
        Rota {
            problem: &self.problem,
            plan: &self.plan,
            night: self.night,
            zone_lonlat,
        }
    }
}

/// How to optimise: the plan options that are neither files nor zone options.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanSettings {
    /// Slot length in minutes.
    pub slot: u32,
    pub seed: u64,
    pub second_unit_factor: f64,
    /// km/h.
    pub walking_speed: f64,
    pub detour: f64,
}

impl Default for PlanSettings {
    /// The CLI's defaults.
    fn default() -> Self {
        PlanSettings {
            slot: 15,
            seed: 0,
            second_unit_factor: 0.5,
            walking_speed: 4.5,
            detour: 1.3,
        }
    }
}

/// Optimises the night for a roster over zones already formed: what `firefly plan` and
/// `POST /api/v1/plans` share. `roster_name` names the roster in messages.
pub fn make_from(
    config: &Config,
    night: Date,
    units: Vec<planner::Unit>,
    built: Built,
    settings: &PlanSettings,
    roster_name: &str,
) -> Result<Planned, Failure> {
    if units.is_empty() {
        return Err(Failure::Invalid(anyhow!("{roster_name} lists no units")));
    }
    if built.zones.zones.is_empty() {
        return Err(Failure::Invalid(anyhow!(
            "no patrol zones: no hot cells in the selected data"
        )));
    }
    // The night runs from the earliest shift start to the latest shift end (18:00-06:00 at
    // least, the weekend-night window).
    let (start, end) = night_span(&units);
    let slots = night_slots(night, &config.tz, start, end, settings.slot)
        .map_err(|e| Failure::Invalid(anyhow!("{e}")))?;
    let starts: Vec<jiff::Timestamp> = slots.iter().map(|s| s.start_utc).collect();
    let zones: Vec<PlanZone> = built
        .zones
        .zones
        .iter()
        .map(|z| PlanZone {
            id: z.id.clone(),
            name: z.name.clone(),
            x: z.centroid.x,
            y: z.centroid.y,
            risk: risk_for_slots(z, &starts, settings.slot, &config.tz),
        })
        .collect();
    let plan_units = units
        .iter()
        .map(|u| PlanUnit::from_unit(u, night, &config.tz, &slots, &built.prepared.crs))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::Invalid(anyhow!("{roster_name}: {e}")))?;
    let params = PlanParams {
        slot_minutes: settings.slot,
        walking_speed_kmh: settings.walking_speed,
        detour: settings.detour,
        second_unit_factor: settings.second_unit_factor,
        seed: settings.seed,
        ..PlanParams::default()
    };
    let problem = Problem::new(slots, zones, plan_units, params)
        .map_err(|e| Failure::Invalid(anyhow!("{e}")))?;
    let plan = optimise(&problem);
    Ok(Planned {
        built,
        problem,
        plan,
        units,
        night,
    })
}

fn night_span(units: &[planner::Unit]) -> (Time, Time) {
    // Times from noon count on the evening, earlier ones on the next morning.
    let evening = |t: Time| t >= Time::constant(12, 0, 0, 0);
    let key = |t: Time| if evening(t) { (0, t) } else { (1, t) };
    let start = units
        .iter()
        .map(|u| u.shift_start)
        .chain([Time::constant(18, 0, 0, 0)])
        .min_by_key(|&t| key(t));
    let end = units
        .iter()
        .map(|u| u.shift_end)
        .chain([Time::constant(6, 0, 0, 0)])
        .max_by_key(|&t| key(t));
    (
        start.unwrap_or(Time::constant(18, 0, 0, 0)),
        end.unwrap_or(Time::constant(6, 0, 0, 0)),
    )
}

/// Refuses a plan that breaks a constraint of its problem (a fault, never expected).
pub fn check(problem: &Problem, plan: &Plan) -> Result<(), Failure> {
    let violations = planner::rota::validate(problem, plan);
    if let Some(v) = violations.first() {
        return Err(Failure::Other(anyhow!(
            "the plan breaks {} constraint(s), first: {v}",
            violations.len()
        )));
    }
    Ok(())
}
