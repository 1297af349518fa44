//! `firefly demo`: load the Bedfordshire demo data set and show what it holds.
//!
//! Idempotent: running it again adds nothing (every import skips rows already stored).

use crate::app::Failure;
use crate::app::import::{IncidentFormat, PremisesFormat};
use crate::config::Config;
use crate::roles::Role;
use anyhow::{Context, anyhow};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct DemoArgs {
    /// The repository's `data/` folder (default: ./data, else the one beside the sources).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Load and summarise only; do not start the server.
    #[arg(long)]
    pub no_serve: bool,
    #[command(flatten)]
    pub serve: super::serve::ServeArgs,
}

/// Demo users, one per role, created with generated passwords when the database has none.
const DEMO_USERS: [(&str, Role, Option<&str>); 4] = [
    ("demo-planner", Role::Planner, None),
    ("demo-officer", Role::Officer, Some("LN-FF1")),
    ("demo-liaison", Role::Liaison, None),
    ("demo-admin", Role::Admin, None),
];

/// Creates the demo users if there are no users at all, printing each generated password
/// once. With users already there, nothing is created (and no password is ever reset).
fn demo_users(config: &Config) -> Result<(), Failure> {
    if crate::storage::Store::open(&config.db)?.count(crate::storage::Table::Users)? > 0 {
        println!("\nUsers exist already: log in with yours (`firefly users list` shows them).");
        return Ok(());
    }
    println!("\nDemo users (passwords are generated now and shown only this once):");
    for (name, role, unit) in DEMO_USERS {
        let args = super::users::AddArgs {
            name: name.to_string(),
            role,
            unit: unit.map(str::to_string),
            password_stdin: false,
        };
        super::users::add(config, args, &mut std::io::empty())?;
    }
    Ok(())
}

/// Writes `./firefly.toml` for the demo (database and force boundary) unless one exists,
/// so that later commands find the same database and study area.
fn write_local_config(config: &Config) -> anyhow::Result<()> {
    let path = Path::new(crate::config::LOCAL_CONFIG);
    if path.exists() {
        return Ok(());
    }
    let mut text = String::from("# Written by `firefly demo`: settings for the demo data set.\n");
    text.push_str(&format!("db = {:?}\n", config.db.config_text()));
    if let Some(b) = &config.boundary {
        text.push_str(&format!("boundary = {:?}\n", b.display().to_string()));
    }
    text.push_str(&format!("tz = {:?}\n", config.tz_name));
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Finds the data folder: the flag, `./data`, or the repository's own.
pub fn data_dir(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let candidates = flag.into_iter().chain([
        PathBuf::from("data"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../data"),
    ]);
    for c in candidates {
        if c.join("police-uk").is_dir() {
            return Ok(c);
        }
    }
    Err(anyhow!(
        "cannot find the demo data folder (data/police-uk); pass --data DIR"
    ))
}

pub fn run(mut config: Config, args: DemoArgs) -> Result<(), Failure> {
    let data = data_dir(args.data).map_err(Failure::Invalid)?;
    if config.boundary.is_none() {
        config.boundary = Some(data.join("boundaries/bedfordshire_lad20.geojson"));
    }
    let street = data.join("police-uk/bedfordshire/street");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&street)
        .with_context(|| format!("cannot list {}", street.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    println!("Loading the Bedfordshire demo data into {}", config.db);
    super::import::incidents(&config, &files, IncidentFormat::PoliceUk, false)?;
    super::import::premises_cmd(
        &config,
        &[data.join("premises/bedfordshire_pubs_osm_2022-01.geojson")],
        PremisesFormat::Osm,
        false,
    )?;
    super::import::training_cmd(
        &config,
        &data.join("demo/training_fictional.csv"),
        true,
        false,
    )?;
    println!();
    super::summary::run(&config)?;
    write_local_config(&config)?;
    demo_users(&config)?;
    println!(
        "\nNext:\n  firefly hotspots -o hotspots.geojson           # KDE hotspots of weekend nights\n  \
         firefly zones -o zones.geojson                 # walkable patrol zones named after venues\n  \
         firefly venues                                 # venues by risk, with training status\n  \
         firefly plan --night 2024-04-26 --units data/demo/units.csv -o plan.json --csv rota.csv --ics-dir ics\n  \
         firefly backtest --cut 2024-02-01 --train-days 270 --periods 3\n\
         (with cargo: cargo run --release --bin firefly -- COMMAND; settings are in {})",
        crate::config::LOCAL_CONFIG
    );
    println!(
        "\nData: police.uk (Open Government Licence v3.0), OpenStreetMap (© OpenStreetMap contributors, ODbL 1.0), \
         ONS boundaries (OGL v3.0). Training records are FICTIONAL demo data."
    );
    if args.no_serve {
        return Ok(());
    }
    println!(
        "\nStarting the server. Log in as a demo user (passwords above, or create your own with \
         `firefly users add`):\n  curl -s -X POST http://ADDRESS/api/v1/auth/login -H 'content-type: application/json' \
         -d '{{\"username\": \"demo-planner\", \"password\": \"...\"}}'\n\
         then send `Authorization: Bearer TOKEN`. The map UI is at http://ADDRESS/ once built \
         (scripts/setup-ui.sh)."
    );
    super::serve::run(config, args.serve)
}
