//! The HTTP service (`landwatch serve`): OGC API – Features, vector tiles, analysis reports and
//! the web map, over the current catalog snapshot.

mod collections;
mod error;
pub mod filter;
mod glyphs;
mod html;
mod listen;
mod ogc;
mod openapi;
mod params;
mod reports;
mod state;
mod tile_cache;
mod tiles;
mod web;
// Accounts and writes.
mod auth;
mod events;
mod upload;
mod writes;

pub use listen::default_max_connections;
pub use state::AppState;
pub use tile_cache::DEFAULT_MB as DEFAULT_TILE_CACHE_MB;

use crate::catalog::{Catalog, Scope};
use crate::rules::Rules;
use crate::store::StoreLocation;
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
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

/// How `landwatch serve` runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The store.
    pub store: StoreLocation,
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Rule packs directory.
    pub rules: Option<PathBuf>,
    /// How often to look for a changed store.
    pub watch: Duration,
    /// The base of every link the server writes (`https://gis.example.gov.cn/landwatch`),
    /// instead of one built from the request's `Host` header.
    pub public_url: Option<String>,
    /// Origins allowed to read the API from a browser page (CORS).
    pub cors: Cors,
    /// Connections served at once; more are answered 503.
    pub max_connections: usize,
    /// Seconds a client has to send a request's headers (idle connections close after it).
    pub header_timeout: Duration,
    /// Reads need a viewer's token too (writes always need an editor's or an admin's).
    pub private: bool,
    /// The largest layer upload taken, in bytes.
    pub max_upload: u64,
    /// Analysis results kept (at least one).
    pub analysis_cache: usize,
    /// Megabytes of encoded vector tiles kept per snapshot (0: none).
    pub tile_cache_mb: f64,
}

/// Which web pages of other origins may read the API (CORS).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cors {
    /// None: only pages served by landwatch itself.
    None,
    /// Any origin (`*`).
    Any,
    /// These origins (`https://gis.example.gov.cn`).
    Origins(Vec<String>),
}

impl std::str::FromStr for Cors {
    type Err = String;

    fn from_str(s: &str) -> Result<Cors, String> {
        match s.trim() {
            "" | "none" => Ok(Cors::None),
            "*" => Ok(Cors::Any),
            list => {
                let origins: Vec<String> = list
                    .split(',')
                    .map(|o| o.trim().trim_end_matches('/').to_string())
                    .filter(|o| !o.is_empty())
                    .collect();
                for o in &origins {
                    if !(o.starts_with("http://") || o.starts_with("https://"))
                        || HeaderValue::from_str(o).is_err()
                        || o["https://".len().min(o.len())..].contains('/')
                    {
                        return Err(format!(
                            "'{o}' is not an origin: give scheme://host[:port], e.g. https://gis.example.gov.cn (comma-separated for several), '*' for any, or 'none'"
                        ));
                    }
                }
                Ok(Cors::Origins(origins))
            }
        }
    }
}

impl Cors {
    fn layer(&self) -> Option<CorsLayer> {
        let base = CorsLayer::new()
            .allow_methods([Method::GET, Method::HEAD, Method::POST])
            .allow_headers(Any)
            .expose_headers([
                header::ETAG,
                header::LOCATION,
                HeaderName::from_static("content-crs"),
                header::CONTENT_DISPOSITION,
            ]);
        match self {
            Cors::None => None,
            Cors::Any => Some(base.allow_origin(Any)),
            Cors::Origins(list) => Some(base.allow_origin(AllowOrigin::list(
                list.iter().filter_map(|o| HeaderValue::from_str(o).ok()),
            ))),
        }
    }
}

/// Which `Host` headers are answered: a page on another name that resolves to this server
/// (DNS rebinding) must not read it. A server on a loopback address without a public URL
/// answers loopback names only.
#[derive(Clone, Debug)]
struct HostPolicy {
    /// `None`: any host (a server bound to the network without a public URL).
    allowed: Option<Vec<String>>,
}

impl HostPolicy {
    fn new(bind: SocketAddr, public_url: Option<&str>) -> HostPolicy {
        let loopback = ["localhost", "127.0.0.1", "[::1]"]
            .map(String::from)
            .to_vec();
        let public_host = public_url.and_then(|u| {
            u.split_once("://")
                .map(|(_, rest)| rest.split('/').next().unwrap_or("").to_ascii_lowercase())
        });
        match public_host {
            Some(h) => {
                let mut allowed = loopback;
                allowed.push(h);
                HostPolicy {
                    allowed: Some(allowed),
                }
            }
            None if bind.ip().is_loopback() => HostPolicy {
                allowed: Some(loopback),
            },
            None => HostPolicy { allowed: None },
        }
    }

    fn admits(&self, host: Option<&str>) -> bool {
        let Some(allowed) = &self.allowed else {
            return true;
        };
        let Some(host) = host.map(str::to_ascii_lowercase) else {
            // HTTP/1.0 clients may send none; links then use the loopback address.
            return true;
        };
        // The name without its port ("[::1]:8080" → "[::1]", "localhost:8080" → "localhost").
        let name = match host.rfind(':') {
            Some(i) if !host[i..].contains(']') => &host[..i],
            _ => host.as_str(),
        };
        allowed
            .iter()
            .any(|a| a == name || a == &host || (a == "127.0.0.1" && name.starts_with("127.")))
    }
}

async fn check_host(
    axum::extract::State(policy): axum::extract::State<Arc<HostPolicy>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    if policy.admits(host) {
        return next.run(req).await;
    }
    let mut e = ApiError::bad(format!(
        "this server does not answer for the host '{}': it answers for {}; behind a proxy, pass serve --public-url",
        host.unwrap_or(""),
        policy.allowed.as_deref().unwrap_or_default().join(", ")
    ));
    e.status = StatusCode::MISDIRECTED_REQUEST;
    e.code = "MisdirectedRequest";
    e.into_response()
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
    ApiError::method_not_allowed(
        "only GET (and HEAD) are served, POST of a site to /analysis/compliance, of an event to /collections/events/items and of a layer to /layers/{name}; the event history is append-only (no PUT, PATCH or DELETE): record a correcting event instead",
    )
}

/// The largest request body taken (a site to review is the only body read).
const BODY_LIMIT: usize = 64 * 1024;

/// Bodies up to this size are read and dropped before a 413 is answered, so that a client
/// still sending one reads the answer instead of a reset connection. Larger ones are
/// answered at once and the connection closed.
const DRAINED_BODY_LIMIT: usize = 4 * 1024 * 1024;

/// Read and drop a refused body of `declared` bytes when it is not huge, before its 413 is
/// answered, so that the client, still sending it, reads the answer.
pub(crate) async fn drain_refused_body(body: axum::body::Body, declared: u64) {
    if declared <= DRAINED_BODY_LIMIT as u64 {
        let _ = tokio::time::timeout(
            Duration::from_secs(5),
            axum::body::to_bytes(body, DRAINED_BODY_LIMIT),
        )
        .await;
    }
}

fn body_too_large() -> axum::response::Response {
    ApiError::payload_too_large(format!(
        "the request body is larger than {BODY_LIMIT} bytes, the most this server takes: simplify the site polygon (e.g. ogr2ogr -simplify 0.5)"
    ))
    .into_response()
}

/// Refuse a body over the limit with an exception that says what the limit is: from its
/// declared length before the handler runs (reading it first when it is not huge), or from
/// the plain-text 413 of the limit on bodies sent without a length.
async fn body_limit(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(len) = declared.filter(|&l| l > BODY_LIMIT as u64) {
        drain_refused_body(req.into_body(), len).await;
        return body_too_large();
    }
    let res = next.run(req).await;
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/plain"));
    if res.status() == StatusCode::PAYLOAD_TOO_LARGE && plain {
        return body_too_large();
    }
    res
}

/// Who may do what: the token checker and the writes' shared state.
#[derive(Clone)]
struct Access {
    gate: Arc<auth::Gate>,
    writes: Arc<writes::Writes>,
}

impl Access {
    fn new(store: &StoreLocation, private: bool, max_upload: u64) -> Access {
        Access {
            gate: Arc::new(auth::Gate::new(store.clone(), private)),
            writes: writes::Writes::new(store.clone(), max_upload),
        }
    }
}

/// The router over a state, open to pages of any origin (CORS `*`), reads open to all.
pub fn router(state: Arc<AppState>) -> Router {
    let access = Access::new(&state.store, false, DEFAULT_MAX_UPLOAD);
    router_with(state, &Cors::Any, access)
}

/// The default of `serve --max-upload-mb`, in bytes.
pub const DEFAULT_MAX_UPLOAD: u64 = 512 * 1_000_000;

/// The router over a state, with this CORS policy.
fn router_with(state: Arc<AppState>, cors: &Cors, access: Access) -> Router {
    let panic_to_json = |_: Box<dyn std::any::Any + Send + 'static>| {
        ApiError::internal("the server failed on this request; it has been logged").into_response()
    };
    // Reports are read with GET; a site to review is POSTed, its body limited on this route.
    let report_or_review =
        get(reports::report)
            .post(reports::review)
            .layer(axum::extract::DefaultBodyLimit::max(
                crate::checks::MAX_SITE_BYTES,
            ));
    let app = Router::new()
        .route("/", get(web::landing))
        .route("/conformance", get(ogc::conformance))
        .route("/api", get(web::api))
        .route("/collections", get(ogc::collections))
        .route("/collections/{id}", get(ogc::collection))
        .route(
            "/collections/{id}/items",
            get(ogc::items).post(events::create),
        )
        .route("/collections/{id}/items/{fid}", get(ogc::item))
        .route("/collections/{id}/queryables", get(ogc::queryables))
        .route("/collections/{id}/schema", get(ogc::schema))
        .route("/tiles/{file}", get(tiles::tilejson))
        .route("/tiles/{collection}/{z}/{x}/{y}", get(tiles::tile))
        .route("/analysis", get(reports::list))
        .route("/analysis/{check}", report_or_review)
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
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(60),
        ))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(axum::middleware::from_fn(body_limit));
    // Uploads: a body limit of their own (a flag), and no request timeout (an ingest of a
    // large layer takes minutes). Every route learns who is asking.
    let uploads = Router::new()
        .route("/layers/{name}", axum::routing::post(upload::upload))
        .route("/account", get(auth::account))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(panic_to_json));
    let app = app
        .merge(uploads)
        .layer(axum::Extension(Arc::clone(&access.writes)))
        .layer(axum::middleware::from_fn_with_state(
            access.gate,
            auth::identify,
        ));
    let app = match cors.layer() {
        Some(layer) => app.layer(layer),
        None => app,
    };
    app.layer(CompressionLayer::new())
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
    let store = opts.store.open()?;
    let stamp = store.stamp()?;
    // What is there is read now (a damaged registry stops the start); the layers load in the
    // background, each served as soon as it is loaded.
    let layers = store.layers()?;
    let catalog = Catalog {
        layers: vec![],
        analysis_crs: store.analysis_crs()?,
        version: store.version()?,
        // The events come with the layers, in the background.
        dispositions: Arc::default(),
        scope: Scope::EVERYTHING,
    };
    drop(store);
    let maplibre = web::find_maplibre();
    if maplibre.is_none() {
        tracing::warn!("MapLibre GL JS not found (node_modules/maplibre-gl): the map page will say so; run scripts/setup");
    }
    let state = Arc::new(
        AppState::new(catalog, Some(stamp), rules, opts.store.clone(), maplibre)
            .with_analysis_cache(opts.analysis_cache)
            .with_tile_cache(opts.tile_cache_mb),
    );
    state.set_loading(&layers);
    if let Some(url) = &opts.public_url {
        ogc::set_public_base(url);
    } else if !opts.bind.ip().is_loopback() {
        tracing::warn!("serving the network without --public-url: links are built from each request's Host header; behind a reverse proxy pass --public-url https://…");
    }
    let host_policy = Arc::new(HostPolicy::new(opts.bind, opts.public_url.as_deref()));
    let access = Access::new(&opts.store, opts.private, opts.max_upload);
    let app = router_with(Arc::clone(&state), &opts.cors, access).layer(
        axum::middleware::from_fn_with_state(host_policy, check_host),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let limits = listen::Limits {
        max_connections: opts.max_connections,
        header_read: opts.header_timeout,
        grace: Duration::from_secs(5),
    };
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(opts.bind)
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot listen on {}: {e} (is another server running there? pass --bind)",
                    opts.bind
                )
            })?;
        eprintln!(
            "landwatch serving {} on http://{} ({} layers loading, {} features; started in {:.1} s)",
            opts.store,
            listener.local_addr()?,
            layers.len(),
            layers.iter().map(|l| l.count).sum::<u64>(),
            started.elapsed().as_secs_f64()
        );
        state.load_in_background(opts.watch, tokio::runtime::Handle::current());
        listen::serve(listener, app, limits).await?;
        anyhow::Ok(())
    });
    // Analyses still computing are abandoned: nobody is left to answer.
    runtime.shutdown_timeout(Duration::from_millis(500));
    served
}
