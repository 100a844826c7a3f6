//! The command line: one file per subcommand, each a thin face over the library.

mod check;
mod event;
mod gen;
mod info;
mod ingest;
mod query;
mod restore;
mod serve;
// Accounts, the audit log and backups.
mod audit;
mod backup;
mod user;

use clap::{Parser, Subcommand};
use landwatch::store::{StoreLocation, DEFAULT_STORE};

/// `--store`, the same for every subcommand.
#[derive(Clone, Debug, clap::Args)]
pub struct StoreArg {
    /// The store: a GeoPackage file (an ingest creates it when missing), or a PostGIS schema
    /// as postgresql://user@host:port/database?schema=landwatch.
    #[arg(long = "store", value_name = "STORE", default_value = DEFAULT_STORE)]
    pub location: StoreLocation,
}

/// landwatch — idle and under-used land, park land shares and plan conflicts for industrial
/// parks (闲置土地, 低效用地, 园区用地结构, 多规合一).
#[derive(Debug, Parser)]
#[command(name = "landwatch", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log more (repeat for more detail); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Ingest a layer (Shapefile, GeoPackage, GeoJSON, FileGDB, KML) into the store.
    Ingest(ingest::Args),
    /// List the store's layers with counts, areas, extents, CRS and encoding.
    Info(info::Args),
    /// Features of a layer inside a bounding box, as GeoJSON on stdout.
    Query(query::Args),
    /// Idle and under-used land, per-mu evaluation, zoning shares, intensive-use indicators,
    /// data quality, plan conflicts (多规合一) and site compliance review.
    Check(check::Args),
    /// Serve the store: OGC API – Features, vector tiles, reports and the web map.
    Serve(serve::Args),
    /// Generate demonstration or benchmark data (GBK shapefiles in CGCS2000 zone 35).
    Gen(gen::Args),
    /// Record what was done about a finding (处置记录: investigated, confirmed, extended,
    /// fee collected, recovered …) and list the history.
    Event(event::Args),
    /// Bring a previous version of a layer back (`info` lists them); the one in service is
    /// kept in its turn.
    Restore(restore::Args),
    /// Accounts that may write to the server (and read it when it is private).
    User(user::Args),
    /// Every write to the store: who, when, from which address, what.
    Audit(audit::Args),
    /// A consistent copy of the store, also while a server writes to it.
    Backup(backup::Args),
}

impl Cli {
    /// How much to log.
    pub fn verbosity(&self) -> u8 {
        self.verbose
    }

    /// Whether the subcommand is the server.
    pub fn is_serve(&self) -> bool {
        matches!(self.command, Command::Serve(_))
    }

    /// Run the chosen subcommand.
    pub fn run(self) -> anyhow::Result<()> {
        match self.command {
            Command::Ingest(a) => ingest::run(a),
            Command::Info(a) => info::run(a),
            Command::Query(a) => query::run(a),
            Command::Gen(a) => gen::run(a),
            Command::Check(a) => check::run(a),
            Command::Serve(a) => serve::run(a),
            Command::Event(a) => event::run(a),
            Command::Restore(a) => restore::run(a),
            Command::User(a) => user::run(a),
            Command::Audit(a) => audit::run(a),
            Command::Backup(a) => backup::run(a),
        }
    }
}
