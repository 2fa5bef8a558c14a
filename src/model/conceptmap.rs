//! ConceptMap (a NOS ASS table, or any FHIR R4 concept map).

use super::ResourceMeta;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapTarget {
    pub code: Option<String>,
    pub display: Option<String>,
    /// R4 `equivalence` (equivalent, equal, wider, subsumes, narrower, specializes, inexact,
    /// unmatched, disjoint, relatedto).
    pub equivalence: String,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapElement {
    pub code: String,
    pub display: Option<String>,
    pub targets: Vec<MapTarget>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapGroup {
    pub source: Option<String>,
    pub source_version: Option<String>,
    pub target: Option<String>,
    pub target_version: Option<String>,
    pub elements: Vec<MapElement>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConceptMap {
    pub meta: ResourceMeta,
    /// `sourceUri` / `sourceCanonical`: the source value set.
    pub source_scope: Option<String>,
    pub target_scope: Option<String>,
    pub groups: Vec<MapGroup>,
}
