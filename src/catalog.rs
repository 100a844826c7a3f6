//! The catalog (图层目录): an immutable in-memory snapshot of every stored layer — geometry in
//! lon/lat and in the analysis CRS, an R-tree over the lon/lat boxes, the properties as
//! ready-to-send JSON, and the canonical records analysis reads.
//!
//! A snapshot is built whole and shared behind an `Arc`; a newer store version builds a new
//! snapshot (reusing unchanged layers) and replaces it, so readers never wait and never see
//! half a layer.

use crate::geom::crs::CGCS2000_EPSG;
use crate::geom::{area, AnalysisCrs, Transform};
use crate::model::attr::{write_json_string, AttrValue, Column};
use crate::model::disposal::Dispositions;
use crate::model::fields::field;
use crate::model::records::{Building, Parcel, Park, PlanZone, Records, RedlineZone};
use crate::model::value::{parse_attr, unit_in_field_name, Parsed};
use crate::model::{PlanKind, RedlineKind, Role};
use crate::store::{EventFilter, LayerInfo, Store, StoreError, StoredFeature};
use geo::{BoundingRect, Geometry, Rect};
use rayon::prelude::*;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use std::collections::HashMap;
use std::sync::mpsc::sync_channel;
use std::sync::Arc;

/// One feature of a loaded layer.
#[derive(Clone, Debug)]
pub struct Feature {
    /// Feature id in the store.
    pub fid: i64,
    /// Geometry in lon/lat (CGCS2000).
    pub lonlat: Option<Geometry>,
    /// Geometry in the analysis CRS (planar metres).
    pub planar: Option<Geometry>,
    /// Lon/lat bounding box.
    pub bbox: Option<Rect>,
    /// Planar area, m².
    pub area_m2: f64,
    /// The attribute values as JSON, comma-separated in column order, without the names
    /// every feature of the layer shares ([`Layer::properties`] gives the object); empty
    /// when the catalog was loaded without them ([`Scope::analysis`]).
    pub properties: Box<str>,
}

/// An R-tree entry: a lon/lat box and the feature's index in its layer.
pub type IndexEntry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// One loaded layer.
#[derive(Debug)]
pub struct Layer {
    /// Its registry entry.
    pub info: LayerInfo,
    /// Attribute columns.
    pub columns: Vec<Column>,
    /// Features, in fid order.
    pub features: Vec<Feature>,
    /// R-tree over lon/lat boxes.
    pub index: RTree<IndexEntry>,
    /// Canonical records, aligned with `features`.
    pub records: Records,
    /// Values that no longer parse (the store was edited after ingest), the first 20.
    pub load_issues: Vec<String>,
}

impl Layer {
    /// A layer from its parts; the R-tree is bulk-loaded from the features' boxes.
    pub fn new(
        info: LayerInfo,
        columns: Vec<Column>,
        features: Vec<Feature>,
        records: Records,
        load_issues: Vec<String>,
    ) -> Layer {
        let entries: Vec<IndexEntry> = features
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                f.bbox.map(|b| {
                    GeomWithData::new(
                        Rectangle::from_corners([b.min().x, b.min().y], [b.max().x, b.max().y]),
                        i as u32,
                    )
                })
            })
            .collect();
        Layer {
            info,
            columns,
            features,
            index: RTree::bulk_load(entries),
            records,
            load_issues,
        }
    }

    /// Indices of features whose lon/lat box meets `r`, in fid order.
    pub fn in_box(&self, r: &Rect) -> Vec<usize> {
        let env = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
        let mut out: Vec<usize> = self
            .index
            .locate_in_envelope_intersecting(&env)
            .map(|e| e.data as usize)
            .collect();
        out.sort_unstable();
        out
    }

    /// The attributes of feature `i` as a JSON object, original names, in column order.
    pub fn properties(&self, i: usize) -> String {
        let mut values = &*self.features[i].properties;
        let mut out = String::with_capacity(values.len() + 16 * self.columns.len() + 2);
        out.push('{');
        for (k, c) in self.columns.iter().enumerate() {
            if values.is_empty() {
                break;
            }
            if k > 0 {
                out.push(',');
            }
            write_json_string(&mut out, &c.name);
            out.push(':');
            let (value, rest) = split_json_value(values);
            out.push_str(value);
            values = rest.strip_prefix(',').unwrap_or(rest);
        }
        out.push('}');
        out
    }

    /// The index of the feature with this fid.
    pub fn by_fid(&self, fid: i64) -> Option<usize> {
        self.features.binary_search_by_key(&fid, |f| f.fid).ok()
    }

    /// The layer's parcels, if it is a parcel layer.
    pub fn parcels(&self) -> Option<&[Parcel]> {
        match &self.records {
            Records::Parcels(v) => Some(v),
            _ => None,
        }
    }

    /// The layer's parks, if it is a park layer.
    pub fn parks(&self) -> Option<&[Park]> {
        match &self.records {
            Records::Parks(v) => Some(v),
            _ => None,
        }
    }
}

/// 加载范围 — what a load reads: which layers, whether their properties are built as JSON,
/// and which canonical parcel attributes are parsed. The server serves every layer with its
/// properties; a check on the command line reads the layers of the roles it analyses, the
/// parcel attributes it declares and never the properties, which are most of the time and
/// memory a load takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scope {
    /// The roles of the layers loaded; `None`: every layer.
    roles: Option<&'static [Role]>,
    /// Whether each feature's properties are built as JSON.
    properties: bool,
    /// The canonical parcel attributes read (`None`: every one).
    parcel_fields: Option<&'static [&'static str]>,
}

impl Scope {
    /// Every layer with its properties: what is served.
    pub const EVERYTHING: Scope = Scope {
        roles: None,
        properties: true,
        parcel_fields: None,
    };

    /// The layers of these roles, without their properties: what a check reads.
    pub const fn analysis(roles: &'static [Role]) -> Scope {
        Scope {
            roles: Some(roles),
            properties: false,
            parcel_fields: None,
        }
    }

    /// The same, reading only these canonical attributes of parcels (宗地), the layer of a
    /// million rows: the others stay unset.
    pub const fn with_parcel_fields(self, fields: Option<&'static [&'static str]>) -> Scope {
        Scope {
            parcel_fields: fields,
            ..self
        }
    }

    /// Whether the canonical attribute `key` of a layer of `role` is read.
    fn reads(&self, role: Role, key: &str) -> bool {
        match (role, self.parcel_fields) {
            (Role::Parcels, Some(keys)) => keys.contains(&key),
            _ => true,
        }
    }

    /// Whether a layer of this registry entry is loaded.
    fn takes(&self, info: &LayerInfo) -> bool {
        self.roles.is_none_or(|r| r.contains(&info.role))
    }

    /// Whether a layer loaded under `self` serves a load under `wanted`.
    fn covers(&self, wanted: &Scope) -> bool {
        (self.properties || !wanted.properties)
            && (self.parcel_fields.is_none() || self.parcel_fields == wanted.parcel_fields)
    }
}

/// The first of comma-separated JSON scalars (a string, number, boolean or null), and the
/// rest from the comma after it.
fn split_json_value(values: &str) -> (&str, &str) {
    let bytes = values.as_bytes();
    let end = if bytes.first() == Some(&b'"') {
        let mut i = 1;
        while i < bytes.len() && bytes[i] != b'"' {
            i += if bytes[i] == b'\\' { 2 } else { 1 };
        }
        (i + 1).min(bytes.len())
    } else {
        values.find(',').unwrap_or(values.len())
    };
    values.split_at(end)
}

/// Write attribute values as JSON, comma-separated (what [`Feature::properties`] keeps).
fn write_values(out: &mut String, values: &[AttrValue]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        v.write_json(out);
    }
}

/// A snapshot of the whole store.
#[derive(Debug)]
pub struct Catalog {
    /// Layers, in name order.
    pub layers: Vec<Arc<Layer>>,
    /// The analysis CRS planar geometries are in.
    pub analysis_crs: Option<AnalysisCrs>,
    /// The store version this snapshot reflects.
    pub version: i64,
    /// The recorded events (处置记录), by feature.
    pub dispositions: Arc<Dispositions>,
    /// What was loaded.
    pub scope: Scope,
}

/// The canonical record of one feature, before it joins its layer's records. Parcels are
/// much larger than the rest; boxing them would cost an allocation per parcel in flight.
#[allow(clippy::large_enum_variant)]
enum Record {
    Park(Park),
    Parcel(Parcel),
    Building(Building),
    Plan(PlanZone),
    Redline(RedlineZone),
    Other,
}

impl Record {
    fn new(role: Role, fid: i64) -> Record {
        let id: Box<str> = fid.to_string().into_boxed_str();
        match role {
            Role::Parks => Record::Park(Park {
                id,
                ..Park::default()
            }),
            Role::Parcels => Record::Parcel(Parcel {
                id,
                ..Parcel::default()
            }),
            Role::Buildings => Record::Building(Building {
                id,
                ..Building::default()
            }),
            Role::Plan => Record::Plan(PlanZone {
                id,
                ..PlanZone::default()
            }),
            Role::Redline => Record::Redline(RedlineZone {
                id,
                ..RedlineZone::default()
            }),
            Role::Other => Record::Other,
        }
    }

    fn set(&mut self, key: &str, v: Parsed) {
        match self {
            Record::Park(r) => r.set(key, v),
            Record::Parcel(r) => r.set(key, v),
            Record::Building(r) => r.set(key, v),
            Record::Plan(r) => r.set(key, v),
            Record::Redline(r) => r.set(key, v),
            Record::Other => {}
        }
    }
}

struct Loaded {
    feature: Feature,
    record: Record,
    issue: Option<String>,
}

/// Where each canonical attribute is read from.
struct CanonicalSource {
    key: &'static str,
    /// Its column in the layer.
    column: usize,
    /// Its place among the values read.
    value: usize,
    kind: crate::model::ValueKind,
    unit: Option<f64>,
}

const BATCH: usize = 4096;

thread_local! {
    static JSON: std::cell::RefCell<String> = std::cell::RefCell::new(String::with_capacity(4096));
}

/// How each feature of a layer is loaded.
struct FeatureLoad<'a> {
    role: Role,
    columns: &'a [Column],
    canonical: &'a [CanonicalSource],
    to_planar: &'a Transform,
    properties: bool,
}

fn load_feature(f: StoredFeature, how: &FeatureLoad<'_>) -> Loaded {
    let FeatureLoad {
        role,
        columns,
        canonical,
        to_planar,
        ..
    } = *how;
    let properties = if how.properties {
        JSON.with(|buf| {
            let mut buf = buf.borrow_mut();
            buf.clear();
            write_values(&mut buf, &f.values);
            Box::<str>::from(buf.as_str())
        })
    } else {
        Box::default()
    };
    let mut issue = None;
    let mut record = Record::new(role, f.fid);
    for c in canonical {
        match parse_attr(&f.values[c.value], c.kind, c.unit) {
            Ok(Some(p)) => record.set(c.key, p),
            Ok(None) => {}
            Err(e) => {
                issue.get_or_insert_with(|| {
                    format!("fid {}, {}: {e}", f.fid, columns[c.column].name)
                });
            }
        }
    }
    let bbox = f.geometry.as_ref().and_then(|g| g.bounding_rect());
    let planar = f.geometry.as_ref().and_then(|g| {
        let mut p = g.clone();
        match to_planar.geometry(&mut p) {
            Ok(()) => Some(p),
            Err(e) => {
                issue.get_or_insert_with(|| format!("fid {}: {e}", f.fid));
                None
            }
        }
    });
    let area_m2 = planar.as_ref().map_or(0.0, area::planar_m2);
    Loaded {
        feature: Feature {
            fid: f.fid,
            lonlat: f.geometry,
            planar,
            bbox,
            area_m2,
            properties,
        },
        record,
        issue,
    }
}

/// A layer's records, none yet, with room for `capacity`.
fn no_records(info: &LayerInfo, capacity: usize) -> Records {
    match info.role {
        Role::Parcels => Records::Parcels(Vec::with_capacity(capacity)),
        Role::Parks => Records::Parks(Vec::with_capacity(capacity)),
        Role::Buildings => Records::Buildings(Vec::with_capacity(capacity)),
        Role::Plan => Records::Plan(
            info.kind
                .as_deref()
                .and_then(|k| k.parse::<PlanKind>().ok()),
            Vec::with_capacity(capacity),
        ),
        Role::Redline => Records::Redline(
            info.kind
                .as_deref()
                .and_then(|k| k.parse::<RedlineKind>().ok()),
            Vec::with_capacity(capacity),
        ),
        Role::Other => Records::Other,
    }
}

impl Record {
    /// Append the record to its layer's records (made by [`no_records`] for the same role).
    fn push_to(self, records: &mut Records) {
        match (records, self) {
            (Records::Parcels(v), Record::Parcel(r)) => v.push(r),
            (Records::Parks(v), Record::Park(r)) => v.push(r),
            (Records::Buildings(v), Record::Building(r)) => v.push(r),
            (Records::Plan(_, v), Record::Plan(r)) => v.push(r),
            (Records::Redline(_, v), Record::Redline(r)) => v.push(r),
            _ => {}
        }
    }
}

/// A layer's features and records as they are loaded, in fid order.
struct Gathered {
    features: Vec<Feature>,
    records: Records,
    issues: Vec<String>,
}

impl Gathered {
    fn add(&mut self, loaded: Loaded) {
        if let Some(issue) = loaded.issue.filter(|_| self.issues.len() < 20) {
            self.issues.push(issue);
        }
        self.features.push(loaded.feature);
        loaded.record.push_to(&mut self.records);
    }
}

/// Load one layer from the store as `scope` says (properties or not, which attributes).
pub fn load_layer(
    store: &dyn Store,
    info: &LayerInfo,
    analysis: &AnalysisCrs,
    scope: Scope,
) -> Result<Layer, StoreError> {
    let columns = store.columns(&info.name)?;
    let mut canonical: Vec<CanonicalSource> = info
        .mapping
        .iter()
        .filter(|(key, _)| scope.reads(info.role, key))
        .filter_map(|(key, col)| {
            let spec = field(info.role, key)?;
            let column = columns.iter().position(|c| &c.name == col)?;
            Some(CanonicalSource {
                key: spec.key,
                column,
                value: column,
                kind: spec.kind,
                unit: unit_in_field_name(col, spec.kind),
            })
        })
        .collect();
    // Without properties, only the columns of the canonical attributes are read.
    let read: Option<Vec<usize>> = (!scope.properties).then(|| {
        for (i, c) in canonical.iter_mut().enumerate() {
            c.value = i;
        }
        canonical.iter().map(|c| c.column).collect()
    });
    let to_planar = Transform::new(&format!("EPSG:{CGCS2000_EPSG}"), &analysis.definition)
        .map_err(|e| StoreError::Registry {
            location: store.location(),
            layer: info.name.clone(),
            why: e.to_string(),
        })?;
    let how = FeatureLoad {
        role: info.role,
        columns: &columns,
        canonical: &canonical,
        to_planar: &to_planar,
        properties: scope.properties,
    };
    let expected = info.count as usize;
    let mut gathered = Gathered {
        features: Vec::with_capacity(expected),
        records: no_records(info, expected),
        issues: vec![],
    };
    std::thread::scope(|s| -> Result<(), StoreError> {
        let (tx, rx) = sync_channel::<Vec<StoredFeature>>(4);
        let (how, gathered) = (&how, &mut gathered);
        let worker = s.spawn(move || {
            let mut part = Vec::with_capacity(BATCH);
            for batch in rx {
                batch
                    .into_par_iter()
                    .map(|f| load_feature(f, how))
                    .collect_into_vec(&mut part);
                for loaded in part.drain(..) {
                    gathered.add(loaded);
                }
            }
        });
        let mut batch = Vec::with_capacity(BATCH);
        let mut visit = |f| {
            batch.push(f);
            if batch.len() == BATCH {
                // A closed channel means the worker died; its panic surfaces at join.
                let _ = tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH)));
            }
            Ok(())
        };
        let result = match &read {
            Some(columns) => store.scan_columns(&info.name, columns, &mut visit),
            None => store.scan(&info.name, None, &mut visit),
        };
        if !batch.is_empty() {
            let _ = tx.send(batch);
        }
        drop(tx);
        worker.join().expect("catalog worker panicked");
        result
    })?;
    Ok(Layer::new(
        info.clone(),
        columns,
        gathered.features,
        gathered.records,
        gathered.issues,
    ))
}

/// Load one layer as `scope` says, logging how long it took and what no longer parses.
fn load_logged(
    store: &dyn Store,
    info: &LayerInfo,
    analysis: &AnalysisCrs,
    scope: Scope,
) -> Result<Layer, StoreError> {
    let started = std::time::Instant::now();
    let layer = load_layer(store, info, analysis, scope)?;
    tracing::info!(
        layer = %info.name,
        features = layer.features.len(),
        seconds = started.elapsed().as_secs_f64(),
        "loaded"
    );
    for issue in &layer.load_issues {
        tracing::warn!(layer = %info.name, "{issue}");
    }
    Ok(layer)
}

impl Catalog {
    /// Load every layer of the store.
    pub fn load(store: &dyn Store) -> Result<Catalog, StoreError> {
        Catalog::reload(store, None)
    }

    /// Load what `scope` says of the store: the layers a check reads, say.
    ///
    /// ```no_run
    /// use landwatch::catalog::{Catalog, Scope};
    /// use landwatch::model::Role;
    /// use landwatch::store::StoreLocation;
    ///
    /// let store = StoreLocation::gpkg("data/landwatch.gpkg").open()?;
    /// let catalog = Catalog::load_scoped(&*store, Scope::analysis(&[Role::Parks, Role::Parcels]))?;
    /// assert!(catalog.by_role(Role::Plan).next().is_none());
    /// # Ok::<(), landwatch::store::StoreError>(())
    /// ```
    pub fn load_scoped(store: &dyn Store, scope: Scope) -> Result<Catalog, StoreError> {
        Catalog::reload_scoped(store, None, scope)
    }

    /// Load the store, reusing the layers of `previous` that have not been re-ingested.
    pub fn reload(store: &dyn Store, previous: Option<&Catalog>) -> Result<Catalog, StoreError> {
        Catalog::reload_scoped(store, previous, Scope::EVERYTHING)
    }

    fn reload_scoped(
        store: &dyn Store,
        previous: Option<&Catalog>,
        scope: Scope,
    ) -> Result<Catalog, StoreError> {
        let version = store.version()?;
        let analysis_crs = store.analysis_crs()?;
        let Some(analysis) = analysis_crs.clone() else {
            return Ok(Catalog {
                layers: vec![],
                analysis_crs: None,
                version,
                dispositions: Arc::default(),
                scope,
            });
        };
        let old: HashMap<&str, &Arc<Layer>> = previous
            .filter(|p| p.analysis_crs.as_ref() == Some(&analysis) && p.scope.covers(&scope))
            .map(|p| p.layers.iter().map(|l| (l.info.name.as_str(), l)).collect())
            .unwrap_or_default();
        let mut layers = vec![];
        for info in store.layers()?.into_iter().filter(|i| scope.takes(i)) {
            match old.get(info.name.as_str()) {
                Some(l) if l.info == info => layers.push(Arc::clone(l)),
                _ => layers.push(Arc::new(load_logged(store, &info, &analysis, scope)?)),
            }
        }
        let dispositions = Arc::new(Dispositions::new(store.events(&EventFilter::default())?));
        Ok(Catalog {
            layers,
            analysis_crs,
            version,
            dispositions,
            scope,
        })
    }

    /// Load every layer, the smallest first, handing `step` each snapshot that holds one more
    /// of them (layers in name order, as always) with the registry entries of the layers still
    /// to load: a server serves what is loaded while it loads the rest. The first step holds
    /// no layer yet.
    pub fn load_in_steps(
        store: &dyn Store,
        step: &mut dyn FnMut(Catalog, &[LayerInfo]),
    ) -> Result<(), StoreError> {
        let version = store.version()?;
        let analysis_crs = store.analysis_crs()?;
        let dispositions = Arc::new(Dispositions::new(store.events(&EventFilter::default())?));
        let snapshot = |layers: &[Arc<Layer>]| {
            let mut layers = layers.to_vec();
            layers.sort_by(|a, b| a.info.name.cmp(&b.info.name));
            Catalog {
                layers,
                analysis_crs: analysis_crs.clone(),
                version,
                dispositions: Arc::clone(&dispositions),
                scope: Scope::EVERYTHING,
            }
        };
        let Some(analysis) = analysis_crs.clone() else {
            step(snapshot(&[]), &[]);
            return Ok(());
        };
        let mut pending = store.layers()?;
        // Smallest last in the list, loaded first.
        pending.sort_by_key(|i| std::cmp::Reverse(i.count));
        let mut layers = vec![];
        step(snapshot(&layers), &pending);
        while let Some(info) = pending.pop() {
            layers.push(Arc::new(load_logged(
                store,
                &info,
                &analysis,
                Scope::EVERYTHING,
            )?));
            step(snapshot(&layers), &pending);
        }
        Ok(())
    }

    /// The layer of this name.
    pub fn layer(&self, name: &str) -> Option<&Arc<Layer>> {
        self.layers.iter().find(|l| l.info.name == name)
    }

    /// Layers of a role, in name order.
    pub fn by_role(&self, role: Role) -> impl Iterator<Item = &Arc<Layer>> {
        self.layers.iter().filter(move |l| l.info.role == role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::attr::AttrType;
    use crate::report::geojson::write_properties;

    /// A layer keeps each feature's values without the names; the object it gives back is
    /// the one written with the names, character for character.
    #[test]
    fn properties_come_back_as_written_with_their_names() {
        let columns: Vec<Column> = ["宗地编号", "权利人", "容积率", "从业人数", "备注"]
            .iter()
            .map(|n| Column {
                name: n.to_string(),
                ty: AttrType::Text,
            })
            .collect();
        let rows = [
            vec![
                AttrValue::Text("P0001-001-01".into()),
                AttrValue::Text("宜宾\"沱江\",化工\\有限公司".into()),
                AttrValue::Real(1.25),
                AttrValue::Integer(131),
                AttrValue::Null,
            ],
            vec![
                AttrValue::Text(",".into()),
                AttrValue::Text("\\".into()),
                AttrValue::Null,
                AttrValue::Integer(-3),
                AttrValue::Text("".into()),
            ],
        ];
        let features = rows
            .iter()
            .enumerate()
            .map(|(i, values)| {
                let mut kept = String::new();
                write_values(&mut kept, values);
                Feature {
                    fid: i as i64 + 1,
                    lonlat: None,
                    planar: None,
                    bbox: None,
                    area_m2: 0.0,
                    properties: kept.into(),
                }
            })
            .collect();
        let info: LayerInfo = serde_json::from_value(serde_json::json!({
            "name": "p", "role": "other", "kind": null, "source": "", "source_layer": "",
            "source_crs": "", "source_crs_label": "", "encoding": "", "encoding_source": "",
            "land_system": null, "land_system_reason": null, "mapping": {}, "id_source": "fid",
            "count": 2, "repaired": 0, "skipped": 0, "area_m2": 0.0,
            "area_ellipsoidal_m2": 0.0, "extent": null, "ingested_at": "", "notes": []
        }))
        .unwrap();
        let layer = Layer::new(info, columns.clone(), features, Records::Other, vec![]);
        for (i, values) in rows.iter().enumerate() {
            let mut whole = String::new();
            write_properties(&mut whole, &columns, values);
            assert_eq!(layer.properties(i), whole);
            let parsed: serde_json::Value = serde_json::from_str(&layer.properties(i)).unwrap();
            assert_eq!(parsed.as_object().unwrap().len(), 5, "{parsed}");
        }
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&layer.properties(0)).unwrap()["权利人"],
            "宜宾\"沱江\",化工\\有限公司"
        );
    }
}
