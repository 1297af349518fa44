//! Incident importers on the real published files in `data/`.
//!
//! Expected counts are the files' own (SOURCES.md, re-counted with Python's csv module:
//! rows, and rows with both Longitude and Latitude empty), not numbers read off this code.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use planner::import::{police_uk, us_open_data};
use planner::{Category, OccurredAt};
use std::collections::HashSet;
use std::path::PathBuf;

fn data(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data")).join(path)
}

#[test]
fn police_uk_twelve_bedfordshire_months() {
    // (file month, rows, rows without location)
    let dir = data("police-uk/bedfordshire/street");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 12);
    let expected_rows = [
        5354, 5387, 5327, 5282, 5284, 5255, 4826, 4529, 4903, 4763, 5272, 5343,
    ];
    let (mut rows, mut records, mut skipped) = (0, 0, 0);
    let mut ids = HashSet::new();
    let mut by_category = std::collections::BTreeMap::new();
    for (path, expected) in files.iter().zip(expected_rows) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let bytes = std::fs::read(path).unwrap();
        let r = police_uk::read(&name, &bytes[..]);
        assert!(
            r.is_clean(),
            "{name}: {:?}",
            &r.errors[..r.errors.len().min(3)]
        );
        assert_eq!(r.rows, expected, "{name}");
        assert_eq!(
            r.rows,
            r.records.len() as u64 + r.skipped_total(),
            "{name}: every row accounted for"
        );
        rows += r.rows;
        records += r.records.len();
        skipped += r.skipped_total();
        for i in &r.records {
            assert!(matches!(i.occurred, OccurredAt::Month(_)));
            *by_category.entry(i.category).or_insert(0) += 1;
            assert!(
                ids.insert(i.source_id.clone()),
                "duplicate id {}",
                i.source_id
            );
        }
    }
    assert_eq!(rows, 61_525);
    assert_eq!(skipped, 2_549);
    assert_eq!(records, 58_976);
    // Located rows per published crime type (Python csv count). Anti-social behaviour rows
    // have no Crime ID: all 10,473 located ones must survive, none merged with an
    // identical neighbour.
    let expected = [
        (Category::AntiSocialBehaviour, 10_473),
        (Category::BicycleTheft, 563),
        (Category::Burglary, 2_393),
        (Category::CriminalDamageArson, 4_302),
        (Category::Drugs, 1_757),
        (Category::Other, 1_091),
        (Category::OtherTheft, 4_337),
        (Category::PossessionOfWeapons, 643),
        (Category::PublicOrder, 4_348),
        (Category::Robbery, 541),
        (Category::Shoplifting, 3_704),
        (Category::TheftFromPerson, 512),
        (Category::VehicleCrime, 4_822),
        (Category::ViolenceAndSexual, 19_490),
    ];
    assert_eq!(by_category, expected.into_iter().collect());
    assert_eq!(ids.len(), records);
}

#[test]
fn police_uk_reimport_yields_the_same_ids() {
    let path = data("police-uk/bedfordshire/street/2023-05-bedfordshire-street.csv");
    let bytes = std::fs::read(path).unwrap();
    let a = police_uk::read("a", &bytes[..]);
    let b = police_uk::read("a", &bytes[..]);
    assert_eq!(a.records, b.records);
}

fn read_us(file: &str) -> planner::import::Import<planner::Incident> {
    let bytes = std::fs::read(data(file)).unwrap();
    let mut rows = planner::import::CsvRows::new(file, &bytes[..], b',').unwrap();
    let source = us_open_data::UsSource::recognise(rows.headers()).expect("recognised header");
    let _ = rows.next();
    us_open_data::read(file, &bytes[..], source)
}

#[test]
fn chicago_2019_assaults() {
    let r = read_us("us/chicago_aggravated_assaults_2019.csv");
    assert!(r.is_clean(), "{:?}", &r.errors[..r.errors.len().min(3)]);
    assert_eq!(r.records.len(), 15_328);
    let ids: HashSet<_> = r.records.iter().map(|i| &i.source_id).collect();
    assert_eq!(ids.len(), 15_328);
    // Local hours: SOURCES.md says the trough is 05-06 h and the peak 21-22 h.
    let tz = jiff::tz::TimeZone::get("America/Chicago").unwrap();
    let mut hours = [0u32; 24];
    for i in &r.records {
        hours[i.occurred.instant().unwrap().to_zoned(tz.clone()).hour() as usize] += 1;
    }
    let min = (0..24).min_by_key(|&h| hours[h]).unwrap();
    assert!((4..=7).contains(&min), "trough at {min}: {hours:?}");
}

#[test]
fn san_francisco_robberies() {
    let r = read_us("us/san_francisco_robbery_2019.csv");
    assert!(r.is_clean());
    assert_eq!(r.records.len(), 951);
    assert!(r.records.iter().all(|i| i.category == Category::Robbery));
}

#[test]
fn houston_january() {
    let r = read_us("us/houston_crime_2010-01.csv");
    assert!(r.is_clean(), "{:?}", &r.errors[..r.errors.len().min(3)]);
    assert_eq!(r.rows, 10_211);
    assert_eq!(r.records.len() as u64 + r.skipped_total(), 10_211);
    let ids: HashSet<_> = r.records.iter().map(|i| &i.source_id).collect();
    assert_eq!(ids.len(), r.records.len());
    let bars = r
        .records
        .iter()
        .filter(|i| {
            i.location
                .as_deref()
                .is_some_and(|l| l.starts_with("bar / night club"))
        })
        .count();
    assert!(bars > 100, "{bars}");
}

/// Issue 13, item 9: text shown to people (places, areas, categories, ids) may not hold
/// control characters or bidi overrides; each is a row error naming its line and field.
#[test]
fn issue_13_control_characters_in_incident_text_are_row_errors() {
    use planner::import::{force_csv, geojson_points};
    let tz = planner::time::london();
    for bad in ["Park St\rX", "Park\0St", "Park \u{202E}tS", "Park\u{1b}[2J"] {
        let row = format!(
            "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context\n\
             abc,2023-05,B,B,-0.416,51.879,\"{bad}\",E01015000,Luton 010A,Public order,,\n"
        );
        let r = police_uk::read("s.csv", row.as_bytes());
        assert_eq!(r.errors.len(), 1, "{bad:?}: {:?}", r.errors);
        assert_eq!(
            (r.errors[0].line, r.errors[0].field.as_str()),
            (2, "Location")
        );
        for (field, location, category) in [
            ("location", bad, "violence"),
            ("category", "George St", bad),
        ] {
            let csv = format!(
                "id,occurred_at,lat,lon,category,location\nA1,2024-03-01T23:30:00Z,51.879,-0.416,\"{category}\",\"{location}\"\n"
            );
            let r = force_csv::read("f.csv", csv.as_bytes(), &tz);
            assert_eq!(r.errors.len(), 1, "{bad:?}: {:?}", r.errors);
            assert_eq!((r.errors[0].line, r.errors[0].field.as_str()), (2, field));
        }
        let mut json = serde_json::json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.416, 51.879]},
             "properties": {"id": "G1", "occurred_at": "2024-03-01T23:30:00Z", "category": "violence"}}]});
        json["features"][0]["properties"]["area_name"] = bad.into();
        let r = geojson_points::read("g.geojson", &json.to_string(), &tz);
        assert_eq!(r.errors.len(), 1, "{bad:?}: {:?}", r.errors);
        assert_eq!(r.errors[0].field, "properties.area_name");
        let csv = format!(
            "uid,offense_type,date_time,longitude,latitude\n1,\"{bad}\",2019-01-01T19:50:00Z,-122.40,37.78\n"
        );
        let r = us_open_data::read(
            "sf.csv",
            csv.as_bytes(),
            us_open_data::UsSource::SanFrancisco,
        );
        assert_eq!(r.errors.len(), 1, "{bad:?}: {:?}", r.errors);
        assert_eq!(r.errors[0].field, "offense_type");
    }
}
