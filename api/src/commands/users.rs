//! `firefly users add|list|disable|enable|passwd|revoke-sessions`: the only way users come
//! to exist. There is no default user and no default password: `add` and `passwd` generate
//! one and print it once, or read one from stdin (refused when common or easy to guess).
//!
//! Disabling a user, a new password and `revoke-sessions` end every session of the user in
//! the same transaction. A running server remembers a session it read for up to 2 seconds
//! (`server::sessions`), so a change made here takes effect there within 2 seconds; the
//! same change made by an admin over HTTP takes effect at once.

use crate::app::Failure;
use crate::app::operator::cli_entry;
use crate::app::password::{self, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS};
use crate::config::Config;
use crate::roles::Role;
use crate::storage::{AccountChange, AuditEntry, NewUser, Store, StoreError};
use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use std::io::Read;

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Create a user; prints a generated password once, or reads one from stdin.
    Add(AddArgs),
    /// List the users (name, role, unit).
    List,
    /// Disable a user: their sessions end, and they cannot log in until enabled.
    Disable(NameArg),
    /// Enable a disabled user.
    Enable(NameArg),
    /// Set a new password (generated and printed once, or read from stdin); sessions end.
    Passwd(PasswdArgs),
    /// End every session of a user.
    RevokeSessions(NameArg),
}

#[derive(Args)]
pub struct NameArg {
    pub name: String,
}

#[derive(Args)]
pub struct PasswdArgs {
    pub name: String,
    /// Read the password from stdin (one line) instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Args)]
pub struct AddArgs {
    /// Login name: letters, digits and `.`, `_`, `-`, `@` (1 to 64).
    pub name: String,
    #[arg(long, value_enum)]
    pub role: Role,
    /// The officer's unit callsign (e.g. LN-FF1), for their own itinerary.
    #[arg(long)]
    pub unit: Option<String>,
    /// Read the password from stdin (one line) instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
}

pub fn run(config: &Config, cmd: UsersCommand) -> Result<(), Failure> {
    match cmd {
        UsersCommand::Add(args) => add(config, args, &mut std::io::stdin()),
        UsersCommand::List => list(config),
        UsersCommand::Disable(a) => change(config, &a.name, AccountChange::Disable),
        UsersCommand::Enable(a) => change(config, &a.name, AccountChange::Enable),
        UsersCommand::RevokeSessions(a) => change(config, &a.name, AccountChange::RevokeSessions),
        UsersCommand::Passwd(a) => passwd(config, a, &mut std::io::stdin()),
    }
}

/// A password from stdin (checked: length, and not common or easy to guess) or generated.
fn new_password(
    name: &str,
    from_stdin: bool,
    stdin: &mut dyn Read,
) -> Result<(String, bool), Failure> {
    if from_stdin {
        let secret = read_password(stdin).map_err(Failure::Invalid)?;
        password::check_strength(&secret, &[name]).map_err(|e| Failure::Invalid(anyhow!(e)))?;
        Ok((secret, false))
    } else {
        Ok((
            password::generate().map_err(|e| Failure::Other(e.into()))?,
            true,
        ))
    }
}

fn change(config: &Config, name: &str, change: AccountChange<'_>) -> Result<(), Failure> {
    let mut store = Store::open(&config.db)?;
    let entry = cli_entry(
        change.action(),
        &format!("user:{name}"),
        None,
        serde_json::Value::Null,
    );
    let Some(done) = store.change_account(name, change, &entry)? else {
        return Err(Failure::Invalid(anyhow!("there is no user named {name:?}")));
    };
    let what = match change {
        AccountChange::Disable => "disabled",
        AccountChange::Enable => "enabled",
        AccountChange::Password(_) => "has a new password",
        AccountChange::RevokeSessions => "signed out",
    };
    println!(
        "{} {what}; {} session(s) ended (a running server notices within 2 seconds)",
        done.user.name,
        done.revoked_sessions.len()
    );
    Ok(())
}

fn passwd(config: &Config, args: PasswdArgs, stdin: &mut dyn Read) -> Result<(), Failure> {
    let (secret, generated) = new_password(&args.name, args.password_stdin, stdin)?;
    let hash = password::hash(&secret).map_err(|e| Failure::Other(e.into()))?;
    change(config, &args.name, AccountChange::Password(&hash))?;
    if generated {
        println!("password: {secret}");
        println!("(shown once and not stored: only its argon2id hash is kept)");
    }
    Ok(())
}

/// Checks a login name.
pub fn valid_name(name: &str) -> anyhow::Result<()> {
    let ok = (1..=64).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(anyhow!(
            "user name {name:?}: use 1 to 64 letters, digits, '.', '_', '-' or '@'"
        ))
    }
}

/// Checks a unit callsign.
fn valid_unit(unit: &str) -> anyhow::Result<()> {
    let ok = (1..=32).contains(&unit.chars().count())
        && unit
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.'));
    if ok {
        Ok(())
    } else {
        Err(anyhow!(
            "--unit {unit:?}: use 1 to 32 letters, digits, '-', '_', '/' or '.'"
        ))
    }
}

/// Reads one password line from `input`, without its line ending.
fn read_password(input: &mut dyn Read) -> anyhow::Result<String> {
    let mut bytes = Vec::new();
    input
        .take(MAX_PASSWORD_BYTES as u64 + 3)
        .read_to_end(&mut bytes)
        .context("reading the password from stdin")?;
    let text = String::from_utf8(bytes).map_err(|_| anyhow!("the password is not UTF-8"))?;
    let line = text.strip_suffix('\n').unwrap_or(&text);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.contains('\n') {
        return Err(anyhow!(
            "stdin holds more than one line; give the password alone"
        ));
    }
    if line.len() > MAX_PASSWORD_BYTES {
        return Err(anyhow!(
            "the password is longer than {MAX_PASSWORD_BYTES} bytes"
        ));
    }
    if line.chars().count() < MIN_PASSWORD_CHARS {
        return Err(anyhow!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    Ok(line.to_string())
}

/// Creates the user; the password comes from `stdin` with `--password-stdin`.
pub fn add(config: &Config, args: AddArgs, stdin: &mut dyn Read) -> Result<(), Failure> {
    valid_name(&args.name).map_err(Failure::Invalid)?;
    if let Some(u) = &args.unit {
        valid_unit(u).map_err(Failure::Invalid)?;
    }
    let (secret, generated) = new_password(&args.name, args.password_stdin, stdin)?;
    let hash = password::hash(&secret).map_err(|e| Failure::Other(e.into()))?;
    let mut store = Store::open(&config.db)?;
    let audit = AuditEntry {
        actor: Some(crate::app::import::actor()),
        role: None,
        action: "user.create".into(),
        target: Some(format!("user:{}", args.name)),
        detail: Some(serde_json::json!({"role": args.role, "unit": args.unit})),
        remote_addr: None,
    };
    let user = NewUser {
        name: &args.name,
        role: args.role,
        unit: args.unit.as_deref(),
        password_hash: &hash,
    };
    match store.add_user(&user, &audit) {
        Err(StoreError::Conflict(m)) => return Err(Failure::Invalid(anyhow!(m))),
        other => other?,
    };
    let unit = args
        .unit
        .as_deref()
        .map(|u| format!(", unit {u}"))
        .unwrap_or_default();
    println!("created user {} ({}{unit})", args.name, args.role);
    if generated {
        println!("password: {secret}");
        println!("(shown once and not stored: only its argon2id hash is kept)");
    }
    Ok(())
}

fn list(config: &Config) -> Result<(), Failure> {
    let store = Store::open(&config.db)?;
    let users = store.users()?;
    if users.is_empty() {
        println!("no users: create one with `firefly users add NAME --role admin`");
    }
    for u in users {
        println!(
            "{:<24} {:<8} {:<10}{}",
            u.name,
            u.role,
            u.unit.as_deref().unwrap_or("-"),
            if u.disabled { " (disabled)" } else { "" }
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_from_stdin_are_one_line_of_twelve_or_more() {
        let read = |s: &str| read_password(&mut s.as_bytes());
        assert_eq!(
            read("correct horse battery\n").unwrap(),
            "correct horse battery"
        );
        assert_eq!(
            read("correct horse battery\r\n").unwrap(),
            "correct horse battery"
        );
        assert_eq!(
            read("correct horse battery").unwrap(),
            "correct horse battery"
        );
        assert!(read("short\n").is_err());
        assert!(read("").is_err());
        assert!(read("correct horse battery\nsecond line\n").is_err());
        assert!(read(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }

    #[test]
    fn names_and_units_are_checked() {
        assert!(valid_name("ana.lopez@beds").is_ok());
        assert!(valid_name("").is_err());
        assert!(valid_name("ana lopez").is_err());
        assert!(valid_unit("LN-FF1").is_ok());
        assert!(valid_unit("LN FF1").is_err());
    }
}
