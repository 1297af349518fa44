//! `firefly plan`: the optimised rota for one night. Writes the plan JSON (everything needed
//! to check it independently), a rota CSV (one row per unit per slot) and one iCalendar file
//! per unit.

use super::zones::{Built, ZoneArgs};
use super::{Failure, thousands};
use crate::config::Config;
use anyhow::{Context, anyhow};
use clap::Args;
use jiff::civil::{Date, Time};
use planner::rota::{
    Assignment, Plan, PlanParams, PlanUnit, PlanZone, Problem, night_slots, optimise,
};
use planner::zones::risk_for_slots;
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Args)]
pub struct PlanArgs {
    /// The night to plan: the local date it starts on.
    #[arg(long)]
    pub night: String,
    /// Roster CSV: callsign,size,shift_start,shift_end,start_lon,start_lat,start_name,break_minutes,skills.
    #[arg(long)]
    pub units: PathBuf,
    /// Slot length in minutes.
    #[arg(long, default_value_t = 15)]
    pub slot: u32,
    /// Seed of the randomisation: the same seed gives the same plan.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Value of a second unit in the same zone and slot, relative to the first.
    #[arg(long, default_value_t = 0.5)]
    pub second_unit_factor: f64,
    /// Walking speed in km/h.
    #[arg(long, default_value_t = 4.5)]
    pub walking_speed: f64,
    /// Street distance over straight-line distance.
    #[arg(long, default_value_t = 1.3)]
    pub detour: f64,
    /// Plan JSON output file (default: stdout).
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Rota CSV output file.
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// Folder for one iCalendar file per unit.
    #[arg(long)]
    pub ics_dir: Option<PathBuf>,
    #[command(flatten)]
    pub zone: ZoneArgs,
}

/// A planned night, with what produced it.
pub struct Planned {
    pub built: Built,
    pub problem: Problem,
    pub plan: Plan,
    pub units: Vec<planner::Unit>,
    pub night: Date,
}

/// Reads the roster, forms the zones and optimises.
pub fn make(config: &Config, args: &PlanArgs) -> Result<Planned, Failure> {
    let night = crate::analysis::parse_date(&args.night, false)
        .context("--night")
        .map_err(Failure::Invalid)?;
    let name = args.units.display().to_string();
    let bytes = std::fs::read(&args.units)
        .with_context(|| format!("cannot read {name}"))
        .map_err(Failure::Invalid)?;
    let roster = planner::import::units::read_units(&name, &bytes[..]);
    if !roster.errors.is_empty() {
        for e in &roster.errors {
            eprintln!("{e}");
        }
        return Err(Failure::Invalid(anyhow!(
            "{} invalid row(s) in {name}",
            roster.errors.len()
        )));
    }
    if roster.records.is_empty() {
        return Err(Failure::Invalid(anyhow!("{name} lists no units")));
    }
    let built = super::zones::build(config, &args.zone)?;
    if built.zones.zones.is_empty() {
        return Err(Failure::Invalid(anyhow!(
            "no patrol zones: no hot cells in the selected data"
        )));
    }
    // The night runs from the earliest shift start to the latest shift end (18:00-06:00 at
    // least, the weekend-night window).
    let (start, end) = night_span(&roster.records);
    let slots = night_slots(night, &config.tz, start, end, args.slot)
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
            risk: risk_for_slots(z, &starts, args.slot, &config.tz),
        })
        .collect();
    let units = roster
        .records
        .iter()
        .map(|u| PlanUnit::from_unit(u, night, &config.tz, &slots, &built.prepared.crs))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::Invalid(anyhow!("{name}: {e}")))?;
    let params = PlanParams {
        slot_minutes: args.slot,
        walking_speed_kmh: args.walking_speed,
        detour: args.detour,
        second_unit_factor: args.second_unit_factor,
        seed: args.seed,
        ..PlanParams::default()
    };
    let problem =
        Problem::new(slots, zones, units, params).map_err(|e| Failure::Invalid(anyhow!("{e}")))?;
    let plan = optimise(&problem);
    Ok(Planned {
        built,
        problem,
        plan,
        units: roster.records,
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
                "polygon": {"type": "MultiPolygon", "coordinates": super::zones::wgs84_coordinates(&p.built, &full.polygon)},
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
            "revisit_gap_slots": params.revisit_gap, "method": p.built.method.as_str(),
            "zone_risk_profile": if p.built.zones.zones.iter().any(|z| z.profile_source == planner::hotspots::profile::ProfileSource::Prior) {
                planner::hotspots::prior::NTE_PRIOR_LABEL
            } else {
                "observed"
            },
        }),
    );
    obj.insert("zones".into(), Value::Array(zones));
    obj.insert("units".into(), Value::Array(units));
    Ok(v)
}

fn describe(p: &Planned, a: &Assignment) -> (&'static str, String, String, String) {
    let zone = |i: Option<usize>| match i {
        Some(i) => p
            .problem
            .zones()
            .get(i)
            .map(|z| z.id.clone())
            .unwrap_or_default(),
        None => "station".to_string(),
    };
    let name = |i: usize| {
        p.problem
            .zones()
            .get(i)
            .map(|z| z.name.clone())
            .unwrap_or_default()
    };
    match *a {
        Assignment::Zone(i) => ("zone", zone(Some(i)), name(i), String::new()),
        Assignment::Travel { from, to } => ("travel", zone(to), String::new(), zone(from)),
        Assignment::Break => ("break", String::new(), String::new(), String::new()),
        Assignment::Off => ("off", String::new(), String::new(), String::new()),
    }
}

/// One row per unit per slot.
pub fn rota_csv(p: &Planned) -> anyhow::Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "callsign",
        "slot",
        "start_local",
        "end_local",
        "start_utc",
        "activity",
        "zone",
        "zone_name",
        "from",
    ])?;
    for (u, row) in p.plan.assignments.iter().enumerate() {
        let callsign = &p.plan.callsigns[u];
        for (i, a) in row.iter().enumerate() {
            let slot = &p.plan.slots[i];
            let (activity, zone, zone_name, from) = describe(p, a);
            let end_local = slot.end_utc.to_zoned(slot.start_local.time_zone().clone());
            w.write_record([
                callsign.clone(),
                i.to_string(),
                slot.start_local.strftime("%Y-%m-%d %H:%M %Z").to_string(),
                end_local.strftime("%Y-%m-%d %H:%M %Z").to_string(),
                slot.start_utc.to_string(),
                activity.to_string(),
                zone,
                zone_name,
                from,
            ])?;
        }
    }
    Ok(String::from_utf8(
        w.into_inner().map_err(|e| anyhow!("{e}"))?,
    )?)
}

pub fn run(config: &Config, args: PlanArgs) -> Result<(), Failure> {
    let planned = make(config, &args)?;
    let mut json =
        serde_json::to_string_pretty(&plan_json(&planned)?).context("serialising the plan")?;
    json.push('\n');
    match &args.output {
        Some(path) => std::fs::write(path, &json)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{json}"),
    }
    if let Some(path) = &args.csv {
        std::fs::write(path, rota_csv(&planned)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(dir) = &args.ics_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (u, callsign) in planned.plan.callsigns.iter().enumerate() {
            let path = dir.join(format!("{}.ics", callsign.replace('/', "_")));
            std::fs::write(&path, super::ics::unit_calendar(&planned, u))
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    let p = &planned.plan;
    eprintln!(
        "planned {} units over {} zones and {} slots of {} min on the night of {}: objective {:.4}, upper bound {:.4} ({:?}), gap {:.2} %",
        thousands(p.callsigns.len() as u64),
        planned.problem.zones().len(),
        p.slots.len(),
        args.slot,
        planned.night,
        p.objective,
        p.bound,
        p.bound_method,
        100.0 * p.gap
    );
    let violations = planner::rota::validate(&planned.problem, p);
    if !violations.is_empty() {
        return Err(Failure::Other(anyhow!(
            "the plan breaks {} constraint(s): {:?}",
            violations.len(),
            violations.first()
        )));
    }
    Ok(())
}
