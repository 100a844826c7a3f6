//! `landwatch serve`.

use landwatch::server::{default_max_connections, serve, Cors, ServeOptions};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Arguments of `landwatch serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    store: super::StoreArg,
    /// Address to listen on (loopback by default; 0.0.0.0:8080 to serve the network).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: SocketAddr,
    /// A directory of rule packs replacing the built-in ones of the same name.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Seconds between looks for a changed store (an ingest swaps its layers in).
    #[arg(long, default_value_t = 1.0)]
    watch: f64,
    /// The address users reach the server at (https://gis.example.gov.cn/landwatch behind a
    /// reverse proxy): every link is built on it, never on the request's Host header.
    #[arg(long, value_parser = parse_public_url)]
    public_url: Option<String>,
    /// Origins whose web pages may read the API (CORS): comma-separated
    /// (https://a.example,https://b.example), '*' for any, or 'none'. Default: '*', or
    /// 'none' with --private.
    #[arg(long, value_parser = |s: &str| s.parse::<Cors>())]
    cors: Option<Cors>,
    /// The data is not for everyone: every read needs a viewer's token (or higher) sent as
    /// Authorization: Bearer TOKEN (landwatch user add NAME --role viewer), and no CORS
    /// unless --cors says so. Only the map page, its code and /health stay open. Without
    /// it, reads are open and only writes need a token (events: editor; uploads: admin).
    #[arg(long)]
    private: bool,
    /// The largest layer upload (POST /layers/NAME) taken, in MB; larger ones are answered
    /// 413 before they are read.
    #[arg(long, default_value_t = 512)]
    max_upload_mb: u64,
    /// Connections served at once; more are answered 503 with Retry-After (default: what
    /// the file-descriptor limit allows, less a reserve).
    #[arg(long)]
    max_connections: Option<usize>,
    /// Seconds a client has to send a request's headers; idle keep-alive connections close
    /// after as long.
    #[arg(long, default_value_t = 15.0)]
    header_timeout: f64,
    /// Analysis results kept in memory (a result per check, date and park): on a million
    /// parcels one holds hundreds of MB. The oldest is dropped first.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u16).range(1..))]
    analysis_cache: u16,
    /// Megabytes of vector tiles kept in memory for the snapshot in service (dropped when the
    /// store changes); 0 makes every tile afresh.
    #[arg(long, default_value_t = landwatch::server::DEFAULT_TILE_CACHE_MB, value_parser = parse_megabytes)]
    tile_cache_mb: f64,
}

fn parse_public_url(s: &str) -> Result<String, String> {
    let ok = (s.starts_with("http://") || s.starts_with("https://"))
        && s.len() > "https://".len()
        && !s.contains(['?', '#', ' ']);
    if ok {
        Ok(s.trim_end_matches('/').to_string())
    } else {
        Err(format!(
            "'{s}' is not a base URL: give scheme://host[:port][/path], e.g. https://gis.example.gov.cn/landwatch"
        ))
    }
}

fn parse_megabytes(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(mb) if mb.is_finite() && mb >= 0.0 => Ok(mb),
        _ => Err(format!(
            "'{s}' is not a size in megabytes: give a number ≥ 0 (0 keeps no tiles)"
        )),
    }
}

/// Serve until interrupted.
pub fn run(a: Args) -> anyhow::Result<()> {
    let cors = a
        .cors
        .unwrap_or(if a.private { Cors::None } else { Cors::Any });
    serve(ServeOptions {
        store: a.store.location,
        bind: a.bind,
        rules: a.rules,
        watch: Duration::from_secs_f64(a.watch.max(0.1)),
        public_url: a.public_url,
        cors,
        max_connections: a.max_connections.unwrap_or_else(default_max_connections),
        header_timeout: Duration::from_secs_f64(a.header_timeout.max(0.5)),
        private: a.private,
        max_upload: a.max_upload_mb.saturating_mul(1_000_000),
        analysis_cache: a.analysis_cache.into(),
        tile_cache_mb: a.tile_cache_mb,
    })
}
