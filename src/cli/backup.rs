//! `landwatch backup`: a consistent copy of the store, taken while a server writes to it.

use std::path::PathBuf;

/// Arguments of `landwatch backup`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: super::StoreArg,
    /// The copy (replaced atomically when it exists).
    #[arg(long)]
    out: PathBuf,
}

/// Copy the store.
pub fn run(a: Args) -> anyhow::Result<()> {
    let store = a.store.location.open_accounts()?;
    let r = store.backup(&a.out)?;
    eprintln!(
        "backed up {} to {}: {:.1} MB ({} pages, generation {}) in {:.2} s",
        a.store.location,
        a.out.display(),
        r.bytes as f64 / 1e6,
        r.pages,
        r.generation,
        r.seconds
    );
    Ok(())
}
