//! Step 7: a zone's risk by hour of the week, and for the slots of a night.
//!
//! The rota puts officers where the risk is *when* it is there, in 15-minute slots. A zone's
//! risk is its total score spread over the week by the pooled hour-of-week profile of its
//! cells ([`crate::hotspots::profile::HourProfiles::pooled`]):
//! `risk_by_hour[h] = total x share[h]`, so the 168 values sum to the total. Where the zone
//! has no timed incidents (police.uk data has months only) the shares are the prior's, and
//! the zone keeps the [`ProfileSource`](crate::hotspots::profile::ProfileSource) so outputs can say the timing is a prior, not local
//! evidence.
//!
//! A slot's risk is the zone's risk in the hour(s) of the week it overlaps, prorated by the
//! time it spends in each (risk is taken as even within an hour):
//! `risk(slot) = sum over h of risk_by_hour[h] x (minutes of the slot in local hour h) / 60`.
//! The slot is walked as real elapsed time from its start instant, each instant read in the
//! force's zone, so daylight-saving changes come out right without special cases:
//!
//! - the night the clocks go back, local 01:00-01:59 happens twice and each of the two real
//!   hours carries Sunday 01:00's hourly risk (the night has 13 hours of risk);
//! - the night they go forward, 01:00-01:59 does not exist and the slot starting at
//!   01:00 UTC is in 02:00 BST's hour (the night has 11).
//!
//! Over a week without a change, slots tiling the week sum to the zone's total.

use super::Zone;
use crate::hotspots::profile::{HOURS_PER_WEEK, HourProfile, hour_of_week};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};

/// `total x share[h]` for every hour of the week.
pub fn risk_by_hour(total: f64, profile: &HourProfile) -> [f64; HOURS_PER_WEEK] {
    let mut out = [0.0; HOURS_PER_WEEK];
    for (r, s) in out.iter_mut().zip(profile.shares.iter()) {
        *r = total * s;
    }
    out
}

/// The zone's risk in each slot of `slot_minutes` starting at `slot_starts` (instants), read
/// in zone `tz`: see the module docs. One value per slot, in order.
///
/// ```
/// use planner::zones::risk::slot_risk;
/// let tz = jiff::tz::TimeZone::get("Europe/London").unwrap();
/// let mut by_hour = [0.0; 168];
/// by_hour[4 * 24 + 23] = 8.0; // Friday 23:00-23:59
/// // Friday 7 June 2024, 22:50 and 23:50 BST, 15-minute slots.
/// let slots = ["2024-06-07T21:50:00Z".parse().unwrap(), "2024-06-07T22:50:00Z".parse().unwrap()];
/// assert_eq!(slot_risk(&by_hour, &slots, 15, &tz), vec![8.0 * 5.0 / 60.0, 8.0 * 10.0 / 60.0]);
/// ```
pub fn slot_risk(
    risk_by_hour: &[f64; HOURS_PER_WEEK],
    slot_starts: &[Timestamp],
    slot_minutes: u32,
    tz: &TimeZone,
) -> Vec<f64> {
    let length = SignedDuration::from_mins(i64::from(slot_minutes));
    slot_starts
        .iter()
        .map(|&start| {
            let end = start.saturating_add(length).unwrap_or(Timestamp::MAX);
            let mut cur = start;
            let mut risk = 0.0;
            while cur < end {
                let next = next_hour_boundary(cur, tz).min(end);
                let hours = next.duration_since(cur).as_secs_f64() / 3600.0;
                risk += risk_by_hour[hour_of_week(cur, tz)] * hours;
                if next <= cur {
                    break; // at Timestamp::MAX; cannot happen for real dates
                }
                cur = next;
            }
            risk
        })
        .collect()
}

/// [`slot_risk`] of a zone: what the rota needs per zone and slot (see [`super::zones`] for
/// an example).
pub fn risk_for_slots(
    zone: &Zone,
    slot_starts: &[Timestamp],
    slot_minutes: u32,
    tz: &TimeZone,
) -> Vec<f64> {
    slot_risk(&zone.risk_by_hour, slot_starts, slot_minutes, tz)
}

/// The first instant after `t` at which the local hour may change: the next local hour
/// boundary at the current offset, or the zone's next offset transition if that is sooner.
fn next_hour_boundary(t: Timestamp, tz: &TimeZone) -> Timestamp {
    let offset = i128::from(tz.to_offset(t).seconds()) * 1_000_000_000;
    let hour = 3_600_000_000_000i128;
    let local = t.as_nanosecond() + offset;
    let boundary = (local.div_euclid(hour) + 1) * hour - offset;
    let mut next = Timestamp::from_nanosecond(boundary).unwrap_or(Timestamp::MAX);
    if let Some(tr) = tz.following(t).next() {
        let at = tr.timestamp();
        if at > t && at < next {
            next = at;
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::london;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn slots(start: &str, n: i64, minutes: i64) -> Vec<Timestamp> {
        (0..n)
            .map(|k| {
                ts(start)
                    .checked_add(SignedDuration::from_mins(minutes * k))
                    .unwrap()
            })
            .collect()
    }

    /// Distinct values per hour so that any mix-up shows: hour h carries 1000 + h.
    fn by_hour() -> [f64; HOURS_PER_WEEK] {
        let mut r = [0.0; HOURS_PER_WEEK];
        for (h, v) in r.iter_mut().enumerate() {
            *v = 1000.0 + h as f64;
        }
        r
    }

    const SAT: usize = 5 * 24;
    const SUN: usize = 6 * 24;

    #[test]
    fn the_night_the_clocks_go_back() {
        // Saturday 26 October 2024 18:00 BST (17:00 UTC) to Sunday 06:00 GMT: 13 hours, 52
        // slots; local 01:00-01:59 happens twice (00:00-00:59 UTC in BST, 01:00-01:59 UTC in
        // GMT), both Sunday hour 1.
        let s = slots("2024-10-26T17:00:00Z", 52, 15);
        let r = slot_risk(&by_hour(), &s, 15, &london());
        assert_eq!(r.len(), 52);
        // Worked by hand, slot k starts at 17:00 UTC + 15k minutes:
        // k = 0..3 -> Sat 18:xx BST (hour SAT + 18); k = 24..27 -> Sun 00:xx BST (UTC
        // 23:00-23:59); k = 28..31 -> Sun 01:xx BST (UTC 00:xx); k = 32..35 -> Sun 01:xx GMT
        // (UTC 01:xx); k = 36..39 -> Sun 02:xx GMT; k = 48..51 -> Sun 05:xx GMT.
        let quarter = |h: usize| (1000.0 + h as f64) / 4.0;
        let want = |k: usize| match k {
            0..=23 => quarter(SAT + 18 + k / 4),
            24..=27 => quarter(SUN),
            28..=35 => quarter(SUN + 1),
            _ => quarter(SUN + 2 + (k - 36) / 4),
        };
        for (k, v) in r.iter().enumerate() {
            assert!((v - want(k)).abs() < 1e-9, "slot {k}: {v} vs {}", want(k));
        }
        assert_eq!(want(51), quarter(SUN + 5));
        // The night's total: the two 01:xx hours both count.
        let total: f64 = r.iter().sum();
        let hours: f64 = (18..24)
            .map(|h| 1000.0 + (SAT + h) as f64)
            .chain([0, 1, 1, 2, 3, 4, 5].map(|h| 1000.0 + (SUN + h) as f64))
            .sum();
        assert!((total - hours).abs() < 1e-9);
    }

    #[test]
    fn the_night_the_clocks_go_forward() {
        // Saturday 30 March 2024 18:00 GMT to Sunday 06:00 BST (05:00 UTC): 11 hours.
        let s = slots("2024-03-30T18:00:00Z", 44, 15);
        let r = slot_risk(&by_hour(), &s, 15, &london());
        let quarter = |h: usize| (1000.0 + h as f64) / 4.0;
        // UTC 00:xx is Sun 00:xx GMT; UTC 01:xx is Sun 02:xx BST: hour 1 never occurs.
        assert!((r[24] - quarter(SUN)).abs() < 1e-9);
        assert!((r[28] - quarter(SUN + 2)).abs() < 1e-9);
        assert!((r[43] - quarter(SUN + 5)).abs() < 1e-9);
        assert!(r.iter().all(|v| (v - quarter(SUN + 1)).abs() > 1e-9));
    }

    #[test]
    fn slots_straddling_an_hour_are_prorated_by_minutes() {
        let tz = london();
        // Friday 7 June 2024 22:50 BST for 15 minutes: 10 minutes of Fri 22:xx, 5 of 23:xx.
        let fri = 4 * 24;
        let r = slot_risk(&by_hour(), &[ts("2024-06-07T21:50:00Z")], 15, &tz);
        let want =
            (1000.0 + (fri + 22) as f64) * 10.0 / 60.0 + (1000.0 + (fri + 23) as f64) * 5.0 / 60.0;
        assert!((r[0] - want).abs() < 1e-9, "{} vs {want}", r[0]);
        // A 90-minute slot from Sunday 23:30 BST crosses midnight into Monday hour 0 (the
        // week wraps): 30 minutes of hour 167, then 60 of hour 0.
        let r = slot_risk(&by_hour(), &[ts("2024-06-09T22:30:00Z")], 90, &tz);
        let want = (1000.0 + 167.0) * 0.5 + 1000.0;
        assert!((r[0] - want).abs() < 1e-9, "{} vs {want}", r[0]);
        // Seconds count too: a slot starting at 22:59:30 has 30 s in hour 22.
        let r = slot_risk(&by_hour(), &[ts("2024-06-07T21:59:30Z")], 1, &tz);
        let want = ((1000.0 + (fri + 22) as f64) + (1000.0 + (fri + 23) as f64)) * 30.0 / 3600.0;
        assert!((r[0] - want).abs() < 1e-9);
    }

    #[test]
    fn a_whole_week_sums_to_the_total_and_zero_slots_are_empty() {
        let tz = london();
        let mut by_hour = [0.0; HOURS_PER_WEEK];
        for (h, v) in by_hour.iter_mut().enumerate() {
            *v = ((h * 37) % 11) as f64;
        }
        // Monday 3 June 2024 00:00 BST: 672 quarter-hour slots, no DST change.
        let s = slots("2024-06-02T23:00:00Z", 672, 15);
        let total: f64 = slot_risk(&by_hour, &s, 15, &tz).iter().sum();
        assert!((total - by_hour.iter().sum::<f64>()).abs() < 1e-9);
        assert_eq!(slot_risk(&by_hour, &s[..3], 0, &tz), vec![0.0; 3]);
        assert!(slot_risk(&by_hour, &[], 15, &tz).is_empty());
    }

    #[test]
    fn half_hour_zones_are_handled_exactly() {
        // India is UTC+05:30: local hours start at xx:30 UTC.
        let tz = TimeZone::get("Asia/Kolkata").unwrap();
        // Friday 7 June 2024 22:50 IST = 17:20 UTC.
        let r = slot_risk(&by_hour(), &[ts("2024-06-07T17:20:00Z")], 15, &tz);
        let fri = 4 * 24;
        let want =
            (1000.0 + (fri + 22) as f64) * 10.0 / 60.0 + (1000.0 + (fri + 23) as f64) * 5.0 / 60.0;
        assert!((r[0] - want).abs() < 1e-9);
    }
}
