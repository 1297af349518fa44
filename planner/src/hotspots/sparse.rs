//! Sparse scoring: only the cells an incident can reach are held and scored.
//!
//! Most of a force area is empty at 50 m: on Bedfordshire's twelve months of police.uk data,
//! with no boundary given, a dense grid would have to cover the bounding box of a few rows
//! geocoded in Liverpool and Kent. [`score_area`] scores a [`CellArea`] (any set of cells, see
//! [`super::area`]) holding only the cells within a method's reach of an incident cell:
//!
//! - `count`: the cells holding incidents; `kde`: the cells a kernel of radius h around an
//!   incident can touch; `prospective`: the same for the near-repeat radius; every other
//!   cell scores exactly 0.
//! - `gistar`: the cells whose centre lies within D of a cell holding an incident. Gi* stays
//!   exact over the whole study area: n, the mean X and S include every zero, and a cell
//!   with no weight in reach has `Gi* = -X w_i / (S sqrt((n w_i - w_i^2) / (n - 1)))`, which
//!   depends only on its neighbour count `w_i` (the study-area cells within D, itself
//!   included). Inland that is one constant; near the edge of the study area cells have fewer
//!   neighbours, so the empty cells are grouped by their exact neighbour count and each group
//!   is scored once. Benjamini-Hochberg q is then taken over all n p-values, a group counted
//!   as that many tied p-values (R's `p.adjust` gives ties one q), without materialising them.
//!
//! Ranks and percentiles count the implicit cells the same way (competition ranking over all
//! n cells). Only the cells that are listed (non-zero score; for Gi*, z > 0 or q < 0.10; every
//! cell with `all_cells`) are materialised in [`Scored::cells`]. The result equals the dense
//! [`super::score`]'s to rounding (the tests compare both to 1e-9), and `ensemble`, which
//! needs every cell, runs the dense code on [`Grid::from_area`].

use super::area::{CellArea, centre_disc, kernel_spans};
use super::grid::Grid;
use super::normal::two_sided_p;
use super::prospective::week_factor;
use super::weights::{self, WeightedPoint};
use super::{GiStarValues, Method, Scored, ScoredCell, ScoringError, ScoringParams, ScoringPoint};
use crate::hotspots::gistar::HotspotClass;
use std::collections::{BTreeMap, HashMap};

/// Points sorted by (row, col), stably (input order within a cell, as the dense bins), so a
/// run of columns in one row is one slice.
struct RowBins {
    row0: i64,
    row_start: Vec<usize>,
    cols: Vec<i64>,
    pts: Vec<[f64; 3]>,
}

impl RowBins {
    fn new(cell: f64, mut items: Vec<(i64, i64, [f64; 3])>) -> RowBins {
        let _ = cell;
        items.sort_by_key(|&(c, r, _)| (r, c));
        let row0 = items.first().map_or(0, |i| i.1);
        let nrows = items.last().map_or(0, |i| (i.1 - row0 + 1) as usize);
        let mut row_start = vec![0usize; nrows + 1];
        for i in &items {
            row_start[(i.1 - row0) as usize + 1] += 1;
        }
        for k in 0..nrows {
            row_start[k + 1] += row_start[k];
        }
        RowBins {
            row0,
            row_start,
            cols: items.iter().map(|i| i.0).collect(),
            pts: items.iter().map(|i| i.2).collect(),
        }
    }

    /// The index range of the items in row `row` with a column in `a..=b`.
    fn range(&self, row: i64, a: i64, b: i64) -> std::ops::Range<usize> {
        let k = row - self.row0;
        if k < 0 || k as usize + 1 >= self.row_start.len() {
            return 0..0;
        }
        let (s, e) = (self.row_start[k as usize], self.row_start[k as usize + 1]);
        let cols = &self.cols[s..e];
        s + cols.partition_point(|&c| c < a)..s + cols.partition_point(|&c| c <= b)
    }
}

/// `f` at every index `0..n`, in parallel over the available cores (each value computed by
/// one thread, so results never depend on the thread count).
fn par_map(n: usize, f: impl Fn(usize) -> f64 + Sync) -> Vec<f64> {
    const CHUNK: usize = 2048;
    let mut out = vec![0.0; n];
    super::bins::par_chunks(&mut out, CHUNK, 4096, |task, chunk| {
        for (k, o) in chunk.iter_mut().enumerate() {
            *o = f(task * CHUNK + k);
        }
    });
    out
}

/// Sum over the points within `radius` of each held cell's centre of `w * kernel(d^2)`.
fn gather(
    held: &[(i64, i64)],
    cell: f64,
    bins: &RowBins,
    radius: f64,
    kernel: impl Fn(f64) -> f64 + Sync,
) -> Vec<f64> {
    let spans = kernel_spans(cell, radius);
    let r2 = radius * radius;
    par_map(held.len(), |h| {
        let (c, r) = held[h];
        let (cx, cy) = ((c as f64 + 0.5) * cell, (r as f64 + 0.5) * cell);
        let mut sum = 0.0;
        for &(dr, half) in &spans {
            for &[x, y, w] in &bins.pts[bins.range(r + dr, c - half, c + half)] {
                let d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
                if d2 < r2 {
                    sum += w * kernel(d2);
                }
            }
        }
        sum
    })
}

/// Study-area neighbours of cell (c, r): the area's cells in the disc `spans`.
fn neighbours(area: &CellArea, spans: &[(i64, i64)], c: i64, r: i64) -> u32 {
    spans
        .iter()
        .map(|&(dr, half)| area.count_in_row(r + dr, c - half, c + half) as u32)
        .sum()
}

/// Calls `f(col, row)` for every cell of `area` that is not in `held` (a subset of it),
/// row-major.
fn for_each_implicit(area: &CellArea, held: &[(i64, i64)], mut f: impl FnMut(i64, i64)) {
    let mut next = held.iter().peekable();
    for run in area.runs() {
        for c in run.c0..run.c1 {
            if next.peek() == Some(&&(c, run.row)) {
                next.next();
                continue;
            }
            f(c, run.row);
        }
    }
}

/// What a listed value belongs to.
#[derive(Clone, Copy)]
enum Target {
    Held(usize),
    /// The implicit cells of one neighbour count (Gi*) or all of them (other methods).
    Group(u32),
}

/// Scores `points` over the study area `area` with `method`, holding only the cells within
/// the method's reach (see the module docs). The same result as [`super::score`] on the
/// dense grid of the same cells.
pub fn score_area(
    method: Method,
    area: &CellArea,
    points: &[ScoringPoint],
    params: &ScoringParams,
) -> Result<Scored, ScoringError> {
    params.validate()?;
    crate::cancel::check()?;
    if method == Method::Ensemble {
        let grid = Grid::from_area(area)?;
        return super::score(method, &grid, points, params);
    }
    let cell = area.cell_size();
    let n = area.len();
    let weighed = weights::weigh_located(|x, y| area.locate(x, y), points, params);

    // Occupied cells, row-major; counts and weights summed in input order.
    let mut slot: HashMap<usize, usize> = HashMap::new();
    let mut occ: Vec<(usize, u32, f64)> = Vec::new();
    for p in &weighed.points {
        let k = *slot.entry(p.cell).or_insert_with(|| {
            occ.push((p.cell, 0, 0.0));
            occ.len() - 1
        });
        occ[k].1 += 1;
        occ[k].2 += p.weight();
    }
    drop(slot);
    occ.sort_unstable_by_key(|o| o.0);
    let occ_cells: Vec<(i64, i64)> = occ.iter().map(|o| area.col_row(o.0)).collect();
    let point_items = |keep: &dyn Fn(&WeightedPoint) -> Option<f64>| {
        weighed
            .points
            .iter()
            .filter_map(|p| {
                let w = keep(p)?;
                let (c, r) = ((p.x / cell).floor() as i64, (p.y / cell).floor() as i64);
                Some((c, r, [p.x, p.y, w]))
            })
            .collect::<Vec<_>>()
    };

    let spans = match method {
        Method::Count => vec![(0, 0)],
        Method::Kde => kernel_spans(cell, params.bandwidth),
        Method::Prospective => kernel_spans(cell, params.near_repeat.max_distance),
        _ => centre_disc(cell, params.distance),
    };
    let held_area = area.around(&occ_cells, &spans);
    let held: Vec<(i64, i64)> = held_area.cells().collect();
    let occ_at = |c: i64, r: i64| -> Option<usize> {
        occ_cells
            .binary_search_by_key(&(r, c), |&(cc, rr)| (rr, cc))
            .ok()
    };

    let mut gistar: Option<GiStar> = None;
    let score: Vec<f64> = match method {
        Method::Count => held
            .iter()
            .map(|&(c, r)| occ_at(c, r).map_or(0.0, |k| occ[k].2))
            .collect(),
        Method::Kde => {
            let bins = RowBins::new(cell, point_items(&|p| Some(p.weight())));
            let h2 = params.bandwidth * params.bandwidth;
            let norm = 3.0 / (std::f64::consts::PI * h2);
            gather(&held, cell, &bins, params.bandwidth, move |d2| {
                let t = 1.0 - d2 / h2;
                norm * t * t
            })
        }
        Method::Prospective => {
            let nr = &params.near_repeat;
            let bins = RowBins::new(
                cell,
                point_items(&|p| week_factor(p.age_days, nr.max_weeks).map(|f| p.harm * f)),
            );
            let band = nr.band.unwrap_or(cell);
            let bands = (nr.max_distance / band).ceil() as usize + 1;
            let factor: Vec<f64> = (0..=bands).map(|b| 1.0 / (1.0 + b as f64)).collect();
            let last = factor.len() - 1;
            gather(&held, cell, &bins, nr.max_distance, move |d2| {
                factor[((d2.sqrt() / band).floor() as usize).min(last)]
            })
        }
        _ => {
            let g = gi_star(area, &held, &occ_cells, &occ, &spans);
            let z = g.z_held.clone();
            gistar = Some(g);
            z
        }
    };

    // Every distinct value with its multiplicity: held cells one each, implicit cells by group.
    let implicit = n - held.len();
    let mut entries: Vec<(f64, usize, Target)> = score
        .iter()
        .enumerate()
        .map(|(h, &s)| (s, 1, Target::Held(h)))
        .collect();
    match &gistar {
        Some(g) => entries.extend(
            g.groups
                .iter()
                .map(|(&w, gr)| (gr.z, gr.cells, Target::Group(w))),
        ),
        None if implicit > 0 => entries.push((0.0, implicit, Target::Group(0))),
        None => {}
    }
    // Competition ranks over all n cells.
    entries.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut held_rank = vec![0u32; held.len()];
    let mut group_rank: HashMap<u32, u32> = HashMap::new();
    let (mut pos, mut current) = (0usize, 0usize);
    for (k, &(s, mult, target)) in entries.iter().enumerate() {
        if k == 0 || s != entries[k - 1].0 {
            current = pos + 1;
        }
        match target {
            Target::Held(h) => held_rank[h] = current as u32,
            Target::Group(w) => {
                group_rank.insert(w, current as u32);
            }
        }
        pos += mult;
    }
    let percentile = |rank: u32| 100.0 * (n - rank as usize + 1) as f64 / n as f64;

    let listed = |s: f64, gi: Option<(f64, f64)>| match gi {
        Some((z, q)) => z > 0.0 || q < 0.10,
        None => s != 0.0,
    };
    let make = |c: i64,
                r: i64,
                count: u32,
                weight: f64,
                s: f64,
                rank: u32,
                gi: Option<(f64, f64, f64)>| {
        let (x, y) = ((c as f64 + 0.5) * cell, (r as f64 + 0.5) * cell);
        ScoredCell {
            id: format!("{c}_{r}"),
            col: c,
            row: r,
            x,
            y,
            count,
            weight,
            score: s,
            rank,
            percentile: percentile(rank),
            gistar: gi.map(|(z, p, q)| GiStarValues {
                z,
                p,
                q,
                class: HotspotClass::from_z_q(z, q),
            }),
        }
    };
    let mut cells: Vec<ScoredCell> = Vec::new();
    for (h, &(c, r)) in held.iter().enumerate() {
        let gi = gistar
            .as_ref()
            .map(|g| (g.z_held[h], g.p_held[h], g.q_held[h]));
        if params.all_cells || listed(score[h], gi.map(|(z, _, q)| (z, q))) {
            let (count, weight) = occ_at(c, r).map_or((0, 0.0), |k| (occ[k].1, occ[k].2));
            cells.push(make(c, r, count, weight, score[h], held_rank[h], gi));
        }
    }
    // Implicit cells, only when some of them are listed.
    match &gistar {
        Some(g) => {
            let shown: HashMap<u32, (f64, f64, f64)> = g
                .groups
                .iter()
                .filter(|(_, gr)| params.all_cells || listed(gr.z, Some((gr.z, gr.q))))
                .map(|(&w, gr)| (w, (gr.z, gr.p, gr.q)))
                .collect();
            if !shown.is_empty() {
                let disc = &spans;
                for_each_implicit(area, &held, |c, r| {
                    let w = neighbours(area, disc, c, r);
                    if let Some(&(z, p, q)) = shown.get(&w) {
                        cells.push(make(c, r, 0, 0.0, z, group_rank[&w], Some((z, p, q))));
                    }
                });
            }
        }
        None if params.all_cells && implicit > 0 => {
            let rank = group_rank[&0];
            for_each_implicit(area, &held, |c, r| {
                cells.push(make(c, r, 0, 0.0, 0.0, rank, None));
            });
        }
        None => {}
    }
    cells.sort_unstable_by_key(|c| (c.rank, c.row, c.col));
    crate::cancel::check()?;
    Ok(Scored {
        method,
        cells,
        n_cells: n,
        n_held: held.len(),
        n_incidents: weighed.points.len(),
        n_untimed: weighed.n_untimed,
        n_outside: weighed.n_outside,
        ensemble: None,
    })
}

/// The Gi* values of the cells that share a neighbour count and have no weight in reach.
struct Group {
    cells: usize,
    z: f64,
    p: f64,
    q: f64,
}

struct GiStar {
    z_held: Vec<f64>,
    p_held: Vec<f64>,
    q_held: Vec<f64>,
    groups: BTreeMap<u32, Group>,
}

/// Gi* of the held cells and of the groups of implicit (zero-sum) cells; see the module docs
/// and [`super::gistar`] for the formula and its degenerate cases.
fn gi_star(
    area: &CellArea,
    held: &[(i64, i64)],
    occ_cells: &[(i64, i64)],
    occ: &[(usize, u32, f64)],
    disc: &[(i64, i64)],
) -> GiStar {
    let n = area.len();
    // Neighbour counts of the implicit cells, by count.
    let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
    for_each_implicit(area, held, |c, r| {
        *counts.entry(neighbours(area, disc, c, r)).or_default() += 1;
    });
    let mut out = GiStar {
        z_held: vec![0.0; held.len()],
        p_held: vec![1.0; held.len()],
        q_held: vec![1.0; held.len()],
        groups: counts
            .iter()
            .map(|(&w, &cells)| {
                (
                    w,
                    Group {
                        cells,
                        z: 0.0,
                        p: 1.0,
                        q: 1.0,
                    },
                )
            })
            .collect(),
    };
    if n < 2 {
        return out;
    }
    let nf = n as f64;
    let zeros = n - occ.len();
    let mean = occ.iter().map(|o| o.2).sum::<f64>() / nf;
    let ss =
        occ.iter().map(|o| (o.2 - mean) * (o.2 - mean)).sum::<f64>() + zeros as f64 * mean * mean;
    let s = (ss / nf).sqrt();
    let init = if zeros > 0 {
        (0.0, 0.0)
    } else {
        (f64::INFINITY, f64::NEG_INFINITY)
    };
    let (lo, hi) = occ.iter().fold(init, |(a, b), o| (a.min(o.2), b.max(o.2)));
    let scale = lo.abs().max(hi.abs());
    if lo == hi || s.is_nan() || s <= 1e-14 * scale {
        return out;
    }
    // Prefix sums of the occupied weights, row-major (so a row's run of columns is a range).
    let mut prefix = Vec::with_capacity(occ.len() + 1);
    prefix.push(0.0);
    for o in occ {
        prefix.push(prefix.last().copied().unwrap_or(0.0) + o.2);
    }
    let bins = RowBins::new(
        area.cell_size(),
        occ_cells.iter().map(|&(c, r)| (c, r, [0.0; 3])).collect(),
    );
    let z_of = |sum: f64, w: u32| {
        let wsum = w as f64;
        let var = (nf * wsum - wsum * wsum) / (nf - 1.0);
        if var > 0.0 {
            (sum - mean * wsum) / (s * var.sqrt())
        } else {
            0.0
        }
    };
    out.z_held = par_map(held.len(), |h| {
        let (c, r) = held[h];
        let mut sum = 0.0;
        for &(dr, half) in disc {
            let range = bins.range(r + dr, c - half, c + half);
            sum += prefix[range.end] - prefix[range.start];
        }
        z_of(sum, neighbours(area, disc, c, r))
    });
    for (&w, g) in out.groups.iter_mut() {
        g.z = z_of(0.0, w);
    }

    // p, and Benjamini-Hochberg over all n p-values with ties counted, not materialised.
    out.p_held = out.z_held.iter().map(|&z| two_sided_p(z)).collect();
    for g in out.groups.values_mut() {
        g.p = two_sided_p(g.z);
    }
    let mut entries: Vec<(f64, usize, Target)> = out
        .p_held
        .iter()
        .enumerate()
        .map(|(h, &p)| (p, 1, Target::Held(h)))
        .chain(
            out.groups
                .iter()
                .map(|(&w, g)| (g.p, g.cells, Target::Group(w))),
        )
        .collect();
    // Decreasing p, as R's `p.adjust`: the first of a run of ties has rank n - (values before).
    entries.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut running = f64::INFINITY;
    let mut before = 0usize;
    for (p, mult, target) in entries {
        let rank = (n - before) as f64;
        running = running.min(nf / rank * p);
        let q = running.min(1.0);
        match target {
            Target::Held(h) => out.q_held[h] = q,
            Target::Group(w) => {
                if let Some(g) = out.groups.get_mut(&w) {
                    g.q = q;
                }
            }
        }
        before += mult;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::category::Category;
    use crate::harm::HarmTable;
    use crate::hotspots::score;
    use crate::time::{OccurredAt, YearMonth};
    use geo::{LineString, MultiPolygon, Polygon};
    use jiff::tz::TimeZone;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn params() -> ScoringParams {
        let mut p = ScoringParams::new("2024-07-01T00:00:00Z".parse().unwrap(), TimeZone::UTC);
        p.distance = 180.0;
        p.bandwidth = 150.0;
        p
    }

    fn pt(rng: &mut ChaCha8Rng, x: f64, y: f64) -> ScoringPoint {
        let cats = [
            Category::Violence,
            Category::PublicOrder,
            Category::Robbery,
            Category::TheftFromPerson,
        ];
        let occurred = if rng.random_bool(0.3) {
            OccurredAt::Month(YearMonth {
                year: 2024,
                month: rng.random_range(1..=6),
            })
        } else {
            let secs = rng.random_range(0..120 * 86_400);
            OccurredAt::Exact(jiff::Timestamp::from_second(1_719_792_000 - secs).unwrap())
        };
        ScoringPoint {
            x,
            y,
            category: cats[rng.random_range(0..cats.len())],
            occurred,
        }
    }

    /// Sparse and dense agree: the same listed cells, the same counts and weights, scores
    /// and Gi* z, p, q to 1e-9 (relative to the largest), ranks equal up to near-ties.
    fn compare(grid: &Grid, area: &CellArea, points: &[ScoringPoint], p: &ScoringParams) {
        for method in [
            Method::Count,
            Method::Kde,
            Method::GiStar,
            Method::Prospective,
        ] {
            for all in [false, true] {
                let mut p = p.clone();
                p.all_cells = all;
                let dense = score(method, grid, points, &p).unwrap();
                let sparse = score_area(method, area, points, &p).unwrap();
                let what = format!("{method} all_cells={all}");
                assert_eq!(sparse.n_cells, dense.n_cells, "{what}");
                assert_eq!(
                    (sparse.n_incidents, sparse.n_untimed, sparse.n_outside),
                    (dense.n_incidents, dense.n_untimed, dense.n_outside),
                    "{what}"
                );
                let scale = dense
                    .cells
                    .iter()
                    .map(|c| c.score.abs())
                    .fold(1e-300, f64::max);
                let tol = 1e-9 * scale;
                let by_id: HashMap<&str, &ScoredCell> =
                    dense.cells.iter().map(|c| (c.id.as_str(), c)).collect();
                let mut ids: Vec<&str> = sparse.cells.iter().map(|c| c.id.as_str()).collect();
                let mut want: Vec<&str> = dense.cells.iter().map(|c| c.id.as_str()).collect();
                ids.sort_unstable();
                want.sort_unstable();
                assert_eq!(ids, want, "{what}: listed cells");
                let all_scores: Vec<f64> = if all {
                    dense.cells.iter().map(|c| c.score).collect()
                } else {
                    let mut q = p.clone();
                    q.all_cells = true;
                    score(method, grid, points, &q)
                        .unwrap()
                        .cells
                        .iter()
                        .map(|c| c.score)
                        .collect()
                };
                for s in &sparse.cells {
                    let d = by_id[s.id.as_str()];
                    assert_eq!((s.col, s.row, s.x, s.y), (d.col, d.row, d.x, d.y));
                    assert_eq!(s.count, d.count, "{what} {}", s.id);
                    assert!((s.weight - d.weight).abs() <= 1e-12 * d.weight.abs().max(1.0));
                    assert!(
                        (s.score - d.score).abs() <= tol,
                        "{what} {}: {} vs {}",
                        s.id,
                        s.score,
                        d.score
                    );
                    let above = all_scores.iter().filter(|&&v| v > s.score + tol).count();
                    let not_below = all_scores.iter().filter(|&&v| v > s.score - tol).count();
                    assert!(
                        (above + 1..=not_below.max(above + 1)).contains(&(s.rank as usize)),
                        "{what} {}: rank {} vs dense {}",
                        s.id,
                        s.rank,
                        d.rank
                    );
                    if s.rank == d.rank {
                        assert_eq!(s.percentile, d.percentile);
                    }
                    match (s.gistar, d.gistar) {
                        (Some(a), Some(b)) => {
                            assert!(
                                (a.z - b.z).abs() <= 1e-9 * scale.max(1.0),
                                "{what} {}",
                                s.id
                            );
                            assert!((a.p - b.p).abs() <= 1e-9, "{what} {} p", s.id);
                            assert!((a.q - b.q).abs() <= 1e-9, "{what} {} q", s.id);
                            assert_eq!(a.class, b.class, "{what} {}", s.id);
                        }
                        (None, None) => {}
                        _ => panic!("{what}: gistar values on one side only"),
                    }
                }
                // Listed by rank, then row, then column.
                assert!(
                    sparse
                        .cells
                        .windows(2)
                        .all(|w| (w[0].rank, w[0].row, w[0].col) < (w[1].rank, w[1].row, w[1].col)),
                    "{what}"
                );
            }
        }
    }

    fn boundary() -> MultiPolygon<f64> {
        let (x0, y0) = (504_000.0, 220_000.0);
        let ring = |v: &[(f64, f64)]| {
            LineString::from(v.iter().map(|(a, b)| (x0 + a, y0 + b)).collect::<Vec<_>>())
        };
        MultiPolygon::new(vec![
            Polygon::new(
                ring(&[
                    (0.0, 0.0),
                    (3000.0, 200.0),
                    (2600.0, 2500.0),
                    (1200.0, 1400.0),
                    (300.0, 2700.0),
                    (0.0, 0.0),
                ]),
                vec![ring(&[
                    (1000.0, 400.0),
                    (1600.0, 450.0),
                    (1500.0, 900.0),
                    (1000.0, 400.0),
                ])],
            ),
            Polygon::new(
                ring(&[(3600.0, 0.0), (4300.0, 0.0), (3900.0, 700.0), (3600.0, 0.0)]),
                vec![],
            ),
        ])
    }

    #[test]
    fn sparse_equals_dense_on_random_data_in_a_boundary() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let b = boundary();
        let grid = Grid::from_boundary(50.0, &b).unwrap();
        let area = CellArea::from_boundary(50.0, &b);
        assert_eq!(area.len(), grid.n_inside());
        let mut points = Vec::new();
        // Clusters (some at the boundary's edge and on the island), scatter, and points
        // outside the boundary (dropped by both).
        for (cx, cy, k) in [
            (505_000.0, 220_400.0, 300),
            (506_500.0, 222_200.0, 150),
            (507_900.0, 220_200.0, 60),
            (504_050.0, 220_030.0, 40),
        ] {
            for _ in 0..k {
                let (x, y) = (
                    cx + rng.random_range(-120.0..120.0),
                    cy + rng.random_range(-120.0..120.0),
                );
                points.push(pt(&mut rng, x, y));
            }
        }
        for _ in 0..200 {
            let (x, y) = (
                rng.random_range(503_800.0..508_500.0),
                rng.random_range(219_800.0..222_900.0),
            );
            points.push(pt(&mut rng, x, y));
        }
        let mut p = params();
        compare(&grid, &area, &points, &p);
        p.distance = 50.0; // rook neighbours only
        p.near_repeat.band = Some(75.0);
        compare(&grid, &area, &points, &p);
    }

    #[test]
    fn sparse_equals_dense_in_edge_cases() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 999.0, 749.0).unwrap();
        let area = CellArea::from_bbox(50.0, 0.0, 0.0, 999.0, 749.0);
        let p = params();
        // Empty.
        compare(&grid, &area, &[], &p);
        // One incident, in a corner cell (fewest neighbours) and in the middle.
        compare(&grid, &area, &[pt(&mut rng, 10.0, 10.0)], &p);
        compare(&grid, &area, &[pt(&mut rng, 510.0, 380.0)], &p);
        // All in one cell.
        let same: Vec<ScoringPoint> = (0..25).map(|_| pt(&mut rng, 520.0, 390.0)).collect();
        compare(&grid, &area, &same, &p);
        // Everything everywhere: no implicit cells at all.
        let mut p2 = p.clone();
        p2.distance = 2000.0;
        p2.harm = HarmTable::uniform(1.0);
        let dense: Vec<ScoringPoint> = (0..600)
            .map(|_| {
                let (x, y) = (rng.random_range(0.0..999.0), rng.random_range(0.0..749.0));
                pt(&mut rng, x, y)
            })
            .collect();
        compare(&grid, &area, &dense, &p2);
        // A single-cell study area, and a two-cell one.
        let one = Grid::from_bbox(50.0, 0.0, 0.0, 10.0, 10.0).unwrap();
        let one_area = CellArea::from_bbox(50.0, 0.0, 0.0, 10.0, 10.0);
        compare(&one, &one_area, &[pt(&mut rng, 5.0, 5.0)], &p);
        let two = Grid::from_bbox(50.0, 0.0, 0.0, 60.0, 10.0).unwrap();
        let two_area = CellArea::from_bbox(50.0, 0.0, 0.0, 60.0, 10.0);
        compare(&two, &two_area, &[pt(&mut rng, 5.0, 5.0)], &p);
    }

    #[test]
    fn a_far_town_costs_only_its_own_cells() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        // Two towns 400 km apart: a dense grid over their bounding box would need 64 million
        // 50 m cells; the sparse area holds two discs.
        let mut pts = Vec::new();
        for &(cx, cy) in &[(450_000.0, 200_000.0), (450_000.0, 600_000.0)] {
            for _ in 0..600 {
                let (x, y) = (
                    cx + rng.random_range(-500.0..500.0),
                    cy + rng.random_range(-500.0..500.0),
                );
                pts.push(pt(&mut rng, x, y));
            }
        }
        let xy: Vec<(f64, f64)> = pts.iter().map(|p| (p.x, p.y)).collect();
        let d = super::super::area::data_area(&xy, 50.0, &Default::default());
        assert!(d.left_out.is_empty());
        assert!(d.area.len() < 10_000, "{}", d.area.len());
        let s = score_area(Method::GiStar, &d.area, &pts, &params()).unwrap();
        assert_eq!(s.n_incidents, 1200);
        assert_eq!(s.n_cells, d.area.len());
        assert!(s.cells.iter().any(|c| c.y > 590_000.0) && s.cells.iter().any(|c| c.y < 210_000.0));
    }
}
