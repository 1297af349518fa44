//! Step 5: a zone's outline, the exact union of its cells.
//!
//! The map, the officer's phone and the plan JSON all draw a zone as one shape, so the union
//! of its square cells is built here by **tracing the boundary of the cell set** on the
//! integer lattice of cell corners, which is exact (no floating-point overlay, no slivers)
//! and linear in the number of cells:
//!
//! 1. every cell edge with a member cell on one side and a non-member on the other becomes a
//!    directed edge with the member on its left;
//! 2. edges are chained into closed rings; where two member cells touch only at a corner
//!    (8-connectivity allows it) the trace turns left, hugging the member cell, so the two
//!    cells' outlines stay separate polygons that touch at that point;
//! 3. a ring that still visits a corner twice (a hole that touches the outside at a corner)
//!    is cut there into simple rings, so no ring touches itself;
//! 4. with the member on the left, counter-clockwise rings (positive area) are outer rings
//!    and clockwise rings are holes, exactly as RFC 7946 wants them once converted to
//!    WGS84; each hole goes to the smallest outer ring around it;
//! 5. corners where the boundary runs straight on are dropped, and lattice corners become
//!    projected metres (`col x cell`, `row x cell`).
//!
//! The result is a valid OGC multipolygon (polygons and holes may touch at single points,
//! never along an edge; no ring touches itself) whose area is exactly `cells x cell²`.
//! Polygons and holes come in the order of their lowest (south, then west) edge.

use crate::hotspots::grid::Grid;
use geo::{Coord, LineString, MultiPolygon, Polygon};
use std::collections::{HashMap, HashSet};

type Vertex = (i64, i64);
type Dir = (i64, i64);

/// The union of `cells` (dense grid indices) as a multipolygon in projected metres: outer
/// rings counter-clockwise, holes clockwise. Empty for no cells.
///
/// ```
/// use geo::{Area, Winding};
/// use planner::hotspots::grid::Grid;
/// use planner::zones::outline::outline;
/// let grid = Grid::from_bbox(50.0, 0.0, 0.0, 499.0, 499.0).unwrap();
/// let at = |c: i64, r: i64| grid.index(c, r).unwrap();
/// // An L of three cells: one polygon with six corners.
/// let shape = outline(&grid, &[at(0, 0), at(1, 0), at(0, 1)]);
/// assert_eq!(shape.0.len(), 1);
/// assert_eq!(shape.0[0].exterior().0.len(), 7); // closed ring: first corner repeated
/// assert!(shape.0[0].exterior().is_ccw());
/// assert_eq!(shape.unsigned_area(), 3.0 * 50.0 * 50.0);
/// ```
pub fn outline(grid: &Grid, cells: &[usize]) -> MultiPolygon<f64> {
    let members: HashSet<Vertex> = cells.iter().map(|&i| grid.col_row(i)).collect();
    let rings = trace(&members);
    let cell = grid.cell_size();
    let to_line = |ring: &[Vertex]| -> LineString<f64> {
        let mut coords: Vec<Coord<f64>> = simplify(ring)
            .iter()
            .map(|&(c, r)| Coord {
                x: c as f64 * cell,
                y: r as f64 * cell,
            })
            .collect();
        if let Some(&first) = coords.first() {
            coords.push(first);
        }
        LineString(coords)
    };
    let (shells, holes): (Vec<Vec<Vertex>>, Vec<Vec<Vertex>>) =
        rings.into_iter().partition(|r| twice_area(r) > 0);
    let mut hole_lists: Vec<Vec<LineString<f64>>> = vec![Vec::new(); shells.len()];
    for hole in &holes {
        let p = inside_point(hole);
        let owner = shells
            .iter()
            .enumerate()
            .filter(|(_, s)| contains(s, p))
            .min_by_key(|(k, s)| (twice_area(s), *k))
            .map(|(k, _)| k);
        if let Some(k) = owner {
            hole_lists[k].push(to_line(hole));
        }
    }
    MultiPolygon(
        shells
            .iter()
            .zip(hole_lists)
            .map(|(s, h)| Polygon::new(to_line(s), h))
            .collect(),
    )
}

/// The boundary rings of a set of lattice cells (see the module docs), each a list of
/// corners without the closing repeat, member cells on the left.
fn trace(members: &HashSet<Vertex>) -> Vec<Vec<Vertex>> {
    let has = |c: i64, r: i64| members.contains(&(c, r));
    let mut edges: Vec<(Vertex, Vertex)> = Vec::new();
    for &(c, r) in members {
        if !has(c, r - 1) {
            edges.push(((c, r), (c + 1, r)));
        }
        if !has(c + 1, r) {
            edges.push(((c + 1, r), (c + 1, r + 1)));
        }
        if !has(c, r + 1) {
            edges.push(((c + 1, r + 1), (c, r + 1)));
        }
        if !has(c - 1, r) {
            edges.push(((c, r + 1), (c, r)));
        }
    }
    // South first, then west: a deterministic order whatever the set's iteration order.
    edges.sort_unstable_by_key(|&((x0, y0), (x1, y1))| (y0, x0, y1, x1));
    let mut outgoing: HashMap<Vertex, Vec<usize>> = HashMap::new();
    for (k, &(from, _)) in edges.iter().enumerate() {
        outgoing.entry(from).or_default().push(k);
    }
    let mut used = vec![false; edges.len()];
    let mut rings = Vec::new();
    for start in 0..edges.len() {
        if used[start] {
            continue;
        }
        used[start] = true;
        let mut corners = vec![edges[start].0];
        let mut current = start;
        loop {
            let (from, to) = edges[current];
            let dir = (to.0 - from.0, to.1 - from.1);
            let Some(next) = turn(&edges, outgoing.get(&to), dir) else {
                break; // cannot happen: every corner has as many edges out as in
            };
            if next == start {
                break;
            }
            if used[next] {
                break; // cannot happen: the turn rule pairs edges one to one
            }
            used[next] = true;
            corners.push(to);
            current = next;
        }
        rings.extend(split_touching(corners));
    }
    rings
}

/// Of the edges leaving a corner, the one turning left from `dir`, else straight on, else
/// right: the trace hugs the member cells (see the module docs).
fn turn(edges: &[(Vertex, Vertex)], out: Option<&Vec<usize>>, dir: Dir) -> Option<usize> {
    let out = out?;
    let left = (-dir.1, dir.0);
    let right = (dir.1, -dir.0);
    [left, dir, right].into_iter().find_map(|want| {
        out.iter().copied().find(|&k| {
            let (from, to) = edges[k];
            (to.0 - from.0, to.1 - from.1) == want
        })
    })
}

/// Cuts a closed ring at every corner it visits twice into simple rings.
fn split_touching(corners: Vec<Vertex>) -> Vec<Vec<Vertex>> {
    let mut out = Vec::new();
    let mut path: Vec<Vertex> = Vec::with_capacity(corners.len());
    let mut at: HashMap<Vertex, usize> = HashMap::new();
    for v in corners {
        if let Some(&p) = at.get(&v) {
            let lp: Vec<Vertex> = path.drain(p..).collect();
            for u in &lp {
                at.remove(u);
            }
            out.push(lp);
        }
        at.insert(v, path.len());
        path.push(v);
    }
    out.push(path);
    out.retain(|r| r.len() >= 4);
    out
}

/// Twice the signed area (shoelace), exact: positive for counter-clockwise.
fn twice_area(ring: &[Vertex]) -> i128 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            i128::from(a.0) * i128::from(b.1) - i128::from(b.0) * i128::from(a.1)
        })
        .sum()
}

/// A point strictly inside a hole, in doubled lattice units: the centre of the cell on the
/// right of the hole's first edge (a non-member cell, since members are on the left).
fn inside_point(hole: &[Vertex]) -> (i64, i64) {
    let (a, b) = (hole[0], hole[1 % hole.len()]);
    let d = (b.0 - a.0, b.1 - a.1);
    (2 * a.0 + d.0 + d.1, 2 * a.1 + d.1 - d.0)
}

/// Even-odd test of a point in doubled lattice units (odd coordinates, so never on an edge)
/// against a lattice ring.
fn contains(ring: &[Vertex], p: (i64, i64)) -> bool {
    let n = ring.len();
    let mut inside = false;
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        if a.0 == b.0 {
            let (x, y0, y1) = (2 * a.0, 2 * a.1.min(b.1), 2 * a.1.max(b.1));
            if x > p.0 && y0 < p.1 && p.1 < y1 {
                inside = !inside;
            }
        }
    }
    inside
}

/// Drops corners where the ring runs straight on.
fn simplify(ring: &[Vertex]) -> Vec<Vertex> {
    let n = ring.len();
    (0..n)
        .filter(|&i| {
            let (p, v, q) = (ring[(i + n - 1) % n], ring[i], ring[(i + 1) % n]);
            (v.0 - p.0) * (q.1 - v.1) != (v.1 - p.1) * (q.0 - v.0)
        })
        .map(|i| ring[i])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{Area, BooleanOps, Contains, Point, Validation, Winding, unary_union};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn grid() -> Grid {
        Grid::from_bbox(50.0, 0.0, 0.0, 999.0, 999.0).unwrap()
    }

    fn cells(g: &Grid, cr: &[(i64, i64)]) -> Vec<usize> {
        cr.iter().map(|&(c, r)| g.index(c, r).unwrap()).collect()
    }

    /// Area, containment of every centre in and around the set, orientation and validity.
    fn check(g: &Grid, set: &[usize]) -> MultiPolygon<f64> {
        let shape = outline(g, set);
        let cell = g.cell_size();
        assert!(
            (shape.unsigned_area() - set.len() as f64 * cell * cell).abs() < 1e-6,
            "area {} for {} cells",
            shape.unsigned_area(),
            set.len()
        );
        assert!(
            (shape.signed_area() - shape.unsigned_area()).abs() < 1e-6,
            "positive signed area"
        );
        let members: HashSet<usize> = set.iter().copied().collect();
        for i in 0..g.len() {
            let (x, y) = g.centre(i);
            assert_eq!(
                shape.contains(&Point::new(x, y)),
                members.contains(&i),
                "cell {}",
                g.id(i)
            );
        }
        for p in &shape.0 {
            assert!(p.exterior().is_ccw(), "outer ring counter-clockwise");
            for h in p.interiors() {
                assert!(h.is_cw(), "holes clockwise");
            }
        }
        assert!(
            shape.is_valid(),
            "{:?}: {:?}",
            shape,
            shape.validation_errors()
        );
        shape
    }

    #[test]
    fn one_cell_is_its_square() {
        let g = grid();
        let i = g.index(3, 4).unwrap();
        let shape = check(&g, &[i]);
        assert_eq!(shape.0.len(), 1);
        let want: Vec<(f64, f64)> = vec![
            (150.0, 200.0),
            (200.0, 200.0),
            (200.0, 250.0),
            (150.0, 250.0),
            (150.0, 200.0),
        ];
        let got: Vec<(f64, f64)> = shape.0[0].exterior().coords().map(|c| (c.x, c.y)).collect();
        assert_eq!(got, want);
        assert!(outline(&g, &[]).0.is_empty());
    }

    #[test]
    fn diagonal_cells_are_two_polygons_touching_at_a_corner() {
        let g = grid();
        let shape = check(&g, &cells(&g, &[(1, 1), (2, 2)]));
        assert_eq!(shape.0.len(), 2);
        let shape = check(&g, &cells(&g, &[(2, 1), (1, 2)]));
        assert_eq!(shape.0.len(), 2);
    }

    #[test]
    fn a_ring_of_cells_has_a_hole() {
        let g = grid();
        let ring: Vec<(i64, i64)> = (0..3)
            .flat_map(|r| (0..3).map(move |c| (c, r)))
            .filter(|&p| p != (1, 1))
            .collect();
        let shape = check(&g, &cells(&g, &ring));
        assert_eq!(shape.0.len(), 1);
        assert_eq!(shape.0[0].interiors().len(), 1);
        assert_eq!(shape.0[0].exterior().0.len(), 5);
        // An island inside a hole inside a polygon.
        let mut nested: Vec<(i64, i64)> = (0..5)
            .flat_map(|r| (0..5).map(move |c| (c, r)))
            .filter(|&(c, r)| c == 0 || r == 0 || c == 4 || r == 4)
            .collect();
        nested.push((2, 2));
        let shape = check(&g, &cells(&g, &nested));
        assert_eq!(shape.0.len(), 2);
        assert_eq!(
            shape.0.iter().map(|p| p.interiors().len()).sum::<usize>(),
            1
        );
    }

    #[test]
    fn a_hole_touching_the_outside_at_a_corner_stays_valid() {
        let g = grid();
        // 3 x 3 without its centre and its north-east corner: the hole meets the outside at
        // the corner (2, 2); left-turn tracing alone would make one self-touching ring.
        let c: Vec<(i64, i64)> = (0..3)
            .flat_map(|r| (0..3).map(move |c| (c, r)))
            .filter(|&p| p != (1, 1) && p != (2, 2))
            .collect();
        let shape = check(&g, &cells(&g, &c));
        assert_eq!(shape.0.len(), 1);
        assert_eq!(shape.0[0].interiors().len(), 1);
    }

    /// Random cell sets against geo's own union of the squares (i_overlay) and the checks
    /// above.
    #[test]
    fn matches_unioned_squares_on_random_sets() {
        let g = Grid::from_bbox(50.0, 0.0, 0.0, 499.0, 499.0).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for round in 0..60 {
            let p = [0.2, 0.45, 0.6, 0.8][round % 4];
            let set: Vec<usize> = (0..g.len()).filter(|_| rng.random_bool(p)).collect();
            let shape = check(&g, &set);
            let squares: Vec<Polygon<f64>> = set.iter().map(|&i| g.cell_polygon(i)).collect();
            let union = unary_union(&squares);
            let sym = shape.xor(&union);
            assert!(sym.unsigned_area() < 1e-6, "round {round}");
            assert_eq!(outline(&g, &set), shape, "deterministic");
        }
    }
}
