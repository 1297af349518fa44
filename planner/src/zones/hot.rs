//! Step 1: which cells are hot.
//!
//! Zones are drawn around the cells that matter most. A planner can say that in two ways
//! ([`HotCells`]):
//!
//! - **a share of the study area** (default 2 %): the top `ceil(share x n)` of the `n`
//!   study-area cells by score. This is the unit of a backtest's coverage (PAI at 2 % of the
//!   area), so the zones cover the area whose hit rate the backtest reports, whatever the
//!   method's scale. Cells tied with the last one taken are all taken, so the hot set is
//!   "every cell scoring at least the cut", the same as a threshold at that score, and does
//!   not depend on cell order;
//! - **a score threshold**: every cell scoring at least it (e.g. a Gi* z of 2.58).
//!
//! Either way only study-area cells with a finite, positive score can be hot: a cell with no
//! score is never a hotspot, however small the area.

use super::HotCells;
use crate::hotspots::grid::Grid;

/// The hot cells (dense indices, ascending) and the score cut that selected them.
#[derive(Debug, Clone, PartialEq)]
pub struct Hot {
    pub cells: Vec<usize>,
    /// The lowest score among the hot cells; `None` when there are none.
    pub cut: Option<f64>,
}

/// Selects the hot cells of `scores` (indexed like `grid`). See the module docs.
///
/// ```
/// use planner::hotspots::grid::Grid;
/// use planner::zones::{HotCells, hot::hot_cells};
/// let grid = Grid::from_bbox(50.0, 0.0, 0.0, 499.0, 499.0).unwrap(); // 100 cells
/// let mut scores = vec![0.0; 100];
/// scores[7] = 3.0;
/// scores[42] = 5.0;
/// scores[43] = 1.0;
/// let hot = hot_cells(&grid, &scores, &HotCells::TopShare(0.02));
/// assert_eq!((hot.cells, hot.cut), (vec![7, 42], Some(3.0)));
/// ```
pub fn hot_cells(grid: &Grid, scores: &[f64], rule: &HotCells) -> Hot {
    let eligible =
        |i: usize| grid.is_inside(i) && scores.get(i).is_some_and(|s| s.is_finite() && *s > 0.0);
    let cut = match *rule {
        HotCells::Threshold(t) => Some(t),
        HotCells::TopShare(share) => {
            let want = (share * grid.n_inside() as f64).ceil().max(0.0) as usize;
            let mut values: Vec<f64> = (0..grid.len())
                .filter(|&i| eligible(i))
                .map(|i| scores[i])
                .collect();
            values.sort_unstable_by(|a, b| b.total_cmp(a));
            match want {
                0 => None,
                n => values.get(n - 1).or(values.last()).copied(),
            }
        }
    };
    let Some(cut) = cut else {
        return Hot {
            cells: Vec::new(),
            cut: None,
        };
    };
    let cells: Vec<usize> = (0..grid.len())
        .filter(|&i| eligible(i) && scores[i] >= cut)
        .collect();
    let cut = cells.iter().map(|&i| scores[i]).reduce(f64::min);
    Hot { cells, cut }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, MultiPolygon, Polygon};

    #[test]
    fn top_share_takes_ties_and_skips_zero_and_outside_cells() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 499.0, 499.0).unwrap();
        let mut scores = vec![0.0; 100];
        for (i, s) in [(3, 2.0), (50, 4.0), (51, 2.0), (80, 1.0), (81, f64::NAN)] {
            scores[i] = s;
        }
        // 2 % of 100 cells: 2 cells, but the second place is a tie at 2.0.
        let hot = hot_cells(&grid, &scores, &HotCells::TopShare(0.02));
        assert_eq!(hot.cells, vec![3, 50, 51]);
        assert_eq!(hot.cut, Some(2.0));
        // 50 %: more cells than have a score; only the positive, finite ones.
        let hot = hot_cells(&grid, &scores, &HotCells::TopShare(0.5));
        assert_eq!(hot.cells, vec![3, 50, 51, 80]);
        assert_eq!(hot.cut, Some(1.0));
        // A threshold.
        let hot = hot_cells(&grid, &scores, &HotCells::Threshold(3.0));
        assert_eq!((hot.cells, hot.cut), (vec![50], Some(4.0)));
        let none = hot_cells(&grid, &vec![0.0; 100], &HotCells::TopShare(0.02));
        assert_eq!((none.cells.len(), none.cut), (0, None));
        let none = hot_cells(&grid, &scores, &HotCells::Threshold(10.0));
        assert_eq!((none.cells.len(), none.cut), (0, None));
    }

    #[test]
    fn only_study_area_cells_count() {
        // A triangle: the study area is the cells whose centre is inside it.
        let tri: MultiPolygon<f64> = Polygon::new(
            LineString::from(vec![(0.0, 0.0), (500.0, 0.0), (0.0, 500.0), (0.0, 0.0)]),
            vec![],
        )
        .into();
        let grid = Grid::from_boundary(50.0, &tri).unwrap();
        let n = grid.n_inside();
        assert!(n < grid.len());
        let scores: Vec<f64> = (0..grid.len()).map(|i| 1.0 + i as f64).collect();
        let hot = hot_cells(&grid, &scores, &HotCells::TopShare(0.1));
        let want = (0.1 * n as f64).ceil() as usize;
        assert_eq!(hot.cells.len(), want);
        assert!(hot.cells.iter().all(|&i| grid.is_inside(i)));
    }
}
