//! Importing files: validate every row of every file, then store all of them in one
//! transaction, or nothing. `firefly import` reads the files from disk, the HTTP API from
//! request bodies; both hand the bytes to the functions here.

use super::Failure;
use crate::storage::{AuditEntry, ImportMeta, Store, StoreError, Stored};
use anyhow::anyhow;
use planner::import::{
    CsvRows, Import, RowError, force_csv, geojson_points, police_uk, premises, training,
    us_open_data,
};
use std::borrow::BorrowMut;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
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

impl IncidentFormat {
    /// Every format, by the names the CLI's `--format` and the API's `format` take.
    pub const ALL: [IncidentFormat; 7] = [
        IncidentFormat::Auto,
        IncidentFormat::PoliceUk,
        IncidentFormat::Csv,
        IncidentFormat::Geojson,
        IncidentFormat::Chicago,
        IncidentFormat::Houston,
        IncidentFormat::SanFrancisco,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentFormat::Auto => "auto",
            IncidentFormat::PoliceUk => "police-uk",
            IncidentFormat::Csv => "csv",
            IncidentFormat::Geojson => "geojson",
            IncidentFormat::Chicago => "chicago",
            IncidentFormat::Houston => "houston",
            IncidentFormat::SanFrancisco => "san-francisco",
        }
    }
}

impl std::str::FromStr for IncidentFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        IncidentFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown incident format {s:?}; expected one of {}",
                    names(IncidentFormat::ALL.map(IncidentFormat::as_str))
                )
            })
    }
}

impl PremisesFormat {
    /// Every format, by the names the CLI's `--format` and the API's `format` take.
    pub const ALL: [PremisesFormat; 4] = [
        PremisesFormat::Auto,
        PremisesFormat::Csv,
        PremisesFormat::Geojson,
        PremisesFormat::Osm,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PremisesFormat::Auto => "auto",
            PremisesFormat::Csv => "csv",
            PremisesFormat::Geojson => "geojson",
            PremisesFormat::Osm => "osm",
        }
    }
}

impl std::str::FromStr for PremisesFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        PremisesFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown premises format {s:?}; expected one of {}",
                    names(PremisesFormat::ALL.map(PremisesFormat::as_str))
                )
            })
    }
}

fn names<const N: usize>(all: [&str; N]) -> String {
    all.join(", ")
}

/// Is the file JSON (GeoJSON), by its name.
pub fn is_json(path: &Path) -> bool {
    let name = path.to_string_lossy().to_ascii_lowercase();
    [".geojson", ".json", ".geojson.gz", ".json.gz"]
        .iter()
        .any(|e| name.ends_with(e))
}

fn headers_of(bytes: &[u8]) -> Vec<String> {
    CsvRows::new("", bytes, b',')
        .map(|r| r.headers().to_vec())
        .unwrap_or_default()
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

/// Who runs an import: the imports log's actor, and (API) the audit entry written in the
/// import's transaction.
#[derive(Debug, Clone)]
pub struct ImportActor {
    pub name: String,
    pub audit: Option<AuditEntry>,
}

impl ImportActor {
    /// The CLI's user (`cli:<login>`), with an audit entry (`action`, e.g.
    /// `import.incidents`) written in the import's transaction.
    pub fn cli(action: &str) -> ImportActor {
        let kind = action.strip_prefix("import.").unwrap_or(action);
        ImportActor {
            name: actor(),
            audit: Some(super::operator::cli_entry(
                action,
                kind,
                None,
                serde_json::Value::Null,
            )),
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

/// The CLI's actor: the OS account of the process (from its uid, not `$USER`).
pub fn actor() -> String {
    super::operator::OsUser::current().actor()
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
