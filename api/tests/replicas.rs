//! Two `firefly serve` processes on one database, as behind a load balancer: a token from
//! a login on one works on the other, a logout on one ends the session on both within a
//! second, an import through one changes the other's hotspot answer within a second, and
//! two simultaneous imports through the two are serialised. Run on the test's database:
//! SQLite, or PostgreSQL when `FIREFLY_TEST_POSTGRES` names a server (the deployment this
//! is for); the login rate limiter is shared only there.

#![cfg(unix)]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;

use api::storage::Location;
use api::storage::db::Conn;
use common::police_uk;
use common::serve::{Server, fresh_db, http, login};
use serde_json::Value;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const HOTSPOTS: &str = "/api/v1/hotspots?window=all&cell=100";

fn get(addr: SocketAddr, path: &str, token: &str) -> (u16, Vec<u8>) {
    http(addr, "GET", path, Some(token), "text/plain", b"").unwrap()
}

fn import(addr: SocketAddr, token: &str, name: &str, csv: &[u8]) -> (u16, Value) {
    let (status, body) = http(
        addr,
        "POST",
        &format!("/api/v1/imports/incidents?filename={name}"),
        Some(token),
        "text/csv",
        csv,
    )
    .unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

fn incidents_in_hotspots(addr: SocketAddr, token: &str) -> i64 {
    let (status, body) = get(addr, HOTSPOTS, token);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let v: Value = serde_json::from_slice(&body).unwrap();
    v["firefly"]["n_incidents"].as_i64().unwrap()
}

/// Polls `done` every 20 ms for up to `limit`; how long it took to hold.
fn within(limit: Duration, mut done: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[test]
fn two_replicas_share_sessions_data_and_the_import_turn() {
    let dir = tempfile::tempdir().unwrap();
    let db = fresh_db(dir.path());
    let a = Server::start(dir.path(), &db);
    let b = Server::start(dir.path(), &db);

    // A login on one replica is a session on the other.
    let token = login(a.addr, "ana");
    assert_eq!(get(b.addr, "/api/v1/me", &token).0, 200);
    // A logout on one ends it on both within a second.
    let (status, _) = http(
        a.addr,
        "POST",
        "/api/v1/auth/logout",
        Some(&token),
        "application/json",
        b"",
    )
    .unwrap();
    assert_eq!(status, 204);
    assert_eq!(get(a.addr, "/api/v1/me", &token).0, 401);
    let ended = within(Duration::from_secs(1), || {
        get(b.addr, "/api/v1/me", &token).0 == 401
    });
    assert!(
        ended.is_some(),
        "the session still works on the other replica after 1 s"
    );

    // An import through one replica changes the other's (cached) hotspot answer within a
    // second.
    let token = login(b.addr, "ana");
    assert_eq!(
        import(
            a.addr,
            &token,
            "first.csv",
            &police_uk(500, "c").into_bytes()
        )
        .0,
        201
    );
    let before = incidents_in_hotspots(b.addr, &token);
    assert_eq!(incidents_in_hotspots(b.addr, &token), before); // now cached
    assert_eq!(
        import(
            a.addr,
            &token,
            "second.csv",
            &police_uk(300, "d").into_bytes()
        )
        .0,
        201
    );
    let seen = within(Duration::from_secs(1), || {
        incidents_in_hotspots(b.addr, &token) != before
    });
    assert!(
        seen.is_some(),
        "the other replica still answered with the old data after 1 s"
    );
    assert_eq!(incidents_in_hotspots(b.addr, &token), before + 300);

    // Two imports at once, one through each replica: one after the other, both whole.
    let (first, second) = (
        police_uk(40_000, "e").into_bytes(),
        police_uk(40_000, "f").into_bytes(),
    );
    let (ta, tb) = (token.clone(), token.clone());
    let (addr_a, addr_b) = (a.addr, b.addr);
    let one = std::thread::spawn(move || import(addr_a, &ta, "e.csv", &first));
    let two = std::thread::spawn(move || import(addr_b, &tb, "f.csv", &second));
    let waited = match &db {
        // PostgreSQL shows the import that waits for its turn (the advisory lock).
        Location::Postgres(_) => {
            let conn = Conn::open(&db).unwrap();
            within(Duration::from_secs(60), || {
                conn.query_row(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
                    &[],
                    |r| r.get::<i64>(0),
                )
                .unwrap()
                    > 0
            })
            .is_some()
        }
        Location::Sqlite(_) => true, // one writer at a time is SQLite's own rule
    };
    let (one, two) = (one.join().unwrap(), two.join().unwrap());
    assert_eq!((one.0, two.0), (201, 201), "{one:?} {two:?}");
    assert_eq!(
        (one.1["added"].as_u64(), two.1["added"].as_u64()),
        (Some(40_000), Some(40_000))
    );
    assert!(waited, "no import was seen waiting for the other");
    assert_eq!(incidents_in_hotspots(b.addr, &token), before + 300 + 80_000);

    // The login rate limiter counts failures on every replica (PostgreSQL).
    if matches!(db, Location::Postgres(_)) {
        let wrong = br#"{"username": "ana", "password": "wrong wrong wrong"}"#;
        let statuses: Vec<u16> = (0..6)
            .map(|i| {
                let addr = if i % 2 == 0 { a.addr } else { b.addr };
                http(
                    addr,
                    "POST",
                    "/api/v1/auth/login",
                    None,
                    "application/json",
                    wrong,
                )
                .unwrap()
                .0
            })
            .collect();
        assert_eq!(statuses, [401, 401, 401, 401, 401, 429]);
    }
}
