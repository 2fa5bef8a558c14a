//! Domain abbreviations (`synonyms.txt`) and French profession ↔ specialty endings.

use std::collections::HashMap;

use super::analysis::Analyzer;

/// The synonym groups, compiled into the binary.
pub const SYNONYMS_TXT: &str = include_str!("synonyms.txt");

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
        Synonyms::parse(SYNONYMS_TXT, analyzer)
    }

    /// The longest phrase of any group starting at `words[at]`. Words must be equal, except the
    /// query's very last word, which may be the beginning (3+ letters) of the phrase's last word
    /// of a multi-word phrase ("compte ren" → "compte rendu").
    pub fn match_at(&self, words: &[String], at: usize) -> Option<SynonymMatch> {
        let candidates = self.by_first.get(words.get(at)?)?;
        let mut best: Option<(usize, usize, usize)> = None;
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
            if matches && best.is_none_or(|(_, _, len)| phrase.len() > len) {
                best = Some((g, p, phrase.len()));
            }
        }
        let (g, p, len) = best?;
        let alternatives = self.groups[g]
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != p)
            .map(|(_, phrase)| phrase.clone())
            .collect();
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
    fn synonym_file_is_folded() {
        let mut a = Analyzer::default();
        let syn = Synonyms::parse("Échographie | écho\n# comment\nalone\n", &mut a);
        let m = syn.match_at(&words("echo"), 0).expect("folded");
        assert_eq!(m.alternatives, vec![words("echographie")]);
        assert!(syn.match_at(&words("alone"), 0).is_none());
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
