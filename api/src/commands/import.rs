//! `firefly import incidents|premises|training`: validate every row of every file, then
//! store all of them in one transaction, or nothing.

use super::{Failure, thousands};
use crate::config::Config;
use crate::storage::{ImportMeta, Store, StoreError, Stored};
use anyhow::{Context, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use planner::import::{
    CsvRows, Import, RowError, force_csv, geojson_points, police_uk, premises, training,
    us_open_data,
};
use std::collections::BTreeMap;
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

#[derive(Args)]
pub struct IncidentArgs {
    /// Files to import (`.gz` is decompressed).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = IncidentFormat::Auto)]
    pub format: IncidentFormat,
    /// Import the valid rows and report the invalid ones, instead of rejecting the import.
    #[arg(long)]
    pub skip_invalid: bool,
}

#[derive(Args)]
pub struct PremisesArgs {
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = PremisesFormat::Auto)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IncidentFormat {
    /// Decide from the header (police.uk, US sets) or the extension (.geojson/.json).
    Auto,
    PoliceUk,
    /// The documented force CSV (id, occurred_at, lat/lon or easting/northing, category).
    Csv,
    Geojson,
    Chicago,
    Houston,
    SanFrancisco,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PremisesFormat {
    /// Decide from the extension and the header.
    Auto,
    /// A council premises-licence register, or the OSM pubs CSV (by header).
    Csv,
    /// OSM-style GeoJSON points.
    Geojson,
    /// OpenStreetMap extract: GeoJSON, or CSV with osm_node_id.
    Osm,
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
    let bar = progress_bar(len, &display_name(path));
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

pub fn display_name(path: &Path) -> String {
    path.display().to_string()
}

fn headers_of(bytes: &[u8]) -> Vec<String> {
    CsvRows::new("", bytes, b',')
        .map(|r| r.headers().to_vec())
        .unwrap_or_default()
}

fn is_json(path: &Path) -> bool {
    let name = path.to_string_lossy().to_ascii_lowercase();
    [".geojson", ".json", ".geojson.gz", ".json.gz"]
        .iter()
        .any(|e| name.ends_with(e))
}

/// Reads incidents from one file in the given (or detected) format.
pub fn read_incidents(
    name: &str,
    path_hint: &Path,
    bytes: &[u8],
    format: IncidentFormat,
    config: &Config,
) -> (Import<planner::Incident>, &'static str) {
    let format = match format {
        IncidentFormat::Auto if is_json(path_hint) => IncidentFormat::Geojson,
        IncidentFormat::Auto => {
            let headers = headers_of(bytes);
            if police_uk::recognises(&headers) {
                IncidentFormat::PoliceUk
            } else {
                match us_open_data::UsSource::recognise(&headers) {
                    Some(us_open_data::UsSource::Chicago) => IncidentFormat::Chicago,
                    Some(us_open_data::UsSource::Houston) => IncidentFormat::Houston,
                    Some(us_open_data::UsSource::SanFrancisco) => IncidentFormat::SanFrancisco,
                    None => IncidentFormat::Csv,
                }
            }
        }
        f => f,
    };
    match format {
        IncidentFormat::PoliceUk => (police_uk::read(name, bytes), "police-uk"),
        IncidentFormat::Geojson => (
            geojson_points::read_bytes(name, bytes, &config.tz),
            "geojson",
        ),
        IncidentFormat::Chicago => (
            us_open_data::read(name, bytes, us_open_data::UsSource::Chicago),
            "chicago",
        ),
        IncidentFormat::Houston => (
            us_open_data::read(name, bytes, us_open_data::UsSource::Houston),
            "houston",
        ),
        IncidentFormat::SanFrancisco => (
            us_open_data::read(name, bytes, us_open_data::UsSource::SanFrancisco),
            "san-francisco",
        ),
        IncidentFormat::Csv | IncidentFormat::Auto => {
            (force_csv::read(name, bytes, &config.tz), "csv")
        }
    }
}

/// Everything read from a set of files, before storing.
struct Batch<T> {
    records: Vec<T>,
    lines: Vec<u64>,
    errors: Vec<RowError>,
    skipped: BTreeMap<String, u64>,
    rows: u64,
    formats: Vec<&'static str>,
    files: Vec<String>,
}

impl<T> Batch<T> {
    fn new() -> Self {
        Batch {
            records: vec![],
            lines: vec![],
            errors: vec![],
            skipped: BTreeMap::new(),
            rows: 0,
            formats: vec![],
            files: vec![],
        }
    }

    fn add(&mut self, file: String, format: &'static str, import: Import<T>) {
        self.files.push(file);
        if !self.formats.contains(&format) {
            self.formats.push(format);
        }
        self.rows += import.rows;
        self.errors.extend(import.errors);
        for (reason, n) in import.skipped {
            *self.skipped.entry(reason).or_default() += n;
        }
        self.lines.extend(import.lines);
        self.records.extend(import.records);
    }

    /// Prints every row error; rejects the batch unless `skip_invalid`.
    fn check(&self, what: &str, skip_invalid: bool) -> Result<(), Failure> {
        for e in &self.errors {
            eprintln!("{e}");
        }
        if !self.errors.is_empty() && !skip_invalid {
            return Err(Failure::Invalid(anyhow!(
                "{} invalid row(s) in {}; no {what} were imported (fix them, or use --skip-invalid to import the valid rows)",
                thousands(self.errors.len() as u64),
                self.files.join(", ")
            )));
        }
        Ok(())
    }

    fn meta(&self, actor: String) -> ImportMeta {
        ImportMeta {
            files: self.files.clone(),
            format: self.formats.join(","),
            actor,
            skipped: self.skipped.values().sum(),
            rejected: self.errors.len() as u64,
            rows_read: self.rows,
        }
    }

    fn report(&self, what: &str, stored: &Stored, started: Instant) {
        let mut skipped = String::new();
        for (reason, n) in &self.skipped {
            skipped.push_str(&format!("; {} skipped: {reason}", thousands(*n)));
        }
        println!(
            "imported {what} from {} file(s): {} rows read, {} new, {} already present{skipped}; {} rejected; {:.2} s",
            self.files.len(),
            thousands(self.rows),
            thousands(stored.added),
            thousands(stored.already_present),
            thousands(self.errors.len() as u64),
            started.elapsed().as_secs_f64()
        );
    }
}

pub fn actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

fn open_store(config: &Config) -> Result<Store, Failure> {
    Store::open(&config.db).map_err(|e| Failure::Other(e.into()))
}

/// Records per chunk handed from the validating thread to the storing one.
const CHUNK: usize = 20_000;

/// Validates and stores incident files. Storing runs on a second thread while the files are
/// still being read and validated, inside one transaction that is rolled back if any row
/// turns out invalid (without `--skip-invalid`): the database sees all of it or none.
pub fn incidents(
    config: &Config,
    files: &[PathBuf],
    format: IncidentFormat,
    skip_invalid: bool,
) -> Result<Stored, Failure> {
    let started = Instant::now();
    // Read every file first: a missing or unreadable file is invalid input.
    let inputs: Vec<(PathBuf, Vec<u8>)> = files
        .iter()
        .map(|p| read_file(p).map(|bytes| (p.clone(), bytes)))
        .collect::<anyhow::Result<_>>()
        .map_err(Failure::Invalid)?;
    let mut store = open_store(config)?;
    let (chunks_tx, chunks_rx) = std::sync::mpsc::sync_channel::<Vec<planner::Incident>>(4);
    let (decision_tx, decision_rx) = std::sync::mpsc::channel::<Option<ImportMeta>>();
    let mut batch: Batch<planner::Incident> = Batch::new();
    let outcome = std::thread::scope(|scope| {
        let writer = scope.spawn(move || {
            store.import_incidents_stream(chunks_rx, || decision_rx.recv().ok().flatten(), |_| {})
        });
        let mut buffer = Vec::with_capacity(CHUNK);
        let send = |incident: planner::Incident, buffer: &mut Vec<planner::Incident>| {
            buffer.push(incident);
            if buffer.len() >= CHUNK {
                // A send error means the writer failed; its error is reported below.
                let _ = chunks_tx.send(std::mem::take(buffer));
            }
        };
        for (path, bytes) in &inputs {
            let name = display_name(path);
            let streamable = matches!(format, IncidentFormat::PoliceUk | IncidentFormat::Auto)
                && !is_json(path)
                && police_uk::recognises(&headers_of(bytes));
            let (import, used) = if streamable {
                (
                    police_uk::read_each(&name, &bytes[..], |_, i| send(i, &mut buffer)),
                    "police-uk",
                )
            } else {
                let (mut import, used) = read_incidents(&name, path, bytes, format, config);
                for i in std::mem::take(&mut import.records) {
                    send(i, &mut buffer);
                }
                (import, used)
            };
            batch.add(name, used, import);
        }
        if !buffer.is_empty() {
            let _ = chunks_tx.send(std::mem::take(&mut buffer));
        }
        drop(chunks_tx);
        let accept = batch.errors.is_empty() || skip_invalid;
        let _ = decision_tx.send(accept.then(|| batch.meta(actor())));
        writer.join()
    });
    let stored = outcome.map_err(|_| Failure::Other(anyhow!("the storing thread panicked")))??;
    batch.check("incidents", skip_invalid)?;
    let stored = stored.ok_or_else(|| Failure::Other(anyhow!("the import was rolled back")))?;
    batch.report("incidents", &stored, started);
    Ok(stored)
}

pub fn premises_cmd(
    config: &Config,
    files: &[PathBuf],
    format: PremisesFormat,
    skip_invalid: bool,
) -> Result<Stored, Failure> {
    let started = Instant::now();
    let mut batch = Batch::new();
    for path in files {
        let name = display_name(path);
        let bytes = read_file(path).map_err(Failure::Invalid)?;
        let json = is_json(path);
        let (import, used) = match format {
            PremisesFormat::Geojson => (premises::read_osm_geojson(&name, &bytes), "osm-geojson"),
            PremisesFormat::Osm | PremisesFormat::Auto if json => {
                (premises::read_osm_geojson(&name, &bytes), "osm-geojson")
            }
            _ if headers_of(&bytes).iter().any(|h| h == "osm_node_id") => {
                (premises::read_osm_csv(&name, &bytes[..]), "osm-csv")
            }
            PremisesFormat::Osm => {
                return Err(Failure::Invalid(anyhow!(
                    "{name}: not an OSM GeoJSON or OSM CSV (osm_node_id column) file"
                )));
            }
            _ => (
                premises::read_council_register(&name, &bytes[..]),
                "council-register",
            ),
        };
        batch.add(name, used, import);
    }
    batch.check("premises", skip_invalid)?;
    let mut store = open_store(config)?;
    let stored = store.import_premises(&batch.records, &batch.meta(actor()))?;
    batch.report("premises", &stored, started);
    Ok(stored)
}

pub fn training_cmd(
    config: &Config,
    file: &Path,
    fictional: bool,
    skip_invalid: bool,
) -> Result<Stored, Failure> {
    let started = Instant::now();
    let name = display_name(file);
    let bytes = read_file(file).map_err(Failure::Invalid)?;
    let today = jiff::Zoned::now().with_time_zone(config.tz.clone()).date();
    let mut batch = Batch::new();
    batch.add(
        name.clone(),
        "training-csv",
        training::read_training(&name, &bytes[..], Some(today)),
    );
    batch.check("training records", skip_invalid)?;
    let mut store = open_store(config)?;
    let meta = batch.meta(actor());
    let stored = match store.import_training(&name, &batch.records, &batch.lines, fictional, &meta)
    {
        Err(StoreError::Rows(errors)) => {
            for e in &errors {
                eprintln!("{e}");
            }
            return Err(Failure::Invalid(anyhow!(
                "{} row(s) name premises that are not in the database; no training records were imported",
                errors.len()
            )));
        }
        other => other?,
    };
    batch.report(
        if fictional {
            "training records (FICTIONAL demo data)"
        } else {
            "training records"
        },
        &stored,
        started,
    );
    Ok(stored)
}
