//! Crash safety of an HTTP import: the real `firefly serve` binary on a loopback port,
//! a large police.uk file posted to `/api/v1/imports/incidents`, and the server killed
//! with SIGKILL part-way (at several delays). After a restart the database must pass
//! `PRAGMA integrity_check` and hold none of the rows or all of them, and the imports log
//! and the audit log must agree with it: the import, its log row and its audit entry are
//! one transaction.

#![cfg(unix)]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;

use api::storage::Location;
use api::storage::db::Conn;
use common::police_uk;
use common::serve::{Server, fresh_db, http, login};
use std::time::{Duration, Instant};

const ROWS: usize = 200_000;

/// What the database holds after a crash: (integrity, incidents, imports, their summed
/// `added`, import audit entries).
fn inspect(db: &Location) -> (String, i64, i64, i64, i64) {
    let conn = Conn::open(db).unwrap();
    let one = |sql: &str| -> i64 { conn.query_row(sql, &[], |r| r.get(0)).unwrap() };
    // PostgreSQL checks its own pages (and its WAL replay); SQLite is asked.
    let integrity: String = match db {
        Location::Sqlite(_) => conn
            .query_row("PRAGMA integrity_check", &[], |r| r.get(0))
            .unwrap(),
        Location::Postgres(_) => "ok".into(),
    };
    (
        integrity,
        one("SELECT count(*) FROM incidents"),
        one("SELECT count(*) FROM imports WHERE kind = 'incidents'"),
        one("SELECT coalesce(sum(added), 0) FROM imports WHERE kind = 'incidents'"),
        one("SELECT count(*) FROM audit WHERE action = 'import.incidents'"),
    )
}

/// Posts the file, kills the server after `delay` (or once it answered, for `None`),
/// restarts it and checks the database. Returns the incidents stored and how long the
/// upload and import took when it was allowed to finish.
fn run(file: &[u8], delay: Option<Duration>) -> (i64, Duration) {
    let all = ROWS as i64;
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(dir.path());
    let mut server = Server::start(dir.path(), &db);
    let addr = server.addr;
    let token = login(addr, "ana");
    let body = file.to_vec();
    let started = Instant::now();
    let upload = std::thread::spawn(move || {
        http(
            addr,
            "POST",
            "/api/v1/imports/incidents?filename=gen.csv",
            Some(&token),
            "text/csv",
            &body,
        )
    });
    let answered = match delay {
        Some(d) => {
            std::thread::sleep(d);
            server.kill();
            upload.join().unwrap()
        }
        None => {
            let answer = upload.join().unwrap();
            let (status, body) = answer.clone().expect("the import answers");
            assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
            server.kill();
            answer
        }
    };
    let took = started.elapsed();
    // Restart on the killed database: it opens (WAL recovery) and is ready.
    let mut again = Server::start(dir.path(), &db);
    let (status, _) = http(again.addr, "GET", "/readyz", None, "text/plain", b"").unwrap();
    assert_eq!(status, 200);
    let (integrity, incidents, imports, added, audited) = inspect(&db);
    again.kill();
    assert_eq!(integrity, "ok", "delay {delay:?}");
    assert!(
        incidents == 0 || incidents == all,
        "delay {delay:?}: {incidents} of {all} incidents stored"
    );
    let landed = i64::from(incidents == all);
    assert_eq!(
        (imports, added, audited),
        (landed, incidents, landed),
        "delay {delay:?}: the imports and audit logs agree with the incidents"
    );
    // An answer that said 201 means the rows are there.
    if let Some((201, _)) = answered {
        assert_eq!(incidents, all, "delay {delay:?}");
    }
    (incidents, took)
}

#[test]
fn a_server_killed_mid_import_leaves_all_or_nothing() {
    let file = police_uk(ROWS, "c").into_bytes();
    // First uninterrupted, to time it; then killed at fractions of that time, the last
    // close to the commit (which may land on either side of it).
    let (stored, full) = run(&file, None);
    assert_eq!(stored, ROWS as i64);
    assert!(full < Duration::from_secs(30), "the import took {full:?}");
    let mut outcomes = Vec::new();
    for fraction in [0.05, 0.5, 0.9, 0.99] {
        let (stored, _) = run(&file, Some(full.mul_f64(fraction)));
        outcomes.push((fraction, stored));
    }
    eprintln!("import of {ROWS} rows: {full:?}; stored after each kill: {outcomes:?}");
    // The earliest kill lands long before the commit.
    assert_eq!(outcomes[0].1, 0, "{outcomes:?}");
}
