//! Issue 13's attacks on the data and the browser, each performed through `server::app`:
//! rebuilding incident points from hotspot cells as an officer, unbounded analysis work,
//! cross-site imports, missing browser headers, other units' plans, unbounded metrics.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use api::config::{Basemap, ServerConfig};
use api::server::{self, AppState};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

mod common;
use common::*;

/// The Luton test data's centre.
const BBOX: &str = "-0.47,51.85,-0.37,51.92";

fn counts(a: &Answer) -> Vec<Option<u64>> {
    a.json()["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["count"].as_u64())
        .collect()
}

#[tokio::test]
async fn an_officer_cannot_ask_for_cells_under_100_m() {
    let env = env();
    let officer = login(&env.app, "officer").await;
    for cell in [10, 50, 99] {
        let p = get(
            &env.app,
            &format!("/api/v1/hotspots?method=count&window=all&cell={cell}"),
            &officer,
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(p["detail"].as_str().unwrap().contains("100"), "{p}");
    }
    // Without a cell, officers get the smallest they may have.
    let a = get(&env.app, "/api/v1/hotspots?window=all", &officer).await;
    a.expect(StatusCode::OK);
    assert_eq!(a.json()["firefly"]["params"]["cell"], 100.0);
    // Planners keep the fine grid.
    let planner = login(&env.app, "planner").await;
    get(
        &env.app,
        "/api/v1/hotspots?cell=10&window=all&bbox=-0.43,51.87,-0.41,51.89",
        &planner,
    )
    .await
    .expect(StatusCode::OK);
}

#[tokio::test]
async fn an_officer_cannot_narrow_the_time_to_a_day_or_half_an_hour() {
    let env = env();
    let officer = login(&env.app, "officer").await;
    for query in [
        "from=2024-03-01&to=2024-03-01",
        "from=2024-03-08&to=2024-03-09",
        "from=2024-03-02&to=2024-03-31",
        "from=2024-03-01",
        "to=2024-03-31",
        "window=fri@22:00-22:30",
        "window=fri@22:30-23:30",
        "window=all&from=2024-03-01&to=2024-03-15",
    ] {
        get(
            &env.app,
            &format!("/api/v1/hotspots?method=count&cell=100&{query}"),
            &officer,
        )
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    }
    // Whole months and whole hours are aggregates enough.
    for query in [
        "window=all&from=2024-03&to=2024-03",
        "window=all&from=2024-03-01&to=2024-04-30",
        "window=fri@22:00-23:00",
        "window=fri,sat@23:00-01:00",
    ] {
        get(
            &env.app,
            &format!("/api/v1/hotspots?method=count&cell=100&{query}"),
            &officer,
        )
        .await
        .expect(StatusCode::OK);
    }
}

#[tokio::test]
async fn an_officer_never_gets_a_cell_count_below_five_or_a_weight() {
    let env = env();
    let planner = login(&env.app, "planner").await;
    let officer = login(&env.app, "officer").await;
    let liaison = login(&env.app, "liaison").await;
    for method in ["count", "kde", "gistar", "prospective"] {
        let uri = format!("/api/v1/hotspots?method={method}&cell=100&window=all&all_cells=true");
        // The planner's answer holds the small counts an attacker wants.
        let exact = get(&env.app, &uri, &planner).await;
        exact.expect(StatusCode::OK);
        assert!(
            counts(&exact).iter().any(|c| matches!(c, Some(1..=4))),
            "{method}: the test data should have small cells"
        );
        for token in [&officer, &liaison] {
            let a = get(&env.app, &uri, token).await;
            a.expect(StatusCode::OK);
            let fc = a.json();
            for f in fc["features"].as_array().unwrap() {
                let p = &f["properties"];
                let c = p["count"].as_u64().unwrap();
                assert!(c >= 5 && c % 5 == 0, "{method}: count {c} in {p}");
                assert!(p.get("weight").is_none(), "{p}");
                assert!(p["score"].is_number(), "{p}");
            }
            assert_eq!(fc["firefly"]["disclosure"]["class"], "aggregate");
            assert_eq!(fc["firefly"]["disclosure"]["min_count"], 5);
        }
    }
}

#[tokio::test]
async fn a_planners_cached_answer_is_not_served_to_an_officer() {
    let env = env();
    let planner = login(&env.app, "planner").await;
    let officer = login(&env.app, "officer").await;
    let uri = "/api/v1/hotspots?method=count&cell=100&window=all";
    let first = get(&env.app, uri, &planner).await;
    assert_eq!(first.headers["x-firefly-cache"], "miss");
    assert!(counts(&first).iter().any(|c| matches!(c, Some(1..=4))));
    assert_eq!(
        get(&env.app, uri, &planner).await.headers["x-firefly-cache"],
        "hit"
    );
    let o = get(&env.app, uri, &officer).await;
    assert_eq!(o.headers["x-firefly-cache"], "miss", "its own entry");
    assert!(counts(&o).iter().all(|c| c.is_some_and(|c| c >= 5)));
    assert_ne!(o.body, first.body);
    let again = get(&env.app, uri, &officer).await;
    assert_eq!(again.headers["x-firefly-cache"], "hit");
    assert_eq!(again.body, o.body);
}

#[tokio::test]
async fn every_hotspot_and_zone_read_is_audited_cache_hits_included() {
    let env = env();
    let officer = login(&env.app, "officer").await;
    let uri = "/api/v1/hotspots?method=count&cell=200&window=all";
    for _ in 0..3 {
        get(&env.app, uri, &officer).await.expect(StatusCode::OK);
    }
    assert_eq!(env.audited("hotspots.read"), 3);
    let detail: String = env
        .conn()
        .query_row(
            "SELECT detail FROM audit WHERE action = 'hotspots.read' ORDER BY id DESC LIMIT 1",
            &[],
            |r| r.get(0),
        )
        .unwrap();
    let detail: Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["cache"], "hit");
    assert_eq!(detail["disclosure"], "aggregate");
    assert_eq!(detail["request"]["filters"]["cell"], 200.0);
    for _ in 0..2 {
        get(&env.app, "/api/v1/zones", &officer)
            .await
            .expect(StatusCode::OK);
    }
    assert_eq!(env.audited("zones.read"), 2);
}

#[tokio::test]
async fn an_officer_gets_the_preset_zones_only() {
    let env = env();
    let officer = login(&env.app, "officer").await;
    let planner = login(&env.app, "planner").await;
    for query in [
        "method=count&cell=10&hot_percent=100",
        "window=fri@22:00-22:30",
        "from=2024-03-01&to=2024-03-01",
        "cell=10",
    ] {
        get(&env.app, &format!("/api/v1/zones?{query}"), &officer)
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    }
    let preset = get(&env.app, "/api/v1/zones", &officer).await;
    preset.expect(StatusCode::OK);
    // The planner's default zones are the same answer (one cache entry).
    let same = get(&env.app, "/api/v1/zones", &planner).await;
    assert_eq!(same.headers["x-firefly-cache"], "hit");
    get(
        &env.app,
        &format!("/api/v1/zones?bbox={BBOX}&max_zones=5"),
        &officer,
    )
    .await
    .expect(StatusCode::OK);
}

#[tokio::test]
async fn analyses_over_the_work_budget_are_refused_before_scoring() {
    let env = env();
    let planner = login(&env.app, "planner").await;
    for uri in [
        format!("/api/v1/hotspots?cell=10&bandwidth=10000&window=all&bbox={BBOX}"),
        format!("/api/v1/hotspots?method=gistar&cell=10&distance=10000&window=all&bbox={BBOX}"),
        format!("/api/v1/zones?cell=10&hot_percent=100&max_radius=1&window=all&bbox={BBOX}"),
    ] {
        let started = std::time::Instant::now();
        let p = get(&env.app, &uri, &planner)
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            p["detail"].as_str().unwrap().contains("kernel evaluations"),
            "{uri}: {p}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{uri}"
        );
    }
    // The same place at sane settings is answered.
    get(
        &env.app,
        &format!("/api/v1/hotspots?cell=50&window=all&bbox={BBOX}"),
        &planner,
    )
    .await
    .expect(StatusCode::OK);
}

#[tokio::test]
async fn too_many_new_analyses_a_minute_are_refused_with_retry_after() {
    let env = env();
    let planner = login(&env.app, "planner").await;
    let officer = login(&env.app, "officer").await;
    let uri = |cell: u32| format!("/api/v1/hotspots?method=count&window=all&cell={cell}");
    for cell in 0..api::server::cache::MISSES_PER_MINUTE {
        get(&env.app, &uri(300 + cell), &planner)
            .await
            .expect(StatusCode::OK);
    }
    let a = get(&env.app, &uri(1000), &planner).await;
    a.assert_problem(StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = a.header(header::RETRY_AFTER).parse().unwrap();
    assert!((1..=60).contains(&retry));
    // Cached answers are still served, and other users are not held up.
    get(&env.app, &uri(300), &planner)
        .await
        .expect(StatusCode::OK);
    get(&env.app, &uri(1000), &officer)
        .await
        .expect(StatusCode::OK);
}

fn assert_browser_headers(a: &Answer, what: &str) {
    let csp = a.header(header::CONTENT_SECURITY_POLICY);
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "worker-src 'self' blob:",
        "img-src 'self' data: blob:",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ] {
        assert!(
            csp.contains(directive),
            "{what}: {directive} missing in {csp}"
        );
    }
    assert_eq!(a.header(header::REFERRER_POLICY), "no-referrer", "{what}");
    assert!(
        a.header(header::HeaderName::from_static("permissions-policy"))
            .contains("geolocation=(self)"),
        "{what}"
    );
    assert_eq!(
        a.header(header::X_CONTENT_TYPE_OPTIONS),
        "nosniff",
        "{what}"
    );
}

#[tokio::test]
async fn browser_security_headers_are_on_the_ui_and_on_api_answers() {
    let env = env();
    let planner = login(&env.app, "planner").await;
    let ui = call_as(&env.app, "GET", "/", Auth::None, None).await;
    assert_browser_headers(&ui, "/");
    let me = get(&env.app, "/api/v1/me", &planner).await;
    me.expect(StatusCode::OK);
    assert_browser_headers(&me, "/api/v1/me");
    let problem = call_as(&env.app, "GET", "/api/v1/me", Auth::None, None).await;
    assert_browser_headers(&problem, "a 401");
    // Secure cookies (the default) mean TLS in front: HSTS. Not in the development mode.
    assert_eq!(
        me.header(header::STRICT_TRANSPORT_SECURITY),
        "max-age=31536000"
    );
    let dev = AppState::new(
        env.config.clone(),
        ServerConfig {
            secure_cookie: false,
            ..ServerConfig::default()
        },
    )
    .unwrap();
    let a = call_as(&server::app(dev), "GET", "/healthz", Auth::None, None).await;
    assert_browser_headers(&a, "development");
    assert!(!a.headers.contains_key(header::STRICT_TRANSPORT_SECURITY));

    // Secure cookies mean TLS in front: HSTS too. A style basemap's origin may be fetched.
    let server = ServerConfig {
        secure_cookie: true,
        basemap: Some(Basemap::Style(
            "https://Tiles.Example.org/styles/liberty.json".into(),
        )),
        ..ServerConfig::default()
    };
    let state = AppState::new(env.config.clone(), server).unwrap();
    let app = server::app(state);
    let a = call_as(&app, "GET", "/healthz", Auth::None, None).await;
    assert_browser_headers(&a, "secure");
    assert_eq!(
        a.header(header::STRICT_TRANSPORT_SECURITY),
        "max-age=31536000"
    );
    assert!(
        a.header(header::CONTENT_SECURITY_POLICY)
            .contains("connect-src 'self' https://tiles.example.org;"),
        "{}",
        a.header(header::CONTENT_SECURITY_POLICY)
    );
}

/// A plan request over the test incidents (two units; the officer's is LN-FF1).
fn plan_body() -> Value {
    json!({
        "night": "2024-03-29", "seed": 7,
        "units": [
            {"callsign": "LN-FF1", "size": 2, "shift_start": "19:00", "shift_end": "03:00",
             "start_lon": -0.421262, "start_lat": 51.878543, "start_name": "Luton police station",
             "break_minutes": 45, "skills": ["first-aid"]},
            {"callsign": "LN-FF2", "size": 1, "shift_start": "20:00", "shift_end": "04:00",
             "start_lon": -0.421262, "start_lat": 51.878543, "start_name": "Luton police station",
             "break_minutes": 30, "skills": "first-aid"},
        ],
        "bbox": "-0.44,51.86,-0.40,51.90", "cell": 50, "hot_percent": 5, "max_zones": 6,
    })
}

#[tokio::test]
async fn an_officer_gets_only_their_own_unit_from_a_plan_and_its_rota() {
    let env = env();
    let planner = login(&env.app, "planner").await;
    let officer = login(&env.app, "officer").await;
    let a = post(&env.app, "/api/v1/plans", &planner, &plan_body()).await;
    a.expect(StatusCode::CREATED);
    let id = a.json()["id"].as_i64().unwrap();
    call(
        &env.app,
        "POST",
        &format!("/api/v1/plans/{id}/publish"),
        Some(&planner),
        None,
    )
    .await
    .expect(StatusCode::OK);

    let full = get(&env.app, &format!("/api/v1/plans/{id}"), &planner)
        .await
        .json();
    assert_eq!(full["callsigns"], json!(["LN-FF1", "LN-FF2"]));
    let mine = get(&env.app, &format!("/api/v1/plans/{id}"), &officer).await;
    mine.expect(StatusCode::OK);
    let mine = mine.json();
    assert_eq!(mine["callsigns"], json!(["LN-FF1"]));
    assert_eq!(mine["assignments"].as_array().unwrap().len(), 1);
    assert_eq!(mine["assignments"][0], full["assignments"][0]);
    let callsigns = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|u| u["callsign"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(callsigns(&mine["units"]), ["LN-FF1"]);
    assert_eq!(callsigns(&mine["problem"]["units"]), ["LN-FF1"]);
    assert!(
        !mine.to_string().contains("LN-FF2"),
        "no trace of the other unit"
    );
    assert!(mine["zones"][0].get("risk").is_none());

    let rota = get(&env.app, &format!("/api/v1/plans/{id}/rota.csv"), &officer).await;
    rota.expect(StatusCode::OK);
    let text = rota.text();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r.starts_with("LN-FF1,")), "{text}");
    let all = get(&env.app, &format!("/api/v1/plans/{id}/rota.csv"), &planner).await;
    assert_eq!(all.text().lines().count(), 2 * rows.len() + 1);
    // The calendar: own unit only, as before.
    get(
        &env.app,
        &format!("/api/v1/plans/{id}/units/LN-FF2/calendar.ics"),
        &officer,
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn ten_thousand_random_methods_leave_the_metrics_the_same_size() {
    let env = env();
    let admin = login(&env.app, "admin").await;
    // Not for anyone but admins.
    call_as(&env.app, "GET", "/metrics", Auth::None, None)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
    let officer = login(&env.app, "officer").await;
    get(&env.app, "/metrics", &officer)
        .await
        .assert_problem(StatusCode::FORBIDDEN);

    let send = |i: u64| {
        let method = format!("X{:016X}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let req = Request::builder()
            .method(method.as_str())
            .uri("/healthz")
            .body(Body::empty())
            .unwrap();
        send(&env.app, req)
    };
    send(0).await;
    // Once so that the scrape itself is counted in both.
    get(&env.app, "/metrics", &admin).await;
    let before = get(&env.app, "/metrics", &admin).await.text();
    let started = std::time::Instant::now();
    for i in 1..=10_000 {
        send(i).await;
        assert!(started.elapsed() < std::time::Duration::from_secs(120));
    }
    let after = get(&env.app, "/metrics", &admin).await.text();
    assert_eq!(before.lines().count(), after.lines().count(), "{after}");
    // Only counters' digits may differ (a label per token would add ~1 MB).
    assert!(
        after.len() < before.len() + 256,
        "{} -> {}",
        before.len(),
        after.len()
    );
    assert!(after.contains("method=\"other\""), "{after}");
}

#[tokio::test]
async fn a_cross_site_text_plain_import_is_refused() {
    let env = env();
    let planner = login(&env.app, "planner").await;
    let incidents = env.count("incidents");
    let csv = incidents_csv("csrf-", 10);
    for content_type in [Some("text/plain"), Some("text/plain;charset=UTF-8"), None] {
        // What a form or `fetch(..., {mode: "no-cors"})` on another site sends: the cookie,
        // and a simple content type. Refused as cross-site (403) by browsers that say so or
        // by an Origin check; and refused for its content type (415) even when it claims to
        // come from the UI itself.
        for (site, status) in [
            (None, StatusCode::FORBIDDEN),
            (Some("cross-site"), StatusCode::FORBIDDEN),
            (Some("same-origin"), StatusCode::UNSUPPORTED_MEDIA_TYPE),
        ] {
            let mut req = Request::post("/api/v1/imports/incidents")
                .header(header::COOKIE, format!("__Host-firefly_session={planner}"));
            if let Some(t) = content_type {
                req = req.header(header::CONTENT_TYPE, t);
            }
            if let Some(site) = site {
                req = req.header("sec-fetch-site", site);
            }
            let a = send(&env.app, req.body(Body::from(csv.clone())).unwrap()).await;
            a.assert_problem(status);
        }
    }
    assert_eq!(env.count("incidents"), incidents, "nothing was imported");
    // The same file as text/csv is imported.
    let req = Request::post("/api/v1/imports/incidents")
        .header(header::AUTHORIZATION, format!("Bearer {planner}"))
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(csv))
        .unwrap();
    send(&env.app, req).await.expect(StatusCode::CREATED);
}
