//! What gets indexed: every member of every value set of the catalog, and every concept of
//! every code system (as its implicit `?fhir_vs` value set), with the texts a user may type.
//!
//! Members come from `ops::members::enumerate`, the very function `$expand` uses, so the index
//! and the expansion always agree on who is in a value set and with which label.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::catalog::{Catalog, Scope};
use crate::model::canonical::is_bare_oid;
use crate::model::{CodeSystem, Designation, ResourceMeta, ValueSet};
use crate::ops::expand::implicit_value_set;
use crate::ops::members::{enumerate, Member};

/// Names the member list a search runs in: a value set version, or the implicit value set of a
/// code system version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ScopeKey(String);

impl ScopeKey {
    pub fn value_set(url: &str, version: Option<&str>) -> ScopeKey {
        ScopeKey(format!("vs|{url}|{}", version.unwrap_or("")))
    }

    /// The implicit value set `{url}?fhir_vs` of a code system version.
    pub fn code_system(url: &str, version: Option<&str>) -> ScopeKey {
        ScopeKey(format!("cs|{url}|{}", version.unwrap_or("")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this names the implicit value set of a code system.
    pub fn is_code_system(&self) -> bool {
        self.0.starts_with("cs|")
    }
}

impl fmt::Display for ScopeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One indexed member list.
#[derive(Debug, Clone)]
pub struct ScopeInfo {
    pub key: String,
    /// Name, title, URL and OIDs of the value set or code system.
    pub table_words: Vec<String>,
}

/// One member of one scope, with its searchable texts.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub scope: u32,
    /// Shared by the entries of a scope: a URL copied a million times is 100 MB.
    pub system: Arc<str>,
    pub code: String,
    /// The member's display (the value set's label when it gives one).
    pub display: Option<String>,
    /// Short and adapted labels, the code system's display when the value set relabels it.
    pub alts: Vec<String>,
    /// Long business descriptions and definitions.
    pub descs: Vec<String>,
    /// Name, URL and OIDs of the member's code system, when it differs from the scope's.
    pub table_words: Vec<String>,
    pub inactive: bool,
}

/// Everything to index, in a deterministic order.
#[derive(Debug, Default)]
pub struct Entries {
    pub scopes: Vec<ScopeInfo>,
    pub entries: Vec<Entry>,
    /// Scope key → index in `scopes`.
    pub by_key: HashMap<String, u32>,
}

/// Designation uses whose text is a long description rather than a label.
const DESCRIPTION_USES: &[&str] = &["DescriptionMetier", "definition", "description"];

fn is_description(d: &Designation) -> bool {
    d.use_
        .as_ref()
        .and_then(|u| u.code.as_deref())
        .is_some_and(|c| DESCRIPTION_USES.iter().any(|u| u.eq_ignore_ascii_case(c)))
}

fn push_unique(out: &mut Vec<String>, seen: &[&str], value: &str) {
    let v = value.trim();
    if v.is_empty()
        || seen.iter().any(|s| s.trim().eq_ignore_ascii_case(v))
        || out.iter().any(|s| s.eq_ignore_ascii_case(v))
    {
        return;
    }
    out.push(v.to_string());
}

/// `Para-pharmacie` → `Parapharmacie`: a user may type a hyphenated compound as one word, and
/// the analyzer splits at hyphens, so the joined form is indexed too.
fn joined_compound(label: &str) -> Option<String> {
    let chars: Vec<char> = label.chars().collect();
    let mut out = String::with_capacity(label.len());
    let mut joined = false;
    for (i, &c) in chars.iter().enumerate() {
        let between_letters = c == '-'
            && i > 0
            && chars[i - 1].is_alphabetic()
            && chars.get(i + 1).is_some_and(|n| n.is_alphabetic());
        if between_letters {
            joined = true;
        } else {
            out.push(c);
        }
    }
    joined.then_some(out)
}

fn table_words(meta: &ResourceMeta) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(meta.name.clone());
    out.extend(meta.title.clone());
    out.push(meta.url.clone());
    out.extend(meta.oids.iter().cloned());
    out
}

fn entry(scope: u32, scope_system: Option<&str>, m: Member, systems: &mut Vec<Arc<str>>) -> Entry {
    let display = m
        .display
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty());
    let shown: Vec<&str> = display.iter().map(String::as_str).collect();
    let mut alts = Vec::new();
    let mut descs = Vec::new();
    let sort = |d: &Designation, alts: &mut Vec<String>, descs: &mut Vec<String>| {
        if is_description(d) {
            push_unique(descs, &[], &d.value);
        } else if !is_bare_oid(d.value.trim()) {
            push_unique(alts, &shown, &d.value);
        }
    };
    for d in &m.designations {
        sort(d, &mut alts, &mut descs);
    }
    let mut table = Vec::new();
    if let Some((cs, i)) = &m.source {
        let c = &cs.concepts[*i];
        if let Some(d) = &c.display {
            push_unique(&mut alts, &shown, d);
        }
        for d in &c.designations {
            sort(d, &mut alts, &mut descs);
        }
        if let Some(def) = &c.definition {
            push_unique(&mut descs, &[], def);
        }
        if scope_system != Some(cs.meta.url.as_str()) {
            table = table_words(&cs.meta);
        }
    } else if scope_system != Some(m.system.as_str()) {
        table.push(m.system.clone());
    }
    alts.shrink_to_fit();
    descs.shrink_to_fit();
    let system = match systems.iter().find(|s| ***s == *m.system) {
        Some(s) => s.clone(),
        None => {
            let s: Arc<str> = Arc::from(m.system.as_str());
            systems.push(s.clone());
            s
        }
    };
    let compounds: Vec<String> = display
        .iter()
        .chain(alts.iter())
        .filter_map(|l| joined_compound(l))
        .collect();
    for c in compounds {
        push_unique(&mut alts, &shown, &c);
    }
    Entry {
        scope,
        system,
        code: m.code,
        display,
        alts,
        descs,
        table_words: table,
        inactive: m.inactive,
    }
}

impl Entries {
    fn add_scope(
        &mut self,
        key: ScopeKey,
        meta: &ResourceMeta,
        system: Option<&str>,
        members: Vec<Member>,
    ) {
        if self.by_key.contains_key(key.as_str()) {
            return;
        }
        let id = self.scopes.len() as u32;
        self.by_key.insert(key.0.clone(), id);
        self.scopes.push(ScopeInfo {
            key: key.0,
            table_words: table_words(meta),
        });
        let mut systems = Vec::new();
        self.entries.reserve_exact(members.len());
        self.entries.extend(
            members
                .into_iter()
                .map(|m| entry(id, system, m, &mut systems)),
        );
    }

    /// Every value set and code system of `catalog`. A value set that cannot be expanded (a
    /// code system missing from the data) is left out: `$expand` reports that error itself.
    pub fn collect(catalog: &Catalog) -> Entries {
        let scope = Scope::new(catalog);
        let mut out = Entries::default();
        for cs in catalog.code_systems.all() {
            out.add_code_system(&scope, cs);
        }
        for vs in catalog.value_sets.all() {
            out.add_value_set(&scope, vs);
        }
        out
    }

    fn add_code_system(&mut self, scope: &Scope, cs: &CodeSystem) {
        if cs.is_supplement() {
            return;
        }
        let version = cs.meta.version.as_deref();
        let vs = implicit_value_set(&cs.meta.url, version);
        match enumerate(scope, &vs, 0) {
            Ok(members) => self.add_scope(
                ScopeKey::code_system(&cs.meta.url, version),
                &cs.meta,
                Some(&cs.meta.url),
                members,
            ),
            Err(e) => tracing::debug!("search index: skipping code system {}: {e}", cs.meta.url),
        }
    }

    fn add_value_set(&mut self, scope: &Scope, vs: &ValueSet) {
        match enumerate(scope, vs, 0) {
            Ok(members) => self.add_scope(
                ScopeKey::value_set(&vs.meta.url, vs.meta.version.as_deref()),
                &vs.meta,
                None,
                members,
            ),
            Err(e) => tracing::debug!("search index: skipping value set {}: {e}", vs.meta.url),
        }
    }

    /// Entries read back from a catalog snapshot (`catalog::snapshot`).
    pub fn from_parts(scopes: Vec<ScopeInfo>, entries: Vec<Entry>) -> Entries {
        let by_key = scopes
            .iter()
            .enumerate()
            .map(|(i, s)| (s.key.clone(), i as u32))
            .collect();
        Entries {
            scopes,
            entries,
            by_key,
        }
    }

    pub fn scope_id(&self, key: &ScopeKey) -> Option<u32> {
        self.by_key.get(key.as_str()).copied()
    }

    /// A stable 64-bit digest of everything indexed (FNV-1a; the same data gives the same
    /// value on every platform and Rust release). `salt` carries the schema version.
    pub fn fingerprint(&self, salt: u32) -> u64 {
        let mut h = Fnv::default();
        h.write(&salt.to_le_bytes());
        for s in &self.scopes {
            h.text(&s.key);
            h.list(&s.table_words);
        }
        for e in &self.entries {
            h.write(&e.scope.to_le_bytes());
            h.text(&e.system);
            h.text(&e.code);
            h.text(e.display.as_deref().unwrap_or("\u{0}"));
            h.list(&e.alts);
            h.list(&e.descs);
            h.list(&e.table_words);
            h.write(&[u8::from(e.inactive)]);
        }
        h.0
    }
}

/// FNV-1a, 64 bits.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Length-prefixed, so ("ab","c") and ("a","bc") differ.
    fn text(&mut self, s: &str) {
        self.write(&(s.len() as u64).to_le_bytes());
        self.write(s.as_bytes());
    }

    fn list(&mut self, items: &[String]) {
        self.write(&(items.len() as u64).to_le_bytes());
        for s in items {
            self.text(s);
        }
    }
}

#[cfg(test)]
mod compound_tests {
    use super::joined_compound;

    #[test]
    fn hyphenated_compounds_are_joined() {
        assert_eq!(
            joined_compound("Para-pharmacie").as_deref(),
            Some("Parapharmacie")
        );
        assert_eq!(joined_compound("CR - bilan"), None);
        assert_eq!(joined_compound("FON-29"), None);
    }
}
