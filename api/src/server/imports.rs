//! `POST /api/v1/imports/incidents`, `/premises` and `/training`: the file itself is the
//! body, validated and stored by the same functions as `firefly import`
//! (`app::import::*_from_bytes`): the same validators, the same all-or-nothing rule,
//! the same idempotency. The import, its `imports` row and its audit entry commit in one
//! transaction; the new `imports` row is the new data version, so cached hotspots and
//! zones are recomputed on their next request.
//!
//! - Body: `text/csv`, or `application/geo+json` / `application/json` (GeoJSON), as the
//!   CLI reads a file's extension; with `application/octet-stream` (or gzip) the first
//!   byte decides. No content type, an empty one and `text/plain` are refused (415): those
//!   are what another site's page may send with the user's cookie without a preflight. A gzip body (the CLI's `.gz`) is decompressed, to at most
//!   [`GZIP_FACTOR`] times the body limit. Forms are refused (415): send the file itself
//!   (`curl --data-binary @FILE`).
//! - Size: at most `server.import_limit_mib` (default 64 MiB, `--import-limit-mib`); other
//!   routes keep 1 MiB. Beyond: 413, before anything is read when `Content-Length` says so.
//! - Query: `format` (the CLI's `--format` values), `skip_invalid`, `fictional` (training),
//!   `filename` (the name in row errors and the imports log; default `request body`).
//! - Answer: 201 when rows were added, 200 when all were already present; 422 with
//!   `errors` (file, line, field, reason; the first [`MAX_ERRORS_SHOWN`]) and
//!   `errors_total` when a row is invalid: then nothing was written.
//! - One import runs at a time per server; SQLite serialises writers anyway, and a second
//!   one waiting inside SQLite would time out after 10 s where here it waits its turn.
//! - The request timeout (60 s) covers the upload and the import. If it strikes, the import
//!   may still finish: re-sending the file is safe (idempotent), and the imports log says.

use super::auth::Require;
use super::error::{AppError, AppQuery, PROBLEM_JSON};
use super::policy::{ImportIncidents, PremisesWrite, TrainingRecords};
use super::state::AppState;
use crate::app::Failure;
use crate::app::import::{
    ImportActor, IncidentFormat, Input, Outcome, PremisesFormat, incidents_from_bytes,
    premises_from_bytes, training_from_bytes,
};
use crate::storage::{Store, StoreError};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use planner::import::RowError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Read;
use tokio::sync::Semaphore;

/// Row errors listed in one answer; `errors_total` counts them all.
pub const MAX_ERRORS_SHOWN: usize = 1_000;
/// A gzip body may decompress to at most this many times the body limit.
pub const GZIP_FACTOR: usize = 4;
/// The name in row errors when the request gives none.
pub const DEFAULT_FILENAME: &str = "request body";

/// One import at a time (per process).
static IMPORTS: Semaphore = Semaphore::const_new(1);

/// Options of an incidents or premises import.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// As the CLI's `--format`. Incidents: `auto` (default), `police-uk`, `csv`, `geojson`,
    /// `chicago`, `houston`, `san-francisco`. Premises: `auto`, `csv`, `geojson`, `osm`.
    pub format: Option<String>,
    /// Store the valid rows and report the invalid ones (`rejected`, `errors`) instead of
    /// refusing the import.
    pub skip_invalid: Option<bool>,
    /// The file's name, for row errors and the imports log (default `request body`).
    pub filename: Option<String>,
}

/// Options of a training import.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TrainingImportQuery {
    /// Mark the records as fictional demo data (labelled wherever they are shown).
    pub fictional: Option<bool>,
    pub skip_invalid: Option<bool>,
    pub filename: Option<String>,
}

/// One invalid row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RowProblem {
    pub file: String,
    /// 1-based line where the row starts (GeoJSON: where the feature starts).
    pub line: u64,
    pub field: String,
    pub reason: String,
}

impl From<&RowError> for RowProblem {
    fn from(e: &RowError) -> Self {
        RowProblem {
            file: e.file.clone(),
            line: e.line,
            field: e.field.clone(),
            reason: e.reason.clone(),
        }
    }
}

/// What an import stored.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportReport {
    /// The `imports` row: also the new data version.
    pub import_id: i64,
    /// `incidents`, `premises` or `training`.
    pub kind: String,
    pub file: String,
    /// The format read, e.g. `police-uk`, `osm-geojson`, `training-csv`.
    pub format: String,
    pub rows_read: u64,
    pub added: u64,
    pub already_present: u64,
    /// Rows the source documents as unusable, by reason (e.g. police.uk rows with no
    /// location).
    pub skipped: BTreeMap<String, u64>,
    /// Invalid rows left out (`skip_invalid=true`); otherwise 0.
    pub rejected: u64,
    /// The rejected rows, the first 1,000.
    pub errors: Vec<RowProblem>,
    /// Training: the records are fictional demo data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fictional: Option<bool>,
}

/// An import refused for invalid rows: RFC 9457 problem details with the rows.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImportProblem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The first 1,000 invalid rows, in file order.
    pub errors: Vec<RowProblem>,
    /// How many rows are invalid in all.
    pub errors_total: u64,
}

fn row_problem_response(detail: String, errors: &[RowError]) -> Response {
    let status = StatusCode::UNPROCESSABLE_ENTITY;
    let body = ImportProblem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail,
        errors: errors
            .iter()
            .take(MAX_ERRORS_SHOWN)
            .map(RowProblem::from)
            .collect(),
        errors_total: errors.len() as u64,
    };
    let mut res = (status, serde_json::to_vec(&body).unwrap_or_default()).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    res
}

fn too_large(limit: usize) -> AppError {
    AppError::PayloadTooLarge(format!(
        "an import body may be at most {} MiB (the server's import_limit_mib); split the file, e.g. one month per request",
        limit >> 20
    ))
}

fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(c) = cur {
        if c.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cur = c.source();
    }
    false
}

/// How the body is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyType {
    Json,
    Csv,
    /// `application/octet-stream` or gzip: the first byte decides.
    Sniff,
}

/// The body's type from its `Content-Type`. The types a cross-site page may send without
/// a CORS preflight (none at all, `text/plain`, forms) are refused, so an import is never
/// a simple request another site's page could make with the user's cookie.
fn body_type(headers: &HeaderMap) -> Result<BodyType, AppError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(AppError::UnsupportedMediaType(
            "an import needs a content type: text/csv, application/geo+json, application/json or application/octet-stream (e.g. curl -H 'Content-Type: text/csv' --data-binary @FILE)".into(),
        ));
    };
    let text = value.to_str().unwrap_or("").to_ascii_lowercase();
    let essence = text.split(';').next().unwrap_or("").trim();
    match essence {
        "application/json" | "application/geo+json" => Ok(BodyType::Json),
        e if e.ends_with("+json") => Ok(BodyType::Json),
        "text/csv" | "application/csv" | "text/comma-separated-values" => Ok(BodyType::Csv),
        "application/octet-stream" | "application/gzip" | "application/x-gzip" => {
            Ok(BodyType::Sniff)
        }
        "text/plain" | "" => Err(AppError::UnsupportedMediaType(format!(
            "content type {essence:?} is refused for imports (a page on another site may send it): \
             send text/csv or application/geo+json"
        ))),
        other => Err(AppError::UnsupportedMediaType(format!(
            "content type {other:?} is not a file Firefly imports: send the file itself as the body, \
             as text/csv or application/geo+json (e.g. curl --data-binary @FILE), not a form"
        ))),
    }
}

fn filename(name: Option<String>) -> Result<String, AppError> {
    let Some(name) = name else {
        return Ok(DEFAULT_FILENAME.into());
    };
    let name = name.trim().to_string();
    if name.is_empty() || name.chars().count() > 255 || name.chars().any(char::is_control) {
        return Err(AppError::Unprocessable(
            "filename must be 1 to 255 characters, without control characters".into(),
        ));
    }
    Ok(name)
}

/// Reads the body within the import limit, decompressing gzip, into an [`Input`].
async fn read_input(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    name: String,
) -> Result<Input, AppError> {
    let limit = state.server.import_body_limit;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    let kind = body_type(headers)?;
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|e| {
        let inner = e.into_inner();
        if is_length_limit(inner.as_ref()) {
            too_large(limit)
        } else {
            AppError::BadRequest(format!("the request body could not be read: {inner}"))
        }
    })?;
    let bytes = if bytes.starts_with(&[0x1f, 0x8b]) {
        let cap = limit.saturating_mul(GZIP_FACTOR);
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..])
            .take(cap as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| {
                AppError::BadRequest(format!("the body looks gzip-compressed but is not: {e}"))
            })?;
        if out.len() > cap {
            return Err(AppError::PayloadTooLarge(format!(
                "the gzip body decompresses to more than {} MiB ({GZIP_FACTOR} times the import limit); split the file",
                cap >> 20
            )));
        }
        out
    } else {
        bytes.to_vec()
    };
    let json = match kind {
        BodyType::Json => true,
        BodyType::Csv => false,
        BodyType::Sniff => bytes
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(&bytes)
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{' || *b == b'['),
    };
    Ok(Input { name, json, bytes })
}

fn parse_format<T: std::str::FromStr>(
    text: Option<&str>,
    default: T,
    names: &[&str],
) -> Result<T, AppError> {
    let Some(text) = text else {
        return Ok(default);
    };
    text.trim().to_ascii_lowercase().parse().map_err(|_| {
        AppError::Unprocessable(format!(
            "format {text:?} is not one of {}",
            names.join(", ")
        ))
    })
}

/// Turns a store failure into 503 when another writer held the database too long.
fn failure(f: Failure) -> AppError {
    match f {
        Failure::Invalid(e) => AppError::Unprocessable(format!("{e:#}")),
        Failure::Other(e) => {
            let busy = e
                .downcast_ref::<StoreError>()
                .is_some_and(StoreError::is_busy);
            if busy {
                AppError::Unavailable(
                    "the database is busy with another write (perhaps a CLI import); try again"
                        .into(),
                )
            } else {
                AppError::Internal(e)
            }
        }
    }
}

/// The answer to an import: 201/200 with the report, or 422 with the rows.
fn answer(kind: &str, what: &str, outcome: Outcome, fictional: Option<bool>) -> Response {
    if !outcome.unknown_premises.is_empty() {
        return row_problem_response(
            format!(
                "{} row(s) name premises that are not in the database; no {what} were imported (import the premises first)",
                outcome.unknown_premises.len()
            ),
            &outcome.unknown_premises,
        );
    }
    let Some(stored) = outcome.stored else {
        return row_problem_response(
            format!(
                "{} invalid row(s) in {}; no {what} were imported (fix them, or send ?skip_invalid=true to import the valid rows)",
                outcome.errors.len(),
                outcome.files.join(", ")
            ),
            &outcome.errors,
        );
    };
    let report = ImportReport {
        import_id: stored.import_id,
        kind: kind.into(),
        file: outcome.files.join(", "),
        format: outcome.format,
        rows_read: outcome.rows_read,
        added: stored.added,
        already_present: stored.already_present,
        skipped: outcome.skipped,
        rejected: outcome.errors.len() as u64,
        errors: outcome
            .errors
            .iter()
            .take(MAX_ERRORS_SHOWN)
            .map(RowProblem::from)
            .collect(),
        fictional,
    };
    let status = if stored.added > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    (status, axum::Json(report)).into_response()
}

/// Runs one import: at most one at a time per server, on the database's blocking pool,
/// with its store errors answered as problem details.
async fn one_import<F>(state: &AppState, import: F) -> Result<Outcome, AppError>
where
    F: FnOnce(&mut Store) -> Result<Outcome, Failure> + Send + 'static,
{
    let _turn = IMPORTS
        .acquire()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    state
        .db
        .run(move |store| Ok(import(store)))
        .await?
        .map_err(failure)
}

/// Who imports, with the audit row that commits together with the import.
fn import_actor<P: super::policy::Policy>(
    who: &Require<P>,
    action: &str,
    detail: Value,
) -> ImportActor {
    ImportActor {
        name: who.user.name.clone(),
        audit: Some(who.audit(action, "imports", detail)),
    }
}

/// Imports incidents: a police.uk street CSV, a force CSV, GeoJSON points, or a US
/// open-data CSV.
#[utoipa::path(
    post,
    path = "/api/v1/imports/incidents",
    tag = "imports",
    params(ImportQuery),
    request_body(
        description = "The file itself, at most 64 MiB by default (gzip accepted)",
        content(
            (String = "text/csv"),
            (Object = "application/geo+json"),
            (Object = "application/json"),
        )
    ),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Rows were added. Audited.", body = ImportReport),
        (status = 200, description = "Every row was already stored: nothing added", body = ImportReport),
        (status = 400, description = "Unknown query parameter, or an unreadable body", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a planner or admin", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the import limit", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "A form or another content type", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid rows (nothing was written), or an invalid option", body = ImportProblem, content_type = "application/problem+json"),
        (status = 503, description = "The database is busy with another write, or the request timed out", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn incidents(
    State(state): State<AppState>,
    who: Require<ImportIncidents>,
    AppQuery(q): AppQuery<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let format = parse_format(
        q.format.as_deref(),
        IncidentFormat::Auto,
        &IncidentFormat::ALL.map(IncidentFormat::as_str),
    )?;
    let name = filename(q.filename)?;
    let skip_invalid = q.skip_invalid.unwrap_or(false);
    let input = read_input(&state, &headers, body, name).await?;
    let actor = import_actor(
        &who,
        "import.incidents",
        json!({"file": input.name, "bytes": input.bytes.len(), "format": q.format, "skip_invalid": skip_invalid}),
    );
    let tz = state.config.tz.clone();
    let outcome = one_import(&state, move |store| {
        incidents_from_bytes(
            || Ok(store),
            std::slice::from_ref(&input),
            format,
            skip_invalid,
            &tz,
            &actor,
        )
    })
    .await?;
    Ok(answer("incidents", "incidents", outcome, None))
}

/// Imports licensed premises: OSM GeoJSON or CSV, or a council premises-licence register
/// CSV. Premises already stored are updated (keeping their id, training and history).
#[utoipa::path(
    post,
    path = "/api/v1/imports/premises",
    tag = "imports",
    params(ImportQuery),
    request_body(
        description = "The file itself, at most 64 MiB by default (gzip accepted)",
        content(
            (String = "text/csv"),
            (Object = "application/geo+json"),
            (Object = "application/json"),
        )
    ),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Premises were added (changes to stored ones are in their history). Audited.", body = ImportReport),
        (status = 200, description = "Every premises was already stored", body = ImportReport),
        (status = 400, description = "Unknown query parameter, or an unreadable body", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a liaison officer or admin", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the import limit", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "A form or another content type", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid rows (nothing was written), or an invalid option", body = ImportProblem, content_type = "application/problem+json"),
        (status = 503, description = "The database is busy with another write, or the request timed out", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn premises(
    State(state): State<AppState>,
    who: Require<PremisesWrite>,
    AppQuery(q): AppQuery<ImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    let format = parse_format(
        q.format.as_deref(),
        PremisesFormat::Auto,
        &PremisesFormat::ALL.map(PremisesFormat::as_str),
    )?;
    let name = filename(q.filename)?;
    let skip_invalid = q.skip_invalid.unwrap_or(false);
    let input = read_input(&state, &headers, body, name).await?;
    let actor = import_actor(
        &who,
        "import.premises",
        json!({"file": input.name, "bytes": input.bytes.len(), "format": q.format, "skip_invalid": skip_invalid}),
    );
    let outcome = one_import(&state, move |store| {
        premises_from_bytes(
            || Ok(store),
            std::slice::from_ref(&input),
            format,
            skip_invalid,
            &actor,
        )
    })
    .await?;
    Ok(answer("premises", "premises", outcome, None))
}

/// Imports training records (`premises_id,date,course,staff_trained,trainer,notes`, CSV).
/// Every record must name stored premises (by source id), else nothing is written.
#[utoipa::path(
    post,
    path = "/api/v1/imports/training",
    tag = "imports",
    params(TrainingImportQuery),
    request_body(
        description = "The CSV file itself (gzip accepted)",
        content((String = "text/csv"))
    ),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Records were added. Audited (training records name trainers).", body = ImportReport),
        (status = 200, description = "Every record was already stored", body = ImportReport),
        (status = 400, description = "Unknown query parameter, or an unreadable body", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a liaison officer or admin", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the import limit", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not CSV", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid rows, or rows naming unknown premises (nothing was written)", body = ImportProblem, content_type = "application/problem+json"),
        (status = 503, description = "The database is busy with another write, or the request timed out", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn training(
    State(state): State<AppState>,
    who: Require<TrainingRecords>,
    AppQuery(q): AppQuery<TrainingImportQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, AppError> {
    if body_type(&headers)? == BodyType::Json {
        return Err(AppError::UnsupportedMediaType(
            "training records are a CSV file (premises_id,date,course,staff_trained,trainer,notes): send it as text/csv".into(),
        ));
    }
    let name = filename(q.filename)?;
    let skip_invalid = q.skip_invalid.unwrap_or(false);
    let fictional = q.fictional.unwrap_or(false);
    let input = read_input(&state, &headers, body, name).await?;
    let actor = import_actor(
        &who,
        "import.training",
        json!({"file": input.name, "bytes": input.bytes.len(), "fictional": fictional, "skip_invalid": skip_invalid}),
    );
    let today = jiff::Zoned::now()
        .with_time_zone(state.config.tz.clone())
        .date();
    let outcome = one_import(&state, move |store| {
        training_from_bytes(|| Ok(store), &input, fictional, skip_invalid, today, &actor)
    })
    .await?;
    Ok(answer(
        "training",
        "training records",
        outcome,
        Some(fictional),
    ))
}
