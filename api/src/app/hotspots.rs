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
            points_near_bbox: None,
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

/// The work of scoring `prepared`'s study area with `method`, in kernel evaluations. Scoring
/// is sparse (`planner::hotspots::sparse`): only the cells within the method's radius of a
/// cell holding an incident are held, each gathering the points within its radius, so a pass
/// costs about (held cells + points) x pi (radius / cell)^2, with held cells at most the
/// occupied cells x the disc (and at most the study area). Gi* also counts the neighbours of
/// every study-area cell once (a row lookup per disc row). Count is one pass over the points.
/// A pure function of the request and the selection, checked before anything is scored.
pub fn work(method: Method, params: &MethodParams, prepared: &Prepared) -> f64 {
    let area = &prepared.area;
    let cell = area.cell_size().max(1e-9);
    let occupied = {
        let mut cells: Vec<usize> = prepared
            .points
            .iter()
            .filter_map(|p| area.locate(p.x, p.y))
            .collect();
        cells.sort_unstable();
        cells.dedup();
        cells.len() as f64
    };
    let n_area = area.len() as f64;
    let points = prepared.points.len() as f64;
    let disc = |radius: f64| (std::f64::consts::PI * (radius / cell + 0.5).powi(2)).max(1.0);
    let pass = |radius: f64| ((occupied * disc(radius)).min(n_area) + points) * disc(radius);
    let prospective = planner::hotspots::prospective::NearRepeat::default().max_distance;
    match method {
        Method::Count => points + occupied,
        Method::Kde => pass(params.bandwidth),
        Method::GiStar => pass(params.distance) + n_area * (2.0 * params.distance / cell + 1.0),
        Method::Prospective => pass(prospective),
        // The blend scores densely, every component over every cell.
        Method::Ensemble => {
            let dense = |radius: f64| (n_area + points) * disc(radius);
            dense(params.bandwidth) + dense(params.distance) + dense(prospective)
        }
    }
}

/// The work of writing one feature, in kernel evaluations: a cell's polygon and properties
/// cost a few microseconds, and at this weight the budget refuses `all_cells` over more
/// than [`MAX_FEATURES`] cells before anything is scored.
pub const FEATURE_WORK: f64 = WORK_BUDGET / MAX_FEATURES as f64;

/// [`work`] of a whole request: with `all_cells` every study-area cell is also written.
pub fn request_work(req: &HotspotRequest, prepared: &Prepared) -> f64 {
    let listed = if req.all_cells {
        prepared.area.len() as f64 * FEATURE_WORK
    } else {
        0.0
    };
    work(req.method, &req.params, prepared) + listed
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
    data: &super::dataset::Dataset,
    req: &HotspotRequest,
    on_prepared: &mut dyn FnMut(&Prepared) -> Result<(), Failure>,
) -> Result<Hotspots, Failure> {
    let mut filters = req.filters.to_filters().map_err(Failure::Invalid)?;
    // Scoring reads only the incidents inside the area's cells (a cell's centre is inside
    // the bbox, so its incidents are within one cell of it).
    filters.points_near_bbox = Some(filters.cell);
    let prepared = analysis::prepare(config, data, &filters).map_err(Failure::Invalid)?;
    on_prepared(&prepared)?;
    let params = params(config, &prepared, req).map_err(Failure::Invalid)?;
    let scored =
        planner::hotspots::score_area(req.method, &prepared.area, &prepared.points, &params)
            .map_err(|e| Failure::Invalid(anyhow!("{e}")))?;
    Ok(Hotspots {
        prepared,
        scored,
        params,
        filters,
        validation: None,
    })
}

/// What the filters kept and left out, and the study area, in two lines.
pub fn selection_report(p: &Prepared) -> String {
    format!(
        "selected {} incidents in {}; left out: {} by category, {} by date, {} outside the time window, {} not projectable; {} month-only incidents count for place only\n{}",
        p.selected,
        p.crs.kind(),
        p.excluded_category,
        p.excluded_dates,
        p.excluded_window,
        p.unprojectable,
        p.place_only,
        p.area_info.describe()
    )
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

/// What the server adds to the hotspot GeoJSON: members of `firefly` (its warnings, the
/// disclosure note) and, for roles that see aggregates only, the small-number rule.
#[derive(Debug, Clone, Default)]
pub struct GeoJsonExtras {
    /// Extra members of `firefly`, written after the contract's.
    pub firefly: serde_json::Map<String, Value>,
    /// `(min_count, round_to)`: cells holding fewer than `min_count` incidents are left out,
    /// counts are rounded to the nearest `round_to`, and `weight` is withheld.
    pub aggregate: Option<(u32, u32)>,
}

/// Appends the decimal digits of `v`.
fn push_u64(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut k = digits.len();
    loop {
        k -= 1;
        digits[k] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[k..]);
}

fn push_i64(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push_u64(out, v.unsigned_abs());
}

/// Appends `v` with a fixed number of decimals (`places` <= 9), like `{v:.places$}` but
/// without the float formatting machinery: `round(v 10^places)` as an integer. Non-finite
/// values are written as `null`.
fn push_fixed(out: &mut Vec<u8>, v: f64, places: u32) {
    if !v.is_finite() {
        out.extend_from_slice(b"null");
        return;
    }
    let scale = 10u64.pow(places);
    let scaled = (v.abs() * scale as f64).round();
    if scaled >= 9e15 {
        push_float(out, v);
        return;
    }
    let scaled = scaled as u64;
    if v < 0.0 && scaled != 0 {
        out.push(b'-');
    }
    push_u64(out, scaled / scale);
    if places > 0 {
        out.push(b'.');
        let frac = scaled % scale;
        let mut d = scale / 10;
        while d > 0 {
            out.push(b'0' + ((frac / d) % 10) as u8);
            d /= 10;
        }
    }
}

/// Appends `v` as the shortest decimal that reads back as the same f64 (`ryu`, as
/// serde_json writes numbers: `0.1`, `2.5e-7`), or `null` when not finite.
fn push_float(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        out.extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// Spacing of the corners projected exactly, metres; the corners between them are
/// interpolated bilinearly. Over 500 m the inverse projection is linear to well under a
/// millimetre, and OSTN15's piecewise-bilinear shifts (kinks at its 1 km nodes) cost at most
/// about a centimetre: under 2e-7 degrees (tested), below the output's 6 decimals (about
/// 10 cm), at a twenty-fifth of the exact inverse's cost for 100 m cells.
const EXACT_CORNER_SPACING_M: f64 = 500.0;

/// WGS84 of the grid corners `(c0 + c, r0 + r)` for `c < ncols`, `r < nrows` (row-major), in
/// cells of `size` metres: exact every [`EXACT_CORNER_SPACING_M`] (and on the last row and
/// column), bilinear in between; exact rows computed on every core.
fn corner_table(
    crs: &planner::crs::Crs,
    size: f64,
    (c0, r0): (i64, i64),
    (ncols, nrows): (usize, usize),
) -> Vec<(f64, f64)> {
    let step = ((EXACT_CORNER_SPACING_M / size).floor() as usize).max(1);
    let knots = |n: usize| -> Vec<usize> {
        let mut k: Vec<usize> = (0..n).step_by(step).collect();
        if n > 0 && k.last() != Some(&(n - 1)) {
            k.push(n - 1);
        }
        k
    };
    let (kc, kr) = (knots(ncols), knots(nrows));
    // Exact corners at the knots, one knot row per task.
    let mut exact = vec![(f64::NAN, f64::NAN); kc.len() * kr.len()];
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    let rows_per = kr.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for (t, chunk) in exact.chunks_mut(rows_per * kc.len()).enumerate() {
            let (kc, kr) = (&kc, &kr);
            s.spawn(move || {
                for (k, v) in chunk.iter_mut().enumerate() {
                    let (c, r) = (kc[k % kc.len()], kr[t * rows_per + k / kc.len()]);
                    *v = crs
                        .unproject((c0 + c as i64) as f64 * size, (r0 + r as i64) as f64 * size)
                        .unwrap_or((f64::NAN, f64::NAN));
                }
            });
        }
    });
    // Each corner from the four knots around it.
    let span = |k: &[usize], i: usize| -> (usize, f64) {
        let j = (i / step).min(k.len().saturating_sub(2));
        let (a, b) = (k[j], k.get(j + 1).copied().unwrap_or(k[j]));
        let t = if b > a {
            (i - a) as f64 / (b - a) as f64
        } else {
            0.0
        };
        (j, t)
    };
    let at = |i: usize, j: usize| exact[j * kc.len() + i];
    let mut out = Vec::with_capacity(ncols * nrows);
    for r in 0..nrows {
        let (j, v) = span(&kr, r);
        let j1 = (j + 1).min(kr.len() - 1);
        for c in 0..ncols {
            let (i, u) = span(&kc, c);
            let i1 = (i + 1).min(kc.len() - 1);
            let mix = |f: fn((f64, f64)) -> f64| {
                let (a, b) = (f(at(i, j)), f(at(i1, j)));
                let (d, e) = (f(at(i, j1)), f(at(i1, j1)));
                (a + (b - a) * u) * (1.0 - v) + (d + (e - d) * u) * v
            };
            out.push((mix(|p| p.0), mix(|p| p.1)));
        }
    }
    out
}

/// The WGS84 corners of the listed cells, each projected once (neighbouring cells share
/// corners): a dense table over the rectangle of corners when the cells fill most of it
/// (`--all-cells`, a map viewport), projected on every core, else a map filled on demand.
enum Corners {
    Table {
        col0: i64,
        row0: i64,
        ncols: usize,
        lonlat: Vec<(f64, f64)>,
    },
    Map(std::collections::HashMap<(i64, i64), (f64, f64)>),
}

impl Corners {
    fn new(prepared: &Prepared, cells: &[planner::hotspots::ScoredCell]) -> Corners {
        let (mut c0, mut r0, mut c1, mut r1) = (i64::MAX, i64::MAX, i64::MIN, i64::MIN);
        for c in cells {
            (c0, r0, c1, r1) = (c0.min(c.col), r0.min(c.row), c1.max(c.col), r1.max(c.row));
        }
        let (ncols, nrows) = ((c1 - c0 + 2).max(0) as u64, (r1 - r0 + 2).max(0) as u64);
        if cells.is_empty() || ncols * nrows > 4 * cells.len() as u64 + 64 {
            return Corners::Map(std::collections::HashMap::with_capacity(2 * cells.len()));
        }
        let (ncols, nrows) = (ncols as usize, nrows as usize);
        let lonlat = corner_table(
            &prepared.crs,
            prepared.area.cell_size(),
            (c0, r0),
            (ncols, nrows),
        );
        Corners::Table {
            col0: c0,
            row0: r0,
            ncols,
            lonlat,
        }
    }

    /// The corner from the table (`None` for the map).
    fn table(&self, col: i64, row: i64) -> Option<(f64, f64)> {
        match self {
            Corners::Table {
                col0,
                row0,
                ncols,
                lonlat,
            } => Some(lonlat[(row - *row0) as usize * *ncols + (col - *col0) as usize]),
            Corners::Map(_) => None,
        }
    }

    fn get(&mut self, prepared: &Prepared, col: i64, row: i64) -> (f64, f64) {
        match self {
            Corners::Table { .. } => self.table(col, row).unwrap_or((f64::NAN, f64::NAN)),
            Corners::Map(map) => *map.entry((col, row)).or_insert_with(|| {
                let c = prepared.area.cell_size();
                prepared
                    .crs
                    .unproject(col as f64 * c, row as f64 * c)
                    .unwrap_or((f64::NAN, f64::NAN))
            }),
        }
    }
}

/// Appends one feature (with a leading comma), or nothing when the small-number rule
/// leaves the cell out.
fn push_feature(
    buf: &mut Vec<u8>,
    cell: &planner::hotspots::ScoredCell,
    corner: &mut dyn FnMut(i64, i64) -> (f64, f64),
    aggregate: Option<(u32, u32)>,
) {
    let mut count = cell.count;
    if let Some((min_count, round_to)) = aggregate {
        if count < min_count {
            return;
        }
        let r = round_to.max(1);
        count = (count + r / 2) / r * r;
    }
    let (col, row) = (cell.col, cell.row);
    let id = |buf: &mut Vec<u8>| {
        buf.push(b'"');
        push_i64(buf, col);
        buf.push(b'_');
        push_i64(buf, row);
        buf.push(b'"');
    };
    buf.extend_from_slice(br#",{"type":"Feature","id":"#);
    id(buf);
    buf.extend_from_slice(br#","geometry":{"type":"Polygon","coordinates":[["#);
    for (k, (dc, dr)) in [(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)].iter().enumerate() {
        let (lon, lat) = corner(col + dc, row + dr);
        if k > 0 {
            buf.push(b',');
        }
        buf.push(b'[');
        push_fixed(buf, lon, 6);
        buf.push(b',');
        push_fixed(buf, lat, 6);
        buf.push(b']');
    }
    buf.extend_from_slice(br#"]]},"properties":{"id":"#);
    id(buf);
    buf.extend_from_slice(br#","col":"#);
    push_i64(buf, col);
    buf.extend_from_slice(br#","row":"#);
    push_i64(buf, row);
    buf.extend_from_slice(br#","x":"#);
    push_fixed(buf, cell.x, 1);
    buf.extend_from_slice(br#","y":"#);
    push_fixed(buf, cell.y, 1);
    buf.extend_from_slice(br#","count":"#);
    push_u64(buf, count.into());
    if aggregate.is_none() {
        buf.extend_from_slice(br#","weight":"#);
        push_float(buf, cell.weight);
    }
    buf.extend_from_slice(br#","score":"#);
    push_float(buf, cell.score);
    buf.extend_from_slice(br#","rank":"#);
    push_u64(buf, cell.rank.into());
    buf.extend_from_slice(br#","percentile":"#);
    push_float(buf, round(cell.percentile, 4));
    if let Some(g) = &cell.gistar {
        buf.extend_from_slice(br#","z":"#);
        push_float(buf, g.z);
        buf.extend_from_slice(br#","p":"#);
        push_float(buf, g.p);
        buf.extend_from_slice(br#","q":"#);
        push_float(buf, g.q);
        buf.extend_from_slice(br#","class":""#);
        buf.extend_from_slice(g.class.as_str().as_bytes());
        buf.push(b'"');
    }
    buf.extend_from_slice(b"}}");
}

/// Writes the contract's hotspot FeatureCollection to `w`, feature by feature, without
/// building a JSON tree. Precision: lon/lat 6 decimals (about 0.1 m, RFC 7946's advice),
/// projected x, y 1 decimal metre, percentile 4 decimals, every other number (weight, score,
/// z, p, q) the shortest decimal that reads back as the same f64.
pub fn write_geojson(
    w: &mut dyn std::io::Write,
    h: &Hotspots,
    extras: &GeoJsonExtras,
) -> anyhow::Result<()> {
    let scored = &h.scored;
    let prepared = &h.prepared;
    let mut corners = Corners::new(prepared, &scored.cells);
    let mut buf: Vec<u8> = Vec::with_capacity(1 << 17);
    w.write_all(br#"{"type":"FeatureCollection","features":["#)?;
    let mut first = true;
    // Leading commas: the first feature written drops its own.
    let mut emit = |w: &mut dyn std::io::Write, bytes: &[u8]| -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let skip = usize::from(std::mem::take(&mut first));
        w.write_all(&bytes[skip..])
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    if matches!(corners, Corners::Table { .. }) && threads > 1 && scored.cells.len() >= 8192 {
        // Batches formatted on every core, written in order.
        let table = &corners;
        for batch in scored.cells.chunks(1 << 15) {
            let parts: Vec<Vec<u8>> = std::thread::scope(|s| {
                let handles: Vec<_> = batch
                    .chunks(batch.len().div_ceil(threads))
                    .map(|chunk| {
                        s.spawn(move || {
                            let mut b = Vec::with_capacity(chunk.len() * 480);
                            let mut corner =
                                |c, r| table.table(c, r).unwrap_or((f64::NAN, f64::NAN));
                            for cell in chunk {
                                push_feature(&mut b, cell, &mut corner, extras.aggregate);
                            }
                            b
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_default())
                    .collect()
            });
            for part in &parts {
                emit(w, part)?;
            }
        }
    } else {
        let mut corner = |c, r| corners.get(prepared, c, r);
        for cell in &scored.cells {
            push_feature(&mut buf, cell, &mut corner, extras.aggregate);
            if buf.len() >= 1 << 16 {
                emit(w, &buf)?;
                buf.clear();
            }
        }
    }
    emit(w, &buf)?;
    buf.clear();
    buf.extend_from_slice(br#"],"firefly":"#);
    let mut meta = firefly_member(h);
    if let Some(map) = meta.as_object_mut() {
        for (k, v) in &extras.firefly {
            map.insert(k.clone(), v.clone());
        }
    }
    serde_json::to_writer(&mut buf, &meta)?;
    buf.extend_from_slice(b"}");
    w.write_all(&buf)?;
    Ok(())
}

/// [`write_geojson`] into bytes (the server's cached body).
pub fn geojson_bytes(h: &Hotspots, extras: &GeoJsonExtras) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    write_geojson(&mut out, h, extras)?;
    Ok(out)
}

/// The contract's hotspot FeatureCollection as a JSON tree (tests and small answers; the
/// CLI and the server stream it with [`write_geojson`]).
pub fn geojson(h: &Hotspots) -> Value {
    let bytes = geojson_bytes(h, &GeoJsonExtras::default()).unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

/// The collection's `firefly` member.
fn firefly_member(h: &Hotspots) -> Value {
    let (prepared, scored, params, filters) = (&h.prepared, &h.scored, &h.params, &h.filters);
    json!({
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
        "area": prepared.area_info.to_json(),
        "n_cells": scored.n_cells,
        "n_incidents": scored.n_incidents,
        "n_untimed": scored.n_untimed,
        "n_outside": scored.n_outside + prepared.beyond_bbox(),
        "hour_profile": hour_profile(prepared, params),
        "validation": h.validation,
        "generated_at": jiff::Timestamp::now().to_string(),
    })
}

/// The hour-of-week shares of the selection's timed incidents (harm x recency weighted),
/// or the labelled night-time prior when none has a time of day: what the map's hour
/// slider multiplies month-only scores by, so a quiet hour is not drawn like the peak.
fn hour_profile(prepared: &Prepared, params: &ScoringParams) -> Value {
    use planner::hotspots::{prior, profile, weights};
    let weighed =
        weights::weigh_located(|x, y| prepared.area.locate(x, y), &prepared.points, params);
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

#[cfg(test)]
mod tests {
    use super::*;
    use planner::crs::{Crs, CrsKind};

    /// The interpolated corners agree with the exact inverse projection to within 2e-7
    /// degrees (about 2 cm), below the output's 6 decimals, in British National Grid (OSTN15)
    /// and in UTM, for cells smaller and larger than the exact spacing, and at the edges.
    #[test]
    fn interpolated_corners_match_the_exact_inverse() {
        let cases = [
            (
                Crs::bng(),
                100.0,
                (5_000_i64, 2_200_i64),
                (57_usize, 43_usize),
            ), // Luton, 100 m
            (Crs::bng(), 50.0, (10_200, 4_300), (61, 38)), // Bedford, 50 m
            (Crs::bng(), 100.0, (3_300, 9_900), (25, 31)), // Highlands
            (Crs::bng(), 1_500.0, (300, 150), (7, 9)),     // coarser than the spacing
            (
                Crs::new(CrsKind::Utm {
                    zone: 16,
                    north: true,
                }),
                100.0,
                (4_400, 46_300),
                (40, 23),
            ), // Chicago
        ];
        for (crs, size, origin, dims) in cases {
            let table = corner_table(&crs, size, origin, dims);
            assert_eq!(table.len(), dims.0 * dims.1);
            let mut worst: f64 = 0.0;
            for r in 0..dims.1 {
                for c in 0..dims.0 {
                    let (x, y) = (
                        (origin.0 + c as i64) as f64 * size,
                        (origin.1 + r as i64) as f64 * size,
                    );
                    let exact = crs.unproject(x, y).unwrap_or((f64::NAN, f64::NAN));
                    let got = table[r * dims.0 + c];
                    worst = worst
                        .max((got.0 - exact.0).abs())
                        .max((got.1 - exact.1).abs());
                }
            }
            assert!(
                worst < 2e-7,
                "{size} m cells at {origin:?}: off by {worst:e} degrees"
            );
        }
    }
}
