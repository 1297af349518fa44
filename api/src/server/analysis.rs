//! `GET /api/v1/hotspots` and `GET /api/v1/zones`: the query parameters (the CLI flags'
//! names and defaults) translated into the application layer's requests
//! ([`HotspotRequest`], [`ZoneRequest`]), answered by `app::hotspots::compute` and
//! `app::zones::build_from` with the same GeoJSON as the CLI. Results are cached per
//! (request, data version); see `cache`.
//!
//! Parameters that name server files (`--calendar`, `--boundary`, `--harm`) are not offered:
//! the study area is the bbox if given, else the configured force boundary, else the data's
//! own. Scoring is sparse (no dense grid to cap); the work of a request (cells held and
//! written included) is capped at [`hotspots::WORK_BUDGET`] kernel evaluations and its answer at
//! [`hotspots::MAX_FEATURES`] features (422 before scoring, or before answering); each user
//! may start [`super::cache::MISSES_PER_MINUTE`] computations a minute (429 beyond).
//!
//! Small numbers. Roles without incident-point access ([`IncidentPoints`]: officers,
//! liaison) get aggregates only, so that no sequence of requests rebuilds the points
//! `/api/v1/incidents` keeps for planners ([`Disclosure::Aggregate`]):
//! - hotspots: cells of at least [`MIN_AGGREGATE_CELL_M`] (the default for them; smaller is
//!   422), dates only as whole calendar months and both ends given, windows of whole hours
//!   and at least an hour; in the answer, cells holding fewer than [`MIN_COUNT`] incidents
//!   are left out entirely (a cell with a suppressed count but its score or weight would
//!   still say "one incident here"; a hole among drawn cells would too, so cells with no
//!   incident are left out as well), and the counts kept are rounded to the nearest
//!   [`ROUND_TO`] (ONS-style small-number suppression) with `weight` removed (a harm x
//!   recency sum tells the count). `score`, `rank` and `percentile` stay: the map draws them.
//! - zones: the server's preset only (the defaults: KDE, weekend nights, every date, the
//!   planner's cell); only `bbox` and `max_zones` may be given. Zone risk is a KDE sum over
//!   many cells and nights.
//!
//! The answer says so in `firefly.disclosure`, and the cache keeps the two classes apart.
//!
//! Every hotspot and zone read is audited (`hotspots.read`, `zones.read`) with its
//! parameters, its disclosure class and whether the cache answered, committed before the
//! answer leaves, cache hits included.

use super::auth::Require;
use super::encoding::Encoding;
use super::error::{AppError, AppQuery};
use super::policy::{HotspotCells, IncidentPoints, Policy, Zones};
use super::state::AppState;
use crate::app::Failure;
use crate::app::analysis::Prepared;
use crate::app::dataset::Dataset;
use crate::app::hotspots::{self, FilterRequest, HotspotRequest, MethodParams};
use crate::app::validation;
use crate::app::zones::{self, ZoneMethod, ZoneRequest};
use anyhow::anyhow;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use std::sync::atomic::Ordering;

/// Cell sizes accepted over HTTP, metres.
pub const CELL_RANGE: std::ops::RangeInclusive<f64> = 10.0..=5_000.0;
/// Bandwidths and distances accepted over HTTP, metres.
pub const RADIUS_RANGE: std::ops::RangeInclusive<f64> = 1.0..=10_000.0;

/// Smallest cell, metres, for roles without incident-point access.
pub const MIN_AGGREGATE_CELL_M: f64 = 100.0;
/// Cells with fewer incidents than this are left out of aggregate answers.
pub const MIN_COUNT: u64 = 5;
/// Counts in aggregate answers are rounded to a multiple of this.
pub const ROUND_TO: u64 = 5;

/// What a role may learn from an analysis answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    /// Exact cells and counts: roles that may see the incident points anyway.
    Points,
    /// Aggregates only: see the module's docs.
    Aggregate,
}

impl Disclosure {
    pub fn of(role: crate::roles::Role) -> Disclosure {
        if IncidentPoints::allows(role) {
            Disclosure::Points
        } else {
            Disclosure::Aggregate
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Disclosure::Points => "points",
            Disclosure::Aggregate => "aggregate",
        }
    }
}

/// The aggregate rules for a hotspot request (see the module's docs): 422 naming the rule.
fn check_aggregate(req: &HotspotRequest, role: crate::roles::Role) -> Result<(), AppError> {
    let refuse = |what: String| {
        Err(AppError::Unprocessable(format!(
            "{what}: the {role} role sees aggregates only (finer answers need incident-point access)"
        )))
    };
    if req.filters.cell < MIN_AGGREGATE_CELL_M {
        return refuse(format!(
            "cell must be at least {MIN_AGGREGATE_CELL_M} m, not {}",
            req.filters.cell
        ));
    }
    let filters = req
        .filters
        .to_filters()
        .map_err(|e| api_names(Failure::Invalid(e)))?;
    match (filters.from, filters.to) {
        (None, None) => {}
        (Some(from), Some(to)) => {
            let whole = from.day() == 1 && to.tomorrow().is_ok_and(|d| d.day() == 1) && from <= to;
            if !whole {
                return refuse(format!(
                    "from and to must span whole calendar months (from the 1st, to the last day, e.g. from=2024-01&to=2024-03), not {from} to {to}"
                ));
            }
        }
        _ => {
            return refuse(
                "from and to must be given together, as whole calendar months (e.g. from=2024-01&to=2024-03)".into(),
            );
        }
    }
    for r in filters.window.ranges() {
        let length = if r.end > r.start {
            r.end - r.start
        } else {
            r.end + 1440 - r.start
        };
        if r.start % 60 != 0 || r.end % 60 != 0 || length < 60 {
            return refuse(format!(
                "window ranges must be whole hours, at least one hour long (e.g. fri@22:00-23:00), not {:02}:{:02}-{:02}:{:02}",
                r.start / 60,
                r.start % 60,
                r.end / 60,
                r.end % 60
            ));
        }
    }
    Ok(())
}

/// Small-number suppression of a hotspot answer (see the module's docs).
fn aggregate_extras(result: &hotspots::Hotspots) -> hotspots::GeoJsonExtras {
    let left_out = result
        .scored
        .cells
        .iter()
        .filter(|c| u64::from(c.count) < MIN_COUNT)
        .count();
    let mut extras = hotspots::GeoJsonExtras {
        aggregate: Some((MIN_COUNT as u32, ROUND_TO as u32)),
        ..Default::default()
    };
    {
        let meta = &mut extras.firefly;
        meta.insert(
            "disclosure".into(),
            serde_json::json!({
                "class": "aggregate",
                "min_count": MIN_COUNT,
                "counts_rounded_to": ROUND_TO,
                "cells_left_out": left_out,
                "note": format!("cells with fewer than {MIN_COUNT} incidents are left out; counts are rounded to the nearest {ROUND_TO}; weight is withheld"),
            }),
        );
    }
    extras
}

/// Hotspot parameters: the CLI's flags, by the same names (`half_life` for `--half-life`).
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HotspotQuery {
    /// `count`, `kde` (default), `gistar`, `prospective` or `ensemble`.
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
    /// Carry the validation on held-out periods in `firefly.validation` (default true).
    pub validation: Option<bool>,
}

/// Zone parameters: the CLI's flags, by the same names.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ZoneQuery {
    /// Scoring method whose hot cells form the zones: `auto` (default: kde or ensemble,
    /// whichever validates better on the latest held-out periods) or a method's name.
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

/// Refuses requests whose estimated `work` (kernel evaluations, see [`hotspots::work`]) is
/// over [`hotspots::WORK_BUDGET`], before any scoring; collects the selection's warnings.
pub(super) fn guard<'a>(
    warnings: &'a mut Vec<String>,
    work: impl Fn(&Prepared) -> f64 + 'a,
) -> impl FnMut(&Prepared) -> Result<(), Failure> + 'a {
    move |prepared| {
        let work = work(prepared);
        if work > hotspots::WORK_BUDGET {
            return Err(Failure::Invalid(anyhow!(
                "this request would cost about {work:.1e} kernel evaluations, more than the {:.0e} the API computes at once; use a larger cell, a smaller bandwidth, distance or bbox, or fewer hot cells",
                hotspots::WORK_BUDGET
            )));
        }
        warnings.extend(prepared.warnings.iter().cloned());
        Ok(())
    }
}

/// Refuses answers with more than [`hotspots::MAX_FEATURES`] features.
fn check_features(n: usize) -> Result<(), Failure> {
    if n > hotspots::MAX_FEATURES {
        return Err(Failure::Invalid(anyhow!(
            "the answer would hold {n} features, more than the {} the API sends; use a larger cell, a smaller bbox, or leave all_cells off",
            hotspots::MAX_FEATURES
        )));
    }
    Ok(())
}

/// Runs `f` on a blocking thread holding one of the compute permits (at most one heavy
/// computation per core at once): scoring, zones, plans, venue risk, impact figures.
pub(super) async fn under_compute<T, F>(state: &AppState, f: F) -> Result<T, AppError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    state.compute_cancellable(f).await
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
/// The answer is audited as `audit` (with `cache: hit|miss` added to its detail),
/// committed before it leaves.
async fn cached<F>(
    state: &AppState,
    key: String,
    encoding: Encoding,
    needs_premises: bool,
    user: i64,
    mut audit: crate::storage::AuditEntry,
    compute: F,
) -> Result<Response, AppError>
where
    F: FnOnce(&Dataset, Vec<planner::Premises>) -> Result<Bytes, Failure> + Send + 'static,
{
    let version = state.versions.get(&state.db).await?.data;
    let (body, hit) = state
        .recompress
        .answer(&state.cache, &key, version, encoding, || {
            compute_cached(state, version, Some(user), needs_premises, compute)
        })
        .await?;
    state
        .metrics
        .cache_hits
        .fetch_add(hit as u64, Ordering::Relaxed);
    if let Some(detail) = audit.detail.as_mut().and_then(Value::as_object_mut) {
        detail.insert(
            "cache".into(),
            Value::from(if hit { "hit" } else { "miss" }),
        );
    }
    state.audit.append(&state.db, audit).await?;
    Ok(geojson_response(body, hit, encoding))
}

async fn compute_cached<F>(
    state: &AppState,
    version: i64,
    user: Option<i64>,
    needs_premises: bool,
    compute: F,
) -> Result<Bytes, AppError>
where
    F: FnOnce(&Dataset, Vec<planner::Premises>) -> Result<Bytes, Failure> + Send + 'static,
{
    if let Some(user) = user
        && let Err(retry_after) = state.misses.take(user)
    {
        return Err(AppError::TooManyRequests {
            detail: format!(
                "at most {} new analyses a minute per user (answers already computed are not counted); try again in {retry_after} s",
                super::cache::MISSES_PER_MINUTE
            ),
            retry_after,
        });
    }
    state.metrics.cache_misses.fetch_add(1, Ordering::Relaxed);
    // The data is read after the caller read its version: an import in between makes the
    // entry look older than its data, so the next request recomputes; never newer.
    let data = state.datasets.get(state, version).await?;
    let premises = if needs_premises {
        state.db.run(|s| s.premises()).await?
    } else {
        Vec::new()
    };
    under_compute(state, move || compute(&data, premises))
        .await?
        .map_err(api_names)
}

/// Parses a zone `method` (`auto` by default).
fn parse_zone_method(text: &Option<String>) -> Result<ZoneMethod, AppError> {
    text.as_deref()
        .unwrap_or("auto")
        .parse()
        .map_err(|e| AppError::Unprocessable(format!("method: {e}")))
}

/// Parses `method`.
fn parse_method(text: &Option<String>) -> Result<planner::hotspots::Method, AppError> {
    text.as_deref()
        .unwrap_or("kde")
        .parse()
        .map_err(|e| AppError::Unprocessable(format!("method: {e}")))
}

/// Roles without incident-point access get the preset zones only: every parameter but
/// `bbox` and `max_zones` is refused.
fn check_zone_preset(q: &ZoneQuery, role: crate::roles::Role) -> Result<(), AppError> {
    let given: Vec<&str> = [
        ("method", q.method.is_some()),
        ("cell", q.cell.is_some()),
        ("bandwidth", q.bandwidth.is_some()),
        ("distance", q.distance.is_some()),
        ("half_life", q.half_life.is_some()),
        ("hot_percent", q.hot_percent.is_some()),
        ("max_radius", q.max_radius.is_some()),
        ("window", q.window.is_some()),
        ("from", q.from.is_some()),
        ("to", q.to.is_some()),
        ("category", q.category.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    if given.is_empty() {
        return Ok(());
    }
    Err(AppError::Unprocessable(format!(
        "the {role} role gets the preset zones only (bbox and max_zones may be given), not {}: other zones need incident-point access",
        given.join(", ")
    )))
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
        method: parse_zone_method(&q.method)?,
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
    who: Require<HotspotCells>,
    headers: HeaderMap,
    AppQuery(q): AppQuery<HotspotQuery>,
) -> Result<Response, AppError> {
    check_range("cell", q.cell, &CELL_RANGE)?;
    let disclosure = Disclosure::of(who.user.role);
    let params = method_params(q.bandwidth, q.distance, q.half_life)?;
    let mut filters = filter_request(q.cell, &q.window, &q.from, &q.to, &q.category, &q.bbox);
    if disclosure == Disclosure::Aggregate && q.cell.is_none() {
        filters.cell = MIN_AGGREGATE_CELL_M;
    }
    let req = HotspotRequest {
        method: parse_method(&q.method)?,
        params,
        as_of: q.as_of.clone(),
        harm: None,
        filters,
        all_cells: q.all_cells.unwrap_or(false),
    };
    req.filters
        .to_filters()
        .map_err(|e| api_names(Failure::Invalid(e)))?;
    if let Some(d) = &req.as_of {
        crate::app::analysis::parse_date(d, true)
            .map_err(|e| AppError::Unprocessable(format!("as_of: {e:#}")))?;
    }
    if disclosure == Disclosure::Aggregate {
        check_aggregate(&req, who.user.role)?;
    }
    // The two classes never share an entry: a planner's exact answer is not an officer's.
    let key = format!("{}|{}", req.key(), disclosure.as_str());
    let audit = who.audit(
        "hotspots.read",
        "hotspots",
        serde_json::json!({
            "request": serde_json::to_value(&req).unwrap_or_default(),
            "disclosure": disclosure.as_str(),
        }),
    );
    let config = state.config.clone();
    let validate = q.validation.unwrap_or(true);
    let version = state.versions.get(&state.db).await?.data;
    let memo = state.cache.clone();
    // A viewport's block is the whole area's: computed once per data version, in the
    // background, so that no viewport waits for it. Until it is there, answers say it is
    // pending and are cached apart, so the first request after it is ready gets it.
    let area_key = validate.then(|| validation_key(&req));
    let pending = req.filters.bbox.is_some()
        && area_key
            .as_ref()
            .is_some_and(|k| memo.get(k, version).is_none());
    if pending && let Some(area_key) = &area_key {
        validate_in_background(&state, version, area_key.clone(), req.clone());
    }
    let key = format!(
        "{key}|validation={validate}{}",
        if pending { "|pending" } else { "" }
    );
    cached(
        &state,
        key,
        Encoding::negotiate(&headers),
        false,
        who.user.id,
        audit,
        move |data, _| {
            let mut warnings = Vec::new();
            let for_work = req.clone();
            // Without a bbox the validation runs on this very grid: count its scorings.
            let scorings = if validate && req.filters.bbox.is_none() {
                validation::SCORINGS
            } else {
                1.0
            };
            let mut result = hotspots::compute(
                &config,
                data,
                &req,
                &mut guard(&mut warnings, |p| {
                    hotspots::request_work(&for_work, p) * scorings
                }),
            )?;
            check_features(result.scored.cells.len())?;
            if let Some(area_key) = area_key {
                result.validation = Some(if req.filters.bbox.is_none() {
                    // This answer's own grid is the whole area: its block serves every
                    // viewport of the same request too.
                    let block = validation::of(&result);
                    if let Ok(body) = serde_json::to_vec(&block) {
                        memo.put(area_key, version, Bytes::from(body));
                    }
                    block
                } else {
                    memo.get(&area_key, version)
                        .and_then(|body| serde_json::from_slice(&body).ok())
                        .unwrap_or_else(pending_block)
                });
            }
            let mut extras = hotspots::GeoJsonExtras::default();
            if disclosure == Disclosure::Aggregate {
                extras = aggregate_extras(&result);
            }
            extras
                .firefly
                .insert("warnings".into(), Value::from(warnings));
            Ok(Bytes::from(
                hotspots::geojson_bytes(&result, &extras).map_err(Failure::Other)?,
            ))
        },
    )
    .await
}

/// The request whose validation block every viewport of `req` shares: the study area
/// without the viewport's bbox (the forecast is for the area, the bbox only where the map
/// looks), and its key in the result cache.
fn validation_area(req: &HotspotRequest) -> HotspotRequest {
    let mut area = req.clone();
    area.filters.bbox = None;
    area.all_cells = false;
    area
}

fn validation_key(req: &HotspotRequest) -> String {
    format!("validation|{}", validation_area(req).key())
}

/// The block a viewport carries while its area's block is being computed.
fn pending_block() -> Value {
    serde_json::json!({
        "available": false,
        "pending": true,
        "reason": "the validation of the whole study area is being computed for this data; ask again in a few seconds",
    })
}

/// Computes the validation block of `req`'s whole area into the result cache, under
/// `key`, unless that is already under way. Runs under a compute permit like any analysis.
fn validate_in_background(state: &AppState, version: i64, key: String, req: HotspotRequest) {
    {
        let mut running = state.validating.lock().unwrap_or_else(|e| e.into_inner());
        if !running.insert(key.clone()) {
            return;
        }
    }
    let state = state.clone();
    tokio::spawn(async move {
        let outcome = async {
            let data = state.datasets.get(&state, version).await?;
            let (config, memo, key) = (state.config.clone(), state.cache.clone(), key.clone());
            state
                .compute_cancellable(move || {
                    let area = validation_area(&req);
                    let (method, params) = (area.method, area.params.clone());
                    let mut ignored = Vec::new();
                    let value = validation::for_request(
                        &config,
                        &data,
                        &area,
                        &mut guard(&mut ignored, |p| {
                            hotspots::work(method, &params, p) * validation::PERIODS
                        }),
                    );
                    if let Ok(body) = serde_json::to_vec(&value) {
                        memo.put(key, version, Bytes::from(body));
                    }
                })
                .await
        };
        if let Err(e) = outcome.await {
            tracing::warn!(error = ?e, "validating a study area in the background failed");
        }
        let mut running = state.validating.lock().unwrap_or_else(|e| e.into_inner());
        running.remove(&key);
    });
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
    who: Require<Zones>,
    headers: HeaderMap,
    AppQuery(q): AppQuery<ZoneQuery>,
) -> Result<Response, AppError> {
    let disclosure = Disclosure::of(who.user.role);
    if disclosure == Disclosure::Aggregate {
        check_zone_preset(&q, who.user.role)?;
    }
    let req = zone_request(&q)?;
    // Preset zones are the same for every role: one entry.
    let key = req.key();
    let audit = who.audit(
        "zones.read",
        "zones",
        serde_json::json!({
            "request": serde_json::to_value(&req).unwrap_or_default(),
            "disclosure": disclosure.as_str(),
        }),
    );
    let config = state.config.clone();
    cached(
        &state,
        key,
        Encoding::negotiate(&headers),
        true,
        who.user.id,
        audit,
        move |data, premises| {
            let mut warnings = Vec::new();
            let for_work = req.clone();
            let built = zones::build_from(
                &config,
                data,
                premises,
                &req,
                &mut guard(&mut warnings, |p| zones::work(&for_work, p)),
            )?;
            check_features(built.zones.zones.len())?;
            finish(zones::geojson(&built), warnings)
        },
    )
    .await
}
