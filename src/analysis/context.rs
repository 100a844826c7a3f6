//! What every analysis needs to know about the snapshot: which park a parcel belongs to, what
//! its land-use code means, and what the buildings on it add up to.

use super::cancel::Cancel;
use crate::catalog::{Catalog, Layer};
use crate::geom::clip::intersection_area;
use crate::model::land_class::{lookup, lookup_name, Category, LandClass};
use crate::model::records::{Parcel, Park, Records};
use crate::model::Role;
use geo::{Contains, Geometry, InteriorPoint, Point};
use std::collections::HashMap;
use std::sync::Arc;

/// A park: its layer, index and record.
#[derive(Clone)]
pub struct ParkRef<'a> {
    /// Its layer.
    pub layer: &'a Arc<Layer>,
    /// Its index in the layer.
    pub index: usize,
}

impl<'a> ParkRef<'a> {
    /// The park's canonical record.
    pub fn park(&self) -> &'a Park {
        &self.layer.parks().expect("a park layer")[self.index]
    }

    /// Its planar geometry.
    pub fn planar(&self) -> Option<&'a Geometry> {
        self.layer.features[self.index].planar.as_ref()
    }

    /// Its planar area, m².
    pub fn area_m2(&self) -> f64 {
        self.layer.features[self.index].area_m2
    }
}

/// A parcel: its layer, index and record.
#[derive(Clone, Copy)]
pub struct ParcelRef<'a> {
    /// Its layer.
    pub layer: &'a Arc<Layer>,
    /// Its index in the layer.
    pub index: usize,
}

impl<'a> ParcelRef<'a> {
    /// The parcel's canonical record.
    pub fn parcel(&self) -> &'a Parcel {
        &self.layer.parcels().expect("a parcel layer")[self.index]
    }

    /// Its store fid.
    pub fn fid(&self) -> i64 {
        self.layer.features[self.index].fid
    }

    /// Its planar area, m².
    pub fn area_m2(&self) -> f64 {
        self.layer.features[self.index].area_m2
    }

    /// Its planar geometry.
    pub fn planar(&self) -> Option<&'a Geometry> {
        self.layer.features[self.index].planar.as_ref()
    }
}

/// Figures derived from the buildings standing on a parcel.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BuiltFigures {
    /// Footprint inside the parcel, m² (exact intersection).
    pub footprint_m2: f64,
    /// Floor area inside the parcel as FAR counts it (a storey above 8 m counts twice), m².
    pub floor_area_m2: f64,
    /// How many buildings contributed.
    pub buildings: usize,
    /// How many of them record neither 层数 nor 建筑面积 and were counted as one storey: an
    /// assumption, not a record.
    pub assumed_one_storey: usize,
}

/// Shared lookups over one catalog snapshot.
pub struct Context<'a> {
    /// The snapshot.
    pub catalog: &'a Catalog,
    parks: Vec<ParkRef<'a>>,
    parks_by_id: HashMap<&'a str, usize>,
    cancel: Cancel,
}

impl<'a> Context<'a> {
    /// Index the snapshot's parks.
    pub fn new(catalog: &'a Catalog) -> Context<'a> {
        let parks: Vec<ParkRef<'a>> = catalog
            .by_role(Role::Parks)
            .flat_map(|layer| (0..layer.features.len()).map(move |index| ParkRef { layer, index }))
            .collect();
        let parks_by_id = parks
            .iter()
            .enumerate()
            .map(|(i, p)| (&*p.park().id, i))
            .collect();
        Context {
            catalog,
            parks,
            parks_by_id,
            cancel: Cancel::new(),
        }
    }

    /// The same context, for a computation that stops early when `cancel` is raised.
    pub fn with_cancel(self, cancel: Cancel) -> Context<'a> {
        Context { cancel, ..self }
    }

    /// Whether the computation over this context was cancelled: long loops look at it
    /// between parks and parcels and skip the rest (the partial result is discarded).
    pub fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Every park, in layer order.
    pub fn parks(&self) -> &[ParkRef<'a>] {
        &self.parks
    }

    /// The park of this id.
    pub fn park(&self, id: &str) -> Option<&ParkRef<'a>> {
        self.parks_by_id.get(id).map(|&i| &self.parks[i])
    }

    /// Every parcel of every parcel layer.
    pub fn parcels(&self) -> impl Iterator<Item = ParcelRef<'a>> + '_ {
        self.catalog.by_role(Role::Parcels).flat_map(|layer| {
            (0..layer.features.len()).map(move |index| ParcelRef { layer, index })
        })
    }

    /// The park a parcel belongs to: its 所属园区 when that names a park, else the park its
    /// interior point lies in.
    pub fn park_of(&self, p: &ParcelRef<'a>) -> Option<&ParkRef<'a>> {
        if let Some(id) = &p.parcel().park_id {
            if let Some(park) = self.park(id) {
                return Some(park);
            }
        }
        self.park_around(p)
    }

    /// The park the parcel's interior point lies in, whatever its 所属园区 says.
    pub fn park_around(&self, p: &ParcelRef<'a>) -> Option<&ParkRef<'a>> {
        let f = &p.layer.features[p.index];
        let point: Point = f.lonlat.as_ref()?.interior_point()?;
        self.parks.iter().find(|park| {
            let pf = &park.layer.features[park.index];
            pf.bbox
                .is_some_and(|b| geo::Intersects::intersects(&b, &point))
                && pf.lonlat.as_ref().is_some_and(|g| g.contains(&point))
        })
    }

    /// The park id a parcel belongs to, as reported.
    pub fn park_id_of(&self, p: &ParcelRef<'a>) -> Option<String> {
        self.park_of(p)
            .map(|k| k.park().id.to_string())
            .or_else(|| p.parcel().park_id.as_deref().map(str::to_string))
    }

    /// What a parcel's land-use code (or name) means in its layer's classification system.
    pub fn land_class(&self, p: &ParcelRef<'a>) -> Option<LandClass> {
        let parcel = p.parcel();
        classify(
            p.layer,
            parcel.land_use_code.as_deref(),
            parcel.land_use_name.as_deref(),
        )
    }

    /// Whether a parcel is industrial or logistics land (judged by industrial indicators).
    pub fn is_industrial(&self, p: &ParcelRef<'a>) -> bool {
        matches!(
            self.land_class(p).map(|c| c.category),
            Some(Category::Industrial | Category::Logistics)
        )
    }

    /// Footprint and floor area of the buildings on a parcel, from every building layer
    /// (exact intersection with the parcel); `None` when there is no building layer. A
    /// building whose part inside the parcel is at most `sliver_tolerance_m2` is a drawing
    /// sliver of a neighbour's building, not a building on the parcel (the rule pack's
    /// `building_sliver_tolerance_m2`).
    pub fn built_figures(
        &self,
        p: &ParcelRef<'a>,
        sliver_tolerance_m2: f64,
    ) -> Option<BuiltFigures> {
        let mut layers = self.catalog.by_role(Role::Buildings).peekable();
        layers.peek()?;
        let f = &p.layer.features[p.index];
        let (Some(bbox), Some(parcel_geom)) = (f.bbox, f.planar.as_ref()) else {
            return Some(BuiltFigures::default());
        };
        let mut out = BuiltFigures::default();
        for layer in layers {
            let Records::Buildings(records) = &layer.records else {
                continue;
            };
            for i in layer.in_box(&bbox) {
                let Some(g) = layer.features[i].planar.as_ref() else {
                    continue;
                };
                let inside = intersection_area(parcel_geom, g);
                if inside <= sliver_tolerance_m2.max(0.0) {
                    continue;
                }
                let total = layer.features[i].area_m2.max(f64::MIN_POSITIVE);
                let b = &records[i];
                // 计容建筑面积: the recorded floor area, else footprint × storeys; a single
                // storey taller than 8 m counts twice (《工业项目建设用地控制指标》).
                if b.floors.is_none() && b.floor_area.is_none() {
                    out.assumed_one_storey += 1;
                }
                let storeys = b.floors.unwrap_or(1.0).max(1.0);
                let tall_single = storeys <= 1.0 && b.height.is_some_and(|h| h > 8.0);
                let base = b.floor_area.unwrap_or(total * storeys);
                let floor = if tall_single { base * 2.0 } else { base };
                out.footprint_m2 += inside;
                out.floor_area_m2 += floor * (inside / total).min(1.0);
                out.buildings += 1;
            }
        }
        Some(out)
    }

    /// A parcel's lon/lat bounding box centre, for maps and tables.
    pub fn centre(&self, p: &ParcelRef<'a>) -> Option<(f64, f64)> {
        p.layer.features[p.index]
            .bbox
            .map(|b| (b.center().x, b.center().y))
    }
}

/// The features of `layer` that meet a park, with the area of each inside it (exact
/// intersection in the analysis CRS).
pub fn clip_to(park: &ParkRef<'_>, layer: &Layer) -> Vec<(usize, f64)> {
    let pf = &park.layer.features[park.index];
    let (Some(bbox), Some(park_geom)) = (pf.bbox, pf.planar.as_ref()) else {
        return vec![];
    };
    layer
        .in_box(&bbox)
        .into_iter()
        .filter_map(|i| {
            let g = layer.features[i].planar.as_ref()?;
            let inside = intersection_area(park_geom, g);
            (inside > 0.0).then_some((i, inside))
        })
        .collect()
}

/// The recorded code and name of a land-use feature (parcel or plan zone).
pub fn codes(layer: &Layer, i: usize) -> (Option<&str>, Option<&str>) {
    match &layer.records {
        Records::Parcels(v) => (v[i].land_use_code.as_deref(), v[i].land_use_name.as_deref()),
        Records::Plan(_, v) => (v[i].land_use_code.as_deref(), v[i].land_use_name.as_deref()),
        _ => (None, None),
    }
}

/// A feature's own id (宗地编号, 图斑编号, 编号), else its fid.
pub fn feature_id(layer: &Layer, i: usize) -> String {
    match &layer.records {
        Records::Parcels(v) => v[i].id.to_string(),
        Records::Plan(_, v) => v[i].id.to_string(),
        Records::Redline(_, v) => v[i].id.to_string(),
        Records::Parks(v) => v[i].id.to_string(),
        _ => layer.features[i].fid.to_string(),
    }
}

/// What a code (or, without one, a name) means in a layer's classification system.
pub fn classify(layer: &Layer, code: Option<&str>, name: Option<&str>) -> Option<LandClass> {
    match (layer.info.land_system, code) {
        (Some(system), Some(code)) => lookup(system, code).or_else(|| name.and_then(lookup_name)),
        _ => name.and_then(lookup_name),
    }
}

/// A lon/lat box widened by `metres` on every side.
pub fn widen(b: geo::Rect, metres: f64) -> geo::Rect {
    let lat = b.center().y.to_radians();
    let dy = metres / 111_320.0;
    let dx = metres / (111_320.0 * lat.cos().max(0.01));
    geo::Rect::new(
        (b.min().x - dx, b.min().y - dy),
        (b.max().x + dx, b.max().y + dy),
    )
}
