//! The tantivy schema: one document per (scope, member).

use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, FAST, INDEXED, STRING,
};
use tantivy::TantivyDocument;

use super::analysis::{self, Analyzer, CODE, STEMS, WORDS};
use super::entries::{Entry, ScopeInfo};

/// Bump when the schema, the analysis or what the entries hold changes: an index on disk built
/// by another version is then rebuilt, and a saved catalog snapshot (whose search entries it
/// holds) is not reused (the number is part of both fingerprints).
pub const SCHEMA_VERSION: u32 = 9;

#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// Scope key (`vs|url|version` or `cs|url|version`), raw.
    pub scope: Field,
    /// The member code, lower-cased, whole.
    pub code: Field,
    /// Display (the value set's label when it gives one), folded words.
    pub display: Field,
    /// Designations (LibelleCourt, LibelleAdapte, …) and the code system's own display.
    pub alt: Field,
    /// Long descriptions (DescriptionMetier, definition): lower weight.
    pub desc: Field,
    /// Acronyms of the display and designations (`analysis::acronyms`), one token each.
    pub acro: Field,
    /// Words the display and designations write in capitals, the acronyms a label spells
    /// (« PMI et Planification familiale »): what typed words may be the initials of.
    pub caps: Field,
    /// Display and designations, stemmed.
    pub stems: Field,
    /// The table: name, title, canonical URL, OIDs (cross-table search only).
    pub table: Field,
    /// 1 when active, 0 when retired.
    pub active: Field,
    /// Position of the entry in `SearchIndex::entries`.
    pub entry: Field,
}

fn text(tokenizer: &str, freqs: bool) -> TextOptions {
    let option = if freqs {
        IndexRecordOption::WithFreqs
    } else {
        IndexRecordOption::Basic
    };
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(option),
    )
}

pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let fields = Fields {
        scope: b.add_text_field("scope", STRING),
        code: b.add_text_field("code", text(CODE, false)),
        display: b.add_text_field("display", text(WORDS, true)),
        alt: b.add_text_field("alt", text(WORDS, true)),
        desc: b.add_text_field("desc", text(WORDS, true)),
        acro: b.add_text_field("acro", text(WORDS, false)),
        caps: b.add_text_field("caps", text(WORDS, false)),
        stems: b.add_text_field("stems", text(STEMS, true)),
        table: b.add_text_field("table", text(WORDS, false)),
        active: b.add_u64_field("active", INDEXED),
        entry: b.add_u64_field("entry", FAST),
    };
    (b.build(), fields)
}

/// Looks the fields up in an index opened from disk (same names as `build`).
pub fn resolve(schema: &Schema) -> tantivy::Result<Fields> {
    let f = |name: &str| schema.get_field(name);
    Ok(Fields {
        scope: f("scope")?,
        code: f("code")?,
        display: f("display")?,
        alt: f("alt")?,
        desc: f("desc")?,
        acro: f("acro")?,
        caps: f("caps")?,
        stems: f("stems")?,
        table: f("table")?,
        active: f("active")?,
        entry: f("entry")?,
    })
}

/// The acronyms of every label of an entry, and the words they write in capitals, each
/// without duplicates.
fn label_acronyms<'a>(
    analyzer: &mut Analyzer,
    labels: impl Iterator<Item = &'a str>,
) -> (Vec<String>, Vec<String>) {
    let mut acronyms: Vec<String> = Vec::new();
    let mut capitals: Vec<String> = Vec::new();
    for label in labels {
        let words = analyzer.words(label);
        acronyms.extend(analysis::acronyms(&words));
        capitals.extend(words.into_iter().filter(|w| w.capitals).map(|w| w.text));
    }
    for list in [&mut acronyms, &mut capitals] {
        list.sort_unstable();
        list.dedup();
    }
    (acronyms, capitals)
}

pub fn document(
    fields: &Fields,
    analyzer: &mut Analyzer,
    position: usize,
    e: &Entry,
    scope: &ScopeInfo,
) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(fields.scope, &scope.key);
    let p = e.parts();
    doc.add_text(fields.code, analysis::code_key(p.code));
    if let Some(d) = p.display {
        doc.add_text(fields.display, d);
        doc.add_text(fields.stems, d);
    }
    for a in p.alts {
        doc.add_text(fields.alt, a);
        doc.add_text(fields.stems, a);
    }
    for d in p.descs {
        doc.add_text(fields.desc, d);
    }
    let (acronyms, capitals) = label_acronyms(analyzer, p.display.into_iter().chain(e.alts()));
    if !acronyms.is_empty() {
        doc.add_text(fields.acro, acronyms.join(" "));
    }
    if !capitals.is_empty() {
        doc.add_text(fields.caps, capitals.join(" "));
    }
    for t in scope
        .table_words
        .iter()
        .map(String::as_str)
        .chain(p.table_words)
    {
        doc.add_text(fields.table, t);
    }
    doc.add_u64(fields.active, u64::from(!e.inactive));
    doc.add_u64(fields.entry, position as u64);
    doc
}
