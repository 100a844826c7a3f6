//! Writers for what landwatch hands out: GeoJSON features (and the report tables of the
//! analysis).

pub mod checks;
pub mod geojson;
pub mod mvt;
pub mod table;
