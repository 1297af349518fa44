//! Issue 14, accountability and durability, end to end against real SQLite files and the
//! real binary: the audit log's hash chain finds a changed or removed row, a backup taken
//! during an import holds all of it or none, retention deletes exactly what is older than
//! its date (and stays verifiable), accounts are disabled at once, common passwords are
//! refused, and a killed server keeps every acknowledged check-in.

#![cfg(unix)]
#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

#[path = "common/mod.rs"]
mod common;
use api::storage::Location;
use common::cli::{firefly, firefly_cmd, firefly_stdin, text};
use common::serve::{self, Server};
use common::{PASSWORD, police_uk};

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn add_user(db: &Path, name: &str, role: &str) {
    ok(&firefly_stdin(
        db,
        &["users", "add", name, "--role", role, "--password-stdin"],
        &format!("{PASSWORD}\n"),
    ));
}

fn one(db: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A database with three users (so three audit rows).
fn db_with_users(dir: &Path) -> PathBuf {
    let db = dir.join("firefly.db");
    for (name, role) in [("ana", "planner"), ("bo", "officer"), ("cy", "admin")] {
        add_user(&db, name, role);
    }
    db
}

#[test]
fn audit_verify_names_a_changed_or_removed_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_users(dir.path());
    let out = ok(&firefly(&db, &["audit", "verify"]));
    assert!(out.starts_with("3 rows, chain intact, head 3 "), "{out}");
    let head = ok(&firefly(&db, &["audit", "head"]));
    let (id, hash) = head.trim().split_once(' ').unwrap();
    assert_eq!((id, hash.len()), ("3", 64));
    assert!(out.trim().ends_with(hash), "{out} / {head}");
    ok(&firefly(&db, &["audit", "verify", "--head", id, hash]));

    // The database file is private to its owner.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&db).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // With the triggers dropped, a changed row is found by its id.
    let copy = dir.path().join("changed.db");
    std::fs::copy(&db, &copy).unwrap();
    let conn = rusqlite::Connection::open(&copy).unwrap();
    conn.execute_batch(
        "DROP TRIGGER audit_no_update; UPDATE audit SET actor = 'someone else' WHERE id = 2;",
    )
    .unwrap();
    drop(conn);
    let out = firefly(&copy, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("row 2:"),
        "{}",
        text(&out.stderr)
    );

    // A removed row in the middle, and one cut off the end.
    for (sql, row) in [
        ("DELETE FROM audit WHERE id = 2", "row 2:"),
        ("DELETE FROM audit WHERE id = 3", "row 3:"),
    ] {
        let copy = dir.path().join("removed.db");
        let _ = std::fs::remove_file(&copy);
        std::fs::copy(&db, &copy).unwrap();
        let conn = rusqlite::Connection::open(&copy).unwrap();
        conn.execute_batch(&format!("DROP TRIGGER audit_no_delete; {sql};"))
            .unwrap();
        drop(conn);
        let out = firefly(&copy, &["audit", "verify"]);
        assert_eq!(out.status.code(), Some(1), "{sql}");
        assert!(
            text(&out.stderr).contains(row),
            "{sql}: {}",
            text(&out.stderr)
        );
    }

    // The shipped head catches a log rewritten from some row on.
    let out = firefly(&db, &["audit", "verify", "--head", "3", &"0".repeat(64)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("row 3"), "{}", text(&out.stderr));
}

#[test]
fn a_backup_during_an_import_holds_all_of_it_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_users(dir.path());
    let small = dir.path().join("small.csv");
    std::fs::write(&small, police_uk(1_000, "s")).unwrap();
    ok(&firefly(
        &db,
        &["import", "incidents", small.to_str().unwrap()],
    ));
    let big = dir.path().join("big.csv");
    std::fs::write(&big, police_uk(150_000, "b")).unwrap();

    let import = firefly_cmd(&db, &["import", "incidents", big.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut copies = Vec::new();
    let mut import = import;
    for n in 0.. {
        let copy = dir.path().join(format!("copy{n}.db"));
        ok(&firefly(&db, &["backup", copy.to_str().unwrap()]));
        copies.push(copy);
        if import.try_wait().unwrap().is_some() || n > 40 {
            break;
        }
    }
    assert!(import.wait().unwrap().success());
    let after = one(&db, "SELECT count(*) FROM incidents");
    assert_eq!(after, 151_000);
    let counts: Vec<i64> = copies
        .iter()
        .map(|c| {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(c).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            one(c, "SELECT count(*) FROM incidents")
        })
        .collect();
    assert!(
        counts.iter().all(|&n| n == 1_000 || n == after),
        "{counts:?}"
    );

    // A copy restores to a database equal to it, and the restore is itself logged.
    let copy = &copies[0];
    let restored = dir.path().join("restored.db");
    ok(&firefly(&restored, &["restore", copy.to_str().unwrap()]));
    assert_eq!(one(&restored, "SELECT count(*) FROM incidents"), counts[0]);
    assert_eq!(
        one(
            &restored,
            "SELECT count(*) FROM audit WHERE action = 'db.restore'"
        ),
        1
    );
    ok(&firefly(&restored, &["audit", "verify"]));

    // A damaged copy, or one from a newer firefly, is refused and nothing is replaced.
    let newer = dir.path().join("newer.db");
    std::fs::copy(copy, &newer).unwrap();
    rusqlite::Connection::open(&newer)
        .unwrap()
        .pragma_update(None, "user_version", 999)
        .unwrap();
    let out = firefly(&restored, &["restore", newer.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("newer"), "{}", text(&out.stderr));
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![7u8; 8192]).unwrap();
    let out = firefly(&restored, &["restore", junk.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(one(&restored, "SELECT count(*) FROM incidents"), counts[0]);
}

#[test]
fn cli_reads_and_imports_are_logged_with_the_os_account_and_purpose() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("firefly.db");
    let small = dir.path().join("small.csv");
    std::fs::write(&small, police_uk(50, "s")).unwrap();
    let out = firefly_cmd(&db, &["import", "incidents", small.to_str().unwrap()])
        .env("USER", "mallory")
        .env("LOGNAME", "mallory")
        .output()
        .unwrap();
    ok(&out);
    let out = firefly_cmd(
        &db,
        &[
            "--purpose",
            "weekly briefing",
            "hotspots",
            "--window",
            "all",
        ],
    )
    .env("USER", "mallory")
    .output()
    .unwrap();
    ok(&out);
    // With no purpose, a read still works and is still logged.
    ok(&firefly(
        &db,
        &["hotspots", "--window", "all", "--method", "kde"],
    ));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let rows: Vec<(String, String, String)> = conn
        .prepare("SELECT action, actor, detail FROM audit ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let actions: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        actions,
        ["import.incidents", "incidents.read", "incidents.read"]
    );
    let me = std::fs::metadata("/proc/self")
        .map(|m| {
            use std::os::unix::fs::MetadataExt;
            m.uid()
        })
        .ok();
    for (_, actor, detail) in &rows {
        assert!(actor.starts_with("cli:"), "{actor}");
        if me.is_some_and(|uid| uid != 0) || actor != "cli:root" {
            assert_ne!(actor, "cli:mallory", "the actor is not read from $USER");
        }
        let d: serde_json::Value = serde_json::from_str(detail).unwrap();
        assert_eq!(d["uid"].as_u64(), me.map(u64::from));
    }
    let hot: serde_json::Value = serde_json::from_str(&rows[1].2).unwrap();
    assert_eq!(hot["purpose"], "weekly briefing");
    assert_eq!(hot["command"], "hotspots");
    let imported: serde_json::Value = serde_json::from_str(&rows[0].2).unwrap();
    assert_eq!(imported["added"], 50);
    // A common password is refused by the CLI too.
    let out = firefly_stdin(
        &db,
        &[
            "users",
            "add",
            "kim",
            "--role",
            "planner",
            "--password-stdin",
        ],
        "password1234\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("too common"),
        "{}",
        text(&out.stderr)
    );
    // A blank purpose is refused (exit 2) before anything runs.
    let out = firefly(&db, &["--purpose", " ", "hotspots"]);
    assert_eq!(out.status.code(), Some(2));
    ok(&firefly(&db, &["audit", "verify"]));
}

mod http {
    use super::common::{call, env, env_with, get, login};
    use axum::http::StatusCode;
    use serde_json::json;

    #[tokio::test]
    async fn a_disabled_users_live_session_stops_at_once() {
        let env = env();
        let admin = login(&env.app, "admin").await;
        let planner = login(&env.app, "planner").await;
        // The session works, and is now in the server's 2-second session cache.
        get(&env.app, "/api/v1/me", &planner)
            .await
            .expect(StatusCode::OK);
        let body = json!({"disabled": true}).to_string();
        let a = call(
            &env.app,
            "PATCH",
            "/api/v1/users/Planner",
            Some(&admin),
            Some(&body),
        )
        .await;
        a.expect(StatusCode::OK);
        assert_eq!(a.json()["disabled"], true);
        assert_eq!(a.json()["sessions_revoked"], 1);
        get(&env.app, "/api/v1/me", &planner)
            .await
            .assert_problem(StatusCode::UNAUTHORIZED);
        // No new session either, until enabled again.
        let creds = json!({"username": "planner", "password": super::PASSWORD}).to_string();
        let a = call(&env.app, "POST", "/api/v1/auth/login", None, Some(&creds)).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        let body = json!({"disabled": false}).to_string();
        call(
            &env.app,
            "PATCH",
            "/api/v1/users/planner",
            Some(&admin),
            Some(&body),
        )
        .await
        .expect(StatusCode::OK);
        let again = login(&env.app, "planner").await;
        // Ending sessions: the new one stops too.
        let body = json!({"revoke_sessions": true}).to_string();
        call(
            &env.app,
            "PATCH",
            "/api/v1/users/planner",
            Some(&admin),
            Some(&body),
        )
        .await
        .expect(StatusCode::OK);
        get(&env.app, "/api/v1/me", &again)
            .await
            .assert_problem(StatusCode::UNAUTHORIZED);
        assert_eq!(env.audited("user.disable"), 1);
        assert_eq!(env.audited("user.enable"), 1);
        assert_eq!(env.audited("user.revoke_sessions"), 1);
        // Only admins may; unknown users are 404.
        let other = login(&env.app, "liaison").await;
        call(
            &env.app,
            "PATCH",
            "/api/v1/users/planner",
            Some(&other),
            Some(&body),
        )
        .await
        .assert_problem(StatusCode::FORBIDDEN);
        call(
            &env.app,
            "PATCH",
            "/api/v1/users/nobody",
            Some(&admin),
            Some(&body),
        )
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn a_common_password_is_refused_and_a_new_one_ends_sessions() {
        let env = env();
        let admin = login(&env.app, "admin").await;
        let officer = login(&env.app, "officer").await;
        for weak in ["password1234", "qwertyuiop123", "officer12345"] {
            let body = json!({ "password": weak }).to_string();
            let a = call(
                &env.app,
                "PATCH",
                "/api/v1/users/officer",
                Some(&admin),
                Some(&body),
            )
            .await;
            let p = a.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
            assert!(p["detail"].as_str().unwrap().contains("password"), "{p}");
        }
        get(&env.app, "/api/v1/me", &officer)
            .await
            .expect(StatusCode::OK);
        let body = json!({"password": "amber kettle orbit saxophone"}).to_string();
        call(
            &env.app,
            "PATCH",
            "/api/v1/users/officer",
            Some(&admin),
            Some(&body),
        )
        .await
        .expect(StatusCode::OK);
        get(&env.app, "/api/v1/me", &officer)
            .await
            .assert_problem(StatusCode::UNAUTHORIZED);
        let creds = json!({"username": "officer", "password": "amber kettle orbit saxophone"});
        call(
            &env.app,
            "POST",
            "/api/v1/auth/login",
            None,
            Some(&creds.to_string()),
        )
        .await
        .expect(StatusCode::OK);
    }

    #[tokio::test]
    async fn training_records_are_corrected_or_withdrawn_with_history() {
        let env = env();
        let liaison = login(&env.app, "liaison").await;
        let (premises, record, staff): (i64, i64, i64) = env
            .conn()
            .query_row(
                "SELECT premises_id, id, staff_trained FROM training_records ORDER BY id LIMIT 1",
                &[],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        let uri = format!("/api/v1/premises/{premises}/training/{record}");
        let fix = json!({"staff_trained": staff + 1, "reason": "miscounted"}).to_string();
        let a = call(&env.app, "PATCH", &uri, Some(&liaison), Some(&fix)).await;
        a.expect(StatusCode::OK);
        assert_eq!(a.json()["before"]["staff_trained"], staff);
        assert_eq!(a.json()["after"]["staff_trained"], staff + 1);
        let both = json!({"withdrawn": true, "course": "x", "reason": "r"}).to_string();
        call(&env.app, "PATCH", &uri, Some(&liaison), Some(&both))
            .await
            .assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
        let gone = json!({"withdrawn": true, "reason": "entered twice"}).to_string();
        call(&env.app, "PATCH", &uri, Some(&liaison), Some(&gone))
            .await
            .expect(StatusCode::OK);
        call(&env.app, "PATCH", &uri, Some(&liaison), Some(&gone))
            .await
            .assert_problem(StatusCode::NOT_FOUND);
        let list = get(
            &env.app,
            &format!("/api/v1/premises/{premises}/training"),
            &liaison,
        )
        .await;
        list.expect(StatusCode::OK);
        assert!(
            !list.text().contains(&format!("\"id\":{record},")),
            "{}",
            list.text()
        );
        let history: Vec<(String, String)> = env
            .conn()
            .query_map(
                "SELECT change, reason FROM training_history WHERE training_id = ?1 ORDER BY id",
                &[&record],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            history,
            [
                ("corrected".to_string(), "miscounted".to_string()),
                ("withdrawn".to_string(), "entered twice".to_string())
            ]
        );
        assert_eq!(env.audited("training.correct"), 1);
        assert_eq!(env.audited("training.withdraw"), 1);
        assert!(
            env.conn()
                .execute("DELETE FROM training_history", &[])
                .is_err()
        );
    }

    #[tokio::test]
    async fn an_idle_session_ends() {
        let env = env();
        let planner = login(&env.app, "planner").await;
        // Unused for two hours (the default idle timeout is one).
        let two_hours_ago =
            api::storage::utc_text(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(2));
        env.conn()
            .execute(
                "UPDATE sessions SET created_at = ?1, last_seen_at = ?1",
                &[&two_hours_ago],
            )
            .unwrap();
        get(&env.app, "/api/v1/me", &planner)
            .await
            .assert_problem(StatusCode::UNAUTHORIZED);
        let fresh = login(&env.app, "planner").await;
        get(&env.app, "/api/v1/me", &fresh)
            .await
            .expect(StatusCode::OK);
    }

    #[tokio::test]
    async fn readyz_shows_free_disk_space_to_admins_only() {
        let env = env();
        let admin = login(&env.app, "admin").await;
        let planner = login(&env.app, "planner").await;
        let a = get(&env.app, "/readyz", &admin).await;
        a.expect(StatusCode::OK);
        // The free space of a PostgreSQL server's disk is not the API's to know.
        if env.db().sqlite_path().is_some() {
            assert!(
                a.json()["disk_free_bytes"].as_u64().unwrap() > 0,
                "{}",
                a.text()
            );
        }
        let a = get(&env.app, "/readyz", &planner).await;
        a.expect(StatusCode::OK);
        assert!(a.json().get("disk_free_bytes").is_none(), "{}", a.text());
        // A database upgraded under the server: not ready, and says why.
        env.set_schema_version(api::storage::SCHEMA_VERSION + 1);
        let a = call(&env.app, "GET", "/readyz", None, None).await;
        let p = a.assert_problem(StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            p["detail"]
                .as_str()
                .unwrap()
                .contains("newer than this server"),
            "{p}"
        );
    }

    /// The detail of the one `incidents.read` audit entry.
    fn read_detail(env: &super::common::Env) -> serde_json::Value {
        let detail: String = env
            .conn()
            .query_row(
                "SELECT detail FROM audit WHERE action = 'incidents.read'",
                &[],
                |r| r.get(0),
            )
            .unwrap();
        serde_json::from_str(&detail).unwrap()
    }

    #[tokio::test]
    async fn incident_points_need_a_purpose_which_is_logged() {
        // The contract's plain call is served by default, and logged without a purpose.
        let open = env();
        let planner = login(&open.app, "planner").await;
        get(&open.app, "/api/v1/incidents", &planner)
            .await
            .expect(StatusCode::OK);
        let d = read_detail(&open);
        assert!(d["purpose"].is_null(), "{d}");
        // A server that requires a purpose refuses the read, before anything leaves.
        let env = env_with(api::config::ServerConfig {
            require_purpose: true,
            ..Default::default()
        });
        let planner = login(&env.app, "planner").await;
        let a = get(&env.app, "/api/v1/incidents", &planner).await;
        let p = a.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(p["detail"].as_str().unwrap().contains("purpose"), "{p}");
        assert_eq!(env.audited("incidents.read"), 0);
        get(
            &env.app,
            "/api/v1/incidents?purpose=map%3A%20planner%20incident%20layer",
            &planner,
        )
        .await
        .expect(StatusCode::OK);
        let d = read_detail(&env);
        assert_eq!(d["purpose"], "map: planner incident layer");
    }
}

#[test]
fn retention_deletes_exactly_the_older_rows_and_the_chain_still_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_users(dir.path()); // audit rows 1 to 3
    let settings = dir.path().join("firefly.toml");
    std::fs::write(
        &settings,
        "[retention]\ncheckins_months = 0\nsessions_months = 0\naudit_months = 0\n",
    )
    .unwrap();
    let cfg = settings.to_str().unwrap();
    // Old and new check-ins and sessions, stamped around the cut-off.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "INSERT INTO checkins (user_id, unit, on_plan, matched, lon, lat, at, received_at)
         VALUES (2, 'LN-FF1', 0, 'none', -0.41, 51.88, '2020-01-01T00:00:00Z', '2020-01-01T00:00:00Z'),
                (2, 'LN-FF1', 0, 'none', -0.41, 51.88, '2030-01-01T00:00:00Z', '2030-01-01T00:00:00Z');
         INSERT INTO sessions (token_sha256, user_id, created_at, expires_at)
         VALUES ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 1,
                 '2020-01-01T00:00:00Z', '2020-01-01T12:00:00Z'),
                ('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 1,
                 '2030-01-01T00:00:00Z', '2030-01-01T12:00:00Z');",
    )
    .unwrap();
    // Without retention, nothing may go.
    for sql in [
        "DELETE FROM checkins",
        "DELETE FROM audit WHERE id = 1",
        "UPDATE audit SET actor = 'x'",
    ] {
        assert!(conn.execute(sql, []).is_err(), "{sql}");
    }
    drop(conn);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let cut = jiff::Timestamp::now();
    std::thread::sleep(std::time::Duration::from_millis(20));
    add_user(&db, "dee", "liaison"); // audit row 4, after the cut-off
    let cut_text = cut.to_string();

    let preview = ok(&firefly(
        &db,
        &[
            "--config",
            cfg,
            "retention",
            "--before",
            &cut_text,
            "--dry-run",
        ],
    ));
    assert!(preview.contains("would delete: 1 check-ins"), "{preview}");
    assert_eq!(one(&db, "SELECT count(*) FROM audit WHERE id <= 3"), 3);
    let out = ok(&firefly(
        &db,
        &["--config", cfg, "retention", "--before", &cut_text],
    ));
    assert!(out.contains("deleted: 1 check-ins"), "{out}");
    assert!(out.contains("1 sessions"), "{out}");
    // The three user creations are gone, and so is nothing else: the dry run's preview
    // (row 4 is dee, 5 the preview) and everything after the cut-off stay.
    assert!(out.contains("3 audit rows"), "{out}");
    assert_eq!(one(&db, "SELECT min(id) FROM audit"), 4);
    assert_eq!(
        one(
            &db,
            "SELECT count(*) FROM checkins WHERE received_at > '2029'"
        ),
        1
    );
    assert_eq!(one(&db, "SELECT count(*) FROM checkins"), 1);
    assert_eq!(one(&db, "SELECT count(*) FROM sessions"), 1);
    assert_eq!(
        one(
            &db,
            "SELECT count(*) FROM audit WHERE action = 'retention.run'"
        ),
        1
    );
    assert_eq!(
        one(&db, "SELECT count(*) FROM retention_runs WHERE active = 1"),
        0
    );
    let verify = ok(&firefly(&db, &["audit", "verify"]));
    assert!(verify.contains("chain intact"), "{verify}");
    assert!(verify.contains("retained from row 4"), "{verify}");
    // More entries chain on, and a second run with nothing to delete keeps the anchor.
    add_user(&db, "eve", "planner");
    ok(&firefly(
        &db,
        &["--config", cfg, "retention", "--before", &cut_text],
    ));
    ok(&firefly(&db, &["audit", "verify"]));
    // Forging the anchor is found.
    let copy = dir.path().join("forged.db");
    std::fs::copy(&db, &copy).unwrap();
    let conn = rusqlite::Connection::open(&copy).unwrap();
    conn.execute_batch(
        "DROP TRIGGER retention_runs_no_update;
         UPDATE retention_runs SET audit_anchor_hash = printf('%064d', 0) WHERE audit > 0;",
    )
    .unwrap();
    drop(conn);
    let out = firefly(&copy, &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("row 4"), "{}", text(&out.stderr));
}

/// `kill -9` of a real `firefly serve` in the middle of a burst of check-ins: every check-in
/// answered 201 is in the database after the restart, which passes its integrity check and
/// whose audit chain is intact.
#[test]
fn a_killed_server_loses_no_acknowledged_checkin() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("firefly.db");
    ok(&firefly_stdin(
        &db,
        &[
            "users",
            "add",
            "ofc",
            "--role",
            "officer",
            "--unit",
            "LN-FF1",
            "--password-stdin",
        ],
        &format!("{PASSWORD}\n"),
    ));
    let mut server = Server::start(dir.path(), &Location::Sqlite(db.clone()));
    let addr = server.addr;
    let token = serve::login(addr, "ofc");
    let senders: Vec<_> = (0..3)
        .map(|t| {
            let token = token.clone();
            std::thread::spawn(move || {
                let mut acknowledged = Vec::new();
                for n in 0..5_000 {
                    let body = format!(r#"{{"lon": -0.41{t}{n:04}, "lat": 51.88}}"#);
                    let path = "/api/v1/checkins";
                    let json = "application/json";
                    match serve::http(addr, "POST", path, Some(&token), json, body.as_bytes()) {
                        Some((201, answer)) => {
                            let v: serde_json::Value = serde_json::from_slice(&answer).unwrap();
                            acknowledged.push(v["id"].as_i64().unwrap());
                        }
                        Some((status, answer)) => panic!("{status}: {}", text(&answer)),
                        None => break, // the server is gone
                    }
                }
                acknowledged
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(1_500));
    server.kill(); // SIGKILL
    let acknowledged: Vec<i64> = senders
        .into_iter()
        .flat_map(|s| s.join().unwrap())
        .collect();
    assert!(acknowledged.len() > 10, "{} check-ins", acknowledged.len());
    // The WAL a killed server leaves behind is as private as the database.
    use std::os::unix::fs::PermissionsExt;
    for suffix in ["", "-wal", "-shm"] {
        let file = dir.path().join(format!("firefly.db{suffix}"));
        if let Ok(meta) = std::fs::metadata(&file) {
            assert_eq!(
                meta.permissions().mode() & 0o777,
                0o600,
                "{}",
                file.display()
            );
        }
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let stored: std::collections::HashSet<i64> = conn
        .prepare("SELECT id FROM checkins")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let lost: Vec<_> = acknowledged
        .iter()
        .filter(|id| !stored.contains(id))
        .collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    // Each stored check-in has its audit entry (same transaction), and the chain holds.
    let audited: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit WHERE action = 'checkins.create'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited as usize, stored.len());
    drop(conn);
    ok(&firefly(&db, &["audit", "verify"]));
}

#[test]
fn users_are_disabled_enabled_and_given_passwords_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_users(dir.path());
    // A live session of ana's, as a login would leave it.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "INSERT INTO sessions (token_sha256, user_id, created_at, expires_at)
         VALUES (?1, 1, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'),
                 strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+1 hour'))",
        ["c".repeat(64)],
    )
    .unwrap();
    drop(conn);
    let out = ok(&firefly(&db, &["users", "disable", "ANA"]));
    assert!(out.contains("ana disabled; 1 session(s) ended"), "{out}");
    assert!(ok(&firefly(&db, &["users", "list"])).contains("(disabled)"));
    assert_eq!(
        one(
            &db,
            "SELECT count(*) FROM sessions WHERE revoked_at IS NULL"
        ),
        0
    );
    ok(&firefly(&db, &["users", "enable", "ana"]));
    let weak = firefly_stdin(
        &db,
        &["users", "passwd", "ana", "--password-stdin"],
        "ana123456789\n",
    );
    assert_eq!(weak.status.code(), Some(2), "{}", text(&weak.stderr));
    let before: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT password_hash FROM users WHERE name = 'ana'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let out = ok(&firefly(&db, &["users", "passwd", "ana"]));
    assert!(
        out.contains("password: "),
        "a generated one, shown once: {out}"
    );
    let after: String = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT password_hash FROM users WHERE name = 'ana'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_ne!(before, after);
    ok(&firefly(&db, &["users", "revoke-sessions", "bo"]));
    let out = firefly(&db, &["users", "disable", "nobody"]);
    assert_eq!(out.status.code(), Some(2));
    for action in [
        "user.disable",
        "user.enable",
        "user.password",
        "user.revoke_sessions",
    ] {
        assert_eq!(
            one(
                &db,
                &format!("SELECT count(*) FROM audit WHERE action = '{action}'")
            ),
            1,
            "{action}"
        );
    }
    ok(&firefly(&db, &["audit", "verify"]));
}
