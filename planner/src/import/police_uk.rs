//! data.police.uk street-level crime CSV, exactly as published.
//!
//! Quirks handled: the `Month` column is all the time there is (month-only incidents count
//! for place, never for hour); rows with no location (empty Longitude/Latitude, "No
//! location") are skipped and counted; anti-social-behaviour rows have no Crime ID, so they
//! get a content-and-ordinal id (see [`ContentIds`]).

use super::text::{TextKind, check_text};
use super::{ContentIds, Import, Parsed, RowError, each_row, open_csv, parse_lonlat, parse_rows};
use crate::category::Category;
use crate::incident::Incident;
use crate::time::{OccurredAt, YearMonth};
use std::io::Read;

/// The source name stored with each incident.
pub const SOURCE: &str = "police-uk";

/// Skip reason for rows police.uk publishes without coordinates.
pub const SKIP_NO_LOCATION: &str =
    "no location (police.uk publishes some crimes without coordinates)";

/// The published header, in order. Used to recognise the format.
pub const HEADER: [&str; 12] = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
];

/// True when `headers` is police.uk's street-level header.
pub fn recognises(headers: &[String]) -> bool {
    headers.len() >= 10 && HEADER.iter().take(10).zip(headers).all(|(a, b)| a == b)
}

/// Reads one police.uk street-level file.
pub fn read(file: &str, input: impl Read) -> Import<Incident> {
    match open_csv(file, input, &REQUIRED) {
        Ok(rows) => {
            let mut ids = ContentIds::new();
            parse_rows(rows, |row| parse_row(row, &mut ids))
        }
        Err(out) => out,
    }
}

/// Like [`read`], but hands each good record to `sink` as soon as it is read (with its
/// line), so a caller can store while the rest of a large file is still being validated.
/// The returned `Import` has the errors, skips and row count, and no records.
pub fn read_each(
    file: &str,
    input: impl Read,
    sink: impl FnMut(u64, Incident),
) -> Import<Incident> {
    match open_csv(file, input, &REQUIRED) {
        Ok(rows) => {
            let mut ids = ContentIds::new();
            each_row(rows, |row| parse_row(row, &mut ids), sink)
        }
        Err(out) => out,
    }
}

const REQUIRED: [&str; 5] = ["Crime ID", "Month", "Longitude", "Latitude", "Crime type"];

fn parse_row(row: &super::Row, ids: &mut ContentIds) -> Result<Parsed<Incident>, RowError> {
    let month_text = row.required("Month")?;
    let month = YearMonth::parse(month_text).map_err(|e| row.error("Month", e.to_string()))?;
    let lon = row.get("Longitude")?;
    let lat = row.get("Latitude")?;
    if lon.trim().is_empty() && lat.trim().is_empty() {
        return Ok(Parsed::Skip(SKIP_NO_LOCATION.to_string()));
    }
    let (lon_v, lat_v) = parse_lonlat(lon, lat).map_err(|e| {
        let field = if e.field == "latitude" {
            "Latitude"
        } else {
            "Longitude"
        };
        row.error(field, e.reason)
    })?;
    let crime_type = row.required_text("Crime type")?;
    let category = Category::from_police_uk(crime_type).ok_or_else(|| {
        row.error(
            "Crime type",
            format!("unknown police.uk crime type {crime_type:?}"),
        )
    })?;
    let crime_id = row.get("Crime ID")?.trim();
    check_text(crime_id, TextKind::Line).map_err(|r| row.error("Crime ID", r))?;
    // Raw text for the content id (unchanged, so ids stay stable); checked text to keep.
    let location = row.get("Location")?;
    let lsoa_code = row.get("LSOA code")?;
    let (location_text, area_code, area_name) = (
        row.text("Location")?,
        row.text("LSOA code")?,
        row.text("LSOA name")?,
    );
    let source_id = if crime_id.is_empty() {
        let reported_by = row.get("Reported by")?;
        ids.next(
            "police-uk:row:",
            &[
                month_text.trim(),
                reported_by,
                lon.trim(),
                lat.trim(),
                location,
                lsoa_code,
                crime_type,
            ],
        )
    } else {
        format!("police-uk:{crime_id}")
    };
    Ok(Parsed::Record(Incident {
        source_id,
        source: SOURCE.to_string(),
        occurred: OccurredAt::Month(month),
        lon: lon_v,
        lat: lat_v,
        category_raw: crime_type.to_string(),
        category,
        location: location_text,
        area_code,
        area_name,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context\n";

    fn read_str(body: &str) -> Import<Incident> {
        read("t.csv", format!("{HEAD}{body}").as_bytes())
    }

    #[test]
    fn reads_rows_and_skips_no_location() {
        let r = read_str(
            "abc,2023-05,Bedfordshire Police,Bedfordshire Police,-0.416,51.879,On or near Park Street,E01015000,Luton 010A,Public order,Under investigation,\n\
             ,2023-05,Bedfordshire Police,Bedfordshire Police,,,No location,,,Anti-social behaviour,,\n",
        );
        assert!(r.is_clean(), "{:?}", r.errors);
        assert_eq!(r.rows, 2);
        assert_eq!(r.records.len(), 1);
        assert_eq!(r.skipped_total(), 1);
        let i = &r.records[0];
        assert_eq!(i.source_id, "police-uk:abc");
        assert_eq!(i.category, Category::PublicOrder);
        assert_eq!(
            i.occurred,
            OccurredAt::Month(YearMonth {
                year: 2023,
                month: 5
            })
        );
        assert_eq!(i.location.as_deref(), Some("On or near Park Street"));
    }

    #[test]
    fn identical_asb_rows_stay_distinct() {
        let row = ",2023-05,Bedfordshire Police,Bedfordshire Police,-0.416,51.879,On or near Park Street,E01015000,Luton 010A,Anti-social behaviour,,\n";
        let r = read_str(&row.repeat(3));
        let ids: std::collections::HashSet<_> =
            r.records.iter().map(|i| i.source_id.clone()).collect();
        assert_eq!(ids.len(), 3);
        let again = read_str(&row.repeat(3));
        assert_eq!(r.records, again.records, "same file, same ids");
    }

    #[test]
    fn each_rejection_names_line_and_field() {
        let r = read_str(
            "a,2023-05,B,B,-0.41,51.8,x,,,Drugs,,\n\
             b,2023-13,B,B,-0.41,51.8,x,,,Drugs,,\n\
             c,2023-05,B,B,abc,51.8,x,,,Drugs,,\n\
             d,2023-05,B,B,51.8,-0.41,x,,,Drugs,,\n\
             e,2023-05,B,B,-0.41,NaN,x,,,Drugs,,\n\
             f,2023-05,B,B,-0.41,51.8,x,,,Cybercrime,,\n\
             g,2023-05,B,B,-0.41,,x,,,Drugs,,\n\
             h,,B,B,-0.41,51.8,x,,,Drugs,,\n",
        );
        let got: Vec<(u64, &str)> = r
            .errors
            .iter()
            .map(|e| (e.line, e.field.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "Month"),
                (4, "Longitude"),
                (5, "Latitude"),
                (6, "Latitude"),
                (7, "Crime type"),
                (8, "Latitude"),
                (9, "Month"),
            ]
        );
        assert!(r.errors[2].reason.contains("swapped"), "{}", r.errors[2]);
        assert!(r.errors[3].reason.contains("NaN"), "{}", r.errors[3]);
        assert!(r.errors[6].reason.contains("empty required field"));
        assert_eq!(
            r.errors[0].to_string(),
            "t.csv:3: Month: unknown date format \"2023-13\" (expected YYYY-MM)"
        );
        assert_eq!(r.records.len(), 1);
    }

    #[test]
    fn non_utf8_is_reported_against_its_field() {
        let mut body = HEAD.as_bytes().to_vec();
        body.extend_from_slice(b"a,2023-05,B,B,-0.41,51.8,On or near Caf\xe9,,,Drugs,,\n");
        let r = read("t.csv", &body[..]);
        assert_eq!(r.errors.len(), 1);
        assert_eq!(
            (r.errors[0].line, r.errors[0].field.as_str()),
            (2, "Location")
        );
        assert!(r.errors[0].reason.contains("UTF-8"));
    }

    #[test]
    fn a_wrong_header_is_one_clear_error() {
        let r = read("t.csv", &b"id,when,lat,lon\n1,2,3,4\n"[..]);
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0].line, 1);
        assert!(
            r.errors[0]
                .reason
                .contains("missing column(s) Crime ID, Month"),
            "{}",
            r.errors[0]
        );
    }
}
