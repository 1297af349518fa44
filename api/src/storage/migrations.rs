//! Versioned schema migrations, applied in order inside one transaction each.
//!
//! The schema version is read inside each migration's transaction (which takes the write
//! lock at BEGIN), so two processes starting at once cannot both apply the same migration:
//! the second waits, then sees the version the first committed.

use super::{Result, StoreError};
use rusqlite::{Connection, Transaction};

/// A migration: its SQL, and optionally a step in Rust run at the line `-- @backfill` of
/// the SQL (what comes before it runs first, what comes after it runs last).
struct Migration {
    version: i64,
    sql: &'static str,
    backfill: Option<fn(&Transaction<'_>) -> Result<()>>,
}

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

/// The schema version of the database behind `conn`.
pub fn version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
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

/// Brings the database to [`SCHEMA_VERSION`]. `before_change` is called once, before the
/// first migration that changes a database which already has a schema (version > 0), with
/// that version: the caller backs the file up there.
pub fn migrate(
    conn: &mut Connection,
    before_change: &mut dyn FnMut(&Connection, i64) -> Result<()>,
) -> Result<()> {
    // A cheap look first: a current database takes no write lock.
    let seen = version(conn)?;
    check_not_newer(seen)?;
    if seen == SCHEMA_VERSION {
        return Ok(());
    }
    if seen > 0 {
        before_change(conn, seen)?;
    }
    for m in MIGRATIONS {
        let tx = conn.transaction()?;
        let current = version(&tx)?;
        check_not_newer(current)?;
        if m.version <= current {
            continue; // applied (perhaps by another process while this one waited)
        }
        match (m.sql.split_once(BACKFILL_MARKER), m.backfill) {
            (Some((before, after)), Some(step)) => {
                tx.execute_batch(before)?;
                step(&tx)?;
                tx.execute_batch(after)?;
            }
            _ => tx.execute_batch(m.sql)?,
        }
        tx.pragma_update(None, "user_version", m.version)?;
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
    }
}
