//! The catalog: everything a release loaded, immutable, with exact look-ups by canonical
//! URL, OID, id and code. A new one is built aside and swapped in whole on reload.

pub mod diff;
pub mod memo;

pub mod version;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::load::Dataset;
use crate::model::{oid_of, CodeSystem, ConceptMap, ResourceMeta, ValueSet};

/// All versions of one canonical resource, oldest first.
type Versions<T> = Vec<Arc<T>>;

/// One kind of canonical resource, indexed by URL, OID and id.
#[derive(Debug)]
pub struct Registry<T> {
    by_url: HashMap<String, Versions<T>>,
    by_id: HashMap<String, Arc<T>>,
    /// Every resource, in load order (for search and capability listings).
    all: Vec<Arc<T>>,
    /// Versions kept from the previous release (by allocation address): they answer pinned
    /// requests only; unpinned requests get the current release's version.
    carried: HashSet<usize>,
}

impl<T> Default for Registry<T> {
    fn default() -> Self {
        Registry {
            by_url: HashMap::new(),
            by_id: HashMap::new(),
            all: Vec::new(),
            carried: HashSet::new(),
        }
    }
}

/// Resources that carry a `ResourceMeta`.
pub trait Canonical {
    fn meta(&self) -> &ResourceMeta;
    fn meta_mut(&mut self) -> &mut ResourceMeta;
}

impl Canonical for CodeSystem {
    fn meta(&self) -> &ResourceMeta {
        &self.meta
    }
    fn meta_mut(&mut self) -> &mut ResourceMeta {
        &mut self.meta
    }
}
impl Canonical for ValueSet {
    fn meta(&self) -> &ResourceMeta {
        &self.meta
    }
    fn meta_mut(&mut self) -> &mut ResourceMeta {
        &mut self.meta
    }
}
impl Canonical for ConceptMap {
    fn meta(&self) -> &ResourceMeta {
        &self.meta
    }
    fn meta_mut(&mut self) -> &mut ResourceMeta {
        &mut self.meta
    }
}

impl<T: Canonical> Registry<T> {
    pub fn insert(&mut self, item: T) {
        let item = Arc::new(item);
        let meta = item.meta();
        let versions = self.by_url.entry(meta.url.clone()).or_default();
        // A later definition of the same url|version replaces the earlier one (tx-resource
        // overlays rely on this; the loader already refused conflicting duplicates).
        versions.retain(|v| v.meta().version != meta.version);
        versions.push(item.clone());
        sort_by_version(versions);
        if !meta.id.is_empty() {
            self.by_id.insert(meta.id.clone(), item.clone());
        }
        self.all.push(item);
    }

    /// Keeps `item`, a version from the previous release, for pinned requests: it never
    /// replaces a version of the current release (same `url|version`); when its id is taken,
    /// a copy is kept under `{id}-{version}`, so that reads and searches can name it. Returns
    /// whether it was kept.
    pub fn insert_carried(&mut self, item: Arc<T>) -> bool
    where
        T: Clone,
    {
        let meta = item.meta();
        if self
            .versions(&meta.url)
            .iter()
            .any(|v| v.meta().version == meta.version)
        {
            return false;
        }
        let item = if !meta.id.is_empty() && self.by_id.contains_key(&meta.id) {
            let mut copy = T::clone(&item);
            let id = versioned_id(&meta.id, meta.version.as_deref().unwrap_or("previous"));
            copy.meta_mut().id = id;
            Arc::new(copy)
        } else {
            item
        };
        let meta = item.meta();
        let versions = self.by_url.entry(meta.url.clone()).or_default();
        versions.push(item.clone());
        sort_by_version(versions);
        if !meta.id.is_empty() {
            self.by_id
                .entry(meta.id.clone())
                .or_insert_with(|| item.clone());
        }
        self.carried.insert(Arc::as_ptr(&item) as usize);
        self.all.push(item);
        true
    }

    /// Whether `item` is a version carried over from the previous release.
    pub fn is_carried(&self, item: &Arc<T>) -> bool {
        !self.carried.is_empty() && self.carried.contains(&(Arc::as_ptr(item) as usize))
    }

    /// Resources of the current release (not carried over), in load order.
    pub fn own(&self) -> impl Iterator<Item = &Arc<T>> {
        self.all.iter().filter(|r| !self.is_carried(r))
    }

    /// What unpinned requests see: the newest current-release version of each URL.
    pub fn current(&self) -> impl Iterator<Item = &Arc<T>> {
        let mut seen = HashSet::new();
        self.own()
            .filter(move |r| seen.insert(r.meta().url.as_str()))
            .filter_map(|r| self.get(&r.meta().url, None))
    }

    /// Number of versions carried over from the previous release.
    pub fn carried_len(&self) -> usize {
        self.carried.len()
    }

    /// Versions of `url`, oldest first (empty if unknown).
    pub fn versions(&self, url: &str) -> &[Arc<T>] {
        self.by_url.get(url).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The resource `url` at `version` (exact, wildcard or release line; newest match), or the
    /// newest version of the current release when no version is asked (versions carried over
    /// from the previous release answer pinned requests only).
    pub fn get(&self, url: &str, requested: Option<&str>) -> Option<&Arc<T>> {
        let versions = self.versions(url);
        match requested {
            None if self.carried.is_empty() => versions.last(),
            None => versions.iter().rev().find(|v| !self.is_carried(v)),
            Some(req) => versions
                .iter()
                .rev()
                .find(|v| v.meta().version.as_deref() == Some(req))
                .or_else(|| {
                    versions.iter().rev().find(|v| {
                        v.meta()
                            .version
                            .as_deref()
                            .is_some_and(|a| version::matches(req, a))
                    })
                }),
        }
    }

    pub fn by_id(&self, id: &str) -> Option<&Arc<T>> {
        self.by_id.get(id)
    }

    pub fn all(&self) -> &[Arc<T>] {
        &self.all
    }

    pub fn contains_url(&self, url: &str) -> bool {
        self.by_url.contains_key(url)
    }

    pub fn len(&self) -> usize {
        self.all.len()
    }

    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }
}

/// Orders the versions of one canonical, oldest first (`version::compare`).
fn sort_by_version<T: Canonical>(versions: &mut [Arc<T>]) {
    versions.sort_by(|a, b| {
        version::compare(
            a.meta().version.as_deref().unwrap_or(""),
            b.meta().version.as_deref().unwrap_or(""),
        )
    });
}

/// `{id}-{version}` as a FHIR id.
fn versioned_id(id: &str, version: &str) -> String {
    crate::model::fhir_id(&format!("{id}-{version}"))
}

/// The loaded terminology of one release, immutable.
#[derive(Debug, Default)]
pub struct Catalog {
    pub code_systems: Registry<CodeSystem>,
    pub value_sets: Registry<ValueSet>,
    pub concept_maps: Registry<ConceptMap>,
    /// OID (bare) → canonical URL, for every resource kind.
    oid_to_url: HashMap<String, String>,
    /// Supplements by the canonical URL they supplement.
    supplements: HashMap<String, Vec<Arc<CodeSystem>>>,
    /// What operations derive from this catalog and keep (e.g. value-set enumerations).
    pub memo: memo::Memo,
    /// Resources of a request (`tx-resource`) that could not be read: why, by the url they
    /// claim. A look-up of that url fails with the reason rather than "not found".
    unreadable: HashMap<String, String>,
}

impl Catalog {
    pub fn from_dataset(data: Dataset) -> Catalog {
        let mut cat = Catalog::default();
        // Language packs apply without being named: merged into their base systems here.
        let lang_packs: Vec<Arc<CodeSystem>> = data
            .code_systems
            .iter()
            .filter(|c| c.is_lang_pack())
            .map(|c| Arc::new(c.clone()))
            .collect();
        for cs in data.code_systems {
            let packs: Vec<&Arc<CodeSystem>> = lang_packs
                .iter()
                .filter(|p| crate::model::supplement::supplements_system(p, &cs))
                .collect();
            if packs.is_empty() {
                cat.add_code_system(cs);
            } else {
                cat.add_code_system(crate::model::supplement::merge(&cs, &packs));
            }
        }
        for vs in data.value_sets {
            cat.add_value_set(vs);
        }
        for cm in data.concept_maps {
            cat.add_concept_map(cm);
        }
        for (oid, url) in data.aliases {
            cat.oid_to_url.entry(oid).or_insert(url);
        }
        for edition in data.editions {
            cat.add_code_system(crate::model::sct::code_system(edition));
        }
        cat
    }

    fn add_oids(&mut self, meta: &ResourceMeta) {
        for oid in &meta.oids {
            self.oid_to_url
                .entry(oid.clone())
                .or_insert_with(|| meta.url.clone());
        }
    }

    pub fn add_code_system(&mut self, cs: CodeSystem) {
        self.add_oids(&cs.meta);
        if let Some(base) = cs.supplements.clone() {
            let (url, _) = crate::model::split_canonical(&base);
            self.supplements
                .entry(url.to_string())
                .or_default()
                .push(Arc::new(cs.clone()));
        }
        self.code_systems.insert(cs);
    }

    pub fn add_value_set(&mut self, vs: ValueSet) {
        self.add_oids(&vs.meta);
        self.value_sets.insert(vs);
    }

    pub fn add_concept_map(&mut self, cm: ConceptMap) {
        self.add_oids(&cm.meta);
        self.concept_maps.insert(cm);
    }

    /// Records that a resource claiming `url` could not be read, and why.
    /// Why a resource claiming `url` could not be read, when one could not.
    pub fn unreadable_reason(&self, url: &str) -> Option<&str> {
        self.unreadable.get(url).map(String::as_str)
    }

    pub fn add_unreadable(&mut self, url: &str, reason: String) {
        self.unreadable.entry(url.to_string()).or_insert(reason);
    }

    /// The canonical URL a system string names: itself, or the URL registered for its OID.
    pub fn canonical_url<'a>(&'a self, system: &'a str) -> Option<&'a str> {
        match oid_of(system) {
            Some(oid) => self.oid_to_url.get(oid).map(String::as_str),
            None => Some(system),
        }
    }

    /// The OID of a code system, value set or registry entry known by `url` (the reverse of
    /// `canonical_url`; a linear scan, for renderings that need OIDs such as IHE SVS).
    pub fn oid_for_url<'a>(&'a self, url: &'a str) -> Option<&'a str> {
        if let Some(oid) = oid_of(url) {
            return Some(oid);
        }
        fn own(m: &ResourceMeta) -> Option<&str> {
            m.oids.first().map(String::as_str)
        }
        self.code_systems
            .versions(url)
            .last()
            .and_then(|c| own(&c.meta))
            .or_else(|| {
                self.value_sets
                    .versions(url)
                    .last()
                    .and_then(|v| own(&v.meta))
            })
            .or_else(|| {
                let mut oids: Vec<&str> = self
                    .oid_to_url
                    .iter()
                    .filter(|(_, u)| *u == url)
                    .map(|(o, _)| o.as_str())
                    .collect();
                oids.sort_unstable();
                oids.first().copied()
            })
    }

    pub fn supplements_of(&self, url: &str) -> &[Arc<CodeSystem>] {
        self.supplements.get(url).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Keeps the resources of `previous`'s own release that this catalog has not (same type
    /// and `url|version`), for pinned requests; returns how many. Only one release back is
    /// kept: what `previous` itself carried is dropped. Supplements are not carried.
    pub fn carry_over(&mut self, previous: &Catalog) -> usize {
        let mut n = 0;
        for cs in previous.code_systems.own() {
            if cs.supplements.is_none() && self.code_systems.insert_carried(cs.clone()) {
                self.add_oids(&cs.meta);
                n += 1;
            }
        }
        for vs in previous.value_sets.own() {
            if self.value_sets.insert_carried(vs.clone()) {
                self.add_oids(&vs.meta);
                n += 1;
            }
        }
        for cm in previous.concept_maps.own() {
            if self.concept_maps.insert_carried(cm.clone()) {
                self.add_oids(&cm.meta);
                n += 1;
            }
        }
        n
    }

    /// Concepts of the current release's code systems (carried versions not counted).
    pub fn current_concept_count(&self) -> usize {
        self.code_systems.current().map(|c| c.concepts.len()).sum()
    }

    pub fn concept_count(&self) -> usize {
        self.code_systems
            .all()
            .iter()
            .map(|c| c.concepts.len())
            .sum()
    }
}
