//! The force CSV: a documented, simple format for a force's own incident extract.
//!
//! Columns (header names, any order; extra columns are ignored):
//!
//! | column | required | content |
//! |---|---|---|
//! | `id` | yes | the force's own reference; unique within the file and stable across extracts |
//! | `occurred_at` | yes | ISO 8601 with an offset (`2024-03-01T23:30:00+00:00`, `…Z`): an exact instant; without an offset (`2024-03-01 23:30`, `2024-03-01T23:30:00`): local time in the force zone (`--tz`), rejected if it falls in the repeated hour when clocks go back (add the offset to say which) or the skipped hour when they go forward; `YYYY-MM`: month only |
//! | `lat`, `lon` | one pair | WGS84 degrees (`latitude`/`longitude` also accepted) |
//! | `easting`, `northing` | or this pair | British National Grid metres |
//! | `category` | yes | a Firefly category (`violence`, `public_order`, …), a police.uk crime type, or the force's own text (mapped by keywords; unknown text becomes `other`) |
//! | `location` | no | free-text place description |
//! | `area_code`, `area_name` | no | small-area code and name |

use super::{
    CoordError, Import, Parsed, Row, RowError, check_lonlat, open_csv, parse_lonlat, parse_number,
    parse_rows,
};
use crate::category::Category;
use crate::crs::Crs;
use crate::incident::Incident;
use crate::time::{DstPolicy, OccurredAt, TimeError, YearMonth, parse_instant};
use jiff::tz::TimeZone;
use std::collections::HashMap;
use std::io::Read;

pub const SOURCE: &str = "force-csv";

/// Reads a force CSV, interpreting offset-less times in `tz`.
pub fn read(file: &str, input: impl Read, tz: &TimeZone) -> Import<Incident> {
    let rows = match open_csv(file, input, &["id", "occurred_at", "category"]) {
        Ok(rows) => rows,
        Err(out) => return out,
    };
    let lat_col = ["lat", "latitude"].into_iter().find(|c| rows.has_column(c));
    let lon_col = ["lon", "longitude", "lng"]
        .into_iter()
        .find(|c| rows.has_column(c));
    let coords = match (lat_col, lon_col) {
        (Some(lat), Some(lon)) => Coords::LonLat { lon, lat },
        _ if rows.has_column("easting") && rows.has_column("northing") => {
            Coords::Bng(Box::new(Crs::bng()))
        }
        _ => {
            let mut out = Import::default();
            out.errors.push(RowError {
                file: file.to_string(),
                line: 1,
                field: "header".into(),
                reason: format!(
                    "missing columns lat and lon (or easting and northing); found: {}",
                    rows.headers().join(", ")
                ),
            });
            return out;
        }
    };
    let mut first_line: HashMap<String, u64> = HashMap::new();
    parse_rows(rows, |row| {
        let incident = parse_row(row, &coords, tz)?;
        if let Some(first) = first_line.get(&incident.source_id) {
            return Err(row.error("id", format!("duplicate id (first at line {first})")));
        }
        first_line.insert(incident.source_id.clone(), row.line);
        Ok(Parsed::Record(incident))
    })
}

enum Coords {
    LonLat {
        lon: &'static str,
        lat: &'static str,
    },
    Bng(Box<Crs>),
}

fn parse_row(row: &Row, coords: &Coords, tz: &TimeZone) -> Result<Incident, RowError> {
    let id = row.required_text("id")?;
    let occurred = parse_occurred(row.required("occurred_at")?, tz, DstPolicy::Reject)
        .map_err(|e| row.error("occurred_at", e.to_string()))?;
    let (lon, lat) = match coords {
        Coords::LonLat { lon, lat } => parse_lonlat(row.get(lon)?, row.get(lat)?).map_err(|e| {
            let field = if e.field == "latitude" { *lat } else { *lon };
            row.error(field, e.reason)
        })?,
        Coords::Bng(crs) => {
            let e = parse_number(row.get("easting")?).map_err(|r| row.error("easting", r))?;
            let n = parse_number(row.get("northing")?).map_err(|r| row.error("northing", r))?;
            if !(0.0..=700_000.0).contains(&e) {
                return Err(row.error(
                    "easting",
                    format!("{e} is outside the British National Grid (0..700000)"),
                ));
            }
            if !(0.0..=1_300_000.0).contains(&n) {
                return Err(row.error(
                    "northing",
                    format!("{n} is outside the British National Grid (0..1300000)"),
                ));
            }
            let (lon, lat) = crs
                .unproject(e, n)
                .map_err(|err| row.error("easting", err.to_string()))?;
            check_lonlat(lon, lat)
                .map_err(|CoordError { field, reason }| row.error(field, reason))?;
            (lon, lat)
        }
    };
    let category_raw = row.required_text("category")?;
    Ok(Incident {
        source_id: format!("{SOURCE}:{id}"),
        source: SOURCE.to_string(),
        occurred,
        lon,
        lat,
        category_raw: category_raw.to_string(),
        category: Category::from_free_text(category_raw),
        location: row.text("location")?,
        area_code: row.text("area_code")?,
        area_name: row.text("area_name")?,
    })
}

/// `YYYY-MM` is month-only; anything else must be an instant (see [`parse_instant`]).
pub fn parse_occurred(
    text: &str,
    tz: &TimeZone,
    policy: DstPolicy,
) -> Result<OccurredAt, TimeError> {
    let t = text.trim();
    if t.len() == 7 && t.as_bytes()[4] == b'-' {
        return YearMonth::parse(t).map(OccurredAt::Month);
    }
    if t.len() == 10 && t.parse::<jiff::civil::Date>().is_ok() {
        return Err(TimeError::Format {
            text: t.to_string(),
            expected: "a time of day as well as the date, or YYYY-MM for month-only records",
        });
    }
    parse_instant(t, tz, policy).map(OccurredAt::Exact)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::london;

    fn read_str(s: &str) -> Import<Incident> {
        read("force.csv", s.as_bytes(), &london())
    }

    #[test]
    fn reads_offsets_local_times_and_months() {
        let r = read_str(
            "id,occurred_at,lat,lon,category,location\n\
             A1,2024-03-01T23:30:00+00:00,51.879,-0.416,Violence with injury,George St\n\
             A2,2024-07-05 23:30,51.879,-0.416,public_order,\n\
             A3,2024-05,51.879,-0.416,Anti-social behaviour,\n",
        );
        assert!(r.is_clean(), "{:?}", r.errors);
        assert_eq!(r.records.len(), 3);
        assert_eq!(r.records[0].source_id, "force-csv:A1");
        assert_eq!(r.records[0].category, Category::Violence);
        assert_eq!(
            r.records[0].occurred.instant().unwrap().to_string(),
            "2024-03-01T23:30:00Z"
        );
        // July is BST: 23:30 local is 22:30 UTC.
        assert_eq!(
            r.records[1].occurred.instant().unwrap().to_string(),
            "2024-07-05T22:30:00Z"
        );
        assert_eq!(r.records[1].category, Category::PublicOrder);
        assert_eq!(
            r.records[2].occurred,
            OccurredAt::Month(YearMonth {
                year: 2024,
                month: 5
            })
        );
        assert_eq!(r.records[2].category, Category::AntiSocialBehaviour);
    }

    #[test]
    fn the_repeated_hour_must_carry_an_offset() {
        let r = read_str(
            "id,occurred_at,lat,lon,category\n\
             A1,2024-10-27 01:30,51.879,-0.416,violence\n\
             A2,2024-10-27T01:30:00+01:00,51.879,-0.416,violence\n\
             A3,2024-10-27T01:30:00+00:00,51.879,-0.416,violence\n\
             A4,2024-03-31 01:30,51.879,-0.416,violence\n",
        );
        assert_eq!(r.errors.len(), 2, "{:?}", r.errors);
        assert_eq!(
            (r.errors[0].line, r.errors[0].field.as_str()),
            (2, "occurred_at")
        );
        assert!(r.errors[0].reason.contains("ambiguous"), "{}", r.errors[0]);
        assert_eq!(r.errors[1].line, 5);
        assert!(
            r.errors[1].reason.contains("does not exist"),
            "{}",
            r.errors[1]
        );
        let t: Vec<String> = r
            .records
            .iter()
            .map(|i| i.occurred.instant().unwrap().to_string())
            .collect();
        assert_eq!(t, ["2024-10-27T00:30:00Z", "2024-10-27T01:30:00Z"]);
    }

    #[test]
    fn easting_northing_are_british_national_grid() {
        // OS test point TP13 (ETRS89 52.25160951, -0.91248957 = E 474335.969, N 262047.755).
        let r = read_str(
            "id,occurred_at,easting,northing,category\nX,2024-01-01T00:00:00Z,474335.969,262047.755,robbery\n",
        );
        assert!(r.is_clean(), "{:?}", r.errors);
        assert!((r.records[0].lat - 52.25160951).abs() < 1e-7);
        assert!((r.records[0].lon - -0.91248957).abs() < 1e-7);
    }

    #[test]
    fn rejections_name_line_and_field() {
        let r = read_str(
            "id,occurred_at,lat,lon,category\n\
             ,2024-01-01T00:00:00Z,51.8,-0.4,violence\n\
             B,2024-01-01,51.8,-0.4,violence\n\
             C,01/01/2024 22:00,51.8,-0.4,violence\n\
             D,2024-01-01T00:00:00Z,-0.4,51.8,violence\n\
             E,2024-01-01T00:00:00Z,51.8,-0.4,\n\
             F,2024-01-01T00:00:00Z,51.8,-0.4,violence\n\
             F,2024-01-01T00:00:00Z,51.8,-0.4,violence\n",
        );
        let got: Vec<(u64, &str)> = r
            .errors
            .iter()
            .map(|e| (e.line, e.field.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (2, "id"),
                (3, "occurred_at"),
                (4, "occurred_at"),
                (5, "lat"),
                (6, "category"),
                (8, "id")
            ]
        );
        assert!(r.errors[1].reason.contains("time of day"));
        assert!(r.errors[3].reason.contains("swapped"));
        assert!(r.errors[5].reason.contains("first at line 7"));
    }

    #[test]
    fn missing_coordinate_columns_are_named() {
        let r = read_str("id,occurred_at,category\n1,2024-01,violence\n");
        assert_eq!(r.errors.len(), 1);
        assert!(
            r.errors[0]
                .reason
                .contains("lat and lon (or easting and northing)"),
            "{}",
            r.errors[0]
        );
    }
}
