//! `firefly zones`: patrol zones (walkable clusters of hot cells, named after their venues)
//! as WGS84 GeoJSON. The `plan` command builds its zones the same way.

use super::Failure;
use super::hotspots::{FilterArgs, MethodArgs};
use crate::analysis::{self, Filters, Prepared};
use crate::config::Config;
use crate::storage::Store;
use anyhow::{Context, anyhow};
use clap::Args;
use planner::hotspots::profile::ProfileSource;
use planner::hotspots::{Method, ScoringParams, method_scores, weights};
use planner::zones::{HotCells, NameSource, ZoneInput, ZoneParams, ZoneSet, ZoneVenue};
use serde_json::{Value, json};
use std::path::PathBuf;

/// How zones are formed; shared by `zones` and `plan`.
#[derive(Args, Debug, Clone)]
pub struct ZoneArgs {
    /// Scoring method whose hot cells form the zones.
    #[arg(long, default_value = "kde")]
    pub method: String,
    #[command(flatten)]
    pub method_params: MethodArgs,
    /// Share of the study area's cells that count as hot, percent.
    #[arg(long, default_value_t = 100.0 * planner::zones::DEFAULT_HOT_SHARE)]
    pub hot_percent: f64,
    /// Walkable size: no point of a zone further than this from its centre, metres.
    #[arg(long, default_value_t = planner::zones::DEFAULT_MAX_RADIUS_M)]
    pub max_radius: f64,
    /// Keep at most this many zones, highest risk first.
    #[arg(long, default_value_t = planner::zones::DEFAULT_MAX_ZONES)]
    pub max_zones: usize,
    #[command(flatten)]
    pub filters: FilterArgs,
}

#[derive(Args)]
pub struct ZonesCmd {
    #[command(flatten)]
    pub zone: ZoneArgs,
    /// Output file (default: stdout).
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
}

/// Zones with everything needed to print them.
pub struct Built {
    pub prepared: Prepared,
    pub zones: ZoneSet,
    pub params: ScoringParams,
    pub method: Method,
}

impl ZoneArgs {
    /// The method and filters, checked.
    pub fn parsed(&self) -> Result<(Method, Filters), Failure> {
        let method: Method = self
            .method
            .parse()
            .map_err(|e| Failure::Invalid(anyhow!("--method: {e}")))?;
        let filters = self.filters.to_filters().map_err(Failure::Invalid)?;
        Ok((method, filters))
    }
}

/// Loads incidents and premises, scores, and forms the zones.
pub fn build(config: &Config, args: &ZoneArgs) -> Result<Built, Failure> {
    let (method, filters) = args.parsed()?;
    let store = Store::open(&config.db)?;
    let incidents = store.incidents()?;
    let premises = store.premises()?;
    build_from(
        config,
        &incidents,
        premises,
        method,
        &filters,
        args,
        &mut |prepared| {
            for w in &prepared.warnings {
                eprintln!("firefly: warning: {w}");
            }
            eprintln!("{}", super::hotspots::selection_report(prepared));
            Ok(())
        },
    )
}

/// Scores the incidents and forms the zones around the premises: what `firefly zones`,
/// `firefly plan` and the HTTP API's `/api/v1/zones` share. `on_prepared` sees the
/// selection before scoring starts.
pub fn build_from(
    config: &Config,
    incidents: &[planner::Incident],
    premises: Vec<planner::Premises>,
    method: Method,
    filters: &Filters,
    args: &ZoneArgs,
    on_prepared: &mut dyn FnMut(&Prepared) -> Result<(), Failure>,
) -> Result<Built, Failure> {
    let prepared = analysis::prepare(config, incidents, filters).map_err(Failure::Invalid)?;
    on_prepared(&prepared)?;
    let mut params = ScoringParams::new(
        prepared.latest.unwrap_or_else(jiff::Timestamp::now),
        config.tz.clone(),
    );
    args.method_params.apply(&mut params);
    let weighed = weights::weigh(&prepared.grid, &prepared.points, &params);
    let totals = weights::cell_totals(&prepared.grid, &weighed.points);
    let scores = method_scores(method, &prepared.grid, &weighed, &totals, &params)
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
        hot: HotCells::TopShare(args.hot_percent / 100.0),
        max_radius_m: args.max_radius,
        max_zones: Some(args.max_zones),
        ..ZoneParams::default()
    };
    let input = ZoneInput {
        grid: &prepared.grid,
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

pub fn run(config: &Config, args: ZonesCmd) -> Result<(), Failure> {
    let built = build(config, &args.zone)?;
    let mut body = serde_json::to_string(&geojson(&built)).context("serialising zones")?;
    body.push('\n');
    match &args.output {
        Some(path) => std::fs::write(path, body)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{body}"),
    }
    eprintln!(
        "{} zones from {} hot cells ({} clusters; {} more zones beyond --max-zones)",
        built.zones.zones.len(),
        built.zones.n_hot_cells,
        built.zones.n_clusters,
        built.zones.capped.pieces
    );
    Ok(())
}
