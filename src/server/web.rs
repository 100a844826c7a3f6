//! The landing page (the web map in a browser, JSON for clients), the API definition, health,
//! and static assets: landwatch's own, embedded, and MapLibre GL JS from the npm install.

use super::collections::Collection;
use super::error::{ApiError, ApiResult};
use super::html::page;
use super::ogc::{base, landing_json};
use super::openapi::document;
use super::params::{self, Format, Params, Path};
use super::state::AppState;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

const INDEX: &str = include_str!("web/index.html");
const APP_JS: &str = include_str!("web/app.js");
const APP_CSS: &str = include_str!("web/app.css");
const SITE_CSS: &str = include_str!("web/site.css");
const DISPOSAL_JS: &str = include_str!("web/disposal.js");

fn accept(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ACCEPT).and_then(|h| h.to_str().ok())
}

/// `/`: the map for browsers, the landing page for clients.
pub async fn landing(headers: HeaderMap, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let mut p = Params::parse(q.as_deref())?;
    let f = params::format(p.take("f"), accept(&headers), &[Format::Json, Format::Html])?;
    p.finish(&["f".into()])?;
    Ok(match f {
        Format::Html => {
            ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX).into_response()
        }
        _ => (
            [(header::CONTENT_TYPE, "application/json")],
            landing_json(&base(&headers)).to_string(),
        )
            .into_response(),
    })
}

/// `/api`: the OpenAPI definition (JSON), or a readable list of its paths (HTML).
pub async fn api(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let mut p = Params::parse(q.as_deref())?;
    let f = params::format(p.take("f"), accept(&headers), &[Format::Json, Format::Html])?;
    p.finish(&["f".into()])?;
    let catalog = st.catalog.load_full();
    let mut collections: Vec<Collection> = catalog
        .layers
        .iter()
        .map(|l| Collection::Layer(Arc::clone(l)))
        .collect();
    if !catalog.layers.is_empty() {
        for check in crate::checks::collections() {
            let today = crate::checks::Query::new(crate::analysis::today());
            collections.push(Collection::Analysis(st.analysis(check, today).await?));
        }
    }
    let doc = document(&base(&headers), &collections);
    if f == Format::Html {
        let mut body = String::from("<p>The machine-readable definition is <a href=\"/api?f=json\">/api?f=json</a> (OpenAPI 3.0).</p>");
        if let Some(paths) = doc["paths"].as_object() {
            for (path, ops) in paths {
                let (method, get) = match ops.get("get") {
                    Some(op) => ("GET", op),
                    None => ("POST", &ops["post"]),
                };
                let params: Vec<String> = get["parameters"]
                    .as_array()
                    .map(|ps| {
                        ps.iter()
                            .map(|p| {
                                p["name"].as_str().map(str::to_string).unwrap_or_else(|| {
                                    p["$ref"]
                                        .as_str()
                                        .unwrap_or("")
                                        .rsplit('/')
                                        .next()
                                        .unwrap_or("")
                                        .to_string()
                                })
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                body.push_str(&format!(
                    "<h2><code>{method} {}</code></h2><p>{}</p><p>parameters: <code>{}</code></p>",
                    path.replace('<', "&lt;"),
                    get["summary"].as_str().unwrap_or(""),
                    params.join(", ")
                ));
            }
        }
        return Ok((
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            page("API (OpenAPI 3.0)", &body),
        )
            .into_response());
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/vnd.oai.openapi+json;version=3.0",
        )],
        doc.to_string(),
    )
        .into_response())
}

/// `/favicon.ico`: a park outline.
pub async fn favicon() -> Response {
    const ICON: &str = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#16324f"/><path d="M3 3h7v4h3v6H3z" fill="none" stroke="#9fd3a8" stroke-width="1.6"/><rect x="5" y="9" width="3" height="2" fill="#d32f2f"/></svg>"##;
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        ICON,
    )
        .into_response()
}

/// `/health`.
pub async fn health(State(st): State<Arc<AppState>>) -> Response {
    let c = st.catalog.load();
    let reload = st.reload.lock().expect("reload lock").clone();
    let loading = st.loading();
    let body = json!({
        // Degraded: serving, but not what the store now holds. Loading: serving the layers
        // loaded since the start; those listed in `loading` answer 503 until they are.
        "status": if reload.problem.is_some() { "degraded" } else if !loading.is_empty() { "loading" } else { "ok" },
        "problem": reload.problem,
        "loading": loading,
        "snapshot_loaded_at": reload.loaded_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "version": env!("CARGO_PKG_VERSION"),
        // The file's name only: where it lies on the server is nobody's business.
        "store": st.store.short_name(),
        "store_version": c.version,
        // Unique per write: which snapshot is served, even between copies of one store.
        "store_version_token": reload.stamp.as_ref().and_then(|s| s.token.clone()),
        "layers": c.layers.len(),
        "features": c.layers.iter().map(|l| l.features.len()).sum::<usize>(),
        // The vector tiles kept for the snapshot in service.
        "tile_cache": st.tiles.current().held(),
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Where MapLibre GL JS was installed by scripts/setup (npm), if anywhere.
pub fn find_maplibre() -> Option<PathBuf> {
    let rel = "node_modules/maplibre-gl/dist";
    let mut candidates = vec![];
    if let Ok(dir) = std::env::var("LANDWATCH_ASSETS") {
        candidates.push(PathBuf::from(dir));
    }
    candidates.push(PathBuf::from(rel));
    if let Ok(exe) = std::env::current_exe() {
        // target/{debug,release}/landwatch → the repository root.
        for up in exe.ancestors().skip(1).take(4) {
            candidates.push(up.join(rel));
        }
    }
    candidates
        .into_iter()
        .find(|d| d.join("maplibre-gl.js").is_file())
}

/// `/assets/{file}`.
pub async fn asset(
    State(st): State<Arc<AppState>>,
    Path(file): Path<String>,
) -> ApiResult<Response> {
    let embedded = match file.as_str() {
        "app.js" => Some((APP_JS, "text/javascript; charset=utf-8")),
        "app.css" => Some((APP_CSS, "text/css; charset=utf-8")),
        "site.css" => Some((SITE_CSS, "text/css; charset=utf-8")),
        "disposal.js" => Some((DISPOSAL_JS, "text/javascript; charset=utf-8")),
        _ => None,
    };
    if let Some((body, kind)) = embedded {
        return Ok(([(header::CONTENT_TYPE, kind)], body).into_response());
    }
    let kind = match file.as_str() {
        "maplibre-gl.js" => "text/javascript; charset=utf-8",
        "maplibre-gl.css" => "text/css; charset=utf-8",
        _ => return Err(ApiError::not_found(format!("no asset '{file}'"))),
    };
    let dir = st.maplibre.as_ref().ok_or_else(|| {
        ApiError::not_found(
            "MapLibre GL JS is not installed: run scripts/setup (it installs it from npm)",
        )
    })?;
    let body = tokio::fs::read(dir.join(&file))
        .await
        .map_err(|e| ApiError::not_found(format!("{file}: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
        .into_response())
}
