//! One SNOMED CT edition in memory: concepts as dense indices, adjacency in compressed rows,
//! descriptions with their language-refset acceptability, reference sets. Immutable once built.
//!
//! An edition is built from one release folder plus the folders that provide the modules it
//! depends on (its module dependency refset): a French extension read beside the International
//! release is served as the French edition, the International release alone as the
//! International edition.

use std::collections::{BTreeSet, HashMap};

use super::graph::{
    ids, Acceptability, Cid, Description, Graph, Inbound, Member, Relationship, Target,
};
use super::rf2::{Release, Rf2Error, RowTarget};

/// Rows grouped by concept: `items[offsets[c]..offsets[c + 1]]`.
#[derive(Debug, Default)]
pub(super) struct Rows<T> {
    pub(super) offsets: Vec<u32>,
    pub(super) items: Vec<T>,
}

impl<T> Rows<T> {
    /// From (concept, item) pairs, grouped in concept order, each group in input order.
    fn build(n: usize, mut pairs: Vec<(Cid, T)>) -> Rows<T> {
        pairs.sort_by_key(|(c, _)| *c);
        let mut offsets = Vec::with_capacity(n + 1);
        let mut items = Vec::with_capacity(pairs.len());
        let mut next = 0usize;
        offsets.push(0);
        for (c, item) in pairs {
            while next < c as usize {
                offsets.push(items.len() as u32);
                next += 1;
            }
            items.push(item);
        }
        while offsets.len() < n + 1 {
            offsets.push(items.len() as u32);
        }
        Rows { offsets, items }
    }
    fn of(&self, c: Cid) -> &[T] {
        let c = c as usize;
        match (self.offsets.get(c), self.offsets.get(c + 1)) {
            (Some(&a), Some(&b)) => &self.items[a as usize..b as usize],
            _ => &[],
        }
    }
}

/// A language reference set and the language tag it stands for (`en-US`, `fr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LanguageRefset {
    pub id: u64,
    pub tag: String,
}

#[derive(Debug)]
pub struct Edition {
    /// The module at the top of the module dependencies (the edition's own module).
    pub module: u64,
    /// YYYYMMDD.
    pub effective_time: String,
    /// False when the operator marked the release unpublished (`xsct` URIs).
    pub published: bool,
    /// "International Edition", "French Edition"…
    pub name: String,
    /// The release folders it was built from, relative to the data folder.
    pub folders: Vec<String>,
    pub(super) ids: Vec<u64>,
    pub(super) active: Vec<bool>,
    pub(super) primitive: Vec<bool>,
    pub(super) modules: Vec<u64>,
    pub(super) times: Vec<u32>,
    pub(super) parents: Rows<Cid>,
    pub(super) children: Rows<Cid>,
    pub(super) relationships: Rows<Relationship>,
    pub(super) inbound: Rows<Inbound>,
    pub(super) descriptions: Rows<Description>,
    pub(super) refset_ids: Vec<Cid>,
    pub(super) members: HashMap<Cid, Vec<Member>>,
    pub(super) associations_into: HashMap<Cid, Vec<(Cid, Cid)>>,
    /// Inactive concept → (association refset, target), from active association rows.
    pub(super) associations_from: HashMap<Cid, Vec<(Cid, Cid)>>,
    /// In preference order when no language is asked for: en-US first.
    pub language_refsets: Vec<LanguageRefset>,
}

const MODULE_DEPENDENCY: u64 = 900000000000534007;
const INTERNATIONAL: u64 = 900000000000207008;

/// Edition names of the modules at the top of known editions.
const EDITION_NAMES: &[(u64, &str)] = &[
    (INTERNATIONAL, "International Edition"),
    (11000315107, "French Edition"),
    (11000172109, "Belgian Edition"),
    (731000124108, "US Edition"),
    (83821000000107, "UK Edition"),
    (999000041000000102, "UK Clinical Edition"),
    (32506021000036107, "Australian Edition"),
    (20611000087101, "Canadian Edition"),
    (45991000052106, "Swedish Edition"),
    (554471000005108, "Danish Edition"),
    (11000146104, "Netherlands Edition"),
    (2011000195101, "Swiss Edition"),
    (51000202101, "Norwegian Edition"),
    (449081005, "Spanish Edition"),
];

impl Edition {
    /// `http://snomed.info/sct/{module}/version/{time}` (`xsct` when unpublished).
    pub fn uri(&self) -> String {
        let scheme = if self.published { "sct" } else { "xsct" };
        format!(
            "http://snomed.info/{scheme}/{}/version/{}",
            self.module, self.effective_time
        )
    }

    /// The module URI without the version (`http://snomed.info/sct/{module}`).
    pub fn module_uri(&self) -> String {
        let scheme = if self.published { "sct" } else { "xsct" };
        format!("http://snomed.info/{scheme}/{}", self.module)
    }

    /// Every concept, in Cid order.
    pub fn all(&self) -> impl Iterator<Item = Cid> + '_ {
        0..self.ids.len() as Cid
    }

    /// Active historical associations of an inactive concept: (refset, target).
    pub fn associations_from(&self, c: Cid) -> &[(Cid, Cid)] {
        self.associations_from
            .get(&c)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The language refsets to read, best first, for a list of requested language tags
    /// (`fr-FR`, `en`); the default order (en-US first) when none matches.
    pub fn refsets_for(&self, languages: &[&str]) -> Vec<&LanguageRefset> {
        let mut out: Vec<&LanguageRefset> = Vec::new();
        for want in languages {
            let want = want.to_ascii_lowercase();
            let primary = want.split('-').next().unwrap_or("").to_string();
            // Exact tag first, then the same language.
            for r in &self.language_refsets {
                if r.tag.to_ascii_lowercase() == want && !out.contains(&r) {
                    out.push(r);
                }
            }
            for r in &self.language_refsets {
                let tag = r.tag.to_ascii_lowercase();
                let lang = tag.split('-').next().unwrap_or("");
                if lang == primary && !out.contains(&r) {
                    out.push(r);
                }
            }
        }
        if out.is_empty() {
            out.extend(self.language_refsets.iter());
        }
        out
    }

    /// The preferred synonym of `c` in the first of `refsets` that has one.
    pub fn preferred_term<'a>(&'a self, c: Cid, refsets: &[&LanguageRefset]) -> Option<&'a str> {
        self.preferred_of_type(c, refsets, ids::SYNONYM)
    }

    /// The fully specified name, preferred in the first of `refsets` that has one.
    pub fn fsn<'a>(&'a self, c: Cid, refsets: &[&LanguageRefset]) -> Option<&'a str> {
        self.preferred_of_type(c, refsets, ids::FSN).or_else(|| {
            self.descriptions(c)
                .iter()
                .find(|d| d.active && d.type_id == ids::FSN)
                .map(|d| &*d.term)
        })
    }

    fn preferred_of_type<'a>(
        &'a self,
        c: Cid,
        refsets: &[&LanguageRefset],
        type_id: u64,
    ) -> Option<&'a str> {
        let descriptions = self.descriptions(c);
        for r in refsets {
            let found = descriptions.iter().find(|d| {
                d.active
                    && d.type_id == type_id
                    && d.acceptability
                        .iter()
                        .any(|(id, a)| *id == r.id && *a == Acceptability::Preferred)
            });
            if let Some(d) = found {
                return Some(&d.term);
            }
        }
        None
    }

    /// The display of a concept: its preferred synonym in the default language refsets,
    /// else any active synonym, else its FSN.
    pub fn display(&self, c: Cid) -> Option<&str> {
        let refsets = self.refsets_for(&[]);
        self.display_in(c, &refsets)
    }

    /// The display in the given refsets (see `display`).
    pub fn display_in<'a>(&'a self, c: Cid, refsets: &[&LanguageRefset]) -> Option<&'a str> {
        self.preferred_term(c, refsets)
            .or_else(|| {
                self.descriptions(c)
                    .iter()
                    .find(|d| d.active && d.type_id == ids::SYNONYM)
                    .map(|d| &*d.term)
            })
            .or_else(|| self.fsn(c, refsets))
    }

    /// True when `ancestor` is `c` or one of its ancestors by is-a.
    pub fn is_a(&self, c: Cid, ancestor: Cid) -> bool {
        if c == ancestor {
            return true;
        }
        let mut seen = vec![false; 0];
        let mut stack = vec![c];
        while let Some(x) = stack.pop() {
            for &p in self.parents(x) {
                if p == ancestor {
                    return true;
                }
                let i = p as usize;
                if seen.len() <= i {
                    seen.resize(self.ids.len(), false);
                }
                if !seen[i] {
                    seen[i] = true;
                    stack.push(p);
                }
            }
        }
        false
    }

    /// `c` and its descendants, in Cid order.
    pub fn descendants_or_self(&self, c: Cid) -> Vec<Cid> {
        let mut seen = vec![false; self.ids.len()];
        let mut stack = vec![c];
        seen[c as usize] = true;
        while let Some(x) = stack.pop() {
            for &k in self.children(x) {
                if !seen[k as usize] {
                    seen[k as usize] = true;
                    stack.push(k);
                }
            }
        }
        seen.iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(i, _)| i as Cid)
            .collect()
    }

    /// Builds the editions of a set of releases: one per release, each with the releases
    /// providing the modules it depends on. `unpublished`: the modules an operator marked so.
    pub fn build_all(
        releases: &[Release],
        unpublished: &[u64],
    ) -> Result<Vec<Edition>, Vec<Rf2Error>> {
        let tops: Vec<(u64, String, BTreeSet<u64>)> = releases.iter().map(top_module).collect();
        let mut out = Vec::new();
        let mut errors = Vec::new();
        for (i, (module, time, deps)) in tops.iter().enumerate() {
            // The other releases whose own module this one depends on, bases first.
            let mut parts: Vec<&Release> = tops
                .iter()
                .enumerate()
                .filter(|(j, (m, _, _))| *j != i && deps.contains(m))
                .map(|(j, _)| &releases[j])
                .collect();
            parts.push(&releases[i]);
            match Edition::build(&parts, *module, time.clone(), !unpublished.contains(module)) {
                Ok(e) => out.push(e),
                Err(es) => errors.extend(es),
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }

    /// One edition from releases, bases first (a later row of the same id wins on equal time).
    pub fn build(
        parts: &[&Release],
        module: u64,
        effective_time: String,
        published: bool,
    ) -> Result<Edition, Vec<Rf2Error>> {
        let mut errors = Vec::new();
        // Concepts: the latest row of each id.
        let mut concepts: HashMap<u64, &super::rf2::ConceptRow> = HashMap::new();
        for r in parts {
            for c in &r.concepts {
                let keep = concepts
                    .get(&c.id)
                    .is_none_or(|old| old.effective_time <= c.effective_time);
                if keep {
                    concepts.insert(c.id, c);
                }
            }
        }
        let mut ids: Vec<u64> = concepts.keys().copied().collect();
        ids.sort_unstable();
        let n = ids.len();
        let cid = |id: u64| ids.binary_search(&id).ok().map(|i| i as Cid);
        let mut active = vec![false; n];
        let mut primitive = vec![false; n];
        let mut modules = vec![0u64; n];
        let mut times = vec![0u32; n];
        for (i, id) in ids.iter().enumerate() {
            let row = concepts[id];
            active[i] = row.active;
            primitive[i] = row.primitive;
            modules[i] = row.module;
            times[i] = row.effective_time;
        }
        drop(concepts);

        // Language refset rows: description → [(refset, acceptability)], latest row wins.
        let mut acceptability: HashMap<u64, Vec<(u64, Acceptability, u32)>> = HashMap::new();
        let mut language_tags: Vec<(u64, String)> = Vec::new();
        for r in parts {
            for &(refset, description, preferred, time) in &r.language {
                let a = if preferred {
                    Acceptability::Preferred
                } else {
                    Acceptability::Acceptable
                };
                let list = acceptability.entry(description).or_default();
                match list.iter_mut().find(|(id, _, _)| *id == refset) {
                    Some(slot) if slot.2 <= time => *slot = (refset, a, time),
                    Some(_) => {}
                    None => list.push((refset, a, time)),
                }
            }
            for (refset, lang) in &r.language_files {
                if !language_tags.iter().any(|(id, _)| id == refset) {
                    language_tags.push((*refset, lang.clone()));
                }
            }
        }

        // Descriptions: the latest row of each id, grouped by concept.
        let mut latest: HashMap<u64, (usize, usize)> = HashMap::new();
        for (p, r) in parts.iter().enumerate() {
            for (k, d) in r.descriptions.iter().enumerate() {
                let keep = latest.get(&d.id).is_none_or(|&(pp, kk)| {
                    parts[pp].descriptions[kk].effective_time <= d.effective_time
                });
                if keep {
                    latest.insert(d.id, (p, k));
                }
            }
        }
        let mut description_pairs = Vec::with_capacity(latest.len());
        for (p, r) in parts.iter().enumerate() {
            for (k, d) in r.descriptions.iter().enumerate() {
                if latest.get(&d.id) != Some(&(p, k)) {
                    continue;
                }
                let Some(c) = cid(d.concept) else {
                    errors.push(Rf2Error::file(
                        &format!("{}: description {}", r.name, d.id),
                        format!(
                            "refers to concept {}, which the release does not have",
                            d.concept
                        ),
                    ));
                    continue;
                };
                let acc = acceptability
                    .get(&d.id)
                    .map(|l| l.iter().map(|(r, a, _)| (*r, *a)).collect())
                    .unwrap_or_default();
                description_pairs.push((
                    c,
                    Description {
                        id: d.id,
                        active: d.active,
                        module: d.module,
                        effective_time: d.effective_time,
                        language: d.language.clone(),
                        type_id: d.type_id,
                        term: d.term.clone(),
                        case_significance: d.case_significance,
                        acceptability: acc,
                    },
                ));
            }
        }
        drop(latest);
        drop(acceptability);
        // Within a concept: by id, the order of the release files.
        description_pairs.sort_by_key(|(c, d)| (*c, d.id));
        let descriptions = Rows::build(n, description_pairs);

        // Relationships: inferred, the latest row of each id; active ones are the graph.
        let mut rel_latest: HashMap<u64, (usize, usize)> = HashMap::new();
        for (p, r) in parts.iter().enumerate() {
            for (k, rel) in r.relationships.iter().enumerate() {
                if !rel.inferred {
                    continue;
                }
                let keep = rel_latest.get(&rel.id).is_none_or(|&(pp, kk)| {
                    parts[pp].relationships[kk].effective_time <= rel.effective_time
                });
                if keep {
                    rel_latest.insert(rel.id, (p, k));
                }
            }
        }
        let mut parent_pairs = Vec::new();
        let mut child_pairs = Vec::new();
        let mut rel_pairs = Vec::new();
        let mut inbound_pairs = Vec::new();
        for (p, r) in parts.iter().enumerate() {
            for (k, rel) in r.relationships.iter().enumerate() {
                if !rel.active || rel_latest.get(&rel.id) != Some(&(p, k)) {
                    continue;
                }
                let at = |what: &str, id: u64| {
                    let file = r
                        .files
                        .get(rel.origin.0 as usize)
                        .cloned()
                        .unwrap_or_default();
                    Rf2Error {
                        file,
                        line: Some(rel.origin.1 as usize),
                        column: None,
                        message: format!(
                            "relationship {}: its {what} {id} is no concept of the release",
                            rel.id
                        ),
                    }
                };
                let (Some(source), Some(type_id)) = (cid(rel.source), cid(rel.type_id)) else {
                    let (what, id) = if cid(rel.source).is_none() {
                        ("source", rel.source)
                    } else {
                        ("type", rel.type_id)
                    };
                    errors.push(at(what, id));
                    continue;
                };
                let target = match &rel.target {
                    RowTarget::Concept(d) => match cid(*d) {
                        Some(t) => Target::Concept(t),
                        None => {
                            errors.push(at("destination", *d));
                            continue;
                        }
                    },
                    RowTarget::Concrete(v) => Target::Concrete(v.clone()),
                };
                match target {
                    Target::Concept(t) if rel.type_id == ids::IS_A => {
                        parent_pairs.push((source, t));
                        child_pairs.push((t, source));
                    }
                    Target::Concept(t) => {
                        inbound_pairs.push((
                            t,
                            Inbound {
                                source,
                                type_id,
                                group: rel.group,
                            },
                        ));
                        rel_pairs.push((
                            source,
                            Relationship {
                                type_id,
                                group: rel.group,
                                target,
                            },
                        ));
                    }
                    Target::Concrete(_) => rel_pairs.push((
                        source,
                        Relationship {
                            type_id,
                            group: rel.group,
                            target,
                        },
                    )),
                }
            }
        }
        drop(rel_latest);
        parent_pairs.sort_unstable();
        parent_pairs.dedup();
        child_pairs.sort_unstable();
        child_pairs.dedup();
        rel_pairs.sort_by_key(|(c, r)| (*c, r.group, r.type_id));
        inbound_pairs.sort_by_key(|(c, i)| (*c, i.source, i.type_id));

        // Reference sets (language and OWL ones aside), the latest row per (refset, component,
        // fields) standing for RF2's member uuid, which rows do not keep.
        let mut members: HashMap<Cid, Vec<Member>> = HashMap::new();
        let mut associations_into: HashMap<Cid, Vec<(Cid, Cid)>> = HashMap::new();
        let mut associations_from: HashMap<Cid, Vec<(Cid, Cid)>> = HashMap::new();
        let mut dependencies = Vec::new();
        for r in parts {
            for row in &r.refsets {
                if row.refset == MODULE_DEPENDENCY {
                    dependencies.push(row.clone());
                }
                let Some(refset) = cid(row.refset) else {
                    continue;
                };
                let referenced = cid(row.referenced);
                let target = row.fields.iter().find_map(|(name, v)| match v {
                    super::graph::FieldValue::Id(id) if &**name == "targetComponentId" => cid(*id),
                    _ => None,
                });
                if let (true, Some(source), Some(target)) = (row.active, referenced, target) {
                    associations_into
                        .entry(target)
                        .or_default()
                        .push((source, refset));
                    associations_from
                        .entry(source)
                        .or_default()
                        .push((refset, target));
                }
                members.entry(refset).or_default().push(Member {
                    active: row.active,
                    module: row.module,
                    effective_time: row.effective_time,
                    referenced,
                    referenced_id: row.referenced,
                    fields: row.fields.clone(),
                });
            }
        }
        let mut refset_ids: Vec<Cid> = members.keys().copied().collect();
        refset_ids.sort_unstable();

        // Language refsets: en-US, en-GB, then the others in the order read.
        let mut language_refsets: Vec<LanguageRefset> = Vec::new();
        for (id, tag) in [(ids::US_ENGLISH, "en-US"), (ids::GB_ENGLISH, "en-GB")] {
            if language_tags.iter().any(|(r, _)| *r == id) {
                language_refsets.push(LanguageRefset {
                    id,
                    tag: tag.to_string(),
                });
            }
        }
        for (id, lang) in &language_tags {
            if !language_refsets.iter().any(|l| l.id == *id) {
                language_refsets.push(LanguageRefset {
                    id: *id,
                    tag: lang.clone(),
                });
            }
        }

        if !errors.is_empty() {
            errors.truncate(100);
            return Err(errors);
        }
        let name = edition_name(module, &dependencies);
        Ok(Edition {
            module,
            effective_time,
            published,
            name,
            folders: parts.iter().map(|r| r.name.clone()).collect(),
            parents: Rows::build(n, parent_pairs),
            children: Rows::build(n, child_pairs),
            relationships: Rows::build(n, rel_pairs),
            inbound: Rows::build(n, inbound_pairs),
            descriptions,
            ids,
            active,
            primitive,
            modules,
            times,
            refset_ids,
            members,
            associations_into,
            associations_from,
            language_refsets,
        })
    }
}

/// The module at the top of a release's module dependencies, its effective time, and every
/// module it depends on (transitively). Without a module dependency refset: the module of
/// most concepts, and the latest concept time.
fn top_module(r: &Release) -> (u64, String, BTreeSet<u64>) {
    let mut depends: HashMap<u64, Vec<(u64, u32)>> = HashMap::new();
    for row in r
        .refsets
        .iter()
        .filter(|x| x.refset == MODULE_DEPENDENCY && x.active)
    {
        depends
            .entry(row.module)
            .or_default()
            .push((row.referenced, row.effective_time));
    }
    let depended: BTreeSet<u64> = depends
        .iter()
        .flat_map(|(m, d)| d.iter().filter(move |(t, _)| t != m).map(|(t, _)| *t))
        .collect();
    let top = depends
        .iter()
        .filter(|(m, _)| !depended.contains(m))
        .max_by_key(|(m, d)| (d.iter().map(|(_, t)| *t).max().unwrap_or(0), **m))
        .map(|(m, d)| (*m, d.iter().map(|(_, t)| *t).max().unwrap_or(0)));
    let (module, time) = top.unwrap_or_else(|| {
        let mut counts: HashMap<u64, usize> = HashMap::new();
        for c in &r.concepts {
            *counts.entry(c.module).or_default() += 1;
        }
        let module = counts
            .into_iter()
            .max_by_key(|(m, n)| (*n, *m))
            .map(|(m, _)| m)
            .unwrap_or(INTERNATIONAL);
        let time = r
            .concepts
            .iter()
            .map(|c| c.effective_time)
            .max()
            .unwrap_or(0);
        (module, time)
    });
    let mut all = BTreeSet::new();
    let mut stack = vec![module];
    while let Some(m) = stack.pop() {
        for (t, _) in depends.get(&m).map(Vec::as_slice).unwrap_or(&[]) {
            if *t != module && all.insert(*t) {
                stack.push(*t);
            }
        }
    }
    (module, format!("{time:08}"), all)
}

/// The edition's name: its module's, else that of the first known module it depends on.
fn edition_name(module: u64, dependencies: &[super::rf2::RefsetRow]) -> String {
    let known = |m: u64| {
        EDITION_NAMES
            .iter()
            .find(|(id, _)| *id == m)
            .map(|(_, n)| *n)
    };
    if let Some(n) = known(module) {
        return n.to_string();
    }
    // Breadth-first down the dependencies, national editions before the International one.
    let mut frontier = vec![module];
    let mut seen = BTreeSet::new();
    let mut fallback = None;
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for m in frontier {
            for row in dependencies.iter().filter(|r| r.module == m && r.active) {
                if !seen.insert(row.referenced) {
                    continue;
                }
                match known(row.referenced) {
                    Some(n) if row.referenced != INTERNATIONAL => return n.to_string(),
                    Some(n) => fallback = Some(n),
                    None => next.push(row.referenced),
                }
            }
        }
        frontier = next;
    }
    fallback.unwrap_or("Edition").to_string()
}

impl Graph for Edition {
    fn concept_count(&self) -> usize {
        self.ids.len()
    }
    fn concept(&self, sctid: u64) -> Option<Cid> {
        self.ids.binary_search(&sctid).ok().map(|i| i as Cid)
    }
    fn sctid(&self, c: Cid) -> u64 {
        self.ids[c as usize]
    }
    fn is_active(&self, c: Cid) -> bool {
        self.active[c as usize]
    }
    fn module(&self, c: Cid) -> u64 {
        self.modules[c as usize]
    }
    fn effective_time(&self, c: Cid) -> u32 {
        self.times[c as usize]
    }
    fn is_primitive(&self, c: Cid) -> bool {
        self.primitive[c as usize]
    }
    fn parents(&self, c: Cid) -> &[Cid] {
        self.parents.of(c)
    }
    fn children(&self, c: Cid) -> &[Cid] {
        self.children.of(c)
    }
    fn relationships(&self, c: Cid) -> &[Relationship] {
        self.relationships.of(c)
    }
    fn inbound(&self, c: Cid) -> &[Inbound] {
        self.inbound.of(c)
    }
    fn descriptions(&self, c: Cid) -> &[Description] {
        self.descriptions.of(c)
    }
    fn refsets(&self) -> &[Cid] {
        &self.refset_ids
    }
    fn members(&self, refset: Cid) -> Option<&[Member]> {
        self.members.get(&refset).map(Vec::as_slice)
    }
    fn associations_into(&self, c: Cid) -> &[(Cid, Cid)] {
        self.associations_into
            .get(&c)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}
