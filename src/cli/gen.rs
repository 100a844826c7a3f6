//! `landwatch gen`.

use landwatch::gen::{generate, GenOptions};
use std::path::PathBuf;

/// Arguments of `landwatch gen`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write the shapefiles into.
    #[arg(long)]
    out: PathBuf,
    /// How many parcels (about 2,000 per park beyond the three sample parks; at least 150,
    /// so that each of the three parks has a street grid).
    #[arg(long, default_value_t = 3000, value_parser = clap::value_parser!(u64).range(150..))]
    parcels: u64,
    /// Random seed; the same seed gives the same files.
    #[arg(long, default_value_t = 20261122)]
    seed: u64,
}

/// Write the dataset and say what was written.
pub fn run(a: Args) -> anyhow::Result<()> {
    let summary = generate(&GenOptions {
        out: a.out.clone(),
        parcels: usize::try_from(a.parcels)?,
        seed: a.seed,
    })?;
    eprintln!("{summary}");
    Ok(())
}
