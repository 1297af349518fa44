//! `firefly import incidents|premises|training`: reads the files (decompressing `.gz`),
//! hands them to [`crate::app::import`] (validate every row, then store all in one
//! transaction, or nothing), and prints the outcome.

use super::thousands;
use crate::app::Failure;
use crate::app::import::{
    ImportActor, IncidentFormat, Input, Outcome, PremisesFormat, incidents_from_bytes, is_json,
    premises_from_bytes, training_from_bytes,
};
use crate::config::Config;
use crate::storage::{Store, StoreError, Stored};
use anyhow::{Context, anyhow};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Subcommand)]
pub enum ImportCommand {
    /// Incidents: police.uk street CSV, force CSV, GeoJSON points, or a US open-data set.
    Incidents(IncidentArgs),
    /// Licensed premises: OSM GeoJSON/CSV, or a council premises-licence register CSV.
    Premises(PremisesArgs),
    /// Training records (premises_id, date, course, staff_trained, trainer, notes).
    Training(TrainingArgs),
}

fn incident_format() -> impl TypedValueParser<Value = IncidentFormat> {
    PossibleValuesParser::new(IncidentFormat::ALL.map(IncidentFormat::as_str))
        .map(|s| s.parse::<IncidentFormat>().unwrap_or(IncidentFormat::Auto))
}

fn premises_format() -> impl TypedValueParser<Value = PremisesFormat> {
    PossibleValuesParser::new(PremisesFormat::ALL.map(PremisesFormat::as_str))
        .map(|s| s.parse::<PremisesFormat>().unwrap_or(PremisesFormat::Auto))
}

#[derive(Args)]
pub struct IncidentArgs {
    /// Files to import (`.gz` is decompressed).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// `auto` decides from the header (police.uk, US sets) or the extension (.geojson/.json);
    /// `csv` is the documented force CSV.
    #[arg(long, default_value = "auto", value_parser = incident_format())]
    pub format: IncidentFormat,
    /// Import the valid rows and report the invalid ones, instead of rejecting the import.
    #[arg(long)]
    pub skip_invalid: bool,
}

#[derive(Args)]
pub struct PremisesArgs {
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// `auto` decides from the extension and the header; `csv` a council register or the
    /// OSM pubs CSV; `geojson` OSM-style points; `osm` an OpenStreetMap extract (GeoJSON,
    /// CSV with osm_node_id, or pubnames.tsv).
    #[arg(long, default_value = "auto", value_parser = premises_format())]
    pub format: PremisesFormat,
    #[arg(long)]
    pub skip_invalid: bool,
}

#[derive(Args)]
pub struct TrainingArgs {
    pub file: PathBuf,
    /// Mark the records as fictional demo data (labelled wherever they are shown).
    #[arg(long)]
    pub fictional: bool,
    #[arg(long)]
    pub skip_invalid: bool,
}

pub fn run(config: &Config, cmd: ImportCommand) -> Result<(), Failure> {
    match cmd {
        ImportCommand::Incidents(a) => {
            incidents(config, &a.files, a.format, a.skip_invalid).map(|_| ())
        }
        ImportCommand::Premises(a) => {
            premises_cmd(config, &a.files, a.format, a.skip_invalid).map(|_| ())
        }
        ImportCommand::Training(a) => {
            training_cmd(config, &a.file, a.fictional, a.skip_invalid).map(|_| ())
        }
    }
}

/// Reads a whole file, decompressing `.gz`, with a byte progress bar for big files.
pub fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = progress_bar(len, &path.display().to_string());
    let mut reader: Box<dyn Read> = Box::new(bar.wrap_read(file));
    if path.extension().is_some_and(|e| e == "gz") {
        reader = Box::new(flate2::read::GzDecoder::new(reader));
    }
    let mut bytes = Vec::with_capacity(len as usize);
    reader
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    bar.finish_and_clear();
    Ok(bytes)
}

fn progress_bar(len: u64, label: &str) -> ProgressBar {
    // Only worth drawing for big inputs; indicatif hides itself when stderr is not a terminal.
    if len < 8 << 20 {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {eta}")
    {
        bar.set_style(style);
    }
    bar.set_message(label.to_string());
    bar
}

/// Reads a file (decompressing `.gz`); a missing or unreadable file is invalid input.
pub fn input(path: &Path) -> Result<Input, Failure> {
    Ok(Input {
        name: path.display().to_string(),
        json: is_json(path),
        bytes: read_file(path).map_err(Failure::Invalid)?,
    })
}

fn open_store(config: &Config) -> Result<Store, StoreError> {
    Store::open(&config.db)
}

/// The CLI's report of an import: every row error to stderr, then either the refusal
/// (invalid input, exit code 2) or the summary line on stdout.
fn report(
    outcome: &Outcome,
    what: &str,
    label: &str,
    skip_invalid: bool,
    started: Instant,
) -> Result<Stored, Failure> {
    for e in &outcome.errors {
        eprintln!("{e}");
    }
    if !outcome.errors.is_empty() && !skip_invalid {
        return Err(Failure::Invalid(anyhow!(
            "{} invalid row(s) in {}; no {what} were imported (fix them, or use --skip-invalid to import the valid rows)",
            thousands(outcome.errors.len() as u64),
            outcome.files.join(", ")
        )));
    }
    if !outcome.unknown_premises.is_empty() {
        for e in &outcome.unknown_premises {
            eprintln!("{e}");
        }
        return Err(Failure::Invalid(anyhow!(
            "{} row(s) name premises that are not in the database; no {what} were imported",
            outcome.unknown_premises.len()
        )));
    }
    let stored = outcome
        .stored
        .ok_or_else(|| Failure::Other(anyhow!("the import was rolled back")))?;
    let mut skipped = String::new();
    for (reason, n) in &outcome.skipped {
        skipped.push_str(&format!("; {} skipped: {reason}", thousands(*n)));
    }
    println!(
        "imported {label} from {} file(s): {} rows read, {} new, {} already present{skipped}; {} rejected; {:.2} s",
        outcome.files.len(),
        thousands(outcome.rows_read),
        thousands(stored.added),
        thousands(stored.already_present),
        thousands(outcome.errors.len() as u64),
        started.elapsed().as_secs_f64()
    );
    Ok(stored)
}

/// `firefly import incidents`: reads every file first (a missing or unreadable file is
/// invalid input), then validates and stores them (see [`incidents_from_bytes`]).
pub fn incidents(
    config: &Config,
    files: &[PathBuf],
    format: IncidentFormat,
    skip_invalid: bool,
) -> Result<Stored, Failure> {
    let started = Instant::now();
    let inputs: Vec<Input> = files.iter().map(|p| input(p)).collect::<Result<_, _>>()?;
    let outcome = incidents_from_bytes(
        || open_store(config),
        &inputs,
        format,
        skip_invalid,
        &config.tz,
        &ImportActor::cli("import.incidents"),
    )?;
    report(&outcome, "incidents", "incidents", skip_invalid, started)
}

pub fn premises_cmd(
    config: &Config,
    files: &[PathBuf],
    format: PremisesFormat,
    skip_invalid: bool,
) -> Result<Stored, Failure> {
    let started = Instant::now();
    let inputs: Vec<Input> = files.iter().map(|p| input(p)).collect::<Result<_, _>>()?;
    let outcome = premises_from_bytes(
        || open_store(config),
        &inputs,
        format,
        skip_invalid,
        &ImportActor::cli("import.premises"),
    )?;
    report(&outcome, "premises", "premises", skip_invalid, started)
}

pub fn training_cmd(
    config: &Config,
    file: &Path,
    fictional: bool,
    skip_invalid: bool,
) -> Result<Stored, Failure> {
    let started = Instant::now();
    let input = input(file)?;
    let today = jiff::Zoned::now().with_time_zone(config.tz.clone()).date();
    let outcome = training_from_bytes(
        || open_store(config),
        &input,
        fictional,
        skip_invalid,
        today,
        &ImportActor::cli("import.training"),
    )?;
    report(
        &outcome,
        "training records",
        if fictional {
            "training records (FICTIONAL demo data)"
        } else {
            "training records"
        },
        skip_invalid,
        started,
    )
}
