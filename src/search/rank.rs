//! Second stage: re-rank the candidates tantivy returned, in Rust, on explicit criteria.
//!
//! In order: exact code match; every word matched (as a prefix, stem, synonym, acronym or a
//! word joining two typed words) in the display; matches as typed before derived ones (stems,
//! synonyms, typos: "dentiste" prefers "Chirurgien-Dentiste" to "Assistant dentaire"), fewer
//! typos first, acronyms last among those (but a word typed in capitals is read first as an
//! acronym: "CIV"); matches at word starts before matches inside compound words ("kiné" in
//! "Masseur-Kinésithérapeute"); display before designation before description; active before
//! retired; selectable before grouping concepts (notSelectable); the display starting with
//! the query; the label closest to what the query names (no other word, one, more); among
//! acronym readings, the one whose words open more labels of the data (`LeadingPhrases`);
//! shallower in the hierarchy first (a concept before its descendants); shorter display
//! first; then code and system, so the same query always gives the same order.
//! A label that writes in capitals the acronym the typed words spell ("protection
//! maternelle" → « PMI … ») answers every word, each derived, as one acronym.
//! `SearchIndex::promote_parents` then puts a parent before its children when it answers
//! part of the query.

use std::cmp::{Ordering, Reverse};

use super::analysis::{acronym_run, code_key, is_stop_word, Analyzer, Word};
use super::entries::Entry;
use super::phrases::LeadingPhrases;
use super::query::{
    contracts, spells, typo_distance, Alternative, How, Mode, ParsedQuery, Piece, Unit,
};

/// The sort key of one candidate; smaller is better.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RankKey {
    /// Required units found nowhere in the entry (only in `Mode::Relaxed`).
    missing: usize,
    not_code: bool,
    not_in_display: bool,
    derived: usize,
    /// Words matched as contractions ("tlm"), after those matched any other way.
    contractions: usize,
    /// Edits the typo-tolerant matches needed, summed: one typo before two.
    typos: usize,
    acronyms: usize,
    inside_words: usize,
    tier: u8,
    inactive: bool,
    not_selectable: bool,
    not_at_start: bool,
    /// Ordinary words of the matched label the query does not account for, 0, 1 or more: the
    /// label that is what the query names first ("hypothyroïdie" → « Hypothyroïdie » before
    /// « Hypothyroïdie postinterventionnelle »), then labels of one word more; beyond, the
    /// hierarchy speaks before the length.
    extra_words: u8,
    /// Among acronym readings that say as much, the one whose words open more labels of the
    /// data first (`LeadingPhrases`); a run inside a label counts as opening none.
    acronym_rarity: Reverse<u32>,
    /// For a query of initials only, the words after the label's first comma, a qualifier of
    /// the phrase before it, the query does not account for (0, 1 or more): counted apart
    /// from `extra_words`, so that « Leucémie myéloïde chronique, ABL1-BCR positif » says as
    /// much as « Leucémie myélomonocytaire chronique » for "LMC" and the reading the data is
    /// built around decides. For words, every word of the label counts in `extra_words`
    /// (« Grippe virale » before the extension code « Grippe, porc »).
    qualifier_words: u8,
    /// Shallower first: a concept before its own descendants, and, as a rule, a general
    /// category before a detail of another branch (ICD-11 extension codes sit deeper than
    /// diagnoses).
    depth: u8,
    display_len: usize,
    code: String,
    system: std::sync::Arc<str>,
}

/// A text cut into folded words, with their stems.
struct Text {
    words: Vec<Word>,
    stems: Vec<String>,
}

impl Text {
    fn new(analyzer: &mut Analyzer, s: &str) -> Text {
        let words = analyzer.words(s);
        let stems = words.iter().map(|w| analyzer.stem(&w.text)).collect();
        Text { words, stems }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Hit {
    derived: bool,
    /// Matched as a contraction ("tlm" in "télémédecine"): looser than any typo.
    contracted: bool,
    /// Edits a typo-tolerant match needed (1 or 2): fewer first.
    typos: usize,
    /// Matched as an acronym: the most ambiguous derivation, after stems and synonyms.
    acronym: bool,
    /// How many labels open with the words of an acronym's run (`RankKey::acronym_rarity`).
    rarity: Reverse<u32>,
    inside: bool,
    pos: usize,
    /// Ordinary words of the text the match accounts for (an acronym: the words of its run).
    covers: usize,
    /// Matched as an acronym, whether or not that counts as derived (`acronym`).
    initials: bool,
}

/// Whether some beginning of `word` is at most `edits` edits (insertion, deletion,
/// substitution or transposition of neighbours) away from `typed`: the Rust twin of
/// tantivy's fuzzy prefix.
pub fn prefix_within_edits(typed: &str, word: &str, edits: u8) -> bool {
    prefix_edits(typed, word).is_some_and(|d| d <= usize::from(edits))
}

/// The fewest edits between `typed` and a beginning of `word`.
fn prefix_edits(typed: &str, word: &str) -> Option<usize> {
    let t: Vec<char> = typed.chars().collect();
    let w: Vec<char> = word.chars().collect();
    // Rows of the optimal-string-alignment distance between t[..i] and w[..j].
    let mut before: Vec<usize> = Vec::new();
    let mut prev: Vec<usize> = (0..=w.len()).collect();
    for i in 1..=t.len() {
        let mut cur = vec![i; w.len() + 1];
        for j in 1..=w.len() {
            let mut d = (prev[j - 1] + usize::from(t[i - 1] != w[j - 1]))
                .min(prev[j] + 1)
                .min(cur[j - 1] + 1);
            if i > 1 && j > 1 && t[i - 1] == w[j - 2] && t[i - 2] == w[j - 1] {
                d = d.min(before[j - 2] + 1);
            }
            cur[j] = d;
        }
        before = std::mem::replace(&mut prev, cur);
    }
    prev.into_iter().min()
}

/// The ordinary words of `words` from `start`, `n` of them, joined by a space, when they
/// are the label's first ordinary words.
fn leading_phrase(words: &[Word], start: usize, n: usize) -> Option<String> {
    let mut ordinary = words
        .iter()
        .map(|w| w.text.as_str())
        .filter(|w| !is_stop_word(w));
    let first = words.get(start).map(|w| w.text.as_str())?;
    if ordinary.next() != Some(first) {
        return None;
    }
    let run: Vec<&str> = std::iter::once(first)
        .chain(ordinary.take(n.saturating_sub(1)))
        .collect();
    Some(run.join(" "))
}

fn piece_hit(p: &Piece, text: &Text, cx: &Cx) -> Option<Hit> {
    if p.how == How::Acronym {
        return acronym_run(&text.words, &p.text).map(|(pos, covers)| Hit {
            derived: true,
            contracted: false,
            typos: 0,
            acronym: true,
            rarity: Reverse(
                leading_phrase(&text.words, pos, covers).map_or(0, |ph| cx.phrases.count(&ph)),
            ),
            inside: false,
            pos,
            covers,
            initials: true,
        });
    }
    let mut best: Option<Hit> = None;
    for (pos, w) in text.words.iter().enumerate() {
        let strict = match &p.how {
            How::Prefix | How::Respelled => w.text.starts_with(p.text.as_str()),
            How::Exact { stem } => w.text == p.text || &text.stems[pos] == stem,
            How::Stem => text.stems[pos] == p.text,
            How::Word => w.text == p.text,
            How::Contraction => cx.contractions && contracts(&p.text, &w.text),
            How::Acronym => false,
        };
        let typos = if strict {
            Some(0)
        } else if cx.mode == Mode::Fuzzy && p.how == How::Prefix {
            let most = typo_distance(&p.text).min(cx.max_typos);
            prefix_edits(&p.text, &w.text).filter(|&d| d <= usize::from(most))
        } else {
            None
        };
        if let Some(typos) = typos {
            let hit = Hit {
                derived: typos > 0,
                contracted: p.how == How::Contraction,
                typos,
                acronym: false,
                rarity: Reverse(0),
                inside: p.word_start && !w.word_start,
                pos,
                covers: usize::from(!is_stop_word(&w.text)),
                initials: false,
            };
            if best.is_none_or(|b| hit < b) {
                best = Some(hit);
            }
        }
    }
    best
}

fn alternative_hit(a: &Alternative, text: &Text, cx: &Cx) -> Option<Hit> {
    let mut first: Option<Hit> = None;
    let mut inside = false;
    let mut derived = !a.typed;
    let mut contracted = false;
    let mut typos = 0;
    let mut acronym = false;
    let mut rarity = Reverse(0);
    let mut covers = 0;
    let mut initials = false;
    for p in &a.pieces {
        let h = piece_hit(p, text, cx)?;
        inside |= h.inside;
        derived |= h.derived;
        contracted |= h.contracted;
        typos += h.typos;
        acronym |= h.acronym;
        rarity = rarity.min(h.rarity);
        covers += h.covers;
        initials |= h.initials;
        first.get_or_insert(h);
    }
    first.map(|f| Hit {
        derived,
        contracted,
        typos,
        acronym,
        rarity,
        inside,
        pos: f.pos,
        covers,
        initials,
    })
}

fn unit_hit(u: &Unit, text: &Text, cx: &Cx) -> Option<Hit> {
    let mut best: Option<Hit> = None;
    let has_synonyms = u.alternatives.iter().any(|a| a.synonym);
    for a in &u.alternatives {
        let is_acronym = a.pieces.iter().any(|p| p.how == How::Acronym);
        // An acronym is derived: it cannot beat a match as typed (saves the runs), unless the
        // word was typed in capitals, which makes the acronym the reading as typed and every
        // other one derived.
        if is_acronym && !u.acronym_first && best.is_some_and(|b| !b.derived) {
            continue;
        }
        if let Some(mut h) = alternative_hit(a, text, cx) {
            if u.acronym_first {
                // The acronym itself written in a label ("… (IDE)") is also as typed, and so
                // is the meaning `synonyms.txt` gives it.
                let literal = a.typed
                    && text
                        .words
                        .get(h.pos)
                        .is_some_and(|w| w.capitals && u.typed.first() == Some(&w.text));
                h.derived = !(is_acronym || a.synonym || literal);
                // A meaning written for the abbreviation comes before initials that happen to
                // spell it ("IDM": « Infarctus du myocarde » before « Iodure de méthyle »).
                h.acronym = is_acronym && has_synonyms;
            }
            if best.is_none_or(|b| h < b) {
                best = Some(h);
            }
        }
    }
    best
}

/// Unit `i` answered by a word of `text` that joins it to a neighbour ("burnout" for "burn
/// out"): derived, and the word counts once, for the first of the two.
fn joined_hit(units: &[&Unit], i: usize, text: &Text, cx: &Cx) -> Option<Hit> {
    if cx.mode == Mode::Relaxed {
        return None;
    }
    let u = units[i];
    let before = i
        .checked_sub(1)
        .filter(|_| u.joined_to_previous)
        .map_or(&[][..], |p| units[p].joined.as_slice());
    let found = |joined: &[String]| {
        text.words
            .iter()
            .position(|w| joined.iter().any(|j| w.text.starts_with(j.as_str())))
    };
    if let Some(pos) = found(&u.joined) {
        return Some(Hit {
            derived: true,
            contracted: false,
            typos: 0,
            acronym: false,
            rarity: Reverse(0),
            inside: false,
            pos,
            covers: 1,
            initials: false,
        });
    }
    let pos = found(before)?;
    Some(Hit {
        derived: true,
        contracted: false,
        typos: 0,
        acronym: false,
        rarity: Reverse(0),
        inside: false,
        pos,
        covers: 0,
        initials: false,
    })
}

/// How well one text answers the required units, if it answers all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct FieldHit {
    inside_words: usize,
    not_at_start: bool,
    derived: usize,
    contractions: usize,
    typos: usize,
    acronyms: usize,
    /// Ordinary words of the text the query does not account for (`RankKey::extra_words`).
    extra_words: u8,
    acronym_rarity: Reverse<u32>,
    qualifier_words: u8,
}

fn field_hit(units: &[&Unit], text: &Text, cx: &Cx) -> Option<FieldHit> {
    let mut fh = FieldHit {
        inside_words: 0,
        not_at_start: false,
        derived: 0,
        contractions: 0,
        typos: 0,
        acronyms: 0,
        acronym_rarity: Reverse(0),
        extra_words: 0,
        qualifier_words: 0,
    };
    // Ordinary words the hits account for, before the first comma and after it.
    let mut covered = [0, 0];
    let mut all_initials = !units.is_empty();
    for (i, u) in units.iter().enumerate() {
        let Some(h) = unit_hit(u, text, cx).or_else(|| joined_hit(units, i, text, cx)) else {
            return spelled_hit(units, text, cx);
        };
        fh.inside_words += usize::from(h.inside);
        fh.derived += usize::from(h.derived);
        fh.contractions += usize::from(h.contracted);
        fh.typos += h.typos;
        fh.acronyms += usize::from(h.acronym);
        fh.acronym_rarity = Reverse(fh.acronym_rarity.0 + h.rarity.0);
        let after_comma = text.words.get(h.pos).is_some_and(|w| w.qualifier);
        covered[usize::from(after_comma)] += h.covers;
        all_initials &= h.initials;
        if i == 0 {
            fh.not_at_start = h.pos != 0;
        }
    }
    let ordinary = |qualifier: bool| {
        let words = text.words.iter().filter(|w| w.qualifier == qualifier);
        words.filter(|w| !is_stop_word(&w.text)).count()
    };
    let extra = |n: usize, covered: usize| u8::try_from(n.saturating_sub(covered).min(2));
    let (head, qualifier) = (
        extra(ordinary(false), covered[0]),
        extra(ordinary(true), covered[1]),
    );
    if all_initials {
        // Initials stand for a phrase: a label whose head is that phrase is that reading.
        fh.extra_words = head.unwrap_or(2);
        fh.qualifier_words = qualifier.unwrap_or(2);
    } else {
        let total = ordinary(false) + ordinary(true);
        fh.extra_words = extra(total, covered[0] + covered[1]).unwrap_or(2);
    }
    Some(fh)
}

/// The typed words answered by an acronym `text` writes in capitals (`query::spells`): every
/// word derived, as one acronym.
fn spelled_hit(units: &[&Unit], text: &Text, cx: &Cx) -> Option<FieldHit> {
    let spelled_out = cx.spelled_out?;
    let pos = text
        .words
        .iter()
        .position(|w| w.capitals && spells(spelled_out, &w.text))?;
    let ordinary = text.words.iter().filter(|w| !is_stop_word(&w.text)).count();
    Some(FieldHit {
        inside_words: 0,
        not_at_start: pos != 0,
        derived: units.len(),
        contractions: 0,
        typos: 0,
        acronyms: 1,
        extra_words: u8::try_from(ordinary.saturating_sub(1).min(2)).unwrap_or(2),
        acronym_rarity: Reverse(0),
        qualifier_words: 0,
    })
}

/// Ranks entries for one parsed query.
pub struct Ranker<'q> {
    query: &'q ParsedQuery,
    required: Vec<&'q Unit>,
    mode: Mode,
    contractions: bool,
    analyzer: Analyzer,
    phrases: &'q LeadingPhrases,
}

/// What a match is read with: the search stage, the data's leading phrases and how many
/// typos a word may have.
struct Cx<'a> {
    mode: Mode,
    contractions: bool,
    phrases: &'a LeadingPhrases,
    max_typos: u8,
    /// `ParsedQuery::spelled_out`.
    spelled_out: Option<&'a [String; 2]>,
}

impl<'q> Ranker<'q> {
    pub fn new(query: &'q ParsedQuery, mode: Mode, phrases: &'q LeadingPhrases) -> Self {
        Ranker {
            query,
            required: query.required().collect(),
            mode,
            contractions: mode != Mode::Strict,
            analyzer: Analyzer::default(),
            phrases,
        }
    }

    /// Whether contractions count ("tlm"), whatever the mode: they belong to the fallback
    /// stages, so not when the words as typed answered.
    pub fn with_contractions(mut self, on: bool) -> Self {
        self.contractions = on;
        self
    }

    pub fn key(&mut self, e: &Entry) -> RankKey {
        let cx = self.cx();
        let mode = cx.mode;
        let display = e.display().map(|d| Text::new(&mut self.analyzer, d));
        // Relaxed: rank on the required units the entry has, and count the others.
        let units: Vec<&Unit> = if mode == Mode::Relaxed {
            let texts: Vec<Text> = e
                .alts()
                .chain(e.descs())
                .map(|a| Text::new(&mut self.analyzer, a))
                .collect();
            self.required
                .iter()
                .copied()
                .filter(|u| {
                    display
                        .iter()
                        .chain(&texts)
                        .any(|t| unit_hit(u, t, &cx).is_some())
                })
                .collect()
        } else {
            self.required.clone()
        };
        let missing = self.required.len() - units.len();
        let mut in_display = display.as_ref().and_then(|t| field_hit(&units, t, &cx));
        if in_display.is_none_or(|h| h.extra_words > 0) {
            if let Some(split) = display.as_ref().and_then(|d| self.display_split(e, d)) {
                let hit = field_hit(&units, &split, &cx);
                in_display = in_display.into_iter().chain(hit).min();
            }
        }
        let mut tier = 0;
        let mut best = in_display;
        if best.is_none() {
            let alts: Vec<Text> = e.alts().map(|a| Text::new(&mut self.analyzer, a)).collect();
            best = alts.iter().filter_map(|t| field_hit(&units, t, &cx)).min();
            tier = if best.is_some() {
                1
            } else if self.covered_across(&units, display.as_ref(), &alts, e) {
                2
            } else {
                3
            };
        }
        RankKey {
            missing,
            not_code: code_key(e.code()) != self.query.code,
            not_in_display: in_display.is_none(),
            inside_words: best.map_or(usize::MAX, |b| b.inside_words),
            not_at_start: best.is_none_or(|b| b.not_at_start),
            derived: best.map_or(usize::MAX, |b| b.derived),
            contractions: best.map_or(usize::MAX, |b| b.contractions),
            typos: best.map_or(usize::MAX, |b| b.typos),
            acronyms: best.map_or(usize::MAX, |b| b.acronyms),
            acronym_rarity: best.map_or(Reverse(0), |b| b.acronym_rarity),
            extra_words: best.map_or(u8::MAX, |b| b.extra_words),
            qualifier_words: best.map_or(u8::MAX, |b| b.qualifier_words),
            tier,
            inactive: e.inactive,
            not_selectable: e.standing.not_selectable,
            depth: e.standing.depth,
            display_len: e.display().map_or(usize::MAX, |d| d.chars().count()),
            code: e.code().to_string(),
            system: e.system.clone(),
        }
    }

    fn cx(&self) -> Cx<'q> {
        Cx {
            mode: self.mode,
            contractions: self.contractions,
            phrases: self.phrases,
            max_typos: self.query.max_typos(),
            spelled_out: self.query.spelled_out.as_ref(),
        }
    }

    /// Whether the display or a designation of `e` answers at least one required unit.
    pub fn answers_part(&mut self, e: &Entry) -> bool {
        let cx = self.cx();
        let texts: Vec<Text> = e
            .display()
            .into_iter()
            .chain(e.alts())
            .map(|t| Text::new(&mut self.analyzer, t))
            .collect();
        self.required
            .iter()
            .any(|u| texts.iter().any(|t| unit_hit(u, t, &cx).is_some()))
    }

    /// The display cut at its one-word compounds, when the entry has it as a designation
    /// ("hemorragie sous-arachnoidienne" for « Hémorragie sousarachnoïdienne »): the same
    /// words, so a match there is a match in the display.
    fn display_split(&mut self, e: &Entry, display: &Text) -> Option<Text> {
        let joined: String = display.words.iter().map(|w| w.text.as_str()).collect();
        e.alts()
            .filter(|a| a.contains('-'))
            .map(|a| Text::new(&mut self.analyzer, a))
            .find(|t| {
                t.words.len() > display.words.len()
                    && t.words.iter().map(|w| w.text.as_str()).collect::<String>() == joined
            })
    }

    /// Every required unit found somewhere: display, a designation or a description.
    fn covered_across(
        &mut self,
        units: &[&Unit],
        display: Option<&Text>,
        alts: &[Text],
        e: &Entry,
    ) -> bool {
        let descs: Vec<Text> = e
            .descs()
            .map(|d| Text::new(&mut self.analyzer, d))
            .collect();
        let cx = self.cx();
        units.iter().all(|u| {
            display
                .into_iter()
                .chain(alts)
                .chain(&descs)
                .any(|t| unit_hit(u, t, &cx).is_some())
        })
    }
}

/// Orders `(key, item)` pairs by key.
pub fn by_key<T>(a: &(RankKey, T), b: &(RankKey, T)) -> Ordering {
    a.0.cmp(&b.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::synonyms::Synonyms;

    fn entry_with(code: &str, display: &str, alts: &[&str]) -> Entry {
        Entry::new(0, "s".into(), code, Some(display), alts, &[], &[], false)
    }

    fn entry(code: &str, display: &str) -> Entry {
        entry_with(code, display, &[])
    }

    fn rank(query: &str, entries: &[Entry], mode: Mode) -> Vec<String> {
        let mut a = Analyzer::default();
        let syn = Synonyms::builtin(&mut a);
        let q = ParsedQuery::parse(query, &mut a, &syn);
        let phrases = LeadingPhrases::collect(entries);
        let mut r = Ranker::new(&q, mode, &phrases);
        let mut keyed: Vec<(RankKey, &Entry)> = entries.iter().map(|e| (r.key(e), e)).collect();
        keyed.sort_by(by_key);
        keyed
            .into_iter()
            .map(|(_, e)| e.code().to_string())
            .collect()
    }

    #[test]
    fn prefixes_within_edits() {
        let one = |t: &str, w: &str| prefix_within_edits(t, w, 1);
        assert!(one("cardiolgie", "cardiologie"));
        assert!(one("operatoir", "operatoire"));
        assert!(one("opreatoire", "operatoire"));
        assert!(!one("oprtoire", "operatoire"));
        assert!(one("ophtalmo", "ophtalnologie"));
        assert!(!one("cardiolgie", "chirurgie"));
        // Two edits: a missing letter and a wrong one.
        assert!(prefix_within_edits("anevrysme", "anevrisme", 2));
        assert!(prefix_within_edits("pyelonefrite", "pyelonephrite", 2));
        assert!(!prefix_within_edits("pyelonefrite", "pyelonephrite", 1));
    }

    #[test]
    fn start_of_display_beats_inside_and_later_words() {
        let entries = [
            entry("SM11", "Chirurgie thoracique et cardio-vasculaire (SM)"),
            entry("SM04", "Cardiologie et Maladies vasculaires (SM)"),
        ];
        assert_eq!(rank("cardio", &entries, Mode::Strict), ["SM04", "SM11"]);
    }

    #[test]
    fn exact_code_first_then_shorter_then_code() {
        let entries = [
            entry("B", "Lettre de liaison à la sortie d'une structure sociale"),
            entry("A", "Lettre de liaison à la sortie d'un établissement"),
            entry("LETTRE", "Autre"),
        ];
        assert_eq!(rank("lettre", &entries, Mode::Strict), ["LETTRE", "A", "B"]);
        let same = [entry("Z", "Même"), entry("Y", "Même")];
        assert_eq!(rank("meme", &same, Mode::Strict), ["Y", "Z"]);
    }

    #[test]
    fn display_before_designation_and_active_before_retired() {
        let by_alt = entry_with("ALT", "Autre chose", &["Ophtalmologie"]);
        let mut retired = entry("OLD", "Ophtalmologie");
        retired.inactive = true;
        let active = entry("NEW", "Ophtalmologie");
        assert_eq!(
            rank("ophtalmo", &[by_alt, retired, active], Mode::Strict),
            ["NEW", "OLD", "ALT"]
        );
    }

    #[test]
    fn abbreviation_matches_the_display() {
        let entries = [
            entry("X", "Compte rendu opératoire"),
            entry("Y", "CR opératoire"),
        ];
        // Both match in the display; the typed form ("cr") beats the synonym.
        assert_eq!(rank("cr op", &entries, Mode::Strict), ["Y", "X"]);
    }

    fn standing(mut e: Entry, depth: u8, not_selectable: bool) -> Entry {
        e.standing = crate::search::entries::Standing {
            depth,
            not_selectable,
            ..Default::default()
        };
        e
    }

    #[test]
    fn a_real_word_before_an_acronym_and_a_whole_label_before_a_part() {
        let entries = [
            entry("PART", "Autres infections transmissibles"),
            entry("WORD", "Aitken, syndrome de"),
            entry("WHOLE", "Accident ischémique transitoire"),
            entry("NONE", "Accident vasculaire"),
        ];
        // "zit" is no word of these labels, and in no synonym group.
        let entries2 = [
            entry("PART", "Zone infectée tôt, peau"),
            entry("WHOLE", "Zonas intercostaux tardifs"),
        ];
        assert_eq!(
            rank("ait", &entries[..3], Mode::Strict),
            ["WORD", "WHOLE", "PART"]
        );
        assert_eq!(rank("zit", &entries2, Mode::Strict), ["WHOLE", "PART"]);
        // Part of a label next to an ordinary word.
        let flu = [
            entry("G", "Pneumopathie due au virus de la grippe"),
            entry("B", "Pneumopathie bactérienne"),
        ];
        assert_eq!(rank("pneumopathie vg", &flu, Mode::Strict)[0], "G");
    }

    #[test]
    fn the_display_cut_at_its_compounds_is_the_display() {
        let entries = [
            entry("SUB", "Hémorragie sousarachnoïdienne anévrismale"),
            entry_with(
                "CAT",
                "Hémorragie sousarachnoïdienne",
                &["hemorragie sous-arachnoidienne"],
            ),
        ];
        assert_eq!(rank("hsa", &entries, Mode::Strict), ["CAT", "SUB"]);
    }

    #[test]
    fn hierarchy_orders_what_the_words_do_not() {
        // A grouping concept after the codes; a concept before its descendant; the label that
        // is only what was typed before longer ones, whatever their depth.
        let entries = [
            standing(entry("CHILD", "Grippe saisonnière"), 3, false),
            standing(entry("EXT", "Grippe, porc"), 5, false),
            standing(entry("BLOCK", "Grippe"), 1, true),
            standing(entry("PARENT", "Grippe virale"), 2, false),
        ];
        assert_eq!(
            rank("grippe", &entries, Mode::Strict),
            ["PARENT", "CHILD", "EXT", "BLOCK"]
        );
        let exact = [
            standing(entry("DEEP", "Hypothyroïdie"), 4, false),
            standing(
                entry("SHALLOW", "Hypothyroïdie postinterventionnelle"),
                1,
                false,
            ),
        ];
        assert_eq!(
            rank("hypothyroidie", &exact, Mode::Strict),
            ["DEEP", "SHALLOW"]
        );
    }
}
