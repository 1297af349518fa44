//! Hour-of-week profiles: when in the week each cell's risk peaks.
//!
//! A hotspot map says where; a rota also needs when. For each cell (and for the whole area)
//! this module gives the share of its incident weight in each of the 168 hours of the week,
//! hour 0 being Monday 00:00-00:59 local time, hour 167 Sunday 23:00-23:59, so a plan puts
//! officers in a zone when its risk peaks.
//!
//! - Shares are of harm x recency weight (the same weight the scores use), so a profile means
//!   the same thing as the score it spreads over the week; with a uniform harm table and no
//!   half-life they are shares of incident counts. They sum to 1 whenever there is weight.
//! - Only timed incidents count: month-only incidents never give an hour (DESIGN.md, Time).
//! - Hours are local wall-clock hours in the force's zone: both 01:30s of the night the clocks
//!   go back fall in Sunday hour 1, and on the night they go forward Sunday hour 1 simply has
//!   no incidents.
//! - A cell (or area) without timed weight gets the caller's prior instead, labelled
//!   [`ProfileSource::Prior`] so nobody mistakes it for evidence. How to estimate a good prior
//!   (e.g. from a whole force's data) is left to the caller; [`uniform_prior`] is the neutral
//!   choice.

use super::ScoringError;
use super::weights::WeightedPoint;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use std::collections::HashMap;

/// Hours in a week.
pub const HOURS_PER_WEEK: usize = 168;

/// The hour of the week of `ts` in `tz`: Monday 00:00-00:59 local is 0, Sunday 23:xx is 167.
///
/// ```
/// use planner::hotspots::profile::hour_of_week;
/// let tz = jiff::tz::TimeZone::get("Europe/London").unwrap();
/// // Friday 7 June 2024, 23:30 BST.
/// assert_eq!(hour_of_week("2024-06-07T22:30:00Z".parse().unwrap(), &tz), 4 * 24 + 23);
/// ```
pub fn hour_of_week(ts: Timestamp, tz: &TimeZone) -> usize {
    let dt = tz.to_datetime(ts);
    dt.weekday().to_monday_zero_offset() as usize * 24 + dt.hour() as usize
}

/// Every hour equally likely.
pub fn uniform_prior() -> [f64; HOURS_PER_WEEK] {
    [1.0 / HOURS_PER_WEEK as f64; HOURS_PER_WEEK]
}

/// Where a profile's shares came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProfileSource {
    /// From this many timed incidents.
    Observed { incidents: usize },
    /// No timed weight here: the prior, not evidence.
    Prior,
}

/// 168 shares summing to 1, and where they came from.
#[derive(Debug, Clone, PartialEq)]
pub struct HourProfile {
    pub shares: [f64; HOURS_PER_WEEK],
    pub source: ProfileSource,
}

impl HourProfile {
    /// Whether the shares come from the prior rather than from incidents.
    pub fn is_prior(&self) -> bool {
        self.source == ProfileSource::Prior
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Hours {
    weight: Box<[f64; HOURS_PER_WEEK]>,
    incidents: usize,
}

impl Hours {
    fn new() -> Hours {
        Hours {
            weight: Box::new([0.0; HOURS_PER_WEEK]),
            incidents: 0,
        }
    }

    fn add(&mut self, other: &Hours) {
        for (a, b) in self.weight.iter_mut().zip(other.weight.iter()) {
            *a += b;
        }
        self.incidents += other.incidents;
    }

    fn profile(&self, prior: &[f64; HOURS_PER_WEEK]) -> HourProfile {
        let total: f64 = self.weight.iter().sum();
        if total > 0.0 && total.is_finite() {
            let mut shares = [0.0; HOURS_PER_WEEK];
            for (s, w) in shares.iter_mut().zip(self.weight.iter()) {
                *s = w / total;
            }
            HourProfile {
                shares,
                source: ProfileSource::Observed {
                    incidents: self.incidents,
                },
            }
        } else {
            HourProfile {
                shares: *prior,
                source: ProfileSource::Prior,
            }
        }
    }
}

/// Hour-of-week profiles of every cell with timed incidents, and of the whole area.
#[derive(Debug, Clone, PartialEq)]
pub struct HourProfiles {
    cells: HashMap<usize, Hours>,
    area: Hours,
    prior: [f64; HOURS_PER_WEEK],
    /// Timed incidents used.
    pub n_timed: usize,
    /// Month-only incidents left out (they count for place only).
    pub n_untimed: usize,
}

impl HourProfiles {
    /// The whole study area's profile.
    pub fn area(&self) -> HourProfile {
        self.area.profile(&self.prior)
    }

    /// Cell `index`'s profile (the prior if it has no timed weight).
    pub fn cell(&self, index: usize) -> HourProfile {
        match self.cells.get(&index) {
            Some(h) => h.profile(&self.prior),
            None => HourProfile {
                shares: self.prior,
                source: ProfileSource::Prior,
            },
        }
    }

    /// The profile of a group of cells (a patrol zone): their timed weight pooled.
    pub fn pooled(&self, cells: impl IntoIterator<Item = usize>) -> HourProfile {
        let mut sum = Hours::new();
        for i in cells {
            if let Some(h) = self.cells.get(&i) {
                sum.add(h);
            }
        }
        sum.profile(&self.prior)
    }

    /// Cells with at least one timed incident, in index order.
    pub fn observed_cells(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self.cells.keys().copied().collect();
        v.sort_unstable();
        v
    }

    /// The prior, normalised to sum to 1.
    pub fn prior(&self) -> &[f64; HOURS_PER_WEEK] {
        &self.prior
    }
}

/// Builds the profiles from weighed points (see [`super::weights::weigh`]) in zone `tz`.
/// `prior` may be any non-negative weights with a positive sum; it is normalised.
pub fn hour_profiles(
    points: &[WeightedPoint],
    tz: &TimeZone,
    prior: &[f64; HOURS_PER_WEEK],
) -> Result<HourProfiles, ScoringError> {
    let total: f64 = prior.iter().sum();
    if prior.iter().any(|v| !v.is_finite() || *v < 0.0) || !(total > 0.0 && total.is_finite()) {
        return Err(ScoringError::InvalidPrior);
    }
    let mut normalised = [0.0; HOURS_PER_WEEK];
    for (n, v) in normalised.iter_mut().zip(prior) {
        *n = v / total;
    }
    let mut out = HourProfiles {
        cells: HashMap::new(),
        area: Hours::new(),
        prior: normalised,
        n_timed: 0,
        n_untimed: 0,
    };
    for p in points {
        let Some(ts) = p.instant else {
            out.n_untimed += 1;
            continue;
        };
        out.n_timed += 1;
        let h = hour_of_week(ts, tz);
        let w = p.weight();
        let cell = out.cells.entry(p.cell).or_insert_with(Hours::new);
        cell.weight[h] += w;
        cell.incidents += 1;
        out.area.weight[h] += w;
        out.area.incidents += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotspots::grid::Grid;
    use crate::time::london;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn wp(cell: usize, instant: Option<Timestamp>, w: f64) -> WeightedPoint {
        WeightedPoint {
            x: 0.0,
            y: 0.0,
            cell,
            harm: w,
            recency: 1.0,
            age_days: 0.0,
            instant,
        }
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// Independent hour of week: UTC offset from the zone, then plain arithmetic from the
    /// Unix epoch (1 January 1970 was a Thursday, Monday-based day 3).
    fn hour_by_arithmetic(t: Timestamp, tz: &TimeZone) -> usize {
        let local = t.as_second() + tz.to_offset(t).seconds() as i64;
        let days = local.div_euclid(86_400);
        let hour = local.rem_euclid(86_400) / 3600;
        ((days + 3).rem_euclid(7) * 24 + hour) as usize
    }

    #[test]
    fn hour_of_week_matches_arithmetic_across_dst() {
        let tz = london();
        let mut t = ts("2024-03-25T00:00:00Z");
        while t < ts("2024-11-05T00:00:00Z") {
            assert_eq!(hour_of_week(t, &tz), hour_by_arithmetic(t, &tz), "{t}");
            t = t.checked_add(jiff::SignedDuration::from_mins(37)).unwrap();
        }
        // Monday 00:00 local is hour 0; Sunday 23:59 is 167.
        assert_eq!(hour_of_week(ts("2024-06-02T23:00:00Z"), &tz), 0);
        assert_eq!(hour_of_week(ts("2024-06-02T22:59:00Z"), &tz), 167);
        // Both 01:30s of 27 October 2024 are Sunday hour 1.
        assert_eq!(hour_of_week(ts("2024-10-27T00:30:00Z"), &tz), 6 * 24 + 1);
        assert_eq!(hour_of_week(ts("2024-10-27T01:30:00Z"), &tz), 6 * 24 + 1);
        // On 31 March 2024 local 00:59 GMT is followed by 02:00 BST.
        assert_eq!(hour_of_week(ts("2024-03-31T00:59:00Z"), &tz), 6 * 24);
        assert_eq!(hour_of_week(ts("2024-03-31T01:00:00Z"), &tz), 6 * 24 + 2);
    }

    #[test]
    fn shares_match_brute_force_and_sum_to_one() {
        let tz = london();
        let mut rng = ChaCha8Rng::seed_from_u64(43);
        let grid = Grid::from_bbox(50.0, 0.0, 0.0, 299.0, 299.0).unwrap();
        let pts: Vec<WeightedPoint> = (0..5000)
            .map(|_| {
                let instant = rng.random_bool(0.8).then(|| {
                    Timestamp::from_second(rng.random_range(1_700_000_000..1_730_000_000)).unwrap()
                });
                wp(
                    rng.random_range(0..grid.len()),
                    instant,
                    rng.random_range(0.5..50.0),
                )
            })
            .collect();
        let prof = hour_profiles(&pts, &tz, &uniform_prior()).unwrap();
        let timed = pts.iter().filter(|p| p.instant.is_some()).count();
        assert_eq!((prof.n_timed, prof.n_untimed), (timed, 5000 - timed));
        for cell in 0..grid.len() {
            let mine: Vec<&WeightedPoint> = pts
                .iter()
                .filter(|p| p.cell == cell && p.instant.is_some())
                .collect();
            let total: f64 = mine.iter().map(|p| p.weight()).sum();
            let got = prof.cell(cell);
            assert_eq!(
                got.source,
                ProfileSource::Observed {
                    incidents: mine.len()
                }
            );
            for h in 0..HOURS_PER_WEEK {
                let want: f64 = mine
                    .iter()
                    .filter(|p| hour_by_arithmetic(p.instant.unwrap(), &tz) == h)
                    .map(|p| p.weight())
                    .sum::<f64>()
                    / total;
                assert!((got.shares[h] - want).abs() < 1e-12, "cell {cell} hour {h}");
            }
            assert!((got.shares.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        let area = prof.area();
        assert!((area.shares.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // Pooling every cell gives the area.
        let pooled = prof.pooled(0..grid.len());
        for h in 0..HOURS_PER_WEEK {
            assert!((pooled.shares[h] - area.shares[h]).abs() < 1e-12);
        }
    }

    #[test]
    fn month_only_incidents_never_count_and_empty_cells_get_the_prior() {
        let tz = london();
        let mut prior = [1.0; HOURS_PER_WEEK];
        prior[4 * 24 + 23] = 13.0; // Friday 23:00 weighs 13 of 180
        let pts = [
            wp(0, None, 5.0),
            wp(0, None, 5.0),
            wp(1, Some(ts("2024-06-07T22:30:00Z")), 2.0), // Fri 23:30 BST
            wp(1, Some(ts("2024-06-08T22:30:00Z")), 6.0), // Sat 23:30 BST
        ];
        let prof = hour_profiles(&pts, &tz, &prior).unwrap();
        assert_eq!((prof.n_timed, prof.n_untimed), (2, 2));
        // Cell 0 has only month-only incidents: prior-derived, normalised.
        let c0 = prof.cell(0);
        assert!(c0.is_prior());
        assert!((c0.shares[4 * 24 + 23] - 13.0 / 180.0).abs() < 1e-15);
        assert!((c0.shares.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // Cell 1: a quarter of its weight on Friday 23:00, three quarters on Saturday 23:00.
        let c1 = prof.cell(1);
        assert_eq!(c1.source, ProfileSource::Observed { incidents: 2 });
        assert_eq!(c1.shares[4 * 24 + 23], 0.25);
        assert_eq!(c1.shares[5 * 24 + 23], 0.75);
        assert_eq!(c1.shares.iter().filter(|s| **s > 0.0).count(), 2);
        assert!(prof.cell(99).is_prior());
        assert_eq!(prof.observed_cells(), vec![1]);
        // No incidents at all: the area is the prior too.
        let none = hour_profiles(&[], &tz, &uniform_prior()).unwrap();
        assert!(none.area().is_prior());
        for s in none.area().shares {
            assert!((s - 1.0 / 168.0).abs() < 1e-15);
        }
    }

    #[test]
    fn bad_priors_are_refused() {
        let tz = london();
        let mut p = uniform_prior();
        p[3] = -0.1;
        assert_eq!(hour_profiles(&[], &tz, &p), Err(ScoringError::InvalidPrior));
        assert_eq!(
            hour_profiles(&[], &tz, &[0.0; HOURS_PER_WEEK]),
            Err(ScoringError::InvalidPrior)
        );
        p[3] = f64::NAN;
        assert_eq!(hour_profiles(&[], &tz, &p), Err(ScoringError::InvalidPrior));
    }
}
