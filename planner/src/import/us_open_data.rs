//! Adapters for the timed US open-data sets in `shared/data` (Chicago, San Francisco,
//! Houston). They exist to test time-of-week scoring on real timing patterns at scale.
//!
//! Each source has its own clock, whatever `--tz` says (see each folder's SOURCES.md):
//! - Chicago `date` is America/Chicago wall-clock time with no offset;
//! - San Francisco `date_time` ends in `Z` but is America/Los_Angeles wall-clock time
//!   (the suffix was added by the exporting tool, not by the police);
//! - Houston `time_utc` is the true instant.
//!
//! Wall-clock sources carry no offset, so a time in the repeated hour when clocks go back
//! cannot be resolved; it is read as the earlier instant, and a time in the skipped hour is
//! moved forward (the "compatible" rule RFC 5545 and Temporal use).

use super::{ContentIds, Import, Parsed, Row, RowError, open_csv, parse_lonlat, parse_rows};
use crate::category::Category;
use crate::incident::Incident;
use crate::time::{DstPolicy, OccurredAt, local_to_instant, parse_civil};
use jiff::tz::TimeZone;
use std::io::Read;

/// Which adapter a header belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsSource {
    Chicago,
    SanFrancisco,
    Houston,
}

impl UsSource {
    pub fn name(self) -> &'static str {
        match self {
            UsSource::Chicago => "chicago",
            UsSource::SanFrancisco => "san-francisco",
            UsSource::Houston => "houston",
        }
    }

    /// The source's own time zone.
    pub fn zone(self) -> &'static str {
        match self {
            UsSource::Chicago | UsSource::Houston => "America/Chicago",
            UsSource::SanFrancisco => "America/Los_Angeles",
        }
    }

    /// Recognises a header.
    pub fn recognise(headers: &[String]) -> Option<UsSource> {
        let has = |n: &str| headers.iter().any(|h| h == n);
        if has("date") && has("loc_cat") && has("district") {
            Some(UsSource::Chicago)
        } else if has("uid") && has("offense_type") && has("date_time") {
            Some(UsSource::SanFrancisco)
        } else if has("time_utc") && has("offense") && has("premise") {
            Some(UsSource::Houston)
        } else {
            None
        }
    }

    fn required(self) -> &'static [&'static str] {
        match self {
            UsSource::Chicago => &["date", "loc_cat", "longitude", "latitude"],
            UsSource::SanFrancisco => {
                &["uid", "offense_type", "date_time", "longitude", "latitude"]
            }
            UsSource::Houston => &["time_utc", "offense", "location", "lon", "lat"],
        }
    }
}

pub const SKIP_NO_COORDINATES: &str = "no coordinates (not geocoded at the source)";

/// Reads one of the US sets; `source` is normally found with [`UsSource::recognise`].
pub fn read(file: &str, input: impl Read, source: UsSource) -> Import<Incident> {
    match open_csv(file, input, source.required()) {
        Ok(rows) => {
            let tz = TimeZone::get(source.zone()).unwrap_or(TimeZone::UTC);
            let mut ids = ContentIds::new();
            parse_rows(rows, |row| parse_row(row, source, &tz, &mut ids))
        }
        Err(out) => out,
    }
}

fn wall_clock(row: &Row, field: &str, tz: &TimeZone) -> Result<OccurredAt, RowError> {
    let text = row.required(field)?;
    // San Francisco's misleading `Z`: the digits are local wall-clock time.
    let local = text.strip_suffix('Z').unwrap_or(text);
    let dt = parse_civil(local).ok_or_else(|| {
        row.error(
            field,
            format!("unknown date format {text:?} (expected YYYY-MM-DD HH:MM)"),
        )
    })?;
    local_to_instant(dt, text, tz, DstPolicy::Compatible)
        .map(OccurredAt::Exact)
        .map_err(|e| row.error(field, e.to_string()))
}

fn parse_row(
    row: &Row,
    source: UsSource,
    tz: &TimeZone,
    ids: &mut ContentIds,
) -> Result<Parsed<Incident>, RowError> {
    let (lon_f, lat_f) = match source {
        UsSource::Houston => ("lon", "lat"),
        _ => ("longitude", "latitude"),
    };
    let lon_t = row.get(lon_f)?;
    let lat_t = row.get(lat_f)?;
    if lon_t.trim().is_empty() && lat_t.trim().is_empty() {
        return Ok(Parsed::Skip(SKIP_NO_COORDINATES.to_string()));
    }
    let (lon, lat) = parse_lonlat(lon_t, lat_t)
        .map_err(|e| row.error(if e.field == "latitude" { lat_f } else { lon_f }, e.reason))?;
    let (source_id, occurred, category_raw, location) = match source {
        UsSource::Chicago => {
            let occurred = wall_clock(row, "date", tz)?;
            let loc = row.get("loc_cat")?;
            let id = ids.next(
                "chicago:",
                &[row.get("date")?, lon_t, lat_t, loc, row.get("district")?],
            );
            // The file holds only aggravated assaults (SOURCES.md); it has no offence column.
            (
                id,
                occurred,
                "aggravated assault".to_string(),
                row.text("loc_cat")?,
            )
        }
        UsSource::SanFrancisco => {
            let occurred = wall_clock(row, "date_time", tz)?;
            let uid = row.required_text("uid")?;
            (
                format!("san-francisco:{uid}"),
                occurred,
                row.required_text("offense_type")?.to_string(),
                None,
            )
        }
        UsSource::Houston => {
            let text = row.required("time_utc")?;
            let t = text.parse::<jiff::Timestamp>().map_err(|_| {
                row.error(
                    "time_utc",
                    format!("unknown date format {text:?} (expected RFC 3339 with Z)"),
                )
            })?;
            let fields = [
                "time_utc", "offense", "premise", "beat", "block", "street", "type", "suffix",
                "address",
            ];
            let mut values = Vec::with_capacity(fields.len() + 2);
            for f in fields {
                values.push(row.get(f)?);
            }
            values.extend([lon_t, lat_t]);
            let id = ids.next("houston:", &values);
            (
                id,
                OccurredAt::Exact(t),
                row.required_text("offense")?.to_string(),
                row.text("location")?,
            )
        }
    };
    Ok(Parsed::Record(Incident {
        source_id,
        source: source.name().to_string(),
        occurred,
        lon,
        lat,
        category: Category::from_free_text(&category_raw),
        category_raw,
        location,
        area_code: None,
        area_name: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chicago_is_local_wall_clock() {
        let text = "date,loc_cat,longitude,latitude,district\n2019-07-04 22:15,street,-87.6277,41.7922,2\n";
        let r = read("c.csv", text.as_bytes(), UsSource::Chicago);
        assert!(r.is_clean(), "{:?}", r.errors);
        // CDT is UTC-5.
        assert_eq!(
            r.records[0].occurred.instant().unwrap().to_string(),
            "2019-07-05T03:15:00Z"
        );
        assert_eq!(r.records[0].category, Category::Violence);
    }

    #[test]
    fn san_francisco_z_is_not_utc() {
        let text = "uid,offense_type,date_time,longitude,latitude\n24103841,personal robbery,2019-01-01T19:50:00Z,-122.402066,37.788721\n";
        let r = read("sf.csv", text.as_bytes(), UsSource::SanFrancisco);
        assert!(r.is_clean(), "{:?}", r.errors);
        // PST is UTC-8: 19:50 local is 03:50 UTC next day.
        assert_eq!(
            r.records[0].occurred.instant().unwrap().to_string(),
            "2019-01-02T03:50:00Z"
        );
        assert_eq!(r.records[0].source_id, "san-francisco:24103841");
        assert_eq!(r.records[0].category, Category::Robbery);
    }

    #[test]
    fn houston_uses_the_true_instant_and_skips_ungeocoded_rows() {
        let head = "time_utc,time_local,date,hour,day,month,offense,premise,location,beat,block,street,type,suffix,number,address,lon,lat\n";
        let row = "2010-01-01T06:00:00Z,2010-01-01T00:00:00,1/1/2010,0,friday,january,murder,18A,apartment parking lot,15E30,9600-9699,marlive,ln,-,1,9650 marlive ln,-95.4373883,29.6779015\n";
        let nogeo = "2010-01-01T06:00:00Z,2010-01-01T00:00:00,1/1/2010,0,friday,january,theft,18A,bar / night club,15E30,9600-9699,marlive,ln,-,1,9650 marlive ln,,\n";
        let r = read(
            "h.csv",
            format!("{head}{row}{row}{nogeo}").as_bytes(),
            UsSource::Houston,
        );
        assert!(r.is_clean(), "{:?}", r.errors);
        assert_eq!(r.records.len(), 2);
        assert_ne!(r.records[0].source_id, r.records[1].source_id);
        assert_eq!(r.skipped_total(), 1);
        assert_eq!(
            r.records[0].occurred.instant().unwrap().to_string(),
            "2010-01-01T06:00:00Z"
        );
        assert_eq!(
            UsSource::recognise(&head.trim().split(',').map(String::from).collect::<Vec<_>>()),
            Some(UsSource::Houston)
        );
    }

    #[test]
    fn chicago_fall_back_hour_takes_the_earlier_instant() {
        // 3 November 2019, 01:30 happened at 06:30Z (CDT) and 07:30Z (CST).
        let text = "date,loc_cat,longitude,latitude,district\n2019-11-03 01:30,street,-87.6277,41.7922,2\n";
        let r = read("c.csv", text.as_bytes(), UsSource::Chicago);
        assert_eq!(
            r.records[0].occurred.instant().unwrap().to_string(),
            "2019-11-03T06:30:00Z"
        );
    }
}
