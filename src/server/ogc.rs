//! OGC API – Features Part 1 (core, GeoJSON, HTML, OpenAPI 3.0), Part 2 (CRS) and the
//! queryables of Part 3 (filtering by query parameters).

use super::collections::{selection_params, Collection, Matched, Selection};
use super::error::{ApiError, ApiResult};
use super::html;
use super::params::{self, CrsRef, Format, Params, Path};
use super::state::AppState;
use crate::geom::{Transform, TransformError};
use crate::io::crs::authority_order_is_yx;
use crate::report::geojson::{write_feature_axes, Axes};
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use geo::Rect;
use serde_json::{json, Value};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Feature pages larger than this stream in chunks instead of being built whole.
const STREAM_ABOVE: usize = 1000;
const CHUNK: usize = 500;
/// The largest page.
pub const MAX_LIMIT: usize = 10_000;

/// OGC API conformance classes this server implements.
pub const CONFORMANCE: [&str; 7] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
];

/// The link relation of a collection's queryables (OGC API – Features Part 3).
const REL_QUERYABLES: &str = "http://www.opengis.net/def/rel/ogc/1.0/queryables";

/// The base of every link when `serve --public-url` gives one.
static PUBLIC_BASE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Fix the base of every link (`serve --public-url`), instead of the request's Host header.
pub fn set_public_base(url: &str) {
    let _ = PUBLIC_BASE.set(url.trim_end_matches('/').to_string());
}

/// The absolute base URL of links: `serve --public-url`, or this request's
/// (`http://host:port`).
pub fn base(headers: &HeaderMap) -> String {
    if let Some(b) = PUBLIC_BASE.get() {
        return b.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("127.0.0.1");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|s| *s == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

/// A link object.
pub fn link(href: String, rel: &str, kind: &str, title: &str) -> Value {
    json!({"href": href, "rel": rel, "type": kind, "title": title})
}

fn accept(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ACCEPT).and_then(|h| h.to_str().ok())
}

fn json_response(v: &Value, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], v.to_string()).into_response()
}

fn html_response(page: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

/// `/conformance`.
pub async fn conformance(headers: HeaderMap, RawQuery(q): RawQuery) -> ApiResult<Response> {
    let mut p = Params::parse(q.as_deref())?;
    let f = params::format(p.take("f"), accept(&headers), &[Format::Json, Format::Html])?;
    p.finish(&["f".into()])?;
    let b = base(&headers);
    let v = json!({
        "conformsTo": CONFORMANCE,
        "links": [link(format!("{b}/conformance?f=json"), "self", "application/json", "conformance")],
    });
    Ok(match f {
        Format::Html => html_response(html::conformance(&CONFORMANCE)),
        _ => json_response(&v, "application/json"),
    })
}

/// The landing page's JSON.
pub fn landing_json(b: &str) -> Value {
    json!({
        "title": "landwatch — 园区土地监测",
        "description": "闲置土地、低效用地、园区用地结构与集约利用评价 — idle and under-used land, park land shares and intensive-use indicators of industrial parks, as OGC API Features, vector tiles and reports",
        "links": [
            link(format!("{b}/?f=json"), "self", "application/json", "this document"),
            link(format!("{b}/?f=html"), "alternate", "text/html", "the map"),
            link(format!("{b}/api"), "service-desc", "application/vnd.oai.openapi+json;version=3.0", "the API definition"),
            link(format!("{b}/api?f=html"), "service-doc", "text/html", "the API documentation"),
            link(format!("{b}/conformance"), "conformance", "application/json", "conformance classes"),
            link(format!("{b}/collections"), "data", "application/json", "collections"),
        ],
    })
}

/// `path` with the query parts that are not empty.
pub fn href(path: &str, parts: &[&str]) -> String {
    let q: Vec<&str> = parts.iter().copied().filter(|p| !p.is_empty()).collect();
    if q.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", q.join("&"))
    }
}

fn collection_json(c: &Collection, b: &str) -> Value {
    let id = c.id();
    let sel = c.selector();
    let sel = sel.as_str();
    let (spatial, temporal) = c.extent();
    let mut extent = json!({});
    if let Some(r) = spatial {
        extent["spatial"] = json!({
            "bbox": [[r.min().x, r.min().y, r.max().x, r.max().y]],
            "crs": CrsRef::Crs84.uri(),
        });
    }
    if let Some((start, end)) = temporal {
        extent["temporal"] = json!({
            "interval": [[format!("{start}T00:00:00Z"), format!("{end}T23:59:59Z")]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        });
    }
    let mut links = vec![
        link(
            href(&format!("{b}/collections/{id}"), &[sel]),
            "self",
            "application/json",
            "this collection",
        ),
        link(
            href(&format!("{b}/collections/{id}"), &["f=html", sel]),
            "alternate",
            "text/html",
            "this collection as HTML",
        ),
        link(
            href(&format!("{b}/collections/{id}/items"), &[sel]),
            "items",
            "application/geo+json",
            "features",
        ),
        link(
            href(&format!("{b}/collections/{id}/items"), &["f=html", sel]),
            "items",
            "text/html",
            "features as HTML",
        ),
        link(
            href(&format!("{b}/collections/{id}/queryables"), &[sel]),
            REL_QUERYABLES,
            "application/schema+json",
            "the properties items can be filtered by",
        ),
        link(
            href(&format!("{b}/tiles/{id}.json"), &[sel]),
            "tiles",
            "application/json",
            "vector tiles (TileJSON)",
        ),
    ];
    if let Collection::Analysis(a) = c {
        links.push(link(
            href(&format!("{b}/analysis/{}", a.check), &[sel]),
            "describedby",
            "application/json",
            "the full report",
        ));
    }
    let (role, kind) = match c {
        Collection::Layer(l) => (Some(l.info.role.as_str()), l.info.kind.clone()),
        Collection::Analysis(_) => (None, None),
    };
    json!({
        "id": id,
        "title": c.title(),
        "description": c.description(),
        "role": role,
        "kind": kind,
        "count": c.len(),
        "links": links,
        "extent": extent,
        "itemType": "feature",
        "crs": c.crs_list().iter().map(|c| c.uri()).collect::<Vec<_>>(),
        "storageCrs": CrsRef::Epsg(4490).uri(),
    })
}

async fn all_collections(st: &Arc<AppState>) -> ApiResult<Vec<Collection>> {
    let catalog = st.catalog.load_full();
    let mut v: Vec<Collection> = catalog
        .layers
        .iter()
        .map(|l| Collection::Layer(Arc::clone(l)))
        .collect();
    if !catalog.layers.is_empty() {
        for check in crate::checks::collections() {
            let today = crate::checks::Query::new(crate::analysis::today());
            v.push(Collection::Analysis(st.analysis(check, today).await?));
        }
    }
    Ok(v)
}

/// `/collections`.
pub async fn collections(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let mut p = Params::parse(q.as_deref())?;
    let f = params::format(p.take("f"), accept(&headers), &[Format::Json, Format::Html])?;
    p.finish(&["f".into()])?;
    let b = base(&headers);
    let all = all_collections(&st).await?;
    Ok(match f {
        Format::Html => html_response(html::collections(&all)),
        _ => json_response(
            &json!({
                "links": [
                    link(format!("{b}/collections"), "self", "application/json", "collections"),
                    link(format!("{b}/collections?f=html"), "alternate", "text/html", "collections as HTML"),
                ],
                "collections": all.iter().map(|c| collection_json(c, &b)).collect::<Vec<_>>(),
                "crs": [CrsRef::Crs84.uri(), CrsRef::Epsg(4490).uri()],
            }),
            "application/json",
        ),
    })
}

/// The collection a description of it asks for (`f`, and `as_of`, `park` for analyses),
/// with the format chosen.
async fn described(
    st: &Arc<AppState>,
    id: &str,
    q: Option<String>,
    accept: Option<&str>,
    formats: &[Format],
) -> ApiResult<(Format, Collection)> {
    let mut p = Params::parse(q.as_deref())?;
    let f = params::format(p.take("f"), accept, formats)?;
    let (as_of, park, mut allowed) = selection_params(id, &mut p)?;
    allowed.push("f".into());
    p.finish(&allowed)?;
    Ok((f, st.collection(id, as_of, park).await?))
}

/// `/collections/{id}`.
pub async fn collection(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let formats = [Format::Json, Format::Html];
    let (f, c) = described(&st, &id, q, accept(&headers), &formats).await?;
    Ok(match f {
        Format::Html => html_response(html::collection(&c)),
        _ => json_response(&collection_json(&c, &base(&headers)), "application/json"),
    })
}

/// `/collections/{id}/queryables`: the properties `items` filters on, as a JSON Schema
/// (OGC API – Features Part 3), so clients such as QGIS can offer them.
pub async fn queryables(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    // JSON Schema only, whatever a browser's Accept prefers.
    let (_, c) = described(&st, &id, q, None, &[Format::Json]).await?;
    let properties: serde_json::Map<String, Value> = c
        .queryables()
        .iter()
        .map(|q| {
            let description = format!(
                "items?{}=VALUE keeps the features whose {} ({}) equals VALUE",
                q.name, q.title, q.key
            );
            (
                q.name.clone(),
                json!({"title": q.title, "description": description, "type": q.json_type()}),
            )
        })
        .collect();
    let b = base(&headers);
    Ok(json_response(
        &json!({
            "$schema": "https://json-schema.org/draft/2019-09/schema",
            "$id": format!("{b}/collections/{id}/queryables"),
            "type": "object",
            "title": c.title(),
            "properties": properties,
            "additionalProperties": false,
        }),
        "application/schema+json",
    ))
}

/// How features are written in the requested CRS.
enum Output {
    /// Lon/lat as stored, in this axis order.
    LonLat(Axes),
    /// Transformed, in this axis order.
    Projected(Transform, Axes),
}

fn output(crs: CrsRef) -> ApiResult<Output> {
    Ok(match crs {
        CrsRef::Crs84 => Output::LonLat(Axes::XY),
        CrsRef::Epsg(4490) => Output::LonLat(Axes::YX),
        other => {
            let def = other.definition();
            let t =
                Transform::new("EPSG:4490", &def).map_err(|e| ApiError::internal(e.to_string()))?;
            let axes = if authority_order_is_yx(&def) {
                Axes::YX
            } else {
                Axes::XY
            };
            Output::Projected(t, axes)
        }
    })
}

fn write_one(
    out: &mut String,
    c: &Collection,
    i: usize,
    how: &Output,
) -> Result<(), TransformError> {
    match how {
        Output::LonLat(axes) => {
            write_feature_axes(out, &c.feature_id(i), c.geometry(i), c.properties(i), *axes)
        }
        Output::Projected(t, axes) => {
            let g = match c.geometry(i) {
                Some(g) => {
                    let mut g = g.clone();
                    t.geometry(&mut g)?;
                    Some(g)
                }
                None => None,
            };
            write_feature_axes(out, &c.feature_id(i), g.as_ref(), c.properties(i), *axes);
        }
    }
    Ok(())
}

/// The lon/lat boxes of a `bbox` given in `crs`.
fn boxes(b: [f64; 4], crs: CrsRef) -> ApiResult<Vec<Rect>> {
    match crs {
        CrsRef::Crs84 => params::lonlat_boxes(b),
        CrsRef::Epsg(4490) => params::lonlat_boxes([b[1], b[0], b[3], b[2]]),
        other => {
            let def = other.definition();
            let b = if authority_order_is_yx(&def) {
                [b[1], b[0], b[3], b[2]]
            } else {
                b
            };
            let t =
                Transform::new(&def, "EPSG:4490").map_err(|e| ApiError::internal(e.to_string()))?;
            let outline = t
                .rect_outline(&Rect::new((b[0], b[1]), (b[2], b[3])))
                .map_err(|e| {
                    ApiError::bad(format!(
                        "bbox cannot be transformed from {}: {e}",
                        other.uri()
                    ))
                })?;
            Ok(Vec::from_iter(geo::BoundingRect::bounding_rect(&outline)))
        }
    }
}

/// The request's query with some parameters replaced.
fn query_with(raw: Option<&str>, set: &[(&str, String)]) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .filter(|(k, _)| !set.iter().any(|(s, _)| s == k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.extend(set.iter().map(|(k, v)| (k.to_string(), v.clone())));
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// The request's query at another offset, with the analysis selector pinned (a page of
/// today's results links to the same day's next page).
fn with_offset(raw: Option<&str>, c: &Collection, offset: usize) -> String {
    let mut set = vec![("offset", offset.to_string())];
    if let Collection::Analysis(a) = c {
        if a.check.params().contains(&crate::checks::Param::AsOf) {
            set.push(("as_of", a.query.as_of.to_string()));
        }
    }
    query_with(raw, &set)
}

pub fn etag(version: i64, id: &str, raw: Option<&str>, extra: &str) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (version, id, raw, extra).hash(&mut h);
    format!("\"{version}-{:016x}\"", h.finish())
}

pub fn not_modified(headers: &HeaderMap, tag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"))
}

/// `/collections/{id}/items`.
pub async fn items(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let mut p = Params::parse(q.as_deref())?;
    let f = params::format(p.take("f"), accept(&headers), &[Format::Json, Format::Html])?;
    let (as_of, park, mut allowed) = selection_params(&id, &mut p)?;
    let c = st.collection(&id, as_of, park).await?;
    let limit = params::limit(p.take("limit"), 100, MAX_LIMIT)?;
    let offset = params::offset(p.take("offset"))?;
    let crs_list = c.crs_list();
    let bbox = params::bbox(p.take("bbox"))?;
    let bbox_crs = params::crs("bbox-crs", p.take("bbox-crs"), &crs_list)?;
    let out_crs = params::crs("crs", p.take("crs"), &crs_list)?;
    let datetime = params::datetime(p.take("datetime"))?;
    let mut sel = Selection {
        boxes: match bbox {
            Some(b) => boxes(b, bbox_crs)?,
            None => vec![],
        },
        datetime: match (datetime, c.temporal_property()) {
            (Some(_), None) => {
                return Err(ApiError::bad(format!(
                    "collection '{id}' has no date property, so datetime cannot select its features; drop datetime (it applies to parcels by contract date, parks by approval date and idle by idle_since)"
                )))
            }
            (d, _) => d,
        },
        filters: vec![],
    };
    let queryables = c.queryables();
    for qy in &queryables {
        if let Some(v) = p.take(&qy.name) {
            sel.filters
                .push((qy.key, qy.value(v).map_err(ApiError::bad)?));
        }
    }
    allowed.extend(
        [
            "f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime",
        ]
        .map(String::from),
    );
    allowed.extend(queryables.iter().map(|q| q.name.clone()));
    p.finish(&allowed)?;

    let version = st.catalog.load().version;
    // An analysis page without `as_of` is today's: the tag names the day it was computed for.
    let selector = c.selector();
    let tag = etag(version, &id, q.as_deref(), &format!("{f:?}{selector}"));
    if not_modified(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    let matched = c.select(&sel);
    let total = matched.len();
    let start = offset.min(total);
    let end = (start + limit).min(total);
    if f == Format::Html {
        let rows: Vec<(crate::checks::FeatureId, String)> = (start..end)
            .map(|k| {
                let i = matched.at(k);
                (c.feature_id(i), c.properties(i).to_string())
            })
            .collect();
        return Ok(html_response(html::items(
            &c,
            &rows,
            total,
            start,
            &with_offset(q.as_deref(), &c, end),
        )));
    }
    let b = base(&headers);
    let path = format!("{b}/collections/{id}/items");
    let mut links = vec![
        link(
            format!("{path}?{}", with_offset(q.as_deref(), &c, start)),
            "self",
            "application/geo+json",
            "this page",
        ),
        link(
            format!(
                "{path}?{}",
                query_with(
                    Some(&with_offset(q.as_deref(), &c, start)),
                    &[("f", "html".into())]
                )
            ),
            "alternate",
            "text/html",
            "this page as HTML",
        ),
        link(
            href(&format!("{b}/collections/{id}"), &[&selector]),
            "collection",
            "application/json",
            "the collection",
        ),
    ];
    if end < total {
        links.push(link(
            format!("{path}?{}", with_offset(q.as_deref(), &c, end)),
            "next",
            "application/geo+json",
            "next page",
        ));
    }
    if start > 0 {
        links.push(link(
            format!(
                "{path}?{}",
                with_offset(q.as_deref(), &c, start.saturating_sub(limit))
            ),
            "prev",
            "application/geo+json",
            "previous page",
        ));
    }
    let head = format!(
        "{{\"type\":\"FeatureCollection\",\"timeStamp\":\"{}\",\"numberMatched\":{total},\"numberReturned\":{},\"links\":{},\"features\":[",
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        end - start,
        Value::Array(links)
    );
    let how = output(out_crs)?;
    let mut response = if end - start <= STREAM_ABOVE {
        let mut body = String::with_capacity(head.len() + (end - start) * 1024);
        body.push_str(&head);
        for k in start..end {
            if k > start {
                body.push(',');
            }
            write_one(&mut body, &c, matched.at(k), &how)
                .map_err(|e| ApiError::internal(e.to_string()))?;
        }
        body.push_str("]}");
        Response::new(Body::from(body))
    } else {
        stream(head, c, matched, start, end, how)
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/geo+json"),
    );
    h.insert(
        "content-crs",
        HeaderValue::from_str(&format!("<{}>", out_crs.uri())).expect("ASCII URI"),
    );
    h.insert(
        header::ETAG,
        HeaderValue::from_str(&tag).expect("ASCII tag"),
    );
    Ok(response)
}

/// A large page, written chunk by chunk as the client reads it.
fn stream(
    head: String,
    c: Collection,
    matched: Matched,
    start: usize,
    end: usize,
    how: Output,
) -> Response {
    let chunks = (start..end)
        .step_by(CHUNK)
        .map(move |from| (from, (from + CHUNK).min(end)));
    let first = std::iter::once(Ok::<Bytes, std::io::Error>(Bytes::from(head)));
    let body = chunks.map(move |(from, to)| {
        let mut s = String::with_capacity((to - from) * 1024);
        for k in from..to {
            if k > start {
                s.push(',');
            }
            if let Err(e) = write_one(&mut s, &c, matched.at(k), &how) {
                return Err(std::io::Error::other(e.to_string()));
            }
        }
        if to == end {
            s.push_str("]}");
        }
        Ok(Bytes::from(s))
    });
    let empty_tail = (start == end).then(|| Ok(Bytes::from_static(b"]}")));
    let all = first.chain(body).chain(empty_tail);
    Response::new(Body::from_stream(futures_util::stream::iter(all)))
}

/// `/collections/{id}/items/{featureId}`.
pub async fn item(
    State(st): State<Arc<AppState>>,
    Path((id, fid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let mut p = Params::parse(q.as_deref())?;
    let f = params::format(p.take("f"), accept(&headers), &[Format::Json, Format::Html])?;
    let (as_of, park, mut allowed) = selection_params(&id, &mut p)?;
    let c = st.collection(&id, as_of, park).await?;
    let out_crs = params::crs("crs", p.take("crs"), &c.crs_list())?;
    allowed.extend(["f", "crs"].map(String::from));
    p.finish(&allowed)?;
    let i = c
        .find(&fid)
        .ok_or_else(|| ApiError::not_found(format!("feature '{fid}' does not exist in {id}")))?;
    let n = c.feature_id(i);
    if f == Format::Html {
        return Ok(html_response(html::item(&c, &n, c.properties(i))));
    }
    let mut s = String::new();
    write_one(&mut s, &c, i, &output(out_crs)?).map_err(|e| ApiError::internal(e.to_string()))?;
    let mut v: Value = serde_json::from_str(&s).map_err(|e| ApiError::internal(e.to_string()))?;
    let b = base(&headers);
    let sel = c.selector();
    v["links"] = json!([
        link(
            href(&format!("{b}/collections/{id}/items/{n}"), &[&sel]),
            "self",
            "application/geo+json",
            "this feature"
        ),
        link(
            href(
                &format!("{b}/collections/{id}/items/{n}"),
                &["f=html", &sel]
            ),
            "alternate",
            "text/html",
            "this feature as HTML"
        ),
        link(
            href(&format!("{b}/collections/{id}"), &[&sel]),
            "collection",
            "application/json",
            "the collection"
        ),
    ]);
    let mut r = json_response(&v, "application/geo+json");
    r.headers_mut().insert(
        "content-crs",
        HeaderValue::from_str(&format!("<{}>", out_crs.uri())).expect("ASCII URI"),
    );
    Ok(r)
}
