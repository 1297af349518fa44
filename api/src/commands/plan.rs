//! `firefly plan` and `firefly replan`: read the roster and the flags into a
//! [`PlanRequest`] (or a re-plan of a plan file), optimise with [`crate::app::plan`], and
//! write the plan JSON (everything needed to check it independently), a rota CSV (one row
//! per unit per slot) and one iCalendar file per unit.

use super::thousands;
use super::zones::ZoneArgs;
use crate::app::Failure;
use crate::app::plan::{
    self, PlanRequest, PlanSettings, Planned, Replanning, Rota, check, plan_json, replan_doc,
};
use crate::config::Config;
use crate::storage::Store;
use anyhow::{Context, anyhow};
use clap::Args;
use jiff::civil::Date;
use planner::rota::{Plan, Problem};
use serde_json::Value;
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
    let night = crate::app::analysis::parse_date(&args.night, false)
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
    let req = PlanRequest {
        night,
        units: roster.records,
        roster_name: name,
        zones: args.zone.to_request()?,
        settings: args.settings(),
    };
    let store = Store::open(&config.db)?;
    let data = crate::app::dataset::Dataset::load(&store, config)?;
    let premises = store.premises()?;
    plan::make(config, &data, premises, &req, &mut |prepared| {
        for w in &prepared.warnings {
            eprintln!("firefly: warning: {w}");
        }
        eprintln!("{}", crate::app::hotspots::selection_report(prepared));
        Ok(())
    })
}

/// Writes the rota CSV and the per-unit calendars where asked.
pub fn write_outputs(
    rota: &Rota,
    csv: Option<&PathBuf>,
    ics_dir: Option<&PathBuf>,
) -> anyhow::Result<()> {
    if let Some(path) = csv {
        std::fs::write(path, plan::rota_csv(rota)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if let Some(dir) = ics_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        for (u, callsign) in rota.plan.callsigns.iter().enumerate() {
            let path = dir.join(format!("{}.ics", callsign.replace('/', "_")));
            std::fs::write(&path, crate::app::ics::unit_calendar(rota, u))
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
