//! Patrol zones: walkable clusters of hot cells, named after their venues. The typed
//! request ([`ZoneRequest`]) that `firefly zones`, `firefly plan`, `GET /api/v1/zones` and
//! `POST /api/v1/plans` build, the one function that scores and zones ([`build_from`]),
//! and the zones' GeoJSON.

use super::Failure;
use super::analysis::{self, Prepared};
use super::hotspots::{FilterRequest, MethodParams, method_name};
use crate::config::Config;
use anyhow::anyhow;
use planner::hotspots::profile::ProfileSource;
use planner::hotspots::{Method, ScoringParams, method_scores, weights};
use planner::zones::{HotCells, NameSource, ZoneInput, ZoneParams, ZoneSet, ZoneVenue};
use serde::Serialize;
use serde_json::{Value, json};

/// How zones are formed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZoneRequest {
    /// Scoring method whose hot cells form the zones.
    #[serde(serialize_with = "method_name")]
    pub method: Method,
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
            method: Method::Kde,
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
    let score = super::hotspots::work(req.method, &req.params, prepared);
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
}

/// Scores the incidents and forms the zones around the premises: what `firefly zones`,
/// `firefly plan` and the HTTP API's `/api/v1/zones` share. `on_prepared` sees the
/// selection before scoring starts.
pub fn build_from(
    config: &Config,
    incidents: &[planner::Incident],
    premises: Vec<planner::Premises>,
    req: &ZoneRequest,
    on_prepared: &mut dyn FnMut(&Prepared) -> Result<(), Failure>,
) -> Result<Built, Failure> {
    let filters = req.filters.to_filters().map_err(Failure::Invalid)?;
    let method = req.method;
    let prepared = analysis::prepare(config, incidents, &filters).map_err(Failure::Invalid)?;
    on_prepared(&prepared)?;
    let mut params = ScoringParams::new(
        prepared.latest.unwrap_or_else(jiff::Timestamp::now),
        config.tz.clone(),
    );
    req.params.apply(&mut params);
    let grid = prepared.grid().map_err(Failure::Invalid)?;
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
            "as_of": built.params.as_of.to_string(),
            "crs": format!("EPSG:{}", built.prepared.crs.kind().epsg()),
            "n_hot_cells": built.zones.n_hot_cells,
            "n_clusters": built.zones.n_clusters,
            "zones_beyond_cap": built.zones.capped.pieces,
            "generated_at": jiff::Timestamp::now().to_string(),
        }
    })
}
