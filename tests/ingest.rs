//! Ingest, info and query through the real binary, on real files and the real GeoPackage.

mod common;

use common::*;
use geo::{polygon, Geometry, LineString, Polygon};
use landwatch::gen::shapefile::{FieldType, ShapeWriter};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `--on-error skip --json`: store the good rows, report the skipped ones.
const SKIP_JSON: &[&str] = &["--on-error", "skip", "--json"];

/// A small parcel shapefile in zone 35, written as bureau desktop GIS does (GBK, no .cpg).
fn parcels_shp(dir: &Path, name: &str, rows: &[(&str, &str, Polygon)]) -> PathBuf {
    let mut w = ShapeWriter::create(
        dir,
        name,
        4523,
        &[
            ("宗地编号", FieldType::Text(20)),
            ("用地性质", FieldType::Text(10)),
            ("约定动工日期", FieldType::Text(20)),
            ("权利人", FieldType::Text(40)),
        ],
    )
    .unwrap();
    for (id, date, poly) in rows {
        w.write(
            &Geometry::Polygon(poly.clone()),
            &[
                (*id).into(),
                "100101".into(),
                (*date).into(),
                "四川闲置土地测试有限公司".into(),
            ],
        )
        .unwrap();
    }
    w.finish().unwrap();
    dir.join(format!("{name}.shp"))
}

fn square(x: f64, y: f64, side: f64) -> Polygon {
    polygon![(x: x, y: y), (x: x + side, y: y), (x: x + side, y: y + side), (x: x, y: y + side), (x: x, y: y)]
}

const X: f64 = 35_460_000.0;
const Y: f64 = 3_330_000.0;

#[test]
fn the_sample_ingests_and_info_reports_every_layer() {
    let out = json(&ok(&["info", "--store", s(sample_store()), "--json"]));
    let layers = out["layers"].as_array().unwrap();
    assert_eq!(layers.len(), SAMPLE_LAYERS.len());
    let parcels = layers.iter().find(|l| l["name"] == "parcels").unwrap();
    assert_eq!(parcels["role"], "parcels");
    assert_eq!(parcels["count"], 3000);
    assert_eq!(parcels["encoding"], "GB18030");
    assert!(parcels["encoding_source"]
        .as_str()
        .unwrap()
        .contains("LDID"));
    assert!(parcels["source_crs"]
        .as_str()
        .unwrap()
        .contains("EPSG:4523"));
    assert_eq!(parcels["mapping"]["id"], "宗地编号");
    assert_eq!(parcels["mapping"]["agreed_start"], "约定动工日");
    assert_eq!(parcels["land_system"], "YDYH-2023");
    let planar = parcels["area_m2"].as_f64().unwrap();
    let ellipsoidal = parcels["area_ellipsoidal_m2"].as_f64().unwrap();
    // Zone 35's meridian is 105°E and the parks lie ~0.5° west of it: the two agree closely.
    assert!(
        (planar / ellipsoidal - 1.0).abs() < 1e-3,
        "{planar} vs {ellipsoidal}"
    );
    assert!((parcels["area_mu"].as_f64().unwrap() - planar / (10000.0 / 15.0)).abs() < 1e-6);
    let e = parcels["extent"].as_array().unwrap();
    let lon = e[0].as_f64().unwrap();
    assert!((104.3..104.7).contains(&lon), "{lon}");
    let plan = layers.iter().find(|l| l["name"] == "plan_tugui").unwrap();
    assert_eq!(plan["kind"], "land_use");
    assert_eq!(plan["land_system"], "GBT21010-2017");
    let kg = layers.iter().find(|l| l["name"] == "plan_kongui").unwrap();
    assert_eq!(kg["land_system"], "GB50137-2011");
    // Sample parcels include two bow-ties, repaired at ingest.
    assert_eq!(parcels["repaired"], 2 * 3);
}

#[test]
fn the_store_is_a_valid_geopackage_and_gdal_reads_its_chinese() {
    let python = if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    };
    let validator = "/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py";
    let out = std::process::Command::new(python)
        .args([validator, s(sample_store())])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "validate_gpkg: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let info = gdal(
        "ogrinfo",
        &["-ro", "-q", s(sample_store()), "parcels", "-fid", "1"],
    );
    assert!(info.contains("宗地编号 (String) = GXQ01-001-01"), "{info}");
    assert!(info.contains("有限公司"), "{info}");
    let rows = gdal_sql(sample_store(), "SELECT COUNT(*) FROM parcels");
    assert_eq!(rows[0][0], "3000");
}

#[test]
fn query_returns_what_gdal_finds_in_the_same_window() {
    let (x0, y0, x1, y1) = (104.48, 30.0, 104.5, 30.02);
    let fc = json(&ok(&query_args(
        sample_store(),
        "parcels",
        &format!("{x0},{y0},{x1},{y1}"),
        &[],
    )));
    let features = fc["features"].as_array().unwrap();
    let expected = gdal_sql(
        sample_store(),
        &format!(
            "SELECT COUNT(*) FROM parcels WHERE ST_Intersects(geom, BuildMbr({x0},{y0},{x1},{y1}))"
        ),
    );
    assert!(!features.is_empty());
    assert_eq!(features.len().to_string(), expected[0][0]);
    let first = &features[0]["properties"];
    assert!(first["宗地编号"].as_str().unwrap().starts_with("GXQ01-"));
    assert!(first["所属园区"] == "GXQ01");

    // The same window in Gauss-Krüger metres finds the same parcels around its centre.
    let gk = json(&ok(&query_args(
        sample_store(),
        "parcels",
        "35451000,3320500,35451400,3320900",
        &["--bbox-crs", "EPSG:4523"],
    )));
    assert!(!gk["features"].as_array().unwrap().is_empty());
    // Exactly the parcels GDAL finds in that rectangle of the source file.
    let dir = tempfile::tempdir().unwrap();
    let found = dir.path().join("found.geojson");
    gdal(
        "ogr2ogr",
        &[
            "-oo",
            "ENCODING=CP936",
            "-spat",
            "35451000",
            "3320500",
            "35451400",
            "3320900",
            s(&found),
            s(&sample().join("parcels.shp")),
        ],
    );
    let ids = |fc: &Value| -> std::collections::BTreeSet<String> {
        fc["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["properties"]["宗地编号"].as_str().unwrap().to_string())
            .collect()
    };
    let gdal_fc: Value = serde_json::from_str(&std::fs::read_to_string(&found).unwrap()).unwrap();
    assert_eq!(ids(&gk), ids(&gdal_fc));
    // Coordinates that are not lon/lat are refused with what to do, not answered with nothing.
    for (bbox, words) in [
        ("30.0,104.48,30.02,104.5", "lon,lat"),
        ("35451000,3320500,35451400,3320900", "--bbox-crs"),
    ] {
        let e = fails(&query_args(sample_store(), "parcels", bbox, &[]));
        assert!(e.contains(words), "{e}");
    }
    let bad = fails(&query_args(sample_store(), "parcels", "1,2,3", &[]));
    assert!(bad.contains("four numbers"), "{bad}");
    let missing = fails(&query_args(sample_store(), "nope", "1,2,3,4", &[]));
    assert!(
        missing.contains("no layer named 'nope'") && missing.contains("parcels"),
        "{missing}"
    );
}

#[test]
fn a_gbk_shapefile_without_cpg_and_ldid_0_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let shp = one_gbk_parcel(dir.path());
    assert!(!shp.with_extension("cpg").exists());
    let dbf = std::fs::read(shp.with_extension("dbf")).unwrap();
    assert_eq!(dbf[29], 0, "LDID");
    let (gbk, _, _) = encoding_rs::GBK.encode("闲置");
    assert!(
        dbf.windows(gbk.len()).any(|w| w == &gbk[..]),
        "the DBF holds GBK bytes"
    );
    let store = dir.path().join("s.gpkg");
    let report = json(&ok(&ingest_args(&shp, &store, "parcels", "p", &["--json"])));
    assert_eq!(report["encoding"], "GB18030");
    assert!(report["encoding_source"]
        .as_str()
        .unwrap()
        .contains("not valid UTF-8"));
    assert!((report["area"]["m2"].as_f64().unwrap() - 10_000.0).abs() < 1e-6);
    assert!((report["area"]["mu"].as_f64().unwrap() - 15.0).abs() < 1e-9);
    let fc = all_features(&store, "p");
    let p = &fc["features"][0]["properties"];
    assert_eq!(p["宗地编号"], "闲置-1");
    assert_eq!(p["约定动工日"], "2019年3月5日");
    assert_eq!(p["权利人"], "四川闲置土地测试有限公司");
}

#[test]
fn a_wrong_cpg_is_refused_with_the_encoding_to_use() {
    let dir = tempfile::tempdir().unwrap();
    let shp = one_gbk_parcel(dir.path());
    std::fs::write(shp.with_extension("cpg"), "UTF-8").unwrap();
    let store = dir.path().join("s.gpkg");
    let e = fails(&ingest_args(&shp, &store, "parcels", "p", &[]));
    assert!(
        e.contains("not valid UTF-8") && e.contains("--encoding GBK"),
        "{e}"
    );
    assert!(!store.exists());
    // Told so, it reads the file.
    ok(&ingest_args(
        &shp,
        &store,
        "parcels",
        "p",
        &["--encoding", "GBK"],
    ));
}

/// DIR/gbk.shp: one parcel (闲置-1, 100 m × 100 m, agreed start 2019年3月5日) in GBK
/// without .cpg.
fn one_gbk_parcel(dir: &Path) -> PathBuf {
    parcels_shp(
        dir,
        "gbk",
        &[("闲置-1", "2019年3月5日", square(X, Y, 100.0))],
    )
}

/// The arguments of `landwatch query --store STORE --layer LAYER --bbox BBOX EXTRA…`.
fn query_args<'a>(
    store: &'a Path,
    layer: &'a str,
    bbox: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "query",
        "--store",
        s(store),
        "--layer",
        layer,
        "--bbox",
        bbox,
    ];
    args.extend_from_slice(extra);
    args
}

/// Every feature of a stored layer, as `landwatch query` gives them.
fn all_features(store: &Path, layer: &str) -> Value {
    json(&ok(&query_args(store, layer, "-180,-90,180,90", &[])))
}

/// The one-parcel GBK shapefile rewritten by ogr2ogr as UTF-8 with its .cpg, as DIR/NAME.shp,
/// with further ogr2ogr options.
fn one_parcel_rewritten(dir: &Path, name: &str, options: &[&str]) -> PathBuf {
    let gbk = one_gbk_parcel(dir);
    let out = dir.join(format!("{name}.shp"));
    let mut args = vec!["-oo", "ENCODING=CP936", "-lco", "ENCODING=UTF-8"];
    args.extend_from_slice(options);
    args.extend([s(&out), s(&gbk)]);
    gdal("ogr2ogr", &args);
    out
}

#[test]
fn xian_1980_data_is_stored_with_a_warning_about_its_datum() {
    let dir = tempfile::tempdir().unwrap();
    let xian = one_parcel_rewritten(dir.path(), "xian", &["-t_srs", "EPSG:2359"]);
    let report = json(&ok(&ingest_args(
        &xian,
        &dir.path().join("s.gpkg"),
        "parcels",
        "x",
        &["--json"],
    )));
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("Xian 1980") && notes.contains("towgs84"),
        "{notes}"
    );
    assert!((report["area"]["m2"].as_f64().unwrap() / 10_000.0 - 1.0).abs() < 1e-3);
}

#[test]
fn a_utf8_shapefile_without_cpg_keeps_its_chinese() {
    let dir = tempfile::tempdir().unwrap();
    // The parcel in UTF-8, as QGIS writes it, then without its .cpg: the DBF cuts the
    // names at 10 bytes, inside a character (宗地编号 is 12 bytes in UTF-8).
    let utf8 = one_parcel_rewritten(dir.path(), "utf8", &[]);
    std::fs::remove_file(utf8.with_extension("cpg")).unwrap();
    let store = dir.path().join("s.gpkg");
    let report = json(&ok(&ingest_args(&utf8, &store, "other", "u", &["--json"])));
    assert_eq!(report["encoding"], "UTF-8", "{report}");
    let fc = all_features(&store, "u");
    let p = &fc["features"][0]["properties"];
    assert_eq!(p["宗地编"], "闲置-1", "{p}");
    assert_eq!(p["权利人"], "四川闲置土地测试有限公司", "{p}");
}

#[test]
fn a_real_gbk_shapefile_of_chinese_provinces_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let shp = testdata("bou2_4p.shp");
    // No .prj: refused, with the likely CRS named, and nothing created.
    let e = fails(&ingest_args(&shp, &store, "other", "provinces", &[]));
    assert!(
        e.contains("no coordinate system") && e.contains("EPSG:4490"),
        "{e}"
    );
    assert!(!store.exists());
    let report = json(&ok(&ingest_args(
        &shp,
        &store,
        "other",
        "provinces",
        &["--crs", "EPSG:4490", "--json"],
    )));
    assert_eq!(report["features"], 925);
    assert_eq!(report["encoding"], "GB18030");
    // Chengdu lies in Sichuan.
    let fc = json(&ok(&query_args(
        &store,
        "provinces",
        "104.05,30.65,104.07,30.67",
        &[],
    )));
    let names: Vec<&str> = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["NAME"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["四川省"]);
    let all = json(&ok(&query_args(&store, "provinces", "70,0,140,60", &[])));
    let mut distinct: Vec<&str> = all["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["properties"]["NAME"].as_str())
        .collect();
    distinct.sort();
    distinct.dedup();
    for p in ["黑龙江省", "内蒙古自治区", "新疆维吾尔自治区", "浙江省"] {
        assert!(distinct.contains(&p), "{p} missing from {distinct:?}");
    }
}

#[test]
fn an_existing_geopackage_takes_a_layer_and_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("bubenec.gpkg");
    std::fs::copy(testdata("bubenec.gpkg"), &store).unwrap();
    let before = std::fs::read(&store).unwrap();
    // Looking does not change it; a refused ingest neither.
    ok(&["info", "--store", s(&store)]);
    let e = fails(&ingest_args(
        &sample().join("buildings.shp"),
        &store,
        "parks",
        "parks",
        &["--encoding", "nonsense"],
    ));
    assert!(e.contains("nonsense"), "{e}");
    assert!(
        std::fs::read(&store).unwrap() == before,
        "the GeoPackage changed"
    );
    // A layer goes in beside the file's own, which GDAL still reads.
    ingest(&sample().join("parks.shp"), &store, "parks", "parks");
    let listing = gdal("ogrinfo", &["-ro", "-q", s(&store)]);
    assert!(
        listing.contains("plots") && listing.contains("parks"),
        "{listing}"
    );
}

#[test]
fn web_mercator_cadastre_gets_true_areas() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let src = testdata("bubenec.gpkg");
    let e = fails(&ingest_args(&src, &store, "parcels", "plots", &[]));
    assert!(e.contains("--layer") && e.contains("plots"), "{e}");
    let report = json(&ok(&ingest_args(
        &src,
        &store,
        "parcels",
        "plots",
        &["--layer", "plots", "--json"],
    )));
    assert_eq!(report["features"], 407);
    let planar = report["area"]["m2"].as_f64().unwrap();
    let ellipsoidal = report["area"]["ellipsoidal_m2"].as_f64().unwrap();

    // Independently: GDAL reprojects, SpatiaLite measures on the ellipsoid and in the plane.
    let ll = dir.path().join("ll.gpkg");
    gdal(
        "ogr2ogr",
        &["-q", "-t_srs", "EPSG:4326", s(&ll), s(&src), "plots"],
    );
    let geodesic: f64 = gdal_sql(&ll, "SELECT SUM(ST_Area(geom, 1)) FROM plots")[0][0]
        .parse()
        .unwrap();
    assert!(
        (ellipsoidal / geodesic - 1.0).abs() < 1e-6,
        "{ellipsoidal} vs GDAL {geodesic}"
    );
    let tm = dir.path().join("tm.gpkg");
    gdal(
        "ogr2ogr",
        &[
            "-q",
            "-t_srs",
            "+proj=tmerc +lat_0=0 +lon_0=15 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m +no_defs",
            s(&tm),
            s(&src),
            "plots",
        ],
    );
    let gdal_planar: f64 = gdal_sql(&tm, "SELECT SUM(ST_Area(geom)) FROM plots")[0][0]
        .parse()
        .unwrap();
    assert!(
        (planar / gdal_planar - 1.0).abs() < 1e-6,
        "{planar} vs GDAL {gdal_planar}"
    );
    let mercator: f64 = gdal_sql(&src, "SELECT SUM(ST_Area(geom)) FROM plots")[0][0]
        .parse()
        .unwrap();
    // Prague lies at 50°N: Web Mercator inflates areas by 1/cos²(50°) ≈ 2.4.
    assert!(mercator / ellipsoidal > 2.3, "{mercator} vs {ellipsoidal}");
    assert!(report["analysis_crs"].as_str().unwrap().contains("15°"));
}

#[test]
fn a_filegdb_and_a_zipped_shapefile_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.gpkg");
    let gdb = testdata("test_fgdb.gdb.zip");
    let report = json(&ok(&ingest_args(
        &gdb,
        &store,
        "other",
        "areas",
        &["--layer", "test_areas", "--json"],
    )));
    assert_eq!(report["driver"], "OpenFileGDB");
    assert_eq!(report["features"], 2);
    assert!(report["area"]["ellipsoidal_m2"].as_f64().unwrap() > 0.0);

    let zip = dir.path().join("parks.zip");
    let mut parts: Vec<String> = ["shp", "shx", "dbf", "prj"]
        .iter()
        .map(|e| s(&sample().join(format!("parks.{e}"))).to_string())
        .collect();
    parts.insert(0, s(&zip).to_string());
    let script = "import sys, zipfile, os\nz = zipfile.ZipFile(sys.argv[1], 'w')\nfor p in sys.argv[2:]: z.write(p, os.path.basename(p))\nz.close()";
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(&parts)
        .output()
        .unwrap();
    assert!(out.status.success());
    let report = json(&ok(&ingest_args(
        &zip,
        &store,
        "parks",
        "parks",
        &["--json"],
    )));
    assert_eq!(report["features"], 3);
    assert_eq!(report["mapping"]["name"], "园区名称");
    let fc = json(&ok(&query_args(&store, "parks", "104,29,105,31", &[])));
    let names: Vec<&str> = fc["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["园区名称"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"沱江高新技术产业开发区"), "{names:?}");

    // A curve type whose edges are all straight (as some CAD exports write parcels).
    let csv = dir.path().join("curve.csv");
    std::fs::write(
        &csv,
        "WKT,宗地编号\n\"CURVEPOLYGON((104.5 30.0,104.51 30.0,104.51 30.01,104.5 30.01,104.5 30.0))\",C-1\n",
    )
    .unwrap();
    let curve = dir.path().join("curve.gpkg");
    gdal(
        "ogr2ogr",
        &[
            "-f",
            "GPKG",
            s(&curve),
            s(&csv),
            "-a_srs",
            "EPSG:4490",
            "-nlt",
            "CURVEPOLYGON",
            "-oo",
            "KEEP_GEOM_COLUMNS=NO",
        ],
    );
    let report = json(&ok(&ingest_args(
        &curve,
        &store,
        "parcels",
        "curve",
        &["--json"],
    )));
    assert_eq!(report["features"], 1);
}

/// Each bad input is refused with its reason and leaves the store byte-for-byte unchanged.
#[test]
fn bad_inputs_are_refused_and_leave_the_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let store = d.join("s.gpkg");
    ingest(&sample().join("parks.shp"), &store, "parks", "parks");
    let before = std::fs::read(&store).unwrap();

    let good = parcels_shp(d, "good", &[("A-1", "2020-01-01", square(X, Y, 50.0))]);
    let points = d.join("points.geojson");
    std::fs::write(
        &points,
        r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},"features":[{"type":"Feature","properties":{"园区编号":"P1"},"geometry":{"type":"Point","coordinates":[104.5,30.1]}}]}"#,
    )
    .unwrap();
    let no_prj = parcels_shp(d, "noprj", &[("A-1", "2020-01-01", square(X, Y, 50.0))]);
    std::fs::remove_file(no_prj.with_extension("prj")).unwrap();
    let swapped = parcels_shp(d, "swapped", &[("A-1", "2020-01-01", square(Y, X, 50.0))]);
    let wrong_zone = parcels_shp(
        d,
        "zone36",
        &[("A-1", "2020-01-01", square(X + 1_000_000.0, Y, 50.0))],
    );
    let mut rows = vec![];
    for i in 0..25 {
        let date = if i % 2 == 0 {
            "2019-02-30"
        } else {
            "2020-01-01"
        };
        rows.push((format!("B-{i}"), date, square(X + i as f64 * 60.0, Y, 50.0)));
    }
    let rows_ref: Vec<(&str, &str, Polygon)> = rows
        .iter()
        .map(|(a, b, p)| (a.as_str(), *b, p.clone()))
        .collect();
    let bad_dates = parcels_shp(d, "baddates", &rows_ref);
    let dups = parcels_shp(
        d,
        "dups",
        &[
            ("D-1", "2020-01-01", square(X, Y, 50.0)),
            ("D-1", "2020-01-01", square(X + 60.0, Y, 50.0)),
            ("D-2", "", square(X + 120.0, Y, 50.0)),
        ],
    );
    let flat = Polygon::new(
        LineString::from(vec![(X, Y), (X + 10.0, Y), (X + 20.0, Y), (X, Y)]),
        vec![],
    );
    let unrepairable = parcels_shp(d, "flat", &[("F-1", "2020-01-01", flat)]);
    let mapping = d.join("m.toml");
    std::fs::write(&mapping, "[fields]\ntax = \"纳税额\"\n").unwrap();
    // One feature of four drawn without its zone number (a common slip): that row is the error.
    let stray = parcels_shp(
        d,
        "stray",
        &[
            ("S-1", "2020-01-01", square(X, Y, 50.0)),
            ("S-2", "2020-01-01", square(X + 60.0, Y, 50.0)),
            ("S-3", "2020-01-01", square(X + 120.0, Y, 50.0)),
            ("S-4", "2020-01-01", square(X - 35_000_000.0, Y, 50.0)),
        ],
    );
    let no_dbf = parcels_shp(d, "nodbf", &[("A-1", "2020-01-01", square(X, Y, 50.0))]);
    std::fs::remove_file(no_dbf.with_extension("dbf")).unwrap();
    let no_shx = parcels_shp(d, "noshx", &[("A-1", "2020-01-01", square(X, Y, 50.0))]);
    std::fs::remove_file(no_shx.with_extension("shx")).unwrap();

    let st = s(&store).to_string();
    let multi_layer = testdata("bubenec.gpkg");
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["ingest", s(&good), "--role", "parcels", "--name", "宗地"],
            vec!["letters"],
        ),
        (
            vec![
                "ingest",
                "/nonexistent/x.shp",
                "--role",
                "parcels",
                "--name",
                "x",
            ],
            vec!["does not exist"],
        ),
        (
            vec!["ingest", s(&points), "--role", "parks", "--name", "parks"],
            vec!["points", "must be polygons"],
        ),
        (
            vec!["ingest", s(&no_prj), "--role", "parcels", "--name", "x"],
            vec!["no coordinate system", "zone 35", "EPSG:4523"],
        ),
        (
            vec!["ingest", s(&swapped), "--role", "parcels", "--name", "x"],
            vec!["swapped"],
        ),
        (
            vec!["ingest", s(&stray), "--role", "parcels", "--name", "x"],
            vec!["row 4", "zone number", "--on-error skip"],
        ),
        (
            vec!["ingest", s(&no_dbf), "--role", "parcels", "--name", "x"],
            vec!["no attribute table", ".dbf"],
        ),
        (
            vec!["ingest", s(&no_shx), "--role", "parcels", "--name", "x"],
            vec![".shx", "SHAPE_RESTORE_SHX"],
        ),
        (
            vec!["ingest", s(&good), "--role", "parcels", "--name", "PARKS"],
            vec!["letter case", "--name parks"],
        ),
        (
            vec!["ingest", s(&wrong_zone), "--role", "parcels", "--name", "x"],
            vec!["zone 36", "EPSG:4524"],
        ),
        (
            vec![
                "ingest",
                s(&bad_dates),
                "--role",
                "parcels",
                "--name",
                "parks",
            ],
            vec![
                "13 rows have bad values",
                "row 1 (FID 0), field 约定动工日 = '2019-02-30'",
                "does not exist",
                "--on-error skip",
            ],
        ),
        (
            vec!["ingest", s(&dups), "--role", "parcels", "--name", "x"],
            vec!["'D-1' on rows 1, 2"],
        ),
        (
            vec![
                "ingest",
                s(&unrepairable),
                "--role",
                "parcels",
                "--name",
                "x",
            ],
            vec!["row 1", "cannot be repaired"],
        ),
        (
            vec![
                "ingest",
                s(&multi_layer),
                "--role",
                "parcels",
                "--name",
                "x",
            ],
            vec!["--layer"],
        ),
        (
            vec![
                "ingest",
                s(&good),
                "--role",
                "parcels",
                "--name",
                "x",
                "--encoding",
                "KLINGON",
            ],
            vec!["unknown encoding"],
        ),
        (
            vec![
                "ingest",
                s(&good),
                "--role",
                "parcels",
                "--name",
                "x",
                "--mapping",
                s(&mapping),
            ],
            vec!["纳税额", "no such field"],
        ),
        (
            vec![
                "ingest",
                s(&good),
                "--role",
                "parcels",
                "--name",
                "x",
                "--kind",
                "urban",
            ],
            vec!["--kind applies"],
        ),
    ];
    for (mut args, expect) in cases {
        args.extend(["--store", &st]);
        let err = fails(&args);
        for e in expect {
            assert!(err.contains(e), "{args:?}: expected '{e}' in:\n{err}");
        }
        assert_eq!(
            std::fs::read(&store).unwrap(),
            before,
            "{args:?} changed the store"
        );
    }
    // The refused replacement of 'parks' left the old layer in place.
    let info = json(&ok(&["info", "--store", &st, "--json"]));
    assert_eq!(info["layers"].as_array().unwrap().len(), 1);
    assert_eq!(info["layers"][0]["count"], 3);

    // With --on-error skip the good rows are stored and the bad ones listed.
    let report = json(&ok(&ingest_args(
        &bad_dates, &store, "parcels", "dated", SKIP_JSON,
    )));
    assert_eq!(report["features"], 12);
    assert_eq!(report["skipped"], 13);
    assert_eq!(report["skipped_rows"][0]["field"], "约定动工日");
    assert_eq!(report["skipped_rows"][0]["value"], "2019-02-30");

    // The stray feature is skipped and does not stretch the layer's extent.
    let report = json(&ok(&ingest_args(
        &stray, &store, "parcels", "stray", SKIP_JSON,
    )));
    assert_eq!(report["features"], 3);
    assert_eq!(report["skipped"], 1);
    let layers = info_layers(&store);
    let layer = layers.iter().find(|l| l["name"] == "stray").unwrap();
    let extent: Vec<f64> = serde_json::from_value(layer["extent"].clone()).unwrap();
    assert!(extent[2] - extent[0] < 0.01, "{extent:?}");
}

#[test]
fn invalid_geometries_are_repaired_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let bow = polygon![(x: X, y: Y), (x: X + 100.0, y: Y + 100.0), (x: X + 100.0, y: Y), (x: X, y: Y + 100.0), (x: X, y: Y)];
    let shp = parcels_shp(
        dir.path(),
        "bow",
        &[
            ("OK-1", "2020-01-01", square(X + 500.0, Y, 100.0)),
            ("BOW-1", "2020-01-01", bow),
        ],
    );
    let store = dir.path().join("s.gpkg");
    let report = json(&ok(&ingest_args(&shp, &store, "parcels", "p", &["--json"])));
    assert_eq!(report["repaired"], 1);
    assert_eq!(report["repaired_rows"], serde_json::json!([2]));
    // Two triangles of 2,500 m² each, plus the 10,000 m² square.
    assert!((report["area"]["m2"].as_f64().unwrap() - 15_000.0).abs() < 1e-6);
    // Polygons of an `other` layer are repaired too: the ellipsoidal area of the bow-tie is
    // within a few parts in 10⁴ of the planar one, not the size of a continent.
    let report = json(&ok(&ingest_args(&shp, &store, "other", "o", &["--json"])));
    assert_eq!(report["repaired"], 1);
    let ellipsoidal = report["area"]["ellipsoidal_m2"].as_f64().unwrap();
    assert!((ellipsoidal / 15_000.0 - 1.0).abs() < 1e-3, "{ellipsoidal}");
}

/// `landwatch ingest DATA/parcels.shp` into the `parcels` layer of STORE, running in the background.
fn spawn_parcel_ingest(data: &Path, store: &Path) -> std::process::Child {
    let file = data.join("parcels.shp");
    Command::new(env!("CARGO_BIN_EXE_landwatch"))
        .args(ingest_args(&file, store, "parcels", "parcels", &[]))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_killed_ingest_leaves_the_store_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("big");
    ok(&[
        "gen",
        "--out",
        s(&data),
        "--parcels",
        "20000",
        "--seed",
        "3",
    ]);
    let store = copy_of_sample_store(dir.path());
    let before = std::fs::read(&store).unwrap();
    let mut killed_during_write = 0;
    for delay_ms in [150u64, 400, 800, 1500, 2500, 4000] {
        let mut child = spawn_parcel_ingest(&data, &store);
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let finished = child.try_wait().unwrap().is_some();
        if finished {
            break;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        killed_during_write += 1;
        assert_eq!(
            std::fs::read(&store).unwrap(),
            before,
            "killed after {delay_ms} ms"
        );
        assert_eq!(
            layer_counts(&store)["parcels"],
            3000,
            "killed after {delay_ms} ms"
        );
    }
    assert!(
        killed_during_write > 0,
        "every ingest finished before it could be killed"
    );

    // Killed the moment it starts writing into the store (its write-ahead log grows): the
    // store holds the old layer or, if the commit got through, the whole new one — never part.
    let wal = PathBuf::from(format!("{}-wal", store.display()));
    let mut caught_writing = 0;
    for _ in 0..3 {
        let mut child = spawn_parcel_ingest(&data, &store);
        let mut writing = false;
        while child.try_wait().unwrap().is_none() {
            if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
                writing = true;
                child.kill().unwrap();
                break;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
        child.wait().unwrap();
        let count = layer_counts(&store)["parcels"];
        assert!(count == 3000 || count == 20000, "a partial layer: {count}");
        if writing && count == 3000 {
            caught_writing += 1;
        }
        if count == 20000 {
            break;
        }
    }
    eprintln!("killed while writing the store, old layer kept: {caught_writing} time(s)");
}

#[test]
fn the_bundled_sample_is_what_gen_makes() {
    let dir = tempfile::tempdir().unwrap();
    // Too few parcels for three parks: refused with the minimum, not a crash.
    let e = fails(&["gen", "--out", s(dir.path()), "--parcels", "10"]);
    assert!(e.contains("150"), "{e}");
    ok(&["gen", "--out", s(dir.path())]);
    let mut compared = 0;
    for entry in std::fs::read_dir(sample()).unwrap() {
        let p = entry.unwrap().path();
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        if !["shp", "shx", "dbf", "prj"]
            .iter()
            .any(|e| name.ends_with(e))
        {
            continue;
        }
        let mut a = std::fs::read(&p).unwrap();
        let mut b = std::fs::read(dir.path().join(&name)).unwrap();
        if name.ends_with("dbf") {
            // Bytes 1–3 hold the date the file was written.
            a[1..4].fill(0);
            b[1..4].fill(0);
        }
        assert!(a == b, "{name} differs from a fresh `landwatch gen`");
        compared += 1;
    }
    assert_eq!(compared, 8 * 4);
}
