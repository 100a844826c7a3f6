//! Collections (要素集合): every stored layer, and the results of the checks that serve one
//! ([`crate::checks::collections`]), behind one interface for the OGC API and the tiles.

use super::error::ApiResult;
use super::filter::{Filter, Kind, Property, Value};
use super::params::{self, CrsRef, Interval, Params};
use crate::catalog::{IndexEntry, Layer};
use crate::checks::{self, Analysis, FeatureId, Param, Query, Report, Shape};
use crate::model::records::Records;
use crate::model::Role;
use crate::report::mvt::MvtValue;
use chrono::NaiveDate;
use geo::{Geometry, Intersects, Rect};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// One feature of an analysis collection: a stored feature's geometry, or the check's own,
/// with findings.
#[derive(Debug)]
pub struct AnalysisFeature {
    /// Its id in URLs.
    pub id: FeatureId,
    /// Its geometry.
    pub shape: Shape,
    /// The feature's properties, as JSON.
    pub properties: Box<str>,
    /// Values of the queryable properties.
    pub filters: Vec<(&'static str, Value<'static>)>,
    /// The date `datetime` filters on.
    pub date: Option<NaiveDate>,
    /// The attributes its vector tiles carry.
    pub tile: Vec<(&'static str, MvtValue)>,
}

/// An analysis result as a collection.
#[derive(Debug)]
pub struct AnalysisLayer {
    /// Which check.
    pub check: &'static dyn Analysis,
    /// What it was asked.
    pub query: Query,
    /// The whole report (for the analysis endpoints).
    pub report: Arc<dyn Report>,
    /// Features, in the report's order (none when the check serves no collection).
    pub features: Vec<AnalysisFeature>,
    index: RTree<IndexEntry>,
    /// Feature position by id (`items/{featureId}`).
    by_id: HashMap<FeatureId, usize>,
}

fn mvt_value(v: &serde_json::Value) -> Option<MvtValue> {
    match v {
        serde_json::Value::String(s) => Some(MvtValue::Text(s.clone())),
        serde_json::Value::Bool(b) => Some(MvtValue::Bool(*b)),
        serde_json::Value::Number(n) => n.as_f64().map(MvtValue::Double),
        _ => None,
    }
}

impl AnalysisLayer {
    /// The query that selects this result again: `as_of=…`, and `&park=…` when restricted.
    pub fn selector(&self) -> String {
        self.query.selector(self.check.params())
    }

    /// Build the collection of a report; a check without a collection keeps only the report.
    pub fn new(
        check: &'static dyn Analysis,
        query: Query,
        report: Arc<dyn Report>,
        catalog: &crate::catalog::Catalog,
    ) -> AnalysisLayer {
        let features: Vec<AnalysisFeature> = match check.collection() {
            None => vec![],
            Some(spec) => report
                .map_features(catalog)
                .into_iter()
                .map(|f| {
                    let filters = spec
                        .queryables
                        .iter()
                        .filter_map(|q| {
                            // Read once, typed by the queryable, for every filter and sort.
                            let value = match f.properties.get(q.key)? {
                                serde_json::Value::String(s) => q.kind.read(s)?.owned(),
                                serde_json::Value::Null => return None,
                                other => q.kind.read(&other.to_string())?.owned(),
                            };
                            Some((q.key, value))
                        })
                        .collect();
                    let date = spec
                        .date_property
                        .and_then(|d| f.properties.get(d))
                        .and_then(|v| v.as_str())
                        .and_then(|s| s.parse().ok());
                    let tile = spec
                        .tile_keys
                        .iter()
                        .filter_map(|k| Some((*k, mvt_value(f.properties.get(*k)?)?)))
                        .collect();
                    AnalysisFeature {
                        tile,
                        id: f.id,
                        shape: f.shape,
                        properties: serde_json::to_string(&f.properties)
                            .expect("serialisable")
                            .into_boxed_str(),
                        filters,
                        date,
                    }
                })
                .collect(),
        };
        let entries = features
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                f.shape.bbox().map(|b| {
                    GeomWithData::new(
                        Rectangle::from_corners([b.min().x, b.min().y], [b.max().x, b.max().y]),
                        i as u32,
                    )
                })
            })
            .collect();
        // The first feature of an id wins, as in the report's order.
        let by_id = features
            .iter()
            .enumerate()
            .rev()
            .map(|(i, f)| (f.id.clone(), i))
            .collect();
        AnalysisLayer {
            check,
            query,
            report,
            features,
            index: RTree::bulk_load(entries),
            by_id,
        }
    }
}

/// The parameters that select an analysis collection's result — `as_of` and `park`, as far
/// as its check takes them — taken from a request, and their names; none for a stored layer.
pub fn selection_params(
    id: &str,
    p: &mut Params,
) -> ApiResult<(Option<NaiveDate>, Option<String>, Vec<String>)> {
    let Some(check) = checks::collections().find(|c| c.id() == id) else {
        return Ok((None, None, vec![]));
    };
    let takes = |q: Param| check.params().contains(&q);
    let mut names = vec![];
    let mut as_of = None;
    let mut park = None;
    if takes(Param::AsOf) {
        as_of = params::date("as_of", p.take("as_of"))?;
        names.push("as_of".to_string());
    }
    if takes(Param::Park) {
        park = p.take("park");
        names.push("park".to_string());
    }
    Ok((as_of, park, names))
}

/// A collection: a stored layer or an analysis result.
#[derive(Clone, Debug)]
pub enum Collection {
    /// A stored layer.
    Layer(Arc<Layer>),
    /// An analysis result.
    Analysis(Arc<AnalysisLayer>),
}

/// A parameter a collection can be filtered by.
#[derive(Clone, Debug)]
pub struct Queryable {
    /// The parameter name (the property's name as features carry it).
    pub name: String,
    /// Its canonical key.
    pub key: &'static str,
    /// Chinese description.
    pub title: String,
    /// Its type: how values are read and compared.
    pub kind: Kind,
}

impl Queryable {
    /// As a property filters and sorts name.
    pub fn property(&self) -> Property {
        Property {
            name: self.name.clone(),
            key: self.key,
            kind: self.kind,
        }
    }
}

fn layer_queryable_keys(role: Role) -> &'static [(&'static str, Kind)] {
    match role {
        Role::Parcels => &[
            ("id", Kind::String),
            ("park_id", Kind::String),
            ("land_use_code", Kind::String),
            ("supply_status", Kind::String),
            ("disposal_status", Kind::String),
            ("industry_code", Kind::String),
            ("holder", Kind::String),
            ("approval_date", Kind::Date),
            ("contract_date", Kind::Date),
            ("agreed_start", Kind::Date),
            ("agreed_completion", Kind::Date),
            ("actual_start", Kind::Date),
            ("actual_completion", Kind::Date),
            ("recorded_area", Kind::Number),
            ("land_price", Kind::Number),
            ("total_investment", Kind::Number),
            ("invested", Kind::Number),
            ("floor_area", Kind::Number),
            ("far", Kind::Number),
            ("coverage", Kind::Number),
            ("tax", Kind::Number),
        ],
        Role::Parks => &[
            ("id", Kind::String),
            ("name", Kind::String),
            ("park_type", Kind::String),
            ("level", Kind::String),
            ("approval_date", Kind::Date),
            ("approved_area", Kind::Number),
            ("tax", Kind::Number),
        ],
        Role::Buildings => &[
            ("parcel_id", Kind::String),
            ("use", Kind::String),
            ("floors", Kind::Number),
            ("floor_area", Kind::Number),
            ("height", Kind::Number),
        ],
        Role::Plan => &[("id", Kind::String), ("land_use_code", Kind::String)],
        Role::Redline => &[("kind", Kind::String)],
        Role::Other => &[],
    }
}
/// A typed value of a stored feature's record (dates and figures; text through
/// [`record_text`]).
fn record_value<'a>(layer: &'a Layer, i: usize, key: &str) -> Value<'a> {
    let n = |v: Option<f64>| v.map_or(Value::Null, Value::Number);
    let d = |v: Option<NaiveDate>| v.map_or(Value::Null, Value::Date);
    match (&layer.records, key) {
        (Records::Parcels(v), _) => {
            let p = &v[i];
            match key {
                "approval_date" => d(p.approval_date),
                "contract_date" => d(p.contract_date),
                "agreed_start" => d(p.agreed_start),
                "agreed_completion" => d(p.agreed_completion),
                "actual_start" => d(p.actual_start),
                "actual_completion" => d(p.actual_completion),
                "recorded_area" => n(p.recorded_area),
                "land_price" => n(p.land_price),
                "total_investment" => n(p.total_investment),
                "invested" => n(p.invested),
                "floor_area" => n(p.floor_area),
                "far" => n(p.far),
                "coverage" => n(p.coverage),
                "tax" => n(p.tax),
                _ => text_value(record_text(layer, i, key)),
            }
        }
        (Records::Parks(v), "approval_date") => d(v[i].approval_date),
        (Records::Parks(v), "approved_area") => n(v[i].approved_area),
        (Records::Parks(v), "tax") => n(v[i].tax),
        (Records::Buildings(v), "floors") => n(v[i].floors),
        (Records::Buildings(v), "floor_area") => n(v[i].floor_area),
        (Records::Buildings(v), "height") => n(v[i].height),
        _ => text_value(record_text(layer, i, key)),
    }
}

fn text_value(t: Option<Cow<'_, str>>) -> Value<'_> {
    t.map_or(Value::Null, Value::Text)
}

fn record_text<'a>(layer: &'a Layer, i: usize, key: &str) -> Option<Cow<'a, str>> {
    let t = |v: &'a Option<Box<str>>| v.as_deref().map(Cow::Borrowed);
    match &layer.records {
        Records::Parcels(v) => {
            let p = &v[i];
            match key {
                "id" => Some(Cow::Borrowed(&*p.id)),
                "park_id" => t(&p.park_id),
                "land_use_code" => t(&p.land_use_code),
                "supply_status" => t(&p.supply_status),
                "disposal_status" => t(&p.disposal_status),
                "industry_code" => t(&p.industry_code),
                "holder" => t(&p.holder),
                _ => None,
            }
        }
        Records::Parks(v) => {
            let p = &v[i];
            match key {
                "id" => Some(Cow::Borrowed(&*p.id)),
                "name" => t(&p.name),
                "park_type" => t(&p.park_type),
                "level" => t(&p.level),
                _ => None,
            }
        }
        Records::Buildings(v) => match key {
            "parcel_id" => t(&v[i].parcel_id),
            "use" => t(&v[i].use_),
            _ => None,
        },
        Records::Plan(_, v) => match key {
            "id" => Some(Cow::Borrowed(&*v[i].id)),
            "land_use_code" => t(&v[i].land_use_code),
            _ => None,
        },
        Records::Redline(_, v) => match key {
            "kind" => t(&v[i].kind),
            _ => None,
        },
        Records::Other => None,
    }
}

fn layer_date(layer: &Layer, i: usize) -> Option<NaiveDate> {
    match &layer.records {
        Records::Parcels(v) => v[i].contract_date,
        Records::Parks(v) => v[i].approval_date,
        _ => None,
    }
}

/// Which features a query selects.
pub enum Matched {
    /// All of them, in order.
    All(usize),
    /// These, in order.
    Some(Vec<usize>),
}

impl Matched {
    /// How many.
    pub fn len(&self) -> usize {
        match self {
            Matched::All(n) => *n,
            Matched::Some(v) => v.len(),
        }
    }

    /// Whether none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The feature index at a position.
    pub fn at(&self, pos: usize) -> usize {
        match self {
            Matched::All(_) => pos,
            Matched::Some(v) => v[pos],
        }
    }
}

/// A feature selection.
#[derive(Debug, Default)]
pub struct Selection {
    /// Lon/lat boxes (several when the box crosses the antimeridian).
    pub boxes: Vec<Rect>,
    /// A date interval on the collection's date property.
    pub datetime: Option<Interval>,
    /// A CQL2 filter (with the queryables given as query parameters folded in).
    pub filter: Option<Arc<Filter>>,
}

impl Collection {
    /// The collection id (the layer's name, or the check).
    pub fn id(&self) -> String {
        match self {
            Collection::Layer(l) => l.info.name.clone(),
            Collection::Analysis(a) => a.check.id().to_string(),
        }
    }

    /// A title in Chinese.
    pub fn title(&self) -> String {
        match self {
            Collection::Layer(l) => {
                use crate::model::{PlanKind, RedlineKind};
                let kind = l.info.kind.as_deref().and_then(|k| {
                    PlanKind::ALL
                        .iter()
                        .find(|p| p.as_str() == k)
                        .map(|p| p.label_zh())
                        .or_else(|| {
                            RedlineKind::ALL
                                .iter()
                                .find(|r| r.as_str() == k)
                                .map(|r| r.label_zh())
                        })
                });
                match kind {
                    Some(k) => format!("{} {}（{k}）", l.info.role.label_zh(), l.info.name),
                    None => format!("{} {}", l.info.role.label_zh(), l.info.name),
                }
            }
            Collection::Analysis(a) if a.check.params().contains(&crate::checks::Param::AsOf) => {
                format!("{}（评价日期 {}）", a.check.title_zh(), a.query.as_of)
            }
            Collection::Analysis(a) => a.check.title_zh().to_string(),
        }
    }

    /// A description.
    pub fn description(&self) -> String {
        match self {
            Collection::Layer(l) => format!(
                "{} features from {} (layer {}), source CRS {}, encoding {}; ingested {}",
                l.info.count,
                l.info.source,
                l.info.source_layer,
                l.info.source_crs_label,
                l.info.encoding,
                l.info.ingested_at
            ),
            Collection::Analysis(a) => a.check.description().to_string(),
        }
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        match self {
            Collection::Layer(l) => l.features.len(),
            Collection::Analysis(a) => a.features.len(),
        }
    }

    /// Whether it has no features.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A feature's lon/lat geometry.
    pub fn geometry(&self, i: usize) -> Option<&Geometry> {
        match self {
            Collection::Layer(l) => l.features[i].lonlat.as_ref(),
            Collection::Analysis(a) => a.features[i].shape.lonlat(),
        }
    }

    /// A feature's bounding box.
    pub fn bbox(&self, i: usize) -> Option<Rect> {
        match self {
            Collection::Layer(l) => l.features[i].bbox,
            Collection::Analysis(a) => a.features[i].shape.bbox(),
        }
    }

    /// A feature's id in URLs: the store fid of the feature (the parcel's or park's for
    /// analysis results on stored features), or the check's own id for geometry it made.
    pub fn feature_id(&self, i: usize) -> FeatureId {
        match self {
            Collection::Layer(l) => FeatureId::Fid(l.features[i].fid),
            Collection::Analysis(a) => a.features[i].id.clone(),
        }
    }

    /// A feature's properties as a JSON object.
    pub fn properties(&self, i: usize) -> std::borrow::Cow<'_, str> {
        match self {
            Collection::Layer(l) => l.properties(i).into(),
            Collection::Analysis(a) => (&*a.features[i].properties).into(),
        }
    }

    /// The query that selects this result again (`as_of=…&park=…`) for an analysis collection,
    /// so that links lead back to the same evaluation; empty for a stored layer.
    pub fn selector(&self) -> String {
        match self {
            Collection::Layer(_) => String::new(),
            Collection::Analysis(a) => a.selector(),
        }
    }

    /// The feature with this id, as written in a URL.
    pub fn find(&self, id: &str) -> Option<usize> {
        let fid = id.parse::<i64>().ok();
        match self {
            Collection::Layer(l) => l.by_fid(fid?),
            Collection::Analysis(a) => fid
                .and_then(|n| a.by_id.get(&FeatureId::Fid(n)))
                .or_else(|| a.by_id.get(&FeatureId::Text(id.into())))
                .copied(),
        }
    }

    /// The source CRS the layer can be served in, when it has an EPSG code.
    pub fn source_crs(&self) -> Option<CrsRef> {
        let def = match self {
            Collection::Layer(l) => &l.info.source_crs,
            Collection::Analysis(a) => &a.features.first()?.shape.layer()?.info.source_crs,
        };
        def.strip_prefix("EPSG:")
            .and_then(|c| c.parse().ok())
            .map(CrsRef::Epsg)
    }

    /// The CRSs features can be served in.
    pub fn crs_list(&self) -> Vec<CrsRef> {
        let mut v = vec![CrsRef::Crs84, CrsRef::Epsg(4490)];
        if let Some(c) = self.source_crs().filter(|c| !v.contains(c)) {
            v.push(c);
        }
        v
    }

    /// The parameters it can be filtered by.
    pub fn queryables(&self) -> Vec<Queryable> {
        match self {
            Collection::Layer(l) => {
                let mut out = vec![];
                for (key, kind) in layer_queryable_keys(l.info.role) {
                    let Some(column) = l.info.mapping.get(*key) else {
                        continue;
                    };
                    let title = crate::model::fields::field(l.info.role, key)
                        .map_or(key.to_string(), |f| f.label.to_string());
                    out.push(Queryable {
                        name: column.clone(),
                        key,
                        title: title.clone(),
                        kind: *kind,
                    });
                    if column != key {
                        out.push(Queryable {
                            name: key.to_string(),
                            key,
                            title,
                            kind: *kind,
                        });
                    }
                }
                out
            }
            Collection::Analysis(a) => a
                .check
                .collection()
                .map_or(&[][..], |s| s.queryables)
                .iter()
                .map(|q| Queryable {
                    name: q.key.to_string(),
                    key: q.key,
                    title: q.title.to_string(),
                    kind: q.kind,
                })
                .collect(),
        }
    }

    /// The property `datetime` filters on, if any.
    pub fn temporal_property(&self) -> Option<&'static str> {
        match self {
            Collection::Layer(l) => match l.info.role {
                Role::Parcels if l.info.mapping.contains_key("contract_date") => {
                    Some("contract_date")
                }
                Role::Parks if l.info.mapping.contains_key("approval_date") => {
                    Some("approval_date")
                }
                _ => None,
            },
            Collection::Analysis(a) => a.check.collection()?.date_property,
        }
    }

    fn date(&self, i: usize) -> Option<NaiveDate> {
        match self {
            Collection::Layer(l) => layer_date(l, i),
            Collection::Analysis(a) => a.features[i].date,
        }
    }

    /// A feature's typed value of a queryable key, for filters and sorting.
    pub fn value(&self, i: usize, key: &str) -> Value<'_> {
        match self {
            Collection::Layer(l) => record_value(l, i, key),
            Collection::Analysis(a) => a.features[i]
                .filters
                .iter()
                .find(|(k, _)| *k == key)
                .map_or(Value::Null, |(_, v)| v.borrowed()),
        }
    }

    fn candidates(&self, r: &Rect) -> Vec<usize> {
        match self {
            Collection::Layer(l) => l.in_box(r),
            Collection::Analysis(a) => {
                let env = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
                let mut v: Vec<usize> = a
                    .index
                    .locate_in_envelope_intersecting(&env)
                    .map(|e| e.data as usize)
                    .collect();
                v.sort_unstable();
                v
            }
        }
    }

    /// Features meeting a box's envelope (no exact test): for tiles.
    pub fn in_envelope(&self, r: &Rect) -> Vec<usize> {
        self.candidates(r)
    }

    /// The features a selection picks, in order; numberMatched is its length.
    pub fn select(&self, s: &Selection) -> Matched {
        if s.boxes.is_empty() && s.datetime.is_none() && s.filter.is_none() {
            return Matched::All(self.len());
        }
        let keep = |i: usize| {
            s.datetime
                .is_none_or(|iv| self.date(i).is_some_and(|d| iv.contains(d)))
                && s.filter
                    .as_ref()
                    .is_none_or(|f| f.matches(&|k| self.value(i, k), self.geometry(i)))
        };
        let mut out: Vec<usize> = if s.boxes.is_empty() {
            (0..self.len()).filter(|&i| keep(i)).collect()
        } else {
            let mut v = vec![];
            for b in &s.boxes {
                let window = b.to_polygon();
                v.extend(self.candidates(b).into_iter().filter(|&i| {
                    self.geometry(i).is_some_and(|g| g.intersects(&window)) && keep(i)
                }));
            }
            if s.boxes.len() > 1 {
                v.sort_unstable();
                v.dedup();
            }
            v
        };
        out.shrink_to_fit();
        Matched::Some(out)
    }

    /// Spatial and temporal extent. The temporal one reads every feature's date: use
    /// [`Collection::spatial_extent`] where only the box is needed.
    pub fn extent(&self) -> (Option<Rect>, Option<(NaiveDate, NaiveDate)>) {
        (self.spatial_extent(), self.temporal_extent())
    }

    /// The lon/lat box of every feature (a layer's is kept in its registry entry).
    pub fn spatial_extent(&self) -> Option<Rect> {
        match self {
            Collection::Layer(l) => l.info.extent.map(|e| Rect::new((e[0], e[1]), (e[2], e[3]))),
            // The R-tree's root holds the box of every feature.
            Collection::Analysis(a) => (a.index.size() > 0).then(|| {
                let e = a.index.root().envelope();
                Rect::new((e.lower()[0], e.lower()[1]), (e.upper()[0], e.upper()[1]))
            }),
        }
    }

    /// The first and last date of the collection's date property.
    fn temporal_extent(&self) -> Option<(NaiveDate, NaiveDate)> {
        self.temporal_property().and_then(|_| {
            let mut lo: Option<NaiveDate> = None;
            let mut hi: Option<NaiveDate> = None;
            for i in 0..self.len() {
                if let Some(d) = self.date(i) {
                    lo = Some(lo.map_or(d, |x| x.min(d)));
                    hi = Some(hi.map_or(d, |x| x.max(d)));
                }
            }
            lo.zip(hi)
        })
    }
}
