//! `firefly hotspots`: score the grid and write GeoJSON or CSV (the contract's properties).

use super::Failure;
use crate::analysis::{self, Categories, Filters, Prepared};
use crate::config::Config;
use crate::storage::Store;
use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use planner::hotspots::{Method, Scored, ScoringParams};
use planner::window::{BusyCalendar, WindowSpec};
use serde_json::{Value, json};
use std::io::Write;
use std::path::PathBuf;

/// Filters shared by `hotspots`, `backtest` and `zones`.
#[derive(Args, Debug, Clone)]
pub struct FilterArgs {
    /// Cell size in metres.
    #[arg(long, default_value_t = planner::hotspots::DEFAULT_CELL_M)]
    pub cell: f64,
    /// `weekend-nights` (Fri and Sat 18:00-06:00 local), `all`, or `DAYS@HH:MM-HH:MM[;...]`.
    #[arg(long, default_value = "weekend-nights")]
    pub window: String,
    /// Busy-period calendar: one `YYYY-MM-DD[,label]` per line; those nights count like
    /// weekend nights.
    #[arg(long)]
    pub calendar: Option<PathBuf>,
    /// First local date (YYYY-MM-DD or YYYY-MM).
    #[arg(long)]
    pub from: Option<String>,
    /// Last local date, inclusive (YYYY-MM-DD or YYYY-MM).
    #[arg(long)]
    pub to: Option<String>,
    /// Categories to score (repeatable, or comma-separated); `all` for every category.
    /// Default: the night-time-economy offences.
    #[arg(long = "category")]
    pub categories: Vec<String>,
    /// Study area as W,S,E,N in degrees.
    #[arg(long, allow_hyphen_values = true)]
    pub bbox: Option<String>,
    /// Study area as GeoJSON polygons (cells whose centre lies inside).
    #[arg(long)]
    pub boundary: Option<PathBuf>,
}

impl FilterArgs {
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

/// Method parameters shared by `hotspots` and `backtest`.
#[derive(Args, Debug, Clone)]
pub struct MethodArgs {
    /// KDE bandwidth h in metres.
    #[arg(long, default_value_t = planner::hotspots::DEFAULT_BANDWIDTH_M)]
    pub bandwidth: f64,
    /// Gi* neighbourhood distance D in metres.
    #[arg(long, default_value_t = planner::hotspots::DEFAULT_DISTANCE_M)]
    pub distance: f64,
    /// Recency half-life in days.
    #[arg(long, default_value_t = planner::hotspots::DEFAULT_HALF_LIFE_DAYS)]
    pub half_life: f64,
}

impl MethodArgs {
    /// Sets these parameters on `params`.
    pub fn apply(&self, params: &mut ScoringParams) {
        params.bandwidth = self.bandwidth;
        params.distance = self.distance;
        params.half_life_days = self.half_life;
    }
}

#[derive(Args)]
pub struct HotspotArgs {
    #[arg(long, default_value = "kde")]
    pub method: String,
    #[command(flatten)]
    pub method_params: MethodArgs,
    /// Ages are measured back from this local date (default: the latest incident).
    #[arg(long)]
    pub as_of: Option<String>,
    /// Harm table CSV (`category,weight`); default: the built-in CCHI-style table.
    #[arg(long)]
    pub harm: Option<PathBuf>,
    #[command(flatten)]
    pub filters: FilterArgs,
    /// Keep cells with zero score.
    #[arg(long)]
    pub all_cells: bool,
    #[arg(long, value_enum, default_value_t = OutputFormat::Geojson)]
    pub format: OutputFormat,
    /// Output file (default: stdout).
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Geojson,
    Csv,
}

/// Builds scoring parameters from the flags.
pub fn params(
    config: &Config,
    prepared: &Prepared,
    args: &HotspotArgs,
) -> anyhow::Result<ScoringParams> {
    let as_of = match &args.as_of {
        Some(d) => analysis::parse_date(d, true)?
            .tomorrow()
            .map_err(|e| anyhow!("--as-of: {e}"))?
            .to_zoned(config.tz.clone())
            .context("--as-of")?
            .timestamp(),
        None => prepared.latest.unwrap_or_else(jiff::Timestamp::now),
    };
    let mut p = ScoringParams::new(as_of, config.tz.clone());
    args.method_params.apply(&mut p);
    p.all_cells = args.all_cells;
    if let Some(path) = &args.harm {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        p.harm = planner::harm::HarmTable::parse(&text)
            .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    }
    p.validate().map_err(|e| anyhow!("{e}"))?;
    Ok(p)
}

pub fn run(config: &Config, args: HotspotArgs) -> Result<(), Failure> {
    let method: Method = args
        .method
        .parse()
        .map_err(|e| Failure::Invalid(anyhow!("--method: {e}")))?;
    let filters = args.filters.to_filters().map_err(Failure::Invalid)?;
    let store = Store::open(&config.db)?;
    let incidents = store.incidents()?;
    let (prepared, scored, params) = compute(
        config,
        &incidents,
        method,
        &filters,
        &args,
        &mut |prepared| {
            for w in &prepared.warnings {
                eprintln!("firefly: warning: {w}");
            }
            Ok(())
        },
    )?;
    let body = match args.format {
        OutputFormat::Geojson => {
            let mut s = serde_json::to_string(&geojson(&prepared, &scored, &params, &filters))
                .context("serialising GeoJSON")?;
            s.push('\n');
            s
        }
        OutputFormat::Csv => csv(&prepared, &scored)?,
    };
    match &args.output {
        Some(path) => std::fs::write(path, body)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => match std::io::stdout().write_all(body.as_bytes()) {
            // `firefly hotspots | head` is fine: the reader has what it wanted.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other.context("writing to stdout")?,
        },
    }
    eprintln!("{}", selection_report(&prepared));
    eprintln!(
        "scored {} incidents ({} month-only, place only) on {} cells of {} m with {}; {} cells written",
        scored.n_incidents,
        scored.n_untimed,
        scored.n_cells,
        filters.cell,
        method.as_str(),
        scored.cells.len()
    );
    Ok(())
}

/// Filters, projects and scores `incidents`: what `firefly hotspots` and the HTTP API's
/// `/api/v1/hotspots` share. `on_prepared` sees the selection before scoring starts (to
/// print its warnings, or to refuse a grid too large to score).
pub fn compute(
    config: &Config,
    incidents: &[planner::Incident],
    method: Method,
    filters: &Filters,
    args: &HotspotArgs,
    on_prepared: &mut dyn FnMut(&Prepared) -> Result<(), Failure>,
) -> Result<(Prepared, Scored, ScoringParams), Failure> {
    let prepared = analysis::prepare(config, incidents, filters).map_err(Failure::Invalid)?;
    on_prepared(&prepared)?;
    let params = params(config, &prepared, args).map_err(Failure::Invalid)?;
    let scored = planner::hotspots::score(method, &prepared.grid, &prepared.points, &params)
        .map_err(|e| Failure::Invalid(anyhow!("{e}")))?;
    Ok((prepared, scored, params))
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
pub fn geojson(
    prepared: &Prepared,
    scored: &Scored,
    params: &ScoringParams,
    filters: &Filters,
) -> Value {
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
pub fn csv(prepared: &Prepared, scored: &Scored) -> anyhow::Result<String> {
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
