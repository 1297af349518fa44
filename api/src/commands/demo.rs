//! `firefly demo`: load the Bedfordshire demo data set and show what it holds.
//!
//! Idempotent: running it again adds nothing (every import skips rows already stored).

use super::Failure;
use super::import::{IncidentFormat, PremisesFormat};
use crate::config::Config;
use anyhow::{Context, anyhow};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct DemoArgs {
    /// The repository's `data/` folder (default: ./data, else the one beside the sources).
    #[arg(long)]
    pub data: Option<PathBuf>,
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
    println!(
        "Loading the Bedfordshire demo data into {}",
        config.db.display()
    );
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
    println!(
        "\nData: police.uk (Open Government Licence v3.0), OpenStreetMap (© OpenStreetMap contributors, ODbL 1.0), \
         ONS boundaries (OGL v3.0). Training records are FICTIONAL demo data."
    );
    Ok(())
}
