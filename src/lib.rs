//! nosterm: a FHIR R4 terminology server for the French NOS.
//!
//! Data flows one way: files → `load` → `catalog` snapshot → `ops` → `http`.

pub mod answers;
pub mod catalog;
pub mod config;
pub mod error;
pub mod fhir;
pub mod http;
pub mod load;
pub mod metrics;
pub mod model;
pub mod ops;
pub mod probe;
pub mod reload;
pub mod search;
pub mod state;
pub mod store;
pub mod svs;

pub use http::create_app;
