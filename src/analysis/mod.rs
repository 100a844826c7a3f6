//! Analysis (分析): pure functions over a catalog snapshot and the rule packs — no files, no
//! HTTP, no GDAL.

pub mod context;
pub mod dates;
pub mod idle;
pub mod intensity;
pub mod mujun;
#[cfg(test)]
pub mod testing;
pub mod zoning;

pub use context::Context;
