//! `firefly bench scoring --national` on a small generated set: it runs the whole path
//! (import, KDE and Gi* over the data's own area, a viewport from a real `firefly serve`)
//! and its table names every figure.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::path::Path;
use std::process::Command;

#[test]
fn national_bench_names_each_figure() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("national.db");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_firefly"))
            .current_dir(dir.path())
            .args(["bench", "scoring", "--national", "--incidents", "5000"])
            .arg("--keep-db")
            .arg(&db)
            .arg("--data")
            .arg(&data)
            .env_remove("FIREFLY_CONFIG")
            .env_remove("FIREFLY_DB")
            .env_remove("FIREFLY_BOUNDARY")
            .output()
            .unwrap()
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for figure in [
        "19,830 pubs",
        "| import: 5,000 rows",
        "rows/s",
        "| kde at 100 m over GB",
        "| gistar at 100 m over GB",
        "incidents selected, study area",
        "cells held",
        "with validation",
        "answer",
        "process peak (VmHWM)",
        "under 60 s:",
        "under 4 GB:",
        "method=kde&cell=100",
        "central London, validation=false",
        "central Manchester",
        "validation block in the background",
        ", validation block ",
        "incidents are loaded for the analyses",
        "cold **",
        "cached **",
        "the server's own peak memory",
    ] {
        assert!(stdout.contains(figure), "no {figure:?} in:\n{stdout}");
    }
    // The database is kept, with every generated row.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let n: i64 = conn
        .query_row("SELECT count(*) FROM incidents", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 5_000);
    // A kept database is never overwritten.
    let again = run();
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("exists already"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}
