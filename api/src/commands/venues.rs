//! `firefly venues`: licensed premises ranked by the harm of the incidents around them, with
//! their training status: the liaison officer's to-do list is the untrained venues at the top.
//! `firefly profile`: the hour-of-week profile of the selected incidents, or the labelled
//! prior when they carry no times.

use super::hotspots::FilterArgs;
use super::thousands;
use crate::app::Failure;
use crate::app::analysis;
use crate::config::Config;
use crate::storage::Store;
use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use planner::export::spreadsheet_safe;
use planner::hotspots::prior::{NTE_PRIOR_LABEL, nte_prior};
use planner::hotspots::profile::{ProfileSource, hour_profiles};
use planner::hotspots::{ScoringParams, weights};
use planner::training::{DEFAULT_REFRESHER_MONTHS, TrainingStatus, training_status};
use planner::venue_risk::{DEFAULT_RADIUS_M, Venue, VenueRiskParams, venue_risk};

#[derive(Args)]
pub struct VenueArgs {
    /// Incidents within this many metres of a venue are attributed to the nearest one.
    #[arg(long, default_value_t = DEFAULT_RADIUS_M)]
    pub radius: f64,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Show this many venues (0 = all).
    #[arg(long, default_value_t = 25)]
    pub top: usize,
    #[arg(long, value_enum, default_value_t = VenueFormat::Table)]
    pub format: VenueFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VenueFormat {
    Table,
    Csv,
    Json,
}

fn status_label(s: TrainingStatus) -> &'static str {
    match s {
        TrainingStatus::NeverTrained => "never trained",
        TrainingStatus::Trained => "trained",
        TrainingStatus::DueSoon => "refresher due in 30 days",
        TrainingStatus::Overdue => "refresher overdue",
    }
}

pub fn run(config: &Config, args: VenueArgs) -> Result<(), Failure> {
    let filters = args.filters.to_filters().map_err(Failure::Invalid)?;
    let store = Store::open(&config.db)?;
    let data = crate::app::dataset::Dataset::load(&store, config)?;
    let premises = store.premises()?;
    if premises.is_empty() {
        return Err(Failure::Invalid(anyhow!(
            "no premises in the database: run `firefly import premises` first"
        )));
    }
    let prepared = analysis::prepare(config, &data, &filters).map_err(Failure::Invalid)?;
    eprintln!("{}", crate::app::hotspots::selection_report(&prepared));
    let venues: Vec<Venue> = premises
        .iter()
        .filter_map(|p| {
            prepared.crs.project(p.lon, p.lat).ok().map(|q| Venue {
                id: p.source_id.clone(),
                x: q.x,
                y: q.y,
            })
        })
        .collect();
    let params = VenueRiskParams {
        radius: args.radius,
        tz: config.tz.clone(),
        ..VenueRiskParams::default()
    };
    let report = venue_risk(&venues, &prepared.points, &params)
        .map_err(|e| Failure::Invalid(anyhow!("{e}")))?;
    let by_id: std::collections::HashMap<&str, &planner::Premises> =
        premises.iter().map(|p| (p.source_id.as_str(), p)).collect();
    let history = store.training_by_premises()?;
    let today = jiff::Zoned::now().with_time_zone(config.tz.clone()).date();
    let fictional = store.training_counts()?.1 > 0;
    let shown = if args.top == 0 {
        report.venues.len()
    } else {
        args.top.min(report.venues.len())
    };
    let rows: Vec<_> = report.venues[..shown]
        .iter()
        .map(|v| {
            let p = by_id.get(v.id.as_str());
            let status = training_status(
                history.get(&v.id).map(Vec::as_slice).unwrap_or(&[]),
                today,
                DEFAULT_REFRESHER_MONTHS,
            );
            (v, p, status)
        })
        .collect();
    match args.format {
        VenueFormat::Json => {
            let list: Vec<_> = rows
                .iter()
                .map(|(v, p, s)| {
                    serde_json::json!({
                        "id": v.id, "name": p.map(|p| p.name.as_str()), "rank": v.rank, "count": v.count,
                        "harm": v.harm, "rate_per_month": v.rate, "n_timed": v.n_timed, "n_untimed": v.n_untimed,
                        "training_status": s, "hours_of_week": v.hours,
                    })
                })
                .collect();
            let out = serde_json::json!({
                "radius_m": report.radius, "months": report.months, "n_incidents": report.n_incidents,
                "n_attributed": report.n_attributed, "training_records_fictional": fictional, "venues": list,
            });
            println!(
                "{}",
                serde_json::to_string_pretty(&out).context("serialising")?
            );
        }
        VenueFormat::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout());
            w.write_record([
                "rank",
                "id",
                "name",
                "count",
                "harm",
                "rate_per_month",
                "training_status",
            ])
            .context("writing")?;
            for (v, p, s) in &rows {
                w.write_record([
                    v.rank.to_string(),
                    // Names come from OpenStreetMap: never a formula in a spreadsheet.
                    spreadsheet_safe(&v.id).into_owned(),
                    p.map(|p| spreadsheet_safe(&p.name).into_owned())
                        .unwrap_or_default(),
                    v.count.to_string(),
                    format!("{:.1}", v.harm),
                    format!("{:.2}", v.rate),
                    status_label(*s).to_string(),
                ])
                .context("writing")?;
            }
            w.flush().context("writing")?;
        }
        VenueFormat::Table => {
            println!(
                "{} of {} incidents lie within {} m of one of {} venues (over {:.0} months); top {} by harm:",
                thousands(report.n_attributed as u64),
                thousands(report.n_incidents as u64),
                report.radius,
                thousands(venues.len() as u64),
                report.months,
                shown
            );
            println!(
                "{:>4}  {:<34} {:>6} {:>8} {:>9}  training",
                "rank", "venue", "count", "harm", "per month"
            );
            for (v, p, s) in &rows {
                let name = p.map(|p| p.name.as_str()).unwrap_or("?");
                let flag = if *s == TrainingStatus::NeverTrained {
                    "  <- high risk, never trained"
                } else {
                    ""
                };
                println!(
                    "{:>4}  {:<34} {:>6} {:>8.0} {:>9.1}  {}{flag}",
                    v.rank,
                    truncate(name, 34),
                    v.count,
                    v.harm,
                    v.rate,
                    status_label(*s)
                );
            }
            if fictional {
                println!("(training statuses come from FICTIONAL demo records)");
            }
        }
    }
    Ok(())
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n - 1).collect::<String>() + "…"
    }
}

#[derive(Args)]
pub struct ProfileArgs {
    #[command(flatten)]
    pub filters: FilterArgs,
}

/// Prints a day x hour table of the selected incidents' hour-of-week shares (percent).
pub fn profile(config: &Config, args: ProfileArgs) -> Result<(), Failure> {
    let filters = args.filters.to_filters().map_err(Failure::Invalid)?;
    let store = Store::open(&config.db)?;
    let prepared = analysis::prepare(
        config,
        &crate::app::dataset::Dataset::load(&store, config)?,
        &filters,
    )
    .map_err(Failure::Invalid)?;
    eprintln!("{}", crate::app::hotspots::selection_report(&prepared));
    let params = ScoringParams::new(
        prepared.latest.unwrap_or_else(jiff::Timestamp::now),
        config.tz.clone(),
    );
    let weighed =
        weights::weigh_located(|x, y| prepared.area.locate(x, y), &prepared.points, &params);
    let profiles = hour_profiles(&weighed.points, &config.tz, &nte_prior())
        .map_err(|e| Failure::Invalid(anyhow!("{e}")))?;
    let area = profiles.area();
    match area.source {
        ProfileSource::Observed { incidents } => println!(
            "hour-of-week profile from {} timed incidents (harm x recency weighted; {} month-only left out), percent, local time {}:",
            thousands(incidents as u64),
            thousands(profiles.n_untimed as u64),
            config.tz_name
        ),
        ProfileSource::Prior => println!(
            "no timed incidents selected ({} month-only): showing the PRIOR, {NTE_PRIOR_LABEL}; percent:",
            thousands(profiles.n_untimed as u64)
        ),
    }
    print!("     ");
    for h in 0..24 {
        print!("{h:>6}");
    }
    println!();
    for (d, day) in ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        .iter()
        .enumerate()
    {
        print!("{day:<5}");
        for h in 0..24 {
            print!("{:>6.1}", 100.0 * area.shares[d * 24 + h]);
        }
        println!();
    }
    Ok(())
}
