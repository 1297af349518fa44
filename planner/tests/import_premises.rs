//! Premises, training and unit importers on the real files in `data/premises/` and the demo
//! files in `data/demo/`, and every rejection reason on small inline inputs.
//!
//! Expected counts are the files' own, re-counted independently of this code:
//! * rows: `python3 -c "import csv; print(len(list(csv.DictReader(open(F)))))"` for CSV,
//!   `len(json.load(open(F))["features"])` for GeoJSON; district and kind counts with
//!   `awk -F, 'NR>1{c[$NF]++}'` (Bedfordshire CSV) and `collections.Counter` (GeoJSON);
//! * Arun skips, with Python's csv module, applying the documented rules in order: status
//!   Surrendered (12) or Lapsed (3); else longitude and latitude both `NA` (28 `NA` rows, one
//!   of them Surrendered, so 27); else licence number already seen (10 repeats of 9 numbers,
//!   found with `cut -d, -f1 | sort | uniq -d`); 475 - 12 - 3 - 27 - 10 = 423 kept;
//! * feature start lines: `awk 'NR>4 && $0=="{"'` on the pretty-printed Bedfordshire file;
//! * opening hours: the 27 values listed with
//!   `grep -o '"opening_hours": "\(\\"\|[^"]\)*"' west_sussex_osm_pub_bar_nightclub.geojson`,
//!   expected closing times worked out by hand from the OSM opening_hours specification.

#![allow(clippy::unwrap_used)]

use jiff::civil::{Date, Time, date, time};
use planner::import::premises::{
    closing_times, is_osm_tsv, read_council_register, read_osm_csv, read_osm_geojson, read_osm_tsv,
};
use planner::import::training::read_training;
use planner::import::units::read_units;
use planner::import::{Import, RowError};
use planner::premises::{Premises, PremisesKind};
use planner::training::{DEFAULT_REFRESHER_MONTHS, TrainingStatus, training_status};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

fn data(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../data")).join(path)
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(data(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn first_errors<T>(r: &Import<T>) -> &[RowError] {
    &r.errors[..r.errors.len().min(5)]
}

fn by_kind(records: &[Premises]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for p in records {
        *m.entry(p.kind.as_str()).or_insert(0) += 1;
    }
    m
}

fn hm(h: i8, m: i8) -> Option<Time> {
    Some(time(h, m, 0, 0))
}

/// (line, field) of each error, for compact assertions.
fn where_<T>(r: &Import<T>) -> Vec<(u64, String)> {
    r.errors.iter().map(|e| (e.line, e.field.clone())).collect()
}

// ---------------------------------------------------------------------------------------
// Real files
// ---------------------------------------------------------------------------------------

#[test]
fn bedfordshire_osm_geojson_all_235_pubs() {
    let r = read_osm_geojson(
        "bedfordshire_pubs_osm_2022-01.geojson",
        &read("premises/bedfordshire_pubs_osm_2022-01.geojson"),
    );
    assert!(r.is_clean(), "{:?}", first_errors(&r));
    assert_eq!(r.rows, 235);
    assert_eq!(r.records.len(), 235);
    assert_eq!(r.skipped_total(), 0);
    let ids: HashSet<_> = r.records.iter().map(|p| p.source_id.as_str()).collect();
    assert_eq!(ids.len(), 235, "ids are unique");
    assert!(ids.iter().all(|id| id.starts_with("osm:node/")));
    assert_eq!(by_kind(&r.records), BTreeMap::from([("pub", 235)]));
    let mut districts = BTreeMap::new();
    for p in &r.records {
        *districts.entry(p.district.clone().unwrap()).or_insert(0) += 1;
    }
    assert_eq!(
        districts,
        BTreeMap::from([
            ("Bedford".to_string(), 59),
            ("Central Bedfordshire".to_string(), 127),
            ("Luton".to_string(), 49),
        ])
    );
    let first = &r.records[0];
    assert_eq!(first.source_id, "osm:node/21992993");
    assert_eq!(first.name, "Bar Citrus");
    assert_eq!((first.lon, first.lat), (-0.4685366, 52.1377304));
    assert_eq!(
        first.closing,
        Default::default(),
        "no opening hours in this file"
    );
    // Each record remembers the line its feature starts on.
    assert_eq!((r.lines[0], r.lines[1], r.lines[234]), (5, 22, 3983));
}

#[test]
fn bedfordshire_osm_csv_matches_the_geojson() {
    let csv = read_osm_csv(
        "bedfordshire_pubs_osm_2022-01.csv",
        &read("premises/bedfordshire_pubs_osm_2022-01.csv")[..],
    );
    assert!(csv.is_clean(), "{:?}", first_errors(&csv));
    assert_eq!((csv.rows, csv.records.len()), (235, 235));
    // The file has CRLF line endings: the first data row is still line 2.
    assert_eq!(csv.lines[0], 2);
    assert_eq!(csv.lines[234], 236);
    let geo = read_osm_geojson(
        "bedfordshire_pubs_osm_2022-01.geojson",
        &read("premises/bedfordshire_pubs_osm_2022-01.geojson"),
    );
    let geo: HashMap<_, _> = geo
        .records
        .iter()
        .map(|p| (p.source_id.clone(), p))
        .collect();
    for p in &csv.records {
        let g = geo
            .get(&p.source_id)
            .unwrap_or_else(|| panic!("{}", p.source_id));
        assert_eq!(
            (&p.name, p.lon, p.lat, &p.district, p.kind),
            (&g.name, g.lon, g.lat, &g.district, g.kind)
        );
    }
}

/// The upstream `pubnames.tsv` (all of Great Britain). Counts re-counted with awk:
/// `awk -F'\t' '$4!=""' | wc -l` = 19,855 rows with a point (and `'$4==""'` 18,232
/// without); `awk -F'\t' '$4!=""{print $3}' | sort | uniq -d | wc -l` = 25 ids listed twice,
/// each time with the same coordinates (`sort -u` on id, lat, lon leaves no repeated id).
#[test]
fn great_britain_pub_names_tsv_imports_every_pub_with_a_point() {
    use std::io::Read;
    let mut tsv = Vec::new();
    flate2::read::GzDecoder::new(&read("premises/pubnames_uk_osm_2022-01.tsv.gz")[..])
        .read_to_end(&mut tsv)
        .unwrap();
    assert!(is_osm_tsv(&tsv));
    let r = read_osm_tsv("pubnames_uk_osm_2022-01.tsv", &tsv[..]);
    assert!(r.is_clean(), "{:?}", first_errors(&r));
    assert_eq!(r.rows, 38_087);
    assert_eq!(r.records.len(), 19_855 - 25);
    let skipped: BTreeMap<&str, u64> = r.skipped.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        skipped,
        BTreeMap::from([
            (
                "no coordinates (an OSM way or relation: the extract has points for nodes only)",
                18_232
            ),
            (
                "repeated node (a pub on a border, in two country extracts)",
                25
            ),
        ])
    );
    // The first row of the file, exactly: `012 Bar & Grill Restaurant ... 269253652
    // 51.542752 0.0032106`, on line 1 (no header).
    let first = &r.records[0];
    assert_eq!(first.source_id, "osm:node/269253652");
    assert_eq!(first.name, "012 Bar & Grill Restaurant");
    assert_eq!((first.lat, first.lon), (51.542752, 0.0032106));
    assert_eq!(first.kind, PremisesKind::Pub);
    assert_eq!(r.lines[0], 1);
    // Every Bedfordshire pub (made from this file) is here, at the same place and name.
    let bedfordshire = read_osm_csv(
        "bedfordshire_pubs_osm_2022-01.csv",
        &read("premises/bedfordshire_pubs_osm_2022-01.csv")[..],
    );
    let all: HashMap<_, _> = r
        .records
        .iter()
        .map(|p| (p.source_id.as_str(), p))
        .collect();
    for p in &bedfordshire.records {
        let g = all
            .get(p.source_id.as_str())
            .unwrap_or_else(|| panic!("{}", p.source_id));
        assert_eq!((&p.name, p.lon, p.lat), (&g.name, g.lon, g.lat));
    }
}

#[test]
fn pub_names_tsv_rejections_name_line_and_field() {
    let tsv = "A\tA\t1\t51.5\t-0.1\n\
               B\tB\tway/2\t51.5\t-0.1\n\
               C\tC\t3\t151.5\t-0.1\n\
               D\tD\t4\t51.5\n\
               A again\tA again\t1\t51.6\t-0.1\n\
               \t\t5\t51.5\t-0.1\n\
               The \"Local\"\tThe Local\t6\t52\t-1\n";
    assert!(is_osm_tsv(tsv.as_bytes()));
    let r = read_osm_tsv("pubs.tsv", tsv.as_bytes());
    let got: Vec<(u64, &str)> = r
        .errors
        .iter()
        .map(|e| (e.line, e.field.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (2, "osm_id"),
            (3, "latitude"),
            (4, "row"),
            (5, "osm_id"),
            (6, "name")
        ],
        "{:?}",
        r.errors
    );
    assert!(
        r.errors[3].reason.contains("first at line 1"),
        "{}",
        r.errors[3].reason
    );
    // Quotes are characters in a TSV, not CSV quoting.
    assert_eq!(r.records.len(), 2);
    assert_eq!(r.records[1].name, "The \"Local\"");
    assert!(!is_osm_tsv(b"name,osm_node_id\n"));
    assert!(!is_osm_tsv(
        b"name\tnormalized_name\tosm_id\tlatitude\tlongitude\n"
    ));
}

#[test]
fn west_sussex_osm_pubs_bars_and_nightclubs() {
    let r = read_osm_geojson(
        "west_sussex_osm_pub_bar_nightclub.geojson",
        &read("premises/west-sussex/west_sussex_osm_pub_bar_nightclub.geojson"),
    );
    assert!(r.is_clean(), "{:?}", first_errors(&r));
    assert_eq!((r.rows, r.records.len()), (260, 260));
    assert_eq!(
        by_kind(&r.records),
        BTreeMap::from([("bar", 56), ("nightclub", 5), ("pub", 199)])
    );
    // Bare numeric osm_ids on Points are nodes (osmdata's osm_points layer).
    assert!(
        r.records
            .iter()
            .all(|p| p.source_id.starts_with("osm:node/"))
    );
    assert_eq!(r.records[0].source_id, "osm:node/262706");
    // Five features have no name tag; they stay, with a descriptive name.
    let unnamed: Vec<_> = r
        .records
        .iter()
        .filter(|p| p.name.starts_with("Unnamed "))
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(unnamed.len(), 5, "{unnamed:?}");
    // 27 features have opening_hours; 3 of them are outside the parsed subset.
    let with_closing = r
        .records
        .iter()
        .filter(|p| p.closing.0.iter().any(Option::is_some))
        .count();
    assert_eq!(with_closing, 24);
    let sheiks = r
        .records
        .iter()
        .find(|p| p.source_id == "osm:node/5420392183")
        .unwrap();
    assert_eq!(sheiks.name, "Sheiks Nightclub");
    assert_eq!(sheiks.kind, PremisesKind::Bar, "OSM tags it amenity=bar");
    assert_eq!(
        sheiks.closing.0,
        [None, None, None, hm(4, 0), hm(4, 0), hm(4, 0), None]
    );
    assert_eq!(sheiks.district.as_deref(), Some("Arun"));
    let oconnors = r
        .records
        .iter()
        .find(|p| p.source_id == "osm:node/1997929722")
        .unwrap();
    assert_eq!(
        oconnors.address.as_deref(),
        Some("25 Warwick Street, Worthing")
    );
    assert_eq!(oconnors.postcode.as_deref(), Some("BN11 3DQ"));
}

#[test]
fn leeds_osm_points_with_colon_tags_and_a_way() {
    let r = read_osm_geojson(
        "its_example_nightlife_pois.geojson",
        &read("premises/leeds/its_example_nightlife_pois.geojson"),
    );
    assert!(r.is_clean(), "{:?}", first_errors(&r));
    assert_eq!(r.records.len(), 4);
    assert_eq!(r.lines, [5, 22, 43, 64]);
    let chapel = &r.records[2];
    assert_eq!(chapel.source_id, "osm:node/6096023793");
    assert_eq!(chapel.kind, PremisesKind::Nightclub);
    assert_eq!(
        chapel.address.as_deref(),
        Some("177-179 Woodhouse Lane, Woodhouse, Leeds")
    );
    assert_eq!(chapel.postcode.as_deref(), Some("LS2 3AR"));
    assert_eq!(r.records[3].source_id, "osm:way/84736036");
    assert_eq!(r.records[3].district, None);
}

#[test]
fn arun_register_counts_and_skips() {
    let r = read_council_register(
        "arun_premises_geocoded.csv",
        &read("premises/west-sussex/arun_premises_geocoded.csv")[..],
    );
    assert!(r.is_clean(), "{:?}", first_errors(&r));
    assert_eq!(r.rows, 475);
    assert_eq!(r.records.len(), 423);
    assert_eq!(
        r.skipped,
        BTreeMap::from([
            ("licence lapsed".to_string(), 3),
            (
                "licence listed again (same licence number and place)".to_string(),
                10
            ),
            ("licence surrendered".to_string(), 12),
            ("no coordinates (not geocoded)".to_string(), 27),
        ])
    );
    assert_eq!(r.rows, r.records.len() as u64 + r.skipped_total());
    let ids: HashSet<_> = r.records.iter().map(|p| p.source_id.as_str()).collect();
    assert_eq!(ids.len(), 423);
    assert!(ids.contains("register:arun:5816"));
    assert_eq!(by_kind(&r.records), BTreeMap::from([("other", 423)]));
    // Suspended licences are kept (16, all geocoded).
    let first = &r.records[0];
    assert_eq!(first.name, "China Royal");
    assert_eq!(first.licence_ref.as_deref(), Some("5816"));
    assert_eq!(first.postcode.as_deref(), Some("PO21 1QT"));
    assert_eq!(first.district.as_deref(), Some("Arun"));
    // Empty trading name: the name comes from the address.
    let ship = r
        .records
        .iter()
        .find(|p| p.source_id == "register:arun:13165")
        .unwrap();
    assert_eq!(ship.name, "THE SHIP INN");
    // Repeated licence 6410: the first row (line 17) is kept.
    let i = r
        .records
        .iter()
        .position(|p| p.source_id == "register:arun:6410")
        .unwrap();
    assert_eq!((r.records[i].name.as_str(), r.lines[i]), ("Gun Inn", 17));
    // Re-reading gives the same ids in the same order (idempotent re-import).
    let again = read_council_register(
        "arun_premises_geocoded.csv",
        &read("premises/west-sussex/arun_premises_geocoded.csv")[..],
    );
    let a: Vec<_> = r.records.iter().map(|p| &p.source_id).collect();
    let b: Vec<_> = again.records.iter().map(|p| &p.source_id).collect();
    assert_eq!(a, b);
}

#[test]
fn worthing_register_with_its_column_shift() {
    let r = read_council_register(
        "worthing_premises_geocoded.csv",
        &read("premises/west-sussex/worthing_premises_geocoded.csv")[..],
    );
    assert!(r.is_clean(), "{:?}", first_errors(&r));
    assert_eq!((r.rows, r.records.len(), r.skipped_total()), (352, 352, 0));
    let first = &r.records[0];
    assert_eq!(first.source_id, "register:worthing:LN/301300095");
    assert_eq!(first.name, "A - Z Convenience Store");
    assert_eq!(
        first.address.as_deref(),
        Some(
            "A - Z Convenience Store, 147 Broadwater Street East, Worthing, West Sussex, BN14 9AP"
        )
    );
    assert_eq!(first.postcode.as_deref(), Some("BN14 9AP"));
    assert_eq!((first.lon, first.lat), (-0.368429, 50.827672));
    assert_eq!(by_kind(&r.records), BTreeMap::from([("other", 352)]));
    let ids: HashSet<_> = r.records.iter().map(|p| &p.source_id).collect();
    assert_eq!(ids.len(), 352);
}

#[test]
fn adur_register_late_night_refreshment() {
    let r = read_council_register(
        "adur_premises_geocoded.csv",
        &read("premises/west-sussex/adur_premises_geocoded.csv")[..],
    );
    assert!(r.is_clean(), "{:?}", first_errors(&r));
    assert_eq!((r.rows, r.records.len(), r.skipped_total()), (158, 158, 0));
    assert_eq!(
        by_kind(&r.records),
        BTreeMap::from([("late_night_refreshment", 66), ("other", 92)])
    );
    assert_eq!(r.records[0].source_id, "register:adur:LN/201000013");
    assert_eq!(
        r.records[2].kind,
        PremisesKind::LateNightRefreshment,
        "Waterside Inn"
    );
    let ferry = r
        .records
        .iter()
        .find(|p| p.source_id == "register:adur:LN/200500338")
        .unwrap();
    assert_eq!(
        ferry.name, "Ferry Rigg Inn",
        "empty Name, taken from the address"
    );
}

#[test]
fn raw_arun_register_without_coordinates_is_a_header_error() {
    let r = read_council_register(
        "arun_premises_licence_register_2023-03-02_raw.csv",
        &read("premises/west-sussex/arun_premises_licence_register_2023-03-02_raw.csv")[..],
    );
    assert!(r.records.is_empty());
    assert_eq!(r.errors.len(), 1);
    let e = &r.errors[0];
    assert_eq!((e.line, e.field.as_str()), (1, "header"));
    assert!(e.reason.contains("no longitude/latitude"), "{e}");
    assert!(e.reason.contains("geocode"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Rejections, each with its line number
// ---------------------------------------------------------------------------------------

const OSM_CSV_HEADER: &str = "name,normalized_name,osm_node_id,latitude,longitude,lad20nm\n";

#[test]
fn osm_csv_rejections_name_line_and_field() {
    let mut input = OSM_CSV_HEADER.as_bytes().to_vec();
    input.extend_from_slice(
        b"Good,Good,1,52.1377304,-0.4685366,Bedford\n\
          Bad lat,Bad lat,2,95.2,-0.46,Bedford\n\
          Swapped,Swapped,3,-0.4685366,52.1377304,Bedford\n\
          Not a number,Not a number,4,NaN,-0.46,Bedford\n\
          ,,5,52.13,-0.46,Bedford\n\
          Bad bytes,Bad bytes,6,52.13,-0.46,Bed\xFFford\n\
          Way,Way,way/7,52.13,-0.46,Bedford\n\
          Again,Again,1,52.13,-0.46,Bedford\n\
          Null island,Null island,9,0,0,Bedford\n",
    );
    let r = read_osm_csv("pubs.csv", &input[..]);
    assert_eq!(r.rows, 9);
    assert_eq!(r.records.len(), 1);
    assert_eq!(
        where_(&r),
        [
            (3, "latitude".to_string()),
            (4, "latitude".to_string()),
            (5, "latitude".to_string()),
            (6, "name".to_string()),
            (7, "lad20nm".to_string()),
            (8, "osm_node_id".to_string()),
            (9, "osm_node_id".to_string()),
            (10, "longitude".to_string()),
        ]
    );
    let reason = |line: u64| {
        r.errors
            .iter()
            .find(|e| e.line == line)
            .unwrap()
            .reason
            .clone()
    };
    assert!(reason(3).contains("out of range"), "{}", reason(3));
    assert!(reason(4).contains("swapped"), "{}", reason(4));
    assert!(reason(5).contains("NaN"), "{}", reason(5));
    assert_eq!(reason(6), "empty required field");
    assert!(reason(7).contains("UTF-8"), "{}", reason(7));
    assert!(reason(8).contains("not an OSM node id"), "{}", reason(8));
    assert!(reason(9).contains("first at line 2"), "{}", reason(9));
    assert!(reason(10).contains("null island"), "{}", reason(10));
    // The CLI prints FILE:LINE: FIELD: reason.
    assert_eq!(
        r.errors[3].to_string(),
        "pubs.csv:6: name: empty required field"
    );
}

#[test]
fn osm_csv_missing_columns_is_one_header_error() {
    let r = read_osm_csv("pubs.csv", &b"name,lat,lon\nA,52,-0.4\n"[..]);
    assert_eq!(where_(&r), [(1, "header".to_string())]);
    assert!(r.errors[0].reason.contains("osm_node_id"));
}

#[test]
fn geojson_rejections_name_the_line_where_the_feature_starts() {
    let input = r#"{"type": "FeatureCollection", "features": [
{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.46, 52.13]},
 "properties": {"osm_id": "node/1", "name": "Good", "amenity": "bar"}},
{"type": "Feature",
 "geometry": {"type": "Point", "coordinates": [52.13, -0.46]},
 "properties": {"osm_id": "node/2", "name": "Swapped"}},
{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[-0.46, 52.13], [-0.45, 52.14]]},
 "properties": {"osm_id": "way/3", "name": "A street"}},
{"type": "Feature", "geometry": null, "properties": {"osm_id": "node/4", "name": "Nowhere"}},
{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.46, 52.13]},
 "properties": {"name": "No id"}},
{"type": "Feature", "geometry": {"type": "Point", "coordinates": ["-0.46", 52.13]},
 "properties": {"osm_id": "node/6", "name": "Text coordinates"}},
{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.46, 52.13]},
 "properties": {"osm_id": "node/1", "name": "Again"}},
{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[-0.47, 52.13], [-0.45, 52.13], [-0.45, 52.15], [-0.47, 52.15], [-0.47, 52.13]]]},
 "properties": {"osm_id": "way/8", "name": "A building", "amenity": "nightclub"}},
{"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[-0.47, 52.13], [-0.45, 52.13], [-0.45, 52.15], [-0.47, 52.13]]]},
 "properties": {"osm_id": "9", "name": "Bare id on a polygon"}}
]}"#;
    let r = read_osm_geojson("pois.geojson", input.as_bytes());
    assert_eq!(r.rows, 9);
    assert_eq!(
        where_(&r),
        [
            (4, "features[1].geometry.coordinates".to_string()),
            (7, "features[2].geometry.type".to_string()),
            (9, "features[3].geometry".to_string()),
            (10, "features[4].properties.osm_id".to_string()),
            (12, "features[5].geometry.coordinates".to_string()),
            (14, "features[6].properties.osm_id".to_string()),
            (18, "features[8].properties.osm_id".to_string()),
        ]
    );
    assert!(r.errors[0].reason.contains("swapped"), "{}", r.errors[0]);
    assert!(r.errors[1].reason.contains("LineString"), "{}", r.errors[1]);
    assert!(r.errors[5].reason.contains("first seen at line 2"));
    assert!(r.errors[6].reason.contains("way/9 or relation/9"));
    // A polygon stands for its centroid.
    assert_eq!(r.records.len(), 2);
    let building = &r.records[1];
    assert_eq!(building.source_id, "osm:way/8");
    assert_eq!(building.kind, PremisesKind::Nightclub);
    assert!((building.lon - -0.46).abs() < 1e-9 && (building.lat - 52.14).abs() < 1e-9);
    assert_eq!(r.lines, [2, 16]);
}

#[test]
fn invalid_json_is_one_error_at_serde_json_position() {
    let input =
        b"{\"type\": \"FeatureCollection\",\n \"features\": [\n {\"type\": \"Feature\",}\n]}";
    let r = read_osm_geojson("broken.geojson", input);
    assert_eq!(r.records.len(), 0);
    assert_eq!(where_(&r), [(3, "json".to_string())]);
    assert!(r.errors[0].reason.contains("column"), "{}", r.errors[0]);
    let r = read_osm_geojson("list.geojson", br#"{"type": "Feature", "features": []}"#);
    assert_eq!(where_(&r), [(1, "type".to_string())]);
}

#[test]
fn register_rejections() {
    let csv = "\"Licence Number\",\"Licence Description\",\"Licence Type\",\"Licence Status\",\"Licensee\",\"Additional Licensee\",\"Trading Name\",\"Dtf Location\",\"Start Date\",\"Expiry Date\",\"Council Area\",\"Postcode\",\"longitude\",\"latitude\"\n\
1,L,P,\"Granted\",X,NA,\"Good\",\"1 High St, Bognor Regis, PO21 1QT\",01/01/2020,NA,Arun,\"PO21 1QT\",-0.67,50.78\n\
2,L,P,\"Pending\",X,NA,\"Odd status\",\"2 High St\",01/01/2020,NA,Arun,\"PO21 1QT\",-0.67,50.78\n\
3,L,P,\"Granted\",X,NA,NA,\"3 High St, Bognor Regis\",01/01/2020,NA,Arun,\"PO21 1QT\",-0.67,50.78\n\
4,L,P,\"Granted\",X,NA,\"Half geocoded\",\"4 High St\",01/01/2020,NA,Arun,\"PO21 1QT\",-0.67,NA\n\
1,L,P,\"Granted\",X,NA,\"Same licence elsewhere\",\"9 Far Rd\",01/01/2020,NA,Arun,\"PO21 1QT\",-0.60,50.80\n\
6,L,P,\"Lapsed\",X,NA,\"Gone\",\"6 High St\",01/01/2020,NA,Arun,\"PO21 1QT\",NA,NA\n\
7,L,P,\"Suspended\",X,NA,\"Suspended\",\"7 High St\",01/01/2020,NA,Arun,\"West Sussex\",NA,NA\n";
    let r = read_council_register("arun.csv", csv.as_bytes());
    assert_eq!(r.rows, 7);
    assert_eq!(r.records.len(), 1);
    assert_eq!(
        where_(&r),
        [
            (3, "Licence Status".to_string()),
            (4, "Trading Name".to_string()),
            (5, "latitude".to_string()),
            (6, "Licence Number".to_string()),
        ]
    );
    assert!(r.errors[0].reason.contains("unknown licence status"));
    assert!(r.errors[3].reason.contains("also on line 2"));
    assert_eq!(
        r.skipped,
        BTreeMap::from([
            ("licence lapsed".to_string(), 1),
            ("no coordinates (not geocoded)".to_string(), 1),
        ])
    );
    let r = read_council_register("other.csv", &b"Name,Address\nA,B\n"[..]);
    assert_eq!(where_(&r), [(1, "header".to_string())]);
    assert!(
        r.errors[0]
            .reason
            .contains("not a known premises-licence register")
    );
}

const TRAINING_HEADER: &str = "premises_id,date,course,staff_trained,trainer,notes\n";

#[test]
fn training_rejections() {
    let input = format!(
        "{TRAINING_HEADER}\
         osm:node/1,2025-03-14,Ask for Angela,6,Licensing team,\n\
         osm:node/1,14/03/2025,Ask for Angela,6,,uk date\n\
         osm:node/2,2025-13-01,Ask for Angela,6,,\n\
         osm:node/3,03/14/2025,Ask for Angela,6,,\n\
         osm:node/4,2025-03-14,Ask for Angela,-3,,\n\
         osm:node/5,2025-03-14,Ask for Angela,2.5,,\n\
         ,2025-03-14,Ask for Angela,6,,\n\
         osm:node/7,2025-07-01,Ask for Angela,6,,\n\
         osm:node/8,2025-03-14,,6,,\n"
    );
    let today = date(2025, 6, 1);
    let r = read_training("training.csv", input.as_bytes(), Some(today));
    assert_eq!(r.rows, 9);
    assert_eq!(r.records.len(), 2);
    assert_eq!(r.records[0].date, r.records[1].date);
    assert_eq!(r.records[0].trainer, "Licensing team");
    assert_eq!(r.records[1].notes.as_deref(), Some("uk date"));
    assert_eq!(
        where_(&r),
        [
            (4, "date".to_string()),
            (5, "date".to_string()),
            (6, "staff_trained".to_string()),
            (7, "staff_trained".to_string()),
            (8, "premises_id".to_string()),
            (9, "date".to_string()),
            (10, "course".to_string()),
        ]
    );
    assert!(r.errors[0].reason.contains("not a calendar date"));
    assert!(
        r.errors[1].reason.contains("not a calendar date"),
        "US order"
    );
    assert!(r.errors[2].reason.contains("negative staff count"));
    assert!(r.errors[3].reason.contains("whole number"));
    assert_eq!(
        r.errors[5].to_string(),
        "training.csv:9: date: date 2025-07-01 is in the future (today is 2025-06-01)"
    );
    // Without `today`, a future date is accepted.
    let r = read_training("training.csv", input.as_bytes(), None);
    assert_eq!(r.records.len(), 3);
    // Non-UTF-8 bytes are reported against their field.
    let mut bytes = TRAINING_HEADER.as_bytes().to_vec();
    bytes.extend_from_slice(b"osm:node/1,2025-03-14,Ask for Angela,6,PC \xE9,\n");
    let r = read_training("training.csv", &bytes[..], None);
    assert_eq!(where_(&r), [(2, "trainer".to_string())]);
    // The required columns are named.
    let r = read_training(
        "training.csv",
        &b"premises_id,date\nosm:node/1,2025-03-14\n"[..],
        None,
    );
    assert_eq!(where_(&r), [(1, "header".to_string())]);
    assert!(r.errors[0].reason.contains("course, staff_trained"));
}

const UNITS_HEADER: &str =
    "callsign,size,shift_start,shift_end,start_lon,start_lat,start_name,break_minutes,skills\n";

#[test]
fn units_rejections() {
    let input = format!(
        "{UNITS_HEADER}\
         LN-FF1,2,19:00,03:00,-0.421262,51.878543,Luton,,first-aid; licensing\n\
         LN-FF2,3,19:00,03:00,-0.421262,51.878543,Luton,45,\n\
         ln-ff1,1,19:00,03:00,-0.421262,51.878543,Luton,45,\n\
         LN-FF4,1,7pm,03:00,-0.421262,51.878543,Luton,45,\n\
         LN-FF5,1,19:00,03:00,51.878543,-0.421262,Luton,45,\n\
         LN-FF6,1,19:00,19:00,-0.421262,51.878543,Luton,45,\n\
         LN-FF7,1,19:00,20:00,-0.421262,51.878543,Luton,60,\n\
         PC Smith,1,19:00,03:00,-0.421262,51.878543,Luton,45,\n\
         LN-FF9,1,19:00,03:00,-0.421262,,Luton,45,\n\
         LN-FF10,2,18:00,02:00,-0.421262,51.878543,,0,\n"
    );
    let r = read_units("units.csv", input.as_bytes());
    assert_eq!(r.rows, 10);
    assert_eq!(
        where_(&r),
        [
            (3, "size".to_string()),
            (4, "callsign".to_string()),
            (5, "shift_start".to_string()),
            (6, "start_lat".to_string()),
            (7, "shift_end".to_string()),
            (8, "break_minutes".to_string()),
            (9, "callsign".to_string()),
            (10, "start_lat".to_string()),
        ]
    );
    assert_eq!(
        r.errors[1].to_string(),
        "units.csv:4: callsign: duplicate callsign ln-ff1 (first on line 2)"
    );
    assert!(r.errors[3].reason.contains("swapped"), "{}", r.errors[3]);
    assert!(r.errors[7].reason.contains("empty required field"));
    assert_eq!(r.records.len(), 2);
    let u = &r.records[0];
    assert_eq!(
        (u.callsign.as_str(), u.size, u.break_minutes),
        ("LN-FF1", 2, 45)
    );
    assert_eq!(
        (u.shift_start, u.shift_end),
        (time(19, 0, 0, 0), time(3, 0, 0, 0))
    );
    assert_eq!(u.skills, ["first-aid", "licensing"]);
    assert_eq!(r.records[1].start_name, None);
    assert_eq!(r.records[1].break_minutes, 0);
}

// ---------------------------------------------------------------------------------------
// Opening hours
// ---------------------------------------------------------------------------------------

#[test]
fn opening_hours_common_forms() {
    let c = |s: &str| closing_times(s).unwrap_or_else(|| panic!("{s}")).0;
    let all = |t| [t; 7];
    assert_eq!(
        c("Mo-Sa 12:00-23:00; Su 12:00-22:30"),
        [
            hm(23, 0),
            hm(23, 0),
            hm(23, 0),
            hm(23, 0),
            hm(23, 0),
            hm(23, 0),
            hm(22, 30)
        ]
    );
    assert_eq!(
        c("Mo,Tu 11:00-01:00"),
        [hm(1, 0), hm(1, 0), None, None, None, None, None]
    );
    assert_eq!(c("Mo-Su 12:00-24:00"), all(hm(0, 0)));
    assert_eq!(
        c("24/7"),
        all(None),
        "open round the clock: no closing time"
    );
    assert_eq!(c("off"), all(None));
    // The last rule for a day wins.
    assert_eq!(
        c("Mo-Su 12:00-23:00; Fr,Sa 12:00-02:00; Su off"),
        [
            hm(23, 0),
            hm(23, 0),
            hm(23, 0),
            hm(23, 0),
            hm(2, 0),
            hm(2, 0),
            None
        ]
    );
    // A split day closes at the end of its last session.
    assert_eq!(c("Mo 11:00-15:00,17:30-23:00")[0], hm(23, 0));
    for unknown in [
        "sunrise-sunset",
        "Mo-Fr 10:00-12:00 \"by appointment\"",
        "closed in winter",
    ] {
        assert_eq!(closing_times(unknown), None, "{unknown}");
    }
}

#[test]
fn opening_hours_as_found_in_west_sussex() {
    let n = None;
    let x = |s: &str| closing_times(s).map(|c| c.0);
    // Every value of the file (27 features, 26 distinct strings).
    let cases: [(&str, Option<[Option<Time>; 7]>); 26] = [
        ("12:00-23:00", Some([hm(23, 0); 7])),
        (
            "Mo off; Tu,We 10:00-19:00; Th 10:00-22:00; Fr,Sa 10:00-23:00; Su 10:00-17:00",
            Some([
                n,
                hm(19, 0),
                hm(19, 0),
                hm(22, 0),
                hm(23, 0),
                hm(23, 0),
                hm(17, 0),
            ]),
        ),
        (
            "Mo off; Tu-Th,Su 10:00-23:00; Fr,Sa 10:00-24:00",
            Some([
                n,
                hm(23, 0),
                hm(23, 0),
                hm(23, 0),
                hm(0, 0),
                hm(0, 0),
                hm(23, 0),
            ]),
        ),
        (
            "Mo,Tu,We 04:00-21:00; Th,Fr,Sa,Su 03:00-21:00",
            Some([hm(21, 0); 7]),
        ),
        (
            "Mo-Fr 07:00-24:00; Su 07:00-22:00",
            Some([
                hm(0, 0),
                hm(0, 0),
                hm(0, 0),
                hm(0, 0),
                hm(0, 0),
                n,
                hm(22, 0),
            ]),
        ),
        (
            "Mo-Fr 09:00-17:00, Sa 10:00-16:00",
            Some([
                hm(17, 0),
                hm(17, 0),
                hm(17, 0),
                hm(17, 0),
                hm(17, 0),
                hm(16, 0),
                n,
            ]),
        ),
        (
            "Mo-Fr 11:00-15:00,17:30-23:00; Sa 11:00-23:00; Su 12:00-18:00",
            Some([
                hm(23, 0),
                hm(23, 0),
                hm(23, 0),
                hm(23, 0),
                hm(23, 0),
                hm(23, 0),
                hm(18, 0),
            ]),
        ),
        (
            "Mo-Fr 15:00-24:00; Sa 11:00-24:00; Su 12:00-22:30",
            Some([
                hm(0, 0),
                hm(0, 0),
                hm(0, 0),
                hm(0, 0),
                hm(0, 0),
                hm(0, 0),
                hm(22, 30),
            ]),
        ),
        (
            "Mo-Sa 12:00-23:00; Su 12:00-21:00",
            Some([
                hm(23, 0),
                hm(23, 0),
                hm(23, 0),
                hm(23, 0),
                hm(23, 0),
                hm(23, 0),
                hm(21, 0),
            ]),
        ),
        ("Mo-Su 10:00-22:00", Some([hm(22, 0); 7])),
        ("Mo-Su 11:00-01:00", Some([hm(1, 0); 7])),
        (
            "Mo-Th 10:00-23:00; Fr 10:00-24:00; Su 12:00-22:30",
            Some([
                hm(23, 0),
                hm(23, 0),
                hm(23, 0),
                hm(23, 0),
                hm(0, 0),
                n,
                hm(22, 30),
            ]),
        ),
        (
            "Mo-Th 12:00-15:00, 17:00-21:00; Fr-Sa 12:00-24:00, Su 12:00-19:00",
            Some([
                hm(21, 0),
                hm(21, 0),
                hm(21, 0),
                hm(21, 0),
                hm(0, 0),
                hm(0, 0),
                hm(19, 0),
            ]),
        ),
        (
            "Mo-Th 15:00-21:00; Fr 15:00-24:00; Sa 12:00-24:00; Su 12:00-21:00",
            Some([
                hm(21, 0),
                hm(21, 0),
                hm(21, 0),
                hm(21, 0),
                hm(0, 0),
                hm(0, 0),
                hm(21, 0),
            ]),
        ),
        (
            "Mo-We 08:00-23:00; Th-Sa 08:00-23:30; Su 08:00-22:00",
            Some([
                hm(23, 0),
                hm(23, 0),
                hm(23, 0),
                hm(23, 30),
                hm(23, 30),
                hm(23, 30),
                hm(22, 0),
            ]),
        ),
        (
            "Mo-We 10:00-18:00; Th-Sa 10:00-22:00; Su 11:00-18:00",
            Some([
                hm(18, 0),
                hm(18, 0),
                hm(18, 0),
                hm(22, 0),
                hm(22, 0),
                hm(22, 0),
                hm(18, 0),
            ]),
        ),
        (
            "Mo-We,Su 11:00-24:00; Th 10:00-01:00; Fr,Sa 10:00-02:00",
            Some([
                hm(0, 0),
                hm(0, 0),
                hm(0, 0),
                hm(1, 0),
                hm(2, 0),
                hm(2, 0),
                hm(0, 0),
            ]),
        ),
        (
            "Su 12:00-22:30; Mo-Tu 11:00-22:30; We-Th 11:00-23:00; Fr-Sa 11:00-23:30",
            Some([
                hm(22, 30),
                hm(22, 30),
                hm(23, 0),
                hm(23, 0),
                hm(23, 30),
                hm(23, 30),
                hm(22, 30),
            ]),
        ),
        (
            // As mapped: 12:00 is noon, though 24:00 was probably meant.
            "Su-Th 08:00-12:00, Fr,Sa 08:00-01:00",
            Some([
                hm(12, 0),
                hm(12, 0),
                hm(12, 0),
                hm(12, 0),
                hm(1, 0),
                hm(1, 0),
                hm(12, 0),
            ]),
        ),
        (
            // Open-ended Friday and Saturday: closing unknown on those days.
            "Su-Th 11:00-23:00; Fr,Sa 11:00-24:00+",
            Some([hm(23, 0), hm(23, 0), hm(23, 0), hm(23, 0), n, n, hm(23, 0)]),
        ),
        (
            "Th-Sa 22:00-04:00",
            Some([n, n, n, hm(4, 0), hm(4, 0), hm(4, 0), n]),
        ),
        (
            "Tu-Th 12:00-22:30; Fr-Sa 12:00-23:00; Su 12:00-22:30",
            Some([
                n,
                hm(22, 30),
                hm(22, 30),
                hm(22, 30),
                hm(23, 0),
                hm(23, 0),
                hm(22, 30),
            ]),
        ),
        (
            "We,Th 15:30-23:00, Fr,Sa 12:00-23:00, Su 12:00-06:00",
            Some([n, n, hm(23, 0), hm(23, 0), hm(23, 0), hm(23, 0), hm(6, 0)]),
        ),
        // Outside the subset: three-letter days and "1930"; days with no times; a comment.
        ("Thu 16:30-1930, Fri-Sat 12:00-22:00, Sun 13:00-17:00", None),
        ("Tu-Su", None),
        ("\"changes depending on food\"", None),
    ];
    for (text, expected) in cases {
        assert_eq!(x(text), expected, "{text}");
    }
}

// ---------------------------------------------------------------------------------------
// Demo data
// ---------------------------------------------------------------------------------------

#[test]
fn demo_roster_parses_cleanly() {
    let r = read_units("units.csv", &read("demo/units.csv")[..]);
    assert!(r.is_clean(), "{:?}", first_errors(&r));
    assert_eq!(r.records.len(), 8);
    let callsigns: Vec<_> = r.records.iter().map(|u| u.callsign.as_str()).collect();
    assert_eq!(
        callsigns,
        [
            "LN-FF1", "LN-FF2", "LN-FF3", "BD-FF1", "BD-FF2", "BD-FF3", "DS-FF1", "DS-FF2"
        ]
    );
    assert!(r.records.iter().all(|u| u.size == 1 || u.size == 2));
    assert_eq!(r.records[4].break_minutes, 45, "BD-FF2 uses the default");
    assert!(r.records[5].skills.is_empty());
    // Every start point is in Bedfordshire (the county's bounding box).
    for u in &r.records {
        assert!((-0.71..=-0.14).contains(&u.start_lon), "{}", u.callsign);
        assert!((51.80..=52.33).contains(&u.start_lat), "{}", u.callsign);
    }
}

#[test]
fn fictional_training_parses_and_names_real_pubs() {
    let today: Date = date(2026, 11, 21);
    let r = read_training(
        "training_fictional.csv",
        &read("demo/training_fictional.csv")[..],
        Some(today),
    );
    assert!(r.is_clean(), "{:?}", first_errors(&r));
    assert_eq!(r.records.len(), 40);
    assert!(r.records.iter().all(|t| {
        t.notes
            .as_deref()
            .is_some_and(|n| n.starts_with("FICTIONAL demo record"))
    }));
    assert!(
        r.records
            .iter()
            .all(|t| { (date(2023, 1, 1)..date(2026, 11, 1)).contains(&t.date) })
    );
    let pubs = read_osm_geojson(
        "bedfordshire_pubs_osm_2022-01.geojson",
        &read("premises/bedfordshire_pubs_osm_2022-01.geojson"),
    );
    let ids: HashSet<_> = pubs.records.iter().map(|p| p.source_id.as_str()).collect();
    for (t, line) in r.records.iter().zip(&r.lines) {
        assert!(
            ids.contains(t.premises_id.as_str()),
            "line {line}: {} is not in the OSM file",
            t.premises_id
        );
    }
    // The dates give every status on 2026-11-21.
    let mut by_venue: HashMap<&str, Vec<_>> = HashMap::new();
    for t in &r.records {
        by_venue
            .entry(t.premises_id.as_str())
            .or_default()
            .push(t.clone());
    }
    let mut statuses = BTreeMap::new();
    for records in by_venue.values() {
        let s = training_status(records, today, DEFAULT_REFRESHER_MONTHS);
        *statuses.entry(format!("{s:?}")).or_insert(0) += 1;
    }
    assert_eq!(
        statuses,
        BTreeMap::from([
            (format!("{:?}", TrainingStatus::DueSoon), 4),
            (format!("{:?}", TrainingStatus::Overdue), 10),
            (format!("{:?}", TrainingStatus::Trained), 8),
        ])
    );
}

// ---------------------------------------------------------------------------------------
// Issue 13 (security review), items 9 and 10.

#[test]
fn issue_13_postcode_with_multibyte_char_does_not_panic() {
    // Worthing's layout; "ABé12" is five characters but six bytes, and the postcode check
    // used to split it at byte 3, inside the "é".
    for postcode in ["ABé12", "PO21 1Qé", "老虎1AA", "é"] {
        let csv = format!(
            "\"Reference\",\"Trader Name\",\"Address\",\"Postcode\",\"longitude\",\"latitude\"\n\
             \"LN/1\",\"The George\",\"1 High St, Worthing\",\"{postcode}\",-0.37,50.83\n"
        );
        let r = read_council_register("worthing.csv", csv.as_bytes());
        assert!(r.is_clean(), "{postcode}: {:?}", r.errors);
        assert_eq!(r.records[0].postcode, None, "{postcode}");
    }
}

/// The one error of a one-row import, as (line, field, reason).
fn only_error<T>(r: &Import<T>) -> (u64, String, String) {
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert!(r.records.is_empty());
    let e = &r.errors[0];
    (e.line, e.field.clone(), e.reason.clone())
}

#[test]
fn issue_13_control_characters_in_names_are_row_errors() {
    let evil = [
        "Bar\rEvil",
        "Bar\nEvil",
        "Bar\tEvil",
        "Bar\0Evil",
        "Bar\u{202E}liveE",
        "Bar\u{2066}x\u{2069}",
        "Bar\u{1b}[2J",
    ];
    for name in evil {
        // OSM GeoJSON: the name, an address part, the district.
        for (key, field) in [
            ("name", "features[0].properties.name"),
            ("addr:street", "features[0].properties.addr:street"),
            ("lad20nm", "features[0].properties.lad20nm"),
        ] {
            let mut json = serde_json::json!({"type": "FeatureCollection", "features": [
                {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-0.4685, 52.1377]},
                 "properties": {"name": "The George", "osm_id": "node/1", "amenity": "pub"}}]});
            json["features"][0]["properties"][key] = name.into();
            let r = read_osm_geojson("pubs.geojson", json.to_string().as_bytes());
            let (line, f, reason) = only_error(&r);
            assert_eq!((line, f.as_str()), (1, field), "{name:?}");
            assert!(reason.contains("U+"), "{reason}");
        }
        // mlj CSV.
        let csv = format!(
            "name,normalized_name,osm_node_id,latitude,longitude,lad20nm\n\"{name}\",x,1,52.13,-0.46,Bedford\n"
        );
        assert_eq!(only_error(&read_osm_csv("p.csv", csv.as_bytes())).1, "name");
        // Council register: the trading name and the address.
        for (trading, address, field) in [
            (name, "1 High St", "Trading Name"),
            ("China Royal", name, "Dtf Location"),
        ] {
            let csv = format!(
                "\"Licence Number\",\"Licence Status\",\"Trading Name\",\"Dtf Location\",\"Postcode\",\"longitude\",\"latitude\"\n\
                 5816,\"Granted\",\"{trading}\",\"{address}\",\"PO21 1QT\",-0.67573,50.783601\n"
            );
            let (line, f, _) = only_error(&read_council_register("arun.csv", csv.as_bytes()));
            assert_eq!((line, f.as_str()), (2, field), "{name:?}");
        }
        // Training: course and trainer.
        for (course, trainer, field) in [
            (name, "Licensing team", "course"),
            ("Ask for Angela", name, "trainer"),
        ] {
            let csv = format!(
                "premises_id,date,course,staff_trained,trainer,notes\n\
                 osm:node/1,2025-03-14,\"{course}\",6,\"{trainer}\",\n"
            );
            let (line, f, _) = only_error(&read_training("t.csv", csv.as_bytes(), None));
            assert_eq!((line, f.as_str()), (2, field), "{name:?}");
        }
        // Units: the start name and the skills.
        for (start, skills, field) in [(name, "first-aid", "start_name"), ("Luton", name, "skills")]
        {
            let csv = format!(
                "callsign,size,shift_start,shift_end,start_lon,start_lat,start_name,break_minutes,skills\n\
                 LN-FF1,2,19:00,03:00,-0.421262,51.878543,\"{start}\",,\"{skills}\"\n"
            );
            let (line, f, _) = only_error(&read_units("u.csv", csv.as_bytes()));
            assert_eq!((line, f.as_str()), (2, field), "{name:?}");
        }
    }
    // The pub list TSV cannot hold a tab, CR or LF in a field (they end it), but a NUL, a
    // bidi override or a C1 control it can.
    for name in ["Bar\0", "Bar\u{202E}x", "Bar\u{85}x"] {
        let tsv = format!("{name}\tx\t1\t52.13\t-0.46\n");
        let r = read_osm_tsv("pubnames.tsv", tsv.as_bytes());
        assert_eq!(only_error(&r).1, "name", "{name:?}");
    }
}

#[test]
fn issue_13_names_that_are_only_odd_still_import() {
    // Surrounding whitespace is trimmed; a formula-looking name, quotes, accents and the
    // zero-width spaces of a real pub in the UK list are kept as they are (the writers
    // quote formulas: planner::export::spreadsheet_safe).
    let csv = "name,normalized_name,osm_node_id,latitude,longitude,lad20nm\n\
               \"  =HYPERLINK(\"\"http://x\"\")\r\n\",x,1,52.13,-0.46,Bedford\n\
               \"\u{200B}Lock \u{200B}Keeper\",x,2,52.13,-0.46,Bedford\n\
               \"Café \"\"Rouge\"\"\",x,3,52.13,-0.46,Bedford\n";
    let r = read_osm_csv("p.csv", csv.as_bytes());
    assert!(r.is_clean(), "{:?}", r.errors);
    let names: Vec<&str> = r.records.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "=HYPERLINK(\"http://x\")",
            "\u{200B}Lock \u{200B}Keeper",
            "Café \"Rouge\""
        ]
    );
    // Training notes may run over lines.
    let csv = "premises_id,date,course,staff_trained,trainer,notes\n\
               osm:node/1,2025-03-14,Ask for Angela,6,Licensing team,\"line one\nline two\"\n";
    let r = read_training("t.csv", csv.as_bytes(), None);
    assert!(r.is_clean(), "{:?}", r.errors);
    assert_eq!(r.records[0].notes.as_deref(), Some("line one\nline two"));
}
