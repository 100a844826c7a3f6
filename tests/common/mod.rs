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
        let s = store.to_str().expect("utf-8 path");
        let mut args = vec![
            "ingest",
            f.to_str().expect("utf-8"),
            "--store",
            s,
            "--role",
            role,
            "--name",
            name,
        ];
        if let Some(k) = kind {
            args.extend(["--kind", k]);
        }
        ok(&args);
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
    let out = gdal(
        "ogr2ogr",
        &[
            "-q",
            "-f",
            "CSV",
            "/vsistdout/",
            dataset.to_str().expect("utf-8"),
            "-dialect",
            "sqlite",
            "-sql",
            sql,
        ],
    );
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

/// Ingest `file` into `store` as layer `name` of `role`, insisting it succeeds.
pub fn ingest(file: &Path, store: &Path, role: &str, name: &str) -> String {
    ok(&[
        "ingest",
        file.to_str().expect("utf-8"),
        "--store",
        store.to_str().expect("utf-8"),
        "--role",
        role,
        "--name",
        name,
    ])
}
