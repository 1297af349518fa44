//! The plans part of the HTTP API, through `server::app` with `oneshot` on a fresh SQLite
//! file per test: create (the same plan as `firefly plan`), read, publish, re-plan, the
//! rota CSV and calendars, the officer's itinerary, check-ins and dosage; the role matrix
//! of every plan route; malformed bodies.

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;

use api::roles::Role;
use axum::http::{StatusCode, header};
use common::{Env, call, env, get, login, post};
use serde_json::{Value, json};

/// The test night: Friday 29 March 2024, 18:00 to 06:00 GMT (the clocks change on the
/// Sunday after), 48 quarter-hour slots.
const NIGHT: &str = "2024-03-29";
const SLOTS: usize = 48;

fn roster() -> Value {
    json!([
        {"callsign": "LN-FF1", "size": 2, "shift_start": "19:00", "shift_end": "03:00",
         "start_lon": -0.421262, "start_lat": 51.878543, "start_name": "Luton police station",
         "break_minutes": 45, "skills": ["first-aid", "licensing"]},
        {"callsign": "LN-FF2", "size": 1, "shift_start": "20:00", "shift_end": "04:00",
         "start_lon": -0.421262, "start_lat": 51.878543, "start_name": "Luton police station",
         "break_minutes": 30, "skills": "first-aid"},
    ])
}

const ROSTER_CSV: &str = "callsign,size,shift_start,shift_end,start_lon,start_lat,start_name,break_minutes,skills\n\
    LN-FF1,2,19:00,03:00,-0.421262,51.878543,Luton police station,45,first-aid;licensing\n\
    LN-FF2,1,20:00,04:00,-0.421262,51.878543,Luton police station,30,first-aid\n";

/// A plan request over the test incidents: Luton's centre, small zones.
fn plan_body() -> Value {
    json!({
        "night": NIGHT, "units": roster(), "seed": 7,
        "bbox": "-0.44,51.86,-0.40,51.90", "cell": 50, "hot_percent": 5, "max_zones": 6,
    })
}

/// Creates a plan as the planner; its id.
async fn create(env: &Env, token: &str, body: &Value) -> i64 {
    let a = post(&env.app, "/api/v1/plans", token, body).await;
    a.expect(StatusCode::CREATED);
    let id = a.json()["id"].as_i64().unwrap();
    assert_eq!(a.header(header::LOCATION), format!("/api/v1/plans/{id}"));
    id
}

async fn publish(env: &Env, token: &str, id: i64) {
    call(
        &env.app,
        "POST",
        &format!("/api/v1/plans/{id}/publish"),
        Some(token),
        None,
    )
    .await
    .expect(StatusCode::OK);
}

/// The unit's index in a plan document.
fn unit_index(doc: &Value, callsign: &str) -> usize {
    doc["callsigns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c == callsign)
        .unwrap()
}

/// The first slot in which the unit patrols a zone: (slot, zone id).
fn first_patrol(doc: &Value, callsign: &str) -> (usize, String) {
    let u = unit_index(doc, callsign);
    doc["assignments"][u]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .find_map(|(i, a)| a["zone"].as_str().map(|z| (i, z.to_string())))
        .unwrap()
}

/// An instant inside a slot of the plan, RFC 3339.
fn during(doc: &Value, slot: usize) -> String {
    let start: jiff::Timestamp = doc["slots"][slot]["start_utc"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    (start + jiff::SignedDuration::from_mins(5)).to_string()
}

/// A point inside the zone's polygon (WGS84): (lon, lat).
fn inside(doc: &Value, zone: &str) -> (f64, f64) {
    use geo::InteriorPoint;
    let z = doc["zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["id"] == zone)
        .unwrap();
    let polygons: Vec<geo::Polygon<f64>> = z["polygon"]["coordinates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let rings: Vec<geo::LineString<f64>> = p
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    r.as_array()
                        .unwrap()
                        .iter()
                        .map(|c| (c[0].as_f64().unwrap(), c[1].as_f64().unwrap()))
                        .collect::<Vec<_>>()
                        .into()
                })
                .collect();
            geo::Polygon::new(rings[0].clone(), rings[1..].to_vec())
        })
        .collect();
    let p = geo::MultiPolygon::new(polygons).interior_point().unwrap();
    (p.x(), p.y())
}

#[tokio::test]
async fn a_plan_is_the_cli_plan_stored_as_a_draft_then_published() {
    let env = env();
    let planner = login(&env.app, "planner").await;
    let officer = login(&env.app, "officer").await;
    let a = post(&env.app, "/api/v1/plans", &planner, &plan_body()).await;
    a.expect(StatusCode::CREATED);
    let created = a.json();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(a.header(header::LOCATION), format!("/api/v1/plans/{id}"));
    assert_eq!(created["status"], "draft");
    assert_eq!(
        (created["units"].as_u64(), created["slots"].as_u64()),
        (Some(2), Some(48))
    );
    let (objective, bound) = (
        created["objective"].as_f64().unwrap(),
        created["bound"].as_f64().unwrap(),
    );
    assert!(objective > 0.0 && objective <= bound * (1.0 + 1e-12));
    assert!((created["gap"].as_f64().unwrap() - (bound - objective) / bound).abs() < 1e-9);

    // The stored document is the contract's plan JSON, and `firefly plan` with the same
    // roster and options makes exactly the same plan.
    let doc = get(&env.app, &format!("/api/v1/plans/{id}"), &planner).await;
    doc.expect(StatusCode::OK);
    let doc = doc.json();
    for key in [
        "params",
        "zones",
        "units",
        "slots",
        "assignments",
        "objective",
        "bound",
        "gap",
        "problem",
    ] {
        assert!(doc.get(key).is_some(), "{key} missing");
    }
    assert_eq!(doc["stored"]["status"], "draft");
    assert_eq!(doc["stored"]["version"], 1);
    assert_eq!(doc["stored"]["created_by"], "planner");
    assert_eq!(doc["slots"].as_array().unwrap().len(), SLOTS);
    let units = env.dir.path().join("units.csv");
    std::fs::write(&units, ROSTER_CSV).unwrap();
    let cli = cli_plan(&env, &units);
    assert_eq!(doc["assignments"], cli["assignments"]);
    assert_eq!(doc["objective"], cli["objective"]);
    assert_eq!(doc["zones"], cli["zones"]);
    // The roster as CSV text gives the same plan too.
    let mut body = plan_body();
    body.as_object_mut().unwrap().remove("units");
    body["units_csv"] = json!(ROSTER_CSV);
    let other = create(&env, &planner, &body).await;
    let again = get(&env.app, &format!("/api/v1/plans/{other}"), &planner)
        .await
        .json();
    assert_eq!(again["assignments"], doc["assignments"]);

    // Normalised: one assignment row per unit per slot.
    let conn = env.conn();
    let rows: i64 = conn
        .query_row(
            "SELECT count(*) FROM plan_assignments WHERE plan_id = ?1",
            &[&id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 2 * SLOTS as i64);
    let (slot, zone) = first_patrol(&doc, "LN-FF1");
    let stored_zone: String = conn
        .query_row(
            "SELECT zone_id FROM plan_assignments WHERE plan_id = ?1 AND callsign = 'LN-FF1' AND slot = ?2 AND kind = 'zone'",
            &[&id, &(slot as i64)],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored_zone, zone);

    // A draft is the planners': officers get 403 until it is published, once.
    get(&env.app, &format!("/api/v1/plans/{id}"), &officer)
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    get(&env.app, &format!("/api/v1/plans/{id}/rota.csv"), &officer)
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    publish(&env, &planner, id).await;
    let p = call(
        &env.app,
        "POST",
        &format!("/api/v1/plans/{id}/publish"),
        Some(&planner),
        None,
    )
    .await
    .assert_problem(StatusCode::CONFLICT);
    assert!(
        p["detail"].as_str().unwrap().contains("already published"),
        "{p}"
    );
    let seen = get(&env.app, &format!("/api/v1/plans/{id}"), &officer).await;
    seen.expect(StatusCode::OK);
    assert_eq!(seen.json()["stored"]["status"], "published");
    assert_eq!(seen.json()["stored"]["published_by"], "planner");
    get(&env.app, "/api/v1/plans/999", &planner)
        .await
        .assert_problem(StatusCode::NOT_FOUND);

    // Rota CSV: a header and one row per unit per slot.
    let csv = get(&env.app, &format!("/api/v1/plans/{id}/rota.csv"), &officer).await;
    csv.expect(StatusCode::OK);
    assert_eq!(csv.content_type(), "text/csv; charset=utf-8");
    assert_eq!(
        csv.header(header::CONTENT_DISPOSITION),
        format!("attachment; filename=\"firefly-plan-{id}-{NIGHT}.csv\"")
    );
    let text = csv.text();
    // The officer's own unit only (LN-FF1); planners get every unit's rows.
    assert_eq!(text.lines().count(), SLOTS + 1);
    assert!(
        text.lines().skip(1).all(|l| l.starts_with("LN-FF1,")),
        "{text}"
    );
    assert!(text.starts_with("callsign,slot,start_local,end_local,start_utc,activity,zone"));
    let all = get(&env.app, &format!("/api/v1/plans/{id}/rota.csv"), &planner).await;
    assert_eq!(all.text().lines().count(), 2 * SLOTS + 1);
    assert_eq!(
        seen.json()["callsigns"],
        json!(["LN-FF1"]),
        "the officer's plan holds their unit only"
    );

    // Calendars: the officer's own unit's, not another's; planners any unit's.
    let ics = get(
        &env.app,
        &format!("/api/v1/plans/{id}/units/LN-FF1/calendar.ics"),
        &officer,
    )
    .await;
    ics.expect(StatusCode::OK);
    assert_eq!(ics.content_type(), "text/calendar; charset=utf-8");
    assert_eq!(
        ics.header(header::CONTENT_DISPOSITION),
        "attachment; filename=\"LN-FF1.ics\""
    );
    let text = ics.text();
    let unfolded = icalendar::parser::unfold(&text);
    let cal = icalendar::parser::read_calendar(&unfolded).unwrap();
    let events: Vec<_> = cal
        .components
        .iter()
        .filter(|c| c.name == "VEVENT")
        .collect();
    assert!(!events.is_empty());
    let patrols = events
        .iter()
        .filter(|e| {
            e.properties
                .iter()
                .any(|p| p.name == "SUMMARY" && p.val.as_str().starts_with("Patrol"))
        })
        .count();
    assert!(patrols > 0, "{text}");
    let lower = get(
        &env.app,
        &format!("/api/v1/plans/{id}/units/ln-ff1/calendar.ics"),
        &officer,
    )
    .await;
    lower.expect(StatusCode::OK);
    let p = get(
        &env.app,
        &format!("/api/v1/plans/{id}/units/LN-FF2/calendar.ics"),
        &officer,
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN);
    assert!(p["detail"].as_str().unwrap().contains("LN-FF1"), "{p}");
    get(
        &env.app,
        &format!("/api/v1/plans/{id}/units/LN-FF2/calendar.ics"),
        &planner,
    )
    .await
    .expect(StatusCode::OK);
    get(
        &env.app,
        &format!("/api/v1/plans/{id}/units/XX-9/calendar.ics"),
        &planner,
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND);

    // Every read and write is in the audit log.
    for (action, n) in [
        ("plans.create", 2),
        // Refused reads show nothing, so log nothing.
        ("plans.read", 3),
        ("plans.publish", 1),
        ("plans.rota", 2),
        ("plans.calendar", 3),
    ] {
        assert_eq!(env.audited(action), n, "{action}");
    }
    let target: String = conn
        .query_row(
            "SELECT target FROM audit WHERE action = 'plans.create' ORDER BY id LIMIT 1",
            &[],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(target, format!("plan:{id}"));
}

/// `firefly plan` on the test's database with the roster file and `plan_body`'s options.
fn cli_plan(env: &Env, units: &std::path::Path) -> Value {
    use api::app::plan::plan_json;
    use api::commands::hotspots::{FilterArgs, MethodArgs};
    use api::commands::plan::{PlanArgs, make};
    use api::commands::zones::ZoneArgs;
    let args = PlanArgs {
        night: NIGHT.into(),
        units: units.to_path_buf(),
        slot: 15,
        seed: 7,
        second_unit_factor: 0.5,
        walking_speed: 4.5,
        detour: 1.3,
        output: None,
        csv: None,
        ics_dir: None,
        zone: ZoneArgs {
            method: "kde".into(),
            method_params: MethodArgs {
                bandwidth: planner::hotspots::DEFAULT_BANDWIDTH_M,
                distance: planner::hotspots::DEFAULT_DISTANCE_M,
                half_life: planner::hotspots::DEFAULT_HALF_LIFE_DAYS,
            },
            hot_percent: 5.0,
            max_radius: planner::zones::DEFAULT_MAX_RADIUS_M,
            max_zones: 6,
            filters: FilterArgs {
                cell: 50.0,
                window: "weekend-nights".into(),
                calendar: None,
                from: None,
                to: None,
                categories: vec![],
                bbox: Some("-0.44,51.86,-0.40,51.90".into()),
                boundary: None,
            },
        },
    };
    let planned = make(&env.config, &args)
        .map_err(|e| format!("{e:?}"))
        .unwrap();
    plan_json(&planned).unwrap()
}

#[tokio::test]
async fn the_officer_sees_their_own_itinerary_now_and_next_once_published() {
    let env = env();
    env.add_user("nounit", Role::Officer, None);
    let planner = login(&env.app, "planner").await;
    let officer = login(&env.app, "officer").await;
    let id = create(&env, &planner, &plan_body()).await;
    let doc = get(&env.app, &format!("/api/v1/plans/{id}"), &planner)
        .await
        .json();
    let (slot, zone) = first_patrol(&doc, "LN-FF1");
    let at = during(&doc, slot);
    let uri = format!("/api/v1/me/assignments?at={}", at.replace('+', "%2B"));
    // A draft is not shown.
    let none = get(&env.app, &uri, &officer).await;
    none.expect(StatusCode::OK);
    let none = none.json();
    assert_eq!(none["unit"], "LN-FF1");
    assert!(none["plan"].is_null() && none["now"].is_null());
    assert_eq!(none["itinerary"], json!([]));
    publish(&env, &planner, id).await;
    let it = get(&env.app, &uri, &officer).await;
    it.expect(StatusCode::OK);
    let it = it.json();
    assert_eq!(it["plan"]["id"], id);
    assert_eq!(it["plan"]["night"], NIGHT);
    assert_eq!(it["station"]["name"], "Luton police station");
    let now = &it["now"];
    assert_eq!(now["kind"], "zone");
    assert_eq!(now["zone"]["id"], zone.as_str());
    assert!(now["zone"]["name"].is_string());
    let centroid = now["zone"]["centroid"].as_array().unwrap();
    let (lon, lat) = (centroid[0].as_f64().unwrap(), centroid[1].as_f64().unwrap());
    assert!(
        (-0.44..-0.40).contains(&lon) && (51.86..51.90).contains(&lat),
        "{now}"
    );
    assert!(now["first_slot"].as_u64().unwrap() <= slot as u64);
    // Local times in GMT (before the clocks change) carry +00:00; UTC times end in Z.
    assert!(
        now["start_local"].as_str().unwrap().ends_with("+00:00"),
        "{now}"
    );
    assert!(now["start_utc"].as_str().unwrap().ends_with('Z'), "{now}");
    assert!(now["start_utc"].as_str().unwrap() <= at.as_str());
    let next = &it["next"];
    assert_ne!(next["kind"], "off");
    assert_eq!(next["first_slot"], now["last_slot"].as_i64().unwrap() + 1);
    // The itinerary: every leg that is not off, in order, covering the unit's zone slots.
    let legs = it["itinerary"].as_array().unwrap();
    assert!(legs.iter().all(|l| l["kind"] != "off"));
    assert!(
        legs.windows(2)
            .all(|w| w[0]["last_slot"].as_i64() < w[1]["first_slot"].as_i64())
    );
    let u = unit_index(&doc, "LN-FF1");
    let zone_slots = doc["assignments"][u]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a.get("zone").is_some())
        .count() as i64;
    let leg_slots: i64 = legs
        .iter()
        .filter(|l| l["kind"] == "zone")
        .map(|l| l["last_slot"].as_i64().unwrap() - l["first_slot"].as_i64().unwrap() + 1)
        .sum();
    assert_eq!(leg_slots, zone_slots);
    // The evening before: no leg now, the next one is the plan's.
    let before = get(
        &env.app,
        "/api/v1/me/assignments?at=2024-03-29T12:00:00Z",
        &officer,
    )
    .await
    .json();
    assert_eq!(before["plan"]["id"], id);
    assert!(before["now"].is_null());
    assert_eq!(before["next"], legs[0]);
    // The night after: nothing.
    let after = get(
        &env.app,
        "/api/v1/me/assignments?at=2024-03-30T12:00:00Z",
        &officer,
    )
    .await
    .json();
    assert!(after["plan"].is_null());
    // Only officers, and only with a unit; `at` must be an instant.
    let nounit = login(&env.app, "nounit").await;
    let p = get(&env.app, "/api/v1/me/assignments", &nounit)
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    assert!(p["detail"].as_str().unwrap().contains("no unit"), "{p}");
    get(&env.app, "/api/v1/me/assignments", &planner)
        .await
        .assert_problem(StatusCode::FORBIDDEN);
    get(&env.app, "/api/v1/me/assignments?at=tonight", &officer)
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    get(&env.app, "/api/v1/me/assignments?when=now", &officer)
        .await
        .assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(env.audited("itinerary.read"), 4);
}

#[tokio::test]
async fn replan_lists_the_changes_keeps_the_past_and_the_previous_version() {
    let env = env();
    let planner = login(&env.app, "planner").await;
    let id = create(&env, &planner, &plan_body()).await;
    publish(&env, &planner, id).await;
    let before = get(&env.app, &format!("/api/v1/plans/{id}"), &planner)
        .await
        .json();
    let uri = format!("/api/v1/plans/{id}/replan");
    let a = post(
        &env.app,
        &uri,
        &planner,
        &json!({"drop": "LN-FF2", "at": "23:00"}),
    )
    .await;
    a.expect(StatusCode::OK);
    let r = a.json();
    assert_eq!(r["id"], id);
    assert_eq!(r["version"], 2);
    assert_eq!(r["status"], "published", "a published plan stays published");
    let from = r["from_slot"].as_u64().unwrap() as usize;
    assert_eq!(from, 20, "23:00 is 5 hours after 18:00");
    let after = get(&env.app, &format!("/api/v1/plans/{id}"), &planner)
        .await
        .json();
    assert_eq!(after["stored"]["version"], 2);
    assert_eq!(after["objective"], r["objective"]);
    let (old_rows, new_rows) = (
        before["assignments"].as_array().unwrap(),
        after["assignments"].as_array().unwrap(),
    );
    for (old, new) in old_rows.iter().zip(new_rows) {
        assert_eq!(
            old.as_array().unwrap()[..from],
            new.as_array().unwrap()[..from],
            "the past is kept"
        );
    }
    let u = unit_index(&after, "LN-FF2");
    assert!(
        new_rows[u].as_array().unwrap()[from..]
            .iter()
            .all(|a| *a == json!({"off": true}))
    );
    // Every changed slot is listed, with what it was and is.
    let changes = r["changes"].as_array().unwrap();
    assert!(!changes.is_empty());
    let mut differing = Vec::new();
    for (u, (o, n)) in old_rows.iter().zip(new_rows).enumerate() {
        for (t, (a, b)) in o
            .as_array()
            .unwrap()
            .iter()
            .zip(n.as_array().unwrap())
            .enumerate()
        {
            if a != b {
                differing.push((
                    after["callsigns"][u].as_str().unwrap().to_string(),
                    t,
                    a.clone(),
                    b.clone(),
                ));
            }
        }
    }
    assert_eq!(changes.len(), differing.len());
    for c in changes {
        let key = (
            c["callsign"].as_str().unwrap().to_string(),
            c["slot"].as_u64().unwrap() as usize,
            c["before"].clone(),
            c["after"].clone(),
        );
        assert!(differing.contains(&key), "{c}");
    }
    assert_eq!(
        after["replan"]["changes"].as_array().unwrap().len(),
        changes.len()
    );
    // The normalised rows follow the new version; the old document is kept.
    let conn = env.conn();
    let off: i64 = conn
        .query_row(
            "SELECT count(*) FROM plan_assignments WHERE plan_id = ?1 AND callsign = 'LN-FF2' AND slot >= ?2 AND kind = 'off'",
            &[&id, &(from as i64)],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(off, (SLOTS - from) as i64);
    let (version, kept): (i64, String) = conn
        .query_row(
            "SELECT version, document FROM plan_versions WHERE plan_id = ?1",
            &[&id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(version, 1);
    let kept: Value = serde_json::from_str(&kept).unwrap();
    assert_eq!(kept["assignments"], before["assignments"]);
    // A unit joins from slot 30 (a slot number); its past is off.
    let join = json!({"join": {"callsign": "LN-FF9", "size": 1, "shift_start": "22:00", "shift_end": "04:00",
        "start_lon": -0.421262, "start_lat": 51.878543}, "at": 30});
    let j = post(&env.app, &uri, &planner, &join).await;
    j.expect(StatusCode::OK);
    let j = j.json();
    assert_eq!(
        (j["version"].as_i64(), j["from_slot"].as_u64()),
        (Some(3), Some(30))
    );
    assert!(
        j["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["callsign"] == "LN-FF9")
    );
    let three = get(&env.app, &format!("/api/v1/plans/{id}"), &planner)
        .await
        .json();
    let u = unit_index(&three, "LN-FF9");
    assert!(
        three["assignments"][u].as_array().unwrap()[..30]
            .iter()
            .all(|a| *a == json!({"off": true}))
    );
    assert_eq!(env.count("plan_versions"), 2);
    // Invalid changes are refused and change nothing.
    for (body, status) in [
        (
            json!({"drop": "XX-1", "at": "23:00"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"drop": "LN-FF1", "at": "25:99"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (json!({"at": "23:00"}), StatusCode::UNPROCESSABLE_ENTITY),
        (
            json!({"drop": "LN-FF1", "join": join["join"], "at": "23:00"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"drop": "LN-FF1", "at": "23:00", "why": "sick"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"join": {"callsign": "LN-FF8", "size": 3, "shift_start": "22:00", "shift_end": "04:00",
            "start_lon": -0.42, "start_lat": 51.87}, "at": 30}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let p = post(&env.app, &uri, &planner, &body)
            .await
            .assert_problem(status);
        assert!(
            !p["detail"].as_str().unwrap().contains("--"),
            "API names, not flags: {p}"
        );
    }
    post(
        &env.app,
        "/api/v1/plans/999/replan",
        &planner,
        &json!({"drop": "LN-FF1", "at": "23:00"}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND);
    assert_eq!(env.count("plan_versions"), 2);
    assert_eq!(env.audited("plans.replan"), 2);
    let v: i64 = conn
        .query_row("SELECT version FROM plans WHERE id = ?1", &[&id], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(v, 3);
}

#[tokio::test]
async fn checkins_match_the_zone_and_slot_and_count_in_the_dosage() {
    let env = env();
    let planner = login(&env.app, "planner").await;
    let officer = login(&env.app, "officer").await;
    let id = create(&env, &planner, &plan_body()).await;
    let doc = get(&env.app, &format!("/api/v1/plans/{id}"), &planner)
        .await
        .json();
    let (slot, zone) = first_patrol(&doc, "LN-FF1");
    let at = during(&doc, slot);
    let (lon, lat) = inside(&doc, &zone);
    // Before publication there is no plan to match: stored, matched to nothing.
    let a = post(
        &env.app,
        "/api/v1/checkins",
        &officer,
        &json!({"lon": lon, "lat": lat, "at": at}),
    )
    .await;
    a.expect(StatusCode::CREATED);
    let c = a.json();
    assert!(c["plan_id"].is_null() && c["zone"].is_null() && c["slot"].is_null());
    assert_eq!(c["on_plan"], false);
    publish(&env, &planner, id).await;
    // Inside the zone the unit is planned in: on plan.
    let c = post(
        &env.app,
        "/api/v1/checkins",
        &officer,
        &json!({"lon": lon, "lat": lat, "at": at}),
    )
    .await
    .json();
    assert_eq!(c["plan_id"], id);
    assert_eq!(c["slot"], slot as u64);
    assert_eq!(c["zone"], zone.as_str());
    assert_eq!(c["planned_zone"], zone.as_str());
    assert_eq!(c["matched"], "inside");
    assert_eq!(c["on_plan"], true);
    // Twice in the same slot: two check-ins, one visit achieved.
    post(
        &env.app,
        "/api/v1/checkins",
        &officer,
        &json!({"lon": lon, "lat": lat, "at": at}),
    )
    .await
    .expect(StatusCode::CREATED);
    // Far from every zone: no zone, not on plan, but the slot is known.
    let c = post(
        &env.app,
        "/api/v1/checkins",
        &officer,
        &json!({"lon": -0.30, "lat": 51.95, "at": at}),
    )
    .await
    .json();
    assert!(c["zone"].is_null(), "{c}");
    assert_eq!(c["matched"], "none");
    assert_eq!(c["on_plan"], false);
    assert_eq!(c["slot"], slot as u64);
    assert_eq!(c["planned_zone"], zone.as_str());
    // In the zone, but in a slot the unit is elsewhere (its first slot: off, at the station).
    let c = post(
        &env.app,
        "/api/v1/checkins",
        &officer,
        &json!({"lon": lon, "lat": lat, "at": during(&doc, 0)}),
    )
    .await
    .json();
    assert_eq!(c["zone"], zone.as_str());
    assert!(c["planned_zone"].is_null());
    assert_eq!(c["on_plan"], false);
    // Without `at`: now, which no plan covers.
    let c = post(
        &env.app,
        "/api/v1/checkins",
        &officer,
        &json!({"lon": lon, "lat": lat}),
    )
    .await
    .json();
    assert!(c["plan_id"].is_null());
    let stored: (i64, String, i64) = env
        .conn()
        .query_row(
            "SELECT user_id, unit, on_plan FROM checkins WHERE id = 2",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!((stored.1.as_str(), stored.2), ("LN-FF1", 1));
    // Invalid check-ins are refused and store nothing.
    let n = env.count("checkins");
    let future = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1)).to_string();
    for body in [
        json!({"lon": 200.0, "lat": 51.9}),
        json!({"lon": -0.42, "lat": 51.9, "at": "tonight"}),
        json!({"lon": -0.42, "lat": 51.9, "at": future}),
        json!({"lon": -0.42}),
        json!({"lon": -0.42, "lat": 51.9, "unit": "LN-FF2"}),
    ] {
        post(&env.app, "/api/v1/checkins", &officer, &body)
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
    }
    call(
        &env.app,
        "POST",
        "/api/v1/checkins",
        Some(&officer),
        Some("{\"lon\": "),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST);
    assert_eq!(env.count("checkins"), n);
    assert_eq!(env.audited("checkins.create"), n);
    // Dosage: planned visits against achieved, per zone.
    let d = get(&env.app, &format!("/api/v1/plans/{id}/dosage"), &planner).await;
    d.expect(StatusCode::OK);
    let d = d.json();
    assert_eq!(d["plan_id"], id);
    assert_eq!(d["checkins_outside_zones"], 1);
    let zones = d["zones"].as_array().unwrap();
    assert_eq!(zones.len(), doc["zones"].as_array().unwrap().len());
    let z = zones.iter().find(|z| z["zone"] == zone.as_str()).unwrap();
    let planned = doc["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap())
        .filter(|a| a["zone"] == zone.as_str())
        .count();
    assert_eq!(z["planned_visits"], planned);
    assert_eq!(z["planned_minutes"], 15 * planned);
    assert_eq!(z["checkins"], 3);
    assert_eq!(z["achieved_visits"], 2, "slot {slot} twice, and slot 0");
    assert_eq!(z["on_plan_visits"], 1);
    assert!((z["on_plan_share"].as_f64().unwrap() - 1.0 / planned as f64).abs() < 1e-12);
    for other in zones.iter().filter(|z| z["zone"] != zone.as_str()) {
        assert_eq!(other["checkins"], 0);
    }
    assert_eq!(env.audited("plans.dosage"), 1);
}

#[tokio::test]
async fn malformed_plan_bodies_are_problem_details_and_write_nothing() {
    let env = env();
    let planner = login(&env.app, "planner").await;
    let with = |key: &str, value: Value| {
        let mut b = plan_body();
        b[key] = value;
        b
    };
    let mut both = plan_body();
    both["units_csv"] = json!(ROSTER_CSV);
    let mut neither = plan_body();
    neither.as_object_mut().unwrap().remove("units");
    let mut bad_row = roster();
    bad_row[1]["size"] = json!(3);
    bad_row[0]["shift_start"] = json!("7pm");
    let cases: Vec<(Value, &str)> = vec![
        (with("night", json!("29/03/2024")), "night"),
        (with("units", json!([])), "no units"),
        (with("units", bad_row), "units[1]: size"),
        (
            with("units", json!([{"callsign": "LN-1"}])),
            "missing field",
        ),
        (
            with(
                "units",
                json!([{"callsign": "LN-1", "size": 1, "shift_start": "19:00", "shift_end": "03:00",
            "start_lon": -0.42, "start_lat": 51.87, "rank": "PC"}]),
            ),
            "unknown field",
        ),
        (
            with("units_csv", json!("callsign,size\nLN-1,1\n")),
            "units_csv",
        ),
        (both, "not both"),
        (neither, "either"),
        (with("slot", json!(7000)), "slot"),
        (with("detour", json!(0.5)), "detour"),
        (with("window", json!("someday")), "window"),
        (with("method", json!("magic")), "method"),
        (with("max_zones", json!(0)), "max_zones"),
        (with("bbox", json!("1,2,3")), "bbox"),
        (with("colour", json!("blue")), "unknown field"),
        (
            with("bbox", json!("-0.10,51.50,-0.09,51.51")),
            "no patrol zones",
        ),
    ];
    for (body, needle) in cases {
        let p = post(&env.app, "/api/v1/plans", &planner, &body)
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
        let detail = p["detail"].as_str().unwrap();
        assert!(detail.contains(needle), "{needle:?} not in {detail:?}");
        assert!(!detail.contains("--"), "API names, not flags: {detail}");
    }
    // Not JSON, or not declared as JSON.
    call(
        &env.app,
        "POST",
        "/api/v1/plans",
        Some(&planner),
        Some("{\"night\": "),
    )
    .await
    .assert_problem(StatusCode::BAD_REQUEST);
    let mut req = axum::http::Request::builder()
        .method("POST")
        .uri("/api/v1/plans")
        .header(header::AUTHORIZATION, format!("Bearer {planner}"));
    req = req.header(header::CONTENT_TYPE, "text/plain");
    let res = tower::ServiceExt::oneshot(
        env.app.clone(),
        req.body(axum::body::Body::from(plan_body().to_string()))
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    for table in ["plans", "plan_assignments", "plan_versions", "checkins"] {
        assert_eq!(env.count(table), 0, "{table}");
    }
    assert_eq!(env.audited("plans.create"), 0);
    // Path ids that are not numbers.
    get(&env.app, "/api/v1/plans/abc", &planner)
        .await
        .assert_problem(StatusCode::BAD_REQUEST);
}

type Row = (&'static str, &'static str, String, Option<Value>, [u16; 5]);

/// Every plan route by every role, and without a session: (method, route as the OpenAPI
/// document names it, concrete path, body, expected status for no session, planner,
/// officer, liaison, admin). Plan 1 is published (the officer's unit is LN-FF1), plan 2 a
/// draft; plan 3 is published by the first planner request of the matrix.
fn matrix(at: &str) -> Vec<Row> {
    let new_plan = plan_body();
    vec![
        (
            "POST",
            "/api/v1/plans",
            "/api/v1/plans".into(),
            Some(new_plan),
            [401, 201, 403, 403, 201],
        ),
        (
            "GET",
            "/api/v1/plans",
            "/api/v1/plans".into(),
            None,
            [401, 200, 200, 403, 200],
        ),
        (
            "GET",
            "/api/v1/plans",
            "/api/v1/plans?status=draft".into(),
            None,
            [401, 200, 403, 403, 200],
        ),
        (
            "GET",
            "/api/v1/plans/{id}",
            "/api/v1/plans/1".into(),
            None,
            [401, 200, 200, 403, 200],
        ),
        (
            "GET",
            "/api/v1/plans/{id}",
            "/api/v1/plans/2".into(),
            None,
            [401, 200, 403, 403, 200],
        ),
        (
            "POST",
            "/api/v1/plans/{id}/publish",
            "/api/v1/plans/3/publish".into(),
            None,
            [401, 200, 403, 403, 409],
        ),
        (
            "POST",
            "/api/v1/plans/{id}/replan",
            "/api/v1/plans/2/replan".into(),
            Some(json!({"drop": "LN-FF2", "at": "23:00"})),
            [401, 200, 403, 403, 200],
        ),
        (
            "GET",
            "/api/v1/plans/{id}/rota.csv",
            "/api/v1/plans/1/rota.csv".into(),
            None,
            [401, 200, 200, 403, 200],
        ),
        (
            "GET",
            "/api/v1/plans/{id}/rota.csv",
            "/api/v1/plans/2/rota.csv".into(),
            None,
            [401, 200, 403, 403, 200],
        ),
        (
            "GET",
            "/api/v1/plans/{id}/units/{callsign}/calendar.ics",
            "/api/v1/plans/1/units/LN-FF1/calendar.ics".into(),
            None,
            [401, 200, 200, 403, 200],
        ),
        (
            "GET",
            "/api/v1/plans/{id}/units/{callsign}/calendar.ics",
            "/api/v1/plans/1/units/LN-FF2/calendar.ics".into(),
            None,
            [401, 200, 403, 403, 200],
        ),
        (
            "GET",
            "/api/v1/plans/{id}/dosage",
            "/api/v1/plans/1/dosage".into(),
            None,
            [401, 200, 403, 403, 200],
        ),
        (
            "GET",
            "/api/v1/me/assignments",
            format!("/api/v1/me/assignments?at={at}"),
            None,
            [401, 403, 200, 403, 403],
        ),
        (
            "POST",
            "/api/v1/checkins",
            "/api/v1/checkins".into(),
            Some(json!({"lon": -0.4168, "lat": 51.8787, "at": at})),
            [401, 403, 201, 403, 403],
        ),
    ]
}

#[tokio::test]
async fn plans_role_matrix_every_route_by_every_role_and_no_session() {
    let env = env();
    let planner = login(&env.app, "planner").await;
    for _ in 0..3 {
        create(&env, &planner, &plan_body()).await;
    }
    publish(&env, &planner, 1).await;
    let mut tokens = vec![None];
    for role in Role::ALL {
        tokens.push(Some(login(&env.app, role.as_str()).await));
    }
    let who = ["no session", "planner", "officer", "liaison", "admin"];
    let at = "2024-03-29T21:05:00Z";
    // Plan 3 is published by the matrix's planner row, so the admin's try is a conflict.
    for (method, _, path, body, expected) in matrix(at) {
        for (i, token) in tokens.iter().enumerate() {
            let body = body.as_ref().map(Value::to_string);
            let a = call(&env.app, method, &path, token.as_deref(), body.as_deref()).await;
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
    // Every plan route the OpenAPI document lists, with each of its methods, is in the
    // matrix (`http.rs` checks the other routes).
    let doc = call(&env.app, "GET", "/api/openapi.json", None, None)
        .await
        .json();
    let rows = matrix(at);
    let mut plan_routes = 0;
    for (route, item) in doc["paths"].as_object().unwrap() {
        if !is_plan_route(route) {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            plan_routes += 1;
            assert!(
                rows.iter()
                    .any(|r| r.1 == route && r.0.eq_ignore_ascii_case(method)),
                "{method} {route} is not in the plans role matrix"
            );
            assert_eq!(item[method]["tags"][0], "plans", "{route}");
            assert!(item[method]["responses"]["401"].is_object(), "{route}");
        }
    }
    assert_eq!(plan_routes, 10);
}

#[tokio::test]
async fn the_plan_list_shows_drafts_to_planners_and_published_plans_to_officers() {
    let env = env();
    let planner = login(&env.app, "planner").await;
    let officer = login(&env.app, "officer").await;
    let first = create(&env, &planner, &plan_body()).await;
    let mut later = plan_body();
    later["night"] = json!("2024-03-30");
    let second = create(&env, &planner, &later).await;
    publish(&env, &planner, first).await;

    let all = get(&env.app, "/api/v1/plans", &planner).await.json();
    let plans = all["plans"].as_array().unwrap();
    let ids: Vec<i64> = plans.iter().map(|p| p["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [second, first], "latest night first");
    let doc = get(&env.app, &format!("/api/v1/plans/{first}"), &planner)
        .await
        .json();
    let listed = &plans[1];
    assert_eq!(listed["status"], "published");
    assert_eq!(listed["night"], doc["stored"]["night"]);
    assert_eq!(listed["gap"], doc["gap"]);
    assert_eq!(
        listed["units"],
        json!(doc["units"].as_array().unwrap().len())
    );
    assert_eq!(
        listed["zones"],
        json!(doc["zones"].as_array().unwrap().len())
    );
    assert_eq!(listed["created_by"], "planner");
    assert_eq!(plans[0]["status"], "draft");

    // Filters: by status and by night.
    let drafts = get(&env.app, "/api/v1/plans?status=draft", &planner)
        .await
        .json();
    assert_eq!(drafts["plans"].as_array().unwrap().len(), 1);
    let by_night = get(
        &env.app,
        "/api/v1/plans?from=2024-03-30&to=2024-03-30",
        &planner,
    )
    .await
    .json();
    assert_eq!(by_night["plans"][0]["id"], second);
    assert_eq!(by_night["plans"].as_array().unwrap().len(), 1);

    // Officers see the published plan only, whatever they ask for.
    let seen = get(&env.app, "/api/v1/plans", &officer).await.json();
    let ids: Vec<i64> = seen["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [first]);
    for bad in ["status=archived", "from=2024-13-01", "colour=red"] {
        let a = get(&env.app, &format!("/api/v1/plans?{bad}"), &planner).await;
        assert!(a.status.is_client_error(), "{bad}: {}", a.status);
        a.assert_problem(a.status);
    }
    // Listing is audited.
    let listed: i64 = env
        .conn()
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'plans.list'",
            &[],
            |r| r.get(0),
        )
        .unwrap();
    assert!(listed >= 4, "{listed}");
}

/// The routes this file's matrix covers (`http.rs` leaves them to it).
fn is_plan_route(route: &str) -> bool {
    route.starts_with("/api/v1/plans")
        || route == "/api/v1/me/assignments"
        || route == "/api/v1/checkins"
}
