//! ValueSet (a NOS JDV, a CI-SIS SVS value set, or any FHIR value set).

use std::collections::HashMap;
use std::sync::OnceLock;

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
    /// Required by FHIR, but a request's value set may lack it: kept readable, and refused
    /// when an operation uses the value set (`ValueSet::filter_without_value`).
    pub value: Option<String>,
}

/// `compose.include[]` / `compose.exclude[]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConceptSetComponent {
    pub system: Option<String>,
    pub version: Option<String>,
    pub concepts: Vec<ConceptReference>,
    pub filters: Vec<Filter>,
    pub value_sets: Vec<String>,
    /// code → position in `concepts`, for `concept()`; built on first use (leave it default).
    pub concept_index: ConceptIndex,
}

/// Enumerations shorter than this are searched linearly (faster than hashing).
const INDEXED_FROM: usize = 16;

impl ConceptSetComponent {
    /// The enumerated concept with this code (the first one if listed twice): a hash look-up
    /// for long enumerations (a 50,000-member JDV costs what a 5-member one does).
    pub fn concept(&self, code: &str) -> Option<&ConceptReference> {
        if self.concepts.len() < INDEXED_FROM {
            return self.concepts.iter().find(|c| c.code == code);
        }
        let (indexed, map) = self.concept_index.0.get_or_init(|| {
            let mut map = HashMap::with_capacity(self.concepts.len());
            for (i, c) in self.concepts.iter().enumerate() {
                map.entry(c.code.clone()).or_insert(i as u32);
            }
            (self.concepts.len(), map)
        });
        match map.get(code).and_then(|&i| self.concepts.get(i as usize)) {
            Some(c) if c.code == code => Some(c),
            // `concepts` changed after the index was built: fall back to a scan.
            _ if *indexed != self.concepts.len() => self.concepts.iter().find(|c| c.code == code),
            _ => None,
        }
    }
}

/// The look-up table of `ConceptSetComponent::concept`: derived data, so it is ignored by
/// `==` and not copied by `clone` (the copy builds its own when first asked).
#[derive(Default)]
pub struct ConceptIndex(OnceLock<(usize, HashMap<String, u32>)>);

impl Clone for ConceptIndex {
    fn clone(&self) -> Self {
        ConceptIndex::default()
    }
}

impl PartialEq for ConceptIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for ConceptIndex {}

impl std::fmt::Debug for ConceptIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConceptIndex")
    }
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

/// The extension of `ValueSet.compose` that sets a default `$expand` / `$validate-code`
/// parameter for the value set (`versionsMatch`, `displayLanguage`, …).
pub const EXPANSION_PARAMETER: &str =
    "http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter";

impl ValueSet {
    /// The `valueset-expansion-parameter` extensions of `compose`, in order, as (name, value
    /// as text: a string as is, a boolean or number as written).
    pub fn expansion_parameters(&self) -> Vec<(String, String)> {
        use serde_json::Value;
        let part = |e: &Value, url: &str| -> Option<String> {
            let ext = e
                .get("extension")?
                .as_array()?
                .iter()
                .find(|x| x.get("url").and_then(Value::as_str) == Some(url))?;
            ext.as_object()?
                .iter()
                .find(|(k, _)| k.starts_with("value"))
                .and_then(|(_, v)| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Bool(b) => Some(b.to_string()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
        };
        self.compose
            .extensions
            .iter()
            .filter(|e| e.get("url").and_then(Value::as_str) == Some(EXPANSION_PARAMETER))
            .filter_map(|e| Some((part(e, "name")?, part(e, "value")?)))
            .collect()
    }

    /// Number of enumerated members (filters and imports not counted).
    pub fn enumerated_len(&self) -> usize {
        self.compose.include.iter().map(|i| i.concepts.len()).sum()
    }

    /// The first filter (includes, then excludes) that has no value, with its FHIRPath
    /// (`ValueSet.compose.include[0].filter[0]`) and the component it belongs to.
    pub fn filter_without_value(&self) -> Option<(String, &ConceptSetComponent, &Filter)> {
        let parts = [
            ("include", &self.compose.include),
            ("exclude", &self.compose.exclude),
        ];
        parts.into_iter().find_map(|(name, components)| {
            components.iter().enumerate().find_map(|(i, c)| {
                c.filters.iter().position(|f| f.value.is_none()).map(|j| {
                    (
                        format!("ValueSet.compose.{name}[{i}].filter[{j}]"),
                        c,
                        &c.filters[j],
                    )
                })
            })
        })
    }
}
