//! How common a label's opening words are in the data: the prior that orders the readings of
//! an acronym. "FA" is the initials of « Fibrillation auriculaire », « Fausse alarme » and
//! hundreds of other runs; the reading a clinician means is the one the terminology itself
//! is built around, the phrase that opens many labels (« Fibrillation auriculaire
//! paroxystique », « … persistante », …). Counted once per distinct label, over every
//! display and designation indexed, so a table repeated by many value sets counts once.

use std::collections::{HashMap, HashSet};

use super::analysis::{is_stop_word, Analyzer, ACRONYM_MAX};
use super::entries::Entry;

/// Distinct labels that open with each phrase of 2 to `ACRONYM_MAX` ordinary words (small
/// words left out), for the phrases that open two labels or more: the others open one.
#[derive(Debug, Default)]
pub struct LeadingPhrases {
    counts: HashMap<String, u32>,
}

impl LeadingPhrases {
    pub fn collect(entries: &[Entry]) -> LeadingPhrases {
        let mut analyzer = Analyzer::default();
        let mut seen: HashSet<&str> = HashSet::new();
        let mut counts: HashMap<String, u32> = HashMap::new();
        // SNOMED CT's labels are left out: the prior orders the readings of acronyms in the
        // curated tables' own words (French), and must not move when an edition of two
        // million English labels is loaded beside them; counting those took 7 s at each start.
        for e in entries
            .iter()
            .filter(|e| &*e.system != crate::snomed::SYSTEM)
        {
            for label in e.display().into_iter().chain(e.alts()) {
                if !seen.insert(label) {
                    continue;
                }
                let words = analyzer.words(label);
                let ordinary: Vec<&str> = words
                    .iter()
                    .map(|w| w.text.as_str())
                    .filter(|w| !is_stop_word(w))
                    .take(ACRONYM_MAX)
                    .collect();
                let mut phrase = ordinary.first().map(|w| w.to_string()).unwrap_or_default();
                for w in ordinary.iter().skip(1) {
                    phrase.push(' ');
                    phrase.push_str(w);
                    *counts.entry(phrase.clone()).or_default() += 1;
                }
            }
        }
        counts.retain(|_, n| *n > 1);
        counts.shrink_to_fit();
        LeadingPhrases { counts }
    }

    /// How many distinct labels open with `phrase` (ordinary words joined by one space).
    pub fn count(&self, phrase: &str) -> u32 {
        self.counts.get(phrase).copied().unwrap_or(1)
    }

    pub fn len(&self) -> usize {
        self.counts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(code: &str, display: &str) -> Entry {
        Entry::new::<&str>(0, "s".into(), code, Some(display), &[], &[], &[], false)
    }

    #[test]
    fn counts_distinct_labels_by_their_opening_words() {
        let entries = [
            entry("A", "Fibrillation auriculaire"),
            entry("B", "Fibrillation auriculaire paroxystique"),
            entry("C", "Fibrillation auriculaire paroxystique"),
            entry("D", "Fausse alarme"),
            entry("E", "Maladie de la fibrillation auriculaire"),
        ];
        let p = LeadingPhrases::collect(&entries);
        // B and C share one label: it counts once.
        assert_eq!(p.count("fibrillation auriculaire"), 2);
        assert_eq!(p.count("fausse alarme"), 1);
        // Small words are left out; only the opening words count.
        assert_eq!(p.count("maladie fibrillation"), 1);
        assert_eq!(p.count("fibrillation auriculaire paroxystique"), 1);
    }
}
