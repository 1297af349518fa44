//! When an incident happened, as precisely as its source says.
//!
//! Times are kept as UTC instants and read in the force's time zone. Some sources
//! (police.uk) publish only the month: such incidents count for place, never for hour, so
//! the type keeps the two cases apart instead of inventing a day or an hour.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The time of an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OccurredAt {
    /// An exact instant (minute or hour resolution at the source, stored as UTC).
    Exact(Timestamp),
    /// Only the calendar month is known (local to the force).
    Month(YearMonth),
}

impl OccurredAt {
    /// The exact instant, if the source gave one.
    pub fn instant(&self) -> Option<Timestamp> {
        match self {
            OccurredAt::Exact(t) => Some(*t),
            OccurredAt::Month(_) => None,
        }
    }

    /// The local month this incident falls in, in `tz`.
    pub fn year_month(&self, tz: &TimeZone) -> YearMonth {
        match self {
            OccurredAt::Exact(t) => {
                let d = t.to_zoned(tz.clone()).date();
                YearMonth {
                    year: d.year(),
                    month: d.month(),
                }
            }
            OccurredAt::Month(m) => *m,
        }
    }
}

/// A calendar month, as police.uk's `Month` column (`YYYY-MM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct YearMonth {
    pub year: i16,
    pub month: i8,
}

impl YearMonth {
    /// The first day of the month.
    pub fn first_day(self) -> Date {
        // year and month are validated on construction by `parse`.
        Date::new(self.year, self.month, 1).unwrap_or(Date::MIN)
    }

    /// Parses `YYYY-MM`.
    pub fn parse(s: &str) -> Result<YearMonth, TimeError> {
        let s = s.trim();
        let bad = || TimeError::Format {
            text: s.to_string(),
            expected: "YYYY-MM",
        };
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: i16 = y.parse().map_err(|_| bad())?;
        let month: i8 = m.parse().map_err(|_| bad())?;
        if !(1..=12).contains(&month) || !(1900..=2100).contains(&year) {
            return Err(bad());
        }
        Ok(YearMonth { year, month })
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Why a time could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// Not in any accepted format; the row should be rejected.
    #[error("unknown date format {text:?} (expected {expected})")]
    Format {
        text: String,
        expected: &'static str,
    },
    /// A local time that happened twice (the hour clocks go back). The source must give an
    /// offset (e.g. `+01:00` or `+00:00`) to say which.
    #[error(
        "{text:?} is ambiguous in {zone}: it happened twice when the clocks went back \
         (offsets {first} and {second}); add the UTC offset to say which"
    )]
    Ambiguous {
        text: String,
        zone: String,
        first: String,
        second: String,
    },
    /// A local time that never happened (the hour clocks go forward).
    #[error("{text:?} does not exist in {zone}: the clocks went forward past it")]
    Nonexistent { text: String, zone: String },
}

/// What to do with a local time that happened twice or never.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DstPolicy {
    /// Reject it with a clear error (the force CSV's rule: the file must say which).
    #[default]
    Reject,
    /// Take the earlier instant of a repeated hour and shift a skipped time forward.
    /// For sources known to publish local wall-clock times without offsets (Chicago).
    Compatible,
}

/// Reads a timestamp: RFC 3339 / ISO 8601 with an offset (`2024-03-01T23:30:00+00:00`,
/// `...Z`) is an exact instant; without an offset it is local time in `tz`
/// (`2024-03-01 23:30`, `2024-03-01T23:30:00`, `2024-03-01T23:30`).
pub fn parse_instant(text: &str, tz: &TimeZone, policy: DstPolicy) -> Result<Timestamp, TimeError> {
    let s = text.trim();
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    let dt = parse_civil(s).ok_or_else(|| TimeError::Format {
        text: s.to_string(),
        expected: "ISO 8601, e.g. 2024-03-01T23:30:00+00:00 or 2024-03-01 23:30 (local)",
    })?;
    local_to_instant(dt, s, tz, policy)
}

/// Reads a local wall-clock date-time with no offset.
pub fn parse_civil(s: &str) -> Option<DateTime> {
    if let Ok(dt) = s.parse::<DateTime>() {
        return Some(dt);
    }
    // "YYYY-MM-DD HH:MM" (Chicago) has no seconds; jiff wants them in some forms.
    let (d, t) = s.split_once([' ', 'T'])?;
    let date: Date = d.parse().ok()?;
    let time: jiff::civil::Time = t.parse().ok().or_else(|| format!("{t}:00").parse().ok())?;
    Some(date.to_datetime(time))
}

/// Resolves a local date-time in `tz` to an instant, honouring `policy` at DST changes.
pub fn local_to_instant(
    dt: DateTime,
    text: &str,
    tz: &TimeZone,
    policy: DstPolicy,
) -> Result<Timestamp, TimeError> {
    let zone = tz
        .iana_name()
        .unwrap_or("the force's time zone")
        .to_string();
    let amb = tz.to_ambiguous_zoned(dt);
    if amb.is_ambiguous() {
        if policy == DstPolicy::Compatible {
            return amb
                .compatible()
                .map(|z| z.timestamp())
                .map_err(|_| TimeError::Nonexistent {
                    text: text.to_string(),
                    zone,
                });
        }
        return match amb.offset() {
            jiff::tz::AmbiguousOffset::Fold { before, after } => Err(TimeError::Ambiguous {
                text: text.to_string(),
                zone,
                first: before.to_string(),
                second: after.to_string(),
            }),
            _ => Err(TimeError::Nonexistent {
                text: text.to_string(),
                zone,
            }),
        };
    }
    amb.unambiguous()
        .map(|z: Zoned| z.timestamp())
        .map_err(|_| TimeError::Nonexistent {
            text: text.to_string(),
            zone,
        })
}

/// Europe/London, the default force zone.
pub fn london() -> TimeZone {
    // Bundled tzdb (jiff feature `tzdb-bundle-always`): never missing.
    TimeZone::get("Europe/London").unwrap_or(TimeZone::UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_month_parses_and_rejects() {
        assert_eq!(
            YearMonth::parse("2023-05").unwrap(),
            YearMonth {
                year: 2023,
                month: 5
            }
        );
        assert_eq!(YearMonth::parse("2023-05").unwrap().to_string(), "2023-05");
        for bad in ["2023-13", "2023-5", "05-2023", "2023/05", "", "abcd-ef"] {
            assert!(YearMonth::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn offsets_are_exact_instants() {
        let t = parse_instant("2023-05-01T08:47:00+00:00", &london(), DstPolicy::Reject).unwrap();
        assert_eq!(t.to_string(), "2023-05-01T08:47:00Z");
        let t = parse_instant("2023-05-01T09:47:00+01:00", &london(), DstPolicy::Reject).unwrap();
        assert_eq!(t.to_string(), "2023-05-01T08:47:00Z");
    }

    #[test]
    fn local_times_are_read_in_the_zone() {
        // 1 May is BST (UTC+1).
        let t = parse_instant("2023-05-01 23:30", &london(), DstPolicy::Reject).unwrap();
        assert_eq!(t.to_string(), "2023-05-01T22:30:00Z");
        // 1 January is GMT.
        let t = parse_instant("2024-01-01T00:15:00", &london(), DstPolicy::Reject).unwrap();
        assert_eq!(t.to_string(), "2024-01-01T00:15:00Z");
    }

    #[test]
    fn local_0130_on_the_last_sunday_of_october_happened_twice() {
        // 27 October 2024: clocks go back at 02:00 BST = 01:00 UTC.
        let err = parse_instant("2024-10-27 01:30", &london(), DstPolicy::Reject).unwrap_err();
        assert!(matches!(err, TimeError::Ambiguous { .. }), "{err}");
        assert!(
            err.to_string().contains("+01") && err.to_string().contains("+00"),
            "{err}"
        );
        // With the offset given, each reading is a distinct instant an hour apart.
        let bst = parse_instant("2024-10-27T01:30:00+01:00", &london(), DstPolicy::Reject).unwrap();
        let gmt = parse_instant("2024-10-27T01:30:00+00:00", &london(), DstPolicy::Reject).unwrap();
        assert_eq!(bst.to_string(), "2024-10-27T00:30:00Z");
        assert_eq!(gmt.to_string(), "2024-10-27T01:30:00Z");
        // The compatible policy picks the earlier one.
        let c = parse_instant("2024-10-27 01:30", &london(), DstPolicy::Compatible).unwrap();
        assert_eq!(c, bst);
    }

    #[test]
    fn local_0130_on_the_last_sunday_of_march_never_happened() {
        // 31 March 2024: clocks go forward at 01:00 GMT.
        let err = parse_instant("2024-03-31 01:30", &london(), DstPolicy::Reject).unwrap_err();
        assert!(matches!(err, TimeError::Nonexistent { .. }), "{err}");
    }

    #[test]
    fn unknown_formats_are_named() {
        for bad in ["01/05/2023 23:30", "yesterday", "2023-05-01T25:00", ""] {
            let err = parse_instant(bad, &london(), DstPolicy::Reject).unwrap_err();
            assert!(matches!(err, TimeError::Format { .. }), "{bad}: {err}");
        }
    }

    #[test]
    fn month_only_has_no_instant() {
        let m = OccurredAt::Month(YearMonth {
            year: 2023,
            month: 5,
        });
        assert_eq!(m.instant(), None);
        assert_eq!(m.year_month(&london()).to_string(), "2023-05");
        // 23:30 UTC on 30 April is 00:30 BST on 1 May: police.uk buckets by local month.
        let e = OccurredAt::Exact("2023-04-30T23:30:00Z".parse().unwrap());
        assert_eq!(e.year_month(&london()).to_string(), "2023-05");
    }
}
