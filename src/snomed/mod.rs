//! SNOMED CT: RF2 editions (`rf2` reads a release folder, `edition` holds one edition in
//! memory), the graph view the logic works on (`graph`), the Expression Constraint Language
//! (`ecl`) and postcoordinated expressions (`expression`).
//!
//! Nothing here knows the catalog, FHIR or HTTP: `ops::provider` makes an edition one of the
//! code-system providers the operations ask.

pub mod codec;
pub mod ecl;
pub mod edition;
pub mod expression;
pub mod graph;
pub mod rf2;

pub use edition::Edition;

/// The canonical URL of SNOMED CT.
pub const SYSTEM: &str = "http://snomed.info/sct";
