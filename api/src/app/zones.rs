//! Patrol zones: walkable clusters of hot cells, named after their venues. The typed
//! request ([`ZoneRequest`]) that `firefly zones`, `firefly plan`, `GET /api/v1/zones` and
//! `POST /api/v1/plans` build, the one function that scores and zones ([`build_from`]),
//! and the zones' GeoJSON.

use super::Failure;
use super::analysis::{self, Prepared};
use super::hotspots::{FilterRequest, MethodParams};
use crate::config::Config;
use anyhow::anyhow;
use planner::backtest::ValidationSpec;
use planner::hotspots::profile::ProfileSource;
use planner::hotspots::{Method, ScoringParams, method_scores, weights};
use planner::window::WindowSpec;
use planner::zones::{HotCells, NameSource, ZoneInput, ZoneParams, ZoneSet, ZoneVenue};
use serde::Serialize;
use serde_json::{Value, json};

/// The method whose hot cells form the zones: one named, or `auto`, the candidate that
/// validates best on the most recent held-out periods ([`choose_method`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZoneMethod {
    Auto,
    Fixed(Method),
}

impl ZoneMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ZoneMethod::Auto => "auto",
            ZoneMethod::Fixed(m) => m.as_str(),
        }
    }
}

impl std::str::FromStr for ZoneMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim().eq_ignore_ascii_case("auto") {
            return Ok(ZoneMethod::Auto);
        }
        s.parse::<Method>()
            .map(ZoneMethod::Fixed)
            .map_err(|e| format!("{e}, or auto"))
    }
}

impl Serialize for ZoneMethod {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What `auto` compares: the classical default and the fitted forecast.
pub const AUTO_CANDIDATES: [Method; 2] = [Method::Kde, Method::Ensemble];

/// The coverage the choice is made at, percent of the study area: about what a night's
/// zones cover.
pub const CHOICE_COVERAGE: f64 = 1.0;

/// Which method `auto` chose, and why: each candidate's mean PAI at [`CHOICE_COVERAGE`] on
/// the held-out periods (`None`: not validated).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodChoice {
    #[serde(serialize_with = "super::hotspots::method_name")]
    pub method: Method,
    pub reason: String,
    pub coverage: f64,
    pub periods: usize,
    pub candidates: Vec<CandidateScore>,
}

/// One candidate of a [`MethodChoice`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CandidateScore {
    #[serde(serialize_with = "super::hotspots::method_name")]
    pub method: Method,
    pub pai_mean: Option<f64>,
    pub pai_sd: Option<f64>,
}

/// Validates each of [`AUTO_CANDIDATES`] on the most recent held-out periods of the
/// selection (`planner::backtest::validate`: each period scored from the year before it
/// only) and picks the one with the highest mean PAI at [`CHOICE_COVERAGE`]. The first
/// candidate (KDE) wins ties and stands when nothing could be validated (less than two
/// months of history), and the reason says so.
pub fn choose_method(
    points: &[planner::hotspots::ScoringPoint],
    grid: &planner::hotspots::grid::Grid,
    params: &ScoringParams,
    window: &WindowSpec,
) -> MethodChoice {
    let mut spec = ValidationSpec::new(window.clone());
    spec.coverages = vec![CHOICE_COVERAGE];
    let mut periods = 0;
    let candidates: Vec<CandidateScore> = AUTO_CANDIDATES
        .iter()
        .map(|&method| {
            let v = planner::backtest::validate(points, grid, params, method, &spec);
            let pai = v.ok().and_then(|v| {
                periods = periods.max(v.periods.len());
                v.rows.first().and_then(|r| r.method.pai)
            });
            CandidateScore {
                method,
                pai_mean: pai.map(|s| s.mean),
                pai_sd: pai.and_then(|s| s.sd),
            }
        })
        .collect();
    let best = candidates
        .iter()
        .filter_map(|c| c.pai_mean.map(|m| (c.method, m)))
        .fold(None, |best: Option<(Method, f64)>, (m, pai)| match best {
            Some((_, b)) if b >= pai => best,
            _ => Some((m, pai)),
        });
    let (method, reason) = match best {
        Some((m, pai)) => {
            let others: Vec<String> = candidates
                .iter()
                .filter(|c| c.method != m)
                .map(|c| match c.pai_mean {
                    Some(p) => format!("{} {p:.1}", c.method.as_str()),
                    None => format!("{} not validated", c.method.as_str()),
                })
                .collect();
            (
                m,
                format!(
                    "{} caught the most of the next period's incidents in the top {CHOICE_COVERAGE} % of the area over the {periods} latest held-out periods: PAI {pai:.1} against {}",
                    m.as_str(),
                    others.join(", ")
                ),
            )
        }
        None => (
            AUTO_CANDIDATES[0],
            format!(
                "{}: too little history to validate a forecast (at least two months are needed)",
                AUTO_CANDIDATES[0].as_str()
            ),
        ),
    };
    MethodChoice {
        method,
        reason,
        coverage: CHOICE_COVERAGE,
        periods,
        candidates,
    }
}

/// How zones are formed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneRequest {
    /// Scoring method whose hot cells form the zones, or `auto`.
    pub method: ZoneMethod,
    pub params: MethodParams,
    /// Share of the study area's cells that count as hot, percent.
    pub hot_percent: f64,
    /// Walkable size: no point of a zone further than this from its centre, metres.
    pub max_radius: f64,
    /// Keep at most this many zones, highest risk first.
    pub max_zones: usize,
    pub filters: FilterRequest,
}

impl Default for ZoneRequest {
    fn default() -> Self {
        ZoneRequest {
            method: ZoneMethod::Auto,
            params: MethodParams::default(),
            hot_percent: 100.0 * planner::zones::DEFAULT_HOT_SHARE,
            max_radius: planner::zones::DEFAULT_MAX_RADIUS_M,
            max_zones: planner::zones::DEFAULT_MAX_ZONES,
            filters: FilterRequest::default(),
        }
    }
}

impl ZoneRequest {
    /// A cache key for the request: its serialised form.
    pub fn key(&self) -> String {
        format!("zones|{}", serde_json::to_string(self).unwrap_or_default())
    }
}

/// The work of forming zones on `prepared`'s grid, in the units of [`super::hotspots::work`]:
/// the scoring, then k-means on the hot cells, with k the walkable pieces they need
/// (hot area / the area of a zone of `max_radius`), each round visiting every hot cell
/// for every centre, at most 100 rounds.
pub fn work(req: &ZoneRequest, prepared: &Prepared) -> f64 {
    let score = match req.method {
        ZoneMethod::Fixed(m) => super::hotspots::work(m, &req.params, prepared),
        // Each candidate over the held-out periods, then the chosen one.
        ZoneMethod::Auto => {
            AUTO_CANDIDATES
                .iter()
                .map(|&m| super::hotspots::work(m, &req.params, prepared))
                .sum::<f64>()
                * super::validation::SCORINGS
        }
    };
    let cell = prepared.area.cell_size();
    let hot = (req.hot_percent / 100.0 * prepared.area.len() as f64).max(1.0);
    let piece = std::f64::consts::PI * req.max_radius.max(1.0).powi(2);
    let k = (hot * cell * cell / piece).max(1.0);
    score + hot * k * 100.0
}

/// Zones with everything needed to print them.
pub struct Built {
    pub prepared: Prepared,
    pub zones: ZoneSet,
    pub params: ScoringParams,
    pub method: Method,
    /// Why `auto` chose `method` (`None` when the request named it).
    pub choice: Option<MethodChoice>,
}

/// Scores the incidents and forms the zones around the premises: what `firefly zones`,
/// `firefly plan` and the HTTP API's `/api/v1/zones` share. `on_prepared` sees the
/// selection before scoring starts.
pub fn build_from(
    config: &Config,
    data: &super::dataset::Dataset,
    premises: Vec<planner::Premises>,
    req: &ZoneRequest,
    on_prepared: &mut dyn FnMut(&Prepared) -> Result<(), Failure>,
) -> Result<Built, Failure> {
    let filters = req.filters.to_filters().map_err(Failure::Invalid)?;
    let prepared = analysis::prepare(config, data, &filters).map_err(Failure::Invalid)?;
    on_prepared(&prepared)?;
    let mut params = ScoringParams::new(
        prepared.latest.unwrap_or_else(jiff::Timestamp::now),
        config.tz.clone(),
    );
    req.params.apply(&mut params);
    let grid = prepared.grid().map_err(Failure::Invalid)?;
    let (method, choice) = match req.method {
        ZoneMethod::Fixed(m) => (m, None),
        ZoneMethod::Auto => {
            let choice = choose_method(&prepared.points, grid, &params, &filters.window);
            (choice.method, Some(choice))
        }
    };
    let weighed = weights::weigh(grid, &prepared.points, &params);
    let totals = weights::cell_totals(grid, &weighed.points);
    let scores = method_scores(method, grid, &weighed, &totals, &params)
        .map_err(|e| Failure::Invalid(anyhow!("{e}")))?;
    let venues: Vec<ZoneVenue> = premises
        .into_iter()
        .filter_map(|p| {
            let q = prepared.crs.project(p.lon, p.lat).ok()?;
            Some(ZoneVenue {
                id: p.source_id,
                name: p.name,
                x: q.x,
                y: q.y,
                rank: None,
                harm: None,
            })
        })
        .collect();
    let zone_params = ZoneParams {
        hot: HotCells::TopShare(req.hot_percent / 100.0),
        max_radius_m: req.max_radius,
        max_zones: Some(req.max_zones),
        ..ZoneParams::default()
    };
    let input = ZoneInput {
        grid,
        scores: &scores.score,
        points: &weighed.points,
        tz: &config.tz,
        venues: &venues,
    };
    let zones = planner::zones::zones(&input, &zone_params)
        .map_err(|e| Failure::Invalid(anyhow!("{e}")))?;
    Ok(Built {
        prepared,
        zones,
        params,
        method,
        choice,
    })
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// A projected multipolygon as GeoJSON coordinates in WGS84 (orientation is kept).
pub fn wgs84_coordinates(built: &Built, shape: &geo::MultiPolygon<f64>) -> Value {
    let ring = |ls: &geo::LineString<f64>| -> Value {
        Value::Array(
            ls.0.iter()
                .map(|c| {
                    let (lon, lat) = built
                        .prepared
                        .crs
                        .unproject(c.x, c.y)
                        .unwrap_or((f64::NAN, f64::NAN));
                    json!([round(lon, 7), round(lat, 7)])
                })
                .collect(),
        )
    };
    Value::Array(
        shape
            .0
            .iter()
            .map(|p| {
                let mut rings = vec![ring(p.exterior())];
                rings.extend(p.interiors().iter().map(ring));
                Value::Array(rings)
            })
            .collect(),
    )
}

/// The zones as a FeatureCollection.
pub fn geojson(built: &Built) -> Value {
    let features: Vec<Value> = built
        .zones
        .zones
        .iter()
        .map(|z| {
            let (lon, lat) = built.prepared.crs.unproject(z.centroid.x, z.centroid.y).unwrap_or((f64::NAN, f64::NAN));
            let named_by = match &z.name_source {
                NameSource::Venue { id } => json!({"venue": id}),
                NameSource::NearVenue { id, distance_m } => json!({"near_venue": id, "distance_m": round(*distance_m, 0)}),
                NameSource::Cell { id } => json!({"cell": id}),
            };
            let profile = match z.profile_source {
                ProfileSource::Observed { incidents } => format!("observed from {incidents} timed incidents"),
                ProfileSource::Prior => planner::hotspots::prior::NTE_PRIOR_LABEL.to_string(),
            };
            json!({
                "type": "Feature",
                "id": z.id,
                "geometry": {"type": "MultiPolygon", "coordinates": wgs84_coordinates(built, &z.polygon)},
                "properties": {
                    "id": z.id, "name": z.name, "named_by": named_by, "top_cell": z.top_cell,
                    "cells": z.cells.len(), "venues": z.venues, "centroid": [round(lon, 7), round(lat, 7)],
                    "reach_m": round(z.reach_m, 1), "risk": z.total, "hour_profile": profile,
                    "risk_by_hour": z.risk_by_hour.to_vec(),
                }
            })
        })
        .collect();
    json!({
        "type": "FeatureCollection",
        "features": features,
        "firefly": {
            "method": built.method.as_str(),
            "method_choice": built.choice,
            "as_of": built.params.as_of.to_string(),
            "crs": format!("EPSG:{}", built.prepared.crs.kind().epsg()),
            "n_hot_cells": built.zones.n_hot_cells,
            "n_clusters": built.zones.n_clusters,
            "zones_beyond_cap": built.zones.capped.pieces,
            "generated_at": jiff::Timestamp::now().to_string(),
        }
    })
}
