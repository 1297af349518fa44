//! Storage: the one place that knows SQL.
//!
//! SQLite in WAL mode is the embedded default: one file, no server, and a crash or kill at
//! any moment leaves the last committed state (every write below is one transaction). The
//! rest of the program talks to [`Store`] in domain terms, so a server database can be added
//! later behind the same methods without touching `planner`.

mod audit;
pub mod backup;
mod checkins;
mod copy;
pub mod db;
mod imports;
mod logins;
mod migrations;
mod plans;
mod premises_edit;
mod reads;
mod retention;
mod users;

use db::{Conn, DbError, DbResult, OptionalExt, params};
use jiff::Timestamp;
use planner::import::RowError;
use planner::time::YearMonth;
use planner::{Category, Incident, OccurredAt, Premises, TrainingRecord};
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use audit::{AuditEntry, AuditQuery, AuditRow, ChainCheck};
pub use copy::Copied;
pub use logins::KeyCount;
pub use migrations::SCHEMA_VERSION;
pub use plans::{AssignmentRow, NewCheckin, PlanDocument, PlanMeta, PlanStatus, ZoneDosage};
pub use premises_edit::{FieldChange, HistoryRow, PremisesPatch, StoredTraining};
pub use retention::{RetentionCutoffs, RetentionReport};
pub use users::{AccountChange, AccountChanged, NewUser, SessionUser, User, utc_text};

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened. (`error` is part of the message, not the error's
    /// source, so that a chain of causes does not repeat it.)
    #[error("database {path}: {error}")]
    Open { path: String, error: DbError },
    #[error(
        "database schema version {found} is newer than this firefly ({supported}); upgrade firefly"
    )]
    TooNew { found: i64, supported: i64 },
    /// A schema migration failed (and was rolled back whole).
    #[error("database {path}: migrating the schema to version {version}: {error}{}", migration_hint(.error))]
    Migration {
        path: String,
        version: i64,
        error: DbError,
    },
    #[error(transparent)]
    Sql(#[from] DbError),
    /// A file beside the database (the database itself, a backup) could not be made.
    #[error("{path}: {error}")]
    File { path: String, error: std::io::Error },
    /// A copy that must not replace the database (failed check, newer schema).
    #[error("{0}")]
    Refused(String),
    /// Rows that cannot be stored because of what is (not) in the database, e.g. training
    /// for unknown premises. Nothing was written.
    #[error("{} row(s) refer to records that are not in the database", .0.len())]
    Rows(Vec<RowError>),
    /// The record clashes with one already stored (e.g. a user name that is taken).
    /// Nothing was written.
    #[error("{0}")]
    Conflict(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Sql(DbError::Sqlite(e))
    }
}

/// What to do when a migration lacks a privilege only a superuser has: PostGIS, which the
/// schema needs, is an extension that only a superuser (or a trusted-extension owner) may
/// create; Firefly's own role can create everything else.
fn migration_hint(error: &DbError) -> &'static str {
    match error {
        DbError::Postgres(e)
            if e.code() == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE)
                && e.as_db_error()
                    .is_some_and(|d| d.message().contains("extension")) =>
        {
            " (a superuser must run `CREATE EXTENSION postgis;` in this database once; \
             see the README, PostgreSQL)"
        }
        _ => "",
    }
}

impl StoreError {
    /// Another writer held the database for longer than [`db::WRITE_WAIT`].
    pub fn is_busy(&self) -> bool {
        matches!(self, StoreError::Sql(e) if e.is_busy())
    }
}

/// Where the database is: an SQLite file (the default), or a PostgreSQL server, given as
/// a `postgres://` (or `postgresql://`) URL.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    /// A URL with a PostgreSQL scheme is a server; anything else is a file path.
    pub fn parse(text: &str) -> Location {
        let lower = text.trim_start().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Location::Postgres(text.trim().to_owned())
        } else {
            Location::Sqlite(PathBuf::from(text))
        }
    }

    /// The text that names this location in a settings file (the URL with its password).
    pub fn config_text(&self) -> String {
        match self {
            Location::Sqlite(p) => p.display().to_string(),
            Location::Postgres(url) => url.clone(),
        }
    }

    /// The SQLite file, if that is where the database is.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Location::Sqlite(p) => Some(p),
            Location::Postgres(_) => None,
        }
    }
}

/// What `--db`, `--to` and `FIREFLY_DB` hold (clap parses them with this).
impl std::str::FromStr for Location {
    type Err = std::convert::Infallible;

    fn from_str(text: &str) -> std::result::Result<Location, Self::Err> {
        Ok(Location::parse(text))
    }
}

/// A URL is shown without its password, so that logs and messages never carry it.
impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(p) => write!(f, "{}", p.display()),
            Location::Postgres(url) => f.write_str(&redact_password(url)),
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.to_string())
    }
}

/// `postgres://user:secret@host/db` as `postgres://user:***@host/db`; a `password=` query
/// parameter likewise.
fn redact_password(url: &str) -> String {
    let mut out = url.to_owned();
    if let Some(scheme_end) = out.find("://") {
        let rest_start = scheme_end + 3;
        let authority_end = out[rest_start..]
            .find(['/', '?'])
            .map_or(out.len(), |i| rest_start + i);
        if let Some(at) = out[rest_start..authority_end].rfind('@') {
            let userinfo = &out[rest_start..rest_start + at];
            if let Some(colon) = userinfo.find(':') {
                out.replace_range(rest_start + colon + 1..rest_start + at, "***");
            }
        }
    }
    if let Some(q) = out.find('?') {
        let (base, query) = out.split_at(q + 1);
        let query: Vec<String> = query
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                _ => kv.to_owned(),
            })
            .collect();
        out = format!("{base}{}", query.join("&"));
    }
    out
}

impl From<PathBuf> for Location {
    fn from(p: PathBuf) -> Location {
        Location::Sqlite(p)
    }
}

impl From<&PathBuf> for Location {
    fn from(p: &PathBuf) -> Location {
        Location::Sqlite(p.clone())
    }
}

impl From<&Path> for Location {
    fn from(p: &Path) -> Location {
        Location::Sqlite(p.to_path_buf())
    }
}

impl From<&Location> for Location {
    fn from(l: &Location) -> Location {
        l.clone()
    }
}

/// Who did an import and how, for the imports log.
#[derive(Debug, Clone)]
pub struct ImportMeta {
    pub files: Vec<String>,
    pub format: String,
    pub actor: String,
    pub skipped: u64,
    pub rejected: u64,
    pub rows_read: u64,
    /// The audit entry of an import through the API, written in the import's transaction
    /// (its detail gains the import id and counts).
    pub audit: Option<AuditEntry>,
}

/// The outcome of one stored import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub import_id: i64,
    pub added: u64,
    pub already_present: u64,
}

/// A handle on the database.
pub struct Store {
    conn: Conn,
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `location`: an SQLite file
    /// or a PostgreSQL server ([`Location`]).
    pub fn open(location: impl Into<Location>) -> Result<Store> {
        match location.into() {
            Location::Sqlite(path) => Store::open_sqlite(&path),
            Location::Postgres(url) => Store::open_postgres(&url),
        }
    }

    /// Opens (creating if needed) and migrates the SQLite database at `path`. A new file is
    /// created readable and writable by its owner only (0600; SQLite gives its `-wal` and
    /// `-shm` files the same mode). Before a migration changes an existing database, a copy
    /// is written beside it ([`backup::pre_migration_path`]).
    fn open_sqlite(path: &Path) -> Result<Store> {
        let open_error = |e| StoreError::Open {
            path: path.display().to_string(),
            error: DbError::Sqlite(e),
        };
        create_private(path).map_err(|error| StoreError::File {
            path: path.display().to_string(),
            error,
        })?;
        let conn = Connection::open(path).map_err(open_error)?;
        Store::setup(conn, Some(path))
    }

    /// Connects to and migrates the PostgreSQL database at `url`. Backups before a
    /// migration are the server's own (pg_dump, base backups).
    fn open_postgres(url: &str) -> Result<Store> {
        let mut conn = Conn::postgres(url).map_err(|error| StoreError::Open {
            path: Location::Postgres(url.to_owned()).to_string(),
            error,
        })?;
        migrations::migrate(
            &mut conn,
            &Location::Postgres(url.to_owned()),
            &mut |_, _| Ok(()),
        )?;
        Ok(Store { conn })
    }

    /// A private empty database, for tests: in memory, or a new database on the test
    /// PostgreSQL server when there is one ([`db::testing`]).
    #[cfg(test)]
    pub fn open_test() -> Result<Store> {
        match db::testing::server() {
            Some(server) => Store::open_postgres(&db::testing::fresh_database(&server)?),
            None => Store::setup(Connection::open_in_memory()?, None),
        }
    }

    /// Whether the connection is gone for good (see [`db::Conn::is_broken`]).
    pub fn is_broken(&self) -> bool {
        self.conn.is_broken()
    }

    /// Which database this store talks to.
    pub fn backend(&self) -> db::Backend {
        self.conn.backend()
    }

    fn setup(conn: Connection, path: Option<&Path>) -> Result<Store> {
        conn.busy_timeout(db::WRITE_WAIT)?;
        // WAL: readers never block the writer. `synchronous=FULL` syncs the WAL at every
        // commit, so an acknowledged write survives a power cut as well as a kill -9.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // After a checkpoint, the WAL file is truncated back to at most 64 MiB.
        conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // 64 MiB page cache: a 1M-row import keeps its unique index in memory.
        conn.pragma_update(None, "cache_size", -65_536)?;
        // Import loops and the server reuse a few dozen statements.
        conn.set_prepared_statement_cache_capacity(64);
        let mut conn = Conn::sqlite(conn);
        let location = Location::Sqlite(path.map_or_else(|| ":memory:".into(), Path::to_path_buf));
        migrations::migrate(&mut conn, &location, &mut |conn, version| match (
            path,
            conn.as_sqlite(),
        ) {
            (Some(path), Some(sqlite)) => backup::before_migration(sqlite, path, version),
            _ => Ok(()),
        })?;
        Ok(Store { conn })
    }

    fn begin_import(tx: &Conn, kind: &str, meta: &ImportMeta) -> Result<i64> {
        let files = serde_json::to_string(&meta.files).unwrap_or_else(|_| "[]".into());
        Ok(tx.query_row(
            "INSERT INTO imports (kind, files, format, actor, started_at, rows_read, added,
                                  already_present, skipped, rejected)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, 0, ?7, ?8) RETURNING id",
            params![
                kind,
                files,
                meta.format,
                meta.actor,
                Timestamp::now().to_string(),
                meta.rows_read as i64,
                meta.skipped as i64,
                meta.rejected as i64
            ],
            |r| r.get(0),
        )?)
    }

    fn finish_import(tx: &Conn, id: i64, added: u64, present: u64) -> Result<()> {
        tx.execute(
            "UPDATE imports SET added = ?2, already_present = ?3 WHERE id = ?1",
            params![id, added as i64, present as i64],
        )?;
        Ok(())
    }

    /// Appends the import's audit entry, if any, inside its transaction.
    fn audit_import(tx: &Conn, id: i64, meta: &ImportMeta, added: u64, present: u64) -> Result<()> {
        let Some(entry) = &meta.audit else {
            return Ok(());
        };
        let mut entry = entry.clone();
        let mut detail = match entry.detail.take() {
            Some(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        for (k, v) in [
            ("import_id", serde_json::json!(id)),
            ("rows_read", serde_json::json!(meta.rows_read)),
            ("added", serde_json::json!(added)),
            ("already_present", serde_json::json!(present)),
            ("skipped", serde_json::json!(meta.skipped)),
            ("rejected", serde_json::json!(meta.rejected)),
        ] {
            detail.insert(k.into(), v);
        }
        entry.detail = Some(serde_json::Value::Object(detail));
        entry.target.get_or_insert_with(|| format!("import:{id}"));
        audit::insert_audit(tx, &entry)?;
        Ok(())
    }
}

/// Creates `path` empty with mode 0600 if it does not exist (so SQLite never creates it
/// with the process umask's wider mode). An existing file keeps its mode.
fn create_private(path: &Path) -> std::io::Result<()> {
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" || path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Tables whose size a summary reports.
#[derive(Debug, Clone, Copy)]
pub enum Table {
    Incidents,
    Premises,
    Training,
    Imports,
    Users,
    Audit,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Incidents => "incidents",
            Table::Premises => "premises",
            Table::Training => "training_records",
            Table::Imports => "imports",
            Table::Users => "users",
            Table::Audit => "audit",
        }
    }
}

/// Parses a text column, naming the column in the error.
fn parse_column<T, E>(
    index: usize,
    text: &str,
    parse: impl Fn(&str) -> std::result::Result<T, E>,
) -> DbResult<T>
where
    E: std::fmt::Display,
{
    parse(text).map_err(|e| DbError::Column {
        index,
        message: format!("{text:?}: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use planner::time::YearMonth;

    fn incident(id: &str, occurred: OccurredAt) -> Incident {
        Incident {
            source_id: id.into(),
            source: "test".into(),
            occurred,
            lon: -0.416,
            lat: 51.879,
            category_raw: "Public order".into(),
            category: Category::PublicOrder,
            location: Some("On or near Park Street".into()),
            area_code: None,
            area_name: Some("Luton 010A".into()),
        }
    }

    fn meta() -> ImportMeta {
        ImportMeta {
            files: vec!["t".into()],
            format: "test".into(),
            actor: "test".into(),
            skipped: 0,
            rejected: 0,
            rows_read: 2,
            audit: None,
        }
    }

    /// The README's recipe with a role that is not a superuser: without PostGIS the first
    /// connection says what a superuser must do and leaves nothing behind; once the
    /// extension is there, Firefly's own role creates the rest.
    #[test]
    fn a_role_without_postgis_is_told_what_a_superuser_must_do() {
        let Some(server) = db::testing::server() else {
            eprintln!("no {} server", db::testing::ENV);
            return;
        };
        let role = format!(
            "ff_owner_{}_{}",
            std::process::id(),
            Timestamp::now().as_nanosecond() % 1_000_000_000
        );
        let password = format!("pw-{role}");
        let mut admin = db::tls::connect(&server).unwrap();
        admin
            .batch_execute(&format!("CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
            .unwrap();
        admin
            .batch_execute(&format!(
                "CREATE DATABASE {role} OWNER {role} TEMPLATE template0"
            ))
            .unwrap();
        let as_superuser = db::testing::with_database(&server, &role);
        let (scheme, rest) = as_superuser.split_once("://").unwrap();
        let host = rest.split_once('@').map_or(rest, |(_, h)| h);
        let as_owner = format!("{scheme}://{role}:{password}@{host}");

        let err = Store::open(Location::Postgres(as_owner.clone()))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("migrating the schema to version 5")
                && err.contains("permission denied to create extension")
                && err.contains("a superuser must run `CREATE EXTENSION postgis;`"),
            "{err}"
        );
        assert!(!err.contains(&password), "{err}");
        let mut database = db::tls::connect(&as_superuser).unwrap();
        let tables: i64 = database
            .query_one(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                &[],
            )
            .unwrap()
            .get(0);
        assert_eq!(tables, 0, "the failed migration left tables behind");

        database.batch_execute("CREATE EXTENSION postgis").unwrap();
        let store = Store::open(Location::Postgres(as_owner)).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        drop((store, database));
        admin
            .batch_execute(&format!("DROP DATABASE {role} WITH (FORCE)"))
            .unwrap();
        admin.batch_execute(&format!("DROP ROLE {role}")).unwrap();
    }

    #[test]
    fn incidents_round_trip_and_reimport_adds_nothing() {
        let mut store = Store::open_test().unwrap();
        let rows = vec![
            incident(
                "a",
                OccurredAt::Exact("2024-10-27T00:30:00Z".parse().unwrap()),
            ),
            incident(
                "b",
                OccurredAt::Month(YearMonth {
                    year: 2023,
                    month: 5,
                }),
            ),
        ];
        let first = store.import_incidents(&rows, &meta(), |_| {}).unwrap();
        assert_eq!((first.added, first.already_present), (2, 0));
        assert_eq!(store.incidents().unwrap(), rows);
        let again = store.import_incidents(&rows, &meta(), |_| {}).unwrap();
        assert_eq!((again.added, again.already_present), (0, 2));
        assert_eq!(store.count(Table::Incidents).unwrap(), 2);
        assert_eq!(store.count(Table::Imports).unwrap(), 2);
        assert!(store.integrity_ok().unwrap());
    }

    /// Another country's data imports on both databases; on PostgreSQL every point has a
    /// WGS84 geometry and only those in British National Grid's area of use a BNG one,
    /// within a few metres of Firefly's own OSTN15 transform on land (PostGIS uses a
    /// Helmert transform without the OSTN15 grid: up to ~5 m apart).
    #[test]
    fn points_anywhere_import_and_get_a_bng_geometry_only_in_its_area() {
        let mut store = Store::open_test().unwrap();
        let places = [
            ("luton", -0.416, 51.879, true),
            ("penzance", -5.537, 50.119, true),
            ("lerwick", -1.145, 60.155, true),
            ("sw-corner", -9.01, 49.75, true),
            ("ne-corner", 2.01, 61.01, true),
            ("dublin-ish-west", -9.2, 53.3, false),
            ("chicago", -87.632, 41.895, false),
            // PROJ refuses these two for EPSG:27700 ("outside of projection domain").
            ("bay-of-bengal", 88.0, 0.0, false),
            ("pacific", -92.0, 0.0, false),
            ("sydney", 151.21, -33.87, false),
            ("antimeridian-pole", 180.0, 90.0, false),
            ("opposite-pole", -180.0, -90.0, false),
        ];
        let exact = OccurredAt::Exact("2024-10-27T00:30:00Z".parse().unwrap());
        let rows: Vec<Incident> = places
            .iter()
            .map(|&(id, lon, lat, _)| Incident {
                lon,
                lat,
                ..incident(id, exact)
            })
            .collect();
        let stored = store.import_incidents(&rows, &meta(), |_| {}).unwrap();
        assert_eq!(stored.added, places.len() as u64);
        assert_eq!(store.incidents().unwrap(), rows);
        if store.backend() != db::Backend::Postgres {
            return;
        }
        let geoms = store
            .conn
            .query_map(
                "SELECT source_id, ST_X(geom), ST_Y(geom), ST_X(geom_wgs84), ST_Y(geom_wgs84),
                        ST_SRID(geom_wgs84)
                 FROM incidents ORDER BY id",
                params![],
                |r| {
                    Ok((
                        r.get::<String>(0)?,
                        r.get::<Option<f64>>(1)?.zip(r.get::<Option<f64>>(2)?),
                        (r.get::<f64>(3)?, r.get::<f64>(4)?, r.get::<i64>(5)?),
                    ))
                },
            )
            .unwrap();
        let bng = planner::crs::Crs::bng();
        for ((id, lon, lat, in_gb), (got_id, grid, wgs84)) in places.iter().zip(geoms) {
            assert_eq!(*id, got_id);
            assert_eq!(wgs84, (*lon, *lat, 4326), "{id}");
            assert_eq!(grid.is_some(), *in_gb, "{id}: {grid:?}");
            // Compared on land only: at sea, beyond OSTN15, both are Helmert transforms
            // with different parameters (80 to 150 m apart at the corners).
            if let (Some((x, y)), Ok(ours), false) =
                (grid, bng.project(*lon, *lat), id.ends_with("corner"))
            {
                let off = ((x - ours.x).powi(2) + (y - ours.y).powi(2)).sqrt();
                assert!(off < 10.0, "{id}: PostGIS ({x}, {y}) is {off} m from ours");
            }
        }
    }

    #[test]
    fn the_schema_rejects_impossible_rows() {
        let mut store = Store::open_test().unwrap();
        let mut bad = incident(
            "x",
            OccurredAt::Month(YearMonth {
                year: 2023,
                month: 5,
            }),
        );
        bad.lat = 95.0;
        // The CHECK constraint fails the whole transaction: nothing lands, not even the
        // good row before it, nor the imports log entry.
        let rows = vec![
            incident(
                "ok",
                OccurredAt::Month(YearMonth {
                    year: 2023,
                    month: 5,
                }),
            ),
            bad,
        ];
        assert!(store.import_incidents(&rows, &meta(), |_| {}).is_err());
        assert_eq!(store.count(Table::Incidents).unwrap(), 0);
        assert_eq!(store.count(Table::Imports).unwrap(), 0);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.db");
        drop(Store::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        assert!(matches!(Store::open(&path), Err(StoreError::TooNew { .. })));
    }

    /// One pub, `osm:node/1`.
    fn the_bell() -> Premises {
        Premises {
            source_id: "osm:node/1".into(),
            name: "The Bell".into(),
            address: None,
            postcode: None,
            kind: planner::PremisesKind::Pub,
            lon: -0.41,
            lat: 51.88,
            licence_ref: None,
            closing: Default::default(),
            safe_space: false,
            district: Some("Luton".into()),
        }
    }

    #[test]
    fn training_needs_known_premises_and_is_stored_once() {
        let mut store = Store::open_test().unwrap();
        let pub_ = the_bell();
        store
            .import_premises(std::slice::from_ref(&pub_), &meta())
            .unwrap();
        let again = store.import_premises(&[pub_], &meta()).unwrap();
        assert_eq!((again.added, again.already_present), (0, 1));
        let record = |id: &str| TrainingRecord {
            premises_id: id.into(),
            date: jiff::civil::date(2025, 1, 10),
            course: "Ask for Angela".into(),
            staff_trained: 3,
            trainer: "PC 1".into(),
            notes: None,
        };
        let err = store
            .import_training(
                "t.csv",
                &[record("osm:node/1"), record("osm:node/2")],
                &[2, 3],
                false,
                &meta(),
            )
            .unwrap_err();
        match err {
            StoreError::Rows(rows) => assert_eq!((rows.len(), rows[0].line), (1, 3)),
            other => panic!("{other}"),
        }
        assert_eq!(store.count(Table::Training).unwrap(), 0);
        store
            .import_training("t.csv", &[record("osm:node/1")], &[2], true, &meta())
            .unwrap();
        store
            .import_training("t.csv", &[record("osm:node/1")], &[2], true, &meta())
            .unwrap();
        assert_eq!(store.training_counts().unwrap(), (1, 1));
        assert_eq!(store.training_by_premises().unwrap()["osm:node/1"].len(), 1);
    }

    #[test]
    fn concurrent_writers_wait_for_each_other_instead_of_failing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.db");
        let venue = the_bell();
        Store::open(&path)
            .unwrap()
            .import_premises(&[venue], &meta())
            .unwrap();
        // A training import reads (are the premises known?) before it writes: with
        // deferred transactions, two at once fail with SQLITE_BUSY on the upgrade.
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let mut store = Store::open(&path).unwrap();
                    for i in 0..25 {
                        let record = TrainingRecord {
                            premises_id: "osm:node/1".into(),
                            date: jiff::civil::date(2025, 1, 1)
                                + jiff::Span::new().days(w * 25 + i),
                            course: "Ask for Angela".into(),
                            staff_trained: 2,
                            trainer: "PC 1".into(),
                            notes: None,
                        };
                        store
                            .import_training("t.csv", &[record], &[2], true, &meta())
                            .unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(store.count(Table::Training).unwrap(), 100);
    }

    #[test]
    fn a_version_1_database_is_migrated_keeping_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(include_str!("migrations/0001_init.sql"))
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO imports VALUES (1, 'incidents', '[]', 'csv', 'test', '2024-01-01T00:00:00Z', 1, 1, 0, 0, 0);
             INSERT INTO incidents (source_id, source, occurred_month, lon, lat, category, category_raw, import_id)
             VALUES ('a', 'test', '2023-05', -0.41, 51.88, 'violence', 'Violence', 1);",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        assert_eq!(store.count(Table::Incidents).unwrap(), 1);
        assert_eq!(store.data_version().unwrap(), 1);
        assert_eq!(store.count(Table::Users).unwrap(), 0);
        assert!(store.integrity_ok().unwrap());
    }

    #[test]
    fn a_version_4_audit_log_is_hashed_by_the_migration_after_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v4.db");
        let conn = Connection::open(&path).unwrap();
        for sql in [
            include_str!("migrations/0001_init.sql"),
            include_str!("migrations/0002_users_sessions_audit.sql"),
            include_str!("migrations/0003_plans_checkins.sql"),
            include_str!("migrations/0004_premises_training_history.sql"),
        ] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        conn.execute_batch(
            "INSERT INTO audit (at, actor, action) VALUES ('2024-01-01T00:00:00.000Z', 'a', 'x');
             INSERT INTO audit (at, actor, action, detail)
             VALUES ('2024-01-02T00:00:00.000Z', NULL, 'y', '{\"n\":1}');",
        )
        .unwrap();
        drop(conn);
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
        let id = store.append_audit(&entry("z")).unwrap();
        assert_eq!(id, 3);
        match store.verify_audit().unwrap() {
            ChainCheck::Intact { rows, head, .. } => {
                assert_eq!((rows, head.map(|h| h.0)), (3, Some(3)))
            }
            broken => panic!("{broken:?}"),
        }
        let backups: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("v4.db.schema4-") && n.ends_with(".bak"))
            .collect();
        assert_eq!(backups.len(), 1, "{backups:?}");
        let copy = backup::check_copy(&dir.path().join(&backups[0])).unwrap();
        assert_eq!((copy.schema_version, copy.audit_rows), (4, 2));
    }

    fn new_user(name: &str) -> NewUser<'_> {
        NewUser {
            name,
            role: crate::roles::Role::Officer,
            unit: Some("LN-FF1"),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
        }
    }

    fn entry(action: &str) -> AuditEntry {
        AuditEntry {
            action: action.into(),
            ..Default::default()
        }
    }

    #[test]
    fn users_are_unique_in_any_case_and_need_an_argon2id_hash() {
        let mut store = Store::open_test().unwrap();
        store
            .add_user(&new_user("ana"), &entry("user.create"))
            .unwrap();
        let again = store.add_user(&new_user("ANA"), &entry("user.create"));
        assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
        let mut weak = new_user("bob");
        weak.password_hash = "plaintext";
        assert!(store.add_user(&weak, &entry("user.create")).is_err());
        // Only the successful creation was logged: each write and its entry land together.
        assert_eq!(store.count(Table::Audit).unwrap(), 1);
        let (user, hash) = store.user_for_login("Ana").unwrap().unwrap();
        assert_eq!(
            (user.name.as_str(), user.unit.as_deref()),
            ("ana", Some("LN-FF1"))
        );
        assert!(hash.starts_with("$argon2id$"));
        assert!(store.user_for_login("nobody").unwrap().is_none());
    }

    #[test]
    fn sessions_are_found_by_hash_until_they_expire_or_are_revoked() {
        let mut store = Store::open_test().unwrap();
        let id = store
            .add_user(&new_user("ana"), &entry("user.create"))
            .unwrap();
        let later = Timestamp::now()
            .checked_add(jiff::SignedDuration::from_hours(1))
            .unwrap();
        let earlier = Timestamp::now()
            .checked_sub(jiff::SignedDuration::from_secs(1))
            .unwrap();
        let live = "a".repeat(64);
        let expired = "b".repeat(64);
        let sid = store
            .create_session(id, &live, later, Some("127.0.0.1"), &entry("auth.login"))
            .unwrap();
        store
            .create_session(id, &expired, earlier, None, &entry("auth.login"))
            .unwrap();
        let found = store.session(&live).unwrap().unwrap();
        assert_eq!((found.session_id, found.user.name.as_str()), (sid, "ana"));
        assert_eq!(
            found.expires_at,
            Timestamp::from_second(later.as_second()).unwrap()
        );
        assert!(store.session(&expired).unwrap().is_none());
        assert!(store.revoke_session(sid, &entry("auth.logout")).unwrap());
        assert!(store.session(&live).unwrap().is_none());
        assert!(!store.revoke_session(sid, &entry("auth.logout")).unwrap());
        assert_eq!(store.count(Table::Audit).unwrap(), 5);
    }

    #[test]
    fn a_location_is_a_server_only_with_a_postgres_scheme_and_hides_its_password() {
        assert_eq!(
            Location::parse("firefly.db"),
            Location::Sqlite("firefly.db".into())
        );
        assert_eq!(
            Location::parse("./postgres/firefly.db"),
            Location::Sqlite("./postgres/firefly.db".into())
        );
        for (url, shown) in [
            ("postgres://ff@h/db", "postgres://ff@h/db"),
            ("postgresql://ff:pw@h:5/db", "postgresql://ff:***@h:5/db"),
            ("POSTGRES://ff:p@ss:w@h/db", "POSTGRES://ff:***@h/db"),
            (
                "postgres://h/db?user=ff&password=pw&sslmode=disable",
                "postgres://h/db?user=ff&password=***&sslmode=disable",
            ),
            (
                "postgres://ff@%2Fvar%2Frun%2Fpostgresql/db",
                "postgres://ff@%2Fvar%2Frun%2Fpostgresql/db",
            ),
        ] {
            let location = Location::parse(url);
            assert!(matches!(location, Location::Postgres(_)), "{url}");
            assert_eq!(location.to_string(), shown);
            assert_eq!(location.config_text(), url);
        }
    }

    #[test]
    fn entries_appended_in_a_batch_chain_like_single_ones() {
        let mut store = Store::open_test().unwrap();
        store.append_audit(&entry("first")).unwrap();
        // 75 = 64 + 8 + 1 + 1 + 1: every statement shape of a batch.
        let batch: Vec<AuditEntry> = (0..75).map(|i| entry(&format!("read.{i}"))).collect();
        let ids = store.append_audits(&batch).unwrap();
        assert_eq!(ids, (2..=76).collect::<Vec<i64>>());
        store.append_audit(&entry("last")).unwrap();
        match store.verify_audit().unwrap() {
            ChainCheck::Intact { rows, head, .. } => {
                assert_eq!((rows, head.map(|h| h.0)), (77, Some(77)))
            }
            broken => panic!("{broken:?}"),
        }
        let newest = store
            .audit_entries(&AuditQuery {
                limit: 2,
                ..Default::default()
            })
            .unwrap();
        let actions: Vec<&str> = newest.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["last", "read.74"]);
    }

    #[test]
    fn the_audit_log_refuses_updates_and_deletes() {
        let mut store = Store::open_test().unwrap();
        let first = store.append_audit(&entry("incidents.read")).unwrap();
        let second = store.append_audit(&entry("audit.read")).unwrap();
        assert!(second > first);
        for sql in ["UPDATE audit SET action = 'x'", "DELETE FROM audit"] {
            let e = store.conn.execute(sql, params![]).unwrap_err();
            assert!(e.to_string().contains("append-only"), "{e}");
        }
        let rows = store
            .audit_entries(&AuditQuery {
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(
            rows.iter().map(|r| r.id).collect::<Vec<_>>(),
            [second, first]
        );
        let older = store
            .audit_entries(&AuditQuery {
                before: Some(second),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(older.len(), 1);
    }
}
