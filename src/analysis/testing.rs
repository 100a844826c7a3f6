//! Hand-built catalogs for known-answer tests: planar geometry in metres, and lon/lat taken
//! as the same coordinates scaled by a metre-per-degree constant (only boxes and
//! containment use lon/lat; areas come from the planar geometry).

use crate::catalog::{Catalog, Feature, Layer, Scope};
use crate::geom::AnalysisCrs;
use crate::model::records::{Building, Parcel, Park, PlanZone, Records, RedlineZone};
use crate::model::{ClassSystem, Role};
use crate::store::LayerInfo;
use geo::{Area, BoundingRect, Geometry, MapCoords, Polygon, Rect};
use std::collections::BTreeMap;
use std::sync::Arc;

const M_PER_DEG: f64 = 100_000.0;

/// An axis-aligned rectangle polygon in metres.
pub fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Polygon {
    Rect::new((x0, y0), (x1, y1)).to_polygon()
}

/// The test catalogs' lon/lat of planar metres.
pub fn to_lonlat(planar: &Geometry) -> Geometry {
    planar.map_coords(|c| geo::Coord {
        x: 100.0 + c.x / M_PER_DEG,
        y: 30.0 + c.y / M_PER_DEG,
    })
}

fn feature(fid: i64, planar: Polygon) -> Feature {
    let planar = Geometry::Polygon(planar);
    let lonlat = to_lonlat(&planar);
    Feature {
        fid,
        bbox: lonlat.bounding_rect(),
        area_m2: planar.unsigned_area(),
        lonlat: Some(lonlat),
        planar: Some(planar),
        properties: "".into(),
    }
}

fn info(name: &str, role: Role, system: Option<ClassSystem>, kind: Option<&str>) -> LayerInfo {
    LayerInfo {
        name: name.into(),
        role,
        kind: kind.map(str::to_string),
        source: format!("{name}.shp"),
        source_layer: name.into(),
        source_crs: "EPSG:4523".into(),
        source_crs_label: "test".into(),
        encoding: "UTF-8".into(),
        encoding_source: "test".into(),
        land_system: system,
        land_system_reason: None,
        mapping: BTreeMap::new(),
        id_source: "id".into(),
        count: 0,
        repaired: 0,
        skipped: 0,
        area_m2: 0.0,
        area_ellipsoidal_m2: 0.0,
        extent: None,
        ingested_at: "2026-01-01T00:00:00Z".into(),
        notes: vec![],
    }
}

/// Builds a catalog layer by layer.
#[derive(Default)]
pub struct Builder {
    layers: Vec<Arc<Layer>>,
    events: Vec<crate::model::disposal::Event>,
}

impl Builder {
    /// Start an empty catalog.
    pub fn new() -> Builder {
        Builder::default()
    }

    fn push(mut self, info: LayerInfo, geoms: Vec<Polygon>, records: Records) -> Builder {
        let features: Vec<Feature> = geoms
            .into_iter()
            .enumerate()
            .map(|(i, g)| feature(i as i64 + 1, g))
            .collect();
        self.layers.push(Arc::new(Layer::new(
            info,
            vec![],
            features,
            records,
            vec![],
        )));
        self
    }

    /// A park layer.
    pub fn parks(self, name: &str, parks: Vec<(Park, Polygon)>) -> Builder {
        let (records, geoms): (Vec<Park>, Vec<Polygon>) = parks.into_iter().unzip();
        self.push(
            info(name, Role::Parks, None, None),
            geoms,
            Records::Parks(records),
        )
    }

    /// A parcel layer with YDYH-2023 codes.
    pub fn parcels(self, name: &str, parcels: Vec<(Parcel, Polygon)>) -> Builder {
        let (records, geoms): (Vec<Parcel>, Vec<Polygon>) = parcels.into_iter().unzip();
        self.push(
            info(name, Role::Parcels, Some(ClassSystem::Ydyh2023), None),
            geoms,
            Records::Parcels(records),
        )
    }

    /// A building layer.
    pub fn buildings(self, name: &str, buildings: Vec<(Building, Polygon)>) -> Builder {
        let (records, geoms): (Vec<Building>, Vec<Polygon>) = buildings.into_iter().unzip();
        self.push(
            info(name, Role::Buildings, None, None),
            geoms,
            Records::Buildings(records),
        )
    }

    /// A plan layer in `system`.
    pub fn plan(
        self,
        name: &str,
        system: ClassSystem,
        kind: &str,
        zones: Vec<(&str, Polygon)>,
    ) -> Builder {
        let (records, geoms): (Vec<PlanZone>, Vec<Polygon>) = zones
            .into_iter()
            .enumerate()
            .map(|(i, (code, g))| {
                (
                    PlanZone {
                        id: format!("Z{}", i + 1).into(),
                        land_use_code: Some(code.into()),
                        land_use_name: None,
                    },
                    g,
                )
            })
            .unzip();
        self.push(
            info(name, Role::Plan, Some(system), Some(kind)),
            geoms,
            Records::Plan(kind.parse().ok(), records),
        )
    }

    /// A red-line layer of `kind`.
    pub fn redline(self, name: &str, kind: &str, zones: Vec<Polygon>) -> Builder {
        let records = (0..zones.len())
            .map(|i| RedlineZone {
                id: format!("R{}", i + 1).into(),
                ..RedlineZone::default()
            })
            .collect();
        self.push(
            info(name, Role::Redline, None, Some(kind)),
            zones,
            Records::Redline(kind.parse().ok(), records),
        )
    }

    /// Recorded events (处置记录) the catalog holds.
    pub fn events(mut self, events: Vec<crate::model::disposal::Event>) -> Builder {
        self.events.extend(events);
        self
    }

    /// The catalog.
    pub fn build(self) -> Catalog {
        Catalog {
            layers: self.layers,
            analysis_crs: Some(AnalysisCrs::for_longitude(105.0)),
            version: 1,
            dispositions: std::sync::Arc::new(crate::model::disposal::Dispositions::new(
                self.events,
            )),
            scope: Scope::EVERYTHING,
        }
    }
}

/// A parcel record with an id, a YDYH code and a park.
pub fn parcel(id: &str, code: &str, park: &str) -> Parcel {
    Parcel {
        id: id.into(),
        land_use_code: Some(code.into()),
        park_id: Some(park.into()),
        ..Parcel::default()
    }
}

/// A park record.
pub fn park(id: &str, park_type: &str) -> Park {
    Park {
        id: id.into(),
        name: Some(format!("{id}园区").into()),
        park_type: Some(park_type.into()),
        ..Park::default()
    }
}
