//! `landwatch restore` — bring a previous version of a layer back into service.

/// Arguments of `landwatch restore`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: super::StoreArg,
    /// The layer.
    #[arg(long)]
    layer: String,
    /// The version to bring back (`landwatch info` lists them).
    #[arg(long)]
    version: i64,
}

/// Restore the version; the one in service is kept as a previous version.
pub fn run(a: Args) -> anyhow::Result<()> {
    let mut store = a.store.location.open_for_writing()?;
    let info = store.restore_version(&a.layer, a.version)?;
    store.close()?;
    super::user::audit_local(
        &a.store.location,
        "layer.restore",
        &info.name,
        serde_json::json!({"version": a.version, "features": info.count, "source": info.source}),
    );
    eprintln!(
        "restored layer '{}' to version {} ({} features from {}, ingested {}); the version it replaced is kept (landwatch info --store {})",
        info.name, a.version, info.count, info.source, info.ingested_at, a.store.location
    );
    Ok(())
}
