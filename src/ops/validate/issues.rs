//! The issues `$validate-code` reports more than once, built in one place so that their
//! wording, codes and message ids stay the same wherever they are raised.

use super::InputForm;
use crate::model::{CodeSystem, ResourceMeta, ValueSet};
use crate::ops::display::typographic_difference;
use crate::ops::issue::{Issue, Severity};
use crate::ops::lookup::unknown_code_message;
use crate::ops::Scope;

/// Message id of the note saying membership was decided by the value set alone.
pub(super) const MEMBERSHIP_BY_VALUE_SET: &str = "NOSTERM_MEMBERSHIP_BY_VALUE_SET";

/// Message id of the warning for a member the value set itself deprecates.
pub(super) const MEMBER_DEPRECATED: &str = "CONCEPT_DEPRECATED_IN_VALUESET";
pub(super) const UNKNOWN_CODE_IN_FRAGMENT: &str = "UNKNOWN_CODE_IN_FRAGMENT";
/// A code found under another case in a case-insensitive system: information, not in the
/// summary `message`.
pub(super) const CODE_CASE_DIFFERENCE: &str = "CODE_CASE_DIFFERENCE";

const NO_SYSTEM: &str = "Coding has no system. A code with no system has no defined meaning, and it cannot be validated. A system should be provided";

/// How a value set is named in messages.
pub(super) fn vs_label(vs: &ValueSet) -> String {
    if vs.meta.url.is_empty() {
        // An inline value set without a canonical URL.
        return "(unidentified)".to_string();
    }
    vs.meta.versioned_url()
}

/// `system|version`, or `system` alone.
pub(super) fn versioned(system: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{system}|{v}"),
        None => system.to_string(),
    }
}

/// The coding has no code.
pub(super) fn no_code(form: InputForm) -> Issue {
    Issue::new(
        Severity::Error,
        "invalid",
        "invalid-data",
        "No code was provided".into(),
    )
    .at(form.code())
}

/// The coding has no system: an error, or a warning where a value set's answer follows.
pub(super) fn no_system(severity: Severity, form: InputForm) -> Issue {
    Issue::new(severity, "invalid", "invalid-data", NO_SYSTEM.into()).at(form.coding())
}

/// The code is not in the value set (`system` may be empty, or carry `|version`).
pub(super) fn not_in_vs(
    system: &str,
    code: &str,
    display: Option<&str>,
    vs: &ValueSet,
    form: InputForm,
) -> Issue {
    let shown = match display {
        Some(d) => format!("{system}#{code} ('{d}')"),
        None => format!("{system}#{code}"),
    };
    Issue::new(
        Severity::Error,
        "code-invalid",
        "not-in-vs",
        format!(
            "The provided code '{shown}' was not found in the value set '{}'",
            vs_label(vs)
        ),
    )
    .at(form.code())
    .id("None_of_the_provided_codes_are_in_the_value_set_one")
}

/// The code system (in the version used) has no such code.
pub(super) fn unknown_code(cs: &CodeSystem, code: &str, form: InputForm) -> Issue {
    Issue::new(
        Severity::Error,
        "code-invalid",
        "invalid-code",
        unknown_code_message(cs, code),
    )
    .at(form.code())
    .id("Unknown_Code_in_Version")
}

/// A code found in a case-insensitive code system under another case: valid, with a note
/// giving the code as the system writes it (which is the code returned).
pub(super) fn case_difference(cs: &CodeSystem, given: &str, form: InputForm) -> Option<Issue> {
    let correct = &cs.concept(given)?.code;
    if correct == given {
        return None;
    }
    Some(
        Issue::new(
            Severity::Information,
            "business-rule",
            "code-rule",
            format!(
                "The code '{given}' differs from the correct code '{correct}' by case. Although the code system '{}' is case insensitive, implementers are strongly encouraged to use the correct case anyway",
                cs.meta.versioned_url()
            ),
        )
        .at(form.code())
        .id(CODE_CASE_DIFFERENCE),
    )
}

/// No code system is known by `system` (in `version`, when one is asked for).
pub(super) fn unknown_system(
    system: &str,
    version: Option<&str>,
    other_versions_known: bool,
    form: InputForm,
) -> Issue {
    let (text, message_id) = match version {
        Some(v) if other_versions_known => (format!(
            "A definition for CodeSystem '{system}' version '{v}' could not be found, so the code cannot be validated"
        ), "UNKNOWN_CODESYSTEM_VERSION"),
        Some(v) => (format!(
            "A definition for CodeSystem '{system}' version '{v}' could not be found, so the code cannot be validated. No versions of this code system are known"
        ), "UNKNOWN_CODESYSTEM_VERSION_NONE"),
        None => (format!(
            "A definition for CodeSystem '{system}' could not be found, so the code cannot be validated"
        ), "UNKNOWN_CODESYSTEM"),
    };
    Issue::new(Severity::Error, "not-found", "not-found", text)
        .at(form.system())
        .id(message_id)
}

/// The versions of `url` known, for messages: `1.0 or 2.0`.
fn valid_versions(scope: &Scope, url: &str) -> String {
    let versions: Vec<String> = scope
        .code_system_versions(url)
        .iter()
        .filter_map(|c| c.meta.version.clone())
        .collect();
    versions.join(" or ")
}

/// Code system `url` is known, but not in `version`.
pub(super) fn unknown_version(scope: &Scope, url: &str, version: &str, form: InputForm) -> Issue {
    Issue::new(
        Severity::Error,
        "not-found",
        "not-found",
        format!(
            "A definition for CodeSystem '{url}' version '{version}' could not be found, so the code cannot be validated. Valid versions: {}",
            valid_versions(scope, url)
        ),
    )
    .at(form.system())
    .id("UNKNOWN_CODESYSTEM_VERSION")
}

/// The display given is not one of the code's: an error, or a warning with `lenient_display`.
/// `choices` are the displays offered (with their languages), `alternatives` the others a
/// near miss may have been aimed at.
pub(super) struct WrongDisplay<'a> {
    pub given: &'a str,
    pub system: &'a str,
    pub code: &'a str,
    pub choices: &'a [(&'a str, Option<&'a str>)],
    pub alternatives: &'a [&'a str],
}

pub(super) fn wrong_display(
    wrong: &WrongDisplay,
    languages: &[&str],
    lenient: bool,
    form: InputForm,
) -> Issue {
    let WrongDisplay {
        given,
        system,
        code,
        choices,
        alternatives,
    } = *wrong;
    let expected = choices.first().map_or("", |c| c.0);
    let severity = if lenient {
        Severity::Warning
    } else {
        Severity::Error
    };
    let asked = if languages.is_empty() {
        "--".to_string()
    } else {
        languages.join(", ")
    };
    let mut text = format!(
        "Wrong Display Name '{given}' for {system}#{code}. Valid display is {} (for the language(s) '{asked}')",
        display_choices(choices)
    );
    // A typo rather than a wrong code: say so, in the same issue (validators match the
    // sentence above; the clause only adds to it).
    let near = std::iter::once(expected)
        .chain(alternatives.iter().copied())
        .find_map(|d| typographic_difference(given, d).map(|k| (d, k)));
    // The reference names a display that differs only by whitespace with its own message id.
    let message_id = match &near {
        Some((_, k)) if k.whitespace && !k.case && !k.quotes => {
            "Display_Name_WS_for__should_be_one_of__instead_of"
        }
        _ => "Display_Name_for__should_be_one_of__instead_of",
    };
    if let Some((d, kind)) = near {
        if d == expected {
            text.push_str(&format!(" \u{2014} {}", kind.describe()));
        } else {
            text.push_str(&format!(" \u{2014} {} from '{d}'", kind.describe()));
        }
    }
    Issue::new(severity, "invalid", "invalid-display", text)
        .at(form.display())
        .id(message_id)
}

/// `'Display' (en)`, or with several: `one of 2 choices: 'Display' (en) or 'Anzeige' (de)`.
fn display_choices(choices: &[(&str, Option<&str>)]) -> String {
    let shown: Vec<String> = choices
        .iter()
        .map(|(d, lang)| match lang {
            Some(l) => format!("'{d}' ({l})"),
            None => format!("'{d}'"),
        })
        .collect();
    match shown.as_slice() {
        [] => "''".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!(
            "one of {} choices: {} or {last}",
            shown.len(),
            init.join(", ")
        ),
    }
}

/// The publication status worth telling a user about: draft, experimental, or a standards
/// status (deprecated, withdrawn) given by extension.
fn publication_status(meta: &ResourceMeta) -> Option<String> {
    let standards = meta.extensions.iter().find_map(|e| {
        (e.get("url").and_then(|u| u.as_str())
            == Some("http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status"))
        .then(|| {
            e.get("valueCode")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .flatten()
    });
    match standards.as_deref() {
        Some("deprecated") | Some("withdrawn") => standards,
        _ if meta.status == "draft" => Some("draft".into()),
        _ if meta.experimental == Some(true) => Some("experimental".into()),
        _ => None,
    }
}

/// "Reference to draft CodeSystem url|version" (information).
pub(super) fn status_issue(kind: &str, meta: &ResourceMeta) -> Option<Issue> {
    let status = publication_status(meta)?;
    Some(
        Issue::new(
            Severity::Information,
            "business-rule",
            "status-check",
            format!("Reference to {status} {kind} {}", meta.versioned_url()),
        )
        .id(match status.as_str() {
            "draft" => "MSG_DRAFT",
            "experimental" => "MSG_EXPERIMENTAL",
            "withdrawn" => "MSG_WITHDRAWN",
            _ => "MSG_DEPRECATED",
        }),
    )
}

/// Status notes for the value sets `vs` imports.
pub(super) fn imported_status_issues(scope: &Scope, vs: &ValueSet) -> Vec<Issue> {
    vs.compose
        .include
        .iter()
        .flat_map(|i| i.value_sets.iter())
        .filter_map(|u| crate::ops::members::resolve_value_set(scope, u).ok())
        .filter_map(|v| status_issue("ValueSet", &v.meta))
        .collect()
}
