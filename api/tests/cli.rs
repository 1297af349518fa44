//! End-to-end tests of the `firefly` binary: exit codes, error lines, and the
//! all-or-nothing and idempotency rules, against real SQLite files.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::path::Path;
use std::process::Command;

mod common;
use common::cli::{firefly, firefly_stdin, text};
use common::repo;

fn count(db: &Path, table: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

const POLICE_UK_HEADER: &str = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context\n";

#[test]
fn police_uk_month_imports_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let file = repo("data/police-uk/bedfordshire/street/2023-05-bedfordshire-street.csv");
    let out = firefly(&db, &["import", "incidents", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("5,354 rows read"), "{stdout}");
    let first = count(&db, "incidents");
    // 5,354 rows minus the month's rows without a location (counted with Python's csv).
    assert_eq!(first, 5_354 - 284);
    let out = firefly(&db, &["import", "incidents", file.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("0 new"), "{}", text(&out.stdout));
    assert_eq!(count(&db, "incidents"), first);

    // Month-only incidents have no hour: the hotspot answer carries the labelled prior,
    // Houston's counts smoothed with half an incident per hour.
    let out = firefly(
        &db,
        &[
            "hotspots",
            "--method",
            "count",
            "--window",
            "all",
            "--bbox",
            "-0.6,51.85,-0.3,52.0",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let fc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let profile = &fc["firefly"]["hour_profile"];
    assert_eq!(profile["source"], "prior");
    assert_eq!(profile["n_timed"], 0);
    assert!(profile["label"].as_str().unwrap().contains("Houston"));
    let counts = planner::hotspots::prior::HOUSTON_NTE_COUNTS;
    let total = counts.iter().map(|&c| f64::from(c)).sum::<f64>() + 0.5 * 168.0;
    for (hour, share) in profile["shares"].as_array().unwrap().iter().enumerate() {
        let want = (f64::from(counts[hour]) + 0.5) / total;
        assert!((share.as_f64().unwrap() - want).abs() < 1e-6, "hour {hour}");
    }
}

/// Writes a police.uk file of `rows` valid rows with an invalid latitude at `bad_line`.
fn file_with_bad_row(path: &Path, rows: usize, bad_line: usize) {
    let mut s = String::from(POLICE_UK_HEADER);
    for n in 2..rows + 2 {
        let lat = if n == bad_line {
            "95.1".to_string()
        } else {
            format!("51.{:04}", n % 10_000)
        };
        s.push_str(&format!(
            "id{n},2023-05,B,B,-0.41,{lat},On or near X,,,Public order,,\n"
        ));
    }
    std::fs::write(path, s).unwrap();
}

#[test]
fn a_bad_row_at_line_40000_leaves_the_database_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let good = repo("data/police-uk/bedfordshire/street/2023-06-bedfordshire-street.csv");
    assert!(
        firefly(&db, &["import", "incidents", good.to_str().unwrap()])
            .status
            .success()
    );
    let before = (count(&db, "incidents"), count(&db, "imports"));

    let bad = dir.path().join("bad.csv");
    file_with_bad_row(&bad, 45_000, 40_000);
    let out = firefly(&db, &["import", "incidents", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let expected = format!(
        "{}:40000: Latitude: latitude 95.1 out of range -90..90",
        bad.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(stderr.contains("no incidents were imported"), "{stderr}");
    assert_eq!((count(&db, "incidents"), count(&db, "imports")), before);

    // With --skip-invalid the other 44,999 rows land and the bad one is reported.
    let out = firefly(
        &db,
        &[
            "import",
            "incidents",
            "--skip-invalid",
            bad.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(":40000: Latitude:"));
    assert_eq!(count(&db, "incidents"), before.0 + 44_999);
    assert!(
        text(&out.stdout).contains("1 rejected"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn several_files_are_one_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let good = repo("data/police-uk/bedfordshire/street/2023-07-bedfordshire-street.csv");
    let bad = dir.path().join("bad.csv");
    file_with_bad_row(&bad, 10, 5);
    let out = firefly(
        &db,
        &[
            "import",
            "incidents",
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        count(&db, "incidents"),
        0,
        "the good file must not land alone"
    );
    assert_eq!(count(&db, "imports"), 0);
}

#[test]
fn force_csv_ambiguous_time_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let csv = dir.path().join("force.csv");
    std::fs::write(
        &csv,
        "id,occurred_at,lat,lon,category\nA,2024-10-27 01:30,51.88,-0.41,violence\nB,2024-10-27T01:30:00+00:00,51.88,-0.41,violence\n",
    )
    .unwrap();
    let out = firefly(
        &db,
        &[
            "import",
            "incidents",
            "--format",
            "csv",
            csv.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("force.csv:2: occurred_at:") && stderr.contains("ambiguous"),
        "{stderr}"
    );
}

#[test]
fn us_data_is_detected_and_gz_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let file = repo("data/us/houston_crime_2010-01_to_2010-08.csv.gz");
    let out = firefly(
        &db,
        &[
            "--tz",
            "America/Chicago",
            "import",
            "incidents",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // 86,314 rows, 5 without coordinates (SOURCES.md).
    assert_eq!(count(&db, "incidents"), 86_314 - 5);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let format: String = conn
        .query_row("SELECT format FROM imports", [], |r| r.get(0))
        .unwrap();
    assert_eq!(format, "houston");
}

#[test]
fn training_for_unknown_premises_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let pubs = repo("data/premises/bedfordshire_pubs_osm_2022-01.geojson");
    assert!(
        firefly(&db, &["import", "premises", pubs.to_str().unwrap()])
            .status
            .success()
    );
    assert_eq!(count(&db, "premises"), 235);
    let training = dir.path().join("t.csv");
    std::fs::write(
        &training,
        "premises_id,date,course,staff_trained,trainer,notes\n\
         osm:node/21992993,2025-01-10,Ask for Angela,4,PC 1,\n\
         osm:node/1,2025-01-10,Ask for Angela,4,PC 1,\n",
    )
    .unwrap();
    let out = firefly(&db, &["import", "training", training.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("t.csv:3: premises_id:"), "{stderr}");
    assert_eq!(count(&db, "training_records"), 0);
}

#[test]
fn other_failures_exit_1_and_bad_settings_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("no/such/dir/f.db");
    let file = repo("data/police-uk/bedfordshire/street/2023-05-bedfordshire-street.csv");
    let out = firefly(&db, &["import", "incidents", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let out = firefly(
        &dir.path().join("f.db"),
        &["--tz", "Nowhere/Land", "summary"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("Nowhere/Land"));
    let out = firefly(
        &dir.path().join("f.db"),
        &["import", "incidents", "/no/such/file.csv"],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn demo_loads_and_summarises() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let out = firefly(&db, &["demo", "--no-serve"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for expected in [
        "58,976 new",
        "Luton",
        "21,919",
        "Licensed premises: 235",
        "FICTIONAL",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in\n{stdout}"
        );
    }
    // The demo users, one per role, each with a password shown once.
    assert_eq!(stdout.matches("password: ").count(), 4, "{stdout}");
    assert!(
        stdout.contains("created user demo-officer (officer, unit LN-FF1)"),
        "{stdout}"
    );
    assert_eq!(count(&db, "users"), 4);
    // It leaves settings for the next commands: the same database and the force boundary.
    let settings = std::fs::read_to_string(dir.path().join("firefly.toml")).unwrap();
    assert!(
        settings.contains("bedfordshire_lad20.geojson"),
        "{settings}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_firefly"))
        .current_dir(dir.path())
        .args(["venues", "--top", "3"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("of 36,007 incidents"),
        "{}",
        text(&out.stdout)
    );
    // Running it again adds nothing.
    let again = firefly(&db, &["demo", "--no-serve"]);
    assert!(
        text(&again.stdout).contains("0 new, 58,976 already present"),
        "{}",
        text(&again.stdout)
    );
    assert_eq!(count(&db, "incidents"), 58_976);
    assert!(
        !text(&again.stdout).contains("password: "),
        "passwords are never reset"
    );
    assert_eq!(count(&db, "users"), 4);
}

#[test]
fn a_killed_import_leaves_the_database_whole() {
    // SIGKILL the import at several moments: before, during and after storing. Each time
    // the database must pass integrity_check and hold all of the import or none of it.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.csv");
    let rows = 60_000;
    let mut s = String::from(POLICE_UK_HEADER);
    for n in 0..rows {
        s.push_str(&format!(
            "k{n},2023-05,B,B,-0.41,51.{:04},On or near X,,,Public order,,\n",
            n % 10_000
        ));
    }
    std::fs::write(&big, s).unwrap();
    let db = dir.path().join("f.db");
    let seed = repo("data/police-uk/bedfordshire/street/2023-08-bedfordshire-street.csv");
    assert!(
        firefly(&db, &["import", "incidents", seed.to_str().unwrap()])
            .status
            .success()
    );
    let base = count(&db, "incidents");
    for delay_ms in [50u64, 300, 800, 1500, 3000] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_firefly"))
            .arg("--db")
            .arg(&db)
            .args(["import", "incidents", big.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        child.kill().ok(); // SIGKILL on Unix
        child.wait().unwrap();
        let conn = rusqlite::Connection::open(&db).unwrap();
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok", "after a kill at {delay_ms} ms");
        let n = count(&db, "incidents");
        assert!(
            n == base || n == base + rows as i64,
            "partial import after a kill at {delay_ms} ms: {n}"
        );
        let imports: i64 = conn
            .query_row("SELECT count(*) FROM imports", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            imports,
            if n == base { 1 } else { 2 },
            "the imports log agrees with the data"
        );
        if n != base {
            break; // the import completed; later kills would test nothing new
        }
    }
}

#[test]
fn hotspots_count_geojson_follows_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    // Incidents placed at BNG cell centres by hand: cell 10182_4423 is
    // [509100, 509150) x [221150, 221200), centre (509125, 221175).
    let csv = dir.path().join("force.csv");
    std::fs::write(
        &csv,
        "id,occurred_at,easting,northing,category\n\
         a,2024-03-01T23:30:00Z,509125,221175,public_order\n\
         b,2024-03-02T00:30:00Z,509125,221175,public_order\n\
         c,2024-03-02T22:00:00Z,509175,221175,public_order\n\
         d,2024-03-04T12:00:00Z,509175,221175,public_order\n\
         e,2024-03-02T22:00:00Z,509175,221175,burglary\n",
    )
    .unwrap();
    assert!(
        firefly(&db, &["import", "incidents", csv.to_str().unwrap()])
            .status
            .success()
    );
    let out_path = dir.path().join("h.geojson");
    let out = firefly(
        &db,
        &[
            "hotspots",
            "--method",
            "count",
            "--half-life",
            "inf",
            "--bbox",
            "-0.42,51.87,-0.41,51.88",
            "-o",
            out_path.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let fc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    assert_eq!(fc["type"], "FeatureCollection");
    let meta = &fc["firefly"];
    assert_eq!(meta["method"], "count");
    // d is on a Monday noon (outside weekend nights), e is a burglary (not NTE).
    assert_eq!(meta["n_incidents"], 3);
    assert_eq!(meta["n_untimed"], 0);
    // a, b, c weigh the same (one category, no decay): a third each in their local hours
    // of the week (GMT in early March): Friday 23:00 (4 x 24 + 23), Saturday 00:00 and 22:00.
    let profile = &meta["hour_profile"];
    assert_eq!(profile["source"], "incidents");
    assert_eq!(profile["n_timed"], 3);
    let shares: Vec<f64> = serde_json::from_value(profile["shares"].clone()).unwrap();
    assert_eq!(shares.len(), 168);
    for (hour, share) in shares.iter().enumerate() {
        let want = if [119, 120, 142].contains(&hour) {
            1.0 / 3.0
        } else {
            0.0
        };
        assert!((share - want).abs() < 1e-6, "hour {hour}: {share}");
    }
    let features = fc["features"].as_array().unwrap();
    assert_eq!(features.len(), 2, "zero-score cells are left out");
    let top = &features[0]["properties"];
    assert_eq!(
        (top["id"].as_str(), top["col"].as_i64(), top["row"].as_i64()),
        (Some("10182_4423"), Some(10182), Some(4423))
    );
    assert_eq!(
        (top["x"].as_f64(), top["y"].as_f64()),
        (Some(509125.0), Some(221175.0))
    );
    assert_eq!(top["count"], 2);
    assert_eq!(top["rank"], 1);
    // For count, score is the weight: two public-order offences at full recency.
    assert_eq!(top["score"], top["weight"]);
    let second = &features[1]["properties"];
    assert_eq!(
        (
            second["id"].as_str(),
            second["count"].as_i64(),
            second["rank"].as_i64()
        ),
        (Some("10183_4423"), Some(1), Some(2))
    );
    assert!(
        (top["weight"].as_f64().unwrap() - 2.0 * second["weight"].as_f64().unwrap()).abs() < 1e-9
    );
    // Polygons: WGS84, closed, counter-clockwise (positive shoelace area).
    let ring = features[0]["geometry"]["coordinates"][0]
        .as_array()
        .unwrap();
    assert_eq!(ring.len(), 5);
    assert_eq!(ring[0], ring[4]);
    let pts: Vec<(f64, f64)> = ring
        .iter()
        .map(|p| (p[0].as_f64().unwrap(), p[1].as_f64().unwrap()))
        .collect();
    let area2: f64 = pts
        .windows(2)
        .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
        .sum();
    assert!(area2 > 0.0, "counter-clockwise outer ring");
    assert!(
        pts.iter()
            .all(|(lon, lat)| (-0.42..-0.41).contains(lon) && (51.87..51.88).contains(lat))
    );

    // CSV carries the same cells.
    let out = firefly(
        &db,
        &[
            "hotspots",
            "--method",
            "count",
            "--bbox",
            "-0.42,51.87,-0.41,51.88",
            "--format",
            "csv",
        ],
    );
    let csv_text = text(&out.stdout);
    let mut lines = csv_text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("id,col,row,x,y,lon,lat,count,weight,score,rank,percentile")
    );
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("10182_4423,10182,4423,509125.00,221175.00,")
    );
}

#[test]
fn backtest_json_follows_the_contract_on_police_uk_months() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let street = repo("data/police-uk/bedfordshire/street");
    let files: Vec<String> = ["2023-11", "2023-12", "2024-01"]
        .iter()
        .map(|m| {
            street
                .join(format!("{m}-bedfordshire-street.csv"))
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec!["import", "incidents"];
    args.extend(files.iter().map(String::as_str));
    assert!(firefly(&db, &args).status.success());
    // Without a study area the data's own is used: the cells within 1 km of the incidents,
    // with police.uk's few stray rows far outside the force left out, reported on stderr
    // and in the JSON's params, so PAI's area share is a share of a stated area.
    let out = firefly(
        &db,
        &[
            "backtest",
            "--cut",
            "2024-01-01",
            "--train-days",
            "61",
            "--methods",
            "count",
            "--coverage",
            "1",
            "--json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("isolated incidents far from the rest"),
        "{}",
        text(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let area = &v["params"]["area"];
    assert_eq!(area["kind"], "data", "{area}");
    let left_out = area["left_out"].as_u64().unwrap();
    assert!((1..200).contains(&left_out), "{area}");
    // Every stray listed lies outside Bedfordshire (no quiet village is left out).
    let districts = planner::area::Areas::from_geojson(
        &std::fs::read_to_string(repo("data/boundaries/bedfordshire_lad20.geojson")).unwrap(),
        &["lad20nm"],
        &["lad20cd"],
    )
    .unwrap();
    for ll in area["left_out_lonlat"].as_array().unwrap() {
        let (lon, lat) = (ll[0].as_f64().unwrap(), ll[1].as_f64().unwrap());
        assert!(districts.locate(lon, lat).is_none(), "{ll}");
    }
    // Bedfordshire is about 1,235 km2: 1 km around its incidents is more, a box to the
    // strays in Liverpool and Kent would be over 100 times more.
    let cells = area["cells"].as_u64().unwrap() as f64 * 0.0025;
    assert!((800.0..3000.0).contains(&cells), "{area}");
    let boundary = repo("data/boundaries/bedfordshire_lad20.geojson");
    let out = firefly(
        &db,
        &[
            "backtest",
            "--cut",
            "2024-01-01",
            "--train-days",
            "61",
            "--methods",
            "count,naive",
            "--coverage",
            "1,5",
            "--json",
            "--boundary",
            boundary.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = v["results"].as_array().unwrap();
    // count, naive and the ceiling, at two coverage levels.
    assert_eq!(rows.len(), 6);
    for r in rows {
        for key in [
            "method",
            "cut",
            "coverage",
            "hit_rate",
            "pai",
            "test_incidents",
        ] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
        assert_eq!(r["cut"], "2024-01-01");
        // Located night-time-economy rows in the January file (Python csv count), inside
        // the force boundary or outside it.
        let outside = v["periods"][0]["test_outside_area"].as_i64().unwrap();
        assert_eq!(r["test_incidents"].as_i64().unwrap() + outside, 2718);
        assert!(outside < 100, "{outside}");
        let (hit, pai) = (r["hit_rate"].as_f64().unwrap(), r["pai"].as_f64().unwrap());
        assert!((0.0..=1.0).contains(&hit));
        let share = r["coverage"].as_f64().unwrap() / 100.0;
        assert!(
            (pai - hit / share).abs() / pai < 0.01,
            "PAI = hit rate / area share: {r}"
        );
    }
    let ceiling_1 = rows
        .iter()
        .find(|r| r["method"] == "ceiling" && r["coverage"] == 1.0)
        .unwrap();
    assert_eq!(
        ceiling_1["hit_rate"], 1.0,
        "police.uk snap points: January fits in 1 % of the area"
    );
    assert!(v["params"].is_object());
    // A cut that is not the first of a month is refused for month-only data.
    let out = firefly(
        &db,
        &[
            "backtest",
            "--cut",
            "2024-01-15",
            "--boundary",
            boundary.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("first day of a month"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn venues_rank_by_nearby_harm_and_profile_reads_local_hours() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let pubs = repo("data/premises/bedfordshire_pubs_osm_2022-01.geojson");
    assert!(
        firefly(&db, &["import", "premises", pubs.to_str().unwrap()])
            .status
            .success()
    );
    // Three incidents at Bar Citrus (-0.4685366, 52.1377304), one about 1 km north.
    let csv = dir.path().join("force.csv");
    std::fs::write(
        &csv,
        "id,occurred_at,lat,lon,category\n\
         a,2024-07-06T23:30:00+01:00,52.1377304,-0.4685366,violence\n\
         b,2024-07-06T23:45:00+01:00,52.1377304,-0.4685366,violence\n\
         c,2024-07-13T23:10:00+01:00,52.1377304,-0.4685366,public_order\n\
         d,2024-07-13T23:10:00+01:00,52.1467,-0.4685366,violence\n",
    )
    .unwrap();
    assert!(
        firefly(&db, &["import", "incidents", csv.to_str().unwrap()])
            .status
            .success()
    );
    let bbox = "-0.50,52.12,-0.44,52.16";
    let out = firefly(
        &db,
        &["venues", "--bbox", bbox, "--format", "json", "--top", "3"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["n_incidents"], 4);
    assert_eq!(v["n_attributed"], 3);
    let top = &v["venues"][0];
    assert_eq!(
        (
            top["name"].as_str(),
            top["rank"].as_i64(),
            top["count"].as_i64()
        ),
        (Some("Bar Citrus"), Some(1), Some(3))
    );
    assert_eq!(top["training_status"], "never_trained");
    // Saturday 23:xx BST: hour of week 5 * 24 + 23 = 143 holds all four incidents.
    let out = firefly(&db, &["profile", "--bbox", bbox]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains("from 4 timed incidents"), "{stdout}");
    let sat = stdout.lines().find(|l| l.starts_with("Sat")).unwrap();
    let cells: Vec<&str> = sat.split_whitespace().collect();
    assert_eq!(cells[24], "100.0", "{sat}");
}

/// Imports the given police.uk months and the Bedfordshire OSM pubs into `db`.
fn seed_months_and_pubs(db: &Path, months: &[&str]) {
    let street = repo("data/police-uk/bedfordshire/street");
    let files: Vec<String> = months
        .iter()
        .map(|m| {
            street
                .join(format!("{m}-bedfordshire-street.csv"))
                .display()
                .to_string()
        })
        .collect();
    let mut args = vec!["import", "incidents"];
    args.extend(files.iter().map(String::as_str));
    assert!(firefly(db, &args).status.success());
    let pubs = repo("data/premises/bedfordshire_pubs_osm_2022-01.geojson");
    assert!(
        firefly(db, &["import", "premises", pubs.to_str().unwrap()])
            .status
            .success()
    );
}

#[test]
fn zones_are_walkable_named_polygons() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    seed_months_and_pubs(&db, &["2024-03", "2024-04"]);
    let boundary = repo("data/boundaries/bedfordshire_lad20.geojson");
    let out_path = dir.path().join("z.geojson");
    let out = firefly(
        &db,
        &[
            "zones",
            "--boundary",
            boundary.to_str().unwrap(),
            "--max-zones",
            "8",
            "-o",
            out_path.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let fc: serde_json::Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    let features = fc["features"].as_array().unwrap();
    assert_eq!(features.len(), 8);
    for f in features {
        let p = &f["properties"];
        assert!(!p["name"].as_str().unwrap().is_empty());
        let c = p["centroid"].as_array().unwrap();
        let (clon, clat) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        for polygon in f["geometry"]["coordinates"].as_array().unwrap() {
            let outer = polygon[0].as_array().unwrap();
            let pts: Vec<(f64, f64)> = outer
                .iter()
                .map(|q| (q[0].as_f64().unwrap(), q[1].as_f64().unwrap()))
                .collect();
            let area2: f64 = pts
                .windows(2)
                .map(|w| w[0].0 * w[1].1 - w[1].0 * w[0].1)
                .sum();
            assert!(area2 > 0.0, "outer rings are counter-clockwise");
            for (lon, lat) in pts {
                // Equirectangular metres: accurate to well under 1 m at this scale.
                let dx = (lon - clon).to_radians() * clat.to_radians().cos() * 6_371_000.0;
                let dy = (lat - clat).to_radians() * 6_371_000.0;
                assert!(
                    (dx * dx + dy * dy).sqrt() <= 301.0,
                    "{} is not walkable",
                    p["id"]
                );
            }
        }
        assert_eq!(p["risk_by_hour"].as_array().unwrap().len(), 168);
        assert!(
            p["hour_profile"].as_str().unwrap().starts_with("prior"),
            "police.uk has no times"
        );
    }
}

#[test]
fn plan_writes_checkable_json_csv_and_calendars_on_a_dst_night() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    seed_months_and_pubs(&db, &["2024-02", "2024-03"]);
    let units = dir.path().join("units.csv");
    std::fs::write(
        &units,
        "callsign,size,shift_start,shift_end,start_lon,start_lat,start_name,break_minutes,skills\n\
         LN-A,2,18:00,06:00,-0.421262,51.878543,Luton police station,45,\n\
         LN-B,1,20:00,04:00,-0.421262,51.878543,Luton police station,30,first-aid\n\
         BD-A,2,18:00,06:00,-0.472940,52.137046,Bedford police station,45,\n",
    )
    .unwrap();
    let boundary = repo("data/boundaries/bedfordshire_lad20.geojson");
    let (json_path, csv_path, ics_dir) = (
        dir.path().join("plan.json"),
        dir.path().join("rota.csv"),
        dir.path().join("ics"),
    );
    // 30 March 2024: the clocks go forward at 01:00, so 18:00-06:00 is 11 hours, 44 slots.
    let out = firefly(
        &db,
        &[
            "plan",
            "--night",
            "2024-03-30",
            "--units",
            units.to_str().unwrap(),
            "--seed",
            "7",
            "--boundary",
            boundary.to_str().unwrap(),
            "--max-zones",
            "12",
            "-o",
            json_path.to_str().unwrap(),
            "--csv",
            csv_path.to_str().unwrap(),
            "--ics-dir",
            ics_dir.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json_path).unwrap()).unwrap();
    let slots = plan["slots"].as_array().unwrap();
    assert_eq!(slots.len(), 44);
    assert_eq!(plan["units"].as_array().unwrap().len(), 3);
    assert_eq!(plan["zones"].as_array().unwrap().len(), 12);
    for key in [
        "slot_minutes",
        "walking_speed_kmh",
        "detour",
        "second_unit_factor",
        "seed",
    ] {
        assert!(plan["params"].get(key).is_some(), "params.{key}");
    }
    // Recompute the objective from the JSON alone: sum over zones and slots of
    // risk x (1 + d + ... + d^(k-1)) for the k units present.
    let d = plan["params"]["second_unit_factor"].as_f64().unwrap();
    let zones = plan["zones"].as_array().unwrap();
    let assignments = plan["assignments"].as_array().unwrap();
    let mut objective = 0.0;
    for z in zones {
        let id = z["id"].as_str().unwrap();
        for (t, risk) in z["risk"].as_array().unwrap().iter().enumerate() {
            let k = assignments
                .iter()
                .filter(|row| row[t].get("zone").and_then(|v| v.as_str()) == Some(id))
                .count();
            let factor: f64 = (0..k).map(|i| d.powi(i as i32)).sum();
            objective += risk.as_f64().unwrap() * factor;
        }
    }
    let reported = plan["objective"].as_f64().unwrap();
    assert!(
        (objective - reported).abs() <= 1e-9 * reported.max(1.0),
        "{objective} vs {reported}"
    );
    let bound = plan["bound"].as_f64().unwrap();
    assert!(reported > 0.0 && reported <= bound * (1.0 + 1e-12));
    assert!((plan["gap"].as_f64().unwrap() - (bound - reported) / bound).abs() < 1e-9);
    // Every unit has a slot entry for every slot, and LN-B is off outside 20:00-04:00.
    for row in assignments {
        assert_eq!(row.as_array().unwrap().len(), 44);
    }
    assert_eq!(assignments[1][0], serde_json::json!({"off": true}));
    // CSV: one row per unit per slot.
    let rota = std::fs::read_to_string(&csv_path).unwrap();
    assert_eq!(rota.lines().count(), 1 + 3 * 44);
    assert!(
        rota.lines()
            .next()
            .unwrap()
            .starts_with("callsign,slot,start_local")
    );
    // iCalendar: each file parses, events are in Europe/London time.
    for callsign in ["LN-A", "LN-B", "BD-A"] {
        let ics = std::fs::read_to_string(ics_dir.join(format!("{callsign}.ics"))).unwrap();
        let unfolded = icalendar::parser::unfold(&ics);
        let cal = icalendar::parser::read_calendar(&unfolded).unwrap();
        let events: Vec<_> = cal
            .components
            .iter()
            .filter(|c| c.name == "VEVENT")
            .collect();
        assert!(!events.is_empty(), "{callsign} has events");
        assert!(cal.components.iter().any(|c| c.name == "VTIMEZONE"));
        for e in events {
            let start = e.properties.iter().find(|p| p.name == "DTSTART").unwrap();
            assert!(
                start.params.iter().any(|p| p.key == "TZID"
                    && p.val.as_ref().map(|v| v.as_str()) == Some("Europe/London"))
            );
            assert!(e.properties.iter().any(|p| p.name == "SUMMARY"));
        }
    }

    // Re-plan: LN-B drops out at 23:00 (local); the past stays as it was, LN-B is off from
    // then on, and every change is listed.
    let replanned = dir.path().join("plan2.json");
    let out = firefly(
        &db,
        &[
            "replan",
            "--plan",
            json_path.to_str().unwrap(),
            "--drop",
            "LN-B",
            "--at",
            "23:00",
            "-o",
            replanned.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let after: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&replanned).unwrap()).unwrap();
    let from = after["replan"]["from_slot"].as_u64().unwrap() as usize;
    assert_eq!(from, 20, "23:00 is 5 hours after 18:00");
    let (old_rows, new_rows) = (
        plan["assignments"].as_array().unwrap(),
        after["assignments"].as_array().unwrap(),
    );
    for (old, new) in old_rows.iter().zip(new_rows) {
        assert_eq!(
            old.as_array().unwrap()[..from],
            new.as_array().unwrap()[..from],
            "the past is kept"
        );
    }
    assert!(
        new_rows[1].as_array().unwrap()[from..]
            .iter()
            .all(|a| *a == serde_json::json!({"off": true}))
    );
    let changes = after["replan"]["changes"].as_array().unwrap();
    let differing: usize = old_rows
        .iter()
        .zip(new_rows)
        .map(|(o, n)| {
            o.as_array()
                .unwrap()
                .iter()
                .zip(n.as_array().unwrap())
                .filter(|(a, b)| a != b)
                .count()
        })
        .sum();
    assert_eq!(changes.len(), differing, "every changed slot is listed");
    // A re-plan of a re-plan reads its own output back.
    let out = firefly(
        &db,
        &[
            "replan",
            "--plan",
            replanned.to_str().unwrap(),
            "--drop",
            "BD-A",
            "--at",
            "02:00",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn password_hash(db: &Path, name: &str) -> Option<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT password_hash FROM users WHERE name = ?1",
        [name],
        |r| r.get(0),
    )
    .ok()
}

#[test]
fn users_add_prints_a_generated_password_once_and_stores_only_its_argon2id_hash() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let out = firefly(&db, &["users", "list"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("no users"), "no default user");
    let out = firefly(
        &db,
        &[
            "users", "add", "ana", "--role", "officer", "--unit", "LN-FF1",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("created user ana (officer, unit LN-FF1)"),
        "{stdout}"
    );
    let password = stdout
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .expect("the generated password is printed")
        .to_string();
    assert_eq!(password.len(), 20);
    let hash = password_hash(&db, "ana").unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains(&password));
    assert!(api::app::password::verify(&password, &hash));
    // Names are unique (in any case); a clash is invalid input and changes nothing.
    let out = firefly(&db, &["users", "add", "ANA", "--role", "admin"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(password_hash(&db, "ana").unwrap(), hash);
    let out = firefly(&db, &["users", "add", "bob", "--role", "root"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(count(&db, "users"), 1);
    // The creation is in the audit log, with the CLI as the actor.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (actor, target): (String, String) = conn
        .query_row(
            "SELECT actor, target FROM audit WHERE action = 'user.create'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(actor.starts_with("cli:"), "{actor}");
    assert_eq!(target, "user:ana");
}

#[test]
fn users_add_reads_a_password_from_stdin_and_refuses_short_ones() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let out = firefly_stdin(
        &db,
        &[
            "users",
            "add",
            "lee",
            "--role",
            "liaison",
            "--password-stdin",
        ],
        "a long enough passphrase\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("password:"), "nothing to show");
    let hash = password_hash(&db, "lee").unwrap();
    assert!(api::app::password::verify(
        "a long enough passphrase",
        &hash
    ));
    let out = firefly_stdin(
        &db,
        &[
            "users",
            "add",
            "kim",
            "--role",
            "planner",
            "--password-stdin",
        ],
        "short\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("at least 12"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(password_hash(&db, "kim"), None);
}

/// Venue names come from OpenStreetMap, which anyone can edit: a name a spreadsheet would
/// run as a formula comes out of the rota CSV quoted, and never starts a field with `=`.
#[test]
fn issue_13_formula_named_venues_are_quoted_in_the_rota_csv() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("f.db");
    let month = repo("data/police-uk/bedfordshire/street/2024-03-bedfordshire-street.csv");
    assert!(
        firefly(&db, &["import", "incidents", month.to_str().unwrap()])
            .status
            .success()
    );
    let pubs = repo("data/premises/bedfordshire_pubs_osm_2022-01.geojson");
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(pubs).unwrap()).unwrap();
    for (i, f) in doc["features"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        f["properties"]["name"] = format!("=HYPERLINK(\"http://x.example/{i}\",\"Bar\")").into();
    }
    let evil = dir.path().join("evil.geojson");
    std::fs::write(&evil, doc.to_string()).unwrap();
    let out = firefly(&db, &["import", "premises", evil.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let units = dir.path().join("units.csv");
    std::fs::write(
        &units,
        "callsign,size,shift_start,shift_end,start_lon,start_lat,start_name,break_minutes,skills\n\
         LN-A,2,18:00,06:00,-0.421262,51.878543,Luton police station,45,\n",
    )
    .unwrap();
    let csv_path = dir.path().join("rota.csv");
    let boundary = repo("data/boundaries/bedfordshire_lad20.geojson");
    let out = firefly(
        &db,
        &[
            "plan",
            "--night",
            "2024-03-29",
            "--units",
            units.to_str().unwrap(),
            "--boundary",
            boundary.to_str().unwrap(),
            "--max-zones",
            "6",
            "-o",
            dir.path().join("plan.json").to_str().unwrap(),
            "--csv",
            csv_path.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let name_col = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "zone_name")
        .unwrap();
    let mut quoted = 0;
    for record in reader.records() {
        let record = record.unwrap();
        for field in record.iter() {
            assert!(
                !field.starts_with(['=', '+', '@']),
                "a field a spreadsheet would run: {field:?}"
            );
        }
        let name = &record[name_col];
        if !name.is_empty() {
            assert!(name.starts_with("'=HYPERLINK("), "{name:?}");
            quoted += 1;
        }
    }
    assert!(quoted > 0, "the unit patrols at least one venue-named zone");
}

/// A PostgreSQL server that cannot be reached: one clear line, the cause said once, the
/// password never. (Port 1 on loopback: refused at once, nothing leaves the machine.)
#[test]
fn an_unreachable_database_server_is_reported_once_without_its_password() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_firefly"))
        .args([
            "--db",
            "postgres://ff:s3cret@127.0.0.1:1/firefly",
            "summary",
        ])
        .env_remove("FIREFLY_CONFIG")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("database postgres://ff:***@127.0.0.1:1/firefly: error connecting to server"),
        "{err}"
    );
    assert_eq!(
        err.matches("error connecting to server").count(),
        1,
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
}

/// `--help` names FIREFLY_DB but never prints its value (a URL may hold a password).
#[test]
fn help_never_shows_the_database_url_from_the_environment() {
    for args in [&["--help"][..], &["import", "--help"], &["serve", "--help"]] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_firefly"))
            .args(args)
            .env("FIREFLY_DB", "postgres://ff:s3cret@127.0.0.1:1/firefly")
            .env_remove("FIREFLY_CONFIG")
            .output()
            .unwrap();
        let help = text(&out.stdout);
        assert!(
            out.status.success() && help.contains("FIREFLY_DB"),
            "{help}"
        );
        assert!(
            !help.contains("s3cret") && !help.contains("127.0.0.1:1"),
            "{args:?}: {help}"
        );
    }
}
