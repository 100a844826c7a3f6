//! 园区用地结构 — the functional land shares of each park (DOMAIN.md §5).
//!
//! Every land-use layer is clipped to the park boundary by exact polygon overlay in the
//! analysis CRS; areas are summed by functional category through the classification
//! crosswalk: parcels give the current use, each plan layer its planned use, reported
//! separately. Shares are of the park's area and are checked against the bounds of its type.
//! Parcels crossing the boundary count by their inside part; overlapping parcels (which count
//! twice) are listed with the overlap. Parcel land outside the park's 四至 and 二类/三类
//! industry too close to housing (产业过渡区) are conflicts ([`super::conflicts`]).

use super::context::{classify, clip_to, codes, feature_id, Context, ParkRef};
use crate::catalog::Layer;
use crate::geom::clip::{covered_area, intersection_area};
use crate::model::land_class::Category;
use crate::model::value::{m2_to_hectares, m2_to_mu};
use crate::model::Role;
use crate::rules::{Bound, IndicatorRules, ZoningRules};
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One category's area and share in a park, and its bound.
#[derive(Clone, Debug, Serialize)]
pub struct CategoryShare {
    /// `industrial`, `residential` …
    pub category: &'static str,
    /// 工业用地 …
    pub label: &'static str,
    /// Area inside the park, m² (planar).
    pub area_m2: f64,
    /// The same in 公顷.
    pub area_ha: f64,
    /// The same in 亩.
    pub area_mu: f64,
    /// Fraction of the park's area.
    pub share: f64,
    /// Lower bound, if any.
    pub min: Option<f64>,
    /// Upper bound, if any.
    pub max: Option<f64>,
    /// Within its bounds (true when it has none).
    pub pass: bool,
    /// Distance to the nearest bound: headroom when positive, shortfall or excess when negative.
    pub margin: Option<f64>,
}

/// Two features of one layer overlapping (their areas count twice).
#[derive(Clone, Debug, Serialize)]
pub struct Overlap {
    /// One id.
    pub a: String,
    /// The other.
    pub b: String,
    /// Their layer.
    pub layer: String,
    /// The overlap, m².
    pub area_m2: f64,
}

/// A code the layer's system does not know.
#[derive(Clone, Debug, Serialize)]
pub struct UnknownCode {
    /// The layer.
    pub layer: String,
    /// The code as written (the land-use name when there is no code; empty when neither).
    pub code: String,
    /// Features carrying it inside the park.
    pub count: usize,
    /// Their area inside the park, m².
    pub area_m2: f64,
}

/// The shares of one land-use layer in one park.
#[derive(Clone, Debug, Serialize)]
pub struct LayerShares {
    /// The layer.
    pub layer: String,
    /// `current` for parcels, else the plan's kind.
    pub kind: String,
    /// Its classification system.
    pub land_system: Option<String>,
    /// Every category (zero ones too).
    pub categories: Vec<CategoryShare>,
    /// Area its features cover inside the park (overlaps counted twice), m².
    pub covered_m2: f64,
    /// Park area no feature covers (park minus the union of its features inside), m².
    pub uncovered_m2: f64,
    /// Codes the system does not know, and features without a usable code.
    pub unknown_codes: Vec<UnknownCode>,
    /// Every category within its bounds.
    pub pass: bool,
}

/// One park's zoning.
#[derive(Clone, Debug, Serialize)]
pub struct ParkZoning {
    /// 园区编号.
    pub id: String,
    /// 园区名称.
    pub name: Option<String>,
    /// 工业主导型 or 产城融合型.
    #[serde(rename = "type")]
    pub park_type: String,
    /// Where the type comes from.
    pub type_source: String,
    /// Park area, m² (planar).
    pub area_m2: f64,
    /// The same in 公顷.
    pub area_ha: f64,
    /// The same in 亩.
    pub area_mu: f64,
    /// Current shares (from the parcel layers).
    pub categories: Vec<CategoryShare>,
    /// Current shares within bounds.
    pub pass: bool,
    /// The parcel layers the current shares come from.
    pub layers: Vec<String>,
    /// Parcel area inside the park (overlaps counted twice, as the shares count them), m².
    pub covered_m2: f64,
    /// Park area no parcel covers (roads, unsupplied land): the park minus the union of the
    /// parcels clipped to it, m².
    pub uncovered_m2: f64,
    /// Parcel codes the system does not know.
    pub unknown_codes: Vec<UnknownCode>,
    /// Overlapping parcels.
    pub overlaps: Vec<Overlap>,
    /// Planned shares, one entry per plan layer.
    pub plans: Vec<LayerShares>,
}

/// The zoning report.
#[derive(Clone, Debug, Serialize)]
pub struct ZoningReport {
    /// Parks.
    pub parks: Vec<ParkZoning>,
    /// The pack's source.
    pub source: crate::rules::Source,
}

/// Area per category of one layer inside one park.
struct Clipped {
    by_category: BTreeMap<Category, f64>,
    covered: f64,
    unknown: BTreeMap<String, (usize, f64)>,
    /// (feature index, inside, outside) of every feature meeting the park.
    inside: Vec<(usize, f64, f64)>,
}

fn clip(park: &ParkRef<'_>, layer: &Layer) -> Clipped {
    let mut out = Clipped {
        by_category: BTreeMap::new(),
        covered: 0.0,
        unknown: BTreeMap::new(),
        inside: vec![],
    };
    for (i, inside) in clip_to(park, layer) {
        let f = &layer.features[i];
        let (code, name) = codes(layer, i);
        let category = match classify(layer, code, name) {
            Some(c) => c.category,
            None => {
                let e = out
                    .unknown
                    .entry(code.or(name).unwrap_or("").to_string())
                    .or_default();
                e.0 += 1;
                e.1 += inside;
                Category::Unclassified
            }
        };
        *out.by_category.entry(category).or_default() += inside;
        out.covered += inside;
        out.inside.push((i, inside, (f.area_m2 - inside).max(0.0)));
    }
    out
}

fn shares(
    clipped: &Clipped,
    park_area: f64,
    bound: &dyn Fn(&str) -> Option<Bound>,
) -> (Vec<CategoryShare>, bool) {
    let mut all_pass = true;
    let categories = Category::ALL
        .iter()
        .map(|&c| {
            let area = clipped.by_category.get(&c).copied().unwrap_or(0.0);
            let share = if park_area > 0.0 {
                area / park_area
            } else {
                0.0
            };
            let b = bound(c.as_str()).unwrap_or_default();
            let below = b.min.map(|m| share - m);
            let above = b.max.map(|m| m - share);
            let margin = match (below, above) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            };
            let pass = margin.is_none_or(|m| m >= -1e-12);
            all_pass &= pass;
            CategoryShare {
                category: c.as_str(),
                label: c.label_zh(),
                area_m2: area,
                area_ha: m2_to_hectares(area),
                area_mu: m2_to_mu(area),
                share,
                min: b.min,
                max: b.max,
                pass,
                margin,
            }
        })
        .collect();
    (categories, all_pass)
}

fn unknown_list(layer: &str, c: &Clipped) -> Vec<UnknownCode> {
    c.unknown
        .iter()
        .map(|(code, (count, area))| UnknownCode {
            layer: layer.to_string(),
            code: code.clone(),
            count: *count,
            area_m2: *area,
        })
        .collect()
}

/// Overlapping pairs among the features of `layer` listed in `inside`.
fn overlaps(layer: &Layer, inside: &[(usize, f64, f64)], tolerance: f64) -> Vec<Overlap> {
    let mut out = vec![];
    for &(i, _, _) in inside {
        let f = &layer.features[i];
        let (Some(bi), Some(gi)) = (f.bbox, f.planar.as_ref()) else {
            continue;
        };
        for j in layer.in_box(&bi) {
            if j <= i {
                continue;
            }
            let other = &layer.features[j];
            let Some(bj) = other.bbox else { continue };
            // Boxes that merely touch (neighbours sharing an edge) cannot overlap by an area.
            let w = bi.max().x.min(bj.max().x) - bi.min().x.max(bj.min().x);
            let h = bi.max().y.min(bj.max().y) - bi.min().y.max(bj.min().y);
            if w <= 0.0 || h <= 0.0 {
                continue;
            }
            let Some(gj) = other.planar.as_ref() else {
                continue;
            };
            let area = intersection_area(gi, gj);
            if area > tolerance {
                out.push(Overlap {
                    a: feature_id(layer, i),
                    b: feature_id(layer, j),
                    layer: layer.info.name.clone(),
                    area_m2: area,
                });
            }
        }
    }
    out
}

/// 工业主导型 or 产城融合型 from current shares (DOMAIN.md §4 split).
fn derived_type(c: &Clipped, rules: &IndicatorRules) -> &'static str {
    let get = |k| c.by_category.get(&k).copied().unwrap_or(0.0);
    if c.covered <= 0.0 {
        return "工业主导型";
    }
    let industrial = (get(Category::Industrial) + get(Category::Logistics)) / c.covered;
    let residential = get(Category::Residential) / c.covered;
    if industrial > rules.industry_led_industrial_share
        && residential < rules.industry_led_residential_share
    {
        "工业主导型"
    } else {
        "产城融合型"
    }
}

/// The park area no feature of these layers covers (overlaps counted once), m².
fn uncovered(park: &ParkRef<'_>, layers: &[(&Layer, &Clipped)]) -> f64 {
    let Some(park_geom) = park.planar() else {
        return 0.0;
    };
    let parts: Vec<&geo::Geometry> = layers
        .iter()
        .flat_map(|(layer, c)| {
            c.inside
                .iter()
                .filter_map(|&(i, _, _)| layer.features[i].planar.as_ref())
        })
        .collect();
    (park.area_m2() - covered_area(park_geom, &parts)).max(0.0)
}

/// Zone one park.
fn park_zoning(
    ctx: &Context<'_>,
    park: &ParkRef<'_>,
    rules: &ZoningRules,
    indicator_rules: &IndicatorRules,
) -> ParkZoning {
    let record = park.park();
    let area = park.area_m2();
    let parcel_layers: Vec<&Arc<Layer>> = ctx.catalog.by_role(Role::Parcels).collect();
    let clipped: Vec<Clipped> = parcel_layers.iter().map(|l| clip(park, l)).collect();
    // Several parcel layers add up.
    let mut current = Clipped {
        by_category: BTreeMap::new(),
        covered: 0.0,
        unknown: BTreeMap::new(),
        inside: vec![],
    };
    for c in &clipped {
        for (k, v) in &c.by_category {
            *current.by_category.entry(*k).or_default() += v;
        }
        current.covered += c.covered;
    }
    let (park_type, type_source) = match record.park_type.as_deref() {
        Some(t) if t.contains("工业主导") => ("工业主导型", "园区类型"),
        Some(t) if t.contains("产城融合") => ("产城融合型", "园区类型"),
        _ => (
            derived_type(&current, indicator_rules),
            "由现状用地比例（工业用地率、住宅用地率）判定",
        ),
    };
    let bound = |c: &str| rules.bound(&record.id, park_type, c);
    let (categories, pass) = shares(&current, area, &bound);
    let mut unknown_codes = vec![];
    let mut overlap_list = vec![];
    for (layer, c) in parcel_layers.iter().zip(&clipped) {
        unknown_codes.extend(unknown_list(&layer.info.name, c));
        overlap_list.extend(overlaps(layer, &c.inside, rules.overlap_tolerance_m2));
    }
    let plans = ctx
        .catalog
        .by_role(Role::Plan)
        .map(|layer| {
            let c = clip(park, layer);
            let (categories, pass) = shares(&c, area, &bound);
            let uncovered_m2 = uncovered(park, &[(layer, &c)]);
            LayerShares {
                layer: layer.info.name.clone(),
                kind: layer.info.kind.clone().unwrap_or_else(|| "plan".into()),
                land_system: layer.info.land_system.map(|s| s.as_str().to_string()),
                categories,
                covered_m2: c.covered,
                uncovered_m2,
                unknown_codes: unknown_list(&layer.info.name, &c),
                pass,
            }
        })
        .collect();
    ParkZoning {
        id: record.id.to_string(),
        name: record.name.as_deref().map(str::to_string),
        park_type: park_type.to_string(),
        type_source: type_source.to_string(),
        area_m2: area,
        area_ha: m2_to_hectares(area),
        area_mu: m2_to_mu(area),
        categories,
        pass,
        layers: parcel_layers.iter().map(|l| l.info.name.clone()).collect(),
        covered_m2: current.covered,
        uncovered_m2: uncovered(
            park,
            &parcel_layers
                .iter()
                .map(|l| &***l)
                .zip(&clipped)
                .collect::<Vec<_>>(),
        ),
        unknown_codes,
        overlaps: overlap_list,
        plans,
    }
}

/// Zone every park (or one), parks in parallel.
pub fn zoning(
    ctx: &Context<'_>,
    rules: &ZoningRules,
    indicator_rules: &IndicatorRules,
    park: Option<&str>,
) -> ZoningReport {
    let parks: Vec<ParkZoning> = ctx
        .parks()
        .par_iter()
        .filter(|p| !ctx.cancelled() && park.is_none_or(|want| &*p.park().id == want))
        .map(|p| park_zoning(ctx, p, rules, indicator_rules))
        .collect();
    ZoningReport {
        parks,
        source: rules.source.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::testing::{parcel, park, rect, Builder};
    use crate::model::ClassSystem;
    use crate::rules::Rules;

    /// A 1 km² 产城融合型 park, with every share worked out by hand:
    /// P1 二类工业 400×500 = 200,000 m²; P2 住宅 200×500 = 100,000 m², 30 m east of P1;
    /// P3 公园绿地 half inside (20,000 m² in, 20,000 out); P4 一类工业 100×200 = 20,000 m²
    /// overlapping P1 by 5,000 m² and P2 by 2,000 m²; P5 an unknown code, 10,000 m²;
    /// P6 outside the park.
    fn catalog() -> crate::catalog::Catalog {
        Builder::new()
            .parks(
                "parks",
                vec![(park("K1", "产城融合型"), rect(0.0, 0.0, 1000.0, 1000.0))],
            )
            .parcels(
                "parcels",
                vec![
                    (parcel("P1", "100102", "K1"), rect(0.0, 0.0, 400.0, 500.0)),
                    (parcel("P2", "070102", "K1"), rect(430.0, 0.0, 630.0, 500.0)),
                    (parcel("P3", "1401", "K1"), rect(900.0, 0.0, 1100.0, 200.0)),
                    (
                        parcel("P4", "100101", "K1"),
                        rect(350.0, 400.0, 450.0, 600.0),
                    ),
                    (parcel("P5", "X99", "K1"), rect(0.0, 900.0, 100.0, 1000.0)),
                    (
                        parcel("P6", "100101", "K2"),
                        rect(2000.0, 0.0, 2100.0, 100.0),
                    ),
                ],
            )
            .plan(
                "kg",
                ClassSystem::Gb50137,
                "urban",
                vec![
                    ("M2", rect(0.0, 0.0, 500.0, 1000.0)),
                    ("R2", rect(500.0, 0.0, 1000.0, 600.0)),
                    ("G1", rect(500.0, 600.0, 1000.0, 1000.0)),
                ],
            )
            .build()
    }

    fn share<'a>(c: &'a [CategoryShare], k: &str) -> &'a CategoryShare {
        c.iter().find(|s| s.category == k).unwrap()
    }

    #[test]
    fn shares_bounds_and_margins_by_hand() {
        let cat = catalog();
        let ctx = Context::new(&cat);
        let rules = Rules::builtin();
        let r = zoning(&ctx, &rules.zoning, &rules.indicators, None);
        assert_eq!(r.parks.len(), 1);
        let k = &r.parks[0];
        assert_eq!(k.park_type, "产城融合型");
        assert_eq!(k.area_m2, 1_000_000.0);
        assert_eq!(k.categories.len(), 13);
        let near = |a: f64, b: f64| (a - b).abs() < 1e-6;
        let ind = share(&k.categories, "industrial");
        assert!(
            near(ind.area_m2, 220_000.0) && near(ind.share, 0.22),
            "{ind:?}"
        );
        assert!(near(ind.margin.unwrap(), 0.12) && ind.pass);
        let res = share(&k.categories, "residential");
        assert!(near(res.share, 0.10) && near(res.margin.unwrap(), 0.05) && res.pass);
        let green = share(&k.categories, "green");
        assert!(near(green.area_m2, 20_000.0) && !green.pass && near(green.margin.unwrap(), -0.01));
        let public = share(&k.categories, "public_service");
        assert!(!public.pass && near(public.margin.unwrap(), -0.02));
        assert!(near(share(&k.categories, "unclassified").area_m2, 10_000.0));
        assert!(!k.pass);
        // Covered counts P4's overlaps twice (as the shares do); what no parcel covers is the
        // park minus the union: 1,000,000 − (350,000 − 5,000 − 2,000) = 657,000.
        assert!(near(k.covered_m2, 350_000.0) && near(k.uncovered_m2, 657_000.0));
        assert_eq!(k.layers, ["parcels"]);
        assert_eq!(k.unknown_codes.len(), 1);
        assert_eq!(k.unknown_codes[0].code, "X99");

        let mut ov: Vec<(String, String, f64)> = k
            .overlaps
            .iter()
            .map(|o| (o.a.clone(), o.b.clone(), o.area_m2))
            .collect();
        ov.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(ov.len(), 2);
        assert_eq!((ov[0].0.as_str(), ov[0].1.as_str()), ("P1", "P4"));
        assert!(near(ov[0].2, 5_000.0));
        assert_eq!((ov[1].0.as_str(), ov[1].1.as_str()), ("P2", "P4"));
        assert!(near(ov[1].2, 2_000.0));

        let plan = &k.plans[0];
        assert_eq!(plan.layer, "kg");
        assert!(near(share(&plan.categories, "industrial").share, 0.5));
        assert!(near(share(&plan.categories, "residential").share, 0.3));
        assert!(near(share(&plan.categories, "green").share, 0.2));
        assert!(near(plan.uncovered_m2, 0.0));
        // The plan's 50 % industry breaks the 40 % ceiling, its 30 % housing the 15 % one.
        assert!(!share(&plan.categories, "industrial").pass && !plan.pass);
    }

    #[test]
    fn per_park_bounds_replace_the_types_and_a_missing_type_is_derived() {
        let cat = catalog();
        let ctx = Context::new(&cat);
        let mut rules = Rules::builtin();
        let mut ours = BTreeMap::new();
        ours.insert(
            "green".to_string(),
            Bound {
                min: Some(0.01),
                max: None,
            },
        );
        rules.zoning.parks.insert("K1".into(), ours);
        let r = zoning(&ctx, &rules.zoning, &rules.indicators, Some("K1"));
        assert!(share(&r.parks[0].categories, "green").pass);

        let untyped = Builder::new()
            .parks(
                "parks",
                vec![(
                    crate::model::records::Park {
                        id: "K9".into(),
                        ..Default::default()
                    },
                    rect(0.0, 0.0, 100.0, 100.0),
                )],
            )
            .parcels(
                "parcels",
                vec![(parcel("A", "100101", "K9"), rect(0.0, 0.0, 50.0, 100.0))],
            )
            .build();
        let ctx = Context::new(&untyped);
        let r = zoning(&ctx, &rules.zoning, &rules.indicators, None);
        assert_eq!(r.parks[0].park_type, "工业主导型");
        assert!(r.parks[0].type_source.contains("由现状用地比例"));
    }
}
