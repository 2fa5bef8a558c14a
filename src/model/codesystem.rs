//! CodeSystem (a NOS TRE, or any FHIR code system) and its concepts.

use std::sync::Arc;

use super::{Coding, Designation, Interner, ResourceMeta};

const STANDARDS_STATUS: &str =
    "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status";
const SUPPLEMENT_TYPE: &str = "http://hl7.org/fhir/StructureDefinition/codesystem-supplement-type";

/// A property value of a concept (FHIR `CodeSystem.concept.property.value[x]`).
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    Code(String),
    /// Boxed: rare, and it would make every value four strings wide.
    Coding(Box<Coding>),
    String(String),
    Integer(i64),
    Boolean(bool),
    DateTime(String),
    /// Kept as written: FHIR decimals compare lexically (`1.0` ≠ `1.00`).
    Decimal(String),
}

impl PropertyValue {
    /// The value as text, for filters and comparisons.
    pub fn as_text(&self) -> String {
        match self {
            PropertyValue::Code(s)
            | PropertyValue::String(s)
            | PropertyValue::DateTime(s)
            | PropertyValue::Decimal(s) => s.clone(),
            PropertyValue::Coding(c) => c.code.clone().unwrap_or_default(),
            PropertyValue::Integer(i) => i.to_string(),
            PropertyValue::Boolean(b) => b.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ConceptProperty {
    /// Shared between the concepts of a table (`Interner::name`).
    pub code: Arc<str>,
    pub value: PropertyValue,
}

/// A property declared by the code system (`CodeSystem.property`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyDef {
    pub code: String,
    pub uri: Option<String>,
    pub description: Option<String>,
    /// code | Coding | string | integer | boolean | dateTime | decimal
    pub type_: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Concept {
    pub code: String,
    pub display: Option<String>,
    pub definition: Option<String>,
    pub designations: Vec<Designation>,
    pub properties: Vec<ConceptProperty>,
    /// Codes of the parents (from nesting, `parent` properties or a CSV `parent` column).
    pub parents: Vec<String>,
    /// Extensions on the concept, kept for read.
    pub extensions: Vec<serde_json::Value>,
}

impl Concept {
    pub fn property(&self, code: &str) -> Option<&PropertyValue> {
        self.properties
            .iter()
            .find(|p| &*p.code == code)
            .map(|p| &p.value)
    }

    /// Inactive per FHIR (`status` retired/inactive, `inactive` true) or per NOS (a `dateFin`
    /// property: the concept was retired at that date).
    pub fn is_inactive(&self) -> bool {
        self.properties.iter().any(|p| match (&*p.code, &p.value) {
            ("inactive", PropertyValue::Boolean(b)) => *b,
            ("status", v) => {
                let s = v.as_text();
                s == "retired" || s == "inactive"
            }
            ("dateFin", v) => !v.as_text().is_empty(),
            _ => false,
        })
    }

    /// Deprecated: still active but discouraged (`status` = deprecated, or a
    /// `structuredefinition-standards-status` extension of deprecated on the concept).
    pub fn is_deprecated(&self) -> bool {
        matches!(self.property("status"), Some(v) if v.as_text() == "deprecated")
            || self.extensions.iter().any(|e| {
                e.get("url").and_then(|u| u.as_str()) == Some(STANDARDS_STATUS)
                    && e.get("valueCode").and_then(|v| v.as_str()) == Some("deprecated")
            })
    }

    /// notSelectable (abstract grouping concept).
    pub fn is_abstract(&self) -> bool {
        matches!(
            self.property("notSelectable"),
            Some(PropertyValue::Boolean(true))
        )
    }

    /// Designations whose value is an acceptable display for this concept.
    pub fn display_candidates(&self) -> impl Iterator<Item = &str> {
        self.display
            .as_deref()
            .into_iter()
            .chain(self.designations.iter().map(|d| d.value.as_str()))
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct CodeSystem {
    pub meta: ResourceMeta,
    /// complete | fragment | example | not-present | supplement
    pub content: String,
    pub case_sensitive: Option<bool>,
    pub hierarchy_meaning: Option<String>,
    pub value_set: Option<String>,
    /// For supplements: the canonical of the supplemented code system.
    pub supplements: Option<String>,
    pub property_defs: Vec<PropertyDef>,
    /// `url|version` of the supplements merged into this copy for one request (never
    /// stored: a snapshot keeps code systems as loaded).
    pub applied_supplements: Vec<String>,
    /// Concepts in publication order, flattened (nesting becomes `parents`).
    pub concepts: Vec<Concept>,
    /// code → index in `concepts`; filled by `index()`.
    by_code: CodeTable,
    /// index → children indices; filled by `index()`.
    children: Adjacency,
    /// index → parent indices (parents known in this system); filled by `index()`.
    parent_indices: Adjacency,
    /// A SNOMED CT edition whose concepts this code system serves (none in `concepts`).
    pub edition: EditionLink,
}

/// The SNOMED CT edition behind a code system, and the concepts read from it so far: a
/// concept becomes a `Concept` the first time it is asked for, and stays (at most one per
/// concept of the edition).
#[derive(Clone, Default)]
pub struct EditionLink {
    pub edition: Option<Arc<crate::snomed::Edition>>,
    read: Arc<elsa::sync::FrozenMap<u64, Box<Concept>>>,
}

impl std::fmt::Debug for EditionLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.edition {
            Some(e) => write!(f, "EditionLink({})", e.uri()),
            None => write!(f, "EditionLink(none)"),
        }
    }
}

impl PartialEq for EditionLink {
    fn eq(&self, other: &Self) -> bool {
        match (&self.edition, &other.edition) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl EditionLink {
    pub fn new(edition: Arc<crate::snomed::Edition>) -> Self {
        EditionLink {
            edition: Some(edition),
            read: Arc::default(),
        }
    }

    /// The concept of `code` (an SCTID) in the edition, read once.
    fn concept(&self, code: &str) -> Option<&Concept> {
        use crate::snomed::graph::Graph;
        let edition = self.edition.as_ref()?;
        let id: u64 = code.parse().ok()?;
        if code.starts_with('0') || code.starts_with('+') {
            return None;
        }
        if let Some(c) = self.read.get(&id) {
            return Some(c);
        }
        let cid = edition.concept(id)?;
        Some(
            self.read
                .insert(id, Box::new(super::sct::read(edition, cid))),
        )
    }
}

/// code → concept index, as an open-addressing table of indices that compares the codes
/// of `concepts` themselves: 8 bytes a concept instead of a copy of every code in a map.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct CodeTable {
    /// `index + 1`, or 0 for an empty slot; the length is a power of two, at most half full.
    slots: Vec<u32>,
}

impl CodeTable {
    /// FNV-1a: codes are short, and the table must not depend on a random seed.
    fn hash(code: &str) -> usize {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in code.as_bytes() {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        (h ^ (h >> 32)) as usize
    }

    /// Room for `n` concepts (at most half full, so that probes stay short).
    pub(crate) fn with_capacity(n: usize) -> CodeTable {
        CodeTable {
            slots: vec![0; (n * 2).max(8).next_power_of_two()],
        }
    }

    /// The first concept of each code wins.
    fn build(concepts: &[Concept]) -> CodeTable {
        let mut table = CodeTable::with_capacity(concepts.len());
        for i in 0..concepts.len() {
            table.insert(concepts, i);
        }
        table
    }

    /// Adds `concepts[i]` unless its code is there already: then the index that has it.
    /// The table must have been made with room for every concept added.
    pub(crate) fn insert(&mut self, concepts: &[Concept], i: usize) -> Option<u32> {
        let code = &concepts[i].code;
        let mask = self.slots.len() - 1;
        let mut s = Self::hash(code) & mask;
        loop {
            match self.slots[s] {
                0 => {
                    self.slots[s] = i as u32 + 1;
                    return None;
                }
                k if concepts[k as usize - 1].code == *code => return Some(k - 1),
                _ => s = (s + 1) & mask,
            }
        }
    }

    pub(crate) fn get(&self, concepts: &[Concept], code: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut s = Self::hash(code) & mask;
        loop {
            match self.slots[s] {
                0 => return None,
                k if concepts.get(k as usize - 1).is_some_and(|c| c.code == code) => {
                    return Some(k - 1)
                }
                _ => s = (s + 1) & mask,
            }
        }
    }
}

/// index → list of indices, flattened: one offset a concept instead of one `Vec` each.
#[derive(Debug, Clone, PartialEq, Default)]
struct Adjacency {
    /// `items[start[i]..start[i + 1]]` are the indices of `i`.
    start: Vec<u32>,
    items: Vec<u32>,
}

impl Adjacency {
    /// From `(from, to)` links, keeping their order per `from`.
    fn build(len: usize, links: &[(u32, u32)]) -> Adjacency {
        let mut start = vec![0u32; len + 1];
        for &(from, _) in links {
            start[from as usize + 1] += 1;
        }
        for i in 0..len {
            start[i + 1] += start[i];
        }
        let mut next = start.clone();
        let mut items = vec![0u32; links.len()];
        for &(from, to) in links {
            items[next[from as usize] as usize] = to;
            next[from as usize] += 1;
        }
        Adjacency { start, items }
    }

    /// Lists saved by a snapshot for `len` concepts, if well formed.
    fn checked(len: usize, start: Vec<u32>, items: Vec<u32>) -> Result<Adjacency, &'static str> {
        let well_formed = start.len() == len + 1
            && start.first() == Some(&0)
            && start.windows(2).all(|w| w[0] <= w[1])
            && start.last().is_some_and(|&l| l as usize == items.len())
            && items.iter().all(|&i| (i as usize) < len);
        if well_formed {
            Ok(Adjacency { start, items })
        } else {
            Err("bad concept links")
        }
    }

    fn get(&self, i: usize) -> &[u32] {
        match (self.start.get(i), self.start.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.items[a as usize..b as usize],
            _ => &[],
        }
    }
}

impl CodeSystem {
    pub fn new(meta: ResourceMeta, concepts: Vec<Concept>) -> Self {
        let mut cs = CodeSystem {
            meta,
            content: "complete".to_string(),
            concepts,
            ..Default::default()
        };
        cs.index();
        cs
    }

    /// `new` for concepts already compact (uses and property names shared, lists at their
    /// length), as a snapshot decodes them: only the look-ups are built.
    pub(crate) fn new_compact(meta: ResourceMeta, concepts: Vec<Concept>) -> Self {
        let mut cs = CodeSystem {
            meta,
            content: "complete".to_string(),
            concepts,
            ..Default::default()
        };
        cs.concepts.shrink_to_fit();
        cs.build_lookups();
        cs
    }

    /// The look-ups as flat lists (code table slots, then the start and items of the parent
    /// and children lists), for a snapshot: rebuilding them costs a random access or two per
    /// concept, reading them back a copy.
    pub(crate) fn lookups(&self) -> [&[u32]; 5] {
        [
            &self.by_code.slots,
            &self.parent_indices.start,
            &self.parent_indices.items,
            &self.children.start,
            &self.children.items,
        ]
    }

    /// `new_compact`, with the look-ups `lookups` gave for these concepts. They are checked
    /// to be well formed (table of the size `index` makes, at most half full, lists in
    /// order, every index in range), so that no look-up can loop or index out of bounds.
    pub(crate) fn with_lookups(
        mut self,
        concepts: Vec<Concept>,
        lookups: [Vec<u32>; 5],
    ) -> Result<Self, &'static str> {
        let n = concepts.len();
        let [slots, parent_start, parent_items, child_start, child_items] = lookups;
        let used = slots.iter().filter(|&&k| k != 0).count();
        if slots.len() != (n * 2).max(8).next_power_of_two()
            || used > n
            || slots.iter().any(|&k| k as usize > n)
        {
            return Err("bad code table");
        }
        self.concepts = concepts;
        self.concepts.shrink_to_fit();
        self.by_code = CodeTable { slots };
        self.parent_indices = Adjacency::checked(n, parent_start, parent_items)?;
        self.children = Adjacency::checked(n, child_start, child_items)?;
        Ok(self)
    }

    /// Rebuilds the code map and the children lists. Call after changing `concepts`.
    /// The first occurrence of a code wins (loaders refuse duplicates before this).
    pub fn index(&mut self) {
        self.compact();
        self.build_lookups();
    }

    fn build_lookups(&mut self) {
        self.by_code = CodeTable::build(&self.concepts);
        let mut links: Vec<(u32, u32)> = Vec::new();
        for (i, c) in self.concepts.iter().enumerate() {
            for p in &c.parents {
                if let Some(pi) = self.by_code.get(&self.concepts, p) {
                    links.push((i as u32, pi));
                }
            }
        }
        self.parent_indices = Adjacency::build(self.concepts.len(), &links);
        for l in &mut links {
            *l = (l.1, l.0);
        }
        // Children in publication order: `links` is sorted by child already.
        self.children = Adjacency::build(self.concepts.len(), &links);
    }

    /// Shares the designation uses and property names of the concepts, and trims every
    /// list to its length: a large table holds millions of them.
    fn compact(&mut self) {
        let mut shared = Interner::default();
        self.concepts.shrink_to_fit();
        for c in &mut self.concepts {
            for d in &mut c.designations {
                if let Some(u) = &mut d.use_ {
                    *u = shared.coding_shared(u);
                }
            }
            for p in &mut c.properties {
                p.code = shared.name(&p.code);
            }
            c.designations.shrink_to_fit();
            c.properties.shrink_to_fit();
            c.parents.shrink_to_fit();
            c.extensions.shrink_to_fit();
        }
    }

    pub fn concept(&self, code: &str) -> Option<&Concept> {
        self.by_code
            .get(&self.concepts, code)
            .map(|i| &self.concepts[i as usize])
            .or_else(|| self.edition.concept(code))
            .or_else(|| {
                if self.case_sensitive == Some(false) {
                    self.concepts
                        .iter()
                        .find(|c| c.code.eq_ignore_ascii_case(code))
                } else {
                    None
                }
            })
    }

    /// `concept`, or for a SNOMED CT code system a valid postcoordinated expression as a
    /// concept of its own (its display rendered with the terms of its concepts, its focus
    /// concepts as parents), made for this call.
    pub fn concept_or_expression(&self, code: &str) -> Option<std::borrow::Cow<'_, Concept>> {
        if let Some(c) = self.concept(code) {
            return Some(std::borrow::Cow::Borrowed(c));
        }
        let edition = self.edition.edition.as_ref()?;
        super::sct::expression_concept(edition, code).map(std::borrow::Cow::Owned)
    }

    pub fn index_of(&self, code: &str) -> Option<usize> {
        self.by_code.get(&self.concepts, code).map(|i| i as usize)
    }

    pub fn children_of(&self, index: usize) -> impl Iterator<Item = &Concept> {
        self.children
            .get(index)
            .iter()
            .map(|&i| &self.concepts[i as usize])
    }

    /// Root concepts (no parent known in this system), in publication order.
    pub fn roots(&self) -> impl Iterator<Item = (usize, &Concept)> {
        self.concepts
            .iter()
            .enumerate()
            .filter(|(_, c)| c.parents.iter().all(|p| self.index_of(p).is_none()))
    }

    /// All descendants of the concept at `index` (not including itself), depth first.
    pub fn descendants(&self, index: usize) -> Vec<usize> {
        let mut out = Vec::new();
        let mut seen = vec![false; self.concepts.len()];
        let mut stack: Vec<usize> = self
            .children
            .get(index)
            .iter()
            .rev()
            .map(|&i| i as usize)
            .collect();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            out.push(i);
            stack.extend(self.children.get(i).iter().rev().map(|&c| c as usize));
        }
        out
    }

    /// The direct parents of the concept at `index`, as concept indices.
    pub fn parents(&self, index: usize) -> impl Iterator<Item = usize> + '_ {
        self.parent_indices.get(index).iter().map(|&p| p as usize)
    }

    /// All ancestors of the concept at `index` (not including itself), nearest first.
    /// Walks up the parent links: O(depth × parents), whatever the size of the system.
    pub fn ancestors(&self, index: usize) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        let mut next = 0;
        let mut current = index;
        loop {
            for &p in self.parent_indices.get(current) {
                let p = p as usize;
                if p != index && !out.contains(&p) {
                    out.push(p);
                }
            }
            let Some(&n) = out.get(next) else {
                return out;
            };
            current = n;
            next += 1;
        }
    }

    /// Whether the concept at `ancestor` is a proper ancestor of the concept at `index`.
    pub fn is_ancestor(&self, ancestor: usize, index: usize) -> bool {
        ancestor != index && self.ancestors(index).contains(&ancestor)
    }

    /// Whether `ancestor` subsumes `code` (is the same or an ancestor).
    pub fn subsumes(&self, ancestor: &str, code: &str) -> bool {
        if ancestor == code {
            return true;
        }
        let Some(a) = self.index_of(ancestor) else {
            return false;
        };
        let Some(c) = self.index_of(code) else {
            return false;
        };
        self.is_ancestor(a, c)
    }

    /// notSelectable: a `notSelectable` property, or a property the code system declares with
    /// the standard notSelectable URI, that is true.
    pub fn is_not_selectable(&self, c: &Concept) -> bool {
        const NOT_SELECTABLE_URI: &str = "http://hl7.org/fhir/concept-properties#notSelectable";
        c.properties.iter().any(|p| {
            let standard = &*p.code == "notSelectable"
                || self
                    .property_defs
                    .iter()
                    .any(|d| *d.code == *p.code && d.uri.as_deref() == Some(NOT_SELECTABLE_URI));
            standard && matches!(p.value, PropertyValue::Boolean(true))
        })
    }

    pub fn is_supplement(&self) -> bool {
        self.content == "supplement"
    }

    /// A language pack: a supplement that only translates (`codesystem-supplement-type` =
    /// `lang-pack`), which applies without being named.
    pub fn is_lang_pack(&self) -> bool {
        self.is_supplement()
            && self.meta.extensions.iter().any(|e| {
                e.get("url").and_then(|u| u.as_str()) == Some(SUPPLEMENT_TYPE)
                    && e.get("valueCode").and_then(|v| v.as_str()) == Some("lang-pack")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn concept(code: &str, parents: &[&str]) -> Concept {
        Concept {
            code: code.into(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn hierarchy_is_indexed() {
        let cs = CodeSystem::new(
            ResourceMeta::default(),
            vec![
                concept("a", &[]),
                concept("b", &["a"]),
                concept("c", &["b"]),
            ],
        );
        assert_eq!(cs.descendants(0), vec![1, 2]);
        assert_eq!(cs.ancestors(2), vec![1, 0]);
        assert!(cs.ancestors(0).is_empty());
        assert!(cs.subsumes("a", "c"));
        assert!(!cs.subsumes("c", "a"));
        assert_eq!(cs.roots().count(), 1);
    }

    #[test]
    fn ancestors_walk_several_parents_and_survive_cycles() {
        // d has two parents (b, c), both under a; e ↔ f is a cycle.
        let cs = CodeSystem::new(
            ResourceMeta::default(),
            vec![
                concept("a", &[]),
                concept("b", &["a"]),
                concept("c", &["a"]),
                concept("d", &["b", "c"]),
                concept("e", &["f"]),
                concept("f", &["e"]),
            ],
        );
        assert_eq!(cs.ancestors(3), vec![1, 2, 0]);
        assert!(cs.is_ancestor(0, 3));
        assert!(!cs.is_ancestor(3, 0));
        assert!(!cs.is_ancestor(3, 3));
        assert_eq!(cs.ancestors(4), vec![5]);
        assert!(cs.subsumes("f", "e") && cs.subsumes("e", "f"));
    }

    #[test]
    fn saved_lookups_are_checked() {
        let cs = CodeSystem::new(
            ResourceMeta::default(),
            vec![concept("a", &[]), concept("b", &["a"])],
        );
        let saved = || cs.lookups().map(|l| l.to_vec());
        let again = cs.clone().with_lookups(cs.concepts.clone(), saved());
        assert_eq!(again.as_ref(), Ok(&cs));
        // An index out of range, lists out of order, a table of another size, a full one.
        let damaged: [fn(&mut [Vec<u32>; 5]); 5] = [
            |l| l[2][0] = 2,
            |l| l[3][1] = 2,
            |l| l[0].push(0),
            |l| l[0].fill(1),
            |l| l[4].push(0),
        ];
        for damage in damaged {
            let mut lookups = saved();
            damage(&mut lookups);
            assert!(cs
                .clone()
                .with_lookups(cs.concepts.clone(), lookups)
                .is_err());
        }
    }

    #[test]
    fn nos_date_fin_means_inactive() {
        let mut c = concept("x", &[]);
        assert!(!c.is_inactive());
        c.properties.push(ConceptProperty {
            code: "dateFin".into(),
            value: PropertyValue::DateTime("2020-05-29T12:00:00+01:00".into()),
        });
        assert!(c.is_inactive());
    }
}
