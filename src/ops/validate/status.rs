//! Step that reports on statuses: of the value set and code system used (draft, experimental…)
//! and of the concept (abstract, inactive, deprecated).

use super::issues::{imported_status_issues, status_issue};
use super::{CodingCheck, Step, Target};
use crate::model::{CodeSystem, Concept};
use crate::ops::issue::{Issue, Severity};

/// Adds the status issues of the coding; false when a status makes it invalid (an abstract
/// code where none is allowed, an inactive one with `activeOnly`). `member`: the value set
/// has the code (a code refused for its status is then also said not to be in it).
pub(super) fn check_status(
    step: &Step,
    cs: &CodeSystem,
    concept: &Concept,
    url: &str,
    member: bool,
    out: &mut CodingCheck,
) -> bool {
    if let Target::ValueSet(vs) = step.target {
        out.issues.extend(status_issue("ValueSet", &vs.meta));
        out.issues.extend(imported_status_issues(step.scope, vs));
    }
    out.issues.extend(status_issue("CodeSystem", &cs.meta));
    let mut valid = true;
    if !step.opts.allow_abstract && concept.is_abstract() {
        out.issues.push(
            Issue::new(
                Severity::Error,
                "business-rule",
                "code-rule",
                format!(
                    "Code '{url}#{}' is abstract, and not allowed in this context",
                    step.code
                ),
            )
            .id("ABSTRACT_CODE_NOT_ALLOWED")
            .at(step.form.code()),
        );
        refused_member(step, url, member, out);
        valid = false;
    }
    if concept.is_inactive() {
        valid &= check_inactive(step, concept, url, member, out);
    }
    if concept.is_deprecated() && !concept.is_inactive() {
        out.status.get_or_insert_with(|| "deprecated".to_string());
        out.issues.push(
            Issue::new(
                Severity::Warning,
                "business-rule",
                "code-comment",
                format!(
                    "The concept '{}' is deprecated and its use should be reviewed",
                    step.code
                ),
            )
            .at(step.form.code())
            .id("DEPRECATED_CONCEPT_FOUND"),
        );
    }
    valid
}

/// Whether the target leaves inactive codes out: `activeOnly`, or a value set whose
/// `compose.inactive` is false (FHIR: inactive codes are then not in its expansion).
fn inactive_refused(step: &Step) -> bool {
    step.opts.active_only
        || matches!(step.target, Target::ValueSet(vs) if vs.compose.inactive == Some(false))
}

/// An inactive concept: a warning, and an error as well where inactive codes are refused
/// (false then).
fn check_inactive(
    step: &Step,
    concept: &Concept,
    url: &str,
    member: bool,
    out: &mut CodingCheck,
) -> bool {
    let code = step.code;
    out.inactive = Some(true);
    let mut valid = true;
    if inactive_refused(step) {
        out.issues.push(
            Issue::new(
                Severity::Error,
                "business-rule",
                "code-rule",
                format!("The concept '{code}' is valid but is not active"),
            )
            .at(step.form.code())
            .id("STATUS_CODE_WARNING_CODE"),
        );
        refused_member(step, url, member, out);
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
        .at(step.form.coding())
        .id("INACTIVE_CONCEPT_FOUND"),
    );
    valid
}

/// A member of the value set refused for its status is not in it, as far as the answer goes.
fn refused_member(step: &Step, url: &str, member: bool, out: &mut CodingCheck) {
    if let (Target::ValueSet(vs), true) = (step.target, member) {
        out.issues.push(step.not_in_vs(url, vs));
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::super::{CodingCheck, Options};
    use super::*;
    use crate::ops::Scope;
    use serde_json::json;

    /// Runs the status step on `code` of version 1 against a value set that has it.
    fn status_of(code: &str, opts: &Options, vs_status: &str) -> (bool, CodingCheck) {
        status_in(code, opts, vs_status, json!({"include": [{"system": CS}]}))
    }

    /// The same, against a value set of this `compose`.
    fn status_in(
        code: &str,
        opts: &Options,
        vs_status: &str,
        compose: serde_json::Value,
    ) -> (bool, CodingCheck) {
        let mut vs = value_set(compose);
        vs["status"] = json!(vs_status);
        let vs = read_value_set(vs);
        let cat = standard_catalog();
        let scope = Scope::new(&cat);
        let cs = scope.code_system(CS, Some("1")).expect("version 1");
        let concept = cs.concept(code).expect("known code").clone();
        let coding = input(Some(CS), code, None);
        with_step(&scope, Target::ValueSet(&vs), &coding, opts, |s, o| {
            check_status(s, &cs, &concept, CS, true, o)
        })
    }

    #[test]
    fn an_abstract_code_is_refused_only_when_abstract_codes_are_not_allowed() {
        let (ok, out) = status_of("abs", &options(), "active");
        assert!(ok && out.issues.is_empty());
        let strict = Options {
            allow_abstract: false,
            ..options()
        };
        let (ok, out) = status_of("abs", &strict, "active");
        assert!(!ok);
        assert_eq!(
            ids(&out),
            vec![
                "ABSTRACT_CODE_NOT_ALLOWED",
                "None_of_the_provided_codes_are_in_the_value_set_one"
            ]
        );
    }

    /// Inactive: a warning on the coding and `inactive`; with activeOnly an error too.
    #[test]
    fn an_inactive_code_is_a_warning_or_with_active_only_an_error() {
        let (ok, out) = status_of("old", &options(), "active");
        assert!(ok);
        assert_eq!(out.inactive, Some(true));
        assert_eq!(ids(&out), vec!["INACTIVE_CONCEPT_FOUND"]);
        assert_eq!(out.issues[0].expression.as_deref(), Some("Coding"));
        assert!(out.issues[0]
            .text
            .contains("has a status of retired and inactive"));
        let active_only = Options {
            active_only: true,
            ..options()
        };
        let (ok, out) = status_of("old", &active_only, "active");
        assert!(!ok);
        assert_eq!(
            ids(&out),
            vec![
                "STATUS_CODE_WARNING_CODE",
                "None_of_the_provided_codes_are_in_the_value_set_one",
                "INACTIVE_CONCEPT_FOUND"
            ]
        );
    }

    /// A value set whose `compose.inactive` is false refuses an inactive code as `activeOnly`
    /// does, whatever the request says; `compose.inactive` true or absent takes it.
    #[test]
    fn a_value_set_without_inactive_codes_refuses_an_inactive_one() {
        let refusing = json!({"inactive": false, "include": [{"system": CS}]});
        let (ok, out) = status_in("old", &options(), "active", refusing);
        assert!(!ok);
        assert_eq!(
            ids(&out),
            vec![
                "STATUS_CODE_WARNING_CODE",
                "None_of_the_provided_codes_are_in_the_value_set_one",
                "INACTIVE_CONCEPT_FOUND"
            ]
        );
        assert_eq!(out.issues[0].expression.as_deref(), Some("Coding.code"));
        let taking = json!({"inactive": true, "include": [{"system": CS}]});
        let (ok, out) = status_in("old", &options(), "active", taking);
        assert!(ok);
        assert_eq!(ids(&out), vec!["INACTIVE_CONCEPT_FOUND"]);
        // An active code is not affected.
        let refusing = json!({"inactive": false, "include": [{"system": CS}]});
        let (ok, out) = status_in("dep", &options(), "active", refusing);
        assert!(ok, "{:?}", out.issues);
    }

    /// A deprecated concept is valid with a warning and a `deprecated` status; a draft value
    /// set is noted first.
    #[test]
    fn deprecated_concepts_and_draft_value_sets_are_noted() {
        let (ok, out) = status_of("dep", &options(), "draft");
        assert!(ok);
        assert_eq!(ids(&out), vec!["MSG_DRAFT", "DEPRECATED_CONCEPT_FOUND"]);
        assert_eq!(out.status.as_deref(), Some("deprecated"));
        assert_eq!(
            out.issues[0].text,
            format!("Reference to draft ValueSet {VS}|1")
        );
    }
}
