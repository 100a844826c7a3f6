//! `landwatch check` on the sample and on real data, cross-checked against GDAL's SQLite
//! dialect (SpatiaLite overlay) run in the same projected CRS.

mod common;

use common::*;
use landwatch::gen::shapefile::{FieldType, ShapeWriter};
use landwatch::model::land_class::{lookup, lookup_name};
use landwatch::model::ClassSystem;
use serde_json::Value;
use std::collections::BTreeMap;

/// `landwatch check KIND --format json` on the sample store, on the tests' evaluation date.
fn check(kind: &str, extra: &[&str]) -> Value {
    check_json(sample_store(), kind, "2026-11-22", extra)
}

fn near(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * a.abs().max(b.abs()).max(1.0)
}

/// Sum GDAL's per-code overlay areas into categories of `system`.
fn by_category(rows: &[Vec<String>], system: ClassSystem) -> BTreeMap<(String, String), f64> {
    let mut out = BTreeMap::new();
    for r in rows {
        let category = lookup(system, &r[1]).map_or("unclassified", |c| c.category.as_str());
        *out.entry((r[0].clone(), category.to_string())).or_default() +=
            r[2].parse::<f64>().unwrap();
    }
    out
}

#[test]
fn zoning_areas_agree_with_gdal_spatialite_overlay() {
    let z = check("zoning", &[]);
    // The sample shapefiles are in the analysis CRS (EPSG:4523); GDAL clips them itself.
    let overlay = |layer: &str, code: &str| {
        let sql = format!(
            "SELECT k.\"园区编号\", p.\"{code}\", SUM(ST_Area(ST_Intersection(k.GEOMETRY, ST_MakeValid(p.GEOMETRY)))) \
             FROM parks k, {layer} p WHERE ST_Intersects(k.GEOMETRY, ST_MakeValid(p.GEOMETRY)) GROUP BY 1, 2"
        );
        let out = gdal(
            "ogr2ogr",
            &[
                "--config",
                "SHAPE_ENCODING",
                "CP936",
                "-q",
                "-f",
                "CSV",
                "/vsistdout/",
                s(&sample()),
                "-dialect",
                "sqlite",
                "-sql",
                &sql,
            ],
        );
        out.lines()
            .skip(1)
            .map(|l| {
                l.split(',')
                    .map(|c| c.trim_matches('"').to_string())
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    };
    let current = by_category(&overlay("parcels", "用地性质"), ClassSystem::Ydyh2023);
    let planned = by_category(&overlay("plan_kongui", "用地代码"), ClassSystem::Gb50137);
    let mut compared = 0;
    for park in z["parks"].as_array().unwrap() {
        let id = park["id"].as_str().unwrap().to_string();
        for c in park["categories"].as_array().unwrap() {
            let ours = c["area_m2"].as_f64().unwrap();
            let theirs = current
                .get(&(id.clone(), c["category"].as_str().unwrap().to_string()))
                .copied()
                .unwrap_or(0.0);
            assert!(
                near(ours, theirs, 1e-6),
                "{id} {}: landwatch {ours} vs GDAL {theirs}",
                c["category"]
            );
            compared += usize::from(ours > 0.0);
        }
        let kg = park["plans"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["layer"] == "plan_kongui")
            .unwrap();
        for c in kg["categories"].as_array().unwrap() {
            let ours = c["area_m2"].as_f64().unwrap();
            let theirs = planned
                .get(&(id.clone(), c["category"].as_str().unwrap().to_string()))
                .copied()
                .unwrap_or(0.0);
            assert!(
                near(ours, theirs, 1e-6),
                "{id} 控规 {}: landwatch {ours} vs GDAL {theirs}",
                c["category"]
            );
        }
    }
    assert!(
        compared >= 20,
        "only {compared} non-zero categories compared"
    );
}

#[test]
fn zoning_finds_what_the_sample_was_made_with() {
    let z = check("zoning", &[]);
    let parks = z["parks"].as_array().unwrap();
    assert_eq!(parks.len(), 3);
    for p in parks {
        for key in ["id", "name", "type", "area_m2", "categories", "overlaps"] {
            assert!(p.get(key).is_some(), "zoning park lacks {key}");
        }
        let cats = p["categories"].as_array().unwrap();
        assert_eq!(cats.len(), 13);
        for c in cats {
            for key in ["category", "area_m2", "share", "min", "max", "pass"] {
                assert!(c.get(key).is_some(), "category lacks {key}");
            }
        }
    }
    let by_id = |id: &str| parks.iter().find(|p| p["id"] == id).unwrap();
    // The 产城融合型 park holds more housing than its bounds allow; the others pass.
    assert_eq!(by_id("CRQ01")["pass"], false);
    assert_eq!(by_id("GXQ01")["pass"], true);
    // Every park has a parcel drawn over a neighbour; the parcels reaching beyond their
    // boundary are outside_park conflicts (below).
    for p in parks {
        assert!(
            p.get("straddling").is_none(),
            "straddling moved to conflicts"
        );
        assert!(!p["overlaps"].as_array().unwrap().is_empty(), "{}", p["id"]);
    }
}

#[test]
fn idle_findings_carry_their_rule_dates_and_figures() {
    let r = check("idle", &[]);
    assert_eq!(r["as_of"], "2026-11-22");
    let parcels = r["parcels"].as_array().unwrap();
    let count = |f: &str| parcels.iter().filter(|p| p["finding"] == f).count();
    assert!(count("not_started") > 0 && count("stalled") > 0 && count("approved_not_supplied") > 0);
    let track = |t: &str| parcels.iter().filter(|p| p["track"] == t).count();
    assert!(track("fee") > 0 && track("recovery") > 0 && track("negotiated") > 0);
    for p in parcels {
        for key in [
            "id",
            "park_id",
            "finding",
            "track",
            "idle_since",
            "years_idle",
            "fee_wan",
            "rule",
            "inputs",
        ] {
            assert!(p.get(key).is_some(), "idle parcel lacks {key}");
        }
        assert_eq!(p["status"], "疑似");
        if p["track"] == "fee" {
            let price = p["inputs"]["land_price_wan"].as_f64().unwrap();
            assert!(near(p["fee_wan"].as_f64().unwrap(), price * 0.2, 1e-12));
        }
        if p["track"] == "negotiated" {
            assert!(p["rule"].as_str().unwrap().contains("第八条"));
        }
    }
    assert!(r["summary"]["disposed_excluded"].as_u64().unwrap() > 0);
    let cannot = r["cannot_assess"].as_array().unwrap();
    assert!(!cannot.is_empty());
    assert!(cannot
        .iter()
        .all(|c| !c["missing"].as_array().unwrap().is_empty()));
    // One park only.
    let one = check("idle", &["--park", "JKQ01"]);
    assert!(one["parcels"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["park_id"] == "JKQ01"));
}

#[test]
fn idle_date_boundaries_through_the_whole_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = ShapeWriter::create(
        dir.path(),
        "p",
        4523,
        &[
            ("宗地编号", FieldType::Text(20)),
            ("约定动工日期", FieldType::Text(20)),
            ("出让价款", FieldType::Text(20)),
        ],
    )
    .unwrap();
    let square =
        geo::Rect::new((35_460_000.0, 3_330_000.0), (35_460_100.0, 3_330_100.0)).to_polygon();
    w.write(
        &geo::Geometry::Polygon(square),
        &["L-1".into(), "2020年2月29日".into(), "1,200万元".into()],
    )
    .unwrap();
    w.finish().unwrap();
    let store = dir.path().join("s.gpkg");
    ingest(&dir.path().join("p.shp"), &store, "parcels", "p");
    let idle = |date: &str| check_json(&store, "idle", date, &[]);
    assert!(idle("2021-02-28")["parcels"].as_array().unwrap().is_empty());
    let first = idle("2021-03-01");
    let p = &first["parcels"][0];
    assert_eq!(p["track"], "fee");
    assert_eq!(p["fee_wan"], 240.0);
    assert_eq!(idle("2022-02-28")["parcels"][0]["track"], "fee");
    assert_eq!(idle("2022-03-01")["parcels"][0]["track"], "recovery");
}

#[test]
fn underused_mujun_indicators_and_quality_have_their_shapes() {
    let u = check("underused", &[]);
    let parcels = u["parcels"].as_array().unwrap();
    assert!(!parcels.is_empty());
    for p in parcels {
        for r in p["reasons"].as_array().unwrap() {
            for key in ["indicator", "value", "threshold", "rule"] {
                assert!(r.get(key).is_some(), "reason lacks {key}");
            }
        }
    }
    // Some completed parcels record no floor area: their figures come from the buildings.
    let derived = parcels
        .iter()
        .flat_map(|p| p["reasons"].as_array().unwrap())
        .filter(|r| r["note"].as_str().is_some_and(|n| n.contains("推算")))
        .count();
    assert!(derived > 0, "no reason was derived from buildings");

    let m = check("mujun", &[]);
    let firms = m["firms"].as_array().unwrap();
    assert!(firms.iter().any(|f| f["class"] == "A") && firms.iter().any(|f| f["class"] == "D"));
    assert!(firms.iter().any(|f| f["class"] == "ungraded"));
    for f in firms {
        assert!(f.get("id").is_some() && f.get("score").is_some() && f.get("class").is_some());
    }

    let i = check("indicators", &[]);
    for p in i["parks"].as_array().unwrap() {
        assert!(p["type"] == "工业主导型" || p["type"] == "产城融合型");
        let list = p["indicators"].as_array().unwrap();
        assert_eq!(list.len(), 12);
        for ind in list {
            for key in ["name", "value", "unit", "inputs", "benchmark"] {
                assert!(ind.get(key).is_some(), "indicator lacks {key}");
            }
            // A rate is a share of a whole: never above 100 %.
            if ind["unit"] == "比例" {
                let v = ind["value"].as_f64().unwrap();
                assert!((0.0..=1.0).contains(&v), "{}: {v}", ind["name"]);
            }
        }
    }

    let q = check("quality", &[]);
    let kinds: Vec<&str> = q["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    for k in [
        "area_mismatch",
        "overlap",
        "start_before_contract",
        "invested_exceeds_total",
    ] {
        assert!(kinds.contains(&k), "quality found no {k}");
    }
}

#[test]
fn reports_as_csv_xlsx_and_geojson() {
    let dir = tempfile::tempdir().unwrap();
    let st = s(sample_store());
    let csv = ok(&[
        "check",
        "idle",
        "--store",
        st,
        "--format",
        "csv",
        "--as-of",
        "2026-11-22",
    ]);
    assert!(csv.starts_with('\u{feff}'));
    assert!(csv
        .lines()
        .next()
        .unwrap()
        .contains("宗地编号,所属园区,权利人,认定类型"));

    let xlsx = dir.path().join("zoning.xlsx");
    ok(&[
        "check",
        "zoning",
        "--store",
        st,
        "--format",
        "xlsx",
        "--out",
        s(&xlsx),
    ]);
    let script = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint(z.read('xl/workbook.xml').decode())\nprint(z.read('xl/sharedStrings.xml').decode())";
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&xlsx)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for sheet in ["园区", "用地结构", "重叠宗地", "未识别地类"] {
        assert!(
            text.contains(&format!("name=\"{sheet}\"")),
            "no sheet {sheet}"
        );
    }
    assert!(text.contains("占比(%)") && text.contains("面积(公顷)"));
    let e = fails(&["check", "zoning", "--store", st, "--format", "xlsx"]);
    assert!(e.contains("--out"), "{e}");

    let gj = dir.path().join("idle.geojson");
    ok(&[
        "check",
        "idle",
        "--store",
        st,
        "--format",
        "geojson",
        "--out",
        s(&gj),
        "--as-of",
        "2026-11-22",
    ]);
    let flagged = check("idle", &[])["parcels"].as_array().unwrap().len();
    let info = gdal("ogrinfo", &["-ro", "-so", "-al", s(&gj)]);
    assert!(
        info.contains(&format!("Feature Count: {flagged}")),
        "{info}"
    );
    assert!(
        info.contains("finding_zh") && info.contains("inputs_agreed_start"),
        "{info}"
    );
}

/// Park-boundary straddling and the 产业过渡区 left zoning for conflicts: each parcel reaching
/// beyond its park is an `outside_park` row owning the outside piece as its own polygon.
#[test]
fn conflicts_and_compliance_from_the_command_line() {
    let st = s(sample_store());
    let c = json(&ok(&[
        "check",
        "conflicts",
        "--store",
        st,
        "--format",
        "json",
    ]));
    for key in ["comparisons", "conflicts", "summary"] {
        assert!(c.get(key).is_some(), "conflicts lacks {key}");
    }
    let rows = c["conflicts"].as_array().unwrap();
    let outside: Vec<&Value> = rows
        .iter()
        .filter(|r| r["type"] == "outside_park")
        .collect();
    // The sample draws one parcel per park across its boundary.
    let parks: std::collections::BTreeSet<&str> = outside
        .iter()
        .filter(|r| r["sliver"] == false)
        .map(|r| r["park_id"].as_str().unwrap())
        .collect();
    assert_eq!(parks.len(), 3, "{outside:?}");
    assert!(rows
        .iter()
        .any(|r| r["type"] == "industrial_buffer" && r["distance_m"].is_number()));
    for r in rows {
        for key in common::LEDGER_ROW_KEYS {
            assert!(r.get(key).is_some(), "ledger row lacks {key}: {r}");
        }
    }
    // The same ledger as GeoJSON: one feature per row, each its own polygon, read by GDAL.
    let dir = tempfile::tempdir().unwrap();
    let gj = dir.path().join("conflicts.geojson");
    ok(&[
        "check",
        "conflicts",
        "--store",
        st,
        "--format",
        "geojson",
        "--out",
        s(&gj),
    ]);
    let info = gdal("ogrinfo", &["-ro", "-so", "-al", s(&gj)]);
    assert!(
        info.contains(&format!("Feature Count: {}", rows.len())),
        "{info}"
    );
    assert!(
        info.contains("Polygon") && info.contains("type_zh"),
        "{info}"
    );
    // Areas of the outside pieces, measured again by GDAL in the analysis CRS.
    let first = outside[0]["id"].as_str().unwrap();
    let sql = format!(
        "SELECT ST_Area(ST_Transform(SetSRID(geometry, 4326), 4523)) FROM conflicts WHERE id = '{first}'"
    );
    let gdal_area: f64 = gdal_sql(&gj, &sql)[0][0].parse().unwrap();
    let ours = outside[0]["area_m2"].as_f64().unwrap();
    assert!(near(gdal_area, ours, 1e-3), "{gdal_area} vs {ours}");
    let xlsx = dir.path().join("conflicts.xlsx");
    ok(&[
        "check",
        "conflicts",
        "--store",
        st,
        "--format",
        "xlsx",
        "--out",
        s(&xlsx),
    ]);
    let csv = ok(&["check", "conflicts", "--store", st, "--format", "csv"]);
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .contains("图斑编号,差异类型代码,差异类型"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), rows.len() + 1);
    let one = json(&ok(&[
        "check",
        "conflicts",
        "--store",
        st,
        "--format",
        "json",
        "--kind",
        "land_use,urban",
        "--park",
        "GXQ01",
    ]));
    assert!(one["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["park_id"] == "GXQ01"));
    let e = fails(&[
        "check",
        "conflicts",
        "--store",
        st,
        "--compare",
        "parks,plan_tugui",
    ]);
    assert!(e.contains("parks"), "{e}");
    let e = fails(&["check", "conflicts", "--store", st, "--as-of", "2026-01-01"]);
    assert!(e.contains("does not take --as-of"), "{e}");

    // A site over the first ledger polygon: reviewed per layer, never summed.
    let fc: Value = json(&std::fs::read_to_string(&gj).unwrap());
    let site = dir.path().join("site.geojson");
    let feature = &fc["features"][0];
    std::fs::write(&site, feature.to_string()).unwrap();
    let r = json(&ok(&[
        "check",
        "compliance",
        "--store",
        st,
        "--site",
        s(&site),
        "--format",
        "json",
    ]));
    for key in ["site_area_m2", "layers", "redlines", "conclusion"] {
        assert!(r.get(key).is_some(), "compliance lacks {key}");
    }
    assert!(["conforming", "partly", "nonconforming"].contains(&r["conclusion"].as_str().unwrap()));
    for l in r["layers"].as_array().unwrap() {
        let sum = l["conforming_m2"].as_f64().unwrap()
            + l["nonconforming_m2"].as_f64().unwrap()
            + l["uncovered_m2"].as_f64().unwrap();
        assert!(near(sum, r["site_area_m2"].as_f64().unwrap(), 1e-6), "{l}");
    }
    let table = ok(&[
        "check",
        "compliance",
        "--store",
        st,
        "--site",
        s(&site),
        "--use",
        "industrial",
    ]);
    assert!(
        table.contains("审查结论") && table.contains("分图层审查"),
        "{table}"
    );
    // Bad sites say why.
    let point = dir.path().join("point.geojson");
    std::fs::write(&point, r#"{"type":"Point","coordinates":[104.5,30.1]}"#).unwrap();
    let e = fails(&["check", "compliance", "--store", st, "--site", s(&point)]);
    assert!(e.contains("not a polygon"), "{e}");
    let far = dir.path().join("far.geojson");
    std::fs::write(
        &far,
        r#"{"type":"Polygon","coordinates":[[[80,40],[80.01,40],[80.01,40.01],[80,40]]]}"#,
    )
    .unwrap();
    let e = fails(&["check", "compliance", "--store", st, "--site", s(&far)]);
    assert!(e.contains("outside every"), "{e}");
    let e = fails(&[
        "check",
        "compliance",
        "--store",
        st,
        "--site",
        s(&site),
        "--use",
        "castle",
    ]);
    assert!(e.contains("industrial"), "{e}");
    let e = fails(&["check", "compliance", "--store", st]);
    assert!(e.contains("--site"), "{e}");
}

#[test]
fn bad_arguments_and_rule_overrides() {
    let st = s(sample_store());
    let e = fails(&["check", "idle", "--store", st, "--as-of", "2026-13-01"]);
    assert!(e.contains("YYYY-MM-DD"), "{e}");
    let e = fails(&["check", "idle", "--store", st, "--park", "NOPE"]);
    assert!(e.contains("GXQ01"), "{e}");
    let e = fails(&["check", "nonsense", "--store", st]);
    assert!(e.contains("idle, underused"), "{e}");

    // A three-year recovery threshold moves parcels from recovery to the fee track.
    let dir = tempfile::tempdir().unwrap();
    let pack = std::fs::read_to_string(root().join("data/rules/idle.toml")).unwrap();
    std::fs::write(dir.path().join("idle.toml"), pack.replace("[recovery]\narticle = \"《闲置土地处置办法》第十四条第二项（满两年无偿收回）\"\nyears = 2", "[recovery]\narticle = \"test\"\nyears = 3")).unwrap();
    let base = check("idle", &[]);
    let changed = check("idle", &["--rules", s(dir.path())]);
    let recovery = |r: &Value| {
        r["summary"]["by_track"]["recovery"]["count"]
            .as_u64()
            .unwrap()
    };
    assert!(
        recovery(&changed) < recovery(&base),
        "{} vs {}",
        recovery(&changed),
        recovery(&base)
    );
    std::fs::write(dir.path().join("idle.toml"), "broken = [").unwrap();
    let e = fails(&["check", "idle", "--store", st, "--rules", s(dir.path())]);
    assert!(e.contains("idle.toml"), "{e}");
}

#[test]
fn openstreetmap_land_use_shares_agree_with_gdal() {
    let dir = tempfile::tempdir().unwrap();
    let park = dir.path().join("park.geojson");
    std::fs::write(
        &park,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"园区编号":"HEL","园区类型":"产城融合型"},"geometry":{"type":"Polygon","coordinates":[[[24.92,60.16],[24.96,60.16],[24.96,60.175],[24.92,60.175],[24.92,60.16]]]}}]}"#,
    )
    .unwrap();
    let mapping = dir.path().join("osm.toml");
    std::fs::write(&mapping, "[fields]\nland_use_name = \"landuse\"\n").unwrap();
    let store = dir.path().join("h.gpkg");
    let pbf = testdata("Helsinki.osm.pbf");
    ingest(&park, &store, "parks", "parks");
    let extra = [
        "--layer",
        "multipolygons",
        "--where",
        "landuse IS NOT NULL",
        "--mapping",
        s(&mapping),
        "--on-error",
        "skip",
        "--json",
    ];
    let report = json(&ok(&ingest_args(
        &pbf, &store, "parcels", "landuse", &extra,
    )));
    // The extract clips some ways to two or three points: they are skipped, and said so.
    assert_eq!(report["skipped"], 9);
    assert!(report["skipped_rows"][0]["problem"]
        .as_str()
        .unwrap()
        .contains("fewer than three"));
    let z = json(&ok(&[
        "check",
        "zoning",
        "--store",
        s(&store),
        "--format",
        "json",
    ]));
    let ours: BTreeMap<String, f64> = z["parks"][0]["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["category"].as_str().unwrap().to_string(),
                c["area_m2"].as_f64().unwrap(),
            )
        })
        .collect();

    // GDAL: both layers into the same transverse Mercator (CM 24°E, GRS80), SpatiaLite overlay.
    let tm =
        "+proj=tmerc +lat_0=0 +lon_0=24 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs";
    let both = dir.path().join("both.gpkg");
    gdal(
        "ogr2ogr",
        &["-q", "-t_srs", tm, s(&both), s(&park), "-nln", "park"],
    );
    gdal(
        "ogr2ogr",
        &[
            "-q",
            "-update",
            "-t_srs",
            tm,
            s(&both),
            s(&pbf),
            "multipolygons",
            "-where",
            "landuse IS NOT NULL",
            "-nln",
            "landuse",
            "-nlt",
            "MULTIPOLYGON",
        ],
    );
    let rows = gdal_sql(
        &both,
        "SELECT p.landuse, SUM(ST_Area(ST_Intersection(k.geom, ST_MakeValid(p.geom)))) FROM park k, landuse p \
         WHERE ST_Intersects(k.geom, ST_MakeValid(p.geom)) GROUP BY 1",
    );
    let mut theirs: BTreeMap<String, f64> = BTreeMap::new();
    for r in &rows {
        let category = lookup_name(&r[0]).map_or("unclassified", |c| c.category.as_str());
        *theirs.entry(category.to_string()).or_default() += r[1].parse::<f64>().unwrap();
    }
    assert!(theirs.len() >= 6, "{theirs:?}");
    for (category, area) in &theirs {
        let mine = ours.get(category).copied().unwrap_or(0.0);
        assert!(
            near(mine, *area, 1e-6),
            "{category}: landwatch {mine} vs GDAL {area}"
        );
    }
}

/// A check on the command line loads only the layers of the roles it declares, without their
/// properties, and of parcels only the attributes it declares; every check's report over that
/// scoped catalog is the report over the whole one.
#[test]
fn each_check_reads_only_the_layers_it_declares() {
    use landwatch::analysis::Context;
    use landwatch::catalog::{Catalog, Scope};
    use landwatch::checks::{self, Query, CHECKS};
    use landwatch::rules::Rules;
    let store = landwatch::store::StoreLocation::gpkg(sample_store_with_an_event())
        .open()
        .unwrap();
    let full = Catalog::load(&*store).unwrap();
    let rules = Rules::load(None).unwrap();
    // The compliance site: the middle of the first park's box, in lon/lat.
    let park = full.layer("parks").unwrap().features[0].bbox.unwrap();
    let (c, w, h) = (park.center(), park.width() / 8.0, park.height() / 8.0);
    let site = serde_json::json!({"type": "Polygon", "coordinates": [[
        [c.x - w, c.y - h], [c.x + w, c.y - h], [c.x + w, c.y + h], [c.x - w, c.y + h], [c.x - w, c.y - h]
    ]]});
    let mut query = Query::new("2026-11-22".parse().unwrap());
    query.site = Some(site.to_string().into());
    // The trends' period, around the recorded event.
    query.options.insert("from", "2026-01-01".into());
    query.options.insert("to", "2026-06-30".into());
    let report = |catalog: &Catalog, check| {
        let r = checks::run(check, &Context::new(catalog), &rules, &query).unwrap();
        let mut out = vec![];
        r.write_json(&mut out, false).unwrap();
        (
            String::from_utf8(out).unwrap(),
            r.map_features(catalog).len(),
        )
    };
    for &check in CHECKS {
        let scope = Scope::analysis(check.layers()).with_parcel_fields(check.parcel_fields());
        let scoped = Catalog::load_scoped(&*store, scope).unwrap();
        assert!(
            scoped
                .layers
                .iter()
                .all(|l| check.layers().contains(&l.info.role)),
            "{}: a scoped load reads the layers of its roles only",
            check.id()
        );
        assert!(scoped
            .layers
            .iter()
            .all(|l| l.features[0].properties.is_empty()));
        let (whole, features) = report(&full, check);
        assert!(whole.len() > 100, "{}: {whole}", check.id());
        assert_eq!(
            report(&scoped, check),
            (whole, features),
            "{}: the report over the layers it declares differs",
            check.id()
        );
    }
}
