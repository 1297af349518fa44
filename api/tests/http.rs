//! The HTTP API, driven through `server::app` with `oneshot` (no socket) on a fresh SQLite
//! file per test, and once through a real server on a loopback port: the role matrix, the
//! session rules, problem details, the audit log, and each endpoint's happy path.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use api::app::password;
use api::config::{LoginLimits, ServerConfig};
use api::roles::Role;
use api::server::{self, AppState};
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use serde_json::{Value, json};

mod common;
use common::*;

/// The contract's roles for every endpoint of this slice: (method, path, body, expected
/// status for no session, planner, officer, liaison, admin).
fn matrix() -> Vec<(&'static str, &'static str, Option<Value>, [u16; 5])> {
    let login = json!({"username": "planner", "password": PASSWORD});
    vec![
        ("GET", "/healthz", None, [200, 200, 200, 200, 200]),
        ("GET", "/readyz", None, [200, 200, 200, 200, 200]),
        ("GET", "/metrics", None, [401, 403, 403, 403, 200]),
        ("GET", "/api/openapi.json", None, [200, 200, 200, 200, 200]),
        (
            "POST",
            "/api/v1/auth/login",
            Some(login),
            [200, 200, 200, 200, 200],
        ),
        ("GET", "/api/v1/me", None, [401, 200, 200, 200, 200]),
        (
            "GET",
            "/api/v1/incidents?purpose=test",
            None,
            [401, 200, 403, 403, 200],
        ),
        ("GET", "/api/v1/premises", None, [401, 200, 200, 200, 200]),
        ("GET", "/api/v1/premises/1", None, [401, 200, 200, 200, 200]),
        ("GET", "/api/v1/hotspots", None, [401, 200, 200, 200, 200]),
        ("GET", "/api/v1/zones", None, [401, 200, 200, 403, 200]),
        ("GET", "/api/v1/audit", None, [401, 403, 403, 403, 200]),
        // A blank reason passes the role check, then is refused.
        (
            "PATCH",
            "/api/v1/premises/1/training/1",
            Some(json!({"withdrawn": true, "reason": ""})),
            [401, 403, 403, 422, 422],
        ),
        (
            "PATCH",
            "/api/v1/users/nobody",
            Some(json!({"revoke_sessions": true})),
            [401, 403, 403, 403, 404],
        ),
        // Imports, premises edits and training (http_premises.rs tests each in depth).
        (
            "POST",
            "/api/v1/imports/incidents",
            Some(json!({"type": "FeatureCollection", "features": []})),
            [401, 200, 403, 403, 200],
        ),
        (
            "POST",
            "/api/v1/imports/premises",
            Some(json!({"type": "FeatureCollection", "features": []})),
            [401, 403, 403, 200, 200],
        ),
        // Training files are CSV: this JSON body passes the role check, then is refused.
        (
            "POST",
            "/api/v1/imports/training",
            Some(json!({})),
            [401, 403, 403, 415, 415],
        ),
        (
            "POST",
            "/api/v1/premises",
            Some(json!({"name": "Matrix Arms", "kind": "pub", "lon": -0.4168, "lat": 51.8787})),
            [401, 403, 403, 201, 201],
        ),
        (
            "PATCH",
            "/api/v1/premises/1",
            Some(json!({"safe_space": true})),
            [401, 403, 403, 200, 200],
        ),
        (
            "GET",
            "/api/v1/premises/1/training",
            None,
            [401, 403, 403, 200, 200],
        ),
        // The second, identical record is already there: 200.
        (
            "POST",
            "/api/v1/premises/1/training",
            Some(json!({"date": "2024-01-05", "course": "Ask for Angela", "staff_trained": 3})),
            [401, 403, 403, 201, 200],
        ),
        (
            "GET",
            "/api/v1/premises/1/impact",
            None,
            [401, 403, 403, 200, 200],
        ),
        // Last: it ends the session it is sent with.
        (
            "POST",
            "/api/v1/auth/logout",
            None,
            [401, 204, 204, 204, 204],
        ),
    ]
}

#[tokio::test]
async fn role_matrix_every_endpoint_by_every_role_and_no_session() {
    let env = env();
    let mut tokens = vec![None];
    for role in Role::ALL {
        tokens.push(Some(login(&env.app, role.as_str()).await));
    }
    let who = ["no session", "planner", "officer", "liaison", "admin"];
    for (method, path, body, expected) in matrix() {
        for (i, token) in tokens.iter().enumerate() {
            let auth = token.as_deref().map_or(Auth::None, Auth::Bearer);
            let body = body.as_ref().map(Value::to_string);
            let a = call_as(&env.app, method, path, auth, body.as_deref()).await;
            assert_eq!(
                a.status.as_u16(),
                expected[i],
                "{method} {path} as {}: {}",
                who[i],
                String::from_utf8_lossy(&a.body)
            );
            if a.status.is_client_error() {
                a.assert_problem(a.status);
            }
            if a.status == StatusCode::UNAUTHORIZED {
                assert!(a.headers.contains_key(header::WWW_AUTHENTICATE));
            }
        }
    }
    // Every route the OpenAPI document lists is in the matrix.
    let doc = call_as(&env.app, "GET", "/api/openapi.json", Auth::None, None)
        .await
        .json();
    let mut documented: Vec<String> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        // Plan routes have their own matrix in http_plans.rs, which checks them all.
        .filter(|p| {
            !(p.starts_with("/api/v1/plans")
                || *p == "/api/v1/me/assignments"
                || *p == "/api/v1/checkins")
        })
        .map(|p| {
            p.replace("{id}", "1")
                .replace("{name}", "nobody")
                .replace("{record}", "1")
        })
        .collect();
    documented.push("/api/openapi.json".into());
    // A path's required query (`?purpose=` on incidents) is not part of its name.
    let tested: Vec<&str> = matrix()
        .iter()
        .map(|m| m.1.split('?').next().unwrap_or(m.1))
        .collect();
    for path in &documented {
        assert!(
            tested.contains(&path.as_str()),
            "{path} is not in the role matrix"
        );
    }
}

#[tokio::test]
async fn login_gives_a_token_and_an_http_only_strict_cookie_that_both_work() {
    let env = env();
    let a = call_as(
        &env.app,
        "POST",
        "/api/v1/auth/login",
        Auth::None,
        Some(&json!({"username": "officer", "password": PASSWORD}).to_string()),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let body = a.json();
    let token = body["token"].as_str().unwrap();
    assert_eq!(token.len(), 64);
    assert_eq!(body["role"], "officer");
    let expires: jiff::Timestamp = body["expires_at"].as_str().unwrap().parse().unwrap();
    let ttl = expires.as_second() - jiff::Timestamp::now().as_second();
    assert!((12 * 3600 - 5..=12 * 3600).contains(&ttl), "{ttl}");
    // Secure by default, on loopback too: the `__Host-` cookie (Secure, Path=/, no Domain).
    let cookie = a.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with(&format!("__Host-firefly_session={token};")),
        "{cookie}"
    );
    for attr in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=43200",
        "Secure",
    ] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    // The token is not stored, only its SHA-256.
    let stored: String = env
        .conn()
        .query_row("SELECT token_sha256 FROM sessions", &[], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, password::token_sha256(token));
    assert_ne!(stored, token);
    for auth in [Auth::Bearer(token), Auth::Cookie(token)] {
        let me = call_as(&env.app, "GET", "/api/v1/me", auth, None).await;
        assert_eq!(me.status, StatusCode::OK);
        let me = me.json();
        assert_eq!(
            (
                me["username"].as_str(),
                me["role"].as_str(),
                me["unit"].as_str()
            ),
            (Some("officer"), Some("officer"), Some("LN-FF1"))
        );
    }
    // Only the explicit development mode has the plain cookie, without Secure; both names
    // are read.
    let dev = env_with(ServerConfig {
        secure_cookie: false,
        ..ServerConfig::default()
    });
    let a = call_as(
        &dev.app,
        "POST",
        "/api/v1/auth/login",
        Auth::None,
        Some(&json!({"username": "admin", "password": PASSWORD}).to_string()),
    )
    .await;
    let cookie = a.headers[header::SET_COOKIE].to_str().unwrap();
    let token = a.json()["token"].as_str().unwrap().to_string();
    assert!(
        cookie.starts_with(&format!("firefly_session={token};")),
        "{cookie}"
    );
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(!cookie.contains("Secure"), "development mode: no Secure");
    let me = send(
        &dev.app,
        Request::get("/api/v1/me")
            .header(header::COOKIE, format!("firefly_session={token}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(me.status, StatusCode::OK);
}

#[tokio::test]
async fn logout_revokes_the_session_everywhere() {
    let env = env();
    let token = login(&env.app, "planner").await;
    let other = login(&env.app, "planner").await;
    let out = call_as(
        &env.app,
        "POST",
        "/api/v1/auth/logout",
        Auth::Cookie(&token),
        None,
    )
    .await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let cleared = out.headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        cleared.starts_with("__Host-firefly_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    // The same token no longer works, by cookie or bearer.
    for auth in [Auth::Bearer(&token), Auth::Cookie(&token)] {
        call_as(&env.app, "GET", "/api/v1/me", auth, None)
            .await
            .assert_problem(StatusCode::UNAUTHORIZED);
    }
    call_as(
        &env.app,
        "POST",
        "/api/v1/auth/logout",
        Auth::Bearer(&token),
        None,
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED);
    // The user's other session is untouched.
    assert_eq!(
        get(&env.app, "/api/v1/me", &other).await.status,
        StatusCode::OK
    );
    let revoked: i64 = env
        .conn()
        .query_row(
            "SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL",
            &[],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(revoked, 1);
}

#[tokio::test]
async fn expired_sessions_and_bad_tokens_are_refused() {
    let env = env();
    let token = login(&env.app, "admin").await;
    assert_eq!(
        get(&env.app, "/api/v1/me", &token).await.status,
        StatusCode::OK
    );
    env.conn()
        .execute(
            "UPDATE sessions SET expires_at = '2020-01-01T00:00:00Z' WHERE token_sha256 = ?1",
            &[&password::token_sha256(&token)],
        )
        .unwrap();
    // Changed behind the server's back: it trusts what it read for at most this long.
    tokio::time::sleep(server::sessions::MAX_AGE).await;
    let p = get(&env.app, "/api/v1/me", &token)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
    assert!(
        p["detail"].as_str().unwrap().contains("log in again"),
        "{p}"
    );
    // Not tokens at all, or a scheme other than Bearer.
    for bad in ["", "abc", &"0".repeat(64), &token.to_uppercase()] {
        get(&env.app, "/api/v1/me", bad)
            .await
            .assert_problem(StatusCode::UNAUTHORIZED);
    }
    let basic = Request::get("/api/v1/me")
        .header(header::AUTHORIZATION, "Basic YWRtaW46eA==")
        .body(Body::empty())
        .unwrap();
    send(&env.app, basic)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
    // A disabled user's sessions stop working, and they cannot log in again.
    let planner = login(&env.app, "planner").await;
    env.conn()
        .execute("UPDATE users SET disabled = 1 WHERE name = 'planner'", &[])
        .unwrap();
    tokio::time::sleep(server::sessions::MAX_AGE).await;
    get(&env.app, "/api/v1/me", &planner)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
    call_as(
        &env.app,
        "POST",
        "/api/v1/auth/login",
        Auth::None,
        Some(&json!({"username": "planner", "password": PASSWORD}).to_string()),
    )
    .await
    .assert_problem(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_the_same_answer_and_are_audited() {
    let env = env();
    let attempt = |user: &'static str, pw: &'static str| {
        let app = env.app.clone();
        async move {
            call_as(
                &app,
                "POST",
                "/api/v1/auth/login",
                Auth::None,
                Some(&json!({"username": user, "password": pw}).to_string()),
            )
            .await
        }
    };
    let wrong = attempt("liaison", "not the password")
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
    let unknown = attempt("nobody", "not the password")
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
    assert_eq!(wrong["detail"], unknown["detail"]);
    // User names are matched in any case.
    assert_eq!(attempt("LIAISON", PASSWORD).await.status, StatusCode::OK);
    let refused: Vec<(Option<String>, String)> = {
        env.conn()
            .query_map(
                "SELECT actor, detail FROM audit WHERE action = 'auth.login' ORDER BY id",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap()
    };
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert_eq!(refused[0].0.as_deref(), Some("liaison"));
    assert!(refused[0].1.contains("wrong password"));
    assert_eq!(refused[1].0, None, "unknown names are not recorded");
    assert!(refused[2].1.contains("\"ok\""));
}

#[tokio::test]
async fn repeated_bad_logins_are_rate_limited() {
    let env = env_with(ServerConfig {
        login_limits: LoginLimits {
            per_user: 3,
            per_addr: 10,
            window: std::time::Duration::from_secs(900),
            ..LoginLimits::default()
        },
        ..ServerConfig::default()
    });
    let body = |pw: &str| json!({"username": "officer", "password": pw}).to_string();
    for _ in 0..3 {
        call_as(
            &env.app,
            "POST",
            "/api/v1/auth/login",
            Auth::None,
            Some(&body("guess")),
        )
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
    }
    let sessions = env.count("sessions");
    // Now even the right password is refused, without being checked.
    let a = call_as(
        &env.app,
        "POST",
        "/api/v1/auth/login",
        Auth::None,
        Some(&body(PASSWORD)),
    )
    .await;
    let p = a.assert_problem(StatusCode::TOO_MANY_REQUESTS);
    assert!(p["detail"].as_str().unwrap().contains("try again"), "{p}");
    let retry: u64 = a.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry), "{retry}");
    assert_eq!(env.count("sessions"), sessions, "no session was created");
    // Another user is not locked out by the officer's failures.
    assert_eq!(
        call_as(
            &env.app,
            "POST",
            "/api/v1/auth/login",
            Auth::None,
            Some(&json!({"username": "planner", "password": PASSWORD}).to_string())
        )
        .await
        .status,
        StatusCode::OK
    );
    let metrics = String::from_utf8({
        let admin = login(&env.app, "admin").await;
        get(&env.app, "/metrics", &admin).await.body
    })
    .unwrap();
    assert!(
        metrics.contains("firefly_logins_rate_limited_total 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("firefly_login_failures_total 3"),
        "{metrics}"
    );
}

#[tokio::test]
async fn malformed_bodies_are_answered_with_problem_details_and_nothing_is_written() {
    let env = env();
    let before = (env.count("sessions"), env.count("audit"));
    let login = |body: &'static str, content_type: &'static str| {
        Request::post("/api/v1/auth/login")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap()
    };
    let cases = [
        (
            login("{\"username\": \"admin\",", "application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            login("not json", "application/json"),
            StatusCode::BAD_REQUEST,
        ),
        (
            login("{\"username\": \"admin\"}", "application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            login("{\"username\": 5, \"password\": \"x\"}", "application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            login(
                "{\"username\": \"admin\", \"password\": \"x\", \"role\": \"admin\"}",
                "application/json",
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            login(
                "{\"username\": \"\", \"password\": \"x\"}",
                "application/json",
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            login("[]", "application/json"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            login("username=admin", "application/x-www-form-urlencoded"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
    ];
    for (req, status) in cases {
        let p = send(&env.app, req).await.assert_problem(status);
        let detail = p["detail"].as_str().unwrap();
        assert!(
            !detail.contains("Failed to"),
            "axum's wording leaks: {detail}"
        );
    }
    // Over the body limit (1 MiB by default).
    let big = format!(
        "{{\"username\": \"admin\", \"password\": \"{}\"}}",
        "x".repeat(2 << 20)
    );
    let req = Request::post("/api/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(big))
        .unwrap();
    send(&env.app, req)
        .await
        .assert_problem(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!((env.count("sessions"), env.count("audit")), before);
}

#[tokio::test]
async fn unknown_routes_methods_and_query_parameters_get_problem_details() {
    let env = env();
    let token = login(&env.app, "admin").await;
    get(&env.app, "/api/v1/nothing", &token)
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    let a = call_as(&env.app, "DELETE", "/api/v1/me", Auth::Bearer(&token), None).await;
    a.assert_problem(StatusCode::METHOD_NOT_ALLOWED);
    assert!(a.headers.contains_key(header::ALLOW));
    let p = get(&env.app, "/api/v1/hotspots?methd=kde", &token)
        .await
        .assert_problem(StatusCode::BAD_REQUEST);
    assert!(p["detail"].as_str().unwrap().contains("methd"), "{p}");
    get(&env.app, "/api/v1/hotspots?cell=wide", &token)
        .await
        .assert_problem(StatusCode::BAD_REQUEST);
    for bad in [
        "/api/v1/hotspots?method=magic",
        "/api/v1/hotspots?cell=1",
        "/api/v1/hotspots?window=fri@25:00-02:00",
        "/api/v1/hotspots?from=2024-13-01",
        "/api/v1/hotspots?bbox=1,2,3",
        "/api/v1/hotspots?category=violent",
        "/api/v1/incidents?purpose=test&limit=0",
        "/api/v1/premises?training_status=excellent",
        "/api/v1/audit?limit=5000",
        "/api/v1/zones?max_zones=0",
    ] {
        let p = get(&env.app, bad, &token)
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(!p["detail"].as_str().unwrap().contains("--"), "{bad}: {p}");
    }
    get(&env.app, "/api/v1/premises/999999", &token)
        .await
        .assert_problem(StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn incidents_are_wgs84_points_filtered_and_every_read_is_audited() {
    let env = env();
    let token = login(&env.app, "planner").await;
    let a = get(&env.app, "/api/v1/incidents?purpose=test", &token).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type(), "application/geo+json");
    let fc = a.json();
    assert_eq!(fc["type"], "FeatureCollection");
    let features = fc["features"].as_array().unwrap();
    // 120 rows: 12 burglaries are outside the default night-time-economy set; plus the
    // month-only row.
    assert_eq!(features.len(), 120 - 12 + 1);
    assert_eq!(fc["firefly"]["n_matched"], features.len());
    assert_eq!(fc["firefly"]["crs"], "EPSG:4326");
    for f in features {
        let [lon, lat] = [0, 1].map(|i| f["geometry"]["coordinates"][i].as_f64().unwrap());
        // Longitude first, degrees: Luton and Bedford.
        assert!(
            (-0.5..-0.4).contains(&lon) && (51.8..52.2).contains(&lat),
            "{f}"
        );
        assert_eq!(f["geometry"]["type"], "Point");
        let props = f["properties"].as_object().unwrap();
        let mut keys: Vec<&str> = props.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(keys, ["category", "id", "occurred", "precision"]);
    }
    // Newest first: the last Saturday of the month, ..., the month-only row of February.
    let newest = &features[0]["properties"];
    assert_eq!(newest["precision"], "instant");
    assert!(
        newest["occurred"]
            .as_str()
            .unwrap()
            .starts_with("2024-03-23T"),
        "{newest}"
    );
    let oldest = &features[features.len() - 1]["properties"];
    assert_eq!(
        (oldest["precision"].as_str(), oldest["occurred"].as_str()),
        (Some("month"), Some("2024-02"))
    );
    // Filters: category, dates, box, limit.
    let n = |uri: &'static str| {
        let app = env.app.clone();
        let token = token.clone();
        async move {
            let fc = get(&app, uri, &token).await.json();
            fc["features"].as_array().unwrap().len()
        }
    };
    assert_eq!(
        n("/api/v1/incidents?purpose=test&category=burglary").await,
        12
    );
    assert_eq!(n("/api/v1/incidents?purpose=test&category=all").await, 121);
    assert_eq!(
        n("/api/v1/incidents?purpose=test&from=2024-03-01&to=2024-03-02").await,
        27
    );
    assert_eq!(n("/api/v1/incidents?purpose=test&to=2024-02").await, 1);
    assert_eq!(
        n("/api/v1/incidents?purpose=test&bbox=-0.5,52.0,-0.4,52.2").await,
        1
    );
    let limited = get(&env.app, "/api/v1/incidents?purpose=test&limit=5", &token)
        .await
        .json();
    assert_eq!(limited["features"].as_array().unwrap().len(), 5);
    assert_eq!(limited["firefly"]["truncated"], true);
    // Every read left an audit row: who, what, when.
    let conn = env.conn();
    let (actor, role, target, detail, at): (String, String, String, String, String) = conn
        .query_row(
            "SELECT actor, role, target, detail, at FROM audit WHERE action = 'incidents.read' ORDER BY id LIMIT 1",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(
        (actor.as_str(), role.as_str(), target.as_str()),
        ("planner", "planner", "incidents")
    );
    assert!(detail.contains("\"returned\":109"), "{detail}");
    assert!(at.parse::<jiff::Timestamp>().is_ok(), "{at}");
    let reads: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'incidents.read'",
            &[],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(reads, 7);
    // A refused read is not a read.
    let officer = login(&env.app, "officer").await;
    get(&env.app, "/api/v1/incidents?purpose=test", &officer)
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    assert_eq!(env.count("audit WHERE action = 'incidents.read'"), 7);
}

#[tokio::test]
async fn hotspots_have_the_contract_properties_and_are_cached_until_an_import() {
    let env = env();
    // The exact answer: officers and liaison get aggregates (http_security_data.rs).
    let token = login(&env.app, "planner").await;
    let uri = "/api/v1/hotspots?method=kde&cell=100&window=all";
    let a = get(&env.app, uri, &token).await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    assert_eq!(a.content_type(), "application/geo+json");
    assert_eq!(a.headers["x-firefly-cache"], "miss");
    let fc = a.json();
    let features = fc["features"].as_array().unwrap();
    assert!(!features.is_empty());
    for f in features {
        assert_eq!(f["geometry"]["type"], "Polygon");
        let ring = f["geometry"]["coordinates"][0].as_array().unwrap();
        assert_eq!(ring.len(), 5);
        // WGS84, longitude first: Luton, or Bedford for the month-only incident.
        let [lon, lat] = [0, 1].map(|i| ring[0][i].as_f64().unwrap());
        assert!(
            (-0.5..-0.39).contains(&lon) && (51.8..52.2).contains(&lat),
            "{f}"
        );
        for key in [
            "id",
            "col",
            "row",
            "x",
            "y",
            "count",
            "weight",
            "score",
            "rank",
            "percentile",
        ] {
            assert!(f["properties"].get(key).is_some(), "{key} missing: {f}");
        }
        let p = &f["properties"];
        assert_eq!(
            p["id"].as_str().unwrap(),
            format!("{}_{}", p["col"], p["row"]),
            "cell ids are col_row"
        );
    }
    assert_eq!(features[0]["properties"]["rank"], 1);
    let meta = &fc["firefly"];
    for key in [
        "method",
        "params",
        "n_cells",
        "n_incidents",
        "n_untimed",
        "generated_at",
    ] {
        assert!(meta.get(key).is_some(), "firefly.{key} missing: {meta}");
    }
    assert_eq!(meta["method"], "kde");
    assert_eq!(meta["params"]["cell"], 100.0);
    // 108 night-time-economy incidents with times, and one month-only (place only).
    assert_eq!(meta["n_incidents"], 109);
    assert_eq!(meta["n_untimed"], 1);
    // Same parameters, written differently: a cache hit.
    let again = get(&env.app, "/api/v1/hotspots?window=all&cell=100.0", &token).await;
    assert_eq!(again.headers["x-firefly-cache"], "hit");
    assert_eq!(again.body, a.body);
    // An import (here by the CLI's code, as another process would) invalidates it, within
    // the time the server trusts the data version it last read.
    env.import_incidents("more.csv", &incidents_csv("more-", 30));
    tokio::time::sleep(server::versions::MAX_AGE).await;
    let after = get(&env.app, uri, &token).await;
    assert_eq!(after.headers["x-firefly-cache"], "miss");
    assert_eq!(after.json()["firefly"]["n_incidents"], 109 + 27 + 1);
    // The server holds the new version's incidents for the analyses now.
    let ready = call(&env.app, "GET", "/readyz", None, None).await.json();
    assert_eq!(ready["analysis_data_version"], ready["data_version"]);
    assert!(ready["data_version"].as_i64().unwrap() > 0);
    // Gi* adds z, p, q and class.
    let g = get(
        &env.app,
        "/api/v1/hotspots?method=gistar&cell=100&window=all",
        &token,
    )
    .await;
    assert_eq!(g.status, StatusCode::OK);
    let g = g.json();
    let first = &g["features"][0]["properties"];
    for key in ["z", "p", "q", "class"] {
        assert!(first.get(key).is_some(), "{key} missing: {first}");
    }
    let metrics = String::from_utf8({
        let admin = login(&env.app, "admin").await;
        get(&env.app, "/metrics", &admin).await.body
    })
    .unwrap();
    assert!(
        metrics.contains("firefly_result_cache_hits_total 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn cached_answers_come_in_the_coding_the_client_prefers_and_shrink_once_popular() {
    let env = env();
    let token = login(&env.app, "planner").await;
    for uri in [
        "/api/v1/hotspots?method=kde&cell=50&window=all",
        "/api/v1/zones?cell=50&window=all&hot_percent=5",
        "/api/v1/premises",
    ] {
        let plain = get_accepting(&env.app, uri, Some(&token), Some("identity")).await;
        plain.expect(StatusCode::OK);
        assert_eq!(plain.header(header::CONTENT_ENCODING), "", "{uri}");
        assert_eq!(plain.header(header::VARY), "accept-encoding", "{uri}");
        for (accept, coding) in [
            ("gzip, deflate, br, zstd", "br"),
            ("gzip", "gzip"),
            ("br;q=0, gzip;q=0.8", "gzip"),
            ("br;q=0, gzip;q=0", ""),
        ] {
            let a = get_accepting(&env.app, uri, Some(&token), Some(accept)).await;
            a.expect(StatusCode::OK);
            assert_eq!(a.header(header::CONTENT_ENCODING), coding, "{uri} {accept}");
            assert_eq!(a.header(header::VARY), "accept-encoding", "{uri} {accept}");
            assert_eq!(a.content_type(), "application/geo+json");
            // Every coding carries the same document (the cached plain body).
            assert_eq!(a.decoded(), plain.body, "{uri} {accept}");
            if !coding.is_empty() {
                assert!(a.body.len() < plain.body.len() / 3, "{uri} {accept}");
            }
        }
    }
    // Asked for again, a brotli answer is recompressed at the best level in the background:
    // the same document, in fewer bytes.
    let uri = "/api/v1/hotspots?method=kde&cell=50&window=all";
    let first = get_accepting(&env.app, uri, Some(&token), Some("br")).await;
    let mut later = get_accepting(&env.app, uri, Some(&token), Some("br")).await;
    for _ in 0..300 {
        if later.body.len() < first.body.len() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        later = get_accepting(&env.app, uri, Some(&token), Some("br")).await;
    }
    assert!(
        later.body.len() < first.body.len(),
        "best {} fast {}",
        later.body.len(),
        first.body.len()
    );
    assert_eq!(later.decoded(), first.decoded());
    assert_eq!(later.headers["x-firefly-cache"], "hit");
}

#[tokio::test]
async fn zones_are_geojson_named_after_venues() {
    let env = env();
    let token = login(&env.app, "planner").await;
    let a = get(
        &env.app,
        "/api/v1/zones?cell=50&window=all&hot_percent=5",
        &token,
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    assert_eq!(a.content_type(), "application/geo+json");
    let fc = a.json();
    let zones = fc["features"].as_array().unwrap();
    assert!(!zones.is_empty());
    for z in zones {
        assert_eq!(z["geometry"]["type"], "MultiPolygon");
        for key in ["id", "name", "venues", "centroid", "risk", "risk_by_hour"] {
            assert!(z["properties"].get(key).is_some(), "{key} missing");
        }
        assert_eq!(
            z["properties"]["risk_by_hour"].as_array().unwrap().len(),
            168
        );
    }
    assert_eq!(
        get(
            &env.app,
            "/api/v1/zones?window=all&cell=50&hot_percent=5.0",
            &token
        )
        .await
        .headers["x-firefly-cache"],
        "hit"
    );
}

#[tokio::test]
async fn premises_carry_training_status_and_the_fictional_label() {
    let env = env();
    let token = login(&env.app, "liaison").await;
    let a = get(&env.app, "/api/v1/premises", &token).await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.content_type(), "application/geo+json");
    let fc = a.json();
    let all = fc["features"].as_array().unwrap();
    assert_eq!(all.len(), 235);
    assert_eq!(fc["firefly"]["training_records_fictional"], true);
    assert!(
        fc["firefly"]["training_label"]
            .as_str()
            .unwrap()
            .contains("FICTIONAL")
    );
    // Risk rank beside status: venues with incidents within 50 m are ranked 1..=k by harm,
    // the others have none.
    let mut ranks: Vec<u64> = all
        .iter()
        .filter(|f| f["properties"]["risk_count"].as_u64().unwrap() > 0)
        .map(|f| f["properties"]["risk_rank"].as_u64().unwrap())
        .collect();
    ranks.sort();
    assert!(!ranks.is_empty());
    assert_eq!(ranks, (1..=ranks.len() as u64).collect::<Vec<_>>());
    assert!(
        all.iter()
            .filter(|f| f["properties"]["risk_count"] == 0)
            .all(|f| f["properties"]["risk_rank"].is_null())
    );
    let trained: Vec<&Value> = all
        .iter()
        .filter(|f| f["properties"]["training_records"].as_u64().unwrap() > 0)
        .collect();
    assert!(!trained.is_empty());
    for f in &trained {
        assert_eq!(f["properties"]["training_fictional"], true);
        assert!(
            f["properties"]["training_label"]
                .as_str()
                .unwrap()
                .contains("FICTIONAL")
        );
        assert_ne!(f["properties"]["training_status"], "never_trained");
    }
    let never = get(
        &env.app,
        "/api/v1/premises?training_status=never_trained",
        &token,
    )
    .await
    .json();
    let never = never["features"].as_array().unwrap();
    assert_eq!(never.len(), 235 - trained.len());
    assert!(
        never
            .iter()
            .all(|f| f["properties"]["training_label"].is_null())
    );
    // One venue, by database id and by source id (percent-encoded).
    let first = &trained[0];
    let id = first["id"].as_i64().unwrap();
    let by_id = get(&env.app, &format!("/api/v1/premises/{id}"), &token)
        .await
        .json();
    assert_eq!(by_id["properties"]["name"], first["properties"]["name"]);
    let source = first["properties"]["source_id"]
        .as_str()
        .unwrap()
        .replace('/', "%2F");
    let by_source = get(&env.app, &format!("/api/v1/premises/{source}"), &token).await;
    assert_eq!(by_source.status, StatusCode::OK);
    assert_eq!(by_source.json()["id"], id);
    let luton = get(
        &env.app,
        "/api/v1/premises?bbox=-0.45,51.86,-0.39,51.90",
        &token,
    )
    .await
    .json();
    let n = luton["features"].as_array().unwrap().len();
    assert!(n > 0 && n < 235, "{n}");
}

#[tokio::test]
async fn the_audit_log_is_for_admins_and_append_only() {
    let env = env();
    let planner = login(&env.app, "planner").await;
    get(
        &env.app,
        "/api/v1/incidents?purpose=test&category=all",
        &planner,
    )
    .await;
    let admin = login(&env.app, "admin").await;
    let a = get(&env.app, "/api/v1/audit?limit=3", &admin).await;
    assert_eq!(a.status, StatusCode::OK);
    let page = a.json();
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    // Newest first: the admin's login, the planner's read, the planner's login.
    assert_eq!(entries[0]["action"], "auth.login");
    assert_eq!(entries[0]["actor"], "admin");
    assert_eq!(entries[1]["action"], "incidents.read");
    assert_eq!(entries[1]["actor"], "planner");
    assert_eq!(entries[1]["detail"]["query"]["category"], "all");
    assert!(entries[0]["id"].as_i64() > entries[1]["id"].as_i64());
    // Paging and filters.
    let older = get(
        &env.app,
        &format!(
            "/api/v1/audit?before={}&action=user.create",
            page["next_before"]
        ),
        &admin,
    )
    .await
    .json();
    assert_eq!(older["entries"].as_array().unwrap().len(), 4);
    assert!(older["next_before"].is_null());
    // Reading the log is itself logged.
    let reads = get(&env.app, "/api/v1/audit?action=audit.read", &admin)
        .await
        .json();
    assert_eq!(reads["entries"].as_array().unwrap().len(), 2);
    // The table refuses changes, even from SQL.
    let conn = env.conn();
    let n = env.count("audit");
    let update = conn.execute("UPDATE audit SET actor = 'someone else'", &[]);
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = conn.execute("DELETE FROM audit", &[]);
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    assert_eq!(env.count("audit"), n);
}

#[tokio::test]
async fn health_readiness_metrics_and_openapi() {
    let env = env();
    let h = call_as(&env.app, "GET", "/healthz", Auth::None, None).await;
    assert_eq!(h.json()["status"], "ok");
    let r = call_as(&env.app, "GET", "/readyz", Auth::None, None)
        .await
        .json();
    assert_eq!(r["status"], "ready");
    assert_eq!(r["schema_version"], api::storage::SCHEMA_VERSION);
    assert_eq!(r["data_version"], 3, "three imports");
    let token = login(&env.app, "planner").await;
    get(&env.app, "/api/v1/audit", &token).await;
    // Metrics are the admins' (a Prometheus scrape sends an admin's bearer token).
    call_as(&env.app, "GET", "/metrics", Auth::None, None)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
    get(&env.app, "/metrics", &token)
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    let admin = login(&env.app, "admin").await;
    let m = get(&env.app, "/metrics", &admin).await;
    assert!(m.content_type().starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(m.body).unwrap();
    for line in [
        "firefly_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1",
        "firefly_http_requests_total{method=\"POST\",route=\"/api/v1/auth/login\",status=\"200\"} 2",
        "firefly_http_requests_total{method=\"GET\",route=\"/api/v1/audit\",status=\"403\"} 1",
        "firefly_http_request_duration_seconds_count{route=\"/readyz\"} 1",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    let doc = call_as(&env.app, "GET", "/api/openapi.json", Auth::None, None)
        .await
        .json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "Firefly API");
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["session_cookie"]["in"], "cookie");
    let incidents = &doc["paths"]["/api/v1/incidents"]["get"];
    assert!(
        incidents["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "bbox")
    );
    assert!(incidents["responses"]["403"].is_object());
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    // Every reference in the document resolves.
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r.clone());
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.len() > 10, "{all:?}");
    for r in all {
        let name = r.strip_prefix("#/components/schemas/").unwrap();
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} does not resolve"
        );
    }
    // Not ready when the database's schema is not this build's (here: a newer firefly
    // migrated it), and such a database is refused at start-up.
    env.set_schema_version(api::storage::SCHEMA_VERSION + 1);
    let p = call_as(&env.app, "GET", "/readyz", Auth::None, None)
        .await
        .assert_problem(StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        p["detail"].as_str().unwrap().contains("schema version"),
        "{p}"
    );
    assert!(AppState::new(env.config.clone(), ServerConfig::default()).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_server_on_loopback_logs_in_and_answers() {
    use hyper_util::rt::TokioIo;
    let env = env();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    assert!(addr.ip().is_loopback());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(env.state.clone(), listener, async {
        stopped.await.ok();
    }));
    async fn http(
        addr: std::net::SocketAddr,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> (StatusCode, HeaderMap, Vec<u8>) {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, addr.to_string());
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(http_body_util::Full::new(axum::body::Bytes::from(
                body.unwrap_or_default(),
            )))
            .unwrap();
        let res = sender.send_request(req).await.unwrap();
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes().to_vec();
        (parts.status, parts.headers, bytes)
    }
    let (status, headers, body) = http(
        addr,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"username": "planner", "password": PASSWORD}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers.contains_key(header::SET_COOKIE));
    let token = serde_json::from_slice::<Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, headers, body) = http(
        addr,
        "GET",
        "/api/v1/incidents?purpose=test&limit=3",
        Some(&token),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/geo+json");
    let fc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(fc["features"].as_array().unwrap().len(), 3);
    let (status, _, _) = http(addr, "GET", "/api/v1/me", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The audit log has the client's address.
    let addr_logged: String = env
        .conn()
        .query_row(
            "SELECT remote_addr FROM audit WHERE action = 'incidents.read'",
            &[],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(addr_logged, "127.0.0.1");
    // Graceful shutdown: the server stops when told.
    stop.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(10), server)
        .await
        .expect("the server stops within 10 s")
        .unwrap()
        .unwrap();
}
