//! `GET /api/v1/audit`: the audit log, newest first, for admins. Reading it is itself
//! logged.

use super::auth::Require;
use super::error::{AppError, AppJson, AppQuery};
use super::policy::AuditLog;
use super::state::AppState;
use crate::storage::{AuditQuery, AuditRow};
use axum::extract::State;
use serde::{Deserialize, Serialize};

/// Entries per page when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 100;
/// Most entries per page.
pub const MAX_LIMIT: u32 = 1_000;

/// Which entries to list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// Only entries older than this id (the previous page's `next_before`).
    pub before: Option<i64>,
    /// Only this actor (user name, or `cli:<login>`).
    pub actor: Option<String>,
    /// Only this action, e.g. `incidents.read`.
    pub action: Option<String>,
    /// Entries per page (default 100, at most 1,000).
    pub limit: Option<u32>,
}

/// One page of the audit log.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditRow>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    pub next_before: Option<i64>,
}

/// The audit log: who read or wrote personal or incident data, when, what, from where.
#[utoipa::path(
    get,
    path = "/api/v1/audit",
    tag = "admin",
    params(AuditParams),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Entries, newest first", body = AuditPage),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not an admin", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid parameters", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    who: Require<AuditLog>,
    AppQuery(p): AppQuery<AuditParams>,
) -> Result<AppJson<AuditPage>, AppError> {
    let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::Unprocessable(format!(
            "limit must be 1 to {MAX_LIMIT}"
        )));
    }
    let query = AuditQuery {
        before: p.before,
        actor: p.actor.clone(),
        action: p.action.clone(),
        limit,
    };
    let entry = who.audit(
        "audit.read",
        "audit",
        serde_json::json!({"before": p.before, "actor": p.actor, "action": p.action, "limit": limit}),
    );
    let entries = state
        .db
        .run(move |s| {
            let rows = s.audit_entries(&query)?;
            s.append_audit(&entry)?;
            Ok(rows)
        })
        .await?;
    let next_before = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(AppJson(AuditPage {
        entries,
        next_before,
    }))
}
