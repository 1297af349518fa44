//! Scoring hotspots: the typed request ([`HotspotRequest`]) that `firefly hotspots` and
//! `GET /api/v1/hotspots` both build, the one function that filters, projects and scores
//! ([`compute`]), and the contract's GeoJSON and CSV of the result.

use super::Failure;
use super::analysis::{self, Categories, Filters, Prepared};
use crate::config::Config;
use anyhow::{Context, anyhow};
use planner::hotspots::{Method, Scored, ScoringParams};
use planner::window::{BusyCalendar, WindowSpec};
use serde::Serialize;
use serde_json::{Value, json};
use std::path::PathBuf;

/// The selection every analysis takes: the grid's cell, the time window, dates,
/// categories and the study area. Messages name the CLI's flags (`--window`); the server
/// renames them to its query parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilterRequest {
    /// Cell size in metres.
    pub cell: f64,
    /// `weekend-nights`, `all`, or `DAYS@HH:MM-HH:MM[;...]`.
    pub window: String,
    /// Busy-period calendar file (CLI only).
    pub calendar: Option<PathBuf>,
    /// First local date (YYYY-MM-DD or YYYY-MM).
    pub from: Option<String>,
    /// Last local date, inclusive.
    pub to: Option<String>,
    /// Category names (each may be comma-separated); `all`; none = the night-time economy.
    pub categories: Vec<String>,
    /// W,S,E,N in degrees.
    pub bbox: Option<String>,
    /// Boundary GeoJSON file (CLI only).
    pub boundary: Option<PathBuf>,
}

impl Default for FilterRequest {
    fn default() -> Self {
        FilterRequest {
            cell: planner::hotspots::DEFAULT_CELL_M,
            window: "weekend-nights".into(),
            calendar: None,
            from: None,
            to: None,
            categories: vec![],
            bbox: None,
            boundary: None,
        }
    }
}

impl FilterRequest {
    /// The filters, checked (reads the calendar file when one is named).
    pub fn to_filters(&self) -> anyhow::Result<Filters> {
        let mut window: WindowSpec = self
            .window
            .parse()
            .with_context(|| format!("--window {:?}", self.window))?;
        if let Some(path) = &self.calendar {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let calendar =
                BusyCalendar::parse(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
            window = window.with_calendar(calendar);
        }
        Ok(Filters {
            window,
            from: self
                .from
                .as_deref()
                .map(|d| analysis::parse_date(d, false))
                .transpose()
                .context("--from")?,
            to: self
                .to
                .as_deref()
                .map(|d| analysis::parse_date(d, true))
                .transpose()
                .context("--to")?,
            categories: Categories::from_args(&self.categories).context("--category")?,
            bbox: self.bbox.as_deref().map(analysis::parse_bbox).transpose()?,
            boundary: self.boundary.clone(),
            cell: self.cell,
        })
    }
}

/// The methods' radii and the recency half-life.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodParams {
    /// KDE bandwidth h in metres.
    pub bandwidth: f64,
    /// Gi* neighbourhood distance D in metres.
    pub distance: f64,
    /// Recency half-life in days.
    pub half_life: f64,
}

impl Default for MethodParams {
    fn default() -> Self {
        MethodParams {
            bandwidth: planner::hotspots::DEFAULT_BANDWIDTH_M,
            distance: planner::hotspots::DEFAULT_DISTANCE_M,
            half_life: planner::hotspots::DEFAULT_HALF_LIFE_DAYS,
        }
    }
}

impl MethodParams {
    /// Sets these parameters on `params`.
    pub fn apply(&self, params: &mut ScoringParams) {
        params.bandwidth = self.bandwidth;
        params.distance = self.distance;
        params.half_life_days = self.half_life;
    }
}

/// Serialises a method by its contract name (for cache keys).
pub(crate) fn method_name<S: serde::Serializer>(m: &Method, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(m.as_str())
}

/// Score the grid: `firefly hotspots`, `GET /api/v1/hotspots`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HotspotRequest {
    #[serde(serialize_with = "method_name")]
    pub method: Method,
    pub params: MethodParams,
    /// Ages are measured back from this local date (default: the latest incident).
    pub as_of: Option<String>,
    /// Harm table CSV (`category,weight`) file (CLI only); default: the built-in table.
    pub harm: Option<PathBuf>,
    pub filters: FilterRequest,
    /// Keep cells with zero score.
    pub all_cells: bool,
}

impl HotspotRequest {
    /// A cache key for the request: its serialised form.
    pub fn key(&self) -> String {
        format!(
            "hotspots|{}",
            serde_json::to_string(self).unwrap_or_default()
        )
    }
}

/// Most kernel evaluations one request may cost over HTTP (see [`work`]): about 2 to 5
/// seconds of one core at the ~1 ns a gathered bin or point costs in a release build. The
/// defaults over a whole force at 50 m cost ~1e7 (KDE) to ~1e8 (prospective).
pub const WORK_BUDGET: f64 = 2e9;
/// Most features (cells or zones) one answer over HTTP may hold.
pub const MAX_FEATURES: usize = 500_000;

/// The work of scoring `prepared`'s grid with `method`, in kernel evaluations: every
/// study-area cell gathers the bins, and every point is visited by the cells, within the
/// method's radius: (cells + points) x pi (radius / cell)^2 per radius-based pass. Count is
/// one pass over cells and points. A pure function of the request and the grid, checked
/// before anything is scored.
pub fn work(method: Method, params: &MethodParams, prepared: &Prepared) -> f64 {
    let cell = prepared.grid.cell_size().max(1e-9);
    let n = (prepared.grid.n_inside() + prepared.points.len()) as f64;
    let pass = |radius: f64| n * (std::f64::consts::PI * (radius / cell).powi(2)).max(1.0);
    let prospective = planner::hotspots::prospective::NearRepeat::default().max_distance;
    match method {
        Method::Count => n,
        Method::Kde => pass(params.bandwidth),
        Method::GiStar => pass(params.distance),
        // Prospective (its near-repeat reach), and any blend of the methods: every pass.
        _ => pass(params.bandwidth) + pass(params.distance) + pass(prospective),
    }
}

/// A scored grid with what produced it.
pub struct Hotspots {
    pub prepared: Prepared,
    pub scored: Scored,
    pub params: ScoringParams,
    pub filters: Filters,
    /// The answer's validation block ([`super::validation`]), when the caller asked for it.
    pub validation: Option<Value>,
}

/// Builds scoring parameters from the request.
pub fn params(
    config: &Config,
    prepared: &Prepared,
    req: &HotspotRequest,
) -> anyhow::Result<ScoringParams> {
    let as_of = match &req.as_of {
        Some(d) => analysis::parse_date(d, true)?
            .tomorrow()
            .map_err(|e| anyhow!("--as-of: {e}"))?
            .to_zoned(config.tz.clone())
            .context("--as-of")?
            .timestamp(),
        None => prepared.latest.unwrap_or_else(jiff::Timestamp::now),
    };
    let mut p = ScoringParams::new(as_of, config.tz.clone());
    req.params.apply(&mut p);
    p.all_cells = req.all_cells;
    if let Some(path) = &req.harm {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        p.harm = planner::harm::HarmTable::parse(&text)
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    }
    p.validate().map_err(|e| anyhow!("{e}"))?;
    Ok(p)
}

/// Filters, projects and scores `incidents`. `on_prepared` sees the selection before
/// scoring starts (to print its warnings, or to refuse a grid too large to score).
pub fn compute(
    config: &Config,
    incidents: &[planner::Incident],
    req: &HotspotRequest,
    on_prepared: &mut dyn FnMut(&Prepared) -> Result<(), Failure>,
) -> Result<Hotspots, Failure> {
    let filters = req.filters.to_filters().map_err(Failure::Invalid)?;
    let prepared = analysis::prepare(config, incidents, &filters).map_err(Failure::Invalid)?;
    on_prepared(&prepared)?;
    let params = params(config, &prepared, req).map_err(Failure::Invalid)?;
    let scored = planner::hotspots::score(req.method, &prepared.grid, &prepared.points, &params)
        .map_err(|e| Failure::Invalid(anyhow!("{e}")))?;
    Ok(Hotspots {
        prepared,
        scored,
        params,
        filters,
        validation: None,
    })
}

/// What the filters kept and left out, in one line.
pub fn selection_report(p: &Prepared) -> String {
    format!(
        "selected {} incidents in {}; left out: {} by category, {} by date, {} outside the time window, {} not projectable; {} month-only incidents count for place only",
        p.points.len(),
        p.crs.kind(),
        p.excluded_category,
        p.excluded_dates,
        p.excluded_window,
        p.unprojectable,
        p.place_only
    )
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// The cell's polygon in WGS84, counter-clockwise, closed.
fn cell_ring(prepared: &Prepared, col: i64, row: i64) -> Vec<Value> {
    let c = prepared.grid.cell_size();
    let (x0, y0) = (col as f64 * c, row as f64 * c);
    [
        (x0, y0),
        (x0 + c, y0),
        (x0 + c, y0 + c),
        (x0, y0 + c),
        (x0, y0),
    ]
    .iter()
    .map(|&(x, y)| {
        let (lon, lat) = prepared.crs.unproject(x, y).unwrap_or((f64::NAN, f64::NAN));
        json!([round(lon, 7), round(lat, 7)])
    })
    .collect()
}

/// The contract's hotspot FeatureCollection.
pub fn geojson(h: &Hotspots) -> Value {
    let (prepared, scored, params, filters) = (&h.prepared, &h.scored, &h.params, &h.filters);
    let features: Vec<Value> = scored
        .cells
        .iter()
        .map(|cell| {
            let mut props = json!({
                "id": cell.id, "col": cell.col, "row": cell.row,
                "x": round(cell.x, 2), "y": round(cell.y, 2),
                "count": cell.count, "weight": cell.weight, "score": cell.score,
                "rank": cell.rank, "percentile": round(cell.percentile, 4),
            });
            if let (Some(g), Some(map)) = (&cell.gistar, props.as_object_mut()) {
                map.insert("z".into(), json!(g.z));
                map.insert("p".into(), json!(g.p));
                map.insert("q".into(), json!(g.q));
                map.insert("class".into(), json!(g.class.as_str()));
            }
            json!({
                "type": "Feature",
                "id": cell.id,
                "geometry": {"type": "Polygon", "coordinates": [cell_ring(prepared, cell.col, cell.row)]},
                "properties": props,
            })
        })
        .collect();
    json!({
        "type": "FeatureCollection",
        "features": features,
        "firefly": {
            "method": scored.method.as_str(),
            "params": {
                "cell": filters.cell,
                "bandwidth": params.bandwidth,
                "distance": params.distance,
                "half_life_days": params.half_life_days,
                "as_of": params.as_of.to_string(),
                "window": filters.window.to_string(),
                "from": filters.from.map(|d| d.to_string()),
                "to": filters.to.map(|d| d.to_string()),
                "categories": filters.categories.describe(),
                "tz": params.tz.iana_name(),
                "crs": format!("EPSG:{}", prepared.crs.kind().epsg()),
            },
            "n_cells": scored.n_cells,
            "n_incidents": scored.n_incidents,
            "n_untimed": scored.n_untimed,
            "n_outside": scored.n_outside,
            "hour_profile": hour_profile(prepared, params),
            "validation": h.validation,
            "generated_at": jiff::Timestamp::now().to_string(),
        }
    })
}

/// The hour-of-week shares of the selection's timed incidents (harm x recency weighted),
/// or the labelled night-time prior when none has a time of day: what the map's hour
/// slider multiplies month-only scores by, so a quiet hour is not drawn like the peak.
fn hour_profile(prepared: &Prepared, params: &ScoringParams) -> Value {
    use planner::hotspots::{prior, profile, weights};
    let weighed = weights::weigh(&prepared.grid, &prepared.points, params);
    let profiles = profile::hour_profiles(&weighed.points, &params.tz, &prior::nte_prior())
        .expect("the built-in prior is a valid profile");
    let (area, n_timed) = (profiles.area(), profiles.n_timed);
    let (source, label) = match area.source {
        profile::ProfileSource::Observed { incidents } => (
            "incidents",
            format!("observed from {incidents} timed incidents"),
        ),
        profile::ProfileSource::Prior => ("prior", prior::NTE_PRIOR_LABEL.to_string()),
    };
    json!({
        "source": source,
        "label": label,
        "n_timed": n_timed,
        "shares": area.shares.iter().map(|s| round(*s, 7)).collect::<Vec<f64>>(),
    })
}

/// One row per cell, with the centre in WGS84 too.
pub fn csv(h: &Hotspots) -> anyhow::Result<String> {
    let (prepared, scored) = (&h.prepared, &h.scored);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "id",
        "col",
        "row",
        "x",
        "y",
        "lon",
        "lat",
        "count",
        "weight",
        "score",
        "rank",
        "percentile",
        "z",
        "p",
        "q",
        "class",
    ])?;
    for c in &scored.cells {
        let (lon, lat) = prepared
            .crs
            .unproject(c.x, c.y)
            .unwrap_or((f64::NAN, f64::NAN));
        let g = c.gistar.as_ref();
        w.write_record([
            c.id.clone(),
            c.col.to_string(),
            c.row.to_string(),
            format!("{:.2}", c.x),
            format!("{:.2}", c.y),
            format!("{lon:.7}"),
            format!("{lat:.7}"),
            c.count.to_string(),
            c.weight.to_string(),
            c.score.to_string(),
            c.rank.to_string(),
            format!("{:.4}", c.percentile),
            g.map(|g| g.z.to_string()).unwrap_or_default(),
            g.map(|g| g.p.to_string()).unwrap_or_default(),
            g.map(|g| g.q.to_string()).unwrap_or_default(),
            g.map(|g| g.class.as_str().to_string()).unwrap_or_default(),
        ])?;
    }
    Ok(String::from_utf8(
        w.into_inner().map_err(|e| anyhow!("{e}"))?,
    )?)
}
