//! Running the `firefly` binary against a test's database: in the database's folder (where
//! `firefly demo` writes `firefly.toml`), with the settings a developer's shell may hold
//! (`FIREFLY_CONFIG`, `FIREFLY_TZ`, `FIREFLY_PURPOSE`) removed, so every test sees defaults.

use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// `firefly --db DB ARGS...` run in `dir`, not yet started: `db` is a file or a
/// `postgres://` URL.
pub fn firefly_in(dir: &Path, db: impl AsRef<OsStr>, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firefly"));
    cmd.current_dir(dir)
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("FIREFLY_CONFIG")
        .env_remove("FIREFLY_TZ")
        .env_remove("FIREFLY_PURPOSE");
    cmd
}

/// The command on an SQLite file, run in its folder (to add stdin or more environment).
pub fn firefly_cmd(db: &Path, args: &[&str]) -> Command {
    let cwd = db
        .ancestors()
        .find(|p| p.is_dir())
        .unwrap_or(Path::new("."));
    firefly_in(cwd, db, args)
}

/// Runs `firefly --db DB ARGS...` to completion.
pub fn firefly(db: &Path, args: &[&str]) -> Output {
    firefly_cmd(db, args).output().expect("run firefly")
}

/// Output bytes as text, for messages.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Runs `firefly --db DB ARGS...` with `stdin` as its standard input.
pub fn firefly_stdin(db: &Path, args: &[&str], stdin: &str) -> Output {
    with_stdin(firefly_cmd(db, args), stdin)
}

/// Runs `cmd` to completion with `stdin` as its standard input.
pub fn with_stdin(mut cmd: Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run firefly");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for firefly")
}
