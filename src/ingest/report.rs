//! What an ingest tells the user: the report of a stored layer, and the errors that refuse one.

use crate::model::value::{m2_to_hectares, m2_to_mu};
use crate::store::StoreError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// A bad row: where it is and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RowError {
    /// 1-based row in the source.
    pub row: u64,
    /// The source's feature id.
    pub fid: i64,
    /// The field at fault, if a field.
    pub field: Option<String>,
    /// The offending value, if a value.
    pub value: Option<String>,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "row {} (FID {})", self.row, self.fid)?;
        match (&self.field, &self.value) {
            (Some(field), Some(v)) => write!(f, ", field {field} = '{v}'")?,
            (Some(field), None) => write!(f, ", field {field}")?,
            _ => {}
        }
        write!(f, ": {}", self.problem)
    }
}

/// Areas in every unit bureaus use, with which kind of area they are.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AreaFigures {
    /// Planar area in the analysis CRS, m².
    pub m2: f64,
    /// The same in 公顷.
    pub hectares: f64,
    /// The same in 亩.
    pub mu: f64,
    /// Ellipsoidal (geodesic) area, m².
    pub ellipsoidal_m2: f64,
}

impl AreaFigures {
    /// Figures from planar and ellipsoidal m².
    pub fn new(planar_m2: f64, ellipsoidal_m2: f64) -> AreaFigures {
        AreaFigures {
            m2: planar_m2,
            hectares: m2_to_hectares(planar_m2),
            mu: m2_to_mu(planar_m2),
            ellipsoidal_m2,
        }
    }
}

/// The report of a successful ingest (入库报告).
#[derive(Clone, Debug, Serialize)]
pub struct IngestReport {
    /// The stored layer's name.
    pub layer: String,
    /// Its role.
    pub role: String,
    /// Plan or red-line kind, if any.
    pub kind: Option<String>,
    /// The source file.
    pub source: String,
    /// The layer inside the source.
    pub source_layer: String,
    /// GDAL's driver for the source.
    pub driver: String,
    /// Whether a layer of the same name was replaced.
    pub replaced: bool,
    /// Features stored.
    pub features: u64,
    /// Geometries repaired.
    pub repaired: u64,
    /// Rows (1-based) whose geometry was repaired, the first 20.
    pub repaired_rows: Vec<u64>,
    /// Rows skipped (`--on-error skip`).
    pub skipped: u64,
    /// Skipped rows and why, the first 100.
    pub skipped_rows: Vec<RowError>,
    /// Encoding used.
    pub encoding: String,
    /// Why that encoding.
    pub encoding_source: String,
    /// Source CRS.
    pub crs: String,
    /// Where the CRS came from.
    pub crs_source: String,
    /// Analysis CRS the planar area is in.
    pub analysis_crs: String,
    /// Total area.
    pub area: AreaFigures,
    /// Extent in lon/lat.
    pub extent: Option<[f64; 4]>,
    /// Canonical attribute → source field.
    pub mapping: BTreeMap<String, String>,
    /// Where ids come from.
    pub id_source: String,
    /// Land classification system used, if any.
    pub land_system: Option<String>,
    /// Why.
    pub land_system_reason: Option<String>,
    /// Land-use codes no system knows.
    pub unknown_codes: Vec<String>,
    /// Warnings.
    pub notes: Vec<String>,
    /// Wall time.
    pub seconds: f64,
    /// Recorded events (处置记录) of the layer, all kept.
    pub events_kept: usize,
    /// The features that have events but are not in the new layer (the events are kept,
    /// orphaned, and come back to life if the id does).
    pub orphaned: Vec<Orphan>,
}

/// A feature id that events name and the layer no longer holds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Orphan {
    /// The id.
    pub feature_id: String,
    /// Its events.
    pub event_ids: Vec<i64>,
}

/// The features of `events` (one layer's) that `holds` says the new layer lacks.
pub fn orphans(
    events: &[crate::model::disposal::Event],
    holds: impl Fn(&str) -> bool,
) -> Vec<Orphan> {
    let mut by_id: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for e in events.iter().filter(|e| !holds(&e.feature_id)) {
        by_id.entry(&e.feature_id).or_default().push(e.id);
    }
    by_id
        .into_iter()
        .map(|(id, event_ids)| Orphan {
            feature_id: id.to_string(),
            event_ids,
        })
        .collect()
}

impl fmt::Display for IngestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.replaced { "replaced" } else { "stored" };
        writeln!(
            f,
            "{verb} layer '{}' ({}) from {} [{}]",
            self.layer, self.role, self.source, self.driver
        )?;
        writeln!(
            f,
            "  features: {}   repaired: {}   skipped: {}",
            self.features, self.repaired, self.skipped
        )?;
        writeln!(
            f,
            "  encoding: {} — {}",
            self.encoding, self.encoding_source
        )?;
        writeln!(f, "  CRS: {} (from {})", self.crs, self.crs_source)?;
        writeln!(
            f,
            "  area: {:.2} m² = {:.4} 公顷 = {:.2} 亩 (planar, {}); ellipsoidal {:.2} m²",
            self.area.m2,
            self.area.hectares,
            self.area.mu,
            self.analysis_crs,
            self.area.ellipsoidal_m2
        )?;
        if let Some(s) = &self.land_system {
            writeln!(
                f,
                "  land classification: {s} — {}",
                self.land_system_reason.as_deref().unwrap_or("")
            )?;
        } else if let Some(r) = &self.land_system_reason {
            writeln!(f, "  land classification: not determined — {r}")?;
        }
        if !self.unknown_codes.is_empty() {
            writeln!(
                f,
                "  unknown land-use codes: {}",
                self.unknown_codes.join(", ")
            )?;
        }
        writeln!(f, "  ids: {}", self.id_source)?;
        for n in &self.notes {
            writeln!(f, "  note: {n}")?;
        }
        for e in self.skipped_rows.iter().take(20) {
            writeln!(f, "  skipped {e}")?;
        }
        if self.skipped_rows.len() > 20 {
            writeln!(
                f,
                "  … {} more skipped rows in the JSON report",
                self.skipped - 20
            )?;
        }
        if self.events_kept > 0 {
            writeln!(f, "  events (处置记录): {} kept", self.events_kept)?;
        }
        if !self.orphaned.is_empty() {
            let shown: Vec<String> = self
                .orphaned
                .iter()
                .take(20)
                .map(|o| format!("{} (events {:?})", o.feature_id, o.event_ids))
                .collect();
            writeln!(
                f,
                "  orphaned events: {} features with events are not in this file — their events are kept and listed (landwatch event list --layer {}): {}{}",
                self.orphaned.len(),
                self.layer,
                shown.join(", "),
                if self.orphaned.len() > 20 { ", …" } else { "" }
            )?;
        }
        write!(f, "  took {:.1} s", self.seconds)
    }
}

/// Why an ingest stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file could not be opened or read.
    #[error("cannot read {file}: {why}")]
    Open {
        /// The file.
        file: String,
        /// Why.
        why: String,
    },
    /// The file as a whole is refused (geometry type, CRS, encoding, mapping …).
    #[error("{file}: {problem}\n  what to do: {hint}\n  (the store was not changed)")]
    Refused {
        /// The file.
        file: String,
        /// What is wrong.
        problem: String,
        /// What the user can do.
        hint: String,
    },
    /// Rows with bad values under `--on-error fail`.
    #[error("{}", rows_message(.file, *.total, .shown))]
    Rows {
        /// The file.
        file: String,
        /// How many rows are bad.
        total: u64,
        /// The first 20.
        shown: Vec<RowError>,
    },
    /// The same id on several features.
    #[error("{}", duplicates_message(.file, .field, .duplicates))]
    DuplicateIds {
        /// The file.
        file: String,
        /// The id field.
        field: String,
        /// Each repeated id with the rows it is on (the first 20 ids).
        duplicates: Vec<(String, Vec<u64>)>,
    },
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn rows_message(file: &str, total: u64, shown: &[RowError]) -> String {
    let mut s = format!(
        "{file}: {total} {} bad values; nothing was stored (the store was not changed).",
        if total == 1 { "row has" } else { "rows have" }
    );
    if total as usize > shown.len() {
        s.push_str(&format!(" The first {}:", shown.len()));
    }
    for e in shown {
        s.push_str(&format!("\n  {e}"));
    }
    s.push_str("\n  what to do: correct these rows in the source, or pass --on-error skip to store the other rows and list the skipped ones");
    s
}

fn duplicates_message(file: &str, field: &str, dups: &[(String, Vec<u64>)]) -> String {
    let mut s = format!(
        "{file}: ids in {field} must be unique, but {} repeat; nothing was stored (the store was not changed):",
        dups.len()
    );
    for (id, rows) in dups {
        let rows: Vec<String> = rows.iter().map(u64::to_string).collect();
        s.push_str(&format!("\n  '{id}' on rows {}", rows.join(", ")));
    }
    s.push_str("\n  what to do: give each feature its own id, or map another field as the id with --mapping");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_errors_name_row_field_value_and_problem() {
        let e = RowError {
            row: 5,
            fid: 4,
            field: Some("约定动工日期".into()),
            value: Some("2019-02-30".into()),
            problem: "names a day that does not exist".into(),
        };
        assert_eq!(
            e.to_string(),
            "row 5 (FID 4), field 约定动工日期 = '2019-02-30': names a day that does not exist"
        );
        let err = IngestError::Rows {
            file: "a.shp".into(),
            total: 30,
            shown: vec![e],
        };
        let msg = err.to_string();
        assert!(
            msg.contains("30 rows") && msg.contains("--on-error skip"),
            "{msg}"
        );
    }

    #[test]
    fn areas_in_mu_and_hectares() {
        let a = AreaFigures::new(10_000.0, 10_001.0);
        assert_eq!(a.hectares, 1.0);
        assert!((a.mu - 15.0).abs() < 1e-12);
    }
}
