//! Points binned by cell, and the parallel "sum a kernel over nearby points" both KDE and
//! near-repeat scoring need.
//!
//! A city-wide KDE sums, for each of ~640,000 cells, a kernel over the incidents within a
//! bandwidth of its centre. Looping over all incidents per cell is hopeless; scattering each
//! incident to its nearby cells needs one accumulation grid per thread. Instead incidents are
//! sorted by cell with a counting sort (row-major, like the grid), so that the incidents of a
//! run of cells in one row are one contiguous slice. Each cell then *gathers*: for each grid
//! row within reach it takes the one slice of incidents whose cells could lie within the radius
//! and sums the kernel over them, rejecting by exact distance. Every incident is evaluated at
//! its true position (no binning approximation), each cell is written by exactly one thread,
//! and the summation order of a cell never depends on the thread count, so results are
//! bit-for-bit reproducible.

use super::grid::Grid;
use super::weights::WeightedPoint;
use std::sync::Mutex;

/// Incidents sorted by cell: `pts[start[c]..start[c + 1]]` are cell `c`'s `(x, y, w)`.
pub(crate) struct Bins {
    start: Vec<usize>,
    pts: Vec<[f64; 3]>,
}

impl Bins {
    /// Bins the points for which `weight` gives `Some(w)` (others are left out).
    pub(crate) fn new(
        grid: &Grid,
        points: &[WeightedPoint],
        weight: impl Fn(&WeightedPoint) -> Option<f64>,
    ) -> Bins {
        let mut start = vec![0usize; grid.len() + 1];
        let kept: Vec<(usize, [f64; 3])> = points
            .iter()
            .filter_map(|p| weight(p).map(|w| (p.cell, [p.x, p.y, w])))
            .collect();
        for (cell, _) in &kept {
            start[cell + 1] += 1;
        }
        for c in 0..grid.len() {
            start[c + 1] += start[c];
        }
        let mut next = start.clone();
        let mut pts = vec![[0.0; 3]; kept.len()];
        for (cell, p) in kept {
            pts[next[cell]] = p;
            next[cell] += 1;
        }
        Bins { start, pts }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pts.is_empty()
    }
}

/// For every study-area cell, `sum over binned points within radius of w * kernel(d^2)`,
/// where `d` is the distance from the point to the cell's centre and only `d < radius` counts.
/// Cells outside the study area stay 0.
pub(crate) fn gather(
    grid: &Grid,
    bins: &Bins,
    radius: f64,
    kernel: impl Fn(f64) -> f64 + Sync,
) -> Vec<f64> {
    let mut out = vec![0.0; grid.len()];
    if bins.is_empty() {
        return out;
    }
    let cell = grid.cell_size();
    let ncols = grid.ncols();
    let r2 = radius * radius;
    // Row offsets within reach, each with the half-width (in cells) of the run of cells in
    // that row that could hold a point within `radius` of the centre: a cell dc columns and
    // dr rows away is at least (max(0, |dc| - 0.5), max(0, |dr| - 0.5)) cells from it.
    let rho = radius / cell;
    let reach = (rho + 0.5).floor() as i64;
    let spans: Vec<(i64, i64)> = (-reach..=reach)
        .filter_map(|dr| {
            let my = (dr.abs() as f64 - 0.5).max(0.0);
            let left = rho * rho - my * my;
            (left > 0.0).then(|| (dr, (left.sqrt() + 0.5).floor() as i64))
        })
        .collect();
    let (col0, row0) = grid.origin();
    let nrows = grid.nrows() as i64;
    let mask = grid.inside_mask();

    let rows_per_task = 8;
    par_chunks(&mut out, ncols * rows_per_task, 4096, |task, chunk| {
        let first_row = task * rows_per_task;
        for (k, value) in chunk.iter_mut().enumerate() {
            let index = first_row * ncols + k;
            if !mask[index] {
                continue;
            }
            let (c, r) = ((index % ncols) as i64, (index / ncols) as i64);
            let cx = ((col0 + c) as f64 + 0.5) * cell;
            let cy = ((row0 + r) as f64 + 0.5) * cell;
            let mut sum = 0.0;
            for &(dr, half) in &spans {
                let rr = r + dr;
                if rr < 0 || rr >= nrows {
                    continue;
                }
                let lo = (c - half).max(0) as usize;
                let hi = (c + half).min(ncols as i64 - 1) as usize;
                let base = rr as usize * ncols;
                let run = &bins.pts[bins.start[base + lo]..bins.start[base + hi + 1]];
                for &[x, y, w] in run {
                    let d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
                    if d2 < r2 {
                        sum += w * kernel(d2);
                    }
                }
            }
            *value = sum;
        }
    });
    out
}

/// Runs `f(task, chunk)` on every `chunk_len`-long chunk of `out` (the last may be shorter),
/// on every core when `out` holds at least `parallel_from` values: workers take the next
/// chunk until none is left, so each value is computed by one thread and results never
/// depend on the thread count. Between chunks the workers check the caller's cancellation
/// token ([`crate::cancel`]; worker threads do not see the caller's thread-local): a
/// cancelled run leaves the rest untouched, and the caller's own check refuses the result.
pub(crate) fn par_chunks<T: Send>(
    out: &mut [T],
    chunk_len: usize,
    parallel_from: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 16);
    let n = out.len();
    let tasks = Mutex::new(out.chunks_mut(chunk_len.max(1)).enumerate());
    let stop = crate::cancel::current();
    let work = || {
        loop {
            if stop
                .as_ref()
                .is_some_and(crate::cancel::Cancel::is_cancelled)
            {
                break;
            }
            let next = match tasks.lock() {
                Ok(mut it) => it.next(),
                Err(_) => None,
            };
            let Some((task, chunk)) = next else { break };
            f(task, chunk);
        }
    };
    if threads == 1 || n < parallel_from {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 1..threads {
                s.spawn(work);
            }
            work();
        });
    }
}
