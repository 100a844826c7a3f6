//! 合规性审查 — compliance review of a proposed site against the plans and the control lines,
//! as a 用地预审 does it (DOMAIN.md §6).
//!
//! Per plan layer, the site is overlaid exactly with the layer's zones: the part whose
//! planned use admits the intended use (its category is the primary use's, or one of a
//! compound code's compatible uses; without an intended use, construction land) conforms,
//! the rest of what the layer covers does not, and what it does not cover is not checked.
//! Areas of different layers are never summed ("各图层面积口径独立"), and a layer the store
//! lacks is "not checked", never "conforming" ("空数据集不自动解释为没有风险").

use super::conflicts::judge;
use super::context::feature_id;
use super::Context;
use crate::catalog::{Catalog, Layer};
use crate::geom::clip::{intersect, polygons};
use crate::geom::{Transform, TransformError};
use crate::model::land_class::Category;
use crate::model::records::Records;
use crate::model::value::{m2_to_hectares, m2_to_mu};
use crate::model::{PlanKind, RedlineKind, Role};
use crate::rules::{ConflictRules, Construction};
use geo::{Area, BoundingRect, Geometry, MultiPolygon, Rect, Validation};
use serde::Serialize;

/// A site that cannot be reviewed.
#[derive(Debug, thiserror::Error)]
pub enum ComplianceError {
    /// No polygon, or zero area.
    #[error(
        "the site has no area: give a Polygon or MultiPolygon with at least three distinct corners"
    )]
    Empty,
    /// Self-intersecting rings and the like.
    #[error(
        "the site polygon is invalid ({0}): repair it (e.g. ogr2ogr -makevalid) and send it again"
    )]
    Invalid(String),
    /// The site meets no plan, red-line or park layer.
    #[error("the site lies outside every plan, red-line and park layer of the store: check its coordinates and CRS (lon/lat CGCS2000 unless a crs is given)")]
    OutsideEveryLayer,
    /// The store holds neither plans nor red lines.
    #[error("the store holds no plan or red-line layer to review a site against: ingest them with --role plan / --role redline")]
    NothingToCheck,
    /// The site could not be brought into the analysis CRS.
    #[error("the site cannot be transformed into the analysis CRS: {0}")]
    Transform(#[from] TransformError),
}

/// A proposed site in the analysis CRS, with its lon/lat box for the R-trees.
#[derive(Clone, Debug)]
pub struct Site {
    /// The polygon, planar metres.
    pub planar: MultiPolygon,
    /// Its lon/lat bounding box.
    pub lonlat_box: Rect,
    /// The intended use (拟用途), if given.
    pub intended: Option<Category>,
}

impl Site {
    /// A site given in lon/lat (CGCS2000 / CRS84), transformed into the catalog's analysis CRS.
    pub fn from_lonlat(
        catalog: &Catalog,
        lonlat: &Geometry,
        intended: Option<Category>,
    ) -> Result<Site, ComplianceError> {
        let crs = catalog
            .analysis_crs
            .as_ref()
            .ok_or(ComplianceError::NothingToCheck)?;
        let lonlat_box = lonlat.bounding_rect().ok_or(ComplianceError::Empty)?;
        let mut planar = Geometry::MultiPolygon(polygons(lonlat).into_owned());
        Transform::new("EPSG:4490", &crs.definition)?.geometry(&mut planar)?;
        Ok(Site {
            planar: polygons(&planar).into_owned(),
            lonlat_box,
            intended,
        })
    }
}

/// Conclusion (审查结论).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Conclusion {
    /// 符合.
    Conforming,
    /// 部分符合.
    Partly,
    /// 不符合.
    Nonconforming,
    /// 未审查 — the layer is not in the store (never read as conforming).
    NotChecked,
}

impl Conclusion {
    /// The Chinese word.
    pub fn label_zh(self) -> &'static str {
        match self {
            Conclusion::Conforming => "符合",
            Conclusion::Partly => "部分符合",
            Conclusion::Nonconforming => "不符合",
            Conclusion::NotChecked => "未审查",
        }
    }
}

/// One planned use met by the site.
#[derive(Clone, Debug, Serialize)]
pub struct UseArea {
    /// The zone's id.
    pub feature_id: String,
    /// Its code as written.
    pub code: Option<String>,
    /// Its class name.
    pub name: Option<String>,
    /// Its category.
    pub category: Category,
    /// Construction land, and of which kind (`None`: cannot be judged).
    pub construction: Option<Construction>,
    /// Admits the intended use.
    pub conforming: bool,
    /// Area of the site in it, m².
    pub area_m2: f64,
}

/// The review against one plan layer.
#[derive(Clone, Debug, Serialize)]
pub struct LayerReview {
    /// The layer.
    pub layer: String,
    /// Its plan kind (`land_use`, `urban`, …).
    pub kind: Option<String>,
    /// Its classification system.
    pub land_system: Option<String>,
    /// Site area whose planned use admits the intended use, m².
    pub conforming_m2: f64,
    /// Site area the layer covers with another use, m².
    pub nonconforming_m2: f64,
    /// Site area the layer does not cover (not checked), m².
    pub uncovered_m2: f64,
    /// Conforming share of the site.
    pub conforming_share: f64,
    /// Nonconforming share of the site.
    pub nonconforming_share: f64,
    /// The planned uses met.
    pub uses: Vec<UseArea>,
    /// 符合 / 部分符合 / 不符合.
    pub conclusion: Conclusion,
    /// The same in Chinese.
    pub conclusion_zh: &'static str,
}

/// One red line's occupation by the site.
#[derive(Clone, Debug, Serialize)]
pub struct LineReview {
    /// The store has a layer of this kind.
    pub checked: bool,
    /// Site area inside the line (null when not checked), m².
    pub inside_m2: Option<f64>,
    /// Site area outside it (null when not checked), m².
    pub outside_m2: Option<f64>,
    /// The red-line features met (编号).
    pub features: Vec<String>,
}

/// The three control lines.
#[derive(Clone, Debug, Serialize)]
pub struct Redlines {
    /// 生态保护红线: area occupied.
    pub ecological: LineReview,
    /// 永久基本农田: area occupied.
    pub farmland: LineReview,
    /// 城镇开发边界: area inside and outside.
    pub urban_boundary: LineReview,
}

/// The review of one site.
#[derive(Clone, Debug, Serialize)]
pub struct ComplianceReport {
    /// Site area, m² (planar, analysis CRS).
    pub site_area_m2: f64,
    /// The same in 公顷.
    pub site_area_ha: f64,
    /// The same in 亩.
    pub site_area_mu: f64,
    /// The intended use reviewed, if given.
    pub intended_use: Option<Category>,
    /// Per plan layer; never summed across layers.
    pub layers: Vec<LayerReview>,
    /// The control lines.
    pub redlines: Redlines,
    /// 符合 / 部分符合 / 不符合 overall.
    pub conclusion: Conclusion,
    /// The same in Chinese.
    pub conclusion_zh: &'static str,
    /// The rule that gave the conclusion, and every finding behind it.
    pub rule: String,
    /// Findings, one sentence each.
    pub reasons: Vec<String>,
    /// Plan kinds (土规, 控规) the store has no layer of: not checked, never conforming.
    pub not_checked: Vec<String>,
    /// How areas are measured.
    pub measured: String,
}

/// The site ∩ each feature of `layer` meeting it: (feature index, piece area).
fn overlay(layer: &Layer, site: &Site) -> Vec<(usize, f64)> {
    layer
        .in_box(&site.lonlat_box)
        .into_iter()
        .filter_map(|i| {
            let g = polygons(layer.features[i].planar.as_ref()?);
            let a = intersect(&site.planar, g.as_ref()).unsigned_area();
            (a > 0.0).then_some((i, a))
        })
        .collect()
}

fn review_layer(layer: &Layer, site: &Site, area: f64, rules: &ConflictRules) -> LayerReview {
    let mut uses = vec![];
    let (mut yes, mut no) = (0.0, 0.0);
    for (i, a) in overlay(layer, site) {
        let j = judge(layer, i, rules);
        let conforming = match site.intended {
            Some(c) => j.allows(c, layer.info.land_system),
            None => j.construction.is_some_and(Construction::is_construction),
        };
        if conforming {
            yes += a;
        } else {
            no += a;
        }
        uses.push(UseArea {
            feature_id: feature_id(layer, i),
            code: j.code,
            name: j.name,
            category: j.category,
            construction: j.construction,
            conforming,
            area_m2: a,
        });
    }
    let floor = rules.redline_min_area_m2;
    let uncovered = (area - yes - no).max(0.0);
    let conclusion = if yes <= floor {
        Conclusion::Nonconforming
    } else if no <= floor && uncovered <= floor {
        Conclusion::Conforming
    } else {
        Conclusion::Partly
    };
    LayerReview {
        layer: layer.info.name.clone(),
        kind: layer.info.kind.clone(),
        land_system: layer.info.land_system.map(|s| s.as_str().to_string()),
        conforming_m2: yes,
        nonconforming_m2: no,
        uncovered_m2: uncovered,
        conforming_share: yes / area,
        nonconforming_share: no / area,
        uses,
        conclusion,
        conclusion_zh: conclusion.label_zh(),
    }
}

/// The site inside the red-line features of one kind: area and feature ids.
fn review_line(catalog: &Catalog, kind: RedlineKind, site: &Site, area: f64) -> LineReview {
    let mut checked = false;
    let mut pieces: Vec<MultiPolygon> = vec![];
    let mut features = vec![];
    for layer in catalog.by_role(Role::Redline) {
        let Records::Redline(layer_kind, zones) = &layer.records else {
            continue;
        };
        let of_kind = |i: usize| zones[i].kind_or(*layer_kind) == Some(kind);
        checked |= (0..zones.len()).any(of_kind);
        for i in layer.in_box(&site.lonlat_box) {
            if !of_kind(i) {
                continue;
            }
            let Some(g) = layer.features[i].planar.as_ref() else {
                continue;
            };
            let piece = intersect(&site.planar, polygons(g).as_ref());
            if piece.unsigned_area() > 0.0 {
                features.push(feature_id(layer, i));
                pieces.push(piece);
            }
        }
    }
    if !checked {
        return LineReview {
            checked,
            inside_m2: None,
            outside_m2: None,
            features,
        };
    }
    // Features of one line may overlap: their union is what the site occupies.
    let inside = geo::unary_union(pieces.iter()).unsigned_area().min(area);
    LineReview {
        checked,
        inside_m2: Some(inside),
        outside_m2: Some(area - inside),
        features,
    }
}

/// Review one site against every plan layer and the control lines.
pub fn compliance(
    ctx: &Context<'_>,
    rules: &ConflictRules,
    site: &Site,
) -> Result<ComplianceReport, ComplianceError> {
    let catalog = ctx.catalog;
    if site.planar.0.is_empty() {
        return Err(ComplianceError::Empty);
    }
    if let Err(e) = site.planar.check_validation() {
        return Err(ComplianceError::Invalid(e.to_string()));
    }
    let area = site.planar.unsigned_area();
    if area <= 0.0 {
        return Err(ComplianceError::Empty);
    }
    let plans: Vec<&std::sync::Arc<Layer>> = catalog.by_role(Role::Plan).collect();
    let has_lines = catalog.by_role(Role::Redline).next().is_some();
    if plans.is_empty() && !has_lines {
        return Err(ComplianceError::NothingToCheck);
    }
    let meets_any = catalog
        .layers
        .iter()
        .filter(|l| matches!(l.info.role, Role::Plan | Role::Redline | Role::Parks))
        .any(|l| !l.in_box(&site.lonlat_box).is_empty());
    if !meets_any {
        return Err(ComplianceError::OutsideEveryLayer);
    }
    let layers: Vec<LayerReview> = plans
        .iter()
        .map(|l| review_layer(l, site, area, rules))
        .collect();
    let redlines = Redlines {
        ecological: review_line(catalog, RedlineKind::Ecological, site, area),
        farmland: review_line(catalog, RedlineKind::Farmland, site, area),
        urban_boundary: review_line(catalog, RedlineKind::UrbanBoundary, site, area),
    };
    let floor = rules.redline_min_area_m2;
    let mut reasons = vec![];
    let mut worst = Conclusion::Conforming;
    let mut lower = |to: Conclusion| {
        worst = match (worst, to) {
            (Conclusion::Nonconforming, _) | (_, Conclusion::Nonconforming) => {
                Conclusion::Nonconforming
            }
            (Conclusion::Partly, _) | (_, Conclusion::Partly) => Conclusion::Partly,
            _ => worst,
        }
    };
    for l in &layers {
        reasons.push(format!(
            "{}：符合 {:.1} ㎡，不符合 {:.1} ㎡，未覆盖 {:.1} ㎡ — {}",
            l.layer, l.conforming_m2, l.nonconforming_m2, l.uncovered_m2, l.conclusion_zh
        ));
        lower(l.conclusion);
    }
    if layers.is_empty() {
        reasons.push("库中没有规划图层：规划用途未检查".into());
        lower(Conclusion::Partly);
    }
    for (line, label) in [
        (&redlines.ecological, RedlineKind::Ecological.label_zh()),
        (&redlines.farmland, RedlineKind::Farmland.label_zh()),
    ] {
        match line.inside_m2 {
            None => {
                reasons.push(format!("{label}：库中无此图层，未检查"));
                lower(Conclusion::Partly);
            }
            Some(m2) if m2 > floor => {
                reasons.push(format!("占用{label} {m2:.1} m²"));
                lower(Conclusion::Nonconforming);
            }
            Some(_) => {}
        }
    }
    let needs_boundary = site.intended.is_none_or(Category::is_construction);
    match redlines.urban_boundary.outside_m2 {
        None => {
            reasons.push("城镇开发边界：库中无此图层，未检查".into());
            lower(Conclusion::Partly);
        }
        Some(m2) if m2 > floor && needs_boundary => {
            reasons.push(format!("{m2:.1} m² 位于城镇开发边界外"));
            lower(if m2 >= area - floor {
                Conclusion::Nonconforming
            } else {
                Conclusion::Partly
            });
        }
        Some(_) => {}
    }
    let not_checked: Vec<String> = [PlanKind::LandUse, PlanKind::Urban]
        .into_iter()
        .filter(|k| {
            !plans
                .iter()
                .any(|l| matches!(&l.records, Records::Plan(Some(x), _) if x == k))
        })
        .map(|k| format!("{}（{}）：库中无此类图层，未检查", k.as_str(), k.label_zh()))
        .collect();
    let rule = format!(
        "符合：每个规划图层在整个用地范围内都允许该用途，未占用生态保护红线和永久基本农田，且用地位于城镇开发边界内；不符合：某个规划图层在用地范围内完全不允许该用途，或占用了红线；其余为部分符合。库中缺少的图层记为未检查，不视为符合；小于 {floor} ㎡ 的面积视为制图误差。"
    );
    Ok(ComplianceReport {
        site_area_m2: area,
        site_area_ha: m2_to_hectares(area),
        site_area_mu: m2_to_mu(area),
        intended_use: site.intended,
        layers,
        redlines,
        conclusion: worst,
        conclusion_zh: worst.label_zh(),
        rule,
        reasons,
        not_checked,
        measured: catalog
            .analysis_crs
            .as_ref()
            .map_or_else(String::new, |c| format!("平面面积，{}", c.label)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::{park, rect, to_lonlat, Builder};
    use crate::model::ClassSystem;
    use crate::rules::Rules;

    fn near(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    /// A 控规 with industry on the west half and housing (with a compatible commercial use)
    /// on the east; farmland in the north-east corner; an urban boundary up to y = 800.
    fn catalog(with_farmland: bool) -> Catalog {
        let b = Builder::new()
            .parks(
                "parks",
                vec![(park("K", "工业主导型"), rect(0.0, 0.0, 1000.0, 1000.0))],
            )
            .plan(
                "kg",
                ClassSystem::Ydyh2023,
                "urban",
                vec![
                    ("100102", rect(0.0, 0.0, 500.0, 1000.0)),
                    ("0701/09", rect(500.0, 0.0, 1000.0, 1000.0)),
                ],
            )
            .redline(
                "kfbj",
                "urban_boundary",
                vec![rect(0.0, 0.0, 1000.0, 800.0)],
            );
        let b = if with_farmland {
            b.redline("jbnt", "farmland", vec![rect(900.0, 900.0, 1000.0, 1000.0)])
        } else {
            b
        };
        b.build()
    }

    fn site(x0: f64, y0: f64, x1: f64, y1: f64, intended: Option<Category>) -> Site {
        let g = Geometry::Polygon(rect(x0, y0, x1, y1));
        Site {
            lonlat_box: to_lonlat(&g).bounding_rect().unwrap(),
            planar: polygons(&g).into_owned(),
            intended,
        }
    }

    fn review(cat: &Catalog, s: &Site) -> Result<ComplianceReport, ComplianceError> {
        compliance(&Context::new(cat), &Rules::builtin().conflicts, s)
    }

    #[test]
    fn a_site_that_partly_conforms() {
        let cat = catalog(true);
        // 200 × 100 straddling the industry/housing line, for industry.
        let r = review(
            &cat,
            &site(400.0, 100.0, 600.0, 200.0, Some(Category::Industrial)),
        )
        .unwrap();
        assert!(near(r.site_area_m2, 20_000.0));
        let l = &r.layers[0];
        assert_eq!(l.layer, "kg");
        assert!(near(l.conforming_m2, 10_000.0) && near(l.nonconforming_m2, 10_000.0));
        assert!(near(l.conforming_share, 0.5) && near(l.uncovered_m2, 0.0));
        assert_eq!(l.conclusion, Conclusion::Partly);
        assert_eq!(r.conclusion, Conclusion::Partly);
        assert_eq!(r.conclusion_zh, "部分符合");
        assert_eq!(r.redlines.farmland.inside_m2, Some(0.0));
        assert_eq!(
            r.redlines.ecological.inside_m2, None,
            "no ecological layer: not checked"
        );
        assert!(!r.redlines.ecological.checked);
        assert!(near(r.redlines.urban_boundary.inside_m2.unwrap(), 20_000.0));
        // The missing 土规 is said, never taken as conforming.
        assert!(r.not_checked.iter().any(|n| n.contains("land_use")));
    }

    #[test]
    fn compatible_uses_construction_land_and_red_lines_decide() {
        let cat = catalog(true);
        // Commercial on 0701/09: the compatible use 09 admits it.
        let r = review(
            &cat,
            &site(600.0, 100.0, 700.0, 200.0, Some(Category::Commercial)),
        )
        .unwrap();
        assert_eq!(r.layers[0].conclusion, Conclusion::Conforming);
        assert!(near(r.layers[0].conforming_m2, 10_000.0));
        // Without an ecological layer the whole review cannot conform.
        assert_eq!(r.conclusion, Conclusion::Partly);
        // No use given: construction land conforms.
        let r = review(&cat, &site(100.0, 100.0, 200.0, 200.0, None)).unwrap();
        assert_eq!(r.layers[0].conclusion, Conclusion::Conforming);
        // On farmland and outside the boundary: 不符合.
        let r = review(&cat, &site(900.0, 850.0, 1000.0, 1000.0, None)).unwrap();
        assert!(near(r.redlines.farmland.inside_m2.unwrap(), 10_000.0));
        assert_eq!(r.redlines.farmland.features, vec!["R1".to_string()]);
        assert!(near(
            r.redlines.urban_boundary.outside_m2.unwrap(),
            15_000.0
        ));
        assert_eq!(r.conclusion, Conclusion::Nonconforming);
        // Industry on housing land: the layer says 不符合.
        let r = review(
            &cat,
            &site(600.0, 100.0, 700.0, 200.0, Some(Category::Industrial)),
        )
        .unwrap();
        assert_eq!(r.layers[0].conclusion, Conclusion::Nonconforming);
        assert_eq!(r.conclusion, Conclusion::Nonconforming);
        // Without the farmland layer, farmland is not checked, not "free".
        let r = review(&catalog(false), &site(900.0, 850.0, 1000.0, 1000.0, None)).unwrap();
        assert_eq!(r.redlines.farmland.inside_m2, None);
    }

    #[test]
    fn bad_sites_are_refused_with_the_reason() {
        let cat = catalog(true);
        assert!(matches!(
            review(&cat, &site(5000.0, 5000.0, 5100.0, 5100.0, None)),
            Err(ComplianceError::OutsideEveryLayer)
        ));
        let mut nothing = site(0.0, 0.0, 1.0, 1.0, None);
        nothing.planar = MultiPolygon(vec![]);
        assert!(matches!(
            review(&cat, &nothing),
            Err(ComplianceError::Empty)
        ));
        // A zero-width box is no polygon.
        assert!(matches!(
            review(&cat, &site(10.0, 10.0, 10.0, 20.0, None)),
            Err(ComplianceError::Invalid(_))
        ));
        let bow: Geometry = geo::wkt! { POLYGON((0. 0.,100. 100.,100. 0.,0. 100.,0. 0.)) }.into();
        let s = Site {
            lonlat_box: to_lonlat(&bow).bounding_rect().unwrap(),
            planar: polygons(&bow).into_owned(),
            intended: None,
        };
        let e = review(&cat, &s).unwrap_err();
        assert!(matches!(e, ComplianceError::Invalid(_)), "{e}");
        let empty = Builder::new()
            .parks(
                "parks",
                vec![(park("K", "工业主导型"), rect(0.0, 0.0, 10.0, 10.0))],
            )
            .build();
        assert!(matches!(
            review(&empty, &site(0.0, 0.0, 5.0, 5.0, None)),
            Err(ComplianceError::NothingToCheck)
        ));
    }
}
