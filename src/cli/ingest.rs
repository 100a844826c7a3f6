//! `landwatch ingest`.

use anyhow::Context;
use clap::ValueEnum;
use landwatch::ingest::{ingest, IngestRequest, OnError, MAX_VERTICES};
use landwatch::model::{ClassSystem, Role};
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ErrorPolicy {
    /// Refuse the file and list the first 20 bad rows.
    Fail,
    /// Store the other rows; report the skipped ones.
    Skip,
}

/// Arguments of `landwatch ingest`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The source: .shp (or a .zip holding one), .gpkg, .geojson, .gdb, .kml, …
    file: PathBuf,
    #[command(flatten)]
    store: super::StoreArg,
    /// What the layer is: parks, parcels, buildings, plan, redline or other.
    #[arg(long, value_parser = |s: &str| s.parse::<Role>())]
    role: Role,
    /// The stored layer's name (letters, digits, '_' and '-'); an existing layer of that name is replaced.
    #[arg(long)]
    name: String,
    /// The layer inside the source, when it has several.
    #[arg(long)]
    layer: Option<String>,
    /// Keep only the features matching this OGR SQL WHERE clause (e.g. "landuse IS NOT NULL").
    #[arg(long = "where")]
    filter: Option<String>,
    /// The source CRS (EPSG:N, WKT or PROJ string), when the file has none or a wrong one.
    #[arg(long)]
    crs: Option<String>,
    /// The text encoding (GBK, GB18030, UTF-8, BIG5 …), overriding .cpg and the DBF LDID.
    #[arg(long)]
    encoding: Option<String>,
    /// A TOML file mapping canonical attributes to the source's field names.
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// What to do with rows that have bad values.
    #[arg(long, value_enum, default_value_t = ErrorPolicy::Fail)]
    on_error: ErrorPolicy,
    /// Plan kind (land_use = 土规, urban = 控规, territorial = 国土空间规划) or red-line kind
    /// (ecological, farmland, urban_boundary).
    #[arg(long)]
    kind: Option<String>,
    /// The land classification system of the land-use codes (YDYH-2023, GB50137-2011,
    /// GBT21010-2017, SANDIAO); detected from the codes when omitted.
    #[arg(long, value_parser = |s: &str| s.parse::<ClassSystem>())]
    land_system: Option<ClassSystem>,
    /// The planar CRS for areas and overlays, for a store's first layer (default: the
    /// CGCS2000 3-degree Gauss-Krüger zone of the data).
    #[arg(long)]
    analysis_crs: Option<String>,
    /// Refuse polygons with more vertices than this (a runaway export or digitising fault).
    #[arg(long, default_value_t = MAX_VERTICES)]
    max_vertices: usize,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Run the ingest and print its report.
pub fn run(a: Args) -> anyhow::Result<()> {
    let req = IngestRequest {
        file: a.file,
        store: a.store.location,
        role: a.role,
        name: a.name,
        layer: a.layer,
        filter: a.filter,
        crs: a.crs,
        encoding: a.encoding,
        mapping: a.mapping,
        on_error: match a.on_error {
            ErrorPolicy::Fail => OnError::Fail,
            ErrorPolicy::Skip => OnError::Skip,
        },
        kind: a.kind,
        land_system: a.land_system,
        analysis_crs: a.analysis_crs,
        max_vertices: a.max_vertices,
        progress: true,
    };
    let report = ingest(&req)?;
    super::user::audit_local(
        &req.store,
        "layer.ingest",
        &report.layer,
        serde_json::json!({
            "source": report.source,
            "role": report.role,
            "replaced": report.replaced,
            "features": report.features,
            "repaired": report.repaired,
            "skipped": report.skipped,
        }),
    );
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("writing the report")?
        );
    } else {
        eprintln!("{report}");
    }
    Ok(())
}
