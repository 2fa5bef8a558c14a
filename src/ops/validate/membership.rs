//! Steps that settle whether the code exists in its code system and is a member of the target.

use super::issues::{
    not_in_vs, unknown_code, versioned, vs_label, MEMBER_DEPRECATED, UNKNOWN_CODE_IN_FRAGMENT,
};
use super::version::VersionFound;
use super::{CodingCheck, Step, Target};
use crate::model::{CodeSystem, Concept};
use crate::ops::issue::{Issue, Severity};
use crate::ops::members::same_system;

/// The concept the code names in `cs`. `None` when the code system has no such code: `out`
/// then says so (and whether the value set still takes it, for a fragment).
pub(super) fn find_concept<'c>(
    step: &Step,
    cs: &'c CodeSystem,
    url: &str,
    found: &VersionFound,
    out: &mut CodingCheck,
) -> Option<&'c Concept> {
    if let Some(concept) = cs.concept(step.code) {
        return Some(concept);
    }
    if cs.content == "fragment" {
        unknown_in_fragment(step, cs, url, found.hit.is_some(), out);
        return None;
    }
    // With `valueset-membership-only`, only membership is reported.
    if !(step.opts.membership_only && matches!(step.target, Target::ValueSet(_))) {
        out.issues.push(unknown_code(cs, step.code, step.form));
    }
    if let (Target::ValueSet(vs), false) = (step.target, found.trouble) {
        out.issues.push(not_in_vs(
            &versioned(url, step.input.version.as_deref()),
            step.code,
            step.input.display.as_deref(),
            vs,
            step.form,
        ));
    }
    None
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
        out.issues.push(not_in_vs(
            url,
            step.code,
            step.input.display.as_deref(),
            vs,
            step.form,
        ));
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
