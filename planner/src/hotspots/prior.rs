//! A night-time-economy prior for hour-of-week profiles, from real bar and nightclub offences.
//!
//! A cell or zone with no timed incidents (police.uk gives only months) still needs a profile
//! so a rota can put officers there at the right hours ([`super::profile`] falls back to a
//! prior). The uniform prior says "any hour is as likely as any other", which no licensing
//! officer believes. This module offers a better-informed one: **the hour-of-week pattern of
//! the offences Houston Police recorded at bars and nightclubs from January to August 2010**.
//!
//! It is a prior from another city and another decade, not evidence about the force's own
//! area: wherever it is used, label it as such ([`NTE_PRIOR_LABEL`]), and prefer the force's
//! own timed incidents whenever there are any.
//!
//! # How it was computed
//!
//! From `data/us/houston_crime_2010-01_to_2010-08.csv.gz` (see `data/us/SOURCES.md`: HPD
//! crime, January to August 2010, from the R package ggmap; hour resolution):
//!
//! 1. read with [`crate::import::us_open_data::read`] as [`UsSource::Houston`]
//!    (`time_utc` is the true instant);
//! 2. keep the 1,917 offences whose `location` starts with `bar / night club`
//!    (`bar / night club`: 880; `bar / night club parking lot`: 1,037); every one has
//!    coordinates, so none is skipped;
//! 3. count them by hour of the week in America/Chicago (Houston's zone) with
//!    [`hour_of_week`]: Monday 00:00-00:59 local is hour 0, Sunday 23:00-23:59 is hour 167.
//!    Those are [`HOUSTON_NTE_COUNTS`];
//! 4. smooth lightly with a pseudo-count of 0.5 per hour (the Jeffreys prior of a
//!    multinomial), so that no hour has probability 0 (17 of the 168 hours have no offence in
//!    eight months, which says "rare", not "impossible"):
//!    `share[h] = (count[h] + 0.5) / (1917 + 84)`. That is [`nte_prior`]; it sums to 1.
//!
//! `planner/tests/prior_profile.rs` recomputes the counts from the file and checks they equal
//! the constant, so the numbers cannot drift or be invented.
//!
//! What the pattern shows: offences cluster from 22:00 to 02:00 (63 % of them in those five
//! hours of the day), Friday and Saturday nights dominate (by calendar day Saturday 464,
//! Sunday 385 and Friday 366 against Tuesday 147; Saturday's and Sunday's counts include the
//! early hours of the nights before), and 06:00-16:00 is almost empty.
//!
//! Hours are *local* in whatever zone the prior is applied: it describes wall-clock habits
//! (closing times, weekends), which carry across zones, not instants.
//!
//! [`UsSource::Houston`]: crate::import::us_open_data::UsSource::Houston
//! [`hour_of_week`]: super::profile::hour_of_week

use super::profile::HOURS_PER_WEEK;

/// The label to show wherever [`nte_prior`] stands in for observed hours.
pub const NTE_PRIOR_LABEL: &str =
    "prior: Houston 2010 bar / night club offences by hour of week (not local evidence)";

/// Pseudo-count added to every hour before normalising (see the module docs).
pub const PSEUDO_COUNT: f64 = 0.5;

/// Houston bar / night club offences (January to August 2010) by local hour of the week,
/// Monday 00:00 = 0. See the module docs for how they were counted; they sum to 1,917.
#[rustfmt::skip]
pub const HOUSTON_NTE_COUNTS: [u16; HOURS_PER_WEEK] = [
    // Monday (174)
    20, 27, 31, 13, 10, 8, 3, 0, 0, 1, 1, 0,
    2, 0, 3, 0, 1, 2, 6, 6, 8, 3, 14, 15,
    // Tuesday (147)
    14, 9, 9, 3, 7, 5, 1, 0, 0, 1, 1, 2,
    3, 1, 1, 4, 5, 5, 9, 8, 12, 10, 19, 18,
    // Wednesday (177)
    24, 10, 13, 8, 3, 4, 4, 2, 0, 0, 1, 2,
    3, 2, 2, 2, 6, 5, 10, 11, 14, 11, 22, 18,
    // Thursday (204)
    27, 14, 13, 9, 4, 2, 0, 0, 1, 0, 2, 7,
    0, 2, 2, 2, 3, 10, 15, 7, 14, 14, 26, 30,
    // Friday (366)
    42, 38, 29, 13, 9, 7, 3, 0, 1, 0, 3, 3,
    3, 1, 1, 6, 3, 9, 8, 18, 16, 29, 52, 72,
    // Saturday (464)
    63, 68, 68, 32, 11, 4, 6, 1, 1, 1, 2, 10,
    2, 3, 1, 1, 1, 8, 6, 8, 10, 22, 50, 85,
    // Sunday (385)
    63, 94, 58, 34, 14, 14, 3, 1, 1, 0, 1, 2,
    2, 3, 3, 3, 0, 2, 9, 7, 8, 14, 13, 36,
];

/// Smoothed shares of hour-of-week counts: `(count + PSEUDO_COUNT) / (total + 168 x
/// PSEUDO_COUNT)`. The same function turns [`HOUSTON_NTE_COUNTS`] into [`nte_prior`].
pub fn smoothed_shares(counts: &[u16; HOURS_PER_WEEK]) -> [f64; HOURS_PER_WEEK] {
    let total: f64 =
        counts.iter().map(|&c| f64::from(c)).sum::<f64>() + PSEUDO_COUNT * HOURS_PER_WEEK as f64;
    let mut out = [0.0; HOURS_PER_WEEK];
    for (s, &c) in out.iter_mut().zip(counts) {
        *s = (f64::from(c) + PSEUDO_COUNT) / total;
    }
    out
}

/// The night-time-economy hour-of-week prior: 168 shares summing to 1, Monday 00:00 local =
/// hour 0, from Houston's 2010 bar / night club offences (see the module docs). Label it
/// with [`NTE_PRIOR_LABEL`] wherever it is used.
///
/// ```
/// use planner::hotspots::prior::nte_prior;
/// let p = nte_prior();
/// assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
/// // Saturday 01:00 is far likelier than Tuesday 10:00.
/// assert!(p[5 * 24 + 1] > 20.0 * p[24 + 10]);
/// ```
pub fn nte_prior() -> [f64; HOURS_PER_WEEK] {
    smoothed_shares(&HOUSTON_NTE_COUNTS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hotspots::profile::{ProfileSource, hour_profiles};
    use crate::time::london;

    #[test]
    fn counts_total_and_shares_sum_to_one() {
        let total: u32 = HOUSTON_NTE_COUNTS.iter().map(|&c| u32::from(c)).sum();
        assert_eq!(total, 1917);
        let p = nte_prior();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(p.iter().all(|s| *s > 0.0));
        // An empty hour gets 0.5 / 2001; the busiest (Sunday 01:00, 94) 94.5 / 2001.
        assert_eq!(p[7], 0.5 / 2001.0);
        assert_eq!(p[6 * 24 + 1], 94.5 / 2001.0);
        let top = (0..HOURS_PER_WEEK)
            .max_by(|&a, &b| p[a].total_cmp(&p[b]))
            .unwrap();
        assert_eq!(top, 6 * 24 + 1);
    }

    #[test]
    fn it_works_as_the_fallback_of_hour_profiles() {
        let prof = hour_profiles(&[], &london(), &nte_prior()).unwrap();
        let area = prof.area();
        assert_eq!(area.source, ProfileSource::Prior);
        for (a, b) in area.shares.iter().zip(nte_prior()) {
            assert!((a - b).abs() < 1e-15);
        }
    }
}
