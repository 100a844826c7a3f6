//! Geometry: WKB, CRS policy, PROJ transforms and areas.

pub mod area;
pub mod bounds;
pub mod clip;
pub mod crs;
pub mod transform;
pub mod wkb;

pub use crs::AnalysisCrs;
pub use transform::{Transform, TransformError};
