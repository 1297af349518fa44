//! Getis-Ord Gi*: where high values cluster more than chance allows.
//!
//! A cell with a high weight may be a fluke; a cell whose whole neighbourhood is high is a
//! hotspot analysts can defend. Gi* (Getis and Ord 1992; Ord and Getis 1995) compares the sum
//! of weights in each neighbourhood with what the study area's mean and spread would give,
//! as a z-score. With x the cell weights (harm x recency, zeros included), `w_ij = 1` for the
//! cells whose centres lie within distance D of cell i's centre (i itself included), n the
//! number of study-area cells, X the mean and `S = sqrt(sum x^2 / n - X^2)`:
//!
//! ```text
//! Gi* = (sum_j w_ij x_j - X sum_j w_ij) / (S sqrt((n sum_j w_ij^2 - (sum_j w_ij)^2) / (n - 1)))
//! ```
//!
//! Only study-area cells are neighbours (cells outside the boundary are not part of the
//! sample). Neighbourhood sums use per-row prefix sums over a disc of row runs, so each cell
//! costs O(D / cell) whatever the data.
//!
//! p is two-sided from the normal distribution ([`super::normal`]); q is the
//! Benjamini-Hochberg adjustment of all study-area p-values ([`super::fdr`]); the class comes
//! from q (below 0.01, 0.05, 0.10 for 99, 95, 90 %) and the sign of z.
//!
//! Degenerate cases give z = 0 (p = 1, class `none`) instead of dividing by zero: all values
//! equal (S = 0, including no incidents at all), fewer than two cells, or a neighbourhood
//! that covers the whole study area.

use super::fdr::p_adjust_bh;
use super::grid::Grid;
use super::normal::two_sided_p;
use std::fmt;

/// Hot- and cold-spot classes as analysts know them (ArcGIS's "Hot Spot - 99% Confidence"…).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HotspotClass {
    Hot99,
    Hot95,
    Hot90,
    None,
    Cold90,
    Cold95,
    Cold99,
}

impl HotspotClass {
    /// From the adjusted p (q) and the sign of z: q < 0.01, < 0.05, < 0.10 give 99, 95, 90 %.
    pub fn from_z_q(z: f64, q: f64) -> HotspotClass {
        let level = if q < 0.01 {
            3
        } else if q < 0.05 {
            2
        } else if q < 0.10 {
            1
        } else {
            0
        };
        match (level, z > 0.0, z < 0.0) {
            (3, true, _) => HotspotClass::Hot99,
            (2, true, _) => HotspotClass::Hot95,
            (1, true, _) => HotspotClass::Hot90,
            (3, _, true) => HotspotClass::Cold99,
            (2, _, true) => HotspotClass::Cold95,
            (1, _, true) => HotspotClass::Cold90,
            _ => HotspotClass::None,
        }
    }

    /// The contract's name: `hot-99` … `none` … `cold-99`.
    pub fn as_str(self) -> &'static str {
        match self {
            HotspotClass::Hot99 => "hot-99",
            HotspotClass::Hot95 => "hot-95",
            HotspotClass::Hot90 => "hot-90",
            HotspotClass::None => "none",
            HotspotClass::Cold90 => "cold-90",
            HotspotClass::Cold95 => "cold-95",
            HotspotClass::Cold99 => "cold-99",
        }
    }
}

impl fmt::Display for HotspotClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Gi* over the grid, dense (cells outside the study area: z = 0, p = q = 1).
#[derive(Debug, Clone, PartialEq)]
pub struct GiStarField {
    pub z: Vec<f64>,
    pub p: Vec<f64>,
    pub q: Vec<f64>,
}

impl GiStarField {
    /// The class of cell `i`.
    pub fn class(&self, i: usize) -> HotspotClass {
        HotspotClass::from_z_q(self.z[i], self.q[i])
    }
}

/// Gi* of cell values `x` (dense, indexed like `grid`; values outside the study area are
/// ignored) with binary neighbours within `distance` metres.
pub fn gi_star(grid: &Grid, x: &[f64], distance: f64) -> GiStarField {
    let len = grid.len();
    let mut field = GiStarField {
        z: vec![0.0; len],
        p: vec![1.0; len],
        q: vec![1.0; len],
    };
    let n = grid.n_inside();
    if n < 2 {
        return field;
    }
    let mask = grid.inside_mask();
    let nf = n as f64;
    let inside = || grid.inside_cells().map(|i| x[i]);
    let mean = inside().sum::<f64>() / nf;
    let s = (inside().map(|v| (v - mean) * (v - mean)).sum::<f64>() / nf).sqrt();
    let (lo, hi) = inside().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    let scale = lo.abs().max(hi.abs());
    if lo == hi || s.is_nan() || s <= 1e-14 * scale {
        return field;
    }

    // Row prefix sums of x and of the mask (study-area cells only).
    let (ncols, nrows) = (grid.ncols(), grid.nrows());
    let w = ncols + 1;
    let mut px = vec![0.0; nrows * w];
    let mut pm = vec![0u32; nrows * w];
    for r in 0..nrows {
        for c in 0..ncols {
            let i = r * ncols + c;
            let (v, m) = if mask[i] { (x[i], 1) } else { (0.0, 0) };
            px[r * w + c + 1] = px[r * w + c] + v;
            pm[r * w + c + 1] = pm[r * w + c] + m;
        }
    }
    let spans = super::area::centre_disc(grid.cell_size(), distance);
    for i in grid.inside_cells() {
        let (c, r) = ((i % ncols) as i64, (i / ncols) as i64);
        let mut sum = 0.0;
        let mut count = 0u32;
        for &(dr, half) in &spans {
            let rr = r + dr;
            if rr < 0 || rr >= nrows as i64 {
                continue;
            }
            let a = (c - half).max(0) as usize;
            let b = ((c + half).min(ncols as i64 - 1) + 1) as usize;
            let base = rr as usize * w;
            sum += px[base + b] - px[base + a];
            count += pm[base + b] - pm[base + a];
        }
        let wsum = count as f64;
        let var = (nf * wsum - wsum * wsum) / (nf - 1.0);
        if var > 0.0 {
            field.z[i] = (sum - mean * wsum) / (s * var.sqrt());
        }
    }

    let cells: Vec<usize> = grid.inside_cells().collect();
    let p: Vec<f64> = cells.iter().map(|&i| two_sided_p(field.z[i])).collect();
    let q = p_adjust_bh(&p);
    for (k, &i) in cells.iter().enumerate() {
        field.p[i] = p[k];
        field.q[i] = q[k];
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotspots::normal::erfc;
    use geo::{LineString, MultiPolygon, Polygon};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// The textbook Gi*, naively: every pair of study-area cells, S from sum x^2 / n - X^2.
    fn naive(grid: &Grid, x: &[f64], d: f64) -> Vec<f64> {
        let cells: Vec<usize> = grid.inside_cells().collect();
        let n = cells.len() as f64;
        let mean = cells.iter().map(|&i| x[i]).sum::<f64>() / n;
        let s = (cells.iter().map(|&i| x[i] * x[i]).sum::<f64>() / n - mean * mean).sqrt();
        let mut z = vec![0.0; grid.len()];
        for &i in &cells {
            let (xi, yi) = grid.centre(i);
            let (mut wx, mut w, mut w2) = (0.0, 0.0, 0.0);
            for &j in &cells {
                let (xj, yj) = grid.centre(j);
                let wij = if ((xi - xj).powi(2) + (yi - yj).powi(2)).sqrt() <= d {
                    1.0
                } else {
                    0.0
                };
                wx += wij * x[j];
                w += wij;
                w2 += wij * wij;
            }
            z[i] = (wx - mean * w) / (s * ((n * w2 - w * w) / (n - 1.0)).sqrt());
        }
        z
    }

    /// Realistic weights: mostly empty cells, a few busy streets, harm-weighted.
    fn realistic(grid: &Grid, rng: &mut ChaCha8Rng) -> Vec<f64> {
        let harms = [1.0, 2.0, 5.0, 30.0, 40.0, 100.0];
        let mut x = vec![0.0; grid.len()];
        let centres = [(0.3, 0.4), (0.7, 0.6), (0.5, 0.2)];
        for (i, xi) in x.iter_mut().enumerate() {
            let (c, r) = grid.local(i);
            let (u, v) = (
                c as f64 / grid.ncols() as f64,
                r as f64 / grid.nrows() as f64,
            );
            let near = centres
                .iter()
                .map(|(a, b)| ((u - a).powi(2) + (v - b).powi(2)).sqrt())
                .fold(f64::INFINITY, f64::min);
            let incidents = if rng.random_bool((0.9 - 6.0 * near).clamp(0.05, 0.9)) {
                rng.random_range(1..8)
            } else {
                0
            };
            for _ in 0..incidents {
                *xi += harms[rng.random_range(0..harms.len())] * rng.random_range(0.3..1.0);
            }
        }
        x
    }

    #[test]
    fn z_matches_the_textbook_formula_on_a_few_thousand_cells() {
        let mut rng = ChaCha8Rng::seed_from_u64(23);
        // A 70 x 55 grid (3,850 cells) over real-looking BNG coordinates.
        let grid = Grid::from_bbox(50.0, 503_000.0, 220_000.0, 506_499.0, 222_749.0).unwrap();
        assert_eq!(grid.n_inside(), 70 * 55);
        let x = realistic(&grid, &mut rng);
        for d in [160.0, 150.0, 35.0, 420.0] {
            let got = gi_star(&grid, &x, d);
            let want = naive(&grid, &x, d);
            for (i, (g, w)) in got.z.iter().zip(&want).enumerate() {
                assert!(
                    (g - w).abs() < 1e-9,
                    "D {d} cell {}: {g} vs {w}",
                    grid.id(i)
                );
            }
        }
    }

    #[test]
    fn a_boundary_limits_neighbours_and_n() {
        let mut rng = ChaCha8Rng::seed_from_u64(29);
        let shape: MultiPolygon<f64> = Polygon::new(
            LineString::from(vec![
                (0.0, 0.0),
                (3000.0, 200.0),
                (2600.0, 2500.0),
                (1200.0, 1400.0),
                (300.0, 2700.0),
                (0.0, 0.0),
            ]),
            vec![],
        )
        .into();
        let grid = Grid::from_boundary(50.0, &shape).unwrap();
        assert!(grid.n_inside() > 1000 && grid.n_inside() < grid.len());
        let mut x = realistic(&grid, &mut rng);
        // Values outside the boundary must be ignored.
        for (i, xi) in x.iter_mut().enumerate() {
            if !grid.is_inside(i) {
                *xi = 1e6;
            }
        }
        let got = gi_star(&grid, &x, 180.0);
        let want = naive(&grid, &x, 180.0);
        for i in grid.inside_cells() {
            assert!((got.z[i] - want[i]).abs() < 1e-9, "{}", grid.id(i));
        }
        for i in 0..grid.len() {
            if !grid.is_inside(i) {
                assert_eq!((got.z[i], got.p[i], got.q[i]), (0.0, 1.0, 1.0));
            }
        }
    }

    #[test]
    fn p_q_and_classes_follow_from_z() {
        let mut rng = ChaCha8Rng::seed_from_u64(31);
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 1999.0, 1499.0).unwrap();
        let x = realistic(&grid, &mut rng);
        let g = gi_star(&grid, &x, 200.0);
        let cells: Vec<usize> = grid.inside_cells().collect();
        // p: two-sided normal, from erfc directly.
        for &i in &cells {
            let want = erfc(g.z[i].abs() / std::f64::consts::SQRT_2);
            assert!(
                (g.p[i] - want).abs() <= 1e-15 * want.max(1e-300),
                "{}",
                grid.id(i)
            );
        }
        // q: the BH definition, by brute force over ranks.
        let mut sorted: Vec<f64> = cells.iter().map(|&i| g.p[i]).collect();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len() as f64;
        // suffix minimum of n p_(k) / k over the sorted p-values.
        let mut suffix = vec![f64::INFINITY; sorted.len() + 1];
        for k in (0..sorted.len()).rev() {
            let rank = sorted.partition_point(|&v| v <= sorted[k]) as f64;
            suffix[k] = suffix[k + 1].min((n * sorted[k] / rank).min(1.0));
        }
        for &i in &cells {
            let first = sorted.partition_point(|&v| v < g.p[i]);
            let want = suffix[first];
            assert!((g.q[i] - want).abs() <= 1e-12 * want, "{}", grid.id(i));
        }
        // Classes.
        let mut seen = std::collections::HashSet::new();
        for &i in &cells {
            let c = g.class(i);
            seen.insert(c);
            let (z, q) = (g.z[i], g.q[i]);
            let want = match () {
                _ if q >= 0.10 || z == 0.0 => HotspotClass::None,
                _ if z > 0.0 && q < 0.01 => HotspotClass::Hot99,
                _ if z > 0.0 && q < 0.05 => HotspotClass::Hot95,
                _ if z > 0.0 => HotspotClass::Hot90,
                _ if q < 0.01 => HotspotClass::Cold99,
                _ if q < 0.05 => HotspotClass::Cold95,
                _ => HotspotClass::Cold90,
            };
            assert_eq!(c, want);
        }
        assert!(seen.contains(&HotspotClass::Hot99) && seen.contains(&HotspotClass::None));
    }

    #[test]
    fn degenerate_inputs_give_z_zero() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 499.0, 499.0).unwrap();
        // All equal (0.1 does not divide exactly: the mean is off in the last bit).
        for v in [0.0, 0.1, 7.0] {
            let g = gi_star(&grid, &vec![v; grid.len()], 120.0);
            assert!(g.z.iter().all(|z| *z == 0.0), "{v}");
            assert!(g.p.iter().all(|p| *p == 1.0));
            assert!((0..grid.len()).all(|i| g.class(i) == HotspotClass::None));
        }
        // A neighbourhood that covers the whole area: n sum w - (sum w)^2 = 0.
        let mut x = vec![0.0; grid.len()];
        x[0] = 5.0;
        let g = gi_star(&grid, &x, 10_000.0);
        assert!(g.z.iter().all(|z| *z == 0.0));
        // A single cell.
        let one = Grid::from_bbox(50.0, 0.0, 0.0, 10.0, 10.0).unwrap();
        let g = gi_star(&one, &[3.0], 100.0);
        assert_eq!((g.z[0], g.p[0], g.q[0]), (0.0, 1.0, 1.0));
    }

    #[test]
    fn classes_from_q_and_sign() {
        use HotspotClass::*;
        let cases = [
            (3.0, 0.005, Hot99),
            (3.0, 0.01, Hot95),
            (3.0, 0.049, Hot95),
            (3.0, 0.05, Hot90),
            (3.0, 0.0999, Hot90),
            (3.0, 0.10, None),
            (-3.0, 0.001, Cold99),
            (-3.0, 0.02, Cold95),
            (-3.0, 0.07, Cold90),
            (-3.0, 0.5, None),
            (0.0, 0.0, None),
        ];
        for (z, q, want) in cases {
            assert_eq!(HotspotClass::from_z_q(z, q), want, "{z} {q}");
        }
        assert_eq!(Cold95.to_string(), "cold-95");
        assert_eq!(Hot99.as_str(), "hot-99");
    }

    #[test]
    fn disc_holds_exactly_the_centres_within_distance() {
        for (cell, d) in [(50.0, 200.0), (50.0, 160.0), (50.0, 35.0), (25.0, 137.0)] {
            let spans = crate::hotspots::area::centre_disc(cell, d);
            for dr in -12i64..=12 {
                for dc in -12i64..=12 {
                    let within =
                        ((dc as f64 * cell).powi(2) + (dr as f64 * cell).powi(2)).sqrt() <= d;
                    let listed = spans.iter().any(|&(r, k)| r == dr && dc.abs() <= k);
                    assert_eq!(within, listed, "cell {cell} D {d}: ({dc},{dr})");
                }
            }
        }
        // 49 cells within 200 m on a 50 m grid.
        let n: i64 = crate::hotspots::area::centre_disc(50.0, 200.0)
            .iter()
            .map(|&(_, k)| 2 * k + 1)
            .sum();
        assert_eq!(n, 49);
    }
}
