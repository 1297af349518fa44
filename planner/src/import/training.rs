//! Training records from CSV: which premises had staff trained, when, on what course.
//!
//! Columns (header required, any order): `premises_id,date,course,staff_trained,trainer,notes`.
//! `premises_id`, `date`, `course` and `staff_trained` are required; `trainer` and `notes`
//! may be empty (or the columns absent).
//!
//! * `premises_id`: a premises' `source_id`, e.g. `osm:node/21992993`. Whether it exists is
//!   for the caller to check against its premises; this module only reads the file.
//! * `date`: ISO `YYYY-MM-DD`, or `DD/MM/YYYY` as UK councils write it (`D/M/YYYY` too).
//!   Never US order. A date after `today` is an error, when `today` is given.
//! * `staff_trained`: a whole number, 0 or more.

use super::{Import, Parsed, Row, RowError, open_csv, parse_rows};
use crate::training::TrainingRecord;
use jiff::civil::Date;
use std::io::Read;

/// Reads training records. `today` (the caller's local date) turns on the check that no
/// session is dated in the future; `None` turns it off.
///
/// ```
/// use jiff::civil::date;
/// use planner::import::training::read_training;
/// let csv = "premises_id,date,course,staff_trained,trainer,notes\n\
///            osm:node/21992993,14/03/2025,Ask for Angela,6,Licensing team,\n";
/// let import = read_training("training.csv", csv.as_bytes(), Some(date(2025, 6, 1)));
/// assert!(import.is_clean());
/// assert_eq!(import.records[0].date, date(2025, 3, 14));
/// ```
pub fn read_training(file: &str, input: impl Read, today: Option<Date>) -> Import<TrainingRecord> {
    match open_csv(
        file,
        input,
        &["premises_id", "date", "course", "staff_trained"],
    ) {
        Ok(rows) => parse_rows(rows, |row| training_row(row, today).map(Parsed::Record)),
        Err(out) => out,
    }
}

fn training_row(row: &Row, today: Option<Date>) -> Result<TrainingRecord, RowError> {
    let premises_id = row.required_text("premises_id")?.to_string();
    if premises_id.chars().any(char::is_whitespace) {
        return Err(row.error(
            "premises_id",
            format!("{premises_id:?} contains spaces (expected an id such as osm:node/21992993)"),
        ));
    }
    let date = parse_date(row.required("date")?).map_err(|r| row.error("date", r))?;
    if let Some(today) = today
        && date > today
    {
        return Err(row.error(
            "date",
            format!("date {date} is in the future (today is {today})"),
        ));
    }
    let course = row.required_text("course")?.to_string();
    let staff_trained =
        parse_count(row.required("staff_trained")?).map_err(|r| row.error("staff_trained", r))?;
    Ok(TrainingRecord {
        premises_id,
        date,
        course,
        staff_trained,
        trainer: row.text("trainer")?.unwrap_or_default(),
        notes: row.multiline_text("notes")?,
    })
}

/// `YYYY-MM-DD` or `DD/MM/YYYY` (day first, as in the UK).
pub fn parse_date(text: &str) -> Result<Date, String> {
    let t = text.trim();
    let expected = "expected YYYY-MM-DD or DD/MM/YYYY";
    let nums = |parts: Vec<&str>| -> Option<Vec<i16>> {
        parts
            .iter()
            .map(|p| {
                (!p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| p.parse().ok())
                    .flatten()
            })
            .collect()
    };
    let (y, m, d) = if t.contains('-') {
        let parts: Vec<&str> = t.split('-').collect();
        match nums(parts.clone()).as_deref() {
            Some(&[y, m, d])
                if parts[0].len() == 4 && parts[1].len() == 2 && parts[2].len() == 2 =>
            {
                (y, m, d)
            }
            _ => return Err(format!("unparsable date {t:?} ({expected})")),
        }
    } else if t.contains('/') {
        let parts: Vec<&str> = t.split('/').collect();
        match nums(parts.clone()).as_deref() {
            Some(&[d, m, y])
                if parts[2].len() == 4 && parts[0].len() <= 2 && parts[1].len() <= 2 =>
            {
                (y, m, d)
            }
            _ => return Err(format!("unparsable date {t:?} ({expected})")),
        }
    } else {
        return Err(format!("unparsable date {t:?} ({expected})"));
    };
    let (Ok(m), Ok(d)) = (i8::try_from(m), i8::try_from(d)) else {
        return Err(format!("{t:?} is not a calendar date"));
    };
    Date::new(y, m, d).map_err(|_| format!("{t:?} is not a calendar date"))
}

/// A whole number of people, 0 or more.
fn parse_count(text: &str) -> Result<u32, String> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix('-')
        && rest.parse::<f64>().is_ok_and(|v| v > 0.0)
    {
        return Err(format!("negative staff count {t}"));
    }
    t.parse::<u32>().map_err(|_| {
        if t.parse::<f64>().is_ok() {
            format!("{t:?} is not a whole number of staff")
        } else {
            format!("unparsable staff count {t:?} (expected a whole number, 0 or more)")
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn dates_iso_and_uk() {
        assert_eq!(parse_date("2025-03-14"), Ok(date(2025, 3, 14)));
        assert_eq!(parse_date("14/03/2025"), Ok(date(2025, 3, 14)));
        assert_eq!(parse_date("4/3/2025"), Ok(date(2025, 3, 4)));
        assert!(
            parse_date("2025-02-30")
                .unwrap_err()
                .contains("not a calendar date")
        );
        assert!(
            parse_date("31/02/2024")
                .unwrap_err()
                .contains("not a calendar date")
        );
        for bad in [
            "2025/03/14",
            "03-14-2025",
            "14.03.2025",
            "",
            "2025-3-14",
            "14/03/25",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn counts() {
        assert_eq!(parse_count("0"), Ok(0));
        assert_eq!(parse_count(" 12 "), Ok(12));
        assert!(parse_count("-3").unwrap_err().contains("negative"));
        assert!(parse_count("2.5").unwrap_err().contains("whole number"));
        assert!(parse_count("six").unwrap_err().contains("unparsable"));
    }
}
