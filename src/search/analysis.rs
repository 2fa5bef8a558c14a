//! French text analysis, shared by indexing and querying so both sides always agree.
//!
//! - `fr_words`: split on anything that is not a letter or digit (apostrophes and hyphens
//!   included: "d'imagerie" → `d` `imagerie`, "compte-rendu" → `compte` `rendu`), lower-case,
//!   fold accents and ligatures (é → e, œ → oe). Used for word-prefix matching.
//! - `fr_stems`: the same, then the French Snowball stemmer, so "lettres" finds "lettre" and
//!   "pédiatre" finds "pédiatrie". Folding comes before stemming on both sides, so a query typed
//!   without accents stems exactly like the accented label.
//! - `code`: the whole code, lower-cased (exact and prefix code matches).
//!
//! Stop words are never removed from the index: a query word that is a stop word becomes
//! optional instead (see `query`), so "de" or "la" typed alone still finds something.

use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RawTokenizer, SimpleTokenizer, Stemmer, TextAnalyzer,
    TokenizerManager,
};

pub const WORDS: &str = "fr_words";
pub const STEMS: &str = "fr_stems";
pub const CODE: &str = "code_lower";

/// French words that carry no meaning in a label; optional in queries.
const STOP_WORDS: &[&str] = &[
    "a", "au", "aux", "avec", "ce", "chez", "d", "dans", "de", "des", "du", "en", "et", "l", "la",
    "le", "les", "ou", "par", "pour", "sans", "sur", "un", "une",
];

pub fn is_stop_word(folded: &str) -> bool {
    STOP_WORDS.binary_search(&folded).is_ok()
}

fn words_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

fn stems_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::French))
        .build()
}

fn code_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(RawTokenizer::default())
        .filter(LowerCaser)
        .build()
}

/// Registers the three analyzers on an index's tokenizer manager.
pub fn register(manager: &TokenizerManager) {
    manager.register(WORDS, words_analyzer());
    manager.register(STEMS, stems_analyzer());
    manager.register(CODE, code_analyzer());
}

/// One word of a text after analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Folded, lower-cased form.
    pub text: String,
    /// The word begins a whitespace-separated word of the original text (false after a hyphen
    /// or inside a compound: "kinésithérapeute" in "Masseur-Kinésithérapeute").
    pub word_start: bool,
}

/// Rust-side analysis with the very analyzers the index uses. Holds its own analyzer copies
/// (tantivy analyzers need `&mut` to run), so create one per search.
pub struct Analyzer {
    words: TextAnalyzer,
    stems: TextAnalyzer,
}

impl Default for Analyzer {
    fn default() -> Self {
        Analyzer {
            words: words_analyzer(),
            stems: stems_analyzer(),
        }
    }
}

impl Analyzer {
    /// The folded words of `text`, each flagged when it starts an original word.
    pub fn words(&mut self, text: &str) -> Vec<Word> {
        let mut out = Vec::new();
        let mut stream = self.words.token_stream(text);
        while stream.advance() {
            let t = stream.token();
            let word_start = text[..t.offset_from]
                .chars()
                .next_back()
                .is_none_or(|c| !matches!(c, '-' | '\u{2010}' | '\u{2011}' | '\u{2013}'));
            out.push(Word {
                text: t.text.clone(),
                word_start,
            });
        }
        out
    }

    /// The stem of one folded word (the stem analyzer run on it).
    pub fn stem(&mut self, word: &str) -> String {
        let mut stream = self.stems.token_stream(word);
        if stream.advance() {
            stream.token().text.clone()
        } else {
            word.to_string()
        }
    }
}

/// A code as the `code` field stores it: lower-cased, whitespace runs collapsed.
pub fn code_key(code: &str) -> String {
    code.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(a: &mut Analyzer, s: &str) -> Vec<String> {
        a.words(s).into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn stop_words_are_sorted_for_binary_search() {
        let mut sorted = STOP_WORDS.to_vec();
        sorted.sort_unstable();
        assert_eq!(sorted, STOP_WORDS);
        assert!(is_stop_word("de") && is_stop_word("d") && !is_stop_word("dent"));
    }

    #[test]
    fn accents_ligatures_apostrophes_and_hyphens() {
        let mut a = Analyzer::default();
        assert_eq!(texts(&mut a, "Échographie"), ["echographie"]);
        assert_eq!(texts(&mut a, "Œsophage"), ["oesophage"]);
        assert_eq!(texts(&mut a, "CR d'imagerie"), ["cr", "d", "imagerie"]);
        assert_eq!(
            texts(&mut a, "Compte-rendu d’imagerie"),
            ["compte", "rendu", "d", "imagerie"]
        );
    }

    #[test]
    fn word_starts_are_flagged() {
        let mut a = Analyzer::default();
        let w = a.words("Masseur-Kinésithérapeute (SM) d'imagerie");
        let flags: Vec<bool> = w.iter().map(|w| w.word_start).collect();
        assert_eq!(flags, [true, false, true, true, true]);
    }

    #[test]
    fn stems_join_singular_and_plural() {
        let mut a = Analyzer::default();
        assert_eq!(a.stem("lettres"), a.stem("lettre"));
        assert_eq!(a.stem("pediatre"), a.stem("pediatrie"));
    }
}
