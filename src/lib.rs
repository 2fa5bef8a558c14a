//! nosterm: a FHIR R4 terminology server for the French NOS.
//!
//! Layers point one way; each uses only those before it (docs/architecture.md):
//! `model` ← `load` ← `store` ← `catalog` ← `search` ← `ops` ← `fhir`/`svs` ←
//! `state`/`reload`/`answers` ← `http`. Leaves any layer may use: `error`, `config`, `metrics`,
//! `probe`. Data flows the same way: files → release (catalog + index) → operations → HTTP.

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
pub mod snomed;
pub mod state;
pub mod store;
pub mod svs;

pub use http::create_app;
