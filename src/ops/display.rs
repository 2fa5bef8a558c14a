//! Choosing and checking displays: languages, designations, value-set labels.

use crate::model::{CodeSystem, Concept, Designation};

/// Language preferences of a request (`displayLanguage` or `Accept-Language`), best first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Languages(pub Vec<String>);

impl Languages {
    /// Parses `fr, en;q=0.5, *` into ordered tags (weights sort, `*` dropped).
    pub fn parse(header: &str) -> Languages {
        let mut tags: Vec<(f32, usize, String)> = header
            .split(',')
            .enumerate()
            .filter_map(|(i, part)| {
                let mut bits = part.split(';');
                let tag = bits.next()?.trim();
                if tag.is_empty() {
                    return None;
                }
                let q = bits
                    .find_map(|b| b.trim().strip_prefix("q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some((q, i, tag.to_string()))
            })
            .collect();
        tags.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        Languages(tags.into_iter().map(|t| t.2).collect())
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|t| t == "*")
    }

    pub fn first(&self) -> Option<&str> {
        self.0.iter().find(|t| *t != "*").map(String::as_str)
    }
}

/// `fr` matches `fr`, `fr-FR`; `fr-FR` matches `fr-FR` and `fr`.
pub fn language_matches(wanted: &str, actual: &str) -> bool {
    let w = wanted.to_ascii_lowercase();
    let a = actual.to_ascii_lowercase();
    w == a || a.starts_with(&format!("{w}-")) || w.starts_with(&format!("{a}-"))
}

/// The display to show for a concept in the requested languages: a designation in the first
/// matching language, else the concept's display.
pub fn display_for<'a>(
    cs: &'a CodeSystem,
    concept: &'a Concept,
    langs: &Languages,
) -> Option<&'a str> {
    display_in_languages(cs, concept, langs).or(concept.display.as_deref())
}

/// The concept's display in the first requested language the code system has one in (its own
/// display when the system is in that language, else a designation); `None` when it has none
/// in those languages, or none are asked for.
pub fn display_in_languages<'a>(
    cs: &'a CodeSystem,
    concept: &'a Concept,
    langs: &Languages,
) -> Option<&'a str> {
    let default_lang = cs.meta.language.as_deref();
    for wanted in langs.0.iter().filter(|t| *t != "*") {
        if let Some(l) = default_lang {
            if language_matches(wanted, l) && concept.display.is_some() {
                return concept.display.as_deref();
            }
        }
        if let Some(d) = concept.designations.iter().find(|d| {
            d.language
                .as_deref()
                .is_some_and(|l| language_matches(wanted, l))
        }) {
            return Some(&d.value);
        }
    }
    None
}

/// Normalises a display for lenient comparison: case, accents kept, whitespace runs collapsed,
/// typographic apostrophes made plain.
pub fn normalise(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for ch in s.trim().chars() {
        let ch = match ch {
            '\u{2019}' | '\u{2018}' | '`' | '´' => '\'',
            c => c,
        };
        if ch.is_whitespace() {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            space = false;
            out.extend(ch.to_lowercase());
        }
    }
    out
}

/// How a display differs from an expected one when the difference is only typographic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Difference {
    pub case: bool,
    pub whitespace: bool,
    pub quotes: bool,
}

impl Difference {
    /// `differs only by case`, `… by whitespace`, `… by apostrophe/quote characters`, or a
    /// combination (`differs only by case and whitespace`).
    pub fn describe(&self) -> String {
        let mut kinds = Vec::new();
        if self.case {
            kinds.push("case");
        }
        if self.whitespace {
            kinds.push("whitespace");
        }
        if self.quotes {
            kinds.push("apostrophe/quote characters");
        }
        let list = match kinds.as_slice() {
            [] => String::new(),
            [one] => (*one).to_string(),
            [init @ .., last] => format!("{} and {last}", init.join(", ")),
        };
        format!("differs only by {list}")
    }
}

/// Apostrophe and quote variants: typographic apostrophes, primes, backticks and accents
/// used as apostrophes, guillemets and curly quotes.
fn plain_quote(c: char) -> char {
    match c {
        '\u{2019}' | '\u{2018}' | '\u{201B}' | '\u{2032}' | '`' | '\u{00B4}' | '\u{02BC}' => '\'',
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{00AB}' | '\u{00BB}' | '\u{2033}' => '"',
        c => c,
    }
}

fn fold(s: &str, case: bool, whitespace: bool, quotes: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let text = if whitespace { s.trim() } else { s };
    let mut space = false;
    for ch in text.chars() {
        let ch = if quotes { plain_quote(ch) } else { ch };
        if whitespace && ch.is_whitespace() {
            if !space {
                out.push(' ');
            }
            space = true;
            continue;
        }
        space = false;
        if case {
            out.extend(ch.to_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// The smallest set of typographic differences (case, whitespace, apostrophe/quote) that
/// separates `given` from `expected`, or `None` when they differ otherwise (or not at all).
pub fn typographic_difference(given: &str, expected: &str) -> Option<Difference> {
    if given == expected {
        return None;
    }
    // Subsets by size: one kind first, then two, then all three.
    const ORDER: [(bool, bool, bool); 7] = [
        (true, false, false),
        (false, true, false),
        (false, false, true),
        (true, true, false),
        (true, false, true),
        (false, true, true),
        (true, true, true),
    ];
    ORDER.iter().find_map(|&(case, whitespace, quotes)| {
        (fold(given, case, whitespace, quotes) == fold(expected, case, whitespace, quotes))
            .then_some(Difference {
                case,
                whitespace,
                quotes,
            })
    })
}

/// Every display a concept may legitimately be shown with: its display, its designations, and
/// the value set's own labels for it.
pub fn accepted_displays<'a>(
    concept: Option<&'a Concept>,
    vs_labels: &'a [&'a str],
    vs_designations: &'a [Designation],
) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    if let Some(c) = concept {
        out.extend(c.display_candidates());
    }
    out.extend(vs_labels.iter().copied());
    out.extend(vs_designations.iter().map(|d| d.value.as_str()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_is_ordered_by_weight() {
        let l = Languages::parse("en, en-AU; q=0.4, de;q=0.9");
        assert_eq!(l.0, vec!["en", "de", "en-AU"]);
    }

    #[test]
    fn typographic_differences_are_named() {
        let d = |a: &str, b: &str| typographic_difference(a, b).map(|d| d.describe());
        assert_eq!(d("Fiche", "Fiche"), None);
        assert_eq!(
            d("fiche d'admission", "Fiche d'admission").as_deref(),
            Some("differs only by case")
        );
        assert_eq!(
            d("Fiche  d'admission ", "Fiche d'admission").as_deref(),
            Some("differs only by whitespace")
        );
        assert_eq!(
            d("Fiche d’admission", "Fiche d'admission").as_deref(),
            Some("differs only by apostrophe/quote characters")
        );
        assert_eq!(
            d("fiche  d'admission", "Fiche d'admission").as_deref(),
            Some("differs only by case and whitespace")
        );
        assert_eq!(
            d("FICHE  D’ADMISSION", "Fiche d'admission").as_deref(),
            Some("differs only by case, whitespace and apostrophe/quote characters")
        );
        assert_eq!(d("Fiche d'entrée", "Fiche d'admission"), None);
    }

    #[test]
    fn normalisation_forgives_case_spaces_apostrophes() {
        assert_eq!(
            normalise("Fiche  d’admission "),
            normalise("fiche d'admission")
        );
    }
}
