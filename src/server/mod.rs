//! The HTTP service (`landwatch serve`): OGC API – Features, vector tiles, analysis reports and
//! the web map, over the current catalog snapshot.

mod collections;
mod error;
pub mod filter;
mod glyphs;
mod html;
mod ogc;
mod openapi;
mod params;
mod reports;
mod state;
mod tiles;
mod web;

pub use state::AppState;

use crate::catalog::Catalog;
use crate::rules::Rules;
use crate::store::GeoPackage;
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use error::ApiError;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// How `landwatch serve` runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The store.
    pub store: PathBuf,
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Rule packs directory.
    pub rules: Option<PathBuf>,
    /// How often to look for a changed store.
    pub watch: Duration,
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such resource; start at / (the landing page) or /collections")
}

/// Responses chosen by `f=` or the Accept header vary by Accept: say so, for caches.
async fn vary_by_accept(mut res: axum::response::Response) -> axum::response::Response {
    res.headers_mut()
        .append(header::VARY, HeaderValue::from_static("accept"));
    res
}

async fn method_not_allowed() -> impl IntoResponse {
    let mut e = ApiError::bad("only GET (and HEAD) are served");
    e.status = StatusCode::METHOD_NOT_ALLOWED;
    e.code = "MethodNotAllowed";
    e
}

/// The router over a state.
pub fn router(state: Arc<AppState>) -> Router {
    let panic_to_json = |_: Box<dyn std::any::Any + Send + 'static>| {
        ApiError::internal("the server failed on this request; it has been logged").into_response()
    };
    Router::new()
        .route("/", get(web::landing))
        .route("/conformance", get(ogc::conformance))
        .route("/api", get(web::api))
        .route("/collections", get(ogc::collections))
        .route("/collections/{id}", get(ogc::collection))
        .route("/collections/{id}/items", get(ogc::items))
        .route("/collections/{id}/items/{fid}", get(ogc::item))
        .route("/collections/{id}/queryables", get(ogc::queryables))
        .route("/collections/{id}/schema", get(ogc::schema))
        .route("/tiles/{file}", get(tiles::tilejson))
        .route("/tiles/{collection}/{z}/{x}/{y}", get(tiles::tile))
        .route("/analysis", get(reports::list))
        .route("/analysis/{check}", get(reports::report))
        .route("/health", get(web::health))
        .route("/assets/{file}", get(web::asset))
        .route("/fonts/{stack}/{file}", get(glyphs::range))
        .route("/favicon.ico", get(web::favicon))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(axum::middleware::map_response(vary_by_accept))
        .layer(CatchPanicLayer::custom(panic_to_json))
        // A request that runs this long is the server's failure, not the client's.
        .layer(TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, Duration::from_secs(60)))
        .layer(RequestBodyLimitLayer::new(64 * 1024))
        .layer(
            CorsLayer::new()
                .allow_methods([Method::GET, Method::HEAD])
                .allow_origin(Any)
                .allow_headers(Any)
                .expose_headers([header::ETAG, HeaderName::from_static("content-crs"), header::CONTENT_DISPOSITION]),
        )
        .layer(CompressionLayer::new())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    tracing::info_span!("request", method = %req.method(), uri = %req.uri())
                })
                .on_response(|res: &axum::http::Response<_>, latency: Duration, _span: &tracing::Span| {
                    tracing::info!(status = res.status().as_u16(), ms = latency.as_secs_f64() * 1e3, "served");
                }),
        )
}

/// Load the store and serve it until interrupted (Ctrl-C or SIGTERM), finishing the requests
/// under way.
pub fn serve(opts: ServeOptions) -> anyhow::Result<()> {
    let rules = Rules::load(opts.rules.as_deref())?;
    let started = std::time::Instant::now();
    let store = GeoPackage::open(&opts.store)?;
    let catalog = Catalog::load(&store)?;
    drop(store);
    let features: usize = catalog.layers.iter().map(|l| l.features.len()).sum();
    tracing::info!(
        layers = catalog.layers.len(),
        features,
        seconds = started.elapsed().as_secs_f64(),
        "catalog loaded"
    );
    let maplibre = web::find_maplibre();
    if maplibre.is_none() {
        tracing::warn!("MapLibre GL JS not found (node_modules/maplibre-gl): the map page will say so; run scripts/setup");
    }
    let state = Arc::new(AppState::new(catalog, rules, opts.store.clone(), maplibre));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    state.warm(runtime.handle());
    Arc::clone(&state).watch(opts.watch, runtime.handle().clone());
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.bind)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot listen on {}: {e} (is another server running there? pass --bind)",
                    opts.bind
                )
            })?;
        eprintln!(
            "landwatch serving {} on http://{} ({} layers, {features} features, loaded in {:.1} s)",
            opts.store.display(),
            listener.local_addr()?,
            state.catalog.load().layers.len(),
            started.elapsed().as_secs_f64()
        );
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async {
                let ctrl_c = tokio::signal::ctrl_c();
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .expect("SIGTERM handler");
                tokio::select! {
                    _ = ctrl_c => {},
                    _ = term.recv() => {},
                }
                tracing::info!("shutting down: finishing requests under way");
            })
            .await?;
        Ok(())
    })
}
