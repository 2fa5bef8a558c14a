//! ValueSet (a NOS JDV, a CI-SIS SVS value set, or any FHIR value set).

use super::{Designation, ResourceMeta};

/// `compose.include[].concept[]`: an enumerated member, optionally with the value set's own
/// display (a JDV label may differ from the TRE label) and designations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConceptReference {
    pub code: String,
    pub display: Option<String>,
    pub designations: Vec<Designation>,
    pub extensions: Vec<serde_json::Value>,
}

/// `compose.include[].filter[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub property: String,
    /// = | is-a | descendent-of | is-not-a | regex | in | not-in | generalizes | child-of |
    /// descendent-leaf | exists
    pub op: String,
    pub value: String,
}

/// `compose.include[]` / `compose.exclude[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConceptSetComponent {
    pub system: Option<String>,
    pub version: Option<String>,
    pub concepts: Vec<ConceptReference>,
    pub filters: Vec<Filter>,
    pub value_sets: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Compose {
    pub locked_date: Option<String>,
    pub inactive: Option<bool>,
    pub include: Vec<ConceptSetComponent>,
    pub exclude: Vec<ConceptSetComponent>,
    /// `compose.extension` (e.g. `valueset-expansion-parameter` defaults for `$expand`).
    pub extensions: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValueSet {
    pub meta: ResourceMeta,
    pub immutable: Option<bool>,
    pub compose: Compose,
    /// A stored expansion, when the resource came with one and no compose.
    pub expansion: Option<serde_json::Value>,
    /// `contained` resources as written (value sets imported as `#id`).
    pub contained: Vec<serde_json::Value>,
}

impl ValueSet {
    /// Number of enumerated members (filters and imports not counted).
    pub fn enumerated_len(&self) -> usize {
        self.compose.include.iter().map(|i| i.concepts.len()).sum()
    }
}
