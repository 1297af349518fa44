//! `firefly migrate`: every row of an SQLite database copied into an empty PostgreSQL one,
//! ids and hashes as they are, in one transaction of the target; then checked (row counts,
//! the audit chain) before anything is reported.

use super::audit::insert_audit;
use super::db::{self, Backend, OptionalExt, Value};
use super::{AuditEntry, ChainCheck, Result, SCHEMA_VERSION, Store, StoreError};

/// Every table of the schema, parents before children (foreign keys), with whether its
/// `id` is drawn from a sequence on PostgreSQL (to move past the copied ids).
const TABLES: &[(&str, bool)] = &[
    ("imports", true),
    ("incidents", true),
    ("premises", true),
    ("training_records", true),
    ("users", true),
    ("sessions", true),
    ("audit", false),
    ("plans", true),
    ("plan_versions", false),
    ("plan_assignments", false),
    ("checkins", true),
    ("premises_history", true),
    ("retention_runs", true),
    ("training_history", true),
];

/// Parameters per INSERT statement, well under PostgreSQL's limit (65,535).
const PARAMS_PER_INSERT: usize = 4_000;

/// What was copied: rows per table, and the audit chain's check on the target.
#[derive(Debug)]
pub struct Copied {
    pub tables: Vec<(&'static str, u64)>,
    pub audit: ChainCheck,
}

impl Store {
    /// Copies every row of this SQLite database into `target`, a PostgreSQL database at
    /// the same schema version holding nothing yet, and appends `audit` to the copied
    /// chain, in one transaction of the target: a failure leaves the target empty.
    /// `progress` is told each table and its rows when done.
    pub fn copy_into(
        &self,
        target: &mut Store,
        audit: &AuditEntry,
        mut progress: impl FnMut(&str, u64),
    ) -> Result<Copied> {
        if self.backend() != Backend::Sqlite || target.backend() != Backend::Postgres {
            return Err(StoreError::Refused(
                "`firefly migrate` copies an SQLite database (--db) into PostgreSQL (--to)".into(),
            ));
        }
        for (store, which) in [(self, "the SQLite database"), (&*target, "the target")] {
            let version = store.schema_version()?;
            if version != SCHEMA_VERSION {
                return Err(StoreError::Refused(format!(
                    "{which} is at schema version {version}, this firefly at {SCHEMA_VERSION}"
                )));
            }
        }
        for (table, _) in TABLES {
            let n = count(target, table)?;
            if n > 0 {
                return Err(StoreError::Refused(format!(
                    "the target already holds data ({n} rows in {table}); migrate into an \
                     empty database"
                )));
            }
        }
        let tx = target.conn.import_transaction()?;
        let mut tables = Vec::with_capacity(TABLES.len());
        for &(table, identity) in TABLES {
            let columns = self.conn.query_map(
                &format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid"),
                db::params![],
                |r| r.get::<String>(0),
            )?;
            let list = columns.join(", ");
            let per_insert = (PARAMS_PER_INSERT / columns.len().max(1)).max(1);
            let mut batch: Vec<Value> = Vec::with_capacity(per_insert * columns.len());
            let mut rows = 0u64;
            let flush = |batch: &mut Vec<Value>| -> Result<()> {
                if batch.is_empty() {
                    return Ok(());
                }
                let row = format!("({})", vec!["?"; columns.len()].join(", "));
                let n = batch.len() / columns.len();
                let sql = format!(
                    "INSERT INTO {table} ({list}) VALUES {}",
                    vec![row; n].join(", ")
                );
                let params: Vec<&dyn db::ToValue> =
                    batch.iter().map(|v| v as &dyn db::ToValue).collect();
                tx.execute(&sql, &params)?;
                batch.clear();
                Ok(())
            };
            let mut failed = None;
            self.conn.for_each_until(
                &format!("SELECT {list} FROM {table}"),
                db::params![],
                &mut |r| {
                    for i in 0..columns.len() {
                        batch.push(r.get_ref(i)?.into());
                    }
                    rows += 1;
                    if batch.len() >= per_insert * columns.len()
                        && let Err(e) = flush(&mut batch)
                    {
                        failed = Some(e);
                        return Ok(false);
                    }
                    Ok(true)
                },
            )?;
            if let Some(e) = failed {
                return Err(e);
            }
            flush(&mut batch)?;
            if identity {
                tx.query_row(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}
                         HAVING max(id) IS NOT NULL"
                    ),
                    db::params![],
                    |_| Ok(()),
                )
                .optional()?;
            }
            tables.push((table, rows));
            progress(table, rows);
        }
        // The largest audit id SQLite ever used (rows cut off the end of the chain show).
        let seq: Option<i64> = self
            .conn
            .query_row(
                "SELECT seq FROM sqlite_sequence WHERE name = 'audit'",
                db::params![],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        if let Some(seq) = seq {
            tx.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES ('audit', ?1)
                 ON CONFLICT (name) DO UPDATE SET seq = greatest(sqlite_sequence.seq, EXCLUDED.seq)",
                db::params![seq],
            )?;
        }
        insert_audit(&tx, audit)?;
        tx.commit()?;
        for &(table, rows) in &tables {
            let copied = count(target, table)?;
            // The target's audit log holds the migration's own entry too.
            let expected = rows + u64::from(table == "audit");
            if copied != expected {
                return Err(StoreError::Refused(format!(
                    "{table}: {copied} rows in the target after the copy, {expected} expected"
                )));
            }
        }
        let audit = target.verify_audit()?;
        Ok(Copied { tables, audit })
    }
}

fn count(store: &Store, table: &str) -> Result<u64> {
    Ok(store.conn.query_row(
        &format!("SELECT count(*) FROM {table}"),
        db::params![],
        |r| r.get(0),
    )?)
}
