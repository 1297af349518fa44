//! `firefly migrate`: a real SQLite database (two police.uk months, the OSM pubs, a user,
//! audit entries) copied into an empty PostgreSQL database answers exactly as the SQLite
//! one does, keeps its audit chain, and a second copy into the same target is refused; a
//! `pg_dump` of it restores whole.
//! Needs the test PostgreSQL server (`FIREFLY_TEST_POSTGRES`); without one there is no
//! target, and the test says so and passes (CI always runs it with one: scripts/test.sh).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

mod common;

use api::storage::db::{Conn, testing};
use api::storage::{Location, SCHEMA_VERSION, Store};
use common::cli::{firefly, firefly_in, firefly_stdin, text};
use common::repo;

fn ok(out: &std::process::Output) -> String {
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn hotspots_without_timestamp(out: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(out).unwrap();
    v["firefly"]["generated_at"] = serde_json::Value::Null;
    v
}

/// An SQLite database with two police.uk months, the OSM pubs and a user, and a fresh
/// PostgreSQL database on the test server (not yet written to).
fn sqlite_and_empty_target(server: &str) -> (tempfile::TempDir, std::path::PathBuf, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("firefly.db");
    let street = "data/police-uk/bedfordshire/street";
    ok(&firefly(
        &db,
        &[
            "import",
            "incidents",
            repo(&format!("{street}/2023-05-bedfordshire-street.csv"))
                .to_str()
                .unwrap(),
            repo(&format!("{street}/2023-06-bedfordshire-street.csv"))
                .to_str()
                .unwrap(),
        ],
    ));
    ok(&firefly(
        &db,
        &[
            "import",
            "premises",
            repo("data/premises/bedfordshire_pubs_osm_2022-01.geojson")
                .to_str()
                .unwrap(),
        ],
    ));
    ok(&firefly_stdin(
        &db,
        &[
            "users",
            "add",
            "ana",
            "--role",
            "planner",
            "--password-stdin",
        ],
        "correct horse battery staple\n",
    ));
    let target = testing::fresh_database(server).unwrap();
    (dir, db, target)
}

/// The answers of `firefly ARGS` on the database at `location`, run in `dir`.
fn run(dir: &std::path::Path, location: &str, args: &[&str]) -> String {
    ok(&firefly_in(dir, location, args).output().unwrap())
}

#[test]
fn an_sqlite_database_copied_into_postgresql_answers_the_same() {
    let Some(server) = testing::server() else {
        eprintln!("no {} server: nothing to migrate into", testing::ENV);
        return;
    };
    let (dir, db, target) = sqlite_and_empty_target(&server);
    let copied = ok(&firefly(&db, &["migrate", "--to", &target]));
    assert!(copied.contains("audit chain intact"), "{copied}");

    // Every table holds the same rows (the target's audit log one more: the migration).
    let sqlite = Conn::open(&Location::Sqlite(db.clone())).unwrap();
    let postgres = Conn::open(&Location::Postgres(target.clone())).unwrap();
    for table in ["imports", "incidents", "premises", "users", "audit"] {
        let sql = format!("SELECT count(*) FROM {table}");
        let n = |c: &Conn| c.query_row(&sql, &[], |r| r.get::<i64>(0)).unwrap();
        let extra = i64::from(table == "audit");
        assert_eq!(n(&postgres), n(&sqlite) + extra, "{table}");
    }
    let first_rows = |c: &Conn| {
        c.query_map(
            "SELECT id, source_id, lon, lat, occurred_utc, occurred_month FROM incidents
             ORDER BY id LIMIT 50",
            &[],
            |r| {
                (0..6)
                    .map(|i| Ok(format!("{:?}", r.get_ref(i)?)))
                    .collect::<Result<Vec<_>, _>>()
            },
        )
        .unwrap()
    };
    assert_eq!(first_rows(&postgres), first_rows(&sqlite));
    // PostGIS holds each incident as a British National Grid point (Luton is about
    // 509 km east, 221 km north).
    let (x, y): (f64, f64) = postgres
        .query_row(
            "SELECT ST_X(geom), ST_Y(geom) FROM incidents ORDER BY id LIMIT 1",
            &[],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!((450_000.0..560_000.0).contains(&x) && (180_000.0..270_000.0).contains(&y));

    // The same answers from either database.
    let pg_db = Location::Postgres(target.clone());
    let answers = |location: &str| {
        hotspots_without_timestamp(&run(dir.path(), location, &["hotspots", "--method", "kde"]))
    };
    assert_eq!(answers(&pg_db.config_text()), answers(db.to_str().unwrap()));
    assert_eq!(
        Store::open(&pg_db).unwrap().schema_version().unwrap(),
        SCHEMA_VERSION
    );

    // Into a database that holds data: refused, nothing written.
    let again = firefly(&db, &["migrate", "--to", &target]);
    assert!(!again.status.success());
    assert!(
        text(&again.stderr).contains("already holds data"),
        "{}",
        text(&again.stderr)
    );
    let audit: i64 = postgres
        .query_row("SELECT count(*) FROM audit", &[], |r| r.get(0))
        .unwrap();
    assert_eq!(
        audit,
        sqlite
            .query_row("SELECT count(*) FROM audit", &[], |r| r.get::<i64>(0))
            .unwrap()
            + 1
    );
}

/// What the README tells operators to back PostgreSQL up with: `pg_dump -Fc` restored by
/// `pg_restore` into another database gives the same rows, audit head and answers, and the
/// copy takes new writes with its chain intact (the generated PostGIS columns are
/// recomputed on restore, under pg_restore's empty search_path).
#[test]
fn a_pg_dump_backup_restores_whole_and_takes_new_writes() {
    let Some(server) = testing::server() else {
        eprintln!("no {} server: nothing to back up", testing::ENV);
        return;
    };
    let (dir, db, original) = sqlite_and_empty_target(&server);
    ok(&firefly(&db, &["migrate", "--to", &original]));
    let dump = dir.path().join("firefly.dump");
    let pg_dump = std::process::Command::new("pg_dump")
        .args(["-Fc", "-f"])
        .arg(&dump)
        .args(["-d", &original])
        .output()
        .expect("pg_dump (Debian: postgresql-client)");
    assert!(pg_dump.status.success(), "{}", text(&pg_dump.stderr));
    let restored = testing::fresh_database(&server).unwrap();
    let pg_restore = std::process::Command::new("pg_restore")
        .args(["--exit-on-error", "--no-owner", "-d", &restored])
        .arg(&dump)
        .output()
        .unwrap();
    assert!(pg_restore.status.success(), "{}", text(&pg_restore.stderr));

    let here = |url: &str, args: &[&str]| run(dir.path(), url, args);
    let head = |url: &str| here(url, &["audit", "verify"]);
    assert!(
        head(&restored).contains("chain intact"),
        "{}",
        head(&restored)
    );
    assert_eq!(head(&restored), head(&original));
    let kde = |url: &str| hotspots_without_timestamp(&here(url, &["hotspots", "--method", "kde"]));
    assert_eq!(kde(&restored), kde(&original));
    let counts = |url: &str| {
        let c = Conn::open(&Location::Postgres(url.to_owned())).unwrap();
        c.query_row(
            "SELECT (SELECT count(*) FROM incidents), (SELECT count(geom) FROM incidents),
                    (SELECT count(geom_wgs84) FROM premises), (SELECT count(*) FROM users)",
            &[],
            |r| {
                Ok((
                    r.get::<i64>(0)?,
                    r.get::<i64>(1)?,
                    r.get::<i64>(2)?,
                    r.get::<i64>(3)?,
                ))
            },
        )
        .unwrap()
    };
    let (incidents, in_bng, premises, users) = counts(&restored);
    assert_eq!((incidents, in_bng, premises, users), counts(&original));
    assert!(incidents > 10_000 && in_bng == incidents && premises > 100 && users == 1);

    // New writes on the copy: identities and the chain carry on from the dump.
    here(
        &restored,
        &[
            "import",
            "incidents",
            repo("data/police-uk/bedfordshire/street/2023-07-bedfordshire-street.csv")
                .to_str()
                .unwrap(),
        ],
    );
    assert!(counts(&restored).0 > incidents);
    let after = head(&restored);
    assert!(after.contains("chain intact"), "{after}");
    assert_ne!(after, head(&original));
}
