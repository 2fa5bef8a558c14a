//! Step that settles which version of the code system applies to a coding, and what the value
//! set's includes of that version say of its code (version parameters, several versions of a
//! system included at once).

use std::sync::Arc;

use super::issues::unknown_version;
use super::{CodingCheck, InputForm, Options, Step, Target};
use crate::error::Result;
use crate::model::{CodeSystem, ValueSet};
use crate::ops::issue::{Issue, Severity};
use crate::ops::members::{component_hit_at, contains, Hit};
use crate::ops::Scope;

/// The version of the code system a coding is judged by, and the value set's word on its code.
pub(super) struct VersionFound<'a> {
    /// The code system version selected, if any is known.
    pub cs: Option<Arc<CodeSystem>>,
    /// What the value set's include says of the code (`None` against a code system).
    pub hit: Option<Hit>,
    /// The version asked for (by the coding, the target or `systemVersion`), for messages.
    pub asked: Option<&'a str>,
    /// A version rule was broken (an error was reported): the coding is not valid, and its
    /// membership is not called into question.
    pub trouble: bool,
}

/// Selects the code system version for the coding. `None` when the coding cannot go further
/// (a version of the code system that does not exist): `out` says why.
pub(super) fn resolve_version<'a>(
    step: &Step<'a>,
    system: &super::system::ResolvedSystem,
    out: &mut CodingCheck,
) -> Result<Option<VersionFound<'a>>> {
    let (scope, input, code) = (step.scope, step.input, step.code);
    let url = &system.url;
    let asked = input
        .version
        .as_deref()
        .or(match step.target {
            Target::CodeSystem { version, .. } => version,
            _ => None,
        })
        .or(step.opts.system_version.as_deref());
    let vs = match step.target {
        Target::ValueSet(vs) => vs,
        Target::CodeSystem { .. } => {
            let cs = scope.code_system(&system.given, asked);
            if let (None, Some(v)) = (&cs, asked) {
                if scope.code_system(&system.given, None).is_some() {
                    out.issues.push(unknown_version(scope, url, v, step.form));
                    out.unknown_versions.push(format!("{url}|{v}"));
                    return Ok(None);
                }
            }
            return Ok(Some(VersionFound {
                cs,
                hit: None,
                asked,
                trouble: false,
            }));
        }
    };
    let found = match resolve_in_value_set(
        scope,
        vs,
        url,
        code,
        input.version.as_deref(),
        input.display.as_deref(),
        step.opts,
        step.form,
    )? {
        Some(r) => {
            let trouble = r.issues.iter().any(Issue::is_error);
            out.issues.extend(r.issues);
            out.unknown_versions.extend(r.unknown);
            VersionFound {
                cs: r.cs,
                hit: r.hit,
                asked,
                trouble,
            }
        }
        None => VersionFound {
            cs: scope.code_system(&system.given, asked),
            hit: contains(scope, vs, url, code, 0)?,
            asked,
            trouble: false,
        },
    };
    Ok(Some(found))
}

/// The version of a code system a value set include selects, and why (for messages).
pub(super) enum VersionSource {
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

/// Resolves a version pattern (`1.0.0`, `1.x`), preferring the coding's own version when the
/// pattern admits it; no pattern means the newest version.
fn version_matching(
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
pub(super) type Choice = (
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
pub(super) fn choose_include(
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

/// The version parameters of the request that name the coding's system.
struct VersionParams<'o> {
    /// `force-system-version`.
    force: Option<&'o str>,
    /// `system-version`.
    default: Option<&'o str>,
    /// `check-system-version`.
    check: Option<&'o str>,
}

/// What one include of the coding's system selects: the version pattern and where it came
/// from, the code system version it reads, and whether it (less the excludes) has the code.
#[allow(clippy::too_many_arguments)]
fn include_choice(
    scope: &Scope,
    vs: &ValueSet,
    inc: &crate::model::ConceptSetComponent,
    url: &str,
    code: &str,
    coding_version: Option<&str>,
    coding_version_known: bool,
    params: &VersionParams,
) -> Result<Choice> {
    let (spec, source) = if let Some(f) = params.force {
        (
            Some(f.to_string()),
            VersionSource::Forced {
                include: inc.version.clone(),
            },
        )
    } else if let Some(v) = &inc.version {
        (Some(v.clone()), VersionSource::Include)
    } else if let (false, Some(d)) = (coding_version_known, params.default.or(params.check)) {
        (Some(d.to_string()), VersionSource::Parameter)
    } else {
        (None, VersionSource::Versionless)
    };
    let cs = version_matching(scope, url, spec.as_deref(), coding_version);
    let mut hit = match &cs {
        Some(cs) => component_hit_at(scope, inc, cs.meta.version.as_deref(), url, code, 0)?,
        None => None,
    };
    // `compose.exclude` removes what an include selected (e.g. notSelectable grouping
    // codes), in the version it reads or in every version (see `exclude_spans_versions`).
    if hit.is_some() {
        let version = cs.as_ref().and_then(|c| c.meta.version.as_deref());
        for exc in &vs.compose.exclude {
            if crate::ops::members::excludes_at(scope, vs, exc, url, version, code)? {
                hit = None;
                break;
            }
        }
    }
    Ok((spec, source, cs, hit))
}

/// The coding's version `vc` is not the one the include selected (`selected`, from pattern
/// `spec`). The reference's message id says where the version came from: changed by a
/// parameter or a forced version, the versionless default, or the include itself.
fn version_mismatch(
    url: &str,
    vc: &str,
    spec: Option<&str>,
    source: &VersionSource,
    selected: Option<&str>,
    coding_version_known: bool,
    form: InputForm,
) -> Issue {
    let shown = selected.or(spec).unwrap_or_default();
    let spec = spec.unwrap_or_default();
    let (phrase, severity, message_id) = match source {
        VersionSource::Forced { include } => (
            format!(
                "version '{spec}' resulting from the version '{}'",
                include.as_deref().unwrap_or_default()
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
            format!("version '{spec}' resulting from the version ''"),
            Severity::Error,
            "VALUESET_VALUE_MISMATCH_CHANGED",
        ),
        VersionSource::Versionless if !coding_version_known => (
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
    Issue::new(
        severity,
        "invalid",
        "vs-invalid",
        format!("The code system '{url}' {phrase} in the ValueSet include is different to the one in the value ('{vc}')"),
    )
    .at(form.version())
    .id(message_id)
}

/// `check-system-version` asks for versions matching `pattern`: an error when the version
/// `cs` selected does not.
fn version_check_failure(
    url: &str,
    pattern: &str,
    cs: &CodeSystem,
    form: InputForm,
) -> Option<Issue> {
    let actual = cs.meta.version.clone().unwrap_or_default();
    if crate::catalog::version::matches(pattern, &actual) {
        return None;
    }
    Some(
        Issue::new(
            Severity::Error,
            "exception",
            "version-error",
            format!("The version '{actual}' is not allowed for system '{url}': required to be '{pattern}' by a version-check parameter"),
        )
        .at(form.version())
        .id("VALUESET_VERSION_CHECK"),
    )
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
    form: InputForm,
) -> Result<Option<VsResolution>> {
    let includes: Vec<&crate::model::ConceptSetComponent> = vs
        .compose
        .include
        .iter()
        .filter(|i| {
            i.system
                .as_deref()
                .is_some_and(|s| crate::ops::members::same_system(scope, s, url))
        })
        .collect();
    if includes.is_empty() || scope.code_system(url, None).is_none() {
        return Ok(None);
    }
    let coding_known = coding_version.and_then(|v| scope.code_system(url, Some(v)));
    let force = Options::version_param(&opts.force_versions, scope, url);
    let default = Options::version_param(&opts.default_versions, scope, url);
    let check = Options::version_param(&opts.check_versions, scope, url);

    let params = VersionParams {
        force,
        default,
        check,
    };
    let mut candidates: Vec<Choice> = Vec::new();
    for inc in &includes {
        candidates.push(include_choice(
            scope,
            vs,
            inc,
            url,
            code,
            coding_version,
            coding_known.is_some(),
            &params,
        )?);
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
        r.issues.push(unknown_version(scope, url, spec, form));
        r.unknown.push(format!("{url}|{spec}"));
    }
    if let Some(vc) = coding_version {
        if coding_known.is_none() {
            r.issues.push(unknown_version(scope, url, vc, form));
            r.unknown.push(format!("{url}|{vc}"));
        }
        let selected = cs.as_ref().and_then(|c| c.meta.version.clone());
        if selected.as_deref() != Some(vc) {
            r.issues.push(version_mismatch(
                url,
                vc,
                spec.as_deref(),
                &source,
                selected.as_deref(),
                coding_known.is_some(),
                form,
            ));
        }
    }
    if let (Some(k), Some(cs)) = (check, &cs) {
        r.issues.extend(version_check_failure(url, k, cs, form));
    }
    // Displays come from the selected version, else the coding's, else the parameters', else
    // the newest.
    if r.cs.is_none() {
        r.cs = coding_known
            .or_else(|| {
                force
                    .or(check)
                    .or(default)
                    .and_then(|v| version_matching(scope, url, Some(v), None))
            })
            .or_else(|| scope.code_system(url, None));
    }
    Ok(Some(r))
}

#[cfg(test)]
mod tests {
    use super::super::system::ResolvedSystem;
    use super::super::test_support::*;
    use super::*;
    use serde_json::json;

    fn system() -> ResolvedSystem {
        ResolvedSystem {
            given: CS.into(),
            url: CS.into(),
        }
    }

    /// Against a code system: the version asked for, else the newest; an unknown version of
    /// a known system stops the check and names the versions known.
    #[test]
    fn a_code_system_version_is_the_one_asked_for_or_the_newest() {
        let cat = standard_catalog();
        let scope = Scope::new(&cat);
        let opts = options();
        let version_of = |version: Option<&str>| {
            let target = Target::CodeSystem {
                system: None,
                version,
            };
            let coding = input(Some(CS), "a", None);
            let (r, out) = with_step(&scope, target, &coding, &opts, |s, o| {
                resolve_version(s, &system(), o)
                    .ok()
                    .flatten()
                    .map(|f| f.cs.and_then(|cs| cs.meta.version.clone()))
            });
            (r, out)
        };
        assert_eq!(version_of(Some("1")).0, Some(Some("1".to_string())));
        assert_eq!(version_of(None).0, Some(Some("2".to_string())));
        let (r, out) = version_of(Some("9"));
        assert_eq!(r, None);
        assert_eq!(ids(&out), vec!["UNKNOWN_CODESYSTEM_VERSION"]);
        assert!(out.issues[0].text.ends_with("Valid versions: 1 or 2"));
        assert_eq!(out.unknown_versions, vec![format!("{CS}|9")]);
    }

    /// An include pinned to a version decides; a coding naming another version is an error
    /// (trouble), naming it for a versionless include only a warning when it is unknown.
    #[test]
    fn a_coding_version_other_than_the_include_is_trouble() {
        let cat = standard_catalog();
        let scope = Scope::new(&cat);
        let opts = options();
        let pinned = read_value_set(value_set(
            json!({"include": [{"system": CS, "version": "1"}]}),
        ));
        let mut coding = input(Some(CS), "a", None);
        coding.version = Some("2".into());
        let (r, out) = with_step(&scope, Target::ValueSet(&pinned), &coding, &opts, |s, o| {
            resolve_version(s, &system(), o).ok().flatten().map(|f| {
                (
                    f.trouble,
                    f.hit.is_some(),
                    f.cs.and_then(|c| c.meta.version.clone()),
                )
            })
        });
        assert_eq!(r, Some((true, true, Some("1".to_string()))));
        assert_eq!(ids(&out), vec!["VALUESET_VALUE_MISMATCH"]);
        assert_eq!(out.issues[0].expression.as_deref(), Some("Coding.version"));

        let whole = read_value_set(value_set(json!({"include": [{"system": CS}]})));
        coding.version = Some("7".into());
        let (r, out) = with_step(&scope, Target::ValueSet(&whole), &coding, &opts, |s, o| {
            resolve_version(s, &system(), o)
                .ok()
                .flatten()
                .map(|f| f.trouble)
        });
        assert_eq!(r, Some(true));
        assert_eq!(
            ids(&out),
            vec![
                "UNKNOWN_CODESYSTEM_VERSION",
                "VALUESET_VALUE_MISMATCH_DEFAULT"
            ]
        );
        assert_eq!(out.issues[1].severity, Severity::Warning);
    }

    /// `check-system-version`: a version outside the pattern is an error, one inside is not.
    #[test]
    fn a_checked_version_must_match_its_pattern() {
        let cat = standard_catalog();
        let scope = Scope::new(&cat);
        let v2 = scope.code_system(CS, Some("2")).expect("version 2");
        let issue = version_check_failure(CS, "1.x", &v2, InputForm::Coding).expect("refused");
        assert_eq!(issue.message_id, Some("VALUESET_VERSION_CHECK"));
        assert_eq!(
            issue.text,
            format!("The version '2' is not allowed for system '{CS}': required to be '1.x' by a version-check parameter")
        );
        assert!(version_check_failure(CS, "2", &v2, InputForm::Coding).is_none());
    }

    /// The mismatch message says where the include's version came from.
    #[test]
    fn version_mismatch_names_the_source_of_the_version() {
        let forced = VersionSource::Forced {
            include: Some("1".into()),
        };
        let issue = version_mismatch(
            CS,
            "2",
            Some("3"),
            &forced,
            Some("3"),
            true,
            InputForm::Code,
        );
        assert_eq!(
            issue.text,
            format!("The code system '{CS}' version '3' resulting from the version '1' in the ValueSet include is different to the one in the value ('2')")
        );
        assert_eq!(issue.expression.as_deref(), Some("version"));
        let by_param = version_mismatch(
            CS,
            "2",
            Some("1"),
            &VersionSource::Parameter,
            Some("1"),
            false,
            InputForm::CodeableConcept(1),
        );
        assert_eq!(by_param.message_id, Some("VALUESET_VALUE_MISMATCH_CHANGED"));
        assert_eq!(
            by_param.expression.as_deref(),
            Some("CodeableConcept.coding[1].version")
        );
        let known = version_mismatch(
            CS,
            "2",
            None,
            &VersionSource::Versionless,
            Some("1"),
            true,
            InputForm::Coding,
        );
        assert_eq!(
            (known.severity, known.message_id),
            (Severity::Error, Some("VALUESET_VALUE_MISMATCH"))
        );
    }
}
