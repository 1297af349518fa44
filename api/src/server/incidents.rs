//! `GET /api/v1/incidents`: incident points as WGS84 GeoJSON, for planners (they are
//! victims' locations). Every read is written to the audit log before the data leaves.
//! Each point carries only what a map needs (id, category, time): data minimisation.

use super::auth::Require;
use super::error::{AppError, AppQuery};
use super::policy::IncidentPoints;
use super::state::AppState;
use crate::app::analysis::{self, Categories};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use planner::OccurredAt;
use serde::Deserialize;
use serde_json::{Value, json};

/// Points returned when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 10_000;
/// Most points one response may hold.
pub const MAX_LIMIT: usize = 100_000;

/// Filters for incident points.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IncidentQuery {
    /// `W,S,E,N` in WGS84 degrees.
    pub bbox: Option<String>,
    /// First local date, `YYYY-MM-DD` or `YYYY-MM`.
    pub from: Option<String>,
    /// Last local date, inclusive.
    pub to: Option<String>,
    /// Comma-separated categories, or `all`; default: the night-time-economy offences.
    pub category: Option<String>,
    /// Most points to return (default 10,000, at most 100,000); newest first.
    pub limit: Option<usize>,
    /// Why the points are needed (written to the audit log), e.g.
    /// `map: planner incident layer`. At most 200 characters. Required when the server runs
    /// with `require_purpose`.
    pub purpose: Option<String>,
}

pub(super) fn unprocessable(param: &str, e: anyhow::Error) -> AppError {
    AppError::Unprocessable(format!("{param}: {e:#}"))
}

fn occurred_text(o: &OccurredAt) -> (String, &'static str) {
    match o {
        OccurredAt::Exact(t) => (t.to_string(), "instant"),
        OccurredAt::Month(m) => (m.to_string(), "month"),
    }
}

/// Sort key: the latest instant the incident could have happened (end of its month).
fn recency(o: &OccurredAt) -> (i32, i8, i64) {
    match o {
        OccurredAt::Exact(t) => {
            let d = t.to_zoned(jiff::tz::TimeZone::UTC).date();
            (i32::from(d.year()), d.month(), t.as_second())
        }
        OccurredAt::Month(m) => (i32::from(m.year), m.month, i64::MAX),
    }
}

/// Incident points (WGS84 GeoJSON), newest first.
#[utoipa::path(
    get,
    path = "/api/v1/incidents",
    tag = "data",
    params(IncidentQuery),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "A FeatureCollection of Points (WGS84) with `id`, `category`, `occurred` (RFC 3339 instant, or `YYYY-MM` when only the month is known) and `precision` (`instant` or `month`); `firefly` holds the counts. Audited.", body = Object, content_type = "application/geo+json"),
        (status = 400, description = "Unknown query parameter", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a planner or admin", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filter values, or no `purpose` when the server requires one", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    who: Require<IncidentPoints>,
    AppQuery(q): AppQuery<IncidentQuery>,
) -> Result<Response, AppError> {
    let bbox = q
        .bbox
        .as_deref()
        .map(analysis::parse_bbox)
        .transpose()
        .map_err(|e| unprocessable("bbox", e))?;
    let from = q
        .from
        .as_deref()
        .map(|d| analysis::parse_date(d, false))
        .transpose()
        .map_err(|e| unprocessable("from", e))?;
    let to =
        q.to.as_deref()
            .map(|d| analysis::parse_date(d, true))
            .transpose()
            .map_err(|e| unprocessable("to", e))?;
    let categories =
        Categories::from_args(q.category.as_slice()).map_err(|e| unprocessable("category", e))?;
    let given = q.purpose.as_deref().filter(|p| !p.trim().is_empty());
    let purpose = match given {
        Some(text) => {
            Some(crate::app::operator::check_purpose(text).map_err(AppError::Unprocessable)?)
        }
        None if state.server.require_purpose => {
            return Err(AppError::Unprocessable(
                "purpose: say why the data is needed (e.g. \"map: planner incident layer\"); this server requires one".into(),
            ));
        }
        None => None,
    };
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::Unprocessable(format!(
            "limit must be 1 to {MAX_LIMIT}"
        )));
    }
    let rows = state.db.run(move |s| s.incidents_with_ids(bbox)).await?;
    let tz = state.config.tz.clone();
    let mut kept: Vec<_> = rows
        .into_iter()
        .filter(|(_, i)| {
            categories.includes(i.category) && analysis::within_dates(&i.occurred, from, to, &tz)
        })
        .collect();
    kept.sort_by(|a, b| {
        recency(&b.1.occurred)
            .cmp(&recency(&a.1.occurred))
            .then(b.0.cmp(&a.0))
    });
    let matched = kept.len();
    kept.truncate(limit);
    let features: Vec<Value> = kept
        .iter()
        .map(|(id, i)| {
            let (occurred, precision) = occurred_text(&i.occurred);
            json!({
                "type": "Feature",
                "id": id,
                "geometry": {"type": "Point", "coordinates": [i.lon, i.lat]},
                "properties": {
                    "id": id, "category": i.category.as_str(),
                    "occurred": occurred, "precision": precision,
                },
            })
        })
        .collect();
    let body = json!({
        "type": "FeatureCollection",
        "features": features,
        "firefly": {
            "n_matched": matched,
            "n_returned": kept.len(),
            "truncated": matched > kept.len(),
            "categories": categories.describe(),
            "crs": "EPSG:4326",
        }
    });
    // The audit entry is committed before any data leaves; if it cannot be, nothing does.
    let entry = who.audit(
        "incidents.read",
        "incidents",
        json!({
            "query": {"bbox": q.bbox, "from": q.from, "to": q.to, "category": q.category, "limit": limit},
            "purpose": purpose,
            "returned": kept.len(),
        }),
    );
    state.audit.append(&state.db, entry).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/geo+json")],
        body.to_string(),
    )
        .into_response())
}
