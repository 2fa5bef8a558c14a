//! Steps that settle whether the code exists in its code system and is a member of the target.

use super::issues::{
    not_in_vs, unknown_code, versioned, vs_label, MEMBER_DEPRECATED, UNKNOWN_CODE_IN_FRAGMENT,
};
use super::version::VersionFound;
use super::{CodingCheck, Step, Target};
use std::borrow::Cow;
use std::sync::Arc;

use crate::model::{CodeSystem, Concept};
use crate::ops::issue::{Issue, Severity};
use crate::ops::members::same_system;

/// The concept the code names in `cs`. `None` when the code system has no such code: `out`
/// then says so (and whether the value set still takes it, for a fragment).
pub(super) fn find_concept<'c>(
    step: &Step,
    cs: &'c Arc<CodeSystem>,
    url: &str,
    found: &VersionFound,
    out: &mut CodingCheck,
) -> Option<Cow<'c, Concept>> {
    if let Some(concept) = cs.concept_or_expression(step.code) {
        out.issues
            .extend(super::issues::case_difference(cs, step.code, step.form));
        if matches!(step.target, Target::CodeSystem { .. }) {
            out.issues.extend(code_notes(cs, step.code));
        }
        return Some(concept);
    }
    if cs.content == "fragment" {
        unknown_in_fragment(step, cs, url, found.hit.is_some(), out);
        return None;
    }
    // With `valueset-membership-only`, only membership is reported.
    if !(step.opts.membership_only && matches!(step.target, Target::ValueSet(_))) {
        out.issues.push(unknown_code(cs, step.code, step.form));
        out.issues.extend(code_notes(cs, step.code));
    }
    if let (Target::ValueSet(vs), false) = (step.target, found.trouble) {
        out.issues
            .push(step.not_in_vs(&versioned(url, step.input.version.as_deref()), vs));
    }
    None
}

/// What the code system's provider notes about a code (how an expression was checked).
fn code_notes(cs: &Arc<CodeSystem>, code: &str) -> Vec<crate::ops::Issue> {
    crate::ops::provider::provider(cs).code_notes(code)
}

/// A code a fragment of a code system does not have may be in another fragment: it is not
/// called invalid (a warning says why it could not be checked), and a value set that takes
/// the system's codes without listing them cannot be said not to contain it. A value set that
/// lists its codes, or does not draw on the system, still decides membership.
fn unknown_in_fragment(
    step: &Step,
    cs: &CodeSystem,
    url: &str,
    value_set_has_it: bool,
    out: &mut CodingCheck,
) {
    let code = step.code;
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
        .at(step.form.code())
        .id(UNKNOWN_CODE_IN_FRAGMENT),
    );
    out.valid = match step.target {
        Target::CodeSystem { .. } => true,
        Target::ValueSet(vs) => {
            value_set_has_it
                || vs.compose.include.iter().any(|c| {
                    c.concepts.is_empty()
                        && c.system
                            .as_deref()
                            .is_some_and(|s| same_system(step.scope, s, url))
                })
        }
    };
    out.member = out.valid;
    out.unconfirmed = true;
    if let (Target::ValueSet(vs), false) = (step.target, out.valid) {
        out.issues.push(not_in_vs(
            url,
            code,
            step.input.display.as_deref(),
            vs,
            step.form,
        ));
    }
}

/// Whether a known code is a member of the target value set (always, for a code system);
/// a member the value set itself deprecates is valid with a warning.
pub(super) fn check_membership(
    step: &Step,
    url: &str,
    found: &VersionFound,
    out: &mut CodingCheck,
) -> bool {
    let Target::ValueSet(vs) = step.target else {
        return true;
    };
    let mut member = true;
    if found.hit.is_none() && !found.trouble {
        out.issues.push(step.not_in_vs(url, vs));
        member = false;
    }
    if found.hit.as_ref().is_some_and(|h| h.deprecated) {
        out.issues.push(
            Issue::new(
                Severity::Warning,
                "business-rule",
                "code-comment",
                format!(
                    "The presence of the concept '{}' in the system '{url}' in the value set {} is marked with a status of deprecated and its use should be reviewed",
                    step.code,
                    vs_label(vs)
                ),
            )
            .at(step.form.code())
            .id(MEMBER_DEPRECATED),
        );
    }
    member
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::version::VersionFound;
    use super::*;
    use crate::ops::members::Hit;
    use crate::ops::Scope;
    use serde_json::json;

    fn found(hit: bool, trouble: bool) -> VersionFound<'static> {
        VersionFound {
            cs: None,
            hit: hit.then(Hit::default),
            asked: None,
            trouble,
        }
    }

    /// An unknown code: unknown in the code system, and (unless a version rule already
    /// failed) not in the value set; with membership-only, only the latter.
    #[test]
    fn an_unknown_code_is_reported_and_not_a_member() {
        let cat = standard_catalog();
        let scope = Scope::new(&cat);
        let cs = scope.code_system(CS, Some("1")).expect("version 1");
        let vs = read_value_set(value_set(json!({"include": [{"system": CS}]})));
        let coding = input(Some(CS), "zz", Some("Zed"));
        let run = |opts: &super::super::Options, trouble: bool| {
            with_step(&scope, Target::ValueSet(&vs), &coding, opts, |s, o| {
                find_concept(s, &cs, CS, &found(false, trouble), o).is_some()
            })
        };
        let (r, out) = run(&options(), false);
        assert!(!r);
        assert_eq!(
            ids(&out),
            vec![
                "Unknown_Code_in_Version",
                "None_of_the_provided_codes_are_in_the_value_set_one"
            ]
        );
        assert!(out.issues[1].text.contains(&format!("'{CS}#zz ('Zed')'")));
        let (_, out) = run(&options(), true);
        assert_eq!(ids(&out), vec!["Unknown_Code_in_Version"]);
        let membership_only = super::super::Options {
            membership_only: true,
            ..options()
        };
        let (_, out) = run(&membership_only, false);
        assert_eq!(
            ids(&out),
            vec!["None_of_the_provided_codes_are_in_the_value_set_one"]
        );
        let (r, _) = run(&options(), false);
        assert!(!r);
        let known = input(Some(CS), "a", None);
        let (r, _) = with_step(&scope, Target::ValueSet(&vs), &known, &options(), |s, o| {
            find_concept(s, &cs, CS, &found(true, false), o).map(|c| c.code.clone())
        });
        assert_eq!(r.as_deref(), Some("a"));
    }

    /// A known code the value set does not have is not a member; against a code system it
    /// always is; a member the value set deprecates is one, with a warning.
    #[test]
    fn membership_follows_the_value_set_hit() {
        let cat = standard_catalog();
        let scope = Scope::new(&cat);
        let vs = read_value_set(value_set(json!({"include": [{"system": CS}]})));
        let coding = input(Some(CS), "a", None);
        let opts = options();
        let (member, out) = with_step(&scope, Target::ValueSet(&vs), &coding, &opts, |s, o| {
            check_membership(s, CS, &found(false, false), o)
        });
        assert!(!member);
        assert_eq!(
            ids(&out),
            vec!["None_of_the_provided_codes_are_in_the_value_set_one"]
        );
        let target = Target::CodeSystem {
            system: Some(CS),
            version: None,
        };
        let (member, out) = with_step(&scope, target, &coding, &opts, |s, o| {
            check_membership(s, CS, &found(false, false), o)
        });
        assert!(member && out.issues.is_empty());
        let deprecated = VersionFound {
            hit: Some(Hit {
                deprecated: true,
                ..Hit::default()
            }),
            ..found(true, false)
        };
        let (member, out) = with_step(&scope, Target::ValueSet(&vs), &coding, &opts, |s, o| {
            check_membership(s, CS, &deprecated, o)
        });
        assert!(member);
        assert_eq!(ids(&out), vec![MEMBER_DEPRECATED]);
    }

    /// A case-insensitive code system finds a code under another case: valid, the code
    /// returned as given with the system's spelling as `normalized-code`, and an
    /// informational note on the code (not in `message`), in every input form; a
    /// case-sensitive one does not know the code.
    #[test]
    fn a_code_in_another_case_is_found_in_a_case_insensitive_system_with_a_note() {
        use super::super::{validate, Subject};
        let mut cs = code_system("1");
        cs["caseSensitive"] = json!(false);
        let vs = value_set(json!({"include": [{"system": CS}]}));
        let insensitive = catalog(&[cs, vs.clone()]);
        let sensitive = catalog(&[code_system("1"), vs]);
        let vs = read_value_set(value_set(json!({"include": [{"system": CS}]})));
        let coding = input(Some(CS), "A", None);
        let subjects = [
            (Subject::Code(coding.clone()), "code"),
            (Subject::Coding(coding.clone()), "Coding.code"),
            (
                Subject::CodeableConcept(vec![coding.clone()], None),
                "CodeableConcept.coding[0].code",
            ),
        ];
        for (subject, path) in subjects {
            for target in [
                Target::ValueSet(&vs),
                Target::CodeSystem {
                    system: Some(CS),
                    version: None,
                },
            ] {
                let r = validate(&Scope::new(&insensitive), target, &subject, &options()).unwrap();
                assert!(r.result, "{subject:?}: {:?}", r.issues);
                // The code as given, and as the system writes it; the note is not the message.
                assert_eq!(r.code.as_deref(), Some("A"));
                assert_eq!(r.normalized_code.as_deref(), Some("a"));
                assert_eq!(r.message, None);
                let note: Vec<_> = r
                    .issues
                    .iter()
                    .filter(|i| i.message_id == Some("CODE_CASE_DIFFERENCE"))
                    .collect();
                assert_eq!(note.len(), 1, "{subject:?}: {:?}", r.issues);
                assert_eq!(note[0].severity, Severity::Information);
                assert_eq!(note[0].expression.as_deref(), Some(path));
                assert!(note[0].text.starts_with(
                    "The code 'A' differs from the correct code 'a' by case. Although the code system 'http://example.org/cs/steps|1' is case insensitive"
                ));
                let r = validate(&Scope::new(&sensitive), target, &subject, &options()).unwrap();
                assert!(!r.result, "{subject:?}");
            }
        }
        // A value set listing `a` has `A` too when the system is case-insensitive.
        let listing = read_value_set(value_set(
            json!({"include": [{"system": CS, "concept": [{"code": "a"}]}]}),
        ));
        let subject = Subject::Coding(coding);
        let r = validate(
            &Scope::new(&insensitive),
            Target::ValueSet(&listing),
            &subject,
            &options(),
        )
        .unwrap();
        assert!(r.result, "{:?}", r.issues);
        let r = validate(
            &Scope::new(&sensitive),
            Target::ValueSet(&listing),
            &subject,
            &options(),
        )
        .unwrap();
        assert!(!r.result);
    }
}
