//! [`app`]: every route of the API, its layers, and the OpenAPI document generated from the
//! handlers' annotations (utoipa), served at `/api/openapi.json`.

use super::error::{AppError, AppJson, problem_details};
use super::state::AppState;
use super::{analysis, audit, auth, incidents, metrics, plans, premises, versions};
use super::{imports, premises_edit, training, users};
use crate::storage::SCHEMA_VERSION;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeFile;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Firefly API",
        description = "Night-time-economy patrol planning: hotspots, zones, premises, incidents. \
Errors are RFC 9457 problem details (`application/problem+json`). Log in at \
`/api/v1/auth/login`; send `Authorization: Bearer TOKEN` or the `__Host-firefly_session` cookie \
(`firefly_session` in the development mode); a write with the cookie must come from the UI's own pages \
(`Sec-Fetch-Site: same-origin`, or a matching `Origin`), else 403. \
Roles: planner (incidents, hotspots, zones, premises, plans), officer (hotspot cells, zones, premises, published plans, their own unit's itinerary and calendar, check-ins), \
liaison (premises and training, hotspot cells), admin (everything, audit). No session: 401; \
a role without access: 403.",
        license(name = "MIT OR Apache-2.0")
    ),
    components(schemas(super::error::Problem)),
    modifiers(&Security),
    tags(
        (name = "operations", description = "Health, readiness, metrics"),
        (name = "auth", description = "Sessions"),
        (name = "data", description = "Incidents and premises"),
        (name = "analysis", description = "Hotspots and zones"),
        (name = "admin", description = "The audit log"),
        (name = "plans", description = "Plans, rotas and calendars; the officer's itinerary and check-ins"),
        (name = "imports", description = "Files imported as `firefly import` does"),
        (name = "training", description = "Training records and before/after training figures"),
    )
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The `token` from POST /api/v1/auth/login (64 hex digits).",
                    ))
                    .build(),
            ),
        );
        let mut cookie = ApiKeyValue::new(auth::SESSION_COOKIE);
        cookie.description =
            Some("Set by POST /api/v1/auth/login (HttpOnly, SameSite=Strict, Secure; `firefly_session` without Secure in the development mode). Writes with it need `Sec-Fetch-Site: same-origin` or a matching `Origin`.".into());
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(cookie)),
        );
    }
}

/// `/healthz` body.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Health {
    pub status: String,
}

/// `/readyz` body.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Ready {
    pub status: String,
    pub schema_version: i64,
    /// The id of the latest import.
    pub data_version: i64,
    /// Bytes free on the database's file system: shown to admins only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk_free_bytes: Option<u64>,
    /// The data version whose incidents are loaded for the analyses (null while the first
    /// load runs): when it equals `data_version`, a hotspot request reads no database rows.
    #[serde(default)]
    pub analysis_data_version: Option<i64>,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Health)))]
async fn healthz() -> AppJson<Health> {
    AppJson(Health {
        status: "ok".into(),
    })
}

/// The database answers and has this build's schema.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, body = Ready),
        (status = 503, description = "Database unreachable or not migrated", body = super::error::Problem, content_type = "application/problem+json"),
    )
)]
async fn readyz(
    State(state): State<AppState>,
    admin: Result<auth::Require<super::policy::MetricsRead>, AppError>,
) -> Result<AppJson<Ready>, AppError> {
    let versions = state
        .db
        .run(|s| Ok((s.schema_version()?, s.data_version()?, s.disk_free_bytes())))
        .await;
    match versions {
        Ok((schema, data, free)) if schema == SCHEMA_VERSION => Ok(AppJson(Ready {
            status: "ready".into(),
            schema_version: schema,
            data_version: data,
            disk_free_bytes: free.filter(|_| admin.is_ok()),
            analysis_data_version: state.datasets.loaded_version(),
        })),
        Ok((schema, _, _)) if schema > SCHEMA_VERSION => Err(AppError::Unavailable(format!(
            "database schema version {schema} is newer than this server's {SCHEMA_VERSION}; \
             restart the new binary"
        ))),
        Ok((schema, _, _)) => Err(AppError::Unavailable(format!(
            "the database has schema version {schema}, this server needs {SCHEMA_VERSION}"
        ))),
        Err(e) => {
            tracing::error!(error = %e, "readiness check failed");
            Err(AppError::Unavailable("the database does not answer".into()))
        }
    }
}

pub(super) async fn not_found(uri: axum::http::Uri) -> AppError {
    AppError::NotFound(format!("there is nothing at {}", uri.path()))
}

/// The media type of PMTiles archives.
const PMTILES_TYPE: &str = "application/vnd.pmtiles";

/// The origin (`scheme://host[:port]`) of an absolute `http(s)` URL, if it is one.
fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    let ok = !authority.is_empty()
        && !authority.contains('@')
        && authority
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    ok.then(|| format!("{scheme}://{}", authority.to_ascii_lowercase()))
}

/// The Content-Security-Policy of every answer. The map UI is served from this origin
/// (`script-src 'self'`, no inline script); MapLibre starts its workers from `blob:` URLs
/// (`worker-src`, and `child-src` for browsers without `worker-src`), draws sprites and
/// glyphs through `data:`/`blob:` images, and sets element styles (`style-src
/// 'unsafe-inline'`: styles only, never scripts). Tiles, styles, glyphs and sprites are
/// fetched (`connect-src`): this origin (the PMTiles archive) and the configured basemap
/// style's origin. Framing is refused (`frame-ancestors 'none'`).
pub fn content_security_policy(basemap: Option<&crate::config::Basemap>) -> String {
    let mut connect = vec!["'self'".to_string()];
    if let Some(crate::config::Basemap::Style(url)) = basemap
        && let Some(o) = origin(url)
    {
        connect.push(o);
    }
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data: blob:; font-src 'self'; connect-src {}; worker-src 'self' blob:; \
         child-src 'self' blob:; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'",
        connect.join(" ")
    )
}

/// A panic in a handler: logged, answered 500 problem details without its message.
fn panic_answer(err: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    let text = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    AppError::Internal(anyhow::anyhow!("handler panicked: {text}")).into_response()
}

/// The whole API: routes, authorisation extractors, problem details, metrics, logs.
pub fn app(state: AppState) -> Router {
    let (router, mut api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics::metrics))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(incidents::list))
        .routes(routes!(premises::list))
        .routes(routes!(premises::one))
        .routes(routes!(analysis::hotspots))
        .routes(routes!(analysis::zones))
        .routes(routes!(audit::list))
        .routes(routes!(users::update))
        .routes(routes!(plans::create, plans::list))
        .routes(routes!(plans::one))
        .routes(routes!(plans::publish))
        .routes(routes!(plans::replan))
        .routes(routes!(plans::rota_csv))
        .routes(routes!(plans::calendar))
        .routes(routes!(plans::dosage))
        .routes(routes!(plans::my_assignments))
        .routes(routes!(plans::checkin))
        .routes(routes!(imports::incidents))
        .routes(routes!(imports::premises))
        .routes(routes!(imports::training))
        .routes(routes!(premises_edit::create))
        .routes(routes!(premises_edit::update))
        .routes(routes!(training::list))
        .routes(routes!(training::add))
        .routes(routes!(training::change))
        .routes(routes!(training::impact))
        .split_for_parts();
    api.info.version = env!("CARGO_PKG_VERSION").to_string();
    let document = Bytes::from(serde_json::to_vec(&api).unwrap_or_default());
    let timeout = state.server.request_timeout;
    let body_limit = state.server.body_limit;
    // Imports read their body themselves, up to their own limit (`imports::read_input`);
    // every other extractor stops at `body_limit`.
    let outer_limit = body_limit.max(state.server.import_body_limit);
    let csp = HeaderValue::from_str(&content_security_policy(state.server.basemap.as_ref()))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"));
    let hsts = state
        .server
        .secure_cookie
        .then(|| HeaderValue::from_static("max-age=31536000"));
    let mut router = router;
    if let Some(crate::config::Basemap::Pmtiles { path, .. }) = &state.server.basemap {
        // ServeFile answers `Range` requests (206), `HEAD` and conditional requests.
        router = router.route_service(
            super::ui::PMTILES_PATH,
            ServiceBuilder::new()
                .layer(SetResponseHeaderLayer::overriding(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(PMTILES_TYPE),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=3600"),
                ))
                .service(ServeFile::new(path)),
        );
    }
    router
        .route(
            "/api/openapi.json",
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], document) }),
        )
        .route("/config.json", get(super::ui::map_config))
        .fallback(super::ui::fallback)
        .layer(
            // Outermost first.
            ServiceBuilder::new()
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(DefaultMakeSpan::new().level(tracing::Level::INFO))
                        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
                )
                // Not the PMTiles archive: its tiles are compressed already, and a compressed
                // answer to a range request would not hold the bytes asked for.
                .layer(CompressionLayer::new().compress_when(
                    DefaultPredicate::new().and(NotForContentType::const_new(PMTILES_TYPE)),
                ))
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    metrics::track,
                ))
                .layer(middleware::from_fn(problem_details))
                // Inside the problem details, so a panic answers 500 problem details.
                .layer(CatchPanicLayer::custom(panic_answer))
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    versions::forget_after_writes,
                ))
                .layer(TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    timeout,
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::CONTENT_SECURITY_POLICY,
                    csp,
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::REFERRER_POLICY,
                    HeaderValue::from_static("no-referrer"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    HeaderName::from_static("permissions-policy"),
                    HeaderValue::from_static("geolocation=(self), camera=(), microphone=()"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::X_FRAME_OPTIONS,
                    HeaderValue::from_static("DENY"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    header::STRICT_TRANSPORT_SECURITY,
                    hsts,
                ))
                .layer(DefaultBodyLimit::max(body_limit))
                .layer(RequestBodyLimitLayer::new(outer_limit)),
        )
        .with_state(state)
}
