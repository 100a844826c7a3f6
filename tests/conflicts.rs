//! 多规合一 conflicts on the sample, cross-checked against the same overlay done by GDAL's
//! SQLite dialect (SpatiaLite, GEOS) on the sample shapefiles, which are in the analysis CRS
//! (EPSG:4523). The sample is ingested with the real binary; the computation runs through
//! the library on the loaded catalog.

mod common;

use common::*;
use landwatch::analysis::conflicts::{conflicts, ConflictOptions, ConflictReport, ConflictType};
use landwatch::analysis::Context;
use landwatch::catalog::Catalog;
use landwatch::model::land_class::lookup;
use landwatch::model::ClassSystem;
use landwatch::rules::{ConflictRules, Construction, Rules};
use landwatch::store::StoreLocation;
use std::collections::BTreeMap;

fn near(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

fn report_of(opts: &ConflictOptions) -> (ConflictReport, ConflictRules) {
    let gp = StoreLocation::gpkg(sample_store()).open().unwrap();
    let catalog = Catalog::load(&*gp).unwrap();
    let rules = Rules::builtin().conflicts;
    let ctx = Context::new(&catalog);
    let r = conflicts(&ctx, &rules, opts).unwrap();
    (r, rules)
}

fn report() -> (ConflictReport, ConflictRules) {
    report_of(&ConflictOptions::default())
}

fn num(s: &str) -> f64 {
    if s.is_empty() {
        0.0
    } else {
        s.parse().unwrap()
    }
}

/// The construction rule of a code, for GDAL's rows.
fn construction(rules: &ConflictRules, system: ClassSystem, code: &str) -> Construction {
    let p = landwatch::model::land_class::parse_code(code).unwrap();
    let key = landwatch::model::land_class::table_code(system, code).unwrap();
    rules.system(system).unwrap().judge(&key, p.village)
}

/// Our rows of one type: (layer, feature, other feature) → area.
fn ours(r: &ConflictReport, kind: ConflictType) -> BTreeMap<(String, String, String), f64> {
    let mut m = BTreeMap::new();
    for c in r.conflicts.iter().filter(|c| c.kind == kind) {
        *m.entry((
            c.layer.clone(),
            c.feature_id.clone(),
            c.other_feature_id.clone().unwrap_or_default(),
        ))
        .or_default() += c.area_m2;
    }
    m
}

/// Pieces of both sides agree, piece by piece. Pieces under 0.01 m² on both sides are left
/// out: they are strips micrometres wide where two layers' shared edges differ in the last
/// digits, and the store's round trip (GK → lon/lat → GK) moves those digits.
fn same(
    what: &str,
    ours: &BTreeMap<(String, String, String), f64>,
    theirs: &BTreeMap<(String, String, String), f64>,
    rel: f64,
) {
    assert!(
        theirs.values().any(|a| *a >= 0.01),
        "{what}: GDAL finds none: the sample must hold some"
    );
    let mut compared = 0;
    for k in ours.keys().chain(theirs.keys()) {
        let a = ours.get(k).copied().unwrap_or(0.0);
        let b = theirs.get(k).copied().unwrap_or(0.0);
        if a.max(b) < 0.01 {
            continue;
        }
        assert!(near(a, b, rel), "{what} {k:?}: landwatch {a} vs GDAL {b}");
        compared += 1;
    }
    assert!(compared > 0);
}

/// Land-use layers of the sample: (shapefile, layer name, id field, code field, system).
const LAND_USE: [(&str, &str, &str, ClassSystem); 3] = [
    ("plan_tugui", "图斑编号", "地类编码", ClassSystem::Gbt21010),
    ("plan_kongui", "地块编号", "用地代码", ClassSystem::Gb50137),
    ("parcels", "宗地编号", "用地性质", ClassSystem::Ydyh2023),
];

#[test]
fn classes_and_differences_agree_with_gdal_and_sum_to_the_parks() {
    let (r, rules) = report();
    let rows = sample_sql(
        "SELECT k.\"园区编号\", t.\"图斑编号\", t.\"地类编码\", g.\"地块编号\", g.\"用地代码\", \
         ST_Area(CollectionExtract(ST_Intersection(ST_Intersection(k.GEOMETRY, t.GEOMETRY), g.GEOMETRY), 3)), \
         ST_Area(k.GEOMETRY) \
         FROM parks k, plan_tugui t, plan_kongui g \
         WHERE MbrIntersects(k.GEOMETRY, t.GEOMETRY) AND MbrIntersects(t.GEOMETRY, g.GEOMETRY)",
    );
    let mut classes: BTreeMap<(String, &str), f64> = BTreeMap::new();
    let mut park_area: BTreeMap<String, f64> = BTreeMap::new();
    let mut pieces: BTreeMap<(ConflictType, String, String), f64> = BTreeMap::new();
    for row in &rows {
        let area = num(&row[5]);
        park_area.insert(row[0].clone(), num(&row[6]));
        if area <= 1e-6 {
            continue;
        }
        let a = construction(&rules, ClassSystem::Gbt21010, &row[2]).is_construction();
        let b = construction(&rules, ClassSystem::Gb50137, &row[4]).is_construction();
        let class = match (a, b) {
            (true, true) => "both_construction",
            (true, false) => "a_only_construction",
            (false, true) => "b_only_construction",
            (false, false) => "both_non_construction",
        };
        *classes.entry((row[0].clone(), class)).or_default() += area;
        let category = |system, code: &str| lookup(system, code).map(|c| c.category);
        let mismatch =
            category(ClassSystem::Gbt21010, &row[2]) != category(ClassSystem::Gb50137, &row[4]);
        let kind = match class {
            "a_only_construction" => Some(ConflictType::AOnlyConstruction),
            "b_only_construction" => Some(ConflictType::BOnlyConstruction),
            "both_construction" if mismatch => Some(ConflictType::CategoryMismatch),
            _ => None,
        };
        if let Some(kind) = kind {
            *pieces
                .entry((kind, row[1].clone(), row[3].clone()))
                .or_default() += area;
        }
    }
    let mut parks = 0;
    for c in r.comparisons.iter().filter(|c| c.park_id.is_some()) {
        let id = c.park_id.clone().unwrap();
        for (class, ours) in [
            ("both_construction", c.classes.both_construction),
            ("a_only_construction", c.classes.a_only_construction),
            ("b_only_construction", c.classes.b_only_construction),
            ("both_non_construction", c.classes.both_non_construction),
        ] {
            let theirs = classes.get(&(id.clone(), class)).copied().unwrap_or(0.0);
            assert!(
                near(ours, theirs, 1e-6),
                "{id} {class}: landwatch {ours} vs GDAL {theirs}"
            );
        }
        // The plans cover every park: the four classes make the park's area.
        let area = park_area[&id];
        assert!(
            (c.classes.total() - area).abs() < 1.0,
            "{id}: classes sum to {} but the park is {area} m²",
            c.classes.total()
        );
        assert!((c.extent_m2 - area).abs() < 1.0 && c.uncovered_m2.unwrap() < 1.0);
        parks += 1;
    }
    assert_eq!(parks, 3);
    for kind in [
        ConflictType::AOnlyConstruction,
        ConflictType::BOnlyConstruction,
    ] {
        let ours: BTreeMap<_, _> = r
            .conflicts
            .iter()
            .filter(|c| c.kind == kind)
            .map(|c| {
                (
                    (
                        String::new(),
                        c.feature_id.clone(),
                        c.other_feature_id.clone().unwrap(),
                    ),
                    c.area_m2,
                )
            })
            .fold(BTreeMap::new(), |mut m, (k, v)| {
                *m.entry(k).or_insert(0.0) += v;
                m
            });
        let theirs: BTreeMap<_, _> = pieces
            .iter()
            .filter(|((k, _, _), _)| *k == kind)
            .map(|((_, a, b), v)| ((String::new(), a.clone(), b.clone()), *v))
            .collect();
        same(kind.as_str(), &ours, &theirs, 1e-6);
    }
}

#[test]
fn red_line_conflicts_agree_with_gdal() {
    let (r, rules) = report();
    for (kind, redline) in [
        (ConflictType::EcologicalRedline, "redline_ecology"),
        (ConflictType::BasicFarmland, "farmland"),
    ] {
        let mut theirs = BTreeMap::new();
        for (layer, id, code, system) in LAND_USE {
            let rows = sample_sql(&format!(
                "SELECT p.\"{id}\", p.\"{code}\", r.\"编号\", \
                 ST_Area(CollectionExtract(ST_Intersection(ST_MakeValid(p.GEOMETRY), r.GEOMETRY), 3)) \
                 FROM {layer} p, {redline} r WHERE MbrIntersects(p.GEOMETRY, r.GEOMETRY)"
            ));
            for row in rows {
                let area = num(&row[3]);
                if area > 1e-6 && construction(&rules, system, &row[1]).is_construction() {
                    theirs.insert((layer.to_string(), row[0].clone(), row[2].clone()), area);
                }
            }
        }
        same(kind.as_str(), &ours(&r, kind), &theirs, 1e-6);
    }
    let mut theirs = BTreeMap::new();
    for (layer, id, code, system) in LAND_USE {
        let rows = sample_sql(&format!(
            "SELECT p.\"{id}\", p.\"{code}\", \
             ST_Area(CollectionExtract(ST_Difference(ST_MakeValid(p.GEOMETRY), (SELECT ST_Union(GEOMETRY) FROM urban_boundary)), 3)) \
             FROM {layer} p"
        ));
        for row in rows {
            let area = num(&row[2]);
            if area > 1e-6 && construction(&rules, system, &row[1]) == Construction::Urban {
                theirs.insert((layer.to_string(), row[0].clone(), String::new()), area);
            }
        }
    }
    same(
        "outside_urban_boundary",
        &ours(&r, ConflictType::OutsideUrbanBoundary),
        &theirs,
        1e-6,
    );
}

#[test]
fn park_and_buffer_conflicts_agree_with_gdal() {
    let (r, rules) = report();
    let rows = sample_sql(
        "SELECT p.\"宗地编号\", k.\"园区编号\", \
         ST_Area(CollectionExtract(ST_Difference(ST_MakeValid(p.GEOMETRY), k.GEOMETRY), 3)) \
         FROM parcels p JOIN parks k ON p.\"所属园区\" = k.\"园区编号\"",
    );
    let theirs: BTreeMap<_, _> = rows
        .iter()
        .filter(|row| num(&row[2]) > 1e-6)
        .map(|row| {
            (
                ("parcels".to_string(), row[0].clone(), row[1].clone()),
                num(&row[2]),
            )
        })
        .collect();
    same(
        "outside_park",
        &ours(&r, ConflictType::OutsidePark),
        &theirs,
        1e-6,
    );

    // 二类/三类 industry within the buffer distance of housing: the distance exactly; the area
    // inside the buffer within 1e-3, since GEOS (64 segments per quarter circle here) and
    // landwatch (0.02 rad steps) approximate the buffer's round corners differently.
    let d = rules.industrial_buffer.distance_m;
    // Materialised first: SQLite would otherwise rescan the shapefile for every pair.
    let rows = sample_sql(&format!(
        "WITH i AS MATERIALIZED (SELECT \"宗地编号\" AS id, ST_MakeValid(GEOMETRY) AS g FROM parcels \
         WHERE \"用地性质\" IN ('100102', '100103')), \
         h AS MATERIALIZED (SELECT \"宗地编号\" AS id, ST_MakeValid(GEOMETRY) AS g FROM parcels \
         WHERE \"用地性质\" LIKE '07%') \
         SELECT i.id AS ind, h.id AS res, ST_Distance(i.g, h.g) AS d, \
         ST_Area(CollectionExtract(ST_Intersection(i.g, ST_Buffer(h.g, {d}, 64)), 3)) AS a \
         FROM i, h WHERE ST_Distance(i.g, h.g) < {d}"
    ));
    let theirs: BTreeMap<_, _> = rows
        .iter()
        .filter(|row| num(&row[3]) > 1e-6)
        .map(|row| {
            (
                ("parcels".to_string(), row[0].clone(), row[1].clone()),
                num(&row[3]),
            )
        })
        .collect();
    let buffer: Vec<_> = r
        .conflicts
        .iter()
        .filter(|c| c.kind == ConflictType::IndustrialBuffer && c.layer == "parcels")
        .collect();
    let mine: BTreeMap<_, _> = buffer
        .iter()
        .map(|c| {
            (
                (
                    c.layer.clone(),
                    c.feature_id.clone(),
                    c.other_feature_id.clone().unwrap(),
                ),
                c.area_m2,
            )
        })
        .collect();
    same("industrial_buffer", &mine, &theirs, 1e-3);
    for c in &buffer {
        let row = rows
            .iter()
            .find(|row| row[0] == c.feature_id && Some(&row[1]) == c.other_feature_id.as_ref())
            .unwrap();
        assert!(near(c.distance_m.unwrap(), num(&row[2]), 1e-6), "{row:?}");
    }
}

#[test]
fn the_sample_holds_every_conflict_type() {
    let (r, _) = report();
    for kind in ConflictType::ALL {
        let t = r.summary.by_type.iter().find(|t| t.kind == kind).unwrap();
        assert!(
            t.count > 0,
            "the sample holds no {} conflict",
            kind.as_str()
        );
    }
    assert!(
        r.summary.not_checked.is_empty(),
        "{:?}",
        r.summary.not_checked
    );
    // Every row owns its polygon, in lon/lat too, and its id is unique.
    let mut ids: Vec<&str> = r.conflicts.iter().map(|c| c.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), r.conflicts.len());
    for c in &r.conflicts {
        let ll = c.lonlat.as_ref().expect("lon/lat polygon");
        let b = geo::BoundingRect::bounding_rect(ll).unwrap();
        assert!((104.0..106.0).contains(&b.min().x) && (29.0..31.0).contains(&b.min().y));
        assert!(near(geo::Area::unsigned_area(&c.planar), c.area_m2, 1e-9));
    }
    // The JSON contract.
    let v = serde_json::to_value(&r).unwrap();
    for key in ["a", "b", "park_id", "classes", "pairs"] {
        assert!(
            v["comparisons"][0].get(key).is_some(),
            "comparison lacks {key}"
        );
    }
    for key in common::LEDGER_ROW_KEYS {
        assert!(v["conflicts"][0].get(key).is_some(), "conflict lacks {key}");
    }
    assert!(v["summary"].is_object());

    // One park alone gets exactly the rows the whole run gives it.
    for park in ["GXQ01", "JKQ01", "CRQ01"] {
        let (one, _) = report_of(&ConflictOptions {
            park: Some(park.into()),
            compare: None,
        });
        let whole: Vec<&str> = r
            .conflicts
            .iter()
            .filter(|c| c.park_id.as_deref() == Some(park))
            .map(|c| c.id.as_str())
            .collect();
        let alone: Vec<&str> = one.conflicts.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(alone, whole, "{park}");
    }
}

#[test]
fn a_site_in_lon_lat_is_reviewed_in_the_analysis_crs() {
    use landwatch::analysis::compliance::{compliance, Conclusion, Site};
    use landwatch::model::{Category, Role};
    let gp = StoreLocation::gpkg(sample_store()).open().unwrap();
    let catalog = Catalog::load(&*gp).unwrap();
    let rules = Rules::builtin().conflicts;
    let ctx = Context::new(&catalog);
    // An industrial parcel as the site: its lon/lat polygon, as a client would send it.
    let parcels = catalog.by_role(Role::Parcels).next().unwrap();
    let i = parcels
        .parcels()
        .unwrap()
        .iter()
        .position(|p| p.land_use_code.as_deref() == Some("100102"))
        .unwrap();
    let f = &parcels.features[i];
    let site = Site::from_lonlat(
        &catalog,
        f.lonlat.as_ref().unwrap(),
        Some(Category::Industrial),
    )
    .unwrap();
    let r = compliance(&ctx, &rules, &site).unwrap();
    assert!(
        near(r.site_area_m2, f.area_m2, 1e-9),
        "{} vs {}",
        r.site_area_m2,
        f.area_m2
    );
    assert_eq!(r.layers.len(), 2);
    for l in &r.layers {
        // Areas of one layer make the site; layers are never summed together.
        let total = l.conforming_m2 + l.nonconforming_m2 + l.uncovered_m2;
        assert!(near(total, r.site_area_m2, 1e-9), "{}: {total}", l.layer);
        assert!(l.uses.iter().all(|u| u.area_m2 > 0.0));
    }
    let v = serde_json::to_value(&r).unwrap();
    for key in ["site_area_m2", "layers", "redlines", "conclusion"] {
        assert!(v.get(key).is_some(), "compliance lacks {key}");
    }
    for key in ["layer", "kind", "conforming_m2", "nonconforming_m2"] {
        assert!(
            v["layers"][0].get(key).is_some(),
            "layer review lacks {key}"
        );
    }
    assert_ne!(r.conclusion, Conclusion::NotChecked);
}
