//! Terminology operations: pure functions over a catalog scope, returning domain results.
//! Nothing here knows about HTTP or the wire format.

pub mod display;
pub mod expand;
pub mod filter;
pub mod issue;
pub mod lookup;
pub mod members;
pub mod properties;
pub mod provider;
pub mod scope;
pub mod snomed;
pub mod stored;
pub mod subsumes;
pub mod supplement;
pub mod translate;
pub mod validate;

pub use issue::{Issue, Severity};
pub use scope::Scope;
