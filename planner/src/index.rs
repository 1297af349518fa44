//! Spatial indexes (rstar R-trees in metres) over incidents and premises.
//!
//! Scoring asks "what is near here?" over and over: which incidents fall within a kernel's
//! bandwidth of a cell centre, which lie inside a patrol zone, which licensed premises is
//! nearest to an incident (venue risk attributes each incident within 50 m of a premises to
//! the nearest one). Scanning every record for each question is quadratic; a bulk-loaded
//! R-tree answers each in roughly logarithmic time plus the size of the answer.
//!
//! The index holds only what a query needs: projected coordinates in metres (easting,
//! northing; see [`crate::crs`]) and a `u32` id, which is the position of the record in the
//! caller's own `Vec`. The records stay where they are; queries return ids. That keeps a
//! million incidents to tens of megabytes (measured by `planner/benches/index.rs`).
//!
//! Every query is closed, so a point exactly on the edge of the query shape is in:
//! distances are compared as `dx² + dy² <= r²` in `f64`; a bounding box includes its edges
//! and corners; a polygon includes its boundary (outer ring and holes' rings) and excludes
//! the inside of its holes. Results come back in a deterministic order (ids ascending, or
//! distance then id), so that sums over them are reproducible to the last bit.

use crate::crs::Projected;
use geo::{BoundingRect, Coord, Intersects, Polygon};
use rstar::primitives::GeomWithData;
use rstar::{AABB, RTree};

/// One indexed point: `[easting, northing]` in metres and the caller's record id.
pub type IndexedPoint = GeomWithData<[f64; 2], u32>;

/// A bulk-loaded R-tree of points in a metric CRS, answering radius, box, polygon and
/// nearest-neighbour queries with record ids.
///
/// ```
/// use planner::index::PointIndex;
///
/// // Two incidents at the same snapped point and one 300 m east of it.
/// let index = PointIndex::new([(530_000.0, 180_000.0, 0), (530_000.0, 180_000.0, 1),
///                              (530_300.0, 180_000.0, 2)]);
/// assert_eq!(index.within_radius(530_000.0, 180_000.0, 300.0), vec![0, 1, 2]);
/// assert_eq!(index.nearest_within(530_290.0, 180_000.0, 50.0), Some((2, 10.0)));
/// assert_eq!(index.nearest(530_000.0, 180_000.0, 1), vec![(0, 0.0)]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct PointIndex {
    tree: RTree<IndexedPoint>,
}

impl PointIndex {
    /// Bulk-loads `(x, y, id)` points; points with a non-finite coordinate are left out.
    ///
    /// Ids are the caller's to choose (normally the record's position in its `Vec`) and
    /// need not be unique, though ties are only broken deterministically when they are.
    pub fn new(points: impl IntoIterator<Item = (f64, f64, u32)>) -> PointIndex {
        let points: Vec<IndexedPoint> = points
            .into_iter()
            .filter(|(x, y, _)| x.is_finite() && y.is_finite())
            .map(|(x, y, id)| IndexedPoint::new([x, y], id))
            .collect();
        PointIndex {
            tree: RTree::bulk_load(points),
        }
    }

    /// Bulk-loads projected points, giving each the id of its position in the sequence.
    ///
    /// # Panics
    ///
    /// If there are more than `u32::MAX + 1` points (hundreds of gigabytes of index).
    pub fn from_projected(points: impl IntoIterator<Item = Projected>) -> PointIndex {
        PointIndex::new(points.into_iter().enumerate().map(|(i, p)| {
            #[allow(clippy::expect_used)]
            let id = u32::try_from(i).expect("at most 2^32 points in one index");
            (p.x, p.y, id)
        }))
    }

    /// Number of points held.
    pub fn len(&self) -> usize {
        self.tree.size()
    }

    /// Whether no point is held.
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// The underlying R-tree, for queries this type does not wrap.
    pub fn as_rtree(&self) -> &RTree<IndexedPoint> {
        &self.tree
    }

    /// Ids of the points at distance `<= r` from `(x, y)`, ascending; none if `r` is
    /// negative or NaN.
    pub fn within_radius(&self, x: f64, y: f64, r: f64) -> Vec<u32> {
        if r.is_nan() || r < 0.0 {
            return Vec::new();
        }
        let mut ids: Vec<u32> = self
            .tree
            .locate_within_distance([x, y], r * r)
            .map(|p| p.data)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Ids of the points inside the box, edges included, ascending; the corners may be
    /// given in either order.
    pub fn in_bbox(&self, min_x: f64, min_y: f64, max_x: f64, max_y: f64) -> Vec<u32> {
        let envelope = AABB::from_corners([min_x, min_y], [max_x, max_y]);
        let mut ids: Vec<u32> = self
            .tree
            .locate_in_envelope(&envelope)
            .map(|p| p.data)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Ids of the points inside `polygon` or on its boundary, ascending; points strictly
    /// inside a hole are out, points on a hole's ring are in.
    ///
    /// The R-tree narrows the search to the polygon's bounding box; each candidate is then
    /// tested exactly (geo's robust predicates), at a cost proportional to the polygon's
    /// number of vertices.
    pub fn in_polygon(&self, polygon: &Polygon<f64>) -> Vec<u32> {
        let Some(rect) = polygon.bounding_rect() else {
            return Vec::new();
        };
        let envelope = AABB::from_corners(rect.min().into(), rect.max().into());
        let mut ids: Vec<u32> = self
            .tree
            .locate_in_envelope(&envelope)
            .filter(|p| {
                let [x, y] = *p.geom();
                polygon.intersects(&Coord { x, y })
            })
            .map(|p| p.data)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// The `k` points nearest to `(x, y)` as `(id, distance)`, by distance then id; fewer
    /// if the index holds fewer.
    pub fn nearest(&self, x: f64, y: f64, k: usize) -> Vec<(u32, f64)> {
        if k == 0 {
            return Vec::new();
        }
        let mut found: Vec<(f64, u32)> = Vec::with_capacity(k);
        for (p, d2) in self.tree.nearest_neighbor_iter_with_distance_2(&[x, y]) {
            // Past k, keep taking points tied with the k-th so the lowest ids win the tie.
            if found.len() >= k && found.last().is_some_and(|&(last, _)| d2 > last) {
                break;
            }
            found.push((d2, p.data));
        }
        found.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        found.truncate(k);
        found.into_iter().map(|(d2, id)| (id, d2.sqrt())).collect()
    }

    /// The point nearest to `(x, y)` at distance `<= max_dist`, as `(id, distance)`; the
    /// lowest id among equally near points.
    pub fn nearest_within(&self, x: f64, y: f64, max_dist: f64) -> Option<(u32, f64)> {
        if max_dist.is_nan() || max_dist < 0.0 {
            return None;
        }
        let max_d2 = max_dist * max_dist;
        let mut best: Option<(f64, u32)> = None;
        for (p, d2) in self.tree.nearest_neighbor_iter_with_distance_2(&[x, y]) {
            match best {
                None if d2 <= max_d2 => best = Some((d2, p.data)),
                Some((best_d2, best_id)) if d2 == best_d2 => {
                    best = Some((d2, best_id.min(p.data)));
                }
                _ => break,
            }
        }
        best.map(|(d2, id)| (id, d2.sqrt()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, polygon};
    use proptest::prelude::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// South-west corner of the test area: real British National Grid magnitudes, so the
    /// arithmetic is the arithmetic of production data.
    const X0: f64 = 500_000.0;
    const Y0: f64 = 200_000.0;
    /// A point police.uk would snap many incidents to.
    const HOT: (f64, f64) = (X0 + 500.0, Y0 + 500.0);

    /// Several thousand points over a 1 km square: uniform real coordinates, whole-metre
    /// coordinates (so that query edges are hit exactly), 400 copies of one snapped point
    /// and 100 of another, and points exactly 100 m, 5 m and 250 m from `HOT` along axes
    /// and Pythagorean triples.
    fn sample() -> Vec<(f64, f64, u32)> {
        let mut rng = ChaCha8Rng::seed_from_u64(27700);
        let mut xy: Vec<(f64, f64)> = Vec::new();
        for _ in 0..3000 {
            xy.push((
                X0 + rng.random_range(0.0..1000.0),
                Y0 + rng.random_range(0.0..1000.0),
            ));
        }
        for _ in 0..2000 {
            xy.push((
                X0 + f64::from(rng.random_range(0..=1000u32)),
                Y0 + f64::from(rng.random_range(0..=1000u32)),
            ));
        }
        xy.extend(std::iter::repeat_n(HOT, 400));
        xy.extend(std::iter::repeat_n((X0 + 250.0, Y0 + 750.0), 100));
        for r in [5.0, 100.0, 250.0] {
            let (a, b) = (3.0 * r / 5.0, 4.0 * r / 5.0); // a 3-4-5 triangle, exact in f64
            for (dx, dy) in [(r, 0.0), (-r, 0.0), (0.0, r), (0.0, -r), (a, b), (-b, a)] {
                xy.push((HOT.0 + dx, HOT.1 + dy));
            }
        }
        // Shuffle ids so that id order says nothing about position.
        let mut ids: Vec<u32> = (0..xy.len() as u32).collect();
        for i in (1..ids.len()).rev() {
            ids.swap(i, rng.random_range(0..=i));
        }
        xy.into_iter()
            .zip(ids)
            .map(|((x, y), id)| (x, y, id))
            .collect()
    }

    /// Query centres: random, whole-metre, on the snapped point, and outside the data.
    fn centres(rng: &mut ChaCha8Rng) -> Vec<(f64, f64)> {
        let mut c = vec![HOT, (X0 + 250.0, Y0 + 750.0), (X0 - 300.0, Y0 + 1500.0)];
        for _ in 0..40 {
            c.push((
                X0 + rng.random_range(-100.0..1100.0),
                Y0 + rng.random_range(-100.0..1100.0),
            ));
            c.push((
                X0 + f64::from(rng.random_range(0..=1000u32)),
                Y0 + f64::from(rng.random_range(0..=1000u32)),
            ));
        }
        c
    }

    fn d2(p: &(f64, f64, u32), x: f64, y: f64) -> f64 {
        let (dx, dy) = (p.0 - x, p.1 - y);
        dx * dx + dy * dy
    }

    fn brute_radius(points: &[(f64, f64, u32)], x: f64, y: f64, r: f64) -> Vec<u32> {
        let mut ids: Vec<u32> = points
            .iter()
            .filter(|p| d2(p, x, y) <= r * r)
            .map(|p| p.2)
            .collect();
        ids.sort_unstable();
        ids
    }

    fn brute_bbox(points: &[(f64, f64, u32)], x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<u32> {
        let mut ids: Vec<u32> = points
            .iter()
            .filter(|p| x0 <= p.0 && p.0 <= x1 && y0 <= p.1 && p.1 <= y1)
            .map(|p| p.2)
            .collect();
        ids.sort_unstable();
        ids
    }

    fn brute_nearest(points: &[(f64, f64, u32)], x: f64, y: f64, k: usize) -> Vec<(u32, f64)> {
        let mut all: Vec<(f64, u32)> = points.iter().map(|p| (d2(p, x, y), p.2)).collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        all.into_iter()
            .take(k)
            .map(|(d2, id)| (id, d2.sqrt()))
            .collect()
    }

    fn brute_nearest_within(
        points: &[(f64, f64, u32)],
        x: f64,
        y: f64,
        max: f64,
    ) -> Option<(u32, f64)> {
        points
            .iter()
            .map(|p| (d2(p, x, y), p.2))
            .filter(|&(d2, _)| d2 <= max * max)
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
            .map(|(d2, id)| (id, d2.sqrt()))
    }

    /// Where a point lies relative to one ring, written independently of geo: the
    /// winding number from orientation signs, and an exact on-segment test.
    #[derive(Debug, PartialEq)]
    enum Side {
        Inside,
        OnBoundary,
        Outside,
    }

    fn ring_side(ring: &LineString<f64>, x: f64, y: f64) -> Side {
        let mut winding = 0i32;
        for seg in ring.lines() {
            let (a, b) = (seg.start, seg.end);
            let cross = (b.x - a.x) * (y - a.y) - (x - a.x) * (b.y - a.y);
            let in_span =
                a.x.min(b.x) <= x && x <= a.x.max(b.x) && a.y.min(b.y) <= y && y <= a.y.max(b.y);
            if cross == 0.0 && in_span {
                return Side::OnBoundary;
            }
            if a.y <= y {
                if b.y > y && cross > 0.0 {
                    winding += 1;
                }
            } else if b.y <= y && cross < 0.0 {
                winding -= 1;
            }
        }
        if winding == 0 {
            Side::Outside
        } else {
            Side::Inside
        }
    }

    fn brute_polygon(points: &[(f64, f64, u32)], polygon: &Polygon<f64>) -> Vec<u32> {
        let mut ids: Vec<u32> = points
            .iter()
            .filter(|p| match ring_side(polygon.exterior(), p.0, p.1) {
                Side::Outside => false,
                Side::OnBoundary => true,
                Side::Inside => polygon
                    .interiors()
                    .iter()
                    .all(|hole| ring_side(hole, p.0, p.1) != Side::Inside),
            })
            .map(|p| p.2)
            .collect();
        ids.sort_unstable();
        ids
    }

    #[test]
    fn sample_has_duplicates_and_edge_points() {
        let points = sample();
        assert!(points.len() > 5000);
        let at_hot = points.iter().filter(|p| (p.0, p.1) == HOT).count();
        assert!(at_hot >= 400, "{at_hot} points at the snapped location");
        let mut ids: Vec<u32> = points.iter().map(|p| p.2).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), points.len(), "ids are unique");
    }

    #[test]
    fn bulk_load_keeps_every_finite_point() {
        let points = sample();
        let index = PointIndex::new(points.iter().copied());
        assert_eq!(index.len(), points.len());
        assert!(!index.is_empty());
        let mut held: Vec<u32> = index.as_rtree().iter().map(|p| p.data).collect();
        held.sort_unstable();
        let mut want: Vec<u32> = points.iter().map(|p| p.2).collect();
        want.sort_unstable();
        assert_eq!(held, want);
    }

    #[test]
    fn within_radius_matches_brute_force() {
        let points = sample();
        let index = PointIndex::new(points.iter().copied());
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut nonempty = 0;
        for (x, y) in centres(&mut rng) {
            for r in [0.0, 5.0, 50.0, 100.0, 200.0, 250.0, 333.3, 2000.0] {
                let want = brute_radius(&points, x, y, r);
                nonempty += usize::from(!want.is_empty());
                assert_eq!(index.within_radius(x, y, r), want, "({x}, {y}) r={r}");
            }
        }
        assert!(nonempty > 500, "queries must find something to compare");
    }

    #[test]
    fn within_radius_includes_points_exactly_on_the_circle() {
        let points = sample();
        let index = PointIndex::new(points.iter().copied());
        for r in [5.0, 100.0, 250.0] {
            let on_circle: Vec<u32> = points
                .iter()
                .filter(|p| d2(p, HOT.0, HOT.1) == r * r)
                .map(|p| p.2)
                .collect();
            assert!(on_circle.len() >= 6, "r={r}: {on_circle:?}");
            let found = index.within_radius(HOT.0, HOT.1, r);
            assert!(on_circle.iter().all(|id| found.contains(id)), "r={r}");
            // Just inside the circle, the ring of edge points is lost.
            let inside = index.within_radius(HOT.0, HOT.1, r - 1e-6);
            assert!(on_circle.iter().all(|id| !inside.contains(id)), "r={r}");
        }
        // Radius 0 finds exactly the points snapped to the centre.
        let snapped = index.within_radius(HOT.0, HOT.1, 0.0);
        assert_eq!(
            snapped.len(),
            points.iter().filter(|p| (p.0, p.1) == HOT).count()
        );
    }

    #[test]
    fn negative_or_nan_distances_find_nothing() {
        let index = PointIndex::new(sample());
        assert!(index.within_radius(HOT.0, HOT.1, -100.0).is_empty());
        assert!(index.within_radius(HOT.0, HOT.1, f64::NAN).is_empty());
        assert_eq!(index.nearest_within(HOT.0, HOT.1, -1.0), None);
        assert_eq!(index.nearest_within(HOT.0, HOT.1, f64::NAN), None);
    }

    #[test]
    fn in_bbox_matches_brute_force() {
        let points = sample();
        let index = PointIndex::new(points.iter().copied());
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for (x, y) in centres(&mut rng) {
            for (w, h) in [
                (0.0, 0.0),
                (10.0, 10.0),
                (100.0, 37.5),
                (250.0, 500.0),
                (3e3, 3e3),
            ] {
                let want = brute_bbox(&points, x, y, x + w, y + h);
                assert_eq!(
                    index.in_bbox(x, y, x + w, y + h),
                    want,
                    "({x}, {y}) {w}x{h}"
                );
                // Corners in the other order name the same box.
                assert_eq!(index.in_bbox(x + w, y + h, x, y), want);
            }
        }
    }

    #[test]
    fn in_bbox_includes_edges_and_corners() {
        let index = PointIndex::new([
            (10.0, 10.0, 0), // corner
            (20.0, 15.0, 1), // east edge
            (15.0, 10.0, 2), // south edge
            (15.0, 15.0, 3), // inside
            (20.000001, 15.0, 4),
            (15.0, 9.999999, 5),
        ]);
        assert_eq!(index.in_bbox(10.0, 10.0, 20.0, 20.0), vec![0, 1, 2, 3]);
        assert_eq!(index.in_bbox(10.0, 10.0, 10.0, 10.0), vec![0]);
    }

    /// Test polygons with whole-metre vertices, so many sample points lie exactly on them:
    /// a triangle, a concave L with a square hole, a rotated square, a sliver.
    fn test_polygons() -> Vec<Polygon<f64>> {
        let (x, y) = (X0, Y0);
        vec![
            polygon![(x: x + 100.0, y: y + 100.0), (x: x + 700.0, y: y + 150.0),
                     (x: x + 300.0, y: y + 900.0)],
            polygon!(
                exterior: [(x: x + 200.0, y: y + 200.0), (x: x + 800.0, y: y + 200.0),
                           (x: x + 800.0, y: y + 400.0), (x: x + 400.0, y: y + 400.0),
                           (x: x + 400.0, y: y + 800.0), (x: x + 200.0, y: y + 800.0)],
                interiors: [[(x: x + 250.0, y: y + 250.0), (x: x + 350.0, y: y + 250.0),
                             (x: x + 350.0, y: y + 350.0), (x: x + 250.0, y: y + 350.0)]],
            ),
            polygon![(x: HOT.0, y: HOT.1 - 250.0), (x: HOT.0 + 250.0, y: HOT.1),
                     (x: HOT.0, y: HOT.1 + 250.0), (x: HOT.0 - 250.0, y: HOT.1)],
            polygon![(x: x, y: y + 499.0), (x: x + 1000.0, y: y + 500.0),
                     (x: x + 1000.0, y: y + 501.0)],
            polygon!(
                exterior: [(x: HOT.0 - 100.0, y: HOT.1 - 100.0), (x: HOT.0 + 100.0, y: HOT.1 - 100.0),
                           (x: HOT.0 + 100.0, y: HOT.1 + 100.0), (x: HOT.0 - 100.0, y: HOT.1 + 100.0)],
                interiors: [[(x: HOT.0 - 10.0, y: HOT.1 - 10.0), (x: HOT.0 + 10.0, y: HOT.1 - 10.0),
                             (x: HOT.0 + 10.0, y: HOT.1 + 10.0), (x: HOT.0 - 10.0, y: HOT.1 + 10.0)]],
            ),
        ]
    }

    #[test]
    fn in_polygon_matches_brute_force() {
        let points = sample();
        let index = PointIndex::new(points.iter().copied());
        for polygon in test_polygons() {
            let want = brute_polygon(&points, &polygon);
            assert!(!want.is_empty());
            assert_eq!(index.in_polygon(&polygon), want, "{polygon:?}");
        }
    }

    #[test]
    fn in_polygon_counts_boundary_points_and_excludes_holes() {
        let square_with_hole = polygon!(
            exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0)],
            interiors: [[(x: 4.0, y: 4.0), (x: 6.0, y: 4.0), (x: 6.0, y: 6.0), (x: 4.0, y: 6.0)]],
        );
        let index = PointIndex::new([
            (0.0, 0.0, 0),  // outer vertex
            (10.0, 5.0, 1), // outer edge
            (2.0, 2.0, 2),  // inside
            (5.0, 5.0, 3),  // inside the hole: out
            (4.0, 5.0, 4),  // on the hole's ring: in
            (11.0, 5.0, 5), // outside, inside the bounding box's row
            (5.0, 5.0, 6),  // duplicate in the hole
            (2.0, 2.0, 7),  // duplicate inside
        ]);
        assert_eq!(index.in_polygon(&square_with_hole), vec![0, 1, 2, 4, 7]);
        assert!(index.in_polygon(&Polygon::empty()).is_empty());
    }

    #[test]
    fn nearest_matches_brute_force() {
        let points = sample();
        let index = PointIndex::new(points.iter().copied());
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (x, y) in centres(&mut rng) {
            for k in [0, 1, 2, 10, 100, 450] {
                let want = brute_nearest(&points, x, y, k);
                assert_eq!(want.len(), k);
                assert_eq!(index.nearest(x, y, k), want, "({x}, {y}) k={k}");
            }
        }
    }

    #[test]
    fn nearest_breaks_ties_by_lowest_id() {
        let points = sample();
        let index = PointIndex::new(points.iter().copied());
        let mut snapped: Vec<u32> = points
            .iter()
            .filter(|p| (p.0, p.1) == HOT)
            .map(|p| p.2)
            .collect();
        snapped.sort_unstable();
        let got = index.nearest(HOT.0, HOT.1, 3);
        assert_eq!(
            got,
            vec![(snapped[0], 0.0), (snapped[1], 0.0), (snapped[2], 0.0)]
        );
        assert_eq!(
            index.nearest_within(HOT.0, HOT.1, 0.0),
            Some((snapped[0], 0.0))
        );
    }

    #[test]
    fn nearest_with_k_beyond_len_returns_every_point_in_order() {
        let points = sample();
        let index = PointIndex::new(points.iter().copied());
        let got = index.nearest(X0 - 50.0, Y0 + 20.0, points.len() + 10);
        assert_eq!(got.len(), points.len());
        assert_eq!(
            got,
            brute_nearest(&points, X0 - 50.0, Y0 + 20.0, points.len())
        );
        assert!(got.windows(2).all(|w| w[0].1 <= w[1].1));
    }

    #[test]
    fn nearest_distances_are_euclidean_metres() {
        let index = PointIndex::new([(X0 + 30.0, Y0 + 40.0, 7), (X0 + 1.5, Y0 - 2.0, 8)]);
        let got = index.nearest(X0, Y0, 2);
        assert_eq!(got[0].0, 8);
        approx::assert_relative_eq!(got[0].1, 2.5);
        assert_eq!(got[1].0, 7);
        approx::assert_relative_eq!(got[1].1, 50.0);
    }

    #[test]
    fn nearest_within_matches_brute_force() {
        let points = sample();
        let index = PointIndex::new(points.iter().copied());
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let mut found = 0;
        for (x, y) in centres(&mut rng) {
            for max in [0.0, 1.0, 5.0, 20.0, 50.0, 100.0, 1e4] {
                let want = brute_nearest_within(&points, x, y, max);
                found += usize::from(want.is_some());
                assert_eq!(
                    index.nearest_within(x, y, max),
                    want,
                    "({x}, {y}) max={max}"
                );
            }
        }
        assert!(found > 200);
    }

    #[test]
    fn nearest_within_includes_the_limit_and_ties_go_to_the_lowest_id() {
        // Two premises in one building (same point) and one exactly 50 m away.
        let premises = PointIndex::new([(X0, Y0, 9), (X0, Y0, 4), (X0 + 50.0, Y0, 1)]);
        assert_eq!(
            premises.nearest_within(X0 + 100.0, Y0, 50.0),
            Some((1, 50.0))
        );
        assert_eq!(premises.nearest_within(X0 + 100.0, Y0, 49.999), None);
        assert_eq!(
            premises.nearest_within(X0 - 30.0, Y0 + 40.0, 50.0),
            Some((4, 50.0))
        );
        // Equidistant from a distinct point and the shared one: lowest id of all three.
        assert_eq!(
            premises.nearest_within(X0 + 25.0, Y0, 50.0),
            Some((1, 25.0))
        );
    }

    #[test]
    fn empty_index_answers_nothing() {
        let index = PointIndex::new(std::iter::empty());
        assert!(index.is_empty());
        assert_eq!(index.len(), 0);
        assert!(index.within_radius(X0, Y0, 1e9).is_empty());
        assert!(
            index
                .in_bbox(f64::MIN, f64::MIN, f64::MAX, f64::MAX)
                .is_empty()
        );
        assert!(index.in_polygon(&test_polygons()[0]).is_empty());
        assert!(index.nearest(X0, Y0, 5).is_empty());
        assert_eq!(index.nearest_within(X0, Y0, 1e9), None);
        assert!(PointIndex::default().is_empty());
    }

    #[test]
    fn non_finite_points_are_left_out() {
        let index = PointIndex::new([
            (f64::NAN, Y0, 0),
            (X0, f64::INFINITY, 1),
            (X0, Y0, 2),
            (f64::NEG_INFINITY, f64::NAN, 3),
        ]);
        assert_eq!(index.len(), 1);
        assert_eq!(index.nearest(X0, Y0, 10), vec![(2, 0.0)]);
        assert_eq!(
            index.in_bbox(f64::MIN, f64::MIN, f64::MAX, f64::MAX),
            vec![2]
        );
    }

    #[test]
    fn from_projected_numbers_points_in_order() {
        let index = PointIndex::from_projected([
            Projected { x: X0, y: Y0 },
            Projected {
                x: X0 + 10.0,
                y: Y0,
            },
            Projected { x: X0, y: Y0 },
        ]);
        assert_eq!(index.within_radius(X0, Y0, 0.0), vec![0, 2]);
        assert_eq!(index.nearest(X0 + 9.0, Y0, 1), vec![(1, 1.0)]);
    }

    /// Points on a small whole-metre grid, so duplicates and exact edge hits are common.
    fn grid_points() -> impl Strategy<Value = Vec<(f64, f64, u32)>> {
        prop::collection::vec((0u8..40, 0u8..40), 0..300).prop_map(|v| {
            v.into_iter()
                .zip(0u32..)
                .map(|((x, y), id)| (X0 + f64::from(x), Y0 + f64::from(y), id))
                .collect()
        })
    }

    proptest! {
        #[test]
        fn prop_radius_and_nearest_match_brute_force(
            points in grid_points(),
            x in 0u8..40, y in 0u8..40, r in 0u8..20, k in 0usize..20,
        ) {
            let (x, y, r) = (X0 + f64::from(x), Y0 + f64::from(y), f64::from(r));
            let index = PointIndex::new(points.iter().copied());
            prop_assert_eq!(index.within_radius(x, y, r), brute_radius(&points, x, y, r));
            prop_assert_eq!(index.nearest(x, y, k), brute_nearest(&points, x, y, k));
            prop_assert_eq!(index.nearest_within(x, y, r), brute_nearest_within(&points, x, y, r));
        }

        #[test]
        fn prop_bbox_and_polygon_match_brute_force(
            points in grid_points(),
            x0 in 0u8..40, y0 in 0u8..40, w in 0u8..20, h in 0u8..20,
        ) {
            let (x0, y0) = (X0 + f64::from(x0), Y0 + f64::from(y0));
            let (x1, y1) = (x0 + f64::from(w), y0 + f64::from(h));
            let index = PointIndex::new(points.iter().copied());
            prop_assert_eq!(index.in_bbox(x0, y0, x1, y1), brute_bbox(&points, x0, y0, x1, y1));
            // A triangle over the box: its sloping edge passes through grid points.
            let triangle = polygon![(x: x0, y: y0), (x: x1 + 1.0, y: y0), (x: x0, y: y1 + 1.0)];
            prop_assert_eq!(index.in_polygon(&triangle), brute_polygon(&points, &triangle));
        }
    }
}
