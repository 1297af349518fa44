//! Hotspot scoring on an aligned metric grid.
//!
//! Where should officers stand on a Friday night? This module turns projected incidents into
//! per-cell scores by the methods of DESIGN.md ("Hotspot scoring"), one algorithm per file:
//!
//! - [`grid`]: the aligned grid, cell ids and the study-area mask;
//! - [`weights`]: each incident's harm x recency weight, and per-cell counts and weights
//!   (the `count` method);
//! - [`kde`]: quartic kernel density at cell centres;
//! - [`gistar`]: Getis-Ord Gi* z-scores, p-values, Benjamini-Hochberg q-values and classes,
//!   with [`normal`] (the normal tail) and [`fdr`] (`p.adjust(p, "BH")`);
//! - [`prospective`]: near-repeat (prospective) risk from recent incidents;
//! - [`ensemble`]: a blend of recent and long-term counts and small smooths, its weights
//!   fitted by rolling-origin backtests inside the training data (the forecast that beats
//!   last month's counts);
//! - [`profile`]: hour-of-week profiles from timed incidents;
//! - [`rank`]: ranks and percentiles over the study area.
//!
//! [`score`] runs one method end to end and returns [`ScoredCell`]s in the shape of the
//! contract's hotspot GeoJSON properties; the per-method functions return dense per-cell
//! arrays for callers (backtests, zones) that need every cell.
//!
//! Inputs are plain values: [`ScoringPoint`]s already projected to metres (the caller
//! projects with [`crate::Crs`] and filters categories and windows with
//! [`crate::window::WindowSpec`]), and [`ScoringParams`].
//!
//! ```
//! use planner::hotspots::{score, Method, ScoringParams, ScoringPoint, grid::Grid};
//! use planner::{Category, OccurredAt};
//! use jiff::tz::TimeZone;
//!
//! let as_of = "2024-06-09T00:00:00Z".parse().unwrap();
//! let night: jiff::Timestamp = "2024-06-07T22:30:00Z".parse().unwrap();
//! let at = |x, y, category| ScoringPoint { x, y, category, occurred: OccurredAt::Exact(night) };
//! let points = vec![
//!     at(504_120.0, 221_010.0, Category::Violence),
//!     at(504_130.0, 221_020.0, Category::PublicOrder),
//! ];
//! let grid = Grid::from_bbox(50.0, 504_000.0, 221_000.0, 504_500.0, 221_500.0).unwrap();
//! let params = ScoringParams::new(as_of, TimeZone::UTC);
//! let scored = score(Method::Count, &grid, &points, &params).unwrap();
//! assert_eq!(scored.cells.len(), 1);
//! assert_eq!(scored.cells[0].id, "10082_4420");
//! assert_eq!(scored.cells[0].count, 2);
//! assert_eq!(scored.cells[0].rank, 1);
//! ```

pub mod area;
pub mod ensemble;
pub mod fdr;
pub mod gistar;
pub mod grid;
pub mod kde;
pub mod normal;
pub mod prior;
pub mod profile;
pub mod prospective;
pub mod rank;
pub mod sparse;
pub mod weights;

pub use sparse::score_area;

mod bins;

use crate::category::Category;
use crate::harm::HarmTable;
use crate::time::OccurredAt;
use gistar::{GiStarField, HotspotClass};
use grid::{Grid, GridError};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use prospective::NearRepeat;
use std::fmt;
use std::str::FromStr;

/// Default KDE bandwidth h, metres. DESIGN.md suggests 200 m; 100 m won the rolling
/// backtests on exact locations (Chicago 2019, 13 periods: mean PAI 20.4 at 1 % of the area
/// against 16.6 for 200 m, and level at 2 %); see the README's backtest section.
pub const DEFAULT_BANDWIDTH_M: f64 = 100.0;
/// Default Gi* neighbourhood distance D, metres (49 neighbours on a 50 m grid); it beat
/// 100 m and 300 m in the same backtests at 5 % coverage, where Gi* is strongest.
pub const DEFAULT_DISTANCE_M: f64 = 200.0;
/// Default recency half-life, days. Night-time-economy hotspots are stable over years (the
/// same streets and venues), so a long half-life keeps them while letting this year count
/// more than last. 730 days beat 90 and 365 in the backtests above.
pub const DEFAULT_HALF_LIFE_DAYS: f64 = 730.0;
/// Default cell size, metres (DESIGN.md).
pub const DEFAULT_CELL_M: f64 = 50.0;

/// One incident, projected: what scoring needs and nothing else.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoringPoint {
    /// Easting, metres (projected CRS).
    pub x: f64,
    /// Northing, metres.
    pub y: f64,
    pub category: Category,
    pub occurred: OccurredAt,
}

/// Parameters of every method. Build with [`ScoringParams::new`] and change fields.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoringParams {
    /// Ages are measured back from here (recency, near-repeat weeks).
    pub as_of: Timestamp,
    /// The force's zone: local months of month-only incidents, hours of the week.
    pub tz: TimeZone,
    /// Harm per category.
    pub harm: HarmTable,
    /// Recency half-life in days; `f64::INFINITY` for no decay.
    pub half_life_days: f64,
    /// KDE bandwidth h, metres.
    pub bandwidth: f64,
    /// Gi* neighbourhood distance D, metres.
    pub distance: f64,
    /// Near-repeat bands for the prospective method.
    pub near_repeat: NearRepeat,
    /// Keep zero-score cells in [`Scored::cells`] (`--all-cells`).
    pub all_cells: bool,
    /// The `ensemble` method's components and fit (see [`ensemble`]).
    pub ensemble: ensemble::EnsembleParams,
}

impl ScoringParams {
    /// The defaults of DESIGN.md, measured from `as_of` in zone `tz`.
    pub fn new(as_of: Timestamp, tz: TimeZone) -> ScoringParams {
        ScoringParams {
            as_of,
            tz,
            harm: HarmTable::default(),
            half_life_days: DEFAULT_HALF_LIFE_DAYS,
            bandwidth: DEFAULT_BANDWIDTH_M,
            distance: DEFAULT_DISTANCE_M,
            near_repeat: NearRepeat::default(),
            all_cells: false,
            ensemble: ensemble::EnsembleParams::default(),
        }
    }

    /// Checks every number is usable (positive, finite where it must be).
    pub fn validate(&self) -> Result<(), ScoringError> {
        let positive = |name: &'static str, value: f64, may_be_infinite: bool| {
            if value > 0.0 && (value.is_finite() || (may_be_infinite && value.is_infinite())) {
                Ok(())
            } else {
                Err(ScoringError::InvalidParam { name, value })
            }
        };
        positive("half_life_days", self.half_life_days, true)?;
        positive("bandwidth", self.bandwidth, false)?;
        positive("distance", self.distance, false)?;
        if let Some(band) = self.near_repeat.band {
            positive("near_repeat.band", band, false)?;
        }
        positive(
            "near_repeat.max_distance",
            self.near_repeat.max_distance,
            false,
        )?;
        positive(
            "near_repeat.max_weeks",
            self.near_repeat.max_weeks as f64,
            false,
        )?;
        if let Some((name, value)) = self.ensemble.invalid() {
            return Err(ScoringError::InvalidParam { name, value });
        }
        Ok(())
    }
}

/// Why scoring could not run. Both are invalid input: report them, nothing was scored.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoringError {
    /// The grid could not be built.
    #[error(transparent)]
    Grid(#[from] GridError),
    /// A parameter is not a positive (finite) number.
    #[error("{name} must be a positive number, got {value}")]
    InvalidParam { name: &'static str, value: f64 },
    /// An hour-of-week prior had a negative or non-finite value, or summed to 0.
    #[error("the hour-of-week prior must be 168 finite, non-negative values with a positive sum")]
    InvalidPrior,
    /// The caller no longer wants the answer ([`crate::cancel`]).
    #[error(transparent)]
    Cancelled(#[from] crate::cancel::Cancelled),
}

/// A scoring method (`--method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Harm- and recency-weighted counts; score = weight.
    Count,
    /// Quartic kernel density of the weights; score = density (weight per m²).
    Kde,
    /// Getis-Ord Gi* of the cell weights; score = z.
    GiStar,
    /// Near-repeat risk from recent incidents; score = risk.
    Prospective,
    /// A fitted blend of recent and long-term counts and small smooths; score = forecast
    /// share of next period's incidents (see [`ensemble`]).
    Ensemble,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Method::Count,
        Method::Kde,
        Method::GiStar,
        Method::Prospective,
        Method::Ensemble,
    ];

    /// The contract's name (`count`, `kde`, `gistar`, `prospective`, `ensemble`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Count => "count",
            Method::Kde => "kde",
            Method::GiStar => "gistar",
            Method::Prospective => "prospective",
            Method::Ensemble => "ensemble",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not a method name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown method {0:?} (expected count, kde, gistar, prospective or ensemble)")]
pub struct UnknownMethod(pub String);

impl FromStr for Method {
    type Err = UnknownMethod;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownMethod(s.to_string()))
    }
}

/// Gi* values of one cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GiStarValues {
    pub z: f64,
    /// Two-sided normal p-value.
    pub p: f64,
    /// Benjamini-Hochberg q over all study-area cells.
    pub q: f64,
    pub class: HotspotClass,
}

/// One scored cell: the contract's hotspot GeoJSON properties.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredCell {
    /// `"{col}_{row}"`.
    pub id: String,
    pub col: i64,
    pub row: i64,
    /// Projected centre, metres.
    pub x: f64,
    pub y: f64,
    /// Incidents in the cell.
    pub count: u32,
    /// Sum of harm x recency over the cell's incidents.
    pub weight: f64,
    /// The method's value.
    pub score: f64,
    /// 1 = highest; ties share the best rank (see [`rank`]).
    pub rank: u32,
    /// Percent of study-area cells scoring at most this (see [`rank`]).
    pub percentile: f64,
    /// For `gistar` only.
    pub gistar: Option<GiStarValues>,
}

/// The result of [`score`].
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    pub method: Method,
    /// Cells by rank (then row, then column); zero-score cells only with `all_cells`.
    pub cells: Vec<ScoredCell>,
    /// Cells in the study area (`n_cells`).
    pub n_cells: usize,
    /// Cells scored one by one and held in memory: every cell when scoring densely, only
    /// those within the method's reach of an incident when sparse (`sparse::score_area`).
    pub n_held: usize,
    /// Incidents inside the study area that were scored (`n_incidents`).
    pub n_incidents: usize,
    /// Of those, month-only incidents: used for place, never for hour (`n_untimed`).
    pub n_untimed: usize,
    /// Incidents outside the study area, dropped.
    pub n_outside: usize,
    /// For `ensemble` only: the blend chosen and what it was fitted on.
    pub ensemble: Option<ensemble::EnsembleFit>,
}

/// Dense per-cell results of one method (indexed like [`Grid`]'s arrays).
#[derive(Debug, Clone, PartialEq)]
pub struct MethodScores {
    pub score: Vec<f64>,
    /// Present for [`Method::GiStar`].
    pub gistar: Option<GiStarField>,
    /// Present for [`Method::Ensemble`]: the blend chosen and what it was fitted on.
    pub ensemble: Option<ensemble::EnsembleFit>,
}

/// The dense scores of `method` over `grid` from already-weighed points.
pub fn method_scores(
    method: Method,
    grid: &Grid,
    weighed: &weights::Weighed,
    totals: &weights::CellTotals,
    params: &ScoringParams,
) -> Result<MethodScores, ScoringError> {
    params.validate()?;
    crate::cancel::check()?;
    let scores = match method {
        Method::Count => MethodScores {
            score: totals.weight.clone(),
            gistar: None,
            ensemble: None,
        },
        Method::Kde => MethodScores {
            score: kde::kde(grid, &weighed.points, params.bandwidth),
            gistar: None,
            ensemble: None,
        },
        Method::GiStar => {
            let field = gistar::gi_star(grid, &totals.weight, params.distance);
            MethodScores {
                score: field.z.clone(),
                gistar: Some(field),
                ensemble: None,
            }
        }
        Method::Prospective => MethodScores {
            score: prospective::prospective(grid, &weighed.points, &params.near_repeat),
            gistar: None,
            ensemble: None,
        },
        Method::Ensemble => {
            let (score, fit) = ensemble::ensemble(grid, &weighed.points, params);
            MethodScores {
                score,
                gistar: None,
                ensemble: Some(fit),
            }
        }
    };
    // A fit cut short by cancellation is never returned as an answer.
    crate::cancel::check()?;
    Ok(scores)
}

/// Whether a cell is listed without `all_cells`. For most methods: a non-zero score. Gi*'s
/// z is almost never exactly zero (a cell with nothing near has a small negative z), so
/// listing every cell would write the whole study area: a Gi* cell is listed when it is
/// significant (hot or cold) or has more weight nearby than average (z > 0).
fn listed(scores: &MethodScores, i: usize) -> bool {
    match &scores.gistar {
        Some(field) => field.z[i] > 0.0 || field.q[i] < 0.10,
        None => scores.score[i] != 0.0,
    }
}

/// Scores `points` on `grid` with `method`: weighs, scores, ranks, and lists the cells.
pub fn score(
    method: Method,
    grid: &Grid,
    points: &[ScoringPoint],
    params: &ScoringParams,
) -> Result<Scored, ScoringError> {
    params.validate()?;
    let weighed = weights::weigh(grid, points, params);
    let totals = weights::cell_totals(grid, &weighed.points);
    let scores = method_scores(method, grid, &weighed, &totals, params)?;
    let ranking = rank::rank(grid, &scores.score);
    let cells: Vec<ScoredCell> = ranking
        .order
        .iter()
        .copied()
        .filter(|&i| params.all_cells || listed(&scores, i))
        .map(|i| {
            let (col, row) = grid.col_row(i);
            let (x, y) = grid.centre(i);
            ScoredCell {
                id: grid.id(i),
                col,
                row,
                x,
                y,
                count: totals.count[i],
                weight: totals.weight[i],
                score: scores.score[i],
                rank: ranking.rank[i],
                percentile: ranking.percentile[i],
                gistar: scores.gistar.as_ref().map(|g| GiStarValues {
                    z: g.z[i],
                    p: g.p[i],
                    q: g.q[i],
                    class: g.class(i),
                }),
            }
        })
        .collect();
    Ok(Scored {
        method,
        cells,
        n_cells: grid.n_inside(),
        n_held: grid.len(),
        n_incidents: weighed.points.len(),
        n_untimed: weighed.n_untimed,
        n_outside: weighed.n_outside,
        ensemble: scores.ensemble,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::YearMonth;

    fn at(s: &str) -> OccurredAt {
        OccurredAt::Exact(s.parse().unwrap())
    }

    fn params() -> ScoringParams {
        let mut p = ScoringParams::new("2024-07-01T00:00:00Z".parse().unwrap(), TimeZone::UTC);
        p.harm = HarmTable::uniform(1.0);
        p.half_life_days = f64::INFINITY;
        p
    }

    fn pt(x: f64, y: f64, occurred: OccurredAt) -> ScoringPoint {
        ScoringPoint {
            x,
            y,
            category: Category::Violence,
            occurred,
        }
    }

    #[test]
    fn no_incidents_scores_nothing_for_every_method() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 499.0, 499.0).unwrap();
        for m in Method::ALL {
            let s = score(m, &grid, &[], &params()).unwrap();
            assert!(s.cells.is_empty(), "{m}");
            assert_eq!((s.n_cells, s.n_incidents, s.n_outside), (100, 0, 0));
            let mut all = params();
            all.all_cells = true;
            let s = score(m, &grid, &[], &all).unwrap();
            assert_eq!(s.cells.len(), 100, "{m}");
            assert!(
                s.cells
                    .iter()
                    .all(|c| c.score == 0.0 && c.rank == 1 && c.percentile == 100.0)
            );
            if m == Method::GiStar {
                // All values equal: S = 0, so z = 0 and class none, never NaN.
                let g = s.cells[0].gistar.unwrap();
                assert_eq!((g.z, g.p, g.class), (0.0, 1.0, HotspotClass::None));
            }
        }
    }

    #[test]
    fn one_incident_and_the_outside_count() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 499.0, 499.0).unwrap();
        let pts = [
            pt(225.0, 225.0, at("2024-06-29T23:00:00Z")),
            pt(-10.0, 225.0, at("2024-06-29T23:00:00Z")),
            pt(225.0, 500.0, at("2024-06-29T23:00:00Z")),
            pt(f64::NAN, 1.0, at("2024-06-29T23:00:00Z")),
        ];
        for m in [Method::Count, Method::Kde, Method::Prospective] {
            let s = score(m, &grid, &pts, &params()).unwrap();
            assert_eq!((s.n_incidents, s.n_outside), (1, 3), "{m}");
            let top = &s.cells[0];
            assert_eq!(top.id, "4_4", "{m}");
            assert_eq!((top.count, top.weight, top.rank), (1, 1.0, 1), "{m}");
            assert_eq!((top.x, top.y), (225.0, 225.0));
            assert_eq!(top.percentile, 100.0, "{m}");
        }
        // Gi*: every cell within D = 200 m of the incident has sum 1; among them, those with
        // fewer neighbours (at the grid's edge) stand out more, so the incident's own cell is
        // positive but need not rank first. Cells further away are all equally negative.
        let s = score(Method::GiStar, &grid, &pts, &params()).unwrap();
        assert_eq!(s.n_incidents, 1);
        for c in &s.cells {
            let near = ((c.x - 225.0).powi(2) + (c.y - 225.0).powi(2)).sqrt() <= 200.0;
            assert_eq!(c.score > 0.0, near, "{}", c.id);
        }
        let own = s.cells.iter().find(|c| c.id == "4_4").unwrap();
        assert_eq!((own.count, own.weight), (1, 1.0));
        let mut p = params();
        p.bandwidth = 200.0;
        let kde = score(Method::Kde, &grid, &pts, &p).unwrap();
        // At d = 0 the quartic kernel is 3/(pi h^2).
        let k0 = 3.0 / (std::f64::consts::PI * 200.0 * 200.0);
        assert!((kde.cells[0].score - k0).abs() < 1e-18);
        // Cells within 200 m of (225, 225): centres at distance < 200.
        assert!(
            kde.cells
                .iter()
                .all(|c| ((c.x - 225.0).powi(2) + (c.y - 225.0).powi(2)).sqrt() < 200.0)
        );
    }

    #[test]
    fn month_only_incidents_are_counted_as_untimed() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 99.0, 99.0).unwrap();
        let pts = [
            pt(
                10.0,
                10.0,
                OccurredAt::Month(YearMonth {
                    year: 2024,
                    month: 5,
                }),
            ),
            pt(10.0, 10.0, at("2024-06-29T23:00:00Z")),
        ];
        let s = score(Method::Count, &grid, &pts, &params()).unwrap();
        assert_eq!((s.n_incidents, s.n_untimed), (2, 1));
        assert_eq!(s.cells[0].count, 2);
    }

    #[test]
    fn all_incidents_in_one_cell() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 999.0, 999.0).unwrap();
        let pts: Vec<ScoringPoint> = (0..30)
            .map(|k| {
                pt(
                    510.0 + k as f64,
                    520.0 + k as f64 * 0.5,
                    at("2024-06-29T23:00:00Z"),
                )
            })
            .collect();
        let mut p = params();
        p.distance = 60.0;
        let s = score(Method::GiStar, &grid, &pts, &p).unwrap();
        // With D = 60 m the cell and its four rook neighbours (centres 50 m away) each see the
        // 30 incidents and 5 neighbours: the same z, so all five share rank 1.
        // n = 400, X = 30/400, S = sqrt(900/400 - X^2), z = (30 - 5X) / (S sqrt((5n - 25)/(n - 1))).
        let n = 400.0;
        let xbar: f64 = 30.0 / n;
        let s_dev = (900.0 / n - xbar * xbar).sqrt();
        let z = (30.0 - 5.0 * xbar) / (s_dev * ((5.0 * n - 25.0) / (n - 1.0)).sqrt());
        let mut hot: Vec<&str> = s
            .cells
            .iter()
            .filter(|c| c.rank == 1)
            .inspect(|c| {
                let g = c.gistar.unwrap();
                assert!((g.z - z).abs() < 1e-9, "{g:?} vs {z}");
                assert_eq!(g.class, HotspotClass::Hot99);
            })
            .map(|c| c.id.as_str())
            .collect();
        hot.sort();
        assert_eq!(hot, vec!["10_10", "10_11", "10_9", "11_10", "9_10"]);
        // Without --all-cells only those five are listed: the rest have z < 0 and q >= 0.10.
        assert_eq!(s.cells.len(), 5);
        p.all_cells = true;
        let s = score(Method::GiStar, &grid, &pts, &p).unwrap();
        assert_eq!(s.cells.len(), 400);
        assert_eq!(s.cells[5].rank, 6);
        // Listed by rank, then row, then column.
        assert!(
            s.cells
                .windows(2)
                .all(|w| { (w[0].rank, w[0].row, w[0].col) < (w[1].rank, w[1].row, w[1].col) })
        );
        let centre = s.cells.iter().find(|c| c.id == "10_10").unwrap();
        assert_eq!(centre.count, 30);
        p.all_cells = false;
        let c = score(Method::Count, &grid, &pts, &p).unwrap();
        assert_eq!(c.cells.len(), 1);
        assert_eq!(c.cells[0].weight, 30.0);
    }

    #[test]
    fn invalid_parameters_are_refused() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 99.0, 99.0).unwrap();
        for (name, f) in [
            (
                "bandwidth",
                (|p: &mut ScoringParams| p.bandwidth = 0.0) as fn(&mut ScoringParams),
            ),
            ("distance", |p| p.distance = f64::NAN),
            ("half_life_days", |p| p.half_life_days = -1.0),
            ("near_repeat.max_distance", |p| {
                p.near_repeat.max_distance = f64::INFINITY
            }),
            ("near_repeat.band", |p| p.near_repeat.band = Some(0.0)),
            ("near_repeat.max_weeks", |p| p.near_repeat.max_weeks = 0),
        ] {
            let mut p = params();
            f(&mut p);
            match score(Method::Count, &grid, &[], &p) {
                Err(ScoringError::InvalidParam { name: n, .. }) => assert_eq!(n, name),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn methods_parse_by_contract_name() {
        for m in Method::ALL {
            assert_eq!(m.as_str().parse::<Method>().unwrap(), m);
        }
        assert!("getis".parse::<Method>().is_err());
    }
}
