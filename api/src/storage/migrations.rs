//! Versioned schema migrations, applied in order inside one transaction each.
//!
//! The schema version is read inside each migration's transaction (which takes the write
//! lock at BEGIN), so two processes starting at once cannot both apply the same migration:
//! the second waits, then sees the version the first committed.

use super::db::{Backend, Conn};
use super::{Location, Result, StoreError};

/// A migration: its SQL, and optionally a step in Rust run at the line `-- @backfill` of
/// the SQL (what comes before it runs first, what comes after it runs last).
struct Migration {
    version: i64,
    sql: &'static str,
    backfill: Option<fn(&Conn) -> Result<()>>,
}

/// PostgreSQL's migrations, from the schema version at which PostgreSQL came in (5): one
/// file per version, the same tables, constraints and triggers in PostgreSQL's SQL.
const POSTGRES_MIGRATIONS: &[Migration] = &[Migration {
    version: 5,
    sql: include_str!("migrations/postgres/0005_schema.sql"),
    backfill: None,
}];

/// Append only: never edit a released migration.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("migrations/0001_init.sql"),
        backfill: None,
    },
    Migration {
        version: 2,
        sql: include_str!("migrations/0002_users_sessions_audit.sql"),
        backfill: None,
    },
    Migration {
        version: 3,
        sql: include_str!("migrations/0003_plans_checkins.sql"),
        backfill: None,
    },
    Migration {
        version: 4,
        sql: include_str!("migrations/0004_premises_training_history.sql"),
        backfill: None,
    },
    Migration {
        version: 5,
        sql: include_str!("migrations/0005_audit_chain_retention.sql"),
        backfill: Some(super::audit::backfill_chain),
    },
];

/// The schema version this build creates and understands: the last migration's.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

const BACKFILL_MARKER: &str = "-- @backfill";

/// The schema version of an SQLite database (`PRAGMA user_version`).
pub fn sqlite_version(conn: &rusqlite::Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

/// The schema version of the database behind `conn`: SQLite's `user_version`, or the
/// latest row of PostgreSQL's `firefly_schema` table (0 before the first migration).
pub fn version(conn: &Conn) -> Result<i64> {
    match conn.as_sqlite() {
        Some(c) => sqlite_version(c),
        None => {
            let made: bool = conn.query_row(
                "SELECT to_regclass('firefly_schema') IS NOT NULL",
                super::db::params![],
                |r| r.get(0),
            )?;
            if !made {
                return Ok(0);
            }
            Ok(conn.query_row(
                "SELECT coalesce(max(version), 0) FROM firefly_schema",
                super::db::params![],
                |r| r.get(0),
            )?)
        }
    }
}

fn set_version(conn: &Conn, version: i64) -> Result<()> {
    match conn.as_sqlite() {
        Some(c) => c.pragma_update(None, "user_version", version)?,
        None => {
            conn.execute(
                "INSERT INTO firefly_schema (version, applied_at) VALUES (?1, ?2)",
                super::db::params![version, super::utc_text(jiff::Timestamp::now())],
            )?;
        }
    }
    Ok(())
}

/// Refuses a database newer than this build.
fn check_not_newer(found: i64) -> Result<()> {
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Brings the database at `location` to [`SCHEMA_VERSION`]. `before_change` is called
/// once, before the first migration that changes a database which already has a schema
/// (version > 0), with that version: the caller backs the file up there. Errors name the
/// database (and a failed migration its version).
pub fn migrate(
    conn: &mut Conn,
    location: &Location,
    before_change: &mut dyn FnMut(&Conn, i64) -> Result<()>,
) -> Result<()> {
    apply(conn, location, before_change).map_err(|e| match e {
        StoreError::Sql(error) => StoreError::Open {
            path: location.to_string(),
            error,
        },
        other => other,
    })
}

fn apply(
    conn: &mut Conn,
    location: &Location,
    before_change: &mut dyn FnMut(&Conn, i64) -> Result<()>,
) -> Result<()> {
    let migrations = match conn.backend() {
        Backend::Sqlite => MIGRATIONS,
        Backend::Postgres => POSTGRES_MIGRATIONS,
    };
    // A cheap look first: a current database takes no write lock.
    let seen = version(conn)?;
    check_not_newer(seen)?;
    if seen == SCHEMA_VERSION {
        return Ok(());
    }
    if seen > 0 {
        before_change(conn, seen)?;
    }
    for m in migrations {
        let tx = conn.transaction()?;
        let current = version(&tx)?;
        check_not_newer(current)?;
        if m.version <= current {
            continue; // applied (perhaps by another process while this one waited)
        }
        let failed = |error| StoreError::Migration {
            path: location.to_string(),
            version: m.version,
            error,
        };
        match (m.sql.split_once(BACKFILL_MARKER), m.backfill) {
            (Some((before, after)), Some(step)) => {
                tx.execute_batch(before).map_err(failed)?;
                step(&tx)?;
                tx.execute_batch(after).map_err(failed)?;
            }
            _ => tx.execute_batch(m.sql).map_err(failed)?,
        }
        set_version(&tx, m.version)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Versions are 1, 2, 3, ... in order, so the last one is the schema version.
    #[test]
    fn migrations_are_numbered_in_order_from_one() {
        let versions: Vec<i64> = MIGRATIONS.iter().map(|m| m.version).collect();
        let expected: Vec<i64> = (1..=MIGRATIONS.len() as i64).collect();
        assert_eq!(versions, expected);
        assert_eq!(SCHEMA_VERSION, MIGRATIONS.len() as i64);
        // PostgreSQL's list ends at the same version.
        let last = POSTGRES_MIGRATIONS.last().map(|m| m.version);
        assert_eq!(last, Some(SCHEMA_VERSION));
    }
}
