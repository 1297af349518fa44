//! `firefly migrate --to postgres://...`: the database of `--db` (SQLite) copied into an
//! empty PostgreSQL database (README, "PostgreSQL").

use crate::app::Failure;
use crate::app::operator::cli_entry;
use crate::config::Config;
use crate::storage::{ChainCheck, Location, Store, StoreError};
use anyhow::anyhow;
use clap::Args;
use std::time::Instant;

#[derive(Args)]
pub struct MigrateArgs {
    /// The PostgreSQL database to copy into (postgres://user@host:port/database): it is
    /// given Firefly's schema if it has none, and must hold no data.
    #[arg(long)]
    pub to: Location,
}

pub fn migrate(config: &Config, args: MigrateArgs) -> Result<(), Failure> {
    if config.db.sqlite_path().is_none() {
        return Err(Failure::Invalid(anyhow!(
            "--db names {}, not an SQLite file: `firefly migrate` copies an SQLite database \
             into PostgreSQL",
            config.db
        )));
    }
    if !matches!(args.to, Location::Postgres(_)) {
        return Err(Failure::Invalid(anyhow!(
            "--to {} is not a postgres:// URL",
            args.to
        )));
    }
    let started = Instant::now();
    let source = Store::open(&config.db)?;
    let mut target = Store::open(&args.to)?;
    let entry = cli_entry(
        "db.migrate",
        "database",
        None,
        serde_json::json!({ "from": config.db.to_string() }),
    );
    let copied = source
        .copy_into(&mut target, &entry, |table, rows| {
            eprintln!("  {table}: {} rows", super::thousands(rows));
        })
        .map_err(|e| match e {
            StoreError::Refused(m) => Failure::Invalid(anyhow!(m)),
            other => other.into(),
        })?;
    let rows: u64 = copied.tables.iter().map(|(_, n)| n).sum();
    match copied.audit {
        ChainCheck::Intact { rows: audit, .. } => println!(
            "copied {} rows of {} tables from {} into {} in {:.1} s; audit chain intact \
             ({audit} rows, with this migration's entry)",
            super::thousands(rows),
            copied.tables.len(),
            config.db,
            args.to,
            started.elapsed().as_secs_f64()
        ),
        ChainCheck::Broken { id, reason } => {
            return Err(Failure::Other(anyhow!(
                "copied, but the audit chain does not verify in the target at row {id}: {reason}"
            )));
        }
    }
    Ok(())
}
