//! Helpers shared by the integration tests: the real binary, real files, temporary stores.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled sample directory.
pub fn sample() -> PathBuf {
    root().join("data/sample")
}

/// A file fetched by scripts/fetch-testdata; fails loudly when it is missing.
pub fn testdata(name: &str) -> PathBuf {
    let p = root().join(".testdata").join(name);
    assert!(
        p.exists(),
        "{} is missing: run scripts/fetch-testdata (scripts/test does)",
        p.display()
    );
    p
}

/// Run the landwatch binary.
pub fn landwatch(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_landwatch"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("landwatch runs")
}

/// Run landwatch and insist it succeeds; returns stdout.
pub fn ok(args: &[&str]) -> String {
    let out = landwatch(args);
    assert!(
        out.status.success(),
        "landwatch {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Run landwatch and insist it fails; returns stderr.
pub fn fails(args: &[&str]) -> String {
    let out = landwatch(args);
    assert!(
        !out.status.success(),
        "landwatch {args:?} should have failed; stdout:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).expect("utf-8 errors")
}

/// The sample layers: (file, role, name, kind).
pub const SAMPLE_LAYERS: &[(&str, &str, &str, Option<&str>)] = &[
    ("parks.shp", "parks", "parks", None),
    ("parcels.shp", "parcels", "parcels", None),
    ("buildings.shp", "buildings", "buildings", None),
    ("plan_tugui.shp", "plan", "plan_tugui", Some("land_use")),
    ("plan_kongui.shp", "plan", "plan_kongui", Some("urban")),
    (
        "redline_ecology.shp",
        "redline",
        "redline_ecology",
        Some("ecological"),
    ),
    ("farmland.shp", "redline", "farmland", Some("farmland")),
    (
        "urban_boundary.shp",
        "redline",
        "urban_boundary",
        Some("urban_boundary"),
    ),
];

/// Ingest the whole sample into `store`.
pub fn ingest_sample(store: &Path) {
    for (file, role, name, kind) in SAMPLE_LAYERS {
        let f = sample().join(file);
        let kind_args: Vec<&str> = kind.iter().flat_map(|k| ["--kind", k]).collect();
        ok(&ingest_args(&f, store, role, name, &kind_args));
    }
}

/// A store holding the whole sample, built once per test binary; copy it before changing it.
pub fn sample_store() -> &'static Path {
    static STORE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    let (_, p) = STORE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = dir.path().join("sample.gpkg");
        ingest_sample(&p);
        (dir, p)
    });
    p
}

/// The sample with one recorded event, so that every collection and check, `events` too,
/// has something to show; built once per test binary, copy it before changing it.
pub fn sample_store_with_an_event() -> &'static Path {
    static STORE: std::sync::OnceLock<(tempfile::TempDir, std::path::PathBuf)> =
        std::sync::OnceLock::new();
    let (_, p) = STORE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = copy_of_sample_store(dir.path());
        let idle = check_json(&p, "idle", "2026-06-30", &[]);
        let id = idle["parcels"][0]["id"]
            .as_str()
            .expect("an idle parcel")
            .to_string();
        ok(&[
            "event",
            "add",
            "--store",
            s(&p),
            "--layer",
            "parcels",
            "--feature-id",
            &id,
            "--status",
            "investigating",
            "--effective-date",
            "2026-03-01",
            "--document-no",
            "调查〔2026〕1号",
            "--by",
            "测试员",
        ]);
        (dir, p)
    });
    p
}

/// A private copy of the sample store in `dir`.
pub fn copy_of_sample_store(dir: &Path) -> PathBuf {
    let p = dir.join("store.gpkg");
    std::fs::copy(sample_store(), &p).expect("copy store");
    p
}

/// Run a GDAL command-line tool and return stdout (stderr discarded unless it fails).
pub fn gdal(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .output()
        .expect("GDAL tools are installed (scripts/setup)");
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run one SQL statement through GDAL's SQLite dialect and return the CSV rows (header
/// dropped) as columns of text.
pub fn gdal_sql(dataset: &Path, sql: &str) -> Vec<Vec<String>> {
    gdal_sql_with(dataset, sql, &[])
}

/// The same over the bundled sample's GBK shapefiles, read as GBK (they carry no `.cpg`).
pub fn sample_sql(sql: &str) -> Vec<Vec<String>> {
    gdal_sql_with(&sample(), sql, &["--config", "SHAPE_ENCODING", "CP936"])
}

fn gdal_sql_with(dataset: &Path, sql: &str, config: &[&str]) -> Vec<Vec<String>> {
    let mut args = config.to_vec();
    args.extend_from_slice(&[
        "-q",
        "-f",
        "CSV",
        "/vsistdout/",
        dataset.to_str().expect("utf-8"),
        "-dialect",
        "sqlite",
        "-sql",
        sql,
    ]);
    let out = gdal("ogr2ogr", &args);
    out.lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .map(|c| c.trim_matches('"').to_string())
                .collect()
        })
        .collect()
}
pub mod server;

/// Run a browser script of `tests/browser/` with node, insisting it succeeds; its report (the
/// last line of its output) as JSON.
pub fn browser(script: &str, args: &[&str]) -> serde_json::Value {
    let out = Command::new("node")
        .arg(root().join("tests/browser").join(script))
        .args(args)
        .current_dir(root())
        .output()
        .expect("node runs (scripts/setup installs it)");
    assert!(
        out.status.success(),
        "the browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().expect("a report")).expect("a JSON report")
}

/// A path as the text of an argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Parse JSON output.
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("valid JSON")
}

/// The arguments of `landwatch ingest FILE --store STORE --role ROLE --name NAME EXTRA…`.
pub fn ingest_args<'a>(
    file: &'a Path,
    store: &'a Path,
    role: &'a str,
    name: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "ingest",
        s(file),
        "--store",
        s(store),
        "--role",
        role,
        "--name",
        name,
    ];
    args.extend_from_slice(extra);
    args
}

/// Ingest `file` into `store` as layer `name` of `role`, insisting it succeeds.
pub fn ingest(file: &Path, store: &Path, role: &str, name: &str) -> String {
    ok(&ingest_args(file, store, role, name, &[]))
}

/// The layers `landwatch info --json` reports.
pub fn info_layers(store: &Path) -> Vec<serde_json::Value> {
    let info = json(&ok(&["info", "--store", s(store), "--json"]));
    info["layers"].as_array().expect("layers").clone()
}

/// Feature counts of the store's layers, as `landwatch info --json` reports them.
pub fn layer_counts(store: &Path) -> std::collections::BTreeMap<String, u64> {
    info_layers(store)
        .iter()
        .map(|l| {
            (
                l["name"].as_str().expect("name").to_string(),
                l["count"].as_u64().expect("count"),
            )
        })
        .collect()
}

/// `landwatch check KIND --format json --as-of AS_OF EXTRA…` on the store.
pub fn check_json(store: &Path, kind: &str, as_of: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "check",
        kind,
        "--store",
        s(store),
        "--format",
        "json",
        "--as-of",
        as_of,
    ];
    args.extend_from_slice(extra);
    json(&ok(&args))
}

/// The keys every conflict-ledger row carries: the `check conflicts --format json` contract.
pub const LEDGER_ROW_KEYS: [&str; 10] = [
    "id",
    "type",
    "type_zh",
    "layer",
    "other_layer",
    "park_id",
    "area_m2",
    "sliver",
    "code",
    "other_code",
];

/// The Web Mercator tile at zoom `z` holding a lon/lat point.
pub fn tile_of(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n) as u32;
    let y = ((1.0 - lat.to_radians().tan().asinh() / std::f64::consts::PI) / 2.0 * n) as u32;
    (x, y)
}
