//! Issue 13's attacks on logins and sessions, each performed through `server::app`: login
//! floods, bursts past the rate limiter, IPv6 address hopping, clients hidden behind a TLS
//! proxy, locking other people out, cross-site writes with the session cookie.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use api::config::{LoginLimits, ServerConfig};
use api::server;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

mod common;
use common::*;

/// A login request from `peer` with extra headers.
fn login_from(peer: &str, user: &str, password: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut req =
        Request::post("/api/v1/auth/login").header(header::CONTENT_TYPE, "application/json");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req
        .body(Body::from(
            json!({"username": user, "password": password}).to_string(),
        ))
        .unwrap();
    let ip: IpAddr = peer.parse().unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(ip, 40_000)));
    req
}

async fn status_of(app: &Router, req: Request<Body>) -> StatusCode {
    send(app, req).await.status
}

/// The `auth.login` rows: (actor, remote_addr, detail).
fn login_rows(env: &Env) -> Vec<(Option<String>, Option<String>, Value)> {
    env.conn()
        .query_map(
            "SELECT actor, remote_addr, detail FROM audit WHERE action = 'auth.login' ORDER BY id",
            &[],
            |r| {
                let detail: String = r.get(2)?;
                Ok((r.get(0)?, r.get(1)?, serde_json::from_str(&detail).unwrap()))
            },
        )
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_checks_at_most_the_pool_at_once_and_others_are_still_answered() {
    let env = env_with(ServerConfig {
        login_hashes: 2,
        ..ServerConfig::default()
    });
    let planner = login(&env.app, "planner").await;
    get(&env.app, "/api/v1/me", &planner)
        .await
        .expect(StatusCode::OK);
    let started = Instant::now();
    // 600 wrong logins at once, each from its own address and for its own name, so that
    // the rate limiter lets every one through: only the hashing pool stands in the way.
    let tasks: Vec<_> = (0..600)
        .map(|i| {
            let app = env.app.clone();
            tokio::spawn(async move {
                let peer = format!("10.0.{}.{}", i / 250, i % 250 + 1);
                send(&app, login_from(&peer, &format!("nobody{i}"), "guess", &[])).await
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let asked = Instant::now();
    let me = get(&env.app, "/api/v1/me", &planner).await;
    me.expect(StatusCode::OK);
    assert!(
        asked.elapsed() < Duration::from_secs(1),
        "/me took {:?} during the flood",
        asked.elapsed()
    );
    let mut statuses = Vec::new();
    for t in tasks {
        let a = tokio::time::timeout(Duration::from_secs(60), t)
            .await
            .expect("every login is answered within a minute")
            .unwrap();
        if a.status == StatusCode::SERVICE_UNAVAILABLE {
            a.assert_problem(StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(a.header(header::RETRY_AFTER), "2");
        }
        statuses.push(a.status);
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    let busy = statuses
        .iter()
        .filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(busy + refused, 600, "{statuses:?}");
    assert!(busy > 0, "the flood should outrun two hashes at once");
    let peak = env
        .state
        .metrics
        .hashes_peak
        .load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (1..=2).contains(&peak),
        "peak verifications in flight: {peak}"
    );
    let admin = login(&env.app, "admin").await;
    let metrics = get(&env.app, "/metrics", &admin).await.text();
    assert!(
        metrics.contains(&format!("firefly_login_hashes_in_flight_peak {peak}")),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!("firefly_logins_busy_total {busy}")),
        "{metrics}"
    );
    // A busy answer did not count against anyone: the right password still works.
    assert_eq!(
        status_of(&env.app, login_from("10.0.0.1", "officer", PASSWORD, &[])).await,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_from_one_client_cannot_pass_the_limit() {
    let env = env();
    let limit = LoginLimits::default().per_user as usize;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let app = env.app.clone();
            tokio::spawn(async move {
                status_of(&app, login_from("203.0.113.5", "officer", "guess", &[])).await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    let count = |s: StatusCode| statuses.iter().filter(|x| **x == s).count();
    let (checked, limited) = (
        count(StatusCode::UNAUTHORIZED),
        count(StatusCode::TOO_MANY_REQUESTS),
    );
    assert!(
        (1..=limit).contains(&checked),
        "{checked} passwords checked"
    );
    assert_eq!(
        checked + limited + count(StatusCode::SERVICE_UNAVAILABLE),
        50,
        "{statuses:?}"
    );
    assert!(limited >= 50 - limit - count(StatusCode::SERVICE_UNAVAILABLE));
}

#[tokio::test]
async fn ipv6_addresses_in_one_64_share_a_key() {
    let env = env();
    for i in 1..=5 {
        let peer = format!("2001:db8:1:2::{i:x}");
        assert_eq!(
            status_of(&env.app, login_from(&peer, "officer", "guess", &[])).await,
            StatusCode::UNAUTHORIZED
        );
    }
    // Another address of the same /64: refused, even with the right password.
    let a = send(
        &env.app,
        login_from("2001:db8:1:2:ffff:ffff:ffff:fffe", "officer", PASSWORD, &[]),
    )
    .await;
    a.assert_problem(StatusCode::TOO_MANY_REQUESTS);
    // The next /64 is another client.
    assert_eq!(
        status_of(
            &env.app,
            login_from("2001:db8:1:3::1", "officer", PASSWORD, &[])
        )
        .await,
        StatusCode::OK
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_limited_and_audited() {
    let env = env_with(ServerConfig {
        trusted_proxies: vec!["10.0.0.2".parse().unwrap()],
        ..ServerConfig::default()
    });
    let proxy = "10.0.0.2";
    // The client wrote a hop of its own at the left; the proxy appended the real address.
    let xff = |client: &'static str| [("x-forwarded-for", client)];
    for _ in 0..5 {
        let req = login_from(proxy, "officer", "guess", &xff("6.6.6.6, 198.51.100.7"));
        assert_eq!(status_of(&env.app, req).await, StatusCode::UNAUTHORIZED);
    }
    let req = login_from(proxy, "officer", PASSWORD, &xff("7.7.7.7, 198.51.100.7"));
    assert_eq!(
        status_of(&env.app, req).await,
        StatusCode::TOO_MANY_REQUESTS,
        "the client behind the proxy is what is limited"
    );
    // Another client through the same proxy is not.
    let req = login_from(proxy, "officer", PASSWORD, &xff("198.51.100.8"));
    let a = send(&env.app, req).await;
    a.expect(StatusCode::OK);
    let token = a.json()["token"].as_str().unwrap().to_string();
    let rows = login_rows(&env);
    let refused: Vec<_> = rows
        .iter()
        .filter(|r| r.2["outcome"] == "refused")
        .collect();
    assert!(!refused.is_empty());
    for (actor, addr, detail) in &refused {
        assert_eq!(actor.as_deref(), Some("officer"));
        assert_eq!(addr.as_deref(), Some("198.51.100.7"), "{detail}");
        assert_eq!(detail["via"], proxy, "{detail}");
    }
    let ok = rows.last().unwrap();
    assert_eq!(
        (ok.1.as_deref(), &ok.2["via"]),
        (Some("198.51.100.8"), &json!(proxy))
    );
    let session_addr: String = env
        .conn()
        .query_row(
            "SELECT remote_addr FROM sessions ORDER BY id DESC LIMIT 1",
            &[],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(session_addr, "198.51.100.8");
    // Reads are audited with the client too, and `Forwarded` is read (IPv6, quoted).
    let mut req = Request::get("/api/v1/hotspots?window=all")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header("forwarded", "for=\"[2001:db8::5]:4711\";proto=https")
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::new(proxy.parse().unwrap(), 1)));
    send(&env.app, req).await.expect(StatusCode::OK);
    let (addr, detail): (String, String) = env
        .conn()
        .query_row(
            "SELECT remote_addr, detail FROM audit WHERE action = 'hotspots.read' ORDER BY id DESC LIMIT 1",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(addr, "2001:db8::5");
    assert!(detail.contains("\"via\":\"10.0.0.2\""), "{detail}");

    // An untrusted peer's X-Forwarded-For is ignored: it cannot pose as many clients.
    for i in 0..5 {
        let fake = format!("192.0.2.{i}");
        let req = login_from(
            "203.0.113.9",
            "liaison",
            "guess",
            &[("x-forwarded-for", fake.as_str())],
        );
        assert_eq!(status_of(&env.app, req).await, StatusCode::UNAUTHORIZED);
    }
    let req = login_from(
        "203.0.113.9",
        "liaison",
        PASSWORD,
        &[("x-forwarded-for", "192.0.2.200")],
    );
    assert_eq!(
        status_of(&env.app, req).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let addrs: Vec<Option<String>> = login_rows(&env)
        .into_iter()
        .filter(|r| r.0.as_deref() == Some("liaison"))
        .map(|r| r.1)
        .collect();
    assert!(
        addrs.iter().all(|a| a.as_deref() == Some("203.0.113.9")),
        "{addrs:?}"
    );
}

#[tokio::test]
async fn one_attackers_failures_do_not_lock_a_name_out_for_another_client() {
    let env = env();
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(
            status_of(
                &env.app,
                login_from("203.0.113.66", "planner", "guess", &[]),
            )
            .await,
        );
    }
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS));
    // The planner, at the station, logs in.
    let started = Instant::now();
    assert_eq!(
        status_of(
            &env.app,
            login_from("198.51.100.20", "planner", PASSWORD, &[])
        )
        .await,
        StatusCode::OK
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    // The attacker is still refused, also with the right password.
    assert_eq!(
        status_of(
            &env.app,
            login_from("203.0.113.66", "planner", PASSWORD, &[])
        )
        .await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[tokio::test]
async fn refused_logins_are_audited_once_a_minute_per_name_and_client_with_a_count() {
    let env = env_with(ServerConfig {
        login_limits: LoginLimits {
            per_user: 1_000,
            per_addr: 1_000,
            name_delay_after: 1_000,
            ..LoginLimits::default()
        },
        ..ServerConfig::default()
    });
    for _ in 0..40 {
        let req = login_from("203.0.113.77", "officer", "guess", &[]);
        assert_eq!(status_of(&env.app, req).await, StatusCode::UNAUTHORIZED);
    }
    let rows = login_rows(&env);
    // One row (two or three if a minute ended during the test), not forty.
    assert!((1..=3).contains(&rows.len()), "{rows:?}");
    server::auth::flush_login_audit(&env.state, true).await;
    let rows = login_rows(&env);
    let total: u64 = rows.iter().map(|r| r.2["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 40, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r.2["reason"] == "wrong password" && r.1.as_deref() == Some("203.0.113.77"))
    );
    assert!(rows.iter().any(|r| r.2["summary"] == true), "{rows:?}");
}

/// A cookie-authenticated request with these headers.
fn with_cookie(
    method: &str,
    uri: &str,
    token: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, String)>,
) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "firefly.test")
        .header(header::COOKIE, format!("__Host-firefly_session={token}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    match body {
        Some((content_type, b)) => req
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(b))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    }
}

#[tokio::test]
async fn a_cross_site_cookie_write_is_refused_and_the_same_with_a_bearer_token_passes() {
    let env = env();
    let planner = login(&env.app, "planner").await;
    let cross = [("sec-fetch-site", "cross-site")];
    // Logout: refused from another site, and the session still works.
    for headers in [
        &cross[..],
        &[("sec-fetch-site", "same-site")][..],
        &[("origin", "https://evil.example")][..],
        &[("origin", "null")][..],
        &[][..],
    ] {
        let a = send(
            &env.app,
            with_cookie("POST", "/api/v1/auth/logout", &planner, headers, None),
        )
        .await;
        let p = a.assert_problem(StatusCode::FORBIDDEN);
        assert!(p["detail"].as_str().unwrap().contains("refused"), "{p}");
    }
    let p = send(
        &env.app,
        with_cookie("POST", "/api/v1/auth/logout", &planner, &[], None),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN);
    assert!(
        p["detail"].as_str().unwrap().contains("neither header"),
        "{p}"
    );
    get(&env.app, "/api/v1/me", &planner)
        .await
        .expect(StatusCode::OK);
    // Reading with the cookie is not affected.
    send(
        &env.app,
        with_cookie("GET", "/api/v1/me", &planner, &cross, None),
    )
    .await
    .expect(StatusCode::OK);

    // Import: refused cross-site with the cookie; the same request with a bearer passes.
    let incidents = env.count("incidents");
    let csv = incidents_csv("xsite-", 10);
    let a = send(
        &env.app,
        with_cookie(
            "POST",
            "/api/v1/imports/incidents",
            &planner,
            &cross,
            Some(("text/csv", csv.clone())),
        ),
    )
    .await;
    a.assert_problem(StatusCode::FORBIDDEN);
    assert_eq!(env.count("incidents"), incidents);
    let req = Request::post("/api/v1/imports/incidents")
        .header(header::AUTHORIZATION, format!("Bearer {planner}"))
        .header("sec-fetch-site", "cross-site")
        .header(header::CONTENT_TYPE, "text/csv")
        .body(Body::from(csv))
        .unwrap();
    send(&env.app, req).await.expect(StatusCode::CREATED);

    // Publish: a plan made with the bearer token, then published from another site.
    let body = json!({
        "night": "2024-03-29", "seed": 7,
        "units": [
            {"callsign": "LN-FF1", "size": 2, "shift_start": "19:00", "shift_end": "03:00",
             "start_lon": -0.421262, "start_lat": 51.878543, "start_name": "Luton police station",
             "break_minutes": 45, "skills": ["first-aid"]},
        ],
        "bbox": "-0.44,51.86,-0.40,51.90", "cell": 50, "hot_percent": 5, "max_zones": 4,
    });
    let a = post(&env.app, "/api/v1/plans", &planner, &body).await;
    a.expect(StatusCode::CREATED);
    let id = a.json()["id"].as_i64().unwrap();
    let publish = format!("/api/v1/plans/{id}/publish");
    send(
        &env.app,
        with_cookie("POST", &publish, &planner, &cross, None),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN);
    send(
        &env.app,
        with_cookie(
            "POST",
            &publish,
            &planner,
            &[("origin", "https://evil.example")],
            None,
        ),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN);
    // From the UI's own page: by Sec-Fetch-Site, or by an Origin naming this host.
    let a = send(
        &env.app,
        with_cookie(
            "POST",
            &publish,
            &planner,
            &[("origin", "https://firefly.test")],
            None,
        ),
    )
    .await;
    assert!(a.status.is_success(), "{}", a.text());
    let out = send(
        &env.app,
        with_cookie(
            "POST",
            "/api/v1/auth/logout",
            &planner,
            &[("sec-fetch-site", "same-origin")],
            None,
        ),
    )
    .await;
    out.expect(StatusCode::NO_CONTENT);
    assert!(
        out.header(header::SET_COOKIE)
            .starts_with("__Host-firefly_session=;")
    );
}

#[tokio::test]
async fn with_a_public_origin_only_that_origin_may_write_with_the_cookie() {
    let env = env_with(ServerConfig {
        public_origin: Some("https://firefly.example.org".into()),
        ..ServerConfig::default()
    });
    let admin = login(&env.app, "admin").await;
    // The Host the proxy passed on is not enough: the configured origin is.
    send(
        &env.app,
        with_cookie(
            "POST",
            "/api/v1/auth/logout",
            &admin,
            &[("origin", "https://firefly.test")],
            None,
        ),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN);
    send(
        &env.app,
        with_cookie(
            "POST",
            "/api/v1/auth/logout",
            &admin,
            &[("origin", "https://firefly.example.org")],
            None,
        ),
    )
    .await
    .expect(StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_login_from_another_site_is_refused() {
    let env = env();
    for headers in [
        &[("sec-fetch-site", "cross-site")][..],
        &[("sec-fetch-site", "same-site")][..],
        &[("origin", "https://evil.example"), ("host", "firefly.test")][..],
    ] {
        send(
            &env.app,
            login_from("198.51.100.1", "planner", PASSWORD, headers),
        )
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    }
    assert_eq!(env.count("sessions"), 0);
    for headers in [
        &[("sec-fetch-site", "same-origin")][..],
        &[("origin", "https://firefly.test"), ("host", "firefly.test")][..],
        &[][..],
    ] {
        assert_eq!(
            status_of(
                &env.app,
                login_from("198.51.100.1", "planner", PASSWORD, headers)
            )
            .await,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn the_cookie_is_host_prefixed_and_secure_by_default() {
    let env = env();
    let a = send(
        &env.app,
        login_from("198.51.100.1", "officer", PASSWORD, &[]),
    )
    .await;
    a.expect(StatusCode::OK);
    let cookie = a.header(header::SET_COOKIE);
    let token = a.json()["token"].as_str().unwrap().to_string();
    assert!(
        cookie.starts_with(&format!("__Host-firefly_session={token};")),
        "{cookie}"
    );
    let attrs: Vec<&str> = cookie.split(';').map(str::trim).collect();
    for attr in ["Secure", "Path=/", "HttpOnly", "SameSite=Strict"] {
        assert!(attrs.contains(&attr), "{cookie} lacks {attr}");
    }
    assert!(!cookie.to_ascii_lowercase().contains("domain"), "{cookie}");
    assert_eq!(
        a.header(header::STRICT_TRANSPORT_SECURITY),
        "max-age=31536000"
    );
    // A secure server reads only the prefixed cookie: a plain one, which a sibling host
    // could have planted, is no session, even with a valid token in it.
    let me = |name: &str| {
        Request::get("/api/v1/me")
            .header(header::COOKIE, format!("{name}={token}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        status_of(&env.app, me("firefly_session")).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status_of(&env.app, me("__Host-firefly_session")).await,
        StatusCode::OK
    );
    // And `firefly serve` resolves to it on loopback too, unless told otherwise.
    let resolved = ServerConfig::resolve(
        &Default::default(),
        api::config::ServerOverrides {
            addr: Some("127.0.0.1:8080".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(resolved.secure_cookie);
}
