//! Step that reports on statuses: of the value set and code system used (draft, experimental…)
//! and of the concept (abstract, inactive, deprecated).

use super::issues::{imported_status_issues, not_in_vs, status_issue};
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

/// An inactive concept: a warning, and an error as well with `activeOnly` (false then).
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
    if step.opts.active_only {
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
        out.issues.push(not_in_vs(
            url,
            step.code,
            step.input.display.as_deref(),
            vs,
            step.form,
        ));
    }
}
