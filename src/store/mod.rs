//! The store (数据库): every ingested layer, its registry entry and the ingest log.
//!
//! Readers (the catalog, the command line) go through the [`Store`] trait, ingest through
//! [`StoreWriter`]; a [`StoreLocation`] (`--store`) opens either. Each backend lives in a folder
//! of its own with its own error type converted into [`StoreError`]: `gpkg/` keeps everything
//! in one `.gpkg` file that QGIS and GDAL open directly, so that a PostGIS store for a
//! province's tens of millions of parcels is an addition beside it, not a rewrite.

mod events;
mod gpkg;
mod location;

pub use events::{CaseStatus, EventFilter};
use gpkg::GeoPackage;
pub use location::{PostGisLocation, StoreLocation, DEFAULT_STORE};

// Accounts and the audit log.
mod accounts;
pub use accounts::{AccountStore, AuditEntry, BackupReport, NewUser, User};

use crate::geom::AnalysisCrs;
use crate::model::attr::{AttrValue, Column};
use crate::model::disposal::{CaseKey, DisposalError, Event, NewEvent};
use crate::model::{ClassSystem, Role};
use geo::{Geometry, Rect};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Something went wrong reading or writing the store, whichever backend holds it. The
/// message says what and where; [`StoreError::hint`] says what to do, when there is something.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The backend reported an error (SQLite, the file system).
    #[error("store {location}: {source}")]
    Backend {
        /// The store.
        location: StoreLocation,
        /// The backend's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The location holds something that is not a landwatch store.
    #[error("{location} is not a {} store: {why}", location.kind())]
    NotAStore {
        /// The store.
        location: StoreLocation,
        /// What is missing.
        why: String,
    },
    /// The store does not exist.
    #[error("store {at} does not exist: {hint}", at = .0, hint = self.hint_text())]
    Missing(StoreLocation),
    /// The location cannot be followed (a symbolic link loop, a link to nothing).
    #[error("store {0}: {1}")]
    Unreachable(StoreLocation, String),
    /// The store cannot be written here (read-only media, no permission).
    #[error("store {location} is read-only ({why}): {}", self.hint_text())]
    ReadOnly {
        /// The store.
        location: StoreLocation,
        /// What the system said.
        why: String,
    },
    /// Another program holds the store's write lock and does not let go.
    #[error("store {location} is being written by {holder}; waited {waited_s} s. {}", self.hint_text())]
    Locked {
        /// The store.
        location: StoreLocation,
        /// Who holds the lock, as far as is known.
        holder: String,
        /// How long this ingest waited.
        waited_s: u64,
    },
    /// No layer of that name.
    #[error("no layer named '{name}' in {location}; layers: {available}")]
    NoLayer {
        /// The store.
        location: StoreLocation,
        /// The name asked for.
        name: String,
        /// The names there are.
        available: String,
    },
    /// A layer name that cannot be a table and collection id.
    #[error("layer name '{0}' {1}")]
    BadName(String, String),
    /// A stored geometry could not be decoded.
    #[error("layer {layer}, feature {fid}: {source}")]
    Geometry {
        /// The layer.
        layer: String,
        /// The feature id.
        fid: i64,
        /// What was wrong.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A write committed into the write-ahead log that could not be folded into the main
    /// file: the store is whole only together with its `-wal` file.
    #[error("store {location}: the layer was committed, but the write-ahead log {location}-wal could not be folded into the .gpkg ({why}). {}", self.hint_text())]
    NotFolded {
        /// The store.
        location: StoreLocation,
        /// Why the checkpoint did not complete.
        why: String,
    },
    /// Too little free disk space to finish the write and leave the store whole.
    #[error("store {location}: the disk is nearly full: {} MB free, {} MB needed to commit this layer and fold it into the .gpkg. Nothing was stored (the store was not changed); {}", .free / 1_000_000, .need.div_ceil(1_000_000), self.hint_text())]
    DiskFull {
        /// The store.
        location: StoreLocation,
        /// Bytes free.
        free: u64,
        /// Bytes needed.
        need: u64,
    },
    /// A store of a kind this build cannot open.
    #[error("store {at}: PostGIS stores are not built into this landwatch yet; {hint}", at = .0, hint = self.hint_text())]
    NotBuilt(StoreLocation),
    /// The definition of a spatial reference system the store holds is not to be had.
    #[error("the spatial reference system {what}: {hint}", what = .0, hint = self.hint_text())]
    Srs(String),
    /// An event that breaks a disposal rule (the rule, and what to do, are in the message).
    #[error("{0}{hint}", hint = .0.hint().map(|h| format!(" — {h}")).unwrap_or_default())]
    Disposal(DisposalError),
    /// An event written against a case version that is no longer current: another write
    /// extended the case's history first.
    #[error(
        "the case {case} is at version {current}, not {expected}: another event was recorded first"
    )]
    StaleVersion {
        /// The case, as `subject layer/feature_id`.
        case: String,
        /// The version the writer named.
        expected: i64,
        /// The case's version now.
        current: i64,
    },
    /// No kept version of that number for the layer.
    #[error("layer '{layer}' has no previous version {version}; kept: {}", if available.is_empty() { "none".to_string() } else { available.iter().map(i64::to_string).collect::<Vec<_>>().join(", ") })]
    NoVersion {
        /// The layer.
        layer: String,
        /// The version asked for.
        version: i64,
        /// The versions kept.
        available: Vec<i64>,
    },
    /// An event for a feature the layer does not hold.
    #[error("layer '{layer}' has no feature '{feature_id}' (by its id field {id_field})")]
    NoFeature {
        /// The layer.
        layer: String,
        /// The id asked for.
        feature_id: String,
        /// The field ids are read from.
        id_field: String,
    },
    /// An event about a parcel finding in a layer that holds no parcels.
    #[error("layer '{layer}' is a {role} layer: {subject} events are about parcels")]
    NotParcels {
        /// The layer.
        layer: String,
        /// Its role.
        role: Role,
        /// The event's subject.
        subject: crate::model::disposal::Subject,
    },
    /// Registry content that does not parse.
    #[error("store {location}: registry entry for '{layer}' is damaged: {why}")]
    Registry {
        /// The store.
        location: StoreLocation,
        /// The layer.
        layer: String,
        /// What failed.
        why: String,
    },
    /// A record that would clash with one already stored (an account name taken).
    #[error("{0}")]
    Conflict(String),
}

impl StoreError {
    /// What to do about it, when the user can do something.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            StoreError::Missing(at) => {
                format!("ingest a layer first (landwatch ingest FILE --store {at} …)")
            }
            StoreError::ReadOnly { location, .. } => format!("it can be served and read, not written. Ingest into a writable copy (cp {location} /somewhere/writable/), then copy it back"),
            StoreError::Locked { .. } => "Run this ingest again when it is done".into(),
            StoreError::NotFolded { location, .. } => format!("The store is whole only together with its -wal file: do not copy or mail the .gpkg alone; free disk space (or stop the programs reading it) and run `landwatch info --store {location}`, which folds it in"),
            StoreError::DiskFull { .. } => "free some space and run the ingest again".into(),
            StoreError::NotBuilt(_) => {
                format!("use a GeoPackage store (--store {DEFAULT_STORE})")
            }
            StoreError::Srs(_) => "check the PROJ installation".into(),
            StoreError::Disposal(e) => return e.hint(),
            StoreError::StaleVersion { .. } => {
                "read the case's events again and decide on the next step from them".into()
            }
            StoreError::NoFeature { layer, .. } => format!("check the id (landwatch query --store … --layer {layer} …)"),
            _ => return None,
        })
    }

    fn hint_text(&self) -> String {
        self.hint().unwrap_or_default()
    }
}

impl From<DisposalError> for StoreError {
    fn from(e: DisposalError) -> StoreError {
        StoreError::Disposal(e)
    }
}

/// The registry entry (图层登记) of one stored layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// Layer and table name, also its collection id.
    pub name: String,
    /// What the layer is for.
    pub role: Role,
    /// Plan kind or red-line kind, when the role has one.
    pub kind: Option<String>,
    /// The source file as given.
    pub source: String,
    /// The layer inside the source file.
    pub source_layer: String,
    /// The source CRS, as PROJ understands it (EPSG:N or PROJJSON).
    pub source_crs: String,
    /// The source CRS in words.
    pub source_crs_label: String,
    /// The text encoding used to decode the source.
    pub encoding: String,
    /// Why that encoding (`--encoding`, `.cpg`, `LDID 0x4D`, detected …).
    pub encoding_source: String,
    /// The land classification system of the land-use codes.
    pub land_system: Option<ClassSystem>,
    /// Why that system (or why none).
    pub land_system_reason: Option<String>,
    /// Canonical attribute → source column.
    pub mapping: BTreeMap<String, String>,
    /// Where feature ids come from: a column name, or `fid` when the source has none.
    pub id_source: String,
    /// Stored features.
    pub count: u64,
    /// Geometries repaired at ingest.
    pub repaired: u64,
    /// Rows skipped at ingest (`--on-error skip`).
    pub skipped: u64,
    /// Planar area in the analysis CRS, m².
    pub area_m2: f64,
    /// Ellipsoidal area, m².
    pub area_ellipsoidal_m2: f64,
    /// Extent in lon/lat: [min_lon, min_lat, max_lon, max_lat].
    pub extent: Option<[f64; 4]>,
    /// When the layer was ingested (RFC 3339, UTC).
    pub ingested_at: String,
    /// Warnings the ingest raised.
    pub notes: Vec<String>,
}

/// What identifies the content of a store file: the generation counter every write raises,
/// the random token every write sets (a restored backup or a copy built elsewhere may share
/// the counter, never the token) and the file itself (device, inode), which changes when the
/// file is replaced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreStamp {
    /// The generation counter.
    pub generation: i64,
    /// The token of the last write (`None` in stores written before tokens).
    pub token: Option<String>,
    /// Device and inode of the file.
    pub file: (u64, u64),
}

/// One stored feature as read back.
#[derive(Clone, Debug)]
pub struct StoredFeature {
    /// Feature id in the store.
    pub fid: i64,
    /// Geometry in lon/lat (EPSG:4490), if any.
    pub geometry: Option<Geometry>,
    /// Attribute values, in the order of the layer's columns.
    pub values: Vec<AttrValue>,
}

/// Read access to stored layers; what the catalog and the command line need.
pub trait Store {
    /// Every registered layer, in name order.
    fn layers(&self) -> Result<Vec<LayerInfo>, StoreError>;
    /// The analysis CRS every layer's areas were computed in (set by the first ingest).
    fn analysis_crs(&self) -> Result<Option<AnalysisCrs>, StoreError>;
    /// A layer's attribute columns, in stored order.
    fn columns(&self, layer: &str) -> Result<Vec<Column>, StoreError>;
    /// Visit a layer's features in fid order; only those whose envelope meets `bbox`
    /// (lon/lat) when one is given.
    fn scan(
        &self,
        layer: &str,
        bbox: Option<Rect>,
        visit: &mut dyn FnMut(StoredFeature) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Visit a layer's features in fid order with the values of `columns` only (indices
    /// into [`Store::columns`]), in that order: a load that needs a few attributes reads
    /// only those.
    fn scan_columns(
        &self,
        layer: &str,
        columns: &[usize],
        visit: &mut dyn FnMut(StoredFeature) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// A number that changes whenever any layer is written (for reloading).
    fn version(&self) -> Result<i64, StoreError>;
    /// Where the store is.
    fn location(&self) -> StoreLocation;
    /// What identifies the store's content now: a server reloads when it changes.
    fn stamp(&self) -> Result<StoreStamp, StoreError>;
    /// The recorded events (处置记录) that pass `filter`, in recording (id) order.
    fn events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError>;
    /// The previous versions of layers kept in the store, by layer then version.
    fn layer_versions(&self) -> Result<Vec<LayerVersion>, StoreError>;
    /// Where one case stands, with the version a write names to extend it.
    fn case_status(&self, key: &CaseKey) -> Result<CaseStatus, StoreError> {
        let history = self.events(&EventFilter::case(key))?;
        Ok(CaseStatus::of(key.clone(), &history))
    }
}

/// A layer about to be written.
#[derive(Clone, Debug)]
pub struct NewLayer {
    /// Table name (validated).
    pub name: String,
    /// Attribute columns, original names.
    pub columns: Vec<Column>,
    /// Geometry type name, as GeoPackage and PostGIS spell it (`MULTIPOLYGON`, `GEOMETRY`).
    pub geometry_type: String,
    /// The source file, for the note that says who writes the store.
    pub source: String,
}

/// Write access to a store: what ingest needs. A layer is written as a new version beside
/// the one in service and swapped in, together with its registry entry, the store's stamp
/// and the ingest log, in one commit; until then readers see the previous version, and a
/// refused, failed or killed write leaves the store as it was.
pub trait StoreWriter: Store {
    /// The stored layer whose name differs from `name` in letter case only, if any (names
    /// that differ only so are the same name to the store).
    fn name_taken_in_other_case(&self, name: &str) -> Result<Option<String>, StoreError>;
    /// Begin a new version of `layer`, replacing any layer of that name when it commits; the
    /// store's write lock is held until then.
    fn begin_layer(&mut self, layer: &NewLayer) -> Result<Box<dyn LayerWrite + '_>, StoreError>;
    /// Finish with the store: make what was committed durable and in place.
    fn close(self: Box<Self>) -> Result<(), StoreError>;
    /// Record one event, durably, in a transaction of its own: refused when the feature is
    /// not in its layer, when the event breaks a disposal rule given the case's history, or
    /// when `if_match` names a case version that is no longer current
    /// ([`StoreError::StaleVersion`]). Returns the event as stored.
    fn append_event(
        &mut self,
        event: &NewEvent,
        if_match: Option<i64>,
    ) -> Result<Event, StoreError>;
    /// Bring a previous version of a layer back into service, in one commit; the version in
    /// service is kept as a previous version in its turn. Returns the restored entry.
    fn restore_version(&mut self, layer: &str, version: i64) -> Result<LayerInfo, StoreError>;
}

/// A previous version of a layer (图层历史版本), replaced by a later ingest or restore.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LayerVersion {
    /// Its number in the store.
    pub version: i64,
    /// When it was replaced (RFC 3339, UTC).
    pub retired_at: String,
    /// Its registry entry as it was in service.
    pub info: LayerInfo,
}

/// A layer version being written (see [`StoreWriter::begin_layer`]); dropped uncommitted, it
/// leaves no trace.
pub trait LayerWrite {
    /// Whether the commit replaces an existing layer.
    fn replaces(&self) -> bool;
    /// Append one feature (geometry in lon/lat, or none); returns its fid.
    fn insert(
        &mut self,
        geometry: Option<&Geometry>,
        values: &[AttrValue],
    ) -> Result<i64, StoreError>;
    /// Commit the layer with what goes with it, and a new store stamp.
    fn commit(self: Box<Self>, entry: &Commit<'_>) -> Result<(), StoreError>;
}

/// What commits together with a layer version.
#[derive(Clone, Copy, Debug)]
pub struct Commit<'a> {
    /// The layer's registry entry (图层登记).
    pub info: &'a LayerInfo,
    /// The store's analysis CRS (set by its first layer).
    pub analysis_crs: &'a AnalysisCrs,
    /// How long the ingest took, for the ingest log (入库日志).
    pub seconds: f64,
    /// The ingest report, as JSON, for the ingest log.
    pub report_json: &'a str,
}

/// Names that are taken: GeoPackage and landwatch tables, and the analysis collections.
const RESERVED: [&str; 7] = [
    "idle",
    "underused",
    "zoning",
    "conflicts",
    "quality",
    "mujun",
    "events",
];

/// Check that a layer name can be a table name and a URL-safe, dot-free collection id.
pub fn validate_layer_name(name: &str) -> Result<(), StoreError> {
    let bad = |why: &str| Err(StoreError::BadName(name.to_string(), why.to_string()));
    if name.is_empty() {
        return bad("is empty");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return bad("may hold only ASCII letters, digits, '_' and '-' (no dots, spaces or Chinese): it becomes a URL and table name; keep Chinese names in the source attributes");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return bad("must start with a letter (A–Z, a–z)");
    }
    if name.len() > 63 {
        return bad("is longer than 63 characters");
    }
    let lower = name.to_ascii_lowercase();
    if gpkg::RESERVED_PREFIXES.iter().any(|p| lower.starts_with(p)) {
        return bad("uses a prefix reserved for GeoPackage and landwatch tables");
    }
    if RESERVED.contains(&lower.as_str()) {
        return bad("is the name of an analysis collection; choose another");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::gpkg::GpkgError;
    use super::*;

    #[test]
    fn an_error_says_what_and_where_and_carries_what_to_do() {
        let at = StoreLocation::gpkg("x/s.gpkg");
        let e = StoreError::Missing(at.clone());
        assert_eq!(
            e.to_string(),
            "store x/s.gpkg does not exist: ingest a layer first (landwatch ingest FILE --store x/s.gpkg …)"
        );
        assert_eq!(
            e.hint().as_deref(),
            Some("ingest a layer first (landwatch ingest FILE --store x/s.gpkg …)")
        );
        let locked: StoreError = GpkgError::Locked {
            path: "x/s.gpkg".into(),
            holder: "QGIS".into(),
            waited_s: 30,
        }
        .into();
        assert_eq!(
            locked.to_string(),
            "store x/s.gpkg is being written by QGIS; waited 30 s. Run this ingest again when it is done"
        );
        let none = StoreError::NoLayer {
            location: at,
            name: "a".into(),
            available: "b".into(),
        };
        assert!(none.hint().is_none());
    }

    #[test]
    fn a_file_that_is_no_geopackage_is_named_by_its_location() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.gpkg");
        std::fs::write(
            &path,
            "not a database, just text that is long enough to be a page header",
        )
        .unwrap();
        let e = StoreLocation::gpkg(&path).open().err().expect("refused");
        match &e {
            StoreError::NotAStore { location, .. } => assert_eq!(location.path(), Some(&*path)),
            other => panic!("{other}"),
        }
        assert!(e.to_string().contains("is not a GeoPackage store"), "{e}");
    }

    #[test]
    fn layer_names_are_url_and_table_safe() {
        for ok in ["parcels", "kg_2021", "Tugui-2020"] {
            validate_layer_name(ok).unwrap();
        }
        for bad in [
            "",
            "2parcels",
            "a.b",
            "宗地",
            "gpkg_contents",
            "idle",
            "a b",
        ] {
            assert!(validate_layer_name(bad).is_err(), "{bad}");
        }
    }
}
