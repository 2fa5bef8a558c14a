//! Value-set membership: deciding whether (system, code) is in a value set, and enumerating
//! its members. Shared by `$validate-code` and `$expand`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

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
    /// Extensions of the value set's `compose.include.concept` (e.g. `valueset-deprecated`).
    pub extensions: Vec<serde_json::Value>,
    /// How the member was selected (decides whether `$expand` nests it).
    pub selection: Selection,
}

/// How a member was selected by the value set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Selection {
    /// Enumerated, or imported from another value set.
    #[default]
    Listed,
    /// A whole code system.
    WholeSystem,
    /// Filters on a code system; `hierarchy` when one of them is a hierarchy filter.
    Filtered { hierarchy: bool },
}

/// What a value set says about one code.
#[derive(Debug, Clone, Default)]
pub struct Hit {
    /// The value set's own label for the code (JDV label), if it gives one.
    pub label: Option<String>,
    pub designations: Vec<Designation>,
    /// The value set marks this member deprecated (`valueset-deprecated` or a
    /// `structuredefinition-standards-status` of deprecated).
    pub deprecated: bool,
}

/// A member-level extension saying the value set deprecates this member.
fn is_deprecation(ext: &serde_json::Value) -> bool {
    let url = ext.get("url").and_then(|u| u.as_str()).unwrap_or("");
    let value = ext
        .get("valueCode")
        .or_else(|| ext.get("valueBoolean"))
        .map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        });
    match url {
        "http://hl7.org/fhir/StructureDefinition/valueset-deprecated" => {
            value.as_deref() == Some("true")
        }
        "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status" => {
            value.as_deref() == Some("deprecated")
        }
        _ => false,
    }
}

pub fn same_system(scope: &Scope, a: &str, b: &str) -> bool {
    a == b
        // `urn:oid:X` and bare `X` name the same system, known here or not.
        || matches!(
            (crate::model::oid_of(a), crate::model::oid_of(b)),
            (Some(x), Some(y)) if x == y
        )
        || scope
            .canonical_url(a)
            .zip(scope.canonical_url(b))
            .is_some_and(|(x, y)| x == y)
}

/// Whether the component (include or exclude) selects `system#code`.
pub fn component_hit(
    scope: &Scope,
    inc: &ConceptSetComponent,
    system: &str,
    code: &str,
    depth: usize,
) -> Result<Option<Hit>> {
    component_hit_at(scope, inc, inc.version.as_deref(), system, code, depth)
}

/// `component_hit`, reading the component's code system at `version` rather than at the
/// version the component names.
pub fn component_hit_at(
    scope: &Scope,
    inc: &ConceptSetComponent,
    version: Option<&str>,
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
            match inc.concept(code) {
                Some(c) => {
                    hit.label = c.display.clone();
                    hit.designations = c.designations.clone();
                    hit.deprecated = c.extensions.iter().any(is_deprecation);
                }
                None => return Ok(None),
            }
        } else {
            let Some(cs) = scope.code_system(s, version) else {
                return Ok(None);
            };
            let Some(index) = cs.concept(code).and_then(|c| cs.index_of(&c.code)) else {
                return Ok(None);
            };
            for f in &inc.filters {
                if !super::filter::matches_one(&cs, f, index)? {
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
        Error::NotFound(format!(
            "A definition for the value Set '{canonical}' could not be found"
        ))
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
                    label: it
                        .get("display")
                        .and_then(|d| d.as_str())
                        .map(str::to_string),
                    designations: Vec::new(),
                    deprecated: false,
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

/// `$expand` parameters that choose code system versions (`system|version` pairs).
#[derive(Debug, Clone, Default)]
pub struct VersionRules {
    /// `force-system-version`: overrides every other version.
    pub force: Vec<(String, String)>,
    /// `system-version`: used when an include names no version.
    pub default: Vec<(String, String)>,
    /// `check-system-version`: the version used must match (also a default).
    pub check: Vec<(String, String)>,
}

impl VersionRules {
    fn find<'r>(scope: &Scope, list: &'r [(String, String)], url: &str) -> Option<&'r str> {
        list.iter()
            .find(|(s, _)| same_system(scope, s, url))
            .map(|(_, v)| v.as_str())
    }
}

/// What an enumeration used: reported as expansion parameters.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// `system|version` (or `system`) of every code system an include used.
    pub used_systems: Vec<String>,
    /// `url|version` of every value set imported.
    pub used_value_sets: Vec<String>,
    /// (`warning-draft`, `warning-experimental`, `warning-deprecated`, …, canonical).
    pub warnings: Vec<(String, String)>,
    /// Version parameters that decided a version: (parameter name, `system|version`).
    pub applied: Vec<(String, String)>,
    /// Per include of a system: (system, the version the include names).
    pub include_versions: Vec<(String, Option<String>)>,
    /// Value sets being expanded (cycle detection).
    stack: Vec<String>,
}

fn push_unique<T: PartialEq>(v: &mut Vec<T>, item: T) {
    if !v.contains(&item) {
        v.push(item);
    }
}

const STANDARDS_STATUS: &str =
    "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status";

fn standards_status(extensions: &[serde_json::Value]) -> Option<&str> {
    extensions
        .iter()
        .find(|e| e.get("url").and_then(|u| u.as_str()) == Some(STANDARDS_STATUS))
        .and_then(|e| e.get("valueCode"))
        .and_then(|v| v.as_str())
}

fn warn_standards_status(meta: &crate::model::ResourceMeta, canonical: &str, trace: &mut Trace) {
    if let Some(s @ ("deprecated" | "withdrawn")) = standards_status(&meta.extensions) {
        push_unique(
            &mut trace.warnings,
            (format!("warning-{s}"), canonical.to_string()),
        );
    }
}

fn record_code_system(cs: &CodeSystem, url: &str, trace: &mut Trace) {
    let canonical = match &cs.meta.version {
        Some(v) => format!("{url}|{v}"),
        None => url.to_string(),
    };
    push_unique(&mut trace.used_systems, canonical.clone());
    for s in &cs.applied_supplements {
        push_unique(
            &mut trace.applied,
            ("used-supplement".to_string(), s.clone()),
        );
    }
    if cs.meta.status == "draft" {
        push_unique(
            &mut trace.warnings,
            ("warning-draft".to_string(), canonical.clone()),
        );
    }
    if cs.meta.experimental == Some(true) {
        push_unique(
            &mut trace.warnings,
            ("warning-experimental".to_string(), canonical.clone()),
        );
    }
    warn_standards_status(&cs.meta, &canonical, trace);
}

/// The code system version an include uses under the version rules; `None` when the code
/// system is not known at all. Records what was used in `trace`.
pub(crate) fn resolve_include(
    scope: &Scope,
    inc: &ConceptSetComponent,
    rules: &VersionRules,
    trace: &mut Trace,
) -> Result<Option<Arc<CodeSystem>>> {
    let Some(system) = inc.system.as_deref() else {
        return Ok(None);
    };
    let url = scope
        .canonical_url(system)
        .unwrap_or_else(|| system.to_string());
    let force = VersionRules::find(scope, &rules.force, &url);
    let check = VersionRules::find(scope, &rules.check, &url);
    let default = VersionRules::find(scope, &rules.default, &url);
    let (spec, applied) = if let Some(f) = force {
        (Some(f), None)
    } else if let Some(v) = inc.version.as_deref() {
        (Some(v), None)
    } else if let Some(d) = default {
        (Some(d), Some(("system-version", d)))
    } else if let Some(c) = check {
        (Some(c), Some(("check-system-version", c)))
    } else {
        (None, None)
    };
    trace
        .include_versions
        .push((url.clone(), inc.version.clone()));
    let cs = match (scope.code_system(&url, spec), spec) {
        (Some(cs), _) => cs,
        (None, Some(v)) => {
            let versions: Vec<String> = scope
                .code_system_versions(&url)
                .iter()
                .filter_map(|c| c.meta.version.clone())
                .collect();
            if versions.is_empty() {
                return Ok(None);
            }
            return Err(Error::UnknownSystem {
                message: format!(
                    "A definition for CodeSystem '{url}' version '{v}' could not be found, so the value set cannot be expanded. Valid versions: {}",
                    versions.join(" or ")
                ),
                system: url,
            });
        }
        (None, None) => return Ok(None),
    };
    if let Some(c) = check {
        let actual = cs.meta.version.as_deref().unwrap_or("");
        if !crate::catalog::version::matches(c, actual) {
            return Err(Error::VersionCheck(format!(
                "The version '{actual}' is not allowed for system '{url}': required to be '{c}' by a version-check parameter"
            )));
        }
    }
    if let Some((name, v)) = applied {
        push_unique(&mut trace.applied, (name.to_string(), format!("{url}|{v}")));
    }
    record_code_system(&cs, &url, trace);
    Ok(Some(cs))
}

/// A value set imported by `compose.include.valueSet`: a canonical, or `#id` of a value set
/// contained in `container`.
fn import_value_set(
    scope: &Scope,
    container: &ValueSet,
    reference: &str,
    trace: &mut Trace,
) -> Result<Arc<ValueSet>> {
    if let Some(id) = reference.strip_prefix('#') {
        for c in &container.contained {
            if c.get("resourceType").and_then(|v| v.as_str()) == Some("ValueSet")
                && c.get("id").and_then(|v| v.as_str()) == Some(id)
            {
                if let Ok(crate::load::Resource::ValueSet(vs)) =
                    crate::load::fhir_json::parse_resource(c)
                {
                    return Ok(Arc::new(vs));
                }
            }
        }
        return Err(Error::NotFound(format!(
            "Unable to resolve value set '{reference}'"
        )));
    }
    let vs = resolve_value_set(scope, reference)?;
    push_unique(&mut trace.used_value_sets, vs.meta.versioned_url());
    Ok(vs)
}

/// The members of a value set, in compose order, with what their enumeration used.
#[derive(Default)]
pub struct Enumeration {
    pub members: Vec<Member>,
    pub trace: Trace,
    /// system → code → position in `members`; built on first use.
    positions: OnceLock<HashMap<String, HashMap<String, u32>>>,
    /// The snapshot's cache of selections and this enumeration's id in it, when the
    /// enumeration is kept for the snapshot (`None` for one made for a single request).
    chosen: Option<(u64, Arc<SelectionCache>)>,
}

impl std::fmt::Debug for Enumeration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enumeration")
            .field("members", &self.members.len())
            .field("trace", &self.trace)
            .finish()
    }
}

/// What selects members of an enumeration: the text filter as the request wrote it, and
/// `activeOnly`.
pub type ChosenKey = (Option<String>, bool);

/// The members one (filter, activeOnly) selects, in expansion order, and the systems whose
/// members mix versions (`contains.version` is then shown). Kept per snapshot, so that a
/// page of a known selection costs the page, not the number of matches.
#[derive(Debug, Default)]
pub struct Chosen {
    /// Positions in `Enumeration::members`.
    pub positions: Vec<u32>,
    pub mixed: HashSet<String>,
}

/// Selections of every kept enumeration of one snapshot, by (enumeration id, key).
type SelectionCache = moka::sync::Cache<(u64, ChosenKey), Arc<Chosen>>;

/// Weight units (about 4 bytes each: one per member position) of the selections kept per
/// snapshot, as many as the search index keeps of result lists.
const SELECTIONS_CAPACITY: u64 = 4_000_000;

/// Ids of kept enumerations, unique in the process (a snapshot's cache never mixes two).
static NEXT_ENUMERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn selection_cache() -> SelectionCache {
    moka::sync::Cache::builder()
        .max_capacity(SELECTIONS_CAPACITY)
        .weigher(|k: &(u64, ChosenKey), v: &Arc<Chosen>| {
            let key = k.1 .0.as_ref().map_or(0, String::len) / 4;
            let mixed: usize = v.mixed.iter().map(|s| s.len() / 4 + 8).sum();
            u32::try_from(v.positions.len() + key + mixed + 16).unwrap_or(u32::MAX)
        })
        .build()
}

impl Enumeration {
    fn new(members: Vec<Member>, trace: Trace, selections: Option<Arc<SelectionCache>>) -> Self {
        let id = NEXT_ENUMERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Enumeration {
            members,
            trace,
            positions: OnceLock::new(),
            chosen: selections.map(|c| (id, c)),
        }
    }

    /// The selection kept under `key`, if any.
    pub fn chosen(&self, key: &ChosenKey) -> Option<Arc<Chosen>> {
        let (id, cache) = self.chosen.as_ref()?;
        // The key is cloned for the look-up: a filter of a few characters.
        cache.get(&(*id, key.clone()))
    }

    /// Keeps a selection (when this enumeration is kept for the snapshot).
    pub fn keep_chosen(&self, key: ChosenKey, value: Arc<Chosen>) {
        if let Some((id, cache)) = &self.chosen {
            cache.insert((*id, key), value);
        }
    }

    /// Where `system#code` is in `members`.
    pub fn position(&self, system: &str, code: &str) -> Option<usize> {
        self.codes_of(system)?.get(code).map(|&i| i as usize)
    }

    /// code → position in `members`, of the members of `system` (callers looking up many codes
    /// of one system hash its long URL once).
    pub fn codes_of(&self, system: &str) -> Option<&HashMap<String, u32>> {
        let positions = self.positions.get_or_init(|| {
            let mut map: HashMap<String, HashMap<String, u32>> = HashMap::new();
            for (i, m) in self.members.iter().enumerate() {
                map.entry(m.system.clone())
                    .or_default()
                    .entry(m.code.clone())
                    .or_insert(i as u32);
            }
            map
        });
        positions.get(system)
    }
}

/// `enumerate_traced` with its trace, kept in the snapshot's memo when `vs` is one of the
/// snapshot's own value sets enumerated under its own versions (no request-scoped resources,
/// no version parameters): a catalog JDV is then enumerated once per snapshot, not once per
/// `$expand`.
pub fn enumerate_shared(
    scope: &Scope,
    vs: &ValueSet,
    rules: &VersionRules,
) -> Result<Arc<Enumeration>> {
    let compute = |selections: Option<Arc<SelectionCache>>| {
        let mut trace = Trace::default();
        let members = enumerate_traced(scope, vs, rules, &mut trace)?;
        Ok(Enumeration::new(members, trace, selections))
    };
    let Some(key) = kept_key(scope, vs, rules) else {
        return compute(None).map(Arc::new);
    };
    let selections = scope.base.memo.get_or_try_insert(
        "expand selections",
        |_| 1,
        || Ok::<_, Error>(selection_cache()),
    )?;
    scope.base.memo.get_or_try_insert(
        &key,
        |e: &Enumeration| u32::try_from(e.members.len()).unwrap_or(u32::MAX),
        || compute(Some(selections)),
    )
}

/// The memo key of the enumeration of `vs`, when it is kept for the snapshot: one of the
/// catalog's own value sets under its own versions (no request-scoped resources, no version
/// parameters).
fn kept_key(scope: &Scope, vs: &ValueSet, rules: &VersionRules) -> Option<String> {
    let own_resources = scope
        .overlay
        .is_some_and(|o| !o.code_systems.is_empty() || !o.value_sets.is_empty());
    let rules_given =
        !(rules.force.is_empty() && rules.default.is_empty() && rules.check.is_empty());
    let catalog_own = scope
        .base
        .value_sets
        .get(&vs.meta.url, vs.meta.version.as_deref())
        .is_some_and(|known| std::ptr::eq(known.as_ref(), vs));
    (!own_resources && !rules_given && catalog_own)
        .then(|| format!("members {}", vs.meta.versioned_url()))
}

/// The enumeration `enumerate_shared` keeps for the snapshot, when it is already kept: `None`
/// when it would have to be computed (or is never kept: request-scoped resources, version
/// rules, a value set that is not the catalog's own).
pub fn enumeration_kept(
    scope: &Scope,
    vs: &ValueSet,
    rules: &VersionRules,
) -> Option<Arc<Enumeration>> {
    let key = kept_key(scope, vs, rules)?;
    // The memo keeps no error: asking with a computation that fails only reads it.
    scope
        .base
        .memo
        .get_or_try_insert(
            &key,
            |e: &Enumeration| u32::try_from(e.members.len()).unwrap_or(u32::MAX),
            || Err(()),
        )
        .ok()
}

/// Every member of `vs`, in compose order, without duplicates.
pub fn enumerate(scope: &Scope, vs: &ValueSet, _depth: usize) -> Result<Vec<Member>> {
    enumerate_traced(scope, vs, &VersionRules::default(), &mut Trace::default())
}

/// Every member of `vs` under the version rules, recording in `trace` what was used.
pub fn enumerate_traced(
    scope: &Scope,
    vs: &ValueSet,
    rules: &VersionRules,
    trace: &mut Trace,
) -> Result<Vec<Member>> {
    let key = vs.meta.versioned_url();
    if trace.stack.len() > MAX_DEPTH || (!vs.meta.url.is_empty() && trace.stack.contains(&key)) {
        let mut path = trace.stack.clone();
        path.push(key.clone());
        return Err(Error::InvalidValueSet(format!(
            "The value set '{key}' includes itself (circular reference via {})",
            path.join(" -> ")
        )));
    }
    trace.stack.push(key.clone());
    warn_standards_status(&vs.meta, &key, trace);
    let result = enumerate_inner(scope, vs, rules, trace);
    trace.stack.pop();
    result
}

fn enumerate_inner(
    scope: &Scope,
    vs: &ValueSet,
    rules: &VersionRules,
    trace: &mut Trace,
) -> Result<Vec<Member>> {
    let mut out = Vec::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    for inc in &vs.compose.include {
        scope.check_deadline()?;
        for m in component_members(scope, vs, inc, rules, trace)? {
            if seen.insert((m.system.clone(), m.code.clone())) {
                out.push(m);
            }
        }
    }
    if !vs.compose.exclude.is_empty() {
        // Excludes are evaluated aside: what they use is not reported.
        let mut aside = Trace {
            stack: trace.stack.clone(),
            ..Default::default()
        };
        let mut excluded: HashSet<(String, String)> = HashSet::new();
        for exc in &vs.compose.exclude {
            for m in component_members(scope, vs, exc, rules, &mut aside)? {
                excluded.insert((m.system, m.code));
            }
        }
        out.retain(|m| !excluded.contains(&(m.system.clone(), m.code.clone())));
    }
    if vs.compose.inactive == Some(false) {
        out.retain(|m| !m.inactive);
    }
    Ok(out)
}

const NOT_SELECTABLE_URI: &str = "http://hl7.org/fhir/concept-properties#notSelectable";

/// notSelectable: a `notSelectable` property, or a property the code system declares with the
/// standard notSelectable URI, that is true.
fn concept_is_abstract(cs: &CodeSystem, c: &crate::model::Concept) -> bool {
    c.properties.iter().any(|p| {
        let standard = &*p.code == "notSelectable"
            || cs
                .property_defs
                .iter()
                .any(|d| *d.code == *p.code && d.uri.as_deref() == Some(NOT_SELECTABLE_URI));
        standard && matches!(p.value, crate::model::PropertyValue::Boolean(true))
    })
}

pub(crate) fn member_from_concept(cs: &Arc<CodeSystem>, index: usize, system: &str) -> Member {
    let c = &cs.concepts[index];
    Member {
        system: system.to_string(),
        version: cs.meta.version.clone(),
        code: c.code.clone(),
        display: c.display.clone(),
        designations: c.designations.clone(),
        inactive: c.is_inactive(),
        is_abstract: concept_is_abstract(cs, c),
        source: Some((cs.clone(), index)),
        extensions: Vec::new(),
        selection: Selection::Listed,
    }
}

fn component_members(
    scope: &Scope,
    container: &ValueSet,
    inc: &ConceptSetComponent,
    rules: &VersionRules,
    trace: &mut Trace,
) -> Result<Vec<Member>> {
    let mut members: Vec<Member> = Vec::new();
    if let Some(system) = inc.system.as_deref() {
        let url = scope
            .canonical_url(system)
            .unwrap_or_else(|| system.to_string());
        let cs = resolve_include(scope, inc, rules, trace)?;
        if !inc.concepts.is_empty() {
            for r in &inc.concepts {
                let known = cs
                    .as_ref()
                    .and_then(|cs| cs.index_of(&r.code).map(|i| (cs, i)));
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
                            extensions: Vec::new(),
                            selection: Selection::Listed,
                        }
                    }
                };
                if r.display.is_some() {
                    m.display = r.display.clone();
                }
                if !r.designations.is_empty() {
                    m.designations = r.designations.clone();
                }
                m.extensions = r.extensions.clone();
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
            let selection = if inc.filters.is_empty() {
                Selection::WholeSystem
            } else {
                Selection::Filtered {
                    hierarchy: inc.filters.iter().any(|f| {
                        matches!(
                            f.op.as_str(),
                            "is-a"
                                | "descendent-of"
                                | "child-of"
                                | "descendent-leaf"
                                | "generalizes"
                        )
                    }),
                }
            };
            for i in 0..cs.concepts.len() {
                // A regex or property filter over a large system is the long loop here.
                if i % 4096 == 4095 {
                    scope.check_deadline()?;
                }
                if filters.iter().all(|f| f.matches(&cs, i)) {
                    let mut m = member_from_concept(&cs, i, &url);
                    m.selection = selection;
                    members.push(m);
                }
            }
        }
    }
    for vs_url in &inc.value_sets {
        let vs = import_value_set(scope, container, vs_url, trace)?;
        let mut others = enumerate_traced(scope, &vs, rules, trace)?;
        for m in &mut others {
            m.selection = Selection::Listed;
        }
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
