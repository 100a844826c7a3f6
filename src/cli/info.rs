//! `landwatch info`.

use landwatch::model::value::{m2_to_hectares, m2_to_mu};
use landwatch::report::table::{write_text, Cell, Table};
use serde_json::json;

/// Arguments of `landwatch info`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: super::StoreArg,
    /// Print JSON: {"layers":[{"name","role","count","area_m2",…}]}.
    #[arg(long)]
    json: bool,
}

/// Describe the store's layers.
pub fn run(a: Args) -> anyhow::Result<()> {
    let store = a.store.location.open()?;
    let layers = store.layers()?;
    let crs = store.analysis_crs()?;
    let versions = store.layer_versions()?;
    if a.json {
        let out = json!({
            "store": a.store.location.to_string(),
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
            "versions": versions.iter().map(|v| json!({
                "layer": v.info.name,
                "version": v.version,
                "retired_at": v.retired_at,
                "source": v.info.source,
                "ingested_at": v.info.ingested_at,
                "count": v.info.count,
                "area_m2": v.info.area_m2,
            })).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    println!("store: {}", a.store.location);
    if let Some(c) = &crs {
        println!("analysis CRS (planar areas): {}", c.label);
    }
    if layers.is_empty() {
        println!(
            "no layers yet: landwatch ingest FILE --store {} --role ROLE --name NAME",
            a.store.location
        );
        return Ok(());
    }
    let mut table = Table::new(
        "图层 layers",
        &[
            "图层",
            "类型",
            "要素数",
            "面积(㎡, 平面)",
            "面积(公顷)",
            "面积(亩)",
            "椭球面积(㎡)",
            "范围(经纬度)",
            "源坐标系",
            "编码",
        ],
    );
    for l in &layers {
        let extent = l
            .extent
            .map(|e| format!("{:.5},{:.5} – {:.5},{:.5}", e[0], e[1], e[2], e[3]));
        let role = match &l.kind {
            Some(k) => format!("{}:{k}", l.role),
            None => l.role.to_string(),
        };
        table.push(vec![
            l.name.as_str().into(),
            role.into(),
            Cell::Int(l.count as i64),
            Cell::num(Some(l.area_m2), 1),
            Cell::num(Some(m2_to_hectares(l.area_m2)), 2),
            Cell::num(Some(m2_to_mu(l.area_m2)), 2),
            Cell::num(Some(l.area_ellipsoidal_m2), 1),
            Cell::text(extent),
            l.source_crs_label.as_str().into(),
            l.encoding.as_str().into(),
        ]);
    }
    let mut kept = Table::new(
        "历史版本 previous versions (landwatch restore --layer NAME --version N)",
        &[
            "图层",
            "版本",
            "入库时间",
            "被替换时间",
            "来源",
            "要素数",
            "面积(亩)",
        ],
    );
    for v in &versions {
        kept.push(vec![
            v.info.name.as_str().into(),
            Cell::Int(v.version),
            v.info.ingested_at.as_str().into(),
            v.retired_at.as_str().into(),
            v.info.source.as_str().into(),
            Cell::Int(v.info.count as i64),
            Cell::num(Some(m2_to_mu(v.info.area_m2)), 2),
        ]);
    }
    let tables = if versions.is_empty() {
        vec![table]
    } else {
        vec![table, kept]
    };
    write_text(&mut std::io::stdout().lock(), &tables)?;
    Ok(())
}
