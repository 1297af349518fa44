//! The `ensemble` forecast: a blend of recent counts, longer-term counts and small spatial
//! smooths, with the blend weights fitted by rolling-origin backtests inside the training
//! data only.
//!
//! # Why
//!
//! On police.uk data no single classical method beats last month's counts (the naive
//! baseline) out of sample: KDE and Gi* smear the mass of the anonymised snap points over
//! empty cells, while a year's counts miss what changed last month. police.uk snaps every
//! incident to one of a fixed set of map points, so the same cells recur month after month;
//! a forecast of next period's incidents should therefore weigh each cell's *own* history,
//! recent and long-term, and only then a little of its neighbours'. How much of each depends
//! on the data (a city's exact locations want more smoothing than snapped points), so the
//! blend is not guessed: it is fitted, on the training data alone, by asking which blend
//! would have forecast the last few periods of that training data best.
//!
//! # The formula
//!
//! Time is cut into **periods** of [`EnsembleParams::period_days`] days (default one mean
//! month, 30.44 days: police.uk's unit of time) counted back from `as_of`: period 0 holds the
//! incidents of age `[0, P)` (ages as in [`super::weights`]: month-only incidents sit at their
//! month's midpoint, so each police.uk month falls in exactly one period when `as_of` is the
//! first of a month), period 1 those of age `[P, 2P)`, and so on. Incidents dated after
//! `as_of` (negative age) count as age 0.
//!
//! Each incident weighs `v` = its harm ([`super::ScoringParams::harm`]) when
//! [`EnsembleParams::harm_weighted`], else 1. The components, each a value per study-area
//! cell, are:
//!
//! - `last`: the sum of `v` over period 0 (last period's counts: the naive baseline);
//! - `ew{h}` for each half-life `h` in [`EnsembleParams::half_lives`] (periods; default 1, 3
//!   and 12): exponentially weighted counts, the sum of `v 0.5^(age / (h P))`;
//! - `smooth{b}` for each bandwidth `b` in [`EnsembleParams::bandwidths`] (metres; default
//!   200 and 400): the longest-half-life series spread to the cells around by the quartic
//!   kernel `(1 - d^2/b^2)^2` of the distance `d` between cell centres (`d < b`), weights
//!   normalised to sum 1 over the kernel's cells;
//! - `places`: the number of distinct locations (exact coordinate pairs) seen in the cell,
//!   over the whole history: police.uk's snap points, which recur.
//!
//! Each component `c_k` is normalised to sum 1 over the study area (an all-zero component
//! stays zero), and the score is the blend
//!
//! ```text
//! score(cell) = sum_k w_k c_k(cell),   w_k >= 0,  sum_k w_k = 1,
//! ```
//!
//! a forecast share of next period's incidents. The per-cell `weight` and the `params`'
//! `half_life_days` and `bandwidth` of the other methods play no part.
//!
//! # What is fitted on what
//!
//! The weights are the only thing fitted, and only on the points given (in a backtest: the
//! training span; the test period is never seen). With `n` periods of history (the oldest
//! incident's period + 1), **inner cut** `j` (`j = 1, 2, ...`, at most
//! [`EnsembleParams::max_inner_cuts`], and leaving at least [`EnsembleParams::min_history`]
//! periods before the cut) pretends that `as_of` were `j` periods earlier: its components are
//! built from periods `j, j + 1, ...` only (ages shifted by `j P`) and its target is period
//! `j - 1`. Inner cuts whose target has no incident are skipped. The fit maximises the mean
//! over inner cuts of
//!
//! ```text
//! (hit(k1) + s hit(k2)) / (1 + s)
//! ```
//!
//! where `hit(k)` is the share of the target's incidents (each counts 1) in the top `k` % of
//! the study area by the blend (default `k1` = 1 %, the area a patrol plan covers, `k2` =
//! 5 %, `s` = 0.25, so the map stays sensible beyond the patrolled cells); cells are taken as
//! in [`crate::backtest`] (`max(1, ceil(k n / 100))` cells, ties by cell index), except that
//! cells with a zero blend are never taken, and, to keep the fit fast on large areas, only
//! cells among the best `max(2 k2, 1024)` of at least one component are considered (a cell
//! outside all of them would need a blend that ranks it above thousands of cells that beat
//! it on every single component, which no non-negative blend of few components does in
//! practice; on small grids every cell is considered).
//!
//! The search is a deterministic coordinate search on the simplex: start from the default
//! blend ([`EnsembleParams::default_weights`]), try moving a step of weight from each
//! component to each other one (in component order), keep a move when it strictly improves
//! the objective, repeat until no move helps, then halve the step (1/4 down to 1/32). It only
//! leaves the default when the training data say so, which keeps the fit from chasing noise
//! when there are few inner cuts.
//!
//! **Fallback.** With no usable inner cut (empty data, one incident, fewer than
//! `min_history + 1` periods of history: e.g. a police.uk history under 3 months), the
//! default blend is used unfitted, and [`EnsembleFit::fitted`] says so.
//!
//! Everything is deterministic: the same points and parameters give the same weights and
//! scores, whatever the input order of cells (ties are broken by cell index).

use super::ScoringParams;
use super::grid::Grid;
use super::weights::WeightedPoint;
use crate::backtest::cells_for_coverage;
use serde::Serialize;

/// The fit considers, in each inner cut, only the cells among the best `max(2 k, this)` of
/// some component (k: the larger coverage's cells); see the module docs.
pub const MIN_CANDIDATES: usize = 1024;

/// A mean Gregorian month, days: the default period.
pub const MONTH_DAYS: f64 = 365.2425 / 12.0;

/// The default components, in weight order.
pub const DEFAULT_COMPONENTS: [&str; 7] = [
    "last",
    "ew1",
    "ew3",
    "ew12",
    "smooth200",
    "smooth400",
    "places",
];

/// The default blend of [`DEFAULT_COMPONENTS`]: mostly the year's counts (half-life 12
/// months), some of the wider smooth, a little of the recent counts and of the snap points.
/// It is the rounded average of the blends fitted on Bedfordshire's police.uk months
/// (`docs/forecasts.md`): a prior, used unfitted only when there is no history to fit on,
/// and otherwise the search's starting point.
pub const DEFAULT_WEIGHTS: [f64; 7] = [0.0, 0.0625, 0.0625, 0.6875, 0.0, 0.125, 0.0625];

/// The ensemble's own parameters (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnsembleParams {
    /// The unit of time P, days.
    pub period_days: f64,
    /// Half-lives of the exponentially weighted counts, in periods.
    pub half_lives: Vec<f64>,
    /// Bandwidths of the smooths of the longest-half-life counts, metres.
    pub bandwidths: Vec<f64>,
    /// Include the `places` component (distinct locations per cell).
    pub places: bool,
    /// Inner cuts at most.
    pub max_inner_cuts: usize,
    /// Periods of history an inner cut must leave before it.
    pub min_history: usize,
    /// The coverage the fit optimises, percent of the study area.
    pub coverage: f64,
    /// A second coverage, percent, weighed by `secondary_weight`.
    pub secondary_coverage: f64,
    pub secondary_weight: f64,
    /// Weigh incidents by harm (else each counts 1).
    pub harm_weighted: bool,
}

impl Default for EnsembleParams {
    fn default() -> Self {
        EnsembleParams {
            period_days: MONTH_DAYS,
            half_lives: vec![1.0, 3.0, 12.0],
            bandwidths: vec![200.0, 400.0],
            places: true,
            max_inner_cuts: 6,
            min_history: 2,
            coverage: 1.0,
            secondary_coverage: 5.0,
            secondary_weight: 0.25,
            harm_weighted: false,
        }
    }
}

impl EnsembleParams {
    /// The component names, in weight order (`last`, `ew1`, …, `smooth200`, …, `places`).
    pub fn components(&self) -> Vec<String> {
        let mut names = vec!["last".to_string()];
        names.extend(self.half_lives.iter().map(|h| format!("ew{h}")));
        names.extend(self.bandwidths.iter().map(|b| format!("smooth{b}")));
        if self.places {
            names.push("places".to_string());
        }
        names
    }

    /// The blend the fit starts from, and the one used when there is nothing to fit on.
    /// For the default components it is [`DEFAULT_WEIGHTS`]; for any other set, equal
    /// weights.
    pub fn default_weights(&self) -> Vec<f64> {
        let names = self.components();
        if names == DEFAULT_COMPONENTS {
            return DEFAULT_WEIGHTS.to_vec();
        }
        let m = names.len();
        vec![1.0 / m as f64; m]
    }

    /// The first unusable parameter, as (name, value).
    pub fn invalid(&self) -> Option<(&'static str, f64)> {
        let bad = |v: f64| !(v.is_finite() && v > 0.0);
        if bad(self.period_days) {
            return Some(("ensemble.period_days", self.period_days));
        }
        if let Some(&h) = self.half_lives.iter().find(|h| h.is_nan() || **h <= 0.0) {
            return Some(("ensemble.half_lives", h));
        }
        if let Some(&b) = self.bandwidths.iter().find(|b| bad(**b)) {
            return Some(("ensemble.bandwidths", b));
        }
        for (name, v) in [
            ("ensemble.coverage", self.coverage),
            ("ensemble.secondary_coverage", self.secondary_coverage),
        ] {
            if bad(v) || v > 100.0 {
                return Some((name, v));
            }
        }
        if !(self.secondary_weight.is_finite() && self.secondary_weight >= 0.0) {
            return Some(("ensemble.secondary_weight", self.secondary_weight));
        }
        None
    }
}

/// What the fit chose, and on what.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnsembleFit {
    /// Component names, as [`EnsembleParams::components`].
    pub components: Vec<String>,
    /// The blend weights (non-negative, summing to 1), one per component.
    pub weights: Vec<f64>,
    /// Periods of history in the points (0 without points).
    pub periods: usize,
    /// Inner cuts the weights were fitted on (0: the default blend, unfitted).
    pub inner_cuts: usize,
    /// Whether the weights were fitted (false: the default blend).
    pub fitted: bool,
    /// The fit's objective at the chosen weights, over the inner cuts.
    pub objective: Option<f64>,
    /// The same objective for the default blend.
    pub default_objective: Option<f64>,
}

/// Scores the grid: the fitted blend at `params.as_of`. Returns the dense scores (indexed like
/// the grid, 0 outside the study area) and the fit.
pub fn ensemble(
    grid: &Grid,
    points: &[WeightedPoint],
    params: &ScoringParams,
) -> (Vec<f64>, EnsembleFit) {
    let fit = fit(grid, points, params);
    let scores = blend(grid, points, params, &fit.weights);
    (scores, fit)
}

/// The blend of the components at `params.as_of` with `weights` (dense, 0 outside).
pub fn blend(
    grid: &Grid,
    points: &[WeightedPoint],
    params: &ScoringParams,
    weights: &[f64],
) -> Vec<f64> {
    let comps = components(grid, points, params, 0);
    let mut out = vec![0.0; grid.len()];
    for (c, &w) in comps.iter().zip(weights) {
        if w == 0.0 {
            continue;
        }
        for (o, v) in out.iter_mut().zip(c) {
            *o += w * v;
        }
    }
    out
}

/// Fits the blend weights on `points` (see the module docs).
pub fn fit(grid: &Grid, points: &[WeightedPoint], params: &ScoringParams) -> EnsembleFit {
    let e = &params.ensemble;
    let names = e.components();
    let start = e.default_weights();
    let p = e.period_days;
    let periods = points
        .iter()
        .map(|q| period_of(q.age_days, p) + 1)
        .max()
        .unwrap_or(0);
    let n = grid.n_inside();
    let k1 = cells_for_coverage(e.coverage, n);
    let k2 = cells_for_coverage(e.secondary_coverage, n);
    let max_j = periods.saturating_sub(e.min_history).min(e.max_inner_cuts);
    let keep = (2 * k1.max(k2)).max(MIN_CANDIDATES);
    let cuts: Vec<Cut> = (1..=max_j)
        .filter_map(|j| Cut::build(grid, points, params, j, names.len(), keep))
        .collect();
    if cuts.is_empty() {
        return EnsembleFit {
            components: names,
            weights: start,
            periods,
            inner_cuts: 0,
            fitted: false,
            objective: None,
            default_objective: None,
        };
    }
    let s = e.secondary_weight;
    let mut buf = Vec::new();
    let mut objective = |w: &[f64]| -> f64 {
        let total: f64 = cuts
            .iter()
            .map(|c| {
                let (h1, h2) = c.hit_rates(w, k1, k2, &mut buf);
                (h1 + s * h2) / (1.0 + s)
            })
            .sum();
        total / cuts.len() as f64
    };
    let default_objective = objective(&start);
    let (weights, best) = search(start, default_objective, &mut objective);
    EnsembleFit {
        components: names,
        weights,
        periods,
        inner_cuts: cuts.len(),
        fitted: true,
        objective: Some(best),
        default_objective: Some(default_objective),
    }
}

/// Coordinate search on the simplex from `start` (objective `value`), maximising `f`: moves
/// of 1/4 down to 1/32 of weight between two components. The fit's search, public so that
/// an evaluation can run the same search with other objectives (`forecast_eval -- bound`).
pub fn search(start: Vec<f64>, value: f64, f: &mut impl FnMut(&[f64]) -> f64) -> (Vec<f64>, f64) {
    let m = start.len();
    let (mut w, mut best) = (start, value);
    let mut step: f64 = 0.25;
    let mut trial = w.clone();
    while step >= 1.0 / 32.0 && !crate::cancel::cancelled() {
        for _pass in 0..20 {
            let mut improved = false;
            for a in 0..m {
                for b in 0..m {
                    if a == b || w[a] <= 0.0 {
                        continue;
                    }
                    let d = step.min(w[a]);
                    trial.copy_from_slice(&w);
                    trial[a] -= d;
                    trial[b] += d;
                    if trial[a] < 1e-15 {
                        trial[a] = 0.0;
                    }
                    let v = f(&trial);
                    if v > best + 1e-12 {
                        w.copy_from_slice(&trial);
                        best = v;
                        improved = true;
                    }
                }
            }
            if !improved {
                break;
            }
        }
        step /= 2.0;
    }
    (w, best)
}

/// The period of an age: `floor(max(age, 0) / P)`.
fn period_of(age_days: f64, period_days: f64) -> usize {
    (age_days.max(0.0) / period_days).floor() as usize
}

/// One inner cut, compacted to the cells where some component is non-zero.
struct Cut {
    /// Dense grid index of each candidate cell.
    cells: Vec<u32>,
    /// Component values, `cells.len() x m`, row-major.
    feats: Vec<f64>,
    /// Target incidents (plain counts) per candidate cell.
    target: Vec<f64>,
    /// Target incidents in the whole study area.
    target_total: f64,
    m: usize,
}

impl Cut {
    fn build(
        grid: &Grid,
        points: &[WeightedPoint],
        params: &ScoringParams,
        j: usize,
        m: usize,
        keep: usize,
    ) -> Option<Cut> {
        let p = params.ensemble.period_days;
        let mut target = vec![0.0; grid.len()];
        let mut target_total = 0.0;
        for q in points {
            if period_of(q.age_days, p) + 1 == j {
                target[q.cell] += 1.0;
                target_total += 1.0;
            }
        }
        if target_total == 0.0 {
            return None;
        }
        let comps = components(grid, points, params, j);
        let mut cut = Cut {
            cells: Vec::new(),
            feats: Vec::new(),
            target: Vec::new(),
            target_total,
            m,
        };
        let mut cells: Vec<usize> = grid
            .inside_cells()
            .filter(|&i| comps.iter().any(|c| c[i] != 0.0))
            .collect();
        if cells.len() > keep {
            // Only cells among the `keep` best of some component can be taken.
            let mut wanted = vec![false; cells.len()];
            let mut values: Vec<f64> = Vec::with_capacity(cells.len());
            for c in &comps {
                values.clear();
                values.extend(cells.iter().map(|&i| c[i]));
                let (_, &mut bar, _) =
                    values.select_nth_unstable_by(keep - 1, |a, b| b.total_cmp(a));
                for (w, &i) in wanted.iter_mut().zip(&cells) {
                    *w |= c[i] > 0.0 && c[i] >= bar;
                }
            }
            let mut k = 0;
            cells.retain(|_| {
                k += 1;
                wanted[k - 1]
            });
        }
        for i in cells {
            cut.cells.push(i as u32);
            cut.feats.extend(comps.iter().map(|c| c[i]));
            cut.target.push(target[i]);
        }
        Some(cut)
    }

    /// Shares of the target in the top `k1` and `k2` cells by the blend `w`.
    fn hit_rates(
        &self,
        w: &[f64],
        k1: usize,
        k2: usize,
        buf: &mut Vec<(f64, u32, f64)>,
    ) -> (f64, f64) {
        buf.clear();
        for (c, row) in self.feats.chunks_exact(self.m).enumerate() {
            let s: f64 = row.iter().zip(w).map(|(a, b)| a * b).sum();
            if s > 0.0 {
                buf.push((s, self.cells[c], self.target[c]));
            }
        }
        let order =
            |a: &(f64, u32, f64), b: &(f64, u32, f64)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
        let (small, large) = (k1.min(k2), k1.max(k2));
        if buf.len() > large {
            buf.select_nth_unstable_by(large - 1, order);
            buf.truncate(large);
        }
        let h_large: f64 = buf.iter().map(|t| t.2).sum();
        if buf.len() > small {
            buf.select_nth_unstable_by(small - 1, order);
            buf.truncate(small);
        }
        let h_small: f64 = buf.iter().map(|t| t.2).sum();
        let (h1, h2) = if k1 <= k2 {
            (h_small, h_large)
        } else {
            (h_large, h_small)
        };
        (h1 / self.target_total, h2 / self.target_total)
    }
}

/// The components (dense, normalised to sum 1 over the study area) as seen from `j` periods
/// before `as_of`: built from the points of periods `j, j + 1, ...`, ages shifted by `j P`.
fn components(
    grid: &Grid,
    points: &[WeightedPoint],
    params: &ScoringParams,
    j: usize,
) -> Vec<Vec<f64>> {
    let e = &params.ensemble;
    let p = e.period_days;
    let shift = j as f64 * p;
    let len = grid.len();
    let mut last = vec![0.0; len];
    let mut ew: Vec<Vec<f64>> = e.half_lives.iter().map(|_| vec![0.0; len]).collect();
    let mut seen: Vec<(usize, u64, u64)> = Vec::new();
    for q in points {
        if period_of(q.age_days, p) < j {
            continue;
        }
        let v = if e.harm_weighted { q.harm } else { 1.0 };
        let age = (q.age_days - shift).max(0.0);
        if age < p {
            last[q.cell] += v;
        }
        for (series, &h) in ew.iter_mut().zip(&e.half_lives) {
            series[q.cell] += v * 0.5f64.powf(age / (h * p));
        }
        if e.places {
            seen.push((q.cell, q.x.to_bits(), q.y.to_bits()));
        }
    }
    // The series the smooths spread: the longest half-life, or all-time counts.
    let base = match e
        .half_lives
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
    {
        Some((k, _)) => ew[k].clone(),
        None => {
            let mut all = vec![0.0; len];
            for q in points {
                if period_of(q.age_days, p) >= j {
                    all[q.cell] += if e.harm_weighted { q.harm } else { 1.0 };
                }
            }
            all
        }
    };
    let mut out = Vec::with_capacity(e.components().len());
    out.push(last);
    out.extend(ew);
    for &b in &e.bandwidths {
        out.push(smooth(grid, &base, b));
    }
    if e.places {
        seen.sort_unstable();
        seen.dedup();
        let mut places = vec![0.0; len];
        for (cell, _, _) in seen {
            places[cell] += 1.0;
        }
        out.push(places);
    }
    for c in &mut out {
        let total: f64 = c.iter().sum();
        if total > 0.0 {
            for v in c.iter_mut() {
                *v /= total;
            }
        }
    }
    out
}

/// The quartic stencil of bandwidth `b` on cells of size `cell`: (dcol, drow, weight) for
/// centre distances below `b`, weights summing to 1 (just the cell itself when `b <= cell`).
pub fn stencil(cell: f64, b: f64) -> Vec<(i64, i64, f64)> {
    let r = (b / cell).floor() as i64;
    let mut out = Vec::new();
    for dr in -r..=r {
        for dc in -r..=r {
            let d2 = ((dc * dc + dr * dr) as f64) * cell * cell;
            if d2 < b * b {
                let t = 1.0 - d2 / (b * b);
                out.push((dc, dr, t * t));
            }
        }
    }
    let total: f64 = out.iter().map(|s| s.2).sum();
    for s in &mut out {
        s.2 /= total;
    }
    out
}

/// `values` spread by the stencil of bandwidth `b`, onto study-area cells only.
pub fn smooth(grid: &Grid, values: &[f64], b: f64) -> Vec<f64> {
    let st = stencil(grid.cell_size(), b);
    let (nc, nr) = (grid.ncols() as i64, grid.nrows() as i64);
    let mut out = vec![0.0; grid.len()];
    for (i, &v) in values.iter().enumerate() {
        if v == 0.0 {
            continue;
        }
        let (c, r) = grid.local(i);
        let (c, r) = (c as i64, r as i64);
        for &(dc, dr, w) in &st {
            let (cc, rr) = (c + dc, r + dr);
            if cc < 0 || rr < 0 || cc >= nc || rr >= nr {
                continue;
            }
            let k = (rr * nc + cc) as usize;
            if grid.is_inside(k) {
                out[k] += v * w;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::category::Category;
    use crate::hotspots::{Method, ScoringPoint, score, weights};
    use crate::time::{OccurredAt, YearMonth};
    use approx::assert_relative_eq;
    use jiff::tz::TimeZone;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn params(as_of: &str) -> ScoringParams {
        ScoringParams::new(as_of.parse().unwrap(), TimeZone::UTC)
    }

    fn month_pt(x: f64, y: f64, year: i16, month: i8) -> ScoringPoint {
        ScoringPoint {
            x,
            y,
            category: Category::Violence,
            occurred: OccurredAt::Month(YearMonth { year, month }),
        }
    }

    /// 2023-07 minus `k` months.
    fn months_back(k: i32) -> (i16, i8) {
        let t = 2023 * 12 + 6 - k; // July 2023 = 2023 * 12 + 6 (months from year 0, 0-based)
        ((t / 12) as i16, (t % 12 + 1) as i8)
    }

    #[test]
    fn stencil_by_hand() {
        // b <= cell: the cell itself.
        assert_eq!(stencil(100.0, 100.0), vec![(0, 0, 1.0)]);
        // b = 200 on 100 m cells: centre t = 1, rook neighbours (d = 100) t = 0.75^2,
        // diagonals (d^2 = 20000) t = 0.5^2; d = 200 is excluded. Sum 1 + 4 x 0.5625 + 4 x 0.25.
        let s = stencil(100.0, 200.0);
        assert_eq!(s.len(), 9);
        let total = 1.0 + 4.0 * 0.5625 + 4.0 * 0.25;
        for &(dc, dr, w) in &s {
            let expect = match dc * dc + dr * dr {
                0 => 1.0,
                1 => 0.5625,
                _ => 0.25,
            } / total;
            assert_relative_eq!(w, expect, max_relative = 1e-15);
        }
    }

    /// Every component at `as_of`, computed from the textbook formulas cell by cell.
    fn brute_components(grid: &Grid, pts: &[ScoringPoint], p: &ScoringParams) -> Vec<Vec<f64>> {
        let e = &p.ensemble;
        let w = weights::weigh(grid, pts, p);
        let per = e.period_days;
        let n = grid.len();
        let norm = |mut v: Vec<f64>| {
            let t: f64 = v.iter().sum();
            if t > 0.0 {
                v.iter_mut().for_each(|x| *x /= t);
            }
            v
        };
        let mut out = Vec::new();
        out.push(norm(
            (0..n)
                .map(|i| {
                    w.points
                        .iter()
                        .filter(|q| q.cell == i && q.age_days.max(0.0) < per)
                        .count() as f64
                })
                .collect(),
        ));
        let ew = |h: f64| -> Vec<f64> {
            (0..n)
                .map(|i| {
                    w.points
                        .iter()
                        .filter(|q| q.cell == i)
                        .map(|q| 0.5f64.powf(q.age_days.max(0.0) / (h * per)))
                        .sum()
                })
                .collect()
        };
        for &h in &e.half_lives {
            out.push(norm(ew(h)));
        }
        let longest = ew(e.half_lives.iter().copied().fold(0.0, f64::max));
        for &b in &e.bandwidths {
            let v: Vec<f64> = (0..n)
                .map(|i| {
                    if !grid.is_inside(i) {
                        return 0.0;
                    }
                    let (xi, yi) = grid.centre(i);
                    (0..n)
                        .filter(|&j| longest[j] != 0.0)
                        .map(|j| {
                            let (xj, yj) = grid.centre(j);
                            let d2 = (xi - xj).powi(2) + (yi - yj).powi(2);
                            // The kernel's total over a full (unclipped) disc of cells.
                            let r = (b / grid.cell_size()).floor() as i64;
                            let mut total = 0.0;
                            for dr in -r..=r {
                                for dc in -r..=r {
                                    let e2 =
                                        ((dc * dc + dr * dr) as f64) * grid.cell_size().powi(2);
                                    if e2 < b * b {
                                        total += (1.0 - e2 / (b * b)).powi(2);
                                    }
                                }
                            }
                            if d2 < b * b {
                                longest[j] * (1.0 - d2 / (b * b)).powi(2) / total
                            } else {
                                0.0
                            }
                        })
                        .sum()
                })
                .collect();
            out.push(norm(v));
        }
        if e.places {
            out.push(norm(
                (0..n)
                    .map(|i| {
                        let mut xy: Vec<(u64, u64)> = w
                            .points
                            .iter()
                            .filter(|q| q.cell == i)
                            .map(|q| (q.x.to_bits(), q.y.to_bits()))
                            .collect();
                        xy.sort_unstable();
                        xy.dedup();
                        xy.len() as f64
                    })
                    .collect(),
            ));
        }
        out
    }

    #[test]
    fn components_match_the_formulas_on_a_random_instance() {
        let mut rng = ChaCha8Rng::seed_from_u64(15);
        // 12 x 10 cells of 50 m; some points outside; snapped to a 25 m lattice so locations
        // recur.
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 599.0, 499.0).unwrap();
        let mut pts = Vec::new();
        for _ in 0..400 {
            let x = 25.0 * f64::from(rng.random_range(-2..26)) + 3.0;
            let y = 25.0 * f64::from(rng.random_range(-2..22)) + 3.0;
            let (year, month) = months_back(rng.random_range(0..9));
            pts.push(month_pt(x, y, year, month));
        }
        let mut p = params("2023-08-01T00:00:00Z");
        p.ensemble.bandwidths = vec![120.0, 200.0];
        let w = weights::weigh(&grid, &pts, &p);
        let brute = brute_components(&grid, &pts, &p);
        let names = p.ensemble.components();
        assert_eq!(
            names,
            [
                "last",
                "ew1",
                "ew3",
                "ew12",
                "smooth120",
                "smooth200",
                "places"
            ]
        );
        for (k, expect) in brute.iter().enumerate() {
            let mut unit = vec![0.0; names.len()];
            unit[k] = 1.0;
            let got = blend(&grid, &w.points, &p, &unit);
            for i in 0..grid.len() {
                assert_relative_eq!(got[i], expect[i], epsilon = 1e-14, max_relative = 1e-10);
            }
            assert_relative_eq!(got.iter().sum::<f64>(), 1.0, max_relative = 1e-12);
        }
        // The blend is the weighted sum of the components.
        let wts = [0.1, 0.2, 0.05, 0.15, 0.2, 0.1, 0.2];
        let got = blend(&grid, &w.points, &p, &wts);
        for i in 0..grid.len() {
            let e: f64 = (0..7).map(|k| wts[k] * brute[k][i]).sum();
            assert_relative_eq!(got[i], e, epsilon = 1e-14, max_relative = 1e-10);
        }
    }

    /// The fit's objective for `weights`, computed independently: a full sort of every
    /// study-area cell of each inner cut.
    fn brute_objective(
        grid: &Grid,
        pts: &[ScoringPoint],
        p: &ScoringParams,
        weights: &[f64],
        cuts: &[usize],
    ) -> f64 {
        let e = &p.ensemble;
        let n = grid.n_inside();
        let take = |k: f64| cells_for_coverage(k, n);
        let mut total = 0.0;
        for &j in cuts {
            // Shift as_of back j periods and keep the points of periods >= j.
            let w = weights::weigh(grid, pts, p);
            let per = e.period_days;
            let period = |q: &WeightedPoint| (q.age_days.max(0.0) / per).floor() as usize;
            let history: Vec<WeightedPoint> = w
                .points
                .iter()
                .filter(|q| period(q) >= j)
                .map(|q| WeightedPoint {
                    age_days: q.age_days - j as f64 * per,
                    ..*q
                })
                .collect();
            let mut target = vec![0.0; grid.len()];
            for q in w.points.iter().filter(|q| period(q) + 1 == j) {
                target[q.cell] += 1.0;
            }
            let t: f64 = target.iter().sum();
            let s = blend(grid, &history, p, weights);
            let mut cells: Vec<usize> = grid.inside_cells().filter(|&i| s[i] > 0.0).collect();
            cells.sort_by(|&a, &b| s[b].total_cmp(&s[a]).then(a.cmp(&b)));
            let hit =
                |k: usize| -> f64 { cells.iter().take(k).map(|&i| target[i]).sum::<f64>() / t };
            let (h1, h2) = (hit(take(e.coverage)), hit(take(e.secondary_coverage)));
            total += (h1 + e.secondary_weight * h2) / (1.0 + e.secondary_weight);
        }
        total / cuts.len() as f64
    }

    #[test]
    fn the_fit_beats_the_default_blend_and_reports_its_objective() {
        // 10 x 10 cells: 1 % is one cell, 5 % five. An old hotspot Z (months 7 and 8 back,
        // 60 incidents each) has gone quiet; cell Y has had 3 incidents in each of the last 7
        // months; scattered noise elsewhere. Last month's counts (and short half-lives) point
        // at Y, where next month's incidents are.
        let grid = Grid::from_bbox(10.0, 0.0, 0.0, 99.0, 99.0).unwrap();
        let (y, z) = ((15.0, 15.0), (85.0, 85.0));
        let mut pts = Vec::new();
        for k in 0..9 {
            let (year, month) = months_back(k);
            if k <= 6 {
                for _ in 0..3 {
                    pts.push(month_pt(y.0, y.1, year, month));
                }
            } else {
                for _ in 0..60 {
                    pts.push(month_pt(z.0, z.1, year, month));
                }
            }
            pts.push(month_pt(5.0 + 10.0 * k as f64, 55.0, year, month));
        }
        let mut p = params("2023-08-01T00:00:00Z");
        p.ensemble.bandwidths = vec![20.0];
        let w = weights::weigh(&grid, &pts, &p);
        let f = fit(&grid, &w.points, &p);
        assert!(f.fitted);
        assert_eq!(f.periods, 9);
        // min(6, 9 - 2) inner cuts, each with a target.
        assert_eq!(f.inner_cuts, 6);
        let cuts: Vec<usize> = (1..=6).collect();
        let got = f.objective.unwrap();
        assert_relative_eq!(
            got,
            brute_objective(&grid, &pts, &p, &f.weights, &cuts),
            max_relative = 1e-12
        );
        assert_relative_eq!(
            f.default_objective.unwrap(),
            brute_objective(&grid, &pts, &p, &p.ensemble.default_weights(), &cuts),
            max_relative = 1e-12
        );
        assert!(got >= f.default_objective.unwrap());
        assert_relative_eq!(f.weights.iter().sum::<f64>(), 1.0, max_relative = 1e-12);
        assert!(f.weights.iter().all(|w| *w >= 0.0));
        // Every inner cut's target (3 at Y of 4 incidents) is caught at 1 %: hit 0.75 and,
        // at 5 %, the noise cell too when it is ranked: the objective is at least 0.75.
        assert!(got >= 0.75, "{f:?}");
        // The forecast puts Y first.
        let (s, _) = ensemble(&grid, &w.points, &p);
        let top = grid
            .inside_cells()
            .max_by(|&a, &b| s[a].total_cmp(&s[b]).then(b.cmp(&a)))
            .unwrap();
        assert_eq!(top, grid.locate(y.0, y.1).unwrap());
    }

    #[test]
    fn edge_cases_fall_back_to_the_default_blend() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 499.0, 499.0).unwrap();
        let p = params("2023-08-01T00:00:00Z");
        let default = p.ensemble.default_weights();
        // Empty.
        let (s, f) = ensemble(&grid, &[], &p);
        assert!(s.iter().all(|v| *v == 0.0));
        assert_eq!((f.fitted, f.periods, f.inner_cuts), (false, 0, 0));
        assert_eq!(f.weights, default);
        // One incident: one period of history, nothing to fit on; its cell scores highest
        // (every component puts its mass there or around it).
        let one = [month_pt(225.0, 225.0, 2023, 7)];
        let w = weights::weigh(&grid, &one, &p);
        let (s, f) = ensemble(&grid, &w.points, &p);
        assert_eq!((f.fitted, f.periods), (false, 1));
        let i = grid.locate(225.0, 225.0).unwrap();
        assert!(grid.inside_cells().all(|j| j == i || s[j] < s[i]));
        assert_relative_eq!(s.iter().sum::<f64>(), 1.0, max_relative = 1e-12);
        // Two months of history: still fewer than min_history + 1 periods.
        let two = [
            month_pt(225.0, 225.0, 2023, 7),
            month_pt(225.0, 225.0, 2023, 6),
        ];
        let w = weights::weigh(&grid, &two, &p);
        let f = fit(&grid, &w.points, &p);
        assert_eq!((f.fitted, f.periods), (false, 2));
        // Three months, all in one cell: fitted on one inner cut; the cell is caught, so the
        // default blend already scores 1 and stays.
        let three: Vec<ScoringPoint> = (5..=7).map(|m| month_pt(225.0, 225.0, 2023, m)).collect();
        let w = weights::weigh(&grid, &three, &p);
        let (s, f) = ensemble(&grid, &w.points, &p);
        assert_eq!((f.fitted, f.periods, f.inner_cuts), (true, 3, 1));
        assert_eq!(f.objective, Some(1.0));
        assert_eq!(f.weights, default);
        assert!(grid.inside_cells().all(|j| j == i || s[j] < s[i]));
    }

    #[test]
    fn exactly_timed_data_use_days_not_months() {
        // Exact instants: the periods are 30.44-day spans back from as_of.
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 499.0, 499.0).unwrap();
        let p = params("2024-07-01T00:00:00Z");
        let at = |x: f64, days_before: f64| ScoringPoint {
            x,
            y: 25.0,
            category: Category::Robbery,
            occurred: OccurredAt::Exact(
                p.as_of
                    .checked_sub(jiff::SignedDuration::from_secs_f64(days_before * 86_400.0))
                    .unwrap(),
            ),
        };
        // Ages 1 and 30 days (period 0), 31 (period 1), 200 (period 6).
        let pts = [
            at(25.0, 1.0),
            at(75.0, 30.0),
            at(125.0, 31.0),
            at(175.0, 200.0),
        ];
        let w = weights::weigh(&grid, &pts, &p);
        let f = fit(&grid, &w.points, &p);
        assert_eq!(f.periods, 7);
        // Inner cuts 1 (target period 0: two incidents) and 2 (period 1) ... 5; only those
        // whose target holds an incident count: j = 1 and 2.
        assert_eq!(f.inner_cuts, 2);
        let mut last = vec![0.0; f.weights.len()];
        last[0] = 1.0;
        let s = blend(&grid, &w.points, &p, &last);
        let cell = |x: f64| grid.locate(x, 25.0).unwrap();
        assert_eq!(
            (s[cell(25.0)], s[cell(75.0)], s[cell(125.0)]),
            (0.5, 0.5, 0.0)
        );
        // The method runs through `score` like any other, deterministically.
        let a = score(Method::Ensemble, &grid, &pts, &p).unwrap();
        let b = score(Method::Ensemble, &grid, &pts, &p).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.ensemble.as_ref().unwrap().inner_cuts, 2);
    }

    #[test]
    fn invalid_parameters_are_named() {
        let mut e = EnsembleParams::default();
        assert_eq!(e.invalid(), None);
        e.half_lives = vec![1.0, 0.0];
        assert_eq!(e.invalid(), Some(("ensemble.half_lives", 0.0)));
        let e = EnsembleParams {
            coverage: 101.0,
            ..EnsembleParams::default()
        };
        assert_eq!(e.invalid(), Some(("ensemble.coverage", 101.0)));
        let e = EnsembleParams {
            period_days: f64::NAN,
            ..EnsembleParams::default()
        };
        assert!(e.invalid().is_some());
        // An infinite half-life is all-time counts, allowed.
        let e = EnsembleParams {
            half_lives: vec![f64::INFINITY],
            ..EnsembleParams::default()
        };
        assert_eq!(e.invalid(), None);
    }
}
