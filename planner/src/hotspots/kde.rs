//! Kernel density estimation with the quartic (biweight) kernel, at cell centres.
//!
//! Counts per 50 m cell are noisy: a fight recorded on one side of a street lands in a
//! different cell from one on the other side. KDE spreads each incident's weight over a disc
//! of radius h so that a cluster reads as one hotspot. The quartic kernel (DESIGN.md),
//!
//! ```text
//! K(d) = 3 / (pi h^2) (1 - d^2/h^2)^2   for d < h, else 0,
//! ```
//!
//! integrates to 1 over the plane, so a cell's value is a density: harm-and-recency weight per
//! square metre. It is what ArcGIS's Kernel Density and most crime-mapping tools use, so
//! analysts recognise the maps.
//!
//! The value at a centre is the exact sum over incidents at their true positions (no binning
//! approximation); the gather in `bins.rs` makes that fast: about 50 kernel evaluations per
//! incident at h = 200 m on a 50 m grid, spread over the available cores.

use super::bins::{Bins, gather};
use super::grid::Grid;
use super::weights::WeightedPoint;

/// The quartic kernel at squared distance `d2` for bandwidth `h`.
///
/// ```
/// use planner::hotspots::kde::quartic;
/// let h = 200.0;
/// assert_eq!(quartic(0.0, h), 3.0 / (std::f64::consts::PI * h * h));
/// assert_eq!(quartic(h * h, h), 0.0);
/// ```
pub fn quartic(d2: f64, h: f64) -> f64 {
    let h2 = h * h;
    if d2 >= h2 {
        return 0.0;
    }
    let t = 1.0 - d2 / h2;
    3.0 / (std::f64::consts::PI * h2) * t * t
}

/// Density of harm x recency weight (per m²) at every study-area cell centre; 0 elsewhere.
pub fn kde(grid: &Grid, points: &[WeightedPoint], bandwidth: f64) -> Vec<f64> {
    let bins = Bins::new(grid, points, |p| Some(p.weight()));
    let h2 = bandwidth * bandwidth;
    let norm = 3.0 / (std::f64::consts::PI * h2);
    gather(grid, &bins, bandwidth, move |d2| {
        let t = 1.0 - d2 / h2;
        norm * t * t
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use geo::{LineString, MultiPolygon, Polygon};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn wp(grid: &Grid, x: f64, y: f64, w: f64) -> Option<WeightedPoint> {
        Some(WeightedPoint {
            x,
            y,
            cell: grid.locate(x, y)?,
            harm: w,
            recency: 1.0,
            age_days: 0.0,
            instant: None,
        })
    }

    /// Brute force: every cell, every point, the textbook formula.
    fn brute(grid: &Grid, pts: &[WeightedPoint], h: f64) -> Vec<f64> {
        (0..grid.len())
            .map(|i| {
                if !grid.is_inside(i) {
                    return 0.0;
                }
                let (cx, cy) = grid.centre(i);
                pts.iter()
                    .map(|p| {
                        let d = ((p.x - cx).powi(2) + (p.y - cy).powi(2)).sqrt();
                        if d < h {
                            p.weight() * 3.0 / (std::f64::consts::PI * h * h)
                                * (1.0 - (d / h).powi(2)).powi(2)
                        } else {
                            0.0
                        }
                    })
                    .sum()
            })
            .collect()
    }

    fn assert_close(a: &[f64], b: &[f64]) {
        assert_eq!(a.len(), b.len());
        let scale = b.iter().cloned().fold(0.0, f64::max).max(1e-300);
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!((x - y).abs() <= 1e-12 * scale, "cell {i}: {x} vs {y}");
        }
    }

    #[test]
    fn matches_brute_force_on_random_clustered_points() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let grid = Grid::from_bbox(50.0, 503_000.0, 220_000.0, 505_000.0, 221_500.0).unwrap();
        let mut pts = Vec::new();
        for _ in 0..4000 {
            let (x, y) = if rng.random_bool(0.5) {
                (
                    504_100.0 + rng.random_range(-150.0..150.0),
                    220_700.0 + rng.random_range(-150.0..150.0),
                )
            } else {
                (
                    rng.random_range(503_000.0..505_000.0),
                    rng.random_range(220_000.0..221_500.0),
                )
            };
            if let Some(p) = wp(&grid, x, y, rng.random_range(0.5..40.0)) {
                pts.push(p);
            }
        }
        for h in [30.0, 200.0, 333.3] {
            assert_close(&kde(&grid, &pts, h), &brute(&grid, &pts, h));
        }
    }

    #[test]
    fn masked_cells_stay_zero_and_match_brute_force() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let tri: MultiPolygon<f64> = Polygon::new(
            LineString::from(vec![(0.0, 0.0), (2000.0, 0.0), (0.0, 1500.0), (0.0, 0.0)]),
            vec![],
        )
        .into();
        let grid = Grid::from_boundary(50.0, &tri).unwrap();
        let pts: Vec<WeightedPoint> = (0..2000)
            .filter_map(|_| {
                wp(
                    &grid,
                    rng.random_range(0.0..2000.0),
                    rng.random_range(0.0..1500.0),
                    1.0,
                )
            })
            .collect();
        let got = kde(&grid, &pts, 200.0);
        assert_close(&got, &brute(&grid, &pts, 200.0));
        for (i, v) in got.iter().enumerate() {
            if !grid.is_inside(i) {
                assert_eq!(*v, 0.0);
            }
        }
    }

    #[test]
    fn hand_checked_cases() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 999.0, 999.0).unwrap();
        assert!(kde(&grid, &[], 200.0).iter().all(|v| *v == 0.0));
        // One incident of weight 2 at the centre of cell 5_5 (275, 275).
        let one = [wp(&grid, 275.0, 275.0, 2.0).unwrap()];
        let k = kde(&grid, &one, 200.0);
        let at = |c, r| k[grid.index(c, r).unwrap()];
        let k0 = 3.0 / (std::f64::consts::PI * 40_000.0);
        assert_relative_eq!(at(5, 5), 2.0 * k0, max_relative = 1e-15);
        // 100 m away: (1 - 1/4)^2 = 9/16.
        assert_relative_eq!(at(7, 5), 2.0 * k0 * 9.0 / 16.0, max_relative = 1e-15);
        // 150 m: (1 - 9/16)^2 = 49/256; 200 m (exactly h): 0.
        assert_relative_eq!(at(5, 8), 2.0 * k0 * 49.0 / 256.0, max_relative = 1e-15);
        assert_eq!(at(9, 5), 0.0);
        // The densities integrate (approximately, on a 50 m grid) to the weight.
        let total: f64 = k.iter().sum::<f64>() * 2500.0;
        assert_relative_eq!(total, 2.0, max_relative = 0.01);
        // Ten incidents in one spot weigh ten times one.
        let ten: Vec<WeightedPoint> = (0..10).map(|_| one[0]).collect();
        let k10 = kde(&grid, &ten, 200.0);
        for (a, b) in k10.iter().zip(&k) {
            assert_relative_eq!(*a, 10.0 * b, max_relative = 1e-14);
        }
    }
}
