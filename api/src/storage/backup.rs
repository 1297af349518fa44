//! Backups and restores of the database file.
//!
//! A backup is `VACUUM INTO` a new file: one read transaction, so it is a consistent
//! snapshot taken while the server and imports go on (an import in flight is either wholly
//! in the copy or not at all), then `PRAGMA integrity_check` on the copy, then an atomic
//! rename to the name asked for. A restore checks the copy the same way, refuses one with a
//! newer schema than this build, copies it to a temporary file beside the database and
//! renames it over the database, after making sure no other process has the database open.

use super::migrations::{SCHEMA_VERSION, sqlite_version};
use super::{Result, Store, StoreError};
use jiff::Timestamp;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

fn file_error(path: &Path, error: std::io::Error) -> StoreError {
    StoreError::File {
        path: path.display().to_string(),
        error,
    }
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Creates an empty file only its owner may read (what `VACUUM INTO` then fills).
fn create_empty_private(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map_err(|e| file_error(path, e))?;
    Ok(())
}

/// Makes a rename in `dir` durable.
fn sync_dir(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
}

/// `VACUUM INTO tmp` from `conn`, check the copy, fsync it, rename it to `dest`.
fn copy_checked(conn: &Connection, dest: &Path) -> Result<()> {
    let tmp = with_suffix(dest, &format!(".tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    create_empty_private(&tmp)?;
    let result = (|| {
        conn.execute("VACUUM INTO ?1", [tmp.to_string_lossy()])?;
        check_copy(&tmp)?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(|e| file_error(&tmp, e))?;
        std::fs::rename(&tmp, dest).map_err(|e| file_error(dest, e))?;
        sync_dir(dest);
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// What a copy holds, once checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyInfo {
    pub schema_version: i64,
    pub audit_rows: i64,
}

/// Opens a copy read-only and checks it: `PRAGMA integrity_check` passes, it is a Firefly
/// database, and its schema is not newer than this build's.
pub fn check_copy(path: &Path) -> Result<CopyInfo> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::Open {
        path: path.display().to_string(),
        error: e.into(),
    })?;
    let refuse = |why: String| StoreError::Refused(format!("{}: {why}", path.display()));
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| refuse(format!("not a readable SQLite database ({e})")))?;
    if check != "ok" {
        return Err(refuse(format!("integrity check failed: {check}")));
    }
    let schema = sqlite_version(&conn)?;
    if schema > SCHEMA_VERSION {
        return Err(refuse(format!(
            "schema version {schema} is newer than this firefly's ({SCHEMA_VERSION})"
        )));
    }
    let is_firefly: bool = conn.query_row(
        "SELECT count(*) = 2 FROM sqlite_master WHERE type = 'table'
         AND name IN ('incidents', 'imports')",
        [],
        |r| r.get(0),
    )?;
    if schema < 1 || !is_firefly {
        return Err(refuse("not a Firefly database".into()));
    }
    let audit_rows: i64 = if schema >= 2 {
        conn.query_row("SELECT count(*) FROM audit", [], |r| r.get(0))?
    } else {
        0
    };
    Ok(CopyInfo {
        schema_version: schema,
        audit_rows,
    })
}

/// The file written before migrating a database at schema `version`:
/// `DB.schema{version}-{UTC time}.bak` beside it.
pub fn pre_migration_path(db: &Path, version: i64, at: Timestamp) -> PathBuf {
    with_suffix(
        db,
        &format!(".schema{version}-{}.bak", at.strftime("%Y%m%dT%H%M%SZ")),
    )
}

/// Called before the first migration that changes an existing database: a checked copy.
pub(super) fn before_migration(conn: &Connection, db: &Path, version: i64) -> Result<()> {
    let dest = pre_migration_path(db, version, Timestamp::now());
    if dest.exists() {
        return Ok(()); // another process made it this second
    }
    copy_checked(conn, &dest)?;
    tracing::warn!(
        backup = %dest.display(),
        "database schema {version} will be migrated to {SCHEMA_VERSION}; copy written first"
    );
    Ok(())
}

/// Restores `source` over the database at `db`: checks the copy, refuses while another
/// process has `db` open, copies to a temporary file beside `db` and renames it over `db`.
/// The current database is left untouched if anything fails.
pub fn restore(source: &Path, db: &Path) -> Result<CopyInfo> {
    let info = check_copy(source)?;
    if db.exists() {
        // Fold the WAL into the file and close: SQLite deletes `-wal` and `-shm` when the
        // last connection closes. If they remain, someone else has the database open.
        let conn = Connection::open(db).map_err(|e| StoreError::Open {
            path: db.display().to_string(),
            error: e.into(),
        })?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        drop(conn);
        if with_suffix(db, "-wal").exists() || with_suffix(db, "-shm").exists() {
            return Err(StoreError::Refused(format!(
                "{} is open in another process (a running `firefly serve`?); stop it first",
                db.display()
            )));
        }
    }
    let src =
        Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|e| {
            StoreError::Open {
                path: source.display().to_string(),
                error: e.into(),
            }
        })?;
    copy_checked(&src, db)?;
    Ok(info)
}

impl Store {
    /// Writes a checked copy of the database to `dest` (which must not exist).
    pub fn backup_to(&self, dest: &Path) -> Result<CopyInfo> {
        if dest.exists() {
            return Err(StoreError::Refused(format!(
                "{} exists; choose a new file name",
                dest.display()
            )));
        }
        let Some(conn) = self.conn.as_sqlite() else {
            return Err(StoreError::Refused(
                "a PostgreSQL database is backed up by the server's own tools (pg_dump, \
                 pg_basebackup); `firefly backup` copies SQLite files"
                    .into(),
            ));
        };
        copy_checked(conn, dest)?;
        check_copy(dest)
    }

    /// Bytes free for this process on the file system of the database, if known.
    pub fn disk_free_bytes(&self) -> Option<u64> {
        let path = self.path()?;
        let dir = path.parent()?.to_path_buf();
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        free_bytes(&dir)
    }

    /// The path of the database file, if it is one.
    pub fn path(&self) -> Option<PathBuf> {
        self.conn
            .as_sqlite()?
            .path()
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
    }
}

#[cfg(unix)]
fn free_bytes(dir: &Path) -> Option<u64> {
    let s = rustix::fs::statvfs(dir).ok()?;
    Some(s.f_bavail.saturating_mul(s.f_frsize))
}

#[cfg(not(unix))]
fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}
