//! The night cut into equal slots of real time, DST-correct.
//!
//! A slot is `slot_minutes` of elapsed time, not of wall-clock time: the night of Saturday
//! 30 March 2024 in Europe/London (18:00 to 06:00 local) lasts 11 hours and has 44
//! quarter-hour slots; the night of Saturday 26 October 2024 lasts 13 hours and has 52, two
//! of which start at a local time that reads 01:00 (the first at +01:00, the second at
//! +00:00). The night's bounds come from [`WindowSpec::night_bounds`], so a rota's night is
//! exactly the night the hotspot scoring and the zones were computed for.

use super::RotaError;
use crate::window::{DailyRange, Days, WindowSpec};
use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, Zoned};
use serde::{Deserialize, Serialize};

/// One planning slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// Start instant (UTC).
    pub start_utc: Timestamp,
    /// End instant (UTC, exclusive).
    pub end_utc: Timestamp,
    /// Start in the force's zone, with its offset (RFC 9557, e.g.
    /// `2024-10-27T01:30:00+00:00[Europe/London]`), so a repeated hour is unambiguous.
    pub start_local: Zoned,
}

/// Minutes after midnight of a local time.
pub(crate) fn minutes_of(t: Time) -> u16 {
    t.hour() as u16 * 60 + t.minute() as u16
}

/// The instants `[start, end)` of a local range that starts on `date` (an end at or before
/// the start runs into the next day), resolved at DST changes as windows are (see
/// [`crate::window`]: a start in a skipped hour is the jump, a start in a repeated hour its
/// first pass, an end in a repeated hour its second pass).
pub(crate) fn local_range(
    date: Date,
    tz: &TimeZone,
    start: Time,
    end: Time,
) -> Option<(Timestamp, Timestamp)> {
    let range = DailyRange {
        days: Days::ALL,
        start: minutes_of(start),
        end: minutes_of(end),
    };
    WindowSpec::from_ranges(vec![range]).night_bounds(date, tz)
}

/// The slots of the night that starts on local `date`, from `start_local` to `end_local`
/// (an end at or before the start runs past midnight), every `slot_minutes` of real time.
/// A last part shorter than a slot is left out.
///
/// ```
/// use jiff::civil::{date, time};
/// use jiff::tz::TimeZone;
/// use planner::rota::night_slots;
///
/// let london = TimeZone::get("Europe/London").unwrap();
/// let spring = night_slots(date(2024, 3, 30), &london, time(18, 0, 0, 0), time(6, 0, 0, 0), 15);
/// let autumn = night_slots(date(2024, 10, 26), &london, time(18, 0, 0, 0), time(6, 0, 0, 0), 15);
/// assert_eq!(spring.unwrap().len(), 44);
/// assert_eq!(autumn.unwrap().len(), 52);
/// ```
pub fn night_slots(
    date: Date,
    tz: &TimeZone,
    start_local: Time,
    end_local: Time,
    slot_minutes: u32,
) -> Result<Vec<Slot>, RotaError> {
    if slot_minutes == 0 || slot_minutes > 24 * 60 {
        return Err(RotaError::Params(format!(
            "slot length {slot_minutes} minutes must be between 1 and 1440"
        )));
    }
    let (start, end) = local_range(date, tz, start_local, end_local).ok_or_else(|| {
        RotaError::Params(format!("the night of {date} has no start or end in {tz:?}"))
    })?;
    let step = SignedDuration::from_mins(i64::from(slot_minutes));
    let mut slots = Vec::new();
    let mut t = start;
    while let Some(next) = t.checked_add(step).ok().filter(|n| *n <= end) {
        slots.push(Slot {
            start_utc: t,
            end_utc: next,
            start_local: t.to_zoned(tz.clone()),
        });
        t = next;
    }
    Ok(slots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::{date, time};

    fn london() -> TimeZone {
        crate::time::london()
    }

    #[test]
    fn an_ordinary_night_has_48_quarter_hours() {
        let s = night_slots(
            date(2024, 6, 7),
            &london(),
            time(18, 0, 0, 0),
            time(6, 0, 0, 0),
            15,
        )
        .unwrap();
        assert_eq!(s.len(), 48);
        assert_eq!(s[0].start_utc.to_string(), "2024-06-07T17:00:00Z");
        assert_eq!(s[47].end_utc.to_string(), "2024-06-08T05:00:00Z");
        assert!(s.windows(2).all(|w| w[0].end_utc == w[1].start_utc));
    }

    #[test]
    fn the_spring_forward_night_has_44_slots() {
        // Saturday 30 March 2024: clocks go from 01:00 GMT to 02:00 BST.
        let s = night_slots(
            date(2024, 3, 30),
            &london(),
            time(18, 0, 0, 0),
            time(6, 0, 0, 0),
            15,
        )
        .unwrap();
        assert_eq!(s.len(), 44);
        assert_eq!(s[0].start_utc.to_string(), "2024-03-30T18:00:00Z");
        assert_eq!(s[43].end_utc.to_string(), "2024-03-31T05:00:00Z");
        // 00:45 GMT is followed by 02:00 BST.
        let locals: Vec<String> = s
            .iter()
            .map(|x| x.start_local.strftime("%H:%M%:z").to_string())
            .collect();
        let i = locals.iter().position(|l| l == "00:45+00:00").unwrap();
        assert_eq!(locals[i + 1], "02:00+01:00");
    }

    #[test]
    fn the_fall_back_night_has_52_slots_and_two_one_thirties() {
        // Saturday 26 October 2024: clocks go from 02:00 BST back to 01:00 GMT.
        let s = night_slots(
            date(2024, 10, 26),
            &london(),
            time(18, 0, 0, 0),
            time(6, 0, 0, 0),
            15,
        )
        .unwrap();
        assert_eq!(s.len(), 52);
        assert_eq!(s[0].start_utc.to_string(), "2024-10-26T17:00:00Z");
        assert_eq!(s[51].end_utc.to_string(), "2024-10-27T06:00:00Z");
        let one_thirty: Vec<String> = s
            .iter()
            .filter(|x| x.start_local.strftime("%H:%M").to_string() == "01:30")
            .map(|x| x.start_local.offset().to_string())
            .collect();
        assert_eq!(one_thirty, ["+01", "+00"]);
        // The serialised local start carries the offset and the zone.
        let json = serde_json::to_string(&s[0]).unwrap();
        assert!(
            json.contains("2024-10-26T18:00:00+01:00[Europe/London]"),
            "{json}"
        );
    }

    #[test]
    fn slot_lengths_other_than_15_and_a_partial_last_slot() {
        let s = night_slots(
            date(2024, 6, 7),
            &london(),
            time(18, 0, 0, 0),
            time(19, 50, 0, 0),
            30,
        )
        .unwrap();
        assert_eq!(s.len(), 3); // 18:00, 18:30, 19:00; 19:30-19:50 is too short
        assert!(
            night_slots(
                date(2024, 6, 7),
                &london(),
                time(18, 0, 0, 0),
                time(6, 0, 0, 0),
                0
            )
            .is_err()
        );
    }
}
