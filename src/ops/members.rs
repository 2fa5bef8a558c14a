//! Value-set membership: deciding whether (system, code) is in a value set, and enumerating
//! its members. Shared by `$validate-code` and `$expand`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::model::{CodeSystem, ConceptSetComponent, Designation, ValueSet};
use crate::ops::Scope;
use crate::search::{MemberLister, Source};

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
    /// The SNOMED CT concept, when an edition knows the code: its display in the languages
    /// asked for and its designations are read from the edition for the page shown only.
    pub sct: Option<(Arc<crate::snomed::Edition>, crate::snomed::graph::Cid)>,
    /// Extensions of the value set's `compose.include.concept` (e.g. `valueset-deprecated`).
    pub extensions: Vec<serde_json::Value>,
    /// How the member was selected (decides whether `$expand` nests it).
    pub selection: Selection,
}

impl Member {
    /// A code the value set lists that no loaded code system describes: its system, version
    /// and code, nothing more.
    pub fn listed_only(system: &str, version: Option<&str>, code: &str) -> Member {
        Member {
            system: system.to_string(),
            version: version.map(str::to_string),
            code: code.to_string(),
            display: None,
            designations: Vec::new(),
            inactive: false,
            is_abstract: false,
            source: None,
            sct: None,
            extensions: Vec::new(),
            selection: Selection::Listed,
        }
    }
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
            // A case-insensitive code system lists its codes in one case and accepts any.
            let listed = inc.concept(code).or_else(|| {
                let cs = scope.code_system(s, version)?;
                if cs.case_sensitive != Some(false) {
                    return None;
                }
                inc.concepts
                    .iter()
                    .find(|c| c.code.eq_ignore_ascii_case(code))
            });
            match listed {
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
            if !super::provider::provider(&cs).selects(scope, &inc.filters, code)? {
                return Ok(None);
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

/// Refuses a value set whose definition cannot be evaluated as written: a filter without
/// value (the reference server's UNABLE_TO_HANDLE_SYSTEM_FILTER_WITH_NO_VALUE). Checked when
/// an operation uses the value set, not when it is read: an unused broken tx-resource costs
/// the request nothing.
pub fn check_definition(vs: &ValueSet) -> Result<()> {
    match vs.filter_without_value() {
        None => Ok(()),
        Some((expression, component, filter)) => Err(Error::InvalidDefinition {
            message: format!(
                "The system {} filter with property = {}, op = {} has no value",
                component.system.as_deref().unwrap_or(""),
                filter.property,
                filter.op
            ),
            expression,
        }),
    }
}

/// The value set a reference names (`url` or `url|version`); without a version, the one a
/// `default-valueset-version` parameter gives, else the newest.
pub fn resolve_value_set(scope: &Scope, canonical: &str) -> Result<Arc<ValueSet>> {
    let (url, version) = crate::model::split_canonical(canonical);
    if let Some(implicit) = super::provider::implicit_value_set(scope, url) {
        return implicit.map(Arc::new);
    }
    let version = version.or_else(|| scope.default_value_set_version(url));
    scope.value_set(url, version).ok_or_else(|| {
        if let Some(e) = scope.unreadable(url) {
            return e;
        }
        let shown = match version {
            Some(v) => format!("{url}|{v}"),
            None => url.to_string(),
        };
        Error::NotFound(format!(
            "A definition for the value Set '{shown}' could not be found"
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
    check_definition(vs)?;
    let mut found = None;
    for inc in &vs.compose.include {
        if let Some(h) = component_hit(scope, inc, system, code, depth)? {
            found = Some(h);
            break;
        }
    }
    if found.is_none() {
        if let Some(exp) = &vs.expansion {
            found = stored_expansion_hit(scope, exp, system, code);
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

fn stored_expansion_hit(
    scope: &Scope,
    exp: &serde_json::Value,
    system: &str,
    code: &str,
) -> Option<Hit> {
    fn walk(scope: &Scope, items: &[serde_json::Value], system: &str, code: &str) -> Option<Hit> {
        for it in items {
            if it.get("code").and_then(|s| s.as_str()) == Some(code)
                && it
                    .get("system")
                    .and_then(|s| s.as_str())
                    .is_some_and(|s| same_system(scope, s, system))
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
                if let Some(h) = walk(scope, children, system, code) {
                    return Some(h);
                }
            }
        }
        None
    }
    walk(scope, exp.get("contains")?.as_array()?, system, code)
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
    /// `system|version` of every code system used that is only a fragment (`content =
    /// fragment`): the expansion cannot be known to be complete.
    pub fragments: Vec<String>,
    /// Code systems with a grammar (SNOMED CT) an include drew on by filter or whole
    /// (system, whole): the expansion is not closed.
    pub grammars: Vec<(String, bool)>,
    /// Codes were matched across versions of their system (`versionsMatch`): members of
    /// several versions merged, or an exclude of one version removed codes of another.
    pub versions_matched: bool,
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
    if cs.content == "fragment" {
        push_unique(&mut trace.fragments, canonical.clone());
    }
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
    /// First position of a code → its positions in other versions of its system (a value set
    /// including several releases of one system); built on first use.
    other_versions: OnceLock<HashMap<u32, Vec<u32>>>,
    /// This enumeration's id when it is kept for the release (`None` for one made for a
    /// single request): `$expand` keeps the selections made from it under this id.
    pub kept_id: Option<u64>,
}

impl std::fmt::Debug for Enumeration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enumeration")
            .field("members", &self.members.len())
            .field("trace", &self.trace)
            .finish()
    }
}

/// Ids of kept enumerations, unique in the process (a release's cache never mixes two).
static NEXT_ENUMERATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Enumeration {
    fn new(members: Vec<Member>, trace: Trace, kept: bool) -> Self {
        let id = NEXT_ENUMERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Enumeration {
            members,
            trace,
            positions: OnceLock::new(),
            other_versions: OnceLock::new(),
            kept_id: kept.then_some(id),
        }
    }

    /// Where `system#code` is in `members`.
    pub fn position(&self, system: &str, code: &str) -> Option<usize> {
        self.codes_of(system)?.get(code).map(|&i| i as usize)
    }

    /// The positions of the member at `first` (a code's first position) in other versions of
    /// its system.
    pub fn other_versions(&self, first: u32) -> &[u32] {
        let map = self.other_versions.get_or_init(|| {
            let mut map: HashMap<u32, Vec<u32>> = HashMap::new();
            for (i, m) in self.members.iter().enumerate() {
                if let Some(f) = self.position(&m.system, &m.code).filter(|&f| f != i) {
                    map.entry(f as u32).or_default().push(i as u32);
                }
            }
            map
        });
        map.get(&first).map_or(&[], Vec::as_slice)
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

/// `enumerate_traced` with its trace, kept in the release's memo when `vs` is one of the
/// release's own value sets enumerated under its own versions (no request-scoped resources,
/// no version parameters): a catalog JDV is then enumerated once per release, not once per
/// `$expand`.
pub fn enumerate_shared(
    scope: &Scope,
    vs: &ValueSet,
    rules: &VersionRules,
) -> Result<Arc<Enumeration>> {
    let compute = |kept: bool| {
        let mut trace = Trace::default();
        let members = enumerate_traced(scope, vs, rules, &mut trace)?;
        Ok(Enumeration::new(members, trace, kept))
    };
    let Some(key) = kept_key(scope, vs, rules) else {
        return compute(false).map(Arc::new);
    };
    scope.base.memo.get_or_try_insert(
        &key,
        |e: &Enumeration| u32::try_from(e.members.len()).unwrap_or(u32::MAX),
        || compute(true),
    )
}

/// The memo key of the enumeration of `vs`, when it is kept for the release: one of the
/// catalog's own value sets under its own versions (no request-scoped resources, no version
/// parameters).
fn kept_key(scope: &Scope, vs: &ValueSet, rules: &VersionRules) -> Option<String> {
    let own_resources = scope
        .overlay
        .is_some_and(|o| !o.code_systems.is_empty() || !o.value_sets.is_empty());
    let rules_given = !(rules.force.is_empty()
        && rules.default.is_empty()
        && rules.check.is_empty()
        && scope.value_set_versions.is_empty());
    let catalog_own = scope
        .base
        .value_sets
        .get(&vs.meta.url, vs.meta.version.as_deref())
        .is_some_and(|known| std::ptr::eq(known.as_ref(), vs));
    // An implicit value set (`{system}?fhir_vs…`, a SNOMED CT ECL or isa set) as its URL
    // defines it: its members depend on the release alone, as a catalog value set's do.
    let implicit = !catalog_own
        && vs.meta.url.contains("?fhir_vs")
        && super::provider::implicit_value_set(scope, &vs.meta.url)
            .is_some_and(|v| v.is_ok_and(|v| v.compose == vs.compose));
    (!own_resources && !rules_given && (catalog_own || implicit))
        .then(|| format!("members {}", vs.meta.versioned_url()))
}

/// The enumeration `enumerate_shared` keeps for the release, when it is already kept: `None`
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
    check_definition(vs)?;
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
    if vs.compose.include.is_empty() {
        return super::stored::stored_members(scope, vs, trace);
    }
    let merge = versions_match(vs) == Some(true);
    let mut out: Vec<Member> = Vec::new();
    // (system, version, code) → position; the version is left out when versions merge.
    let mut seen: HashMap<(String, Option<String>, String), usize> = HashMap::new();
    for i in include_order(scope, vs) {
        scope.check_deadline()?;
        for m in component_members(scope, vs, &vs.compose.include[i], rules, trace)? {
            let version = if merge { None } else { m.version.clone() };
            match seen.entry((m.system.clone(), version, m.code.clone())) {
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(out.len());
                    out.push(m);
                }
                std::collections::hash_map::Entry::Occupied(e) => {
                    // Merged versions: the member reads as in the newest version that has it,
                    // where the code was first met.
                    let kept = &mut out[*e.get()];
                    if kept.version != m.version {
                        trace.versions_matched = true;
                        if newer(m.version.as_deref(), kept.version.as_deref()) {
                            *kept = m;
                        }
                    }
                }
            }
        }
    }
    if !vs.compose.exclude.is_empty() {
        // Codes excluded from every version of their system, and from one version only.
        let mut everywhere: HashSet<(String, String)> = HashSet::new();
        let mut in_version: HashSet<(String, Option<String>, String)> = HashSet::new();
        for exc in &vs.compose.exclude {
            let spans = exclude_spans_versions(scope, vs, exc);
            for m in component_members(scope, vs, exc, rules, trace)? {
                if spans {
                    everywhere.insert((m.system, m.code));
                } else {
                    in_version.insert((m.system, m.version, m.code));
                }
            }
        }
        out.retain(|m| {
            let key = (m.system.clone(), m.code.clone());
            if everywhere.contains(&key) {
                return false;
            }
            let (system, code) = key;
            !in_version.contains(&(system, m.version.clone(), code))
        });
        if !everywhere.is_empty() {
            trace.versions_matched |= excludes_cross_versions(scope, vs);
        }
    }
    if vs.compose.inactive == Some(false) {
        out.retain(|m| !m.inactive);
    }
    oldest_version_first(&mut trace.used_systems);
    Ok(out)
}

/// Lists the versions of one system oldest first (in the places they take), as the reference
/// server reports `used-codesystem`, whatever order includes and excludes used them in.
fn oldest_version_first(used: &mut [String]) {
    let mut done = vec![false; used.len()];
    for i in 0..used.len() {
        if done[i] {
            continue;
        }
        let url = crate::model::split_canonical(&used[i]).0.to_string();
        let slots: Vec<usize> = (i..used.len())
            .filter(|&j| crate::model::split_canonical(&used[j]).0 == url)
            .collect();
        let mut versions: Vec<String> = slots.iter().map(|&j| used[j].clone()).collect();
        versions.sort_by(|a, b| {
            let (a, b) = (
                crate::model::split_canonical(a).1,
                crate::model::split_canonical(b).1,
            );
            crate::catalog::version::compare(a.unwrap_or(""), b.unwrap_or(""))
        });
        for (slot, v) in slots.into_iter().zip(versions) {
            used[slot] = v;
            done[slot] = true;
        }
    }
}

/// Whether version `a` is newer than `b` (a version beats none).
fn newer(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => crate::catalog::version::compare(a, b).is_gt(),
        (Some(_), None) => true,
        _ => false,
    }
}

/// The value set's `versionsMatch` expansion parameter (`compose.extension`): whether a code
/// means the same in every version of its system, so that the members of several versions
/// merge and an exclude of one version removes the code from all. `None` when not stated.
pub fn versions_match(vs: &ValueSet) -> Option<bool> {
    vs.expansion_parameters()
        .into_iter()
        .filter(|(name, _)| name == "versionsMatch")
        .find_map(|(_, value)| match value.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        })
}

/// The version of its code system a component (include or exclude) reads: the one it pins,
/// else the newest.
fn component_version(scope: &Scope, comp: &ConceptSetComponent) -> Option<String> {
    let system = comp.system.as_deref()?;
    scope
        .code_system(system, comp.version.as_deref())
        .and_then(|cs| cs.meta.version.clone())
        .or_else(|| comp.version.clone())
}

/// Whether some include of the value set reads `system` at `version`.
fn version_included(scope: &Scope, vs: &ValueSet, system: &str, version: Option<&str>) -> bool {
    vs.compose.include.iter().any(|inc| {
        inc.system
            .as_deref()
            .is_some_and(|s| same_system(scope, s, system))
            && component_version(scope, inc).as_deref() == version
    })
}

/// Whether an exclude removes its codes from every version of their system, not only from the
/// version it reads: when `versionsMatch` says so, when it names no version, or (unless
/// `versionsMatch` is false) when it pins a version no include reads: excluding one release
/// from another keeps what the other added.
pub fn exclude_spans_versions(scope: &Scope, vs: &ValueSet, exc: &ConceptSetComponent) -> bool {
    if let Some(m) = versions_match(vs) {
        return m;
    }
    let Some(system) = exc.system.as_deref() else {
        return true;
    };
    exc.version.is_none()
        || !version_included(scope, vs, system, component_version(scope, exc).as_deref())
}

/// Whether an exclude of the value set removes codes of another version than the one it reads.
fn excludes_cross_versions(scope: &Scope, vs: &ValueSet) -> bool {
    vs.compose.exclude.iter().any(|exc| {
        exc.version.is_some()
            && exc.system.as_deref().is_some_and(|system| {
                exclude_spans_versions(scope, vs, exc)
                    && vs.compose.include.iter().any(|inc| {
                        inc.system
                            .as_deref()
                            .is_some_and(|s| same_system(scope, s, system))
                            && component_version(scope, inc) != component_version(scope, exc)
                    })
            })
    })
}

/// Whether the exclude removes `system#code` as read at `version` (`None`: any version).
pub fn excludes_at(
    scope: &Scope,
    vs: &ValueSet,
    exc: &ConceptSetComponent,
    system: &str,
    version: Option<&str>,
    code: &str,
) -> Result<bool> {
    if component_hit(scope, exc, system, code, 0)?.is_none() {
        return Ok(false);
    }
    Ok(version.is_none()
        || exclude_spans_versions(scope, vs, exc)
        || component_version(scope, exc).as_deref() == version)
}

/// The order includes are expanded in: compose order, except that includes pinning different
/// versions of one system come newest version first (in the places they take).
fn include_order(scope: &Scope, vs: &ValueSet) -> Vec<usize> {
    let includes = &vs.compose.include;
    let mut order: Vec<usize> = (0..includes.len()).collect();
    let mut done: HashSet<usize> = HashSet::new();
    for i in 0..includes.len() {
        let (Some(system), Some(_)) = (includes[i].system.as_deref(), &includes[i].version) else {
            continue;
        };
        if done.contains(&i) {
            continue;
        }
        let slots: Vec<usize> = (i..includes.len())
            .filter(|&j| {
                includes[j].version.is_some()
                    && includes[j]
                        .system
                        .as_deref()
                        .is_some_and(|s| same_system(scope, s, system))
            })
            .collect();
        let mut by_version = slots.clone();
        by_version.sort_by(|&a, &b| {
            crate::catalog::version::compare(
                includes[b].version.as_deref().unwrap_or(""),
                includes[a].version.as_deref().unwrap_or(""),
            )
        });
        for (slot, inc) in slots.iter().zip(by_version) {
            order[*slot] = inc;
            done.insert(*slot);
        }
    }
    order
}

/// notSelectable (`CodeSystem::is_not_selectable`).
fn concept_is_abstract(cs: &CodeSystem, c: &crate::model::Concept) -> bool {
    cs.is_not_selectable(c)
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
        sct: None,
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
                    .and_then(|cs| super::provider::provider(cs).member(&r.code, &url));
                let mut m = match known {
                    Some(m) => m,
                    None => {
                        // The code system is not loaded (or does not know the code): the value
                        // set itself decides membership, as CDA validators expect.
                        if cs.as_ref().is_some_and(|c| c.content == "complete") {
                            continue;
                        }
                        Member::listed_only(&url, inc.version.as_deref(), &r.code)
                    }
                };
                if r.display.is_some() {
                    m.display = r.display.clone();
                }
                // The value set's designations add to the code system's.
                for d in &r.designations {
                    if !m.designations.contains(d) {
                        m.designations.push(d.clone());
                    }
                }
                m.extensions = r.extensions.clone();
                members.push(m);
            }
        } else {
            let cs = cs.ok_or_else(|| scope.unreadable(system).unwrap_or_else(|| Error::UnknownSystem {
                message: format!(
                    "A definition for CodeSystem '{system}' could not be found, so the value set cannot be expanded"
                ),
                system: system.to_string(),
            }))?;
            let provider = super::provider::provider(&cs);
            members = provider.members(scope, &inc.filters, &url)?;
            if provider.open(&inc.filters) {
                push_unique(&mut trace.grammars, (url.clone(), inc.filters.is_empty()));
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

/// The members `$expand` lists, given to the search index so that both always agree.
pub struct ExpansionMembers;

impl MemberLister for ExpansionMembers {
    fn for_each_member(
        &self,
        catalog: &Catalog,
        vs: &ValueSet,
        each: &mut dyn FnMut(Source<'_>),
    ) -> std::result::Result<(), String> {
        let mut trace = Trace::default();
        let members = enumerate_traced(
            &Scope::new(catalog),
            vs,
            &VersionRules::default(),
            &mut trace,
        )
        .map_err(|e| e.to_string())?;
        // Drawn by filter from a code system with a grammar (SNOMED CT): searched through that
        // code system's own entries (`expand::indexed_matches`), not copied into a scope.
        if !trace.grammars.is_empty() {
            return Err(format!(
                "drawn from {} by filter: searched through its code system",
                trace.grammars[0].0
            ));
        }
        for m in &members {
            each(Source {
                system: &m.system,
                code: &m.code,
                display: m.display.as_deref(),
                designations: &m.designations,
                concept: m.source.as_ref().map(|(cs, i)| (cs.as_ref(), *i)),
                inactive: m.inactive,
                is_abstract: m.is_abstract,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use serde_json::json;

    pub const TRE: &str = "https://mos.esante.gouv.fr/NOS/TRE_R999-Essai/FHIR/TRE-R999-Essai";
    pub const OLD: &str = "20240101120000";
    pub const NEW: &str = "20250101120000";

    /// Two releases of one TRE: `B` renamed, `C` retired (gone from 2025), `D` added.
    pub fn two_releases(value_sets: &[serde_json::Value]) -> Catalog {
        let release = |version: &str, concepts: serde_json::Value| {
            json!({"resourceType": "CodeSystem", "url": TRE, "version": version,
                "status": "active", "content": "complete", "language": "fr",
                "concept": concepts})
        };
        let mut resources = vec![
            release(
                OLD,
                json!([{"code": "A", "display": "Alpha"}, {"code": "B", "display": "Beta"},
                    {"code": "C", "display": "Gamma"}]),
            ),
            release(
                NEW,
                json!([{"code": "A", "display": "Alpha"}, {"code": "B", "display": "Bêta"},
                    {"code": "D", "display": "Delta"}]),
            ),
        ];
        resources.extend(value_sets.iter().cloned());
        let mut cat = Catalog::default();
        for r in &resources {
            match crate::load::fhir_json::parse_resource(r) {
                Ok(crate::load::Resource::CodeSystem(cs)) => cat.add_code_system(cs),
                Ok(crate::load::Resource::ValueSet(vs)) => cat.add_value_set(vs),
                other => panic!("test resource: {other:?}"),
            }
        }
        cat
    }

    /// A JDV over the TRE: `include` and `exclude` components, `versionsMatch` if given.
    pub fn jdv(
        url: &str,
        include: serde_json::Value,
        exclude: serde_json::Value,
        versions_match: Option<bool>,
    ) -> serde_json::Value {
        let mut compose = json!({"include": include, "exclude": exclude});
        if let Some(m) = versions_match {
            compose["extension"] = json!([{"url": crate::model::valueset::EXPANSION_PARAMETER, "extension": [
                {"url": "name", "valueCode": "versionsMatch"},
                {"url": "value", "valueString": m.to_string()}]}]);
        }
        json!({"resourceType": "ValueSet", "url": url, "status": "active", "compose": compose})
    }

    pub fn pinned(version: &str) -> serde_json::Value {
        json!({"system": TRE, "version": version})
    }

    /// (version, code) of every member, and the trace.
    fn expand(vs: serde_json::Value) -> (Vec<(String, String)>, Trace) {
        let url = vs["url"].as_str().unwrap_or("").to_string();
        let cat = two_releases(&[vs]);
        let scope = Scope::new(&cat);
        let vs = scope.value_set(&url, None).expect("value set loaded");
        let mut trace = Trace::default();
        let members = enumerate_traced(&scope, &vs, &VersionRules::default(), &mut trace)
            .expect("enumerates");
        let listed = members
            .into_iter()
            .map(|m| (m.version.unwrap_or_default(), m.code))
            .collect();
        (listed, trace)
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(v, c)| (v.to_string(), c.to_string()))
            .collect()
    }

    #[test]
    fn two_pinned_releases_keep_both_sets_of_codes_newest_first() {
        let (members, trace) = expand(jdv(
            "http://example.org/jdv/both",
            json!([pinned(OLD), pinned(NEW)]),
            json!([]),
            None,
        ));
        assert_eq!(
            members,
            pairs(&[
                (NEW, "A"),
                (NEW, "B"),
                (NEW, "D"),
                (OLD, "A"),
                (OLD, "B"),
                (OLD, "C")
            ])
        );
        // Reported oldest first, as the reference server does.
        assert_eq!(
            trace.used_systems,
            vec![format!("{TRE}|{OLD}"), format!("{TRE}|{NEW}")]
        );
        assert!(!trace.versions_matched);
    }

    #[test]
    fn a_pinned_release_and_the_latest_keep_compose_order() {
        let (members, _) = expand(jdv(
            "http://example.org/jdv/mixed",
            json!([pinned(OLD), {"system": TRE}]),
            json!([]),
            None,
        ));
        assert_eq!(
            members,
            pairs(&[
                (OLD, "A"),
                (OLD, "B"),
                (OLD, "C"),
                (NEW, "A"),
                (NEW, "B"),
                (NEW, "D")
            ])
        );
    }

    #[test]
    fn versions_match_merges_codes_into_their_newest_release() {
        let (members, trace) = expand(jdv(
            "http://example.org/jdv/merged",
            json!([pinned(OLD), pinned(NEW)]),
            json!([]),
            Some(true),
        ));
        assert_eq!(
            members,
            pairs(&[(NEW, "A"), (NEW, "B"), (NEW, "D"), (OLD, "C")])
        );
        assert!(trace.versions_matched);
    }

    #[test]
    fn excluding_the_old_release_leaves_what_the_new_one_added() {
        let diff = |m| {
            expand(jdv(
                "http://example.org/jdv/diff",
                json!([pinned(NEW)]),
                json!([pinned(OLD)]),
                m,
            ))
        };
        let (members, trace) = diff(None);
        assert_eq!(members, pairs(&[(NEW, "D")]));
        assert!(trace.versions_matched);
        // The exclude's release is used too, so members show their version.
        assert!(trace
            .include_versions
            .contains(&(TRE.to_string(), Some(OLD.to_string()))));
        // Unless versions are said not to match: the old release then removes nothing here.
        let (members, trace) = diff(Some(false));
        assert_eq!(members, pairs(&[(NEW, "A"), (NEW, "B"), (NEW, "D")]));
        assert!(!trace.versions_matched);
    }

    #[test]
    fn an_exclude_pinned_to_an_included_release_removes_that_release_only() {
        let (members, trace) = expand(jdv(
            "http://example.org/jdv/no-old-b",
            json!([pinned(OLD), pinned(NEW)]),
            json!([{"system": TRE, "version": OLD, "concept": [{"code": "B"}]}]),
            None,
        ));
        assert_eq!(
            members,
            pairs(&[(NEW, "A"), (NEW, "B"), (NEW, "D"), (OLD, "A"), (OLD, "C")])
        );
        assert!(!trace.versions_matched);
    }

    #[test]
    fn versions_match_is_read_from_the_compose_extension() {
        let read = |m| {
            let cat = two_releases(&[jdv("http://example.org/jdv/x", json!([]), json!([]), m)]);
            let vs = Scope::new(&cat)
                .value_set("http://example.org/jdv/x", None)
                .expect("loaded");
            versions_match(&vs)
        };
        assert_eq!(read(Some(true)), Some(true));
        assert_eq!(read(Some(false)), Some(false));
        assert_eq!(read(None), None);
    }

    /// `default-valueset-version` gives the version of a value set that a reference names
    /// without one: an import is enumerated and searched in that version, one that names its
    /// version keeps it, and a default version that does not exist is "not found" naming it.
    #[test]
    fn a_default_value_set_version_pins_unversioned_imports() {
        let inner = |version: &str, code: &str| {
            json!({"resourceType": "ValueSet", "url": "http://example.org/vs/inner",
                "version": version, "status": "active",
                "compose": {"include": [{"system": TRE, "version": NEW,
                    "concept": [{"code": code}]}]}})
        };
        let outer = |import: &str| {
            json!({"resourceType": "ValueSet", "url": format!("http://example.org/vs/{import}"),
                "status": "active", "compose": {"include": [{"valueSet": [
                    if import == "pinned" { "http://example.org/vs/inner|1" }
                    else { "http://example.org/vs/inner" }]}]}})
        };
        let cat = two_releases(&[
            inner("1", "A"),
            inner("2", "D"),
            outer("plain"),
            outer("pinned"),
        ]);
        let members = |defaults: &[(String, String)], url: &str| {
            let scope = Scope {
                value_set_versions: defaults,
                ..Scope::new(&cat)
            };
            let vs = scope.value_set(url, None).expect("loaded");
            let mut trace = Trace::default();
            enumerate_traced(&scope, &vs, &VersionRules::default(), &mut trace).map(|m| {
                let codes: Vec<String> = m.into_iter().map(|m| m.code).collect();
                (codes, trace.used_value_sets)
            })
        };
        let none: Vec<(String, String)> = Vec::new();
        let one = vec![("http://example.org/vs/inner".to_string(), "1".to_string())];
        let three = vec![("http://example.org/vs/inner".to_string(), "3".to_string())];
        let plain = "http://example.org/vs/plain";
        // Without the parameter, the newest; with it, the version it names.
        assert_eq!(members(&none, plain).unwrap().0, vec!["D"]);
        let (codes, used) = members(&one, plain).unwrap();
        assert_eq!(codes, vec!["A"]);
        assert_eq!(used, vec!["http://example.org/vs/inner|1"]);
        // A reference with its own version keeps it.
        let pinned = "http://example.org/vs/pinned";
        assert_eq!(members(&three, pinned).unwrap().0, vec!["A"]);
        // A default version nobody has is not found, by name.
        let err = members(&three, plain)
            .map(|_| ())
            .expect_err("version 3 is unknown");
        assert!(
            err.to_string()
                .contains("'http://example.org/vs/inner|3' could not be found"),
            "{err}"
        );
        // Membership reads the same version.
        let scope = Scope {
            value_set_versions: &one,
            ..Scope::new(&cat)
        };
        let vs = scope.value_set(plain, None).expect("loaded");
        assert!(contains(&scope, &vs, TRE, "A", 0).unwrap().is_some());
        assert!(contains(&scope, &vs, TRE, "D", 0).unwrap().is_none());
    }
}
