//! What gets indexed: every member of every value set of the catalog, and every concept of
//! every code system (as its implicit `?fhir_vs` value set), with the texts a user may type.
//!
//! Members of a value set are listed by the layer above (`ops`, through `MemberLister`), with
//! the very function `$expand` uses, so the index and the expansion always agree on who is in
//! a value set and with which label; search only turns them into entries.
//! A code system's members are read straight from its concepts, giving the same entries as
//! enumerating its implicit value set (a test compares both) without a `Member` per concept.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use super::analysis::Analyzer;
use crate::catalog::Catalog;
use crate::model::canonical::is_bare_oid;
use crate::model::{CodeSystem, Designation, ResourceMeta, ValueSet};

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

/// Where a member stands in its code system's hierarchy, for the ranking: a concept before
/// its own descendants, one that can be chosen before a grouping one. Generic FHIR signals:
/// the parent links and the `notSelectable` property, for any code system.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Standing {
    /// Number of ancestors (0: a root, or a member of a flat table). A descendant always has
    /// more than each of its ancestors, whatever the shape of the hierarchy.
    pub depth: u8,
    /// A grouping concept (`notSelectable`, `abstract` in an expansion).
    pub not_selectable: bool,
    /// The entry of its first parent in the same scope (a position in `Entries::entries`),
    /// `NO_PARENT` when it has none there.
    pub parent: u32,
}

/// `Standing::parent` of an entry whose parent is not in its scope.
pub const NO_PARENT: u32 = u32::MAX;

impl Default for Standing {
    fn default() -> Self {
        Standing {
            depth: 0,
            not_selectable: false,
            parent: NO_PARENT,
        }
    }
}

impl Standing {
    /// The standing of `cs.concepts[i]`, and `is_abstract` from the value set.
    pub fn of(cs: &CodeSystem, i: usize, is_abstract: bool) -> Standing {
        let depth = cs.ancestors(i).len().min(usize::from(u8::MAX));
        Standing {
            depth: u8::try_from(depth).unwrap_or(u8::MAX),
            not_selectable: is_abstract || cs.is_not_selectable(&cs.concepts[i]),
            parent: NO_PARENT,
        }
    }
}

/// One member of one scope, with its searchable texts.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    pub scope: u32,
    pub inactive: bool,
    pub standing: Standing,
    /// Shared by the entries of a scope: a URL copied a million times is 100 MB.
    pub system: Arc<str>,
    /// The code, the display, alternative labels, descriptions and table words, end to end,
    /// then `|` and a header of their counts and lengths (`EntryBuilder`): one allocation where
    /// separate strings and lists took five or more (a million entries: about 0.18 GB
    /// instead of 0.35).
    texts: Box<str>,
}

impl Entry {
    /// An entry from its parts (tests, and callers holding them as lists).
    #[allow(clippy::too_many_arguments)]
    pub fn new<S: AsRef<str>>(
        scope: u32,
        system: Arc<str>,
        code: &str,
        display: Option<&str>,
        alts: &[S],
        descs: &[S],
        table_words: &[S],
        inactive: bool,
    ) -> Entry {
        let mut b = EntryBuilder::default();
        b.push(Section::Code, code);
        if let Some(d) = display {
            b.push(Section::Display, d);
        }
        alts.iter().for_each(|a| b.push(Section::Alt, a.as_ref()));
        descs.iter().for_each(|d| b.push(Section::Desc, d.as_ref()));
        let words = table_words.iter();
        words.for_each(|t| b.push(Section::TableWord, t.as_ref()));
        Entry {
            scope,
            inactive,
            standing: Standing::default(),
            system,
            // Texts given as `str` are UTF-8 end to end: never the default.
            texts: b.finish_texts().unwrap_or_default(),
        }
    }

    /// Every text, reading the header once.
    pub fn parts(&self) -> Parts<'_> {
        // The header follows the last `|` (it has none; the texts may).
        let (body, head) = self.texts.rsplit_once('|').unwrap_or(("", ""));
        let mut numbers = head.split(',');
        let mut next = || numbers.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        let (alts, descs, tables, display) = (next(), next(), next(), next() == 1);
        let mut texts = TextIter {
            lengths: numbers,
            rest: body,
            left: usize::MAX,
        };
        let code = texts.next().unwrap_or("");
        let display = if display { texts.next() } else { None };
        let mut section = |count: usize| {
            let part = TextIter {
                left: count,
                ..texts.clone()
            };
            for _ in 0..count {
                texts.next();
            }
            part
        };
        Parts {
            code,
            display,
            alts: section(alts),
            descs: section(descs),
            table_words: section(tables),
        }
    }

    pub fn code(&self) -> &str {
        self.parts().code
    }

    /// The member's display (the value set's label when it gives one).
    pub fn display(&self) -> Option<&str> {
        self.parts().display
    }

    /// Short and adapted labels, the code system's display when the value set relabels it.
    pub fn alts(&self) -> TextIter<'_> {
        self.parts().alts
    }

    /// Long business descriptions and definitions.
    pub fn descs(&self) -> TextIter<'_> {
        self.parts().descs
    }

    /// Name, URL and OIDs of the member's code system, when it differs from the scope's.
    pub fn table_words(&self) -> TextIter<'_> {
        self.parts().table_words
    }

    /// This entry with `extra` designations after its own.
    pub fn with_more_alts(&self, extra: &[String]) -> Entry {
        let p = self.parts();
        let mut alts: Vec<&str> = p.alts.collect();
        alts.extend(extra.iter().map(String::as_str));
        let descs: Vec<&str> = p.descs.collect();
        let tables: Vec<&str> = p.table_words.collect();
        let mut out = Entry::new(
            self.scope,
            self.system.clone(),
            p.code,
            p.display,
            &alts,
            &descs,
            &tables,
            self.inactive,
        );
        out.standing = self.standing;
        out
    }
}

/// The texts of an entry (`Entry::parts`).
pub struct Parts<'a> {
    pub code: &'a str,
    pub display: Option<&'a str>,
    pub alts: TextIter<'a>,
    pub descs: TextIter<'a>,
    pub table_words: TextIter<'a>,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.parts();
        f.debug_struct("Entry")
            .field("scope", &self.scope)
            .field("system", &self.system)
            .field("code", &p.code)
            .field("display", &p.display)
            .field("alts", &p.alts.collect::<Vec<_>>())
            .field("descs", &p.descs.collect::<Vec<_>>())
            .field("table_words", &p.table_words.collect::<Vec<_>>())
            .field("inactive", &self.inactive)
            .field("standing", &self.standing)
            .finish()
    }
}

/// Texts of an entry, in order.
#[derive(Clone)]
pub struct TextIter<'a> {
    lengths: std::str::Split<'a, char>,
    rest: &'a str,
    /// Texts left to give.
    left: usize,
}

impl<'a> Iterator for TextIter<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.left == 0 {
            return None;
        }
        let n: usize = self.lengths.next()?.parse().ok()?;
        // Lengths are byte lengths of whole strings, written with them: always on a boundary.
        let text = self.rest.get(..n)?;
        self.rest = self.rest.get(n..)?;
        self.left -= 1;
        Some(text)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

/// A section's iterator knows its count from the header.
impl ExactSizeIterator for TextIter<'_> {}

/// Where a text goes in an entry; texts are added in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    Code,
    Display,
    Alt,
    Desc,
    TableWord,
}

/// Packs the texts of entries: the code, then the display if any, alts, descs and table
/// words, in that order. Reusable: `finish` leaves it empty.
#[derive(Debug, Default)]
pub struct EntryBuilder {
    /// The texts end to end; `finish` appends `|` and the header.
    buf: Vec<u8>,
    lengths: Vec<usize>,
    counts: [usize; 3],
    display: bool,
    section: Option<Section>,
}

/// `n` in decimal, without `write!`'s formatting machinery (it showed in snapshot reads).
fn push_number(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

impl EntryBuilder {
    pub fn push(&mut self, section: Section, text: &str) {
        let filled: Result<(), ()> = self.fill(section, text.len(), |b| {
            b.copy_from_slice(text.as_bytes());
            Ok(())
        });
        debug_assert!(filled.is_ok());
    }

    /// Adds a text of `len` bytes that `fill` writes in place (straight from a snapshot, with
    /// no copy in between); `finish` checks that the whole is UTF-8. After an error the
    /// builder holds part of a text: drop it.
    pub fn fill<E>(
        &mut self,
        section: Section,
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        debug_assert!(Some(section) >= self.section, "entry texts out of order");
        self.section = Some(section);
        match section {
            Section::Code => {}
            Section::Display => self.display = true,
            Section::Alt => self.counts[0] += 1,
            Section::Desc => self.counts[1] += 1,
            Section::TableWord => self.counts[2] += 1,
        }
        let start = self.buf.len();
        self.buf.resize(start + len, 0);
        fill(&mut self.buf[start..])?;
        self.lengths.push(len);
        Ok(())
    }

    /// The entry; `None` when the texts are not UTF-8 (only `fill` can bring that about).
    pub fn finish(&mut self, scope: u32, system: Arc<str>, inactive: bool) -> Option<Entry> {
        Some(Entry {
            scope,
            inactive,
            standing: Standing::default(),
            system,
            texts: self.finish_texts()?,
        })
    }

    fn finish_texts(&mut self) -> Option<Box<str>> {
        self.buf.push(b'|');
        for n in self.counts {
            push_number(&mut self.buf, n);
            self.buf.push(b',');
        }
        self.buf.push(if self.display { b'1' } else { b'0' });
        for &n in &self.lengths {
            self.buf.push(b',');
            push_number(&mut self.buf, n);
        }
        // One allocation of the exact size.
        let texts = std::str::from_utf8(&self.buf).ok().map(Box::<str>::from);
        self.buf.clear();
        self.lengths.clear();
        self.counts = [0; 3];
        self.display = false;
        self.section = None;
        texts
    }
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

/// A one-word compound is cut when it begins with at least this many letters...
const COMPOUND_HEAD_MIN: usize = 3;
/// ...followed by a word of at least this many letters that the data uses on its own.
const COMPOUND_TAIL_MIN: usize = 6;

/// Prefixes French writes glued to a word or with a hyphen ("sousarachnoïdienne",
/// "sous-arachnoïdienne"): a word may be cut after one of them even when the rest is not a
/// word of the data on its own, as long as it begins like one (`Vocabulary::begins_a_word`).
const BOUND_PREFIXES: &[&str] = &[
    "anti", "extra", "hyper", "hypo", "infra", "inter", "intra", "post", "retro", "sous", "supra",
    "trans",
];

/// The folded words of every display and designation, long enough to end a compound, and
/// their first `COMPOUND_TAIL_MIN` letters.
struct Vocabulary {
    words: HashSet<String>,
    beginnings: HashSet<String>,
}

impl Vocabulary {
    fn of(words: HashSet<String>) -> Vocabulary {
        let beginnings = words
            .iter()
            .map(|w| w.chars().take(COMPOUND_TAIL_MIN).collect())
            .collect();
        Vocabulary { words, beginnings }
    }

    /// Whether a word of the data begins like `tail` ("arachnoidienne": "arachnoïdite").
    fn begins_a_word(&self, tail: &str) -> bool {
        let head: String = tail.chars().take(COMPOUND_TAIL_MIN).collect();
        self.beginnings.contains(&head)
    }

    /// Where `word` may be cut: before a word of the data, or after a bound prefix.
    fn cut(&self, word: &str) -> Option<usize> {
        word.char_indices()
            .skip(COMPOUND_HEAD_MIN)
            .map(|(at, _)| at)
            .take_while(|&at| word[at..].chars().count() >= COMPOUND_TAIL_MIN)
            .find(|&at| {
                self.words.contains(&word[at..])
                    || (BOUND_PREFIXES.contains(&&word[..at]) && self.begins_a_word(&word[at..]))
            })
    }
}

fn vocabulary(entries: &[Entry], analyzer: &mut Analyzer) -> Vocabulary {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out = HashSet::new();
    for e in entries {
        for label in e.display().into_iter().chain(e.alts()) {
            if !seen.insert(label) {
                continue;
            }
            for w in analyzer.words(label) {
                if w.text.chars().count() >= COMPOUND_TAIL_MIN {
                    out.insert(w.text);
                }
            }
        }
    }
    Vocabulary::of(out)
}

/// `label` with its one-word compounds cut before the longest word of `vocabulary` they end
/// with ("Propharmacie" → "pro-pharmacie"); `None` when none is.
fn split_label(label: &str, vocabulary: &Vocabulary, analyzer: &mut Analyzer) -> Option<String> {
    let words = analyzer.words(label);
    let mut out = String::new();
    let mut split = false;
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            // The comma stays: what follows it is a qualifier (`Word::qualifier`).
            if w.qualifier && !words[i - 1].qualifier {
                out.push(',');
            }
            out.push(if w.word_start { ' ' } else { '-' });
        }
        match vocabulary.cut(&w.text) {
            Some(at) => {
                split = true;
                out.push_str(&w.text[..at]);
                out.push('-');
                out.push_str(&w.text[at..]);
            }
            None => out.push_str(&w.text),
        }
    }
    split.then_some(out)
}

/// Gives every entry whose labels hold a one-word compound ending with a word of the data
/// ("Propharmacie", "Audioprothésiste", "bronchopneumopathie") the label cut there as a
/// designation: "pharmacie" then finds "Propharmacie" like it finds "Para-pharmacie", as a
/// match inside a compound word, ranked after the labels that have the word itself. Without
/// it a table where five concepts hold "pharmacie" answered four.
fn split_compounds(entries: &mut [Entry]) {
    let mut analyzer = Analyzer::default();
    let vocabulary = vocabulary(entries, &mut analyzer);
    let mut splits: HashMap<String, Option<String>> = HashMap::new();
    for e in entries.iter_mut() {
        let mut extra: Vec<String> = Vec::new();
        let shown: Vec<&str> = e.display().into_iter().collect();
        let known: Vec<&str> = e.alts().collect();
        for label in e.display().into_iter().chain(e.alts()) {
            let split = splits
                .entry(label.to_string())
                .or_insert_with(|| split_label(label, &vocabulary, &mut analyzer));
            if let Some(s) = split {
                if !known.iter().any(|k| k.eq_ignore_ascii_case(s)) {
                    push_unique(&mut extra, &shown, s);
                }
            }
        }
        if !extra.is_empty() {
            *e = e.with_more_alts(&extra);
        }
    }
}

/// Labels that the supplements of `catalog` give the concepts of their base systems (display
/// and designations, not descriptions): (system URL, code) → labels. Language packs are
/// already merged into their systems; other supplements only apply when a request names
/// them, but what they call a concept is still what a user may type.
fn supplement_labels(catalog: &Catalog) -> HashMap<(String, String), Vec<String>> {
    let mut out: HashMap<(String, String), Vec<String>> = HashMap::new();
    for base in catalog.code_systems.all() {
        let sups = catalog.supplements_of(&base.meta.url);
        for sup in sups.iter().filter(|s| !s.is_lang_pack()) {
            if !crate::model::supplement::supplements_system(sup, base) {
                continue;
            }
            for c in &sup.concepts {
                let labels = out
                    .entry((base.meta.url.clone(), c.code.clone()))
                    .or_default();
                let designations = c.designations.iter().filter(|d| !is_description(d));
                for label in c.display.iter().chain(designations.map(|d| &d.value)) {
                    if !is_bare_oid(label.trim()) {
                        push_unique(labels, &[], label);
                    }
                }
            }
        }
    }
    out.retain(|_, labels| !labels.is_empty());
    out
}

/// Adds the labels of `supplement_labels` to the entries of those concepts, in every scope.
fn add_supplement_labels(catalog: &Catalog, entries: &mut [Entry]) {
    let labels = supplement_labels(catalog);
    if labels.is_empty() {
        return;
    }
    for e in entries.iter_mut() {
        let key = (e.system.to_string(), e.code().to_string());
        let Some(found) = labels.get(&key) else {
            continue;
        };
        let shown: Vec<&str> = e.display().into_iter().chain(e.alts()).collect();
        let mut extra = Vec::new();
        for label in found {
            push_unique(&mut extra, &shown, label);
        }
        if !extra.is_empty() {
            *e = e.with_more_alts(&extra);
        }
    }
}

fn table_words(meta: &ResourceMeta) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(meta.name.clone());
    out.extend(meta.title.clone());
    out.push(meta.url.clone());
    out.extend(meta.oids.iter().cloned());
    out
}

/// What an entry is made of: a member of an enumeration, or a concept of a code system read
/// in place.
pub struct Source<'m> {
    pub system: &'m str,
    pub code: &'m str,
    pub display: Option<&'m str>,
    pub designations: &'m [Designation],
    /// The member's code system and concept index, when the system is loaded and knows it.
    pub concept: Option<(&'m CodeSystem, usize)>,
    pub inactive: bool,
    /// A grouping member (`abstract` in the expansion).
    pub is_abstract: bool,
}

/// Lists the members of a value set for the index. Implemented above search (`ops`, which
/// computes members the way `$expand` does) and passed in: search indexes, it does not expand.
pub trait MemberLister {
    /// Calls `each` with every member of `vs` over `catalog`, in expansion order; an error
    /// (e.g. a code system missing from the data) leaves `vs` out of the index.
    fn for_each_member(
        &self,
        catalog: &Catalog,
        vs: &ValueSet,
        each: &mut dyn FnMut(Source<'_>),
    ) -> Result<(), String>;
}

fn entry(scope: u32, scope_system: Option<&str>, m: &Source, systems: &mut Vec<Arc<str>>) -> Entry {
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
    for d in m.designations {
        sort(d, &mut alts, &mut descs);
    }
    let mut table = Vec::new();
    if let Some((cs, i)) = m.concept {
        let c = &cs.concepts[i];
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
    } else if scope_system != Some(m.system) {
        table.push(m.system.to_string());
    }
    let system = match systems.iter().find(|s| ***s == *m.system) {
        Some(s) => s.clone(),
        None => {
            let s: Arc<str> = Arc::from(m.system);
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
    let mut out = Entry::new(
        scope,
        system,
        m.code,
        display.as_deref(),
        &alts,
        &descs,
        &table,
        m.inactive,
    );
    out.standing = match m.concept {
        Some((cs, i)) => Standing::of(cs, i, m.is_abstract),
        None => Standing {
            not_selectable: m.is_abstract,
            ..Standing::default()
        },
    };
    out
}

/// The code of the first parent of a member, when its code system is loaded.
fn parent_code(m: &Source) -> Option<Box<str>> {
    let (cs, i) = m.concept?;
    let p = cs.parents(i).next()?;
    Some(cs.concepts.get(p)?.code.as_str().into())
}

/// Points every entry of `entries` (one scope, from `first` on) at its parent's entry: the
/// entry of the parent's code in the same system (a value set may hold several systems).
fn link_parents(entries: &mut [Entry], first: usize, parents: &[Option<Box<str>>]) {
    let by_code: HashMap<(&str, &str), u32> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let position = u32::try_from(first + i).unwrap_or(NO_PARENT);
            ((&*e.system, e.code()), position)
        })
        .collect();
    let found: Vec<u32> = entries
        .iter()
        .zip(parents)
        .map(|(e, p)| {
            p.as_deref()
                .and_then(|c| by_code.get(&(&*e.system, c)).copied())
                .unwrap_or(NO_PARENT)
        })
        .collect();
    for (e, p) in entries.iter_mut().zip(found) {
        e.standing.parent = p;
    }
}

/// A code system whose implicit value set is indexed: `cs` as the catalog lists it, and what
/// `enumerate` resolves `{url}?fhir_vs` to (the system URL and the code system it reads).
struct CodeSystemScope<'c> {
    cs: &'c CodeSystem,
    system: String,
    resolved: Arc<CodeSystem>,
}

impl CodeSystemScope<'_> {
    /// The look-ups `enumerate` makes for the single include `{system: url, version}` of the
    /// implicit value set; `None` where it would fail (unknown system or version).
    fn resolve<'c>(catalog: &Catalog, cs: &'c CodeSystem) -> Option<CodeSystemScope<'c>> {
        let system = catalog
            .canonical_url(&cs.meta.url)
            .unwrap_or(&cs.meta.url)
            .to_string();
        // Resolved again, as a look-up by system does: an OID no alias names finds nothing.
        let url = catalog.canonical_url(&system)?;
        let resolved = catalog
            .code_systems
            .get(url, cs.meta.version.as_deref())?
            .clone();
        Some(CodeSystemScope {
            cs,
            system,
            resolved,
        })
    }

    fn key(&self) -> ScopeKey {
        ScopeKey::code_system(&self.cs.meta.url, self.cs.meta.version.as_deref())
    }

    /// The members, as `enumerate` lists them (a code listed twice counts once, the first
    /// wins), turned into entries as they are read: no `Member` list, which for a million
    /// concepts is about 0.6 GB on top of the catalog.
    fn push_entries(&self, scope: u32, out: &mut Vec<Entry>) {
        let cs = self.resolved.as_ref();
        if let Some(edition) = &cs.edition.edition {
            return self.push_edition_entries(edition, scope, out);
        }
        let mut systems = Vec::new();
        let first = out.len();
        let mut parents = Vec::new();
        for (i, c) in cs.concepts.iter().enumerate() {
            if cs.index_of(&c.code).is_some_and(|first| first < i) {
                continue;
            }
            let source = Source {
                system: &self.system,
                code: &c.code,
                display: c.display.as_deref(),
                designations: &c.designations,
                concept: Some((cs, i)),
                inactive: c.is_inactive(),
                is_abstract: cs.is_not_selectable(c),
            };
            parents.push(parent_code(&source));
            out.push(entry(scope, Some(&self.cs.meta.url), &source, &mut systems));
        }
        link_parents(&mut out[first..], first, &parents);
    }
}

impl CodeSystemScope<'_> {
    /// A SNOMED CT edition's concepts, read from the edition: each concept's preferred term
    /// as its display, its active synonyms and FSN (every language) as designations, its
    /// first parent for the hierarchy's ranking.
    fn push_edition_entries(
        &self,
        edition: &crate::snomed::Edition,
        scope: u32,
        out: &mut Vec<Entry>,
    ) {
        use crate::snomed::graph::{ids, Graph};
        let mut systems = Vec::new();
        let first = out.len();
        let mut parents = Vec::new();
        let uses: Vec<(u64, Arc<crate::model::Coding>)> = [ids::FSN, ids::SYNONYM]
            .into_iter()
            .map(|t| (t, Arc::new(crate::model::sct::description_use(t))))
            .collect();
        for c in edition.all() {
            let code = edition.sctid(c).to_string();
            let designations: Vec<Designation> = edition
                .descriptions(c)
                .iter()
                .filter(|d| d.active && d.type_id != ids::DEFINITION)
                .map(|d| Designation {
                    language: Some(d.language.to_string()),
                    use_: uses
                        .iter()
                        .find(|(t, _)| *t == d.type_id)
                        .map(|(_, u)| u.clone()),
                    value: d.term.to_string(),
                    extensions: None,
                })
                .collect();
            let source = Source {
                system: &self.system,
                code: &code,
                display: edition.display(c),
                designations: &designations,
                concept: None,
                inactive: !edition.is_active(c),
                is_abstract: false,
            };
            parents.push(
                edition
                    .parents(c)
                    .first()
                    .map(|&p| edition.sctid(p).to_string().into_boxed_str()),
            );
            out.push(entry(scope, Some(&self.cs.meta.url), &source, &mut systems));
        }
        link_parents(&mut out[first..], first, &parents);
    }
}

impl Entries {
    /// Registers a scope; `None` when one of that key is already there.
    fn open_scope(&mut self, key: ScopeKey, meta: &ResourceMeta) -> Option<u32> {
        if self.by_key.contains_key(key.as_str()) {
            return None;
        }
        let id = self.scopes.len() as u32;
        self.by_key.insert(key.0.clone(), id);
        self.scopes.push(ScopeInfo {
            key: key.0,
            table_words: table_words(meta),
        });
        Some(id)
    }

    /// Every value set (its members listed by `members`) and code system of `catalog`. A value
    /// set that cannot be expanded (a code system missing from the data) is left out:
    /// `$expand` reports that error itself.
    pub fn collect(catalog: &Catalog, members: &dyn MemberLister) -> Entries {
        let mut keys: HashSet<ScopeKey> = HashSet::new();
        let mut code_systems: Vec<CodeSystemScope> = Vec::new();
        for cs in catalog.code_systems.all() {
            if cs.is_supplement() {
                continue;
            }
            match CodeSystemScope::resolve(catalog, cs) {
                Some(c) if keys.insert(c.key()) => code_systems.push(c),
                Some(_) => {}
                None => tracing::debug!("search index: skipping code system {}", cs.meta.url),
            }
        }
        // Value sets are enumerated first, aside, so that the list of entries is allocated
        // once at its final size: growing a list of a million entries copies it, and holds
        // it twice meanwhile. Their scopes still come after the code systems'.
        let mut value_sets: Vec<(ScopeKey, &ValueSet, Vec<Entry>)> = Vec::new();
        for vs in catalog.value_sets.all() {
            let key = ScopeKey::value_set(&vs.meta.url, vs.meta.version.as_deref());
            if keys.contains(&key) {
                continue;
            }
            let mut systems = Vec::new();
            let mut entries = Vec::new();
            let mut parents = Vec::new();
            let listed = members.for_each_member(catalog, vs, &mut |m| {
                parents.push(parent_code(&m));
                entries.push(entry(0, None, &m, &mut systems))
            });
            match listed {
                Ok(()) => {
                    keys.insert(key.clone());
                    // Parents as positions in `entries`, moved when they are appended.
                    link_parents(&mut entries, 0, &parents);
                    value_sets.push((key, vs.as_ref(), entries));
                }
                Err(e) => {
                    tracing::debug!("search index: skipping value set {}: {e}", vs.meta.url)
                }
            }
        }
        let mut out = Entries::default();
        let total = code_systems
            .iter()
            .map(|c| match &c.resolved.edition.edition {
                Some(e) => crate::snomed::graph::Graph::concept_count(e.as_ref()),
                None => c.resolved.concepts.len(),
            })
            .chain(value_sets.iter().map(|v| v.2.len()))
            .sum();
        out.entries = Vec::with_capacity(total);
        for c in &code_systems {
            if let Some(id) = out.open_scope(c.key(), &c.cs.meta) {
                c.push_entries(id, &mut out.entries);
            }
        }
        for (key, vs, mut entries) in value_sets {
            if let Some(id) = out.open_scope(key, &vs.meta) {
                let first = u32::try_from(out.entries.len()).unwrap_or(NO_PARENT);
                for e in &mut entries {
                    e.scope = id;
                    if e.standing.parent != NO_PARENT {
                        e.standing.parent = e.standing.parent.saturating_add(first);
                    }
                }
                out.entries.append(&mut entries);
            }
        }
        add_supplement_labels(catalog, &mut out.entries);
        split_compounds(&mut out.entries);
        out
    }

    /// Entries read back from a catalog snapshot (`store`).
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
            let p = e.parts();
            h.text(&e.system);
            h.text(p.code);
            h.text(p.display.unwrap_or("\u{0}"));
            h.texts(p.alts);
            h.texts(p.descs);
            h.texts(p.table_words);
            h.write(&[u8::from(e.inactive)]);
            h.write(&[e.standing.depth, u8::from(e.standing.not_selectable)]);
            h.write(&e.standing.parent.to_le_bytes());
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
        self.texts(items.iter().map(String::as_str));
    }

    fn texts<'a>(&mut self, items: impl ExactSizeIterator<Item = &'a str>) {
        self.write(&(items.len() as u64).to_le_bytes());
        for s in items {
            self.text(s);
        }
    }
}

#[cfg(test)]
mod compound_tests {
    use super::*;

    #[test]
    fn one_word_compounds_are_cut_before_a_word_of_the_data() {
        let mut a = Analyzer::default();
        let vocabulary = Vocabulary::of(
            ["pharmacie", "prothesiste", "officine", "arachnoidite"]
                .into_iter()
                .map(str::to_string)
                .collect(),
        );
        let mut split = |s: &str| split_label(s, &vocabulary, &mut a);
        assert_eq!(split("Propharmacie").as_deref(), Some("pro-pharmacie"));
        assert_eq!(
            split("Audioprothésiste libéral").as_deref(),
            Some("audio-prothesiste liberal")
        );
        // The word itself, a too short beginning, a word not in the data: left alone.
        assert_eq!(split("Pharmacie d'officine"), None);
        assert_eq!(split("Xpharmacie"), None);
        assert_eq!(split("Prothèse"), None);
        // After a bound prefix, a rest that begins like a word of the data is enough.
        assert_eq!(
            split("Hémorragie sousarachnoïdienne").as_deref(),
            Some("hemorragie sous-arachnoidienne")
        );
        // Not after any other beginning, nor before a rest that begins no word.
        assert_eq!(split("Posterieur"), None);
        assert_eq!(split("Xousarachnoïdienne"), None);
    }

    /// Five concepts hold "pharmacie", one inside "Propharmacie": the search finds five.
    #[test]
    fn a_word_inside_a_compound_is_found() {
        let names = [
            "Pharmacie d'officine",
            "Para-pharmacie",
            "Pharmacie minière",
            "Pharmacie mutualiste",
            "Propharmacie",
            "Centre de santé",
        ];
        let concepts = names
            .iter()
            .enumerate()
            .map(|(i, n)| crate::model::Concept {
                code: format!("SA{i}"),
                display: Some(n.to_string()),
                ..Default::default()
            })
            .collect();
        let mut catalog = Catalog::default();
        let meta = ResourceMeta {
            url: "http://t/r02".into(),
            ..Default::default()
        };
        catalog.add_code_system(CodeSystem::new(meta, concepts));
        let lister = crate::ops::members::ExpansionMembers;
        let index = crate::search::SearchIndex::build_in_ram(&catalog, &lister).expect("index");
        let scope = ScopeKey::code_system("http://t/r02", None);
        let found = index
            .search(&scope, "pharmacie", Default::default())
            .expect("search")
            .expect("scope");
        let codes: Vec<&str> = found
            .entries
            .iter()
            .filter_map(|&p| index.entry(p).map(|e| e.code()))
            .collect();
        assert_eq!(codes.len(), 5, "{codes:?}");
        // Inside a compound, cut by a hyphen or not: after the labels with the word itself.
        let mut last_two = codes[3..].to_vec();
        last_two.sort_unstable();
        assert_eq!(last_two, ["SA1", "SA4"], "{codes:?}");
    }

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

#[cfg(test)]
mod same_as_enumeration {
    //! Code systems read in place must give exactly the entries that enumerating their
    //! implicit value sets gives (the way they were collected before).

    use std::path::Path;

    use super::*;
    use crate::load::{self, Dataset, Resource};
    use crate::model::{Concept, ResourceMeta};
    use crate::ops::expand::implicit_value_set;
    use crate::ops::members::{enumerate, ExpansionMembers, Member};
    use crate::ops::Scope;
    use crate::search::schema::SCHEMA_VERSION;

    fn member_entry(
        scope: u32,
        scope_system: Option<&str>,
        m: Member,
        systems: &mut Vec<Arc<str>>,
    ) -> (Entry, Option<Box<str>>) {
        let source = Source {
            system: &m.system,
            code: &m.code,
            display: m.display.as_deref(),
            designations: &m.designations,
            concept: m.source.as_ref().map(|(cs, i)| (cs.as_ref(), *i)),
            inactive: m.inactive,
            is_abstract: m.is_abstract,
        };
        (
            entry(scope, scope_system, &source, systems),
            parent_code(&source),
        )
    }

    /// Every scope through `enumerate`, code systems as their `{url}?fhir_vs`.
    fn collect_by_enumeration(catalog: &Catalog) -> Entries {
        let scope = Scope::new(catalog);
        let mut out = Entries::default();
        let mut add = |key: ScopeKey, meta: &ResourceMeta, system: Option<&str>, members| {
            if let Some(id) = out.open_scope(key, meta) {
                let mut systems = Vec::new();
                let members: Vec<Member> = members;
                let (mut entries, parents): (Vec<Entry>, Vec<_>) = members
                    .into_iter()
                    .map(|m| member_entry(id, system, m, &mut systems))
                    .unzip();
                link_parents(&mut entries, out.entries.len(), &parents);
                out.entries.append(&mut entries);
            }
        };
        for cs in catalog.code_systems.all() {
            if cs.is_supplement() {
                continue;
            }
            let version = cs.meta.version.as_deref();
            let vs = implicit_value_set(&cs.meta.url, version);
            if let Ok(members) = enumerate(&scope, &vs, 0) {
                let key = ScopeKey::code_system(&cs.meta.url, version);
                add(key, &cs.meta, Some(&cs.meta.url), members);
            }
        }
        for vs in catalog.value_sets.all() {
            if let Ok(members) = enumerate(&scope, vs, 0) {
                let key = ScopeKey::value_set(&vs.meta.url, vs.meta.version.as_deref());
                add(key, &vs.meta, None, members);
            }
        }
        add_supplement_labels(catalog, &mut out.entries);
        split_compounds(&mut out.entries);
        out
    }

    /// Compares both ways on `catalog`; returns how many code-system entries it compared.
    fn assert_same(catalog: &Catalog, what: &str) -> usize {
        let new = Entries::collect(catalog, &ExpansionMembers);
        let old = collect_by_enumeration(catalog);
        let scopes = |e: &Entries| -> Vec<(String, Vec<String>)> {
            e.scopes
                .iter()
                .map(|s| (s.key.clone(), s.table_words.clone()))
                .collect()
        };
        assert_eq!(scopes(&new), scopes(&old), "{what}: scopes");
        assert_eq!(new.by_key, old.by_key, "{what}: scope ids");
        assert_eq!(new.entries.len(), old.entries.len(), "{what}: entry count");
        for (a, b) in new.entries.iter().zip(&old.entries) {
            assert_eq!(a, b, "{what}: {}", new.scopes[a.scope as usize].key);
        }
        assert_eq!(
            new.fingerprint(SCHEMA_VERSION),
            old.fingerprint(SCHEMA_VERSION),
            "{what}: fingerprint"
        );
        new.entries
            .iter()
            .filter(|e| new.scopes[e.scope as usize].key.starts_with("cs|"))
            .count()
    }

    fn catalog_of(dir: &str) -> (Catalog, usize) {
        let data = load::load_dir(Path::new(dir))
            .unwrap_or_else(|e| panic!("{dir} does not load: {:?}", e.first()));
        let concepts = data.concept_count();
        (Catalog::from_dataset(data), concepts)
    }

    #[test]
    fn shipped_data() {
        let (catalog, concepts) = catalog_of("data");
        let compared = assert_same(&catalog, "data/");
        assert!(
            compared > 0 && compared <= concepts,
            "{compared} of {concepts}"
        );
        // Allocated once, at its final size (no duplicate codes in the shipped tables).
        let entries = Entries::collect(&catalog, &ExpansionMembers).entries;
        assert_eq!(entries.capacity(), entries.len());
    }

    #[test]
    fn test_fixtures() {
        for dir in [
            "tests/fixtures/fhir",
            "tests/fixtures/tabs",
            "tests/fixtures/tabs-utf8",
        ] {
            let (catalog, _) = catalog_of(dir);
            assert!(
                assert_same(&catalog, dir) > 0,
                "{dir}: no code system entry"
            );
        }
    }

    /// Every CodeSystem and ValueSet of the HL7 tx-ecosystem tests in one catalog: several
    /// versions of one URL, unversioned ones, supplements, a later definition replacing an
    /// earlier `url|version` (whose implicit value set then reads the later one), designations
    /// in many languages, inactive and abstract concepts.
    #[test]
    fn tx_ecosystem_resources() {
        let mut data = Dataset::default();
        let mut files = vec![Path::new("vendor/tx-ecosystem/tests").to_path_buf()];
        while let Some(path) = files.pop() {
            if path.is_dir() {
                let Ok(dir) = std::fs::read_dir(&path) else {
                    continue;
                };
                let mut children: Vec<_> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
                children.sort();
                files.extend(children.into_iter().rev());
                continue;
            }
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            let Ok(found) = load::fhir_json::parse_file(&bytes, &path.display().to_string()) else {
                continue;
            };
            for r in found {
                match r {
                    Resource::CodeSystem(cs) => data.code_systems.push(cs),
                    Resource::ValueSet(vs) => data.value_sets.push(vs),
                    Resource::ConceptMap(_) => {}
                    Resource::Alias { oid, url } => data.aliases.push((oid, url)),
                }
            }
        }
        assert!(data.code_systems.len() >= 20, "{}", data.code_systems.len());
        let catalog = Catalog::from_dataset(data);
        let compared = assert_same(&catalog, "tx-ecosystem");
        assert!(compared > 100, "{compared}");
    }

    /// Cases the loaders refuse but the model allows: a code listed twice (the first wins),
    /// an unversioned and a versioned definition of one URL, a code system named by an OID.
    #[test]
    fn odd_code_systems() {
        let concept = |code: &str, display: &str| Concept {
            code: code.into(),
            display: Some(display.into()),
            ..Default::default()
        };
        let meta = |url: &str, version: Option<&str>| ResourceMeta {
            url: url.into(),
            version: version.map(str::to_string),
            oids: vec!["1.2.250.1.999".into()],
            ..Default::default()
        };
        let mut catalog = Catalog::default();
        catalog.add_code_system(CodeSystem::new(
            meta("http://t/dup", None),
            vec![
                concept("a", "Premier"),
                concept("b", " "),
                concept("a", "Second"),
            ],
        ));
        catalog.add_code_system(CodeSystem::new(
            meta("http://t/two", None),
            vec![concept("b", "Sans version")],
        ));
        catalog.add_code_system(CodeSystem::new(
            meta("http://t/two", Some("2")),
            vec![concept("c", "Para-pharmacie")],
        ));
        catalog.add_code_system(CodeSystem::new(
            meta("urn:oid:1.2.250.1.999", None),
            vec![concept("d", "Par OID")],
        ));
        catalog.add_code_system(CodeSystem::new(
            meta("urn:oid:1.2.250.1.998", Some("1")),
            vec![concept("e", "OID inconnu")],
        ));
        assert!(assert_same(&catalog, "odd") >= 2);
    }
}

#[cfg(test)]
mod packed_texts {
    use super::*;

    /// Code, display, alts, descs, table words.
    type Texts<T> = (T, Option<T>, Vec<T>, Vec<T>, Vec<T>);

    fn parts(e: &Entry) -> Texts<String> {
        let p = e.parts();
        let own = |i: TextIter| i.map(str::to_string).collect::<Vec<_>>();
        (
            p.code.to_string(),
            p.display.map(str::to_string),
            own(p.alts),
            own(p.descs),
            own(p.table_words),
        )
    }

    #[test]
    fn texts_come_back_as_given() {
        let long = "é".repeat(700);
        let cases: Vec<Texts<&str>> = vec![
            ("L", Some(&long), vec![&long, "b"], vec![&long], vec![]),
            (
                "A",
                Some("Affichage"),
                vec!["Court", "Adapté"],
                vec!["Long"],
                vec![],
            ),
            ("", None, vec![], vec![], vec![]),
            (
                "1,2|3",
                Some(""),
                vec!["", "a|b", "12,3"],
                vec![],
                vec!["urn:oid:1.2"],
            ),
            ("é", None, vec![], vec!["ü", "ß|"], vec!["T", "U", "V"]),
        ];
        let mut reused = EntryBuilder::default();
        for (code, display, alts, descs, tables) in cases {
            let e = Entry::new(7, "s".into(), code, display, &alts, &descs, &tables, true);
            let want = (
                code.to_string(),
                display.map(str::to_string),
                alts.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                descs.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                tables.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            );
            assert_eq!(parts(&e), want);
            assert_eq!((e.code(), e.display()), (code, display));
            assert_eq!(e.alts().len(), alts.len());
            assert_eq!((e.scope, e.inactive, &*e.system), (7, true, "s"));
            // The builder gives the same entry, and is left empty for the next one.
            reused.push(Section::Code, code);
            if let Some(d) = display {
                reused.push(Section::Display, d);
            }
            alts.iter().for_each(|a| reused.push(Section::Alt, a));
            descs.iter().for_each(|d| reused.push(Section::Desc, d));
            tables
                .iter()
                .for_each(|t| reused.push(Section::TableWord, t));
            assert_eq!(reused.finish(7, "s".into(), true), Some(e));
        }
    }

    #[test]
    fn texts_filled_in_place_must_be_utf8() {
        let mut b = EntryBuilder::default();
        let fill = |bytes: &'static [u8]| {
            move |out: &mut [u8]| -> Result<(), ()> {
                out.copy_from_slice(bytes);
                Ok(())
            }
        };
        assert_eq!(b.fill(Section::Code, 2, fill(b"\xc3\xa9")), Ok(()));
        assert_eq!(b.fill(Section::Alt, 1, fill(b"|")), Ok(()));
        let e = b.finish(0, "s".into(), false);
        assert_eq!(e.as_ref().map(|e| e.code()), Some("é"));
        assert_eq!(
            e.map(|e| e.alts().collect::<Vec<_>>().join("")),
            Some("|".into())
        );
        assert_eq!(b.fill(Section::Code, 1, fill(b"\xff")), Ok(()));
        assert_eq!(b.finish(0, "s".into(), false), None);
        // Left empty for the next entry either way.
        b.push(Section::Code, "x");
        assert_eq!(
            b.finish(0, "s".into(), false).map(|e| e.code().to_string()),
            Some("x".into())
        );
    }
}
