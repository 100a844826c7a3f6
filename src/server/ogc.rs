//! OGC API – Features Part 1 (core, GeoJSON, HTML, OpenAPI 3.0), Part 2 (CRS) and the
//! queryables of Part 3 (filtering by query parameters).

use super::collections::{selection_params, Collection, Matched, Selection};
use super::error::{ApiError, ApiResult};
use super::filter::{self, Filter, Lang};
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
pub const CONFORMANCE: [&str; 17] = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
];

/// The link relation of a collection's queryables (OGC API – Features Part 3).
pub const REL_QUERYABLES: &str = "http://www.opengis.net/def/rel/ogc/1.0/queryables";

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
            href(
                &format!("{b}/collections/{id}/schema"),
                &[sel, "profile=feature"],
            ),
            "describedBy",
            "application/schema+json",
            "the schema of the features: every property with its type",
        ),
        link(
            href(&format!("{b}/collections/{id}/schema"), &[sel]),
            "http://www.opengis.net/def/rel/ogc/1.0/schema",
            "application/schema+json",
            "the schema of the features (OGC API – Features Part 5)",
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
    // The whole list waits for the layers still loading since the start (as it waits for
    // today's analyses); each collection of its own answers as soon as it is loaded.
    st.loaded().await;
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
    // The geometry first: clients that take the last property as a sample take a value.
    let mut properties = serde_json::Map::new();
    properties.insert(
        filter::GEOMETRY.into(),
        json!({"title": "几何", "description": "the feature's geometry, for the spatial functions of filter (S_INTERSECTS …), in lon/lat unless filter-crs says otherwise", "format": "geometry-any", "x-ogc-role": "primary-geometry"}),
    );
    for q in c.queryables() {
        let description = format!(
            "{} ({}): items?{}=VALUE keeps the features whose value equals VALUE; filter compares it as {}",
            q.title,
            q.key,
            q.name,
            q.kind.json_type()
        );
        let mut schema =
            json!({"title": q.title, "description": description, "type": q.kind.json_type()});
        if let Some(format) = q.kind.format() {
            schema["format"] = json!(format);
        }
        if c.temporal_property() == Some(q.key) {
            schema["x-ogc-role"] = json!("primary-instant");
        }
        properties.insert(q.name.clone(), schema);
    }
    let b = base(&headers);
    Ok(json_response(
        &json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": format!("{b}/collections/{id}/queryables"),
            "type": "object",
            "title": c.title(),
            "properties": properties,
            "additionalProperties": false,
        }),
        "application/schema+json",
    ))
}

/// The JSON type a property's values share across every feature of a collection.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PropertyType {
    /// Only nulls so far.
    Unknown,
    Boolean,
    Integer,
    Number,
    /// Text that is an RFC 3339 date (YYYY-MM-DD) in every feature.
    Date,
    String,
}

impl PropertyType {
    fn of(v: &Value) -> PropertyType {
        match v {
            Value::Null => PropertyType::Unknown,
            Value::Bool(_) => PropertyType::Boolean,
            Value::Number(n) if n.is_i64() || n.is_u64() => PropertyType::Integer,
            Value::Number(_) => PropertyType::Number,
            Value::String(s) if s.len() == 10 && s.parse::<chrono::NaiveDate>().is_ok() => {
                PropertyType::Date
            }
            _ => PropertyType::String,
        }
    }

    fn merge(self, other: PropertyType) -> PropertyType {
        use PropertyType::*;
        match (self, other) {
            (a, b) if a == b => a,
            (Unknown, b) => b,
            (a, Unknown) => a,
            (Integer, Number) | (Number, Integer) => Number,
            _ => String,
        }
    }

    fn schema(self) -> Value {
        match self {
            PropertyType::Boolean => json!({"type": "boolean"}),
            PropertyType::Integer => json!({"type": "integer"}),
            PropertyType::Number => json!({"type": "number"}),
            PropertyType::Date => json!({"type": "string", "format": "date"}),
            PropertyType::Unknown | PropertyType::String => json!({"type": "string"}),
        }
    }
}

/// The type of every property of a collection's features, from all their values: what a
/// client that guesses from its first page (GDAL) would otherwise get wrong, e.g. date text
/// of several formats.
fn property_types(c: &Collection) -> Vec<(String, PropertyType)> {
    let mut order: Vec<(String, PropertyType)> = vec![];
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for i in 0..c.len() {
        let Ok(props) = serde_json::from_str::<serde_json::Map<String, Value>>(&c.properties(i))
        else {
            continue;
        };
        for (k, v) in props {
            let t = PropertyType::of(&v);
            match index.get(&k) {
                Some(&at) => order[at].1 = order[at].1.merge(t),
                None => {
                    index.insert(k.clone(), order.len());
                    order.push((k, t));
                }
            }
        }
    }
    order
}

/// `/collections/{id}/schema` (OGC API – Features Part 5): every property of the features
/// with its type, as JSON Schema 2020-12; with `profile=feature`, the schema of a whole
/// GeoJSON feature, the form GDAL's OAPIF driver reads from the `describedBy` link.
pub async fn schema(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let mut p = Params::parse(q.as_deref())?;
    let feature = match p.take("profile").as_deref() {
        None => false,
        Some("feature") => true,
        Some(other) => {
            return Err(ApiError::bad(format!(
                "profile: '{other}' is not offered; leave it out (the properties) or give feature (a whole GeoJSON feature)"
            )))
        }
    };
    let (as_of, park, mut allowed) = selection_params(&id, &mut p)?;
    allowed.push("profile".into());
    p.finish(&allowed)?;
    let c = st.collection(&id, as_of, park).await?;
    let title = c.title();
    let sel = c.selector();
    let types = tokio::task::spawn_blocking(move || property_types(&c))
        .await
        .map_err(|e| ApiError::internal(format!("schema failed: {e}")))?;
    let mut properties = serde_json::Map::new();
    if !feature {
        properties.insert(
            filter::GEOMETRY.into(),
            json!({"format": "geometry-any", "x-ogc-role": "primary-geometry"}),
        );
    }
    for (name, t) in types {
        properties.insert(name, t.schema());
    }
    let b = base(&headers);
    let mut v = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": href(&format!("{b}/collections/{id}/schema"), &[&sel, if feature { "profile=feature" } else { "" }]),
        "type": "object",
        "title": title,
    });
    if feature {
        v["required"] = json!(["type", "geometry", "properties"]);
        v["properties"] = json!({
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "integer"},
            "geometry": {"$ref": "https://geojson.org/schema/Geometry.json"},
            "properties": {"type": "object", "properties": properties},
        });
    } else {
        v["properties"] = Value::Object(properties);
    }
    Ok(json_response(&v, "application/schema+json"))
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

/// What of each feature a page shows (`properties`, `skipGeometry`).
#[derive(Clone, Debug, Default)]
struct View {
    /// Only these properties, when given.
    properties: Option<Vec<String>>,
    /// No geometry (`"geometry": null`).
    skip_geometry: bool,
}

impl View {
    fn properties<'a>(&self, json: &'a str) -> std::borrow::Cow<'a, str> {
        let Some(keep) = &self.properties else {
            return json.into();
        };
        let all: serde_json::Map<String, Value> = serde_json::from_str(json).unwrap_or_default();
        let kept: serde_json::Map<String, Value> = all
            .into_iter()
            .filter(|(k, _)| keep.iter().any(|w| w == k))
            .collect();
        Value::Object(kept).to_string().into()
    }
}

fn write_one(
    out: &mut String,
    c: &Collection,
    i: usize,
    how: &Output,
    view: &View,
) -> Result<(), TransformError> {
    let all = c.properties(i);
    let props = view.properties(&all);
    let geometry = c.geometry(i).filter(|_| !view.skip_geometry);
    match how {
        Output::LonLat(axes) => write_feature_axes(out, &c.feature_id(i), geometry, &props, *axes),
        Output::Projected(t, axes) => {
            let g = match geometry {
                Some(g) => {
                    let mut g = g.clone();
                    t.geometry(&mut g)?;
                    Some(g)
                }
                None => None,
            };
            write_feature_axes(out, &c.feature_id(i), g.as_ref(), &props, *axes);
        }
    }
    Ok(())
}

fn bad(e: filter::FilterError) -> ApiError {
    ApiError::bad(e.to_string())
}

/// How geometry literals of a filter in `crs` come to lon/lat.
fn to_lonlat(crs: CrsRef) -> ApiResult<Box<filter::ToLonLat<'static>>> {
    fn swap(g: &mut geo::Geometry) {
        use geo::MapCoordsInPlace;
        g.map_coords_in_place(|c| geo::Coord { x: c.y, y: c.x });
    }
    Ok(match crs {
        CrsRef::Crs84 => Box::new(|_| Ok(())),
        CrsRef::Epsg(4490) => Box::new(|g| {
            swap(g);
            Ok(())
        }),
        other => {
            let def = other.definition();
            let yx = authority_order_is_yx(&def);
            let t =
                Transform::new(&def, "EPSG:4490").map_err(|e| ApiError::internal(e.to_string()))?;
            Box::new(move |g| {
                if yx {
                    swap(g);
                }
                t.geometry(g)
                    .map_err(|e| format!("cannot be transformed from {}: {e}", other.uri()))
            })
        }
    })
}

/// A `Link` header value (RFC 8288) of these links, each URI percent-encoded where a header
/// cannot carry it or the list would be ambiguous.
fn link_header(links: &[(String, &str, &str)]) -> HeaderValue {
    let encode = |href: &str| -> String {
        href.bytes()
            .map(|b| match b {
                b'!'..=b'~' if !b",;<>\"\\".contains(&b) => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let v = links
        .iter()
        .map(|(href, rel, kind)| format!("<{}>; rel=\"{rel}\"; type=\"{kind}\"", encode(href)))
        .collect::<Vec<_>>()
        .join(", ");
    HeaderValue::from_str(&v).expect("an ASCII header")
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
        filter: None,
    };
    let queryables = c.queryables();
    let properties: Vec<filter::Property> = queryables.iter().map(|q| q.property()).collect();
    let lang = Lang::parse(p.take("filter-lang").as_deref()).map_err(bad)?;
    let filter_crs = params::crs("filter-crs", p.take("filter-crs"), &crs_list)?;
    let cql = match p.take("filter") {
        Some(text) => {
            let to_lonlat = to_lonlat(filter_crs)?;
            Some(Filter::parse(&text, lang, &properties, &*to_lonlat).map_err(bad)?)
        }
        None => None,
    };
    let equalities: Vec<(filter::Property, String)> = properties
        .iter()
        .filter_map(|q| p.take(&q.name).map(|v| (q.clone(), v)))
        .collect();
    sel.filter = filter::with_equalities(cql, &equalities)
        .map_err(bad)?
        .map(Arc::new);
    let sort = match p.take("sortby") {
        Some(v) => filter::sortby(&v, &properties).map_err(bad)?,
        None => vec![],
    };
    let view = View {
        properties: p
            .take("properties")
            .map(|v| v.split(',').map(|s| s.trim().to_string()).collect()),
        skip_geometry: params::boolean("skipGeometry", p.take("skipGeometry"))?,
    };
    allowed.extend(
        [
            "f",
            "limit",
            "offset",
            "bbox",
            "bbox-crs",
            "crs",
            "datetime",
            "filter",
            "filter-lang",
            "filter-crs",
            "sortby",
            "properties",
            "skipGeometry",
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
    let mut matched = c.select(&sel);
    if !sort.is_empty() {
        let mut order: Vec<usize> = (0..matched.len()).map(|k| matched.at(k)).collect();
        order.sort_by(|&a, &b| filter::order(&sort, &|k| c.value(a, k), &|k| c.value(b, k)));
        matched = Matched::Some(order);
    }
    let total = matched.len();
    let start = offset.min(total);
    let end = (start + limit).min(total);
    let b = base(&headers);
    let path = format!("{b}/collections/{id}/items");
    let this_page = with_offset(q.as_deref(), &c, start);
    let self_href = format!("{path}?{this_page}");
    let html_href = format!(
        "{path}?{}",
        query_with(Some(&this_page), &[("f", "html".into())])
    );
    // Part 3: every filterable resource links to its queryables in a header.
    let link_values = link_header(&[
        (self_href.clone(), "self", "application/geo+json"),
        (html_href.clone(), "alternate", "text/html"),
        (
            href(&format!("{b}/collections/{id}/queryables"), &[&selector]),
            REL_QUERYABLES,
            "application/schema+json",
        ),
    ]);
    if f == Format::Html {
        let rows: Vec<(crate::checks::FeatureId, String)> = (start..end)
            .map(|k| {
                let i = matched.at(k);
                (
                    c.feature_id(i),
                    view.properties(&c.properties(i)).into_owned(),
                )
            })
            .collect();
        let mut r = html_response(html::items(
            &c,
            &rows,
            total,
            start,
            &with_offset(q.as_deref(), &c, end),
        ));
        r.headers_mut().insert(header::LINK, link_values);
        return Ok(r);
    }
    let mut links = vec![
        link(self_href, "self", "application/geo+json", "this page"),
        link(html_href, "alternate", "text/html", "this page as HTML"),
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
            write_one(&mut body, &c, matched.at(k), &how, &view)
                .map_err(|e| ApiError::internal(e.to_string()))?;
        }
        body.push_str("]}");
        Response::new(Body::from(body))
    } else {
        stream(head, c, matched, start, end, how, view)
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
    h.insert(header::LINK, link_values);
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
    view: View,
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
            if let Err(e) = write_one(&mut s, &c, matched.at(k), &how, &view) {
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
        return Ok(html_response(html::item(&c, &n, &c.properties(i))));
    }
    let mut s = String::new();
    write_one(&mut s, &c, i, &output(out_crs)?, &View::default())
        .map_err(|e| ApiError::internal(e.to_string()))?;
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
