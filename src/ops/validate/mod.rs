//! `$validate-code` on CodeSystem and ValueSet: exact, in-memory checks of a code, Coding or
//! CodeableConcept, with the messages and issue codes FHIR validators expect.

mod display_name;
mod issues;
mod membership;
mod status;
mod system;
#[cfg(test)]
mod test_support;
mod version;

use super::display::{display_for, display_in_languages, Languages};
use super::issue::{Issue, Severity};
use crate::error::{Error, Result};
use crate::model::ValueSet;
use crate::ops::Scope;
use issues::{
    vs_label, CODE_CASE_DIFFERENCE, MEMBERSHIP_BY_VALUE_SET, MEMBER_DEPRECATED,
    UNKNOWN_CODE_IN_FRAGMENT,
};

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
    /// The code as given (a case-insensitive system may know it under another case).
    pub code: Option<String>,
    /// The code as the code system writes it, when it differs from the code given
    /// (`normalized-code`: a case-insensitive system).
    pub normalized_code: Option<String>,
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
    normalized_code: Option<String>,
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

impl CodingCheck {
    /// Nothing found yet: not valid, the code as given.
    fn new(input: &CodingInput) -> Self {
        CodingCheck {
            issues: Vec::new(),
            valid: false,
            system: None,
            version: None,
            code: input.code.clone(),
            normalized_code: None,
            display: None,
            inactive: None,
            unknown_system: None,
            unknown_versions: Vec::new(),
            member: false,
            undecided: false,
            unconfirmed: false,
            status: None,
        }
    }
}

/// What every step of checking one coding reads: where to look, the coding, how.
#[derive(Clone, Copy)]
struct Step<'a> {
    scope: &'a Scope<'a>,
    target: Target<'a>,
    input: &'a CodingInput,
    /// The code given (the steps run only once there is one).
    code: &'a str,
    form: InputForm,
    opts: &'a Options,
}

impl Step<'_> {
    /// The issue "this code of `system` is not in `vs`", for the code and display given.
    fn not_in_vs(&self, system: &str, vs: &ValueSet) -> Issue {
        issues::not_in_vs(
            system,
            self.code,
            self.input.display.as_deref(),
            vs,
            self.form,
        )
    }
}

/// The languages the request (or the value set) asks displays in, `*` left out.
fn requested_languages(opts: &Options) -> Vec<&str> {
    opts.languages
        .0
        .iter()
        .map(String::as_str)
        .filter(|t| *t != "*")
        .collect()
}

/// Checks one coding in steps: its system, the version of it, the concept and its membership,
/// its status, its display. A step that ends the check leaves its reasons in the outcome.
fn check_coding<'a>(
    scope: &'a Scope<'a>,
    target: Target<'a>,
    input: &'a CodingInput,
    form: InputForm,
    opts: &'a Options,
) -> Result<CodingCheck> {
    let mut out = CodingCheck::new(input);
    let Some(code) = input.code.as_deref() else {
        out.issues.push(issues::no_code(form));
        return Ok(out);
    };
    let step = Step {
        scope,
        target,
        input,
        code,
        form,
        opts,
    };
    let Some(system) = system::resolve_system(&step, &mut out)? else {
        return Ok(out);
    };
    let Some(mut found) = version::resolve_version(&step, &system, &mut out)? else {
        return Ok(out);
    };
    let Some(cs) = system::loaded_code_system(
        &step,
        &system,
        found.cs.take(),
        found.asked,
        found.hit.as_ref(),
        &mut out,
    ) else {
        return Ok(out);
    };
    out.version = cs.meta.version.clone();
    let url = system.url.as_str();
    let Some(concept) = membership::find_concept(&step, &cs, url, &found, &mut out) else {
        return Ok(out);
    };
    let concept: &crate::model::Concept = &concept;
    // The answer echoes the code given; the system's own spelling is `normalized-code`.
    out.normalized_code = (concept.code != code).then(|| concept.code.clone());
    out.status = concept
        .property("status")
        .map(|v| v.as_text())
        .filter(|s| s != "active");
    out.display = display_for(&cs, concept, &opts.languages).map(str::to_string);

    let member = membership::check_membership(&step, url, &found, &mut out);
    let status_ok = status::check_status(&step, &cs, concept, url, found.hit.is_some(), &mut out);
    let expected = out.display.clone().unwrap_or_default();
    let display_ok = display_name::check_display(
        &step,
        &display_name::DisplayContext {
            cs: &cs,
            concept,
            url,
            hit: found.hit.as_ref(),
            expected: &expected,
        },
        &mut out,
    );
    // In a value set that labels the code, the label is the display in that context (FHIR:
    // `compose.include.concept.display`), unless the code system has one in a language asked
    // for: a CI-SIS JDV's French label for an HL7 v3 code the system only has in English.
    if display_in_languages(&cs, concept, &opts.languages).is_none() {
        if let Some(label) = found.hit.as_ref().and_then(|h| h.label.clone()) {
            out.display = Some(label);
        }
    }
    out.valid = !found.trouble && member && status_ok && display_ok;
    out.member = found.hit.is_some() || matches!(target, Target::CodeSystem { .. });
    out.undecided = found.trouble && !out.member;
    Ok(out)
}

/// Whether an issue's text belongs in the summary `message` (notes about publication status,
/// value-set deprecations and retired displays are reported as issues only).
fn in_message(i: &Issue) -> bool {
    if i.tx_type == Some("status-check")
        || i.message_id == Some(UNKNOWN_CODE_IN_FRAGMENT)
        || i.tx_type == Some("display-comment")
        || i.message_id == Some(MEMBER_DEPRECATED)
        || i.message_id == Some(MEMBERSHIP_BY_VALUE_SET)
        || i.message_id == Some(CODE_CASE_DIFFERENCE)
        || i.message_id == Some(crate::ops::provider::CODE_NOTE)
    {
        return false;
    }
    match i.severity {
        Severity::Error => true,
        Severity::Warning => i.tx_type != Some("vs-invalid"),
        Severity::Information => i.tx_type != Some("this-code-not-in-vs"),
    }
}

/// The display language a value set asks for: a `displayLanguage` expansion parameter in
/// `compose`, else the value set's own language.
fn value_set_language(vs: &ValueSet) -> Option<String> {
    vs.expansion_parameters()
        .into_iter()
        .find_map(|(name, value)| (name == "displayLanguage").then_some(value))
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
    let is_cc = matches!(subject, Subject::CodeableConcept(..));
    let mut res = ValidateResult::default();
    if let Subject::CodeableConcept(cc, text) = subject {
        res.codeable_concept = Some((cc.clone(), text.clone()));
    }
    let mut checks = Vec::new();
    for (form, c) in codings(subject) {
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
        answer_for_codeable_concept(target, &mut checks, &mut res);
    } else if let Some(c) = checks.first() {
        res.system = c.system.clone();
        res.version = c.version.clone();
        res.code = c.code.clone();
        res.normalized_code = c.normalized_code.clone();
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

/// The codings of a subject, each with the form it came in.
fn codings(subject: &Subject) -> Vec<(InputForm, &CodingInput)> {
    match subject {
        Subject::Code(c) => vec![(InputForm::Code, c)],
        Subject::Coding(c) => vec![(InputForm::Coding, c)],
        Subject::CodeableConcept(cs, _) => cs
            .iter()
            .enumerate()
            .map(|(i, c)| (InputForm::CodeableConcept(i), c))
            .collect(),
    }
}

/// A codeableConcept is answered by its best coding (valid and confirmed, else valid, else a
/// member); against a value set, one coding outside it is only information, and none inside
/// it is the error.
fn answer_for_codeable_concept(
    target: Target,
    checks: &mut [CodingCheck],
    res: &mut ValidateResult,
) {
    let any_valid = checks.iter().any(|c| c.valid);
    let any_member = checks.iter().any(|c| c.member || c.undecided);
    let best = checks
        .iter()
        .position(|c| c.valid && !c.unconfirmed)
        .or_else(|| checks.iter().position(|c| c.valid))
        .or_else(|| checks.iter().position(|c| c.member));
    // Another coding satisfied the target, or the codings are judged together against a
    // value set: each coding's membership failure is information only.
    if any_valid || matches!(target, Target::ValueSet(_)) {
        for issue in checks.iter_mut().flat_map(|c| c.issues.iter_mut()) {
            if issue.tx_type == Some("not-in-vs") {
                issue.severity = Severity::Information;
                issue.tx_type = Some("this-code-not-in-vs");
            }
        }
    }
    if let (Target::ValueSet(vs), false) = (target, any_member) {
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
    if let Some(c) = best.and_then(|i| checks.get(i)) {
        res.system = c.system.clone();
        res.version = c.version.clone();
        res.code = c.code.clone();
        res.normalized_code = c.normalized_code.clone();
        res.display = c.display.clone();
    } else if let Some(c) = checks.iter().find(|c| c.undecided) {
        res.version = c.version.clone();
        res.display = c.display.clone();
    }
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

    /// In a value set that labels a code, the label is the display the answer gives, unless the
    /// code system has a display in a language asked for (the request's, else the value set's):
    /// a French JDV label for a code its system has in English and German only.
    #[test]
    fn a_value_set_label_is_the_display_unless_the_system_speaks_the_language_asked() {
        let cs = json!({"resourceType": "CodeSystem", "url": KNOWN, "version": "1",
            "status": "active", "content": "complete", "language": "en",
            "concept": [{"code": "F", "display": "Female",
                "designation": [{"language": "de", "value": "Weiblich"}]}]});
        let cat = catalog(&[cs]);
        let labelled = |language: Option<&str>| {
            let mut v = json!({"resourceType": "ValueSet", "url": "http://example.org/vs",
                "version": "2", "status": "active", "compose": {"include": [{"system": KNOWN,
                    "concept": [{"code": "F", "display": "Féminin"}]}]}});
            if let Some(l) = language {
                v["language"] = json!(l);
            }
            match parse_resource(&v) {
                Ok(Resource::ValueSet(vs)) => vs,
                other => panic!("{other:?}"),
            }
        };
        let display = |vs: &ValueSet, languages: &[&str]| {
            let opts = Options {
                allow_abstract: true,
                languages: Languages(languages.iter().map(|l| l.to_string()).collect()),
                ..Default::default()
            };
            let subject = Subject::Coding(coding(KNOWN, "F"));
            let r = validate(&Scope::new(&cat), Target::ValueSet(vs), &subject, &opts).unwrap();
            assert!(r.result, "{:?}", r.issues);
            r.display
        };
        let plain = labelled(None);
        assert_eq!(display(&plain, &[]).as_deref(), Some("Féminin"));
        assert_eq!(display(&plain, &["fr-FR"]).as_deref(), Some("Féminin"));
        assert_eq!(display(&plain, &["de"]).as_deref(), Some("Weiblich"));
        assert_eq!(display(&plain, &["en"]).as_deref(), Some("Female"));
        let french = labelled(Some("fr-FR"));
        assert_eq!(display(&french, &[]).as_deref(), Some("Féminin"));
        // Without a label, the system's display.
        let bare = value_set(json!({"include": [{"system": KNOWN}]}));
        assert_eq!(display(&bare, &[]).as_deref(), Some("Female"));
        assert_eq!(display(&bare, &["fr"]).as_deref(), Some("Female"));
    }

    /// Each input form names its elements with its own FHIRPaths.
    #[test]
    fn input_forms_know_their_paths() {
        let paths = |f: InputForm| [f.coding(), f.code(), f.display(), f.system(), f.version()];
        assert_eq!(
            paths(InputForm::Code),
            ["code", "code", "display", "system", "version"]
        );
        assert_eq!(
            paths(InputForm::Coding),
            [
                "Coding",
                "Coding.code",
                "Coding.display",
                "Coding.system",
                "Coding.version"
            ]
        );
        assert_eq!(
            paths(InputForm::CodeableConcept(2))[0],
            "CodeableConcept.coding[2]"
        );
        assert_eq!(
            paths(InputForm::CodeableConcept(2))[2],
            "CodeableConcept.coding[2].display"
        );
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
    use crate::model::{CodeSystem, Concept, Designation, ResourceMeta};

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
