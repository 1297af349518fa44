//! Who runs the CLI: the operating-system account of the process, for the audit log.
//!
//! The name comes from the process's user id (the owner of `/proc/self`, which is the
//! process's effective uid) looked up in `/etc/passwd`, never from `$USER` or `$LOGNAME`,
//! which anyone can set. Off Linux, or when the lookup fails, the actor is `cli:uid:N` or
//! `cli:unknown`.

use crate::storage::AuditEntry;
use std::sync::OnceLock;

/// The purpose the CLI was run for (`--purpose`, `FIREFLY_PURPOSE`), set once by `main`.
static PURPOSE: OnceLock<Option<String>> = OnceLock::new();

/// Longest purpose kept, in characters.
pub const MAX_PURPOSE_CHARS: usize = 200;

/// Checks a purpose: not blank, at most [`MAX_PURPOSE_CHARS`] characters, no control
/// characters. Returns it trimmed.
pub fn check_purpose(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err(
            "purpose: say why the data is needed (e.g. \"map: planner incident layer\")".into(),
        );
    }
    if t.chars().count() > MAX_PURPOSE_CHARS {
        return Err(format!("purpose: at most {MAX_PURPOSE_CHARS} characters"));
    }
    if t.chars().any(char::is_control) {
        return Err("purpose: no control characters".into());
    }
    Ok(t.to_owned())
}

/// Records the CLI's purpose for this process (first call wins).
pub fn set_purpose(purpose: Option<String>) {
    let _ = PURPOSE.set(purpose);
}

/// The CLI's purpose, if one was given.
pub fn purpose() -> Option<&'static str> {
    PURPOSE.get().and_then(|p| p.as_deref())
}

/// The OS account running this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsUser {
    pub uid: Option<u32>,
    pub name: Option<String>,
}

impl OsUser {
    /// The account of this process.
    pub fn current() -> OsUser {
        let uid = uid();
        let name = uid.and_then(|uid| {
            let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
            name_in_passwd(&passwd, uid)
        });
        OsUser { uid, name }
    }

    /// The audit actor: `cli:NAME`, `cli:uid:N`, or `cli:unknown`.
    pub fn actor(&self) -> String {
        match (&self.name, self.uid) {
            (Some(name), _) => format!("cli:{name}"),
            (None, Some(uid)) => format!("cli:uid:{uid}"),
            (None, None) => "cli:unknown".into(),
        }
    }
}

#[cfg(unix)]
fn uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

#[cfg(not(unix))]
fn uid() -> Option<u32> {
    None
}

/// The name of `uid` in the text of an `/etc/passwd` file.
fn name_in_passwd(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id: u32 = fields.nth(1)?.parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_owned())
    })
}

/// An audit entry for something the CLI did: the OS account as actor, the purpose (if
/// given) and the uid in the detail beside `detail`'s own fields.
pub fn cli_entry(
    action: &str,
    target: &str,
    purpose: Option<&str>,
    detail: serde_json::Value,
) -> AuditEntry {
    let user = OsUser::current();
    let mut map = match detail {
        serde_json::Value::Object(m) => m,
        serde_json::Value::Null => serde_json::Map::new(),
        other => {
            let mut m = serde_json::Map::new();
            m.insert("value".into(), other);
            m
        }
    };
    if let Some(p) = purpose
        .map(str::to_owned)
        .or_else(|| self::purpose().map(str::to_owned))
    {
        map.insert("purpose".into(), p.into());
    }
    if let Some(uid) = user.uid {
        map.insert("uid".into(), uid.into());
    }
    AuditEntry {
        actor: Some(user.actor()),
        role: Some("cli".into()),
        action: action.into(),
        target: Some(target.into()),
        detail: Some(serde_json::Value::Object(map)),
        remote_addr: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_uid_in_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n#c\nana:x:1000:1000::/home/ana:/bin/sh\n";
        assert_eq!(name_in_passwd(passwd, 1000).as_deref(), Some("ana"));
        assert_eq!(name_in_passwd(passwd, 0).as_deref(), Some("root"));
        assert_eq!(name_in_passwd(passwd, 7), None);
        let me = OsUser::current();
        assert!(me.uid.is_some());
        assert!(me.actor().starts_with("cli:"));
    }
}
