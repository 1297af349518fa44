//! `GET /api/v1/premises` and `/api/v1/premises/{id}`: licensed premises as WGS84 GeoJSON
//! with their training status today (in the force's zone). Statuses that rest on fictional
//! demo records say so, on the venue and on the collection.
//!
//! A venue's `id` is its database id (stable across re-imports); `/premises/{id}` also
//! accepts the source id (`osm:node/123`, percent-encoded).

use super::analysis as analysis_http;
use super::auth::Require;
use super::encoding::Encoding;
use super::error::{AppError, AppPath, AppQuery};
use super::incidents::unprocessable;
use super::policy::PremisesRead;
use super::state::AppState;
use crate::app::analysis;
use crate::app::dataset::Dataset;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use planner::training::{DEFAULT_REFRESHER_MONTHS, TrainingStatus, training_status};
use planner::{Premises, TrainingRecord};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;

/// The label on statuses that rest on fictional records.
pub const FICTIONAL_LABEL: &str = "FICTIONAL demo training records";

/// Filters for premises.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PremisesQuery {
    /// `W,S,E,N` in WGS84 degrees.
    pub bbox: Option<String>,
    /// `never_trained`, `trained`, `due_soon` or `overdue`.
    pub training_status: Option<String>,
}

pub(super) type History = HashMap<String, Vec<(TrainingRecord, bool)>>;

pub(super) fn feature(id: i64, p: &Premises, history: &History, today: jiff::civil::Date) -> Value {
    let records = history.get(&p.source_id).map(Vec::as_slice).unwrap_or(&[]);
    let plain: Vec<TrainingRecord> = records.iter().map(|(r, _)| r.clone()).collect();
    let status = training_status(&plain, today, DEFAULT_REFRESHER_MONTHS);
    let latest = records.iter().max_by_key(|(r, _)| r.date);
    let fictional = records.iter().any(|(_, f)| *f);
    json!({
        "type": "Feature",
        "id": id,
        "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
        "properties": {
            "id": id,
            "source_id": p.source_id,
            "name": p.name,
            "kind": p.kind.as_str(),
            "address": p.address,
            "postcode": p.postcode,
            "district": p.district,
            "licence_ref": p.licence_ref,
            "safe_space": p.safe_space,
            "closing": p.closing,
            "training_status": status,
            "last_trained": latest.map(|(r, _)| r.date.to_string()),
            "refresher_due": latest.map(|(r, _)| r.refresher_due(DEFAULT_REFRESHER_MONTHS).to_string()),
            "training_records": records.len(),
            "training_fictional": fictional,
            "training_label": fictional.then_some(FICTIONAL_LABEL),
        },
    })
}

pub(super) fn geojson(body: Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/geo+json")],
        body.to_string(),
    )
        .into_response()
}

pub(super) fn today(state: &AppState) -> jiff::civil::Date {
    jiff::Zoned::now()
        .with_time_zone(state.config.tz.clone())
        .date()
}

/// Licensed premises with their training status (WGS84 GeoJSON).
#[utoipa::path(
    get,
    path = "/api/v1/premises",
    tag = "data",
    params(PremisesQuery),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "A FeatureCollection of Points: name, kind, address, closing times, Safe Space, `training_status`, `last_trained`, `refresher_due`, `training_fictional` and `training_label` (set when the status rests on fictional demo records)", body = Object, content_type = "application/geo+json"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not signed in with a role that may see premises (planner, officer, liaison, admin)", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter values", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    _who: Require<PremisesRead>,
    headers: HeaderMap,
    AppQuery(q): AppQuery<PremisesQuery>,
) -> Result<Response, AppError> {
    let bbox = q
        .bbox
        .as_deref()
        .map(analysis::parse_bbox)
        .transpose()
        .map_err(|e| unprocessable("bbox", e))?;
    let wanted: Option<TrainingStatus> = q
        .training_status
        .as_deref()
        .map(|s| {
            serde_json::from_value(Value::String(s.to_string())).map_err(|_| {
                AppError::Unprocessable(format!(
                    "training_status {s:?} is not one of never_trained, trained, due_soon, overdue"
                ))
            })
        })
        .transpose()?;
    // The list changes with imports and edits (the data version), new training records,
    // and the date (statuses fall due): all three are in the cache's key or version.
    let today = today(&state);
    let version = state.versions.get(&state.db).await?.premises;
    let encoding = Encoding::negotiate(&headers);
    let key = format!("premises|{bbox:?}|{wanted:?}|{today}");
    let (body, hit) = state
        .recompress
        .answer(&state.premises_cache, &key, version, encoding, || {
            list_body(&state, bbox, wanted, today)
        })
        .await?;
    Ok(analysis_http::geojson_response(body, hit, encoding))
}

/// The premises GeoJSON (plain) for the list's filters.
async fn list_body(
    state: &AppState,
    bbox: Option<[f64; 4]>,
    wanted: Option<TrainingStatus>,
    today: jiff::civil::Date,
) -> Result<Bytes, AppError> {
    let (premises, history) = state
        .db
        .run(move |s| Ok((s.premises_with_ids()?, s.training_with_flags()?)))
        .await?;
    let version = state.versions.get(&state.db).await?.data;
    let data = state.datasets.get(state, version).await?;
    // Venue risk counts every incident near a venue: under the analyses' compute permits,
    // not on a database connection.
    let (premises, risk) = analysis_http::under_compute(state, move || {
        let risk = risk_ranks(&data, &premises);
        (premises, risk)
    })
    .await?;
    let features: Vec<Value> = premises
        .iter()
        .filter(|(_, p)| {
            bbox.is_none_or(|[w, s, e, n]| (w..=e).contains(&p.lon) && (s..=n).contains(&p.lat))
        })
        .map(|(id, p)| {
            let mut f = feature(*id, p, &history, today);
            let (rank, count) = risk.get(&p.source_id).copied().unzip();
            if let Some(props) = f["properties"].as_object_mut() {
                props.insert("risk_rank".into(), json!(rank));
                props.insert("risk_count".into(), json!(count.unwrap_or(0)));
            }
            f
        })
        .filter(|f| wanted.is_none_or(|w| f["properties"]["training_status"] == json!(w)))
        .collect();
    let fictional = history.values().flatten().any(|(_, f)| *f);
    let doc = json!({
        "type": "FeatureCollection",
        "features": features,
        "firefly": {
            "n_premises": features.len(),
            "as_of": today.to_string(),
            "refresher_months": DEFAULT_REFRESHER_MONTHS,
            "training_records_fictional": fictional,
            "training_label": fictional.then_some(FICTIONAL_LABEL),
        }
    });
    Ok(Bytes::from(
        serde_json::to_vec(&doc).map_err(|e| AppError::Internal(e.into()))?,
    ))
}

/// Each venue's risk rank (1 = most harm) and count of night-time-economy incidents within
/// 50 m, each incident going to its nearest venue (as `firefly venues`); venues with none
/// have no rank. The liaison officer's to-do list is the untrained venues ranked highest.
fn risk_ranks(data: &Dataset, premises: &[(i64, Premises)]) -> HashMap<String, (u32, u32)> {
    use planner::venue_risk::{Venue, VenueRiskParams, venue_risk};
    let crs = data.crs();
    let points: Vec<planner::hotspots::ScoringPoint> = data
        .rows()
        .filter(|(i, [x, _], _)| i.category.is_night_time_economy() && !x.is_nan())
        .map(|(i, [x, y], _)| planner::hotspots::ScoringPoint {
            x,
            y,
            category: i.category,
            occurred: i.occurred,
        })
        .collect();
    let venues: Vec<Venue> = premises
        .iter()
        .filter_map(|(_, p)| {
            let q = crs.project(p.lon, p.lat).ok()?;
            Some(Venue {
                id: p.source_id.clone(),
                x: q.x,
                y: q.y,
            })
        })
        .collect();
    match venue_risk(&venues, &points, &VenueRiskParams::default()) {
        Ok(report) => report
            .venues
            .into_iter()
            .filter(|v| v.count > 0)
            .map(|v| (v.id, (v.rank, v.count)))
            .collect(),
        Err(_) => HashMap::new(),
    }
}

/// One licensed premises, by database id or source id.
#[utoipa::path(
    get,
    path = "/api/v1/premises/{id}",
    tag = "data",
    params(("id" = String, Path, description = "Database id (e.g. `12`) or source id (e.g. `osm:node/21992993`, percent-encoded)")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "A Feature with the same properties as in the list", body = Object, content_type = "application/geo+json"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not signed in with a role that may see premises (planner, officer, liaison, admin)", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such premises", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn one(
    State(state): State<AppState>,
    _who: Require<PremisesRead>,
    AppPath(id): AppPath<String>,
) -> Result<Response, AppError> {
    let key = id.clone();
    let (found, history) = state
        .db
        .run(move |s| Ok((s.premises_by_key(&key)?, s.training_with_flags()?)))
        .await?;
    let (db_id, premises) =
        found.ok_or_else(|| AppError::NotFound(format!("no premises with id {id:?}")))?;
    Ok(geojson(feature(db_id, &premises, &history, today(&state))))
}
