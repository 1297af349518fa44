//! Before and after training: the incidents attributed to a venue in equal windows before
//! and after its first training, beside the same figures for comparable untrained venues.
//!
//! The liaison officer asks "did training make a difference?". A single venue's numbers are
//! small and noisy, and venues are often trained after a bad spell, which tends to ease by
//! itself (regression to the mean). So the answer is counts, never only a percentage, beside
//! what happened at untrained venues over the same weeks, with the chance of such a split
//! if nothing had changed.
//!
//! Definitions, so every figure can be checked by hand:
//!
//! - **Attribution**: as [`venue_risk`](crate::venue_risk::venue_risk): an incident goes
//!   to the nearest of *all* venues within the radius (default 50 m).
//! - **Training date** `T`: the venue's first training record.
//! - **Granularity**: days when every incident given has an exact time; whole local
//!   calendar months when any is month-only (police.uk), exact ones then counting by their
//!   local month.
//! - **Days**: the data runs from the local date of the earliest incident to that of the
//!   latest. The window length is `w = min(days from the first data day to T - 1, days
//!   from T to the last data day, the days in the 12 months before T)`; before is
//!   `T - w ..= T - 1`, after is `T ..= T + w - 1` (the training day counts after: the
//!   sessions happen by day, the incidents at night).
//! - **Months**: the training month `M` is left out of both windows (its incidents cannot
//!   be placed before or after). `k = min(months of data before M, months of data after M,
//!   12)`; before is `M - k ..= M - 1`, after is `M + 1 ..= M + k`.
//! - **Untrained**: another venue with no training record dated on or before the last day
//!   of the after window.
//! - **Comparisons**: (1) the untrained venues in the venue's district (all untrained
//!   venues when it has none); (2) the untrained venues, anywhere, whose before count is
//!   within half the venue's before count of it (at least within 1): venues that started
//!   from a similar level, the usual guard against regression to the mean. Each reports
//!   the number of venues and their summed before and after counts.
//! - **p**: the two-sided exact binomial test of the venue's after count against its
//!   before count (`n = before + after`, `p = 1/2` under no change): the chance of a split
//!   at least this uneven if the rate had not changed. It ignores the trend the
//!   comparisons show.

use crate::hotspots::ScoringPoint;
use crate::time::YearMonth;
use crate::venue_risk::{Venue, VenueRiskError, VenueRiskParams, venue_risk};
use jiff::ToSpan;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::Serialize;

/// The longest window, months.
pub const MAX_WINDOW_MONTHS: i32 = 12;

/// A venue with what the comparison needs.
#[derive(Debug, Clone, PartialEq)]
pub struct ImpactVenue {
    pub venue: Venue,
    /// Local authority district, if known.
    pub district: Option<String>,
    /// The date of its first training record, if any.
    pub first_trained: Option<Date>,
}

/// Days or whole months.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Day,
    Month,
}

/// The two windows, local dates inclusive.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Windows {
    pub granularity: Granularity,
    /// Days or months in each window.
    pub length: u32,
    pub before_from: Date,
    pub before_to: Date,
    pub after_from: Date,
    pub after_to: Date,
    /// Months: the training month, in neither window (`YYYY-MM`).
    pub excluded_month: Option<String>,
    /// What set the length: `12 months`, `data before training` or `data after training`.
    pub limited_by: &'static str,
}

/// Incidents in each window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub before: u32,
    pub after: u32,
}

/// A comparison group's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Which venues, in words.
    pub rule: String,
    pub venues: u32,
    /// Summed over the group's venues.
    pub before: u32,
    pub after: u32,
}

/// The before and after figures of one trained venue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Impact {
    pub trained_on: Date,
    /// The local dates of the earliest and latest incident given (months: their first and
    /// last days).
    pub data_from: Option<Date>,
    pub data_to: Option<Date>,
    /// `None` when there is no data on one side of the training date.
    pub windows: Option<Windows>,
    pub venue: Counts,
    /// Same district, then similar before count.
    pub comparisons: Vec<Comparison>,
    /// Two-sided exact binomial p of the venue's split; `None` without windows or with no
    /// incident in them.
    pub p_value: Option<f64>,
}

fn month_index(m: YearMonth) -> i32 {
    i32::from(m.year) * 12 + i32::from(m.month) - 1
}

fn month_of(index: i32) -> YearMonth {
    YearMonth {
        year: index.div_euclid(12) as i16,
        month: (index.rem_euclid(12) + 1) as i8,
    }
}

fn days_between(from: Date, to: Date) -> i64 {
    to.since(from).map_or(0, |s| i64::from(s.get_days()))
}

/// Where an incident falls: before, after, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Before,
    After,
    Neither,
}

/// Two-sided exact binomial test of `a` against `b` with p = 1/2.
pub fn binomial_two_sided(a: u32, b: u32) -> f64 {
    let n = a + b;
    if n == 0 {
        return 1.0;
    }
    let k = a.min(b);
    // ln P(X = i) = ln C(n, i) - n ln 2, built up term by term; summed by log-sum-exp.
    let mut ln_p = -f64::from(n) * std::f64::consts::LN_2;
    let mut terms = vec![ln_p];
    for i in 1..=k {
        ln_p += (f64::from(n - i + 1) / f64::from(i)).ln();
        terms.push(ln_p);
    }
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let tail = max.exp() * terms.iter().map(|t| (t - max).exp()).sum::<f64>();
    (2.0 * tail).min(1.0)
}

/// The before and after figures of `venues[target]`; see the module docs. The incidents
/// are those to count (already filtered by category), projected like the venues.
pub fn training_impact(
    venues: &[ImpactVenue],
    target: usize,
    incidents: &[ScoringPoint],
    radius: f64,
    tz: &TimeZone,
) -> Result<Option<Impact>, VenueRiskError> {
    let Some(trained_on) = venues.get(target).and_then(|v| v.first_trained) else {
        return Ok(None);
    };
    let months = incidents.iter().any(|p| p.occurred.instant().is_none());
    let dates: Vec<Date> = incidents
        .iter()
        .filter_map(|p| p.occurred.instant())
        .map(|t| t.to_zoned(tz.clone()).date())
        .collect();
    let month_indices: Vec<i32> = incidents
        .iter()
        .map(|p| month_index(p.occurred.year_month(tz)))
        .collect();
    let (data_from, data_to) = if months {
        (
            month_indices.iter().min().map(|&m| month_of(m).first_day()),
            month_indices
                .iter()
                .max()
                .map(|&m| month_of(m).first_day().last_of_month()),
        )
    } else {
        (dates.iter().min().copied(), dates.iter().max().copied())
    };
    let windows = match (data_from, data_to) {
        (Some(first), Some(last)) if months => {
            let m = month_index(YearMonth {
                year: trained_on.year(),
                month: trained_on.month(),
            });
            let lo = month_index(YearMonth {
                year: first.year(),
                month: first.month(),
            });
            let hi = month_index(YearMonth {
                year: last.year(),
                month: last.month(),
            });
            let before = (m - lo).max(0);
            let after = (hi - m).max(0);
            let k = before.min(after).min(MAX_WINDOW_MONTHS);
            (k > 0).then(|| Windows {
                granularity: Granularity::Month,
                length: k as u32,
                before_from: month_of(m - k).first_day(),
                before_to: month_of(m - 1).first_day().last_of_month(),
                after_from: month_of(m + 1).first_day(),
                after_to: month_of(m + k).first_day().last_of_month(),
                excluded_month: Some(format!(
                    "{:04}-{:02}",
                    trained_on.year(),
                    trained_on.month()
                )),
                limited_by: limit(k == MAX_WINDOW_MONTHS, k == before),
            })
        }
        (Some(first), Some(last)) => {
            let before = days_between(first, trained_on).max(0);
            let after = (days_between(trained_on, last) + 1).max(0);
            let year = trained_on
                .checked_sub(MAX_WINDOW_MONTHS.months())
                .map_or(365, |d| days_between(d, trained_on));
            let w = before.min(after).min(year);
            let shift = |d: Date, n: i64| d.checked_add(n.days()).unwrap_or(d);
            (w > 0).then(|| Windows {
                granularity: Granularity::Day,
                length: w as u32,
                before_from: shift(trained_on, -w),
                before_to: shift(trained_on, -1),
                after_from: trained_on,
                after_to: shift(trained_on, w - 1),
                excluded_month: None,
                limited_by: limit(w == year, w == before),
            })
        }
        _ => None,
    };
    let Some(win) = windows else {
        return Ok(Some(Impact {
            trained_on,
            data_from,
            data_to,
            windows: None,
            venue: Counts {
                before: 0,
                after: 0,
            },
            comparisons: vec![],
            p_value: None,
        }));
    };
    let side = |p: &ScoringPoint| -> Side {
        let (first, last) = match p.occurred.instant() {
            Some(t) if !months => {
                let d = t.to_zoned(tz.clone()).date();
                (d, d)
            }
            _ => {
                let m = p.occurred.year_month(tz).first_day();
                (m, m.last_of_month())
            }
        };
        if first >= win.before_from && last <= win.before_to {
            Side::Before
        } else if first >= win.after_from && last <= win.after_to {
            Side::After
        } else {
            Side::Neither
        }
    };
    let mut before_pts = Vec::new();
    let mut after_pts = Vec::new();
    for p in incidents {
        match side(p) {
            Side::Before => before_pts.push(*p),
            Side::After => after_pts.push(*p),
            Side::Neither => {}
        }
    }
    let plain: Vec<Venue> = venues.iter().map(|v| v.venue.clone()).collect();
    let params = VenueRiskParams {
        radius,
        tz: tz.clone(),
        months: Some(1.0),
        ..VenueRiskParams::default()
    };
    let per_venue = |pts: &[ScoringPoint]| -> Result<Vec<u32>, VenueRiskError> {
        let report = venue_risk(&plain, pts, &params)?;
        let mut counts = vec![0u32; venues.len()];
        for v in report.venues {
            counts[v.index] = v.count;
        }
        Ok(counts)
    };
    let before = per_venue(&before_pts)?;
    let after = per_venue(&after_pts)?;
    let untrained =
        |i: usize| i != target && venues[i].first_trained.is_none_or(|d| d > win.after_to);
    let group = |rule: String, keep: &dyn Fn(usize) -> bool| {
        let members: Vec<usize> = (0..venues.len())
            .filter(|&i| untrained(i) && keep(i))
            .collect();
        Comparison {
            rule,
            venues: members.len() as u32,
            before: members.iter().map(|&i| before[i]).sum(),
            after: members.iter().map(|&i| after[i]).sum(),
        }
    };
    let district = venues[target].district.clone();
    let same_district = match &district {
        Some(d) => group(format!("untrained venues in {d}"), &|i| {
            venues[i].district.as_deref() == Some(d.as_str())
        }),
        None => group(
            "all untrained venues (this venue has no district)".into(),
            &|_| true,
        ),
    };
    let b = before[target];
    let tolerance = (f64::from(b) / 2.0).max(1.0);
    let lo = (f64::from(b) - tolerance).ceil().max(0.0) as u32;
    let hi = (f64::from(b) + tolerance).floor() as u32;
    let similar = group(
        format!("untrained venues with {lo} to {hi} incidents in the before window"),
        &|i| (lo..=hi).contains(&before[i]),
    );
    let venue = Counts {
        before: b,
        after: after[target],
    };
    Ok(Some(Impact {
        trained_on,
        data_from,
        data_to,
        p_value: (venue.before + venue.after > 0)
            .then(|| binomial_two_sided(venue.before, venue.after)),
        windows: Some(win),
        venue,
        comparisons: vec![same_district, similar],
    }))
}

fn limit(cap: bool, before: bool) -> &'static str {
    if cap {
        "12 months"
    } else if before {
        "data before training"
    } else {
        "data after training"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::category::Category;
    use crate::time::OccurredAt;
    use jiff::civil::date;

    const X0: f64 = 504_000.0;
    const Y0: f64 = 221_000.0;

    fn venue(id: &str, x: f64, district: &str, trained: Option<Date>) -> ImpactVenue {
        ImpactVenue {
            venue: Venue {
                id: id.into(),
                x,
                y: Y0,
            },
            district: Some(district.into()),
            first_trained: trained,
        }
    }

    fn at(x: f64, s: &str) -> ScoringPoint {
        ScoringPoint {
            x,
            y: Y0,
            category: Category::Violence,
            occurred: OccurredAt::Exact(s.parse().unwrap()),
        }
    }

    fn month(x: f64, year: i16, m: i8) -> ScoringPoint {
        ScoringPoint {
            x,
            y: Y0,
            category: Category::Violence,
            occurred: OccurredAt::Month(YearMonth { year, month: m }),
        }
    }

    #[test]
    fn exact_binomial_matches_hand_values() {
        // n = 4, split 0/4: 2 * (1/16) = 0.125. Split 1/3: 2 * 5/16 = 0.625.
        assert!((binomial_two_sided(0, 4) - 0.125).abs() < 1e-12);
        assert!((binomial_two_sided(3, 1) - 0.625).abs() < 1e-12);
        assert_eq!(binomial_two_sided(2, 2), 1.0);
        assert_eq!(binomial_two_sided(0, 0), 1.0);
        // Large n does not underflow: 500 vs 700 is far from chance.
        let p = binomial_two_sided(500, 700);
        assert!(p > 0.0 && p < 1e-6, "{p}");
    }

    #[test]
    fn day_windows_by_hand() {
        let tz = TimeZone::UTC;
        let t = date(2024, 3, 1);
        let venues = [
            venue("a", X0, "Luton", Some(t)),
            venue("b", X0 + 1000.0, "Luton", None),
            venue("c", X0 + 2000.0, "Luton", Some(date(2024, 3, 10))), // trained inside: excluded
            venue("d", X0 + 3000.0, "Bedford", None),
        ];
        let mut pts = vec![
            // Data from 1 Feb to 20 Mar 2024: 29 days before T, 20 days from T on: w = 20.
            at(X0 + 5000.0, "2024-02-01T12:00:00Z"),
            at(X0 + 5000.0, "2024-03-20T12:00:00Z"),
            // a: 3 in the before window (10 Feb ..= 29 Feb), 1 too early (9 Feb), 1 after.
            at(X0, "2024-02-10T22:00:00Z"),
            at(X0 + 10.0, "2024-02-20T22:00:00Z"),
            at(X0 - 10.0, "2024-02-29T23:59:00Z"),
            at(X0, "2024-02-09T22:00:00Z"),
            at(X0, "2024-03-01T00:30:00Z"),
            // b: 2 before, 2 after.
            at(X0 + 1000.0, "2024-02-15T22:00:00Z"),
            at(X0 + 1000.0, "2024-02-16T22:00:00Z"),
            at(X0 + 1000.0, "2024-03-05T22:00:00Z"),
            at(X0 + 1040.0, "2024-03-06T22:00:00Z"),
            // d: 1 before, 0 after.
            at(X0 + 3000.0, "2024-02-15T22:00:00Z"),
        ];
        // c: 5 after; not counted in any comparison.
        for _ in 0..5 {
            pts.push(at(X0 + 2000.0, "2024-03-15T22:00:00Z"));
        }
        let r = training_impact(&venues, 0, &pts, 50.0, &tz)
            .unwrap()
            .unwrap();
        let w = r.windows.clone().unwrap();
        assert_eq!((w.granularity, w.length), (Granularity::Day, 20));
        assert_eq!(
            (w.before_from, w.before_to),
            (date(2024, 2, 10), date(2024, 2, 29))
        );
        assert_eq!(
            (w.after_from, w.after_to),
            (date(2024, 3, 1), date(2024, 3, 20))
        );
        assert_eq!(w.limited_by, "data after training");
        assert_eq!(
            r.venue,
            Counts {
                before: 3,
                after: 1
            }
        );
        let district = &r.comparisons[0];
        assert_eq!(district.rule, "untrained venues in Luton");
        assert_eq!(
            (district.venues, district.before, district.after),
            (1, 2, 2)
        );
        // Similar: before within 1.5 of 3, so 2 to 4: b only (d has 1).
        let similar = &r.comparisons[1];
        assert_eq!((similar.venues, similar.before, similar.after), (1, 2, 2));
        assert!(similar.rule.contains("2 to 4"), "{}", similar.rule);
        assert!((r.p_value.unwrap() - 0.625).abs() < 1e-12);
        // Never trained: no figures.
        assert!(
            training_impact(&venues, 1, &pts, 50.0, &tz)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn month_windows_leave_the_training_month_out() {
        let tz = TimeZone::UTC;
        // Trained 14 May 2024; data January to July 2024: 4 months before, 2 after: k = 2.
        let venues = [
            venue("a", X0, "Luton", Some(date(2024, 5, 14))),
            venue("b", X0 + 1000.0, "Luton", None),
        ];
        let pts = [
            month(X0 + 5000.0, 2024, 1),
            month(X0, 2024, 2), // outside the before window (March, April)
            month(X0, 2024, 3),
            month(X0, 2024, 4),
            month(X0, 2024, 4),
            month(X0, 2024, 5), // the training month: neither
            month(X0, 2024, 6),
            month(X0, 2024, 7),
            month(X0 + 1000.0, 2024, 7),
            // An exact incident counts by its month: 30 April 23:00 UTC, before.
            at(X0, "2024-04-30T23:00:00Z"),
        ];
        let r = training_impact(&venues, 0, &pts, 50.0, &tz)
            .unwrap()
            .unwrap();
        let w = r.windows.clone().unwrap();
        assert_eq!((w.granularity, w.length), (Granularity::Month, 2));
        assert_eq!(
            (w.before_from, w.before_to),
            (date(2024, 3, 1), date(2024, 4, 30))
        );
        assert_eq!(
            (w.after_from, w.after_to),
            (date(2024, 6, 1), date(2024, 7, 31))
        );
        assert_eq!(w.excluded_month.as_deref(), Some("2024-05"));
        assert_eq!(w.limited_by, "data after training");
        assert_eq!(
            r.venue,
            Counts {
                before: 4,
                after: 2
            }
        );
        assert_eq!(
            (
                r.comparisons[0].venues,
                r.comparisons[0].before,
                r.comparisons[0].after
            ),
            (1, 0, 1)
        );
        // Similar to 4: 2 to 6, and b had 0 before: nobody.
        assert_eq!(r.comparisons[1].venues, 0);
    }

    #[test]
    fn no_data_after_training_gives_no_windows() {
        let tz = TimeZone::UTC;
        let venues = [venue("a", X0, "Luton", Some(date(2025, 1, 1)))];
        let pts = [at(X0, "2024-06-01T22:00:00Z")];
        let r = training_impact(&venues, 0, &pts, 50.0, &tz)
            .unwrap()
            .unwrap();
        assert!(r.windows.is_none() && r.p_value.is_none());
        assert_eq!(r.data_to, Some(date(2024, 6, 1)));
        // And the 12-month cap on long data.
        let venues = [venue("a", X0, "Luton", Some(date(2022, 1, 1)))];
        let pts = [
            at(X0, "2019-01-01T22:00:00Z"),
            at(X0, "2025-01-01T22:00:00Z"),
        ];
        let r = training_impact(&venues, 0, &pts, 50.0, &tz)
            .unwrap()
            .unwrap();
        let w = r.windows.unwrap();
        assert_eq!((w.length, w.limited_by), (365, "12 months"));
        assert_eq!(w.before_from, date(2021, 1, 1));
    }
}
