//! Every failure the API reports, and the one place that turns it into an HTTP answer: an
//! RFC 9457 problem details body (`application/problem+json`) with a clear message. Server
//! faults are logged with a reference and answered with that reference only: no stack
//! trace, SQL text or file path ever reaches the client.
//!
//! Extractor rejections (malformed JSON, bad query strings) come through [`AppJson`],
//! [`AppQuery`] and [`AppPath`], so they answer with the same body; responses built by
//! axum or tower themselves (unknown route, wrong method, timeout) are rewritten into it by
//! [`problem_details`].

use crate::app::Failure;
use crate::storage::StoreError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The `content-type` of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status code says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status code's reason phrase, e.g. `Unauthorized`.
    pub title: String,
    pub status: u16,
    /// What went wrong, and what to do about it.
    pub detail: String,
}

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 400: the request cannot be read (bad JSON syntax, unknown query parameter).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no valid session; log in.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: logged in, but the role may not do this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// 409: clashes with what is stored.
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: well-formed, but the values are invalid.
    #[error("{0}")]
    Unprocessable(String),
    /// 429: too many attempts; retry after the given seconds.
    #[error("{detail}")]
    TooManyRequests { detail: String, retry_after: u64 },
    /// 503: a dependency (the database) is not ready.
    #[error("{0}")]
    Unavailable(String),
    /// 503: too busy now (every password-hashing permit taken); retry after the seconds.
    #[error("{detail}")]
    Busy { detail: String, retry_after: u64 },
    /// 500: a fault on the server. Logged, never shown.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) | AppError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A problem details response for `status` with `detail`.
pub fn problem(status: StatusCode, detail: impl Into<String>) -> Response {
    let body = Problem {
        kind: "about:blank".into(),
        title: status.canonical_reason().unwrap_or("Error").into(),
        status: status.as_u16(),
        detail: detail.into(),
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let mut res = (status, json).into_response();
    res.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    res
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let detail = match &self {
            AppError::Internal(e) => {
                let reference = crate::app::password::reference();
                tracing::error!(%reference, error = format!("{e:#}"), "internal error");
                format!(
                    "Something went wrong on the server. It has been logged with reference {reference}."
                )
            }
            other => other.to_string(),
        };
        let mut res = problem(status, detail);
        match &self {
            AppError::Unauthorized(_) => {
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"firefly\""),
                );
            }
            AppError::TooManyRequests { retry_after, .. } | AppError::Busy { retry_after, .. } => {
                if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                    res.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            _ => {}
        }
        res
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => AppError::Conflict(m),
            StoreError::Rows(rows) => AppError::Unprocessable(
                rows.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<Failure> for AppError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Invalid(e) => AppError::Unprocessable(format!("{e:#}")),
            Failure::Other(e) => AppError::Internal(e),
        }
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::JsonDataError(e) => AppError::Unprocessable(format!(
                "the JSON body does not have the expected fields: {}",
                e.body_text().trim_start_matches(
                    "Failed to deserialize the JSON body into the target type: "
                )
            )),
            JsonRejection::JsonSyntaxError(e) => AppError::BadRequest(format!(
                "the body is not valid JSON: {}",
                e.body_text()
                    .trim_start_matches("Failed to parse the request body as JSON: ")
            )),
            JsonRejection::MissingJsonContentType(_) => AppError::UnsupportedMediaType(
                "send the body as JSON with `content-type: application/json`".into(),
            ),
            JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                AppError::PayloadTooLarge("the request body is too large".into())
            }
            other => AppError::BadRequest(other.body_text()),
        }
    }
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        AppError::BadRequest(format!(
            "the query string is invalid: {}",
            r.body_text()
                .trim_start_matches("Failed to deserialize query string: ")
        ))
    }
}

impl From<PathRejection> for AppError {
    fn from(r: PathRejection) -> Self {
        AppError::BadRequest(format!("the path is invalid: {}", r.body_text()))
    }
}

/// `axum::Json`, answering malformed bodies with problem details.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct AppJson<T>(pub T);

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query`, answering bad query strings with problem details.
#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct AppQuery<T>(pub T);

/// `axum::extract::Path`, answering bad paths with problem details.
#[derive(Debug, Clone, Copy, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct AppPath<T>(pub T);

/// Middleware: any error response that is not already problem details (an unknown route,
/// a wrong method, a timeout, a body over the limit) is rewritten into problem details,
/// keeping its status and headers such as `Allow`.
pub async fn problem_details(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if is_problem {
        return res;
    }
    let detail = match status {
        StatusCode::NOT_FOUND => format!("there is nothing at {path}"),
        StatusCode::METHOD_NOT_ALLOWED => {
            format!("{path} does not answer this method; see the `allow` header")
        }
        StatusCode::PAYLOAD_TOO_LARGE => "the request body is too large".to_string(),
        StatusCode::REQUEST_TIMEOUT | StatusCode::SERVICE_UNAVAILABLE => {
            "the server could not answer in time; try again".to_string()
        }
        s => s.canonical_reason().unwrap_or("error").to_string(),
    };
    let (mut parts, _) = res.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    let new = problem(status, detail);
    let (new_parts, body) = new.into_parts();
    parts.headers.insert(
        header::CONTENT_TYPE,
        new_parts
            .headers
            .get(header::CONTENT_TYPE)
            .cloned()
            .unwrap_or(HeaderValue::from_static(PROBLEM_JSON)),
    );
    Response::from_parts(parts, body)
}
