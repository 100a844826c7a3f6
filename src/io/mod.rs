//! Reading the files users have: GDAL for every format, encodings, CRS detection, field
//! mapping and geometry repair. Nothing else in landwatch opens a source file.

pub mod crs;
pub mod encoding;
pub mod mapping;
pub mod repair;
pub mod source;

pub use source::{RawRecord, RawValue, Source};

/// Why `path` cannot be opened though it was named: a link loop or a dangling link get
/// their own words; `None` when it simply does not exist.
pub fn unreachable(path: &std::path::Path) -> Option<String> {
    let link = std::fs::symlink_metadata(path).ok()?;
    if !link.file_type().is_symlink() {
        return None;
    }
    match std::fs::metadata(path) {
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => Some(
            "it is a symbolic link that loops back on itself (too many levels of links); point it at the real file".into(),
        ),
        Err(_) => Some(format!(
            "it is a symbolic link to {}, which does not exist",
            std::fs::read_link(path)
                .map(|t| t.display().to_string())
                .unwrap_or_default()
        )),
        Ok(_) => None,
    }
}

/// Send GDAL's own warnings and errors to the log instead of stderr: landwatch reports what
/// matters in its own words, and `-v` shows GDAL's.
pub fn route_gdal_messages() {
    gdal::config::set_error_handler(|class, number, message| match class {
        gdal::errors::CplErrType::Warning => tracing::info!(target: "gdal", number, "{message}"),
        _ => tracing::debug!(target: "gdal", ?class, number, "{message}"),
    });
}
