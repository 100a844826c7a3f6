//! What goes wrong in a GeoPackage store, keyed by its file; converted into the
//! backend-neutral [`StoreError`] before it leaves `store/`.

use super::blob::BlobError;
use crate::store::{StoreError, StoreLocation};
use std::path::PathBuf;

/// An error of the GeoPackage backend.
#[derive(Debug, thiserror::Error)]
pub enum GpkgError {
    /// SQLite reported an error.
    #[error("{}: SQLite: {source}", .path.display())]
    Sqlite {
        /// The store file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// File-system trouble around the store file.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not a GeoPackage (or not one landwatch can use).
    #[error("{}: not a GeoPackage store: {why}", .path.display())]
    NotAStore {
        /// The file.
        path: PathBuf,
        /// What is missing.
        why: String,
    },
    /// The file does not exist.
    #[error("{}: does not exist", .0.display())]
    Missing(PathBuf),
    /// The path cannot be followed (a symbolic link loop, a link to nothing).
    #[error("{path}: {why}", path = .0.display(), why = .1)]
    Unreachable(PathBuf, String),
    /// The file cannot be written here.
    #[error("{}: read-only ({why})", .path.display())]
    ReadOnly {
        /// The store file.
        path: PathBuf,
        /// What the system said.
        why: String,
    },
    /// Another program holds the write lock and does not let go.
    #[error("{}: locked by {holder} for {waited_s} s", .path.display())]
    Locked {
        /// The store file.
        path: PathBuf,
        /// Who holds the lock, as far as is known.
        holder: String,
        /// How long the writer waited.
        waited_s: u64,
    },
    /// No layer of that name.
    #[error("{}: no layer '{name}' (layers: {available})", .path.display())]
    NoLayer {
        /// The store file.
        path: PathBuf,
        /// The name asked for.
        name: String,
        /// The names there are.
        available: String,
    },
    /// A stored geometry blob could not be decoded.
    #[error("layer {layer}, feature {fid}: {source}")]
    Geometry {
        /// The layer.
        layer: String,
        /// The feature id.
        fid: i64,
        /// What was wrong.
        source: BlobError,
    },
    /// The write-ahead log could not be folded into the main file after a commit.
    #[error("{}: WAL not folded ({why})", .path.display())]
    NotFolded {
        /// The store file.
        path: PathBuf,
        /// Why the checkpoint did not complete.
        why: String,
    },
    /// Too little free disk space to commit and fold the write.
    #[error("{}: {free} bytes free, {need} needed", .path.display())]
    DiskFull {
        /// The store file.
        path: PathBuf,
        /// Bytes free.
        free: u64,
        /// Bytes needed.
        need: u64,
    },
    /// Registry content that does not parse.
    #[error("{}: registry entry for '{layer}' is damaged: {why}", .path.display())]
    Registry {
        /// The store file.
        path: PathBuf,
        /// The layer.
        layer: String,
        /// What failed.
        why: String,
    },
    /// PROJ could not give a `gpkg_spatial_ref_sys` definition.
    #[error("the spatial reference system {0}")]
    Srs(String),
}

impl From<GpkgError> for StoreError {
    fn from(e: GpkgError) -> StoreError {
        let at = StoreLocation::GeoPackage;
        match e {
            GpkgError::Sqlite { path, source } => StoreError::Backend {
                location: at(path),
                source: Box::new(source),
            },
            GpkgError::Io { path, source } => StoreError::Backend {
                location: at(path),
                source: Box::new(source),
            },
            GpkgError::NotAStore { path, why } => StoreError::NotAStore {
                location: at(path),
                why,
            },
            GpkgError::Missing(path) => StoreError::Missing(at(path)),
            GpkgError::Unreachable(path, why) => StoreError::Unreachable(at(path), why),
            GpkgError::ReadOnly { path, why } => StoreError::ReadOnly {
                location: at(path),
                why,
            },
            GpkgError::Locked {
                path,
                holder,
                waited_s,
            } => StoreError::Locked {
                location: at(path),
                holder,
                waited_s,
            },
            GpkgError::NoLayer {
                path,
                name,
                available,
            } => StoreError::NoLayer {
                location: at(path),
                name,
                available,
            },
            GpkgError::Geometry { layer, fid, source } => StoreError::Geometry {
                layer,
                fid,
                source: Box::new(source),
            },
            GpkgError::NotFolded { path, why } => StoreError::NotFolded {
                location: at(path),
                why,
            },
            GpkgError::DiskFull { path, free, need } => StoreError::DiskFull {
                location: at(path),
                free,
                need,
            },
            GpkgError::Registry { path, layer, why } => StoreError::Registry {
                location: at(path),
                layer,
                why,
            },
            GpkgError::Srs(what) => StoreError::Srs(what),
        }
    }
}
