//! Prospective (near-repeat) risk: recent incidents raise the risk of nearby cells for a few
//! weeks.
//!
//! Bowers, Johnson and Pease (2004, "Prospective hot-spotting") showed that risk after an
//! offence is raised nearby and soon, and decays with distance and time; a map of where things
//! happened *recently and close by* predicts next week better than a long-run count. Firefly
//! uses their weighting, `1/(1 + distance band) x 1/(1 + age in weeks)`, scaled by harm.
//!
//! Precisely, for a cell with centre c, each incident at p with age `a` days (from `as_of`,
//! month-only incidents at mid-month as in [`super::weights`]) contributes
//!
//! ```text
//! harm x 1 / (1 + band) x 1 / (1 + week)
//!   band = floor(|p - c| / band_width)   counted only while |p - c| < max_distance
//!   week = floor(a / 7)                  counted only while 0 <= a < 7 x max_weeks
//! ```
//!
//! With the defaults (band width = one cell, 50 m; max distance 400 m; 8 weeks): an incident
//! less than 50 m from a centre is band 0 (factor 1), 50-100 m band 1 (1/2), …, 350-400 m
//! band 7 (1/8), and nothing from 400 m on; one this week counts fully, one 7-13 days old
//! half, …, one in its eighth week 1/8, and nothing older. Incidents after `as_of` are not
//! counted (they have not happened yet for a prediction made then). Recency half-life does
//! not apply: the week factor is this method's own decay.

use super::bins::{Bins, gather};
use super::grid::Grid;
use super::weights::WeightedPoint;

/// Near-repeat bands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearRepeat {
    /// Width of a distance band in metres; `None` = the grid's cell size.
    pub band: Option<f64>,
    /// Incidents this far from a centre or further do not count, metres.
    pub max_distance: f64,
    /// Incidents this many weeks old or older do not count.
    pub max_weeks: u32,
}

impl Default for NearRepeat {
    /// One-cell bands up to 400 m, 8 weeks.
    fn default() -> Self {
        NearRepeat {
            band: None,
            max_distance: 400.0,
            max_weeks: 8,
        }
    }
}

/// The week factor of an incident `age_days` old: `1 / (1 + floor(age/7))` within the window,
/// `None` outside it.
pub fn week_factor(age_days: f64, max_weeks: u32) -> Option<f64> {
    if !(age_days >= 0.0 && age_days < 7.0 * max_weeks as f64) {
        return None;
    }
    Some(1.0 / (1.0 + (age_days / 7.0).floor()))
}

/// Near-repeat risk at every study-area cell centre (0 outside the study area).
pub fn prospective(grid: &Grid, points: &[WeightedPoint], params: &NearRepeat) -> Vec<f64> {
    let band = params.band.unwrap_or(grid.cell_size());
    let bins = Bins::new(grid, points, |p| {
        week_factor(p.age_days, params.max_weeks).map(|f| p.harm * f)
    });
    // 1 / (1 + band) for every band below max_distance (plus one spare for rounding).
    let bands = (params.max_distance / band).ceil() as usize + 1;
    let factor: Vec<f64> = (0..=bands).map(|b| 1.0 / (1.0 + b as f64)).collect();
    let last = factor.len() - 1;
    gather(grid, &bins, params.max_distance, move |d2| {
        factor[((d2.sqrt() / band).floor() as usize).min(last)]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn wp(grid: &Grid, x: f64, y: f64, harm: f64, age_days: f64) -> WeightedPoint {
        WeightedPoint {
            x,
            y,
            cell: grid.locate(x, y).unwrap(),
            harm,
            recency: 1.0,
            age_days,
            instant: None,
        }
    }

    /// Brute force straight from the definition in the module docs.
    fn brute(grid: &Grid, pts: &[WeightedPoint], nr: &NearRepeat) -> Vec<f64> {
        let band = nr.band.unwrap_or(grid.cell_size());
        (0..grid.len())
            .map(|i| {
                if !grid.is_inside(i) {
                    return 0.0;
                }
                let (cx, cy) = grid.centre(i);
                let mut sum = 0.0;
                for p in pts {
                    let d = (p.x - cx).hypot(p.y - cy);
                    let weeks = (p.age_days / 7.0).floor();
                    if d < nr.max_distance && p.age_days >= 0.0 && weeks < nr.max_weeks as f64 {
                        sum += p.harm / (1.0 + (d / band).floor()) / (1.0 + weeks);
                    }
                }
                sum
            })
            .collect()
    }

    #[test]
    fn matches_brute_force() {
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let grid = Grid::from_bbox(50.0, 10_000.0, 20_000.0, 12_000.0, 21_600.0).unwrap();
        let pts: Vec<WeightedPoint> = (0..3000)
            .map(|_| {
                wp(
                    &grid,
                    rng.random_range(10_000.0..12_000.0),
                    rng.random_range(20_000.0..21_600.0),
                    rng.random_range(1.0..100.0),
                    rng.random_range(-10.0..90.0),
                )
            })
            .collect();
        for nr in [
            NearRepeat::default(),
            NearRepeat {
                band: Some(75.0),
                max_distance: 310.0,
                max_weeks: 3,
            },
        ] {
            let got = prospective(&grid, &pts, &nr);
            let want = brute(&grid, &pts, &nr);
            assert!(want.iter().filter(|v| **v > 0.0).count() > 500);
            for (a, b) in got.iter().zip(&want) {
                assert_relative_eq!(*a, *b, max_relative = 1e-12, epsilon = 1e-12);
            }
        }
    }

    #[test]
    fn hand_checked_bands_and_weeks() {
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 999.0, 999.0).unwrap();
        let nr = NearRepeat::default();
        assert!(prospective(&grid, &[], &nr).iter().all(|v| *v == 0.0));
        // One incident of harm 12, ten days old (week 1: factor 1/2), at centre of 10_10.
        let p = [wp(&grid, 525.0, 525.0, 12.0, 10.0)];
        let r = prospective(&grid, &p, &nr);
        let at = |c, row| r[grid.index(c, row).unwrap()];
        assert_eq!(at(10, 10), 6.0); // band 0
        assert_eq!(at(11, 10), 3.0); // 50 m: band 1
        assert_eq!(at(11, 11), 3.0); // 70.7 m: band 1
        assert_eq!(at(12, 10), 2.0); // 100 m: band 2
        assert_eq!(at(17, 10), 6.0 / 8.0); // 350 m: band 7
        assert_eq!(at(18, 10), 0.0); // 400 m: out
        // Age limits: 55.9 days counts (week 7, 1/8); 56 does not; the future does not.
        for (age, want) in [(0.0, 12.0), (55.9, 1.5), (56.0, 0.0), (-0.5, 0.0)] {
            let r = prospective(&grid, &[wp(&grid, 525.0, 525.0, 12.0, age)], &nr);
            assert_eq!(r[grid.index(10, 10).unwrap()], want, "age {age}");
        }
        // Everything in one cell adds up.
        let same: Vec<WeightedPoint> = (0..5).map(|_| p[0]).collect();
        let r5 = prospective(&grid, &same, &nr);
        assert_eq!(r5[grid.index(10, 10).unwrap()], 30.0);
    }

    #[test]
    fn week_factor_bounds() {
        assert_eq!(week_factor(0.0, 8), Some(1.0));
        assert_eq!(week_factor(6.99, 8), Some(1.0));
        assert_eq!(week_factor(7.0, 8), Some(0.5));
        assert_eq!(week_factor(55.99, 8), Some(0.125));
        assert_eq!(week_factor(56.0, 8), None);
        assert_eq!(week_factor(-1.0, 8), None);
        assert_eq!(week_factor(f64::NAN, 8), None);
    }
}
