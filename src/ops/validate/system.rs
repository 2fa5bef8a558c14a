//! Steps that settle which code system a coding speaks of: its system (given, taken from the
//! target, or inferred), the URL it is answered with, and the code system loaded for it.

use std::sync::Arc;

use super::issues::{
    no_system, not_in_vs, unknown_system, versioned, vs_label, wrong_display, WrongDisplay,
    MEMBERSHIP_BY_VALUE_SET,
};
use super::{requested_languages, CodingCheck, Step, Target};
use crate::error::Result;
use crate::model::{CodeSystem, ValueSet};
use crate::ops::issue::{Issue, Severity};
use crate::ops::members::{contains, same_system, Hit};
use crate::ops::Scope;

/// The system of a coding: as given (or inferred), and the canonical URL it resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ResolvedSystem {
    /// The system as the request gave it, or as taken from the target or inferred.
    pub given: String,
    /// Its canonical URL (`urn:oid:X` for an OID nobody maps to a URL).
    pub url: String,
}

/// Finds the coding's system and its URL. `None` when the coding cannot go further (no
/// system, a value set named as a system…): `out` then says why.
pub(super) fn resolve_system(step: &Step, out: &mut CodingCheck) -> Result<Option<ResolvedSystem>> {
    let Some(system) = given_or_inferred_system(step, out) else {
        return Ok(None);
    };
    let scope = step.scope;
    // A system whose tx-resource could not be read: the request fails with why.
    if scope.code_system(&system, None).is_none() {
        if let Some(e) = scope.unreadable(&system) {
            return Err(e);
        }
    }
    if let Target::ValueSet(vs) = step.target {
        if !system_is_usable(step, vs, &system, out) {
            return Ok(None);
        }
    }
    // A system named by OID is answered with its canonical URL (`urn:oid:X` when none is
    // known): CDA speaks OIDs, FHIR answers speak URLs.
    let oid = crate::model::oid_of(&system).map(str::to_string);
    let url = scope
        .canonical_url(&system)
        .or_else(|| oid.as_ref().map(|o| format!("urn:oid:{o}")))
        .unwrap_or_else(|| system.clone());
    out.system = Some(if step.input.system.is_some() && oid.is_none() {
        system.clone()
    } else {
        url.clone()
    });
    Ok(Some(ResolvedSystem { given: system, url }))
}

/// The system given, else the code system validated against, else (with `inferSystem`) the
/// one system of the value set that has the code.
fn given_or_inferred_system(step: &Step, out: &mut CodingCheck) -> Option<String> {
    let (code, form) = (step.code, step.form);
    let display = step.input.display.as_deref();
    match (step.input.system.as_deref(), step.target) {
        (Some(s), _) => Some(s.to_string()),
        (
            None,
            Target::CodeSystem {
                system: Some(s), ..
            },
        ) => Some(s.to_string()),
        (None, Target::ValueSet(vs)) if step.opts.infer_system => {
            match infer_system(step.scope, vs, code) {
                Ok(s) => Some(s),
                Err(matches) => {
                    out.issues
                        .push(cannot_infer(vs, code, &matches).at(form.code()));
                    out.issues.push(not_in_vs("", code, display, vs, form));
                    None
                }
            }
        }
        (None, Target::ValueSet(vs)) => {
            // Without a system the code has no meaning: it cannot be a member.
            out.issues.push(no_system(Severity::Warning, form));
            out.issues.push(not_in_vs("", code, display, vs, form));
            None
        }
        (None, _) => {
            out.issues.push(no_system(Severity::Error, form));
            None
        }
    }
}

/// Why no system could be inferred: none of the value set's systems has the code, or several do.
fn cannot_infer(vs: &ValueSet, code: &str, matches: &[String]) -> Issue {
    if matches.is_empty() {
        let systems: Vec<&str> = vs
            .compose
            .include
            .iter()
            .filter_map(|i| i.system.as_deref())
            .collect();
        return Issue::new(
            Severity::Error,
            "not-found",
            "cannot-infer",
            format!(
                "The code '{code}' was not found in any of the code systems of the value set ({}), so its system cannot be inferred",
                systems.join(", ")
            ),
        );
    }
    // Several systems of the value set have the code: which one is meant is not for the
    // server to guess.
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
}

/// The single system of `vs` that contains `code`, for codes given without a system.
pub(super) fn infer_system(
    scope: &Scope,
    vs: &ValueSet,
    code: &str,
) -> std::result::Result<String, Vec<String>> {
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

/// Against a value set, an unknown system that is a value set's URL, or is not absolute, is a
/// mistake in the coding. False when the coding cannot go further (a value set named).
fn system_is_usable(step: &Step, vs: &ValueSet, system: &str, out: &mut CodingCheck) -> bool {
    let scope = step.scope;
    if scope.code_system(system, None).is_some() {
        return true;
    }
    // A system given by OID may share it with a value set (the ANS reuses a TRE's OID for
    // JDV_TypeRencontre_CISIS): only a URL naming a value set is a mistake.
    let names_value_set =
        crate::model::oid_of(system).is_none() && scope.value_set(system, None).is_some();
    let text = if names_value_set {
        format!("The Coding references a value set, not a code system ('{system}')")
    } else if !system.contains(':') && !crate::model::canonical::is_bare_oid(system) {
        "Coding.system must be an absolute reference, not a local reference".to_string()
    } else {
        return true;
    };
    out.issues
        .push(Issue::new(Severity::Error, "invalid", "invalid-data", text).at(step.form.system()));
    if !names_value_set {
        return true;
    }
    out.system = Some(system.to_string());
    out.issues.push(step.not_in_vs(system, vs));
    false
}

/// The code system whose concepts decide the coding: `cs`, when it is loaded with its content
/// and is not a supplement. Otherwise `None`, and `out` says why (or, for a member of an
/// enumerated value set, holds the value set's own answer).
pub(super) fn loaded_code_system(
    step: &Step,
    system: &ResolvedSystem,
    cs: Option<Arc<CodeSystem>>,
    cs_version: Option<&str>,
    hit: Option<&Hit>,
    out: &mut CodingCheck,
) -> Option<Arc<CodeSystem>> {
    let cs = match cs {
        Some(cs) if cs.content != "not-present" => cs,
        other => {
            match (step.target, hit) {
                (Target::ValueSet(vs), Some(hit)) => {
                    member_by_value_set_alone(step, vs, &system.url, other.as_deref(), hit, out)
                }
                _ => unknown_code_system(step, system, other.is_none(), cs_version, out),
            }
            return None;
        }
    };
    if cs.is_supplement() {
        let text = format!(
            "CodeSystem {} is a supplement, so can't be used as a value in {}",
            cs.meta.versioned_url(),
            step.form.system()
        );
        out.issues.push(
            Issue::new(Severity::Error, "invalid", "invalid-data", text)
                .at(step.form.system())
                .id("CODESYSTEM_CS_NO_SUPPLEMENT"),
        );
        return None;
    }
    Some(cs)
}

/// A member of an enumerated value set whose code system is not loaded (or has no content):
/// valid on the value set's word, with a note, and its display checked against the value set's.
fn member_by_value_set_alone(
    step: &Step,
    vs: &ValueSet,
    url: &str,
    cs: Option<&CodeSystem>,
    hit: &Hit,
    out: &mut CodingCheck,
) {
    let code = step.code;
    out.valid = true;
    // The value set has the code: a codeableConcept of this coding has a member.
    out.member = true;
    out.version = cs.and_then(|c| c.meta.version.clone());
    out.display = hit.label.clone();
    let why = if cs.is_some() {
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
        .at(step.form.system())
        .id(MEMBERSHIP_BY_VALUE_SET),
    );
    let (Some(given), false) = (&step.input.display, step.opts.membership_only) else {
        return;
    };
    let accepted: Vec<&str> = hit
        .label
        .iter()
        .chain(hit.designations.iter().map(|d| &d.value))
        .map(String::as_str)
        .collect();
    let Some(label) = hit.label.as_deref() else {
        return;
    };
    if accepted.contains(&given.as_str()) {
        return;
    }
    let issue = wrong_display(
        &WrongDisplay {
            given,
            system: url,
            code,
            choices: &[(label, vs.meta.language.as_deref())],
            alternatives: &accepted,
        },
        &requested_languages(step.opts),
        step.opts.lenient_display,
        step.form,
    );
    if issue.is_error() {
        out.valid = false;
    }
    out.issues.push(issue);
}

/// No code system (or none with content) answers for the coding's system.
fn unknown_code_system(
    step: &Step,
    system: &ResolvedSystem,
    none_loaded: bool,
    cs_version: Option<&str>,
    out: &mut CodingCheck,
) {
    let (scope, given, url) = (step.scope, &system.given, &system.url);
    let other_versions_known = scope.code_system(given, None).is_some();
    out.issues.push(unknown_system(
        given,
        cs_version,
        other_versions_known,
        step.form,
    ));
    let Target::ValueSet(vs) = step.target else {
        out.unknown_system = Some(given.clone());
        return;
    };
    // The value set draws on this system (no version of which is known): membership cannot
    // be decided, so the answer is caused by the unknown system, not a code outside the
    // value set.
    if none_loaded && scope.code_system_versions(given).is_empty() && draws_on(scope, vs, url) {
        out.unknown_versions.push(url.clone());
        return;
    }
    out.unknown_system = Some(given.clone());
    out.issues
        .push(step.not_in_vs(&versioned(url, step.input.version.as_deref()), vs));
}

/// Whether a component of `vs` (include or exclude) selects from code system `url`.
fn draws_on(scope: &Scope, vs: &ValueSet, url: &str) -> bool {
    vs.compose
        .include
        .iter()
        .chain(&vs.compose.exclude)
        .filter_map(|c| c.system.as_deref())
        .any(|s| same_system(scope, s, url))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::Options;
    use super::*;
    use serde_json::json;

    fn resolve(
        target: Target,
        input: &super::super::CodingInput,
    ) -> (Option<ResolvedSystem>, Vec<&'static str>) {
        let cat = standard_catalog();
        let scope = Scope::new(&cat);
        let opts = options();
        let (r, out) = with_step(&scope, target, input, &opts, resolve_system);
        let r = r.ok().flatten();
        (r, ids(&out))
    }

    /// A system given by OID is answered by the code system's URL; one given by URL stays.
    #[test]
    fn an_oid_system_resolves_to_its_url() {
        let target = Target::CodeSystem {
            system: None,
            version: None,
        };
        for given in [format!("urn:oid:{OID}"), CS.to_string()] {
            let (r, issues) = resolve(target, &input(Some(&given), "a", None));
            let r = r.expect("resolved");
            assert_eq!((r.given.as_str(), r.url.as_str()), (given.as_str(), CS));
            assert!(issues.is_empty(), "{issues:?}");
        }
    }

    /// No system: against a code system, the target's; against a value set, not a member
    /// (a warning, not-in-vs); with inferSystem, the one system having the code.
    #[test]
    fn a_missing_system_is_taken_from_the_target_or_inferred() {
        let code = input(None, "a", None);
        let target = Target::CodeSystem {
            system: Some(CS),
            version: None,
        };
        assert_eq!(
            resolve(target, &code).0.map(|r| r.url),
            Some(CS.to_string())
        );

        let cat = standard_catalog();
        let scope = Scope::new(&cat);
        let vs = read_value_set(value_set(json!({"include": [{"system": CS}]})));
        let (r, out) = with_step(&scope, Target::ValueSet(&vs), &code, &options(), |s, o| {
            resolve_system(s, o)
        });
        assert!(matches!(r, Ok(None)));
        assert_eq!(out.issues[0].severity, Severity::Warning);
        assert_eq!(out.issues[0].expression.as_deref(), Some("Coding"));
        assert_eq!(
            ids(&out)[1],
            "None_of_the_provided_codes_are_in_the_value_set_one"
        );

        let opts = Options {
            infer_system: true,
            ..options()
        };
        let (r, out) = with_step(&scope, Target::ValueSet(&vs), &code, &opts, |s, o| {
            resolve_system(s, o)
        });
        assert_eq!(r.ok().flatten().map(|r| r.url), Some(CS.to_string()));
        assert!(out.issues.is_empty());
    }

    /// A value set's URL given as a system stops the check; a relative system is an error
    /// that does not.
    #[test]
    fn a_value_set_or_relative_reference_is_not_a_system() {
        let cat = standard_catalog();
        let scope = Scope::new(&cat);
        let vs = read_value_set(value_set(json!({"include": [{"system": CS}]})));
        let (r, out) = with_step(
            &scope,
            Target::ValueSet(&vs),
            &input(Some(VS), "a", None),
            &options(),
            resolve_system,
        );
        assert!(matches!(r, Ok(None)));
        assert!(out.issues[0]
            .text
            .starts_with("The Coding references a value set"));
        assert_eq!(out.system.as_deref(), Some(VS));
        let (r, out) = with_step(
            &scope,
            Target::ValueSet(&vs),
            &input(Some("local"), "a", None),
            &options(),
            resolve_system,
        );
        assert!(matches!(r, Ok(Some(_))));
        assert_eq!(out.issues[0].expression.as_deref(), Some("Coding.system"));
        assert!(out.issues[0].is_error());
    }

    /// A supplement cannot stand for its code system; an unknown system is recorded as such.
    #[test]
    fn a_supplement_or_unknown_system_has_no_concepts_to_check() {
        let supplement = json!({"resourceType": "CodeSystem", "url": "http://example.org/supp",
            "version": "1", "status": "active", "content": "supplement", "supplements": CS,
            "concept": [{"code": "a", "designation": [{"language": "de", "value": "Alpha de"}]}]});
        let cat = catalog(&[code_system("1"), supplement]);
        let scope = Scope::new(&cat);
        let target = Target::CodeSystem {
            system: None,
            version: None,
        };
        let system = ResolvedSystem {
            given: "http://example.org/supp".into(),
            url: "http://example.org/supp".into(),
        };
        let cs = scope.code_system(&system.given, None);
        assert!(cs.is_some());
        let coding = input(Some(&system.given), "a", None);
        let (r, out) = with_step(&scope, target, &coding, &options(), |s, o| {
            loaded_code_system(s, &system, cs, None, None, o)
        });
        assert!(r.is_none());
        assert_eq!(ids(&out), vec!["CODESYSTEM_CS_NO_SUPPLEMENT"]);

        let gone = ResolvedSystem {
            given: "http://example.org/gone".into(),
            url: "http://example.org/gone".into(),
        };
        let coding = input(Some(&gone.given), "a", None);
        let (r, out) = with_step(&scope, target, &coding, &options(), |s, o| {
            loaded_code_system(s, &gone, None, None, None, o)
        });
        assert!(r.is_none());
        assert_eq!(ids(&out), vec!["UNKNOWN_CODESYSTEM"]);
        assert_eq!(
            out.unknown_system.as_deref(),
            Some("http://example.org/gone")
        );
    }

    /// A value set that lists a code of a system not loaded here decides membership on its
    /// own word, the same in every input form: a codeableConcept of that one coding has a
    /// member and is valid, as the code and the coding are.
    #[test]
    fn membership_by_the_value_set_alone_is_the_same_in_every_form() {
        use super::super::{validate, Subject};
        let gone = "http://example.org/gone";
        let vs = read_value_set(value_set(
            json!({"include": [{"system": gone, "concept": [{"code": "x", "display": "X"}]}]}),
        ));
        let cat = catalog(&[code_system("1")]);
        let scope = Scope::new(&cat);
        let coding = input(Some(gone), "x", None);
        for subject in [
            Subject::Code(coding.clone()),
            Subject::Coding(coding.clone()),
            Subject::CodeableConcept(vec![coding.clone()], None),
        ] {
            let r = validate(&scope, Target::ValueSet(&vs), &subject, &options()).unwrap();
            assert!(r.result, "{subject:?}: {:?}", r.issues);
            assert_eq!(r.code.as_deref(), Some("x"), "{subject:?}");
            assert!(r.issues.iter().all(|i| !i.is_error()), "{:?}", r.issues);
        }
    }
}
