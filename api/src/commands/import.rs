//! `firefly import incidents|premises|training`: validate every row of every file, then
//! store all of them in one transaction, or nothing.

use super::{Failure, thousands};
use crate::config::Config;
use crate::storage::{AuditEntry, ImportMeta, Store, StoreError, Stored};
use anyhow::{Context, anyhow};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use planner::import::{
    CsvRows, Import, RowError, force_csv, geojson_points, police_uk, premises, training,
    us_open_data,
};
use std::borrow::BorrowMut;
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
    /// OpenStreetMap extract: GeoJSON, CSV with osm_node_id, or mlj/uk-pub-names' pubnames.tsv.
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
    read_incidents_as(name, is_json(path_hint), bytes, format, &config.tz)
}

/// The format `Auto` stands for, from the JSON hint and the header.
fn detect_incidents(json: bool, bytes: &[u8], format: IncidentFormat) -> IncidentFormat {
    match format {
        IncidentFormat::Auto if json => IncidentFormat::Geojson,
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
    }
}

/// Reads incidents from one file's bytes; `json` says the name or the content type is JSON.
fn read_incidents_as(
    name: &str,
    json: bool,
    bytes: &[u8],
    format: IncidentFormat,
    tz: &jiff::tz::TimeZone,
) -> (Import<planner::Incident>, &'static str) {
    match detect_incidents(json, bytes, format) {
        IncidentFormat::PoliceUk => (police_uk::read(name, bytes), "police-uk"),
        IncidentFormat::Geojson => (geojson_points::read_bytes(name, bytes, tz), "geojson"),
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
        IncidentFormat::Csv | IncidentFormat::Auto => (force_csv::read(name, bytes, tz), "csv"),
    }
}

/// One file to import, already in memory: the CLI reads it from disk, the HTTP API
/// receives it as a request body.
#[derive(Debug, Clone)]
pub struct Input {
    /// The name in row errors and the imports log (a path, or the API's `filename`).
    pub name: String,
    /// Read as JSON (GeoJSON) when the format is `auto`: from the file's extension, or the
    /// request's content type.
    pub json: bool,
    pub bytes: Vec<u8>,
}

impl Input {
    /// Reads a file (decompressing `.gz`); a missing or unreadable file is invalid input.
    pub fn read(path: &Path) -> Result<Input, Failure> {
        Ok(Input {
            name: display_name(path),
            json: is_json(path),
            bytes: read_file(path).map_err(Failure::Invalid)?,
        })
    }
}

/// Who runs an import: the imports log's actor, and (API) the audit entry written in the
/// import's transaction.
#[derive(Debug, Clone)]
pub struct ImportActor {
    pub name: String,
    pub audit: Option<AuditEntry>,
}

impl ImportActor {
    /// The CLI's user (`cli:<login>`), no audit entry.
    pub fn cli() -> ImportActor {
        ImportActor {
            name: actor(),
            audit: None,
        }
    }
}

/// What an import did: the rows read, skipped and rejected, and what was stored. The CLI
/// prints it; the HTTP API answers it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub files: Vec<String>,
    /// The formats read (`police-uk`, `osm-geojson`, ...), comma-separated.
    pub format: String,
    pub rows_read: u64,
    /// Rows the source documents as unusable, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Invalid rows: left out with `skip_invalid`, else the reason nothing was stored.
    pub errors: Vec<RowError>,
    /// Training rows naming premises that are not stored: nothing was stored.
    pub unknown_premises: Vec<RowError>,
    /// What was stored, in one transaction; `None` when the import was refused and
    /// nothing was written.
    pub stored: Option<Stored>,
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

    /// May the batch be stored: no invalid row, or `skip_invalid`.
    fn accepted(&self, skip_invalid: bool) -> bool {
        self.errors.is_empty() || skip_invalid
    }

    fn meta(&self, actor: &ImportActor) -> ImportMeta {
        ImportMeta {
            files: self.files.clone(),
            format: self.formats.join(","),
            actor: actor.name.clone(),
            skipped: self.skipped.values().sum(),
            rejected: self.errors.len() as u64,
            rows_read: self.rows,
            audit: actor.audit.clone(),
        }
    }

    fn outcome(self, stored: Option<Stored>, unknown_premises: Vec<RowError>) -> Outcome {
        Outcome {
            files: self.files,
            format: self.formats.join(","),
            rows_read: self.rows,
            skipped: self.skipped,
            errors: self.errors,
            unknown_premises,
            stored,
        }
    }
}

impl Outcome {
    /// The CLI's report: every row error to stderr, then either the refusal (invalid
    /// input, exit code 2) or the summary line on stdout.
    fn report(
        &self,
        what: &str,
        label: &str,
        skip_invalid: bool,
        started: Instant,
    ) -> Result<Stored, Failure> {
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
        if !self.unknown_premises.is_empty() {
            for e in &self.unknown_premises {
                eprintln!("{e}");
            }
            return Err(Failure::Invalid(anyhow!(
                "{} row(s) name premises that are not in the database; no {what} were imported",
                self.unknown_premises.len()
            )));
        }
        let stored = self
            .stored
            .ok_or_else(|| Failure::Other(anyhow!("the import was rolled back")))?;
        let mut skipped = String::new();
        for (reason, n) in &self.skipped {
            skipped.push_str(&format!("; {} skipped: {reason}", thousands(*n)));
        }
        println!(
            "imported {label} from {} file(s): {} rows read, {} new, {} already present{skipped}; {} rejected; {:.2} s",
            self.files.len(),
            thousands(self.rows_read),
            thousands(stored.added),
            thousands(stored.already_present),
            thousands(self.errors.len() as u64),
            started.elapsed().as_secs_f64()
        );
        Ok(stored)
    }
}

pub fn actor() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

fn open_store(config: &Config) -> Result<Store, StoreError> {
    Store::open(&config.db)
}

/// Records per chunk handed from the validating thread to the storing one.
const CHUNK: usize = 20_000;

/// Validates and stores incident files: what `firefly import incidents` and
/// `POST /api/v1/imports/incidents` share. Storing runs on a second thread while the
/// files are still being validated, inside one transaction that is rolled back if any row
/// turns out invalid (without `skip_invalid`): the database sees all of it or none.
/// `open` gives the store; it is opened first, as storing starts before validation ends.
pub fn incidents_from_bytes<S: BorrowMut<Store> + Send>(
    open: impl FnOnce() -> Result<S, StoreError>,
    inputs: &[Input],
    format: IncidentFormat,
    skip_invalid: bool,
    tz: &jiff::tz::TimeZone,
    actor: &ImportActor,
) -> Result<Outcome, Failure> {
    let mut store = open()?;
    let (chunks_tx, chunks_rx) = std::sync::mpsc::sync_channel::<Vec<planner::Incident>>(4);
    let (decision_tx, decision_rx) = std::sync::mpsc::channel::<Option<ImportMeta>>();
    let mut batch: Batch<planner::Incident> = Batch::new();
    let outcome = std::thread::scope(|scope| {
        let writer = scope.spawn(move || {
            store.borrow_mut().import_incidents_stream(
                chunks_rx,
                || decision_rx.recv().ok().flatten(),
                |_| {},
            )
        });
        let mut buffer = Vec::with_capacity(CHUNK);
        let send = |incident: planner::Incident, buffer: &mut Vec<planner::Incident>| {
            buffer.push(incident);
            if buffer.len() >= CHUNK {
                // A send error means the writer failed; its error is reported below.
                let _ = chunks_tx.send(std::mem::take(buffer));
            }
        };
        for input in inputs {
            let bytes = &input.bytes[..];
            let streamable = detect_incidents(input.json, bytes, format)
                == IncidentFormat::PoliceUk
                && police_uk::recognises(&headers_of(bytes));
            let (import, used) = if streamable {
                (
                    police_uk::read_each(&input.name, bytes, |_, i| send(i, &mut buffer)),
                    "police-uk",
                )
            } else {
                let (mut import, used) =
                    read_incidents_as(&input.name, input.json, bytes, format, tz);
                for i in std::mem::take(&mut import.records) {
                    send(i, &mut buffer);
                }
                (import, used)
            };
            batch.add(input.name.clone(), used, import);
        }
        if !buffer.is_empty() {
            let _ = chunks_tx.send(std::mem::take(&mut buffer));
        }
        drop(chunks_tx);
        let accept = batch.accepted(skip_invalid);
        let _ = decision_tx.send(accept.then(|| batch.meta(actor)));
        writer.join()
    });
    let stored = outcome.map_err(|_| Failure::Other(anyhow!("the storing thread panicked")))??;
    Ok(batch.outcome(stored, vec![]))
}

/// Validates and stores premises files: what `firefly import premises` and
/// `POST /api/v1/imports/premises` share. The store is opened only once every row is
/// valid (or `skip_invalid`), so invalid input writes nothing, not even a database file.
pub fn premises_from_bytes<S: BorrowMut<Store>>(
    open: impl FnOnce() -> Result<S, StoreError>,
    inputs: &[Input],
    format: PremisesFormat,
    skip_invalid: bool,
    actor: &ImportActor,
) -> Result<Outcome, Failure> {
    let mut batch = Batch::new();
    for input in inputs {
        let (name, bytes) = (&input.name, &input.bytes[..]);
        let (import, used) = match format {
            PremisesFormat::Geojson => (premises::read_osm_geojson(name, bytes), "osm-geojson"),
            PremisesFormat::Osm | PremisesFormat::Auto if input.json => {
                (premises::read_osm_geojson(name, bytes), "osm-geojson")
            }
            PremisesFormat::Osm | PremisesFormat::Auto if premises::is_osm_tsv(bytes) => {
                (premises::read_osm_tsv(name, bytes), "osm-tsv")
            }
            _ if headers_of(bytes).iter().any(|h| h == "osm_node_id") => {
                (premises::read_osm_csv(name, bytes), "osm-csv")
            }
            PremisesFormat::Osm => {
                return Err(Failure::Invalid(anyhow!(
                    "{name}: not an OSM GeoJSON, OSM CSV (osm_node_id column) or pubnames.tsv file"
                )));
            }
            _ => (
                premises::read_council_register(name, bytes),
                "council-register",
            ),
        };
        batch.add(name.clone(), used, import);
    }
    if !batch.accepted(skip_invalid) {
        return Ok(batch.outcome(None, vec![]));
    }
    let mut store = open()?;
    let stored = store
        .borrow_mut()
        .import_premises(&batch.records, &batch.meta(actor))?;
    Ok(batch.outcome(Some(stored), vec![]))
}

/// Validates and stores a training file: what `firefly import training` and
/// `POST /api/v1/imports/training` share. `today` (local) refuses sessions dated in the
/// future. Every record must name stored premises, else nothing is written and
/// `unknown_premises` says which rows.
pub fn training_from_bytes<S: BorrowMut<Store>>(
    open: impl FnOnce() -> Result<S, StoreError>,
    input: &Input,
    fictional: bool,
    skip_invalid: bool,
    today: jiff::civil::Date,
    actor: &ImportActor,
) -> Result<Outcome, Failure> {
    let mut batch = Batch::new();
    batch.add(
        input.name.clone(),
        "training-csv",
        training::read_training(&input.name, &input.bytes[..], Some(today)),
    );
    if !batch.accepted(skip_invalid) {
        return Ok(batch.outcome(None, vec![]));
    }
    let mut store = open()?;
    let meta = batch.meta(actor);
    match store.borrow_mut().import_training(
        &input.name,
        &batch.records,
        &batch.lines,
        fictional,
        &meta,
    ) {
        Ok(stored) => Ok(batch.outcome(Some(stored), vec![])),
        Err(StoreError::Rows(unknown)) => Ok(batch.outcome(None, unknown)),
        Err(e) => Err(e.into()),
    }
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
    let inputs: Vec<Input> = files
        .iter()
        .map(|p| Input::read(p))
        .collect::<Result<_, _>>()?;
    let outcome = incidents_from_bytes(
        || open_store(config),
        &inputs,
        format,
        skip_invalid,
        &config.tz,
        &ImportActor::cli(),
    )?;
    outcome.report("incidents", "incidents", skip_invalid, started)
}

pub fn premises_cmd(
    config: &Config,
    files: &[PathBuf],
    format: PremisesFormat,
    skip_invalid: bool,
) -> Result<Stored, Failure> {
    let started = Instant::now();
    let mut inputs = Vec::with_capacity(files.len());
    for path in files {
        inputs.push(Input::read(path)?);
    }
    let outcome = premises_from_bytes(
        || open_store(config),
        &inputs,
        format,
        skip_invalid,
        &ImportActor::cli(),
    )?;
    outcome.report("premises", "premises", skip_invalid, started)
}

pub fn training_cmd(
    config: &Config,
    file: &Path,
    fictional: bool,
    skip_invalid: bool,
) -> Result<Stored, Failure> {
    let started = Instant::now();
    let input = Input::read(file)?;
    let today = jiff::Zoned::now().with_time_zone(config.tz.clone()).date();
    let outcome = training_from_bytes(
        || open_store(config),
        &input,
        fictional,
        skip_invalid,
        today,
        &ImportActor::cli(),
    )?;
    outcome.report(
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
