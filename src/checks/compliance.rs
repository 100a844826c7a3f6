//! `compliance` — 合规性审查 of one proposed site (用地预审), the face of
//! [`crate::analysis::compliance`]: the site arrives as GeoJSON (`POST /analysis/compliance`,
//! `landwatch check compliance --site FILE`) and is read here into lon/lat, then into the
//! analysis CRS through [`Transform`].

use super::{
    flat, Analysis, CheckError, FeatureId, Info, MapFeature, OwnedGeometry, Param, Query, Report,
    Shape,
};
use crate::analysis::compliance::{compliance, ComplianceReport, LineReview, Site};
use crate::analysis::Context;
use crate::catalog::Catalog;
use crate::geom::Transform;
use crate::model::land_class::Category;
use crate::model::Role;
use crate::report::table::{Cell, Table};
use crate::rules::Rules;
use geo::{BoundingRect, Coord, Geometry, LineString, MultiPolygon, Polygon};
use serde::{Serialize, Serializer};
use serde_json::{json, Value};
use std::sync::Arc;

/// The largest site accepted, in bytes of GeoJSON (a polygon of some thousands of corners).
pub const MAX_SITE_BYTES: usize = 64 * 1024;

/// 合规性审查.
#[derive(Debug)]
pub struct Compliance;

/// What the check is.
const INFO: Info = Info {
    id: "compliance",
    aliases: &[],
    title_zh: "合规性审查",
    description: "合规性审查 (用地预审): one proposed site against every plan layer (conforming and nonconforming area, per layer, never summed across layers), the ecological red line, basic farmland and the urban development boundary, with a conclusion 符合 / 部分符合 / 不符合 and its rule; a layer the store lacks is not checked, never conforming",
    rule_packs: &["conflicts.toml"],
    params: &[Param::Site, Param::SiteCrs, Param::Use],
    collection: None,
};

/// A site that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// No site was given.
    #[error("no site: send a GeoJSON Polygon or MultiPolygon (POST body, or --site FILE)")]
    Missing,
    /// Larger than [`MAX_SITE_BYTES`].
    #[error("the site is {0} bytes; at most {MAX_SITE_BYTES} are accepted: simplify the polygon (e.g. ogr2ogr -simplify 0.5)")]
    TooLarge(usize),
    /// Not JSON.
    #[error("the site is not JSON ({0}): send a GeoJSON Polygon, MultiPolygon, Feature or FeatureCollection of one")]
    NotJson(String),
    /// JSON, but not a polygon.
    #[error("the site is {0}, not a polygon: send a GeoJSON Polygon or MultiPolygon (as a geometry, a Feature, or a FeatureCollection of one)")]
    NotPolygon(String),
    /// A FeatureCollection of several features.
    #[error("the site FeatureCollection holds {0} features: review one site at a time")]
    Several(usize),
    /// Coordinates that are not rings of numbers.
    #[error("the site's coordinates are malformed: {0}")]
    Coordinates(String),
    /// A CRS that cannot be read.
    #[error("'{0}' is not a CRS: write EPSG:4527, urn:ogc:def:crs:EPSG::4523 or http://www.opengis.net/def/crs/EPSG/0/4527")]
    BadCrs(String),
    /// The CRS given and the one the file names differ.
    #[error("the site names its CRS {named} but {given} was given: give one")]
    CrsDisagree {
        /// The file's `crs` member.
        named: String,
        /// The parameter.
        given: String,
    },
    /// Coordinates that cannot be longitude and latitude.
    #[error("the site's coordinates (first {x}, {y}) are not longitude/latitude degrees: a projected site needs its CRS (crs=EPSG:…, --site-crs); {hint}")]
    NotLonLat {
        /// First easting.
        x: f64,
        /// First northing.
        y: f64,
        /// The likely CRS.
        hint: String,
    },
    /// The CRS is unknown to PROJ, or the site cannot be transformed.
    #[error("the site cannot be brought from {crs} into lon/lat: {why}")]
    Transform {
        /// The CRS.
        crs: String,
        /// PROJ's word.
        why: String,
    },
    /// The intended use is not a category.
    #[error("use: {0}; the categories are {1}")]
    BadUse(String, String),
}

/// A CRS as PROJ takes it from the ways GeoJSON files and OGC clients write one; `None` for
/// longitude/latitude (CRS84, EPSG:4326, EPSG:4490 — within centimetres of each other).
fn crs_definition(s: &str) -> Result<Option<String>, SiteError> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    if lower.ends_with("crs84") {
        return Ok(None);
    }
    let code = lower
        .rsplit(['/', ':'])
        .next()
        .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_digit()))
        .filter(|_| lower.contains("epsg"))
        .ok_or_else(|| SiteError::BadCrs(t.to_string()))?;
    Ok(match code {
        "4326" | "4490" => None,
        c => Some(format!("EPSG:{c}")),
    })
}

fn ring(v: &Value) -> Result<LineString, SiteError> {
    let points = v
        .as_array()
        .ok_or_else(|| SiteError::Coordinates("a ring is not an array of positions".into()))?;
    points
        .iter()
        .map(|p| match p.as_array().map(|a| (a.first(), a.get(1))) {
            Some((Some(x), Some(y))) => match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) if x.is_finite() && y.is_finite() => Ok(Coord { x, y }),
                _ => Err(SiteError::Coordinates(format!(
                    "position {p} is not two numbers"
                ))),
            },
            _ => Err(SiteError::Coordinates(format!(
                "position {p} is not [x, y]"
            ))),
        })
        .collect()
}

fn polygon(v: &Value) -> Result<Polygon, SiteError> {
    let rings = v
        .as_array()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| SiteError::Coordinates("a polygon is not an array of rings".into()))?;
    let mut rings = rings.iter().map(ring);
    let outer = rings.next().expect("not empty")?;
    Ok(Polygon::new(outer, rings.collect::<Result<_, _>>()?))
}

/// The polygon of a GeoJSON geometry, Feature or FeatureCollection of one, and the CRS its
/// (pre-RFC 7946) `crs` member names.
fn read_geojson(v: &Value) -> Result<(MultiPolygon, Option<String>), SiteError> {
    let named = v["crs"]["properties"]["name"].as_str().map(str::to_string);
    let kind = v["type"].as_str().unwrap_or("");
    let (mp, inner) = match kind {
        "FeatureCollection" => {
            let features = v["features"].as_array().ok_or_else(|| {
                SiteError::NotPolygon("a FeatureCollection without features".into())
            })?;
            match &features[..] {
                [one] => read_geojson(one)?,
                list => return Err(SiteError::Several(list.len())),
            }
        }
        "Feature" => read_geojson(&v["geometry"])?,
        "Polygon" => (MultiPolygon(vec![polygon(&v["coordinates"])?]), None),
        "MultiPolygon" => (
            MultiPolygon(
                v["coordinates"]
                    .as_array()
                    .ok_or_else(|| {
                        SiteError::Coordinates("a MultiPolygon is not an array of polygons".into())
                    })?
                    .iter()
                    .map(polygon)
                    .collect::<Result<_, _>>()?,
            ),
            None,
        ),
        "" if v.is_null() => return Err(SiteError::NotPolygon("empty (no geometry)".into())),
        "" => return Err(SiteError::NotPolygon("JSON without a GeoJSON type".into())),
        other => return Err(SiteError::NotPolygon(format!("a GeoJSON {other}"))),
    };
    Ok((mp, named.or(inner)))
}

/// Read a site: GeoJSON text in `crs` (or the CRS the file names; default CRS84), into
/// lon/lat (CGCS2000).
pub fn read_site(text: &str, crs: Option<&str>) -> Result<MultiPolygon, SiteError> {
    if text.len() > MAX_SITE_BYTES {
        return Err(SiteError::TooLarge(text.len()));
    }
    let v: Value = serde_json::from_str(text).map_err(|e| SiteError::NotJson(e.to_string()))?;
    let (mut site, named) = read_geojson(&v)?;
    let def = match (crs, named.as_deref()) {
        (Some(given), Some(named)) => {
            let (g, n) = (crs_definition(given)?, crs_definition(named)?);
            if g != n {
                return Err(SiteError::CrsDisagree {
                    named: named.to_string(),
                    given: given.to_string(),
                });
            }
            g
        }
        (Some(c), None) | (None, Some(c)) => crs_definition(c)?,
        (None, None) => None,
    };
    match def {
        None => {
            let outside = site
                .0
                .iter()
                .flat_map(|p| p.exterior().0.iter())
                .find(|c| !(-180.0..=180.0).contains(&c.x) || !(-90.0..=90.0).contains(&c.y));
            if let Some(c) = outside {
                let hint = site
                    .bounding_rect()
                    .map_or_else(String::new, |r| crate::geom::crs::suggest_crs(&r));
                return Err(SiteError::NotLonLat {
                    x: c.x,
                    y: c.y,
                    hint,
                });
            }
        }
        Some(def) => {
            let fail = |e: crate::geom::TransformError| SiteError::Transform {
                crs: def.clone(),
                why: e.to_string(),
            };
            let t = Transform::new(&def, "EPSG:4490").map_err(fail)?;
            let mut g = Geometry::MultiPolygon(site);
            t.geometry(&mut g).map_err(fail)?;
            site = crate::geom::clip::polygons(&g).into_owned();
        }
    }
    Ok(site)
}

/// A review, with the site it reviewed (for the map).
#[derive(Debug)]
struct Review {
    report: ComplianceReport,
    lonlat: MultiPolygon,
}

impl Serialize for Review {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.report.serialize(s)
    }
}

impl Analysis for Compliance {
    fn info(&self) -> &'static Info {
        &INFO
    }
    fn layers(&self) -> &'static [Role] {
        &[Role::Parks, Role::Parcels, Role::Plan, Role::Redline]
    }

    fn run(
        &self,
        ctx: &Context<'_>,
        rules: &Rules,
        q: &Query,
    ) -> Result<Arc<dyn Report>, CheckError> {
        let text = q.site.as_deref().ok_or(SiteError::Missing)?;
        let intended = q
            .option(Param::Use)
            .map(|u| {
                u.parse::<Category>()
                    .map_err(|e| SiteError::BadUse(e, Category::ALL.map(|c| c.as_str()).join(", ")))
            })
            .transpose()?;
        let lonlat = read_site(text, q.option(Param::SiteCrs))?;
        let site = Site::from_lonlat(
            ctx.catalog,
            &Geometry::MultiPolygon(lonlat.clone()),
            intended,
        )?;
        let report = compliance(ctx, &rules.conflicts, &site)?;
        Ok(Arc::new(Review { report, lonlat }))
    }
}

fn line_row(t: &mut Table, name: &str, l: &LineReview) {
    t.push(vec![
        name.into(),
        (if l.checked {
            "已审查"
        } else {
            "未审查（无此图层）"
        })
        .into(),
        Cell::num(l.inside_m2, 2),
        Cell::num(l.outside_m2, 2),
        l.features.join("、").into(),
    ]);
}

impl Report for Review {
    fn tables(&self) -> Vec<Table> {
        let r = &self.report;
        let mut conclusion = Table::new("审查结论", &["项目", "内容"]);
        conclusion.push(vec![
            "用地面积(㎡)".into(),
            Cell::num(Some(r.site_area_m2), 2),
        ]);
        conclusion.push(vec![
            "用地面积(公顷)".into(),
            Cell::num(Some(r.site_area_ha), 4),
        ]);
        conclusion.push(vec![
            "用地面积(亩)".into(),
            Cell::num(Some(r.site_area_mu), 2),
        ]);
        conclusion.push(vec![
            "拟用途".into(),
            Cell::text(r.intended_use.map(|c| c.label_zh())),
        ]);
        conclusion.push(vec!["结论".into(), r.conclusion_zh.into()]);
        conclusion.push(vec!["依据".into(), r.rule.as_str().into()]);
        for reason in &r.reasons {
            conclusion.push(vec!["审查意见".into(), reason.as_str().into()]);
        }
        for n in &r.not_checked {
            conclusion.push(vec!["未审查".into(), n.as_str().into()]);
        }
        conclusion.push(vec!["面积口径".into(), r.measured.as_str().into()]);
        let mut layers = Table::new(
            "分图层审查",
            &[
                "图层",
                "规划类型",
                "分类体系",
                "符合面积(㎡)",
                "不符合面积(㎡)",
                "未覆盖面积(㎡)",
                "符合比例(%)",
                "不符合比例(%)",
                "结论",
            ],
        );
        let mut uses = Table::new(
            "占用规划用途",
            &[
                "图层",
                "要素编号",
                "用地代码",
                "用地名称",
                "用地类别",
                "是否符合",
                "面积(㎡)",
            ],
        );
        for l in &r.layers {
            layers.push(vec![
                l.layer.as_str().into(),
                Cell::text(l.kind.clone()),
                Cell::text(l.land_system.clone()),
                Cell::num(Some(l.conforming_m2), 2),
                Cell::num(Some(l.nonconforming_m2), 2),
                Cell::num(Some(l.uncovered_m2), 2),
                Cell::percent(Some(l.conforming_share)),
                Cell::percent(Some(l.nonconforming_share)),
                l.conclusion_zh.into(),
            ]);
            for u in &l.uses {
                uses.push(vec![
                    l.layer.as_str().into(),
                    u.feature_id.as_str().into(),
                    Cell::text(u.code.clone()),
                    Cell::text(u.name.clone()),
                    u.category.label_zh().into(),
                    (if u.conforming { "符合" } else { "不符合" }).into(),
                    Cell::num(Some(u.area_m2), 2),
                ]);
            }
        }
        let mut lines = Table::new(
            "控制线",
            &["控制线", "审查", "线内面积(㎡)", "线外面积(㎡)", "涉及要素"],
        );
        line_row(&mut lines, "生态保护红线", &r.redlines.ecological);
        line_row(&mut lines, "永久基本农田", &r.redlines.farmland);
        line_row(&mut lines, "城镇开发边界", &r.redlines.urban_boundary);
        vec![conclusion, layers, lines, uses]
    }

    /// The site, with its conclusion.
    fn map_features(&self, _catalog: &Catalog) -> Vec<MapFeature> {
        let r = &self.report;
        vec![MapFeature {
            id: FeatureId::Text("site".into()),
            shape: Shape::Owned(Arc::new(OwnedGeometry::new(
                Geometry::MultiPolygon(self.lonlat.clone()),
                None,
            ))),
            properties: flat(json!({
                "site_area_m2": r.site_area_m2, "site_area_mu": r.site_area_mu,
                "conclusion": r.conclusion, "conclusion_zh": r.conclusion_zh, "rule": r.rule,
            })),
        }]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: &str = r#"{"type":"Polygon","coordinates":[[[104.0,30.0],[104.01,30.0],[104.01,30.01],[104.0,30.0]]]}"#;

    #[test]
    fn a_polygon_a_feature_and_a_collection_of_one_are_sites() {
        let p = read_site(SQUARE, None).unwrap();
        assert_eq!(p.0.len(), 1);
        assert_eq!(p.0[0].exterior().0[1], Coord { x: 104.01, y: 30.0 });
        let feature = format!(r#"{{"type":"Feature","properties":{{}},"geometry":{SQUARE}}}"#);
        assert_eq!(read_site(&feature, None).unwrap(), p);
        let fc = format!(r#"{{"type":"FeatureCollection","features":[{feature}]}}"#);
        assert_eq!(read_site(&fc, Some("OGC:CRS84")).unwrap(), p);
    }

    #[test]
    fn bad_sites_say_why() {
        let e = |text: &str, crs: Option<&str>| read_site(text, crs).unwrap_err().to_string();
        assert!(e("{", None).contains("not JSON"));
        assert!(e(r#"{"type":"Point","coordinates":[104,30]}"#, None).contains("GeoJSON Point"));
        let two = format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","geometry":{SQUARE}}},{{"type":"Feature","geometry":{SQUARE}}}]}}"#
        );
        assert!(e(&two, None).contains("holds 2 features"));
        assert!(e(r#"{"type":"Polygon","coordinates":[[[104,"x"]]]}"#, None).contains("malformed"));
        let projected = r#"{"type":"Polygon","coordinates":[[[35500000,3320000],[35500100,3320000],[35500100,3320100],[35500000,3320000]]]}"#;
        let msg = e(projected, None);
        assert!(
            msg.contains("not longitude/latitude") && msg.contains("35"),
            "{msg}"
        );
        assert!(e(SQUARE, Some("nonsense")).contains("is not a CRS"));
        let named = r#"{"type":"Polygon","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4523"}},"coordinates":[[[35500000,3320000],[35500100,3320000],[35500100,3320100],[35500000,3320000]]]}"#;
        assert!(e(named, Some("EPSG:4524")).contains("give one"));
        let big = format!("{SQUARE}{}", " ".repeat(MAX_SITE_BYTES));
        assert!(e(&big, None).contains("at most"));
    }

    #[test]
    fn a_projected_site_comes_into_lon_lat_by_the_crs_it_names() {
        // EPSG:4523: CGCS2000 3° GK zone 35 (CM 105°E), false easting 35,500,000 m: the
        // central meridian's point on it lies at longitude 105.
        let named = r#"{"type":"Polygon","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4523"}},"coordinates":[[[35500000,3320000],[35500100,3320000],[35500100,3320100],[35500000,3320000]]]}"#;
        let p = read_site(named, None).unwrap();
        let c = p.0[0].exterior().0[0];
        assert!((c.x - 105.0).abs() < 1e-9, "{c:?}");
        assert!((29.0..31.0).contains(&c.y), "{c:?}");
        assert_eq!(read_site(named, Some("EPSG:4523")).unwrap(), p);
    }
}
