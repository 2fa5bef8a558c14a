//! From what the user typed to a tantivy query.
//!
//! The text is cut into units: a word, or a phrase of `synonyms.txt` ("compte rendu"). A unit
//! matches when any of its alternatives does:
//! - the words as typed, each as a word prefix ("op" → "opératoire");
//! - the stem of a single word ("lettres" → "lettre");
//! - a profession ending turned into its discipline ("cardiologue" → "cardiologi…");
//! - the other phrases of its synonym group, word for word ("cr" ↔ "compte rendu");
//! - the same meaning with another root, as a whole word: a body part and its learned
//!   adjective ("foie" ↔ "hépatique", `anatomy.txt`), a number in the other figures ("2" ↔
//!   "II");
//! - an acronym of a label (a short word; read first when typed in capitals: "CIV");
//! - the word respelled where French writes one sound two ways ("nefrite" → "nephrite");
//! - joined to its neighbour, a word that begins with both ("burn out" → "burnout"), or,
//!   when one is a body part, with its combining form and the other ("lithiase biliaire" →
//!   "cholélithiase", `combining.txt`);
//! - in the fallback stages only, a contraction of one word, its letters kept in order ("tlm"
//!   → "télémédecine", "tbc" → "tuberculose").
//!
//! Two typed words or more may also be the initials of an acronym a label writes in capitals
//! ("protection maternelle" → « PMI et Planification familiale », `ParsedQuery::spelled_out`).
//!
//! Every unit is required, except stop words ("de", "la", "d'") that are not the last word:
//! those are optional, so they neither kill a query nor get ignored while being typed ("la" may
//! be the start of "laboratoire"). The whole text may also be a code (exact, or its beginning).

use tantivy::query::{
    BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, RegexQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;

use super::analysis::{code_key, is_stop_word, may_be_acronym, Analyzer, ACRONYM_MAX};
use super::schema::Fields;
use super::synonyms::{numeral_alternative, suffix_alternative, Synonyms};

/// Typo tolerance applies to words at least this long (Levenshtein distance 1)...
pub const FUZZY_MIN_LEN: usize = 5;
/// ...two edits from this length on (a long medical word typed from memory: "pyelonefrite",
/// "anevrysme")...
pub const FUZZY_TWO_EDITS_MIN_LEN: usize = 9;
/// ...and at most this long (longer ones are not typed by hand; keeps automata small).
pub const FUZZY_MAX_LEN: usize = 32;
/// Two typos per word only in queries of at most this many words (`ParsedQuery::max_typos`).
const MAX_WORDS_WITH_TWO_TYPOS: usize = 3;
/// Combining forms are tried in queries of at most this many words: a compound is named in a
/// few words, and each pair of a long text would add prefix searches for nothing.
const MAX_WORDS_WITH_COMPOUNDS: usize = 6;
/// Words of a query beyond this are ignored: a filter is a few typed words, not a document.
pub const MAX_WORDS: usize = 16;

/// Whether typo tolerance applies to `word`.
pub fn fuzzy_applies(word: &str) -> bool {
    typo_distance(word) > 0
}

/// How many edits typo tolerance forgives in `word`: 0, 1 or 2 by its length.
pub fn typo_distance(word: &str) -> u8 {
    match word.chars().count() {
        n if !(FUZZY_MIN_LEN..=FUZZY_MAX_LEN).contains(&n) => 0,
        n if n >= FUZZY_TWO_EDITS_MIN_LEN => 2,
        _ => 1,
    }
}
/// A contraction is 2 to this many letters...
const CONTRACTION_MAX_LEN: usize = 5;
/// ...of which at most this many vowels: French contracts a word to its consonants ("ttt",
/// "atcd", "mvt").
const CONTRACTION_MAX_VOWELS: usize = 1;

/// Whether a typed word may be a contraction of one word (`How::Contraction`).
pub fn may_be_contraction(word: &str) -> bool {
    let n = word.chars().count();
    let vowels = word.chars().filter(|c| "aeiouy".contains(*c)).count();
    (2..=CONTRACTION_MAX_LEN).contains(&n)
        && vowels <= CONTRACTION_MAX_VOWELS
        && word.chars().all(|c| c.is_ascii_lowercase())
        && !is_stop_word(word)
}

/// Whether `word` is `typed` contracted: same first letter, the other letters of `typed` in
/// order, and longer.
pub fn contracts(typed: &str, word: &str) -> bool {
    let mut t = typed.chars();
    let mut w = word.chars();
    if t.next().is_none() || t.clone().next().is_none() || typed.len() >= word.len() {
        return false;
    }
    if typed.chars().next() != w.next() {
        return false;
    }
    t.all(|c| w.any(|x| x == c))
}

/// Stems and profession endings are only tried on words at least this long.
const DERIVE_MIN_LEN: usize = 3;

/// How one word of an alternative matches an indexed word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum How {
    /// The indexed word starts with it (typo-tolerant in fuzzy mode).
    Prefix,
    /// The indexed word is it, or has the same stem (`stem`).
    Exact { stem: String },
    /// The indexed word has this stem.
    Stem,
    /// The indexed word is exactly it: a number in the other figures ("viii" must not find
    /// "vii", which the stemmer cuts the same).
    Word,
    /// The indexed word starts with this respelling of the typed word ("nephr…" for
    /// "nefr…"); never typo-tolerant.
    Respelled,
    /// An acronym of the entry's labels is it (the `acro` field): "ait" for "accident
    /// ischémique transitoire".
    Acronym,
    /// The indexed word begins with its first letter and holds the others in order: a word
    /// written as a contraction ("tlm" for "télémédecine"). Fallback stages only.
    Contraction,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    pub text: String,
    pub how: How,
    /// The typed word began a word of the query (not after a hyphen): matching it inside a
    /// compound word is then a weaker match.
    pub word_start: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternative {
    pub pieces: Vec<Piece>,
    /// The words as the user typed them (not a stem, ending rule or synonym).
    pub typed: bool,
    /// Another phrase of the typed words' synonym group: for an abbreviation typed in
    /// capitals ("SEP"), its meaning is the reading as typed, like the acronyms of labels.
    pub synonym: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub typed: Vec<String>,
    pub alternatives: Vec<Alternative>,
    pub optional: bool,
    /// Typed in capitals ("CIV", "HTA grossesse"): read first as an acronym, the same word
    /// in a label ("Civil") second.
    pub acronym_first: bool,
    /// This word and the next one written as one word: each of the two is also answered by a
    /// word that begins with one of these, as a derived match. The two side by side ("burn
    /// out" → "burnout", "avant bras" → "avantbras"), and, when one is a body part, its
    /// combining form before the other ("lithiase biliaire" → "cholelithias…",
    /// `combining.txt`). Empty when the words are not joinable.
    pub joined: Vec<String>,
    /// The second word of such a pair.
    pub joined_to_previous: bool,
}

/// Words of a pair that may be written as one: letters only, two or more, not small words.
fn joinable(u: &Unit) -> bool {
    match u.typed.as_slice() {
        [w] => {
            !u.optional
                && !is_stop_word(w)
                && w.chars().count() >= 2
                && w.chars().all(|c| c.is_alphabetic())
        }
        _ => false,
    }
}

/// Strict: typed words are exact prefixes. Fuzzy: the fallback when strict finds nothing,
/// words of 5+ letters may be one edit away, of 9+ two. Relaxed: the last fallback, for a
/// query of two or more required words: one of them may be missing ("pneumo communautaire"
/// when no label says "communautaire"); the ranking puts first the candidates that miss
/// fewest words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Strict,
    Fuzzy,
    Relaxed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedQuery {
    /// The text as typed, lower-cased and trimmed, without a final period, for code matches.
    pub code: String,
    pub units: Vec<Unit>,
    /// The folded words, joined by a space, or by a hyphen inside a compound word.
    words: String,
    /// The initials of the typed words, without their small words and with them, when the
    /// query is two words or more: an acronym a label writes in capitals is that, or that and
    /// one more letter (the last word not typed yet: "protection maternelle" → « PMI »).
    pub spelled_out: Option<[String; 2]>,
}

impl ParsedQuery {
    pub fn parse(text: &str, analyzer: &mut Analyzer, synonyms: &Synonyms) -> ParsedQuery {
        let mut analyzed = analyzer.words(text);
        analyzed.truncate(MAX_WORDS);
        let starts: Vec<bool> = analyzed.iter().map(|w| w.word_start).collect();
        // Capitals say "acronym" unless the whole text is in capitals (caps lock on).
        let all_capitals = analyzed.iter().all(|w| w.capitals);
        let capitals: Vec<bool> = analyzed
            .iter()
            .map(|w| w.capitals && (analyzed.len() == 1 || !all_capitals))
            .collect();
        let words: Vec<String> = analyzed.into_iter().map(|w| w.text).collect();
        let mut joined = String::new();
        for (w, start) in words.iter().zip(&starts) {
            if !joined.is_empty() {
                joined.push(if *start { ' ' } else { '-' });
            }
            joined.push_str(w);
        }
        let mut units = Vec::new();
        let mut at = 0;
        while at < words.len() {
            let unit = match synonyms.match_at(&words, at) {
                Some(m) => {
                    let typed = words[at..at + m.len].to_vec();
                    let mut alternatives = vec![typed_alternative(&typed, &starts[at..at + m.len])];
                    for phrase in m.alternatives {
                        alternatives.push(Alternative {
                            pieces: phrase
                                .into_iter()
                                .map(|w| Piece {
                                    how: How::Exact {
                                        stem: analyzer.stem(&w),
                                    },
                                    text: w,
                                    word_start: true,
                                })
                                .collect(),
                            typed: false,
                            synonym: true,
                        });
                    }
                    let capitals = m.len == 1 && capitals[at];
                    at += m.len;
                    Unit {
                        typed,
                        alternatives,
                        optional: false,
                        acronym_first: capitals,
                        joined: Vec::new(),
                        joined_to_previous: false,
                    }
                }
                None => {
                    let w = words[at].clone();
                    let start = starts[at];
                    at += 1;
                    let mut unit = single_word_unit(w, start, analyzer, synonyms);
                    unit.acronym_first = capitals[at - 1];
                    unit
                }
            };
            units.push(with_acronym(unit));
        }
        let last = units.len().saturating_sub(1);
        for (i, u) in units.iter_mut().enumerate() {
            u.optional = i != last && u.typed.len() == 1 && is_stop_word(&u.typed[0]);
        }
        let compounds = units.len() <= MAX_WORDS_WITH_COMPOUNDS;
        for i in 1..units.len() {
            let (before, after) = units.split_at_mut(i);
            let (a, b) = (&mut before[i - 1], &mut after[0]);
            if joinable(a) && joinable(b) {
                let (x, y) = (a.typed[0].clone(), b.typed[0].clone());
                let mut joined = vec![format!("{x}{y}")];
                for (body, other) in [(&x, &y), (&y, &x)].into_iter().filter(|_| compounds) {
                    for compound in synonyms.combining.compounds(body, other, analyzer) {
                        if !joined.contains(&compound) {
                            joined.push(compound);
                        }
                    }
                }
                a.joined = joined;
                b.joined_to_previous = true;
            }
        }
        let spelled_out = spelled_out(&units);
        ParsedQuery {
            spelled_out,
            // "Dr." for the code "DR": an abbreviation's period is not part of the code.
            code: code_key(text.trim_end().strip_suffix('.').unwrap_or(text)),
            units,
            words: joined,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty() && self.code.is_empty()
    }

    /// Normalised form for cache keys: two texts with the same key give the same results.
    pub fn cache_key(&self) -> String {
        let capitals: String = self
            .units
            .iter()
            .map(|u| if u.acronym_first { 'A' } else { '.' })
            .collect();
        format!("{}\u{1}{}\u{1}{capitals}", self.words, self.code)
    }

    /// Typos a word of this query may have at most: two edits are for a few typed words, not
    /// for a long text, whose automata would cost tens of milliseconds.
    pub fn max_typos(&self) -> u8 {
        if self.required().count() <= MAX_WORDS_WITH_TWO_TYPOS {
            2
        } else {
            1
        }
    }

    pub fn required(&self) -> impl Iterator<Item = &Unit> {
        self.units.iter().filter(|u| !u.optional)
    }
}

/// `ParsedQuery::spelled_out` of these units: two required words or more, every unit one
/// word of letters.
fn spelled_out(units: &[Unit]) -> Option<[String; 2]> {
    let required = units.iter().filter(|u| !u.optional).count();
    let words: Vec<&str> = units
        .iter()
        .map(|u| match u.typed.as_slice() {
            [w] if w.chars().all(char::is_alphabetic) => Some(w.as_str()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let initials = |with_small: bool| -> String {
        let kept = words.iter().filter(|w| with_small || !is_stop_word(w));
        kept.filter_map(|w| w.chars().next()).collect()
    };
    let without = initials(false);
    ((2..=ACRONYM_MAX).contains(&required) && without.chars().count() == required)
        .then(|| [without, initials(true)])
}

/// Whether `word`, written in capitals in a label, is what `spelled_out` spells.
pub fn spells(spelled_out: &[String; 2], word: &str) -> bool {
    spelled_out.iter().any(|i| {
        word.strip_prefix(i.as_str())
            .is_some_and(|rest| rest.chars().count() <= 1)
    })
}

fn typed_alternative(words: &[String], starts: &[bool]) -> Alternative {
    Alternative {
        pieces: words
            .iter()
            .zip(starts)
            .map(|(w, &word_start)| Piece {
                text: w.clone(),
                how: How::Prefix,
                word_start,
            })
            .collect(),
        typed: true,
        synonym: false,
    }
}

/// A single typed word that may be an acronym also matches the acronyms of the labels. It
/// is tried for every such word, not only when no word starts with it: a real word still
/// ranks first (an acronym is a derived match), and "sep" finds "sclérose en plaques" after
/// "sepsis" instead of never.
fn with_acronym(mut unit: Unit) -> Unit {
    if let [w] = unit.typed.as_slice() {
        if may_be_acronym(w) {
            let word_start = unit
                .alternatives
                .first()
                .and_then(|a| a.pieces.first())
                .is_none_or(|p| p.word_start);
            unit.alternatives.push(Alternative {
                pieces: vec![Piece {
                    text: w.clone(),
                    how: How::Acronym,
                    word_start,
                }],
                typed: false,
                synonym: false,
            });
            return unit;
        }
    }
    unit.acronym_first = false;
    unit
}

/// Spellings French writes for the same sound that are two edits apart, beyond what typo
/// tolerance forgives ("pyélonéfrite" for « pyélonéphrite »); one edit ("tiroïde" for
/// « thyroïde ») is already a typo.
const RESPELLINGS: &[(&str, &str)] = &[("f", "ph"), ("ph", "f"), ("k", "qu"), ("qu", "k")];

/// `word` with each spelling of `RESPELLINGS` it holds written the other way (every
/// occurrence of one at a time), for words long enough to be typo-tolerant.
fn respellings(word: &str) -> Vec<String> {
    if !fuzzy_applies(word) {
        return Vec::new();
    }
    RESPELLINGS
        .iter()
        .filter(|(from, _)| word.contains(from))
        .map(|(from, to)| word.replace(from, to))
        .filter(|r| r != word)
        .collect()
}

/// A derived alternative that must be this whole word (or, given its stem, one of that stem).
fn whole_word(text: String, stem: Option<String>, word_start: bool) -> Alternative {
    Alternative {
        pieces: vec![Piece {
            text,
            how: stem.map_or(How::Word, |stem| How::Exact { stem }),
            word_start,
        }],
        typed: false,
        synonym: false,
    }
}

/// The stem, other roots, respellings and profession ending of a typed word.
fn derived_alternatives(
    w: &str,
    word_start: bool,
    analyzer: &mut Analyzer,
    synonyms: &Synonyms,
) -> Vec<Alternative> {
    let mut out = Vec::new();
    let stem = analyzer.stem(w);
    for (form, other) in synonyms.variants.of(&stem) {
        out.push(whole_word(form.clone(), Some(other.clone()), word_start));
    }
    if w.chars().count() < DERIVE_MIN_LEN {
        return out;
    }
    out.push(Alternative {
        pieces: vec![Piece {
            text: stem,
            how: How::Stem,
            word_start,
        }],
        typed: false,
        synonym: false,
    });
    for respelled in respellings(w) {
        out.push(Alternative {
            pieces: vec![Piece {
                text: respelled,
                how: How::Respelled,
                word_start,
            }],
            typed: false,
            synonym: false,
        });
    }
    if let Some(alt) = suffix_alternative(w) {
        out.push(Alternative {
            pieces: vec![Piece {
                text: alt,
                how: How::Prefix,
                word_start,
            }],
            typed: false,
            synonym: false,
        });
    }
    out
}

fn single_word_unit(
    w: String,
    word_start: bool,
    analyzer: &mut Analyzer,
    synonyms: &Synonyms,
) -> Unit {
    let mut alternatives = vec![typed_alternative(std::slice::from_ref(&w), &[word_start])];
    if may_be_contraction(&w) {
        alternatives.push(Alternative {
            pieces: vec![Piece {
                text: w.clone(),
                how: How::Contraction,
                word_start,
            }],
            typed: false,
            synonym: false,
        });
    }
    if let Some(n) = numeral_alternative(&w) {
        // A number has no stem, spelling or ending to derive ("viii" stems like "vii").
        alternatives.push(whole_word(n, None, word_start));
    } else {
        alternatives.extend(derived_alternatives(&w, word_start, analyzer, synonyms));
    }
    Unit {
        typed: vec![w],
        alternatives,
        optional: false,
        acronym_first: false,
        joined: Vec::new(),
        joined_to_previous: false,
    }
}

/// Field weights of the first stage (the second stage re-ranks in Rust anyway; these only
/// decide which candidates make the window).
const DISPLAY_BOOST: f32 = 3.0;
const ALT_BOOST: f32 = 2.0;
const DESC_BOOST: f32 = 0.3;
const TABLE_BOOST: f32 = 0.5;
const CODE_BOOST: f32 = 10.0;
const ACRONYM_BOOST: f32 = 1.5;
/// Multiplies `ACRONYM_BOOST` for a word typed in capitals.
const ACRONYM_FIRST_BOOST: f32 = 4.0;

fn boxed(q: impl Query + 'static, boost: f32) -> Box<dyn Query> {
    if boost == 1.0 {
        Box::new(q)
    } else {
        Box::new(BoostQuery::new(Box::new(q), boost))
    }
}

fn any(clauses: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(
        clauses.into_iter().map(|q| (Occur::Should, q)).collect(),
    ))
}

fn all(clauses: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    Box::new(BooleanQuery::new(
        clauses.into_iter().map(|q| (Occur::Must, q)).collect(),
    ))
}

fn term(field: Field, text: &str) -> TermQuery {
    TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    )
}

/// Builds tantivy queries against one schema.
pub struct Builder<'a> {
    pub fields: &'a Fields,
    pub mode: Mode,
    /// `ParsedQuery::max_typos` of the query built.
    pub max_typos: u8,
    /// Also match the table's name, URL and OID (cross-table search).
    pub with_table: bool,
}

impl Builder<'_> {
    fn word_fields(&self) -> Vec<(Field, f32)> {
        let f = self.fields;
        let mut out = vec![
            (f.display, DISPLAY_BOOST),
            (f.alt, ALT_BOOST),
            (f.desc, DESC_BOOST),
        ];
        if self.with_table {
            out.push((f.table, TABLE_BOOST));
        }
        out
    }

    fn piece(&self, p: &Piece) -> Box<dyn Query> {
        match &p.how {
            How::Prefix | How::Respelled => {
                let distance = match self.mode {
                    Mode::Fuzzy if p.how == How::Prefix => {
                        typo_distance(&p.text).min(self.max_typos)
                    }
                    _ => 0,
                };
                any(self
                    .word_fields()
                    .into_iter()
                    .map(|(f, boost)| {
                        let q = FuzzyTermQuery::new_prefix(
                            Term::from_field_text(f, &p.text),
                            distance,
                            true,
                        );
                        boxed(q, boost)
                    })
                    .collect())
            }
            How::Exact { stem } => {
                let mut clauses: Vec<Box<dyn Query>> = self
                    .word_fields()
                    .into_iter()
                    .map(|(f, boost)| boxed(term(f, &p.text), boost))
                    .collect();
                clauses.push(Box::new(term(self.fields.stems, stem)));
                any(clauses)
            }
            How::Stem => Box::new(term(self.fields.stems, &p.text)),
            How::Word => any(self
                .word_fields()
                .into_iter()
                .map(|(f, boost)| boxed(term(f, &p.text), boost))
                .collect()),
            How::Contraction => {
                // Letters only (`may_be_contraction`), so nothing to escape.
                let mut pattern = String::new();
                for c in p.text.chars() {
                    if !pattern.is_empty() {
                        pattern.push_str("[a-z0-9]*");
                    }
                    pattern.push(c);
                }
                pattern.push_str("[a-z0-9]+");
                let fields = [
                    (self.fields.display, DISPLAY_BOOST),
                    (self.fields.alt, ALT_BOOST),
                ];
                any(fields
                    .into_iter()
                    .filter_map(|(f, boost)| {
                        let q = RegexQuery::from_pattern(&pattern, f).ok()?;
                        Some(boxed(q, boost))
                    })
                    .collect())
            }
            How::Acronym => boxed(
                TermQuery::new(
                    Term::from_field_text(self.fields.acro, &p.text),
                    IndexRecordOption::Basic,
                ),
                ACRONYM_BOOST,
            ),
        }
    }

    /// A word that begins with two typed words written as one (never typo-tolerant).
    fn joined(&self, joined: &str) -> Box<dyn Query> {
        any(self
            .word_fields()
            .into_iter()
            .map(|(f, boost)| {
                let q = FuzzyTermQuery::new_prefix(Term::from_field_text(f, joined), 0, true);
                boxed(q, boost)
            })
            .collect())
    }

    fn unit(&self, u: &Unit) -> Box<dyn Query> {
        // A contraction is loose: only once the words as typed found nothing.
        let in_stage =
            |a: &&Alternative| self.mode != Mode::Strict || a.pieces[0].how != How::Contraction;
        any(u
            .alternatives
            .iter()
            .filter(in_stage)
            .map(|a| {
                let pieces = a.pieces.iter().map(|p| match p.how {
                    // Read first as an acronym: its matches must make the window.
                    How::Acronym if u.acronym_first => {
                        Box::new(BoostQuery::new(self.piece(p), ACRONYM_FIRST_BOOST))
                    }
                    _ => self.piece(p),
                });
                let alternative = all(pieces.collect());
                // So is the meaning of an abbreviation typed in capitals ("SEP").
                if u.acronym_first && a.synonym {
                    Box::new(BoostQuery::new(alternative, ACRONYM_FIRST_BOOST))
                } else {
                    alternative
                }
            })
            .collect())
    }

    /// The text part: every required unit, optional ones adding to the score.
    fn text(&self, q: &ParsedQuery) -> Option<Box<dyn Query>> {
        if q.units.is_empty() {
            return None;
        }
        let required = q.required().count();
        if self.mode == Mode::Relaxed && required >= 2 {
            let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(
                Occur::Must,
                Box::new(BooleanQuery::with_minimum_required_clauses(
                    q.required()
                        .map(|u| (Occur::Should, self.unit(u)))
                        .collect(),
                    required - 1,
                )),
            )];
            clauses.extend(
                q.units
                    .iter()
                    .filter(|u| u.optional)
                    .map(|u| (Occur::Should, self.unit(u))),
            );
            return Some(Box::new(BooleanQuery::new(clauses)));
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (i, u) in q.units.iter().enumerate() {
            let occur = if u.optional {
                Occur::Should
            } else {
                Occur::Must
            };
            // A word is also answered by a word that joins it to a neighbour.
            let before = i
                .checked_sub(1)
                .filter(|_| u.joined_to_previous)
                .map_or(&[][..], |p| q.units[p].joined.as_slice());
            let joins: Vec<Box<dyn Query>> = before
                .iter()
                .chain(&u.joined)
                .map(|j| self.joined(j))
                .collect();
            let query = if joins.is_empty() {
                self.unit(u)
            } else {
                any(std::iter::once(self.unit(u)).chain(joins).collect())
            };
            clauses.push((occur, query));
        }
        Some(Box::new(BooleanQuery::new(clauses)))
    }

    /// The whole text as a code: exact, or (2+ characters, no space) its beginning.
    fn code(&self, q: &ParsedQuery) -> Option<Box<dyn Query>> {
        if q.code.is_empty() {
            return None;
        }
        let exact = boxed(
            TermQuery::new(
                Term::from_field_text(self.fields.code, &q.code),
                IndexRecordOption::Basic,
            ),
            CODE_BOOST,
        );
        if q.code.chars().count() < 2 || q.code.contains(char::is_whitespace) {
            return Some(exact);
        }
        let prefix =
            FuzzyTermQuery::new_prefix(Term::from_field_text(self.fields.code, &q.code), 0, true);
        Some(any(vec![exact, boxed(prefix, 2.0)]))
    }

    /// `scope` (if any) and `active_only` are filters; the text or the code must match.
    pub fn build(&self, q: &ParsedQuery, scope: Option<&str>, active_only: bool) -> Box<dyn Query> {
        let matching: Vec<Box<dyn Query>> =
            [self.text(q), self.code(q)].into_iter().flatten().collect();
        self.filtered(any(matching), scope, active_only)
    }

    /// The entries that write in capitals an acronym the typed words spell (`spells`), if
    /// the query spells one. Searched apart from the words, whose stages it must not stop:
    /// "fibrilation auriculaire" still needs the typo stage, whatever « FA… » labels exist.
    pub fn spelled(
        &self,
        q: &ParsedQuery,
        scope: Option<&str>,
        active_only: bool,
    ) -> Option<Box<dyn Query>> {
        let [without, with] = q.spelled_out.as_ref()?;
        // Letters only (`spelled_out`), so nothing to escape.
        let pattern = format!("(?:{without}|{with})[a-z0-9]?");
        let spelled = RegexQuery::from_pattern(&pattern, self.fields.caps).ok()?;
        Some(self.filtered(Box::new(spelled), scope, active_only))
    }

    fn filtered(
        &self,
        matching: Box<dyn Query>,
        scope: Option<&str>,
        active_only: bool,
    ) -> Box<dyn Query> {
        let mut must: Vec<Box<dyn Query>> = Vec::new();
        if let Some(s) = scope {
            must.push(Box::new(TermQuery::new(
                Term::from_field_text(self.fields.scope, s),
                IndexRecordOption::Basic,
            )));
        }
        if active_only {
            must.push(Box::new(TermQuery::new(
                Term::from_field_u64(self.fields.active, 1),
                IndexRecordOption::Basic,
            )));
        }
        must.push(matching);
        // The filters add the same score to every candidate; only the match part ranks them.
        all(must)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> ParsedQuery {
        let mut a = Analyzer::default();
        let syn = Synonyms::builtin(&mut a);
        ParsedQuery::parse(s, &mut a, &syn)
    }

    #[test]
    fn stop_words_are_optional_unless_last() {
        let q = parse("lettre de liaison sortie");
        let optional: Vec<bool> = q.units.iter().map(|u| u.optional).collect();
        assert_eq!(optional, [false, true, false, false]);
        let q = parse("lettre de");
        assert!(!q.units[1].optional, "the word being typed stays required");
    }

    #[test]
    fn abbreviations_become_alternatives() {
        let q = parse("CR op");
        assert_eq!(q.units.len(), 2);
        let cr = &q.units[0];
        assert!(cr
            .alternatives
            .iter()
            .any(|a| a.pieces.len() == 2 && a.pieces[0].text == "compte"));
        assert_eq!(q.code, "cr op");
    }

    #[test]
    fn cache_key_ignores_case_accents_and_punctuation() {
        assert_eq!(
            parse("KINESITHERAPIE").cache_key(),
            parse("kinesitherapie").cache_key()
        );
        // A short word in capitals is read as an acronym first, and its abbreviation too.
        assert_ne!(parse("KINE").cache_key(), parse("kine").cache_key());
        assert_eq!(parse("cr  op").cache_key(), parse("Cr op").cache_key());
        // A hyphen changes the ranking (matches inside compounds), so it is part of the key.
        assert_ne!(
            parse("compte-rendu").cache_key(),
            parse("compte rendu").cache_key()
        );
        assert_ne!(parse("kine").cache_key(), parse("kines").cache_key());
    }

    #[test]
    fn long_input_is_bounded() {
        let text = "compte ".repeat(1000);
        let q = parse(&text);
        assert_eq!(q.units.len(), MAX_WORDS);
        assert!(!fuzzy_applies(&"a".repeat(FUZZY_MAX_LEN + 1)));
        assert!(fuzzy_applies("liason") && !fuzzy_applies("kine"));
        assert_eq!(typo_distance("liason"), 1);
        assert_eq!(typo_distance("anevrysme"), 2);
    }

    #[test]
    fn short_words_may_be_acronyms() {
        let q = parse("pneumopathie vg");
        let acronym = |u: &Unit| {
            u.alternatives
                .iter()
                .any(|a| a.pieces.iter().any(|p| p.how == How::Acronym))
        };
        assert!(!acronym(&q.units[0]) && acronym(&q.units[1]));
        // Also a word the synonym list knows, never a small word.
        assert!(acronym(&parse("ait").units[0]));
        assert!(!acronym(&parse("de grippe").units[0]));
    }

    #[test]
    fn two_edit_respellings_are_alternatives() {
        assert_eq!(respellings("pyelonefrite"), ["pyelonephrite"]);
        assert_eq!(respellings("nephrologie"), ["nefrologie"]);
        assert_eq!(respellings("kyste"), ["quyste"]);
        // Short words are left alone, as they are by typo tolerance.
        assert!(respellings("fibr").is_empty());
        let q = parse("pyelonefrite");
        assert!(q.units[0]
            .alternatives
            .iter()
            .any(|a| !a.typed && a.pieces[0].how == How::Respelled));
    }

    #[test]
    fn neighbouring_words_may_be_written_as_one() {
        let q = parse("burn out");
        assert_eq!(q.units[0].joined, ["burnout"]);
        assert!(q.units[1].joined_to_previous);
        // Pairs overlap; small words and numbers are not joined.
        let q = parse("fracture avant bras");
        assert_eq!(q.units[0].joined, ["fractureavant"]);
        assert_eq!(q.units[1].joined, ["avantbras"]);
        assert!(q.units[2].joined.is_empty() && q.units[2].joined_to_previous);
        let q = parse("diabete de type 2");
        assert!(q.units.iter().all(|u| u.joined.is_empty()));
        // A body part joins the other word behind its combining form, either order.
        let q = parse("lithiase biliaire");
        assert_eq!(q.units[0].joined, ["lithiasebiliaire", "cholelithias"]);
        let q = parse("reins calcul");
        assert_eq!(q.units[0].joined, ["reinscalcul", "nephrocalcul"]);
        // Not in a long text.
        let q = parse("lithiase biliaire a b c d e");
        assert_eq!(q.units[0].joined, ["lithiasebiliaire"]);
    }

    #[test]
    fn two_typos_only_in_short_queries() {
        assert_eq!(parse("hypotiroidie").max_typos(), 2);
        assert_eq!(parse("hypotiroidie de l'adulte jeune").max_typos(), 2);
        assert_eq!(parse("hypotiroidie adulte jeune sujet").max_typos(), 1);
    }

    #[test]
    fn empty_text_has_no_units() {
        assert!(parse("  ").is_empty());
        assert!(parse("--").units.is_empty());
    }
}
