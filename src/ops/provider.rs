//! One way in for every terminology: what the operations ask of a code system, whoever holds
//! its concepts. The catalog's code systems (NOS tables, FHIR code systems, CIM-11) answer
//! from their `concepts`; a SNOMED CT edition answers from its graph (`ops::snomed`).
//!
//! Concept look-ups themselves go through `CodeSystem::concept` (a SNOMED CT concept is read
//! from its edition as a `Concept`), so `$lookup`, `$validate-code` and displays work alike;
//! this interface adds what differs: which codes a filter selects, subsumption, the
//! hierarchy, extra properties and notes on a code.

use std::sync::Arc;

use super::issue::Issue;
use super::lookup::LookupProperty;
use super::members::{member_from_concept, Member, Selection};
use super::Scope;
use crate::error::Result;
use crate::model::{CodeSystem, Filter, PropertyValue};

/// The id of a provider's note on a code (`code_notes`): reported as an issue, never in the
/// summary `message` (the `NOSTERM_` prefix keeps it off the wire).
pub const CODE_NOTE: &str = "NOSTERM_CODE_NOTE";

/// What an operation asks of a code system.
pub trait CodeSystemProvider {
    /// The name `$lookup` gives the code system.
    fn name(&self) -> String;
    /// The concepts an include selects with `filters` (none: every concept), as members of
    /// the system `url`, in the provider's order.
    fn members(&self, scope: &Scope, filters: &[Filter], url: &str) -> Result<Vec<Member>>;
    /// The member for one code the value set lists, when the system knows it.
    fn member(&self, code: &str, url: &str) -> Option<Member>;
    /// Whether what `filters` select (none: the whole system) is an open set: the system
    /// has a grammar (SNOMED CT's postcoordination) and the filters let expressions in.
    fn open(&self, filters: &[Filter]) -> bool;
    /// Whether `code` is a code of the system that every filter selects.
    fn selects(&self, scope: &Scope, filters: &[Filter], code: &str) -> Result<bool>;
    /// Whether `ancestor` subsumes `code` (is it or one of its ancestors); both known.
    fn subsumes(&self, ancestor: &str, code: &str) -> bool;
    /// The direct children of `code`, with their displays.
    fn children(&self, code: &str) -> Vec<(String, Option<String>)>;
    /// Properties of `code` beyond those the concept holds: the provider's default set when
    /// `requested` is empty or `*`, else those named.
    fn extra_properties(&self, code: &str, requested: &[String]) -> Vec<LookupProperty>;
    /// The filters of the implicit value set `{system}?fhir_vs={spec}` (FHIR's `isa/X`,
    /// `refset/X`, `ecl/…` for SNOMED CT); None when the system has no such value set.
    fn implicit_filters(&self, spec: &str) -> Option<Vec<Filter>>;
    /// The title of the implicit value set `?fhir_vs` (spec None) or `?fhir_vs={spec}`,
    /// when the provider names it.
    fn implicit_title(&self, spec: Option<&str>) -> Option<String>;
    /// Notes on a code the system validates as a code system (e.g. how an expression was
    /// checked), with whether the code is one of the system's.
    fn code_notes(&self, code: &str) -> Vec<Issue>;
}

/// The provider of a code system.
pub fn provider(cs: &Arc<CodeSystem>) -> Box<dyn CodeSystemProvider + '_> {
    match &cs.edition.edition {
        Some(edition) => Box::new(super::snomed::SnomedProvider { cs, edition }),
        None => Box::new(CatalogProvider { cs }),
    }
}

/// A code system of the catalog: its concepts are in `cs.concepts`.
pub struct CatalogProvider<'a> {
    pub cs: &'a Arc<CodeSystem>,
}

impl CodeSystemProvider for CatalogProvider<'_> {
    fn name(&self) -> String {
        let meta = &self.cs.meta;
        meta.name
            .clone()
            .or_else(|| meta.title.clone())
            .unwrap_or_else(|| meta.url.clone())
    }

    fn members(&self, scope: &Scope, filters: &[Filter], url: &str) -> Result<Vec<Member>> {
        let cs = self.cs;
        let compiled = filters
            .iter()
            .map(|f| super::filter::CompiledFilter::new(cs, f))
            .collect::<Result<Vec<_>>>()?;
        let selection = if filters.is_empty() {
            Selection::WholeSystem
        } else {
            Selection::Filtered {
                hierarchy: filters.iter().any(|f| {
                    matches!(
                        f.op.as_str(),
                        "is-a" | "descendent-of" | "child-of" | "descendent-leaf" | "generalizes"
                    )
                }),
            }
        };
        let mut members = Vec::new();
        for i in 0..cs.concepts.len() {
            // A regex or property filter over a large system is the long loop here.
            if i % 4096 == 4095 {
                scope.check_deadline()?;
            }
            if compiled.iter().all(|f| f.matches(cs, i)) {
                let mut m = member_from_concept(cs, i, url);
                m.selection = selection;
                members.push(m);
            }
        }
        Ok(members)
    }

    fn member(&self, code: &str, url: &str) -> Option<Member> {
        let i = self.cs.index_of(code)?;
        Some(member_from_concept(self.cs, i, url))
    }

    fn open(&self, _filters: &[Filter]) -> bool {
        false
    }

    fn selects(&self, _scope: &Scope, filters: &[Filter], code: &str) -> Result<bool> {
        let cs = self.cs;
        let Some(index) = cs.concept(code).and_then(|c| cs.index_of(&c.code)) else {
            return Ok(false);
        };
        for f in filters {
            if !super::filter::matches_one(cs, f, index)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn subsumes(&self, ancestor: &str, code: &str) -> bool {
        self.cs.subsumes(ancestor, code)
    }

    fn children(&self, code: &str) -> Vec<(String, Option<String>)> {
        let Some(index) = self.cs.index_of(code) else {
            return Vec::new();
        };
        self.cs
            .children_of(index)
            .map(|c| (c.code.clone(), c.display.clone()))
            .collect()
    }

    fn extra_properties(&self, _code: &str, _requested: &[String]) -> Vec<LookupProperty> {
        Vec::new()
    }

    fn code_notes(&self, _code: &str) -> Vec<Issue> {
        Vec::new()
    }

    fn implicit_filters(&self, _spec: &str) -> Option<Vec<Filter>> {
        None
    }

    fn implicit_title(&self, _spec: Option<&str>) -> Option<String> {
        None
    }
}

/// The implicit value set a URL names: `{system}?fhir_vs` (every code), or
/// `{system}?fhir_vs={spec}` as the system's provider reads `spec`; None when `url` is no
/// implicit value set, `Err` (not found) when its system or its spec is unknown.
pub fn implicit_value_set(scope: &Scope, url: &str) -> Option<Result<crate::model::ValueSet>> {
    let (system, spec) = match url.split_once("?fhir_vs") {
        Some((system, "")) => (system, None),
        Some((system, rest)) => (system, Some(rest.strip_prefix('=')?)),
        None => return None,
    };
    let not_found = || {
        crate::error::Error::NotFound(format!(
            "A definition for the value Set '{url}' could not be found"
        ))
    };
    let Some(cs) = scope.code_system(system, None) else {
        return Some(Err(match spec {
            None => super::lookup::unknown_system(system, None),
            Some(_) => not_found(),
        }));
    };
    // No version: the request's version parameters choose it, as for any include.
    let mut vs = super::expand::implicit_value_set(&cs.meta.url, None);
    let provider = provider(&cs);
    vs.meta.title = provider.implicit_title(spec);
    if let Some(spec) = spec {
        match provider.implicit_filters(spec) {
            Some(filters) => {
                vs.meta.url = url.to_string();
                vs.compose.include[0].filters = filters;
            }
            None => return Some(Err(not_found())),
        }
    }
    Some(Ok(vs))
}

/// A code property, as `$lookup` lists it.
pub fn code_property(code: &str, value: String, description: Option<String>) -> LookupProperty {
    LookupProperty {
        code: code.to_string(),
        value: PropertyValue::Code(value),
        description,
        code_display: None,
    }
}
