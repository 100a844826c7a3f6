//! landwatch — idle and under-used land (闲置土地, 低效用地), functional land shares and
//! intensive-use indicators of industrial parks (产业园区), and plan reconciliation (多规合一),
//! from the files land bureaus already have, served as OGC API layers.

pub mod accounts;
pub mod analysis;
pub mod catalog;
pub mod checks;
pub mod gen;
pub mod geom;
pub mod ingest;
pub mod io;
pub mod model;
pub mod report;
pub mod rules;
pub mod server;
pub mod store;
