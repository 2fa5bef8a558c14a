//! Domain model: the terminology resources nosterm serves, independent of any file format
//! and of HTTP. Loaders build these; operations read them.

pub mod canonical;
pub mod codesystem;
pub mod conceptmap;
pub mod date;
pub mod sct;
pub mod supplement;
pub mod valueset;

use std::sync::Arc;

pub use canonical::{fhir_id, oid_of, split_canonical, SystemKey};
pub use codesystem::{CodeSystem, Concept, ConceptProperty, PropertyDef, PropertyValue};
pub use conceptmap::{ConceptMap, MapElement, MapGroup, MapTarget};
pub use valueset::{Compose, ConceptReference, ConceptSetComponent, Filter, ValueSet};

/// Where a resource came from, for error messages and duplicate detection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// Path of the file as given to the loader (relative to the data folder when possible).
    pub file: String,
    /// 1-based line of the resource (or table header) in that file.
    pub line: usize,
}

/// A FHIR Coding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coding {
    pub system: Option<String>,
    pub version: Option<String>,
    pub code: Option<String>,
    pub display: Option<String>,
}

impl Coding {
    pub fn code(system: &str, code: &str) -> Self {
        Coding {
            system: Some(system.to_string()),
            code: Some(code.to_string()),
            ..Default::default()
        }
    }
}

/// A concept designation (an alternative label), with its language and use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Designation {
    pub language: Option<String>,
    /// Shared: a table has a handful of uses for millions of designations (see `Interner`).
    pub use_: Option<Arc<Coding>>,
    pub value: String,
    /// Extensions on the designation (e.g. its `structuredefinition-standards-status`),
    /// boxed: most designations have none.
    pub extensions: Option<Box<Vec<serde_json::Value>>>,
}

impl Designation {
    /// Withdrawn or deprecated (`structuredefinition-standards-status`): no longer a correct
    /// display.
    pub fn is_retired(&self) -> bool {
        self.retirement().is_some()
    }

    /// `withdrawn` or `deprecated`, when the designation's standards status says so.
    pub fn retirement(&self) -> Option<&str> {
        self.extensions.iter().flat_map(|e| e.iter()).find_map(|e| {
            let status = (e.get("url").and_then(|u| u.as_str())
                == Some(
                    "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status",
                ))
            .then(|| e.get("valueCode").and_then(|v| v.as_str()))
            .flatten()?;
            matches!(status, "withdrawn" | "deprecated").then_some(status)
        })
    }
}

/// Shares equal values while a table is loaded, so a million concepts hold a few `use`
/// codings and property names, not millions of copies.
#[derive(Debug, Default)]
pub struct Interner {
    codings: Vec<Arc<Coding>>,
    names: Vec<Arc<str>>,
}

impl Interner {
    /// The shared copy of `c` (a linear scan: a table has a handful of distinct uses).
    pub fn coding(&mut self, c: Coding) -> Arc<Coding> {
        if let Some(found) = self.codings.iter().find(|k| ***k == c) {
            return found.clone();
        }
        let shared = Arc::new(c);
        self.codings.push(shared.clone());
        shared
    }

    /// The shared copy of an already shared coding (no copy when it is new).
    pub fn coding_shared(&mut self, c: &Arc<Coding>) -> Arc<Coding> {
        if let Some(found) = self
            .codings
            .iter()
            .find(|k| Arc::ptr_eq(k, c) || ***k == **c)
        {
            return found.clone();
        }
        self.codings.push(c.clone());
        c.clone()
    }

    /// The shared copy of a property name.
    pub fn name(&mut self, s: &str) -> Arc<str> {
        if let Some(found) = self.names.iter().find(|k| &***k == s) {
            return found.clone();
        }
        let shared: Arc<str> = Arc::from(s);
        self.names.push(shared.clone());
        shared
    }
}

/// Metadata shared by CodeSystem, ValueSet and ConceptMap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceMeta {
    /// Logical id used in `GET /fhir/{type}/{id}`.
    pub id: String,
    /// Canonical URL.
    pub url: String,
    pub version: Option<String>,
    pub name: Option<String>,
    pub title: Option<String>,
    /// draft | active | retired | unknown
    pub status: String,
    pub experimental: Option<bool>,
    pub date: Option<String>,
    pub publisher: Option<String>,
    pub description: Option<String>,
    /// OIDs identifying the resource, bare (`1.2.250.1.213.1.1.4.6`), or a pseudo-OID as
    /// published (`URN`, `ASTM`).
    pub oids: Vec<String>,
    /// Resource language (`fr-FR`), when stated.
    pub language: Option<String>,
    /// Extensions and elements the model does not interpret, kept so `read` returns them.
    pub extensions: Vec<serde_json::Value>,
    pub origin: Origin,
}

impl ResourceMeta {
    /// `url|version`, the key of this resource version.
    pub fn versioned_url(&self) -> String {
        match &self.version {
            Some(v) => format!("{}|{}", self.url, v),
            None => self.url.clone(),
        }
    }
}
