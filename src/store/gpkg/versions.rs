//! Previous versions of layers (图层历史版本): a replaced layer is not dropped but renamed to
//! `landwatch_version_N` with its registry entry, so that a wrong file ingested by mistake
//! loses nothing; `restore` brings a version back in one transaction, retiring the one in
//! service in its turn.

use super::{
    blob, ident, lock, new_stamp, rtree_box, rtree_triggers, srs, write_registry, GeoPackage,
    GpkgError,
};
use crate::store::{LayerInfo, LayerVersion, Store, StoreError};
use rusqlite::{params, Connection, OptionalExtension};

pub(super) const SCHEMA_VERSIONS: &str = r#"
CREATE TABLE IF NOT EXISTS landwatch_layer_versions (
  version INTEGER PRIMARY KEY AUTOINCREMENT, layer TEXT NOT NULL, table_name TEXT NOT NULL,
  geometry_column TEXT NOT NULL, geometry_type TEXT NOT NULL, fid_column TEXT NOT NULL,
  retired_at TEXT NOT NULL, registry TEXT NOT NULL);
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) VALUES
  ('landwatch_layer_versions', 'attributes', 'landwatch_layer_versions', '图层历史版本 — previous versions of layers');
"#;

/// The layer's table as it is, before it is retired.
pub(super) struct Retiring<'a> {
    /// The registry entry in service.
    pub info: &'a LayerInfo,
    /// Its geometry column.
    pub geometry_column: &'a str,
    /// Its key column.
    pub fid_column: &'a str,
}

/// Keep the layer's table as a previous version: its R-tree, triggers and id index go (they
/// are rebuilt on restore), the table is renamed `landwatch_version_N`; returns N.
pub(super) fn retire(c: &Connection, r: &Retiring<'_>) -> rusqlite::Result<i64> {
    let t = &r.info.name;
    let g = r.geometry_column;
    c.execute_batch(SCHEMA_VERSIONS)?;
    for suffix in [
        "insert", "update1", "update2", "update3", "update4", "delete",
    ] {
        c.execute_batch(&format!(
            "DROP TRIGGER IF EXISTS {};",
            ident(&format!("rtree_{t}_{g}_{suffix}"))
        ))?;
    }
    c.execute_batch(&format!(
        "DROP TABLE IF EXISTS {}; DROP INDEX IF EXISTS {};",
        ident(&format!("rtree_{t}_{g}")),
        ident(&format!("landwatch_id_{t}"))
    ))?;
    let geometry_type: String = c
        .query_row(
            "SELECT geometry_type_name FROM gpkg_geometry_columns WHERE table_name = ?1",
            [t],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or_else(|| "GEOMETRY".into());
    for table in ["gpkg_extensions", "gpkg_geometry_columns", "gpkg_contents"] {
        c.execute(&format!("DELETE FROM {table} WHERE table_name = ?1"), [t])?;
    }
    c.execute(
        "INSERT INTO landwatch_layer_versions (layer, table_name, geometry_column, geometry_type, fid_column, retired_at, registry) \
         VALUES (?1, '', ?2, ?3, ?4, ?5, ?6)",
        params![
            t,
            g,
            geometry_type,
            r.fid_column,
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            serde_json::to_string(r.info).expect("serialisable"),
        ],
    )?;
    let version = c.last_insert_rowid();
    let table = format!("landwatch_version_{version}");
    c.execute(
        "UPDATE landwatch_layer_versions SET table_name = ?1 WHERE version = ?2",
        params![table, version],
    )?;
    c.execute_batch(&format!(
        "ALTER TABLE {} RENAME TO {};",
        ident(t),
        ident(&table)
    ))?;
    Ok(version)
}

struct Stored {
    layer: String,
    table: String,
    geometry_column: String,
    geometry_type: String,
    fid_column: String,
    retired_at: String,
    registry: String,
}

fn stored_versions(c: &Connection, version: Option<i64>) -> rusqlite::Result<Vec<(i64, Stored)>> {
    let mut stmt = c.prepare(
        "SELECT version, layer, table_name, geometry_column, geometry_type, fid_column, retired_at, registry \
         FROM landwatch_layer_versions WHERE ?1 IS NULL OR version = ?1 ORDER BY layer, version",
    )?;
    let rows = stmt.query_map([version], |r| {
        Ok((
            r.get(0)?,
            Stored {
                layer: r.get(1)?,
                table: r.get(2)?,
                geometry_column: r.get(3)?,
                geometry_type: r.get(4)?,
                fid_column: r.get(5)?,
                retired_at: r.get(6)?,
                registry: r.get(7)?,
            },
        ))
    })?;
    rows.collect()
}

impl GeoPackage {
    fn damaged(&self, layer: &str, why: String) -> GpkgError {
        GpkgError::Registry {
            path: self.path.clone(),
            layer: layer.to_string(),
            why,
        }
    }

    /// Every kept version, by layer then version.
    pub(super) fn list_versions(&self) -> Result<Vec<LayerVersion>, GpkgError> {
        if !self.has_table("landwatch_layer_versions")? {
            return Ok(vec![]);
        }
        stored_versions(&self.conn, None)
            .map_err(self.sql_err())?
            .into_iter()
            .map(|(version, s)| {
                Ok::<_, GpkgError>(LayerVersion {
                    version,
                    retired_at: s.retired_at,
                    info: serde_json::from_str(&s.registry)
                        .map_err(|e| self.damaged(&s.layer, e.to_string()))?,
                })
            })
            .collect()
    }

    /// Bring `version` of `layer` back into service (see
    /// [`crate::store::StoreWriter::restore_version`]).
    pub(super) fn restore(&mut self, layer: &str, version: i64) -> Result<LayerInfo, StoreError> {
        let versions = self.list_versions()?;
        let Some(wanted) = versions
            .iter()
            .find(|v| v.version == version && v.info.name == layer)
        else {
            return Err(StoreError::NoVersion {
                layer: layer.to_string(),
                version,
                available: versions
                    .iter()
                    .filter(|v| v.info.name == layer)
                    .map(|v| v.version)
                    .collect(),
            });
        };
        let info = wanted.info.clone();
        let current = self.layers()?.into_iter().find(|l| l.name == layer);
        let current_columns = match &current {
            Some(_) => Some((
                self.pk_and_columns(layer)?.0,
                self.geometry_column(layer)?
                    .unwrap_or_else(|| "geom".into()),
            )),
            None => None,
        };
        let note = lock::begin_write(&self.conn, &self.path, layer, &format!("version {version}"))?;
        let c = &self.conn;
        let done = (|| -> rusqlite::Result<()> {
            if let (Some(info), Some((fid, geom))) = (&current, &current_columns) {
                retire(
                    c,
                    &Retiring {
                        info,
                        geometry_column: geom,
                        fid_column: fid,
                    },
                )?;
            }
            let (_, s) = stored_versions(c, Some(version))?
                .pop()
                .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            bring_back(c, &s, &info)?;
            c.execute(
                "DELETE FROM landwatch_layer_versions WHERE version = ?1",
                [version],
            )?;
            write_registry(c, &info)?;
            new_stamp(c)?;
            c.execute(
                "INSERT INTO landwatch_ingest_log (at, layer, action, source, features, repaired, skipped, seconds, report) \
                 VALUES (?1, ?2, 'restore', ?3, ?4, ?5, ?6, 0, ?7)",
                params![
                    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    layer,
                    info.source,
                    info.count as i64,
                    info.repaired as i64,
                    info.skipped as i64,
                    format!("{{\"restored_version\":{version}}}"),
                ],
            )?;
            Ok(())
        })();
        match done.and_then(|()| c.execute_batch("COMMIT")) {
            Ok(()) => {}
            Err(e) => {
                let _ = c.execute_batch("ROLLBACK");
                return Err(self.sql_err()(e).into());
            }
        }
        self.fold_log()?;
        drop(note);
        Ok(info)
    }
}

/// Rename a kept table back, and rebuild what a served layer has: R-tree, triggers,
/// contents and geometry-column entries.
fn bring_back(c: &Connection, s: &Stored, info: &LayerInfo) -> rusqlite::Result<()> {
    let t = &s.layer;
    let g = &s.geometry_column;
    c.execute_batch(&format!(
        "ALTER TABLE {} RENAME TO {}; CREATE VIRTUAL TABLE {} USING rtree(id, minx, maxx, miny, maxy);",
        ident(&s.table),
        ident(t),
        ident(&format!("rtree_{t}_{g}"))
    ))?;
    {
        let mut read = c.prepare(&format!(
            "SELECT {}, {} FROM {}",
            ident(&s.fid_column),
            ident(g),
            ident(t)
        ))?;
        let mut insert = c.prepare(&format!(
            "INSERT INTO {} VALUES (?1, ?2, ?3, ?4, ?5)",
            ident(&format!("rtree_{t}_{g}"))
        ))?;
        let mut rows = read.query([])?;
        while let Some(row) = rows.next()? {
            let fid: i64 = row.get(0)?;
            if let rusqlite::types::ValueRef::Blob(b) = row.get_ref(1)? {
                if let Some(r) = blob::envelope(b) {
                    let [minx, maxx, miny, maxy] = rtree_box(r);
                    insert.execute(params![fid, minx, maxx, miny, maxy])?;
                }
            }
        }
    }
    let [minx, miny, maxx, maxy] = match info.extent {
        Some(e) => e.map(Some),
        None => [None; 4],
    };
    c.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id, min_x, min_y, max_x, max_y, description) \
         VALUES (?1, 'features', ?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            t,
            srs::STORED,
            minx,
            miny,
            maxx,
            maxy,
            format!("{} — {}", info.role.label_zh(), info.source)
        ],
    )?;
    c.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?1, ?2, ?3, ?4, 0, 0)",
        params![t, g, s.geometry_type, srs::STORED],
    )?;
    rtree_triggers(c, t, g, &s.fid_column)
}
