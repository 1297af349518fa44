//! From stored incidents to scoring inputs: the filters, CRS choice and study area that the
//! `hotspots`, `backtest` and `zones` commands (and later the HTTP API) share.
//!
//! Study area, in the contract's order: `--boundary FILE` (cells whose centre lies inside),
//! else `--bbox`, else the configured force boundary, else the area of the data itself
//! ([`planner::hotspots::area::data_area`]): the cells within 1 km of the incidents after
//! filtering, with the isolated strays (police.uk's few rows geocoded far outside the force)
//! left out and reported ([`AreaInfo`]). The area is a sparse set of cells; the dense grid
//! zones and backtests need is built from it on demand ([`Prepared::grid`]).

use super::dataset::{Dataset, Summary};
use crate::config::{Config, CrsChoice};
use anyhow::{Context, anyhow, bail};
use jiff::Timestamp;
use jiff::civil::Date;
use planner::area::Areas;
use planner::crs::{Crs, CrsKind};
use planner::hotspots::ScoringPoint;
use planner::hotspots::area::{CellArea, DataAreaParams, data_area};
use planner::hotspots::grid::{Grid, StudyArea};
use planner::window::{Selection, WindowSpec};
use planner::{Category, Incident, OccurredAt};
use std::path::PathBuf;

/// Which categories to score.
#[derive(Debug, Clone, PartialEq)]
pub enum Categories {
    /// The night-time-economy set (the default).
    NightTimeEconomy,
    All,
    Only(Vec<Category>),
}

impl Categories {
    /// From `--category` values: none = the default set; `all` = everything.
    pub fn from_args(values: &[String]) -> anyhow::Result<Categories> {
        if values.is_empty() {
            return Ok(Categories::NightTimeEconomy);
        }
        if values.iter().any(|v| v == "all") {
            return Ok(Categories::All);
        }
        let parsed = values
            .iter()
            .flat_map(|v| v.split(','))
            .map(|v| v.trim().parse::<Category>())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Categories::Only(parsed))
    }

    pub fn includes(&self, c: Category) -> bool {
        match self {
            Categories::NightTimeEconomy => c.is_night_time_economy(),
            Categories::All => true,
            Categories::Only(list) => list.contains(&c),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Categories::NightTimeEconomy => "night-time economy".into(),
            Categories::All => "all".into(),
            Categories::Only(list) => list
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

/// The filters every analysis command takes.
#[derive(Debug, Clone)]
pub struct Filters {
    pub window: WindowSpec,
    /// Local dates, inclusive.
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub categories: Categories,
    /// W,S,E,N in WGS84 degrees.
    pub bbox: Option<[f64; 4]>,
    pub boundary: Option<PathBuf>,
    pub cell: f64,
    /// With a bbox: keep as points only the incidents within this many metres of its
    /// rectangle. Hotspot scoring reads only the incidents inside the study area's cells, so
    /// a cell's width is enough and a viewport over national data scores its own few
    /// thousand incidents. `None` keeps every selected incident (zones, venues, backtests).
    pub points_near_bbox: Option<f64>,
}

/// Why the filters left an incident out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Excluded {
    Category,
    Dates,
    Window,
}

impl Filters {
    /// Whether the filters keep an incident (with its local dates `first..=last`), and how
    /// its time counts; or why not.
    pub fn decide(
        &self,
        i: &planner::IncidentPoint,
        span: (Date, Date),
        tz: &jiff::tz::TimeZone,
    ) -> Result<Selection, Excluded> {
        if !self.categories.includes(i.category) {
            return Err(Excluded::Category);
        }
        if !span_within(span, self.from, self.to) {
            return Err(Excluded::Dates);
        }
        match self.window.select(&i.occurred, tz) {
            Selection::Outside => Err(Excluded::Window),
            kept => Ok(kept),
        }
    }

    /// What decides which incidents are kept (not where): the key of a [`Summary`].
    pub fn selection_key(&self) -> String {
        format!(
            "{:?}|{:?}|{:?}|{:?}",
            self.window, self.from, self.to, self.categories
        )
    }
}

/// Where the study area came from, and what the data's own area left out.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaInfo {
    /// `boundary` (`--boundary`), `bbox`, `force-boundary` (configured) or `data`.
    pub kind: &'static str,
    /// Cells in the study area.
    pub cells: usize,
    /// For `data`: the buffer around the incidents, metres.
    pub buffer_m: Option<f64>,
    /// For `data`: the isolated incidents left out, lon/lat (WGS84).
    pub left_out: Vec<(f64, f64)>,
}

impl AreaInfo {
    /// How many left-out locations the JSON lists (the count is always complete).
    pub const LISTED: usize = 50;

    /// The `area` member of the GeoJSON's `firefly` and of backtest `params`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::json!({"kind": self.kind, "cells": self.cells});
        if self.kind == "data" {
            v["buffer_m"] = self.buffer_m.into();
            v["left_out"] = self.left_out.len().into();
            v["left_out_lonlat"] = self
                .left_out
                .iter()
                .take(Self::LISTED)
                .map(|&(lon, lat)| serde_json::json!([round6(lon), round6(lat)]))
                .collect::<Vec<_>>()
                .into();
        }
        v
    }

    /// One line for the terminal.
    pub fn describe(&self) -> String {
        match self.kind {
            "data" => {
                let mut s = format!(
                    "study area: the data's own ({} cells within {:.0} m of the incidents; give --boundary, --bbox or configure the force boundary to fix it)",
                    self.cells,
                    self.buffer_m.unwrap_or(0.0)
                );
                if !self.left_out.is_empty() {
                    let shown: Vec<String> = self
                        .left_out
                        .iter()
                        .take(5)
                        .map(|(lon, lat)| format!("{lon:.4},{lat:.4}"))
                        .collect();
                    s.push_str(&format!(
                        "; left out {} isolated incidents far from the rest, e.g. at lon,lat {}{}",
                        self.left_out.len(),
                        shown.join(" "),
                        if self.left_out.len() > 5 { " ..." } else { "" }
                    ));
                }
                s
            }
            kind => format!("study area: {kind} ({} cells)", self.cells),
        }
    }
}

fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// Incidents ready to score, with what was left out and why.
pub struct Prepared {
    pub crs: Crs,
    /// The study area's cells (sparse): what hotspot scoring reads.
    pub area: CellArea,
    pub area_info: AreaInfo,
    grid: std::sync::OnceLock<Grid>,
    pub points: Vec<ScoringPoint>,
    /// Incidents the filters kept (and that could be projected), near the bbox or not.
    pub selected: usize,
    pub excluded_category: usize,
    pub excluded_dates: usize,
    pub excluded_window: usize,
    pub place_only: usize,
    pub unprojectable: usize,
    /// The latest incident time (end of month for month-only data): the default `as_of`.
    pub latest: Option<Timestamp>,
    /// A warning for the user, e.g. about a stretched bounding box.
    pub warnings: Vec<String>,
}

impl Prepared {
    /// The selected incidents left out of `points` as too far from the bbox to touch the
    /// area ([`Filters::points_near_bbox`]): part of the answer's `n_outside`.
    pub fn beyond_bbox(&self) -> usize {
        self.selected - self.points.len()
    }

    /// The dense grid of the study area (zones, backtests, `ensemble`), built on first use:
    /// refused when the rectangle around the area is too large to hold densely.
    pub fn grid(&self) -> anyhow::Result<&Grid> {
        if let Some(g) = self.grid.get() {
            return Ok(g);
        }
        let g = Grid::from_area(&self.area).map_err(|e| anyhow!("{e}"))?;
        Ok(self.grid.get_or_init(|| g))
    }
}

/// Parses `YYYY-MM-DD` or `YYYY-MM` (a month means its first day for `from`, its last for
/// `to`).
pub fn parse_date(text: &str, end_of_month: bool) -> anyhow::Result<Date> {
    let t = text.trim();
    if let Ok(d) = t.parse::<Date>() {
        return Ok(d);
    }
    let m = planner::time::YearMonth::parse(t)
        .map_err(|_| anyhow!("{t:?} is not a date (YYYY-MM-DD or YYYY-MM)"))?;
    let first = m.first_day();
    Ok(if end_of_month {
        first.last_of_month()
    } else {
        first
    })
}

/// Parses `W,S,E,N`.
pub fn parse_bbox(text: &str) -> anyhow::Result<[f64; 4]> {
    let v: Vec<f64> = text
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow!("--bbox {text:?}: expected four numbers W,S,E,N"))?;
    let [w, s, e, n] = v[..] else {
        bail!("--bbox {text:?}: expected four numbers W,S,E,N")
    };
    if !(w < e
        && s < n
        && (-180.0..=180.0).contains(&w)
        && (-180.0..=180.0).contains(&e)
        && (-90.0..=90.0).contains(&s)
        && (-90.0..=90.0).contains(&n))
    {
        bail!("--bbox {text:?}: expected W < E and S < N in degrees");
    }
    Ok([w, s, e, n])
}

fn month_bounds(m: planner::time::YearMonth) -> (Date, Date) {
    let first = m.first_day();
    (first, first.last_of_month())
}

/// Whether an incident lies within the local dates `from..=to` (either may be open). A
/// month-only incident is within only when its whole month is.
pub fn within_dates(
    occurred: &OccurredAt,
    from: Option<Date>,
    to: Option<Date>,
    tz: &jiff::tz::TimeZone,
) -> bool {
    span_within(super::dataset::local_span(occurred, tz), from, to)
}

/// Whether the local dates `first..=last` lie within `from..=to` (either may be open).
fn span_within((first, last): (Date, Date), from: Option<Date>, to: Option<Date>) -> bool {
    !(from.is_some_and(|f| first < f) || to.is_some_and(|t| last > t))
}

/// Chooses the CRS for a set of incidents: the median point decides `auto`, so a few
/// stray geocodes cannot move it.
pub fn choose_crs(choice: CrsChoice, incidents: &[&Incident]) -> Crs {
    crs_for(choice, incidents.iter().map(|i| (i.lon, i.lat)))
}

/// [`choose_crs`] of the points `lonlat`.
pub fn crs_for(choice: CrsChoice, lonlat: impl Iterator<Item = (f64, f64)>) -> Crs {
    let (mut lons, mut lats): (Vec<f64>, Vec<f64>) = lonlat.unzip();
    // The upper median, as a full sort would give it, in linear time.
    let median = |v: &mut Vec<f64>| -> f64 {
        if v.is_empty() {
            return 0.0;
        }
        let mid = v.len() / 2;
        *v.select_nth_unstable_by(mid, f64::total_cmp).1
    };
    let (lon, lat) = (median(&mut lons), median(&mut lats));
    Crs::new(match choice {
        CrsChoice::Bng => CrsKind::Bng,
        CrsChoice::Utm => CrsKind::utm_for(lon, lat),
        CrsChoice::Auto => CrsKind::auto_for(lon, lat),
    })
}

/// Reads a boundary GeoJSON file into areas.
pub fn read_areas(path: &std::path::Path) -> anyhow::Result<Areas> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read boundary {}", path.display()))?;
    Areas::from_geojson(
        &text,
        &["lad20nm", "LAD22NM", "LAD21NM", "name", "NAME"],
        &["lad20cd", "LAD22CD", "code"],
    )
    .with_context(|| format!("boundary {}", path.display()))
}

/// How the data's own study area is drawn (the planner's defaults: 1 km around the
/// incidents; strays have fewer than 4 others within 1 km and no dense incident within 10 km).
pub const DATA_AREA: DataAreaParams = DataAreaParams {
    buffer: 1000.0,
    radius: 1000.0,
    min_neighbours: 4,
    link: 10_000.0,
    min_incidents: 500,
};

/// Applies the filters and builds the study area. The scan reads every incident (the
/// counts of what was left out, and the default `as_of`, are the whole data's) but keeps as
/// points only those near the bbox when [`Filters::points_near_bbox`] asks so.
pub fn prepare(config: &Config, data: &Dataset, filters: &Filters) -> anyhow::Result<Prepared> {
    let tz = data.tz();
    let crs = data.crs().clone();
    let near = match (filters.bbox, filters.points_near_bbox) {
        (Some(bbox), Some(margin)) => Some(projected_bbox(&crs, bbox)?.grown(margin)),
        _ => None,
    };
    let key = filters.selection_key();
    // A viewport whose selection was seen before reads only the rows near it.
    let known = near.as_ref().and_then(|r| {
        let summary = data.summary(&key)?;
        let rows = data.rows_near([r.min_x, r.min_y, r.max_x, r.max_y])?;
        Some((summary, rows, r))
    });
    let (summary, points) = match known {
        Some((summary, rows, rect)) => {
            let points: Vec<ScoringPoint> = rows
                .into_iter()
                .map(|k| data.row(k))
                .filter(|&(i, [x, y], span)| {
                    rect.contains(x, y) && filters.decide(i, span, tz).is_ok()
                })
                .map(|(i, [x, y], _)| scoring_point(i, x, y))
                .collect();
            (summary, points)
        }
        None => scan(data, filters, near.as_ref()),
    };
    let Summary {
        excluded_category,
        excluded_dates,
        excluded_window,
        place_only,
        unprojectable,
        selected,
        latest,
    } = summary;
    let warnings = Vec::new();
    let mut left_out = Vec::new();
    let (kind, area) = if let Some(path) = filters.boundary.as_ref() {
        let a = StudyArea::Boundary(
            read_areas(path)?
                .projected(&crs)
                .context("projecting the boundary")?,
        );
        ("boundary", a)
    } else if let Some(bbox) = filters.bbox {
        let r = projected_bbox(&crs, bbox)?;
        let a = StudyArea::BBox {
            min_x: r.min_x,
            min_y: r.min_y,
            max_x: r.max_x,
            max_y: r.max_y,
        };
        ("bbox", a)
    } else if let Some(path) = &config.boundary {
        let a = StudyArea::Boundary(read_areas(path)?.projected(&crs).with_context(|| {
            format!(
                "the force boundary {} cannot be used with these incidents (set by \
                         `boundary` in the config file, FIREFLY_BOUNDARY or --boundary-file; \
                         give --bbox W,S,E,N or --boundary FILE for this data's area)",
                path.display()
            )
        })?);
        ("force-boundary", a)
    } else {
        let xy: Vec<(f64, f64)> = points.iter().map(|p| (p.x, p.y)).collect();
        let cell = filters.cell;
        if !(cell.is_finite() && cell > 0.0) {
            bail!("cell size must be a positive number of metres, got {cell}");
        }
        if xy.is_empty() {
            bail!("no incidents to take a study area from; give a boundary or a bbox");
        }
        let d = data_area(&xy, cell, &DATA_AREA);
        left_out = d
            .left_out
            .iter()
            .map(|&i| {
                crs.unproject(xy[i].0, xy[i].1)
                    .unwrap_or((f64::NAN, f64::NAN))
            })
            .collect();
        ("data", StudyArea::Cells(d.area))
    };
    let area = area.cells(filters.cell, points.iter().map(|p| (p.x, p.y)))?;
    let area_info = AreaInfo {
        kind,
        cells: area.len(),
        buffer_m: (kind == "data").then_some(DATA_AREA.buffer),
        left_out,
    };
    Ok(Prepared {
        crs,
        area,
        area_info,
        grid: std::sync::OnceLock::new(),
        points,
        selected,
        excluded_category,
        excluded_dates,
        excluded_window,
        place_only,
        unprojectable,
        latest,
        warnings,
    })
}

fn scoring_point(i: &planner::IncidentPoint, x: f64, y: f64) -> ScoringPoint {
    ScoringPoint {
        x,
        y,
        category: i.category,
        occurred: i.occurred,
    }
}

/// One pass over every row: what the filters keep of the whole data (remembered in `data`
/// for the next viewport), and the kept rows inside `near` (all when `None`) as points.
fn scan(data: &Dataset, filters: &Filters, near: Option<&Rect>) -> (Summary, Vec<ScoringPoint>) {
    let tz = data.tz();
    let mut summary = Summary::default();
    let mut month_end = MonthEnds::new(tz);
    let mut points = Vec::new();
    for (i, [x, y], span) in data.rows() {
        match filters.decide(i, span, tz) {
            Err(Excluded::Category) => summary.excluded_category += 1,
            Err(Excluded::Dates) => summary.excluded_dates += 1,
            Err(Excluded::Window) => summary.excluded_window += 1,
            Ok(selection) => {
                if selection == Selection::PlaceOnly {
                    summary.place_only += 1;
                }
                let end = match i.occurred {
                    OccurredAt::Exact(t) => Some(t),
                    OccurredAt::Month(m) => month_end.get(m),
                };
                summary.latest = summary.latest.max(end);
                if x.is_nan() {
                    summary.unprojectable += 1;
                } else {
                    summary.selected += 1;
                    if near.is_none_or(|r| r.contains(x, y)) {
                        points.push(scoring_point(i, x, y));
                    }
                }
            }
        }
    }
    data.remember(filters.selection_key(), summary);
    (summary, points)
}

/// Works out (and remembers in `data`) what `filters` keep of the whole data, so that the
/// first viewport with them reads only its own rows. The server does this for the map's
/// default selections when it loads the incidents.
pub fn summarise(data: &Dataset, filters: &Filters) -> Summary {
    let nowhere = Rect {
        min_x: f64::INFINITY,
        min_y: f64::INFINITY,
        max_x: f64::NEG_INFINITY,
        max_y: f64::NEG_INFINITY,
    };
    scan(data, filters, Some(&nowhere)).0
}

/// A projected rectangle.
struct Rect {
    min_x: f64,
    min_y: f64,
    max_x: f64,
    max_y: f64,
}

impl Rect {
    fn grown(&self, by: f64) -> Rect {
        Rect {
            min_x: self.min_x - by,
            min_y: self.min_y - by,
            max_x: self.max_x + by,
            max_y: self.max_y + by,
        }
    }

    fn contains(&self, x: f64, y: f64) -> bool {
        (self.min_x..=self.max_x).contains(&x) && (self.min_y..=self.max_y).contains(&y)
    }
}

/// The bbox's rectangle in `crs`: the box spanned by its projected SW and NE corners.
fn projected_bbox(crs: &Crs, [w, s, e, n]: [f64; 4]) -> anyhow::Result<Rect> {
    let a = crs.project(w, s).context("--bbox south-west corner")?;
    let b = crs.project(e, n).context("--bbox north-east corner")?;
    Ok(Rect {
        min_x: a.x.min(b.x),
        min_y: a.y.min(b.y),
        max_x: a.x.max(b.x),
        max_y: a.y.max(b.y),
    })
}

/// The instant after each month's last local day (a month-only incident's latest moment),
/// worked out once per month: a national year has twelve months and millions of rows.
struct MonthEnds<'a> {
    tz: &'a jiff::tz::TimeZone,
    seen: Vec<(planner::time::YearMonth, Option<Timestamp>)>,
}

impl<'a> MonthEnds<'a> {
    fn new(tz: &'a jiff::tz::TimeZone) -> Self {
        MonthEnds {
            tz,
            seen: Vec::new(),
        }
    }

    fn get(&mut self, m: planner::time::YearMonth) -> Option<Timestamp> {
        if let Some(&(_, end)) = self.seen.iter().find(|(month, _)| *month == m) {
            return end;
        }
        let end = month_bounds(m)
            .1
            .tomorrow()
            .ok()
            .and_then(|d| d.to_zoned(self.tz.clone()).ok())
            .map(|z| z.timestamp());
        self.seen.push((m, end));
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_boxes_parse() {
        assert_eq!(
            parse_date("2024-02", false).unwrap(),
            jiff::civil::date(2024, 2, 1)
        );
        assert_eq!(
            parse_date("2024-02", true).unwrap(),
            jiff::civil::date(2024, 2, 29)
        );
        assert_eq!(
            parse_date("2024-02-10", true).unwrap(),
            jiff::civil::date(2024, 2, 10)
        );
        assert!(parse_date("10/02/2024", false).is_err());
        assert_eq!(
            parse_bbox("-0.5,51.8,-0.3,51.95").unwrap(),
            [-0.5, 51.8, -0.3, 51.95]
        );
        assert!(parse_bbox("-0.3,51.8,-0.5,51.95").is_err());
        assert!(parse_bbox("1,2,3").is_err());
    }

    #[test]
    fn categories_default_to_the_night_time_economy() {
        let c = Categories::from_args(&[]).unwrap();
        assert!(c.includes(Category::ViolenceAndSexual) && !c.includes(Category::Burglary));
        assert!(
            Categories::from_args(&["all".into()])
                .unwrap()
                .includes(Category::Burglary)
        );
        let only = Categories::from_args(&["robbery,public_order".into()]).unwrap();
        assert!(only.includes(Category::Robbery) && !only.includes(Category::Violence));
        assert!(Categories::from_args(&["violent".into()]).is_err());
    }
}
