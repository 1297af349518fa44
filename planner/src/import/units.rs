//! The roster for a night: which patrol units are on, when, and where they start.
//!
//! Columns (header required, any order):
//! `callsign,size,shift_start,shift_end,start_lon,start_lat,start_name,break_minutes,skills`.
//! `start_name`, `break_minutes` and `skills` may be empty or absent; other columns (for
//! example `notes`) are ignored.
//!
//! * `callsign`: a letter or digit, then letters, digits, `-`, `_` and `/`, up to 32
//!   characters (units are known by callsign only, never by an officer's name). A callsign
//!   repeated in one file (case ignored) is an error on its second occurrence.
//! * `size`: 1 (one officer) or 2 (a pair).
//! * `shift_start`, `shift_end`: local `HH:MM`; an end earlier than the start runs past
//!   midnight; equal times are an error (a zero-length shift).
//! * `start_lon`, `start_lat`: WGS84 degrees of the start point (a station).
//! * `break_minutes`: whole minutes, 45 when empty; shorter than the shift.
//! * `skills`: separated by `;`, e.g. `first-aid;licensing`.

use super::text::{TextKind, check_text};
use super::{Import, Parsed, Row, RowError, non_empty, open_csv, parse_lonlat, parse_rows};
use crate::unit::Unit;
use jiff::civil::Time;
use std::collections::HashMap;
use std::io::Read;

/// Meal break when the roster leaves `break_minutes` empty.
pub const DEFAULT_BREAK_MINUTES: u32 = 45;

/// Reads a roster CSV.
///
/// ```
/// use planner::import::units::read_units;
/// let csv = "callsign,size,shift_start,shift_end,start_lon,start_lat,start_name,break_minutes,skills\n\
///            LN-FF1,2,19:00,03:00,-0.421262,51.878543,Luton police station,,first-aid;licensing\n";
/// let import = read_units("units.csv", csv.as_bytes());
/// assert!(import.is_clean());
/// assert_eq!(import.records[0].break_minutes, 45);
/// assert_eq!(import.records[0].skills, ["first-aid", "licensing"]);
/// ```
pub fn read_units(file: &str, input: impl Read) -> Import<Unit> {
    let required = [
        "callsign",
        "size",
        "shift_start",
        "shift_end",
        "start_lon",
        "start_lat",
    ];
    match open_csv(file, input, &required) {
        Ok(rows) => {
            let mut seen: HashMap<String, u64> = HashMap::new();
            parse_rows(rows, |row| unit_row(row, &mut seen).map(Parsed::Record))
        }
        Err(out) => out,
    }
}

fn unit_row(row: &Row, seen: &mut HashMap<String, u64>) -> Result<Unit, RowError> {
    let callsign = row.required("callsign")?.to_string();
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/');
    // Starting with a letter or digit: a leading `-` would read as a formula in a rota CSV.
    let starts_well = callsign
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if callsign.len() > 32 || !starts_well || !callsign.chars().all(ok_char) {
        return Err(row.error(
            "callsign",
            format!(
                "{callsign:?} is not a callsign (a letter or digit, then letters, digits, \
                 '-', '_' or '/', at most 32 characters)"
            ),
        ));
    }
    let key = callsign.to_ascii_uppercase();
    if let Some(first) = seen.get(&key) {
        return Err(row.error(
            "callsign",
            format!("duplicate callsign {callsign} (first on line {first})"),
        ));
    }
    seen.insert(key, row.line);
    let size = match row.required("size")? {
        "1" => 1,
        "2" => 2,
        other => {
            return Err(row.error(
                "size",
                format!("size {other:?} must be 1 (one officer) or 2 (a pair)"),
            ));
        }
    };
    let shift_start =
        parse_hhmm(row.required("shift_start")?).map_err(|r| row.error("shift_start", r))?;
    let shift_end =
        parse_hhmm(row.required("shift_end")?).map_err(|r| row.error("shift_end", r))?;
    if shift_start == shift_end {
        return Err(row.error("shift_end", "shift ends when it starts (zero length)"));
    }
    let (start_lon, start_lat) = parse_lonlat(row.get("start_lon")?, row.get("start_lat")?)
        .map_err(|e| {
            let field = if e.field == "latitude" {
                "start_lat"
            } else {
                "start_lon"
            };
            row.error(field, e.reason)
        })?;
    let break_minutes = match non_empty(row.get("break_minutes")?) {
        None => DEFAULT_BREAK_MINUTES,
        Some(t) => t.parse::<u32>().map_err(|_| {
            row.error(
                "break_minutes",
                format!("{t:?} is not a whole number of minutes (0 or more)"),
            )
        })?,
    };
    let shift_minutes = minutes_between(shift_start, shift_end);
    if break_minutes >= shift_minutes {
        return Err(row.error(
            "break_minutes",
            format!("a {break_minutes}-minute break does not fit a {shift_minutes}-minute shift"),
        ));
    }
    let skills = row
        .get("skills")?
        .split(';')
        .filter_map(non_empty)
        .map(|s| check_text(&s, TextKind::Line).map(|()| s))
        .collect::<Result<_, _>>()
        .map_err(|r| row.error("skills", r))?;
    Ok(Unit {
        callsign,
        size,
        shift_start,
        shift_end,
        start_lon,
        start_lat,
        start_name: row.text("start_name")?,
        break_minutes,
        skills,
    })
}

/// Local `HH:MM` (also `H:MM`), 00:00 to 23:59.
fn parse_hhmm(text: &str) -> Result<Time, String> {
    let bad = || format!("unparsable time {text:?} (expected HH:MM, 00:00 to 23:59)");
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || m.len() != 2 || !digits(m) {
        return Err(bad());
    }
    let (h, m): (i8, i8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

/// Minutes from `start` to `end`, past midnight if `end` is earlier.
fn minutes_between(start: Time, end: Time) -> u32 {
    let m = |t: Time| t.hour() as i32 * 60 + t.minute() as i32;
    (m(end) - m(start)).rem_euclid(24 * 60) as u32
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::civil::time;

    #[test]
    fn times_and_lengths() {
        assert_eq!(parse_hhmm("19:00"), Ok(time(19, 0, 0, 0)));
        assert_eq!(parse_hhmm("7:30"), Ok(time(7, 30, 0, 0)));
        for bad in ["24:00", "19:60", "1900", "19:0", "", "7pm"] {
            assert!(parse_hhmm(bad).is_err(), "{bad}");
        }
        assert_eq!(minutes_between(time(19, 0, 0, 0), time(3, 0, 0, 0)), 480);
        assert_eq!(minutes_between(time(18, 0, 0, 0), time(23, 30, 0, 0)), 330);
    }
}
