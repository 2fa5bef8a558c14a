//! What one request sees: the shared catalog of the current release, overlaid with the
//! request's own resources, its search index and its time budget.

use std::sync::Arc;
use std::time::Instant;

use crate::catalog::Catalog;
use crate::model::{oid_of, CodeSystem, ConceptMap, ValueSet};

/// What one request sees: the release's catalog, overlaid with the request's own resources
/// (`tx-resource` parameters), which take precedence.
#[derive(Clone, Copy)]
pub struct Scope<'a> {
    pub base: &'a Catalog,
    pub overlay: Option<&'a Catalog>,
    /// The full-text index of `base`, when there is one (text filters of `$expand`).
    pub search: Option<&'a crate::search::SearchIndex>,
    /// When the request's time budget runs out (`--request-timeout-ms`); None: no limit.
    pub deadline: Option<Instant>,
    /// `default-valueset-version` parameters (`url`, `version`): the version of a value set
    /// a reference names without one.
    pub value_set_versions: &'a [(String, String)],
    /// The most steps one ECL evaluation may take (concepts visited, members read) before
    /// it is refused as too costly (`--max-ecl-steps`).
    pub ecl_max_steps: u64,
}

/// `Scope::ecl_max_steps` by default: about a second of work on one core.
pub const DEFAULT_ECL_STEPS: u64 = 50_000_000;

impl<'a> Scope<'a> {
    pub fn new(base: &'a Catalog) -> Self {
        Scope {
            base,
            overlay: None,
            search: None,
            deadline: None,
            value_set_versions: &[],
            ecl_max_steps: DEFAULT_ECL_STEPS,
        }
    }

    /// The version a `default-valueset-version` parameter gives the value set `url`.
    pub fn default_value_set_version(&self, url: &str) -> Option<&'a str> {
        let url = self.canonical_url(url)?;
        self.value_set_versions
            .iter()
            .find(|(u, _)| self.canonical_url(u).as_deref() == Some(url.as_str()))
            .map(|(_, v)| v.as_str())
    }

    /// Past the deadline, an error: long loops call this now and then, so that work whose
    /// answer nobody waits for any more stops instead of holding a thread of the pool.
    pub fn check_deadline(&self) -> crate::error::Result<()> {
        match self.deadline {
            Some(d) if Instant::now() >= d => Err(crate::error::Error::DeadlineExceeded(
                "The operation did not complete within the server's time budget".to_string(),
            )),
            _ => Ok(()),
        }
    }

    fn layers(&self) -> impl Iterator<Item = &'a Catalog> {
        self.overlay.into_iter().chain(std::iter::once(self.base))
    }

    /// URL named by `system` (URL or OID), if known.
    pub fn canonical_url(&self, system: &str) -> Option<String> {
        if oid_of(system).is_none() {
            return Some(system.to_string());
        }
        self.layers()
            .find_map(|c| c.canonical_url(system).map(str::to_string))
    }

    pub fn code_system(&self, system: &str, version: Option<&str>) -> Option<Arc<CodeSystem>> {
        let url = self.canonical_url(system)?;
        self.layers()
            .find_map(|c| c.code_systems.get(&url, version).cloned())
    }

    /// All versions of a code system across layers, oldest first.
    pub fn code_system_versions(&self, system: &str) -> Vec<Arc<CodeSystem>> {
        let Some(url) = self.canonical_url(system) else {
            return Vec::new();
        };
        let mut out: Vec<Arc<CodeSystem>> = Vec::new();
        for layer in self.layers() {
            for v in layer.code_systems.versions(&url) {
                if !out.iter().any(|o| o.meta.version == v.meta.version) {
                    out.push(v.clone());
                }
            }
        }
        out.sort_by(|a, b| {
            crate::catalog::version::compare(
                a.meta.version.as_deref().unwrap_or(""),
                b.meta.version.as_deref().unwrap_or(""),
            )
        });
        out
    }

    pub fn value_set(&self, url: &str, version: Option<&str>) -> Option<Arc<ValueSet>> {
        let url = self.canonical_url(url)?;
        self.layers()
            .find_map(|c| c.value_sets.get(&url, version).cloned())
    }

    pub fn concept_map(&self, url: &str, version: Option<&str>) -> Option<Arc<ConceptMap>> {
        let url = self.canonical_url(url)?;
        self.layers()
            .find_map(|c| c.concept_maps.get(&url, version).cloned())
    }

    pub fn concept_maps(&self) -> impl Iterator<Item = &'a Arc<ConceptMap>> {
        self.layers().flat_map(|c| c.concept_maps.all().iter())
    }

    /// An error for a look-up of `url` that found nothing: the reason a resource claiming that
    /// url could not be read, when one did.
    pub fn unreadable(&self, url: &str) -> Option<crate::error::Error> {
        let (url, _) = crate::model::split_canonical(url);
        self.layers()
            .find_map(|c| c.unreadable_reason(url))
            .map(|reason| crate::error::Error::Invalid(reason.to_string()))
    }

    pub fn supplements_of(&self, url: &str) -> Vec<Arc<CodeSystem>> {
        self.layers()
            .flat_map(|c| c.supplements_of(url).iter().cloned())
            .collect()
    }
}
