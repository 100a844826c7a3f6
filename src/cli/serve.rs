//! `landwatch serve`.

use landwatch::server::{serve, ServeOptions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `landwatch serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The store.
    #[arg(long, default_value = "data/landwatch.gpkg")]
    store: PathBuf,
    /// Address to listen on (loopback by default; 0.0.0.0:8080 to serve the network).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// A directory of rule packs replacing the built-in ones of the same name.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Seconds between looks for a changed store (an ingest swaps its layers in).
    #[arg(long, default_value_t = 1.0)]
    watch: f64,
}

/// Serve until interrupted.
pub fn run(a: Args) -> anyhow::Result<()> {
    serve(ServeOptions {
        store: a.store,
        bind: a.bind,
        rules: a.rules,
        watch: Duration::from_secs_f64(a.watch.max(0.1)),
    })
}
