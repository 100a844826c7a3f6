//! Reading the files users have: GDAL for every format, encodings, CRS detection, field
//! mapping and geometry repair. Nothing else in landwatch opens a source file.

pub mod crs;
pub mod encoding;
pub mod mapping;
pub mod repair;
pub mod source;

pub use source::{RawRecord, RawValue, Source};
