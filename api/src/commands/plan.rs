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

impl PlanArgs {
    pub fn settings(&self) -> PlanSettings {
        PlanSettings {
            slot: self.slot,
            seed: self.seed,
            second_unit_factor: self.second_unit_factor,
            walking_speed: self.walking_speed,
            detour: self.detour,
        }
    }
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
    make_from(
        config,
        night,
        roster.records,
        built,
        &args.settings(),
        &name,
    )
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

fn describe(r: &Rota, a: &Assignment) -> (&'static str, String, String, String) {
    let zone = |i: Option<usize>| match i {
        Some(i) => r
            .problem
            .zones()
            .get(i)
            .map(|z| z.id.clone())
            .unwrap_or_default(),
        None => "station".to_string(),
    };
    let name = |i: usize| {
        r.problem
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
pub fn rota_csv(r: &Rota) -> anyhow::Result<String> {
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
    for (u, row) in r.plan.assignments.iter().enumerate() {
        let callsign = &r.plan.callsigns[u];
        for (i, a) in row.iter().enumerate() {
            let slot = &r.plan.slots[i];
            let (activity, zone, zone_name, from) = describe(r, a);
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

/// Writes the rota CSV and the per-unit calendars where asked.
pub fn write_outputs(
    rota: &Rota,
    csv: Option<&PathBuf>,
    ics_dir: Option<&PathBuf>,
) -> anyhow::Result<()> {
    if let Some(path) = csv {
        std::fs::write(path, rota_csv(rota)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(dir) = ics_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (u, callsign) in rota.plan.callsigns.iter().enumerate() {
            let path = dir.join(format!("{}.ics", callsign.replace('/', "_")));
            std::fs::write(&path, super::ics::unit_calendar(rota, u))
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    }
    Ok(())
}

fn write_json(v: &Value, output: Option<&PathBuf>) -> anyhow::Result<()> {
    let mut json = serde_json::to_string_pretty(v).context("serialising the plan")?;
    json.push('\n');
    match output {
        Some(path) => std::fs::write(path, &json)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{json}"),
    }
    Ok(())
}

fn report(problem: &Problem, plan: &Plan, night: Date) -> Result<(), Failure> {
    eprintln!(
        "planned {} units over {} zones and {} slots of {} min on the night of {night}: objective {:.4}, upper bound {:.4} ({:?}), gap {:.2} %",
        thousands(plan.callsigns.len() as u64),
        problem.zones().len(),
        plan.slots.len(),
        problem.params().slot_minutes,
        plan.objective,
        plan.bound,
        plan.bound_method,
        100.0 * plan.gap
    );
    check(problem, plan)
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

pub fn run(config: &Config, args: PlanArgs) -> Result<(), Failure> {
    let planned = make(config, &args)?;
    write_json(&plan_json(&planned)?, args.output.as_ref())?;
    write_outputs(&planned.rota(), args.csv.as_ref(), args.ics_dir.as_ref())?;
    report(&planned.problem, &planned.plan, planned.night)
}

#[derive(Args)]
pub struct ReplanArgs {
    /// The plan JSON written by `firefly plan` (or an earlier re-plan).
    #[arg(long)]
    pub plan: PathBuf,
    /// The unit that drops out.
    #[arg(long, conflicts_with = "join")]
    pub drop: Option<String>,
    /// A unit that joins: its callsign in --units.
    #[arg(long, requires = "units")]
    pub join: Option<String>,
    /// Roster CSV holding the joining unit.
    #[arg(long)]
    pub units: Option<PathBuf>,
    /// From when: local time HH:MM on the night, or a slot number.
    #[arg(long)]
    pub at: String,
    /// New plan JSON (default: stdout).
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    #[arg(long)]
    pub csv: Option<PathBuf>,
    #[arg(long)]
    pub ics_dir: Option<PathBuf>,
}

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

pub fn replan_run(config: &Config, args: ReplanArgs) -> Result<(), Failure> {
    let invalid = Failure::Invalid;
    let text = std::fs::read_to_string(&args.plan)
        .with_context(|| format!("cannot read {}", args.plan.display()))
        .map_err(invalid)?;
    let doc: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", args.plan.display()))
        .map_err(invalid)?;
    let change = match (&args.drop, &args.join, &args.units) {
        (Some(callsign), None, _) => Replanning::Drop(callsign.clone()),
        (None, Some(callsign), Some(path)) => {
            let name = path.display().to_string();
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read {name}"))
                .map_err(invalid)?;
            let roster = planner::import::units::read_units(&name, &bytes[..]);
            if let Some(e) = roster.errors.first() {
                return Err(invalid(anyhow!("{e}")));
            }
            let unit = roster
                .records
                .into_iter()
                .find(|u| &u.callsign == callsign)
                .ok_or_else(|| invalid(anyhow!("--join {callsign}: not in {name}")))?;
            Replanning::Join(unit)
        }
        _ => {
            return Err(invalid(anyhow!(
                "give --drop CALLSIGN, or --join CALLSIGN with --units FILE"
            )));
        }
    };
    let replanned = replan_doc(config, doc, change, &args.at)?;
    write_json(&replanned.doc, args.output.as_ref())?;
    write_outputs(&replanned.rota(), args.csv.as_ref(), args.ics_dir.as_ref())?;
    eprintln!(
        "re-planned from slot {}: {} slot(s) changed",
        replanned.from_slot,
        replanned.changes.len()
    );
    report(&replanned.problem, &replanned.plan, replanned.night)
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

fn zone_lonlat_of(doc: &Value, n: usize) -> Vec<(f64, f64)> {
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
