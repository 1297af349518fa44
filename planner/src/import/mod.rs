//! Validators that turn published files into domain records.
//!
//! Each importer reads bytes it is given (the caller opens the file or receives the HTTP
//! body) and returns every good record plus every problem, each naming the file, line,
//! field and reason. It never stops at the first bad row: the caller decides whether a bad
//! row rejects the whole import (the default) or is skipped (`--skip-invalid`).
//!
//! Text people will read (names, addresses, places, courses, callsigns' start points) is
//! checked in one place, [`text`]: a control character, a bidi override or a line
//! separator in it is a row error, because names end up in spreadsheets and calendars.
//!
//! Rows a source documents as unusable (police.uk rows with no location) are not errors:
//! they are counted as skips with their reason, so a file exactly as its publisher released
//! it imports.

mod csv_rows;
pub mod force_csv;
pub mod geojson_points;
pub mod geometry;
pub mod police_uk;
pub mod premises;
pub mod text;
pub mod training;
pub mod units;
pub mod us_open_data;

pub use csv_rows::{CsvRows, Row};

use crate::crs::CrsError;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// One problem in one row (or in the header, line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub file: String,
    /// 1-based physical line where the row starts (GeoJSON: where the feature starts).
    pub line: u64,
    pub field: String,
    pub reason: String,
}

impl fmt::Display for RowError {
    /// `FILE:LINE: FIELD: reason`, the format the CLI contract prints to stderr.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.file, self.line, self.field, self.reason
        )
    }
}

impl std::error::Error for RowError {}

/// The result of reading one file.
#[derive(Debug, Clone)]
pub struct Import<T> {
    pub records: Vec<T>,
    /// The line each record came from (same order as `records`), for errors found later,
    /// such as a training record naming premises that are not in the database.
    pub lines: Vec<u64>,
    pub errors: Vec<RowError>,
    /// Rows the source documents as unusable, by reason, with their count.
    pub skipped: BTreeMap<String, u64>,
    /// Data rows read (header excluded).
    pub rows: u64,
}

impl<T> Default for Import<T> {
    fn default() -> Self {
        Import {
            records: Vec::new(),
            lines: Vec::new(),
            errors: Vec::new(),
            skipped: BTreeMap::new(),
            rows: 0,
        }
    }
}

impl<T> Import<T> {
    /// Keeps a good record read at `line`.
    pub fn accept(&mut self, line: u64, record: T) {
        self.records.push(record);
        self.lines.push(line);
    }

    /// The line of the record at `index`, if known.
    pub fn line_of(&self, index: usize) -> Option<u64> {
        self.lines.get(index).copied()
    }

    pub fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_string()).or_default() += 1;
    }

    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    /// True when no row had an error (skips are fine).
    pub fn is_clean(&self) -> bool {
        self.errors.is_empty()
    }
}

/// What a row became when it was not an error.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed<T> {
    Record(T),
    /// A row the source documents as unusable, with the reason counted in `skipped`.
    Skip(String),
}

/// Opens a CSV and checks its header for `required` columns; on failure, the `Import` to
/// return (holding the one header error).
pub fn open_csv<R: std::io::Read, T>(
    file: &str,
    input: R,
    required: &[&str],
) -> Result<CsvRows<R>, Import<T>> {
    let header_error = |e: RowError| {
        let mut out = Import::default();
        out.errors.push(e);
        out
    };
    let rows = CsvRows::new(file, input, b',').map_err(header_error)?;
    rows.require(required).map_err(header_error)?;
    Ok(rows)
}

/// Runs `parse` on every row, counting rows, skips and errors, and hands each record to
/// `sink` with its line. The returned `Import` holds no records (see [`parse_rows`]).
pub fn each_row<R: std::io::Read, T>(
    rows: CsvRows<R>,
    mut parse: impl FnMut(&Row) -> Result<Parsed<T>, RowError>,
    mut sink: impl FnMut(u64, T),
) -> Import<T> {
    let mut out = Import::default();
    for row in rows {
        out.rows += 1;
        match row.and_then(|row| parse(&row).map(|p| (row.line, p))) {
            Ok((line, Parsed::Record(record))) => sink(line, record),
            Ok((_, Parsed::Skip(reason))) => out.skip(&reason),
            Err(e) => out.errors.push(e),
        }
    }
    out
}

/// Like [`each_row`], keeping the records in the returned `Import`.
pub fn parse_rows<R: std::io::Read, T>(
    rows: CsvRows<R>,
    parse: impl FnMut(&Row) -> Result<Parsed<T>, RowError>,
) -> Import<T> {
    let mut good = Vec::new();
    let mut out = each_row(rows, parse, |line, record| good.push((line, record)));
    for (line, record) in good {
        out.accept(line, record);
    }
    out
}

/// Makes stable ids for rows that carry none (police.uk ASB rows, Chicago, Houston).
///
/// Identical rows are distinct incidents: police.uk publishes many identical ASB rows
/// (same month, snap point and type). So the id is a digest of the row's content plus the
/// ordinal of that content within the file: the third identical row is `…#3` on every
/// import of the same file, and never merges with the first.
#[derive(Debug, Default)]
pub struct ContentIds {
    seen: HashMap<[u8; 32], u32>,
}

impl ContentIds {
    pub fn new() -> Self {
        Self::default()
    }

    /// `prefix` + 16 hex digits of SHA-256 over the fields + `#n`.
    pub fn next(&mut self, prefix: &str, fields: &[&str]) -> String {
        let mut h = Sha256::new();
        for f in fields {
            h.update(f.as_bytes());
            h.update([0x1f]);
        }
        let digest: [u8; 32] = h.finalize().into();
        let n = self.seen.entry(digest).or_insert(0);
        *n += 1;
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("{prefix}{hex}#{n}")
    }
}

/// Parses a decimal number field, naming what is wrong.
pub fn parse_number(text: &str) -> Result<f64, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty required field".into());
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_nan() => Err("not a number (NaN)".into()),
        Ok(v) if v.is_infinite() => Err(format!("{t:?} is infinite")),
        Ok(v) => Ok(v),
        Err(_) => Err(format!("unparsable number {t:?}")),
    }
}

/// Which coordinate field is wrong and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoordError {
    pub field: &'static str,
    pub reason: String,
}

/// Parses and checks a WGS84 pair given as text, naming the faulty field.
pub fn parse_lonlat(lon: &str, lat: &str) -> Result<(f64, f64), CoordError> {
    let lon_v = parse_number(lon).map_err(|reason| CoordError {
        field: "longitude",
        reason,
    })?;
    let lat_v = parse_number(lat).map_err(|reason| CoordError {
        field: "latitude",
        reason,
    })?;
    check_lonlat(lon_v, lat_v)?;
    Ok((lon_v, lat_v))
}

/// Checks a WGS84 pair: ranges, null island, and latitude/longitude given the wrong way
/// round (out of range one way, or a British point exchanged).
pub fn check_lonlat(lon: f64, lat: f64) -> Result<(), CoordError> {
    let swapped = "latitude and longitude look swapped";
    if !lat.is_finite() {
        return Err(CoordError {
            field: "latitude",
            reason: "not a number".into(),
        });
    }
    if !lon.is_finite() {
        return Err(CoordError {
            field: "longitude",
            reason: "not a number".into(),
        });
    }
    if !(-90.0..=90.0).contains(&lat) {
        let hint = if (-90.0..=90.0).contains(&lon) {
            format!(" ({swapped})")
        } else {
            String::new()
        };
        return Err(CoordError {
            field: "latitude",
            reason: format!("latitude {lat} out of range -90..90{hint}"),
        });
    }
    if !(-180.0..=180.0).contains(&lon) {
        return Err(CoordError {
            field: "longitude",
            reason: format!("longitude {lon} out of range -180..180"),
        });
    }
    if lon == 0.0 && lat == 0.0 {
        return Err(CoordError {
            field: "longitude",
            reason: "0,0 (\"null island\") is a missing location, not a place".into(),
        });
    }
    // A point in the sea south of Ghana whose exchange lies in Great Britain: the
    // classic lat/lon mix-up in UK data.
    if (49.8..=61.0).contains(&lon) && (-9.0..=2.0).contains(&lat) {
        return Err(CoordError {
            field: "latitude",
            reason: format!(
                "latitude {lat}, longitude {lon}: {swapped} (exchanged, the point is in Great Britain)"
            ),
        });
    }
    Ok(())
}

impl From<CrsError> for CoordError {
    fn from(e: CrsError) -> Self {
        CoordError {
            field: "coordinates",
            reason: e.to_string(),
        }
    }
}

/// `Some(trimmed)` unless empty or an R-style `NA`.
pub fn non_empty(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty() && t != "NA").then(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_rows_get_distinct_stable_ids() {
        let mut ids = ContentIds::new();
        let a1 = ids.next(
            "p:",
            &["2023-05", "-0.41", "51.88", "Anti-social behaviour"],
        );
        let a2 = ids.next(
            "p:",
            &["2023-05", "-0.41", "51.88", "Anti-social behaviour"],
        );
        let b = ids.next("p:", &["2023-05", "-0.41", "51.88", "Public order"]);
        assert_ne!(a1, a2);
        assert!(a1.ends_with("#1") && a2.ends_with("#2") && b.ends_with("#1"));
        let mut again = ContentIds::new();
        assert_eq!(
            again.next(
                "p:",
                &["2023-05", "-0.41", "51.88", "Anti-social behaviour"]
            ),
            a1
        );
        // Field boundaries matter: ("ab","c") is not ("a","bc").
        assert_ne!(
            again.next("p:", &["ab", "c"]),
            again.next("p:", &["a", "bc"])
        );
    }

    #[test]
    fn coordinate_checks_name_the_field_and_reason() {
        assert_eq!(parse_lonlat("-0.41", "51.88"), Ok((-0.41, 51.88)));
        let e = parse_lonlat("", "51.88").unwrap_err();
        assert_eq!(
            (e.field, e.reason.as_str()),
            ("longitude", "empty required field")
        );
        let e = parse_lonlat("-0.41", "51,88").unwrap_err();
        assert_eq!(e.field, "latitude");
        assert!(e.reason.contains("unparsable number"));
        let e = parse_lonlat("-0.41", "NaN").unwrap_err();
        assert!(e.reason.contains("NaN"), "{}", e.reason);
        let e = parse_lonlat("-0.41", "95.2").unwrap_err();
        assert!(e.reason.contains("out of range"));
        let e = parse_lonlat("51.88", "-0.41").unwrap_err();
        assert!(e.reason.contains("swapped"), "{}", e.reason);
        let e = parse_lonlat("12.0", "120.5").unwrap_err();
        assert!(e.reason.contains("swapped"), "{}", e.reason);
        assert!(parse_lonlat("0", "0").is_err());
        assert!(parse_lonlat("181", "10").is_err());
        assert!(parse_lonlat("inf", "10").is_err());
    }
}
