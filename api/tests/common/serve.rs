//! Real `firefly serve` processes on loopback ports, for the tests that kill a server or
//! run two replicas on one database: start, plain HTTP/1.1 requests, a planner's login.

use super::PASSWORD;
use super::cli::{firefly_in, with_stdin};
use api::storage::Location;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

/// A running `firefly serve`, killed (SIGKILL) when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
}

impl Server {
    /// Starts the server on a free loopback port (`--addr 127.0.0.1:0`) and reads the
    /// address it prints.
    pub fn start(dir: &Path, db: &Location) -> Server {
        let mut child = firefly_in(dir, db.config_text(), &["serve", "--addr", "127.0.0.1:0"])
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

    pub fn kill(&mut self) {
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
pub fn http(
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

/// Logs `user` in; the bearer token.
pub fn login(addr: SocketAddr, user: &str) -> String {
    let body = format!(r#"{{"username": "{user}", "password": "{PASSWORD}"}}"#);
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

/// A fresh database (SQLite in `dir`, or on the test PostgreSQL server) with one planner,
/// `ana`, made by the CLI.
pub fn fresh_db(dir: &Path) -> Location {
    let db = super::test_location(dir);
    let add = [
        "users",
        "add",
        "ana",
        "--role",
        "planner",
        "--password-stdin",
    ];
    let out = with_stdin(
        firefly_in(dir, db.config_text(), &add),
        &format!("{PASSWORD}\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db
}
