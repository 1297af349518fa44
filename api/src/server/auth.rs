//! Logging in and out, and who is asking.
//!
//! `POST /api/v1/auth/login` checks the argon2id hash, then creates a session: a random
//! 256-bit token, returned once in the body (for scripts: `Authorization: Bearer TOKEN`) and
//! in an `HttpOnly; SameSite=Strict` cookie (for the browser, out of reach of scripts and
//! never sent by other sites). Only the token's SHA-256 is stored. Sessions expire after
//! the configured lifetime and end at logout (revoked in the database, so a copied token
//! stops working too). Sessions found are remembered briefly ([`super::sessions`]).
//!
//! [`Authenticated`] finds the session of a request (bearer header first, else the cookie);
//! [`Require`] adds the role check of a [`Policy`]. Handlers take one of them as an
//! argument: authorisation is declared in the signature and enforced here, in one place.

use super::error::{AppError, AppJson};
use super::policy::{AnyUser, Policy};
use super::state::AppState;
use crate::app::password::{self, MAX_PASSWORD_BYTES};
use crate::roles::Role;
use crate::storage::{AuditEntry, User, utc_text};
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::atomic::Ordering;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "firefly_session";

/// The client's address, when the server knows it (not in `oneshot` tests). Proxy headers
/// such as `X-Forwarded-For` are not trusted.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<SocketAddr>);

impl ClientAddr {
    pub fn ip(&self) -> Option<String> {
        self.0.map(|a| a.ip().to_string())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}

/// A request with a valid session.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: User,
    pub session_id: i64,
    pub expires_at: Timestamp,
    pub remote_addr: Option<String>,
}

impl Authenticated {
    /// An audit entry by this user.
    pub fn audit(
        &self,
        action: &str,
        target: impl Into<String>,
        detail: serde_json::Value,
    ) -> AuditEntry {
        AuditEntry {
            actor: Some(self.user.name.clone()),
            role: Some(self.user.role.to_string()),
            action: action.into(),
            target: Some(target.into()),
            detail: Some(detail),
            remote_addr: self.remote_addr.clone(),
        }
    }
}

/// The session token of a request: the bearer header if there is one, else the cookie.
fn token(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let text = value.to_str().unwrap_or("");
        let (scheme, token) = text.split_once(' ').unwrap_or((text, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AppError::Unauthorized(
                "the Authorization header must be `Bearer TOKEN`, with the token from POST /api/v1/auth/login".into(),
            ));
        }
        return Ok(Some(token.trim().to_string()));
    }
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim().to_string());
    Ok(cookie)
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(done) = parts.extensions.get::<Authenticated>() {
            return Ok(done.clone());
        }
        let Some(token) = token(&parts.headers)? else {
            return Err(AppError::Unauthorized(
                "log in first: POST /api/v1/auth/login, then send `Authorization: Bearer TOKEN` or the session cookie".into(),
            ));
        };
        let expired = || {
            AppError::Unauthorized(
                "the session has expired or was ended, or the token is wrong: log in again".into(),
            )
        };
        if !password::is_token(&token) {
            return Err(expired());
        }
        let hash = password::token_sha256(&token);
        let session = match state.sessions.get(&hash) {
            Some(session) => session,
            None => {
                let key = hash.clone();
                let idle = state.server.session_idle;
                let found = state.db.run(move |s| s.active_session(&key, idle)).await?;
                let session = found.ok_or_else(expired)?;
                state.sessions.put(hash, session.clone());
                session
            }
        };
        let ClientAddr(addr) = ClientAddr::from_request_parts(parts, state)
            .await
            .unwrap_or(ClientAddr(None));
        let auth = Authenticated {
            user: session.user,
            session_id: session.session_id,
            expires_at: session.expires_at,
            remote_addr: addr.map(|a| a.ip().to_string()),
        };
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}

/// A request whose user's role the policy `P` allows: 401 without a session, 403 with one
/// whose role is not in `P::ROLES`.
#[derive(Debug, Clone)]
pub struct Require<P: Policy> {
    pub auth: Authenticated,
    policy: PhantomData<P>,
}

impl<P: Policy> Deref for Require<P> {
    type Target = Authenticated;

    fn deref(&self) -> &Authenticated {
        &self.auth
    }
}

impl<P: Policy> FromRequestParts<AppState> for Require<P> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let auth = Authenticated::from_request_parts(parts, state).await?;
        if !P::allows(auth.user.role) {
            let roles: Vec<&str> = P::ROLES.iter().map(|r| r.as_str()).collect();
            return Err(AppError::Forbidden(format!(
                "the {} role may not see {}; it needs one of: {}",
                auth.user.role,
                P::WHAT,
                roles.join(", ")
            )));
        }
        Ok(Require {
            auth,
            policy: PhantomData,
        })
    }
}

/// `POST /api/v1/auth/login` body.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    #[schema(format = Password)]
    pub password: String,
}

/// A new session.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    /// Send as `Authorization: Bearer TOKEN`. Shown once; only its hash is stored.
    pub token: String,
    pub role: Role,
    /// UTC, RFC 3339.
    pub expires_at: String,
}

/// Who is logged in.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub username: String,
    pub role: Role,
    /// The officer's unit callsign.
    pub unit: Option<String>,
    /// When this session ends (UTC, RFC 3339).
    pub session_expires_at: String,
}

fn cookie(state: &AppState, value: &str, max_age: u64) -> String {
    format!(
        "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{}",
        if state.server.secure_cookie {
            "; Secure"
        } else {
            ""
        }
    )
}

/// Logs in: a bearer token in the body and the same token in the session cookie.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; also sets the `firefly_session` cookie (HttpOnly, SameSite=Strict)", body = LoginResponse),
        (status = 400, description = "The body is not JSON", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong user name or password", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing or invalid fields", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins; see `Retry-After`", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    AppJson(body): AppJson<LoginRequest>,
) -> Result<Response, AppError> {
    let name = body.username.trim().to_string();
    if name.is_empty() || name.chars().count() > 64 {
        return Err(AppError::Unprocessable(
            "username must be 1 to 64 characters".into(),
        ));
    }
    if body.password.is_empty() || body.password.len() > MAX_PASSWORD_BYTES {
        return Err(AppError::Unprocessable(format!(
            "password must be 1 to {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    let ip = client.ip();
    if let Err(wait) = state.limiter.check(&name, ip.as_deref()) {
        state.metrics.logins_refused.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(user = %name, addr = ?ip, "login refused: too many failed attempts");
        let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        return Err(AppError::TooManyRequests {
            detail: format!(
                "too many failed logins for this user or from this address; try again in {} minute(s)",
                seconds.div_ceil(60)
            ),
            retry_after: seconds,
        });
    }
    let lookup = name.clone();
    let found = state.db.run(move |s| s.user_for_login(&lookup)).await?;
    let password = body.password;
    let (user, matches) = tokio::task::spawn_blocking(move || match found {
        Some((user, hash)) => {
            let ok = password::verify(&password, &hash);
            (Some(user), ok)
        }
        None => (None, password::verify_nobody(&password)),
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    let user = match (user, matches) {
        (Some(user), true) if !user.disabled => user,
        (user, matches) => {
            state.limiter.failed(&name, ip.as_deref());
            state.metrics.login_failures.fetch_add(1, Ordering::Relaxed);
            let reason = match (&user, matches) {
                (None, _) => "unknown user",
                (Some(_), true) => "user disabled",
                (Some(_), false) => "wrong password",
            };
            let entry = AuditEntry {
                actor: user.as_ref().map(|u| u.name.clone()),
                role: user.as_ref().map(|u| u.role.to_string()),
                action: "auth.login".into(),
                target: None,
                detail: Some(serde_json::json!({"outcome": "refused", "reason": reason})),
                remote_addr: ip,
            };
            state.db.run(move |s| s.append_audit(&entry)).await?;
            return Err(AppError::Unauthorized("wrong user name or password".into()));
        }
    };
    state.limiter.succeeded(&name);
    let token = password::new_token().map_err(|e| AppError::Internal(e.into()))?;
    let ttl = state.server.session_ttl.as_secs();
    let expires = Timestamp::from_second(Timestamp::now().as_second() + ttl as i64)
        .map_err(|e| AppError::Internal(e.into()))?;
    let entry = AuditEntry {
        actor: Some(user.name.clone()),
        role: Some(user.role.to_string()),
        action: "auth.login".into(),
        target: Some(format!("user:{}", user.name)),
        detail: Some(serde_json::json!({"outcome": "ok", "expires_at": utc_text(expires)})),
        remote_addr: ip.clone(),
    };
    let hash = password::token_sha256(&token);
    let user_id = user.id;
    state
        .db
        .run(move |s| s.create_session(user_id, &hash, expires, ip.as_deref(), &entry))
        .await?;
    let set_cookie = cookie(&state, &token, ttl);
    let body = LoginResponse {
        token,
        role: user.role,
        expires_at: utc_text(expires),
    };
    Ok(([(header::SET_COOKIE, set_cookie)], axum::Json(body)).into_response())
}

/// Ends the session (revoked: its token stops working everywhere) and clears the cookie.
#[utoipa::path(
    post,
    path = "/api/v1/auth/logout",
    tag = "auth",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    who: Require<AnyUser>,
) -> Result<Response, AppError> {
    let entry = who.audit(
        "auth.logout",
        format!("user:{}", who.user.name),
        serde_json::json!({"session": who.session_id}),
    );
    let id = who.session_id;
    state.db.run(move |s| s.revoke_session(id, &entry)).await?;
    state.sessions.remove(id);
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, cookie(&state, "", 0))],
    )
        .into_response())
}

/// The logged-in user.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "auth",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Who is logged in", body = Me),
        (status = 401, description = "No valid session", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn me(who: Require<AnyUser>) -> AppJson<Me> {
    AppJson(Me {
        username: who.user.name.clone(),
        role: who.user.role,
        unit: who.user.unit.clone(),
        session_expires_at: utc_text(who.expires_at),
    })
}
