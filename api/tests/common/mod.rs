//! The HTTP test harness shared by the API test files: a fresh database per test (an SQLite
//! file, or a new database on the PostgreSQL server named by `FIREFLY_TEST_POSTGRES`) with a
//! user of every role (the officer's unit is `LN-FF1`) and seeded incidents, premises and
//! training records; requests through `server::app` with `oneshot`.

#![allow(dead_code, clippy::unwrap_used)] // each test file uses part of it; a panic is the report

use api::app::import::{IncidentFormat, PremisesFormat};
use api::app::password;
use api::config::{Config, Overrides, ServerConfig};
use api::roles::Role;
use api::server::{self, AppState};
use api::storage::db::{Conn, testing};
use api::storage::{AuditEntry, Location, NewUser, Store};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use tower::ServiceExt;

pub mod cli;
pub mod serve;

pub const PASSWORD: &str = "correct horse battery staple";

/// A police.uk street CSV of `rows` generated crimes in Luton, ids `{prefix}0`, `{prefix}1`...
pub fn police_uk(rows: usize, prefix: &str) -> String {
    let mut s = String::from(
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context\n",
    );
    for n in 0..rows {
        s.push_str(&format!(
            "{prefix}{n},2023-05,B,B,-0.{:04},51.{:04},On or near X,E01015678,Luton 001A,Violence and sexual offences,,\n",
            4100 + n % 500,
            8700 + n % 300
        ));
    }
    s
}

pub fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// One test's server: a temporary database, users of every role, seeded data.
pub struct Env {
    pub dir: TempDir,
    pub config: Config,
    pub state: AppState,
    pub app: Router,
}

impl Env {
    pub fn db(&self) -> Location {
        self.config.db.clone()
    }

    /// A plain connection to the test's database, whichever it is.
    pub fn conn(&self) -> Conn {
        Conn::open(&self.db()).unwrap()
    }

    pub fn count(&self, table: &str) -> i64 {
        self.conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), &[], |r| r.get(0))
            .unwrap()
    }

    /// Marks the database as made by a newer Firefly (schema `version`).
    pub fn set_schema_version(&self, version: i64) {
        match self.db() {
            Location::Sqlite(path) => rusqlite::Connection::open(path)
                .unwrap()
                .pragma_update(None, "user_version", version)
                .unwrap(),
            Location::Postgres(_) => {
                self.conn()
                    .execute(
                        "INSERT INTO firefly_schema (version, applied_at) VALUES (?1, 'now')",
                        &[&version],
                    )
                    .unwrap();
            }
        }
    }

    /// Audit entries with this action.
    pub fn audited(&self, action: &str) -> i64 {
        self.conn()
            .query_row(
                "SELECT count(*) FROM audit WHERE action = ?1",
                &[&action],
                |r| r.get(0),
            )
            .unwrap()
    }

    /// Adds a user with the test password.
    pub fn add_user(&self, name: &str, role: Role, unit: Option<&str>) {
        let hash = password::hash(PASSWORD).unwrap();
        Store::open(self.db())
            .unwrap()
            .add_user(
                &NewUser {
                    name,
                    role,
                    unit,
                    password_hash: &hash,
                },
                &AuditEntry {
                    action: "user.create".into(),
                    ..Default::default()
                },
            )
            .unwrap();
    }

    /// Imports a force CSV of incidents written to the test's folder.
    pub fn import_incidents(&self, name: &str, csv: &str) {
        let path = self.dir.path().join(name);
        std::fs::write(&path, csv).unwrap();
        api::commands::import::incidents(&self.config, &[path], IncidentFormat::Csv, false)
            .map_err(|e| format!("{e:?}"))
            .unwrap();
    }
}

/// Incidents around Luton town centre on weekend nights of March 2024 (exact times), a
/// few burglaries (outside the night-time-economy set) and one month-only row elsewhere.
pub fn incidents_csv(prefix: &str, n: usize) -> String {
    let mut s = String::from("id,occurred_at,lat,lon,category\n");
    let hubs = [(51.8787, -0.4168), (51.8810, -0.4200), (51.8760, -0.4120)];
    for i in 0..n {
        let (lat, lon) = hubs[i % hubs.len()];
        let dlat = ((i * 37) % 11) as f64 * 0.0002 - 0.001;
        let dlon = ((i * 53) % 13) as f64 * 0.0002 - 0.0012;
        // Fridays and Saturdays of March 2024 (1, 2, 8, 9, 15, 16, 22, 23), 22:00 to 23:59.
        let day = [1, 2, 8, 9, 15, 16, 22, 23][i % 8];
        let category = match i % 10 {
            0..=5 => "violence",
            6..=8 => "public_order",
            _ => "burglary",
        };
        s.push_str(&format!(
            "{prefix}{i},2024-03-{day:02}T{:02}:{:02}:00+00:00,{:.6},{:.6},{category}\n",
            22 + i % 2,
            (i * 7) % 60,
            lat + dlat,
            lon + dlon
        ));
    }
    s.push_str(&format!("{prefix}m,2024-02,52.1360,-0.4670,violence\n"));
    s
}

/// Where a test's database goes: a new database on the test PostgreSQL server when there
/// is one, else `firefly.db` in the test's folder.
pub fn test_location(dir: &Path) -> Location {
    match testing::server() {
        Some(server) => Location::Postgres(testing::fresh_database(&server).unwrap()),
        None => Location::Sqlite(dir.join("firefly.db")),
    }
}

pub fn env() -> Env {
    env_with(ServerConfig::default())
}

/// [`env`] with other server settings (login limits, Secure cookies, ...).
pub fn env_with(server: ServerConfig) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::load(
        None,
        Overrides {
            db: Some(test_location(dir.path())),
            tz: Some("Europe/London".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let state = AppState::new(config.clone(), server).unwrap();
    let app = server::app(state.clone());
    let env = Env {
        dir,
        config,
        state,
        app,
    };
    for role in Role::ALL {
        let unit = (role == Role::Officer).then_some("LN-FF1");
        env.add_user(role.as_str(), role, unit);
    }
    env.import_incidents("incidents.csv", &incidents_csv("luton-", 120));
    api::commands::import::premises_cmd(
        &env.config,
        &[repo("data/premises/bedfordshire_pubs_osm_2022-01.geojson")],
        PremisesFormat::Auto,
        false,
    )
    .map_err(|e| format!("{e:?}"))
    .unwrap();
    api::commands::import::training_cmd(
        &env.config,
        &repo("data/demo/training_fictional.csv"),
        true,
        false,
    )
    .map_err(|e| format!("{e:?}"))
    .unwrap();
    env
}

/// An answer: status, headers, body.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    pub fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }

    pub fn content_type(&self) -> &str {
        self.header(header::CONTENT_TYPE)
    }

    /// Asserts this status, showing the body when it is not.
    pub fn expect(&self, status: StatusCode) -> &Self {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// Asserts an RFC 9457 body with this status.
    pub fn assert_problem(&self, status: StatusCode) -> Value {
        self.expect(status);
        assert_eq!(self.content_type(), "application/problem+json");
        let p = self.json();
        assert_eq!(p["status"], status.as_u16());
        assert_eq!(p["type"], "about:blank");
        assert!(p["title"].is_string());
        assert!(!p["detail"].as_str().unwrap().is_empty());
        p
    }
}

impl Answer {
    /// The body decoded from its `Content-Encoding` (none, gzip or brotli).
    pub fn decoded(&self) -> Vec<u8> {
        use std::io::Read;
        let mut out = Vec::new();
        match self.header(header::CONTENT_ENCODING) {
            "" => out.clone_from(&self.body),
            "gzip" => {
                flate2::read::GzDecoder::new(&self.body[..])
                    .read_to_end(&mut out)
                    .unwrap();
            }
            "br" => {
                brotli::Decompressor::new(&self.body[..], 4096)
                    .read_to_end(&mut out)
                    .unwrap();
            }
            other => panic!("unexpected content-encoding {other}"),
        }
        out
    }
}

/// How a request proves who it is.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    Cookie(&'a str),
}

/// Sends a request with its credentials and a JSON body (sent as given, so that malformed
/// bodies can be tested).
pub async fn call_as(
    app: &Router,
    method: &str,
    uri: &str,
    auth: Auth<'_>,
    body: Option<&str>,
) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    match auth {
        Auth::None => {}
        Auth::Bearer(t) => req = req.header(header::AUTHORIZATION, format!("Bearer {t}")),
        // What the browser sends from the UI's own pages: the cookie, and (on every
        // request) `Sec-Fetch-Site: same-origin`.
        Auth::Cookie(t) => {
            req = req
                .header(
                    header::COOKIE,
                    format!("theme=dark; __Host-firefly_session={t}"),
                )
                .header("sec-fetch-site", "same-origin")
        }
    }
    let body = match body {
        Some(b) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    send(app, req.body(body).unwrap()).await
}

/// Sends a request as it is.
pub async fn send(app: &Router, req: Request<Body>) -> Answer {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

/// [`call_as`] with an optional bearer token.
pub async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Answer {
    let auth = token.map_or(Auth::None, Auth::Bearer);
    call_as(app, method, uri, auth, body).await
}

/// `GET uri`, with a bearer token if given and this `Accept-Encoding` if given.
pub async fn get_accepting(
    app: &Router,
    uri: &str,
    token: Option<&str>,
    accept_encoding: Option<&str>,
) -> Answer {
    let mut req = Request::get(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if let Some(accept) = accept_encoding {
        req = req.header(header::ACCEPT_ENCODING, accept);
    }
    send(app, req.body(Body::empty()).unwrap()).await
}

pub async fn get(app: &Router, uri: &str, token: &str) -> Answer {
    call(app, "GET", uri, Some(token), None).await
}

pub async fn post(app: &Router, uri: &str, token: &str, body: &Value) -> Answer {
    call(app, "POST", uri, Some(token), Some(&body.to_string())).await
}

pub async fn login(app: &Router, user: &str) -> String {
    let a = call(
        app,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&json!({"username": user, "password": PASSWORD}).to_string()),
    )
    .await;
    a.expect(StatusCode::OK);
    a.json()["token"].as_str().unwrap().to_string()
}
