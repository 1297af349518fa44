//! Honest evaluation (backtest): fit on data before a cut, score on the nights after it.
//!
//! A hotspot map that "looks right" proves nothing: every method finds last year's hotspots in
//! last year's data. The number a planner can trust is how much of *next* month's harm the
//! map would have caught. This module computes it as DESIGN.md ("Honest evaluation") asks:
//! fit each method on incidents before a cut date, then, for the top k % of the study area by
//! score, report the **hit rate** (share of the test incidents inside those cells) and the
//! **predictive accuracy index** PAI = hit rate / area share (Chainey, Tompson and Uhlig 2008).
//! Beside them: the **ceiling** (the test period's own counts used as the score, the best any
//! method could have done) and the **naive** baseline (the last period's counts).
//!
//! # Periods
//!
//! All dates are local dates in the scoring zone ([`ScoringParams::tz`]); "day" means local
//! calendar day, so DST changes never shift a boundary. For a cut date `c`, train length `T`
//! and test length `S` days:
//!
//! - the **train span** is `[c - T, c)`, the **test span** `[c, c + S)`, the **naive span**
//!   `[c - S, c)` (the period just before the cut, as long as the test period);
//! - methods are fitted with `as_of` = the first instant of local day `c`.
//!
//! **Timed incidents** count only inside the window ([`WindowSpec::select`] must say
//! [`Selection::InWindow`]), and they are assigned to a span by their **night**: the local
//! date the window period holding them started on (DESIGN.md: a night belongs to the date it
//! starts on; for the `all` window that is the incident's local date). So a Friday night is
//! never split between training and testing, and a DST night of 11 or 13 hours is one night.
//! One consequence: with a cut on a Saturday, the early hours of Friday night fall after the
//! `as_of` instant but are training data; they weigh as fresh (recency 1) and, for the
//! prospective method, not at all (it ignores incidents after `as_of`).
//!
//! **Month-only incidents** (police.uk) have no hour, so they are never in an hour window:
//! for them the evaluation is place-only ([`Selection::PlaceOnly`]). A month-only incident is
//! a test incident when its whole local month lies inside the test span, and a training
//! incident when its whole month lies inside the train span. A month that straddles the cut
//! is dropped from both (it would mix past and future) and counted in
//! [`PeriodReport::place_only_straddling_cut`]; a month that overlaps a span only partly at
//! its outer end (before the train span starts, after the test span ends) is dropped and
//! counted in [`PeriodReport::place_only_partial`]. For police.uk data, use test periods of
//! whole calendar months ([`monthly_periods`]), or the test set is empty. For the naive
//! baseline a month-only incident counts when its month ends before the cut and the day
//! holding its midpoint ([`crate::hotspots::weights::month_midpoint`]) lies in the naive span,
//! so a 28-day naive span before 1 February still means "January".
//!
//! # Hit rate and PAI
//!
//! - Test incidents outside the study area are dropped (counted in
//!   [`PeriodReport::test_outside_area`]); `test_incidents` in a row is the number inside it,
//!   the denominator of the hit rate. Every test incident counts 1: hit rates are shares of
//!   incidents, not of harm, whatever the methods weigh. The naive and ceiling scores are
//!   likewise plain incident counts per cell (no harm, no recency).
//! - For coverage `k` % of `n` study-area cells the top `max(1, ceil(k n / 100))` cells are
//!   taken (at most `n`; `k n / 100` within 1e-9 of a whole number counts as that number, so
//!   `0.5 %` of 400 cells is 2 cells, not 3 from rounding noise). Coverage that rounds to zero
//!   cells takes one cell, and the row's `area_share` says so.
//! - Cells are taken in the order of [`crate::hotspots::rank`]: by score, highest first, ties
//!   (equal scores, including the many zeros) in row-major order of the grid, i.e. by row then
//!   by column from the grid's south-west corner. The order is therefore deterministic, and
//!   the same as the order of the hotspot output (rank, then row, then column).
//! - `hit_rate = hits / test_incidents`, `area_share = cells / n`,
//!   `pai = hit_rate / area_share`. With no test incident in the study area both are `None`
//!   (JSON `null`), never NaN: there was nothing to predict.
//! - The ceiling scores each cell by its test-period count, so for the same number of cells
//!   it catches at least as many test incidents as any method: its PAI bounds every method's.
//!
//! # Rolling cuts
//!
//! One period's PAI is one draw; a lucky month flatters any method. [`rolling`] evaluates
//! consecutive test periods (`c`, `c + S`, `c + 2S`, …), each with its own training span
//! ending at its cut, and [`Backtest::summary`] gives per method and coverage the mean,
//! sample standard deviation, minimum and maximum of PAI and hit rate over the periods.
//!
//! ```
//! use planner::backtest::{backtest, BacktestSpec};
//! use planner::hotspots::{ScoringParams, ScoringPoint, grid::Grid};
//! use planner::window::WindowSpec;
//! use planner::{Category, OccurredAt};
//! use jiff::tz::TimeZone;
//!
//! // Two cells; the past and the future both happen in the western one.
//! let grid = Grid::from_bbox(50.0, 0.0, 0.0, 99.0, 49.0).unwrap();
//! let at = |s: &str| ScoringPoint {
//!     x: 10.0, y: 10.0, category: Category::Violence,
//!     occurred: OccurredAt::Exact(s.parse().unwrap()),
//! };
//! let points = [at("2024-01-20T12:00:00Z"), at("2024-02-03T12:00:00Z")];
//! let params = ScoringParams::new("2024-02-01T00:00:00Z".parse().unwrap(), TimeZone::UTC);
//! let mut spec = BacktestSpec::new(WindowSpec::all());
//! spec.coverages = vec![50.0];
//! let result = backtest(&points, &grid, &params, &spec, "2024-02-01".parse().unwrap(), 7)
//!     .unwrap();
//! let count = result.results.iter().find(|r| r.method == "count").unwrap();
//! assert_eq!((count.hit_rate, count.pai, count.test_incidents), (Some(1.0), Some(2.0), 1));
//! ```

use crate::hotspots::ensemble::EnsembleFit;
use crate::hotspots::grid::Grid;
use crate::hotspots::weights::{self, month_midpoint};
use crate::hotspots::{Method, ScoringError, ScoringParams, ScoringPoint, method_scores, rank};
use crate::time::{OccurredAt, YearMonth};
use crate::window::{Selection, WindowSpec};
use jiff::Span;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::fmt::Write as _;
use std::str::FromStr;

/// The contract's default coverage levels, percent of the study area.
pub const DEFAULT_COVERAGES: [f64; 4] = [0.5, 1.0, 2.0, 5.0];
/// Default train length, days: a year, so every season and holiday is seen once.
pub const DEFAULT_TRAIN_DAYS: u32 = 365;
/// Default test length, days: four weeks, four of each weekday night.
pub const DEFAULT_TEST_DAYS: u32 = 28;
/// The method name of the ceiling rows.
pub const CEILING: &str = "ceiling";

/// A method a backtest compares: a scoring method, or the naive baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BacktestMethod {
    /// A hotspot scoring method, fitted on the train span.
    Score(Method),
    /// The last period's counts: incidents per cell in the naive span `[cut - test, cut)`.
    Naive,
}

impl BacktestMethod {
    /// The classical methods and the baseline: `count`, `kde`, `gistar`, `prospective`,
    /// `naive` (the default of [`BacktestSpec::new`]). The ensemble, which fits itself by
    /// backtests inside each training span and so costs several times more, is in
    /// [`BacktestMethod::EVERY`].
    pub const ALL: [BacktestMethod; 5] = [
        BacktestMethod::Score(Method::Count),
        BacktestMethod::Score(Method::Kde),
        BacktestMethod::Score(Method::GiStar),
        BacktestMethod::Score(Method::Prospective),
        BacktestMethod::Naive,
    ];

    /// Every method: `count`, `kde`, `gistar`, `prospective`, `ensemble`, `naive`.
    pub const EVERY: [BacktestMethod; 6] = [
        BacktestMethod::Score(Method::Count),
        BacktestMethod::Score(Method::Kde),
        BacktestMethod::Score(Method::GiStar),
        BacktestMethod::Score(Method::Prospective),
        BacktestMethod::Score(Method::Ensemble),
        BacktestMethod::Naive,
    ];

    /// The name in results and `--methods` (`count`, …, `naive`).
    pub fn as_str(self) -> &'static str {
        match self {
            BacktestMethod::Score(m) => m.as_str(),
            BacktestMethod::Naive => "naive",
        }
    }
}

impl fmt::Display for BacktestMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not a backtest method name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown method {0:?} (expected count, kde, gistar, prospective, ensemble or naive)")]
pub struct UnknownBacktestMethod(pub String);

impl FromStr for BacktestMethod {
    type Err = UnknownBacktestMethod;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BacktestMethod::EVERY
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownBacktestMethod(s.to_string()))
    }
}

/// What to evaluate, apart from the periods. Build with [`BacktestSpec::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct BacktestSpec {
    /// Timed incidents count only inside this window (train and test alike).
    pub window: WindowSpec,
    /// Length of the train span before each cut, days.
    pub train_days: u32,
    /// Methods to compare, in output order (the ceiling is always added last).
    pub methods: Vec<BacktestMethod>,
    /// Coverage levels, percent of the study area, each in (0, 100].
    pub coverages: Vec<f64>,
}

impl BacktestSpec {
    /// Every method, the default coverages and train length, over `window`.
    pub fn new(window: WindowSpec) -> BacktestSpec {
        BacktestSpec {
            window,
            train_days: DEFAULT_TRAIN_DAYS,
            methods: BacktestMethod::ALL.to_vec(),
            coverages: DEFAULT_COVERAGES.to_vec(),
        }
    }
}

/// One test period: `[cut, cut + test_days)` in local dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub cut: Date,
    pub test_days: u32,
}

/// Why a backtest could not run. All are invalid input: report them; nothing was evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BacktestError {
    /// The scoring parameters are unusable.
    #[error(transparent)]
    Scoring(#[from] ScoringError),
    /// A coverage level is not a percentage in (0, 100].
    #[error("coverage must be a percentage above 0 and at most 100, got {0}")]
    InvalidCoverage(f64),
    /// A span length is zero.
    #[error("{0} must be at least 1 day")]
    InvalidDays(&'static str),
    /// No period to evaluate (`n_periods` = 0 or an empty list).
    #[error("no test period to evaluate")]
    NoPeriods,
    /// A date or span is outside the supported calendar; use realistic dates.
    #[error("date out of range: {0}")]
    DateRange(String),
}

/// One row of the results: one method, one cut, one coverage level.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestRow {
    /// `count`, `kde`, `gistar`, `prospective`, `naive` or `ceiling`.
    pub method: String,
    /// The cut date (local), `YYYY-MM-DD`.
    pub cut: Date,
    /// Percent of the study area asked for.
    pub coverage: f64,
    /// Share of the test incidents inside the cells taken; `None` without test incidents.
    pub hit_rate: Option<f64>,
    /// `hit_rate / area_share`; `None` without test incidents.
    pub pai: Option<f64>,
    /// Test incidents inside the study area (the hit rate's denominator).
    pub test_incidents: usize,
    /// Test incidents inside the cells taken.
    pub hits: usize,
    /// Cells taken: `max(1, ceil(coverage x n_cells / 100))`.
    pub cells: usize,
    /// `cells / n_cells`: the area share actually used.
    pub area_share: f64,
}

/// Mean, sample standard deviation, minimum and maximum of one measure over periods.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stats {
    /// Periods with a value (periods without test incidents have none).
    pub n: usize,
    pub mean: f64,
    /// Sample standard deviation (n - 1 in the denominator); `None` with fewer than 2 values.
    pub sd: Option<f64>,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    /// The statistics of `values`, or `None` if there are none.
    pub fn of(values: &[f64]) -> Option<Stats> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = (n >= 2).then(|| {
            let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
            (ss / (n - 1) as f64).sqrt()
        });
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(Stats {
            n,
            mean,
            sd,
            min,
            max,
        })
    }
}

/// One method at one coverage, summarised over every period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SummaryRow {
    pub method: String,
    pub coverage: f64,
    /// Periods evaluated (with or without test incidents).
    pub periods: usize,
    pub pai: Option<Stats>,
    pub hit_rate: Option<Stats>,
}

/// What went into one period: spans and incident counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeriodReport {
    pub cut: Date,
    /// First day of the train span.
    pub train_start: Date,
    /// Day after the test span (exclusive end).
    pub test_end: Date,
    pub test_days: u32,
    /// Training incidents inside the study area (timed in the window, plus place-only).
    pub train_incidents: usize,
    /// Of those, month-only incidents.
    pub train_place_only: usize,
    /// Test incidents inside the study area.
    pub test_incidents: usize,
    /// Of those, month-only incidents: evaluated for place only.
    pub test_place_only: usize,
    /// Test incidents outside the study area (dropped).
    pub test_outside_area: usize,
    /// Incidents of the naive span inside the study area.
    pub naive_incidents: usize,
    /// Month-only incidents whose month straddles the cut (dropped from train and test).
    pub place_only_straddling_cut: usize,
    /// Month-only incidents whose month only partly overlaps the train span's start or the
    /// test span's end (dropped).
    pub place_only_partial: usize,
}

/// The parameters a backtest ran with (the contract's `params`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestParams {
    pub train_days: u32,
    /// Test length of each period, days (one entry per period, in order).
    pub test_days: Vec<u32>,
    pub cuts: Vec<Date>,
    /// The window spec (`weekend-nights`, …).
    pub window: String,
    /// The zone dates and windows are read in.
    pub tz: String,
    pub methods: Vec<String>,
    pub coverages: Vec<f64>,
    /// Cell size, metres.
    pub cell: f64,
    /// Study-area cells.
    pub n_cells: usize,
    pub bandwidth: f64,
    pub distance: f64,
    /// `None` when there is no recency decay.
    pub half_life_days: Option<f64>,
    /// Incidents given (before any span, window or area selection).
    pub n_incidents: usize,
}

/// A backtest's results: `{"results": [...], "params": {...}}` of the contract, plus the
/// summary over periods and the per-period counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Backtest {
    /// Per period (in order), per method (in the spec's order, ceiling last), per coverage.
    pub results: Vec<BacktestRow>,
    /// Per method and coverage, over every period.
    pub summary: Vec<SummaryRow>,
    pub periods: Vec<PeriodReport>,
    pub params: BacktestParams,
    /// For `ensemble`: the blend fitted inside each period's training span, by cut (empty
    /// when `ensemble` was not evaluated).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ensemble_fits: Vec<EnsembleFitAt>,
}

/// The ensemble blend fitted for one cut, on that cut's training span only.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnsembleFitAt {
    pub cut: Date,
    pub fit: EnsembleFit,
}

/// One period: `[cut, cut + test_days)`. See the module docs.
pub fn backtest(
    points: &[ScoringPoint],
    grid: &Grid,
    params: &ScoringParams,
    spec: &BacktestSpec,
    cut: Date,
    test_days: u32,
) -> Result<Backtest, BacktestError> {
    evaluate(points, grid, params, spec, &[Period { cut, test_days }])
}

/// `n_periods` consecutive periods of `test_days`, the first starting at `first_cut`.
pub fn rolling(
    points: &[ScoringPoint],
    grid: &Grid,
    params: &ScoringParams,
    spec: &BacktestSpec,
    first_cut: Date,
    test_days: u32,
    n_periods: usize,
) -> Result<Backtest, BacktestError> {
    let periods = (0..n_periods)
        .map(|k| {
            let offset = i64::from(test_days) * k as i64;
            Ok(Period {
                cut: add_days(first_cut, offset)?,
                test_days,
            })
        })
        .collect::<Result<Vec<_>, BacktestError>>()?;
    evaluate(points, grid, params, spec, &periods)
}

/// `n` consecutive calendar months from `first`, each a period with its cut on the 1st:
/// the periods month-only (police.uk) data can be tested on.
///
/// ```
/// use planner::backtest::monthly_periods;
/// use planner::time::YearMonth;
/// let p = monthly_periods(YearMonth { year: 2024, month: 2 }, 2);
/// assert_eq!(p[0].cut.to_string(), "2024-02-01");
/// assert_eq!((p[0].test_days, p[1].test_days), (29, 31));
/// ```
pub fn monthly_periods(first: YearMonth, n: usize) -> Vec<Period> {
    let mut out = Vec::with_capacity(n);
    let mut day = first.first_day();
    for _ in 0..n {
        out.push(Period {
            cut: day,
            test_days: day.days_in_month() as u32,
        });
        match day.last_of_month().tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    out
}

/// Evaluates every period in `periods`. See the module docs.
pub fn evaluate(
    points: &[ScoringPoint],
    grid: &Grid,
    params: &ScoringParams,
    spec: &BacktestSpec,
    periods: &[Period],
) -> Result<Backtest, BacktestError> {
    params.validate()?;
    if let Some(&bad) = spec
        .coverages
        .iter()
        .find(|k| !(k.is_finite() && **k > 0.0 && **k <= 100.0))
    {
        return Err(BacktestError::InvalidCoverage(bad));
    }
    if spec.train_days == 0 {
        return Err(BacktestError::InvalidDays("train_days"));
    }
    if periods.is_empty() {
        return Err(BacktestError::NoPeriods);
    }
    if periods.iter().any(|p| p.test_days == 0) {
        return Err(BacktestError::InvalidDays("test_days"));
    }
    let mut results = Vec::new();
    let mut reports = Vec::with_capacity(periods.len());
    let mut months = MonthCache::default();
    let mut ensemble_fits = Vec::new();
    for period in periods {
        crate::cancel::check().map_err(ScoringError::from)?;
        let (rows, report, fit) =
            evaluate_period(points, grid, params, spec, *period, &mut months)?;
        results.extend(rows);
        reports.push(report);
        if let Some(fit) = fit {
            ensemble_fits.push(EnsembleFitAt {
                cut: period.cut,
                fit,
            });
        }
    }
    let summary = summarise(spec, periods.len(), &results);
    let method_names: Vec<String> = spec.methods.iter().map(|m| m.to_string()).collect();
    Ok(Backtest {
        results,
        summary,
        periods: reports,
        params: BacktestParams {
            train_days: spec.train_days,
            test_days: periods.iter().map(|p| p.test_days).collect(),
            cuts: periods.iter().map(|p| p.cut).collect(),
            window: spec.window.to_string(),
            tz: params.tz.iana_name().unwrap_or("fixed offset").to_string(),
            methods: method_names,
            coverages: spec.coverages.clone(),
            cell: grid.cell_size(),
            n_cells: grid.n_inside(),
            bandwidth: params.bandwidth,
            distance: params.distance,
            half_life_days: params
                .half_life_days
                .is_finite()
                .then_some(params.half_life_days),
            n_incidents: points.len(),
        },
        ensemble_fits,
    })
}

/// What [`validate`] evaluates. Build with [`ValidationSpec::new`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationSpec {
    /// Timed incidents count only inside this window (as in [`BacktestSpec::window`]).
    pub window: WindowSpec,
    /// Train span before each cut, days.
    pub train_days: u32,
    /// How many of the most recent periods to hold out, one at a time.
    pub periods: usize,
    /// Test length of each period for timed data, days (month-only data: calendar months).
    pub test_days: u32,
    /// Coverage levels, percent of the study area.
    pub coverages: Vec<f64>,
}

/// Default number of held-out periods of [`validate`].
pub const DEFAULT_VALIDATION_PERIODS: usize = 6;

impl ValidationSpec {
    /// The 6 most recent periods (months for police.uk; 28 days for timed data), a year of
    /// training before each, coverages 1 % and 5 %.
    pub fn new(window: WindowSpec) -> ValidationSpec {
        ValidationSpec {
            window,
            train_days: DEFAULT_TRAIN_DAYS,
            periods: DEFAULT_VALIDATION_PERIODS,
            test_days: DEFAULT_TEST_DAYS,
            coverages: vec![1.0, 5.0],
        }
    }
}

/// PAI and hit rate of one scoring over the held-out periods.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Measures {
    pub pai: Option<Stats>,
    pub hit_rate: Option<Stats>,
}

/// One coverage of a [`Validation`]: the method, the naive baseline and the ceiling.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidationRow {
    /// Percent of the study area.
    pub coverage: f64,
    pub method: Measures,
    /// Last period's counts.
    pub naive: Measures,
    /// The test period's own counts: the best any method could have done.
    pub ceiling: Measures,
}

/// The validation a hotspot answer carries: how the method did on the most recent periods it
/// had not seen, beside the naive baseline and the ceiling.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validation {
    /// The method validated (`ensemble`, `kde`, ...).
    pub method: String,
    /// `"month"` (month-only data: calendar months) or `"days"`.
    pub unit: &'static str,
    /// The held-out periods, oldest first, with their incident counts.
    pub periods: Vec<PeriodReport>,
    pub train_days: u32,
    /// The window spec (`weekend-nights`, ...).
    pub window: String,
    /// One row per coverage, in the spec's order.
    pub rows: Vec<ValidationRow>,
    /// For `ensemble`: the blend fitted for each held-out period.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ensemble_fits: Vec<EnsembleFitAt>,
}

/// The most recent `n` periods of `points` (after `window`), oldest first: for month-only data
/// (every point month-only) the last `n` calendar months up to the latest month present; for
/// timed data `n` periods of `test_days` ending the day after the latest night in the window.
/// Periods whose cut is not after the earliest incident (nothing to train on) are left out.
pub fn recent_periods(
    points: &[ScoringPoint],
    window: &WindowSpec,
    tz: &TimeZone,
    n: usize,
    test_days: u32,
) -> Result<Vec<Period>, BacktestError> {
    if test_days == 0 {
        return Err(BacktestError::InvalidDays("test_days"));
    }
    let month_only = !points.is_empty()
        && points
            .iter()
            .all(|p| matches!(p.occurred, OccurredAt::Month(_)));
    if month_only {
        let months = points.iter().filter_map(|p| match p.occurred {
            OccurredAt::Month(m) => Some(m),
            OccurredAt::Exact(_) => None,
        });
        let (Some(first), Some(last)) = (months.clone().min(), months.max()) else {
            return Ok(Vec::new());
        };
        let mut start = last;
        for _ in 1..n {
            start = if start.month == 1 {
                YearMonth {
                    year: start.year - 1,
                    month: 12,
                }
            } else {
                YearMonth {
                    year: start.year,
                    month: start.month - 1,
                }
            };
        }
        return Ok(monthly_periods(start, n)
            .into_iter()
            .filter(|p| p.cut > first.first_day())
            .collect());
    }
    let nights = points
        .iter()
        .filter_map(|p| match window.select(&p.occurred, tz) {
            Selection::InWindow { night } => Some(night),
            _ => None,
        });
    let (Some(first), Some(last)) = (nights.clone().min(), nights.max()) else {
        return Ok(Vec::new());
    };
    let end = add_days(last, 1)?;
    let mut out = Vec::with_capacity(n);
    for k in (1..=n as i64).rev() {
        let cut = add_days(end, -k * i64::from(test_days))?;
        if cut > first {
            out.push(Period { cut, test_days });
        }
    }
    Ok(out)
}

/// Validates `method` on the most recent [`ValidationSpec::periods`] held-out periods (see
/// [`recent_periods`]): for each, fit on the train span before it and test on it, exactly as
/// [`evaluate`] does; then per coverage the mean, sample sd, minimum and maximum of PAI and hit
/// rate, beside the naive baseline's and the ceiling's.
///
/// Its cost is one [`evaluate`] of one method over the periods: for `ensemble` on a year of
/// Bedfordshire police.uk data (60,000 incidents, 100 m cells) 2 to 3 s in release mode on two
/// shared cores, six periods; `kde` 0.2 to 0.4 s
/// (see `docs/forecasts.md`).
///
/// Errors: [`BacktestError::NoPeriods`] when the data hold no period with training before it.
pub fn validate(
    points: &[ScoringPoint],
    grid: &Grid,
    params: &ScoringParams,
    method: Method,
    spec: &ValidationSpec,
) -> Result<Validation, BacktestError> {
    let periods = recent_periods(
        points,
        &spec.window,
        &params.tz,
        spec.periods,
        spec.test_days,
    )?;
    let month_only = periods.first().is_some_and(|p| p.cut.day() == 1)
        && points
            .iter()
            .all(|p| matches!(p.occurred, OccurredAt::Month(_)));
    let bt = BacktestSpec {
        window: spec.window.clone(),
        train_days: spec.train_days,
        methods: vec![BacktestMethod::Score(method), BacktestMethod::Naive],
        coverages: spec.coverages.clone(),
    };
    let b = evaluate(points, grid, params, &bt, &periods)?;
    let measures = |name: &str, coverage: f64| {
        b.summary
            .iter()
            .find(|r| r.method == name && r.coverage == coverage)
            .map_or(
                Measures {
                    pai: None,
                    hit_rate: None,
                },
                |r| Measures {
                    pai: r.pai,
                    hit_rate: r.hit_rate,
                },
            )
    };
    let rows = spec
        .coverages
        .iter()
        .map(|&coverage| ValidationRow {
            coverage,
            method: measures(method.as_str(), coverage),
            naive: measures(BacktestMethod::Naive.as_str(), coverage),
            ceiling: measures(CEILING, coverage),
        })
        .collect();
    Ok(Validation {
        method: method.to_string(),
        unit: if month_only { "month" } else { "days" },
        periods: b.periods,
        train_days: spec.train_days,
        window: spec.window.to_string(),
        rows,
        ensemble_fits: b.ensemble_fits,
    })
}

fn add_days(date: Date, days: i64) -> Result<Date, BacktestError> {
    let span = Span::new()
        .try_days(days)
        .map_err(|e| BacktestError::DateRange(e.to_string()))?;
    date.checked_add(span)
        .map_err(|e| BacktestError::DateRange(e.to_string()))
}

/// First day, last day and midpoint day of each local month, computed once.
#[derive(Default)]
struct MonthCache {
    months: HashMap<YearMonth, (Date, Date, Date)>,
}

impl MonthCache {
    fn get(&mut self, m: YearMonth, tz: &TimeZone) -> (Date, Date, Date) {
        *self.months.entry(m).or_insert_with(|| {
            let first = m.first_day();
            let mid = tz.to_datetime(month_midpoint(m, tz)).date();
            (first, first.last_of_month(), mid)
        })
    }
}

/// The incidents of one period, split by role.
#[derive(Default)]
struct Split {
    train: Vec<ScoringPoint>,
    test: Vec<ScoringPoint>,
    naive: Vec<ScoringPoint>,
    straddling: usize,
    partial: usize,
}

fn split(
    points: &[ScoringPoint],
    window: &WindowSpec,
    tz: &TimeZone,
    spans: &Spans,
    months: &mut MonthCache,
) -> Split {
    let mut out = Split::default();
    for p in points {
        match window.select(&p.occurred, tz) {
            Selection::Outside => {}
            Selection::InWindow { night } => {
                if spans.train_start <= night && night < spans.cut {
                    out.train.push(*p);
                } else if spans.cut <= night && night < spans.test_end {
                    out.test.push(*p);
                }
                if spans.naive_start <= night && night < spans.cut {
                    out.naive.push(*p);
                }
            }
            Selection::PlaceOnly => {
                let OccurredAt::Month(m) = p.occurred else {
                    continue;
                };
                let (first, last, mid) = months.get(m, tz);
                if first >= spans.train_start && last < spans.cut {
                    out.train.push(*p);
                } else if first >= spans.cut && last < spans.test_end {
                    out.test.push(*p);
                } else if first < spans.cut && last >= spans.cut {
                    out.straddling += 1;
                } else if last >= spans.train_start && first < spans.test_end {
                    out.partial += 1;
                }
                if last < spans.cut && spans.naive_start <= mid && mid < spans.cut {
                    out.naive.push(*p);
                }
            }
        }
    }
    out
}

struct Spans {
    train_start: Date,
    naive_start: Date,
    cut: Date,
    test_end: Date,
}

/// Plain incident counts per cell of the points inside the study area, and how many were.
fn counts(grid: &Grid, points: &[ScoringPoint]) -> (Vec<f64>, usize, usize) {
    let mut c = vec![0.0; grid.len()];
    let (mut inside, mut untimed) = (0, 0);
    for p in points {
        if let Some(i) = grid.locate(p.x, p.y) {
            c[i] += 1.0;
            inside += 1;
            untimed += usize::from(p.occurred.instant().is_none());
        }
    }
    (c, inside, untimed)
}

/// Number of cells for coverage `k` % of `n` cells: `max(1, ceil(k n / 100))`, at most `n`,
/// with `k n / 100` within 1e-9 (relative) of a whole number taken as that number.
pub fn cells_for_coverage(coverage: f64, n: usize) -> usize {
    let x = coverage * n as f64 / 100.0;
    let r = x.round();
    let c = if (x - r).abs() <= 1e-9 * r.max(1.0) {
        r
    } else {
        x.ceil()
    };
    (c.max(1.0) as usize).min(n)
}

fn evaluate_period(
    points: &[ScoringPoint],
    grid: &Grid,
    params: &ScoringParams,
    spec: &BacktestSpec,
    period: Period,
    months: &mut MonthCache,
) -> Result<(Vec<BacktestRow>, PeriodReport, Option<EnsembleFit>), BacktestError> {
    let tz = &params.tz;
    let cut = period.cut;
    let spans = Spans {
        train_start: add_days(cut, -i64::from(spec.train_days))?,
        naive_start: add_days(cut, -i64::from(period.test_days))?,
        cut,
        test_end: add_days(cut, i64::from(period.test_days))?,
    };
    let as_of = cut
        .to_zoned(tz.clone())
        .map_err(|e| BacktestError::DateRange(e.to_string()))?
        .timestamp();
    let parts = split(points, &spec.window, tz, &spans, months);

    let mut fit = params.clone();
    fit.as_of = as_of;
    let weighed = weights::weigh(grid, &parts.train, &fit);
    let totals = weights::cell_totals(grid, &weighed.points);
    let (test_counts, test_in, test_untimed) = counts(grid, &parts.test);
    let (naive_counts, naive_in, _) = counts(grid, &parts.naive);

    let n_cells = grid.n_inside();
    let takes: Vec<usize> = spec
        .coverages
        .iter()
        .map(|&k| cells_for_coverage(k, n_cells))
        .collect();
    let mut rows = Vec::with_capacity((spec.methods.len() + 1) * takes.len());
    let mut push_rows = |name: &str, scores: &[f64]| {
        let order = top_order(grid, scores);
        // hits[j] = test incidents in the first j cells of the order.
        let max_take = takes.iter().copied().max().unwrap_or(0);
        let mut hits = Vec::with_capacity(max_take + 1);
        hits.push(0usize);
        for &i in order.iter().take(max_take) {
            let last = hits.last().copied().unwrap_or(0);
            hits.push(last + test_counts[i] as usize);
        }
        for (&coverage, &take) in spec.coverages.iter().zip(&takes) {
            let h = hits[take.min(hits.len() - 1)];
            let area_share = take as f64 / n_cells as f64;
            let hit_rate = (test_in > 0).then(|| h as f64 / test_in as f64);
            rows.push(BacktestRow {
                method: name.to_string(),
                cut,
                coverage,
                hit_rate,
                pai: hit_rate.map(|r| r / area_share),
                test_incidents: test_in,
                hits: h,
                cells: take,
                area_share,
            });
        }
    };
    let mut ensemble_fit = None;
    for m in &spec.methods {
        match m {
            BacktestMethod::Score(method) => {
                // Fitted on `weighed`: the train span's incidents only, `as_of` = the cut.
                let s = method_scores(*method, grid, &weighed, &totals, &fit)?;
                push_rows(m.as_str(), &s.score);
                if s.ensemble.is_some() {
                    ensemble_fit = s.ensemble;
                }
            }
            BacktestMethod::Naive => push_rows(m.as_str(), &naive_counts),
        }
    }
    push_rows(CEILING, &test_counts);

    let report = PeriodReport {
        cut,
        train_start: spans.train_start,
        test_end: spans.test_end,
        test_days: period.test_days,
        train_incidents: weighed.points.len(),
        train_place_only: weighed.n_untimed,
        test_incidents: test_in,
        test_place_only: test_untimed,
        test_outside_area: parts.test.len() - test_in,
        naive_incidents: naive_in,
        place_only_straddling_cut: parts.straddling,
        place_only_partial: parts.partial,
    };
    Ok((rows, report, ensemble_fit))
}

/// Study-area cells by score (highest first), ties by row then column (see module docs).
fn top_order(grid: &Grid, scores: &[f64]) -> Vec<usize> {
    // `+ 0.0` turns -0.0 into 0.0, so a signed zero never orders cells differently.
    let normalised: Vec<f64> = scores.iter().map(|s| s + 0.0).collect();
    rank::rank(grid, &normalised).order
}

fn summarise(spec: &BacktestSpec, n_periods: usize, rows: &[BacktestRow]) -> Vec<SummaryRow> {
    let names = spec
        .methods
        .iter()
        .map(|m| m.as_str())
        .chain(std::iter::once(CEILING));
    let mut out = Vec::new();
    for name in names {
        for &coverage in &spec.coverages {
            let mine = rows
                .iter()
                .filter(|r| r.method == name && r.coverage == coverage);
            let pai: Vec<f64> = mine.clone().filter_map(|r| r.pai).collect();
            let hit: Vec<f64> = mine.filter_map(|r| r.hit_rate).collect();
            out.push(SummaryRow {
                method: name.to_string(),
                coverage,
                periods: n_periods,
                pai: Stats::of(&pai),
                hit_rate: Stats::of(&hit),
            });
        }
    }
    out
}

impl Backtest {
    /// A plain-text table for terminals and READMEs: per period, PAI with the hit rate in
    /// brackets for each method and coverage; then, with more than one period, the mean ±
    /// sample standard deviation of PAI and its range.
    pub fn to_table(&self) -> String {
        let mut s = String::new();
        for p in &self.periods {
            let _ = writeln!(
                s,
                "cut {}: test [{}, {}) {} days, {} incidents ({} place-only, {} outside the \
                 area); train from {}, {} incidents ({} place-only); month-only dropped: {} \
                 straddling the cut, {} partial",
                p.cut,
                p.cut,
                p.test_end,
                p.test_days,
                p.test_incidents,
                p.test_place_only,
                p.test_outside_area,
                p.train_start,
                p.train_incidents,
                p.train_place_only,
                p.place_only_straddling_cut,
                p.place_only_partial,
            );
            let mine: Vec<&BacktestRow> = self.results.iter().filter(|r| r.cut == p.cut).collect();
            self.table(&mut s, "PAI (hit %)", 16, |name, coverage| {
                let r = mine
                    .iter()
                    .find(|r| r.method == name && r.coverage == coverage)?;
                Some(format!("{:.2} ({:.1}%)", r.pai?, 100.0 * r.hit_rate?))
            });
            s.push('\n');
        }
        if self.periods.len() > 1 {
            let _ = writeln!(
                s,
                "PAI over {} periods: mean ± sample sd [min, max]",
                self.periods.len()
            );
            self.table(&mut s, "method", 30, |name, coverage| {
                let r = self
                    .summary
                    .iter()
                    .find(|r| r.method == name && r.coverage == coverage)?;
                let st = r.pai?;
                let sd = st.sd.map_or("-".to_string(), |sd| format!("{sd:.2}"));
                Some(format!(
                    "{:.2} ± {sd} [{:.2}, {:.2}]",
                    st.mean, st.min, st.max
                ))
            });
        }
        s
    }

    /// One table: a header of coverages, then a line per method (in result order).
    fn table(
        &self,
        s: &mut String,
        corner: &str,
        width: usize,
        cell: impl Fn(&str, f64) -> Option<String>,
    ) {
        let covs = &self.params.coverages;
        let _ = write!(s, "{corner:<12}");
        for c in covs {
            let _ = write!(s, " {:>width$}", format!("{c}%"));
        }
        s.push('\n');
        let mut names: Vec<&str> = Vec::new();
        for r in &self.results {
            if !names.contains(&r.method.as_str()) {
                names.push(&r.method);
            }
        }
        for name in names {
            let _ = write!(s, "{name:<12}");
            for &c in covs {
                let text = cell(name, c).unwrap_or_else(|| "-".to_string());
                let _ = write!(s, " {text:>width$}");
            }
            s.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::category::Category;
    use crate::harm::HarmTable;
    use crate::hotspots::score;
    use crate::time::london;
    use approx::assert_relative_eq;
    use jiff::Timestamp;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn at(x: f64, y: f64, s: &str) -> ScoringPoint {
        ScoringPoint {
            x,
            y,
            category: Category::Violence,
            occurred: OccurredAt::Exact(ts(s)),
        }
    }

    fn month(x: f64, y: f64, year: i16, month: i8) -> ScoringPoint {
        ScoringPoint {
            x,
            y,
            category: Category::ViolenceAndSexual,
            occurred: OccurredAt::Month(YearMonth { year, month }),
        }
    }

    /// Uniform harm and no decay: the `count` score is the plain training count.
    fn plain(tz: TimeZone) -> ScoringParams {
        let mut p = ScoringParams::new(ts("2000-01-01T00:00:00Z"), tz);
        p.harm = HarmTable::uniform(1.0);
        p.half_life_days = f64::INFINITY;
        p
    }

    fn spec(
        window: WindowSpec,
        train_days: u32,
        methods: &[BacktestMethod],
        cov: &[f64],
    ) -> BacktestSpec {
        BacktestSpec {
            window,
            train_days,
            methods: methods.to_vec(),
            coverages: cov.to_vec(),
        }
    }

    fn row<'a>(b: &'a Backtest, method: &str, coverage: f64) -> &'a BacktestRow {
        b.results
            .iter()
            .find(|r| r.method == method && r.coverage == coverage)
            .unwrap()
    }

    /// (hit_rate, pai, hits, cells) of a row.
    fn hp(r: &BacktestRow) -> (Option<f64>, Option<f64>, usize, usize) {
        (r.hit_rate, r.pai, r.hits, r.cells)
    }

    #[test]
    fn hit_rates_and_pai_by_hand_on_a_tiny_grid() {
        // Ten 10 m cells in one row: cell k covers x in [10k, 10k + 10).
        let grid = Grid::from_bbox(10.0, 0.0, 0.0, 99.0, 9.0).unwrap();
        assert_eq!(grid.n_inside(), 10);
        let c = |k: usize| 10.0 * k as f64 + 5.0;
        let pts = vec![
            // Training (cut 1 March, 10 days: 20-29 February): cell 0 x3, cell 5 x2, cell 9 x1.
            at(c(0), 5.0, "2024-02-20T12:00:00Z"),
            at(c(0), 5.0, "2024-02-21T12:00:00Z"),
            at(c(0), 5.0, "2024-02-22T12:00:00Z"),
            at(c(5), 5.0, "2024-02-21T12:00:00Z"),
            at(c(5), 5.0, "2024-02-22T23:59:59Z"),
            at(c(9), 5.0, "2024-02-25T12:00:00Z"), // also in the naive span (23-29 Feb)
            at(c(3), 5.0, "2024-02-19T23:59:59Z"), // before the train span: ignored
            // Test (1-7 March): cell 0 x2, cell 5 x1, cell 7 x1, one outside the area.
            at(c(0), 5.0, "2024-03-01T00:00:00Z"),
            at(c(0), 5.0, "2024-03-07T23:59:59Z"),
            at(c(5), 5.0, "2024-03-04T12:00:00Z"),
            at(c(7), 5.0, "2024-03-05T12:00:00Z"),
            at(-5.0, 5.0, "2024-03-05T12:00:00Z"),
            at(c(1), 5.0, "2024-03-08T00:00:00Z"), // after the test span: ignored
        ];
        let methods = [BacktestMethod::Score(Method::Count), BacktestMethod::Naive];
        let s = spec(WindowSpec::all(), 10, &methods, &[1.0, 10.0, 20.0, 30.0]);
        let b = backtest(
            &pts,
            &grid,
            &plain(TimeZone::UTC),
            &s,
            date("2024-03-01"),
            7,
        )
        .unwrap();
        let p = &b.periods[0];
        assert_eq!(
            (
                p.train_incidents,
                p.test_incidents,
                p.test_outside_area,
                p.naive_incidents
            ),
            (6, 4, 1, 1)
        );
        assert_eq!(
            (p.train_start, p.test_end),
            (date("2024-02-20"), date("2024-03-08"))
        );
        // count: order 0 (3), 5 (2), 9 (1), then the zeros by index.
        assert_eq!(hp(row(&b, "count", 10.0)), (Some(0.5), Some(5.0), 2, 1));
        assert_eq!(hp(row(&b, "count", 20.0)), (Some(0.75), Some(3.75), 3, 2));
        assert_eq!(hp(row(&b, "count", 30.0)).2, 3);
        assert_relative_eq!(row(&b, "count", 30.0).pai.unwrap(), 0.75 / 0.3);
        // 1 % of 10 cells is 0.1 cell: one cell is taken, and the row says so.
        let one = row(&b, "count", 1.0);
        assert_eq!(hp(one), (Some(0.5), Some(5.0), 2, 1));
        assert_eq!(one.area_share, 0.1);
        // naive: cell 9 (1), then cells 0, 1, … tied at zero, by index.
        assert_eq!(hp(row(&b, "naive", 10.0)), (Some(0.0), Some(0.0), 0, 1));
        assert_eq!(hp(row(&b, "naive", 20.0)), (Some(0.5), Some(2.5), 2, 2));
        assert_eq!(hp(row(&b, "naive", 30.0)).2, 2);
        // ceiling: test counts 0 (2), then 5 and 7 (1 each, by index).
        assert_eq!(hp(row(&b, "ceiling", 10.0)), (Some(0.5), Some(5.0), 2, 1));
        assert_eq!(hp(row(&b, "ceiling", 20.0)), (Some(0.75), Some(3.75), 3, 2));
        assert_eq!(hp(row(&b, "ceiling", 30.0)).2, 4);
        assert_relative_eq!(row(&b, "ceiling", 30.0).pai.unwrap(), 1.0 / 0.3);
        assert!(b.results.iter().all(|r| r.test_incidents == 4));
        // Rows: per method in the spec's order, ceiling last, per coverage.
        let names: Vec<&str> = b.results.iter().map(|r| r.method.as_str()).collect();
        assert_eq!(names[0], "count");
        assert_eq!(names[4], "naive");
        assert_eq!(names[8..], ["ceiling"; 4]);
    }

    #[test]
    fn no_test_incidents_give_none_not_nan() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 199.0, 199.0).unwrap();
        let pts = [at(10.0, 10.0, "2024-02-20T12:00:00Z")];
        let s = BacktestSpec::new(WindowSpec::all());
        let b = backtest(
            &pts,
            &grid,
            &plain(TimeZone::UTC),
            &s,
            date("2024-03-01"),
            7,
        )
        .unwrap();
        assert_eq!(b.results.len(), 6 * 4);
        for r in &b.results {
            assert_eq!(
                (r.hit_rate, r.pai, r.test_incidents, r.hits),
                (None, None, 0, 0)
            );
        }
        assert!(
            b.summary
                .iter()
                .all(|s| s.pai.is_none() && s.hit_rate.is_none())
        );
        let json = serde_json::to_value(&b).unwrap();
        assert!(json["results"][0]["pai"].is_null());
        assert!(json["results"][0]["hit_rate"].is_null());
        // And with nothing at all.
        let b = backtest(&[], &grid, &plain(TimeZone::UTC), &s, date("2024-03-01"), 7).unwrap();
        assert!(b.results.iter().all(|r| r.pai.is_none()));
    }

    #[test]
    fn all_test_incidents_in_one_cell() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 499.0, 499.0).unwrap(); // 100 cells
        let mut pts = vec![at(260.0, 260.0, "2024-02-25T12:00:00Z")];
        for d in 1..=7 {
            pts.push(at(
                255.0 + d as f64,
                270.0,
                &format!("2024-03-0{d}T22:00:00Z"),
            ));
        }
        let s = spec(WindowSpec::all(), 30, &BacktestMethod::ALL, &[1.0, 5.0]);
        let b = backtest(
            &pts,
            &grid,
            &plain(TimeZone::UTC),
            &s,
            date("2024-03-01"),
            7,
        )
        .unwrap();
        // The ceiling catches everything in its first cell: PAI = 1 / (1/100).
        assert_eq!(hp(row(&b, "ceiling", 1.0)), (Some(1.0), Some(100.0), 7, 1));
        assert_eq!(hp(row(&b, "ceiling", 5.0)), (Some(1.0), Some(20.0), 7, 5));
        // The one training incident is in the same cell: count and naive rank it first.
        for m in ["count", "naive", "kde"] {
            assert_eq!(hp(row(&b, m, 1.0)), (Some(1.0), Some(100.0), 7, 1), "{m}");
        }
        // Prospective: the four cells whose centres lie within 50 m of the incident are all
        // in distance band 0 and tie; the tie goes by row, then column, so cell 4_4 comes
        // first and the 1 % map misses. The 5 % map (5 cells) holds all four.
        assert_eq!(
            hp(row(&b, "prospective", 1.0)),
            (Some(0.0), Some(0.0), 0, 1)
        );
        assert_eq!(row(&b, "prospective", 5.0).hits, 7);
    }

    #[test]
    fn cells_for_coverage_rounds_up_but_not_on_noise() {
        assert_eq!(cells_for_coverage(0.5, 400), 2);
        assert_eq!(cells_for_coverage(1.0, 10), 1);
        assert_eq!(cells_for_coverage(5.0, 10), 1);
        assert_eq!(cells_for_coverage(0.35, 1000), 4);
        // 0.07 x 10000 / 100 is 7.000000000000001 in f64, and 0.57 x 10000 / 100 is
        // 56.99999999999999: both are whole numbers of cells.
        assert_eq!(cells_for_coverage(0.07, 10_000), 7);
        assert_eq!(cells_for_coverage(0.57, 10_000), 57);
        assert_eq!(cells_for_coverage(100.0, 7), 7);
        assert_eq!(cells_for_coverage(0.0001, 3), 1);
    }

    #[test]
    fn invalid_inputs_are_refused() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 99.0, 99.0).unwrap();
        let p = plain(TimeZone::UTC);
        let cut = date("2024-03-01");
        for bad in [0.0, -1.0, 100.5, f64::NAN, f64::INFINITY] {
            let mut s = BacktestSpec::new(WindowSpec::all());
            s.coverages = vec![1.0, bad];
            match backtest(&[], &grid, &p, &s, cut, 7) {
                Err(BacktestError::InvalidCoverage(v)) => assert!(v.is_nan() || v == bad),
                other => panic!("{bad}: {other:?}"),
            }
        }
        let mut s = BacktestSpec::new(WindowSpec::all());
        assert_eq!(
            backtest(&[], &grid, &p, &s, cut, 0),
            Err(BacktestError::InvalidDays("test_days"))
        );
        assert_eq!(
            rolling(&[], &grid, &p, &s, cut, 7, 0),
            Err(BacktestError::NoPeriods)
        );
        s.train_days = 0;
        assert_eq!(
            backtest(&[], &grid, &p, &s, cut, 7),
            Err(BacktestError::InvalidDays("train_days"))
        );
        let mut bad = p.clone();
        bad.bandwidth = -1.0;
        assert!(matches!(
            backtest(
                &[],
                &grid,
                &bad,
                &BacktestSpec::new(WindowSpec::all()),
                cut,
                7
            ),
            Err(BacktestError::Scoring(_))
        ));
    }

    #[test]
    fn month_only_incidents_use_whole_months_and_straddling_months_are_dropped() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 199.0, 199.0).unwrap();
        // Cut 15 February 2024; train 100 days (from 7 November 2023); test 60 days (to
        // 14 April 2024, end 15 April).
        let mut pts = Vec::new();
        for (m, n) in [
            ((2023, 10), 1), // before every span
            ((2023, 11), 2), // partly before the train span: partial
            ((2023, 12), 3), // train
            ((2024, 1), 4),  // train, and the naive month (midpoint 16 January)
            ((2024, 2), 5),  // straddles the cut
            ((2024, 3), 6),  // test
            ((2024, 4), 7),  // partly after the test span: partial
            ((2024, 5), 8),  // after every span
        ] {
            for _ in 0..n {
                pts.push(month(20.0, 20.0, m.0, m.1));
            }
        }
        let methods = [BacktestMethod::Score(Method::Count), BacktestMethod::Naive];
        let s = spec(WindowSpec::weekend_nights(), 100, &methods, &[25.0]);
        let b = backtest(&pts, &grid, &plain(london()), &s, date("2024-02-15"), 60).unwrap();
        let p = &b.periods[0];
        assert_eq!(p.train_start, date("2023-11-07"));
        assert_eq!(p.test_end, date("2024-04-15"));
        assert_eq!((p.train_incidents, p.train_place_only), (7, 7));
        assert_eq!((p.test_incidents, p.test_place_only), (6, 6));
        assert_eq!(p.place_only_straddling_cut, 5);
        assert_eq!(p.place_only_partial, 2 + 7);
        // Naive span: 17 December 2023 to 14 February 2024 holds January's midpoint (16
        // January) but not December's (16 December); February has not ended by the cut.
        assert_eq!(p.naive_incidents, 4);
        assert_eq!(hp(row(&b, "count", 25.0)), (Some(1.0), Some(4.0), 6, 4));
        // The naive span for a 28-day test period before 1 February is January.
        let b = backtest(&pts, &grid, &plain(london()), &s, date("2024-02-01"), 28).unwrap();
        assert_eq!(b.periods[0].naive_incidents, 4);
        // Nothing of February is tested: it does not fit in 28 days.
        assert_eq!(b.periods[0].test_incidents, 0);
        let b = evaluate(
            &pts,
            &grid,
            &plain(london()),
            &s,
            &monthly_periods(
                YearMonth {
                    year: 2024,
                    month: 2,
                },
                2,
            ),
        )
        .unwrap();
        assert_eq!(b.periods[0].test_incidents, 5);
        assert_eq!(b.periods[1].test_incidents, 6);
        assert_eq!(b.periods[1].place_only_straddling_cut, 0);
    }

    #[test]
    fn dst_weekend_in_the_test_window() {
        // Night of Saturday 26 October 2024 in London: 18:00 BST (17:00Z) to 06:00 GMT
        // (06:00Z), 13 hours; local 01:30 happens at 00:30Z and again at 01:30Z.
        let grid = Grid::from_bbox(10.0, 0.0, 0.0, 99.0, 9.0).unwrap();
        let c = |k: usize| 10.0 * k as f64 + 5.0;
        let pts = vec![
            at(c(0), 5.0, "2024-10-26T16:59:00Z"), // 17:59 BST Saturday: outside
            at(c(1), 5.0, "2024-10-26T17:00:00Z"), // 18:00 BST: in
            at(c(2), 5.0, "2024-10-27T00:30:00Z"), // first 01:30: in
            at(c(2), 5.0, "2024-10-27T01:30:00Z"), // second 01:30: in
            at(c(3), 5.0, "2024-10-27T05:59:00Z"), // 05:59 GMT: in
            at(c(4), 5.0, "2024-10-27T06:00:00Z"), // 06:00 GMT: the end, outside
            at(c(5), 5.0, "2024-10-28T00:30:00Z"), // Monday: outside
            at(c(6), 5.0, "2024-10-20T00:30:00Z"), // Saturday 19 October's night: train
        ];
        let methods = [BacktestMethod::Score(Method::Count)];
        let s = spec(WindowSpec::weekend_nights(), 14, &methods, &[10.0, 30.0]);
        let b = backtest(&pts, &grid, &plain(london()), &s, date("2024-10-21"), 7).unwrap();
        assert_eq!(b.periods[0].test_incidents, 4);
        assert_eq!(b.periods[0].train_incidents, 1);
        // Ceiling: cell 2 (2), then cells 1 and 3 (1 each).
        assert_eq!(hp(row(&b, "ceiling", 10.0)), (Some(0.5), Some(5.0), 2, 1));
        assert_eq!(row(&b, "ceiling", 30.0).hits, 4);
        // A cut on the Saturday: Friday night's early hours (after the cut instant) stay
        // with Friday, in training.
        let fri = [
            at(c(0), 5.0, "2024-10-26T00:00:00Z"), // 01:00 BST Saturday, Friday night
            at(c(1), 5.0, "2024-10-26T17:30:00Z"), // Saturday night
        ];
        let b = backtest(&fri, &grid, &plain(london()), &s, date("2024-10-26"), 7).unwrap();
        assert_eq!(
            (b.periods[0].train_incidents, b.periods[0].test_incidents),
            (1, 1)
        );
        assert_eq!(row(&b, "count", 10.0).hits, 0);
    }

    /// A value per (column, row) of a cell.
    type CellMap = HashMap<(i64, i64), f64>;

    /// Independent re-implementation over a random instance: UTC, weekend nights, timed and
    /// month-only incidents, some outside the area, integer coordinates so scores tie.
    #[test]
    fn matches_brute_force_on_a_random_instance() {
        const DAY: i64 = 86_400;
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let grid = Grid::from_bbox(50.0, 1000.0, 2000.0, 1499.0, 2399.0).unwrap(); // 10 x 8
        let t0 = 1_704_067_200; // 2024-01-01T00:00:00Z, a Monday
        let t1 = 1_719_792_000; // 2024-07-01
        let mut pts = Vec::new();
        for _ in 0..3000 {
            let x = f64::from(rng.random_range(950..1550)) + 0.5;
            let y = f64::from(rng.random_range(1950..2450)) + 0.5;
            let occurred = if rng.random_bool(0.2) {
                OccurredAt::Month(YearMonth {
                    year: 2024,
                    month: rng.random_range(1..=6),
                })
            } else {
                OccurredAt::Exact(Timestamp::from_second(rng.random_range(t0..t1)).unwrap())
            };
            let category = Category::ALL[rng.random_range(0..Category::ALL.len())];
            pts.push(ScoringPoint {
                x,
                y,
                category,
                occurred,
            });
        }
        let mut params = ScoringParams::new(ts("2000-01-01T00:00:00Z"), TimeZone::UTC);
        params.half_life_days = 30.0;
        let train_days = 45;
        // 35 days: the first period (from 1 February) holds the whole of February, so
        // month-only incidents are tested there; later ones hold no whole month.
        let test_days = 35;
        let coverages = [0.5, 1.0, 2.0, 5.0, 10.0, 37.0];
        let s = spec(
            WindowSpec::weekend_nights(),
            train_days,
            &BacktestMethod::EVERY,
            &coverages,
        );
        let first = date("2024-02-01");
        let b = rolling(&pts, &grid, &params, &s, first, test_days, 4).unwrap();
        assert_eq!(b.results.len(), 4 * 7 * coverages.len());

        // Day numbers since the epoch (UTC), and the night an instant belongs to.
        let night = |t: i64| -> Option<i64> {
            let (day, hour) = (t.div_euclid(DAY), t.rem_euclid(DAY) / 3600);
            let weekday = (day + 3).rem_euclid(7); // Monday 0
            if hour >= 18 && (weekday == 4 || weekday == 5) {
                Some(day)
            } else if hour < 6 && (weekday == 5 || weekday == 6) {
                Some(day - 1)
            } else {
                None
            }
        };
        let month_days = |m: i8| -> (i64, i64) {
            let firsts = [0, 31, 60, 91, 121, 152, 182]; // 2024, a leap year, from 1 January
            let first = t0 / DAY + firsts[(m - 1) as usize];
            let len = firsts[m as usize] - firsts[(m - 1) as usize];
            (first, len)
        };
        let cell_of = |p: &ScoringPoint| -> Option<(i64, i64)> {
            let (c, r) = ((p.x / 50.0).floor() as i64, (p.y / 50.0).floor() as i64);
            ((20..30).contains(&c) && (40..48).contains(&r)).then_some((c, r))
        };
        let n = 80usize;
        let first_day = first.since(date("1970-01-01")).unwrap().get_days() as i64;
        let mut pai_by: HashMap<(String, u64), Vec<f64>> = HashMap::new();
        for k in 0..4i64 {
            let cut = first_day + k * test_days as i64;
            let (train_start, naive_start, test_end) = (
                cut - train_days as i64,
                cut - test_days as i64,
                cut + test_days as i64,
            );
            let (mut train, mut test, mut naive) = (vec![], vec![], vec![]);
            for p in &pts {
                match p.occurred {
                    OccurredAt::Exact(t) => {
                        let Some(d) = night(t.as_second()) else {
                            continue;
                        };
                        if (train_start..cut).contains(&d) {
                            train.push(*p);
                        }
                        if (cut..test_end).contains(&d) {
                            test.push(*p);
                        }
                        if (naive_start..cut).contains(&d) {
                            naive.push(*p);
                        }
                    }
                    OccurredAt::Month(m) => {
                        let (f, len) = month_days(m.month);
                        let last = f + len - 1;
                        if f >= train_start && last < cut {
                            train.push(*p);
                        }
                        if f >= cut && last < test_end {
                            test.push(*p);
                        }
                        if last < cut && (naive_start..cut).contains(&(f + len / 2)) {
                            naive.push(*p);
                        }
                    }
                }
            }
            let count_cells = |v: &[ScoringPoint]| {
                let mut m: CellMap = HashMap::new();
                for p in v {
                    if let Some(c) = cell_of(p) {
                        *m.entry(c).or_default() += 1.0;
                    }
                }
                m
            };
            let test_cells = count_cells(&test);
            let test_total: f64 = test_cells.values().sum();
            let mut fit = params.clone();
            fit.as_of = Timestamp::from_second(cut * DAY).unwrap();
            fit.all_cells = true;
            let mut by_method: Vec<(String, CellMap)> = Vec::new();
            for m in Method::ALL {
                let scored = score(m, &grid, &train, &fit).unwrap();
                let map = scored
                    .cells
                    .iter()
                    .map(|c| ((c.col, c.row), c.score))
                    .collect();
                by_method.push((m.to_string(), map));
            }
            by_method.push(("naive".into(), count_cells(&naive)));
            by_method.push(("ceiling".into(), test_cells.clone()));
            let cut_date = date("1970-01-01")
                .checked_add(Span::new().days(cut))
                .unwrap();
            for (name, scores) in &by_method {
                let mut cells: Vec<(f64, i64, i64)> = (20..30)
                    .flat_map(|c| (40..48).map(move |r| (c, r)))
                    .map(|(c, r)| (scores.get(&(c, r)).copied().unwrap_or(0.0), r, c))
                    .collect();
                cells.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
                for &cov in &coverages {
                    let take = ((cov * n as f64 / 100.0).ceil() as usize).max(1);
                    let hits: f64 = cells[..take]
                        .iter()
                        .map(|&(_, r, c)| test_cells.get(&(c, r)).copied().unwrap_or(0.0))
                        .sum();
                    let got = b
                        .results
                        .iter()
                        .find(|r| r.method == *name && r.coverage == cov && r.cut == cut_date)
                        .unwrap();
                    assert_eq!(got.cells, take, "{name} {cov} {cut_date}");
                    assert_eq!(got.hits as f64, hits, "{name} {cov} {cut_date}");
                    assert_eq!(got.test_incidents as f64, test_total);
                    let hit_rate = hits / test_total;
                    let pai = hit_rate / (take as f64 / n as f64);
                    assert_relative_eq!(got.hit_rate.unwrap(), hit_rate, max_relative = 1e-12);
                    assert_relative_eq!(got.pai.unwrap(), pai, max_relative = 1e-12);
                    pai_by
                        .entry((name.clone(), cov.to_bits()))
                        .or_default()
                        .push(pai);
                    // The ceiling bounds every method.
                    let ceiling = b
                        .results
                        .iter()
                        .find(|r| r.method == "ceiling" && r.coverage == cov && r.cut == cut_date)
                        .unwrap();
                    assert!(ceiling.hits >= got.hits);
                }
            }
        }
        // The summary: mean, sample sd, min and max of the four periods' PAI.
        for row in &b.summary {
            let v = &pai_by[&(row.method.clone(), row.coverage.to_bits())];
            let mean = v.iter().sum::<f64>() / 4.0;
            let sd = (v.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / 3.0).sqrt();
            let st = row.pai.unwrap();
            assert_eq!((st.n, row.periods), (4, 4));
            assert_relative_eq!(st.mean, mean, max_relative = 1e-12);
            assert_relative_eq!(st.sd.unwrap(), sd, max_relative = 1e-9, epsilon = 1e-12);
            assert_eq!(st.min, v.iter().copied().fold(f64::INFINITY, f64::min));
            assert_eq!(st.max, v.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        }
        // The instance is not degenerate: every path of the selection is taken.
        assert!(b.periods.iter().all(|p| p.test_incidents > 20));
        assert!(b.periods.iter().all(|p| p.test_outside_area > 0));
        assert!(b.periods[0].test_place_only > 0);
        assert!(b.periods.iter().all(|p| p.train_place_only > 0));
        assert!(
            b.periods[1..]
                .iter()
                .all(|p| p.place_only_straddling_cut > 0)
        );
    }

    #[test]
    fn json_has_the_contract_fields() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 99.0, 99.0).unwrap();
        let pts = [
            at(10.0, 10.0, "2024-02-20T12:00:00Z"),
            at(10.0, 10.0, "2024-03-02T12:00:00Z"),
        ];
        let s = BacktestSpec::new(WindowSpec::all());
        let b = backtest(&pts, &grid, &plain(london()), &s, date("2024-03-01"), 7).unwrap();
        let json = serde_json::to_value(&b).unwrap();
        let r = &json["results"][0];
        for key in [
            "method",
            "cut",
            "coverage",
            "hit_rate",
            "pai",
            "test_incidents",
        ] {
            assert!(r.get(key).is_some(), "{key}");
        }
        assert_eq!(r["method"], "count");
        assert_eq!(r["cut"], "2024-03-01");
        assert_eq!(r["coverage"], 0.5);
        assert_eq!(r["test_incidents"], 1);
        assert_eq!(json["params"]["window"], "all");
        assert_eq!(json["params"]["tz"], "Europe/London");
        assert_eq!(json["params"]["n_cells"], 4);
        assert!(json["params"]["half_life_days"].is_null());
        let methods: Vec<&str> = json["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["method"].as_str().unwrap())
            .collect();
        for m in ["count", "kde", "gistar", "prospective", "naive", "ceiling"] {
            assert_eq!(methods.iter().filter(|x| **x == m).count(), 4, "{m}");
        }
        assert!(b.to_table().contains("ceiling"));
    }

    #[test]
    fn methods_parse_by_name() {
        for m in BacktestMethod::EVERY {
            assert_eq!(m.as_str().parse::<BacktestMethod>().unwrap(), m);
        }
        assert_eq!(
            " Naive ".parse::<BacktestMethod>().unwrap(),
            BacktestMethod::Naive
        );
        assert!("ceiling".parse::<BacktestMethod>().is_err());
    }

    /// Month-only points on a 10 x 10 grid of 50 m cells, snapped to a few recurring spots.
    fn snapped_months(seed: u64, months: &[(i16, i8)], per_month: usize) -> Vec<ScoringPoint> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let spots: Vec<(f64, f64)> = (0..25)
            .map(|_| {
                (
                    f64::from(rng.random_range(0..500)) + 0.5,
                    f64::from(rng.random_range(0..500)) + 0.5,
                )
            })
            .collect();
        let mut pts = Vec::new();
        for &(y, m) in months {
            for _ in 0..per_month {
                // Squaring favours the first spots: some are hot, most are not.
                let k = (rng.random::<f64>().powi(2) * spots.len() as f64) as usize;
                let (x, yy) = spots[k.min(spots.len() - 1)];
                pts.push(month(x, yy, y, m));
            }
        }
        pts
    }

    #[test]
    fn the_ensemble_is_fitted_on_the_train_span_only() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 499.0, 499.0).unwrap();
        let months = [(2024, 1), (2024, 2), (2024, 3), (2024, 4), (2024, 5)];
        let pts = snapped_months(3, &months, 40);
        let methods = [
            BacktestMethod::Score(Method::Ensemble),
            BacktestMethod::Naive,
        ];
        let s = spec(WindowSpec::weekend_nights(), 366, &methods, &[1.0, 5.0]);
        let periods = monthly_periods(
            YearMonth {
                year: 2024,
                month: 5,
            },
            1,
        );
        let b = evaluate(&pts, &grid, &plain(london()), &s, &periods).unwrap();
        assert_eq!(b.ensemble_fits.len(), 1);
        let fit = &b.ensemble_fits[0].fit;
        // Four training months: inner cuts 1 and 2 (each leaving two months before it).
        assert_eq!((fit.periods, fit.inner_cuts, fit.fitted), (4, 2, true));
        // Another test month, and months after it, change nothing of the fit or the ranking.
        let mut more = pts.clone();
        more.extend(snapped_months(99, &[(2024, 5), (2024, 6), (2024, 7)], 500));
        let b2 = evaluate(&more, &grid, &plain(london()), &s, &periods).unwrap();
        assert_eq!(b2.ensemble_fits, b.ensemble_fits);
        assert_eq!(b2.periods[0].train_incidents, b.periods[0].train_incidents);
        // The fit equals one on the training months alone, scored from the cut.
        let train: Vec<ScoringPoint> = pts
            .iter()
            .filter(|p| matches!(p.occurred, OccurredAt::Month(m) if m.month < 5))
            .copied()
            .collect();
        let mut at_cut = plain(london());
        at_cut.as_of = ts("2024-04-30T23:00:00Z"); // 1 May 00:00 BST
        let direct = score(Method::Ensemble, &grid, &train, &at_cut).unwrap();
        assert_eq!(direct.ensemble.as_ref(), Some(fit));
    }

    #[test]
    fn recent_periods_for_months_and_for_days() {
        let months = [(2023, 11), (2023, 12), (2024, 1), (2024, 2)];
        let pts = snapped_months(1, &months, 3);
        let w = WindowSpec::weekend_nights();
        let p = recent_periods(&pts, &w, &london(), 2, 28).unwrap();
        let cuts: Vec<String> = p.iter().map(|p| p.cut.to_string()).collect();
        assert_eq!(cuts, ["2024-01-01", "2024-02-01"]);
        assert_eq!((p[0].test_days, p[1].test_days), (31, 29));
        // Asking for more periods than there is history: only cuts after the first month.
        let p = recent_periods(&pts, &w, &london(), 10, 28).unwrap();
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].cut.to_string(), "2023-12-01");
        // Timed: the latest weekend night is Saturday 9 March 2024 (its early hours are on
        // the 10th); the periods end on the 10th.
        let timed = [
            at(0.0, 0.0, "2024-01-05T20:00:00Z"),
            at(0.0, 0.0, "2024-03-10T01:00:00Z"),
            at(0.0, 0.0, "2024-03-11T12:00:00Z"), // a Monday: outside the window
        ];
        let p = recent_periods(&timed, &w, &TimeZone::UTC, 2, 7).unwrap();
        let cuts: Vec<String> = p.iter().map(|p| p.cut.to_string()).collect();
        assert_eq!(cuts, ["2024-02-25", "2024-03-03"]);
        assert!(
            recent_periods(&[], &w, &TimeZone::UTC, 2, 7)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn validation_is_the_backtest_of_the_recent_periods() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 499.0, 499.0).unwrap();
        let months: Vec<(i16, i8)> = (1..=7).map(|m| (2024, m)).collect();
        let pts = snapped_months(5, &months, 30);
        let params = plain(london());
        for method in [Method::Ensemble, Method::Count] {
            let mut vs = ValidationSpec::new(WindowSpec::weekend_nights());
            vs.periods = 3;
            let v = validate(&pts, &grid, &params, method, &vs).unwrap();
            assert_eq!(v.unit, "month");
            let cuts: Vec<String> = v.periods.iter().map(|p| p.cut.to_string()).collect();
            assert_eq!(cuts, ["2024-05-01", "2024-06-01", "2024-07-01"]);
            // Independently: the same three months through `evaluate`.
            let s = spec(
                WindowSpec::weekend_nights(),
                DEFAULT_TRAIN_DAYS,
                &[BacktestMethod::Score(method), BacktestMethod::Naive],
                &[1.0, 5.0],
            );
            let periods = monthly_periods(
                YearMonth {
                    year: 2024,
                    month: 5,
                },
                3,
            );
            let b = evaluate(&pts, &grid, &params, &s, &periods).unwrap();
            for (row, coverage) in v.rows.iter().zip([1.0, 5.0]) {
                assert_eq!(row.coverage, coverage);
                for (name, m) in [
                    (method.as_str(), row.method),
                    ("naive", row.naive),
                    ("ceiling", row.ceiling),
                ] {
                    let pai: Vec<f64> = b
                        .results
                        .iter()
                        .filter(|r| r.method == name && r.coverage == coverage)
                        .filter_map(|r| r.pai)
                        .collect();
                    assert_eq!(pai.len(), 3);
                    let st = m.pai.unwrap();
                    assert_relative_eq!(st.mean, pai.iter().sum::<f64>() / 3.0);
                    assert_eq!(st.min, pai.iter().copied().fold(f64::INFINITY, f64::min));
                    assert_eq!(m.hit_rate.unwrap().n, 3);
                }
                // The ceiling bounds the method in every period.
                assert!(row.ceiling.pai.unwrap().min >= row.method.pai.unwrap().min - 1e-12);
            }
            assert_eq!(
                v.ensemble_fits.len(),
                usize::from(method == Method::Ensemble) * 3
            );
        }
        // No data: no period to validate on.
        let vs = ValidationSpec::new(WindowSpec::weekend_nights());
        assert!(matches!(
            validate(&[], &grid, &params, Method::Ensemble, &vs),
            Err(BacktestError::NoPeriods)
        ));
    }

    #[test]
    fn stats_of_values() {
        assert_eq!(Stats::of(&[]), None);
        let one = Stats::of(&[2.0]).unwrap();
        assert_eq!(
            (one.n, one.mean, one.sd, one.min, one.max),
            (1, 2.0, None, 2.0, 2.0)
        );
        let s = Stats::of(&[1.0, 2.0, 3.0, 6.0]).unwrap();
        assert_eq!((s.mean, s.min, s.max), (3.0, 1.0, 6.0));
        // Sample variance: (4 + 1 + 0 + 9) / 3.
        assert_relative_eq!(s.sd.unwrap(), (14.0f64 / 3.0).sqrt());
    }
}
