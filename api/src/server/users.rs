//! `PATCH /api/v1/users/{name}`: an admin disables or enables an account, sets a new
//! password, or ends its sessions. Each change is one transaction with its audit entry;
//! disabling, a new password and `revoke_sessions` end every session of the user there,
//! and this server forgets them from its session cache at once.

use super::auth::Require;
use super::error::{AppError, AppJson, AppPath};
use super::policy::UserAccounts;
use super::state::AppState;
use crate::app::password;
use crate::storage::AccountChange;
use axum::extract::State;
use serde::{Deserialize, Serialize};

/// What to change; at least one field.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChanges {
    /// `true` disables the account (its sessions end), `false` enables it.
    pub disabled: Option<bool>,
    /// A new password (12 characters or more, not common or easy to guess); sessions end.
    pub password: Option<String>,
    /// `true` ends every session of the user.
    pub revoke_sessions: Option<bool>,
}

/// The account after the change.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UserState {
    pub name: String,
    pub role: String,
    pub unit: Option<String>,
    pub disabled: bool,
    /// Sessions this request ended.
    pub sessions_revoked: usize,
}

#[utoipa::path(
    patch,
    path = "/api/v1/users/{name}",
    tag = "admin",
    params(("name" = String, Path, description = "The user's login name (any case)")),
    request_body = UserChanges,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The account after the change; audited", body = UserState),
        (status = 400, description = "The body is not JSON", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Nothing to change, or a weak password", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    State(state): State<AppState>,
    who: Require<UserAccounts>,
    AppPath(name): AppPath<String>,
    AppJson(body): AppJson<UserChanges>,
) -> Result<AppJson<UserState>, AppError> {
    let hash = match &body.password {
        Some(p) => {
            let chars = p.chars().count();
            if chars < password::MIN_PASSWORD_CHARS || p.len() > password::MAX_PASSWORD_BYTES {
                return Err(AppError::Unprocessable(format!(
                    "password: {} to {} bytes",
                    password::MIN_PASSWORD_CHARS,
                    password::MAX_PASSWORD_BYTES
                )));
            }
            password::check_strength(p, &[&name])
                .map_err(|e| AppError::Unprocessable(format!("password: {e}")))?;
            let p = p.clone();
            Some(
                tokio::task::spawn_blocking(move || password::hash(&p))
                    .await
                    .map_err(|e| AppError::Internal(e.into()))?
                    .map_err(|e| AppError::Internal(e.into()))?,
            )
        }
        None => None,
    };
    let mut changes = Vec::new();
    if body.password.is_some() {
        changes.push("password");
    }
    match body.disabled {
        Some(true) => changes.push("disable"),
        Some(false) => changes.push("enable"),
        None => {}
    }
    if body.revoke_sessions == Some(true) {
        changes.push("revoke");
    }
    if changes.is_empty() {
        return Err(AppError::Unprocessable(
            "nothing to change: give disabled, password or revoke_sessions".into(),
        ));
    }
    let entry = who.audit("user.change", format!("user:{name}"), serde_json::json!({}));
    let key = name.clone();
    let done = state
        .db
        .run(move |s| {
            let mut last = None;
            let mut revoked = Vec::new();
            for c in changes {
                let change = match c {
                    "password" => AccountChange::Password(hash.as_deref().unwrap_or_default()),
                    "disable" => AccountChange::Disable,
                    "enable" => AccountChange::Enable,
                    _ => AccountChange::RevokeSessions,
                };
                match s.change_account(&key, change, &entry)? {
                    Some(done) => {
                        revoked.extend(done.revoked_sessions);
                        last = Some(done.user);
                    }
                    None => return Ok(None),
                }
            }
            Ok(last.map(|u| (u, revoked)))
        })
        .await?;
    let Some((user, revoked)) = done else {
        return Err(AppError::NotFound(format!(
            "there is no user named {name:?}"
        )));
    };
    for id in &revoked {
        state.sessions.remove(*id);
    }
    Ok(AppJson(UserState {
        name: user.name,
        role: user.role.to_string(),
        unit: user.unit,
        disabled: user.disabled,
        sessions_revoked: revoked.len(),
    }))
}
