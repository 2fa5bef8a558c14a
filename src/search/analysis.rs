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
    /// Written in capitals, 2+ letters ("CR", "ERM"): an acronym already, which gives all its
    /// letters to the acronym of a longer run ("CR opératoire" → `cro`).
    pub capitals: bool,
    /// After the text's first comma: a qualifier of what comes before it (« Leucémie myéloïde
    /// chronique, ABL1-BCR positif », « Fracture de côte, sans précision »).
    pub qualifier: bool,
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
        let comma = text.find(',');
        let mut stream = self.words.token_stream(text);
        while stream.advance() {
            let t = stream.token();
            let word_start = text[..t.offset_from]
                .chars()
                .next_back()
                .is_none_or(|c| !matches!(c, '-' | '\u{2010}' | '\u{2011}' | '\u{2013}'));
            let original = text.get(t.offset_from..t.offset_to).unwrap_or("");
            let capitals = original.chars().filter(|c| c.is_alphabetic()).count() >= 2
                && !original.chars().any(char::is_lowercase);
            out.push(Word {
                text: t.text.clone(),
                word_start,
                capitals,
                qualifier: comma.is_some_and(|c| t.offset_from > c),
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

/// Acronyms are at most this many letters (not counting small words) long.
pub const ACRONYM_MAX: usize = 6;
/// With its small words, an acronym is at most this long ("sddra").
const ACRONYM_WITH_SMALL_WORDS_MAX: usize = 8;

/// What a word gives an acronym: its first letter, or the whole of a number ("type 2" → `t2`)
/// or of a word in capitals ("CR" → `cr`).
fn initial(word: &Word) -> Option<&str> {
    let w = word.text.as_str();
    if !w.is_empty() && (word.capitals || w.bytes().all(|b| b.is_ascii_digit())) {
        return Some(w);
    }
    let end = w.char_indices().nth(1).map_or(w.len(), |(i, _)| i);
    w.get(..end).filter(|s| !s.is_empty())
}

/// The acronym of `words[start..=end]`, without its small words (`with_small` false) or with
/// them; `None` when it would be a single letter or too long.
fn run_acronym(words: &[Word], start: usize, end: usize, with_small: bool) -> Option<String> {
    let mut out = String::new();
    let mut letters = 0;
    for w in words.get(start..=end)? {
        let small = is_stop_word(&w.text);
        if small && !with_small {
            continue;
        }
        out.push_str(initial(w)?);
        letters += usize::from(!small);
    }
    let max = if with_small {
        ACRONYM_WITH_SMALL_WORDS_MAX
    } else {
        ACRONYM_MAX
    };
    let capitals = words.get(start..=end)?.iter().any(|w| w.capitals);
    let max = if capitals {
        ACRONYM_WITH_SMALL_WORDS_MAX
    } else {
        max
    };
    ((2..=ACRONYM_MAX).contains(&letters) && out.chars().count() <= max).then_some(out)
}

/// Acronyms of a label's words (folded, hyphenated words already cut): the initials of every
/// run of 2 to `ACRONYM_MAX` consecutive words, on one side of the first comma, that starts
/// and ends with an ordinary word,
/// without its small words and with them. "accident ischemique transitoire" → `ait`;
/// "virus de la grippe" → `vg`, `vdlg`; "hemorragie sous arachnoidienne" → `hsa`, `sa`...
/// Runs of part of a label are what lets "pneumopathie vg" find "pneumopathie due au virus
/// de la grippe". Sorted, without duplicates.
pub fn acronyms(words: &[Word]) -> Vec<String> {
    let mut out = Vec::new();
    for start in 0..words.len() {
        if is_stop_word(&words[start].text) {
            continue;
        }
        let mut ordinary = 1;
        for end in start + 1..words.len() {
            if words[end].qualifier != words[start].qualifier {
                break;
            }
            if is_stop_word(&words[end].text) {
                continue;
            }
            ordinary += 1;
            if ordinary > ACRONYM_MAX {
                break;
            }
            for with_small in [false, true] {
                if let Some(a) = run_acronym(words, start, end, with_small) {
                    out.push(a);
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The earliest run of `words` whose acronym is `acronym`, as (first word, ordinary words in
/// it), if any: the Rust twin of the acronym field, for the ranking.
pub fn acronym_run(words: &[Word], acronym: &str) -> Option<(usize, usize)> {
    for start in 0..words.len() {
        let first = &words[start];
        if is_stop_word(&first.text) || !acronym.starts_with(initial(first)?) {
            continue;
        }
        let mut ordinary = 1;
        for end in start + 1..words.len() {
            if words[end].qualifier != first.qualifier {
                break;
            }
            if is_stop_word(&words[end].text) {
                continue;
            }
            ordinary += 1;
            if ordinary > ACRONYM_MAX {
                break;
            }
            let found = [false, true]
                .into_iter()
                .any(|s| run_acronym(words, start, end, s).as_deref() == Some(acronym));
            if found {
                return Some((start, ordinary));
            }
        }
    }
    None
}

/// Whether a typed word may be an acronym: 2 to `ACRONYM_MAX` + 2 letters or digits, not a
/// small word, not a number.
pub fn may_be_acronym(word: &str) -> bool {
    let n = word.chars().count();
    (2..=ACRONYM_WITH_SMALL_WORDS_MAX).contains(&n)
        && word.chars().all(|c| c.is_ascii_alphanumeric())
        && !word.chars().all(|c| c.is_ascii_digit())
        && !is_stop_word(word)
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

    fn acronyms_of(a: &mut Analyzer, s: &str) -> Vec<String> {
        acronyms(&a.words(s))
    }

    #[test]
    fn acronyms_of_whole_labels_and_of_their_parts() {
        let mut a = Analyzer::default();
        let ait = acronyms_of(&mut a, "Accident ischémique transitoire");
        assert!(ait.contains(&"ait".to_string()), "{ait:?}");
        assert!(ait.contains(&"it".to_string()) && ait.contains(&"ai".to_string()));
        // A hyphenated word counts as words.
        let hsa = acronyms_of(&mut a, "Hémorragie sous-arachnoïdienne");
        assert!(hsa.contains(&"hsa".to_string()), "{hsa:?}");
        // Small words: left out, and kept.
        let vg = acronyms_of(&mut a, "Pneumopathie due au virus de la grippe");
        for want in ["vg", "vdlg", "pdvg", "dvg"] {
            assert!(vg.contains(&want.to_string()), "{want} in {vg:?}");
        }
        // Numbers count whole; single letters and runs that start with a small word never.
        let t2 = acronyms_of(&mut a, "Diabète de type 2");
        assert!(t2.contains(&"dt2".to_string()) && t2.contains(&"ddt2".to_string()));
        assert!(!t2.iter().any(|x| x.len() < 2 || x.starts_with("dt2d")));
        assert!(acronyms_of(&mut a, "Grippe").is_empty());
        // A run stops at the first comma.
        let cut = acronyms_of(&mut a, "Cuves d'hémodialyse, collecte");
        assert!(cut.contains(&"ch".to_string()) && !cut.contains(&"chc".to_string()));
        // A word in capitals is an acronym already: all its letters.
        assert!(acronyms_of(&mut a, "CR opératoire").contains(&"cro".to_string()));
        assert!(acronyms_of(&mut a, "Manipulateur ERM").contains(&"merm".to_string()));
        assert!(!acronyms_of(&mut a, "Manipulateur Erm").contains(&"merm".to_string()));
    }

    #[test]
    fn acronym_runs_are_bounded() {
        let mut a = Analyzer::default();
        let long = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu";
        let all = acronyms_of(&mut a, long);
        assert!(all.iter().all(|x| x.len() <= ACRONYM_MAX), "{all:?}");
        // At most 5 runs start at each word, one form each (no small words here).
        assert!(all.len() <= 12 * (ACRONYM_MAX - 1), "{}", all.len());
    }

    #[test]
    fn acronym_runs_match_the_index() {
        let mut a = Analyzer::default();
        let words = a.words("Pneumopathie due au virus de la grippe");
        assert_eq!(acronym_run(&words, "vg"), Some((3, 2)));
        assert_eq!(acronym_run(&words, "vdlg"), Some((3, 2)));
        assert_eq!(acronym_run(&words, "pdvg"), Some((0, 4)));
        assert_eq!(acronym_run(&words, "xy"), None);
        for x in acronyms(&words) {
            assert!(acronym_run(&words, &x).is_some(), "{x}");
        }
        assert!(may_be_acronym("tvp") && may_be_acronym("dt2") && !may_be_acronym("de"));
        assert!(!may_be_acronym("42") && !may_be_acronym("x") && !may_be_acronym("anticoagulant"));
    }

    #[test]
    fn stems_join_singular_and_plural() {
        let mut a = Analyzer::default();
        assert_eq!(a.stem("lettres"), a.stem("lettre"));
        assert_eq!(a.stem("pediatre"), a.stem("pediatrie"));
    }
}
