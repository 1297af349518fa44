//! The aligned scoring grid and its study area.
//!
//! Cells are squares aligned to multiples of the cell size in projected metres (the contract's
//! Grid paragraph): `col = floor(x / cell)`, `row = floor(y / cell)`, id `"{col}_{row}"`, centre
//! `((col + 0.5) cell, (row + 0.5) cell)`. Two runs over different data therefore share cell ids,
//! so maps, zones and backtests line up with each other and with the force's GIS.
//!
//! The grid is the smallest rectangle of cells around the study area, stored densely
//! (`Vec`s indexed by `local_row * ncols + local_col`), plus a mask of the cells that belong to
//! the study area:
//!
//! - a boundary ([`Grid::from_boundary`]): the cells whose centre lies inside the polygon(s),
//!   found by scanning each row of centres against the polygon edges (even-odd rule, so holes
//!   are honoured), which takes O(rows x edges) instead of one point-in-polygon test per cell;
//! - a bounding box ([`Grid::from_bbox`]) or the bounding box of the incidents
//!   ([`Grid::from_points`]): every cell that the box touches.
//!
//! The study area *is* this set of cells: an incident belongs to it when its cell does, and
//! every other incident is dropped and counted (see [`super::weights::weigh`]). `n` in Gi* and
//! the area shares of a backtest are counts of these cells.

use super::area::CellArea;
use geo::{MultiPolygon, Polygon};

/// The largest *dense* grid (rectangle of cells) accepted: 2^24 cells, e.g. 200 km x 200 km
/// at 50 m. Hotspot scoring does not need one (it scores a sparse [`CellArea`], see
/// [`super::sparse`]); zones, backtests and `ensemble` hold every cell of the rectangle.
pub const MAX_CELLS: usize = 1 << 24;

/// Where to score.
#[derive(Debug, Clone, PartialEq)]
pub enum StudyArea {
    /// A boundary in projected metres: cells whose centre lies inside.
    Boundary(MultiPolygon<f64>),
    /// A bounding box in projected metres: every cell it touches.
    BBox {
        min_x: f64,
        min_y: f64,
        max_x: f64,
        max_y: f64,
    },
    /// The bounding box of the incidents.
    Points,
    /// Any set of cells, e.g. the area the data implies ([`super::area::data_area`]).
    Cells(CellArea),
}

impl StudyArea {
    /// The study area's cells as a sparse [`CellArea`] (no rectangle, no cap); `points` are
    /// only read for [`StudyArea::Points`]. The same checks as [`Grid::for_area`].
    pub fn cells(
        &self,
        cell: f64,
        points: impl IntoIterator<Item = (f64, f64)>,
    ) -> Result<CellArea, GridError> {
        check_cell(cell)?;
        let area = match self {
            StudyArea::Boundary(b) => CellArea::from_boundary(cell, b),
            &StudyArea::BBox {
                min_x,
                min_y,
                max_x,
                max_y,
            } => {
                check_bbox(min_x, min_y, max_x, max_y)?;
                CellArea::from_bbox(cell, min_x, min_y, max_x, max_y)
            }
            StudyArea::Points => {
                let (min_x, min_y, max_x, max_y) =
                    points_bbox(points).ok_or(GridError::NoPoints)?;
                CellArea::from_bbox(cell, min_x, min_y, max_x, max_y)
            }
            StudyArea::Cells(a) if a.cell_size() == cell => a.clone(),
            StudyArea::Cells(a) => CellArea::from_cells(
                cell,
                a.cells().map(|(c, r)| {
                    let (x, y) = a.centre_of(c, r);
                    ((x / cell).floor() as i64, (y / cell).floor() as i64)
                }),
            ),
        };
        if area.is_empty() {
            return Err(GridError::EmptyStudyArea);
        }
        Ok(area)
    }
}

fn check_bbox(min_x: f64, min_y: f64, max_x: f64, max_y: f64) -> Result<(), GridError> {
    let ok = [min_x, min_y, max_x, max_y].iter().all(|v| v.is_finite())
        && min_x <= max_x
        && min_y <= max_y;
    if ok {
        Ok(())
    } else {
        Err(GridError::InvalidBBox {
            min_x,
            min_y,
            max_x,
            max_y,
        })
    }
}

fn points_bbox(points: impl IntoIterator<Item = (f64, f64)>) -> Option<(f64, f64, f64, f64)> {
    let mut b: Option<(f64, f64, f64, f64)> = None;
    for (x, y) in points {
        if !(x.is_finite() && y.is_finite()) {
            continue;
        }
        b = Some(match b {
            None => (x, y, x, y),
            Some((a, c, d, e)) => (a.min(x), c.min(y), d.max(x), e.max(y)),
        });
    }
    b
}

/// Why a grid could not be built. The caller should report it as invalid input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GridError {
    /// The cell size must be a positive, finite number of metres.
    #[error("cell size must be a positive number of metres, got {0}")]
    InvalidCellSize(f64),
    /// A bounding box had non-finite or inverted coordinates.
    #[error("invalid bounding box {min_x},{min_y},{max_x},{max_y} (metres)")]
    InvalidBBox {
        min_x: f64,
        min_y: f64,
        max_x: f64,
        max_y: f64,
    },
    /// The grid would be too large; use a boundary or bbox, or a larger cell.
    #[error(
        "the study area needs {cols} x {rows} cells, more than the {max} allowed; \
         give a boundary or a bbox (a few far-away incidents may have stretched the area), \
         or a larger cell size"
    )]
    TooManyCells { cols: u64, rows: u64, max: usize },
    /// No incident to take a bounding box of; give a boundary or a bbox.
    #[error("no incidents to take a study area from; give a boundary or a bbox")]
    NoPoints,
    /// No cell centre lies inside the boundary (it may be in another CRS or too small).
    #[error(
        "no cell centre lies inside the boundary (is it in projected metres, and larger than a cell?)"
    )]
    EmptyStudyArea,
}

/// An aligned grid with a study-area mask. See the module docs.
///
/// ```
/// use planner::hotspots::grid::Grid;
/// let grid = Grid::from_bbox(50.0, 504_010.0, 220_990.0, 504_260.0, 221_020.0).unwrap();
/// assert_eq!((grid.ncols(), grid.nrows()), (6, 2));
/// let i = grid.locate(504_120.0, 221_001.0).unwrap();
/// assert_eq!(grid.id(i), "10082_4420");
/// assert_eq!(grid.centre(i), (504_125.0, 221_025.0));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    cell: f64,
    col0: i64,
    row0: i64,
    ncols: usize,
    nrows: usize,
    inside: Vec<bool>,
    n_inside: usize,
}

impl Grid {
    /// Every cell touched by the box `[min_x, max_x] x [min_y, max_y]` (metres).
    pub fn from_bbox(
        cell: f64,
        min_x: f64,
        min_y: f64,
        max_x: f64,
        max_y: f64,
    ) -> Result<Grid, GridError> {
        check_cell(cell)?;
        check_bbox(min_x, min_y, max_x, max_y)?;
        let mut grid = Grid::rectangle(cell, min_x, min_y, max_x, max_y)?;
        grid.inside.fill(true);
        grid.n_inside = grid.inside.len();
        Ok(grid)
    }

    /// Every cell touched by the bounding box of `points` (non-finite points are ignored).
    pub fn from_points(
        cell: f64,
        points: impl IntoIterator<Item = (f64, f64)>,
    ) -> Result<Grid, GridError> {
        check_cell(cell)?;
        let (min_x, min_y, max_x, max_y) = points_bbox(points).ok_or(GridError::NoPoints)?;
        Grid::from_bbox(cell, min_x, min_y, max_x, max_y)
    }

    /// The cells whose centre lies inside `boundary` (metres; holes excluded): the dense
    /// grid of [`CellArea::from_boundary`], in the rectangle around those cells.
    pub fn from_boundary(cell: f64, boundary: &MultiPolygon<f64>) -> Result<Grid, GridError> {
        check_cell(cell)?;
        Grid::from_area(&CellArea::from_boundary(cell, boundary))
    }

    /// Builds the grid for a [`StudyArea`]; `points` are only read for [`StudyArea::Points`].
    pub fn for_area(
        cell: f64,
        area: &StudyArea,
        points: impl IntoIterator<Item = (f64, f64)>,
    ) -> Result<Grid, GridError> {
        match area {
            StudyArea::Boundary(b) => Grid::from_boundary(cell, b),
            StudyArea::BBox {
                min_x,
                min_y,
                max_x,
                max_y,
            } => Grid::from_bbox(cell, *min_x, *min_y, *max_x, *max_y),
            StudyArea::Points => Grid::from_points(cell, points),
            StudyArea::Cells(_) => Grid::from_area(&area.cells(cell, points)?),
        }
    }

    /// The dense grid of a [`CellArea`]: the rectangle around its cells, with its cells as
    /// the mask (for the code that needs every cell: zones, backtests, `ensemble`).
    pub fn from_area(area: &CellArea) -> Result<Grid, GridError> {
        let cell = area.cell_size();
        check_cell(cell)?;
        let (c0, r0, c1, r1) = area.bounds().ok_or(GridError::EmptyStudyArea)?;
        let (cols, rows) = ((c1 - c0 + 1) as f64, (r1 - r0 + 1) as f64);
        if cols * rows > MAX_CELLS as f64 {
            return Err(GridError::TooManyCells {
                cols: cols as u64,
                rows: rows as u64,
                max: MAX_CELLS,
            });
        }
        let (ncols, nrows) = (cols as usize, rows as usize);
        let mut inside = vec![false; ncols * nrows];
        for run in area.runs() {
            let base = (run.row - r0) as usize * ncols;
            inside[base + (run.c0 - c0) as usize..base + (run.c1 - c0) as usize].fill(true);
        }
        Ok(Grid {
            cell,
            col0: c0,
            row0: r0,
            ncols,
            nrows,
            n_inside: area.len(),
            inside,
        })
    }

    /// The study-area cells as a sparse [`CellArea`].
    pub fn cell_area(&self) -> CellArea {
        CellArea::from_cells(self.cell, self.inside_cells().map(|i| self.col_row(i)))
    }

    /// The rectangle of cells touching the box, with an empty mask.
    fn rectangle(
        cell: f64,
        min_x: f64,
        min_y: f64,
        max_x: f64,
        max_y: f64,
    ) -> Result<Grid, GridError> {
        let c0 = (min_x / cell).floor();
        let r0 = (min_y / cell).floor();
        let cols = (max_x / cell).floor() - c0 + 1.0;
        let rows = (max_y / cell).floor() - r0 + 1.0;
        if cols * rows > MAX_CELLS as f64 {
            return Err(GridError::TooManyCells {
                cols: cols as u64,
                rows: rows as u64,
                max: MAX_CELLS,
            });
        }
        let (ncols, nrows) = (cols as usize, rows as usize);
        Ok(Grid {
            cell,
            col0: c0 as i64,
            row0: r0 as i64,
            ncols,
            nrows,
            inside: vec![false; ncols * nrows],
            n_inside: 0,
        })
    }

    /// Cell size in metres.
    pub fn cell_size(&self) -> f64 {
        self.cell
    }

    /// Columns of the rectangle.
    pub fn ncols(&self) -> usize {
        self.ncols
    }

    /// Rows of the rectangle.
    pub fn nrows(&self) -> usize {
        self.nrows
    }

    /// Cells in the rectangle (the length of every dense per-cell array).
    pub fn len(&self) -> usize {
        self.inside.len()
    }

    /// Never true: a grid has at least one cell.
    pub fn is_empty(&self) -> bool {
        self.inside.is_empty()
    }

    /// Cells in the study area: `n` of Gi*, the denominator of area shares.
    pub fn n_inside(&self) -> usize {
        self.n_inside
    }

    /// The study-area mask, indexed like every dense per-cell array.
    pub fn inside_mask(&self) -> &[bool] {
        &self.inside
    }

    pub fn is_inside(&self, index: usize) -> bool {
        self.inside.get(index).copied().unwrap_or(false)
    }

    /// Indices of the study-area cells, in row-major order.
    pub fn inside_cells(&self) -> impl Iterator<Item = usize> + '_ {
        self.inside
            .iter()
            .enumerate()
            .filter(|(_, b)| **b)
            .map(|(i, _)| i)
    }

    /// The absolute column and row of the grid's first cell.
    pub fn origin(&self) -> (i64, i64) {
        (self.col0, self.row0)
    }

    /// Local index of the absolute cell (`col`, `row`), if it is in the rectangle.
    pub fn index(&self, col: i64, row: i64) -> Option<usize> {
        let c = col.checked_sub(self.col0)?;
        let r = row.checked_sub(self.row0)?;
        if c < 0 || r < 0 || c >= self.ncols as i64 || r >= self.nrows as i64 {
            return None;
        }
        Some(r as usize * self.ncols + c as usize)
    }

    /// The study-area cell holding the point (metres), or `None` if it is outside.
    pub fn locate(&self, x: f64, y: f64) -> Option<usize> {
        if !(x.is_finite() && y.is_finite()) {
            return None;
        }
        let col = (x / self.cell).floor();
        let row = (y / self.cell).floor();
        if col.abs() > 1e15 || row.abs() > 1e15 {
            return None;
        }
        let i = self.index(col as i64, row as i64)?;
        self.inside[i].then_some(i)
    }

    /// Local (column, row) of an index: 0-based within the rectangle.
    pub fn local(&self, index: usize) -> (usize, usize) {
        (index % self.ncols, index / self.ncols)
    }

    /// Absolute (col, row) of an index, as in the cell id.
    pub fn col_row(&self, index: usize) -> (i64, i64) {
        let (c, r) = self.local(index);
        (self.col0 + c as i64, self.row0 + r as i64)
    }

    /// The projected centre of a cell.
    pub fn centre(&self, index: usize) -> (f64, f64) {
        let (col, row) = self.col_row(index);
        (
            (col as f64 + 0.5) * self.cell,
            (row as f64 + 0.5) * self.cell,
        )
    }

    /// The contract's cell id, `"{col}_{row}"`.
    pub fn id(&self, index: usize) -> String {
        let (col, row) = self.col_row(index);
        format!("{col}_{row}")
    }

    /// The cell as a square polygon in metres (counter-clockwise from the south-west corner).
    pub fn cell_polygon(&self, index: usize) -> Polygon<f64> {
        let (col, row) = self.col_row(index);
        let (x0, y0) = (col as f64 * self.cell, row as f64 * self.cell);
        let (x1, y1) = (x0 + self.cell, y0 + self.cell);
        Polygon::new(
            vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)].into(),
            vec![],
        )
    }
}

fn check_cell(cell: f64) -> Result<(), GridError> {
    if cell.is_finite() && cell > 0.0 {
        Ok(())
    } else {
        Err(GridError::InvalidCellSize(cell))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Contains, LineString, Point};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn ids_follow_the_contract_for_negative_and_positive_coordinates() {
        let g = Grid::from_bbox(50.0, -120.0, -20.0, 60.0, 40.0).unwrap();
        assert_eq!(g.origin(), (-3, -1));
        assert_eq!((g.ncols(), g.nrows()), (5, 2));
        let i = g.locate(-0.5, -0.5).unwrap();
        assert_eq!(g.id(i), "-1_-1");
        assert_eq!(g.centre(i), (-25.0, -25.0));
        let i = g.locate(50.0, 0.0).unwrap();
        assert_eq!(g.id(i), "1_0");
        assert_eq!(g.col_row(i), (1, 0));
        assert_eq!(g.index(1, 0), Some(i));
        assert_eq!(g.locate(60.1, 0.0).map(|i| g.id(i)), Some("1_0".into()));
        assert_eq!(g.locate(100.0, 0.0), None);
        assert_eq!(g.locate(f64::NAN, 0.0), None);
        assert_eq!(g.n_inside(), 10);
        let sq = g.cell_polygon(i);
        assert_eq!(sq.exterior().0[0], geo::coord! {x: 50.0, y: 0.0});
        assert_eq!(sq.exterior().0[2], geo::coord! {x: 100.0, y: 50.0});
    }

    #[test]
    fn grids_from_different_extents_share_ids() {
        let a = Grid::from_bbox(50.0, 504_003.0, 221_007.0, 505_000.0, 222_000.0).unwrap();
        let b = Grid::from_points(50.0, [(504_990.0, 221_999.0), (504_400.0, 221_200.0)]).unwrap();
        let p = (504_812.3, 221_640.9);
        let (ia, ib) = (a.locate(p.0, p.1).unwrap(), b.locate(p.0, p.1).unwrap());
        assert_eq!(a.id(ia), b.id(ib));
        assert_eq!(a.id(ia), "10096_4432");
        assert_eq!(a.centre(ia), b.centre(ib));
    }

    #[test]
    fn points_bbox_covers_every_point() {
        let pts = [(10.0, 10.0), (149.999, 30.0), (150.0, 99.0)];
        let g = Grid::from_points(50.0, pts).unwrap();
        assert_eq!((g.ncols(), g.nrows()), (4, 2));
        for (x, y) in pts {
            assert!(g.locate(x, y).is_some(), "{x},{y}");
        }
        assert_eq!(
            Grid::from_points(50.0, [(f64::NAN, 1.0)]),
            Err(GridError::NoPoints)
        );
        let one = Grid::from_points(50.0, [(75.0, 75.0)]).unwrap();
        assert_eq!(one.n_inside(), 1);
    }

    #[test]
    fn rejects_bad_inputs() {
        assert_eq!(
            Grid::from_bbox(0.0, 0.0, 0.0, 1.0, 1.0),
            Err(GridError::InvalidCellSize(0.0))
        );
        assert!(matches!(
            Grid::from_bbox(f64::NAN, 0.0, 0.0, 1.0, 1.0),
            Err(GridError::InvalidCellSize(_))
        ));
        assert!(matches!(
            Grid::from_bbox(50.0, 10.0, 0.0, 0.0, 1.0),
            Err(GridError::InvalidBBox { .. })
        ));
        let e = Grid::from_points(50.0, [(0.0, 0.0), (1_000_000.0, 1_000_000.0)]).unwrap_err();
        assert!(matches!(e, GridError::TooManyCells { .. }), "{e}");
        let tiny: MultiPolygon<f64> = Polygon::new(
            LineString::from(vec![(1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 1.0)]),
            vec![],
        )
        .into();
        assert_eq!(
            Grid::from_boundary(50.0, &tiny),
            Err(GridError::EmptyStudyArea)
        );
    }

    /// A star-shaped polygon with a hole, plus a second polygon: brute force with geo's
    /// point-in-polygon on every centre must give the same mask.
    #[test]
    fn boundary_mask_matches_point_in_polygon_brute_force() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (cx, cy) = (504_321.0, 221_987.0);
        let star: Vec<(f64, f64)> = (0..41)
            .map(|k| {
                let a = (k % 40) as f64 / 40.0 * std::f64::consts::TAU;
                let r = 900.0 + rng.random_range(0.0..700.0);
                (cx + r * a.cos(), cy + r * a.sin())
            })
            .collect();
        let mut star = star;
        star[40] = star[0];
        let hole: Vec<(f64, f64)> = [
            (-200.0, -200.0),
            (-200.0, 250.0),
            (230.0, 250.0),
            (230.0, -200.0),
            (-200.0, -200.0),
        ]
        .iter()
        .map(|(dx, dy)| (cx + dx, cy + dy))
        .collect();
        let island: Vec<(f64, f64)> =
            [(2500.0, 0.0), (3100.0, 0.0), (2800.0, 500.0), (2500.0, 0.0)]
                .iter()
                .map(|(dx, dy)| (cx + dx, cy + dy))
                .collect();
        let boundary = MultiPolygon::new(vec![
            Polygon::new(LineString::from(star), vec![LineString::from(hole)]),
            Polygon::new(LineString::from(island), vec![]),
        ]);
        let g = Grid::from_boundary(50.0, &boundary).unwrap();
        let mut n = 0;
        for i in 0..g.len() {
            let (x, y) = g.centre(i);
            let want = boundary.contains(&Point::new(x, y));
            assert_eq!(g.is_inside(i), want, "cell {}", g.id(i));
            n += want as usize;
        }
        assert_eq!(g.n_inside(), n);
        assert!(n > 1000, "{n}");
        // The hole's centre is not in the study area; points there are dropped.
        assert_eq!(g.locate(cx, cy), None);
        assert!(g.locate(cx + 600.0, cy).is_some());
    }
}
