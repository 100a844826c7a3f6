//! Writers for what landwatch hands out: GeoJSON features (and the report tables of the
//! analysis).

pub mod geojson;
