//! Re-planning a plan document from a time when a unit drops out or joins, keeping the
//! past and changing as few future slots as possible.

use super::Rota;
use super::document::{crs_of, problem_from_json, problem_json, zone_lonlat_of};
use crate::app::Failure;
use crate::config::Config;
use anyhow::{Context, anyhow};
use jiff::civil::{Date, Time};
use planner::rota::{Plan, PlanUnit, Problem};
use serde_json::{Value, json};

/// The first slot starting at or after local `HH:MM` (evening times on the night's date,
/// morning times on the next day), or a slot number.
fn slot_at(plan: &Plan, at: &str) -> anyhow::Result<usize> {
    if let Ok(n) = at.parse::<usize>() {
        return Ok(n);
    }
    let t: Time = format!("{at}:00")
        .parse()
        .or_else(|_| at.parse())
        .map_err(|_| anyhow!("--at {at:?}: expected HH:MM or a slot number"))?;
    let first = plan
        .slots
        .first()
        .ok_or_else(|| anyhow!("the plan has no slots"))?;
    let night = first.start_local.date();
    let day = if t >= Time::constant(12, 0, 0, 0) {
        night
    } else {
        night.tomorrow()?
    };
    let zoned = day
        .to_datetime(t)
        .to_zoned(first.start_local.time_zone().clone())?;
    Ok(plan
        .slots
        .iter()
        .take_while(|s| s.start_utc < zoned.timestamp())
        .count())
}

/// What changes in a re-plan, as `firefly replan` and `POST /api/v1/plans/{id}/replan`
/// name it.
#[derive(Debug, Clone)]
pub enum Replanning {
    /// This callsign drops out.
    Drop(String),
    /// This unit joins.
    Join(planner::Unit),
}

/// A plan document re-planned.
pub struct Replanned {
    /// The new plan JSON: the old document with new units, assignments, scores and
    /// `problem`, and a `replan` member listing the changes.
    pub doc: Value,
    pub problem: Problem,
    pub plan: Plan,
    pub night: Date,
    pub from_slot: usize,
    /// Every changed slot: `{callsign, slot, before, after}`.
    pub changes: Vec<Value>,
}

impl Replanned {
    pub fn rota(&self) -> Rota<'_> {
        Rota {
            problem: &self.problem,
            plan: &self.plan,
            night: self.night,
            zone_lonlat: zone_lonlat_of(&self.doc, self.problem.zones().len()),
        }
    }
}

/// Re-plans the plan document `doc` from `at` (local `HH:MM` on the night, or a slot
/// number), keeping the past: what `firefly replan` and the API share. Messages name the
/// CLI's flags (`--drop`, `--at`).
pub fn replan_doc(
    config: &Config,
    mut doc: Value,
    change: Replanning,
    at: &str,
) -> Result<Replanned, Failure> {
    let invalid = Failure::Invalid;
    let (problem, plan) = problem_from_json(&doc).map_err(invalid)?;
    let from_slot = slot_at(&plan, at).map_err(invalid)?;
    let change = match change {
        Replanning::Drop(callsign) => {
            let unit = problem
                .unit_index(&callsign)
                .ok_or_else(|| invalid(anyhow!("--drop {callsign}: not in the plan")))?;
            planner::rota::Change::DropOut { unit, from_slot }
        }
        Replanning::Join(unit) => {
            let night = plan
                .slots
                .first()
                .map(|s| s.start_local.date())
                .ok_or_else(|| invalid(anyhow!("the plan has no slots")))?;
            let crs = crs_of(&doc).map_err(invalid)?;
            let unit = PlanUnit::from_unit(&unit, night, &config.tz, &plan.slots, &crs)
                .map_err(|e| invalid(anyhow!("{e}")))?;
            planner::rota::Change::Join { unit, from_slot }
        }
    };
    let result =
        planner::rota::replan(&problem, &plan, change).map_err(|e| invalid(anyhow!("{e}")))?;
    let night = plan
        .slots
        .first()
        .map(|s| s.start_local.date())
        .unwrap_or_default();
    // The new plan in the old document: same zones and maps, new units, assignments and scores.
    let epsg = crs_of(&doc).map(|c| c.kind().epsg()).unwrap_or(27700);
    let fresh = serde_json::to_value(&result.plan).context("serialising the plan")?;
    let changes: Vec<Value> = result
        .changes
        .iter()
        .map(|c| json!({"callsign": c.callsign, "slot": c.slot, "before": result.plan.placement(&c.before), "after": result.plan.placement(&c.after)}))
        .collect();
    if let (Some(obj), Some(new)) = (doc.as_object_mut(), fresh.as_object()) {
        for (k, v) in new {
            obj.insert(k.clone(), v.clone());
        }
        obj.insert("problem".into(), problem_json(&result.problem, epsg));
        obj.insert(
            "replan".into(),
            json!({"from_slot": from_slot, "changes": changes}),
        );
    }
    Ok(Replanned {
        doc,
        problem: result.problem,
        plan: result.plan,
        night,
        from_slot,
        changes,
    })
}
