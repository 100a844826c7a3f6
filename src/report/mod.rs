//! Writers for what landwatch hands out: GeoJSON features, vector tiles and report tables.

pub mod events;
pub mod geojson;
pub mod mvt;
pub mod table;
