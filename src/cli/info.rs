//! `landwatch info`.

use landwatch::model::value::{m2_to_hectares, m2_to_mu};
use landwatch::store::{GeoPackage, Store};
use serde_json::json;
use std::path::PathBuf;

/// Arguments of `landwatch info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The store.
    #[arg(long, default_value = "data/landwatch.gpkg")]
    store: PathBuf,
    /// Print JSON: {"layers":[{"name","role","count","area_m2",…}]}.
    #[arg(long)]
    json: bool,
}

/// Describe the store's layers.
pub fn run(a: Args) -> anyhow::Result<()> {
    let store = GeoPackage::open(&a.store)?;
    let layers = store.layers()?;
    let crs = store.analysis_crs()?;
    if a.json {
        let out = json!({
            "store": a.store.display().to_string(),
            "analysis_crs": crs.as_ref().map(|c| &c.label),
            "layers": layers.iter().map(|l| json!({
                "name": l.name,
                "role": l.role.as_str(),
                "kind": l.kind,
                "count": l.count,
                "area_m2": l.area_m2,
                "area_ha": m2_to_hectares(l.area_m2),
                "area_mu": m2_to_mu(l.area_m2),
                "area_ellipsoidal_m2": l.area_ellipsoidal_m2,
                "extent": l.extent,
                "source": l.source,
                "source_layer": l.source_layer,
                "source_crs": l.source_crs_label,
                "encoding": l.encoding,
                "encoding_source": l.encoding_source,
                "land_system": l.land_system.map(|s| s.as_str()),
                "land_system_reason": l.land_system_reason,
                "id_source": l.id_source,
                "mapping": l.mapping,
                "repaired": l.repaired,
                "skipped": l.skipped,
                "ingested_at": l.ingested_at,
                "notes": l.notes,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("store: {}", a.store.display());
    if let Some(c) = &crs {
        println!("analysis CRS (planar areas): {}", c.label);
    }
    if layers.is_empty() {
        println!(
            "no layers yet: landwatch ingest FILE --store {} --role ROLE --name NAME",
            a.store.display()
        );
        return Ok(());
    }
    println!(
        "{:<16} {:<10} {:>9} {:>16} {:>12} {:>14} {:>16}  {:<44} {:<46} encoding",
        "layer",
        "role",
        "features",
        "area m² (planar)",
        "公顷",
        "亩",
        "ellipsoidal m²",
        "extent (lon/lat)",
        "source CRS"
    );
    for l in &layers {
        let extent = l
            .extent
            .map(|e| format!("{:.5},{:.5} – {:.5},{:.5}", e[0], e[1], e[2], e[3]))
            .unwrap_or_else(|| "-".into());
        let role = match &l.kind {
            Some(k) => format!("{}:{k}", l.role),
            None => l.role.to_string(),
        };
        println!(
            "{:<16} {:<10} {:>9} {:>16.1} {:>12.2} {:>14.2} {:>16.1}  {:<44} {:<46} {}",
            l.name,
            role,
            l.count,
            l.area_m2,
            m2_to_hectares(l.area_m2),
            m2_to_mu(l.area_m2),
            l.area_ellipsoidal_m2,
            extent,
            l.source_crs_label,
            l.encoding
        );
    }
    Ok(())
}
