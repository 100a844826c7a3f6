//! Reading the files users have: GDAL for every format, encodings, CRS detection, field
//! mapping and geometry repair. Nothing else in landwatch opens a source file.

pub mod crs;
pub mod encoding;
pub mod mapping;
pub mod repair;
pub mod source;

pub use source::{RawRecord, RawValue, Source};

/// Send GDAL's own warnings and errors to the log instead of stderr: landwatch reports what
/// matters in its own words, and `-v` shows GDAL's.
pub fn route_gdal_messages() {
    gdal::config::set_error_handler(|class, number, message| match class {
        gdal::errors::CplErrType::Warning => tracing::info!(target: "gdal", number, "{message}"),
        _ => tracing::debug!(target: "gdal", ?class, number, "{message}"),
    });
}
