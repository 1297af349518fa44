//! Issue 15 over HTTP: hotspot answers carry their validation on held-out periods (one block
//! for the study area, whatever the viewport), and zones say which method `auto` chose.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use axum::http::StatusCode;
use serde_json::Value;

mod common;
use common::*;

/// Weekend nights from January to March 2024 around three Luton hubs: three 28-day
/// held-out periods with a month or more of history before each.
fn quarter_csv() -> String {
    let mut s = String::from("id,occurred_at,lat,lon,category\n");
    let hubs = [(51.8787, -0.4168), (51.8810, -0.4200), (51.8760, -0.4120)];
    let mut date = jiff::civil::date(2024, 1, 5);
    let mut i = 0;
    while date <= jiff::civil::date(2024, 3, 30) {
        for k in 0..6 {
            let (lat, lon) = hubs[(i + k) % hubs.len()];
            let d = ((i * 37 + k * 11) % 9) as f64 * 0.0003;
            s.push_str(&format!(
                "q{i}-{k},{date}T23:{:02}:00+00:00,{:.6},{:.6},violence\n",
                k * 7,
                lat + d,
                lon - d
            ));
        }
        i += 1;
        // Friday -> Saturday -> next Friday.
        date = date
            .checked_add(jiff::Span::new().days(
                if date.weekday() == jiff::civil::Weekday::Friday {
                    1
                } else {
                    6
                },
            ))
            .unwrap();
    }
    s
}

#[tokio::test]
async fn every_hotspot_answer_carries_the_areas_validation() {
    let env = env();
    env.import_incidents("quarter.csv", &quarter_csv());
    let planner = login(&env.app, "planner").await;
    let whole = get(
        &env.app,
        "/api/v1/hotspots?method=kde&window=all&cell=100",
        &planner,
    )
    .await;
    whole.expect(StatusCode::OK);
    let v = whole.json()["firefly"]["validation"].clone();
    assert_eq!(v["available"], true, "{v}");
    assert_eq!(v["method"], "kde");
    assert_eq!(v["unit"], "days");
    assert!(!v["periods"].as_array().unwrap().is_empty());
    assert!(
        v["summary"].as_str().unwrap().starts_with("kde PAI at 1 %"),
        "{v}"
    );

    // A viewport gets the block of the whole area, not of what it shows.
    let viewport = get(
        &env.app,
        "/api/v1/hotspots?method=kde&window=all&cell=100&bbox=-0.425,51.875,-0.41,51.885",
        &planner,
    )
    .await;
    viewport.expect(StatusCode::OK);
    assert_eq!(viewport.json()["firefly"]["validation"], v);

    // And can do without it.
    let bare = get(
        &env.app,
        "/api/v1/hotspots?method=kde&window=all&cell=100&validation=false",
        &planner,
    )
    .await;
    bare.expect(StatusCode::OK);
    assert!(bare.json()["firefly"]["validation"].is_null());
}

/// A viewport asked before its whole area never waits for the area's validation: the
/// block is computed in the background, the first answers say it is pending, and once it is
/// there a viewport carries the same block as the whole area's answer.
#[tokio::test]
async fn a_viewport_first_gets_the_block_once_the_background_has_it() {
    let env = env();
    env.import_incidents("quarter.csv", &quarter_csv());
    let planner = login(&env.app, "planner").await;
    let viewport =
        "/api/v1/hotspots?method=kde&window=all&cell=100&bbox=-0.425,51.875,-0.41,51.885";
    let first = get(&env.app, viewport, &planner).await;
    first.expect(StatusCode::OK);
    let block = first.json()["firefly"]["validation"].clone();
    let mut tries = 0;
    let mut last = block.clone();
    if block["pending"] == true {
        assert_eq!(block["available"], false, "{block}");
        // Within 30 s (a bounded wait): the block lands in the cache, and the next answer has it.
        while last["pending"] == true && tries < 300 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            let again = get(&env.app, viewport, &planner).await;
            again.expect(StatusCode::OK);
            last = again.json()["firefly"]["validation"].clone();
            tries += 1;
        }
    }
    assert_eq!(last["available"], true, "{last}");
    let whole = get(
        &env.app,
        "/api/v1/hotspots?method=kde&window=all&cell=100",
        &planner,
    )
    .await;
    assert_eq!(whole.json()["firefly"]["validation"], last);
    // The answer with the block is cached like any other (asked once more first, in case
    // the block landed while the first answer was computed, which is then cached apart).
    assert!(
        tries > 0 || block["available"] == true,
        "the first answer was pending and no later one was asked: {block}"
    );
    get(&env.app, viewport, &planner)
        .await
        .expect(StatusCode::OK);
    let cached = get(&env.app, viewport, &planner).await;
    assert_eq!(cached.headers["x-firefly-cache"], "hit");
    assert_eq!(cached.json()["firefly"]["validation"], last);
}

#[tokio::test]
async fn zones_default_to_the_method_that_validates_best() {
    let env = env();
    env.import_incidents("quarter.csv", &quarter_csv());
    let planner = login(&env.app, "planner").await;
    let a = get(&env.app, "/api/v1/zones?window=all&cell=100", &planner).await;
    a.expect(StatusCode::OK);
    let doc: Value = a.json();
    let choice = &doc["firefly"]["method_choice"];
    let candidates = choice["candidates"].as_array().unwrap();
    assert_eq!(candidates.len(), 2, "{choice}");
    let pai = |c: &Value| c["pai_mean"].as_f64().unwrap();
    let (kde, ensemble) = (pai(&candidates[0]), pai(&candidates[1]));
    let expected = if ensemble > kde { "ensemble" } else { "kde" };
    assert_eq!(choice["method"], expected, "{choice}");
    assert_eq!(doc["firefly"]["method"], expected);
    // A named method is used as named, with no choice to report.
    let a = get(
        &env.app,
        "/api/v1/zones?window=all&cell=100&method=gistar",
        &planner,
    )
    .await;
    a.expect(StatusCode::OK);
    assert_eq!(a.json()["firefly"]["method"], "gistar");
    assert!(a.json()["firefly"]["method_choice"].is_null());
}
