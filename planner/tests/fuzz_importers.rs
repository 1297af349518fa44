//! Fuzzing every importer and every parser of user text (issue 13, item 10): whatever the
//! bytes, each returns records or errors and never panics.
//!
//! Each target gets three kinds of input, `FIREFLY_FUZZ_CASES` of each (default 128):
//!
//! 1. **arbitrary bytes**;
//! 2. **structure-aware** input: for CSV and TSV, the real header and real rows from
//!    `data/` with fields replaced by hostile ones (multibyte UTF-8, invalid UTF-8, NULs,
//!    CR, bidi overrides, quotes, 5000-character fields, numbers at the edge), written
//!    with LF or CRLF, sometimes after a BOM; for GeoJSON, generated FeatureCollections
//!    with random geometries and properties; for one-line parsers, near-valid text;
//! 3. **mutations of the seed corpus** (the first lines or features of the real files in
//!    `data/`): bytes flipped, inserted (`é`'s first byte alone, `"`, CR, NUL, a BOM),
//!    deleted, duplicated, truncated.
//!
//! Besides "no panic", every run checks what must hold of any result: one line per
//! record, every error names a field and a reason, and no text a person will read (a
//! name, an address, a place, a course) holds a control character or a bidi override.
//! And each target first reads its unmutated seed and must get records from it, so a
//! target that stopped calling its importer would fail.
//!
//! Run longer with `FIREFLY_FUZZ_CASES=5000 cargo test -p planner --test fuzz_importers`.
//! A failure prints the smallest input found, as bytes.

#![allow(clippy::unwrap_used)]

use jiff::civil::{Date, date};
use planner::area::Areas;
use planner::harm::HarmTable;
use planner::import::premises::{
    Register, closing_times, is_osm_tsv, read_council_register, read_osm_csv, read_osm_geojson,
    read_osm_tsv,
};
use planner::import::text::{TextKind, check_text};
use planner::import::training::{parse_date, read_training};
use planner::import::units::read_units;
use planner::import::us_open_data::UsSource;
use planner::import::{CsvRows, Import, force_csv, geojson_points, police_uk, us_open_data};
use planner::time::{DstPolicy, YearMonth, london, parse_civil, parse_instant};
use planner::window::{BusyCalendar, WindowSpec};
use planner::{Incident, Premises, TrainingRecord, Unit};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{TestCaseError, TestError, TestRunner};
use serde_json::{Map, Value, json};
use std::io::Read;
use std::path::PathBuf;

// ---------------------------------------------------------------------------------------
// The targets.

/// How a target's input is shaped, for the structure-aware strategy.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// A CSV with a header line.
    Csv,
    /// Tab-separated, no header, no quoting.
    Tsv,
    /// A GeoJSON FeatureCollection.
    Json,
    /// Lines of text (a calendar, a harm table) or one value (a window spec, a date).
    Text,
}

/// What one run produced: records and errors (for the "seed gives records" check).
#[derive(Debug, Default, Clone, Copy)]
struct Outcome {
    records: usize,
    errors: usize,
}

struct Target {
    name: &'static str,
    shape: Shape,
    /// Seed corpus: real data where there is some.
    seed: Vec<u8>,
    /// Runs the importer; `Err` for a broken invariant.
    run: fn(&[u8]) -> Result<Outcome, String>,
}

fn data(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data")).join(path)
}

/// The first `n` lines of a data file (gzip read through).
fn first_lines(path: &str, n: usize) -> Vec<u8> {
    let file = std::fs::File::open(data(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut bytes = Vec::new();
    if path.ends_with(".gz") {
        // Enough of the decompressed text for `n` lines.
        flate2::read::GzDecoder::new(file)
            .take(64 * 1024)
            .read_to_end(&mut bytes)
            .unwrap();
    } else {
        file.take(256 * 1024).read_to_end(&mut bytes).unwrap();
    }
    let mut out = Vec::new();
    for line in bytes.split_inclusive(|&b| b == b'\n').take(n) {
        out.extend_from_slice(line);
    }
    out
}

/// A FeatureCollection of the first `n` features of a GeoJSON data file.
fn first_features(path: &str, n: usize) -> Vec<u8> {
    let text = std::fs::read(data(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut doc: Value = serde_json::from_slice(&text).unwrap();
    if let Some(features) = doc.get_mut("features").and_then(Value::as_array_mut) {
        features.truncate(n);
    }
    shorten_rings(&mut doc);
    serde_json::to_vec_pretty(&doc).unwrap()
}

/// Keeps the first 7 and the last position of long rings (district outlines have
/// thousands), so that mutations land in the structure rather than in one long ring.
fn shorten_rings(v: &mut Value) {
    match v {
        Value::Array(items) if items.len() > 8 && items.iter().all(is_position) => {
            let last = items[items.len() - 1].clone();
            items.truncate(7);
            items.push(last);
        }
        Value::Array(items) => items.iter_mut().for_each(shorten_rings),
        Value::Object(map) => map.values_mut().for_each(shorten_rings),
        _ => {}
    }
}

fn is_position(v: &Value) -> bool {
    v.as_array()
        .is_some_and(|p| p.len() >= 2 && p.iter().all(Value::is_number))
}

const FORCE_CSV_SEED: &str = "id,occurred_at,lat,lon,category,location,area_code,area_name\n\
    A1,2024-03-01T23:30:00+00:00,51.879,-0.416,Violence with injury,George St,E01015000,Luton 010A\n\
    A2,2024-07-05 23:30,51.879,-0.416,public_order,,,\n\
    A3,2024-05,51.879,-0.416,Anti-social behaviour,Park St,,\n\
    A4,2024-10-27T01:30:00+01:00,51.88,-0.42,drunk and disorderly,\"Bute St, Luton\",,\n";

const FORCE_BNG_SEED: &str = "id,occurred_at,easting,northing,category\n\
    B1,2024-03-01T23:30:00Z,509000,221000,violence\n\
    B2,2024-03-02 01:15,509100,221050,public order\n";

const GEOJSON_INCIDENTS_SEED: &str = r#"{"type": "FeatureCollection", "features": [
{"type": "Feature", "id": "G1", "geometry": {"type": "Point", "coordinates": [-0.416, 51.879]},
 "properties": {"occurred_at": "2024-03-01T23:30:00Z", "category": "violence", "location": "George St"}},
{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.42, 51.88]},
 "properties": {"id": 7, "occurred_at": "2024-05", "category": "Public order", "area_code": "E01015000", "area_name": "Luton 010A"}}
]}"#;

const CALENDAR_SEED: &str = "# busy nights\n2024-12-31,New Year's Eve\n2024-12-26,Boxing Day\n\
    2024-09-23,Freshers' week # university\n2025-05-05\n";

const WINDOW_SEED: &str = "weekend-nights\nall\nfri,sat@18:00-06:00\n\
    mon-sun@22:00-02:00;fri@12:00-14:00\nSat-Mon@20:00-24:00\nfriday@18:00-06:00\n\
    sun@01:30-03:00\nwed@06:00-06:00\n";

const DATES_SEED: &str = "2023-05\n2024-03-01T23:30:00+00:00\n2024-03-01 23:30\n2024-10-27 01:30\n\
    2024-03-31T01:30\n14/03/2025\n1/2/2025\n2025-06-01\n31/02/2024\n2019-01-01T19:50:00Z\n";

const OPENING_HOURS_SEED: &str = "Mo-Sa 12:00-23:00; Su 12:00-22:30\nFr,Sa 22:00+\n24/7\n\
    Mo-Fr 12:00-23:00; PH off\nFr-Mo 20:00-02:00\nMo-Th 11:00-23:00, Fr-Sa 11:00-01:00\n\
    Mo 10:00-12:00,14:00-18:00; Tu off\n";

fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "police_uk",
            shape: Shape::Csv,
            seed: first_lines(
                "police-uk/bedfordshire/street/2023-05-bedfordshire-street.csv",
                40,
            ),
            run: run_police_uk,
        },
        Target {
            name: "force_csv",
            shape: Shape::Csv,
            seed: FORCE_CSV_SEED.into(),
            run: |b| incidents(force_csv::read("f.csv", b, &london())),
        },
        Target {
            name: "force_csv_bng",
            shape: Shape::Csv,
            seed: FORCE_BNG_SEED.into(),
            run: |b| incidents(force_csv::read("f.csv", b, &london())),
        },
        Target {
            name: "geojson_points",
            shape: Shape::Json,
            seed: GEOJSON_INCIDENTS_SEED.into(),
            run: |b| incidents(geojson_points::read_bytes("f.geojson", b, &london())),
        },
        Target {
            name: "chicago",
            shape: Shape::Csv,
            seed: first_lines("us/chicago_aggravated_assaults_2019.csv", 40),
            run: |b| us(b, UsSource::Chicago),
        },
        Target {
            name: "houston",
            shape: Shape::Csv,
            seed: first_lines("us/houston_crime_2010-01.csv", 40),
            run: |b| us(b, UsSource::Houston),
        },
        Target {
            name: "san_francisco",
            shape: Shape::Csv,
            seed: first_lines("us/san_francisco_robbery_2019.csv", 40),
            run: |b| us(b, UsSource::SanFrancisco),
        },
        Target {
            name: "premises_osm_geojson_bedfordshire",
            shape: Shape::Json,
            seed: first_features("premises/bedfordshire_pubs_osm_2022-01.geojson", 4),
            run: |b| premises(read_osm_geojson("p.geojson", b)),
        },
        Target {
            name: "premises_osm_geojson_west_sussex",
            shape: Shape::Json,
            seed: first_features(
                "premises/west-sussex/west_sussex_osm_pub_bar_nightclub.geojson",
                6,
            ),
            run: |b| premises(read_osm_geojson("p.geojson", b)),
        },
        Target {
            name: "premises_osm_geojson_leeds",
            shape: Shape::Json,
            seed: first_features("premises/leeds/its_example_nightlife_pois.geojson", 4),
            run: |b| premises(read_osm_geojson("p.geojson", b)),
        },
        Target {
            name: "premises_osm_csv",
            shape: Shape::Csv,
            seed: first_lines("premises/bedfordshire_pubs_osm_2022-01.csv", 40),
            run: |b| premises(read_osm_csv("p.csv", b)),
        },
        Target {
            name: "premises_pub_list_tsv",
            shape: Shape::Tsv,
            seed: first_lines("premises/pubnames_uk_osm_2022-01.tsv.gz", 40),
            run: |b| {
                let _ = is_osm_tsv(b);
                premises(read_osm_tsv("p.tsv", b))
            },
        },
        Target {
            name: "council_register_arun",
            shape: Shape::Csv,
            seed: first_lines("premises/west-sussex/arun_premises_geocoded.csv", 40),
            run: register,
        },
        Target {
            name: "council_register_arun_raw",
            shape: Shape::Csv,
            seed: first_lines(
                "premises/west-sussex/arun_premises_licence_register_2023-03-02_raw.csv",
                20,
            ),
            run: register,
        },
        Target {
            name: "council_register_worthing",
            shape: Shape::Csv,
            seed: first_lines("premises/west-sussex/worthing_premises_geocoded.csv", 40),
            run: register,
        },
        Target {
            name: "council_register_adur",
            shape: Shape::Csv,
            seed: first_lines("premises/west-sussex/adur_premises_geocoded.csv", 40),
            run: register,
        },
        Target {
            name: "training",
            shape: Shape::Csv,
            seed: first_lines("demo/training_fictional.csv", 40),
            run: run_training,
        },
        Target {
            name: "units",
            shape: Shape::Csv,
            seed: first_lines("demo/units.csv", 40),
            run: run_units,
        },
        Target {
            name: "boundaries",
            shape: Shape::Json,
            seed: first_features("boundaries/bedfordshire_lad20.geojson", 2),
            run: run_boundaries,
        },
        Target {
            name: "busy_calendar",
            shape: Shape::Text,
            seed: CALENDAR_SEED.into(),
            run: run_calendar,
        },
        Target {
            name: "harm_table",
            shape: Shape::Text,
            seed: HarmTable::default().to_string().into_bytes(),
            run: run_harm,
        },
        Target {
            name: "window_spec",
            shape: Shape::Text,
            seed: WINDOW_SEED.into(),
            run: run_windows,
        },
        Target {
            name: "dates_and_times",
            shape: Shape::Text,
            seed: DATES_SEED.into(),
            run: run_dates,
        },
        Target {
            name: "opening_hours",
            shape: Shape::Text,
            seed: OPENING_HOURS_SEED.into(),
            run: run_opening_hours,
        },
    ]
}

// ---------------------------------------------------------------------------------------
// Running an importer and checking what must hold of its result.

fn check_import<T>(
    import: &Import<T>,
    shown: impl Fn(&T) -> Vec<(&'static str, &str, TextKind)>,
) -> Result<Outcome, String> {
    if import.records.len() != import.lines.len() {
        return Err(format!(
            "{} records but {} lines",
            import.records.len(),
            import.lines.len()
        ));
    }
    if let Some(e) = import
        .errors
        .iter()
        .find(|e| e.field.is_empty() || e.reason.is_empty())
    {
        return Err(format!("an error without a field or reason: {e:?}"));
    }
    for r in &import.records {
        for (field, text, kind) in shown(r) {
            if let Err(why) = check_text(text, kind) {
                return Err(format!("record field {field} {text:?} kept: {why}"));
            }
        }
    }
    Ok(Outcome {
        records: import.records.len(),
        errors: import.errors.len(),
    })
}

fn opt<'a>(
    field: &'static str,
    v: &'a Option<String>,
) -> Option<(&'static str, &'a str, TextKind)> {
    v.as_deref().map(|t| (field, t, TextKind::Line))
}

fn incidents(import: Import<Incident>) -> Result<Outcome, String> {
    check_import(&import, |i| {
        [
            Some(("source_id", i.source_id.as_str(), TextKind::Line)),
            Some(("category_raw", i.category_raw.as_str(), TextKind::Line)),
            opt("location", &i.location),
            opt("area_code", &i.area_code),
            opt("area_name", &i.area_name),
        ]
        .into_iter()
        .flatten()
        .collect()
    })
}

fn premises(import: Import<Premises>) -> Result<Outcome, String> {
    check_import(&import, |p| {
        [
            Some(("source_id", p.source_id.as_str(), TextKind::Line)),
            Some(("name", p.name.as_str(), TextKind::Line)),
            opt("address", &p.address),
            opt("postcode", &p.postcode),
            opt("licence_ref", &p.licence_ref),
            opt("district", &p.district),
        ]
        .into_iter()
        .flatten()
        .collect()
    })
}

fn run_police_uk(b: &[u8]) -> Result<Outcome, String> {
    let mut streamed = 0;
    let each = police_uk::read_each("s.csv", b, |_, _| streamed += 1);
    let all = police_uk::read("s.csv", b);
    if streamed != all.records.len() || each.errors != all.errors {
        return Err(format!(
            "read_each gave {streamed} records and {} errors, read {} and {}",
            each.errors.len(),
            all.records.len(),
            all.errors.len()
        ));
    }
    if let Ok(rows) = CsvRows::new("s.csv", b, b',') {
        let _ = police_uk::recognises(rows.headers());
    }
    incidents(all)
}

fn us(b: &[u8], source: UsSource) -> Result<Outcome, String> {
    if let Ok(rows) = CsvRows::new("us.csv", b, b',') {
        let _ = UsSource::recognise(rows.headers());
    }
    incidents(us_open_data::read("us.csv", b, source))
}

fn register(b: &[u8]) -> Result<Outcome, String> {
    if let Ok(rows) = CsvRows::new("r.csv", b, b',') {
        let _ = Register::detect(rows.headers());
    }
    let out = premises(read_council_register("r.csv", b))?;
    // The raw Arun register has no coordinates: one header error is its whole result.
    Ok(Outcome {
        records: out.records.max(usize::from(out.errors == 1)),
        ..out
    })
}

const TODAY: Date = date(2025, 6, 1);

fn run_training(b: &[u8]) -> Result<Outcome, String> {
    let _ = read_training("t.csv", b, None);
    let import = read_training("t.csv", b, Some(TODAY));
    check_import(&import, |t: &TrainingRecord| {
        let mut v = vec![
            ("premises_id", t.premises_id.as_str(), TextKind::Line),
            ("course", t.course.as_str(), TextKind::Line),
            ("trainer", t.trainer.as_str(), TextKind::Line),
        ];
        if let Some(n) = &t.notes {
            v.push(("notes", n.as_str(), TextKind::MultiLine));
        }
        v
    })
}

fn run_units(b: &[u8]) -> Result<Outcome, String> {
    let import = read_units("u.csv", b);
    check_import(&import, |u: &Unit| {
        let mut v = vec![("callsign", u.callsign.as_str(), TextKind::Line)];
        v.extend(opt("start_name", &u.start_name));
        v.extend(
            u.skills
                .iter()
                .map(|s| ("skills", s.as_str(), TextKind::Line)),
        );
        v
    })
}

fn run_boundaries(b: &[u8]) -> Result<Outcome, String> {
    let text = String::from_utf8_lossy(b);
    match Areas::from_geojson(&text, &["lad20nm", "LAD22NM", "name"], &["lad20cd"]) {
        Ok(areas) => {
            let _ = areas.locate(-0.416, 51.879);
            Ok(Outcome {
                records: areas.areas.len(),
                errors: 0,
            })
        }
        Err(_) => Ok(Outcome {
            records: 0,
            errors: 1,
        }),
    }
}

fn run_calendar(b: &[u8]) -> Result<Outcome, String> {
    let text = String::from_utf8_lossy(b);
    Ok(match BusyCalendar::parse(&text) {
        Ok(cal) => {
            // A calendar is used through a window: resolve a few nights with it.
            let w = WindowSpec::weekend_nights().with_calendar(cal);
            for d in [date(2024, 12, 31), date(2024, 3, 30), date(2025, 5, 5)] {
                let _ = w.night_bounds(d, &london());
            }
            Outcome {
                records: 1,
                errors: 0,
            }
        }
        Err(e) => Outcome {
            records: 0,
            errors: e.problems.len(),
        },
    })
}

fn run_harm(b: &[u8]) -> Result<Outcome, String> {
    let text = String::from_utf8_lossy(b);
    Ok(match HarmTable::parse(&text) {
        Ok(t) => {
            let _ = t.to_string();
            Outcome {
                records: 1,
                errors: 0,
            }
        }
        Err(_) => Outcome {
            records: 0,
            errors: 1,
        },
    })
}

fn run_windows(b: &[u8]) -> Result<Outcome, String> {
    let text = String::from_utf8_lossy(b);
    let mut out = Outcome::default();
    // Each line a spec (the seed), and the whole text as one.
    for spec in text.lines().chain([text.as_ref()]) {
        match spec.parse::<WindowSpec>() {
            Ok(w) => {
                out.records += 1;
                let tz = london();
                // Both DST nights, and an ordinary one.
                for d in [date(2024, 3, 30), date(2024, 10, 26), date(2024, 6, 7)] {
                    let _ = w.periods(d, &tz);
                    if let Some((start, _)) = w.night_bounds(d, &tz) {
                        let _ = w.contains(start, &tz);
                        let _ = w.night_of(start, &tz);
                    }
                }
                let printed = w.to_string();
                if printed.parse::<WindowSpec>().as_ref() != Ok(&w) {
                    return Err(format!(
                        "{spec:?} prints as {printed:?}, which reads back differently"
                    ));
                }
            }
            Err(_) => out.errors += 1,
        }
    }
    Ok(out)
}

fn run_dates(b: &[u8]) -> Result<Outcome, String> {
    let text = String::from_utf8_lossy(b);
    let mut out = Outcome::default();
    let tz = london();
    for t in text.lines().chain([text.as_ref()]) {
        let results = [
            YearMonth::parse(t).is_ok(),
            parse_instant(t, &tz, DstPolicy::Reject).is_ok(),
            parse_instant(t, &tz, DstPolicy::Compatible).is_ok(),
            parse_civil(t).is_some(),
            force_csv::parse_occurred(t, &tz, DstPolicy::Reject).is_ok(),
            parse_date(t).is_ok(),
        ];
        if results.iter().any(|&ok| ok) {
            out.records += 1;
        } else {
            out.errors += 1;
        }
    }
    Ok(out)
}

fn run_opening_hours(b: &[u8]) -> Result<Outcome, String> {
    let text = String::from_utf8_lossy(b);
    let mut out = Outcome::default();
    for t in text.lines().chain([text.as_ref()]) {
        match closing_times(t) {
            Some(_) => out.records += 1,
            None => out.errors += 1,
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Strategies.

/// Text that has broken importers before, or could: multibyte characters where bytes are
/// counted, controls, bidi overrides, quotes, formula starts, edge numbers and dates.
const NASTY: &[&str] = &[
    "",
    " ",
    "NA",
    "é",
    "ABé12",
    "老虎",
    "🍺",
    "e\u{301}",
    "\u{feff}",
    "\u{200b}",
    "\u{202e}evil",
    "\u{2066}x\u{2069}",
    "\u{2028}",
    "\0",
    "a\0b",
    "\r",
    "\n",
    "\r\n",
    "\t",
    "\u{1b}[2J",
    "\u{85}",
    "\"",
    "\"\"",
    "a\"b",
    "\"a,b\"",
    ",",
    ";",
    "=HYPERLINK(\"http://x\")",
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "-",
    "0",
    "-0",
    "-0.0",
    "NaN",
    "inf",
    "-inf",
    "1e309",
    "-1e309",
    "180.0000001",
    "-90.5",
    "51.879",
    "-0.416",
    "0.0",
    "99999999999999999999999",
    "2023-05",
    "2023-13",
    "0000-00",
    "2024-02-30",
    "2024-03-31 01:30",
    "2024-10-27 01:30",
    "2024-10-27T01:30:00+01:00",
    "9999-12-31T23:59:59Z",
    "-009999-01-01T00:00:00Z",
    "31/02/2024",
    "1/1/1",
    "24:00",
    "23:60",
    "00:00",
    "-1:30",
    "fri,sat@18:00-06:00",
    "Mo-Su 00:00-24:00",
    "node/1",
    "way/",
    "n",
    "r1",
    "PO21 1QT",
    "W1A 1AA",
    "Granted",
    "Surrendered",
    "LN/301300095",
    "2",
    "45",
    "first-aid;;licensing",
];

/// One hostile or ordinary field value.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(NASTY).prop_map(str::to_string),
        3 => "\\PC{0,16}",
        1 => any::<String>().prop_map(|s| s.chars().take(24).collect()),
        1 => (proptest::sample::select(&["a", "é", "\"", "老", "\u{202e}"][..]), 0usize..5000)
            .prop_map(|(c, n)| c.repeat(n)),
        2 => "[-+0-9.eE:/ TZ]{0,20}",
    ]
}

/// CSV rows as the csv crate parses them (quoted fields and all).
fn csv_records(seed: &[u8], delimiter: u8, quoting: bool) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quoting(quoting)
        .flexible(true)
        .has_headers(false)
        .from_reader(seed);
    let mut rows: Vec<Vec<String>> = reader
        .byte_records()
        .map_while(Result::ok)
        .map(|r| {
            r.iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect()
        })
        .collect();
    let header = if rows.is_empty() {
        Vec::new()
    } else {
        rows.remove(0)
    };
    (header, rows)
}

/// How one generated row changes a real one.
#[derive(Debug, Clone)]
enum Edit {
    Replace(Index, String),
    /// Raw bytes (possibly invalid UTF-8) in place of a field.
    Bytes(Index, Vec<u8>),
    Drop(Index),
    Append(String),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        6 => (any::<Index>(), field()).prop_map(|(i, f)| Edit::Replace(i, f)),
        2 => (any::<Index>(), proptest::collection::vec(any::<u8>(), 0..8))
            .prop_map(|(i, b)| Edit::Bytes(i, b)),
        1 => any::<Index>().prop_map(Edit::Drop),
        1 => field().prop_map(Edit::Append),
    ]
}

#[derive(Debug, Clone)]
struct CsvPlan {
    /// Rows: which seed row to start from, and its edits.
    rows: Vec<(Index, Vec<Edit>)>,
    /// A header edit, sometimes.
    header_edit: Option<Edit>,
    crlf: bool,
    bom: bool,
    /// Quote every field, or only where needed.
    quote_all: bool,
    trailing_newline: bool,
}

fn csv_plan() -> impl Strategy<Value = CsvPlan> {
    (
        proptest::collection::vec(
            (any::<Index>(), proptest::collection::vec(edit(), 0..4)),
            0..8,
        ),
        proptest::option::weighted(0.1, edit()),
        any::<bool>(),
        proptest::bool::weighted(0.2),
        any::<bool>(),
        proptest::bool::weighted(0.9),
    )
        .prop_map(
            |(rows, header_edit, crlf, bom, quote_all, trailing_newline)| CsvPlan {
                rows,
                header_edit,
                crlf,
                bom,
                quote_all,
                trailing_newline,
            },
        )
}

fn apply_edits(fields: &[String], edits: &[Edit]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = fields.iter().map(|f| f.as_bytes().to_vec()).collect();
    for e in edits {
        match e {
            Edit::Replace(i, f) if !out.is_empty() => {
                let i = i.index(out.len());
                out[i] = f.as_bytes().to_vec();
            }
            Edit::Bytes(i, b) if !out.is_empty() => {
                let i = i.index(out.len());
                out[i] = b.clone();
            }
            Edit::Drop(i) if !out.is_empty() => {
                let i = i.index(out.len());
                out.remove(i);
            }
            Edit::Append(f) => out.push(f.as_bytes().to_vec()),
            _ => {}
        }
    }
    out
}

/// A CSV (or TSV) built from the seed's header and edited copies of its rows.
fn build_csv(seed: &[u8], tsv: bool, plan: &CsvPlan) -> Vec<u8> {
    let delimiter = if tsv { b'\t' } else { b',' };
    let (header, rows) = csv_records(seed, delimiter, !tsv);
    let mut lines: Vec<Vec<Vec<u8>>> = Vec::new();
    if !tsv {
        lines.push(apply_edits(&header, plan.header_edit.as_slice()));
    }
    let pool: Vec<Vec<String>> = if rows.is_empty() {
        vec![header.clone()]
    } else if tsv {
        // Headerless: the "header" is a data row too.
        std::iter::once(header.clone()).chain(rows).collect()
    } else {
        rows
    };
    for (i, edits) in &plan.rows {
        lines.push(apply_edits(&pool[i.index(pool.len())], edits));
    }
    let mut out = Vec::new();
    if plan.bom {
        out.extend_from_slice(b"\xEF\xBB\xBF");
    }
    let terminator: &[u8] = if plan.crlf { b"\r\n" } else { b"\n" };
    for (n, fields) in lines.iter().enumerate() {
        for (k, f) in fields.iter().enumerate() {
            if k > 0 {
                out.push(delimiter);
            }
            let needs = f.iter().any(|&b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
            if !tsv && (plan.quote_all || needs) {
                out.push(b'"');
                for &b in f {
                    if b == b'"' {
                        out.push(b'"');
                    }
                    out.push(b);
                }
                out.push(b'"');
            } else {
                out.extend_from_slice(f);
            }
        }
        if n + 1 < lines.len() || plan.trailing_newline {
            out.extend_from_slice(terminator);
        }
    }
    out
}

fn json_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        2 => any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        5 => field().prop_map(Value::String),
    ]
}

fn json_any() -> impl Strategy<Value = Value> {
    json_scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z:@._]{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A position: mostly plausible numbers, sometimes anything.
fn position() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (-1.6f64..0.5, 50.0f64..54.0).prop_map(|(x, y)| json!([x, y])),
        2 => (-200.0f64..200.0, -100.0f64..100.0).prop_map(|(x, y)| json!([x, y])),
        1 => (any::<f64>(), any::<f64>()).prop_map(|(x, y)| json!([
            serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
            serde_json::Number::from_f64(y).map_or(Value::Null, Value::Number),
        ])),
        1 => json_any(),
    ]
}

fn ring() -> impl Strategy<Value = Value> {
    proptest::collection::vec(position(), 0..7).prop_map(|mut r| {
        // Usually closed, as GeoJSON wants.
        if r.len() > 2 {
            let first = r[0].clone();
            r.push(first);
        }
        Value::Array(r)
    })
}

fn geometry() -> impl Strategy<Value = Value> {
    let kind = proptest::sample::select(
        &[
            "Point",
            "Polygon",
            "MultiPolygon",
            "LineString",
            "point",
            "",
        ][..],
    );
    prop_oneof![
        4 => position().prop_map(|c| json!({"type": "Point", "coordinates": c})),
        2 => proptest::collection::vec(ring(), 0..3)
            .prop_map(|r| json!({"type": "Polygon", "coordinates": r})),
        1 => proptest::collection::vec(proptest::collection::vec(ring(), 0..2), 0..3)
            .prop_map(|p| json!({"type": "MultiPolygon", "coordinates": p})),
        1 => (kind, json_any()).prop_map(|(k, c)| json!({"type": k, "coordinates": c})),
        1 => Just(Value::Null),
        1 => json_any(),
    ]
}

const KEYS: &[&str] = &[
    "name",
    "brand",
    "amenity",
    "osm_id",
    "@id",
    "osm_type",
    "addr:street",
    "addr.city",
    "addr:housenumber",
    "addr:postcode",
    "lad20nm",
    "LAD22NM",
    "lad20cd",
    "opening_hours",
    "id",
    "occurred_at",
    "category",
    "location",
    "area_code",
    "area_name",
];

/// A value that suits the key most of the time.
fn property() -> impl Strategy<Value = (String, Value)> {
    let key = prop_oneof![
        6 => proptest::sample::select(KEYS).prop_map(str::to_string),
        1 => "\\PC{0,8}",
    ];
    let typical = proptest::sample::select(
        &[
            "node/21992993",
            "way/84736036",
            "262706",
            "w5",
            "relation/",
            "pub",
            "bar",
            "nightclub",
            "2024-03-01T23:30:00Z",
            "2024-05",
            "2024-10-27 01:30",
            "violence",
            "Public order",
            "Mo-Sa 12:00-23:00; Su 12:00-22:30",
            "Fr,Sa 22:00+",
            "Bedford",
            "The George",
            "LU1 2AA",
        ][..],
    );
    let value = prop_oneof![
        3 => typical.prop_map(|s| Value::String(s.into())),
        3 => json_scalar(),
        1 => json_any(),
    ];
    (key, value)
}

fn feature() -> impl Strategy<Value = Value> {
    (
        proptest::bool::weighted(0.9),
        proptest::option::weighted(0.3, json_scalar()),
        geometry(),
        proptest::collection::vec(property(), 0..8),
        proptest::bool::weighted(0.05),
    )
        .prop_map(|(is_feature, id, geometry, props, bare)| {
            if bare {
                return geometry;
            }
            let mut f = Map::new();
            f.insert(
                "type".into(),
                Value::String(if is_feature { "Feature" } else { "Feat" }.into()),
            );
            if let Some(id) = id {
                f.insert("id".into(), id);
            }
            f.insert("geometry".into(), geometry);
            f.insert(
                "properties".into(),
                Value::Object(props.into_iter().collect()),
            );
            Value::Object(f)
        })
}

/// A FeatureCollection, written compact or pretty, sometimes after a BOM.
fn feature_collection() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::bool::weighted(0.9),
        proptest::collection::vec(feature(), 0..6),
        any::<bool>(),
        proptest::bool::weighted(0.1),
    )
        .prop_map(|(fc, features, pretty, bom)| {
            let doc = json!({
                "type": if fc { "FeatureCollection" } else { "Feature" },
                "features": features,
            });
            let mut out = if bom {
                b"\xEF\xBB\xBF".to_vec()
            } else {
                Vec::new()
            };
            let body = if pretty {
                serde_json::to_vec_pretty(&doc)
            } else {
                serde_json::to_vec(&doc)
            };
            out.extend(body.unwrap_or_default());
            out
        })
}

/// Lines of text for the one-line parsers: seed lines edited, and near-valid noise.
fn text_lines(seed: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let lines: Vec<String> = String::from_utf8_lossy(&seed)
        .lines()
        .map(str::to_string)
        .collect();
    let line = prop_oneof![
        3 => (proptest::sample::select(lines), any::<Index>(), field()).prop_map(|(l, i, f)| {
            // Insert a field at a character boundary of a real line.
            let cut = l.char_indices().map(|(k, _)| k).chain([l.len()]).collect::<Vec<_>>();
            let k = cut[i.index(cut.len())];
            format!("{}{f}{}", &l[..k], &l[k..])
        }),
        2 => "[a-zA-Z0-9@:;,./+\\- #_]{0,30}",
        1 => field(),
    ];
    proptest::collection::vec(line, 0..6).prop_map(|ls| ls.join("\n").into_bytes())
}

/// One change to the seed's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Insert(Index, Vec<u8>),
    Delete(Index, usize),
    Duplicate(Index, usize),
    Truncate(Index),
}

/// Bytes worth inserting: a lone UTF-8 lead byte, multibyte characters, invalid bytes, a
/// BOM, CSV and JSON punctuation, escapes JSON rejects, a bidi override.
const INTERESTING: &[&[u8]] = &[
    b"\xC3",
    b"\xC3\xA9",
    b"\xE8\x80\x81",
    b"\xF0\x9F\x8D\xBA",
    b"\xFF",
    b"\x80",
    b"\xEF\xBB\xBF",
    b"\"",
    b",",
    b"\t",
    b"\r",
    b"\n",
    b"\r\n",
    b"\0",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b"-",
    b"9",
    b"e999",
    b"\\u0000",
    b"\\ud800",
    b"\xE2\x80\xAE",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = proptest::sample::select(INTERESTING).prop_map(<[u8]>::to_vec);
    prop_oneof![
        3 => (any::<Index>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        4 => (any::<Index>(), interesting).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        1 => (any::<Index>(), 1usize..256).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(seed: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for m in mutations {
        let at = |i: &Index, len: usize| if len == 0 { 0 } else { i.index(len + 1) };
        match m {
            Mutation::Flip(i, x) if !b.is_empty() => {
                let k = i.index(b.len());
                b[k] ^= x;
            }
            Mutation::Insert(i, bytes) => {
                let k = at(i, b.len());
                b.splice(k..k, bytes.iter().copied());
            }
            Mutation::Delete(i, n) if !b.is_empty() => {
                let k = i.index(b.len());
                let end = (k + n).min(b.len());
                b.drain(k..end);
            }
            Mutation::Duplicate(i, n) if !b.is_empty() => {
                let k = i.index(b.len());
                let end = (k + n).min(b.len());
                let copy = b[k..end].to_vec();
                b.splice(end..end, copy);
            }
            Mutation::Truncate(i) => {
                let k = at(i, b.len());
                b.truncate(k);
            }
            _ => {}
        }
    }
    b
}

// ---------------------------------------------------------------------------------------
// The runner.

fn cases() -> u32 {
    std::env::var("FIREFLY_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128)
}

fn runner() -> TestRunner {
    TestRunner::new(ProptestConfig {
        cases: cases(),
        // A failure is reported with its smallest input; shrinking is bounded (ms).
        max_shrink_time: 20_000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })
}

fn escaped(b: &[u8]) -> String {
    b.escape_ascii().to_string()
}

/// Runs `target` on `strategy`'s inputs; a panic or a broken invariant fails the test with
/// the smallest input found.
fn fuzz_with(target: &Target, what: &str, strategy: impl Strategy<Value = Vec<u8>>) {
    let run = target.run;
    let result = runner().run(&strategy, |input| {
        run(&input).map(|_| ()).map_err(TestCaseError::fail)
    });
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, input)) => panic!(
            "{} ({what}): {reason}\nsmallest input ({} bytes{}): b\"{}\"",
            target.name,
            input.len(),
            if input.len() > 4096 {
                ", first 4096 shown"
            } else {
                ""
            },
            escaped(&input[..input.len().min(4096)])
        ),
        Err(e) => panic!("{} ({what}): {e}", target.name),
    }
}

fn fuzz(name: &str) {
    let started = std::time::Instant::now();
    let target = targets()
        .into_iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no target {name}"));
    // The seed corpus: the real lines import, and give records (the importer is called).
    let seed = (target.run)(&target.seed).unwrap_or_else(|e| panic!("{name} seed: {e}"));
    assert!(
        seed.records > 0,
        "{name}: the seed gave no records ({} errors)",
        seed.errors
    );
    fuzz_with(
        &target,
        "arbitrary bytes",
        proptest::collection::vec(any::<u8>(), 0..2048),
    );
    let s = target.seed.clone();
    fuzz_with(
        &target,
        "mutated seed",
        proptest::collection::vec(mutation(), 1..8).prop_map(move |m| mutate(&s, &m)),
    );
    let s = target.seed.clone();
    match target.shape {
        Shape::Csv | Shape::Tsv => {
            let tsv = target.shape == Shape::Tsv;
            fuzz_with(
                &target,
                "structured rows",
                csv_plan().prop_map(move |p| build_csv(&s, tsv, &p)),
            );
        }
        Shape::Json => fuzz_with(&target, "generated GeoJSON", feature_collection()),
        Shape::Text => fuzz_with(&target, "near-valid text", text_lines(s)),
    }
    eprintln!(
        "fuzz {name}: {} cases x 3 in {:.1?}",
        cases(),
        started.elapsed()
    );
}

macro_rules! fuzz_targets {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                fuzz(stringify!($name));
            }
        )*

        #[test]
        fn every_target_has_a_test() {
            let tested = [$(stringify!($name),)* "boundaries"];
            for t in targets() {
                assert!(tested.contains(&t.name), "target {} has no test", t.name);
            }
        }
    };
}

fuzz_targets!(
    police_uk,
    force_csv,
    force_csv_bng,
    geojson_points,
    chicago,
    houston,
    san_francisco,
    premises_osm_geojson_bedfordshire,
    premises_osm_geojson_west_sussex,
    premises_osm_geojson_leeds,
    premises_osm_csv,
    premises_pub_list_tsv,
    council_register_arun,
    council_register_arun_raw,
    council_register_worthing,
    council_register_adur,
    training,
    units,
    busy_calendar,
    harm_table,
    window_spec,
    dates_and_times,
    opening_hours,
);

/// District boundaries (`planner::area`): a short GeoJSON position (`[0.0]`) is an error,
/// not a panic in the `geojson` crate's conversion (georust/geojson#224).
#[test]
fn boundaries() {
    fuzz("boundaries");
}

/// The inputs that found bugs, kept as fixed cases.
#[test]
fn issue_13_known_crashers_do_not_panic() {
    let register =
        b"\"Reference\",\"Trader Name\",\"Address\",\"Postcode\",\"longitude\",\"latitude\"\n\
        \"LN/1\",\"Bar\",\"1 High St\",\"AB\xC3\xA912\",-0.37,50.83\n";
    let r = read_council_register("w.csv", &register[..]);
    assert!(r.is_clean(), "{:?}", r.errors);
    assert_eq!(r.records[0].postcode, None);
    // A venue outline with a one-number position (the geojson crate panicked on it).
    for polygon in ["[[[0.0]]]", "[[[0.0,50.0],[]]]", "[[],[[]]]"] {
        let json = format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{"osm_id":"way/1"}},"geometry":{{"type":"Polygon","coordinates":{polygon}}}}}]}}"#
        );
        let r = read_osm_geojson("p.geojson", json.as_bytes());
        assert_eq!(r.errors.len(), 1, "{polygon}: {:?}", r.errors);
    }
}

/// A target that does not call its importer would pass the fuzz loop; this shows the loop
/// reports a panic, with the input.
#[test]
fn the_fuzz_loop_reports_a_panic() {
    let target = Target {
        name: "panics_on_a_quote",
        shape: Shape::Text,
        seed: b"x".to_vec(),
        run: |b| {
            assert!(!b.contains(&b'"'), "a quote");
            Ok(Outcome::default())
        },
    };
    let caught = std::panic::catch_unwind(|| {
        fuzz_with(
            &target,
            "mutated seed",
            proptest::collection::vec(mutation(), 1..8).prop_map(|m| mutate(b"abc", &m)),
        )
    });
    let message = caught.err().and_then(|e| e.downcast::<String>().ok());
    assert!(
        message
            .as_deref()
            .is_some_and(|m| m.contains("smallest input")),
        "{message:?}"
    );
}
