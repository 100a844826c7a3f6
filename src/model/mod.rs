//! The domain: layer roles, canonical attributes, value parsing and land classification.

pub mod attr;
pub mod disposal;
pub mod fields;
pub mod land_class;
pub mod records;
pub mod role;
pub mod value;

pub use fields::{FieldSpec, ValueKind};
pub use land_class::{Category, ClassSystem, LandClass};
pub use role::{PlanKind, RedlineKind, Role};
