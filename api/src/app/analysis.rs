//! From stored incidents to scoring inputs: the filters, CRS choice and study area that the
//! `hotspots`, `backtest` and `zones` commands (and later the HTTP API) share.
//!
//! Study area, in the contract's order: `--boundary FILE` (cells whose centre lies inside),
//! else `--bbox`, else the configured force boundary, else the bounding box of the incidents
//! after filtering, with a warning when a few stray incidents stretch that box.

use crate::config::{Config, CrsChoice};
use anyhow::{Context, anyhow, bail};
use jiff::Timestamp;
use jiff::civil::Date;
use planner::area::Areas;
use planner::crs::{Crs, CrsKind};
use planner::hotspots::ScoringPoint;
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
}

/// Incidents ready to score, with what was left out and why.
pub struct Prepared {
    pub crs: Crs,
    pub grid: Grid,
    pub points: Vec<ScoringPoint>,
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
    let (first, last) = match *occurred {
        OccurredAt::Exact(t) => {
            let d = t.to_zoned(tz.clone()).date();
            (d, d)
        }
        OccurredAt::Month(m) => month_bounds(m),
    };
    !(from.is_some_and(|f| first < f) || to.is_some_and(|t| last > t))
}

/// Chooses the CRS for a set of incidents: the median point decides `auto`, so a few
/// stray geocodes cannot move it.
pub fn choose_crs(choice: CrsChoice, incidents: &[&Incident]) -> Crs {
    let median = |mut v: Vec<f64>| -> f64 {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };
    let lon = median(incidents.iter().map(|i| i.lon).collect());
    let lat = median(incidents.iter().map(|i| i.lat).collect());
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

/// Applies the filters, projects, and builds the study-area grid.
pub fn prepare(
    config: &Config,
    incidents: &[Incident],
    filters: &Filters,
) -> anyhow::Result<Prepared> {
    let tz = &config.tz;
    let mut excluded_category = 0;
    let mut excluded_dates = 0;
    let mut excluded_window = 0;
    let mut place_only = 0;
    let mut kept: Vec<&Incident> = Vec::new();
    let mut latest: Option<Timestamp> = None;
    for i in incidents {
        if !filters.categories.includes(i.category) {
            excluded_category += 1;
            continue;
        }
        if !within_dates(&i.occurred, filters.from, filters.to, tz) {
            excluded_dates += 1;
            continue;
        }
        match filters.window.select(&i.occurred, tz) {
            Selection::Outside => {
                excluded_window += 1;
                continue;
            }
            Selection::PlaceOnly => place_only += 1,
            Selection::InWindow { .. } => {}
        }
        let end = match i.occurred {
            OccurredAt::Exact(t) => Some(t),
            OccurredAt::Month(m) => month_bounds(m)
                .1
                .tomorrow()
                .ok()
                .and_then(|d| d.to_zoned(tz.clone()).ok())
                .map(|z| z.timestamp()),
        };
        latest = latest.max(end);
        kept.push(i);
    }
    let crs = choose_crs(config.crs, &kept);
    let mut unprojectable = 0;
    let mut points = Vec::with_capacity(kept.len());
    for i in &kept {
        match crs.project(i.lon, i.lat) {
            Ok(p) => points.push(ScoringPoint {
                x: p.x,
                y: p.y,
                category: i.category,
                occurred: i.occurred,
            }),
            Err(_) => unprojectable += 1,
        }
    }
    let mut warnings = Vec::new();
    let area = if let Some(path) = filters.boundary.as_ref() {
        StudyArea::Boundary(
            read_areas(path)?
                .projected(&crs)
                .context("projecting the boundary")?,
        )
    } else if let Some([w, s, e, n]) = filters.bbox {
        let a = crs.project(w, s).context("--bbox south-west corner")?;
        let b = crs.project(e, n).context("--bbox north-east corner")?;
        StudyArea::BBox {
            min_x: a.x.min(b.x),
            min_y: a.y.min(b.y),
            max_x: a.x.max(b.x),
            max_y: a.y.max(b.y),
        }
    } else if let Some(path) = &config.boundary {
        StudyArea::Boundary(read_areas(path)?.projected(&crs).with_context(|| {
            format!(
                "the force boundary {} cannot be used with these incidents (set by \
                         `boundary` in the config file, FIREFLY_BOUNDARY or --boundary-file; \
                         give --bbox W,S,E,N or --boundary FILE for this data's area)",
                path.display()
            )
        })?)
    } else {
        if let Some(w) = stretched_bbox_warning(&points) {
            warnings.push(w);
        }
        StudyArea::Points
    };
    let grid = Grid::for_area(filters.cell, &area, points.iter().map(|p| (p.x, p.y)))?;
    Ok(Prepared {
        crs,
        grid,
        points,
        excluded_category,
        excluded_dates,
        excluded_window,
        place_only,
        unprojectable,
        latest,
        warnings,
    })
}

/// Warns when the full bounding box is far larger than the one holding 99 % of points:
/// every area share, and so every PAI, would be meaningless.
fn stretched_bbox_warning(points: &[ScoringPoint]) -> Option<String> {
    if points.len() < 100 {
        return None;
    }
    let quantiles = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        (at(0.0), at(0.005), at(0.995), at(1.0))
    };
    let (x0, x1, x2, x3) = quantiles(points.iter().map(|p| p.x).collect());
    let (y0, y1, y2, y3) = quantiles(points.iter().map(|p| p.y).collect());
    let full = (x3 - x0) * (y3 - y0);
    let core = ((x2 - x1) * (y2 - y1)).max(1.0);
    (full > 4.0 * core).then(|| {
        format!(
            "the study area is the bounding box of the incidents, and a few stray incidents make it {:.0} times larger than the box holding 99 % of them; \
             give --boundary FILE or --bbox W,S,E,N (or configure the force boundary) so that area shares and PAI mean something",
            full / core
        )
    })
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
