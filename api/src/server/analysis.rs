//! `GET /api/v1/hotspots` and `GET /api/v1/zones`: the query parameters (the CLI flags'
//! names and defaults) translated into the application layer's requests
//! ([`HotspotRequest`], [`ZoneRequest`]), answered by `app::hotspots::compute` and
//! `app::zones::build_from` with the same GeoJSON as the CLI. Results are cached per
//! (request, data version); see `cache`.
//!
//! Parameters that name server files (`--calendar`, `--boundary`, `--harm`) are not offered:
//! the study area is the bbox if given, else the configured force boundary. Grids are
//! capped at [`MAX_API_CELLS`] so one request cannot take the server's memory.

use super::auth::Require;
use super::encoding::Encoding;
use super::error::{AppError, AppQuery};
use super::policy::{HotspotCells, Zones};
use super::state::AppState;
use crate::app::Failure;
use crate::app::analysis::Prepared;
use crate::app::hotspots::{self, FilterRequest, HotspotRequest, MethodParams};
use crate::app::zones::{self, ZoneRequest};
use anyhow::anyhow;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use std::sync::atomic::Ordering;

/// Most cells a grid requested over HTTP may have (the CLI allows more).
pub const MAX_API_CELLS: usize = 2_000_000;
/// Cell sizes accepted over HTTP, metres.
pub const CELL_RANGE: std::ops::RangeInclusive<f64> = 10.0..=5_000.0;
/// Bandwidths and distances accepted over HTTP, metres.
pub const RADIUS_RANGE: std::ops::RangeInclusive<f64> = 1.0..=10_000.0;

/// Hotspot parameters: the CLI's flags, by the same names (`half_life` for `--half-life`).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HotspotQuery {
    /// `count`, `kde` (default), `gistar` or `prospective`.
    pub method: Option<String>,
    /// Cell size in metres (default 50; 10 to 5,000).
    pub cell: Option<f64>,
    /// KDE bandwidth in metres.
    pub bandwidth: Option<f64>,
    /// Gi* neighbourhood distance in metres.
    pub distance: Option<f64>,
    /// Recency half-life in days.
    pub half_life: Option<f64>,
    /// `weekend-nights` (default), `all`, or `DAYS@HH:MM-HH:MM[;...]`.
    pub window: Option<String>,
    /// First local date, `YYYY-MM-DD` or `YYYY-MM`.
    pub from: Option<String>,
    /// Last local date, inclusive.
    pub to: Option<String>,
    /// Ages are measured back from this local date (default: the latest incident).
    pub as_of: Option<String>,
    /// Comma-separated categories, or `all`; default: the night-time-economy offences.
    pub category: Option<String>,
    /// Study area `W,S,E,N` in WGS84 degrees; default: the configured force boundary.
    pub bbox: Option<String>,
    /// Keep cells with zero score.
    pub all_cells: Option<bool>,
}

/// Zone parameters: the CLI's flags, by the same names.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ZoneQuery {
    /// Scoring method whose hot cells form the zones (default `kde`).
    pub method: Option<String>,
    pub cell: Option<f64>,
    pub bandwidth: Option<f64>,
    pub distance: Option<f64>,
    pub half_life: Option<f64>,
    /// Share of the study area's cells that count as hot, percent (default 2).
    pub hot_percent: Option<f64>,
    /// No point of a zone further than this from its centre, metres (default 300).
    pub max_radius: Option<f64>,
    /// Keep at most this many zones (default 30).
    pub max_zones: Option<usize>,
    pub window: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub category: Option<String>,
    pub bbox: Option<String>,
}

fn check_range(
    name: &str,
    value: Option<f64>,
    range: &std::ops::RangeInclusive<f64>,
) -> Result<(), AppError> {
    match value {
        Some(v) if !range.contains(&v) => Err(AppError::Unprocessable(format!(
            "{name} must be between {} and {}",
            range.start(),
            range.end()
        ))),
        _ => Ok(()),
    }
}

fn filter_request(
    cell: Option<f64>,
    window: &Option<String>,
    from: &Option<String>,
    to: &Option<String>,
    category: &Option<String>,
    bbox: &Option<String>,
) -> FilterRequest {
    FilterRequest {
        cell: cell.unwrap_or(planner::hotspots::DEFAULT_CELL_M),
        window: window.clone().unwrap_or_else(|| "weekend-nights".into()),
        calendar: None,
        from: from.clone(),
        to: to.clone(),
        categories: category.iter().cloned().collect(),
        bbox: bbox.clone(),
        boundary: None,
    }
}

fn method_params(
    bandwidth: Option<f64>,
    distance: Option<f64>,
    half_life: Option<f64>,
) -> Result<MethodParams, AppError> {
    check_range("bandwidth", bandwidth, &RADIUS_RANGE)?;
    check_range("distance", distance, &RADIUS_RANGE)?;
    if half_life.is_some_and(|h| h.is_nan() || h <= 0.0) {
        return Err(AppError::Unprocessable(
            "half_life must be a positive number of days".into(),
        ));
    }
    Ok(MethodParams {
        bandwidth: bandwidth.unwrap_or(planner::hotspots::DEFAULT_BANDWIDTH_M),
        distance: distance.unwrap_or(planner::hotspots::DEFAULT_DISTANCE_M),
        half_life: half_life.unwrap_or(planner::hotspots::DEFAULT_HALF_LIFE_DAYS),
    })
}

/// Names the query parameters in messages written for the CLI's flags (`--window` ->
/// `window`).
pub(super) fn api_names(e: Failure) -> AppError {
    match e {
        Failure::Invalid(e) => {
            let mut text = format!("{e:#}");
            for (flag, param) in [
                ("--method", "method"),
                ("--window", "window"),
                ("--from", "from"),
                ("--to", "to"),
                ("--as-of", "as_of"),
                ("--category", "category"),
                ("--bbox", "bbox"),
            ] {
                text = text.replace(flag, param);
            }
            AppError::Unprocessable(text)
        }
        other => other.into(),
    }
}

/// Refuses grids too large to score over HTTP, and collects the selection's warnings.
pub(super) fn guard(
    warnings: &mut Vec<String>,
) -> impl FnMut(&Prepared) -> Result<(), Failure> + '_ {
    move |prepared| {
        if prepared.grid.len() > MAX_API_CELLS {
            return Err(Failure::Invalid(anyhow!(
                "the grid would have {} cells, more than the {} the API scores; use a larger cell or a smaller bbox",
                prepared.grid.len(),
                MAX_API_CELLS
            )));
        }
        warnings.extend(prepared.warnings.iter().cloned());
        Ok(())
    }
}

/// Adds the warnings to the `firefly` member and serialises.
fn finish(mut value: Value, warnings: Vec<String>) -> Result<Bytes, Failure> {
    if let Some(meta) = value.get_mut("firefly").and_then(Value::as_object_mut) {
        meta.insert("warnings".into(), Value::from(warnings));
    }
    Ok(Bytes::from(
        serde_json::to_vec(&value).map_err(|e| Failure::Other(e.into()))?,
    ))
}

pub(super) fn geojson_response(body: Bytes, hit: bool, encoding: Encoding) -> Response {
    let mut res = ([(header::CONTENT_TYPE, "application/geo+json")], body).into_response();
    let h = res.headers_mut();
    h.insert(
        "x-firefly-cache",
        HeaderValue::from_static(if hit { "hit" } else { "miss" }),
    );
    // Already compressed when cached: the compression layer leaves it alone.
    encoding.mark(h);
    res
}

/// Answers from the cache, or loads, computes (on a blocking thread, at most one run per
/// core at once), caches and answers. The plain body is cached, and beside it the body in
/// the client's coding, so a cache hit costs no compression (see [`super::encoding`]).
async fn cached<F>(
    state: &AppState,
    key: String,
    encoding: Encoding,
    needs_premises: bool,
    compute: F,
) -> Result<Response, AppError>
where
    F: FnOnce(&[planner::Incident], Vec<planner::Premises>) -> Result<Bytes, Failure>
        + Send
        + 'static,
{
    let version = state.versions.get(&state.db).await?.data;
    let (body, hit) = state
        .recompress
        .answer(&state.cache, &key, version, encoding, || {
            compute_cached(state, needs_premises, compute)
        })
        .await?;
    state
        .metrics
        .cache_hits
        .fetch_add(hit as u64, Ordering::Relaxed);
    Ok(geojson_response(body, hit, encoding))
}

async fn compute_cached<F>(
    state: &AppState,
    needs_premises: bool,
    compute: F,
) -> Result<Bytes, AppError>
where
    F: FnOnce(&[planner::Incident], Vec<planner::Premises>) -> Result<Bytes, Failure>
        + Send
        + 'static,
{
    state.metrics.cache_misses.fetch_add(1, Ordering::Relaxed);
    // The data is read after the caller read its version: an import in between makes the
    // entry look older than its data, so the next request recomputes; never newer.
    let (incidents, premises) = state
        .db
        .run(move |s| {
            let incidents = s.incidents()?;
            let premises = if needs_premises {
                s.premises()?
            } else {
                Vec::new()
            };
            Ok((incidents, premises))
        })
        .await?;
    let permit = state
        .compute
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let body = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        compute(&incidents, premises)
    })
    .await
    .map_err(|e| AppError::Internal(anyhow!("scoring task failed: {e}")))?
    .map_err(api_names)?;
    Ok(body)
}

/// Parses `method`.
fn parse_method(text: &Option<String>) -> Result<planner::hotspots::Method, AppError> {
    text.as_deref()
        .unwrap_or("kde")
        .parse()
        .map_err(|e| AppError::Unprocessable(format!("method: {e}")))
}

/// The zone request from the API's parameters (also the zone options of
/// `POST /api/v1/plans`), range-checked.
pub(super) fn zone_request(q: &ZoneQuery) -> Result<ZoneRequest, AppError> {
    check_range("cell", q.cell, &CELL_RANGE)?;
    check_range("max_radius", q.max_radius, &RADIUS_RANGE)?;
    check_range("hot_percent", q.hot_percent, &(0.01..=100.0))?;
    if q.max_zones.is_some_and(|n| !(1..=500).contains(&n)) {
        return Err(AppError::Unprocessable("max_zones must be 1 to 500".into()));
    }
    let params = method_params(q.bandwidth, q.distance, q.half_life)?;
    let req = ZoneRequest {
        method: parse_method(&q.method)?,
        params,
        hot_percent: q
            .hot_percent
            .unwrap_or(100.0 * planner::zones::DEFAULT_HOT_SHARE),
        max_radius: q.max_radius.unwrap_or(planner::zones::DEFAULT_MAX_RADIUS_M),
        max_zones: q.max_zones.unwrap_or(planner::zones::DEFAULT_MAX_ZONES),
        filters: filter_request(q.cell, &q.window, &q.from, &q.to, &q.category, &q.bbox),
    };
    req.filters
        .to_filters()
        .map_err(|e| api_names(Failure::Invalid(e)))?;
    Ok(req)
}

/// Scored grid cells (WGS84 GeoJSON, the contract's properties). Cached per parameters and
/// data version (`x-firefly-cache: hit|miss`).
#[utoipa::path(
    get,
    path = "/api/v1/hotspots",
    tag = "analysis",
    params(HotspotQuery),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "A FeatureCollection of cell Polygons (WGS84) with `id, col, row, x, y, count, weight, score, rank, percentile` (+ `z, p, q, class` for gistar) and a `firefly` member with the parameters", body = Object, content_type = "application/geo+json"),
        (status = 400, description = "Unknown query parameter", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn hotspots(
    State(state): State<AppState>,
    _who: Require<HotspotCells>,
    headers: HeaderMap,
    AppQuery(q): AppQuery<HotspotQuery>,
) -> Result<Response, AppError> {
    check_range("cell", q.cell, &CELL_RANGE)?;
    let params = method_params(q.bandwidth, q.distance, q.half_life)?;
    let req = HotspotRequest {
        method: parse_method(&q.method)?,
        params,
        as_of: q.as_of.clone(),
        harm: None,
        filters: filter_request(q.cell, &q.window, &q.from, &q.to, &q.category, &q.bbox),
        all_cells: q.all_cells.unwrap_or(false),
    };
    req.filters
        .to_filters()
        .map_err(|e| api_names(Failure::Invalid(e)))?;
    if let Some(d) = &req.as_of {
        crate::app::analysis::parse_date(d, true)
            .map_err(|e| AppError::Unprocessable(format!("as_of: {e:#}")))?;
    }
    let key = req.key();
    let config = state.config.clone();
    cached(
        &state,
        key,
        Encoding::negotiate(&headers),
        false,
        move |incidents, _| {
            let mut warnings = Vec::new();
            let result = hotspots::compute(&config, incidents, &req, &mut guard(&mut warnings))?;
            finish(hotspots::geojson(&result), warnings)
        },
    )
    .await
}

/// Patrol zones (WGS84 GeoJSON MultiPolygons, named after their venues, with risk by hour
/// of the week). Cached per parameters and data version.
#[utoipa::path(
    get,
    path = "/api/v1/zones",
    tag = "analysis",
    params(ZoneQuery),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "A FeatureCollection of zone MultiPolygons with `id, name, named_by, venues, centroid, reach_m, risk, risk_by_hour`", body = Object, content_type = "application/geo+json"),
        (status = 400, description = "Unknown query parameter", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a planner, officer or admin", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn zones(
    State(state): State<AppState>,
    _who: Require<Zones>,
    headers: HeaderMap,
    AppQuery(q): AppQuery<ZoneQuery>,
) -> Result<Response, AppError> {
    let req = zone_request(&q)?;
    let key = req.key();
    let config = state.config.clone();
    cached(
        &state,
        key,
        Encoding::negotiate(&headers),
        true,
        move |incidents, premises| {
            let mut warnings = Vec::new();
            let built = zones::build_from(
                &config,
                incidents,
                premises,
                &req,
                &mut guard(&mut warnings),
            )?;
            finish(zones::geojson(&built), warnings)
        },
    )
    .await
}
