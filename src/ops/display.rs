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
    concept.display.as_deref()
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
    fn normalisation_forgives_case_spaces_apostrophes() {
        assert_eq!(
            normalise("Fiche  d’admission "),
            normalise("fiche d'admission")
        );
    }
}
