//! The map UI: the files esbuild wrote to `map-ui/dist`, served from disk at `/` by the
//! router's fallback, so every API route keeps precedence. Paths under `/api/` that match no
//! route stay 404 problem details. A path with no file and no extension (`/planner`)
//! answers `index.html` (the app routes on the client). When the UI is not built, `/`
//! answers a short page saying how to build it. Files the build compressed ahead of time
//! (`.br`, `.gz` beside them) are sent as such to clients that take them.
//!
//! Where from: `server.ui_dir` (`--ui-dir`, `FIREFLY_UI_DIR`) when set; else, in a release
//! build, the copy of `map-ui/dist` embedded in the binary at compile time (so the binary
//! alone is a working install); else `./map-ui/dist`, else the folder beside the sources
//! (`CARGO_MANIFEST_DIR/../map-ui/dist`), which debug builds read live while developing.
//!
//! `/config.json` tells the UI its basemap: the server's setting (`basemap_style`, or
//! `basemap_pmtiles`, whose archive is then served at [`PMTILES_PATH`] with range
//! requests), else the `basemap` of the `config.json` built into the UI, else none (the
//! offline background of district boundaries).

use super::encoding::Encoding;
use super::error::AppError;
use super::state::AppState;
use crate::config::Basemap;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use std::path::{Component, Path, PathBuf};

/// The folder holding `index.html`, if there is one.
pub fn ui_dir(configured: Option<&Path>) -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match configured {
        Some(p) => vec![p.to_path_buf()],
        None => vec![
            PathBuf::from("map-ui/dist"),
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../map-ui/dist"),
        ],
    };
    candidates
        .into_iter()
        .find(|c| c.join("index.html").is_file())
}

/// The built UI inside a release binary: `map-ui/dist` as it was when the binary was
/// compiled (empty when it had not been built; `build.rs` rebuilds when it changes).
#[cfg(not(debug_assertions))]
#[derive(rust_embed::Embed)]
#[folder = "../map-ui/dist"]
#[allow_missing = true]
struct Embedded;

/// Where the UI's files come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiSource {
    /// A folder on disk.
    Dir(PathBuf),
    /// The copy compiled into this binary.
    Embedded,
}

impl std::fmt::Display for UiSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UiSource::Dir(dir) => write!(f, "{}", dir.display()),
            UiSource::Embedded => f.write_str("the copy built into this binary"),
        }
    }
}

/// Where the UI is served from (see the module docs), if it is anywhere.
pub fn ui_source(configured: Option<&Path>) -> Option<UiSource> {
    if configured.is_none() && embedded("index.html").is_some() {
        return Some(UiSource::Embedded);
    }
    ui_dir(configured).map(UiSource::Dir)
}

#[cfg(not(debug_assertions))]
fn embedded(path: &str) -> Option<Vec<u8>> {
    Embedded::get(path).map(|f| f.data.into_owned())
}

#[cfg(debug_assertions)]
fn embedded(_path: &str) -> Option<Vec<u8>> {
    None
}

/// Reads `rel` (a relative path with `/` separators) from the source.
async fn load(source: &UiSource, rel: &Path) -> Option<Vec<u8>> {
    match source {
        UiSource::Dir(dir) => read(dir.join(rel)).await.ok(),
        UiSource::Embedded => embedded(&rel.to_string_lossy().replace('\\', "/")),
    }
}

const NOT_BUILT: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Firefly: map UI not built</title></head>\
<body style=\"font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem\">\
<h1>Firefly</h1><p>The API is running, but the map UI has not been built.</p>\
<p>Build it with <code>scripts/setup-ui.sh</code> (or <code>npm ci &amp;&amp; npm run build</code> in \
<code>map-ui/</code>), then reload. A different folder can be named with <code>firefly serve --ui-dir DIR</code>.</p>\
<p>The API's description is at <a href=\"/api/openapi.json\">/api/openapi.json</a>.</p></body></html>";

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "geojson" => "application/geo+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

/// The request path as a relative path inside the UI folder, or `None` if it would leave it.
fn relative(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(path.trim_start_matches('/')).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(out)
}

fn file_response(path: &Path, bytes: Vec<u8>) -> Response {
    let cache = if path.extension().is_some_and(|e| e == "html") {
        "no-cache"
    } else {
        "public, max-age=300"
    };
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(path)),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        bytes,
    )
        .into_response()
}

/// The copy of `file` that the build compressed ahead of time (`app.js.br`, `app.js.gz`:
/// brotli 11 and gzip 9, see `map-ui/build.mjs`) in the client's coding, if there is one,
/// so the 1 MB script is neither compressed per request nor sent larger than it need be.
async fn precompressed(source: &UiSource, file: &Path, encoding: Encoding) -> Option<Response> {
    let token = encoding.token()?;
    let mut name = file.as_os_str().to_owned();
    name.push(if encoding == Encoding::Brotli {
        ".br"
    } else {
        ".gz"
    });
    let bytes = load(source, Path::new(&name)).await?;
    let mut response = file_response(file, bytes);
    let h = response.headers_mut();
    h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(token));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    Some(response)
}

/// Reads a file on a blocking thread (tokio's `fs` feature is not enabled).
async fn read(path: PathBuf) -> std::io::Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .map_err(std::io::Error::other)?
}

/// Where a configured PMTiles basemap is served.
pub const PMTILES_PATH: &str = "/basemap.pmtiles";

/// `GET /config.json`: the map UI's settings (see the module docs).
pub async fn map_config(State(state): State<AppState>) -> Response {
    let (style, pmtiles) = match &state.server.basemap {
        Some(Basemap::Style(url)) => (serde_json::json!(url), serde_json::Value::Null),
        Some(Basemap::Pmtiles { header, .. }) => {
            let mut about = serde_json::to_value(header).unwrap_or_default();
            about["url"] = serde_json::json!(PMTILES_PATH);
            (serde_json::Value::Null, about)
        }
        None => {
            let built = match ui_source(state.server.ui_dir.as_deref()) {
                Some(source) => load(&source, Path::new("config.json")).await,
                None => None,
            };
            let style = built
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .map(|c| c["basemap"].clone())
                .filter(|b| b.is_string())
                .unwrap_or(serde_json::Value::Null);
            (style, serde_json::Value::Null)
        }
    };
    (
        [(header::CACHE_CONTROL, "no-cache")],
        axum::Json(serde_json::json!({"basemap": style, "pmtiles": pmtiles})),
    )
        .into_response()
}

/// The router's fallback: UI files for GET and HEAD outside `/api/`, 404 otherwise.
pub async fn fallback(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || !(method == Method::GET || method == Method::HEAD) {
        return super::routes::not_found(uri).await.into_response();
    }
    let Some(source) = ui_source(state.server.ui_dir.as_deref()) else {
        if path == "/" || path == "/index.html" {
            return (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                NOT_BUILT,
            )
                .into_response();
        }
        return super::routes::not_found(uri).await.into_response();
    };
    let Some(rel) = relative(path) else {
        return AppError::NotFound(format!("there is nothing at {path}")).into_response();
    };
    let file = if rel.as_os_str().is_empty() {
        PathBuf::from("index.html")
    } else {
        rel
    };
    if let Some(response) = precompressed(&source, &file, Encoding::negotiate(&headers)).await {
        return response;
    }
    match load(&source, &file).await {
        Some(bytes) => file_response(&file, bytes),
        // A client-side route (no extension) gets the app; a missing asset is 404.
        None if file.extension().is_none() => {
            let index = Path::new("index.html");
            match load(&source, index).await {
                Some(bytes) => file_response(index, bytes),
                None => super::routes::not_found(uri).await.into_response(),
            }
        }
        None => super::routes::not_found(uri).await.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_folder() {
        assert_eq!(relative("/app.js"), Some(PathBuf::from("app.js")));
        assert_eq!(relative("/a/./b.css"), Some(PathBuf::from("a/b.css")));
        assert_eq!(relative("/"), Some(PathBuf::new()));
        assert_eq!(relative("/../etc/passwd"), None);
        assert_eq!(relative("/a/../../x"), None);
    }

    #[test]
    fn types_follow_extensions() {
        assert!(content_type(Path::new("index.html")).starts_with("text/html"));
        assert!(content_type(Path::new("app.js")).starts_with("text/javascript"));
        assert_eq!(content_type(Path::new("b.geojson")), "application/geo+json");
    }
}
