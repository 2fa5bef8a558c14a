//! `ValueSet/$expand`: the members of a value set, paged.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::display::{display_for, Languages};
use super::members::{
    enumerate_shared, enumeration_kept, member_from_concept, resolve_include, Enumeration, Member,
    Selection, Trace, VersionRules,
};
use super::properties::{
    add_missing, declarations, echoed_extensions, extension_properties, property_uri, requested,
    ExtensionSource, ItemProperty,
};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::model::{Coding, Designation, PropertyValue, ValueSet};
use crate::ops::Scope;
use crate::search::{Entry, ScopeKey, SearchOptions};

#[derive(Debug, Clone)]
pub struct ExpandRequest {
    pub offset: usize,
    pub count: Option<usize>,
    pub active_only: bool,
    pub include_designations: bool,
    pub languages: Languages,
    /// Text filter on displays (word prefixes, accent- and case-insensitive).
    pub filter: Option<String>,
    /// Refuse expansions larger than this (`too-costly`).
    pub max_size: usize,
    /// Flat list even when the code systems are hierarchical.
    pub exclude_nested: bool,
    /// `force-system-version`, `system-version`, `check-system-version`.
    pub rules: VersionRules,
    /// `designation` parameters naming languages (`urn:ietf:bcp:47|de`): only designations in
    /// these languages are returned.
    pub designation_languages: Vec<String>,
    /// `designation` parameters naming a use, as tokens (`system|code`, `|code` for a use
    /// without system, `code` for any system, `system|` for any code of the system): only
    /// designations of these uses (or of the languages above) are returned.
    pub designation_uses: Vec<String>,
    /// The language preferences exclude every other language (`de, *; q=0`): no display when
    /// the concept has none in the languages asked.
    pub strict_languages: bool,
    /// `property` parameters: the properties reported on each member, by code or URI
    /// (see `ops::properties`).
    pub properties: Vec<String>,
}

impl Default for ExpandRequest {
    fn default() -> Self {
        ExpandRequest {
            offset: 0,
            count: None,
            active_only: false,
            include_designations: false,
            languages: Languages::default(),
            filter: None,
            max_size: 100_000,
            exclude_nested: false,
            rules: VersionRules::default(),
            designation_languages: Vec::new(),
            designation_uses: Vec::new(),
            strict_languages: false,
            properties: Vec::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ExpansionItem {
    pub system: String,
    pub version: Option<String>,
    pub code: String,
    pub display: Option<String>,
    pub inactive: bool,
    pub is_abstract: bool,
    pub designations: Vec<Designation>,
    /// Concept properties reported in the expansion: those asked for, those concept
    /// extensions state (label, order, weight, status), and `status` when it is not `active`.
    pub properties: Vec<ItemProperty>,
    /// Extensions echoed from the value set's `compose.include.concept` and the concept.
    pub extensions: Vec<serde_json::Value>,
    /// Members nested under this one (code system hierarchy).
    pub children: Vec<ExpansionItem>,
    /// Codes of the concept's parents in its code system.
    pub parent_codes: Vec<String>,
    /// Whether the member may be nested under its parent (or have children nested).
    pub nestable: bool,
}

#[derive(Debug, Clone)]
pub struct Expansion {
    pub total: usize,
    pub offset: usize,
    pub count: Option<usize>,
    pub items: Vec<ExpansionItem>,
    /// `system|version` of every code system used.
    pub used_systems: Vec<String>,
    /// What the enumeration used (value sets, warnings, version parameters applied).
    pub trace: Trace,
    /// Properties reported on members: (code, uri).
    pub properties: Vec<(String, Option<String>)>,
}

/// Lower-cases and strips French accents and ligatures, for text matching.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'À' | 'Á' | 'Â' | 'Ä' => out.push('a'),
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => out.push('e'),
            'î' | 'ï' | 'í' | 'Î' | 'Ï' => out.push('i'),
            'ô' | 'ö' | 'ó' | 'Ô' | 'Ö' => out.push('o'),
            'ù' | 'û' | 'ü' | 'ú' | 'Ù' | 'Û' | 'Ü' => out.push('u'),
            'ç' | 'Ç' => out.push('c'),
            'œ' | 'Œ' => out.push_str("oe"),
            'æ' | 'Æ' => out.push_str("ae"),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

fn words(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Every query word is a prefix of some word of the text (or of the code).
fn text_matches(query: &[String], m: &Member, display: Option<&str>) -> bool {
    let mut hay: Vec<String> = display.map(words).unwrap_or_default();
    hay.extend(words(&m.code));
    for d in &m.designations {
        hay.extend(words(&d.value));
    }
    query
        .iter()
        .all(|q| hay.iter().any(|w| w.starts_with(q.as_str())))
}

/// The key of `vs` in the catalog's search index: one of the catalog's own value sets, or the
/// implicit value set (`{url}?fhir_vs`) of one of its code systems.
fn catalog_scope_key(catalog: &Catalog, vs: &ValueSet) -> Option<ScopeKey> {
    if let Some(cs_url) = vs.meta.url.strip_suffix("?fhir_vs") {
        let [inc] = vs.compose.include.as_slice() else {
            return None;
        };
        let whole_system = vs.compose.exclude.is_empty()
            && inc.concepts.is_empty()
            && inc.filters.is_empty()
            && inc.value_sets.is_empty();
        let system = inc
            .system
            .as_deref()
            .filter(|s| *s == cs_url && whole_system)?;
        let cs = catalog.code_systems.get(system, inc.version.as_deref())?;
        return Some(ScopeKey::code_system(
            &cs.meta.url,
            cs.meta.version.as_deref(),
        ));
    }
    let known = catalog
        .value_sets
        .get(&vs.meta.url, vs.meta.version.as_deref())?;
    (std::ptr::eq(known.as_ref(), vs) || known.as_ref() == vs)
        .then(|| ScopeKey::value_set(&known.meta.url, known.meta.version.as_deref()))
}

/// The index entries (`system`, `code`) of the members matching `filter`, best first, from the
/// search index of the catalog; `None` when the index does not apply (a value set or code
/// system brought by the request, version rules that may pick other code system versions, no
/// index) and the plain matcher must filter instead.
fn indexed_matches<'s>(
    scope: &Scope<'s>,
    vs: &ValueSet,
    all: &Enumeration,
    filter: &str,
    req: &ExpandRequest,
) -> Option<Vec<&'s Entry>> {
    let own_resources = scope
        .overlay
        .is_some_and(|o| !o.code_systems.is_empty() || !o.value_sets.is_empty());
    let rules = &req.rules;
    let version_rules = !(rules.force.is_empty()
        && rules.default.is_empty()
        && rules.check.is_empty()
        && scope.value_set_versions.is_empty());
    if own_resources || version_rules {
        return None;
    }
    let key = catalog_scope_key(scope.base, vs).or_else(|| grammar_scope_key(scope, all))?;
    let index = scope.search?;
    let opts = SearchOptions {
        active_only: req.active_only,
    };
    let ranked = match index.search(&key, filter, opts) {
        Ok(r) => r?,
        Err(e) => {
            tracing::warn!("{e}; filtering '{}' with the plain matcher", vs.meta.url);
            return None;
        }
    };
    Some(
        ranked
            .entries
            .iter()
            .filter_map(|&p| index.entry(p))
            .collect(),
    )
}

/// A value set drawn by filter from one code system with a grammar (SNOMED CT) is searched
/// through that code system's entries: `choose` keeps the matches that are members.
fn grammar_scope_key(scope: &Scope, all: &Enumeration) -> Option<ScopeKey> {
    let [(system, _)] = all.trace.grammars.as_slice() else {
        return None;
    };
    let [used] = all.trace.used_systems.as_slice() else {
        return None;
    };
    let (url, version) = crate::model::split_canonical(used);
    (url == system).then_some(())?;
    let cs = scope.base.code_systems.get(url, version)?;
    Some(ScopeKey::code_system(
        &cs.meta.url,
        cs.meta.version.as_deref(),
    ))
}

/// The display shown for a member under the requested languages.
fn member_display(m: &Member, req: &ExpandRequest) -> Option<String> {
    if let (Some((edition, c)), false) = (&m.sct, req.languages.is_empty()) {
        return super::snomed::display_in(edition, *c, &req.languages.0).or(m.display.clone());
    }
    match &m.source {
        Some((cs, i)) if m.display.is_none() || !req.languages.is_empty() => {
            display_for(cs, &cs.concepts[*i], &req.languages)
                .map(str::to_string)
                .or(m.display.clone())
        }
        _ => m.display.clone(),
    }
}

/// The page of the implicit value set of a whole catalog code system, built from that page
/// only: the ranked matches of the search index for a text filter, or the concepts in
/// publication order when paging (`count`) without filter. Large code systems (CIM-11, 36k
/// concepts) then cost what the page costs, not a walk over every concept. `None` when the
/// general path must run: request-scoped resources, version parameters, a value set other
/// than `{url}?fhir_vs` of a catalog code system, no index for the filter.
fn whole_system_page(
    scope: &Scope,
    vs: &ValueSet,
    req: &ExpandRequest,
    work: Work,
) -> Result<Option<Expansion>> {
    let own_resources = scope
        .overlay
        .is_some_and(|o| !o.code_systems.is_empty() || !o.value_sets.is_empty());
    let rules = &req.rules;
    let version_rules =
        !(rules.force.is_empty() && rules.default.is_empty() && rules.check.is_empty());
    if own_resources || version_rules || vs.compose.inactive.is_some() {
        return Ok(None);
    }
    if req.filter.is_none() && (req.count.is_none() || work != Work::All) {
        return Ok(None);
    }
    let Some(key) = catalog_scope_key(scope.base, vs).filter(|k| k.is_code_system()) else {
        return Ok(None);
    };
    let [inc] = vs.compose.include.as_slice() else {
        return Ok(None);
    };
    // Which concepts, in which order: `Err(total)` when every concept in order.
    let ranked = match req.filter.as_deref() {
        Some(text) => {
            let Some(index) = scope.search else {
                return Ok(None);
            };
            let opts = SearchOptions {
                active_only: req.active_only,
            };
            let found = match work {
                Work::All => index.search(&key, text, opts),
                Work::KeptOnly(_) => Ok(index.search_kept(&key, text, opts)),
            };
            match found {
                Ok(Some(r)) => Some((index, r)),
                Ok(None) => return Ok(None),
                Err(e) => {
                    tracing::warn!("{e}; filtering '{}' with the plain matcher", vs.meta.url);
                    return Ok(None);
                }
            }
        }
        None => None,
    };
    let mut trace = Trace::default();
    let Some(cs) = resolve_include(scope, inc, rules, &mut trace)? else {
        return Ok(None);
    };
    let url = inc
        .system
        .as_deref()
        .map(|s| scope.canonical_url(s).unwrap_or_else(|| s.to_string()))
        .unwrap_or_else(|| cs.meta.url.clone());
    if let Some(edition) = cs.edition.edition.clone() {
        return edition_page(&edition, &cs, &url, ranked, trace, req, vs).map(Some);
    }
    let total;
    let page: Vec<usize> = match &ranked {
        Some((index, r)) => {
            total = r.entries.len();
            if req.count.is_none() && total > req.max_size {
                return Err(too_costly(vs, total, req.max_size));
            }
            if let Work::KeptOnly(max_page) = work {
                let page = total
                    .saturating_sub(req.offset)
                    .min(req.count.unwrap_or(usize::MAX));
                if page > max_page {
                    return Ok(None);
                }
            }
            r.entries
                .iter()
                .skip(req.offset)
                .take(req.count.unwrap_or(usize::MAX))
                .filter_map(|&p| index.entry(p))
                .filter_map(|e| cs.index_of(e.code()))
                .collect()
        }
        None => {
            let shown = |i: &usize| !(req.active_only && cs.concepts[*i].is_inactive());
            total = (0..cs.concepts.len()).filter(shown).count();
            (0..cs.concepts.len())
                .filter(shown)
                .skip(req.offset)
                .take(req.count.unwrap_or(usize::MAX))
                .collect()
        }
    };
    finish_page(page, total, &cs, &url, trace, req).map(Some)
}

/// `whole_system_page` for a SNOMED CT edition: the page's members read from the edition
/// (through its provider), in the index's order for a text filter, else in concept order.
fn edition_page(
    edition: &crate::snomed::Edition,
    cs: &Arc<crate::model::CodeSystem>,
    url: &str,
    ranked: Option<(&crate::search::SearchIndex, Arc<crate::search::Ranked>)>,
    mut trace: Trace,
    req: &ExpandRequest,
    vs: &ValueSet,
) -> Result<Expansion> {
    use crate::snomed::graph::Graph;
    let provider = super::provider::provider(cs);
    let codes: Vec<String>;
    let total;
    match &ranked {
        Some((index, r)) => {
            total = r.entries.len();
            if req.count.is_none() && total > req.max_size {
                return Err(too_costly(vs, total, req.max_size));
            }
            codes = r
                .entries
                .iter()
                .skip(req.offset)
                .take(req.count.unwrap_or(usize::MAX))
                .filter_map(|&p| index.entry(p))
                .map(|e| e.code().to_string())
                .collect();
        }
        None => {
            let shown = |c: &crate::snomed::graph::Cid| !req.active_only || edition.is_active(*c);
            total = edition.all().filter(shown).count();
            if req.count.is_none() && total > req.max_size {
                return Err(too_costly(vs, total, req.max_size));
            }
            codes = edition
                .all()
                .filter(shown)
                .skip(req.offset)
                .take(req.count.unwrap_or(usize::MAX))
                .map(|c| edition.sctid(c).to_string())
                .collect();
        }
    }
    if provider.open(&[]) {
        trace.grammars.push((url.to_string(), true));
    }
    let selected = codes
        .iter()
        .filter_map(|code| provider.member(code, url))
        .map(|mut m| {
            m.selection = Selection::WholeSystem;
            let display = member_display(&m, req);
            item_of(&m, display, req)
        })
        .collect();
    finish(selected, total, trace, req, 0)
}

fn finish_page(
    page: Vec<usize>,
    total: usize,
    cs: &std::sync::Arc<crate::model::CodeSystem>,
    url: &str,
    trace: Trace,
    req: &ExpandRequest,
) -> Result<Expansion> {
    let selected = page
        .into_iter()
        .map(|i| {
            let mut m = member_from_concept(cs, i, url);
            m.selection = Selection::WholeSystem;
            let display = member_display(&m, req);
            item_of(&m, display, req)
        })
        .collect();
    finish(selected, total, trace, req, 0)
}

/// The words of the reference server (tx.fhir.org), which clients match on; `count` and
/// `offset` page through such a value set.
fn too_costly(vs: &ValueSet, _total: usize, max_size: usize) -> Error {
    Error::TooCostly(format!(
        "The value set '{}' expansion has too many codes to produce (>{max_size})",
        vs.meta.url
    ))
}

/// `$expand` of `vs` for `req`.
pub fn expand(scope: &Scope, vs: &ValueSet, req: &ExpandRequest) -> Result<Expansion> {
    // With all the work allowed, every step gives its result: the pipeline always answers.
    pipeline(scope, vs, req, Work::All)?
        .ok_or_else(|| Error::Internal("The expansion stopped without an answer".into()))
}

/// `expand` when everything but the page is already known (the enumeration of a catalog
/// value set and the selection of this filter, or the search of a whole code system), and
/// the page has at most `max_page` items: its cost is then that of the page. `None` when
/// more work is needed (the caller then runs `expand` within its time budget).
pub fn expand_kept(
    scope: &Scope,
    vs: &ValueSet,
    req: &ExpandRequest,
    max_page: usize,
) -> Result<Option<Expansion>> {
    if req.count.is_some_and(|n| n > max_page) {
        return Ok(None);
    }
    pipeline(scope, vs, req, Work::KeptOnly(max_page))
}

/// `$expand` as one pipeline, each step once: **members** (the value set's enumeration, kept
/// per release for the catalog's own value sets) → **choose** (filter and `activeOnly`, kept
/// per enumeration) → **page** (`offset`, `count`, `max_size`) → **render** (only the page
/// becomes expansion items). A whole code system's `?fhir_vs` with a filter or a page reads
/// that page only (`whole_system_page`). Under `Work::KeptOnly`, a step whose result is not
/// kept already stops the pipeline: `None`.
fn pipeline(
    scope: &Scope,
    vs: &ValueSet,
    req: &ExpandRequest,
    work: Work,
) -> Result<Option<Expansion>> {
    if let Some(page) = whole_system_page(scope, vs, req, work)? {
        return Ok(Some(page));
    }
    let Some(all) = members(scope, vs, req, work)? else {
        return Ok(None);
    };
    let Some(chosen) = select(scope, vs, &all, req, work) else {
        return Ok(None);
    };
    let Some(page) = page(vs, &chosen, req, work)? else {
        return Ok(None);
    };
    Ok(Some(render(&all, &chosen, page, req)))
}

/// Step 1: the members of `vs`, in compose order (enumerated once per release for the
/// catalog's own value sets).
fn members(
    scope: &Scope,
    vs: &ValueSet,
    req: &ExpandRequest,
    work: Work,
) -> Result<Option<Arc<Enumeration>>> {
    match work {
        Work::All => enumerate_shared(scope, vs, &req.rules).map(Some),
        Work::KeptOnly(_) => Ok(enumeration_kept(scope, vs, &req.rules)),
    }
}

/// Step 2: the members the request selects, in expansion order: kept, or chosen now.
fn select(
    scope: &Scope,
    vs: &ValueSet,
    all: &Enumeration,
    req: &ExpandRequest,
    work: Work,
) -> Option<Arc<Chosen>> {
    kept_chosen(scope, all, req)
        .or_else(|| (work == Work::All).then(|| choose(scope, vs, all, req)))
}

/// Step 3: the positions of the requested page among the chosen members. Too costly without
/// `count` past `max_size`; `None` under `Work::KeptOnly` when the page is larger than allowed.
fn page<'c>(
    vs: &ValueSet,
    chosen: &'c Chosen,
    req: &ExpandRequest,
    work: Work,
) -> Result<Option<&'c [u32]>> {
    let total = chosen.positions.len();
    let start = req.offset.min(total);
    let end = start
        .saturating_add(req.count.unwrap_or(usize::MAX))
        .min(total);
    if let Work::KeptOnly(max_page) = work {
        if end - start > max_page {
            return Ok(None);
        }
    }
    if req.count.is_none() && total > req.max_size {
        return Err(too_costly(vs, total, req.max_size));
    }
    Ok(Some(&chosen.positions[start..end]))
}

/// Step 4: the page as an expansion: each member with its display and designations, then
/// versions, properties and nesting.
fn render(all: &Enumeration, chosen: &Chosen, page: &[u32], req: &ExpandRequest) -> Expansion {
    let items = page
        .iter()
        .map(|&i| {
            let m = &all.members[i as usize];
            item_of(m, member_display(m, req), req)
        })
        .collect();
    let total = chosen.positions.len();
    assemble(items, &chosen.mixed, total, all.trace.clone(), req)
}

/// How much work `whole_system_page` may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    All,
    /// Only what is already known (a search must be in the index's cache), for a page of at
    /// most this many items.
    KeptOnly(usize),
}

/// What selects members of an enumeration: the text filter as the request wrote it, and
/// `activeOnly`.
pub type ChosenKey = (Option<String>, bool);

/// The members one (filter, activeOnly) selects, in expansion order, and the systems whose
/// members mix versions (`contains.version` is then shown). Kept per release, so that a
/// page of a known selection costs the page, not the number of matches.
#[derive(Debug, Default)]
pub struct Chosen {
    /// Positions in `Enumeration::members`.
    pub positions: Vec<u32>,
    pub mixed: HashSet<String>,
}

/// Selections of every kept enumeration of one release, by (enumeration id, key).
type SelectionCache = moka::sync::Cache<(u64, ChosenKey), Arc<Chosen>>;

/// Weight units (about 4 bytes each: one per member position) of the selections kept per
/// release, as many as the search index keeps of result lists.
const SELECTIONS_CAPACITY: u64 = 4_000_000;

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

/// The release's cache of selections, kept in its memo beside the enumerations (and dropped
/// with them on reload).
fn selections(scope: &Scope) -> Option<Arc<SelectionCache>> {
    scope
        .base
        .memo
        .get_or_try_insert(
            "expand selections",
            |_| 1,
            || Ok::<_, Error>(selection_cache()),
        )
        .ok()
}

/// The selection kept under `key` for the kept enumeration `all`, if any.
fn chosen_kept(scope: &Scope, all: &Enumeration, key: &ChosenKey) -> Option<Arc<Chosen>> {
    let id = all.kept_id?;
    // The key is cloned for the look-up: a filter of a few characters.
    selections(scope)?.get(&(id, key.clone()))
}

/// Keeps a selection, when its enumeration is kept for the release.
fn keep_chosen(scope: &Scope, all: &Enumeration, key: ChosenKey, value: Arc<Chosen>) {
    if let (Some(id), Some(cache)) = (all.kept_id, selections(scope)) {
        cache.insert((id, key), value);
    }
}

/// The key of the request's selection among an enumeration's members.
fn chosen_key(req: &ExpandRequest) -> ChosenKey {
    (req.filter.clone(), req.active_only)
}

/// The selection of this request when it was kept. With a text filter, only selections made
/// by the search index are kept (the plain matcher depends on the display languages), so
/// one is used only while there is an index.
fn kept_chosen(scope: &Scope, all: &Enumeration, req: &ExpandRequest) -> Option<Arc<Chosen>> {
    if req.filter.is_some() && scope.search.is_none() {
        return None;
    }
    let hit = chosen_kept(scope, all, &chosen_key(req))?;
    if req.filter.is_some() {
        // A text search answered without the index, like a hit of the search cache.
        crate::metrics::METRICS
            .search_cache_hits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    Some(hit)
}

/// The members the request selects, in expansion order; kept in the enumeration when they
/// depend only on (filter, activeOnly): no filter, or the search index's matches.
fn choose(scope: &Scope, vs: &ValueSet, all: &Enumeration, req: &ExpandRequest) -> Arc<Chosen> {
    let shown = |i: &usize| !(req.active_only && all.members[*i].inactive);
    let indexed = req
        .filter
        .as_deref()
        .and_then(|f| indexed_matches(scope, vs, all, f, req));
    let keep = req.filter.is_none() || indexed.is_some();
    let positions: Vec<usize> = match (indexed, req.filter.as_deref()) {
        // The index has filtered and ranked: its matches that are members, in its order.
        (Some(entries), _) => {
            let mut seen = HashSet::with_capacity(entries.len());
            // Entries come grouped by system: its code table is looked up once per run.
            let mut codes: Option<(&str, Option<&HashMap<String, u32>>)> = None;
            entries
                .into_iter()
                .filter_map(|e| {
                    let table = match codes {
                        Some((system, table)) if system == &*e.system => table,
                        _ => {
                            let table = all.codes_of(&e.system);
                            codes = Some((&e.system, table));
                            table
                        }
                    };
                    table?.get(e.code()).map(|&i| i as usize)
                })
                // The code's members in other versions of its system follow it.
                .flat_map(|i| {
                    let others = all.other_versions(i as u32).iter().map(|&j| j as usize);
                    std::iter::once(i).chain(others)
                })
                .filter(|&i| seen.insert(i))
                .filter(shown)
                .collect()
        }
        (None, Some(filter)) if !words(filter).is_empty() => {
            let query = words(filter);
            (0..all.members.len())
                .filter(shown)
                .filter(|&i| {
                    let m = &all.members[i];
                    text_matches(&query, m, member_display(m, req).as_deref())
                })
                .collect()
        }
        (None, _) => (0..all.members.len()).filter(shown).collect(),
    };
    let mixed = mixed_versions(
        &all.trace,
        positions.iter().map(|&i| {
            let m = &all.members[i];
            (m.system.as_str(), &m.version)
        }),
    );
    let chosen = Arc::new(Chosen {
        // Positions fit: `codes_of` numbers members in u32.
        positions: positions.into_iter().map(|i| i as u32).collect(),
        mixed,
    });
    if keep {
        keep_chosen(scope, all, chosen_key(req), chosen.clone());
    }
    chosen
}

const PREFERRED_FOR_LANGUAGE: &str = "preferredForLanguage";
const TERM_MAINT_INFRA: &str = "http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra";

/// One member as it appears in the expansion: display chosen, designations per request.
fn item_of(m: &Member, mut display: Option<String>, req: &ExpandRequest) -> ExpansionItem {
    let mut properties;
    let mut designations = Vec::new();
    let mut parent_codes = Vec::new();
    // The value set's own statements on the member come first: they win over the code system's.
    let mut extensions: Vec<serde_json::Value> =
        echoed_extensions(&m.extensions, ExtensionSource::ValueSet)
            .cloned()
            .collect();
    let member_properties = extension_properties(&m.extensions, ExtensionSource::ValueSet);
    let nestable = match m.selection {
        Selection::Listed => false,
        Selection::WholeSystem | Selection::Filtered { hierarchy: false } => req.filter.is_none(),
        Selection::Filtered { hierarchy: true } => true,
    };
    if let Some((cs, i)) = &m.source {
        let concept = &cs.concepts[*i];
        parent_codes = concept.parents.clone();
        if req.strict_languages && !has_language(cs, concept, &req.languages) {
            display = None;
        }
        properties = requested(cs, *i, &req.properties);
        add_missing(&mut properties, member_properties);
        add_missing(
            &mut properties,
            extension_properties(&concept.extensions, ExtensionSource::CodeSystem),
        );
        for e in echoed_extensions(&concept.extensions, ExtensionSource::CodeSystem) {
            if !extensions.iter().any(|x| x.get("url") == e.get("url")) {
                extensions.push(e.clone());
            }
        }
        // `active` is the default status: other statuses are reported even when not asked.
        if let Some(v) = concept
            .property("status")
            .filter(|v| v.as_text() != "active")
            .filter(|_| !properties.iter().any(|p| p.code == "status"))
        {
            properties.push(ItemProperty {
                code: "status".to_string(),
                uri: property_uri(cs, "status"),
                value: v.clone(),
            });
        }
        if wants_designations(req) {
            designations = m.designations.clone();
            // Shown in another language than the code system's: the code system's own display
            // becomes a designation, and the designation shown is not repeated.
            if display != concept.display {
                if let Some(shown) = designations
                    .iter()
                    .position(|d| Some(&d.value) == display.as_ref() && d.language.is_some())
                {
                    designations.remove(shown);
                }
                if let Some(own) = &concept.display {
                    designations.insert(
                        0,
                        Designation {
                            language: cs.meta.language.clone(),
                            use_: Some(std::sync::Arc::new(Coding {
                                system: Some(TERM_MAINT_INFRA.to_string()),
                                version: None,
                                code: Some(PREFERRED_FOR_LANGUAGE.to_string()),
                                display: Some("Preferred For Language".to_string()),
                            })),
                            value: own.clone(),
                            extensions: None,
                        },
                    );
                }
            }
        }
    } else {
        properties = member_properties;
        // A member its provider knows inactive (a SNOMED CT concept) says so, as a concept's
        // `status` property would.
        if m.inactive && !properties.iter().any(|p| p.code == "status") {
            properties.push(ItemProperty {
                code: "status".to_string(),
                uri: Some(format!("{}status", super::properties::CONCEPT_PROPERTIES)),
                value: PropertyValue::Code("inactive".to_string()),
            });
        }
        if wants_designations(req) {
            designations = match &m.sct {
                Some((edition, c)) => {
                    super::snomed::shown_designations(edition, *c, &req.languages.0)
                }
                None => m.designations.clone(),
            };
        }
    }
    if !req.designation_languages.is_empty() || !req.designation_uses.is_empty() {
        designations.retain(|d| designation_asked(req, d));
    }
    ExpansionItem {
        system: m.system.clone(),
        version: m.version.clone(),
        code: m.code.clone(),
        display,
        inactive: m.inactive,
        is_abstract: m.is_abstract,
        designations,
        properties,
        extensions,
        children: Vec::new(),
        parent_codes,
        nestable,
    }
}

/// Designations are returned: asked for, or filtered by `designation` parameters.
fn wants_designations(req: &ExpandRequest) -> bool {
    req.include_designations
        || !req.designation_languages.is_empty()
        || !req.designation_uses.is_empty()
}

/// Whether a `designation` parameter names the language or the use of `d`.
fn designation_asked(req: &ExpandRequest, d: &Designation) -> bool {
    let by_language = d.language.as_deref().is_some_and(|l| {
        req.designation_languages
            .iter()
            .any(|w| w.eq_ignore_ascii_case(l))
    });
    by_language
        || d.use_
            .as_deref()
            .is_some_and(|u| req.designation_uses.iter().any(|t| use_token_matches(t, u)))
}

/// FHIR token matching of a designation use: `system|code`, `|code` (no system), `code`
/// (any system), `system|` (any code of the system).
fn use_token_matches(token: &str, used: &Coding) -> bool {
    let code_is = |c: &str| used.code.as_deref() == Some(c);
    match token.split_once('|') {
        None => code_is(token),
        Some(("", code)) => used.system.is_none() && code_is(code),
        Some((system, "")) => used.system.as_deref() == Some(system),
        Some((system, code)) => used.system.as_deref() == Some(system) && code_is(code),
    }
}

/// Whether the concept has a display in one of the languages asked (its code system's own
/// language, or a designation).
fn has_language(
    cs: &crate::model::CodeSystem,
    concept: &crate::model::Concept,
    langs: &Languages,
) -> bool {
    langs.0.iter().filter(|t| *t != "*").any(|wanted| {
        cs.meta.language.as_deref().is_some_and(|l| {
            concept.display.is_some() && super::display::language_matches(wanted, l)
        }) || concept.designations.iter().any(|d| {
            d.language
                .as_deref()
                .is_some_and(|l| super::display::language_matches(wanted, l))
        })
    })
}

/// Pages, nests by the code system hierarchy (unless `excludeNested` or paging), and decides
/// where `contains.version` is shown.
/// `skip`: the members of `selected` before the page (`offset`, or 0 when `selected` is
/// already the page).
fn finish(
    selected: Vec<ExpansionItem>,
    total: usize,
    trace: Trace,
    req: &ExpandRequest,
    skip: usize,
) -> Result<Expansion> {
    let mixed = mixed_versions(
        &trace,
        selected.iter().map(|it| (it.system.as_str(), &it.version)),
    );
    let page = selected
        .into_iter()
        .skip(skip)
        .take(req.count.unwrap_or(usize::MAX))
        .collect();
    Ok(assemble(page, &mixed, total, trace, req))
}

/// The systems whose `contains.version` is shown: those of which one expansion mixes versions
/// (or whose includes name different versions). `selected`: (system, version) of every member
/// selected, page or not.
fn mixed_versions<'v>(
    trace: &'v Trace,
    selected: impl Iterator<Item = (&'v str, &'v Option<String>)>,
) -> HashSet<String> {
    // Per system: (versions its includes name, versions its members have).
    type VersionSets<'v> = (HashSet<&'v Option<String>>, HashSet<&'v Option<String>>);
    let mut versions: HashMap<&str, VersionSets> = HashMap::new();
    for (system, v) in &trace.include_versions {
        versions.entry(system.as_str()).or_default().0.insert(v);
    }
    let mut last: Option<(&str, &Option<String>)> = None;
    for (system, version) in selected {
        // Members come in runs of one system and version: one hash look-up per run.
        if last != Some((system, version)) {
            versions.entry(system).or_default().1.insert(version);
            last = Some((system, version));
        }
    }
    versions
        .into_iter()
        .filter(|(_, (named, used))| named.len() > 1 || used.len() > 1)
        .map(|(s, _)| s.to_string())
        .collect()
}

/// The expansion of one page of items: versions shown where `mixed`, properties declared,
/// nested by the code system hierarchy unless `excludeNested` or paging.
fn assemble(
    page: Vec<ExpansionItem>,
    mixed: &HashSet<String>,
    total: usize,
    trace: Trace,
    req: &ExpandRequest,
) -> Expansion {
    let properties = declarations(page.iter().flat_map(|it| &it.properties));
    let mut items: Vec<ExpansionItem> = page
        .into_iter()
        .map(|mut it| {
            if !mixed.contains(&it.system) {
                it.version = None;
            }
            it
        })
        .collect();
    if !req.exclude_nested && req.count.is_none() && req.offset == 0 {
        items = nest(items);
    }
    Expansion {
        total,
        offset: req.offset,
        count: req.count,
        items,
        used_systems: trace.used_systems.clone(),
        trace,
        properties,
    }
}

/// Nests each member under its parent (same system) when the parent is in the expansion.
fn nest(items: Vec<ExpansionItem>) -> Vec<ExpansionItem> {
    // By version too: two releases of one system each nest under their own parents.
    type Key = (String, Option<String>, String);
    let position: HashMap<Key, usize> = items
        .iter()
        .enumerate()
        .map(|(i, it)| ((it.system.clone(), it.version.clone(), it.code.clone()), i))
        .collect();
    let parents: Vec<Option<usize>> = items
        .iter()
        .map(|it| {
            if !it.nestable {
                return None;
            }
            it.parent_codes
                .iter()
                .find_map(|p| {
                    let key = (it.system.clone(), it.version.clone(), p.clone());
                    position.get(&key).copied()
                })
                .filter(|&p| items[p].nestable)
        })
        .collect();
    // Refuse cycles: an item whose ancestor chain comes back to itself stays at the root.
    let n = items.len();
    let mut parent_of: Vec<Option<usize>> = parents;
    for i in 0..n {
        let mut seen = 0;
        let mut cur = parent_of[i];
        while let Some(p) = cur {
            if p == i || seen > n {
                parent_of[i] = None;
                break;
            }
            seen += 1;
            cur = parent_of[p];
        }
    }
    let mut slots: Vec<Option<ExpansionItem>> = items.into_iter().map(Some).collect();
    // Attach children deepest first so each subtree is complete before it moves.
    let depth = |i: usize| {
        let mut d = 0;
        let mut cur = parent_of[i];
        while let Some(p) = cur {
            d += 1;
            cur = parent_of[p];
        }
        d
    };
    let mut order: Vec<usize> = (0..n).filter(|&i| parent_of[i].is_some()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(depth(i)));
    let mut children: Vec<Vec<(usize, ExpansionItem)>> = (0..n).map(|_| Vec::new()).collect();
    for i in order {
        let mut it = slots[i].take().expect("each item moves once");
        let mut kids = std::mem::take(&mut children[i]);
        kids.sort_by_key(|(k, _)| *k);
        it.children = kids.into_iter().map(|(_, c)| c).collect();
        children[parent_of[i].expect("filtered")].push((i, it));
    }
    slots
        .into_iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let mut it = s?;
            let mut kids = std::mem::take(&mut children[i]);
            kids.sort_by_key(|(k, _)| *k);
            it.children = kids.into_iter().map(|(_, c)| c).collect();
            Some(it)
        })
        .collect()
}

/// The implicit value set of a whole code system (`{url}?fhir_vs`).
pub fn implicit_value_set(system_url: &str, version: Option<&str>) -> ValueSet {
    use crate::model::{Compose, ConceptSetComponent, ResourceMeta};
    ValueSet {
        meta: ResourceMeta {
            url: format!("{system_url}?fhir_vs"),
            status: "active".into(),
            ..Default::default()
        },
        compose: Compose {
            include: vec![ConceptSetComponent {
                system: Some(system_url.to_string()),
                version: version.map(str::to_string),
                ..Default::default()
            }],
            ..Default::default()
        },
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn coding(system: Option<&str>, code: &str) -> Coding {
        Coding {
            system: system.map(str::to_string),
            version: None,
            code: Some(code.to_string()),
            display: None,
        }
    }

    #[test]
    fn designation_uses_match_as_tokens() {
        let snomed = coding(Some("http://snomed.info/sct"), "900000000000013009");
        let nos = coding(None, "LibelleCourt");
        assert!(use_token_matches(
            "http://snomed.info/sct|900000000000013009",
            &snomed
        ));
        assert!(use_token_matches("http://snomed.info/sct|", &snomed));
        assert!(use_token_matches("900000000000013009", &snomed));
        assert!(!use_token_matches("|900000000000013009", &snomed));
        assert!(!use_token_matches("http://snomed.info/sct|1", &snomed));
        assert!(use_token_matches("|LibelleCourt", &nos));
        assert!(use_token_matches("LibelleCourt", &nos));
        assert!(!use_token_matches(
            "http://snomed.info/sct|LibelleCourt",
            &nos
        ));
    }

    #[test]
    fn designation_parameters_keep_the_languages_or_uses_named() {
        let court = Designation {
            language: None,
            use_: Some(Arc::new(coding(None, "LibelleCourt"))),
            value: "court".into(),
            extensions: None,
        };
        let german = Designation {
            language: Some("de".into()),
            use_: None,
            value: "deutsch".into(),
            extensions: None,
        };
        let mut req = ExpandRequest {
            designation_uses: vec!["LibelleCourt".into()],
            ..Default::default()
        };
        assert!(wants_designations(&req));
        assert!(designation_asked(&req, &court));
        assert!(!designation_asked(&req, &german));
        req.designation_languages = vec!["DE".into()];
        assert!(designation_asked(&req, &german));
        req.designation_uses.clear();
        assert!(!designation_asked(&req, &court));
    }

    /// The pipeline in kept-only mode answers only once the full pipeline has kept its steps,
    /// then exactly as the full one does, and refuses a page larger than it may make.
    #[test]
    fn kept_only_pipeline_answers_what_the_full_one_kept() {
        use crate::ops::members::tests::{two_releases, NEW, TRE};
        let vs_url = "https://example.org/fhir/ValueSet/essai";
        let vs = serde_json::json!({"resourceType": "ValueSet", "url": vs_url, "status": "active",
            "compose": {"include": [{"system": TRE, "version": NEW}]}});
        let catalog = two_releases(&[vs]);
        let scope = Scope::new(&catalog);
        let Some(vs) = catalog.value_sets.get(vs_url, None).cloned() else {
            panic!("the value set is in the catalog");
        };
        let req = ExpandRequest {
            offset: 1,
            count: Some(2),
            ..Default::default()
        };
        let codes =
            |e: &Expansion| -> Vec<String> { e.items.iter().map(|i| i.code.clone()).collect() };
        assert!(
            expand_kept(&scope, &vs, &req, 10).unwrap().is_none(),
            "nothing kept yet"
        );
        let full = expand(&scope, &vs, &req).unwrap();
        assert_eq!(
            (full.total, codes(&full)),
            (3, vec!["B".to_string(), "D".to_string()])
        );
        let kept = expand_kept(&scope, &vs, &req, 10)
            .unwrap()
            .expect("kept now");
        assert_eq!((kept.total, codes(&kept)), (full.total, codes(&full)));
        assert!(
            expand_kept(&scope, &vs, &req, 1).unwrap().is_none(),
            "page of 2 > 1"
        );
        // Without `count`, past `max_size`: too costly on both paths.
        let whole = ExpandRequest {
            max_size: 2,
            ..Default::default()
        };
        assert!(matches!(
            expand(&scope, &vs, &whole),
            Err(Error::TooCostly(_))
        ));
        assert!(matches!(
            expand_kept(&scope, &vs, &whole, 10),
            Err(Error::TooCostly(_))
        ));
    }
}
