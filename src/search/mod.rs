//! Full-text search over the catalog, for search-as-you-type `$expand?filter=`: a tantivy index
//! of every value-set member and code-system concept, French analysis, and a Rust re-ranking.
//!
//! - `analysis`: the French analyzers (folding, apostrophes/hyphens, stems, stop words)
//! - `synonyms`: domain abbreviations (`synonyms.txt`), everyday clinical words
//!   (`lexicon.txt`), profession → discipline endings, body parts ↔ learned adjectives
//!   (`anatomy.txt`) and combining forms (`combining.txt`), Arabic ↔ Roman numbers
//! - `entries`: what is indexed, per scope (value set, or code system `?fhir_vs`)
//! - `schema`: the tantivy fields and documents
//! - `query`: typed text → tantivy query (prefixes, stems, synonyms; fuzzy fallback)
//! - `rank`: the second stage, in Rust
//! - `phrases`: how many labels open with each phrase, which orders the readings of an acronym
//! - `on_disk`: open-or-build on disk, with a data fingerprint
//! - `codec`: how the entries are kept in the snapshot file (`crate::store`)
//!
//! A search returns the whole ranked list of matches for (scope, text, activeOnly), cached, so
//! `total` is exact and pages are stable.

pub mod analysis;
pub mod codec;
pub mod entries;
pub mod on_disk;
pub mod phrases;
pub mod query;
pub mod rank;
pub mod schema;
pub mod synonyms;

use std::collections::HashSet;
use std::sync::Arc;

use moka::sync::Cache;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::Query;
use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, Score, Searcher};

use crate::catalog::Catalog;
pub use entries::{Entries, Entry, MemberLister, ScopeKey, Source};
pub use on_disk::Provenance;
use query::{Builder, Mode, ParsedQuery};
use rank::{by_key, RankKey, Ranker};
use schema::Fields;
use synonyms::Synonyms;

/// Candidates re-ranked in Rust; matches beyond it follow in tantivy's order.
pub const WINDOW: usize = 300;
/// How far down the ranked list a parent's children are counted (`promote_parents`).
const PARENT_LOOKAHEAD: usize = 10;
/// Cached result lists, counted in member references (4 bytes each).
const CACHE_CAPACITY: u64 = 4_000_000;
/// Memory of the single indexing thread.
const WRITER_MEMORY: usize = 32_000_000;

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    #[error("search index: {0}")]
    OpenDirectory(#[from] tantivy::directory::error::OpenDirectoryError),
    #[error("search index folder: {0}")]
    Io(#[from] std::io::Error),
    #[error("search index: {0}")]
    Invalid(String),
}

pub type Result<T> = std::result::Result<T, SearchError>;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SearchOptions {
    pub active_only: bool,
}

/// The ranked matches of one search, best first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ranked {
    /// Positions in the index's entries (see `SearchIndex::entry`).
    pub entries: Vec<u32>,
    /// Found by a fallback (typo-tolerant, or one word missing): nothing matched exactly.
    pub fuzzy: bool,
}

type CacheKey = (u32, String, bool);

pub struct SearchIndex {
    reader: IndexReader,
    fields: Fields,
    data: Entries,
    fingerprint: u64,
    synonyms: Synonyms,
    phrases: phrases::LeadingPhrases,
    cache: Cache<CacheKey, Arc<Ranked>>,
    // Kept alive for the reader's directory and tokenizers.
    _index: Index,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("entries", &self.data.entries.len())
            .field("scopes", &self.data.scopes.len())
            .field("fingerprint", &format_args!("{:016x}", self.fingerprint))
            .finish()
    }
}

impl SearchIndex {
    /// Indexes `catalog` in memory, value sets through `members`.
    pub fn build_in_ram(catalog: &Catalog, members: &dyn MemberLister) -> Result<SearchIndex> {
        let data = Entries::collect(catalog, members);
        let (schema, fields) = schema::build();
        let index = Index::create_in_ram(schema);
        write(&index, &fields, &data)?;
        let fingerprint = data.fingerprint(schema::SCHEMA_VERSION);
        SearchIndex::assemble(index, fields, data, fingerprint)
    }

    /// `open_or_build` over entries collected beforehand, with their fingerprint.
    pub fn open_or_build_entries(
        dir: &std::path::Path,
        data: Entries,
        fingerprint: u64,
    ) -> Result<(SearchIndex, Provenance)> {
        on_disk::open_or_build_entries(dir, data, fingerprint)
    }

    /// What is indexed (saved with the catalog snapshot).
    pub fn entries(&self) -> &Entries {
        &self.data
    }

    /// Opens the index in `dir` when it was built from the same data, else builds it there.
    pub fn open_or_build(
        dir: &std::path::Path,
        catalog: &Catalog,
        members: &dyn MemberLister,
    ) -> Result<(SearchIndex, Provenance)> {
        on_disk::open_or_build(dir, catalog, members)
    }

    fn assemble(
        index: Index,
        fields: Fields,
        data: Entries,
        fingerprint: u64,
    ) -> Result<SearchIndex> {
        analysis::register(index.tokenizers());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let mut analyzer = analysis::Analyzer::default();
        let phrases = phrases::LeadingPhrases::collect(&data.entries);
        Ok(SearchIndex {
            reader,
            fields,
            phrases,
            data,
            fingerprint,
            synonyms: Synonyms::builtin(&mut analyzer),
            cache: Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .weigher(|_k: &CacheKey, v: &Arc<Ranked>| {
                    u32::try_from(v.entries.len()).unwrap_or(u32::MAX).max(1)
                })
                .build(),
            _index: index,
        })
    }

    /// Digest of the indexed data and schema version.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// Number of indexed (scope, member) documents.
    pub fn len(&self) -> usize {
        self.data.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.entries.is_empty()
    }

    pub fn has_scope(&self, scope: &ScopeKey) -> bool {
        self.data.scope_id(scope).is_some()
    }

    pub fn entry(&self, position: u32) -> Option<&Entry> {
        self.data.entries.get(position as usize)
    }

    /// Every match of `text` among the members of `scope`, best first; `None` when the scope
    /// is not indexed (then the caller filters by itself). Cached per (scope, normalised text,
    /// options) for the life of this index, i.e. of one catalog snapshot.
    pub fn search(
        &self,
        scope: &ScopeKey,
        text: &str,
        opts: SearchOptions,
    ) -> Result<Option<Arc<Ranked>>> {
        let Some(scope_id) = self.data.scope_id(scope) else {
            return Ok(None);
        };
        let mut analyzer = analysis::Analyzer::default();
        let parsed = ParsedQuery::parse(text, &mut analyzer, &self.synonyms);
        let key = (scope_id, parsed.cache_key(), opts.active_only);
        if let Some(hit) = self.cache.get(&key) {
            crate::metrics::METRICS
                .search_cache_hits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Ok(Some(hit));
        }
        crate::metrics::METRICS
            .search_cache_misses
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let ranked = Arc::new(self.run(&parsed, Some(scope), opts)?);
        self.cache.insert(key, ranked.clone());
        Ok(Some(ranked))
    }

    /// `search` when its result is in the cache; `None` otherwise (or when the scope is not
    /// indexed). Costs the parsing of `text` and a cache look-up, never a search.
    pub fn search_kept(
        &self,
        scope: &ScopeKey,
        text: &str,
        opts: SearchOptions,
    ) -> Option<Arc<Ranked>> {
        let scope_id = self.data.scope_id(scope)?;
        let mut analyzer = analysis::Analyzer::default();
        let parsed = ParsedQuery::parse(text, &mut analyzer, &self.synonyms);
        let hit = self
            .cache
            .get(&(scope_id, parsed.cache_key(), opts.active_only))?;
        crate::metrics::METRICS
            .search_cache_hits
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some(hit)
    }

    /// `search` without the cache (benchmarks and diagnostics).
    pub fn search_uncached(
        &self,
        scope: &ScopeKey,
        text: &str,
        opts: SearchOptions,
    ) -> Result<Option<Ranked>> {
        if self.data.scope_id(scope).is_none() {
            return Ok(None);
        }
        let mut analyzer = analysis::Analyzer::default();
        let parsed = ParsedQuery::parse(text, &mut analyzer, &self.synonyms);
        self.run(&parsed, Some(scope), opts).map(Some)
    }

    /// Search across every table: the text may also name the table ("g15 kiné"). One hit per
    /// (system, code), at most `limit`.
    pub fn search_all(&self, text: &str, limit: usize) -> Result<Vec<&Entry>> {
        let mut analyzer = analysis::Analyzer::default();
        let parsed = ParsedQuery::parse(text, &mut analyzer, &self.synonyms);
        let ranked = self.run_with(&parsed, None, SearchOptions::default(), true)?;
        let mut seen = HashSet::new();
        Ok(ranked
            .entries
            .iter()
            .filter_map(|&i| self.entry(i))
            .filter(|e| seen.insert((&*e.system, e.code())))
            .take(limit)
            .collect())
    }

    fn run(
        &self,
        parsed: &ParsedQuery,
        scope: Option<&ScopeKey>,
        opts: SearchOptions,
    ) -> Result<Ranked> {
        self.run_with(parsed, scope, opts, false)
    }

    fn run_with(
        &self,
        parsed: &ParsedQuery,
        scope: Option<&ScopeKey>,
        opts: SearchOptions,
        with_table: bool,
    ) -> Result<Ranked> {
        if parsed.is_empty() {
            return Ok(Ranked::default());
        }
        let searcher = self.reader.searcher();
        // Labels writing an acronym the words spell join whichever stage answers the words.
        let spelled = Builder {
            fields: &self.fields,
            mode: Mode::Strict,
            max_typos: 0,
            with_table,
        }
        .spelled(parsed, scope.map(ScopeKey::as_str), opts.active_only);
        let spelled = match spelled {
            Some(q) => self.collect(&searcher, q.as_ref())?,
            None => Vec::new(),
        };
        let fuzzy_useful = parsed
            .units
            .iter()
            .flat_map(|u| &u.typed)
            .any(|w| query::fuzzy_applies(w) || query::may_be_contraction(w));
        for mode in [Mode::Strict, Mode::Fuzzy, Mode::Relaxed] {
            match mode {
                Mode::Fuzzy if !fuzzy_useful => continue,
                Mode::Relaxed if parsed.required().count() < 2 => break,
                _ => {}
            }
            let builder = Builder {
                fields: &self.fields,
                mode,
                max_typos: parsed.max_typos(),
                with_table,
            };
            let q = builder.build(parsed, scope.map(ScopeKey::as_str), opts.active_only);
            let mut hits = self.collect(&searcher, q.as_ref())?;
            if !hits.is_empty() {
                add_missing(&mut hits, &spelled);
                return Ok(Ranked {
                    entries: self.rank(parsed, mode, hits),
                    fuzzy: mode != Mode::Strict,
                });
            }
        }
        if spelled.is_empty() {
            return Ok(Ranked::default());
        }
        Ok(Ranked {
            entries: self.rank(parsed, Mode::Strict, spelled),
            fuzzy: false,
        })
    }

    /// Every match with its first-stage score, best first (ties in document order).
    fn collect(&self, searcher: &Searcher, q: &dyn Query) -> Result<Vec<(Score, u32)>> {
        let (count, mut top) = searcher.search(q, &(Count, TopDocs::with_limit(WINDOW)))?;
        if count > top.len() {
            top = searcher.search(q, &TopDocs::with_limit(count))?;
        }
        let columns = searcher
            .segment_readers()
            .iter()
            .map(|r| r.fast_fields().u64("entry"))
            .collect::<tantivy::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(top.len());
        for (
            score,
            DocAddress {
                segment_ord,
                doc_id,
            },
        ) in top
        {
            let position = columns
                .get(segment_ord as usize)
                .and_then(|c| c.first(doc_id))
                .and_then(|p| u32::try_from(p).ok())
                .filter(|&p| (p as usize) < self.data.entries.len())
                .ok_or_else(|| {
                    SearchError::Invalid(format!("document {segment_ord}/{doc_id} has no entry"))
                })?;
            out.push((score, position));
        }
        Ok(out)
    }

    /// Stage two: the window re-ranked in Rust, the rest (if any) by score then code.
    fn rank(&self, parsed: &ParsedQuery, mode: Mode, mut hits: Vec<(Score, u32)>) -> Vec<u32> {
        let tail = hits.split_off(hits.len().min(WINDOW));
        let mut ranker = Ranker::new(parsed, mode, &self.phrases);
        let mut window: Vec<(RankKey, u32)> = hits
            .into_iter()
            .filter_map(|(_, p)| self.entry(p).map(|e| (ranker.key(e), p)))
            .collect();
        window.sort_by(by_key);
        let mut tail: Vec<(Score, &Entry, u32)> = tail
            .into_iter()
            .filter_map(|(s, p)| self.entry(p).map(|e| (s, e, p)))
            .collect();
        tail.sort_by(|a, b| {
            b.0.total_cmp(&a.0)
                .then_with(|| a.1.code().cmp(b.1.code()))
                .then_with(|| a.1.system.cmp(&b.1.system))
        });
        let mut ranked: Vec<u32> = window
            .into_iter()
            .map(|(_, p)| p)
            .chain(tail.into_iter().map(|(_, _, p)| p))
            .collect();
        self.promote_parents(parsed, mode, &mut ranked);
        ranked
    }

    /// A concept before its own descendants, also when its label says less than the query:
    /// the parent of two or more of the first results goes just before the first of them
    /// when it answers part of the query (« Commotion » before « Commotion cérébrale avec
    /// perte de conscience… » and its siblings, « Ulcère du duodénum » before « Ulcère
    /// duodénal à éosinophiles »…). An inactive or grouping parent is left where it is.
    fn promote_parents(&self, parsed: &ParsedQuery, stage: Mode, ranked: &mut Vec<u32>) {
        let mut ranker = Ranker::new(parsed, Mode::Relaxed, &self.phrases)
            .with_contractions(stage != Mode::Strict);
        let mut done: Vec<u32> = Vec::new();
        let mut i = 0;
        while i < ranked.len().min(PARENT_LOOKAHEAD) {
            let Some(parent) = self
                .entry(ranked[i])
                .map(|e| e.standing.parent)
                .filter(|&p| p != entries::NO_PARENT && !done.contains(&p))
            else {
                i += 1;
                continue;
            };
            done.push(parent);
            let first = &ranked[..ranked.len().min(PARENT_LOOKAHEAD)];
            let children = first
                .iter()
                .filter_map(|&c| self.entry(c))
                .filter(|e| e.standing.parent == parent)
                .count();
            let at = ranked.iter().position(|&x| x == parent);
            let worth = children >= 2
                && at.is_none_or(|a| a > i)
                && self.entry(parent).is_some_and(|e| {
                    !e.inactive && !e.standing.not_selectable && ranker.answers_part(e)
                });
            if worth {
                if let Some(a) = at {
                    ranked.remove(a);
                }
                ranked.insert(i, parent);
                i += 1;
            }
            i += 1;
        }
    }
}

/// Appends the hits of `more` that `hits` lacks, in their order.
fn add_missing(hits: &mut Vec<(Score, u32)>, more: &[(Score, u32)]) {
    if more.is_empty() {
        return;
    }
    let seen: HashSet<u32> = hits.iter().map(|&(_, p)| p).collect();
    hits.extend(more.iter().filter(|(_, p)| !seen.contains(p)));
}

/// Indexes every entry with one thread (documents in entry order) and commits.
fn write(index: &Index, fields: &Fields, data: &Entries) -> Result<()> {
    analysis::register(index.tokenizers());
    let mut writer = index.writer_with_num_threads::<tantivy::TantivyDocument>(1, WRITER_MEMORY)?;
    let mut analyzer = analysis::Analyzer::default();
    for (position, e) in data.entries.iter().enumerate() {
        let scope = data
            .scopes
            .get(e.scope as usize)
            .ok_or_else(|| SearchError::Invalid(format!("entry {position} has no scope")))?;
        writer.add_document(schema::document(fields, &mut analyzer, position, e, scope))?;
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    Ok(())
}

#[cfg(test)]
mod tests;
