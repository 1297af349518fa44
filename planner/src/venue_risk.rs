//! Venue risk: which licensed premises the night's harm happens at.
//!
//! Licensing officers ask "which venues should we train first?" and "which high-risk venues
//! have never been trained?". DESIGN.md ("Venue risk") answers by attribution: each incident
//! within a radius (default 50 m) of a licensed premises is attributed to the **nearest** one
//! (an rstar nearest-neighbour query, [`PointIndex::nearest_within`]), giving every venue a
//! count, a harm total and a rate, and venues rank by harm.
//!
//! Definitions, so a figure can be checked by hand:
//!
//! - **Attribution.** An incident at distance `d <= radius` (closed: exactly at the radius
//!   counts) from its nearest venue goes to that venue; among equally near venues (two
//!   premises in one building) to the one listed first in the input. Incidents farther than
//!   the radius from every venue, or with non-finite coordinates, are unattributed.
//! - **count**: incidents attributed. **harm**: the sum of their harm weights from the
//!   [`HarmTable`] (no recency decay: a venue's record is its record).
//! - **rate**: `count / months`, incidents per month of the data span. The span is
//!   [`VenueRiskParams::months`] if the caller knows it (e.g. the months imported), else the
//!   number of local calendar months from the earliest to the latest incident given
//!   (inclusive, attributed or not, month-only incidents by their month): twelve monthly
//!   police.uk files are 12 months, and a year of timed data from 1 January to 31 December is
//!   12 months too. With no incidents the span is 0 and every rate is 0.
//! - **rank**: 1 = the highest harm; ties by higher count, then by id (ascending), then by
//!   input position, so every venue has its own rank (1, 2, 3, …).
//! - **hours**: an hour-of-week histogram (168 bins, Monday 00:00 local = 0, see
//!   [`hour_of_week`]) of the attributed *timed* incidents. Month-only incidents have no hour:
//!   they count for place (count, harm, rate) but not in `hours`, and `n_untimed` says how
//!   many there were.
//!
//! Which incidents to attribute (categories, window, dates) is the caller's choice: pass them
//! already filtered.
//!
//! ```
//! use planner::venue_risk::{venue_risk, Venue, VenueRiskParams};
//! use planner::hotspots::ScoringPoint;
//! use planner::{Category, OccurredAt};
//!
//! let venues = [
//!     Venue { id: "osm:node/1".into(), x: 504_000.0, y: 221_000.0 },
//!     Venue { id: "osm:node/2".into(), x: 504_080.0, y: 221_000.0 },
//! ];
//! let fight = |x| ScoringPoint {
//!     x, y: 221_000.0, category: Category::Violence,
//!     occurred: OccurredAt::Exact("2024-06-07T22:30:00Z".parse().unwrap()),
//! };
//! // 30 m from the first venue and 50 m from the second: the nearest takes it.
//! let risk = venue_risk(&venues, &[fight(504_030.0)], &VenueRiskParams::default()).unwrap();
//! assert_eq!(risk.venues[0].id, "osm:node/1");
//! assert_eq!((risk.venues[0].count, risk.venues[0].rank), (1, 1));
//! assert_eq!(risk.venues[0].hours[4 * 24 + 23], 1); // Friday 23:00 BST
//! ```

use crate::harm::HarmTable;
use crate::hotspots::ScoringPoint;
use crate::hotspots::profile::{HOURS_PER_WEEK, hour_of_week};
use crate::index::PointIndex;
use crate::time::london;
use jiff::tz::TimeZone;
use serde::Serialize;

/// Default attribution radius, metres (DESIGN.md).
pub const DEFAULT_RADIUS_M: f64 = 50.0;

/// A licensed premises, projected: its id and position in metres.
#[derive(Debug, Clone, PartialEq)]
pub struct Venue {
    /// The premises' stable id (e.g. `osm:node/21992993`).
    pub id: String,
    /// Easting, metres (the same CRS as the incidents).
    pub x: f64,
    /// Northing, metres.
    pub y: f64,
}

/// Parameters of [`venue_risk`]. [`Default`] is the 50 m radius, the default harm table and
/// Europe/London.
#[derive(Debug, Clone, PartialEq)]
pub struct VenueRiskParams {
    /// Attribution radius, metres (finite, not negative).
    pub radius: f64,
    /// Harm per category.
    pub harm: HarmTable,
    /// The force's zone: local months and hours of the week.
    pub tz: TimeZone,
    /// The data span in months for rates; `None`: from the incidents (see module docs).
    pub months: Option<f64>,
}

impl Default for VenueRiskParams {
    fn default() -> Self {
        VenueRiskParams {
            radius: DEFAULT_RADIUS_M,
            harm: HarmTable::default(),
            tz: london(),
            months: None,
        }
    }
}

/// Why venue risk could not be computed: invalid input, report it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VenueRiskError {
    /// The radius must be a finite number of metres, not negative.
    #[error("radius must be a finite, non-negative number of metres, got {0}")]
    InvalidRadius(f64),
    /// The span in months must be a positive finite number.
    #[error("months must be a positive number, got {0}")]
    InvalidMonths(f64),
    /// More venues than an index can number (2^32).
    #[error("too many venues ({0})")]
    TooManyVenues(usize),
}

/// One venue's risk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VenueRisk {
    /// Position of the venue in the input.
    pub index: usize,
    pub id: String,
    /// Incidents attributed.
    pub count: u32,
    /// Sum of their harm weights.
    pub harm: f64,
    /// Incidents per month of the data span.
    pub rate: f64,
    /// 1 = highest harm (unique; see module docs).
    pub rank: u32,
    /// Attributed timed incidents per hour of the week (168 bins, Monday 00:00 local = 0).
    pub hours: Vec<u32>,
    /// Attributed timed incidents (the sum of `hours`).
    pub n_timed: u32,
    /// Attributed month-only incidents (not in `hours`).
    pub n_untimed: u32,
}

/// Every venue's risk, by rank, and what was attributed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VenueRiskReport {
    /// Every venue (also those with no incident), by rank.
    pub venues: Vec<VenueRisk>,
    pub radius: f64,
    /// The data span the rates are per (months).
    pub months: f64,
    /// Incidents given.
    pub n_incidents: usize,
    /// Incidents attributed to a venue.
    pub n_attributed: usize,
    /// Incidents with no venue within the radius (or non-finite coordinates).
    pub n_unattributed: usize,
}

/// Attributes `incidents` to the nearest of `venues` within the radius and ranks the venues.
/// See the module docs.
pub fn venue_risk(
    venues: &[Venue],
    incidents: &[ScoringPoint],
    params: &VenueRiskParams,
) -> Result<VenueRiskReport, VenueRiskError> {
    if !(params.radius.is_finite() && params.radius >= 0.0) {
        return Err(VenueRiskError::InvalidRadius(params.radius));
    }
    if let Some(m) = params.months.filter(|m| !(m.is_finite() && *m > 0.0)) {
        return Err(VenueRiskError::InvalidMonths(m));
    }
    if u32::try_from(venues.len()).is_err() {
        return Err(VenueRiskError::TooManyVenues(venues.len()));
    }
    let index = PointIndex::new(venues.iter().enumerate().map(|(i, v)| (v.x, v.y, i as u32)));
    let mut out: Vec<VenueRisk> = venues
        .iter()
        .enumerate()
        .map(|(i, v)| VenueRisk {
            index: i,
            id: v.id.clone(),
            count: 0,
            harm: 0.0,
            rate: 0.0,
            rank: 0,
            hours: vec![0; HOURS_PER_WEEK],
            n_timed: 0,
            n_untimed: 0,
        })
        .collect();
    let mut attributed = 0;
    for p in incidents {
        if !(p.x.is_finite() && p.y.is_finite()) {
            continue;
        }
        let Some((id, _)) = index.nearest_within(p.x, p.y, params.radius) else {
            continue;
        };
        let v = &mut out[id as usize];
        attributed += 1;
        v.count += 1;
        v.harm += params.harm.weight(p.category);
        match p.occurred.instant() {
            Some(t) => {
                v.hours[hour_of_week(t, &params.tz)] += 1;
                v.n_timed += 1;
            }
            None => v.n_untimed += 1,
        }
    }
    let months = params
        .months
        .unwrap_or_else(|| span_months(incidents, &params.tz));
    for v in &mut out {
        v.rate = if months > 0.0 {
            f64::from(v.count) / months
        } else {
            0.0
        };
    }
    out.sort_by(|a, b| {
        b.harm
            .total_cmp(&a.harm)
            .then(b.count.cmp(&a.count))
            .then(a.id.cmp(&b.id))
            .then(a.index.cmp(&b.index))
    });
    for (k, v) in out.iter_mut().enumerate() {
        v.rank = k as u32 + 1;
    }
    Ok(VenueRiskReport {
        venues: out,
        radius: params.radius,
        months,
        n_incidents: incidents.len(),
        n_attributed: attributed,
        n_unattributed: incidents.len() - attributed,
    })
}

/// Local calendar months from the earliest to the latest incident, inclusive; 0 if none.
///
/// ```
/// use planner::venue_risk::span_months;
/// use planner::hotspots::ScoringPoint;
/// use planner::{Category, OccurredAt};
/// let at = |s: &str| ScoringPoint { x: 0.0, y: 0.0, category: Category::Violence,
///     occurred: OccurredAt::Exact(s.parse().unwrap()) };
/// let utc = jiff::tz::TimeZone::UTC;
/// assert_eq!(span_months(&[at("2019-01-01T00:05:00Z"), at("2019-12-31T23:54:00Z")], &utc), 12.0);
/// assert_eq!(span_months(&[], &utc), 0.0);
/// ```
pub fn span_months(incidents: &[ScoringPoint], tz: &TimeZone) -> f64 {
    let mut range: Option<(i64, i64)> = None;
    for p in incidents {
        let m = p.occurred.year_month(tz);
        let k = i64::from(m.year) * 12 + i64::from(m.month) - 1;
        range = Some(match range {
            None => (k, k),
            Some((lo, hi)) => (lo.min(k), hi.max(k)),
        });
    }
    range.map_or(0.0, |(lo, hi)| (hi - lo + 1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::category::Category;
    use crate::time::{OccurredAt, YearMonth};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    const X0: f64 = 504_000.0;
    const Y0: f64 = 221_000.0;

    fn venue(id: &str, x: f64, y: f64) -> Venue {
        Venue {
            id: id.to_string(),
            x,
            y,
        }
    }

    fn at(x: f64, y: f64, category: Category, s: &str) -> ScoringPoint {
        ScoringPoint {
            x,
            y,
            category,
            occurred: OccurredAt::Exact(s.parse().unwrap()),
        }
    }

    fn month(x: f64, y: f64, category: Category, year: i16, month: i8) -> ScoringPoint {
        ScoringPoint {
            x,
            y,
            category,
            occurred: OccurredAt::Month(YearMonth { year, month }),
        }
    }

    fn by_id<'a>(r: &'a VenueRiskReport, id: &str) -> &'a VenueRisk {
        r.venues.iter().find(|v| v.id == id).unwrap()
    }

    #[test]
    fn hand_computed_counts_harm_rates_ranks_and_hours() {
        let venues = [
            venue("a", X0, Y0),
            venue("b", X0 + 100.0, Y0),
            venue("c", X0 + 300.0, Y0),
            venue("d", X0 + 600.0, Y0), // nothing near
        ];
        let harm = HarmTable::default();
        let pts = [
            // 10 m from a: a. Friday 7 June 2024 23:30 BST.
            at(X0 + 10.0, Y0, Category::Violence, "2024-06-07T22:30:00Z"),
            // Exactly 50 m from a (30-40-50), 100+ from b: a, month-only.
            month(X0 + 30.0, Y0 + 40.0, Category::ViolenceAndSexual, 2024, 5),
            // Exactly halfway between a and b (50 m each): the first listed, a.
            at(X0 + 50.0, Y0, Category::PublicOrder, "2024-06-08T00:30:00Z"),
            // 49 m from b: b. Sunday 9 June 01:15 BST.
            at(X0 + 149.0, Y0, Category::Sexual, "2024-06-09T00:15:00Z"),
            // 50.001 m from c: nobody's.
            at(X0 + 350.001, Y0, Category::Sexual, "2024-06-09T00:15:00Z"),
            // 5 m from c, twice, robbery: c. Tuesday 14 May 2024 12:00 BST.
            at(X0 + 305.0, Y0, Category::Robbery, "2024-05-14T11:00:00Z"),
            at(X0 + 295.0, Y0, Category::Robbery, "2024-05-14T11:00:00Z"),
            // Non-finite: nobody's.
            at(f64::NAN, Y0, Category::Robbery, "2024-05-14T11:00:00Z"),
        ];
        let r = venue_risk(&venues, &pts, &VenueRiskParams::default()).unwrap();
        assert_eq!((r.n_incidents, r.n_attributed, r.n_unattributed), (8, 6, 2));
        // Span: May and June 2024 (the NaN point's month counts for the span too).
        assert_eq!(r.months, 2.0);
        let a = by_id(&r, "a");
        assert_eq!((a.count, a.n_timed, a.n_untimed), (3, 2, 1));
        assert_eq!(
            a.harm,
            harm.weight(Category::Violence)
                + harm.weight(Category::ViolenceAndSexual)
                + harm.weight(Category::PublicOrder)
        );
        assert_eq!(a.rate, 1.5);
        assert_eq!(a.hours[4 * 24 + 23], 1); // Friday 23:00
        assert_eq!(a.hours[5 * 24 + 1], 1); // Saturday 01:00
        assert_eq!(a.hours.iter().sum::<u32>(), 2);
        let b = by_id(&r, "b");
        assert_eq!((b.count, b.harm), (1, 100.0));
        assert_eq!(b.hours[6 * 24 + 1], 1);
        let c = by_id(&r, "c");
        assert_eq!((c.count, c.harm, c.rate), (2, 80.0, 1.0));
        assert_eq!(c.hours[24 + 12], 2);
        let d = by_id(&r, "d");
        assert_eq!((d.count, d.harm, d.rate, d.n_timed), (0, 0.0, 0.0, 0));
        // a: 30 + 40 + 2 = 72 < c: 80 < b: 100.
        let order: Vec<(&str, u32)> = r.venues.iter().map(|v| (v.id.as_str(), v.rank)).collect();
        assert_eq!(order, vec![("b", 1), ("c", 2), ("a", 3), ("d", 4)]);
    }

    #[test]
    fn ties_rank_by_count_then_id() {
        // p, q and r all have harm 2: p from two incidents, q and r from one each, so p
        // comes first, then q before r by id. y and z have nothing: by id.
        let venues = [
            venue("r", X0, Y0),
            venue("q", X0 + 1000.0, Y0),
            venue("p", X0 + 2000.0, Y0),
            venue("z", X0 + 3000.0, Y0),
            venue("y", X0 + 4000.0, Y0),
        ];
        let mut harm = HarmTable::uniform(1.0);
        harm.set(Category::Sexual, 2.0);
        let params = VenueRiskParams {
            harm,
            ..VenueRiskParams::default()
        };
        let t = "2024-06-07T22:30:00Z";
        let pts = [
            at(X0, Y0, Category::Sexual, t),
            at(X0 + 1000.0, Y0, Category::Sexual, t),
            at(X0 + 2000.0, Y0, Category::Violence, t),
            at(X0 + 2000.0, Y0, Category::Violence, t),
        ];
        let r = venue_risk(&venues, &pts, &params).unwrap();
        let order: Vec<&str> = r.venues.iter().map(|v| v.id.as_str()).collect();
        assert_eq!(order, vec!["p", "q", "r", "y", "z"]);
        assert_eq!(
            r.venues.iter().map(|v| v.rank).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
    }

    #[test]
    fn invalid_parameters_and_empty_inputs() {
        let mut p = VenueRiskParams::default();
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            p.radius = bad;
            assert!(matches!(
                venue_risk(&[], &[], &p),
                Err(VenueRiskError::InvalidRadius(_))
            ));
        }
        p.radius = 50.0;
        p.months = Some(0.0);
        assert_eq!(
            venue_risk(&[], &[], &p),
            Err(VenueRiskError::InvalidMonths(0.0))
        );
        p.months = None;
        let r = venue_risk(
            &[],
            &[at(X0, Y0, Category::Violence, "2024-06-07T22:30:00Z")],
            &p,
        )
        .unwrap();
        assert!(r.venues.is_empty());
        assert_eq!((r.n_attributed, r.n_unattributed, r.months), (0, 1, 1.0));
        let r = venue_risk(&[venue("a", X0, Y0)], &[], &p).unwrap();
        assert_eq!(
            (r.venues[0].count, r.venues[0].rate, r.months),
            (0, 0.0, 0.0)
        );
        // Given months replace the span from the data.
        p.months = Some(4.0);
        let r = venue_risk(
            &[venue("a", X0, Y0)],
            &[at(X0, Y0, Category::Violence, "2024-06-07T22:30:00Z")],
            &p,
        )
        .unwrap();
        assert_eq!(r.venues[0].rate, 0.25);
        // Radius 0: only incidents exactly at the venue.
        p.radius = 0.0;
        let r = venue_risk(
            &[venue("a", X0, Y0)],
            &[
                at(X0, Y0, Category::Violence, "2024-06-07T22:30:00Z"),
                at(X0 + 0.001, Y0, Category::Violence, "2024-06-07T22:30:00Z"),
            ],
            &p,
        )
        .unwrap();
        assert_eq!(r.venues[0].count, 1);
    }

    /// Brute force: for each incident scan every venue, keep the nearest within the radius
    /// (first listed on ties), then sum, sort and rank independently.
    #[test]
    fn matches_brute_force_on_random_data_with_ties_and_edge_hits() {
        let tz = london();
        let harm = HarmTable::default();
        for seed in 0..5u64 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            // Whole-metre venues on a 600 m square, several sharing a position.
            let mut venues: Vec<Venue> = (0..120)
                .map(|i| {
                    // Odd positions draw ids from a small pool, so some ids repeat.
                    let r = rng.random_range(0..60);
                    let id = if i % 2 == 0 {
                        format!("v{r:03}-{i}")
                    } else {
                        format!("v{r:03}")
                    };
                    let x = X0 + f64::from(rng.random_range(0..600));
                    venue(&id, x, Y0 + f64::from(rng.random_range(0..600)))
                })
                .collect();
            for k in 0..10 {
                let (x, y) = (venues[k].x, venues[k].y);
                venues.push(venue(&format!("dup{k}"), x, y));
            }
            let t0 = 1_700_000_000i64;
            let mut pts = Vec::new();
            for _ in 0..4000 {
                let category = Category::ALL[rng.random_range(0..Category::ALL.len())];
                let occurred = if rng.random_bool(0.25) {
                    OccurredAt::Month(YearMonth {
                        year: 2024,
                        month: rng.random_range(1..=12),
                    })
                } else {
                    OccurredAt::Exact(
                        jiff::Timestamp::from_second(t0 + rng.random_range(0..40_000_000)).unwrap(),
                    )
                };
                // A third exactly on a 50 m circle around a venue (Pythagorean offsets),
                // a third at whole metres, a third anywhere.
                let (x, y) = match rng.random_range(0..3) {
                    0 => {
                        let v = &venues[rng.random_range(0..venues.len())];
                        let (dx, dy) = [
                            (50.0, 0.0),
                            (0.0, -50.0),
                            (30.0, 40.0),
                            (-40.0, 30.0),
                            (14.0, 48.0),
                            (-48.0, -14.0),
                        ][rng.random_range(0..6)];
                        (v.x + dx, v.y + dy)
                    }
                    1 => (
                        X0 + f64::from(rng.random_range(-60..660)),
                        Y0 + f64::from(rng.random_range(-60..660)),
                    ),
                    _ => (
                        X0 + rng.random_range(-60.0..660.0),
                        Y0 + rng.random_range(-60.0..660.0),
                    ),
                };
                pts.push(ScoringPoint {
                    x,
                    y,
                    category,
                    occurred,
                });
            }
            let params = VenueRiskParams::default();
            let got = venue_risk(&venues, &pts, &params).unwrap();

            let n = venues.len();
            let (mut count, mut hsum) = (vec![0u32; n], vec![0.0f64; n]);
            let mut hours = vec![vec![0u32; 168]; n];
            let mut untimed = vec![0u32; n];
            let (mut on_circle, mut tied) = (0, 0);
            for p in &pts {
                let mut best: Option<(f64, usize)> = None;
                let mut ties = 0;
                for (i, v) in venues.iter().enumerate() {
                    let d2 = (p.x - v.x) * (p.x - v.x) + (p.y - v.y) * (p.y - v.y);
                    if d2 > 2500.0 {
                        continue;
                    }
                    match best {
                        Some((b, _)) if d2 > b => {}
                        Some((b, _)) if d2 == b => ties += 1,
                        _ => {
                            best = Some((d2, i));
                            ties = 0;
                        }
                    }
                }
                let Some((d2, i)) = best else { continue };
                on_circle += usize::from(d2 == 2500.0);
                tied += usize::from(ties > 0);
                count[i] += 1;
                hsum[i] += harm.weight(p.category);
                match p.occurred.instant() {
                    Some(t) => {
                        let dt = tz.to_datetime(t);
                        let h =
                            dt.weekday().to_monday_zero_offset() as usize * 24 + dt.hour() as usize;
                        hours[i][h] += 1;
                    }
                    None => untimed[i] += 1,
                }
            }
            assert!(on_circle > 100 && tied > 50, "{on_circle} {tied}");
            let attributed: u32 = count.iter().sum();
            assert_eq!(got.n_attributed, attributed as usize);
            let months = {
                let ks: Vec<i64> = pts
                    .iter()
                    .map(|p| {
                        let m = p.occurred.year_month(&tz);
                        i64::from(m.year) * 12 + i64::from(m.month)
                    })
                    .collect();
                (ks.iter().max().unwrap() - ks.iter().min().unwrap() + 1) as f64
            };
            assert_eq!(got.months, months);
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| {
                hsum[b]
                    .partial_cmp(&hsum[a])
                    .unwrap()
                    .then(count[b].cmp(&count[a]))
                    .then(venues[a].id.cmp(&venues[b].id))
                    .then(a.cmp(&b))
            });
            for (k, &i) in order.iter().enumerate() {
                let v = &got.venues[k];
                assert_eq!((v.index, v.rank), (i, k as u32 + 1), "seed {seed}");
                assert_eq!(v.count, count[i]);
                // Same summation order (input order) as the brute force: exact.
                assert_eq!(v.harm, hsum[i]);
                assert_eq!(v.rate, f64::from(count[i]) / months);
                assert_eq!(v.hours, hours[i]);
                assert_eq!(v.n_untimed, untimed[i]);
                assert_eq!(v.n_timed + v.n_untimed, v.count);
            }
        }
    }
}
