//! `firefly backup FILE` and `firefly restore FILE` (README, "Operations").

use crate::app::Failure;
use crate::app::operator::cli_entry;
use crate::config::Config;
use crate::storage::{Store, StoreError, backup};
use anyhow::anyhow;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct BackupArgs {
    /// The copy to write (must not exist). Safe while the server runs.
    pub file: PathBuf,
}

#[derive(Args)]
pub struct RestoreArgs {
    /// A copy written by `firefly backup` (checked before anything is replaced).
    pub file: PathBuf,
}

fn refused(e: StoreError) -> Failure {
    match e {
        StoreError::Refused(m) => Failure::Invalid(anyhow!(m)),
        other => other.into(),
    }
}

pub fn backup(config: &Config, args: BackupArgs) -> Result<(), Failure> {
    let mut store = Store::open(&config.db)?;
    // Logged before the copy is made, so the copy holds its own entry.
    store.append_audit(&cli_entry(
        "db.backup",
        "database",
        None,
        serde_json::json!({ "file": args.file.display().to_string() }),
    ))?;
    let info = store.backup_to(&args.file).map_err(refused)?;
    println!(
        "backup {}: integrity ok, schema {}, {} audit rows",
        args.file.display(),
        info.schema_version,
        info.audit_rows
    );
    Ok(())
}

pub fn restore(config: &Config, args: RestoreArgs) -> Result<(), Failure> {
    let Some(db) = config.db.sqlite_path() else {
        return Err(Failure::Invalid(anyhow!(
            "`firefly restore` replaces an SQLite file; restore a PostgreSQL database with \
             its own tools (pg_restore)"
        )));
    };
    let info = backup::restore(&args.file, db).map_err(refused)?;
    // Opening migrates an older copy (keeping a copy of it first) and logs the restore in
    // the restored chain.
    let mut store = Store::open(&config.db)?;
    store.append_audit(&cli_entry(
        "db.restore",
        "database",
        None,
        serde_json::json!({
            "file": args.file.display().to_string(),
            "schema_version": info.schema_version,
        }),
    ))?;
    println!(
        "restored {} from {} (schema {}, {} audit rows)",
        config.db,
        args.file.display(),
        info.schema_version,
        info.audit_rows
    );
    Ok(())
}
