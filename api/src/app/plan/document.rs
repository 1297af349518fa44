//! The plan JSON of the contract (`firefly plan -o`, `GET /api/v1/plans/{id}`): written
//! from a planned night, and read back into the optimiser's problem (re-plans, the rota
//! CSV and calendars of a stored plan) without the database.

use super::{Planned, Rota};
use anyhow::{Context, anyhow};
use jiff::civil::Date;
use planner::rota::{Plan, Problem};
use serde_json::{Value, json};

/// The contract's plan JSON.
pub fn plan_json(p: &Planned) -> anyhow::Result<Value> {
    let crs = &p.built.prepared.crs;
    let lonlat = |x: f64, y: f64| -> Value {
        let (lon, lat) = crs.unproject(x, y).unwrap_or((f64::NAN, f64::NAN));
        json!([(lon * 1e7).round() / 1e7, (lat * 1e7).round() / 1e7])
    };
    let mut v = serde_json::to_value(&p.plan)?;
    let zones: Vec<Value> = p
        .problem
        .zones()
        .iter()
        .zip(&p.built.zones.zones)
        .map(|(z, full)| {
            json!({
                "id": z.id, "name": z.name, "centroid": lonlat(z.x, z.y), "venues": full.venues,
                "polygon": {"type": "MultiPolygon", "coordinates": crate::app::zones::wgs84_coordinates(&p.built, &full.polygon)},
                "risk": z.risk,
            })
        })
        .collect();
    let units: Vec<Value> = p
        .problem
        .units()
        .iter()
        .zip(&p.units)
        .map(|(u, raw)| {
            let slot_time = |i: usize| p.plan.slots.get(i).map(|s| s.start_local.to_string());
            json!({
                "callsign": u.callsign, "size": u.size,
                "shift_start": raw.shift_start.strftime("%H:%M").to_string(),
                "shift_end": raw.shift_end.strftime("%H:%M").to_string(),
                "shift_slots": [u.shift.0, u.shift.1],
                "first_slot_start": slot_time(u.shift.0),
                "start_point": {"name": raw.start_name, "lon": raw.start_lon, "lat": raw.start_lat},
                "break": {"minutes": raw.break_minutes, "slots": u.break_slots, "window_slots": [u.break_window.0, u.break_window.1]},
                "skills": raw.skills,
            })
        })
        .collect();
    let params = p.problem.params();
    let obj = v
        .as_object_mut()
        .ok_or_else(|| anyhow!("plan is not a JSON object"))?;
    obj.insert("night".into(), json!(p.night.to_string()));
    obj.insert(
        "tz".into(),
        json!(
            p.plan
                .slots
                .first()
                .map(|s| s.start_local.time_zone().iana_name())
        ),
    );
    obj.insert(
        "params".into(),
        json!({
            "slot_minutes": params.slot_minutes, "walking_speed_kmh": params.walking_speed_kmh,
            "detour": params.detour, "second_unit_factor": params.second_unit_factor, "seed": params.seed,
            "revisit_gap_slots": params.revisit_gap, "method": p.built.method.as_str(), "method_choice": p.built.choice,
            "zone_risk_profile": if p.built.zones.zones.iter().any(|z| z.profile_source == planner::hotspots::profile::ProfileSource::Prior) {
                planner::hotspots::prior::NTE_PRIOR_LABEL
            } else {
                "observed"
            },
        }),
    );
    obj.insert("zones".into(), Value::Array(zones));
    obj.insert("units".into(), Value::Array(units));
    obj.insert(
        "problem".into(),
        problem_json(&p.problem, p.built.prepared.crs.kind().epsg()),
    );
    Ok(v)
}

/// The exact inputs of the optimiser (projected metres), so a plan can be re-planned and
/// checked without the database: slots, zones with risk per slot, units, parameters.
pub fn problem_json(problem: &Problem, epsg: u32) -> Value {
    json!({
        "crs": format!("EPSG:{epsg}"),
        "frozen_until": problem.frozen_until(),
        "slots": problem.slots(),
        "zones": problem.zones(),
        "units": problem.units(),
        "params": problem.params(),
    })
}

/// Rebuilds the problem of a plan JSON written by [`plan_json`].
pub fn problem_from_json(v: &Value) -> anyhow::Result<(Problem, Plan)> {
    let p = v
        .get("problem")
        .ok_or_else(|| anyhow!("not a firefly plan: no \"problem\" member"))?;
    let field = |name: &str| {
        p.get(name)
            .cloned()
            .ok_or_else(|| anyhow!("plan problem has no {name:?}"))
    };
    let problem = Problem::new(
        serde_json::from_value(field("slots")?).context("problem.slots")?,
        serde_json::from_value(field("zones")?).context("problem.zones")?,
        serde_json::from_value(field("units")?).context("problem.units")?,
        serde_json::from_value(field("params")?).context("problem.params")?,
    )
    .map_err(|e| anyhow!("{e}"))?;
    let plan: Plan = serde_json::from_value(v.clone()).context("plan assignments")?;
    let frozen = p.get("frozen_until").and_then(Value::as_u64).unwrap_or(0) as usize;
    let problem = if frozen > 0 {
        problem
            .with_history(frozen, plan.assignments.clone())
            .map_err(|e| anyhow!("{e}"))?
    } else {
        problem
    };
    Ok((problem, plan))
}

/// A stored or written plan document read back: what the rota CSV and the calendars need.
pub struct Loaded {
    pub problem: Problem,
    pub plan: Plan,
    pub night: Date,
    pub zone_lonlat: Vec<(f64, f64)>,
}

impl Loaded {
    pub fn from_doc(doc: &Value) -> anyhow::Result<Loaded> {
        let (problem, plan) = problem_from_json(doc)?;
        let night = plan
            .slots
            .first()
            .map(|s| s.start_local.date())
            .ok_or_else(|| anyhow!("the plan has no slots"))?;
        let zone_lonlat = zone_lonlat_of(doc, problem.zones().len());
        Ok(Loaded {
            problem,
            plan,
            night,
            zone_lonlat,
        })
    }

    pub fn rota(&self) -> Rota<'_> {
        Rota {
            problem: &self.problem,
            plan: &self.plan,
            night: self.night,
            zone_lonlat: self.zone_lonlat.clone(),
        }
    }
}

/// The projected CRS a plan document's `problem` was computed in.
pub fn crs_of(doc: &Value) -> anyhow::Result<planner::Crs> {
    let code = doc["problem"]["crs"].as_str().unwrap_or("EPSG:27700");
    let epsg: u32 = code
        .trim_start_matches("EPSG:")
        .parse()
        .map_err(|_| anyhow!("unknown CRS {code}"))?;
    Ok(planner::Crs::new(match epsg {
        27700 => planner::crs::CrsKind::Bng,
        32601..=32660 => planner::crs::CrsKind::Utm {
            zone: (epsg - 32600) as u8,
            north: true,
        },
        32701..=32760 => planner::crs::CrsKind::Utm {
            zone: (epsg - 32700) as u8,
            north: false,
        },
        _ => anyhow::bail!("unsupported CRS {code}"),
    }))
}

pub(super) fn zone_lonlat_of(doc: &Value, n: usize) -> Vec<(f64, f64)> {
    (0..n)
        .map(|i| {
            let c = &doc["zones"][i]["centroid"];
            (
                c[0].as_f64().unwrap_or(f64::NAN),
                c[1].as_f64().unwrap_or(f64::NAN),
            )
        })
        .collect()
}
