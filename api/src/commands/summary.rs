//! `firefly summary`: what is in the database, as a planner would first want to see it.

use super::thousands;
use crate::app::Failure;
use crate::config::Config;
use crate::storage::{SCHEMA_VERSION, Store, Table};
use anyhow::Context;
use planner::area::Areas;
use planner::training::{DEFAULT_REFRESHER_MONTHS, TrainingStatus, training_status};
use planner::{OccurredAt, PremisesKind};
use std::collections::BTreeMap;

/// Reads the configured force boundary (districts), if any.
pub fn load_boundary(config: &Config) -> anyhow::Result<Option<Areas>> {
    let Some(path) = &config.boundary else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read boundary {}", path.display()))?;
    let areas = Areas::from_geojson(
        &text,
        &["lad20nm", "LAD22NM", "LAD21NM", "name", "NAME"],
        &["lad20cd", "LAD22CD", "code"],
    )
    .with_context(|| format!("boundary {}", path.display()))?;
    Ok(Some(areas))
}

pub fn run(config: &Config) -> Result<(), Failure> {
    let store = Store::open(&config.db)?;
    print!("{}", render(&store, config)?);
    Ok(())
}

/// The summary as text.
pub fn render(store: &Store, config: &Config) -> Result<String, Failure> {
    use std::fmt::Write;
    let mut s = String::new();
    let boundary = load_boundary(config)?;
    let incidents = store.incidents()?;
    let timed = incidents
        .iter()
        .filter(|i| matches!(i.occurred, OccurredAt::Exact(_)))
        .count() as u64;
    let _ = writeln!(
        s,
        "Firefly database {} (schema v{SCHEMA_VERSION}): {} incidents, {} premises, {} training records, {} imports",
        config.db,
        thousands(store.count(Table::Incidents)?),
        thousands(store.count(Table::Premises)?),
        thousands(store.count(Table::Training)?),
        thousands(store.count(Table::Imports)?)
    );
    let _ = writeln!(
        s,
        "Times are read in {}; distances in {:?} CRS.",
        config.tz_name, config.crs
    );
    let _ = writeln!(
        s,
        "\nIncidents: {} ({} with a time of day, {} month only: these count for place, never for hour)",
        thousands(incidents.len() as u64),
        thousands(timed),
        thousands(incidents.len() as u64 - timed)
    );
    let _ = writeln!(s, "  by category:");
    for (category, n) in store.incidents_by_category()? {
        let nte = category
            .parse::<planner::Category>()
            .is_ok_and(|c| c.is_night_time_economy());
        let _ = writeln!(
            s,
            "    {:<24} {:>8}{}",
            category,
            thousands(n),
            if nte { "  (night-time economy)" } else { "" }
        );
    }
    match &boundary {
        Some(areas) => {
            let mut by_district: BTreeMap<&str, u64> = BTreeMap::new();
            let mut outside = 0u64;
            for i in &incidents {
                match areas.locate(i.lon, i.lat) {
                    Some(a) => *by_district.entry(a.name.as_str()).or_default() += 1,
                    None => outside += 1,
                }
            }
            let _ = writeln!(s, "  by district:");
            for (d, n) in by_district {
                let _ = writeln!(s, "    {d:<24} {:>8}", thousands(n));
            }
            let _ = writeln!(
                s,
                "    {:<24} {:>8}",
                "outside the force area",
                thousands(outside)
            );
        }
        None => {
            let _ = writeln!(
                s,
                "  by district: no force boundary configured (--boundary-file)"
            );
        }
    }

    let premises = store.premises()?;
    let mut kinds: BTreeMap<PremisesKind, u64> = BTreeMap::new();
    let mut by_district: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for p in &premises {
        *kinds.entry(p.kind).or_default() += 1;
        let district = p
            .district
            .clone()
            .or_else(|| {
                boundary
                    .as_ref()
                    .and_then(|b| b.locate(p.lon, p.lat))
                    .map(|a| a.name.clone())
            })
            .unwrap_or_else(|| "unknown district".into());
        by_district.entry(district).or_default().push(&p.name);
    }
    let kinds: Vec<String> = kinds
        .iter()
        .map(|(k, n)| format!("{} {}", thousands(*n), k.as_str()))
        .collect();
    let _ = writeln!(
        s,
        "\nLicensed premises: {} ({})",
        thousands(premises.len() as u64),
        kinds.join(", ")
    );
    for (district, names) in &by_district {
        let _ = writeln!(
            s,
            "  {district} ({}): {}",
            names.len(),
            abbreviate(names, 12)
        );
    }

    let (records, fictional) = store.training_counts()?;
    let today = jiff::Zoned::now().with_time_zone(config.tz.clone()).date();
    let history = store.training_by_premises()?;
    let mut status: BTreeMap<&str, u64> = BTreeMap::new();
    for p in &premises {
        let r = history.get(&p.source_id).map(Vec::as_slice).unwrap_or(&[]);
        let label = match training_status(r, today, DEFAULT_REFRESHER_MONTHS) {
            TrainingStatus::NeverTrained => "never trained",
            TrainingStatus::Trained => "trained",
            TrainingStatus::DueSoon => "refresher due within 30 days",
            TrainingStatus::Overdue => "refresher overdue",
        };
        *status.entry(label).or_default() += 1;
    }
    let label = if fictional > 0 {
        format!(" ({} of them FICTIONAL demo records)", thousands(fictional))
    } else {
        String::new()
    };
    let _ = writeln!(s, "\nTraining records: {}{label}", thousands(records));
    for (k, n) in status {
        let _ = writeln!(s, "  {k:<30} {:>5} venues", thousands(n));
    }
    Ok(s)
}

fn abbreviate(names: &[&str], max: usize) -> String {
    let mut out = names
        .iter()
        .take(max)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > max {
        out.push_str(&format!(", … and {} more", names.len() - max));
    }
    out
}
