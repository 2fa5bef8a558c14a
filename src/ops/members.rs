//! Value-set membership: deciding whether (system, code) is in a value set, and enumerating
//! its members. Shared by `$validate-code` and `$expand`.

use std::collections::HashSet;
use std::sync::Arc;

use super::filter::CompiledFilter;
use crate::catalog::Scope;
use crate::error::{Error, Result};
use crate::model::{CodeSystem, ConceptSetComponent, Designation, ValueSet};

/// Value sets nest (`compose.include.valueSet`); beyond this depth we assume a cycle.
const MAX_DEPTH: usize = 16;

/// One member of an expanded value set.
#[derive(Debug, Clone)]
pub struct Member {
    pub system: String,
    pub version: Option<String>,
    pub code: String,
    /// The value set's own label when it gives one, else the code system's display.
    pub display: Option<String>,
    pub designations: Vec<Designation>,
    pub inactive: bool,
    pub is_abstract: bool,
    /// The code system and concept index, when the system is loaded and knows the code.
    pub source: Option<(Arc<CodeSystem>, usize)>,
}

/// What a value set says about one code.
#[derive(Debug, Clone, Default)]
pub struct Hit {
    /// The value set's own label for the code (JDV label), if it gives one.
    pub label: Option<String>,
    pub designations: Vec<Designation>,
}

fn same_system(scope: &Scope, a: &str, b: &str) -> bool {
    a == b || scope.canonical_url(a).zip(scope.canonical_url(b)).is_some_and(|(x, y)| x == y)
}

fn include_code_system(scope: &Scope, inc: &ConceptSetComponent) -> Option<Arc<CodeSystem>> {
    let system = inc.system.as_deref()?;
    scope.code_system(system, inc.version.as_deref())
}

/// Whether the component (include or exclude) selects `system#code`.
fn component_hit(
    scope: &Scope,
    inc: &ConceptSetComponent,
    system: &str,
    code: &str,
    depth: usize,
) -> Result<Option<Hit>> {
    let mut hit = Hit::default();
    if let Some(s) = inc.system.as_deref() {
        if !same_system(scope, s, system) {
            return Ok(None);
        }
        if !inc.concepts.is_empty() {
            match inc.concepts.iter().find(|c| c.code == code) {
                Some(c) => {
                    hit.label = c.display.clone();
                    hit.designations = c.designations.clone();
                }
                None => return Ok(None),
            }
        } else {
            let Some(cs) = include_code_system(scope, inc) else {
                return Ok(None);
            };
            let Some(index) = cs.concept(code).and_then(|c| cs.index_of(&c.code)) else {
                return Ok(None);
            };
            for f in &inc.filters {
                if !CompiledFilter::new(&cs, f)?.matches(&cs, index) {
                    return Ok(None);
                }
            }
        }
    }
    for vs_url in &inc.value_sets {
        let vs = resolve_value_set(scope, vs_url)?;
        if contains(scope, &vs, system, code, depth + 1)?.is_none() {
            return Ok(None);
        }
    }
    Ok(Some(hit))
}

pub fn resolve_value_set(scope: &Scope, canonical: &str) -> Result<Arc<ValueSet>> {
    let (url, version) = crate::model::split_canonical(canonical);
    scope.value_set(url, version).ok_or_else(|| {
        Error::NotFound(format!("Unable to resolve value set '{canonical}'"))
    })
}

/// Whether `vs` contains `system#code`; the hit carries the value set's label for it.
pub fn contains(
    scope: &Scope,
    vs: &ValueSet,
    system: &str,
    code: &str,
    depth: usize,
) -> Result<Option<Hit>> {
    if depth > MAX_DEPTH {
        return Err(Error::Unprocessable(format!(
            "The value set '{}' includes itself (circular reference)",
            vs.meta.url
        )));
    }
    let mut found = None;
    for inc in &vs.compose.include {
        if let Some(h) = component_hit(scope, inc, system, code, depth)? {
            found = Some(h);
            break;
        }
    }
    if found.is_none() {
        if let Some(exp) = &vs.expansion {
            found = stored_expansion_hit(exp, system, code);
        }
    }
    if found.is_some() {
        for exc in &vs.compose.exclude {
            if component_hit(scope, exc, system, code, depth)?.is_some() {
                return Ok(None);
            }
        }
    }
    Ok(found)
}

fn stored_expansion_hit(exp: &serde_json::Value, system: &str, code: &str) -> Option<Hit> {
    fn walk(items: &[serde_json::Value], system: &str, code: &str) -> Option<Hit> {
        for it in items {
            if it.get("system").and_then(|s| s.as_str()) == Some(system)
                && it.get("code").and_then(|s| s.as_str()) == Some(code)
            {
                return Some(Hit {
                    label: it.get("display").and_then(|d| d.as_str()).map(str::to_string),
                    designations: Vec::new(),
                });
            }
            if let Some(children) = it.get("contains").and_then(|c| c.as_array()) {
                if let Some(h) = walk(children, system, code) {
                    return Some(h);
                }
            }
        }
        None
    }
    walk(exp.get("contains")?.as_array()?, system, code)
}

/// Every member of `vs`, in compose order, without duplicates.
pub fn enumerate(scope: &Scope, vs: &ValueSet, depth: usize) -> Result<Vec<Member>> {
    if depth > MAX_DEPTH {
        return Err(Error::Unprocessable(format!(
            "The value set '{}' includes itself (circular reference)",
            vs.meta.url
        )));
    }
    let mut out = Vec::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for inc in &vs.compose.include {
        for m in component_members(scope, inc, depth)? {
            if seen.insert((m.system.clone(), m.code.clone())) {
                out.push(m);
            }
        }
    }
    if !vs.compose.exclude.is_empty() {
        let mut excluded: HashSet<(String, String)> = HashSet::new();
        for exc in &vs.compose.exclude {
            for m in component_members(scope, exc, depth)? {
                excluded.insert((m.system, m.code));
            }
        }
        out.retain(|m| !excluded.contains(&(m.system.clone(), m.code.clone())));
    }
    Ok(out)
}

fn member_from_concept(cs: &Arc<CodeSystem>, index: usize, system: &str) -> Member {
    let c = &cs.concepts[index];
    Member {
        system: system.to_string(),
        version: cs.meta.version.clone(),
        code: c.code.clone(),
        display: c.display.clone(),
        designations: c.designations.clone(),
        inactive: c.is_inactive(),
        is_abstract: c.is_abstract(),
        source: Some((cs.clone(), index)),
    }
}

fn component_members(scope: &Scope, inc: &ConceptSetComponent, depth: usize) -> Result<Vec<Member>> {
    let mut members: Vec<Member> = Vec::new();
    if let Some(system) = inc.system.as_deref() {
        let url = scope.canonical_url(system).unwrap_or_else(|| system.to_string());
        let cs = include_code_system(scope, inc);
        if !inc.concepts.is_empty() {
            for r in &inc.concepts {
                let known = cs.as_ref().and_then(|cs| cs.index_of(&r.code).map(|i| (cs, i)));
                let mut m = match known {
                    Some((cs, i)) => member_from_concept(cs, i, &url),
                    None => {
                        // The code system is not loaded (or does not know the code): the value
                        // set itself decides membership, as CDA validators expect.
                        if cs.as_ref().is_some_and(|c| c.content == "complete") {
                            continue;
                        }
                        Member {
                            system: url.clone(),
                            version: inc.version.clone(),
                            code: r.code.clone(),
                            display: None,
                            designations: Vec::new(),
                            inactive: false,
                            is_abstract: false,
                            source: None,
                        }
                    }
                };
                if r.display.is_some() {
                    m.display = r.display.clone();
                }
                if !r.designations.is_empty() {
                    m.designations = r.designations.clone();
                }
                members.push(m);
            }
        } else {
            let cs = cs.ok_or_else(|| Error::UnknownSystem {
                message: format!(
                    "A definition for CodeSystem '{system}' could not be found, so the value set cannot be expanded"
                ),
                system: system.to_string(),
            })?;
            let filters = inc
                .filters
                .iter()
                .map(|f| CompiledFilter::new(&cs, f))
                .collect::<Result<Vec<_>>>()?;
            for i in 0..cs.concepts.len() {
                if filters.iter().all(|f| f.matches(&cs, i)) {
                    members.push(member_from_concept(&cs, i, &url));
                }
            }
        }
    }
    for vs_url in &inc.value_sets {
        let vs = resolve_value_set(scope, vs_url)?;
        let others = enumerate(scope, &vs, depth + 1)?;
        if inc.system.is_some() || members_started(inc, vs_url) {
            let keep: HashSet<(String, String)> =
                others.into_iter().map(|m| (m.system, m.code)).collect();
            members.retain(|m| keep.contains(&(m.system.clone(), m.code.clone())));
        } else {
            members = others;
        }
    }
    Ok(members)
}

/// With several `valueSet` entries and no system, the first fills the list and the others
/// intersect it.
fn members_started(inc: &ConceptSetComponent, current: &str) -> bool {
    inc.value_sets.first().map(String::as_str) != Some(current)
}
