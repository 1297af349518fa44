//! The study area as a sparse set of aligned cells, and the study area a data set implies.
//!
//! [`CellArea`] holds the study-area cells (the contract's aligned `{col}_{row}` cells) as
//! runs of consecutive columns, row by row, so its size follows the number of runs, not the
//! rectangle around the area: two towns 300 km apart cost what the two towns cost. Cells are
//! numbered in row-major order (row, then column), which is the order every per-cell array of
//! the sparse scoring in [`super::sparse`] follows.
//!
//! [`data_area`] is the study area when nobody gave one (no boundary, no bbox, no configured
//! force boundary): the cells within [`DataAreaParams::buffer`] of the incidents, after the
//! isolated strays (police.uk's few rows recorded far outside the force) are left out. See
//! its docs for the exact rule.

use geo::{BoundingRect, MultiPolygon, Polygon};
use std::collections::HashMap;

/// A run of study-area cells: row `row`, columns `c0..c1` (end exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub row: i64,
    pub c0: i64,
    pub c1: i64,
}

/// A set of aligned cells, stored as sorted, merged runs. See the module docs.
///
/// ```
/// use planner::hotspots::area::CellArea;
/// let a = CellArea::from_cells(50.0, [(3, 1), (4, 1), (7, 1), (-2, 5)]);
/// assert_eq!(a.len(), 4);
/// assert_eq!(a.runs().len(), 3);
/// assert_eq!(a.index(7, 1), Some(2));
/// assert_eq!(a.col_row(3), (-2, 5));
/// assert_eq!(a.count_in_row(1, 0, 6), 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CellArea {
    cell: f64,
    runs: Vec<Run>,
    /// Cells before run k (`runs.len() + 1` entries).
    before: Vec<usize>,
    /// The first row with a run.
    row0: i64,
    /// Runs of row `row0 + k` are `runs[row_start[k]..row_start[k + 1]]`.
    row_start: Vec<usize>,
}

impl CellArea {
    /// From (row, c0, c1) intervals in any order; overlapping and touching ones are merged.
    pub fn from_intervals(cell: f64, mut intervals: Vec<(i64, i64, i64)>) -> CellArea {
        intervals.retain(|&(_, a, b)| a < b);
        intervals.sort_unstable();
        let mut runs: Vec<Run> = Vec::with_capacity(intervals.len());
        for (row, c0, c1) in intervals {
            match runs.last_mut() {
                Some(last) if last.row == row && c0 <= last.c1 => last.c1 = last.c1.max(c1),
                _ => runs.push(Run { row, c0, c1 }),
            }
        }
        CellArea::from_runs(cell, runs)
    }

    /// From sorted, disjoint, non-touching runs.
    fn from_runs(cell: f64, runs: Vec<Run>) -> CellArea {
        let mut before = Vec::with_capacity(runs.len() + 1);
        let mut total = 0usize;
        before.push(0);
        for r in &runs {
            total += (r.c1 - r.c0) as usize;
            before.push(total);
        }
        let row0 = runs.first().map_or(0, |r| r.row);
        let nrows = runs.last().map_or(0, |r| (r.row - row0 + 1) as usize);
        let mut row_start = vec![0usize; nrows + 1];
        for r in &runs {
            row_start[(r.row - row0) as usize + 1] += 1;
        }
        for k in 0..nrows {
            row_start[k + 1] += row_start[k];
        }
        CellArea {
            cell,
            runs,
            before,
            row0,
            row_start,
        }
    }

    /// The given cells (duplicates allowed).
    pub fn from_cells(cell: f64, cells: impl IntoIterator<Item = (i64, i64)>) -> CellArea {
        CellArea::from_intervals(
            cell,
            cells.into_iter().map(|(c, r)| (r, c, c + 1)).collect(),
        )
    }

    /// Every cell touched by the box (metres). The caller checks the box is valid.
    pub fn from_bbox(cell: f64, min_x: f64, min_y: f64, max_x: f64, max_y: f64) -> CellArea {
        let (c0, c1) = ((min_x / cell).floor() as i64, (max_x / cell).floor() as i64);
        let (r0, r1) = ((min_y / cell).floor() as i64, (max_y / cell).floor() as i64);
        let runs = (r0..=r1)
            .map(|row| Run {
                row,
                c0,
                c1: c1 + 1,
            })
            .collect();
        CellArea::from_runs(cell, runs)
    }

    /// The cells whose centre lies inside `boundary` (even-odd rule, so holes are honoured),
    /// row by row against the polygon edges ([`super::grid::Grid::from_boundary`] is its
    /// dense form).
    pub fn from_boundary(cell: f64, boundary: &MultiPolygon<f64>) -> CellArea {
        let Some(rect) = boundary.bounding_rect() else {
            return CellArea::from_runs(cell, vec![]);
        };
        let (lo, hi) = (rect.min(), rect.max());
        if ![lo.x, lo.y, hi.x, hi.y].iter().all(|v| v.is_finite()) {
            return CellArea::from_runs(cell, vec![]);
        }
        let edges: Vec<[f64; 4]> = boundary
            .0
            .iter()
            .flat_map(|p: &Polygon<f64>| std::iter::once(p.exterior()).chain(p.interiors()))
            .flat_map(|ring| ring.lines())
            .map(|l| [l.start.x, l.start.y, l.end.x, l.end.y])
            .collect();
        let (r0, r1) = ((lo.y / cell).floor() as i64, (hi.y / cell).floor() as i64);
        let mut intervals = Vec::new();
        let mut crossings = Vec::new();
        for row in r0..=r1 {
            let y = row as f64 * cell + 0.5 * cell;
            crossings.clear();
            for &[x1, y1, x2, y2] in &edges {
                if (y1 > y) != (y2 > y) {
                    crossings.push(x1 + (y - y1) * (x2 - x1) / (y2 - y1));
                }
            }
            crossings.sort_by(f64::total_cmp);
            for pair in crossings.chunks_exact(2) {
                // Centres (c + 0.5) cell in [pair[0], pair[1]).
                let first = (pair[0] / cell - 0.5).ceil() as i64;
                let end = (pair[1] / cell - 0.5).ceil() as i64;
                intervals.push((row, first, end));
            }
        }
        // Even-odd pairs never overlap within one ring set, but touching pairs merge.
        CellArea::from_intervals(cell, intervals)
    }

    /// Cell size in metres.
    pub fn cell_size(&self) -> f64 {
        self.cell
    }

    /// Number of cells.
    pub fn len(&self) -> usize {
        *self.before.last().unwrap_or(&0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The runs, row-major.
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// The index of the first cell of run `k`.
    pub fn run_start(&self, k: usize) -> usize {
        self.before[k]
    }

    /// The runs of one row (empty if none).
    pub fn row_runs(&self, row: i64) -> &[Run] {
        let k = row - self.row0;
        if k < 0 || k as usize + 1 >= self.row_start.len() {
            return &[];
        }
        let k = k as usize;
        &self.runs[self.row_start[k]..self.row_start[k + 1]]
    }

    fn row_run_offset(&self, row: i64) -> usize {
        let k = (row - self.row0).clamp(0, self.row_start.len() as i64 - 1);
        self.row_start[k as usize]
    }

    /// The row-major index of cell (`col`, `row`), if it is in the set.
    pub fn index(&self, col: i64, row: i64) -> Option<usize> {
        let runs = self.row_runs(row);
        let k = runs.partition_point(|r| r.c1 <= col);
        let r = runs.get(k)?;
        (r.c0 <= col).then(|| self.before[self.row_run_offset(row) + k] + (col - r.c0) as usize)
    }

    pub fn contains(&self, col: i64, row: i64) -> bool {
        self.index(col, row).is_some()
    }

    /// The cell holding the point (metres), if it is in the set.
    pub fn locate(&self, x: f64, y: f64) -> Option<usize> {
        if !(x.is_finite() && y.is_finite()) {
            return None;
        }
        let (col, row) = ((x / self.cell).floor(), (y / self.cell).floor());
        if col.abs() > 1e15 || row.abs() > 1e15 {
            return None;
        }
        self.index(col as i64, row as i64)
    }

    /// (col, row) of the cell with row-major index `i` (`i < len()`).
    pub fn col_row(&self, i: usize) -> (i64, i64) {
        let k = self.before.partition_point(|&b| b <= i) - 1;
        let r = self.runs[k];
        (r.c0 + (i - self.before[k]) as i64, r.row)
    }

    /// The projected centre of cell (`col`, `row`).
    pub fn centre_of(&self, col: i64, row: i64) -> (f64, f64) {
        (
            (col as f64 + 0.5) * self.cell,
            (row as f64 + 0.5) * self.cell,
        )
    }

    /// How many cells of row `row` have a column in `a..=b`.
    pub fn count_in_row(&self, row: i64, a: i64, b: i64) -> usize {
        let runs = self.row_runs(row);
        let mut k = runs.partition_point(|r| r.c1 <= a);
        let mut n = 0;
        while let Some(r) = runs.get(k) {
            if r.c0 > b {
                break;
            }
            n += (r.c1.min(b + 1) - r.c0.max(a)) as usize;
            k += 1;
        }
        n
    }

    /// Every cell, row-major, as (col, row).
    pub fn cells(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.runs
            .iter()
            .flat_map(|r| (r.c0..r.c1).map(move |c| (c, r.row)))
    }

    /// (min col, min row, max col, max row), or `None` when empty.
    pub fn bounds(&self) -> Option<(i64, i64, i64, i64)> {
        let first = self.runs.first()?;
        let last = self.runs.last()?;
        let c0 = self.runs.iter().map(|r| r.c0).min()?;
        let c1 = self.runs.iter().map(|r| r.c1).max()?;
        Some((c0, first.row, c1 - 1, last.row))
    }

    /// The cells of both sets.
    pub fn intersect(&self, other: &CellArea) -> CellArea {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        let (a, b) = (&self.runs, &other.runs);
        while i < a.len() && j < b.len() {
            let (x, y) = (a[i], b[j]);
            if (x.row, x.c1) <= (y.row, y.c0) {
                i += 1;
                continue;
            }
            if (y.row, y.c1) <= (x.row, x.c0) {
                j += 1;
                continue;
            }
            // Same row, overlapping.
            out.push(Run {
                row: x.row,
                c0: x.c0.max(y.c0),
                c1: x.c1.min(y.c1),
            });
            if x.c1 <= y.c1 {
                i += 1;
            } else {
                j += 1;
            }
        }
        CellArea::from_runs(self.cell, out)
    }

    /// The cells of this set within `spans` of any of `cells`: for each (dr, half) in
    /// `spans`, the cells `dr` rows and at most `half` columns away.
    pub fn around(&self, cells: &[(i64, i64)], spans: &[(i64, i64)]) -> CellArea {
        let mut intervals = Vec::with_capacity(cells.len() * spans.len());
        for &(c, r) in cells {
            for &(dr, half) in spans {
                intervals.push((r + dr, c - half, c + half + 1));
            }
        }
        CellArea::from_intervals(self.cell, intervals).intersect(self)
    }
}

/// Row offsets and half-widths (in cells) of the disc of cells whose centres lie within
/// `distance` of a cell's centre: `dc^2 + dr^2 <= (distance / cell)^2`, with a 1e-12
/// relative allowance so that a centre exactly at `distance` counts (Gi*'s neighbours).
pub fn centre_disc(cell: f64, distance: f64) -> Vec<(i64, i64)> {
    let lim = (distance / cell).powi(2) * (1.0 + 1e-12);
    let reach = lim.sqrt().floor() as i64;
    (-reach..=reach)
        .filter_map(|dr| {
            let left = lim - (dr * dr) as f64;
            if left < 0.0 {
                return None;
            }
            let mut k = left.sqrt().floor() as i64;
            while ((k + 1) * (k + 1)) as f64 <= left {
                k += 1;
            }
            while k > 0 && (k * k) as f64 > left {
                k -= 1;
            }
            Some((dr, k))
        })
        .collect()
}

/// Row offsets and half-widths of the cells that may hold a point closer than `radius` to
/// a cell's centre (a cell `dc` columns and `dr` rows away is at least
/// `(max(0, |dc| - 0.5), max(0, |dr| - 0.5))` cells from it): the reach of a kernel.
pub fn kernel_spans(cell: f64, radius: f64) -> Vec<(i64, i64)> {
    let rho = radius / cell;
    let reach = (rho + 0.5).floor() as i64;
    (-reach..=reach)
        .filter_map(|dr| {
            let my = (dr.abs() as f64 - 0.5).max(0.0);
            let left = rho * rho - my * my;
            (left > 0.0).then(|| (dr, (left.sqrt() + 0.5).floor() as i64))
        })
        .collect()
}

/// How [`data_area`] draws the study area around the data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DataAreaParams {
    /// Cells whose centre lies within this many metres of the centre of a cell holding a
    /// kept incident belong to the area.
    pub buffer: f64,
    /// Neighbourhood radius of the stray test, metres.
    pub radius: f64,
    /// An incident with at least this many other incidents within `radius` is *dense*.
    pub min_neighbours: usize,
    /// An incident that is not dense is left out when no dense incident lies within this
    /// many metres of it.
    pub link: f64,
    /// With fewer incidents than this, none is left out: too few to tell a stray from a
    /// quiet place.
    pub min_incidents: usize,
}

impl Default for DataAreaParams {
    /// 1 km buffer; strays: fewer than 4 others within 1 km and no dense incident within 10 km;
    /// only with 500 incidents or more.
    fn default() -> Self {
        DataAreaParams {
            buffer: 1000.0,
            radius: 1000.0,
            min_neighbours: 4,
            link: 10_000.0,
            min_incidents: 500,
        }
    }
}

/// The study area implied by the data, and the incidents it leaves out.
#[derive(Debug, Clone, PartialEq)]
pub struct DataArea {
    pub area: CellArea,
    /// Indices (into the points given) of the strays left out, ascending.
    pub left_out: Vec<usize>,
}

/// The study area when none is given: the cells within `buffer` of the incidents, leaving
/// out isolated strays.
///
/// An incident is *dense* when at least `min_neighbours` other incidents lie within `radius`
/// of it. An incident that is not dense is a *stray*, left out, when no dense incident lies
/// within `link` of it either: a geocode in Liverpool in a Bedfordshire file, but not a
/// quiet village a few kilometres from a town. With fewer than `min_incidents` finite
/// points, or when no incident is dense, nothing is left out. The area is the union of the
/// discs of cells whose centres lie within `buffer` of the centre of a cell holding a kept
/// incident: a sparse set, not a box, so a second town far away costs only its own cells.
/// Non-finite points are ignored (neither kept nor reported).
///
/// ```
/// use planner::hotspots::area::{data_area, DataAreaParams};
/// let mut pts: Vec<(f64, f64)> = (0..600).map(|k| (500_000.0 + (k % 30) as f64 * 20.0, 200_000.0 + (k / 30) as f64 * 20.0)).collect();
/// pts.push((300_000.0, 400_000.0)); // a stray 280 km away
/// let d = data_area(&pts, 100.0, &DataAreaParams::default());
/// assert_eq!(d.left_out, vec![600]);
/// assert!(d.area.locate(500_300.0, 200_200.0).is_some());
/// assert!(d.area.locate(300_000.0, 400_000.0).is_none());
/// ```
pub fn data_area(points: &[(f64, f64)], cell: f64, params: &DataAreaParams) -> DataArea {
    let finite: Vec<usize> = (0..points.len())
        .filter(|&i| points[i].0.is_finite() && points[i].1.is_finite())
        .collect();
    let mut left_out = Vec::new();
    if finite.len() >= params.min_incidents && params.radius > 0.0 {
        let dense = dense_points(points, &finite, params.radius, params.min_neighbours);
        if dense.iter().any(|&d| d) {
            let link = params.link.max(params.radius);
            let mut buckets: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
            for (k, &i) in finite.iter().enumerate() {
                if dense[k] {
                    let (x, y) = points[i];
                    buckets
                        .entry(((x / link).floor() as i64, (y / link).floor() as i64))
                        .or_default()
                        .push(i);
                }
            }
            let l2 = link * link;
            for (k, &i) in finite.iter().enumerate() {
                if dense[k] {
                    continue;
                }
                let (x, y) = points[i];
                let (bx, by) = ((x / link).floor() as i64, (y / link).floor() as i64);
                let near = (-1..=1).any(|dy| {
                    (-1..=1).any(|dx| {
                        buckets.get(&(bx + dx, by + dy)).is_some_and(|b| {
                            b.iter().any(|&j| {
                                let (u, v) = points[j];
                                (u - x) * (u - x) + (v - y) * (v - y) <= l2
                            })
                        })
                    })
                });
                if !near {
                    left_out.push(i);
                }
            }
        }
    }
    let mut cells: Vec<(i64, i64)> = Vec::with_capacity(finite.len());
    let mut out = left_out.iter().peekable();
    for &i in &finite {
        if out.peek() == Some(&&i) {
            out.next();
            continue;
        }
        let (x, y) = points[i];
        cells.push(((x / cell).floor() as i64, (y / cell).floor() as i64));
    }
    cells.sort_unstable();
    cells.dedup();
    let spans = centre_disc(cell, params.buffer.max(0.0));
    let mut intervals = Vec::with_capacity(cells.len() * spans.len());
    for &(c, r) in &cells {
        for &(dr, half) in &spans {
            intervals.push((r + dr, c - half, c + half + 1));
        }
    }
    DataArea {
        area: CellArea::from_intervals(cell, intervals),
        left_out,
    }
}

/// A bucket and its eight neighbours, the bucket itself first.
const NEIGHBOUR_BUCKETS: [(i64, i64); 9] = [
    (0, 0),
    (-1, -1),
    (0, -1),
    (1, -1),
    (-1, 0),
    (1, 0),
    (-1, 1),
    (0, 1),
    (1, 1),
];

/// For each of `idx`, whether at least `m` other points lie within `radius` (early exit).
fn dense_points(points: &[(f64, f64)], idx: &[usize], radius: f64, m: usize) -> Vec<bool> {
    let key = |x: f64, y: f64| ((x / radius).floor() as i64, (y / radius).floor() as i64);
    let mut buckets: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    for &i in idx {
        let (x, y) = points[i];
        buckets.entry(key(x, y)).or_default().push(i);
    }
    let r2 = radius * radius;
    idx.iter()
        .map(|&i| {
            let (x, y) = points[i];
            let (bx, by) = key(x, y);
            let mut n = 0usize;
            // The point's own bucket first: in a busy town most of its points are within
            // `radius`, so the early exit comes after a few checks instead of after a
            // corner bucket of tens of thousands of points that are mostly out of reach.
            for (dx, dy) in NEIGHBOUR_BUCKETS {
                let Some(b) = buckets.get(&(bx + dx, by + dy)) else {
                    continue;
                };
                for &j in b {
                    if j == i {
                        continue;
                    }
                    let (u, v) = points[j];
                    if (u - x) * (u - x) + (v - y) * (v - y) <= r2 {
                        n += 1;
                        if n >= m {
                            return true;
                        }
                    }
                }
            }
            n >= m
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotspots::grid::Grid;
    use geo::LineString;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn runs_index_and_count_like_a_brute_force_set() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let cells: Vec<(i64, i64)> = (0..400)
            .map(|_| (rng.random_range(-20..20), rng.random_range(-10..10)))
            .collect();
        let a = CellArea::from_cells(50.0, cells.clone());
        let mut want = cells.clone();
        want.sort_by_key(|&(c, r)| (r, c));
        want.dedup();
        assert_eq!(a.len(), want.len());
        assert_eq!(a.cells().collect::<Vec<_>>(), want);
        for (i, &(c, r)) in want.iter().enumerate() {
            assert_eq!(a.index(c, r), Some(i));
            assert_eq!(a.col_row(i), (c, r));
        }
        for r in -12..12 {
            for c0 in -22..22 {
                for c1 in c0..c0 + 9 {
                    let n = want
                        .iter()
                        .filter(|&&(c, rr)| rr == r && c >= c0 && c <= c1)
                        .count();
                    assert_eq!(a.count_in_row(r, c0, c1), n);
                }
                assert_eq!(a.contains(c0, r), want.contains(&(c0, r)));
            }
        }
        let b = CellArea::from_bbox(50.0, -300.0, -100.0, 299.0, 199.0);
        let both = a.intersect(&b);
        let want_both: Vec<_> = want
            .iter()
            .copied()
            .filter(|&(c, r)| (-6..=5).contains(&c) && (-2..=3).contains(&r))
            .collect();
        assert_eq!(both.cells().collect::<Vec<_>>(), want_both);
    }

    #[test]
    fn boundary_cells_match_the_dense_grid() {
        let shape: MultiPolygon<f64> = Polygon::new(
            LineString::from(vec![
                (0.0, 0.0),
                (3000.0, 200.0),
                (2600.0, 2500.0),
                (1200.0, 1400.0),
                (300.0, 2700.0),
                (0.0, 0.0),
            ]),
            vec![LineString::from(vec![
                (1000.0, 500.0),
                (1500.0, 500.0),
                (1500.0, 900.0),
                (1000.0, 500.0),
            ])],
        )
        .into();
        let grid = Grid::from_boundary(50.0, &shape).unwrap();
        let area = CellArea::from_boundary(50.0, &shape);
        let want: Vec<(i64, i64)> = grid.inside_cells().map(|i| grid.col_row(i)).collect();
        assert_eq!(area.cells().collect::<Vec<_>>(), want);
        assert_eq!(area.len(), grid.n_inside());
    }

    #[test]
    fn strays_are_left_out_and_quiet_places_kept() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        // A town of 800 incidents, a village of 2 incidents 3 km away, three strays at one
        // spot 60 km away and one 200 km away.
        let mut pts: Vec<(f64, f64)> = (0..800)
            .map(|_| {
                (
                    510_000.0 + rng.random_range(-800.0..800.0),
                    220_000.0 + rng.random_range(-800.0..800.0),
                )
            })
            .collect();
        pts.push((513_500.0, 220_000.0));
        pts.push((513_520.0, 220_010.0));
        pts.extend([(570_000.0, 220_000.0); 3]);
        pts.push((310_000.0, 220_000.0));
        pts.push((f64::NAN, 0.0));
        let d = data_area(&pts, 100.0, &DataAreaParams::default());
        assert_eq!(d.left_out, vec![802, 803, 804, 805]);
        assert!(d.area.locate(513_500.0, 220_900.0).is_some());
        assert!(d.area.locate(513_500.0, 221_100.0).is_none());
        assert!(d.area.locate(570_000.0, 220_000.0).is_none());
        // Small data: nothing is left out.
        let few: Vec<(f64, f64)> = vec![(0.0, 0.0), (100_000.0, 0.0)];
        let d = data_area(&few, 100.0, &DataAreaParams::default());
        assert!(d.left_out.is_empty());
        // Two 1 km discs: 2 x (the cells with centres within 10 cells) = 2 x 317.
        assert_eq!(d.area.len(), 2 * 317);
    }

    /// The strays agree with a brute-force count over every pair, on towns, villages and
    /// scattered points whose neighbourhoods straddle the buckets' edges.
    #[test]
    fn strays_match_a_brute_force_count() {
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let mut pts: Vec<(f64, f64)> = Vec::new();
        for town in 0..4 {
            let (cx, cy) = (400_000.0 + town as f64 * 7_000.0, 300_000.0);
            for _ in 0..300 {
                pts.push((
                    cx + rng.random_range(-1_500.0..1_500.0),
                    cy + rng.random_range(-1_500.0..1_500.0),
                ));
            }
        }
        for _ in 0..400 {
            pts.push((
                rng.random_range(350_000.0..480_000.0),
                rng.random_range(250_000.0..350_000.0),
            ));
        }
        let p = DataAreaParams::default();
        let d2 = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).powi(2) + (a.1 - b.1).powi(2);
        let dense: Vec<bool> = (0..pts.len())
            .map(|i| {
                (0..pts.len())
                    .filter(|&j| j != i && d2(pts[i], pts[j]) <= p.radius * p.radius)
                    .count()
                    >= p.min_neighbours
            })
            .collect();
        let want: Vec<usize> = (0..pts.len())
            .filter(|&i| {
                !dense[i]
                    && !(0..pts.len()).any(|j| dense[j] && d2(pts[i], pts[j]) <= p.link * p.link)
            })
            .collect();
        assert!(!want.is_empty() && want.len() < 400, "{}", want.len());
        assert_eq!(data_area(&pts, 100.0, &p).left_out, want);
    }
}
