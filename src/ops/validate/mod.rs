//! `$validate-code` on CodeSystem and ValueSet: exact, in-memory checks of a code, Coding or
//! CodeableConcept, with the messages and issue codes FHIR validators expect.

use std::sync::Arc;

use super::display::{display_for, typographic_difference, Languages};
use super::issue::{Issue, Severity};
use super::lookup::unknown_code_message;
use super::members::{component_hit_at, contains, Hit};
use crate::catalog::Scope;
use crate::error::{Error, Result};
use crate::model::{CodeSystem, Concept, ValueSet};

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
    /// `codeableConcept` parameter: codings and text.
    CodeableConcept(Vec<CodingInput>, Option<String>),
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
    /// A code given without a system may take the system of the value set that contains it.
    pub infer_system: bool,
    /// `force-system-version`: (system, version pattern) overriding every other version.
    pub force_versions: Vec<(String, String)>,
    /// `system-version`: (system, version) used when nothing else names a version.
    pub default_versions: Vec<(String, String)>,
    /// `check-system-version`: (system, version pattern) the version used must match.
    pub check_versions: Vec<(String, String)>,
}

impl Options {
    fn version_param<'o>(
        list: &'o [(String, String)],
        scope: &Scope,
        url: &str,
    ) -> Option<&'o str> {
        list.iter()
            .find(|(s, _)| super::members::same_system(scope, s, url))
            .map(|(_, v)| v.as_str())
    }
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
    /// Echo of the CodeableConcept validated (codings, text).
    pub codeable_concept: Option<(Vec<CodingInput>, Option<String>)>,
    /// Systems that could not be found.
    pub unknown_systems: Vec<String>,
    /// Definitions whose absence decided the answer (`x-caused-by-unknown-system`):
    /// `system|version` canonicals whose version could not be found, and systems a value set
    /// draws on that are not known at all.
    pub unknown_versions: Vec<String>,
    /// The concept's status when it is not simply active (`retired`, `deprecated`, …).
    pub status: Option<String>,
}

/// The form the coding came in, which decides the FHIRPaths of its issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InputForm {
    /// `code` + `system` + `display` parameters.
    Code,
    /// `coding` parameter.
    Coding,
    /// The coding at this index of the `codeableConcept` parameter.
    CodeableConcept(usize),
}

impl InputForm {
    /// The FHIRPath of the coding itself (for a bare code, the code).
    fn coding(self) -> String {
        match self {
            InputForm::Code => "code".into(),
            InputForm::Coding => "Coding".into(),
            InputForm::CodeableConcept(i) => format!("CodeableConcept.coding[{i}]"),
        }
    }

    /// The FHIRPath of one element of the coding (`code`, `display`, `system`, `version`).
    fn element(self, name: &str) -> String {
        match self {
            InputForm::Code => name.to_string(),
            _ => format!("{}.{name}", self.coding()),
        }
    }

    fn code(self) -> String {
        self.element("code")
    }

    fn display(self) -> String {
        self.element("display")
    }

    fn system(self) -> String {
        self.element("system")
    }

    fn version(self) -> String {
        self.element("version")
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
    /// `system|version` canonicals that could not be resolved.
    unknown_versions: Vec<String>,
    /// The code is known and is a member of the target (whatever else is wrong).
    member: bool,
    /// Membership could not be decided (the version the value set asks for is unknown).
    undecided: bool,
    /// Valid only because nothing refutes it (a code a fragment lacks): another coding that
    /// is known answers for a codeableConcept first.
    unconfirmed: bool,
    status: Option<String>,
}

/// A code a fragment of a code system does not have may be in another fragment: it is not
/// called invalid (a warning says why it could not be checked), and a value set that takes
/// the system's codes without listing them cannot be said not to contain it. A value set that
/// lists its codes, or does not draw on the system, still decides membership.
#[allow(clippy::too_many_arguments)]
fn unknown_in_fragment(
    scope: &Scope,
    target: Target,
    cs: &CodeSystem,
    url: &str,
    input: &CodingInput,
    vs_hit: Option<Hit>,
    p: InputForm,
    mut out: CodingCheck,
) -> CodingCheck {
    let code = input.code.as_deref().unwrap_or_default();
    let version = cs
        .meta
        .version
        .as_deref()
        .map(|v| format!(" version '{v}'"))
        .unwrap_or_default();
    out.issues.push(
        Issue::new(
            Severity::Warning,
            "code-invalid",
            "invalid-code",
            format!(
                "Unknown Code '{code}' in the CodeSystem '{}'{version} - note that the code system is labeled as a fragment, so the code may be valid in some other fragment",
                cs.meta.url
            ),
        )
        .at(p.code())
        .id(UNKNOWN_CODE_IN_FRAGMENT),
    );
    out.valid = match target {
        Target::CodeSystem { .. } => true,
        Target::ValueSet(vs) => {
            vs_hit.is_some()
                || vs.compose.include.iter().any(|c| {
                    c.concepts.is_empty()
                        && c.system
                            .as_deref()
                            .is_some_and(|s| super::members::same_system(scope, s, url))
                })
        }
    };
    out.member = out.valid;
    out.unconfirmed = true;
    if let (Target::ValueSet(vs), false) = (target, out.valid) {
        out.issues.push(not_in_vs(
            url,
            code,
            input.display.as_deref(),
            vs,
            &p.code(),
        ));
    }
    out
}

/// Whether a component of `vs` (include or exclude) selects from code system `url`.
fn draws_on(scope: &Scope, vs: &ValueSet, url: &str) -> bool {
    vs.compose
        .include
        .iter()
        .chain(&vs.compose.exclude)
        .filter_map(|c| c.system.as_deref())
        .any(|s| super::members::same_system(scope, s, url))
}

fn vs_label(vs: &ValueSet) -> String {
    if vs.meta.url.is_empty() {
        // An inline value set without a canonical URL.
        return "(unidentified)".to_string();
    }
    vs.meta.versioned_url()
}

fn check_coding(
    scope: &Scope,
    target: Target,
    input: &CodingInput,
    p: InputForm,
    opts: &Options,
) -> Result<CodingCheck> {
    let mut out = CodingCheck {
        issues: Vec::new(),
        valid: false,
        system: None,
        version: None,
        code: input.code.clone(),
        display: None,
        inactive: None,
        unknown_system: None,
        unknown_versions: Vec::new(),
        member: false,
        undecided: false,
        unconfirmed: false,
        status: None,
    };
    let Some(code) = input.code.as_deref() else {
        out.issues.push(
            Issue::new(
                Severity::Error,
                "invalid",
                "invalid-data",
                "No code was provided".into(),
            )
            .at(p.code()),
        );
        return Ok(out);
    };
    const NO_SYSTEM: &str = "Coding has no system. A code with no system has no defined meaning, and it cannot be validated. A system should be provided";
    let system = match (input.system.as_deref(), target) {
        (Some(s), _) => s.to_string(),
        (
            None,
            Target::CodeSystem {
                system: Some(s), ..
            },
        ) => s.to_string(),
        (None, Target::ValueSet(vs)) if opts.infer_system => match infer_system(scope, vs, code) {
            Ok(s) => s,
            Err(matches) => {
                let issue = if matches.is_empty() {
                    let systems: Vec<&str> = vs
                        .compose
                        .include
                        .iter()
                        .filter_map(|i| i.system.as_deref())
                        .collect();
                    Issue::new(
                        Severity::Error,
                        "not-found",
                        "cannot-infer",
                        format!(
                            "The code '{code}' was not found in any of the code systems of the value set ({}), so its system cannot be inferred",
                            systems.join(", ")
                        ),
                    )
                } else {
                    // Several systems of the value set have the code: which one is meant is
                    // not for the server to guess.
                    Issue::new(
                        Severity::Error,
                        "not-found",
                        "cannot-infer",
                        format!(
                            "The System URI could not be determined for the code '{code}' in the ValueSet '{}': value set expansion has multiple matches: [{}]",
                            vs_label(vs),
                            matches.join(", ")
                        ),
                    )
                    .id("Unable_to_resolve_system__value_set_has_multiple_matches")
                };
                out.issues.push(issue.at(p.code()));
                out.issues
                    .push(not_in_vs("", code, input.display.as_deref(), vs, &p.code()));
                return Ok(out);
            }
        },
        (None, Target::ValueSet(vs)) => {
            // Without a system the code has no meaning: it cannot be a member.
            out.issues.push(
                Issue::new(
                    Severity::Warning,
                    "invalid",
                    "invalid-data",
                    NO_SYSTEM.into(),
                )
                .at(p.coding()),
            );
            out.issues
                .push(not_in_vs("", code, input.display.as_deref(), vs, &p.code()));
            return Ok(out);
        }
        (None, _) => {
            out.issues.push(
                Issue::new(Severity::Error, "invalid", "invalid-data", NO_SYSTEM.into())
                    .at(p.coding()),
            );
            return Ok(out);
        }
    };
    // A system whose tx-resource could not be read: the request fails with why.
    if scope.code_system(&system, None).is_none() {
        if let Some(e) = scope.unreadable(&system) {
            return Err(e);
        }
    }
    if let Target::ValueSet(vs) = target {
        if scope.code_system(&system, None).is_none() {
            // A system given by OID may share it with a value set (the ANS reuses a TRE's OID
            // for JDV_TypeRencontre_CISIS): only a URL naming a value set is a mistake.
            let problem = if crate::model::oid_of(&system).is_none()
                && scope.value_set(&system, None).is_some()
            {
                Some(format!(
                    "The Coding references a value set, not a code system ('{system}')"
                ))
            } else if !system.contains(':') && !crate::model::canonical::is_bare_oid(&system) {
                Some(
                    "Coding.system must be an absolute reference, not a local reference"
                        .to_string(),
                )
            } else {
                None
            };
            if let Some(text) = problem {
                let is_vs = text.starts_with("The Coding references");
                out.issues.push(
                    Issue::new(Severity::Error, "invalid", "invalid-data", text).at(p.system()),
                );
                if is_vs {
                    out.system = Some(system.clone());
                    out.issues.push(not_in_vs(
                        &system,
                        code,
                        input.display.as_deref(),
                        vs,
                        &p.code(),
                    ));
                    return Ok(out);
                }
            }
        }
    }
    // A system named by OID is answered with its canonical URL (`urn:oid:X` when none is
    // known): CDA speaks OIDs, FHIR answers speak URLs.
    let oid = crate::model::oid_of(&system).map(str::to_string);
    let url = scope
        .canonical_url(&system)
        .or_else(|| oid.as_ref().map(|o| format!("urn:oid:{o}")))
        .unwrap_or_else(|| system.clone());
    out.system = Some(if input.system.is_some() && oid.is_none() {
        system.clone()
    } else {
        url.clone()
    });

    let cs_version = input
        .version
        .as_deref()
        .or(match target {
            Target::CodeSystem { version, .. } => version,
            _ => None,
        })
        .or(opts.system_version.as_deref());

    // Which version of the code system applies, and what the value set says of the code.
    let mut version_trouble = false;
    let (cs, vs_hit): (Option<Arc<CodeSystem>>, Option<Hit>) = match target {
        Target::ValueSet(vs) => {
            match resolve_in_value_set(
                scope,
                vs,
                &url,
                code,
                input.version.as_deref(),
                input.display.as_deref(),
                opts,
                p,
            )? {
                Some(r) => {
                    version_trouble = r.issues.iter().any(Issue::is_error);
                    out.issues.extend(r.issues);
                    out.unknown_versions.extend(r.unknown);
                    (r.cs, r.hit)
                }
                None => (
                    scope.code_system(&system, cs_version),
                    contains(scope, vs, &url, code, 0)?,
                ),
            }
        }
        Target::CodeSystem { .. } => {
            let cs = scope.code_system(&system, cs_version);
            if let (None, Some(v)) = (&cs, cs_version) {
                if scope.code_system(&system, None).is_some() {
                    out.issues.push(unknown_version_issue(scope, &url, v, p));
                    out.unknown_versions.push(format!("{url}|{v}"));
                    return Ok(out);
                }
            }
            (cs, None)
        }
    };

    let cs = match cs {
        Some(cs) if cs.content != "not-present" => cs,
        other => {
            if let (Target::ValueSet(vs), Some(hit)) = (target, &vs_hit) {
                // Member of an enumerated value set whose code system is not loaded.
                out.valid = true;
                out.version = other.as_ref().and_then(|c| c.meta.version.clone());
                out.display = hit.label.clone();
                let why = if other.is_some() {
                    "its content is not loaded here"
                } else {
                    "it is not loaded here"
                };
                out.issues.push(
                    Issue::new(
                        Severity::Information,
                        "informational",
                        "process-note",
                        format!(
                            "Membership of '{url}#{code}' was decided by the value set '{}' alone: the code system '{url}' was not checked ({why})",
                            vs_label(vs)
                        ),
                    )
                    .at(p.system())
                    .id(MEMBERSHIP_BY_VALUE_SET),
                );
                if let (Some(given), false) = (&input.display, opts.membership_only) {
                    let accepted: Vec<&str> = hit
                        .label
                        .iter()
                        .chain(hit.designations.iter().map(|d| &d.value))
                        .map(String::as_str)
                        .collect();
                    if !accepted.contains(&given.as_str()) && hit.label.is_some() {
                        push_display_issue(
                            &mut out,
                            opts,
                            given,
                            &url,
                            code,
                            &[(
                                hit.label.as_deref().unwrap_or(""),
                                vs.meta.language.as_deref(),
                            )],
                            &accepted,
                            p,
                        );
                    }
                }
                return Ok(out);
            }
            let (text, message_id) = match cs_version {
                Some(v) if scope.code_system(&system, None).is_some() => (format!(
                    "A definition for CodeSystem '{system}' version '{v}' could not be found, so the code cannot be validated"
                ), "UNKNOWN_CODESYSTEM_VERSION"),
                Some(v) => (format!(
                    "A definition for CodeSystem '{system}' version '{v}' could not be found, so the code cannot be validated. No versions of this code system are known"
                ), "UNKNOWN_CODESYSTEM_VERSION_NONE"),
                None => (format!(
                    "A definition for CodeSystem '{system}' could not be found, so the code cannot be validated"
                ), "UNKNOWN_CODESYSTEM"),
            };
            out.issues.push(
                Issue::new(Severity::Error, "not-found", "not-found", text)
                    .at(p.system())
                    .id(message_id),
            );
            // The value set draws on this system (no version of which is known): membership
            // cannot be decided, so the answer is caused by the unknown system, not a code
            // outside the value set.
            if let Target::ValueSet(vs) = target {
                if other.is_none()
                    && scope.code_system_versions(&system).is_empty()
                    && draws_on(scope, vs, &url)
                {
                    out.unknown_versions.push(url.clone());
                    return Ok(out);
                }
            }
            out.unknown_system = Some(system.clone());
            if let Target::ValueSet(vs) = target {
                out.issues.push(not_in_vs(
                    &versioned(&url, input.version.as_deref()),
                    code,
                    input.display.as_deref(),
                    vs,
                    &p.code(),
                ));
            }
            return Ok(out);
        }
    };
    if cs.is_supplement() {
        let text = format!(
            "CodeSystem {} is a supplement, so can't be used as a value in {}",
            cs.meta.versioned_url(),
            p.system()
        );
        out.issues.push(
            Issue::new(Severity::Error, "invalid", "invalid-data", text)
                .at(p.system())
                .id("CODESYSTEM_CS_NO_SUPPLEMENT"),
        );
        return Ok(out);
    }
    out.version = cs.meta.version.clone();

    let Some(concept) = cs.concept(code) else {
        if cs.content == "fragment" {
            return Ok(unknown_in_fragment(
                scope, target, &cs, &url, input, vs_hit, p, out,
            ));
        }
        // With `valueset-membership-only`, only membership is reported.
        if !(opts.membership_only && matches!(target, Target::ValueSet(_))) {
            out.issues.push(
                Issue::new(
                    Severity::Error,
                    "code-invalid",
                    "invalid-code",
                    unknown_code_message(&cs, code),
                )
                .at(p.code())
                .id("Unknown_Code_in_Version"),
            );
        }
        if let (Target::ValueSet(vs), false) = (target, version_trouble) {
            out.issues.push(not_in_vs(
                &versioned(&url, input.version.as_deref()),
                code,
                input.display.as_deref(),
                vs,
                &p.code(),
            ));
        }
        return Ok(out);
    };
    out.code = Some(concept.code.clone());
    out.status = concept
        .property("status")
        .map(|v| v.as_text())
        .filter(|s| s != "active");
    out.display = display_for(&cs, concept, &opts.languages).map(str::to_string);

    let mut valid = !version_trouble;
    if let Target::ValueSet(vs) = target {
        if vs_hit.is_none() && !version_trouble {
            out.issues.push(not_in_vs(
                &url,
                code,
                input.display.as_deref(),
                vs,
                &p.code(),
            ));
            valid = false;
        }
        if vs_hit.as_ref().is_some_and(|h| h.deprecated) {
            out.issues.push(
                Issue::new(
                    Severity::Warning,
                    "business-rule",
                    "code-comment",
                    format!(
                        "The presence of the concept '{code}' in the system '{url}' in the value set {} is marked with a status of deprecated and its use should be reviewed",
                        vs_label(vs)
                    ),
                )
                .at(p.code())
                .id(MEMBER_DEPRECATED),
            );
        }
        out.issues.extend(status_issue("ValueSet", &vs.meta));
        out.issues.extend(imported_status_issues(scope, vs));
    }
    if let Some(i) = status_issue("CodeSystem", &cs.meta) {
        out.issues.push(i);
    }
    if !opts.allow_abstract && concept.is_abstract() {
        out.issues.push(
            Issue::new(
                Severity::Error,
                "business-rule",
                "code-rule",
                format!("Code '{url}#{code}' is abstract, and not allowed in this context"),
            )
            .id("ABSTRACT_CODE_NOT_ALLOWED")
            .at(p.code()),
        );
        if let (Target::ValueSet(vs), true) = (target, vs_hit.is_some()) {
            out.issues.push(not_in_vs(
                &url,
                code,
                input.display.as_deref(),
                vs,
                &p.code(),
            ));
        }
        valid = false;
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
                .at(p.code())
                .id("STATUS_CODE_WARNING_CODE"),
            );
            if let (Target::ValueSet(vs), true) = (target, vs_hit.is_some()) {
                out.issues.push(not_in_vs(
                    &url,
                    code,
                    input.display.as_deref(),
                    vs,
                    &p.code(),
                ));
            }
            valid = false;
        }
        out.issues.push(
            Issue::new(
                Severity::Warning,
                "business-rule",
                "code-comment",
                match concept.property("status").map(|v| v.as_text()) {
                    Some(status) if status != "active" && status != "inactive" => format!(
                        "The concept '{code}' has a status of {status} and inactive and its use should be reviewed"
                    ),
                    _ => format!("The concept '{code}' has a status of inactive and its use should be reviewed"),
                },
            )
            .at(p.coding())
            .id("INACTIVE_CONCEPT_FOUND"),
        );
    }

    if concept.is_deprecated() && !concept.is_inactive() {
        out.status.get_or_insert_with(|| "deprecated".to_string());
        out.issues.push(
            Issue::new(
                Severity::Warning,
                "business-rule",
                "code-comment",
                format!("The concept '{code}' is deprecated and its use should be reviewed"),
            )
            .at(p.code())
            .id("DEPRECATED_CONCEPT_FOUND"),
        );
    }

    let retired_display = input
        .display
        .as_deref()
        .filter(|_| !opts.membership_only)
        .and_then(|given| retired_display_issue(concept, code, given, p));
    let retired = retired_display.is_some();
    out.issues.extend(retired_display);

    if let (Some(given), false, false) = (&input.display, opts.membership_only, retired) {
        let labels: Vec<&str> = vs_hit
            .iter()
            .flat_map(|h| {
                h.label
                    .iter()
                    .map(String::as_str)
                    .chain(h.designations.iter().map(|d| d.value.as_str()))
            })
            .collect();
        let any_language = concept
            .display_candidates()
            .chain(labels.iter().copied())
            .any(|d| d == given);
        let wanted: Vec<&str> = opts
            .languages
            .0
            .iter()
            .map(String::as_str)
            .filter(|t| *t != "*")
            .collect();
        if wanted.is_empty() {
            if !any_language {
                let expected = out.display.clone().unwrap_or_default();
                let alternatives: Vec<&str> = concept
                    .display_candidates()
                    .chain(labels.iter().copied())
                    .collect();
                if push_display_issue(
                    &mut out,
                    opts,
                    given,
                    &url,
                    code,
                    &displays_by_language(&cs, concept, &expected),
                    &alternatives,
                    p,
                ) {
                    valid = false;
                }
            }
        } else {
            // With languages asked for, only the displays in those languages count; a code
            // system that states no language is language-neutral.
            let cs_lang = cs.meta.language.as_deref();
            let in_lang = |lang: Option<&str>| match lang.or(cs_lang) {
                None => true,
                Some(l) => wanted
                    .iter()
                    .any(|w| super::display::language_matches(w, l)),
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
            if localised.contains(&given.as_str()) {
                // Right display in the right language.
            } else if localised.is_empty() && any_language {
                out.issues.push(
                    Issue::new(
                        Severity::Information,
                        "invalid",
                        "invalid-display",
                        format!("There are no valid display names found for the code {url}#{code} for language(s) '{asked}'. The display is '{given}' which is a valid display for the default language"),
                    )
                    .at(p.display()),
                );
            } else if localised.is_empty() {
                let default = concept.display.clone().unwrap_or_default();
                let severity = if opts.lenient_display {
                    Severity::Warning
                } else {
                    Severity::Error
                };
                out.issues.push(
                    Issue::new(
                        severity,
                        "invalid",
                        "invalid-display",
                        format!("Wrong Display Name '{given}' for {url}#{code}. There are no valid display names found for language(s) '{asked}'. Default display is '{default}'"),
                    )
                    .at(p.display()),
                );
                if severity == Severity::Error {
                    valid = false;
                }
            } else {
                let expected = out.display.clone().unwrap_or_default();
                if push_display_issue(
                    &mut out,
                    opts,
                    given,
                    &url,
                    code,
                    &[(&expected, cs.meta.language.as_deref())],
                    &localised,
                    p,
                ) {
                    valid = false;
                }
            }
        }
    }
    out.valid = valid;
    out.member = vs_hit.is_some() || matches!(target, Target::CodeSystem { .. });
    out.undecided = version_trouble && !out.member;
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn push_display_issue(
    out: &mut CodingCheck,
    opts: &Options,
    given: &str,
    system: &str,
    code: &str,
    choices: &[(&str, Option<&str>)],
    alternatives: &[&str],
    p: InputForm,
) -> bool {
    let expected = choices.first().map_or("", |c| c.0);
    let severity = if opts.lenient_display {
        Severity::Warning
    } else {
        Severity::Error
    };
    let asked: Vec<&str> = opts
        .languages
        .0
        .iter()
        .map(String::as_str)
        .filter(|t| *t != "*")
        .collect();
    let asked = if asked.is_empty() {
        "--".to_string()
    } else {
        asked.join(", ")
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
    out.issues.push(
        Issue::new(severity, "invalid", "invalid-display", text)
            .at(p.display())
            .id(message_id),
    );
    let is_error = severity == Severity::Error;
    if is_error {
        out.valid = false;
    }
    is_error
}

/// A warning when `given` is only a display the concept no longer accepts (a withdrawn or
/// deprecated designation): still valid, but to be reviewed.
fn retired_display_issue(
    concept: &Concept,
    code: &str,
    given: &str,
    p: InputForm,
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
    let correct: Vec<String> = current.iter().map(|d| format!("\"{d}\"")).collect();
    Some(
        Issue::new(
            Severity::Warning,
            "invalid",
            "display-comment",
            format!(
                "'{given}' is no longer considered a correct display for code '{code}' (status = deprecated). The correct display is one of {}.",
                correct.join(", ")
            ),
        )
        .at(p.display())
        .id("INACTIVE_DISPLAY_FOUND"),
    )
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

/// The displays a concept has in a stated language, for messages: its display (in the code
/// system's language), then its designations that state a language.
fn displays_by_language<'a>(
    cs: &'a CodeSystem,
    concept: &'a Concept,
    expected: &'a str,
) -> Vec<(&'a str, Option<&'a str>)> {
    let mut out: Vec<(&str, Option<&str>)> = vec![(expected, cs.meta.language.as_deref())];
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

/// `system|version`, or `system` alone.
fn versioned(system: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{system}|{v}"),
        None => system.to_string(),
    }
}

fn not_in_vs(system: &str, code: &str, display: Option<&str>, vs: &ValueSet, path: &str) -> Issue {
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
    .at(path.to_string())
    .id("None_of_the_provided_codes_are_in_the_value_set_one")
}

/// Message id of the note saying membership was decided by the value set alone.
const MEMBERSHIP_BY_VALUE_SET: &str = "NOSTERM_MEMBERSHIP_BY_VALUE_SET";

/// Message id of the warning for a member the value set itself deprecates.
const MEMBER_DEPRECATED: &str = "CONCEPT_DEPRECATED_IN_VALUESET";
const UNKNOWN_CODE_IN_FRAGMENT: &str = "UNKNOWN_CODE_IN_FRAGMENT";

/// The publication status worth telling a user about: draft, experimental, or a standards
/// status (deprecated, withdrawn) given by extension.
fn publication_status(meta: &crate::model::ResourceMeta) -> Option<String> {
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
fn status_issue(kind: &str, meta: &crate::model::ResourceMeta) -> Option<Issue> {
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
fn imported_status_issues(scope: &Scope, vs: &ValueSet) -> Vec<Issue> {
    vs.compose
        .include
        .iter()
        .flat_map(|i| i.value_sets.iter())
        .filter_map(|u| super::members::resolve_value_set(scope, u).ok())
        .filter_map(|v| status_issue("ValueSet", &v.meta))
        .collect()
}

/// Whether an issue's text belongs in the summary `message` (notes about publication status,
/// value-set deprecations and retired displays are reported as issues only).
fn in_message(i: &Issue) -> bool {
    if i.tx_type == Some("status-check")
        || i.message_id == Some(UNKNOWN_CODE_IN_FRAGMENT)
        || i.tx_type == Some("display-comment")
        || i.message_id == Some(MEMBER_DEPRECATED)
        || i.message_id == Some(MEMBERSHIP_BY_VALUE_SET)
    {
        return false;
    }
    match i.severity {
        Severity::Error => true,
        Severity::Warning => i.tx_type != Some("vs-invalid"),
        Severity::Information => i.tx_type != Some("this-code-not-in-vs"),
    }
}

/// The version of a code system a value set include selects, and why (for messages).
enum VersionSource {
    Forced { include: Option<String> },
    Include,
    Parameter,
    Versionless,
}

struct VsResolution {
    cs: Option<Arc<CodeSystem>>,
    hit: Option<Hit>,
    issues: Vec<Issue>,
    unknown: Vec<String>,
}

fn valid_versions(scope: &Scope, url: &str) -> String {
    let versions: Vec<String> = scope
        .code_system_versions(url)
        .iter()
        .filter_map(|c| c.meta.version.clone())
        .collect();
    versions.join(" or ")
}

fn unknown_version_issue(scope: &Scope, url: &str, version: &str, p: InputForm) -> Issue {
    Issue::new(
        Severity::Error,
        "not-found",
        "not-found",
        format!(
            "A definition for CodeSystem '{url}' version '{version}' could not be found, so the code cannot be validated. Valid versions: {}",
            valid_versions(scope, url)
        ),
    )
    .at(p.system())
    .id("UNKNOWN_CODESYSTEM_VERSION")
}

/// Resolves a version pattern (`1.0.0`, `1.x`), preferring the coding's own version when the
/// pattern admits it; no pattern means the newest version.
fn resolve_version(
    scope: &Scope,
    url: &str,
    spec: Option<&str>,
    coding: Option<&str>,
) -> Option<Arc<CodeSystem>> {
    match spec {
        None => scope.code_system(url, None),
        Some(spec) => coding
            .filter(|vc| crate::catalog::version::matches(spec, vc))
            .and_then(|vc| scope.code_system(url, Some(vc)))
            .or_else(|| scope.code_system(url, Some(spec))),
    }
}

/// One include of the coding's system, as read for the coding: (version pattern, where it
/// came from, code system version it selects, what the include says of the code).
type Choice = (
    Option<String>,
    VersionSource,
    Option<Arc<CodeSystem>>,
    Option<Hit>,
);

/// The include that decides a coding when the value set includes its system several times
/// (several versions of it, say). A coding naming a version is judged by the includes reading
/// that version when there are some. Otherwise newest version first: the first that has the
/// code with the display given, else the first that has the code, else the newest (or, with
/// a version named, the first include).
fn choose_include(
    mut candidates: Vec<Choice>,
    code: &str,
    coding_version: Option<&str>,
    display: Option<&str>,
) -> Option<Choice> {
    let version_of = |c: &Choice| c.2.as_ref().and_then(|cs| cs.meta.version.clone());
    match coding_version {
        Some(vc) => {
            if candidates
                .iter()
                .any(|c| version_of(c).as_deref() == Some(vc))
            {
                candidates.retain(|c| version_of(c).as_deref() == Some(vc));
            }
        }
        // The includes whose version is known, newest first in the places they take (stable:
        // includes reading the same version keep compose order); the others stay put.
        None => {
            let slots: Vec<usize> = (0..candidates.len())
                .filter(|&i| version_of(&candidates[i]).is_some())
                .collect();
            let mut resolved: Vec<Choice> = Vec::with_capacity(slots.len());
            for &i in slots.iter().rev() {
                resolved.push(candidates.remove(i));
            }
            resolved.reverse();
            resolved.sort_by(|a, b| {
                let (a, b) = (version_of(a), version_of(b));
                crate::catalog::version::compare(
                    b.as_deref().unwrap_or(""),
                    a.as_deref().unwrap_or(""),
                )
            });
            for (slot, c) in slots.into_iter().zip(resolved) {
                candidates.insert(slot, c);
            }
        }
    }
    let shows = |c: &Choice, given: &str| {
        let (_, _, cs, hit) = c;
        hit.as_ref().is_some_and(|h| {
            h.label.as_deref() == Some(given) || h.designations.iter().any(|d| d.value == given)
        }) || cs
            .as_ref()
            .and_then(|cs| cs.concept(code))
            .is_some_and(|concept| concept.display_candidates().any(|d| d == given))
    };
    let best = display
        .and_then(|given| {
            candidates
                .iter()
                .position(|c| c.3.is_some() && shows(c, given))
        })
        .or_else(|| candidates.iter().position(|c| c.3.is_some()))
        .unwrap_or(0);
    (best < candidates.len()).then(|| candidates.swap_remove(best))
}

/// Version resolution for a coding checked against the value set's includes of its system:
/// `force-system-version` beats the include's version, which beats `system-version` and
/// `check-system-version` (used as defaults only when the coding names no known version);
/// otherwise the newest version. A coding version different from the one selected is an
/// error, a warning when the include is versionless and the coding's version is unknown.
#[allow(clippy::too_many_arguments)]
fn resolve_in_value_set(
    scope: &Scope,
    vs: &ValueSet,
    url: &str,
    code: &str,
    coding_version: Option<&str>,
    display: Option<&str>,
    opts: &Options,
    p: InputForm,
) -> Result<Option<VsResolution>> {
    let includes: Vec<&crate::model::ConceptSetComponent> = vs
        .compose
        .include
        .iter()
        .filter(|i| {
            i.system
                .as_deref()
                .is_some_and(|s| super::members::same_system(scope, s, url))
        })
        .collect();
    if includes.is_empty() || scope.code_system(url, None).is_none() {
        return Ok(None);
    }
    let coding_known = coding_version.and_then(|v| scope.code_system(url, Some(v)));
    let force = Options::version_param(&opts.force_versions, scope, url);
    let default = Options::version_param(&opts.default_versions, scope, url);
    let check = Options::version_param(&opts.check_versions, scope, url);

    let mut candidates: Vec<Choice> = Vec::new();
    for inc in &includes {
        let (spec, source) = if let Some(f) = force {
            (
                Some(f.to_string()),
                VersionSource::Forced {
                    include: inc.version.clone(),
                },
            )
        } else if let Some(v) = &inc.version {
            (Some(v.clone()), VersionSource::Include)
        } else if let (None, Some(d)) = (&coding_known, default.or(check)) {
            (Some(d.to_string()), VersionSource::Parameter)
        } else {
            (None, VersionSource::Versionless)
        };
        let cs = resolve_version(scope, url, spec.as_deref(), coding_version);
        let mut hit = match &cs {
            Some(cs) => component_hit_at(scope, inc, cs.meta.version.as_deref(), url, code, 0)?,
            None => None,
        };
        // `compose.exclude` removes what an include selected (e.g. notSelectable grouping
        // codes), in the version it reads or in every version (see `exclude_spans_versions`).
        if hit.is_some() {
            let version = cs.as_ref().and_then(|c| c.meta.version.as_deref());
            for exc in &vs.compose.exclude {
                if super::members::excludes_at(scope, vs, exc, url, version, code)? {
                    hit = None;
                    break;
                }
            }
        }
        candidates.push((spec, source, cs, hit));
    }
    let Some((spec, source, cs, hit)) = choose_include(candidates, code, coding_version, display)
    else {
        return Ok(None);
    };

    let mut r = VsResolution {
        cs: cs.clone(),
        hit,
        issues: Vec::new(),
        unknown: Vec::new(),
    };
    if let (None, Some(spec)) = (&cs, &spec) {
        r.issues.push(unknown_version_issue(scope, url, spec, p));
        r.unknown.push(format!("{url}|{spec}"));
    }
    if let Some(vc) = coding_version {
        if coding_known.is_none() {
            r.issues.push(unknown_version_issue(scope, url, vc, p));
            r.unknown.push(format!("{url}|{vc}"));
        }
        let selected = cs.as_ref().and_then(|c| c.meta.version.clone());
        if selected.as_deref() != Some(vc) {
            let shown = selected.clone().or(spec.clone()).unwrap_or_default();
            // The reference's message id says where the version came from: changed by a
            // parameter or a forced version, the versionless default, or the include itself.
            let (phrase, severity, message_id) = match &source {
                VersionSource::Forced { include } => (
                    format!(
                        "version '{}' resulting from the version '{}'",
                        spec.clone().unwrap_or_default(),
                        include.clone().unwrap_or_default()
                    ),
                    Severity::Error,
                    "VALUESET_VALUE_MISMATCH_CHANGED",
                ),
                VersionSource::Include => (
                    format!("version '{shown}'"),
                    Severity::Error,
                    "VALUESET_VALUE_MISMATCH",
                ),
                VersionSource::Parameter => (
                    format!(
                        "version '{}' resulting from the version ''",
                        spec.clone().unwrap_or_default()
                    ),
                    Severity::Error,
                    "VALUESET_VALUE_MISMATCH_CHANGED",
                ),
                VersionSource::Versionless if coding_known.is_none() => (
                    format!("version '{shown}' for the versionless include"),
                    Severity::Warning,
                    "VALUESET_VALUE_MISMATCH_DEFAULT",
                ),
                VersionSource::Versionless => (
                    format!("version '{shown}'"),
                    Severity::Error,
                    "VALUESET_VALUE_MISMATCH",
                ),
            };
            r.issues.push(
                Issue::new(
                    severity,
                    "invalid",
                    "vs-invalid",
                    format!("The code system '{url}' {phrase} in the ValueSet include is different to the one in the value ('{vc}')"),
                )
                .at(p.version())
                .id(message_id),
            );
        }
    }
    if let (Some(k), Some(cs)) = (check, &cs) {
        let actual = cs.meta.version.clone().unwrap_or_default();
        if !crate::catalog::version::matches(k, &actual) {
            r.issues.push(
                Issue::new(
                    Severity::Error,
                    "exception",
                    "version-error",
                    format!("The version '{actual}' is not allowed for system '{url}': required to be '{k}' by a version-check parameter"),
                )
                .at(p.version())
                .id("VALUESET_VERSION_CHECK"),
            );
        }
    }
    // Displays come from the selected version, else the coding's, else the parameters', else
    // the newest.
    if r.cs.is_none() {
        r.cs = coding_known
            .or_else(|| {
                force
                    .or(check)
                    .or(default)
                    .and_then(|v| resolve_version(scope, url, Some(v), None))
            })
            .or_else(|| scope.code_system(url, None));
    }
    Ok(Some(r))
}

/// The single system of `vs` that contains `code`, for codes given without a system.
fn infer_system(scope: &Scope, vs: &ValueSet, code: &str) -> Result<String, Vec<String>> {
    let mut found: Vec<String> = Vec::new();
    for inc in &vs.compose.include {
        let Some(system) = inc.system.as_deref() else {
            continue;
        };
        let url = scope
            .canonical_url(system)
            .unwrap_or_else(|| system.to_string());
        if !found.contains(&url) && contains(scope, vs, &url, code, 0).ok().flatten().is_some() {
            found.push(url);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        _ => Err(found),
    }
}

/// The display language a value set asks for: a `displayLanguage` expansion parameter in
/// `compose`, else the value set's own language.
fn value_set_language(vs: &ValueSet) -> Option<String> {
    vs.compose
        .extensions
        .iter()
        .filter(|e| {
            e.get("url").and_then(|u| u.as_str())
                == Some("http://hl7.org/fhir/StructureDefinition/valueset-expansion-parameter")
        })
        .find_map(|e| {
            let parts = e.get("extension")?.as_array()?;
            let part = |name: &str| {
                parts
                    .iter()
                    .find(|p| p.get("url").and_then(|u| u.as_str()) == Some(name))
            };
            if part("name")?.get("valueCode")?.as_str()? != "displayLanguage" {
                return None;
            }
            let value = part("value")?;
            value
                .get("valueCode")
                .or_else(|| value.get("valueString"))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .or_else(|| vs.meta.language.clone())
}

/// Refuses a value set whose imports (`include.valueSet`, `exclude.valueSet`) lead back to
/// itself: its membership is undefined.
fn check_no_cycles(scope: &Scope, vs: &ValueSet, stack: &mut Vec<String>) -> Result<()> {
    let key = vs.meta.versioned_url();
    if stack.contains(&key) || stack.len() > 32 {
        return Err(Error::InvalidValueSet(format!(
            "The value set '{}' has a circular reference to itself (via {})",
            stack.first().map(String::as_str).unwrap_or(&key),
            stack.join(" → ")
        )));
    }
    stack.push(key);
    for component in vs.compose.include.iter().chain(vs.compose.exclude.iter()) {
        for import in &component.value_sets {
            if let Ok(inner) = super::members::resolve_value_set(scope, import) {
                check_no_cycles(scope, &inner, stack)?;
            }
        }
    }
    stack.pop();
    Ok(())
}

/// Validates a subject against a code system or a value set.
pub fn validate(
    scope: &Scope,
    target: Target,
    subject: &Subject,
    opts: &Options,
) -> Result<ValidateResult> {
    let mut own_opts;
    let mut opts = opts;
    if let Target::ValueSet(vs) = target {
        check_no_cycles(scope, vs, &mut Vec::new())?;
        super::members::check_definition(vs)?;
        // A value set may state the language its displays are in; the request's wins.
        if opts.languages.is_empty() {
            if let Some(lang) = value_set_language(vs) {
                own_opts = opts.clone();
                own_opts.languages = Languages(vec![lang]);
                opts = &own_opts;
            }
        }
    }
    let codings: Vec<(InputForm, &CodingInput)> = match subject {
        Subject::Code(c) => vec![(InputForm::Code, c)],
        Subject::Coding(c) => vec![(InputForm::Coding, c)],
        Subject::CodeableConcept(cs, _) => cs
            .iter()
            .enumerate()
            .map(|(i, c)| (InputForm::CodeableConcept(i), c))
            .collect(),
    };
    let is_cc = matches!(subject, Subject::CodeableConcept(..));
    let mut res = ValidateResult::default();
    if let Subject::CodeableConcept(cc, text) = subject {
        res.codeable_concept = Some((cc.clone(), text.clone()));
    }
    let mut checks = Vec::new();
    for (form, c) in codings {
        match check_coding(scope, target, c, form, opts) {
            Ok(check) => checks.push(check),
            // A value set imported by the target cannot be found: the answer is "not valid",
            // with the reason, rather than a failed request.
            Err(Error::NotFound(text)) if matches!(target, Target::ValueSet(_)) => {
                res.issues
                    .push(Issue::new(Severity::Error, "not-found", "not-found", text));
                res.result = false;
                res.message = res.issues.first().map(|i| i.text.clone());
                return Ok(res);
            }
            Err(e) => return Err(e),
        }
    }

    if is_cc {
        let any_valid = checks.iter().any(|c| c.valid);
        let any_member = checks.iter().any(|c| c.member || c.undecided);
        let best = checks
            .iter()
            .position(|c| c.valid && !c.unconfirmed)
            .or_else(|| checks.iter().position(|c| c.valid))
            .or_else(|| checks.iter().position(|c| c.member));
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
        if !any_member {
            if let Target::ValueSet(vs) = target {
                res.issues.push(
                    Issue::new(
                        Severity::Error,
                        "code-invalid",
                        "not-in-vs",
                        format!(
                            "No valid coding was found for the value set '{}'",
                            vs_label(vs)
                        ),
                    )
                    .id("TX_GENERAL_CC_ERROR_MESSAGE"),
                );
            }
        }
        if let Some(c) = best.and_then(|i| checks.get(i)) {
            res.system = c.system.clone();
            res.version = c.version.clone();
            res.code = c.code.clone();
            res.display = c.display.clone();
        } else if let Some(c) = checks.iter().find(|c| c.undecided) {
            res.version = c.version.clone();
            res.display = c.display.clone();
        }
    } else if let Some(c) = checks.first() {
        res.system = c.system.clone();
        res.version = c.version.clone();
        res.code = c.code.clone();
        res.display = c.display.clone();
        res.inactive = c.inactive;
        res.status = c.status.clone();
    }
    for c in &checks {
        if is_cc && c.inactive.is_some() && res.inactive.is_none() && c.valid {
            res.inactive = c.inactive;
        }
        res.issues.extend(c.issues.iter().cloned());
        res.unknown_versions
            .extend(c.unknown_versions.iter().cloned());
        if let Some(u) = &c.unknown_system {
            res.unknown_systems.push(u.clone());
        }
    }
    res.result = checks.iter().any(|c| c.valid) && !res.issues.iter().any(Issue::is_error);
    let texts: Vec<&str> = res
        .issues
        .iter()
        .filter(|i| in_message(i))
        .map(|i| i.text.as_str())
        .collect();
    if !texts.is_empty() {
        res.message = Some(texts.join("; "));
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::load::{fhir_json::parse_resource, Resource};
    use serde_json::{json, Value};

    const KNOWN: &str = "http://example.org/cs/known";
    const PART: &str = "http://example.org/cs/part";
    const GONE: &str = "http://example.org/cs/gone";

    fn catalog(resources: &[Value]) -> Catalog {
        let mut cat = Catalog::default();
        for r in resources {
            match parse_resource(r) {
                Ok(Resource::CodeSystem(cs)) => cat.add_code_system(cs),
                Ok(Resource::ValueSet(vs)) => cat.add_value_set(vs),
                other => panic!("test resource not read: {other:?}"),
            }
        }
        cat
    }

    fn code_system(url: &str, content: &str) -> Value {
        json!({"resourceType": "CodeSystem", "url": url, "version": "1", "status": "active",
               "content": content, "concept": [{"code": "a", "display": "A"}]})
    }

    fn value_set(compose: Value) -> ValueSet {
        let v = json!({"resourceType": "ValueSet", "url": "http://example.org/vs", "version": "2",
                       "status": "active", "compose": compose});
        match parse_resource(&v) {
            Ok(Resource::ValueSet(vs)) => vs,
            other => panic!("value set not read: {other:?}"),
        }
    }

    fn coding(system: &str, code: &str) -> CodingInput {
        CodingInput {
            system: Some(system.into()),
            code: Some(code.into()),
            ..Default::default()
        }
    }

    fn run(cat: &Catalog, vs: &ValueSet, subject: Subject) -> Result<ValidateResult> {
        let opts = Options {
            allow_abstract: true,
            ..Default::default()
        };
        validate(&Scope::new(cat), Target::ValueSet(vs), &subject, &opts)
    }

    fn tx_types(r: &ValidateResult) -> Vec<&str> {
        r.issues.iter().filter_map(|i| i.tx_type).collect()
    }

    /// A filter without value in an `exclude` is refused where it is, by code and coding, even
    /// when the include alone would decide; a value set without one is unaffected.
    #[test]
    fn broken_exclude_filter_is_refused_where_it_is() {
        let cat = catalog(&[code_system(KNOWN, "complete")]);
        let broken = value_set(json!({
            "include": [{"system": KNOWN}],
            "exclude": [{"system": KNOWN, "filter": [{"property": "concept", "op": "is-a"}]}]
        }));
        for subject in [
            Subject::Code(coding(KNOWN, "a")),
            Subject::Coding(coding(KNOWN, "zz")),
        ] {
            match run(&cat, &broken, subject) {
                Err(e @ Error::InvalidDefinition { .. }) => {
                    assert_eq!(
                        e.expression(),
                        Some("ValueSet.compose.exclude[0].filter[0]")
                    );
                    assert_eq!(
                        e.to_string(),
                        format!("The system {KNOWN} filter with property = concept, op = is-a has no value")
                    );
                    assert_eq!((e.status(), e.issue_code()), (400, "invalid"));
                    assert_eq!(e.tx_issue_type(), Some("vs-invalid"));
                }
                other => panic!("expected the broken filter, got {other:?}"),
            }
        }
        let scope = Scope::new(&cat);
        assert!(matches!(
            super::super::members::enumerate(&scope, &broken, 0),
            Err(Error::InvalidDefinition { .. })
        ));
        let whole = value_set(json!({"include": [{"system": KNOWN}]}));
        assert!(run(&cat, &whole, Subject::Code(coding(KNOWN, "a")))
            .map(|r| r.result)
            .unwrap());
    }

    /// A codeableConcept with a good coding and one from a system the value set draws on but
    /// nobody knows: that coding's answer is caused by the unknown system (no not-in-vs), the
    /// other coding is still reported.
    #[test]
    fn unknown_system_the_value_set_draws_on_causes_the_answer() {
        let cat = catalog(&[code_system(KNOWN, "complete")]);
        let vs = value_set(json!({"include": [{"system": KNOWN}, {"system": GONE}]}));
        let r = run(
            &cat,
            &vs,
            Subject::CodeableConcept(vec![coding(GONE, "x"), coding(KNOWN, "a")], None),
        )
        .unwrap();
        assert_eq!(r.unknown_versions, vec![GONE.to_string()]);
        assert!(r.unknown_systems.is_empty());
        assert!(!tx_types(&r).contains(&"not-in-vs"), "{:?}", r.issues);
        assert!(
            !tx_types(&r).contains(&"this-code-not-in-vs"),
            "{:?}",
            r.issues
        );
        assert_eq!(r.code.as_deref(), Some("a"));
        assert_eq!(r.system.as_deref(), Some(KNOWN));
        // A system the value set does not draw on is simply not in it.
        let other = value_set(json!({"include": [{"system": KNOWN}]}));
        let r = run(&cat, &other, Subject::Code(coding(GONE, "x"))).unwrap();
        assert_eq!(r.unknown_systems, vec![GONE.to_string()]);
        assert!(tx_types(&r).contains(&"not-in-vs"));
        assert!(!r.result);
    }

    /// A code a fragment lacks: valid with a warning when the value set takes the system's
    /// codes (whatever filter); not in a value set that lists its codes.
    #[test]
    fn code_missing_from_a_fragment() {
        let cat = catalog(&[code_system(PART, "fragment")]);
        let whole = value_set(json!({"include": [{"system": PART}]}));
        let r = run(&cat, &whole, Subject::Coding(coding(PART, "b"))).unwrap();
        assert!(r.result, "{:?}", r.issues);
        assert_eq!(tx_types(&r), vec!["invalid-code"]);
        assert_eq!(r.issues[0].severity, Severity::Warning);
        assert_eq!(r.message, None);
        // With a known code beside it, the known one answers.
        let r = run(
            &cat,
            &whole,
            Subject::CodeableConcept(vec![coding(PART, "b"), coding(PART, "a")], None),
        )
        .unwrap();
        assert!(r.result);
        assert_eq!(
            (r.code.as_deref(), r.display.as_deref()),
            (Some("a"), Some("A"))
        );
        let listed = value_set(json!({"include": [{"system": PART, "concept": [{"code": "a"}]}]}));
        let r = run(&cat, &listed, Subject::Code(coding(PART, "b"))).unwrap();
        assert!(!r.result);
        assert!(tx_types(&r).contains(&"not-in-vs"), "{:?}", r.issues);
    }

    /// inferSystem: several systems of the value set having the code is no inference.
    #[test]
    fn infer_system_refuses_several_matches() {
        let cat = catalog(&[
            code_system(KNOWN, "complete"),
            code_system(PART, "complete"),
        ]);
        let vs = value_set(json!({"include": [{"system": KNOWN}, {"system": PART}]}));
        let opts = Options {
            infer_system: true,
            allow_abstract: true,
            ..Default::default()
        };
        let input = CodingInput {
            code: Some("a".into()),
            ..Default::default()
        };
        let r = validate(
            &Scope::new(&cat),
            Target::ValueSet(&vs),
            &Subject::Code(input),
            &opts,
        )
        .unwrap();
        assert!(!r.result);
        let infer = r.issues.iter().find(|i| i.tx_type == Some("cannot-infer"));
        assert!(
            infer.is_some_and(|i| i
                .text
                .ends_with(&format!("multiple matches: [{KNOWN}, {PART}]"))),
            "{:?}",
            r.issues
        );
    }
}

#[cfg(test)]
mod multi_version_tests {
    use super::*;
    use crate::ops::members::tests::{jdv, pinned, two_releases, NEW, OLD, TRE};
    use serde_json::json;

    const BOTH: &str = "http://example.org/jdv/both";
    const DIFF: &str = "http://example.org/jdv/diff";
    const NO_OLD_B: &str = "http://example.org/jdv/no-old-b";

    fn catalog() -> crate::catalog::Catalog {
        two_releases(&[
            jdv(BOTH, json!([pinned(OLD), pinned(NEW)]), json!([]), None),
            jdv(DIFF, json!([pinned(NEW)]), json!([pinned(OLD)]), None),
            jdv(
                NO_OLD_B,
                json!([pinned(OLD), pinned(NEW)]),
                json!([{"system": TRE, "version": OLD, "concept": [{"code": "B"}]}]),
                None,
            ),
        ])
    }

    fn coding(version: Option<&str>, code: &str, display: Option<&str>) -> CodingInput {
        CodingInput {
            system: Some(TRE.to_string()),
            version: version.map(str::to_string),
            code: Some(code.to_string()),
            display: display.map(str::to_string),
        }
    }

    fn check(vs_url: &str, subject: Subject) -> ValidateResult {
        let cat = catalog();
        let scope = Scope::new(&cat);
        let vs = scope.value_set(vs_url, None).expect("value set loaded");
        let opts = Options {
            allow_abstract: true,
            ..Default::default()
        };
        validate(&scope, Target::ValueSet(&vs), &subject, &opts).expect("validates")
    }

    fn tx_types(r: &ValidateResult) -> Vec<&'static str> {
        r.issues.iter().filter_map(|i| i.tx_type).collect()
    }

    #[test]
    fn a_code_of_both_releases_is_reported_in_the_newest() {
        let r = check(BOTH, Subject::Coding(coding(None, "A", None)));
        assert!(r.result, "{:?}", r.issues);
        assert_eq!(r.version.as_deref(), Some(NEW));
    }

    #[test]
    fn a_code_of_one_release_is_reported_in_that_release() {
        let r = check(BOTH, Subject::Coding(coding(None, "C", None)));
        assert!(r.result, "{:?}", r.issues);
        assert_eq!(r.version.as_deref(), Some(OLD));
    }

    #[test]
    fn the_release_whose_display_matches_decides() {
        let r = check(BOTH, Subject::Coding(coding(None, "B", Some("Beta"))));
        assert!(r.result, "{:?}", r.issues);
        assert_eq!(r.version.as_deref(), Some(OLD));
        let r = check(BOTH, Subject::Coding(coding(None, "B", Some("Bêta"))));
        assert!(r.result, "{:?}", r.issues);
        assert_eq!(r.version.as_deref(), Some(NEW));
        // No release has the display: judged (and the display named) by the newest.
        let r = check(BOTH, Subject::Coding(coding(None, "B", Some("Bravo"))));
        assert!(!r.result);
        assert_eq!(r.version.as_deref(), Some(NEW));
        assert_eq!(r.display.as_deref(), Some("Bêta"));
        assert_eq!(tx_types(&r), vec!["invalid-display"]);
    }

    #[test]
    fn each_coding_of_a_concept_finds_its_own_release() {
        let r = check(
            BOTH,
            Subject::CodeableConcept(
                vec![
                    coding(None, "B", Some("Bêta")),
                    coding(None, "B", Some("Beta")),
                ],
                None,
            ),
        );
        assert!(r.result, "{:?}", r.issues);
        assert_eq!(r.version.as_deref(), Some(NEW));
    }

    #[test]
    fn a_pinned_coding_is_judged_by_its_own_release_only() {
        let r = check(BOTH, Subject::Coding(coding(Some(OLD), "B", Some("Beta"))));
        assert!(r.result, "{:?}", r.issues);
        assert_eq!(r.version.as_deref(), Some(OLD));
        // D came with 2025: unknown in 2024, and no complaint about the other include's version.
        let r = check(BOTH, Subject::Coding(coding(Some(OLD), "D", None)));
        assert!(!r.result);
        assert_eq!(r.version.as_deref(), Some(OLD));
        let mut types = tx_types(&r);
        types.sort();
        assert_eq!(types, vec!["invalid-code", "not-in-vs"]);
        assert!(
            r.issues
                .iter()
                .any(|i| i.text.contains(&format!("'{TRE}|{OLD}#D'"))),
            "{:?}",
            r.issues
        );
    }

    #[test]
    fn excluding_the_old_release_keeps_only_new_codes() {
        let r = check(DIFF, Subject::Coding(coding(None, "A", None)));
        assert!(!r.result);
        assert_eq!(tx_types(&r), vec!["not-in-vs"]);
        let r = check(DIFF, Subject::Coding(coding(None, "D", None)));
        assert!(r.result, "{:?}", r.issues);
        assert_eq!(r.version.as_deref(), Some(NEW));
    }

    #[test]
    fn an_include_of_an_unknown_release_keeps_its_place() {
        const WITH_UNKNOWN: &str = "http://example.org/jdv/with-unknown";
        let cat = two_releases(&[jdv(
            WITH_UNKNOWN,
            json!([pinned("19990101000000"), pinned(OLD), pinned(NEW)]),
            json!([]),
            None,
        )]);
        let scope = Scope::new(&cat);
        let vs = scope.value_set(WITH_UNKNOWN, None).expect("loaded");
        let opts = Options::default();
        let run = |code: &str| {
            let subject = Subject::Coding(coding(None, code, None));
            validate(&scope, Target::ValueSet(&vs), &subject, &opts).expect("validates")
        };
        // Found nowhere: the first include decides, and its release is unknown.
        let r = run("Z");
        assert!(!r.result);
        assert!(
            r.unknown_versions
                .contains(&format!("{TRE}|19990101000000")),
            "{:?}",
            r.issues
        );
        // Found: the newest known release that has it.
        let r = run("A");
        assert!(r.result, "{:?}", r.issues);
        assert_eq!(r.version.as_deref(), Some(NEW));
    }

    #[test]
    fn an_exclude_of_one_release_leaves_the_code_in_the_other() {
        let r = check(NO_OLD_B, Subject::Coding(coding(None, "B", None)));
        assert!(r.result, "{:?}", r.issues);
        assert_eq!(r.version.as_deref(), Some(NEW));
        let r = check(NO_OLD_B, Subject::Coding(coding(Some(OLD), "B", None)));
        assert!(!r.result);
        assert_eq!(r.version.as_deref(), Some(OLD));
    }
}

#[cfg(test)]
mod supplement_display_tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::model::{Designation, ResourceMeta};

    const URL: &str = "http://example.org/cs";

    fn catalog() -> Catalog {
        let meta = ResourceMeta {
            id: "cs".into(),
            url: URL.into(),
            status: "active".into(),
            language: Some("fr".into()),
            ..Default::default()
        };
        let designation = |language: Option<&str>, value: &str| Designation {
            language: language.map(str::to_string),
            use_: None,
            value: value.into(),
            extensions: None,
        };
        let deprecated = serde_json::json!({
            "url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status",
            "valueCode": "deprecated"
        });
        let concepts = vec![
            Concept {
                code: "a".into(),
                display: Some("Alpha".into()),
                designations: vec![
                    designation(Some("en"), "Alpha (en)"),
                    designation(Some("de"), "Alpha (de)"),
                    designation(None, "alpha court"),
                ],
                ..Default::default()
            },
            Concept {
                code: "b".into(),
                display: Some("Beta".into()),
                extensions: vec![deprecated],
                ..Default::default()
            },
            Concept {
                code: "c".into(),
                display: Some("Gamma".into()),
                designations: vec![Designation {
                    extensions: Some(Box::new(vec![serde_json::json!({
                        "url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status",
                        "valueCode": "withdrawn"
                    })])),
                    ..designation(Some("de"), "Altes Gamma")
                }],
                ..Default::default()
            },
        ];
        let mut cat = Catalog::default();
        cat.add_code_system(CodeSystem::new(meta, concepts));
        cat
    }

    fn check(code: &str, display: Option<&str>) -> ValidateResult {
        let cat = catalog();
        let subject = Subject::Code(CodingInput {
            system: Some(URL.into()),
            code: Some(code.into()),
            display: display.map(str::to_string),
            ..Default::default()
        });
        let target = Target::CodeSystem {
            system: Some(URL),
            version: None,
        };
        validate(&Scope::new(&cat), target, &subject, &Options::default()).unwrap()
    }

    #[test]
    fn a_wrong_display_lists_the_displays_in_each_language() {
        let r = check("a", Some("Gamma"));
        assert!(!r.result);
        assert_eq!(
            r.issues[0].text,
            "Wrong Display Name 'Gamma' for http://example.org/cs#a. Valid display is one of 3 choices: 'Alpha' (fr), 'Alpha (en)' (en) or 'Alpha (de)' (de) (for the language(s) '--')"
        );
        assert!(check("a", Some("Alpha (de)")).result);
    }

    #[test]
    fn a_deprecated_concept_is_valid_with_a_warning() {
        let r = check("b", None);
        assert!(r.result);
        assert_eq!(r.status.as_deref(), Some("deprecated"));
        assert_eq!(r.issues.len(), 1);
        assert_eq!(r.issues[0].message_id, Some("DEPRECATED_CONCEPT_FOUND"));
        assert_eq!(r.issues[0].severity, Severity::Warning);
        assert!(check("a", None).issues.is_empty());
    }

    #[test]
    fn a_withdrawn_designation_is_accepted_with_a_warning_and_not_offered() {
        let r = check("c", Some("Altes Gamma"));
        assert!(r.result);
        assert_eq!(r.display.as_deref(), Some("Gamma"));
        assert_eq!(r.issues.len(), 1);
        assert_eq!(r.issues[0].message_id, Some("INACTIVE_DISPLAY_FOUND"));
        assert!(r.message.is_none());
        let wrong = check("c", Some("Delta"));
        assert!(!wrong.result);
        assert!(
            wrong.issues[0]
                .text
                .contains("Valid display is 'Gamma' (fr)"),
            "{}",
            wrong.issues[0].text
        );
    }
}
