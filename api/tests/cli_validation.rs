//! Issue 15: every hotspot answer carries its own validation on held-out periods, and zones
//! and plans use the method that validates best (`--method auto`). The validation's figures
//! are checked against `firefly backtest` run on the same periods (a second path through
//! the CLI), and the choice against the candidates' own figures.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use serde_json::Value;
use std::path::{Path, PathBuf};

mod common;
use common::cli::{firefly, text};
use common::repo;

fn month(m: &str) -> String {
    repo(&format!(
        "data/police-uk/bedfordshire/street/{m}-bedfordshire-street.csv"
    ))
    .to_str()
    .unwrap()
    .to_string()
}

/// A database with the given police.uk months of Bedfordshire.
fn imported(dir: &Path, months: &[&str]) -> PathBuf {
    let db = dir.join("f.db");
    let files: Vec<String> = months.iter().map(|m| month(m)).collect();
    let mut args = vec!["import", "incidents"];
    args.extend(files.iter().map(String::as_str));
    let out = firefly(&db, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    db
}

fn boundary() -> String {
    repo("data/boundaries/bedfordshire_lad20.geojson")
        .to_str()
        .unwrap()
        .to_string()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(1.0)
}

#[test]
fn hotspot_answers_carry_a_validation_that_backtest_reproduces() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path(), &["2023-05", "2023-06", "2023-07", "2023-08"]);
    let out_path = dir.path().join("h.geojson");
    let b = boundary();
    let common = [
        "--cell",
        "200",
        "--window",
        "all",
        "--category",
        "all",
        "--boundary",
        b.as_str(),
    ];
    let mut args = vec![
        "hotspots",
        "--method",
        "kde",
        "-o",
        out_path.to_str().unwrap(),
    ];
    args.extend(common);
    let out = firefly(&db, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("validation: kde PAI at 1 %"), "{stderr}");
    let doc: Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    let v = &doc["firefly"]["validation"];
    assert_eq!(v["available"], true, "{v}");
    assert_eq!(v["unit"], "month");
    // Four months: the first has nothing before it, so three held-out months.
    let cuts: Vec<&str> = v["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["cut"].as_str().unwrap())
        .collect();
    assert_eq!(cuts, ["2023-06-01", "2023-07-01", "2023-08-01"]);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2);

    // The same periods through `firefly backtest`.
    let mut args = vec![
        "backtest",
        "--cut",
        "2023-06-01",
        "--periods",
        "3",
        "--methods",
        "kde,naive",
        "--coverage",
        "1,5",
        "--json",
    ];
    args.extend(common);
    let out = firefly(&db, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let bt: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = bt["results"].as_array().unwrap();
    for row in rows {
        let coverage = row["coverage"].as_f64().unwrap();
        for (name, measures) in [("kde", &row["method"]), ("naive", &row["naive"])] {
            let pais: Vec<f64> = results
                .iter()
                .filter(|r| r["method"] == name && r["coverage"].as_f64() == Some(coverage))
                .map(|r| r["pai"].as_f64().unwrap())
                .collect();
            assert_eq!(pais.len(), 3, "{name} at {coverage} %");
            let mean = pais.iter().sum::<f64>() / 3.0;
            let min = pais.iter().cloned().fold(f64::INFINITY, f64::min);
            let max = pais.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let got = &measures["pai"];
            assert!(
                close(got["mean"].as_f64().unwrap(), mean),
                "{name} {coverage}: {got} vs {pais:?}"
            );
            assert!(close(got["min"].as_f64().unwrap(), min));
            assert!(close(got["max"].as_f64().unwrap(), max));
        }
        // The ceiling bounds the method in every period, so in the mean too.
        assert!(
            row["ceiling"]["pai"]["mean"].as_f64().unwrap()
                >= row["method"]["pai"]["mean"].as_f64().unwrap()
        );
    }

    // `--no-validation` leaves it out.
    let mut args = vec![
        "hotspots",
        "--method",
        "kde",
        "--no-validation",
        "-o",
        out_path.to_str().unwrap(),
    ];
    args.extend(common);
    let out = firefly(&db, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&std::fs::read(&out_path).unwrap()).unwrap();
    assert!(doc["firefly"]["validation"].is_null());
}

#[test]
fn one_month_cannot_be_validated_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path(), &["2024-03"]);
    let b = boundary();
    let out = firefly(
        &db,
        &[
            "hotspots",
            "--cell",
            "200",
            "--window",
            "all",
            "--boundary",
            &b,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let v = &doc["firefly"]["validation"];
    assert_eq!(v["available"], false, "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("no held-out period"),
        "{v}"
    );

    // Zones with `auto` fall back to KDE, and say why.
    let out = firefly(
        &db,
        &[
            "zones",
            "--cell",
            "200",
            "--window",
            "all",
            "--boundary",
            &b,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let choice = &doc["firefly"]["method_choice"];
    assert_eq!(doc["firefly"]["method"], "kde");
    assert_eq!(choice["method"], "kde");
    assert!(
        choice["reason"]
            .as_str()
            .unwrap()
            .contains("too little history"),
        "{choice}"
    );
}

#[test]
fn zones_auto_picks_the_candidate_with_the_best_validated_pai() {
    let dir = tempfile::tempdir().unwrap();
    let db = imported(dir.path(), &["2023-09", "2023-10", "2023-11", "2023-12"]);
    let b = boundary();
    let out = firefly(
        &db,
        &[
            "zones",
            "--cell",
            "200",
            "--window",
            "all",
            "--category",
            "all",
            "--boundary",
            &b,
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("method auto: "),
        "{}",
        text(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let choice = &doc["firefly"]["method_choice"];
    let candidates = choice["candidates"].as_array().unwrap();
    let names: Vec<&str> = candidates
        .iter()
        .map(|c| c["method"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["kde", "ensemble"]);
    let best = candidates
        .iter()
        .max_by(|a, b| {
            let (a, b) = (
                a["pai_mean"].as_f64().unwrap(),
                b["pai_mean"].as_f64().unwrap(),
            );
            // Ties go to the first (KDE): compare so that an equal later one is not greater.
            a.partial_cmp(&b).unwrap().then(std::cmp::Ordering::Greater)
        })
        .unwrap();
    assert_eq!(choice["method"], best["method"], "{choice}");
    assert_eq!(doc["firefly"]["method"], best["method"]);
    assert_eq!(choice["periods"], 3);

    // Each candidate's figure is the one its own hotspot answer carries at 1 %.
    for c in candidates {
        let method = c["method"].as_str().unwrap();
        let out = firefly(
            &db,
            &[
                "hotspots",
                "--method",
                method,
                "--cell",
                "200",
                "--window",
                "all",
                "--category",
                "all",
                "--boundary",
                &b,
            ],
        );
        assert!(out.status.success(), "{}", text(&out.stderr));
        let h: Value = serde_json::from_slice(&out.stdout).unwrap();
        let at1 = h["firefly"]["validation"]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["coverage"] == 1.0)
            .unwrap()
            .clone();
        assert!(
            close(
                at1["method"]["pai"]["mean"].as_f64().unwrap(),
                c["pai_mean"].as_f64().unwrap()
            ),
            "{method}: {at1} vs {c}"
        );
    }
}
