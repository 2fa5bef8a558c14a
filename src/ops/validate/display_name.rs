//! Step that checks the display given with a coding: against the concept's displays and
//! designations (supplements included), the value set's labels, and the languages asked for.

use super::issues::{wrong_display, WrongDisplay};
use super::{requested_languages, CodingCheck, Step};
use crate::model::{CodeSystem, Concept};
use crate::ops::display::language_matches;
use crate::ops::issue::{Issue, Severity};
use crate::ops::members::Hit;

/// What the display check reads besides the step: the code system version and concept, the
/// system URL for messages, the value set's word on the code, and the display expected.
pub(super) struct DisplayContext<'a> {
    pub cs: &'a CodeSystem,
    pub concept: &'a Concept,
    pub url: &'a str,
    pub hit: Option<&'a Hit>,
    /// The display the answer gives (in the languages asked for).
    pub expected: &'a str,
}

/// Checks the display given, if any; false when a wrong display makes the coding invalid.
pub(super) fn check_display(step: &Step, ctx: &DisplayContext, out: &mut CodingCheck) -> bool {
    let Some(given) = step.input.display.as_deref() else {
        return true;
    };
    if step.opts.membership_only {
        return true;
    }
    if let Some(retired) = retired_display_issue(ctx.concept, step.code, given, step.form) {
        out.issues.push(retired);
        return true;
    }
    // The value set's own labels for the code count as displays too.
    let labels: Vec<&str> = ctx
        .hit
        .iter()
        .flat_map(|h| {
            h.label
                .iter()
                .map(String::as_str)
                .chain(h.designations.iter().map(|d| d.value.as_str()))
        })
        .collect();
    let wanted = requested_languages(step.opts);
    let issue = if wanted.is_empty() {
        display_in_any_language(step, ctx, given, &labels)
    } else {
        display_in_languages(step, ctx, given, &labels, &wanted)
    };
    let Some(issue) = issue else {
        return true;
    };
    let valid = !issue.is_error();
    out.issues.push(issue);
    valid
}

/// Without languages asked for, any display or designation of the concept will do.
fn display_in_any_language(
    step: &Step,
    ctx: &DisplayContext,
    given: &str,
    labels: &[&str],
) -> Option<Issue> {
    let alternatives: Vec<&str> = ctx
        .concept
        .display_candidates()
        .chain(labels.iter().copied())
        .collect();
    if alternatives.contains(&given) {
        return None;
    }
    Some(wrong_display(
        &WrongDisplay {
            given,
            system: ctx.url,
            code: step.code,
            choices: &displays_by_language(ctx.cs, ctx.concept, ctx.expected),
            alternatives: &alternatives,
        },
        &[],
        step.opts.lenient_display,
        step.form,
    ))
}

/// With languages asked for, only the displays in those languages count; a code system that
/// states no language is language-neutral.
fn display_in_languages(
    step: &Step,
    ctx: &DisplayContext,
    given: &str,
    labels: &[&str],
    wanted: &[&str],
) -> Option<Issue> {
    let (concept, url, code) = (ctx.concept, ctx.url, step.code);
    let any_language = concept
        .display_candidates()
        .chain(labels.iter().copied())
        .any(|d| d == given);
    let cs_lang = ctx.cs.meta.language.as_deref();
    let in_lang = |lang: Option<&str>| match lang.or(cs_lang) {
        None => true,
        Some(l) => wanted.iter().any(|w| language_matches(w, l)),
    };
    let mut localised: Vec<&str> = Vec::new();
    if in_lang(None) {
        localised.extend(concept.display.as_deref());
        localised.extend(labels.iter().copied());
    }
    localised.extend(
        concept
            .designations
            .iter()
            .filter(|d| in_lang(d.language.as_deref()))
            .map(|d| d.value.as_str()),
    );
    let asked = wanted.join(", ");
    if localised.contains(&given) {
        // Right display in the right language.
        return None;
    }
    if localised.is_empty() && any_language {
        return Some(
            Issue::new(
                Severity::Information,
                "invalid",
                "invalid-display",
                format!("There are no valid display names found for the code {url}#{code} for language(s) '{asked}'. The display is '{given}' which is a valid display for the default language"),
            )
            .at(step.form.display()),
        );
    }
    if localised.is_empty() {
        let default = concept.display.clone().unwrap_or_default();
        let severity = if step.opts.lenient_display {
            Severity::Warning
        } else {
            Severity::Error
        };
        return Some(
            Issue::new(
                severity,
                "invalid",
                "invalid-display",
                format!("Wrong Display Name '{given}' for {url}#{code}. There are no valid display names found for language(s) '{asked}'. Default display is '{default}'"),
            )
            .at(step.form.display()),
        );
    }
    Some(wrong_display(
        &WrongDisplay {
            given,
            system: url,
            code,
            choices: &[(
                ctx.expected,
                language_of(ctx.cs, concept, ctx.expected, wanted),
            )],
            alternatives: &localised,
        },
        wanted,
        step.opts.lenient_display,
        step.form,
    ))
}

/// A warning when `given` is only a display the concept no longer accepts (a withdrawn or
/// deprecated designation): still valid, but to be reviewed.
fn retired_display_issue(
    concept: &Concept,
    code: &str,
    given: &str,
    form: super::InputForm,
) -> Option<Issue> {
    let current: Vec<&str> = concept
        .display
        .as_deref()
        .into_iter()
        .chain(
            concept
                .designations
                .iter()
                .filter(|d| !d.is_retired() && d.language.is_some())
                .map(|d| d.value.as_str()),
        )
        .collect();
    let mut same = concept.designations.iter().filter(|d| d.value == given);
    let only_retired = concept.display.as_deref() != Some(given)
        && same.clone().next().is_some()
        && same.all(|d| d.is_retired());
    if !only_retired {
        return None;
    }
    // Each correct display once, sorted; quoted when it holds a space.
    let mut current = current;
    current.sort_unstable();
    current.dedup();
    let correct: Vec<String> = current
        .iter()
        .map(|d| {
            if d.contains(char::is_whitespace) {
                format!("\"{d}\"")
            } else {
                d.to_string()
            }
        })
        .collect();
    // A withdrawn designation (a SNOMED CT inactive description) is inactive.
    let status = concept
        .designations
        .iter()
        .filter(|d| d.value == given)
        .find_map(|d| d.retirement())
        .map(|s| if s == "withdrawn" { "inactive" } else { s })
        .unwrap_or("deprecated");
    Some(
        Issue::new(
            Severity::Warning,
            "invalid",
            "display-comment",
            format!(
                "'{given}' is no longer considered a correct display for code '{code}' (status = {status}). The correct display is one of {}.",
                correct.join(",")
            ),
        )
        .at(form.display())
        .id("INACTIVE_DISPLAY_FOUND"),
    )
}

/// The language `display` is written in: the code system's for the concept's own display, else
/// that of the designation with this text (one in a language asked for first).
fn language_of<'a>(
    cs: &'a CodeSystem,
    concept: &'a Concept,
    display: &str,
    wanted: &[&str],
) -> Option<&'a str> {
    let cs_lang = cs.meta.language.as_deref();
    if concept.display.as_deref() == Some(display) {
        return cs_lang;
    }
    let same: Vec<Option<&str>> = concept
        .designations
        .iter()
        .filter(|d| d.value == display)
        .map(|d| d.language.as_deref().or(cs_lang))
        .collect();
    same.iter()
        .copied()
        .find(|l| l.is_some_and(|l| wanted.iter().any(|w| language_matches(w, l))))
        .or_else(|| same.first().copied())
        .unwrap_or(cs_lang)
}

/// The displays a concept has in a stated language, for messages: the display expected (in its
/// language), then its designations that state a language.
fn displays_by_language<'a>(
    cs: &'a CodeSystem,
    concept: &'a Concept,
    expected: &'a str,
) -> Vec<(&'a str, Option<&'a str>)> {
    let mut out: Vec<(&str, Option<&str>)> =
        vec![(expected, language_of(cs, concept, expected, &[]))];
    for d in concept.designations.iter().filter(|d| !d.is_retired()) {
        let Some(lang) = d.language.as_deref() else {
            continue;
        };
        let choice = (d.value.as_str(), Some(lang));
        if !out.contains(&choice) {
            out.push(choice);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{CodingCheck, Options, Target};
    use super::*;
    use crate::ops::display::Languages;
    use crate::ops::Scope;

    /// Runs the display step for code `a` ("Alpha", "Alpha fr" in French) against the code
    /// system, with the display given and these options.
    fn display_check(given: &str, opts: &Options) -> (bool, CodingCheck) {
        display_check_in(given, opts, None)
    }

    /// The same, the code system stating the language of its displays.
    fn display_check_in(
        given: &str,
        opts: &Options,
        language: Option<&str>,
    ) -> (bool, CodingCheck) {
        let cat = standard_catalog();
        let scope = Scope::new(&cat);
        let mut cs = (*scope.code_system(CS, Some("1")).expect("version 1")).clone();
        cs.meta.language = language.map(str::to_string);
        let concept = cs.concept("a").expect("a");
        let coding = input(Some(CS), "a", Some(given));
        let target = Target::CodeSystem {
            system: Some(CS),
            version: None,
        };
        // The display the answer gives, as `check_coding` chooses it.
        let expected = crate::ops::display::display_for(&cs, concept, &opts.languages)
            .unwrap_or_default()
            .to_string();
        with_step(&scope, target, &coding, opts, |s, o| {
            let ctx = DisplayContext {
                cs: &cs,
                concept,
                url: CS,
                hit: None,
                expected: &expected,
            };
            check_display(s, &ctx, o)
        })
    }

    #[test]
    fn any_display_of_the_concept_will_do_without_languages() {
        for given in ["Alpha", "Alpha fr"] {
            let (ok, out) = display_check(given, &options());
            assert!(ok && out.issues.is_empty(), "{given}: {:?}", out.issues);
        }
    }

    /// A wrong display lists the choices by language and notes a near miss; lenient, it is
    /// a warning that leaves the coding valid.
    #[test]
    fn a_wrong_display_is_an_error_or_when_lenient_a_warning() {
        let (ok, out) = display_check("alpha", &options());
        assert!(!ok);
        assert_eq!(
            ids(&out),
            vec!["Display_Name_for__should_be_one_of__instead_of"]
        );
        assert!(out.issues[0].text.starts_with(&format!(
            "Wrong Display Name 'alpha' for {CS}#a. Valid display is one of 2 choices: 'Alpha' or 'Alpha fr' (fr) (for the language(s) '--') \u{2014}"
        )), "{}", out.issues[0].text);
        assert_eq!(out.issues[0].expression.as_deref(), Some("Coding.display"));
        let lenient = Options {
            lenient_display: true,
            ..options()
        };
        let (ok, out) = display_check("Gamma", &lenient);
        assert!(ok);
        assert_eq!(out.issues[0].severity, Severity::Warning);
    }

    /// With a language asked for, the display must be one in that language (a code system
    /// stating no language is language-neutral); a display in the default language only is
    /// information when the language asked for has none.
    #[test]
    fn with_languages_only_displays_in_them_count() {
        let french = Options {
            languages: Languages(vec!["fr".into()]),
            ..options()
        };
        for given in ["Alpha fr", "Alpha"] {
            let (ok, out) = display_check(given, &french);
            assert!(ok && out.issues.is_empty(), "{given}: {:?}", out.issues);
        }
        let (ok, out) = display_check_in("Alpha", &french, Some("en"));
        assert!(!ok);
        // The display expected in French is the French designation, labelled French.
        assert!(
            out.issues[0]
                .text
                .ends_with("Valid display is 'Alpha fr' (fr) (for the language(s) 'fr')"),
            "{}",
            out.issues[0].text
        );
        let german = Options {
            languages: Languages(vec!["de".into()]),
            ..options()
        };
        let (ok, out) = display_check_in("Alpha", &german, Some("en"));
        assert!(ok);
        assert_eq!(out.issues[0].severity, Severity::Information);
        let (ok, out) = display_check_in("Gamma", &german, Some("en"));
        assert!(!ok);
        assert!(out.issues[0].text.ends_with("Default display is 'Alpha'"));
    }
}
