//! Ranks and percentiles of cell scores over the study area.
//!
//! Planners read "rank 3" and "99th percentile", and backtests pick "the top 1 % of the area",
//! so both must be defined over the whole study area (zero-score cells included), not just the
//! cells that happen to be listed:
//!
//! - **rank**: 1 + the number of study-area cells with a strictly higher score ("competition"
//!   ranking, 1-2-2-4): tied cells share the best rank, and the next rank skips. Ties are exact
//!   equality of the f64 scores, so the many zero-score cells share one rank.
//! - **percentile**: 100 x the share of study-area cells scoring at most this cell's score,
//!   i.e. `100 (n - rank + 1) / n`. The top cell is at 100; a cell at percentile 99 or more is in
//!   the top 1 % of the area by score.
//!
//! Neither depends on which cells are listed (`--all-cells` only adds rows), and ties never
//! make the order depend on input order.

use super::grid::Grid;

/// Dense ranks and percentiles (cells outside the study area: rank 0, percentile 0).
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking {
    pub rank: Vec<u32>,
    pub percentile: Vec<f64>,
    /// The study-area cells by rank, ties in index order (row, then column).
    pub order: Vec<usize>,
}

/// Ranks the study-area cells of `scores` (dense, indexed like `grid`).
///
/// ```
/// use planner::hotspots::{grid::Grid, rank::rank};
/// let grid = Grid::from_bbox(10.0, 0.0, 0.0, 39.0, 0.0).unwrap(); // 4 cells
/// let r = rank(&grid, &[5.0, 3.0, 3.0, 1.0]);
/// assert_eq!(r.rank, vec![1, 2, 2, 4]);
/// assert_eq!(r.percentile, vec![100.0, 75.0, 75.0, 25.0]);
/// ```
pub fn rank(grid: &Grid, scores: &[f64]) -> Ranking {
    // (score, index) pairs sort faster than indices into `scores`; the stable sort keeps
    // tied cells in index order.
    let mut cells: Vec<(f64, usize)> = grid.inside_cells().map(|i| (scores[i], i)).collect();
    cells.sort_by(|a, b| b.0.total_cmp(&a.0));
    let n = cells.len();
    let mut out = Ranking {
        rank: vec![0; grid.len()],
        percentile: vec![0.0; grid.len()],
        order: Vec::with_capacity(n),
    };
    let mut current = 0;
    for (k, &(s, i)) in cells.iter().enumerate() {
        if k == 0 || s != cells[k - 1].0 {
            current = k + 1;
        }
        out.rank[i] = current as u32;
        out.percentile[i] = 100.0 * (n - current + 1) as f64 / n as f64;
        out.order.push(i);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn matches_the_definitions_by_brute_force() {
        let mut rng = ChaCha8Rng::seed_from_u64(41);
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 1499.0, 999.0).unwrap();
        // Many ties: small integers and zeros.
        let scores: Vec<f64> = (0..grid.len())
            .map(|_| {
                if rng.random_bool(0.6) {
                    0.0
                } else {
                    rng.random_range(1..20) as f64
                }
            })
            .collect();
        let r = rank(&grid, &scores);
        let n = grid.n_inside() as f64;
        for i in 0..grid.len() {
            let higher = scores.iter().filter(|&&s| s > scores[i]).count();
            let at_most = scores.iter().filter(|&&s| s <= scores[i]).count();
            assert_eq!(r.rank[i] as usize, higher + 1);
            assert!((r.percentile[i] - 100.0 * at_most as f64 / n).abs() < 1e-12);
        }
        // The order is by rank, ties by index.
        let mut want: Vec<usize> = (0..grid.len()).collect();
        want.sort_by_key(|&i| (r.rank[i], i));
        assert_eq!(r.order, want);
    }

    #[test]
    fn only_study_area_cells_are_ranked() {
        // A square with its north-east corner cut off: centre (75, 75) is outside.
        let shape: geo::MultiPolygon<f64> = geo::Polygon::new(
            vec![
                (0.0, 0.0),
                (99.0, 0.0),
                (99.0, 40.0),
                (40.0, 99.0),
                (0.0, 99.0),
                (0.0, 0.0),
            ]
            .into(),
            vec![],
        )
        .into();
        let grid = Grid::from_boundary(50.0, &shape).unwrap();
        assert_eq!((grid.len(), grid.n_inside()), (4, 3));
        // Cell 1_1 (local 3) is outside; its huge score must not push the others down.
        let r = rank(&grid, &[1.0, 2.0, 0.0, 99.0]);
        assert_eq!(r.rank, vec![2, 1, 3, 0]);
        assert_eq!(r.order, vec![1, 0, 2]);
        assert_eq!(r.percentile[1], 100.0);
        assert!((r.percentile[2] - 100.0 / 3.0).abs() < 1e-12);
    }
}
