//! Incident weights (harm x recency) and per-cell totals: the `count` method.
//!
//! Every method starts here. Each incident in the study area gets
//! `weight = harm(category) x 0.5^(age_days / half_life)` (DESIGN.md), with the age measured
//! back from `as_of` in real elapsed days. The `count` method's score is the sum of weights per
//! cell; Gi* reads the same sums as its x; KDE spreads the same weights with its kernel.
//!
//! **Month-only incidents** (police.uk) have no day, so for recency and near-repeat ages they
//! are placed at the middle of their local month: halfway between local midnight on the 1st
//! and local midnight on the 1st of the next month (e.g. 16 May 12:00 for May, 16 June 00:00
//! for June, give or take the DST hour). That is the expected age of an incident uniformly
//! spread over the month, so recency is unbiased on average. They never get an hour (see
//! [`super::profile`]).
//!
//! Incidents dated after `as_of` weigh as fresh (recency 1): filter them out beforehand if
//! they should not count.

use super::ScoringParams;
use super::ScoringPoint;
use super::grid::Grid;
use crate::harm::recency;
use crate::time::{OccurredAt, YearMonth};
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::collections::HashMap;

const SECONDS_PER_DAY: f64 = 86_400.0;

/// An incident located in a study-area cell, with its weights.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightedPoint {
    pub x: f64,
    pub y: f64,
    /// Dense index of its cell in the grid.
    pub cell: usize,
    /// Harm of its category.
    pub harm: f64,
    /// `0.5^(age_days / half_life)`.
    pub recency: f64,
    /// Days from the incident (or its month's middle) to `as_of`; negative if after.
    pub age_days: f64,
    /// The exact instant, `None` for month-only incidents.
    pub instant: Option<Timestamp>,
}

impl WeightedPoint {
    /// harm x recency.
    pub fn weight(&self) -> f64 {
        self.harm * self.recency
    }
}

/// The incidents of a study area, weighed, and what was left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Weighed {
    /// Incidents inside the study area, in input order.
    pub points: Vec<WeightedPoint>,
    /// Incidents outside the study area (or with non-finite coordinates), dropped.
    pub n_outside: usize,
    /// Month-only incidents among `points`.
    pub n_untimed: usize,
}

/// Locates and weighs every point; drops (and counts) those outside the study area.
pub fn weigh(grid: &Grid, points: &[ScoringPoint], params: &ScoringParams) -> Weighed {
    weigh_located(|x, y| grid.locate(x, y), points, params)
}

/// [`weigh`] with any cell numbering: `locate` gives a point's cell index, or `None` when
/// it lies outside the study area (the sparse scoring's [`super::area::CellArea::locate`]).
pub fn weigh_located(
    locate: impl Fn(f64, f64) -> Option<usize>,
    points: &[ScoringPoint],
    params: &ScoringParams,
) -> Weighed {
    let mut out = Weighed {
        points: Vec::with_capacity(points.len()),
        ..Weighed::default()
    };
    let mut midpoints: HashMap<YearMonth, Timestamp> = HashMap::new();
    for p in points {
        let Some(cell) = locate(p.x, p.y) else {
            out.n_outside += 1;
            continue;
        };
        let (when, instant) = match p.occurred {
            OccurredAt::Exact(t) => (t, Some(t)),
            OccurredAt::Month(m) => {
                out.n_untimed += 1;
                let mid = *midpoints
                    .entry(m)
                    .or_insert_with(|| month_midpoint(m, &params.tz));
                (mid, None)
            }
        };
        let age_days = params.as_of.duration_since(when).as_secs_f64() / SECONDS_PER_DAY;
        out.points.push(WeightedPoint {
            x: p.x,
            y: p.y,
            cell,
            harm: params.harm.weight(p.category),
            recency: recency(age_days, params.half_life_days),
            age_days,
            instant,
        });
    }
    out
}

/// The instant halfway through a local month in `tz`.
///
/// ```
/// use planner::hotspots::weights::month_midpoint;
/// use planner::time::YearMonth;
/// let mid = month_midpoint(YearMonth { year: 2024, month: 5 }, &jiff::tz::TimeZone::UTC);
/// assert_eq!(mid.to_string(), "2024-05-16T12:00:00Z");
/// ```
pub fn month_midpoint(month: YearMonth, tz: &TimeZone) -> Timestamp {
    let first = month.first_day();
    let next = first.last_of_month().tomorrow().unwrap_or(first);
    let start = first.to_zoned(tz.clone()).map(|z| z.timestamp());
    let end = next.to_zoned(tz.clone()).map(|z| z.timestamp());
    match (start, end) {
        (Ok(s), Ok(e)) => {
            let half = e.duration_since(s) / 2;
            s.checked_add(half).unwrap_or(s)
        }
        (Ok(s), Err(_)) => s,
        _ => Timestamp::UNIX_EPOCH,
    }
}

/// Per-cell incident counts and weight sums (dense, indexed like the grid).
#[derive(Debug, Clone, PartialEq)]
pub struct CellTotals {
    pub count: Vec<u32>,
    /// Sum of harm x recency: the `count` method's score and Gi*'s x.
    pub weight: Vec<f64>,
}

/// Sums counts and weights per cell.
pub fn cell_totals(grid: &Grid, points: &[WeightedPoint]) -> CellTotals {
    let mut t = CellTotals {
        count: vec![0; grid.len()],
        weight: vec![0.0; grid.len()],
    };
    for p in points {
        t.count[p.cell] += 1;
        t.weight[p.cell] += p.weight();
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::category::Category;
    use crate::harm::HarmTable;
    use crate::time::london;
    use approx::assert_relative_eq;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn params(as_of: &str) -> ScoringParams {
        ScoringParams::new(as_of.parse().unwrap(), london())
    }

    #[test]
    fn weight_is_harm_times_recency() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 200.0, 200.0).unwrap();
        let mut p = params("2024-07-01T00:00:00Z");
        p.half_life_days = 10.0;
        let pts = [
            ScoringPoint {
                x: 10.0,
                y: 10.0,
                category: Category::Sexual,
                occurred: OccurredAt::Exact("2024-06-21T00:00:00Z".parse().unwrap()),
            },
            ScoringPoint {
                x: 10.0,
                y: 10.0,
                category: Category::PublicOrder,
                occurred: OccurredAt::Exact("2024-07-01T00:00:00Z".parse().unwrap()),
            },
        ];
        let w = weigh(&grid, &pts, &p);
        let harm = HarmTable::default();
        assert_eq!(w.points[0].age_days, 10.0);
        assert_relative_eq!(w.points[0].weight(), harm.weight(Category::Sexual) * 0.5);
        assert_eq!(w.points[1].weight(), harm.weight(Category::PublicOrder));
        let t = cell_totals(&grid, &w.points);
        let i = grid.locate(10.0, 10.0).unwrap();
        assert_eq!(t.count[i], 2);
        assert_relative_eq!(
            t.weight[i],
            harm.weight(Category::Sexual) * 0.5 + harm.weight(Category::PublicOrder)
        );
    }

    #[test]
    fn month_only_incidents_sit_at_mid_month() {
        let tz = london();
        // May 2024 in London: BST throughout, 31 days: 1 May 00:00 BST + 15.5 days.
        let mid = month_midpoint(
            YearMonth {
                year: 2024,
                month: 5,
            },
            &tz,
        );
        assert_eq!(mid.to_string(), "2024-05-16T11:00:00Z");
        // March 2024 holds the clocks going forward: 31 days less an hour, halved.
        let mid = month_midpoint(
            YearMonth {
                year: 2024,
                month: 3,
            },
            &tz,
        );
        assert_eq!(mid.to_string(), "2024-03-16T11:30:00Z");
        // February 2024: 29 days, GMT.
        let mid = month_midpoint(
            YearMonth {
                year: 2024,
                month: 2,
            },
            &tz,
        );
        assert_eq!(mid.to_string(), "2024-02-15T12:00:00Z");
        // December rolls into the next year.
        let mid = month_midpoint(
            YearMonth {
                year: 2023,
                month: 12,
            },
            &tz,
        );
        assert_eq!(mid.to_string(), "2023-12-16T12:00:00Z");

        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 200.0, 200.0).unwrap();
        let p = params("2024-06-15T11:00:00Z");
        let pts = [ScoringPoint {
            x: 10.0,
            y: 10.0,
            category: Category::Violence,
            occurred: OccurredAt::Month(YearMonth {
                year: 2024,
                month: 5,
            }),
        }];
        let w = weigh(&grid, &pts, &p);
        assert_eq!(w.n_untimed, 1);
        assert_eq!(w.points[0].instant, None);
        assert_eq!(w.points[0].age_days, 30.0);
    }

    #[test]
    fn totals_match_brute_force_on_random_points() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let grid = Grid::from_bbox(50.0, 1000.0, 2000.0, 1990.0, 2790.0).unwrap();
        let p = params("2024-07-01T00:00:00Z");
        let pts: Vec<ScoringPoint> = (0..3000)
            .map(|_| ScoringPoint {
                x: rng.random_range(900.0..2100.0),
                y: rng.random_range(1900.0..2900.0),
                category: Category::ALL[rng.random_range(0..Category::ALL.len())],
                occurred: OccurredAt::Exact(
                    Timestamp::from_second(1_700_000_000 + rng.random_range(0..10_000_000))
                        .unwrap(),
                ),
            })
            .collect();
        let w = weigh(&grid, &pts, &p);
        let t = cell_totals(&grid, &w.points);
        // Brute force: for each cell, scan every point with the cell's own square.
        let harm = HarmTable::default();
        let mut outside = 0;
        for q in &pts {
            let inside = (1000.0..2000.0).contains(&q.x) && (2000.0..2800.0).contains(&q.y);
            outside += !inside as usize;
        }
        assert_eq!(w.n_outside, outside);
        for i in 0..grid.len() {
            let (col, row) = grid.col_row(i);
            let (x0, y0) = (col as f64 * 50.0, row as f64 * 50.0);
            let mine: Vec<&ScoringPoint> = pts
                .iter()
                .filter(|q| q.x >= x0 && q.x < x0 + 50.0 && q.y >= y0 && q.y < y0 + 50.0)
                .collect();
            assert_eq!(t.count[i] as usize, mine.len());
            let want: f64 = mine
                .iter()
                .map(|q| {
                    let ts = q.occurred.instant().unwrap();
                    let age = (p.as_of.as_second() - ts.as_second()) as f64 / 86_400.0;
                    harm.weight(q.category) * 0.5f64.powf(age / p.half_life_days)
                })
                .sum();
            assert_relative_eq!(t.weight[i], want, max_relative = 1e-12);
        }
    }
}
