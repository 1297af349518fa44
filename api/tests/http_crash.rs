//! Crash safety of an HTTP import: the real `firefly serve` binary on a loopback port,
//! a large police.uk file posted to `/api/v1/imports/incidents`, and the server killed
//! with SIGKILL part-way (at several delays). After a restart the database must pass
//! `PRAGMA integrity_check` and hold none of the rows or all of them, and the imports log
//! and the audit log must agree with it: the import, its log row and its audit entry are
//! one transaction.

#![cfg(unix)]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct horse battery staple";
const ROWS: usize = 200_000;

/// A running `firefly serve`, killed (SIGKILL) when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts the server on a free loopback port (`--addr 127.0.0.1:0`) and reads the
    /// address it prints.
    fn start(dir: &Path, db: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_firefly"))
            .current_dir(dir)
            .arg("--db")
            .arg(db)
            .args(["serve", "--addr", "127.0.0.1:0"])
            .env_remove("FIREFLY_CONFIG")
            .env_remove("FIREFLY_ADDR")
            .env("FIREFLY_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        // "Firefly API on http://127.0.0.1:PORT (database ...)"
        let addr = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line: {first}"))
            .parse::<SocketAddr>()
            .unwrap();
        assert!(addr.ip().is_loopback());
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, addr }
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One HTTP/1.1 request with `Connection: close`; the status and body of the answer, or
/// `None` when the connection broke (the server was killed).
fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> Option<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(60))).ok()?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body).ok()?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).ok()?;
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let status = std::str::from_utf8(&answer[..split])
        .ok()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((status, answer[split + 4..].to_vec()))
}

fn login(addr: SocketAddr) -> String {
    let body = format!(r#"{{"username": "ana", "password": "{PASSWORD}"}}"#);
    let (status, body) = http(
        addr,
        "POST",
        "/api/v1/auth/login",
        None,
        "application/json",
        body.as_bytes(),
    )
    .unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    v["token"].as_str().unwrap().to_string()
}

fn police_uk(rows: usize) -> Vec<u8> {
    let mut s = String::from(
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context\n",
    );
    for n in 0..rows {
        s.push_str(&format!(
            "c{n},2023-05,B,B,-0.{:04},51.{:04},On or near X,E01015678,Luton 001A,Violence and sexual offences,,\n",
            4100 + n % 500,
            8700 + n % 300
        ));
    }
    s.into_bytes()
}

/// A fresh database with one planner, made by the CLI.
fn fresh_db(dir: &Path) -> std::path::PathBuf {
    let db = dir.join("firefly.db");
    let mut add = Command::new(env!("CARGO_BIN_EXE_firefly"))
        .current_dir(dir)
        .arg("--db")
        .arg(&db)
        .args([
            "users",
            "add",
            "ana",
            "--role",
            "planner",
            "--password-stdin",
        ])
        .env_remove("FIREFLY_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(format!("{PASSWORD}\n").as_bytes())
        .unwrap();
    let out = add.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}

/// What the database holds after a crash: (integrity, incidents, imports, their summed
/// `added`, import audit entries).
fn inspect(db: &Path) -> (String, i64, i64, i64, i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let one = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
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
    let token = login(addr);
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
    let file = police_uk(ROWS);
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
