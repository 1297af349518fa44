//! The imports, premises-editing and training endpoints through `server::app` with
//! `oneshot`, each on a fresh SQLite file: HTTP imports against the CLI's, the
//! all-or-nothing rule, idempotency and the hotspot cache, the body limits, premises
//! created and patched with their history, training records and their audit, and the
//! before/after training figures against a hand computation.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;

use api::app::password;
use api::config::{Config, Overrides, ServerConfig};
use api::roles::Role;
use api::server::{self, AppState};
use api::storage::db::Conn;
use api::storage::{AuditEntry, Location, NewUser, Store};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use tempfile::TempDir;
use tower::ServiceExt;

const PASSWORD: &str = "correct horse battery staple";

const POLICE_UK_HEADER: &str = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context\n";

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// A fresh database with one user per role (named after the role) and nothing else.
struct Env {
    dir: TempDir,
    config: Config,
    app: Router,
}

impl Env {
    fn new(server: ServerConfig) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load(
            None,
            Overrides {
                db: Some(common::test_location(dir.path())),
                tz: Some("Europe/London".into()),
                ..Default::default()
            },
        )
        .unwrap();
        let state = AppState::new(config.clone(), server).unwrap();
        let mut store = Store::open(&config.db).unwrap();
        let hash = password::hash(PASSWORD).unwrap();
        for role in Role::ALL {
            store
                .add_user(
                    &NewUser {
                        name: role.as_str(),
                        role,
                        unit: (role == Role::Officer).then_some("LN-FF1"),
                        password_hash: &hash,
                    },
                    &AuditEntry {
                        action: "user.create".into(),
                        ..Default::default()
                    },
                )
                .unwrap();
        }
        Env {
            dir,
            config,
            app: server::app(state),
        }
    }

    fn conn(&self) -> Conn {
        Conn::open(&self.config.db).unwrap()
    }

    fn count(&self, table: &str) -> i64 {
        self.conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), &[], |r| r.get(0))
            .unwrap()
    }

    fn actions(&self, action: &str) -> Vec<(String, Value)> {
        self.conn()
            .query_map(
                "SELECT actor, detail FROM audit WHERE action = ?1 ORDER BY id",
                &[&action],
                |r| {
                    let detail: Option<String> = r.get(1)?;
                    Ok((
                        r.get::<Option<String>>(0)?.unwrap_or_default(),
                        detail.map_or(Value::Null, |d| serde_json::from_str(&d).unwrap()),
                    ))
                },
            )
            .unwrap()
    }

    async fn login(&self, user: &str) -> String {
        let a = self
            .call(
                "POST",
                "/api/v1/auth/login",
                None,
                Some(json!({"username": user, "password": PASSWORD})),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        a.json()["token"].as_str().unwrap().to_string()
    }

    async fn send(&self, req: Request<Body>) -> Answer {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes().to_vec();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// A JSON request (or none).
    async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        self.send(req.body(body).unwrap()).await
    }

    /// A file posted as the body, with a content type.
    async fn post_file(
        &self,
        uri: &str,
        token: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Answer {
        let req = Request::post(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(bytes))
            .unwrap();
        self.send(req).await
    }
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    fn expect(&self, status: StatusCode) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        self.json()
    }

    /// Asserts an RFC 9457 body with this status.
    fn problem(&self, status: StatusCode) -> Value {
        let p = self.expect(status);
        assert_eq!(
            self.headers[header::CONTENT_TYPE],
            "application/problem+json"
        );
        assert_eq!(p["status"], status.as_u16());
        assert!(!p["detail"].as_str().unwrap().is_empty());
        p
    }
}

/// `rows` valid police.uk rows, with an invalid latitude at `bad_line` (0: none).
fn police_uk(rows: usize, bad_line: usize, prefix: &str) -> String {
    let mut s = String::from(POLICE_UK_HEADER);
    for n in 2..rows + 2 {
        let lat = if n == bad_line {
            "95.1".to_string()
        } else {
            format!("51.{:04}", 8700 + n % 200)
        };
        s.push_str(&format!(
            "{prefix}{n},2023-05,B,B,-0.41{:02},{lat},On or near X,,,Public order,,\n",
            n % 100
        ));
    }
    s
}

/// Every stored incident, in a form two databases can be compared in.
/// Every stored incident's columns, as text, in import order (SQLite or PostgreSQL alike).
fn incident_rows(db: &Location) -> Vec<Vec<String>> {
    Conn::open(db)
        .unwrap()
        .query_map(
            "SELECT source_id, source, occurred_utc, occurred_month, lon, lat, category,
                    category_raw, location, area_code, area_name FROM incidents ORDER BY id",
            &[],
            |r| {
                (0..11)
                    .map(|i| Ok(format!("{:?}", r.get_ref(i)?)))
                    .collect()
            },
        )
        .unwrap()
}

#[tokio::test]
async fn a_police_uk_month_over_http_stores_the_same_rows_as_the_cli() {
    let env = Env::new(ServerConfig::default());
    let planner = env.login("planner").await;
    let file = repo("data/police-uk/bedfordshire/street/2023-05-bedfordshire-street.csv");
    let bytes = std::fs::read(&file).unwrap();
    let a = env
        .post_file(
            "/api/v1/imports/incidents?filename=2023-05-bedfordshire-street.csv",
            &planner,
            "text/csv",
            bytes.clone(),
        )
        .await;
    let r = a.expect(StatusCode::CREATED);
    // The CLI's figures for this month (cli.rs: 5,354 rows, 284 without a location).
    assert_eq!(r["rows_read"], 5_354);
    assert_eq!(r["added"], 5_354 - 284);
    assert_eq!(r["already_present"], 0);
    assert_eq!(r["rejected"], 0);
    assert_eq!(r["format"], "police-uk");
    assert_eq!(r["file"], "2023-05-bedfordshire-street.csv");
    let skipped: u64 = r["skipped"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(skipped, 284);

    // The CLI into another database: the very same rows.
    let cli_db = env.dir.path().join("cli.db");
    let cli_config = Config::load(
        None,
        Overrides {
            db: Some(Location::Sqlite(cli_db.clone())),
            tz: Some("Europe/London".into()),
            ..Default::default()
        },
    )
    .unwrap();
    api::commands::import::incidents(
        &cli_config,
        &[file],
        api::app::import::IncidentFormat::Auto,
        false,
    )
    .map_err(|e| format!("{e:?}"))
    .unwrap();
    let ours = incident_rows(&env.config.db);
    assert_eq!(ours.len(), 5_354 - 284);
    assert_eq!(ours, incident_rows(&Location::Sqlite(cli_db)));

    // The imports log names the user; the audit entry was written with the import.
    let (actor, format): (String, String) = env
        .conn()
        .query_row("SELECT actor, format FROM imports", &[], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((actor.as_str(), format.as_str()), ("planner", "police-uk"));
    let audit = env.actions("import.incidents");
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].0, "planner");
    assert_eq!(audit[0].1["import_id"], r["import_id"]);
    assert_eq!(audit[0].1["added"], 5_354 - 284);
    assert_eq!(audit[0].1["file"], "2023-05-bedfordshire-street.csv");

    // The same file gzip-compressed (the CLI's `.gz`) adds nothing more: idempotent.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&bytes).unwrap();
    let a = env
        .post_file(
            "/api/v1/imports/incidents",
            &planner,
            "application/octet-stream",
            gz.finish().unwrap(),
        )
        .await;
    let r = a.expect(StatusCode::OK);
    assert_eq!(
        (r["added"].as_u64(), r["already_present"].as_u64()),
        (Some(0), Some(5_070))
    );
    assert_eq!(env.count("incidents"), 5_070);
}

#[tokio::test]
async fn a_bad_row_is_422_with_its_line_and_nothing_is_written() {
    let env = Env::new(ServerConfig::default());
    let planner = env.login("planner").await;
    let before = (
        env.count("incidents"),
        env.count("imports"),
        env.count("audit"),
    );
    let a = env
        .post_file(
            "/api/v1/imports/incidents?filename=bad.csv",
            &planner,
            "text/csv",
            police_uk(3_000, 2_345, "b").into_bytes(),
        )
        .await;
    let p = a.problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors_total"], 1);
    let e = &p["errors"][0];
    assert_eq!(
        (&e["file"], &e["line"], &e["field"]),
        (&json!("bad.csv"), &json!(2345), &json!("Latitude"))
    );
    assert!(
        e["reason"]
            .as_str()
            .unwrap()
            .starts_with("latitude 95.1 out of range -90..90"),
        "{e}"
    );
    assert!(
        p["detail"].as_str().unwrap().contains("skip_invalid"),
        "{p}"
    );
    assert_eq!(
        (
            env.count("incidents"),
            env.count("imports"),
            env.count("audit")
        ),
        before,
        "nothing written, not even the audit entry"
    );

    // With skip_invalid the other rows land and the bad one is reported.
    let a = env
        .post_file(
            "/api/v1/imports/incidents?filename=bad.csv&skip_invalid=true",
            &planner,
            "text/csv",
            police_uk(3_000, 2_345, "b").into_bytes(),
        )
        .await;
    let r = a.expect(StatusCode::CREATED);
    assert_eq!(
        (r["added"].as_u64(), r["rejected"].as_u64()),
        (Some(2_999), Some(1))
    );
    assert_eq!(r["errors"][0]["line"], 2345);

    // Many bad rows: the first 1,000 are listed, all are counted.
    let mut many = String::from(POLICE_UK_HEADER);
    for n in 0..1_500 {
        many.push_str(&format!(
            "m{n},2023-13,B,B,-0.41,51.88,X,,,Public order,,\n"
        ));
    }
    let p = env
        .post_file(
            "/api/v1/imports/incidents",
            &planner,
            "text/csv",
            many.into_bytes(),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors_total"], 1_500);
    assert_eq!(p["errors"].as_array().unwrap().len(), 1_000);
    assert_eq!(p["errors"][0]["file"], "request body");
    assert_eq!(p["errors"][0]["field"], "Month");

    // Bad options are named; forms and unknown parameters are refused.
    let p = env
        .post_file(
            "/api/v1/imports/incidents?format=excel",
            &planner,
            "text/csv",
            vec![],
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p["detail"].as_str().unwrap().contains("police-uk"), "{p}");
    env.post_file(
        "/api/v1/imports/incidents",
        &planner,
        "multipart/form-data; boundary=x",
        b"--x".to_vec(),
    )
    .await
    .problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    env.post_file(
        "/api/v1/imports/incidents?colour=red",
        &planner,
        "text/csv",
        vec![],
    )
    .await
    .problem(StatusCode::BAD_REQUEST);
    assert_eq!(env.count("incidents"), 2_999);
}

#[tokio::test]
async fn reimports_add_nothing_and_empty_the_hotspot_cache() {
    let env = Env::new(ServerConfig::default());
    let planner = env.login("planner").await;
    let csv = police_uk(400, 0, "r").into_bytes();
    let first = env
        .post_file(
            "/api/v1/imports/incidents",
            &planner,
            "text/csv",
            csv.clone(),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(first["added"], 400);
    // Without the validation block: a viewport's block is computed in the background, and
    // the answer after it lands is a new one (http_validation.rs); here only imports move.
    let hotspots =
        "/api/v1/hotspots?method=count&cell=200&bbox=-0.43,51.86,-0.40,51.90&validation=false";
    let cache = |a: &Answer| a.headers["x-firefly-cache"].to_str().unwrap().to_string();
    let a = env.call("GET", hotspots, Some(&planner), None).await;
    assert_eq!((a.status, cache(&a).as_str()), (StatusCode::OK, "miss"));
    let a = env.call("GET", hotspots, Some(&planner), None).await;
    assert_eq!(cache(&a), "hit");
    let again = env
        .post_file("/api/v1/imports/incidents", &planner, "text/csv", csv)
        .await
        .expect(StatusCode::OK);
    assert_eq!(
        (again["added"].as_u64(), again["already_present"].as_u64()),
        (Some(0), Some(400))
    );
    assert!(again["import_id"].as_i64() > first["import_id"].as_i64());
    let ready = env.call("GET", "/readyz", None, None).await.json();
    assert_eq!(ready["data_version"], again["import_id"]);
    let a = env.call("GET", hotspots, Some(&planner), None).await;
    assert_eq!(cache(&a), "miss", "the import moved the data version");
    assert_eq!(env.count("incidents"), 400);
    assert_eq!(env.count("imports"), 2);
}

#[tokio::test]
async fn premises_and_training_files_import_for_liaison_officers() {
    let env = Env::new(ServerConfig::default());
    let liaison = env.login("liaison").await;
    let planner = env.login("planner").await;
    let pubs = std::fs::read(repo("data/premises/bedfordshire_pubs_osm_2022-01.geojson")).unwrap();
    env.post_file(
        "/api/v1/imports/premises",
        &planner,
        "application/geo+json",
        pubs.clone(),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    let r = env
        .post_file(
            "/api/v1/imports/premises?filename=pubs.geojson",
            &liaison,
            "application/geo+json",
            pubs.clone(),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(
        (r["rows_read"].as_u64(), r["added"].as_u64()),
        (Some(235), Some(235))
    );
    assert_eq!(r["format"], "osm-geojson");
    let r = env
        .post_file(
            "/api/v1/imports/premises",
            &liaison,
            "application/geo+json",
            pubs,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(r["already_present"], 235);
    assert_eq!(
        env.count("premises_history"),
        0,
        "the same values: no history"
    );

    // Training: a record for a stored pub, then one naming an unknown pub (nothing lands).
    let header = "premises_id,date,course,staff_trained,trainer,notes\n";
    let good = format!("{header}osm:node/21992993,14/03/2023,Ask for Angela,6,Licensing team,\n");
    let r = env
        .post_file(
            "/api/v1/imports/training?fictional=true&filename=t.csv",
            &liaison,
            "text/csv",
            good.clone().into_bytes(),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(
        (r["added"].as_u64(), r["fictional"].as_bool()),
        (Some(1), Some(true))
    );
    let fictional: bool = env
        .conn()
        .query_row("SELECT fictional FROM training_records", &[], |r| r.get(0))
        .unwrap();
    assert!(fictional);
    let bad = format!("{good}osm:node/1,2023-03-15,Ask for Angela,2,PC 1,\n");
    let p = env
        .post_file(
            "/api/v1/imports/training?filename=t.csv",
            &liaison,
            "text/csv",
            bad.into_bytes(),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors"][0]["line"], 3);
    assert_eq!(p["errors"][0]["field"], "premises_id");
    // A date in the future is invalid, as in the CLI.
    let future = format!("{header}osm:node/21992993,2999-01-01,Ask for Angela,2,PC 1,\n");
    let p = env
        .post_file(
            "/api/v1/imports/training",
            &liaison,
            "text/csv",
            future.into_bytes(),
        )
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(p["errors"][0]["field"], "date");
    env.post_file(
        "/api/v1/imports/training",
        &liaison,
        "application/json",
        b"[]".to_vec(),
    )
    .await
    .problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(env.count("training_records"), 1);
    let audit = env.actions("import.training");
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].0.as_str(), &audit[0].1["fictional"]),
        ("liaison", &json!(true))
    );
    // Incidents are the planner's: a liaison officer may not import them.
    env.post_file(
        "/api/v1/imports/incidents",
        &liaison,
        "text/csv",
        police_uk(2, 0, "x").into_bytes(),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn imports_may_be_larger_than_other_bodies_up_to_their_own_limit() {
    let env = Env::new(ServerConfig {
        import_body_limit: 2 << 20,
        ..ServerConfig::default()
    });
    let planner = env.login("planner").await;
    let liaison = env.login("liaison").await;
    // Over the 1 MiB of other routes, under the 2 MiB of imports.
    let mid = police_uk(19_000, 0, "mid-");
    assert!((1 << 20..2 << 20).contains(&mid.len()), "{}", mid.len());
    let r = env
        .post_file(
            "/api/v1/imports/incidents",
            &planner,
            "text/csv",
            mid.clone().into_bytes(),
        )
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(r["added"], 19_000);
    let name = "x".repeat(mid.len());
    env.call(
        "POST",
        "/api/v1/premises",
        Some(&liaison),
        Some(json!({"name": name, "kind": "pub", "lon": -0.41, "lat": 51.88})),
    )
    .await
    .problem(StatusCode::PAYLOAD_TOO_LARGE);
    // Over 2 MiB: 413, whether Content-Length says so or not, and nothing is written.
    let big = police_uk(40_000, 0, "big-").into_bytes();
    assert!(big.len() > 2 << 20);
    let imports = env.count("imports");
    let p = env
        .post_file(
            "/api/v1/imports/incidents",
            &planner,
            "text/csv",
            big.clone(),
        )
        .await
        .problem(StatusCode::PAYLOAD_TOO_LARGE);
    assert!(p["detail"].as_str().unwrap().contains("2 MiB"), "{p}");
    let req = Request::post("/api/v1/imports/incidents")
        .header(header::AUTHORIZATION, format!("Bearer {planner}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .header(header::CONTENT_LENGTH, big.len())
        .body(Body::from(big))
        .unwrap();
    env.send(req).await.problem(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        (env.count("imports"), env.count("incidents")),
        (imports, 19_000)
    );
}

#[tokio::test]
async fn premises_are_created_and_patched_with_their_history() {
    let env = Env::new(ServerConfig::default());
    let liaison = env.login("liaison").await;
    let planner = env.login("planner").await;
    let body = json!({
        "name": " The Hat Factory Bar ", "kind": "bar", "lon": -0.4168, "lat": 51.8787,
        "address": "65 Bute St", "postcode": "LU1 2EY", "district": "Luton",
        "closing": [null, null, null, "23:30", "02:00", "02:00", null], "safe_space": true,
    });
    env.call(
        "POST",
        "/api/v1/premises",
        Some(&planner),
        Some(body.clone()),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    let version = env.call("GET", "/readyz", None, None).await.json()["data_version"].clone();
    let a = env
        .call(
            "POST",
            "/api/v1/premises",
            Some(&liaison),
            Some(body.clone()),
        )
        .await;
    let f = a.expect(StatusCode::CREATED);
    let id = f["id"].as_i64().unwrap();
    assert_eq!(
        a.headers[header::LOCATION],
        format!("/api/v1/premises/{id}")
    );
    let props = &f["properties"];
    let source_id = props["source_id"].as_str().unwrap().to_string();
    assert!(
        source_id.starts_with("manual:") && source_id.len() == 7 + 36,
        "{source_id}"
    );
    assert_eq!(props["name"], "The Hat Factory Bar");
    assert_eq!(props["kind"], "bar");
    assert_eq!(props["closing"][4], "02:00:00");
    assert_eq!(props["training_status"], "never_trained");
    let moved = env.call("GET", "/readyz", None, None).await.json()["data_version"].clone();
    assert_ne!(
        moved, version,
        "zones are named after venues: the data version moves"
    );

    // Validation errors name the field; nothing is written.
    let premises = env.count("premises");
    for (change, field) in [
        (json!({"lat": 95.0}), "lat:"),
        (json!({"kind": "castle"}), "kind:"),
        (json!({"name": "  "}), "name:"),
        (json!({"closing": ["02:00"]}), "closing:"),
        (
            json!({"closing": [null, null, null, null, "2am", null, null]}),
            "closing[4]:",
        ),
        (json!({"lon": 0.0, "lat": 0.0}), "lon:"),
    ] {
        let mut bad = body.clone();
        for (k, v) in change.as_object().unwrap() {
            bad[k] = v.clone();
        }
        let p = env
            .call("POST", "/api/v1/premises", Some(&liaison), Some(bad))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            p["detail"].as_str().unwrap().starts_with(field),
            "{field}: {p}"
        );
    }
    let mut missing = body.clone();
    missing.as_object_mut().unwrap().remove("lon");
    let p = env
        .call("POST", "/api/v1/premises", Some(&liaison), Some(missing))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p["detail"].as_str().unwrap().contains("lon"), "{p}");
    assert_eq!(env.count("premises"), premises);

    // A patch: rename, clear the address, move; by source id (percent-encoded).
    let path = format!("/api/v1/premises/{}", source_id.replace(':', "%3A"));
    let a = env
        .call(
            "PATCH",
            &path,
            Some(&liaison),
            Some(json!({"name": "Hat Factory", "address": null, "lon": -0.4170, "lat": 51.8790})),
        )
        .await;
    let f = a.expect(StatusCode::OK);
    assert_eq!(f["properties"]["name"], "Hat Factory");
    assert_eq!(f["properties"]["address"], Value::Null);
    assert_eq!(f["properties"]["postcode"], "LU1 2EY", "untouched");
    let changed: Vec<&str> = f["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["name", "address", "lon", "lat"]);
    // The same patch again: no change, no history row, still audited.
    let f = env
        .call(
            "PATCH",
            &format!("/api/v1/premises/{id}"),
            Some(&liaison),
            Some(json!({"name": "Hat Factory"})),
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(f["changes"], json!([]));
    let history: Vec<(String, String, Option<String>, Option<String>)> = {
        env.conn()
            .query_map(
                "SELECT actor, field, old_value, new_value FROM premises_history
                 WHERE premises_id = ?1 ORDER BY id",
                &[&id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap()
    };
    let fields: Vec<&str> = history.iter().map(|h| h.1.as_str()).collect();
    assert_eq!(fields, ["created", "name", "address", "lon", "lat"]);
    assert!(history.iter().all(|h| h.0 == "liaison"));
    assert_eq!(
        (history[1].2.as_deref(), history[1].3.as_deref()),
        (Some("\"The Hat Factory Bar\""), Some("\"Hat Factory\""))
    );
    assert_eq!(history[2].3.as_deref(), Some("null"));
    let updates = env.actions("premises.update");
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0].1["changes"].as_array().unwrap().len(), 4);
    assert_eq!(env.actions("premises.create").len(), 1);
    // The history refuses to be rewritten.
    assert!(
        env.conn()
            .execute("UPDATE premises_history SET actor = 'x'", &[])
            .is_err()
    );

    // Errors: unknown id, nothing to change, half a position, another role.
    env.call(
        "PATCH",
        "/api/v1/premises/99999",
        Some(&liaison),
        Some(json!({"safe_space": false})),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
    env.call("PATCH", &path, Some(&liaison), Some(json!({})))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    let p = env
        .call("PATCH", &path, Some(&liaison), Some(json!({"lon": -0.41})))
        .await
        .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p["detail"].as_str().unwrap().starts_with("lon, lat"), "{p}");
    env.call(
        "PATCH",
        &path,
        Some(&planner),
        Some(json!({"safe_space": false})),
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    env.call(
        "PATCH",
        &path,
        Some(&liaison),
        Some(json!({"colour": "red"})),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY);
    // Everyone who may see premises sees the change.
    let officer = env.login("officer").await;
    let f = env
        .call(
            "GET",
            &format!("/api/v1/premises/{id}"),
            Some(&officer),
            None,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(f["geometry"]["coordinates"], json!([-0.417, 51.879]));
}

#[tokio::test]
async fn training_added_then_listed_and_both_are_audited() {
    let env = Env::new(ServerConfig::default());
    let liaison = env.login("liaison").await;
    let f = env
        .call(
            "POST",
            "/api/v1/premises",
            Some(&liaison),
            Some(json!({"name": "The Bell", "kind": "pub", "lon": -0.41, "lat": 51.88})),
        )
        .await
        .expect(StatusCode::CREATED);
    let id = f["id"].as_i64().unwrap();
    let uri = format!("/api/v1/premises/{id}/training");
    let record = json!({"date": "14/03/2025", "course": "Ask for Angela", "staff_trained": 6,
                        "trainer": "PC 1234 Smith", "notes": "whole bar team"});
    let r = env
        .call("POST", &uri, Some(&liaison), Some(record.clone()))
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(r["date"], "2025-03-14");
    assert_eq!(
        (r["created_by"].as_str(), r["source"].as_str()),
        (Some("liaison"), Some("api"))
    );
    assert_eq!(r["fictional"], false);
    // The same record again is stored once.
    let again = env
        .call("POST", &uri, Some(&liaison), Some(record))
        .await
        .expect(StatusCode::OK);
    assert_eq!(again["id"], r["id"]);
    // Invalid fields are named.
    for (body, field) in [
        (
            json!({"date": "2999-01-01", "course": "A", "staff_trained": 1}),
            "date:",
        ),
        (
            json!({"date": "03/14/2025", "course": "A", "staff_trained": 1}),
            "date:",
        ),
        (
            json!({"date": "2025-01-01", "course": " ", "staff_trained": 1}),
            "course:",
        ),
        (
            json!({"date": "2025-01-01", "course": "A", "staff_trained": -2}),
            "staff_trained:",
        ),
    ] {
        let p = env
            .call("POST", &uri, Some(&liaison), Some(body))
            .await
            .problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            p["detail"].as_str().unwrap().starts_with(field),
            "{field}: {p}"
        );
    }
    env.call(
        "POST",
        "/api/v1/premises/99999/training",
        Some(&liaison),
        Some(json!({"date": "2025-01-01", "course": "A", "staff_trained": 1})),
    )
    .await
    .problem(StatusCode::NOT_FOUND);

    let list = env
        .call("GET", &uri, Some(&liaison), None)
        .await
        .expect(StatusCode::OK);
    assert_eq!(list["premises"]["id"], id);
    assert_eq!(list["last_trained"], "2025-03-14");
    assert_eq!(list["refresher_due"], "2026-03-14");
    assert_eq!(list["fictional"], false);
    let records = list["records"].as_array().unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["trainer"], "PC 1234 Smith");
    assert_eq!(records[0]["created_by"], "liaison");
    assert!(records[0]["created_at"].as_str().unwrap().ends_with('Z'));
    // Planners and officers see the status in /premises, not the records (trainers' names).
    for role in ["planner", "officer"] {
        let token = env.login(role).await;
        env.call("GET", &uri, Some(&token), None)
            .await
            .problem(StatusCode::FORBIDDEN);
    }
    // Both writes (one added, one already present) and the read are in the audit log.
    let created = env.actions("training.create");
    let outcomes: Vec<&str> = created
        .iter()
        .map(|(_, d)| d["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["added", "already_present"]);
    let reads = env.actions("training.read");
    assert_eq!(reads.len(), 1);
    assert_eq!(
        (reads[0].0.as_str(), &reads[0].1["records"]),
        ("liaison", &json!(1))
    );
}

/// Force CSV rows at `(lat, lon)` on the given UTC dates at 21:00.
fn rows_at(prefix: &str, lat: f64, lon: f64, dates: &[&str]) -> String {
    dates
        .iter()
        .enumerate()
        .map(|(i, d)| format!("{prefix}{i},{d}T21:00:00+00:00,{lat:.6},{lon:.6},violence\n"))
        .collect()
}

#[tokio::test]
async fn impact_figures_match_a_hand_computation() {
    let env = Env::new(ServerConfig::default());
    let liaison = env.login("liaison").await;
    let planner = env.login("planner").await;
    let create = |name: &str, lon: f64, lat: f64, district: &str| json!({"name": name, "kind": "pub", "lon": lon, "lat": lat, "district": district});
    let mut ids = Vec::new();
    for body in [
        create("Trained Arms", -0.4168, 51.8787, "Luton"),
        // 480 m east: untrained, same district.
        create("Untrained Inn", -0.4098, 51.8787, "Luton"),
        // Bedford: untrained, another district.
        create("Far Tavern", -0.4670, 52.1360, "Bedford"),
    ] {
        let f = env
            .call("POST", "/api/v1/premises", Some(&liaison), Some(body))
            .await
            .expect(StatusCode::CREATED);
        ids.push(f["id"].as_i64().unwrap());
    }
    // Never trained yet: a clear answer, no figures.
    let r = env
        .call(
            "GET",
            &format!("/api/v1/premises/{}/impact", ids[0]),
            Some(&liaison),
            None,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(r["trained"], false);
    assert!(
        r["detail"].as_str().unwrap().contains("never been trained"),
        "{r}"
    );

    // Data from 1 January to 31 March 2024; training on 1 March. Days before: 1 Jan ..= 29
    // Feb = 60; from 1 March ..= 31 March = 31. So w = 31: before is 30 Jan ..= 29 Feb,
    // after 1 Mar ..= 31 Mar.
    let mut csv = String::from("id,occurred_at,lat,lon,category\n");
    // Trained Arms, ~5 m away: 5 in the before window, 1 too early, 2 after.
    csv += &rows_at(
        "t",
        51.87875,
        -0.4168,
        &[
            "2024-01-20",
            "2024-02-02",
            "2024-02-09",
            "2024-02-16",
            "2024-02-23",
            "2024-02-29",
            "2024-03-08",
            "2024-03-15",
        ],
    );
    // Untrained Inn: 3 before, 3 after.
    csv += &rows_at(
        "u",
        51.8787,
        -0.40985,
        &[
            "2024-02-03",
            "2024-02-10",
            "2024-02-17",
            "2024-03-02",
            "2024-03-09",
            "2024-03-16",
        ],
    );
    // Far Tavern: the data's first and last days (1 Jan: outside; 31 Mar: after).
    csv += &rows_at("f", 52.1360, -0.4670, &["2024-01-01", "2024-03-31"]);
    // Burglary is not a night-time-economy offence: not counted by default.
    csv += "x1,2024-02-10T21:00:00+00:00,51.878750,-0.416800,burglary\n";
    env.post_file(
        "/api/v1/imports/incidents",
        &planner,
        "text/csv",
        csv.into_bytes(),
    )
    .await
    .expect(StatusCode::CREATED);
    env.call(
        "POST",
        &format!("/api/v1/premises/{}/training", ids[0]),
        Some(&liaison),
        Some(json!({"date": "2024-03-01", "course": "Ask for Angela", "staff_trained": 4, "trainer": "PC 1"})),
    )
    .await
    .expect(StatusCode::CREATED);

    let r = env
        .call(
            "GET",
            &format!("/api/v1/premises/{}/impact", ids[0]),
            Some(&liaison),
            None,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(r["trained"], true);
    assert_eq!(r["trained_on"], "2024-03-01");
    assert_eq!(
        r["windows"],
        json!({"granularity": "day", "length": 31, "unit": "days",
               "before": {"from": "2024-01-30", "to": "2024-02-29"},
               "after": {"from": "2024-03-01", "to": "2024-03-31"},
               "excluded_month": null, "limited_by": "data after training"})
    );
    assert_eq!(r["venue"]["before"], 5);
    assert_eq!(r["venue"]["after"], 2);
    assert_eq!(r["venue"]["change"], -3);
    // Two-sided exact binomial, n = 7, k = 2: 2 * (1 + 7 + 21) / 128.
    assert!((r["venue"]["p_value"].as_f64().unwrap() - 58.0 / 128.0).abs() < 1e-12);
    let c = &r["comparisons"];
    assert_eq!(c[0]["rule"], "untrained venues in Luton");
    assert_eq!(
        (
            c[0]["venues"].as_u64(),
            c[0]["before"].as_u64(),
            c[0]["after"].as_u64()
        ),
        (Some(1), Some(3), Some(3))
    );
    // Similar before count: within 2.5 of 5, so 3 to 7: the Untrained Inn only.
    assert!(
        c[1]["rule"].as_str().unwrap().contains("3 to 7"),
        "{}",
        c[1]["rule"]
    );
    assert_eq!(
        (
            c[1]["venues"].as_u64(),
            c[1]["before"].as_u64(),
            c[1]["after"].as_u64()
        ),
        (Some(1), Some(3), Some(3))
    );
    assert_eq!(r["data"], json!({"from": "2024-01-01", "to": "2024-03-31"}));
    assert!(
        r["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("Only 7 incidents")),
        "{r}"
    );
    assert_eq!(r["method"]["radius_m"], 50.0);

    // With every category the burglary counts too: 6 before.
    let r = env
        .call(
            "GET",
            &format!("/api/v1/premises/{}/impact?category=all", ids[0]),
            Some(&liaison),
            None,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(r["venue"]["before"], 6);
    // Unknown venue, bad parameters, other roles.
    env.call("GET", "/api/v1/premises/99999/impact", Some(&liaison), None)
        .await
        .problem(StatusCode::NOT_FOUND);
    env.call(
        "GET",
        &format!("/api/v1/premises/{}/impact?radius=5000", ids[0]),
        Some(&liaison),
        None,
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY);
    env.call(
        "GET",
        &format!("/api/v1/premises/{}/impact", ids[0]),
        Some(&planner),
        None,
    )
    .await
    .problem(StatusCode::FORBIDDEN);
    assert_eq!(env.actions("premises.impact").len(), 3);
}

#[tokio::test]
async fn impact_on_month_only_data_uses_whole_months() {
    let env = Env::new(ServerConfig::default());
    let liaison = env.login("liaison").await;
    let planner = env.login("planner").await;
    let f = env
        .call(
            "POST",
            "/api/v1/premises",
            Some(&liaison),
            Some(json!({"name": "Month Arms", "kind": "pub", "lon": -0.4100, "lat": 51.8800})),
        )
        .await
        .expect(StatusCode::CREATED);
    let id = f["id"].as_i64().unwrap();
    // police.uk months January to June 2023 at the venue; training on 10 April.
    // Months before April: 3; after: May, June = 2; k = 2: before Feb-Mar, after May-Jun.
    let mut csv = String::from(POLICE_UK_HEADER);
    for (n, (month, count)) in [
        ("01", 1),
        ("02", 2),
        ("03", 3),
        ("04", 4),
        ("05", 1),
        ("06", 1),
    ]
    .iter()
    .enumerate()
    {
        for k in 0..*count {
            csv.push_str(&format!(
                "m{n}-{k},2023-{month},B,B,-0.410000,51.880000,On or near X,,,Violence and sexual offences,,\n"
            ));
        }
    }
    env.post_file(
        "/api/v1/imports/incidents",
        &planner,
        "text/csv",
        csv.into_bytes(),
    )
    .await
    .expect(StatusCode::CREATED);
    env.call(
        "POST",
        &format!("/api/v1/premises/{id}/training"),
        Some(&liaison),
        Some(json!({"date": "2023-04-10", "course": "Ask for Angela", "staff_trained": 2})),
    )
    .await
    .expect(StatusCode::CREATED);
    let r = env
        .call(
            "GET",
            &format!("/api/v1/premises/{id}/impact"),
            Some(&liaison),
            None,
        )
        .await
        .expect(StatusCode::OK);
    assert_eq!(r["windows"]["granularity"], "month");
    assert_eq!(r["windows"]["length"], 2);
    assert_eq!(r["windows"]["excluded_month"], "2023-04");
    assert_eq!(
        r["windows"]["before"],
        json!({"from": "2023-02-01", "to": "2023-03-31"})
    );
    assert_eq!(
        r["windows"]["after"],
        json!({"from": "2023-05-01", "to": "2023-06-30"})
    );
    assert_eq!(
        (r["venue"]["before"].as_u64(), r["venue"]["after"].as_u64()),
        (Some(5), Some(2))
    );
    assert_eq!(r["comparisons"][0]["venues"], 0);
    assert!(
        r["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("months only")),
        "{r}"
    );
}
