//! `$validate-code` on CodeSystem and ValueSet: exact, in-memory checks of a code, Coding or
//! CodeableConcept, with the messages and issue codes FHIR validators expect.

use std::sync::Arc;

use super::display::{display_for, normalise, Languages};
use super::issue::{Issue, Severity};
use super::lookup::unknown_code_message;
use super::members::{contains, Hit};
use crate::catalog::Scope;
use crate::error::Result;
use crate::model::{CodeSystem, ValueSet};

/// One coding to check, as the request gave it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodingInput {
    pub system: Option<String>,
    pub version: Option<String>,
    pub code: Option<String>,
    pub display: Option<String>,
}

/// What is being validated; decides the FHIRPath used in issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// `code` + `system` + `display` parameters.
    Code(CodingInput),
    /// `coding` parameter.
    Coding(CodingInput),
    /// `codeableConcept` parameter.
    CodeableConcept(Vec<CodingInput>),
}

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub languages: Languages,
    /// A wrong display is a warning, not an error.
    pub lenient_display: bool,
    /// Inactive codes are not valid.
    pub active_only: bool,
    /// Only membership matters: skip display checks.
    pub membership_only: bool,
    /// `systemVersion` / `system-version` default for codings without a version.
    pub system_version: Option<String>,
    /// Abstract (notSelectable) concepts are acceptable (default true).
    pub allow_abstract: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ValidateResult {
    pub result: bool,
    pub system: Option<String>,
    pub version: Option<String>,
    pub code: Option<String>,
    pub display: Option<String>,
    pub inactive: Option<bool>,
    pub message: Option<String>,
    pub issues: Vec<Issue>,
    /// Echo of the CodeableConcept validated.
    pub codeable_concept: Option<Vec<CodingInput>>,
    /// Systems that could not be found.
    pub unknown_systems: Vec<String>,
}

struct Paths {
    code: String,
    display: String,
    system: String,
    coding: String,
}

fn paths(subject_kind: &str, i: usize) -> Paths {
    match subject_kind {
        "code" => Paths {
            code: "code".into(),
            display: "display".into(),
            system: "system".into(),
            coding: "code".into(),
        },
        "coding" => Paths {
            code: "Coding.code".into(),
            display: "Coding.display".into(),
            system: "Coding.system".into(),
            coding: "Coding".into(),
        },
        _ => Paths {
            code: format!("CodeableConcept.coding[{i}].code"),
            display: format!("CodeableConcept.coding[{i}].display"),
            system: format!("CodeableConcept.coding[{i}].system"),
            coding: format!("CodeableConcept.coding[{i}]"),
        },
    }
}

/// Where to look for membership: a whole code system, or a value set.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    CodeSystem {
        system: Option<&'a str>,
        version: Option<&'a str>,
    },
    ValueSet(&'a ValueSet),
}

/// The outcome of checking one coding.
struct CodingCheck {
    issues: Vec<Issue>,
    valid: bool,
    system: Option<String>,
    version: Option<String>,
    code: Option<String>,
    display: Option<String>,
    inactive: Option<bool>,
    unknown_system: Option<String>,
}

fn vs_label(vs: &ValueSet) -> String {
    vs.meta.versioned_url()
}

fn check_coding(
    scope: &Scope,
    target: Target,
    input: &CodingInput,
    kind: &str,
    i: usize,
    opts: &Options,
) -> Result<CodingCheck> {
    let p = paths(kind, i);
    let mut out = CodingCheck {
        issues: Vec::new(),
        valid: false,
        system: None,
        version: None,
        code: input.code.clone(),
        display: None,
        inactive: None,
        unknown_system: None,
    };
    let Some(code) = input.code.as_deref() else {
        out.issues.push(
            Issue::new(
                Severity::Error,
                "invalid",
                "invalid-data",
                "No code was provided".into(),
            )
            .at(p.code.clone()),
        );
        return Ok(out);
    };
    let system = match (input.system.as_deref(), target) {
        (Some(s), _) => s.to_string(),
        (None, Target::CodeSystem { system: Some(s), .. }) => s.to_string(),
        (None, Target::ValueSet(vs)) => match infer_system(scope, vs, code) {
            Some(s) => s,
            None => {
                out.issues.push(
                    Issue::new(
                        Severity::Error,
                        "invalid",
                        "invalid-data",
                        "Coding has no system. A code with no system has no defined meaning, and it cannot be validated. A system should be provided".into(),
                    )
                    .at(p.coding.clone()),
                );
                return Ok(out);
            }
        },
        (None, _) => {
            out.issues.push(
                Issue::new(
                    Severity::Error,
                    "invalid",
                    "invalid-data",
                    "Coding has no system. A code with no system has no defined meaning, and it cannot be validated. A system should be provided".into(),
                )
                .at(p.coding.clone()),
            );
            return Ok(out);
        }
    };
    let url = scope.canonical_url(&system).unwrap_or_else(|| system.clone());
    out.system = Some(if input.system.is_some() { system.clone() } else { url.clone() });

    let cs_version = input
        .version
        .as_deref()
        .or(match target {
            Target::CodeSystem { version, .. } => version,
            _ => None,
        })
        .or(opts.system_version.as_deref());
    let cs: Option<Arc<CodeSystem>> = scope.code_system(&system, cs_version);

    // Value-set membership (decided by the value set itself, even when the system is absent).
    let vs_hit: Option<Hit> = match target {
        Target::ValueSet(vs) => contains(scope, vs, &url, code, 0)?,
        Target::CodeSystem { .. } => None,
    };

    let cs = match cs {
        Some(cs) if cs.content != "not-present" => cs,
        other => {
            if let (Target::ValueSet(vs), Some(hit)) = (target, &vs_hit) {
                // Member of an enumerated value set whose code system is not loaded.
                out.valid = true;
                out.version = other.and_then(|c| c.meta.version.clone());
                out.display = hit.label.clone();
                if let (Some(given), false) = (&input.display, opts.membership_only) {
                    let ok = hit.label.iter().chain(hit.designations.iter().map(|d| &d.value)).any(|d| d == given);
                    if !ok && hit.label.is_some() {
                        push_display_issue(&mut out, opts, given, &url, code, hit.label.as_deref().unwrap_or(""), &p);
                    }
                }
                let _ = vs;
                return Ok(out);
            }
            let text = match cs_version {
                Some(v) if scope.code_system(&system, None).is_some() => format!(
                    "A definition for CodeSystem '{system}' version '{v}' could not be found, so the code cannot be validated"
                ),
                _ => format!(
                    "A definition for CodeSystem '{system}' could not be found, so the code cannot be validated"
                ),
            };
            out.unknown_system = Some(system.clone());
            out.issues.push(
                Issue::new(Severity::Error, "not-found", "not-found", text)
                    .at(p.system.clone())
                    .id("UNKNOWN_CODESYSTEM"),
            );
            if let Target::ValueSet(vs) = target {
                out.issues.push(not_in_vs(&url, code, vs, &p.code));
            }
            return Ok(out);
        }
    };
    out.version = cs.meta.version.clone();

    let Some(concept) = cs.concept(code) else {
        let severity = if cs.content == "fragment" { Severity::Warning } else { Severity::Error };
        let mut text = unknown_code_message(&cs, code);
        if cs.content == "fragment" {
            text.push_str(" - note that the code system is labeled as a 'fragment', so the code may be valid in some other fragment");
        }
        out.issues.push(
            Issue::new(severity, "code-invalid", "invalid-code", text)
                .at(p.code.clone())
                .id("Unknown_Code_in_Version"),
        );
        if let Target::ValueSet(vs) = target {
            out.issues.push(not_in_vs(&url, code, vs, &p.code));
        }
        out.valid = severity != Severity::Error && matches!(target, Target::CodeSystem { .. });
        return Ok(out);
    };
    out.code = Some(concept.code.clone());
    out.display = display_for(&cs, concept, &opts.languages).map(str::to_string);

    let mut valid = true;
    if let Target::ValueSet(vs) = target {
        if vs_hit.is_none() {
            out.issues.push(not_in_vs(&url, code, vs, &p.code));
            valid = false;
        }
    }

    if concept.is_inactive() {
        out.inactive = Some(true);
        if opts.active_only {
            out.issues.push(
                Issue::new(
                    Severity::Error,
                    "business-rule",
                    "code-rule",
                    format!("The concept '{code}' is valid but is not active"),
                )
                .at(p.code.clone())
                .id("STATUS_CODE_WARNING_CODE"),
            );
            valid = false;
        }
        out.issues.push(
            Issue::new(
                Severity::Warning,
                "business-rule",
                "code-comment",
                format!("The concept '{code}' has a status of inactive and its use should be reviewed"),
            )
            .at(p.coding.clone())
            .id("INACTIVE_CONCEPT_FOUND"),
        );
    }

    if let (Some(given), false) = (&input.display, opts.membership_only) {
        let labels: Vec<&str> = vs_hit
            .iter()
            .flat_map(|h| h.label.iter().map(String::as_str).chain(h.designations.iter().map(|d| d.value.as_str())))
            .collect();
        let exact = concept.display_candidates().chain(labels.iter().copied()).any(|d| d == given);
        if !exact {
            let expected = out.display.clone().unwrap_or_default();
            let before = out.issues.len();
            push_display_issue(&mut out, opts, given, &url, code, &expected, &p);
            if out.issues[before..].iter().any(Issue::is_error) {
                valid = false;
            }
        }
    }
    out.valid = valid;
    Ok(out)
}

fn push_display_issue(
    out: &mut CodingCheck,
    opts: &Options,
    given: &str,
    system: &str,
    code: &str,
    expected: &str,
    p: &Paths,
) {
    let near = normalise(given) == normalise(expected);
    let severity = if opts.lenient_display { Severity::Warning } else { Severity::Error };
    let mut text = format!(
        "Wrong Display Name '{given}' for {system}#{code}. Valid display is '{expected}'"
    );
    if near {
        text.push_str(" (the difference is only in case, spaces or apostrophes)");
    }
    out.issues.push(
        Issue::new(severity, "invalid", "invalid-display", text)
            .at(p.display.clone())
            .id("Display_Name_for__should_be_one_of__instead_of"),
    );
    if severity == Severity::Error {
        out.valid = false;
    }
}

fn not_in_vs(system: &str, code: &str, vs: &ValueSet, path: &str) -> Issue {
    Issue::new(
        Severity::Error,
        "code-invalid",
        "not-in-vs",
        format!(
            "The provided code '{system}#{code}' was not found in the value set '{}'",
            vs_label(vs)
        ),
    )
    .at(path.to_string())
    .id("None_of_the_provided_codes_are_in_the_value_set_one")
}

/// The single system of `vs` that contains `code`, for codes given without a system.
fn infer_system(scope: &Scope, vs: &ValueSet, code: &str) -> Option<String> {
    let mut found: Option<String> = None;
    for inc in &vs.compose.include {
        let Some(system) = inc.system.as_deref() else { continue };
        let url = scope.canonical_url(system).unwrap_or_else(|| system.to_string());
        if contains(scope, vs, &url, code, 0).ok().flatten().is_some() {
            if found.as_deref().is_some_and(|f| f != url) {
                return None;
            }
            found = Some(url);
        }
    }
    found
}

/// Validates a subject against a code system or a value set.
pub fn validate(scope: &Scope, target: Target, subject: &Subject, opts: &Options) -> Result<ValidateResult> {
    let (kind, codings): (&str, Vec<&CodingInput>) = match subject {
        Subject::Code(c) => ("code", vec![c]),
        Subject::Coding(c) => ("coding", vec![c]),
        Subject::CodeableConcept(cs) => ("cc", cs.iter().collect()),
    };
    let mut res = ValidateResult::default();
    if let Subject::CodeableConcept(cc) = subject {
        res.codeable_concept = Some(cc.clone());
    }
    let mut checks = Vec::new();
    for (i, c) in codings.iter().enumerate() {
        checks.push(check_coding(scope, target, c, kind, i, opts)?);
    }

    if kind == "cc" {
        let any_valid = checks.iter().any(|c| c.valid);
        let best = checks.iter().position(|c| c.valid);
        for c in &mut checks {
            if any_valid {
                // Another coding satisfied the value set: this one's membership failure is
                // information only.
                for issue in &mut c.issues {
                    if issue.tx_type == Some("not-in-vs") {
                        issue.severity = Severity::Information;
                        issue.tx_type = Some("this-code-not-in-vs");
                    }
                }
            } else if let Target::ValueSet(_) = target {
                for issue in &mut c.issues {
                    if issue.tx_type == Some("not-in-vs") {
                        issue.severity = Severity::Information;
                        issue.tx_type = Some("this-code-not-in-vs");
                    }
                }
            }
        }
        if !any_valid {
            if let Target::ValueSet(vs) = target {
                res.issues.push(
                    Issue::new(
                        Severity::Error,
                        "code-invalid",
                        "not-in-vs",
                        format!("No valid coding was found for the value set '{}'", vs_label(vs)),
                    )
                    .id("TX_GENERAL_CC_ERROR_MESSAGE"),
                );
            }
        }
        let pick = best.unwrap_or(0);
        if let Some(c) = checks.get(pick) {
            if c.valid {
                res.system = c.system.clone();
                res.version = c.version.clone();
                res.code = c.code.clone();
                res.display = c.display.clone();
            }
        }
    } else if let Some(c) = checks.first() {
        res.system = c.system.clone();
        res.version = c.version.clone();
        res.code = c.code.clone();
        res.display = c.display.clone();
        res.inactive = c.inactive;
    }
    for c in &checks {
        if kind == "cc" && c.inactive.is_some() && res.inactive.is_none() && c.valid {
            res.inactive = c.inactive;
        }
        res.issues.extend(c.issues.iter().cloned());
        if let Some(u) = &c.unknown_system {
            res.unknown_systems.push(u.clone());
        }
    }
    res.result = checks.iter().any(|c| c.valid) && !res.issues.iter().any(Issue::is_error);
    let texts: Vec<&str> = res
        .issues
        .iter()
        .filter(|i| i.severity != Severity::Information)
        .map(|i| i.text.as_str())
        .collect();
    if !texts.is_empty() {
        res.message = Some(texts.join("; "));
    }
    Ok(res)
}
