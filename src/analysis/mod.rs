//! Analysis (分析): pure functions over a catalog snapshot and the rule packs — no files, no
//! HTTP, no GDAL. Each check's face (its id, title, tables and map features) is in
//! [`crate::checks`], which the command line and the server call.

pub mod cancel;
pub mod compliance;
pub mod conflicts;
pub mod context;
pub mod dates;
pub mod idle;
pub mod indicators;
pub mod per_mu;
pub mod quality;
#[cfg(test)]
pub mod testing;
pub mod trends;
pub mod underused;
pub mod zoning;

pub use cancel::Cancel;
pub use context::Context;

use chrono::NaiveDate;

/// Today in China (UTC+8), the default evaluation date.
pub fn today() -> NaiveDate {
    (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive()
}
