//! The GeoPackage store: OGC GeoPackage 1.3 tables written with SQLite directly.
//!
//! Writing a layer is one SQLite transaction in WAL mode: until it commits, other readers (a
//! running server, QGIS) see the previous layer, and the main file is never touched — a
//! refused, failed or killed ingest leaves it byte-for-byte as it was. A store that does not
//! exist yet is built in a temporary file and renamed into place when the first layer commits.

mod accounts;
pub(crate) mod blob;
mod columns;
mod error;
mod events;
mod lock;
mod srs;
mod versions;

pub use error::GpkgError;

use super::{
    validate_layer_name, Commit, EventFilter, LayerInfo, LayerVersion, LayerWrite, NewLayer, Store,
    StoreError, StoreLocation, StoreStamp, StoreWriter, StoredFeature,
};
use crate::geom::bounds::cover;
use crate::geom::AnalysisCrs;
use crate::model::attr::{AttrValue, Column};
use crate::model::disposal::{Event, NewEvent};
use geo::{Geometry, Rect};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, ToSql};
use std::path::{Path, PathBuf};

/// A GeoPackage store file.
pub struct GeoPackage {
    path: PathBuf,
    conn: Connection,
    /// Set while a new store is being built in a temporary file: (temporary, final).
    building: Option<(PathBuf, PathBuf)>,
    /// Says that this process writes the store, from the write lock until the log is
    /// folded (see [`lock`]).
    writer_note: Option<lock::WriterNote>,
}

const SCHEMA_GPKG: &str = r#"
PRAGMA application_id = 1196444487;
PRAGMA user_version = 10300;
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
CREATE TABLE gpkg_extensions (
  table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
  scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name));
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system');
"#;

const SCHEMA_LANDWATCH: &str = r#"
CREATE TABLE IF NOT EXISTS landwatch_meta (
  id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS landwatch_layers (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, kind TEXT,
  source TEXT NOT NULL, source_layer TEXT NOT NULL, source_crs TEXT NOT NULL,
  source_crs_label TEXT NOT NULL, encoding TEXT NOT NULL, encoding_source TEXT NOT NULL,
  land_system TEXT, land_system_reason TEXT, field_mapping TEXT NOT NULL, id_source TEXT NOT NULL,
  feature_count INTEGER NOT NULL, repaired INTEGER NOT NULL, skipped INTEGER NOT NULL,
  area_m2 REAL NOT NULL, area_ellipsoidal_m2 REAL NOT NULL,
  min_lon REAL, min_lat REAL, max_lon REAL, max_lat REAL,
  ingested_at TEXT NOT NULL, notes TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS landwatch_ingest_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, layer TEXT NOT NULL,
  action TEXT NOT NULL, source TEXT NOT NULL, features INTEGER NOT NULL, repaired INTEGER NOT NULL,
  skipped INTEGER NOT NULL, seconds REAL NOT NULL, report TEXT NOT NULL);
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) VALUES
  ('landwatch_layers', 'attributes', 'landwatch_layers', '图层登记 — layers ingested by landwatch'),
  ('landwatch_ingest_log', 'attributes', 'landwatch_ingest_log', '入库日志 — ingest log'),
  ('landwatch_meta', 'attributes', 'landwatch_meta', 'landwatch store settings');
"#;

/// Table-name prefixes that GeoPackage, SQLite and landwatch keep for their own tables
/// (`gpkg_contents`, `rtree_<layer>_geom`, `sqlite_sequence`, `landwatch_layers`).
pub(super) const RESERVED_PREFIXES: [&str; 4] = ["gpkg_", "rtree_", "landwatch_", "sqlite_"];

/// Quote an SQL identifier.
fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

impl ToSql for AttrValue {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            AttrValue::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            AttrValue::Integer(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            AttrValue::Real(r) => ToSqlOutput::Borrowed(ValueRef::Real(*r)),
            AttrValue::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

fn attr_from_sql(v: ValueRef<'_>) -> AttrValue {
    match v {
        ValueRef::Null => AttrValue::Null,
        ValueRef::Integer(i) => AttrValue::Integer(i),
        ValueRef::Real(r) => AttrValue::Real(r),
        ValueRef::Text(t) => AttrValue::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(_) => AttrValue::Null,
    }
}

impl GeoPackage {
    fn sql_err(&self) -> impl Fn(rusqlite::Error) -> GpkgError + '_ {
        move |source| GpkgError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Open an existing store to read it. A store that cannot be written here (read-only
    /// media, a file without write permission) is opened read-only, and as an immutable
    /// file when SQLite cannot even keep its shared-memory index beside it.
    pub fn open(path: &Path) -> Result<GeoPackage, StoreError> {
        match GeoPackage::open_writable(path) {
            Err(GpkgError::ReadOnly { why, .. }) => {
                let store = GeoPackage::open_read_only(path, false)
                    .or_else(|_| GeoPackage::open_read_only(path, true))?;
                tracing::debug!(store = %path.display(), "opened read-only: {why}");
                Ok(store)
            }
            other => Ok(other?),
        }
    }

    fn open_read_only(path: &Path, immutable: bool) -> Result<GeoPackage, GpkgError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = if immutable {
            Connection::open_with_flags(
                sqlite_uri(path, "immutable=1"),
                flags | OpenFlags::SQLITE_OPEN_URI,
            )
        } else {
            Connection::open_with_flags(path, flags)
        }
        .map_err(|source| GpkgError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
        GeoPackage::over(path, conn)
    }

    /// The store over an open connection, once it has been found to be a GeoPackage.
    fn over(path: &Path, conn: Connection) -> Result<GeoPackage, GpkgError> {
        let store = GeoPackage {
            path: path.to_path_buf(),
            conn,
            building: None,
            writer_note: None,
        };
        store.check_is_geopackage()?;
        Ok(store)
    }

    /// Open an existing store for reading and writing; a store that cannot be written here
    /// is refused with [`GpkgError::ReadOnly`].
    fn open_writable(path: &Path) -> Result<GeoPackage, GpkgError> {
        if !path.exists() {
            return Err(match crate::io::unreachable(path) {
                Some(why) => GpkgError::Unreachable(path.to_path_buf(), why),
                None => GpkgError::Missing(path.to_path_buf()),
            });
        }
        if let Some(why) = not_writable(path) {
            return Err(GpkgError::ReadOnly {
                path: path.to_path_buf(),
                why,
            });
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| GpkgError::Sqlite {
            path: path.to_path_buf(),
            source,
        })?;
        let store = GeoPackage::over(path, conn)?;
        store.configure()?;
        store.fold_leftover_log();
        Ok(store)
    }

    /// Fold a committed log that a killed writer left behind (killed while folding, or a
    /// disk that filled then), so that the .gpkg alone is whole again. The store is whole
    /// with its log meanwhile, so this never waits for other readers: what cannot be folded
    /// now is said, and folded by the next write.
    fn fold_leftover_log(&self) {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        if !std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
            return;
        }
        let checkpoint = |mode: &str| {
            self.conn
                .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
                    Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
                })
        };
        match checkpoint("PASSIVE") {
            Ok((log, done)) if done >= log => {
                let _ = self
                    .conn
                    .busy_timeout(std::time::Duration::from_millis(100));
                let _ = checkpoint("TRUNCATE");
                let _ = self.conn.busy_timeout(std::time::Duration::from_secs(30));
            }
            Ok((log, done)) => tracing::warn!(
                store = %self.path.display(),
                "{} of {log} pages of a committed write are still only in the -wal file (other programs are reading the store): do not copy the .gpkg alone until the next write has folded them",
                log - done
            ),
            Err(e) => {
                tracing::warn!(store = %self.path.display(), "cannot fold the -wal file into the .gpkg: {e}")
            }
        }
    }

    /// Open a store to write a layer into, creating it when it does not exist yet.
    ///
    /// A new store is built in `PATH.building-PID` and only appears at `PATH` once its first
    /// layer commits.
    pub fn open_for_writing(path: &Path) -> Result<GeoPackage, StoreError> {
        if path.exists() {
            return Ok(GeoPackage::open_writable(path)?);
        }
        if let Some(why) = crate::io::unreachable(path) {
            return Err(GpkgError::Unreachable(path.to_path_buf(), why).into());
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| GpkgError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        remove_stale_builds(path);
        let tmp = building_path(path, std::process::id());
        let _ = std::fs::remove_file(&tmp);
        let conn = Connection::open(&tmp).map_err(|source| GpkgError::Sqlite {
            path: tmp.clone(),
            source,
        })?;
        let store = GeoPackage {
            path: tmp.clone(),
            conn,
            building: Some((tmp, path.to_path_buf())),
            writer_note: None,
        };
        // The file is private until renamed: no journal is needed, a failure deletes it.
        store
            .conn
            .execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
            .map_err(store.sql_err())?;
        store
            .conn
            .execute_batch(&format!("BEGIN; {SCHEMA_GPKG} {SCHEMA_LANDWATCH} COMMIT;"))
            .map_err(store.sql_err())?;
        Ok(store)
    }

    fn configure(&self) -> Result<(), GpkgError> {
        self.conn
            .busy_timeout(std::time::Duration::from_secs(30))
            .map_err(self.sql_err())?;
        // WAL: readers never wait for a writer, and an unfinished write never reaches the
        // main file. The mode is persistent; setting it again is a no-op. A GeoPackage that
        // landwatch did not make is left in its own mode (rollback journals are atomic too):
        // opening it must not change it.
        if self.has_table("landwatch_layers")? {
            let mode: String = self
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
                .map_err(self.sql_err())?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(store = %self.path.display(), mode, "store is not in WAL mode");
            }
        }
        self.conn
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA cache_size = -262144;")
            .map_err(self.sql_err())?;
        Ok(())
    }

    fn check_is_geopackage(&self) -> Result<(), GpkgError> {
        let has: Option<i64> = self
            .conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE name = 'gpkg_contents'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::NotADatabase =>
                {
                    GpkgError::NotAStore {
                        path: self.path.clone(),
                        why: "it is not an SQLite database".into(),
                    }
                }
                other => self.sql_err()(other),
            })?;
        if has.is_none() {
            return Err(GpkgError::NotAStore {
                path: self.path.clone(),
                why: "it has no gpkg_contents table".into(),
            });
        }
        Ok(())
    }

    fn has_table(&self, name: &str) -> Result<bool, GpkgError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [name],
                |_| Ok(()),
            )
            .optional()
            .map_err(self.sql_err())?
            .is_some())
    }

    /// The name of a table or view that differs from `name` only in letter case: SQLite
    /// names are case-insensitive, so a layer cannot be called both `parcels` and `Parcels`.
    pub fn name_taken_in_other_case(&self, name: &str) -> Result<Option<String>, StoreError> {
        let found: Option<String> = self
            .conn
            .query_row(
                "SELECT name FROM sqlite_master WHERE name = ?1 COLLATE NOCASE AND name <> ?1",
                [name],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sql_err())?;
        Ok(found)
    }

    fn meta(&self, key: &str) -> Result<Option<String>, GpkgError> {
        if !self.has_table("landwatch_meta")? {
            return Ok(None);
        }
        self.conn
            .query_row(
                "SELECT value FROM landwatch_meta WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sql_err())
    }

    fn geometry_column(&self, layer: &str) -> Result<Option<String>, GpkgError> {
        self.conn
            .query_row(
                "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?1",
                [layer],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sql_err())
    }

    fn pk_and_columns(&self, layer: &str) -> Result<(String, Vec<Column>), GpkgError> {
        let geom = self.geometry_column(layer)?.unwrap_or_default();
        let mut stmt = self
            .conn
            .prepare(&format!("PRAGMA table_info({})", ident(layer)))
            .map_err(self.sql_err())?;
        let mut pk = String::from("rowid");
        let mut cols = vec![];
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(5)?,
                ))
            })
            .map_err(self.sql_err())?;
        for row in rows {
            let (name, decl, is_pk) = row.map_err(self.sql_err())?;
            if is_pk == 1 {
                pk = name;
            } else if name != geom {
                cols.push(Column {
                    name,
                    ty: columns::attr_type(&decl),
                });
            }
        }
        if cols.is_empty() && pk == "rowid" && !self.has_table(layer)? {
            return Err(self.no_layer(layer));
        }
        Ok((pk, cols))
    }

    fn no_layer(&self, name: &str) -> GpkgError {
        let available = self
            .layers()
            .map(|ls| {
                ls.into_iter()
                    .map(|l| l.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        GpkgError::NoLayer {
            path: self.path.clone(),
            name: name.to_string(),
            available: if available.is_empty() {
                "(none)".into()
            } else {
                available
            },
        }
    }

    /// Start writing `layer`, replacing any layer of the same name when the write commits.
    pub fn begin_layer(&mut self, layer: &NewLayer) -> Result<LayerWriter<'_>, StoreError> {
        validate_layer_name(&layer.name)?;
        let taken = |n: &str| layer.columns.iter().any(|c| c.name.eq_ignore_ascii_case(n));
        let fid = ["fid", "lw_fid", "landwatch_fid"]
            .into_iter()
            .find(|n| !taken(n))
            .expect("a free name")
            .to_string();
        let geom = ["geom", "lw_geom", "landwatch_geom"]
            .into_iter()
            .find(|n| !taken(n))
            .expect("a free name")
            .to_string();
        if self.building.is_some() {
            // A store being built is private to this process: nobody else can hold it.
            self.conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(self.sql_err())?;
        } else {
            let note = lock::begin_write(&self.conn, &self.path, &layer.name, &layer.source)?;
            self.writer_note = Some(note);
        }
        let conn = &self.conn;
        let err = |source| GpkgError::Sqlite {
            path: self.path.clone(),
            source,
        };
        // landwatch's own tables join the store with its first layer written by landwatch.
        if let Err(e) = conn.execute_batch(SCHEMA_LANDWATCH) {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(err(e).into());
        }
        // The layer in service is kept as a previous version, when landwatch registered it.
        let retiring = match self.layers() {
            Ok(ls) => match ls.into_iter().find(|l| l.name == layer.name) {
                Some(info) => match (
                    self.pk_and_columns(&info.name),
                    self.geometry_column(&info.name),
                ) {
                    (Ok((fid, _)), Ok(Some(geom))) => Some((info, fid, geom)),
                    _ => None,
                },
                None => None,
            },
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e);
            }
        };
        let mut writer = LayerWriter {
            retiring,
            store_path: self.path.clone(),
            conn,
            name: layer.name.clone(),
            fid,
            geom,
            n_columns: layer.columns.len(),
            srs_id: srs::STORED,
            blob: Vec::with_capacity(512),
            insert_sql: String::new(),
            rtree_sql: String::new(),
            extent: None,
            replaced: false,
            done: false,
            pages_before: conn
                .query_row("PRAGMA page_count", [], |r| r.get::<_, i64>(0))
                .map_err(err)?
                .max(0) as u64,
        };
        writer.prepare(layer)?;
        Ok(writer)
    }

    /// Finish a newly built store: make it durable and move it into place.
    pub fn close(mut self) -> Result<PathBuf, StoreError> {
        let building = self.building.take();
        let path = self.path.clone();
        if let Some((tmp, dest)) = building {
            self.conn
                .execute_batch("PRAGMA journal_mode = WAL;")
                .map_err(self.sql_err())?;
            // Close the file before moving it.
            let placeholder = Connection::open_in_memory().map_err(self.sql_err())?;
            drop(std::mem::replace(&mut self.conn, placeholder));
            let io = |source| GpkgError::Io {
                path: tmp.clone(),
                source,
            };
            std::fs::File::open(&tmp)
                .and_then(|f| f.sync_all())
                .map_err(io)?;
            if dest.exists() {
                // Another ingest created the store meanwhile; refuse rather than overwrite it.
                let _ = std::fs::remove_file(&tmp);
                return Err(GpkgError::Io {
                    path: dest.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "the store was created by another ingest while this one ran; run this ingest again",
                    ),
                }
                .into());
            }
            std::fs::rename(&tmp, &dest).map_err(io)?;
            return Ok(dest);
        }
        self.fold_log()?;
        self.writer_note = None;
        Ok(path)
    }

    /// Fold the write-ahead log into the main file, so that the .gpkg alone is complete
    /// (bureaus copy and mail .gpkg files). A full checkpoint waits (busy timeout) only for
    /// readers of snapshots older than this write; a server already loading the new one does
    /// not hold it up. The log is then emptied if no reader is in it. A checkpoint that still
    /// cannot finish (a full disk, a reader that never lets go) is an error, not a silent
    /// half-store.
    pub fn fold_log(&self) -> Result<(), StoreError> {
        let not_folded = |why: String| GpkgError::NotFolded {
            path: self.path.clone(),
            why,
        };
        let checkpoint = |mode: &str| -> Result<(i64, i64, i64), GpkgError> {
            self.conn
                .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .map_err(|e| not_folded(e.to_string()))
        };
        for _ in 0..3 {
            let (busy, log, done) = checkpoint("FULL")?;
            if busy == 0 && done >= log {
                // Every frame is in the .gpkg; shrinking the log is only tidiness.
                let _ = self
                    .conn
                    .busy_timeout(std::time::Duration::from_millis(100));
                let _ = checkpoint("TRUNCATE");
                let _ = self.conn.busy_timeout(std::time::Duration::from_secs(30));
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        Err(not_folded("other programs kept reading the old snapshot".into()).into())
    }
}

impl Drop for GeoPackage {
    fn drop(&mut self) {
        if let Some((tmp, _)) = self.building.take() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Why the store file, or the directory that must hold its `-wal` and `-shm` files, cannot
/// be written by this process; `None` when both can.
fn not_writable(path: &Path) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    for (p, what) in [(path, "the file"), (dir, "its directory")] {
        let c = std::ffi::CString::new(p.as_os_str().as_bytes()).ok()?;
        // SAFETY: access reads the NUL-terminated path and returns a status.
        if unsafe { libc::access(c.as_ptr(), libc::W_OK) } != 0 {
            return Some(format!("{what}: {}", std::io::Error::last_os_error()));
        }
    }
    None
}

/// An SQLite `file:` URI for `path` with a query (`immutable=1`).
fn sqlite_uri(path: &Path, query: &str) -> String {
    use std::os::unix::ffi::OsStrExt;
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut uri = String::from("file:");
    for &b in abs.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/._-~".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push('?');
    uri.push_str(query);
    uri
}

fn building_path(path: &Path, pid: u32) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".building-{pid}"));
    path.with_file_name(name)
}

/// Remove temporary stores left by ingests that were killed (their process is gone).
fn remove_stale_builds(path: &Path) {
    let Some(dir) = path.parent() else { return };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Some(stem) = path.file_name().and_then(|n| n.to_str()) else {
        return;
    };
    let prefix = format!("{stem}.building-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// An open write of one layer; dropped without [`LayerWriter::commit`], it rolls back.
pub struct LayerWriter<'a> {
    /// The registered layer this write replaces, its key and geometry columns: kept as a
    /// previous version.
    retiring: Option<(LayerInfo, String, String)>,
    store_path: PathBuf,
    conn: &'a Connection,
    name: String,
    fid: String,
    geom: String,
    n_columns: usize,
    srs_id: i32,
    blob: Vec<u8>,
    insert_sql: String,
    rtree_sql: String,
    extent: Option<Rect>,
    replaced: bool,
    done: bool,
    /// The store's size in pages before this write.
    pages_before: u64,
}

impl<'a> LayerWriter<'a> {
    fn err(&self) -> impl Fn(rusqlite::Error) -> GpkgError + '_ {
        move |source| GpkgError::Sqlite {
            path: self.store_path.clone(),
            source,
        }
    }

    fn prepare(&mut self, layer: &NewLayer) -> Result<(), GpkgError> {
        let c = self.conn;
        let t = ident(&self.name);
        let rtree = format!("rtree_{}_{}", self.name, self.geom);
        let exists: bool = c
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [&self.name],
                |_| Ok(()),
            )
            .optional()
            .map_err(self.err())?
            .is_some();
        if let (true, Some((info, fid, geom))) = (exists, &self.retiring) {
            self.replaced = true;
            versions::retire(
                c,
                &versions::Retiring {
                    info,
                    geometry_column: geom,
                    fid_column: fid,
                },
            )
            .map_err(self.err())?;
        } else if exists {
            self.replaced = true;
            let old_geom: Option<String> = c
                .query_row(
                    "SELECT column_name FROM gpkg_geometry_columns WHERE table_name = ?1",
                    [&self.name],
                    |r| r.get(0),
                )
                .optional()
                .map_err(self.err())?;
            if let Some(g) = old_geom {
                c.execute_batch(&format!(
                    "DROP TABLE IF EXISTS {};",
                    ident(&format!("rtree_{}_{}", self.name, g))
                ))
                .map_err(self.err())?;
            }
            c.execute_batch(&format!("DROP TABLE {t};"))
                .map_err(self.err())?;
            for table in ["gpkg_extensions", "gpkg_geometry_columns", "gpkg_contents"] {
                c.execute(
                    &format!("DELETE FROM {table} WHERE table_name = ?1"),
                    [&self.name],
                )
                .map_err(self.err())?;
            }
        }
        // GeoPackage requires WGS 84 (EPSG:4326) beside the SRS of the stored geometries.
        let rows = [srs::row(srs::STORED)?, srs::row(4326)?];
        for srs in &rows {
            c.execute(
                // Columns named: GeoPackages written by GDAL with the CRS WKT extension have
                // a seventh (definition_12_063).
                "INSERT OR IGNORE INTO gpkg_spatial_ref_sys (srs_name, srs_id, organization, organization_coordsys_id, definition, description) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    srs.name,
                    srs.srs_id,
                    srs.organization,
                    srs.organization_id,
                    srs.definition,
                    srs.name
                ],
            )
            .map_err(self.err())?;
        }
        let mut ddl = format!(
            "CREATE TABLE {t} ({} INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, {} {}",
            ident(&self.fid),
            ident(&self.geom),
            layer.geometry_type
        );
        for col in &layer.columns {
            ddl.push_str(&format!(
                ", {} {}",
                ident(&col.name),
                columns::sql_type(col.ty)
            ));
        }
        ddl.push_str(");");
        ddl.push_str(&format!(
            "CREATE VIRTUAL TABLE {} USING rtree(id, minx, maxx, miny, maxy);",
            ident(&rtree)
        ));
        c.execute_batch(&ddl).map_err(self.err())?;
        c.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES (?1, 'features', ?1, ?2)",
            params![self.name, srs::STORED],
        )
        .map_err(self.err())?;
        c.execute(
            "INSERT INTO gpkg_geometry_columns VALUES (?1, ?2, ?3, ?4, 0, 0)",
            params![self.name, self.geom, layer.geometry_type, srs::STORED],
        )
        .map_err(self.err())?;
        let names: String = layer
            .columns
            .iter()
            .map(|col| format!(", {}", ident(&col.name)))
            .collect();
        let placeholders: String = (2..=layer.columns.len() + 1)
            .map(|i| format!(", ?{i}"))
            .collect();
        self.insert_sql = format!(
            "INSERT INTO {t} ({}{names}) VALUES (?1{placeholders})",
            ident(&self.geom)
        );
        self.rtree_sql = format!("INSERT INTO {} VALUES (?1, ?2, ?3, ?4, ?5)", ident(&rtree));
        Ok(())
    }

    /// Append one feature (geometry in the layer's SRS, or none); returns its fid.
    pub fn insert(
        &mut self,
        geometry: Option<&Geometry>,
        values: &[AttrValue],
    ) -> Result<i64, StoreError> {
        debug_assert_eq!(values.len(), self.n_columns);
        let env = match geometry {
            Some(g) => {
                blob::encode(g, self.srs_id, &mut self.blob);
                blob::envelope(&self.blob)
            }
            None => None,
        };
        let blob: Option<&Vec<u8>> = geometry.map(|_| &self.blob);
        let mut stmt = self
            .conn
            .prepare_cached(&self.insert_sql)
            .map_err(self.err())?;
        let mut params: Vec<&dyn ToSql> = Vec::with_capacity(values.len() + 1);
        params.push(&blob);
        for v in values {
            params.push(v);
        }
        stmt.execute(params.as_slice()).map_err(self.err())?;
        let fid = self.conn.last_insert_rowid();
        if let Some(r) = env {
            let mut rt = self
                .conn
                .prepare_cached(&self.rtree_sql)
                .map_err(self.err())?;
            let [minx, maxx, miny, maxy] = rtree_box(r);
            rt.execute(params![fid, minx, maxx, miny, maxy])
                .map_err(self.err())?;
            self.extent = Some(self.extent.map_or(r, |e| cover(e, r)));
        }
        Ok(fid)
    }

    /// Refuse to commit when the disk has no room to fold the write-ahead log into the main
    /// file afterwards: a checkpoint that runs out of space halfway leaves a .gpkg that is
    /// whole only with its -wal, and bureaus copy the .gpkg alone.
    fn room_to_fold(&self) -> Result<(), GpkgError> {
        use std::os::unix::ffi::OsStrExt;
        let mut wal = self.store_path.clone().into_os_string();
        wal.push("-wal");
        let Ok(log) = std::fs::metadata(&wal).map(|m| m.len()) else {
            return Ok(()); // No log (a store being built writes its file directly).
        };
        let pages = |sql: &str| -> Result<u64, GpkgError> {
            self.conn
                .query_row(sql, [], |r| r.get::<_, i64>(0))
                .map(|n| n.max(0) as u64)
                .map_err(self.err())
        };
        // Most changed pages are still in the page cache: the commit writes them to the
        // log, and the checkpoint copies them into the main file, which grows as much.
        let grown = pages("PRAGMA page_count")?.saturating_sub(self.pages_before)
            * pages("PRAGMA page_size")?;
        let dir = match self.store_path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
            return Ok(());
        };
        // SAFETY: statvfs fills the struct it is given from a NUL-terminated path.
        let free = unsafe {
            let mut st: libc::statvfs = std::mem::zeroed();
            if libc::statvfs(c.as_ptr(), &mut st) != 0 {
                return Ok(());
            }
            st.f_bavail as u64 * st.f_frsize as u64
        };
        let need = 2 * grown + grown / 8 + (1 << 20);
        if free + log < need {
            return Err(GpkgError::DiskFull {
                path: self.store_path.clone(),
                free: free + log,
                need,
            });
        }
        Ok(())
    }

    /// Whether this write replaces an existing layer.
    pub fn replaces(&self) -> bool {
        self.replaced
    }

    /// Finish the layer: R-tree triggers, contents extent, registry and log entry, commit.
    pub fn commit(mut self, entry: &Commit<'_>) -> Result<(), StoreError> {
        let Commit {
            info,
            analysis_crs,
            seconds,
            report_json,
        } = *entry;
        let c = self.conn;
        let t = &self.name;
        let g = &self.geom;
        rtree_triggers(c, t, g, &self.fid).map_err(self.err())?;
        let (minx, miny, maxx, maxy) = self
            .extent
            .map(|e| {
                (
                    Some(e.min().x),
                    Some(e.min().y),
                    Some(e.max().x),
                    Some(e.max().y),
                )
            })
            .unwrap_or((None, None, None, None));
        c.execute(
            "UPDATE gpkg_contents SET min_x = ?2, min_y = ?3, max_x = ?4, max_y = ?5, description = ?6, \
             last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?1",
            params![
                t,
                minx,
                miny,
                maxx,
                maxy,
                format!("{} — {}", info.role.label_zh(), info.source)
            ],
        )
        .map_err(self.err())?;
        write_registry(c, info).map_err(self.err())?;
        c.execute(
            "INSERT INTO landwatch_meta (key, value) VALUES ('analysis_crs', ?1) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [serde_json::to_string(analysis_crs).expect("serialisable")],
        )
        .map_err(self.err())?;
        new_stamp(c).map_err(self.err())?;
        c.execute(
            "INSERT INTO landwatch_ingest_log (at, layer, action, source, features, repaired, skipped, seconds, report) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            params![
                info.ingested_at,
                t,
                if self.replaced { "replace" } else { "create" },
                info.source,
                info.count as i64,
                info.repaired as i64,
                info.skipped as i64,
                seconds,
                report_json
            ],
        )
        .map_err(self.err())?;
        self.room_to_fold()?;
        c.execute_batch("COMMIT").map_err(self.err())?;
        self.done = true;
        Ok(())
    }
}

impl Drop for LayerWriter<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

/// An R-tree row's box (minx, maxx, miny, maxy): the R-tree stores 32-bit floats, so the box
/// is rounded outward to still contain the geometry (as GDAL does).
fn rtree_box(r: Rect) -> [f64; 4] {
    [
        next_down(r.min().x),
        next_up(r.max().x),
        next_down(r.min().y),
        next_up(r.max().y),
    ]
}

fn next_up(v: f64) -> f64 {
    let f = v as f32;
    if f64::from(f) >= v {
        f64::from(f)
    } else {
        f64::from(f32::from_bits(if f >= 0.0 {
            f.to_bits() + 1
        } else {
            f.to_bits() - 1
        }))
    }
}

fn next_down(v: f64) -> f64 {
    -next_up(-v)
}

/// The R-tree triggers of GeoPackage 1.3 Annex F.3 on table `t` (geometry `g`, key `i`),
/// so that edits made later in QGIS keep the index in step, and the extension's entry.
fn rtree_triggers(c: &Connection, t: &str, g: &str, i: &str) -> rusqlite::Result<()> {
    let rtree = ident(&format!("rtree_{t}_{g}"));
    let trig = |suffix: &str| ident(&format!("rtree_{t}_{g}_{suffix}"));
    let (tq, gq, iq) = (ident(t), ident(g), ident(i));
    // The triggers of GeoPackage 1.3 Annex F.3, so edits made later in QGIS keep the
    // index in step.
    let triggers = format!(
        r#"
CREATE TRIGGER {ins} AFTER INSERT ON {tq} WHEN (new.{gq} NOT NULL AND NOT ST_IsEmpty(NEW.{gq}))
BEGIN INSERT OR REPLACE INTO {rtree} VALUES (NEW.{iq}, ST_MinX(NEW.{gq}), ST_MaxX(NEW.{gq}), ST_MinY(NEW.{gq}), ST_MaxY(NEW.{gq})); END;
CREATE TRIGGER {u1} AFTER UPDATE OF {gq} ON {tq} WHEN OLD.{iq} = NEW.{iq} AND (NEW.{gq} NOTNULL AND NOT ST_IsEmpty(NEW.{gq}))
BEGIN INSERT OR REPLACE INTO {rtree} VALUES (NEW.{iq}, ST_MinX(NEW.{gq}), ST_MaxX(NEW.{gq}), ST_MinY(NEW.{gq}), ST_MaxY(NEW.{gq})); END;
CREATE TRIGGER {u2} AFTER UPDATE OF {gq} ON {tq} WHEN OLD.{iq} = NEW.{iq} AND (NEW.{gq} ISNULL OR ST_IsEmpty(NEW.{gq}))
BEGIN DELETE FROM {rtree} WHERE id = OLD.{iq}; END;
CREATE TRIGGER {u3} AFTER UPDATE ON {tq} WHEN OLD.{iq} != NEW.{iq} AND (NEW.{gq} NOTNULL AND NOT ST_IsEmpty(NEW.{gq}))
BEGIN DELETE FROM {rtree} WHERE id = OLD.{iq}; INSERT OR REPLACE INTO {rtree} VALUES (NEW.{iq}, ST_MinX(NEW.{gq}), ST_MaxX(NEW.{gq}), ST_MinY(NEW.{gq}), ST_MaxY(NEW.{gq})); END;
CREATE TRIGGER {u4} AFTER UPDATE ON {tq} WHEN OLD.{iq} != NEW.{iq} AND (NEW.{gq} ISNULL OR ST_IsEmpty(NEW.{gq}))
BEGIN DELETE FROM {rtree} WHERE id IN (OLD.{iq}, NEW.{iq}); END;
CREATE TRIGGER {del} AFTER DELETE ON {tq} WHEN old.{gq} NOT NULL
BEGIN DELETE FROM {rtree} WHERE id = OLD.{iq}; END;
"#,
        ins = trig("insert"),
        u1 = trig("update1"),
        u2 = trig("update2"),
        u3 = trig("update3"),
        u4 = trig("update4"),
        del = trig("delete"),
    );
    c.execute_batch(&triggers)?;
    c.execute(
        "INSERT INTO gpkg_extensions VALUES (?1, ?2, 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')",
        params![t, g],
    )?;
    Ok(())
}

/// Raise the store's generation counter and set a new version token, inside the write's
/// transaction: readers (a server) see that the store changed.
fn new_stamp(c: &Connection) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO landwatch_meta (key, value) VALUES ('generation', '1') \
         ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        [],
    )?;
    // Unique per write: a copy with the same generation is still told apart.
    c.execute(
        "INSERT INTO landwatch_meta (key, value) VALUES ('version_token', ?1) \
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [format!("{:032x}", rand::random::<u128>())],
    )?;
    Ok(())
}

fn write_registry(c: &Connection, info: &LayerInfo) -> rusqlite::Result<()> {
    let [min_lon, min_lat, max_lon, max_lat] = match info.extent {
        Some(e) => e.map(Some),
        None => [None; 4],
    };
    c.execute("DELETE FROM landwatch_layers WHERE name = ?1", [&info.name])?;
    c.execute(
        "INSERT INTO landwatch_layers (name, role, kind, source, source_layer, source_crs, source_crs_label, \
         encoding, encoding_source, land_system, land_system_reason, field_mapping, id_source, feature_count, \
         repaired, skipped, area_m2, area_ellipsoidal_m2, min_lon, min_lat, max_lon, max_lat, ingested_at, notes) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
        params![
            info.name,
            info.role.as_str(),
            info.kind,
            info.source,
            info.source_layer,
            info.source_crs,
            info.source_crs_label,
            info.encoding,
            info.encoding_source,
            info.land_system.map(|s| s.as_str()),
            info.land_system_reason,
            serde_json::to_string(&info.mapping).expect("serialisable"),
            info.id_source,
            info.count as i64,
            info.repaired as i64,
            info.skipped as i64,
            info.area_m2,
            info.area_ellipsoidal_m2,
            min_lon,
            min_lat,
            max_lon,
            max_lat,
            info.ingested_at,
            serde_json::to_string(&info.notes).expect("serialisable"),
        ],
    )?;
    Ok(())
}

impl Store for GeoPackage {
    fn layers(&self) -> Result<Vec<LayerInfo>, StoreError> {
        if !self.has_table("landwatch_layers")? {
            return Ok(vec![]);
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, role, kind, source, source_layer, source_crs, source_crs_label, encoding, \
                 encoding_source, land_system, land_system_reason, field_mapping, id_source, feature_count, \
                 repaired, skipped, area_m2, area_ellipsoidal_m2, min_lon, min_lat, max_lon, max_lat, \
                 ingested_at, notes FROM landwatch_layers ORDER BY name",
            )
            .map_err(self.sql_err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    [
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, String>(6)?,
                        r.get::<_, String>(7)?,
                        r.get::<_, String>(8)?,
                    ],
                    (
                        r.get::<_, Option<String>>(9)?,
                        r.get::<_, Option<String>>(10)?,
                    ),
                    (r.get::<_, String>(11)?, r.get::<_, String>(12)?),
                    [
                        r.get::<_, i64>(13)?,
                        r.get::<_, i64>(14)?,
                        r.get::<_, i64>(15)?,
                    ],
                    [r.get::<_, f64>(16)?, r.get::<_, f64>(17)?],
                    [
                        r.get::<_, Option<f64>>(18)?,
                        r.get::<_, Option<f64>>(19)?,
                        r.get::<_, Option<f64>>(20)?,
                        r.get::<_, Option<f64>>(21)?,
                    ],
                    (r.get::<_, String>(22)?, r.get::<_, String>(23)?),
                ))
            })
            .map_err(self.sql_err())?;
        let mut out = vec![];
        for row in rows {
            let (
                name,
                role,
                kind,
                texts,
                system,
                (mapping, id_source),
                counts,
                areas,
                ext,
                (at, notes),
            ) = row.map_err(self.sql_err())?;
            let damaged = |why: String| GpkgError::Registry {
                path: self.path.clone(),
                layer: name.clone(),
                why,
            };
            let [source, source_layer, source_crs, source_crs_label, encoding, encoding_source] =
                texts;
            out.push(LayerInfo {
                role: role.parse().map_err(damaged)?,
                kind,
                source,
                source_layer,
                source_crs,
                source_crs_label,
                encoding,
                encoding_source,
                land_system: system.0.map(|s| s.parse()).transpose().map_err(damaged)?,
                land_system_reason: system.1,
                mapping: serde_json::from_str(&mapping).map_err(|e| damaged(e.to_string()))?,
                id_source,
                count: counts[0] as u64,
                repaired: counts[1] as u64,
                skipped: counts[2] as u64,
                area_m2: areas[0],
                area_ellipsoidal_m2: areas[1],
                extent: match ext {
                    [Some(a), Some(b), Some(c), Some(d)] => Some([a, b, c, d]),
                    _ => None,
                },
                ingested_at: at,
                notes: serde_json::from_str(&notes).map_err(|e| damaged(e.to_string()))?,
                name,
            });
        }
        Ok(out)
    }

    fn analysis_crs(&self) -> Result<Option<AnalysisCrs>, StoreError> {
        match self.meta("analysis_crs")? {
            None => Ok(None),
            Some(json) => serde_json::from_str(&json)
                .map(Some)
                .map_err(|e| GpkgError::Registry {
                    path: self.path.clone(),
                    layer: "(analysis CRS)".into(),
                    why: e.to_string(),
                })
                .map_err(Into::into),
        }
    }

    fn columns(&self, layer: &str) -> Result<Vec<Column>, StoreError> {
        Ok(self.pk_and_columns(layer)?.1)
    }

    fn scan(
        &self,
        layer: &str,
        bbox: Option<Rect>,
        visit: &mut dyn FnMut(StoredFeature) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.select(layer, bbox, None, visit)
    }

    fn scan_columns(
        &self,
        layer: &str,
        columns: &[usize],
        visit: &mut dyn FnMut(StoredFeature) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.select(layer, None, Some(columns), visit)
    }

    fn version(&self) -> Result<i64, StoreError> {
        Ok(self
            .meta("generation")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    fn location(&self) -> StoreLocation {
        StoreLocation::gpkg(&self.path)
    }

    fn stamp(&self) -> Result<StoreStamp, StoreError> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(&self.path).map_err(|source| GpkgError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(StoreStamp {
            generation: self.version()?,
            token: self.meta("version_token")?,
            file: (meta.dev(), meta.ino()),
        })
    }

    fn events(&self, filter: &EventFilter) -> Result<Vec<Event>, StoreError> {
        Ok(self.list_events(filter)?)
    }

    fn layer_versions(&self) -> Result<Vec<LayerVersion>, StoreError> {
        Ok(self.list_versions()?)
    }
}

impl GeoPackage {
    /// Visit a layer's features in fid order, those whose envelope meets `bbox` when given,
    /// with the values of `columns` (indices into the layer's columns), or of every column.
    fn select(
        &self,
        layer: &str,
        bbox: Option<Rect>,
        columns: Option<&[usize]>,
        visit: &mut dyn FnMut(StoredFeature) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let (pk, mut cols) = self.pk_and_columns(layer)?;
        if let Some(wanted) = columns {
            cols = wanted
                .iter()
                .filter_map(|&i| cols.get(i).cloned())
                .collect();
        }
        let geom = self.geometry_column(layer)?;
        let t = ident(layer);
        let mut select = format!("SELECT t.{}", ident(&pk));
        match &geom {
            Some(g) => select.push_str(&format!(", t.{}", ident(g))),
            None => select.push_str(", NULL"),
        }
        for c in &cols {
            select.push_str(&format!(", t.{}", ident(&c.name)));
        }
        let mut args: Vec<f64> = vec![];
        match (&geom, bbox) {
            (Some(g), Some(b)) => {
                let rtree = ident(&format!("rtree_{layer}_{g}"));
                select.push_str(&format!(
                    " FROM {t} t JOIN {rtree} r ON r.id = t.{} WHERE r.maxx >= ?1 AND r.minx <= ?2 AND r.maxy >= ?3 AND r.miny <= ?4 ORDER BY t.{}",
                    ident(&pk),
                    ident(&pk)
                ));
                args.extend([b.min().x, b.max().x, b.min().y, b.max().y]);
            }
            _ => select.push_str(&format!(" FROM {t} t ORDER BY t.{}", ident(&pk))),
        }
        let mut stmt = self.conn.prepare(&select).map_err(self.sql_err())?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(args.iter()))
            .map_err(self.sql_err())?;
        while let Some(row) = rows.next().map_err(self.sql_err())? {
            let fid: i64 = row.get(0).map_err(self.sql_err())?;
            let geometry = match row.get_ref(1).map_err(self.sql_err())? {
                ValueRef::Blob(b) => {
                    Some(blob::decode(b).map_err(|source| GpkgError::Geometry {
                        layer: layer.to_string(),
                        fid,
                        source,
                    })?)
                }
                _ => None,
            };
            let mut values = Vec::with_capacity(cols.len());
            for i in 0..cols.len() {
                values.push(attr_from_sql(row.get_ref(i + 2).map_err(self.sql_err())?));
            }
            visit(StoredFeature {
                fid,
                geometry,
                values,
            })?;
        }
        Ok(())
    }
}

impl StoreWriter for GeoPackage {
    fn name_taken_in_other_case(&self, name: &str) -> Result<Option<String>, StoreError> {
        GeoPackage::name_taken_in_other_case(self, name)
    }

    fn begin_layer(&mut self, layer: &NewLayer) -> Result<Box<dyn LayerWrite + '_>, StoreError> {
        Ok(Box::new(GeoPackage::begin_layer(self, layer)?))
    }

    fn close(self: Box<Self>) -> Result<(), StoreError> {
        GeoPackage::close(*self).map(drop)
    }

    fn append_event(
        &mut self,
        event: &NewEvent,
        if_match: Option<i64>,
    ) -> Result<Event, StoreError> {
        GeoPackage::append_event(self, event, if_match)
    }

    fn restore_version(&mut self, layer: &str, version: i64) -> Result<LayerInfo, StoreError> {
        self.restore(layer, version)
    }
}

impl LayerWrite for LayerWriter<'_> {
    fn replaces(&self) -> bool {
        LayerWriter::replaces(self)
    }

    fn insert(
        &mut self,
        geometry: Option<&Geometry>,
        values: &[AttrValue],
    ) -> Result<i64, StoreError> {
        LayerWriter::insert(self, geometry, values)
    }

    fn commit(self: Box<Self>, entry: &Commit<'_>) -> Result<(), StoreError> {
        LayerWriter::commit(*self, entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::attr::AttrType;
    use crate::model::Role;
    use geo::wkt;
    use std::collections::BTreeMap;

    fn info(name: &str, count: u64) -> LayerInfo {
        LayerInfo {
            name: name.into(),
            role: Role::Parcels,
            kind: None,
            source: "t.shp".into(),
            source_layer: "t".into(),
            source_crs: "EPSG:4523".into(),
            source_crs_label: "CGCS2000 / 3-degree Gauss-Kruger zone 35".into(),
            encoding: "GB18030".into(),
            encoding_source: "detected".into(),
            land_system: None,
            land_system_reason: None,
            mapping: BTreeMap::from([("id".to_string(), "宗地编号".to_string())]),
            id_source: "宗地编号".into(),
            count,
            repaired: 0,
            skipped: 0,
            area_m2: 1.0,
            area_ellipsoidal_m2: 1.0,
            extent: Some([104.0, 30.0, 105.0, 31.0]),
            ingested_at: "2026-11-22T00:00:00Z".into(),
            notes: vec![],
        }
    }

    fn layer(name: &str) -> NewLayer {
        NewLayer {
            name: name.into(),
            columns: vec![
                Column {
                    name: "宗地编号".into(),
                    ty: AttrType::Text,
                },
                Column {
                    name: "fid".into(),
                    ty: AttrType::Integer,
                },
            ],
            geometry_type: "MULTIPOLYGON".into(),
            source: "t.shp".into(),
        }
    }

    fn crs() -> AnalysisCrs {
        AnalysisCrs::for_longitude(104.6)
    }

    /// Commit a `parcels` layer of one feature.
    fn commit_one_feature(w: LayerWriter<'_>) {
        w.commit(&Commit {
            info: &info("parcels", 1),
            analysis_crs: &crs(),
            seconds: 0.1,
            report_json: "{}",
        })
        .unwrap();
    }

    #[test]
    fn a_new_store_appears_only_when_its_first_layer_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.gpkg");
        {
            let mut gp = GeoPackage::open_for_writing(&path).unwrap();
            let mut w = gp.begin_layer(&layer("parcels")).unwrap();
            let g: Geometry =
                wkt! { MULTIPOLYGON(((104.5 30.0,104.6 30.0,104.6 30.1,104.5 30.0))) }.into();
            w.insert(
                Some(&g),
                &[AttrValue::Text("甲-1".into()), AttrValue::Integer(7)],
            )
            .unwrap();
            // Dropped without commit: nothing may appear.
        }
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

        let mut gp = GeoPackage::open_for_writing(&path).unwrap();
        let mut w = gp.begin_layer(&layer("parcels")).unwrap();
        let g: Geometry =
            wkt! { MULTIPOLYGON(((104.5 30.0,104.6 30.0,104.6 30.1,104.5 30.0))) }.into();
        let fid = w
            .insert(
                Some(&g),
                &[AttrValue::Text("甲-1".into()), AttrValue::Integer(7)],
            )
            .unwrap();
        assert_eq!(fid, 1);
        commit_one_feature(w);
        gp.close().unwrap();
        assert!(path.exists());

        let gp = GeoPackage::open(&path).unwrap();
        assert_eq!(gp.layers().unwrap(), vec![info("parcels", 1)]);
        assert_eq!(gp.analysis_crs().unwrap(), Some(crs()));
        // The source's own "fid" column is kept; the key column moved aside.
        let cols = gp.columns("parcels").unwrap();
        assert_eq!(
            cols.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
            ["宗地编号", "fid"]
        );
        let mut seen = vec![];
        gp.scan("parcels", None, &mut |f| {
            seen.push(f);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(
            seen[0].values,
            vec![AttrValue::Text("甲-1".into()), AttrValue::Integer(7)]
        );
        assert_eq!(seen[0].geometry.as_ref().unwrap(), &g);
        let mut n = 0;
        let far = Rect::new((10.0, 10.0), (11.0, 11.0));
        gp.scan("parcels", Some(far), &mut |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 0);
        assert_eq!(gp.version().unwrap(), 1);
    }

    #[test]
    fn a_replacement_that_rolls_back_leaves_the_file_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.gpkg");
        let g: Geometry =
            wkt! { MULTIPOLYGON(((104.5 30.0,104.6 30.0,104.6 30.1,104.5 30.0))) }.into();
        let mut gp = GeoPackage::open_for_writing(&path).unwrap();
        let mut w = gp.begin_layer(&layer("parcels")).unwrap();
        w.insert(Some(&g), &[AttrValue::Text("a".into()), AttrValue::Null])
            .unwrap();
        commit_one_feature(w);
        gp.close().unwrap();
        let before = std::fs::read(&path).unwrap();

        let mut gp = GeoPackage::open_for_writing(&path).unwrap();
        let mut w = gp.begin_layer(&layer("parcels")).unwrap();
        assert!(w.replaces());
        for _ in 0..5000 {
            w.insert(
                Some(&g),
                &[AttrValue::Text("b".repeat(200)), AttrValue::Null],
            )
            .unwrap();
        }
        drop(w);
        drop(gp);
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let gp = GeoPackage::open(&path).unwrap();
        assert_eq!(gp.layers().unwrap()[0].count, 1);
    }

    #[test]
    fn events_are_appended_checked_and_never_changed() {
        use crate::model::disposal::{Status, Subject};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.gpkg");
        let mut gp = GeoPackage::open_for_writing(&path).unwrap();
        let mut w = gp.begin_layer(&layer("parcels")).unwrap();
        w.insert(None, &[AttrValue::Text("甲-1".into()), AttrValue::Null])
            .unwrap();
        commit_one_feature(w);
        gp.close().unwrap();
        let mut gp = GeoPackage::open_for_writing(&path).unwrap();
        let generation = gp.version().unwrap();
        let new = |status, method, date: &str| NewEvent {
            subject: Subject::Idle,
            layer: "parcels".into(),
            feature_id: "甲-1".into(),
            status,
            method,
            effective_date: date.parse().unwrap(),
            until: None,
            document_no: Some("资规闲调〔2024〕1号".into()),
            amount_wan: None,
            note: None,
            recorded_by: "张三".into(),
            supersedes: None,
        };
        let first = gp
            .append_event(&new(Status::Investigating, None, "2024-03-01"), Some(0))
            .unwrap();
        assert_eq!(first.id, 1);
        assert_eq!(gp.version().unwrap(), generation + 1);
        let key = first.key();
        assert_eq!(gp.case_status(&key).unwrap().version, 1);
        // A writer that read version 0 is too late now.
        let stale = gp
            .append_event(&new(Status::Confirmed, None, "2024-04-01"), Some(0))
            .unwrap_err();
        assert!(
            matches!(
                stale,
                StoreError::StaleVersion {
                    expected: 0,
                    current: 1,
                    ..
                }
            ),
            "{stale}"
        );
        // Going back is refused with the rule, and nothing is stored.
        let back = gp
            .append_event(&new(Status::Suspected, None, "2024-04-01"), None)
            .unwrap_err();
        assert!(back.to_string().contains("第九条"), "{back}");
        let second = gp
            .append_event(&new(Status::Confirmed, None, "2024-09-01"), Some(1))
            .unwrap();
        assert_eq!(second.id, 2);
        let missing = NewEvent {
            feature_id: "乙-9".into(),
            ..new(Status::Suspected, None, "2024-01-01")
        };
        assert!(matches!(
            gp.append_event(&missing, None),
            Err(StoreError::NoFeature { .. })
        ));
        let listed = gp.events(&EventFilter::default()).unwrap();
        assert_eq!(listed.iter().map(|e| e.id).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(
            listed[0].document_no.as_deref(),
            Some("资规闲调〔2024〕1号")
        );
        let status = gp.case_status(&key).unwrap();
        assert_eq!(status.disposition.status, Some(Status::Confirmed));
        assert_eq!(status.version, 2);
        let confirmed = EventFilter {
            status: Some(Status::Confirmed),
            ..EventFilter::default()
        };
        assert_eq!(gp.events(&confirmed).unwrap()[0].id, 2);
        // Append-only, also for other programs writing the file.
        let e = gp
            .conn
            .execute("DELETE FROM landwatch_events", [])
            .unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
        assert!(gp
            .conn
            .execute("UPDATE landwatch_events SET note = 'x'", [])
            .is_err());
    }

    #[test]
    fn opening_something_else_says_what_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.gpkg");
        std::fs::write(
            &path,
            "hello, not a database at all, just some text to fill a page",
        )
        .unwrap();
        let e = GeoPackage::open(&path).err().unwrap().to_string();
        assert!(
            e.contains("not a GeoPackage") || e.contains("not an SQLite"),
            "{e}"
        );
        let missing = GeoPackage::open(&dir.path().join("none.gpkg"))
            .err()
            .unwrap()
            .to_string();
        assert!(missing.contains("does not exist"), "{missing}");
    }
}
