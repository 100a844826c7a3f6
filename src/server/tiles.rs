//! Vector tiles (矢量瓦片) of every collection, and their TileJSON.

use super::collections::{selection_params, Collection};
use super::error::{ApiError, ApiResult};
use super::ogc::{base, etag, href, not_modified};
use super::params::{Params, Path};
use super::state::AppState;
use super::tile_cache::{Generation, TileKey};
use crate::analysis::context::classify;
use crate::model::records::Records;
use crate::model::value::m2_to_mu;
use crate::report::mvt::{encode_tile, tile_geometry, MvtValue, TileId, TileLayer};
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;

/// Features a tile may hold before the collection is too dense for that zoom.
const FEATURES_PER_TILE: f64 = 4000.0;

/// Park boundaries and red lines are what a map is read against: they show at every zoom,
/// as a dot where they are smaller than a tile pixel.
fn always_shown(c: &Collection) -> bool {
    matches!(c, Collection::Layer(l) if matches!(
        l.info.role,
        crate::model::Role::Parks | crate::model::Role::Redline
    ))
}

/// Tile units (1/4096 of a tile) a feature must span to survive as a polygon.
const VISIBLE_UNITS: f64 = 3.0;

/// A collection's lowest zoom in this snapshot's tile cache, computed once.
async fn floor_of(tiles: &Generation, id: &str, c: &Arc<Collection>) -> ApiResult<u8> {
    let computed = Arc::clone(c);
    tiles
        .floor((id.to_string(), c.selector()), move || min_zoom(&computed))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// The lowest zoom at which a collection's tiles hold data and stay light: parks show from
/// afar, a million parcels only closer in, and nothing below the zoom at which its largest
/// feature spans a few tile units (smaller ones collapse out of the tile).
pub fn min_zoom(c: &Collection) -> u8 {
    if always_shown(c) {
        return 0;
    }
    let Some(r) = c.spatial_extent() else {
        return 0;
    };
    let world = 2.0 * std::f64::consts::PI * 6_378_137.0_f64;
    let largest = (0..c.len())
        .filter_map(|i| c.bbox(i))
        .map(|b| {
            let (x0, y0) = crate::report::mvt::project(b.min().x, b.min().y);
            let (x1, y1) = crate::report::mvt::project(b.max().x, b.max().y);
            (x1 - x0).max(y1 - y0)
        })
        .fold(0.0_f64, f64::max);
    let visible = (0..=16u8)
        .find(|z| largest * f64::from(1u32 << z) * 4096.0 / world >= VISIBLE_UNITS)
        .unwrap_or(16);
    density_zoom(c, r).max(visible)
}

fn density_zoom(c: &Collection, r: geo::Rect) -> u8 {
    let n = c.len() as f64;
    let (x0, y0) = crate::report::mvt::project(r.min().x, r.min().y);
    let (x1, y1) = crate::report::mvt::project(r.max().x, r.max().y);
    let area = ((x1 - x0) * (y1 - y0)).max(1.0);
    let world = (2.0 * std::f64::consts::PI * 6_378_137.0_f64).powi(2);
    (0..=16u8)
        .find(|z| {
            let tile_area = world / 4f64.powi(i32::from(*z));
            n * (tile_area / area).min(1.0) <= FEATURES_PER_TILE
        })
        .unwrap_or(16)
}

fn text(v: &Option<Box<str>>) -> Option<MvtValue> {
    v.as_deref().map(|s| MvtValue::Text(s.to_string()))
}

/// The attributes a map needs of feature `i`.
fn attributes(c: &Collection, i: usize) -> Vec<(&'static str, MvtValue)> {
    let mut out: Vec<(&'static str, Option<MvtValue>)> = vec![];
    match c {
        Collection::Layer(l) => match &l.records {
            Records::Parcels(v) => {
                let p = &v[i];
                let class = classify(l, p.land_use_code.as_deref(), p.land_use_name.as_deref());
                out.push(("id", Some(MvtValue::Text(p.id.to_string()))));
                out.push(("park_id", text(&p.park_id)));
                out.push(("code", text(&p.land_use_code)));
                out.push((
                    "category",
                    class.map(|c| MvtValue::Text(c.category.as_str().into())),
                ));
                out.push(("holder", text(&p.holder)));
                out.push((
                    "area_mu",
                    Some(MvtValue::Double(
                        (m2_to_mu(l.features[i].area_m2) * 100.0).round() / 100.0,
                    )),
                ));
            }
            Records::Parks(v) => {
                out.push(("id", Some(MvtValue::Text(v[i].id.to_string()))));
                out.push(("name", text(&v[i].name)));
                out.push(("type", text(&v[i].park_type)));
            }
            Records::Buildings(v) => {
                out.push(("floors", v[i].floors.map(MvtValue::Double)));
                out.push(("use", text(&v[i].use_)));
            }
            Records::Plan(kind, v) => {
                let class = classify(
                    l,
                    v[i].land_use_code.as_deref(),
                    v[i].land_use_name.as_deref(),
                );
                out.push(("code", text(&v[i].land_use_code)));
                out.push((
                    "category",
                    class.map(|c| MvtValue::Text(c.category.as_str().into())),
                ));
                out.push(("kind", kind.map(|k| MvtValue::Text(k.as_str().into()))));
            }
            Records::Redline(kind, v) => {
                out.push((
                    "kind",
                    v[i].kind_or(*kind)
                        .map(|k| MvtValue::Text(k.as_str().into())),
                ));
                out.push(("name", text(&v[i].name)));
            }
            Records::Other => {}
        },
        Collection::Analysis(a) => {
            return a.features[i].tile.clone();
        }
    }
    out.into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

fn tile_bytes(c: &Collection, tile: TileId) -> Vec<u8> {
    let mut layer = TileLayer::new(&c.id());
    let dots = always_shown(c);
    let bounds = tile.lonlat_bounds();
    // A square of VISIBLE_UNITS tile units, in degrees, for features too small to draw.
    let unit = (bounds.width() / f64::from(crate::report::mvt::EXTENT)) * VISIBLE_UNITS;
    for i in c.in_envelope(&bounds) {
        let Some(g) = c.geometry(i) else { continue };
        let tg = tile_geometry(tile, g).or_else(|| {
            let centre = c.bbox(i).filter(|_| dots)?.center();
            let dot = geo::Rect::new(
                (centre.x - unit / 2.0, centre.y - unit / 2.0),
                (centre.x + unit / 2.0, centre.y + unit / 2.0),
            );
            tile_geometry(tile, &geo::Geometry::Rect(dot))
        });
        if let Some(tg) = tg {
            layer.add(c.feature_id(i).number(), &tg, &attributes(c, i));
        }
    }
    encode_tile(&[layer])
}

/// `as_of` and `park` of an analysis collection (as far as its check takes them); any other
/// collection takes no parameter.
fn analysis_query(
    collection: &str,
    mut p: Params,
) -> ApiResult<(Option<chrono::NaiveDate>, Option<String>)> {
    let (as_of, park, names) = selection_params(collection, &mut p)?;
    p.finish(&names)?;
    Ok((as_of, park))
}

/// `/tiles/{collection}/{z}/{x}/{y}.mvt`.
pub async fn tile(
    State(st): State<Arc<AppState>>,
    Path((collection, z, x, y)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let (as_of, park) = analysis_query(&collection, Params::parse(q.as_deref())?)?;
    let y = y.strip_suffix(".mvt").ok_or_else(|| {
        ApiError::not_found("tiles are addressed as /tiles/{collection}/{z}/{x}/{y}.mvt")
    })?;
    let bad = || {
        ApiError::bad(format!(
            "tile {z}/{x}/{y} does not exist: z is 0–24, x and y 0 to 2^z − 1"
        ))
    };
    let (z, x, y): (u8, u32, u32) = (
        z.parse().map_err(|_| bad())?,
        x.parse().map_err(|_| bad())?,
        y.parse().map_err(|_| bad())?,
    );
    let id = TileId::new(z, x, y).ok_or_else(bad)?;
    // The snapshot first, then the collection in it: a swap in between leaves this request
    // with a tile cache that is not its collection's, and the cache then keeps nothing.
    let catalog = st.catalog.load_full();
    let tiles = st.tiles.of(&catalog);
    let c = Arc::new(st.collection(&collection, as_of, park).await?);
    let selector = c.selector();
    let floor = floor_of(&tiles, &collection, &c).await?;
    if z < floor {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    // Tiles change with the snapshot (and an analysis with its day): revalidate by tag.
    let tag = etag(
        catalog.version,
        &collection,
        Some(&selector),
        &format!("{z}/{x}/{y}"),
    );
    if not_modified(&headers, &tag) {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    let key = TileKey {
        collection,
        selector,
        tile: id,
    };
    let bytes = tiles
        .tile(key, move || tile_bytes(&c, id))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    if bytes.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.mapbox-vector-tile".into(),
            ),
            (header::CACHE_CONTROL, "no-cache".into()),
            (header::ETAG, tag),
        ],
        bytes,
    )
        .into_response())
}

/// `/tiles/{collection}.json` (TileJSON 3.0).
pub async fn tilejson(
    State(st): State<Arc<AppState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let collection = file
        .strip_suffix(".json")
        .ok_or_else(|| ApiError::not_found("TileJSON is at /tiles/{collection}.json"))?
        .to_string();
    let (as_of, park) = analysis_query(&collection, Params::parse(q.as_deref())?)?;
    let catalog = st.catalog.load_full();
    let c = Arc::new(st.collection(&collection, as_of, park).await?);
    let floor = floor_of(&st.tiles.of(&catalog), &collection, &c).await?;
    let b = base(&headers);
    let tiles = href(
        &format!("{b}/tiles/{collection}/{{z}}/{{x}}/{{y}}.mvt"),
        &[&c.selector()],
    );
    let extent = c.spatial_extent();
    let min = floor;
    // The attributes tiles carry; features leave empty ones out, so look at more than one.
    let fields: serde_json::Map<String, serde_json::Value> = (0..c.len().min(1000))
        .flat_map(|i| attributes(&c, i))
        .map(|(k, _)| (k.to_string(), json!("")))
        .collect();
    let mut v = json!({
        "tilejson": "3.0.0",
        "name": c.title(),
        "description": c.description(),
        "tiles": [tiles],
        "minzoom": min,
        "maxzoom": 22,
        "vector_layers": [{"id": collection, "minzoom": min, "maxzoom": 22, "fields": fields}],
    });
    // An empty collection has neither bounds nor centre: both are left out, never null.
    if let Some(r) = extent {
        v["bounds"] = json!([r.min().x, r.min().y, r.max().x, r.max().y]);
        v["center"] = json!([r.center().x, r.center().y, min.max(12)]);
    }
    Ok(([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response())
}
