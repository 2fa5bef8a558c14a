//! `$validate-code` on a code system or a value set: the code to check (`Subject`, in one
//! of its three forms) and the options of the check.

use super::{canonical_list, languages, Context};
use crate::error::{Error, Result};
use crate::fhir::params::Params;
use crate::ops::validate::{CodingInput, Options, Subject, Target};

/// A `$validate-code` request; the value set of a ValueSet-level one is named apart
/// (`ValueSetRef`) and found before the rest is read.
#[derive(Debug, Clone)]
pub struct ValidateCodeRequest {
    /// The code system (`url` or `system`, else the addressed instance's) of a
    /// CodeSystem-level request; `None` on a value set.
    pub system: Option<String>,
    /// The code system version of a CodeSystem-level request.
    pub version: Option<String>,
    pub subject: Subject,
    pub options: Options,
}

impl ValidateCodeRequest {
    /// `CodeSystem/$validate-code`: a bare code belongs to the named code system.
    pub fn from_code_system_params(p: &Params, ctx: &Context) -> Result<Self> {
        let instance = ctx.instance.code_system()?;
        let (url, system) = (p.str("url")?, p.str("system")?);
        let url = url
            .or(system)
            .map(str::to_string)
            .or_else(|| instance.as_ref().map(|i| i.0.clone()));
        let version = p
            .str("version")?
            .map(str::to_string)
            .or_else(|| instance.as_ref().and_then(|i| i.1.clone()));
        let mut subject = subject(p, url.as_deref(), "version")?;
        if let Subject::Code(c) = &mut subject {
            c.system = url.clone().or(c.system.take());
        }
        Ok(ValidateCodeRequest {
            system: url,
            version,
            subject,
            options: options(p, ctx)?,
        })
    }

    /// `ValueSet/$validate-code`: a bare code's version is `systemVersion`, else `version`.
    pub fn from_value_set_params(p: &Params, ctx: &Context) -> Result<Self> {
        let subject = match subject(p, None, "systemVersion")? {
            Subject::Code(mut c) if c.version.is_none() => {
                c.version = p.str("version")?.map(str::to_string);
                Subject::Code(c)
            }
            s => s,
        };
        Ok(ValidateCodeRequest {
            system: None,
            version: None,
            subject,
            options: options(p, ctx)?,
        })
    }

    /// The code system a CodeSystem-level request validates against.
    pub fn code_system_target(&self) -> Target<'_> {
        Target::CodeSystem {
            system: self.system.as_deref(),
            version: self.version.as_deref(),
        }
    }
}

/// The thing to validate: `codeableConcept`, `coding`, or `code` (+ `system`, `display`).
fn subject(p: &Params, default_system: Option<&str>, version_param: &str) -> Result<Subject> {
    if let Some((codings, text)) = p.codeable_concept("codeableConcept")? {
        return Ok(Subject::CodeableConcept(codings, text));
    }
    if let Some(mut c) = p.coding("coding")? {
        if c.display.is_none() {
            c.display = p.str("display")?.map(str::to_string);
        }
        return Ok(Subject::Coding(c));
    }
    let code = p.str("code")?.ok_or_else(|| {
        Error::Invalid("Unable to find code to validate (looked for coding | codeableConcept | code+system | code+inferSystem in parameters".into())
    })?;
    Ok(Subject::Code(CodingInput {
        system: p.str("system")?.or(default_system).map(str::to_string),
        version: p.str(version_param)?.map(str::to_string),
        code: Some(code.to_string()),
        display: p.str("display")?.map(str::to_string),
    }))
}

fn options(p: &Params, ctx: &Context) -> Result<Options> {
    Ok(Options {
        languages: languages(p, ctx)?,
        lenient_display: p
            .bool("lenient-display-validation")?
            .unwrap_or(ctx.config.lenient_display),
        active_only: p.bool("activeOnly")?.unwrap_or(false),
        membership_only: p.bool("valueset-membership-only")?.unwrap_or(false),
        system_version: None,
        allow_abstract: p.bool("abstract")?.unwrap_or(true),
        infer_system: p.bool("inferSystem")?.unwrap_or(false),
        force_versions: canonical_list(p, "force-system-version")?,
        default_versions: canonical_list(p, "system-version")?,
        check_versions: canonical_list(p, "check-system-version")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::fhir::request::testing::*;
    use serde_json::json;

    #[test]
    fn the_three_forms_of_the_code() {
        let (config, catalog) = (config(), Catalog::default());
        let ctx = ctx(&config, &catalog);
        let code = ValidateCodeRequest::from_value_set_params(
            &query("url=v&system=s&code=a&version=2&display=A"),
            &ctx,
        )
        .unwrap();
        let expected = CodingInput {
            system: Some("s".into()),
            version: Some("2".into()),
            code: Some("a".into()),
            display: Some("A".into()),
        };
        assert_eq!(code.subject, Subject::Code(expected.clone()));
        let coding = ValidateCodeRequest::from_value_set_params(
            &body(json!([{"name": "coding", "valueCoding":
                {"system": "s", "version": "2", "code": "a"}},
                {"name": "display", "valueString": "A"}])),
            &ctx,
        )
        .unwrap();
        assert_eq!(coding.subject, Subject::Coding(expected.clone()));
        let concept = ValidateCodeRequest::from_value_set_params(
            &body(json!([{"name": "codeableConcept", "valueCodeableConcept":
                {"coding": [{"system": "s", "code": "a"}], "text": "t"}}])),
            &ctx,
        )
        .unwrap();
        assert!(
            matches!(concept.subject, Subject::CodeableConcept(c, Some(t))
            if c.len() == 1 && t == "t")
        );
    }

    #[test]
    fn query_and_body_give_the_same_request() {
        let q = same_request(
            ValidateCodeRequest::from_code_system_params,
            "url=s&code=a&version=1&activeOnly=true&abstract=false&system-version=s|2",
            json!([{"name": "url", "valueUri": "s"}, {"name": "code", "valueCode": "a"},
                {"name": "version", "valueString": "1"}, {"name": "activeOnly", "valueBoolean": true},
                {"name": "abstract", "valueBoolean": false},
                {"name": "system-version", "valueUri": "s|2"}]),
        );
        assert!(q.options.active_only && !q.options.allow_abstract);
        assert_eq!(q.options.default_versions, [("s".into(), "2".into())]);
        assert!(matches!(&q.subject, Subject::Code(c) if c.system.as_deref() == Some("s")));
        assert!(matches!(
            q.code_system_target(),
            Target::CodeSystem {
                system: Some("s"),
                version: Some("1")
            }
        ));
    }

    #[test]
    fn malformed_parameters_are_refused() {
        let (config, catalog) = (config(), Catalog::default());
        let ctx = ctx(&config, &catalog);
        let read = |q: &str| message(ValidateCodeRequest::from_value_set_params(&query(q), &ctx));
        assert!(read("url=v&system=s").starts_with("Unable to find code to validate"));
        assert_eq!(
            read("code=a&activeOnly=yes"),
            "Parameter 'activeOnly' must be true or false, not 'yes'"
        );
        assert_eq!(
            read("code=a&force-system-version=s"),
            "Parameter 'force-system-version' must be a canonical 'system|version', not 's'"
        );
    }

    #[test]
    fn the_lenient_display_default_is_the_servers() {
        let (mut config, catalog) = (config(), Catalog::default());
        config.lenient_display = true;
        let ctx = ctx(&config, &catalog);
        let r = ValidateCodeRequest::from_value_set_params(&query("code=a"), &ctx).unwrap();
        assert!(r.options.lenient_display);
        let r = ValidateCodeRequest::from_value_set_params(
            &query("code=a&lenient-display-validation=false"),
            &ctx,
        )
        .unwrap();
        assert!(!r.options.lenient_display);
    }
}
