//! Domain abbreviations and everyday words (`synonyms.txt`, `lexicon.txt`), French profession
//! ↔ specialty endings, words French writes two ways for one meaning (body parts and their
//! learned adjectives, `anatomy.txt`; numbers in Arabic and Roman figures), and the combining
//! forms body parts take inside learned words (`combining.txt`).

use std::collections::HashMap;

use super::analysis::Analyzer;

/// The synonym groups, compiled into the binary.
pub const SYNONYMS_TXT: &str = include_str!("synonyms.txt");

/// Everyday clinical and administrative words mapped to the terminologies' own words, in the
/// format of `synonyms.txt` (written blind to the relevance sets; see its header).
pub const LEXICON_TXT: &str = include_str!("lexicon.txt");

/// Body parts and the forms they take at the start of a learned word, compiled into the binary.
pub const COMBINING_TXT: &str = include_str!("combining.txt");

/// Body parts and their learned adjectives, compiled into the binary.
pub const ANATOMY_TXT: &str = include_str!("anatomy.txt");

/// Endings of a person's profession and the stem of the discipline they practise:
/// "cardiologue" → "cardiologi…", "pédiatre" → "pediatri…", "dentiste" → "dent…".
/// `(ending, replacement, shortest stem kept)`.
const SUFFIX_RULES: &[(&str, &str, usize)] = &[
    ("logistes", "logi", 3),
    ("logiste", "logi", 3),
    ("logues", "logi", 3),
    ("logue", "logi", 3),
    ("iatres", "iatri", 3),
    ("iatre", "iatri", 3),
    ("esistes", "esi", 4),
    ("esiste", "esi", 4),
    ("istes", "", 4),
    ("iste", "", 4),
    ("eutes", "", 5),
    ("eute", "", 5),
    ("iennes", "i", 5),
    ("ienne", "i", 5),
    ("iens", "i", 5),
    ("ien", "i", 5),
];

/// A word-prefix alternative for a profession word, if one of the rules applies.
pub fn suffix_alternative(word: &str) -> Option<String> {
    SUFFIX_RULES
        .iter()
        .find_map(|(ending, replacement, min_stem)| {
            let stem = word.strip_suffix(ending)?;
            (stem.chars().count() >= *min_stem).then(|| format!("{stem}{replacement}"))
        })
}

/// Numbers a label may write in Roman figures ("type II", "facteur VIII", "stade IV").
const ROMAN_MAX: u32 = 39;

fn roman(mut n: u32) -> String {
    let mut out = String::new();
    for (value, letters) in [(10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i")] {
        while n >= value {
            out.push_str(letters);
            n -= value;
        }
    }
    out
}

/// The same number in the other figures: "2" → "ii", "viii" → "8" (1 to `ROMAN_MAX`; a Roman
/// numeral only in its canonical form, so "vx" or "iiii" are left alone).
pub fn numeral_alternative(word: &str) -> Option<String> {
    if let Ok(n) = word.parse::<u32>() {
        return ((1..=ROMAN_MAX).contains(&n) && !word.starts_with('0')).then(|| roman(n));
    }
    if word.is_empty() || !word.chars().all(|c| matches!(c, 'i' | 'v' | 'x')) {
        return None;
    }
    (1..=ROMAN_MAX)
        .find(|&n| roman(n) == word)
        .map(|n| n.to_string())
}

/// Words that stand for one another with another root ("foie" ↔ "hépatique"), looked up by
/// the stem of what is typed.
#[derive(Debug, Clone, Default)]
pub struct WordVariants {
    /// Stem of a form → the other words of its line, one (folded form, stem) per stem.
    by_stem: HashMap<String, Vec<(String, String)>>,
}

impl WordVariants {
    /// Parses `forms | forms` lines (`#` comments and blank lines skipped): the words of one
    /// line stand for one another; the forms of one word are separated by spaces.
    pub fn parse(text: &str, analyzer: &mut Analyzer) -> WordVariants {
        let mut out = WordVariants::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<Vec<(String, String)>> = line
                .split('|')
                .map(|forms| {
                    analyzer
                        .words(forms)
                        .into_iter()
                        .map(|w| {
                            let stem = analyzer.stem(&w.text);
                            (w.text, stem)
                        })
                        .collect()
                })
                .collect();
            for (i, word) in words.iter().enumerate() {
                for (_, stem) in word {
                    let others = out.by_stem.entry(stem.clone()).or_default();
                    let forms = words.iter().enumerate().filter(|(j, _)| *j != i);
                    for (form, other) in forms.flat_map(|(_, w)| w) {
                        if other != stem && !others.iter().any(|(_, s)| s == other) {
                            others.push((form.clone(), other.clone()));
                        }
                    }
                }
            }
        }
        out
    }

    /// The words standing for a word of this stem, as (folded form, stem).
    pub fn of(&self, stem: &str) -> &[(String, String)] {
        self.by_stem.get(stem).map_or(&[], Vec::as_slice)
    }
}

/// The other word of a compound must have a stem this long ("os" + "te" is no compound).
const COMPOUND_MIN_STEM: usize = 4;

/// The forms a body part takes at the start of a learned word (`combining.txt`: "biliaire" →
/// "chole", "rein" → "nephro"), looked up by the stem of what is typed.
#[derive(Debug, Clone, Default)]
pub struct CombiningForms {
    by_stem: HashMap<String, Vec<String>>,
}

impl CombiningForms {
    /// Parses `words | forms` lines (`#` comments and blank lines skipped).
    pub fn parse(text: &str, analyzer: &mut Analyzer) -> CombiningForms {
        let mut out = CombiningForms::default();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            let Some((words, forms)) = line.split_once('|') else {
                continue;
            };
            let forms: Vec<String> = analyzer.words(forms).into_iter().map(|w| w.text).collect();
            for word in analyzer.words(words) {
                let known = out.by_stem.entry(analyzer.stem(&word.text)).or_default();
                for form in &forms {
                    if !known.contains(form) {
                        known.push(form.clone());
                    }
                }
            }
        }
        out
    }

    /// Beginnings of one learned word that says both `body` and `other`: each combining form
    /// of `body` followed by the stem of `other` ("biliaire", "lithiase" → "cholelithias").
    pub fn compounds(&self, body: &str, other: &str, analyzer: &mut Analyzer) -> Vec<String> {
        let Some(forms) = self.by_stem.get(&analyzer.stem(body)) else {
            return Vec::new();
        };
        let stem = analyzer.stem(other);
        if stem.chars().count() < COMPOUND_MIN_STEM {
            return Vec::new();
        }
        forms.iter().map(|form| format!("{form}{stem}")).collect()
    }
}

/// A phrase found in a query, with the equivalent phrases to try as well.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynonymMatch {
    /// Number of query words covered.
    pub len: usize,
    /// The other phrases of the group, each a list of folded words.
    pub alternatives: Vec<Vec<String>>,
}

/// Groups of equivalent phrases, looked up by their first word.
#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    groups: Vec<Vec<Vec<String>>>,
    /// first word → (group, phrase) pairs.
    by_first: HashMap<String, Vec<(usize, usize)>>,
    /// Words with another root (`anatomy.txt`).
    pub variants: WordVariants,
    /// Combining forms of body parts (`combining.txt`).
    pub combining: CombiningForms,
}

impl Synonyms {
    /// Parses `a | b c | d` lines (`#` comments, blank lines skipped), folding every phrase
    /// with the index's own analyzer.
    pub fn parse(text: &str, analyzer: &mut Analyzer) -> Synonyms {
        let mut syn = Synonyms::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let group: Vec<Vec<String>> = line
                .split('|')
                .map(|p| {
                    analyzer
                        .words(p)
                        .into_iter()
                        .map(|w| w.text)
                        .collect::<Vec<_>>()
                })
                .filter(|p: &Vec<String>| !p.is_empty())
                .collect();
            if group.len() < 2 {
                continue;
            }
            let g = syn.groups.len();
            for (p, phrase) in group.iter().enumerate() {
                syn.by_first
                    .entry(phrase[0].clone())
                    .or_default()
                    .push((g, p));
            }
            syn.groups.push(group);
        }
        syn
    }

    pub fn builtin(analyzer: &mut Analyzer) -> Synonyms {
        Synonyms {
            variants: WordVariants::parse(ANATOMY_TXT, analyzer),
            combining: CombiningForms::parse(COMBINING_TXT, analyzer),
            ..Synonyms::parse(&format!("{SYNONYMS_TXT}\n{LEXICON_TXT}"), analyzer)
        }
    }

    /// The longest phrase of any group starting at `words[at]`. Words must be equal, except the
    /// query's very last word, which may be the beginning (3+ letters) of the phrase's last word
    /// of a multi-word phrase ("compte ren" → "compte rendu").
    pub fn match_at(&self, words: &[String], at: usize) -> Option<SynonymMatch> {
        let candidates = self.by_first.get(words.get(at)?)?;
        // Every phrase of the longest length that matches here: an abbreviation with two
        // meanings is written on two lines ("ic" → cardiac or coronary), and both are tried.
        let mut len = 0;
        let mut found: Vec<(usize, usize)> = Vec::new();
        for &(g, p) in candidates {
            let phrase = &self.groups[g][p];
            let Some(typed) = words.get(at..at + phrase.len()) else {
                continue;
            };
            let query_ends_here = at + phrase.len() == words.len();
            let matches = phrase
                .iter()
                .zip(typed)
                .enumerate()
                .all(|(i, (want, got))| {
                    want == got
                        || (query_ends_here
                            && phrase.len() > 1
                            && i + 1 == phrase.len()
                            && got.len() >= 3
                            && want.starts_with(got.as_str()))
                });
            if !matches || phrase.len() < len {
                continue;
            }
            if phrase.len() > len {
                len = phrase.len();
                found.clear();
            }
            found.push((g, p));
        }
        if found.is_empty() {
            return None;
        }
        let mut alternatives: Vec<Vec<String>> = Vec::new();
        for (g, p) in found {
            for (i, phrase) in self.groups[g].iter().enumerate() {
                if i != p && !alternatives.contains(phrase) {
                    alternatives.push(phrase.clone());
                }
            }
        }
        Some(SynonymMatch { len, alternatives })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn builtin_groups_parse_and_work_both_ways() {
        let mut a = Analyzer::default();
        let syn = Synonyms::builtin(&mut a);
        let m = syn
            .match_at(&words("cr op"), 0)
            .expect("cr is an abbreviation");
        assert_eq!(m.len, 1);
        assert!(m.alternatives.contains(&words("compte rendu")));
        let m = syn
            .match_at(&words("compte rendu operatoire"), 0)
            .expect("reverse");
        assert_eq!(m.len, 2);
        assert!(m.alternatives.contains(&words("cr")));
        let m = syn
            .match_at(&words("compte ren"), 0)
            .expect("last word being typed");
        assert_eq!(m.len, 2);
        assert!(syn.match_at(&words("compte"), 0).is_none());
        assert!(syn.match_at(&words("c"), 0).is_none());
    }

    #[test]
    fn an_abbreviation_written_on_two_lines_offers_both_meanings() {
        let mut a = Analyzer::default();
        let syn = Synonyms::parse(
            "ic | insuffisance cardiaque\nic | insuffisance coronarienne\nic aigue | choc",
            &mut a,
        );
        let m = syn.match_at(&words("ic"), 0).expect("two meanings");
        assert_eq!(m.len, 1);
        assert_eq!(
            m.alternatives,
            vec![
                words("insuffisance cardiaque"),
                words("insuffisance coronarienne")
            ]
        );
        // The longest phrase still wins, alone.
        let m = syn.match_at(&words("ic aigue"), 0).expect("longer phrase");
        assert_eq!((m.len, m.alternatives), (2, vec![words("choc")]));
        // Each meaning leads back to the abbreviation only, not to the other meaning.
        let m = syn
            .match_at(&words("insuffisance cardiaque"), 0)
            .expect("reverse");
        assert_eq!(m.alternatives, vec![words("ic")]);
    }

    #[test]
    fn every_line_of_the_lexicon_is_a_group() {
        let mut a = Analyzer::default();
        let lines = LEXICON_TXT
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            .count();
        let syn = Synonyms::parse(LEXICON_TXT, &mut a);
        assert_eq!(syn.groups.len(), lines);
        assert!(syn.groups.iter().all(|g| g.len() >= 2));
    }

    #[test]
    fn synonym_file_is_folded() {
        let mut a = Analyzer::default();
        let syn = Synonyms::parse("Échographie | écho\n# comment\nalone\n", &mut a);
        let m = syn.match_at(&words("echo"), 0).expect("folded");
        assert_eq!(m.alternatives, vec![words("echographie")]);
        assert!(syn.match_at(&words("alone"), 0).is_none());
    }

    #[test]
    fn body_parts_and_their_learned_adjectives_stand_for_one_another() {
        let mut a = Analyzer::default();
        let v = WordVariants::parse("foie | hépatique hépatiques\ncœur | cardiaque\n", &mut a);
        let forms = |v: &WordVariants, a: &mut Analyzer, w: &str| -> Vec<String> {
            v.of(&a.stem(w)).iter().map(|(f, _)| f.clone()).collect()
        };
        assert_eq!(forms(&v, &mut a, "hepatiques"), vec!["foie"]);
        assert_eq!(forms(&v, &mut a, "foie"), vec!["hepatique"]);
        assert_eq!(forms(&v, &mut a, "coeur"), vec!["cardiaque"]);
        assert!(forms(&v, &mut a, "rein").is_empty());
        // The shipped list parses, and every line links words of different stems.
        let builtin = Synonyms::builtin(&mut a);
        assert_eq!(
            forms(&builtin.variants, &mut a, "pulmonaire"),
            vec!["poumon"]
        );
        assert!(forms(&builtin.variants, &mut a, "renaux").contains(&"rein".to_string()));
        assert!(forms(&builtin.variants, &mut a, "yeux").contains(&"oculaire".to_string()));
    }

    #[test]
    fn numbers_in_both_figures() {
        assert_eq!(numeral_alternative("2").as_deref(), Some("ii"));
        assert_eq!(numeral_alternative("8").as_deref(), Some("viii"));
        assert_eq!(numeral_alternative("14").as_deref(), Some("xiv"));
        assert_eq!(numeral_alternative("iv").as_deref(), Some("4"));
        assert_eq!(numeral_alternative("xxxix").as_deref(), Some("39"));
        assert_eq!(numeral_alternative("iiii"), None);
        assert_eq!(numeral_alternative("vx"), None);
        assert_eq!(numeral_alternative("40"), None);
        assert_eq!(numeral_alternative("0"), None);
        assert_eq!(numeral_alternative("02"), None);
        assert_eq!(numeral_alternative("vitamine"), None);
    }

    #[test]
    fn professions_lead_to_their_discipline() {
        assert_eq!(
            suffix_alternative("cardiologue").as_deref(),
            Some("cardiologi")
        );
        assert_eq!(suffix_alternative("pediatre").as_deref(), Some("pediatri"));
        assert_eq!(
            suffix_alternative("anesthesiste").as_deref(),
            Some("anesthesi")
        );
        assert_eq!(suffix_alternative("dentiste").as_deref(), Some("dent"));
        assert_eq!(
            suffix_alternative("chirurgien").as_deref(),
            Some("chirurgi")
        );
        assert_eq!(suffix_alternative("bien"), None);
        assert_eq!(suffix_alternative("liste"), None);
    }
}
