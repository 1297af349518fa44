//! Logging in and out, and who is asking.
//!
//! `POST /api/v1/auth/login` checks the argon2id hash, then creates a session: a random
//! 256-bit token, returned once in the body (for scripts: `Authorization: Bearer TOKEN`) and
//! in an `HttpOnly; SameSite=Strict; Secure; Path=/` cookie named `__Host-firefly_session`
//! (for the browser, out of reach of scripts, never sent by other sites, and by the
//! `__Host-` prefix never set by another host or over plain HTTP). In the explicit
//! development mode (`--insecure-cookie`) it is `firefly_session` without `Secure`; both
//! names are read. Only the token's SHA-256 is stored. Sessions expire after the configured
//! lifetime and end at logout (revoked in the database, so a copied token stops working
//! too). Sessions found are remembered briefly ([`super::sessions`]).
//!
//! Logins: the rate limiter ([`super::ratelimit`]) reserves the attempt first; then at most
//! `login_hashes` passwords (about one per core) are checked at once, each holding 19 MiB
//! for argon2: a login that cannot start within [`HASH_WAIT`] is answered 503 with
//! `Retry-After`, so a flood of logins costs bounded memory and leaves the other requests
//! their threads. Refused logins are audited per name, client and minute
//! ([`super::login_audit`]).
//!
//! Cross-site requests: a write (POST, PUT, PATCH, DELETE) authenticated by the cookie must
//! come from the UI's own pages: `Sec-Fetch-Site: same-origin`, or, from a browser that
//! does not send it, an `Origin` equal to `public_origin` (or naming the `Host` when that is
//! not configured); anything else is refused 403 before the handler runs. Bearer tokens
//! are never sent by browsers on their own, so requests carrying one are not checked. A
//! login marked `Sec-Fetch-Site: cross-site` or `same-site` is refused too.
//!
//! [`Authenticated`] finds the session of a request (bearer header first, else the cookie);
//! [`Require`] adds the role check of a [`Policy`]. Handlers take one of them as an
//! argument: authorisation is declared in the signature and enforced here, in one place.

pub use super::client::ClientAddr;
use super::error::{AppError, AppJson};
use super::login_audit::Refusal;
use super::policy::{AnyUser, Policy};
use super::state::AppState;
use crate::app::password::{self, MAX_PASSWORD_BYTES};
use crate::roles::Role;
use crate::storage::{AuditEntry, User, utc_text};
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// The session cookie's name (`Secure`, `Path=/`, no `Domain`: the `__Host-` rules).
pub const SESSION_COOKIE: &str = "__Host-firefly_session";
/// The session cookie's name in the development mode (`--insecure-cookie`, plain HTTP).
pub const DEV_SESSION_COOKIE: &str = "firefly_session";
/// How long a login waits for a password-hashing permit before it is answered 503.
pub const HASH_WAIT: Duration = Duration::from_secs(1);
/// `Retry-After` of that 503, seconds.
const BUSY_RETRY: u64 = 2;

/// A request with a valid session.
#[derive(Debug, Clone)]
pub struct Authenticated {
    pub user: User,
    pub session_id: i64,
    pub expires_at: Timestamp,
    pub remote_addr: Option<String>,
    /// The trusted proxy the request came through, if any.
    pub via: Option<String>,
}

impl Authenticated {
    /// An audit entry by this user (with `via`, the proxy, added to an object detail).
    pub fn audit(
        &self,
        action: &str,
        target: impl Into<String>,
        mut detail: serde_json::Value,
    ) -> AuditEntry {
        if let (Some(via), Some(object)) = (&self.via, detail.as_object_mut()) {
            object.insert("via".into(), via.clone().into());
        }
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

/// Where a request's token came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Bearer,
    Cookie,
}

/// The session token of a request: the bearer header if there is one, else the cookie of
/// this server's mode: `__Host-firefly_session` when cookies are Secure, `firefly_session`
/// in the development mode. Only one name is read, so a sibling host that plants a plain
/// `firefly_session` cookie cannot fix a secure server's session.
fn token(headers: &HeaderMap, secure: bool) -> Result<Option<(String, Source)>, AppError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let text = value.to_str().unwrap_or("");
        let (scheme, token) = text.split_once(' ').unwrap_or((text, ""));
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AppError::Unauthorized(
                "the Authorization header must be `Bearer TOKEN`, with the token from POST /api/v1/auth/login".into(),
            ));
        }
        return Ok(Some((token.trim().to_string(), Source::Bearer)));
    }
    let cookie = |wanted: &str| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == wanted)
            .map(|(_, value)| (value.trim().to_string(), Source::Cookie))
    };
    Ok(cookie(if secure {
        SESSION_COOKIE
    } else {
        DEV_SESSION_COOKIE
    }))
}

/// Whether `origin` (an `Origin` header) is this server: `public_origin` when configured,
/// else an origin whose host and port are the request's `Host`.
fn origin_is_ours(origin: &str, headers: &HeaderMap, public_origin: Option<&str>) -> bool {
    let origin = origin.trim().to_ascii_lowercase();
    if let Some(public) = public_origin {
        return origin == public;
    }
    let Some(host) = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.trim().to_ascii_lowercase())
    else {
        return false;
    };
    ["https://", "http://"]
        .iter()
        .any(|scheme| origin.strip_prefix(scheme) == Some(host.as_str()))
}

/// The cross-site check of a cookie-authenticated write; see the module documentation.
fn same_origin_write(
    method: &Method,
    headers: &HeaderMap,
    public_origin: Option<&str>,
) -> Result<(), AppError> {
    let hint = "a browser page of another site cannot write with the session cookie; scripts send `Authorization: Bearer TOKEN`";
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("?");
        if site.eq_ignore_ascii_case("same-origin") {
            return Ok(());
        }
        return Err(AppError::Forbidden(format!(
            "{method} refused: the request is not from this site's own pages (Sec-Fetch-Site: {site}); {hint}"
        )));
    }
    match headers
        .get(header::ORIGIN)
        .map(|o| o.to_str().unwrap_or("?"))
    {
        Some(origin) if origin_is_ours(origin, headers, public_origin) => Ok(()),
        Some(origin) => Err(AppError::Forbidden(format!(
            "{method} refused: Origin {origin} is not this server's origin{}; {hint}",
            public_origin.map_or(String::new(), |o| format!(" ({o})"))
        ))),
        None => Err(AppError::Forbidden(format!(
            "{method} refused: a write with the session cookie must say where it comes from (Sec-Fetch-Site or Origin, which browsers send) and neither header is present; {hint}"
        ))),
    }
}

/// A login from another site's page (login CSRF) is refused; scripts send neither header.
fn login_from_elsewhere(headers: &HeaderMap, public_origin: Option<&str>) -> Option<AppError> {
    if let Some(site) = headers.get("sec-fetch-site") {
        let site = site.to_str().unwrap_or("?");
        return (site.eq_ignore_ascii_case("cross-site") || site.eq_ignore_ascii_case("same-site"))
            .then(|| {
                AppError::Forbidden(format!(
                    "log in from this site's own login page: a login from another site (Sec-Fetch-Site: {site}) is refused"
                ))
            });
    }
    let origin = headers.get(header::ORIGIN)?.to_str().unwrap_or("?");
    (!origin_is_ours(origin, headers, public_origin)).then(|| {
        AppError::Forbidden(format!(
            "log in from this site's own login page: a login from {origin} is refused"
        ))
    })
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        if let Some(done) = parts.extensions.get::<Authenticated>() {
            return Ok(done.clone());
        }
        let Some((token, source)) = token(&parts.headers, state.server.secure_cookie)? else {
            return Err(AppError::Unauthorized(
                "log in first: POST /api/v1/auth/login, then send `Authorization: Bearer TOKEN` or the session cookie".into(),
            ));
        };
        let expired = || {
            AppError::Unauthorized(
                "the session has expired or was ended, or the token is wrong: log in again".into(),
            )
        };
        if source == Source::Cookie
            && !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS)
        {
            same_origin_write(
                &parts.method,
                &parts.headers,
                state.server.public_origin.as_deref(),
            )?;
        }
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
        let client = ClientAddr::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        let auth = Authenticated {
            user: session.user,
            session_id: session.session_id,
            expires_at: session.expires_at,
            remote_addr: client.ip(),
            via: client.via_text(),
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
    if state.server.secure_cookie {
        format!(
            "{SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}; Secure"
        )
    } else {
        format!(
            "{DEV_SESSION_COOKIE}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}"
        )
    }
}

/// Writes the summaries of refused logins whose minute has ended (all of them with
/// `all`, at shutdown).
pub async fn flush_login_audit(state: &AppState, all: bool) {
    let rows = state.login_audit.ended(all);
    write_audit_rows(state, rows).await;
}

async fn write_audit_rows(state: &AppState, rows: Vec<AuditEntry>) {
    if rows.is_empty() {
        return;
    }
    let written = state
        .db
        .run(move |s| {
            for row in &rows {
                s.append_audit(row)?;
            }
            Ok(())
        })
        .await;
    if let Err(e) = written {
        tracing::error!(error = %e, "could not write refused logins to the audit log");
    }
}

/// Starts, once, the task that writes refused-login summaries each minute.
fn start_login_audit_task(state: &AppState) {
    if !state.login_audit.start_flusher() {
        return;
    }
    let weak = state.downgrade();
    tokio::spawn(async move {
        loop {
            let into_minute = Timestamp::now().as_second().rem_euclid(60) as u64;
            tokio::time::sleep(Duration::from_secs(61 - into_minute)).await;
            let Some(state) = weak.upgrade() else { return };
            flush_login_audit(&state, false).await;
        }
    });
}

/// Logs in: a bearer token in the body and the same token in the session cookie.
#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in; also sets the `__Host-firefly_session` cookie (HttpOnly, SameSite=Strict, Secure; `firefly_session` without Secure in the development mode)", body = LoginResponse),
        (status = 400, description = "The body is not JSON", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong user name or password", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "Missing or invalid fields", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 403, description = "From another site's page (`Sec-Fetch-Site: cross-site` or `same-site`, or a foreign `Origin`)", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins; see `Retry-After`", body = super::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many passwords being checked at once; see `Retry-After`", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
pub async fn login(
    State(state): State<AppState>,
    client: ClientAddr,
    headers: HeaderMap,
    AppJson(body): AppJson<LoginRequest>,
) -> Result<Response, AppError> {
    start_login_audit_task(&state);
    if let Some(refused) = login_from_elsewhere(&headers, state.server.public_origin.as_deref()) {
        return Err(refused);
    }
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
    let via = client.via_text();
    let key = client.key();
    let reservation = match state.limiter.reserve(&name, key.as_deref()).await? {
        Ok(r) => r,
        Err(wait) => {
            state.metrics.logins_refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(user = %name, addr = ?ip, "login refused: too many failed attempts");
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            return Err(AppError::TooManyRequests {
                detail: format!(
                    "too many failed logins for this user from this address, or from this address; try again in {} minute(s)",
                    seconds.div_ceil(60)
                ),
                retry_after: seconds,
            });
        }
    };
    if !reservation.delay.is_zero() {
        // Many failures for this name from everywhere: each attempt waits, progressively.
        tokio::time::sleep(reservation.delay).await;
    }
    let permit =
        match tokio::time::timeout(HASH_WAIT, Arc::clone(&state.hashing).acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            _ => {
                reservation.cancel();
                state.metrics.logins_busy.fetch_add(1, Ordering::Relaxed);
                return Err(AppError::Busy {
                detail:
                    "the server is checking too many passwords at once; try again in a few seconds"
                        .into(),
                retry_after: BUSY_RETRY,
            });
            }
        };
    let lookup = name.clone();
    let found = match state.db.run(move |s| s.user_for_login(&lookup)).await {
        Ok(found) => found,
        Err(e) => {
            reservation.cancel();
            return Err(e);
        }
    };
    let password = body.password;
    let counters = state.clone();
    let (user, matches) = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let m = &counters.metrics;
        let now = m.hashes_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        m.hashes_peak.fetch_max(now, Ordering::SeqCst);
        let outcome = match found {
            Some((user, hash)) => {
                let ok = password::verify(&password, &hash);
                (Some(user), ok)
            }
            None => (None, password::verify_nobody(&password)),
        };
        m.hashes_in_flight.fetch_sub(1, Ordering::SeqCst);
        outcome
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    let user = match (user, matches) {
        (Some(user), true) if !user.disabled => user,
        (user, matches) => {
            // The reservation stays: it is this failure.
            drop(reservation);
            state.metrics.login_failures.fetch_add(1, Ordering::Relaxed);
            let reason = match (&user, matches) {
                (None, _) => "unknown user",
                (Some(_), true) => "user disabled",
                (Some(_), false) => "wrong password",
            };
            let rows = state.login_audit.refused(Refusal {
                name: name.clone(),
                actor: user.as_ref().map(|u| (u.name.clone(), u.role.to_string())),
                reason,
                client: ip,
                via,
            });
            write_audit_rows(&state, rows).await;
            return Err(AppError::Unauthorized("wrong user name or password".into()));
        }
    };
    reservation.succeeded();
    let token = password::new_token().map_err(|e| AppError::Internal(e.into()))?;
    let ttl = state.server.session_ttl.as_secs();
    let expires = Timestamp::from_second(Timestamp::now().as_second() + ttl as i64)
        .map_err(|e| AppError::Internal(e.into()))?;
    let entry = AuditEntry {
        actor: Some(user.name.clone()),
        role: Some(user.role.to_string()),
        action: "auth.login".into(),
        target: Some(format!("user:{}", user.name)),
        detail: Some(match &via {
            Some(via) => {
                serde_json::json!({"outcome": "ok", "expires_at": utc_text(expires), "via": via})
            }
            None => serde_json::json!({"outcome": "ok", "expires_at": utc_text(expires)}),
        }),
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
