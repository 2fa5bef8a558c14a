//! One typed request per terminology operation, read from its `Parameters` (query string
//! or body): `from_params` checks every parameter and gives the 400 of a malformed one, so
//! the HTTP layer only routes, and the operations in `ops` get their domain input.

pub mod batch;
pub mod expand;
pub mod lookup;
pub mod resources;
pub mod subsumes;
pub mod translate;
pub mod validate;

use std::sync::Arc;

use serde_json::Value;

use super::params::{ParamValue, Params};
use crate::catalog::Catalog;
use crate::config::AppConfig;
use crate::error::{Error, Result};
use crate::load::{fhir_json::parse_resource, Resource};
use crate::model::ValueSet;
use crate::ops::display::Languages;
use crate::ops::Scope;

/// What a request brings besides its parameters: the headers that change an answer, the
/// server's configuration (defaults and limits), and the resource it is addressed to.
#[derive(Clone, Copy)]
pub struct Context<'a> {
    /// `Accept-Language`, when it is text.
    pub accept_language: Option<&'a str>,
    /// Whether an `Accept-Language` header was sent at all (text or not).
    pub accept_language_sent: bool,
    /// `x-too-costly-threshold`, by which HL7's suite lowers the expansion limit.
    pub too_costly_threshold: Option<usize>,
    pub config: &'a AppConfig,
    pub instance: Instance<'a>,
}

/// The resource an instance-level operation is addressed to (`/CodeSystem/{id}/$lookup`),
/// looked up when a request first needs it: an unknown id is reported at that point of the
/// reading, as the operation reads its parameters in a fixed order.
#[derive(Clone, Copy)]
pub struct Instance<'a> {
    pub id: Option<&'a str>,
    pub catalog: &'a Catalog,
}

impl Instance<'_> {
    /// The addressed code system's url and version, if the request is addressed to one.
    pub fn code_system(&self) -> Result<Option<(String, Option<String>)>> {
        let Some(id) = self.id else {
            return Ok(None);
        };
        let cs = self
            .catalog
            .code_systems
            .by_id(id)
            .ok_or_else(|| Error::NotFound(format!("Resource CodeSystem '{id}' not found")))?;
        Ok(Some((cs.meta.url.clone(), cs.meta.version.clone())))
    }

    /// The addressed concept map's url, if the request is addressed to one.
    pub fn concept_map_url(&self) -> Result<Option<String>> {
        let Some(id) = self.id else {
            return Ok(None);
        };
        let cm = self
            .catalog
            .concept_maps
            .by_id(id)
            .ok_or_else(|| Error::NotFound(format!("Resource ConceptMap '{id}' not found")))?;
        Ok(Some(cm.meta.url.clone()))
    }
}

/// Language preferences: `displayLanguage` wins over `Accept-Language`.
pub fn languages(p: &Params, ctx: &Context) -> Result<Languages> {
    if let Some(l) = display_language(p)? {
        return Ok(Languages::parse(l));
    }
    Ok(ctx
        .accept_language
        .map(Languages::parse)
        .unwrap_or_default())
}

/// The `displayLanguage` parameter: a language tag, or a list of them with weights as in
/// `Accept-Language` (`de,*; q=0`); anything else is refused (400, `invalid-display`).
pub fn display_language(p: &Params) -> Result<Option<&str>> {
    let Some(value) = p.str("displayLanguage")? else {
        return Ok(None);
    };
    let tags_valid = value.split(',').all(|part| {
        let tag = part.split(';').next().unwrap_or("").trim();
        tag == "*" || is_language_tag(tag)
    });
    if !tags_valid {
        return Err(Error::InvalidDisplayLanguage(format!(
            "Invalid displayLanguage: '{value}'"
        )));
    }
    Ok(Some(value))
}

/// BCP 47 syntax, loosely: a primary subtag of 1 to 8 letters, then subtags of 1 to 8 letters
/// or digits, separated by hyphens (`fr`, `fr-FR`, `zh-Hant-TW`, `de-CH-1996`).
fn is_language_tag(tag: &str) -> bool {
    let mut subtags = tag.split('-');
    let primary_ok = subtags
        .next()
        .is_some_and(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphabetic()));
    primary_ok
        && subtags
            .all(|s| (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Repeated `system|version` canonical parameters.
pub fn canonical_list(p: &Params, name: &str) -> Result<Vec<(String, String)>> {
    p.all(name)
        .map(|v| match v {
            ParamValue::Primitive(s) => match s.split_once('|') {
                Some((system, version)) if !system.is_empty() && !version.is_empty() => {
                    Ok((system.to_string(), version.to_string()))
                }
                _ => Err(Error::Invalid(format!(
                    "Parameter '{name}' must be a canonical 'system|version', not '{s}'"
                ))),
            },
            _ => Err(Error::Invalid(format!(
                "Parameter '{name}' must be a canonical"
            ))),
        })
        .collect()
}

/// The primitive values of a repeated parameter (others are ignored).
pub fn primitives(p: &Params, name: &str) -> Vec<String> {
    p.all(name)
        .filter_map(|v| match v {
            ParamValue::Primitive(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

pub fn required(v: Option<String>, name: &str) -> Result<String> {
    v.ok_or_else(|| Error::Invalid(format!("Parameter '{name}' is required")))
}

/// An inline resource must be at most `max` bytes of compact JSON.
pub fn check_resource_size(resource: &Value, max: usize, what: &str) -> Result<()> {
    let mut n = ByteCount(0);
    serde_json::to_writer(&mut n, resource)
        .map_err(|e| Error::Invalid(format!("Invalid {what}: {e}")))?;
    if n.0 > max {
        return Err(Error::TooCostly(format!(
            "A {what} is too large ({} bytes, limit {max})",
            n.0
        )));
    }
    Ok(())
}

/// Counts the bytes of compact JSON without writing them.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The supplements a request names (`useSupplement`).
pub fn named_supplements(p: &Params) -> Vec<String> {
    primitives(p, "useSupplement")
}

/// The code system a CodeSystem-level request is about, as named: `system`, `url`, the
/// coding's, or the addressed instance's.
pub fn requested_system(p: &Params, ctx: &Context) -> Result<Option<String>> {
    let (system, url) = (p.str("system")?, p.str("url")?);
    Ok(match system.or(url) {
        Some(s) => Some(s.to_string()),
        None => match p.coding("coding")? {
            Some(c) => c.system,
            None => ctx.instance.code_system()?.map(|i| i.0),
        },
    })
}

/// How a ValueSet-level request names its value set.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueSetRef {
    /// The addressed instance (`/ValueSet/{id}/$expand`).
    Instance(String),
    /// An inline `valueSet`.
    Inline(Box<ValueSet>),
    /// `url` (or `context`), with `valueSetVersion` or the canonical's version.
    Canonical {
        url: String,
        version: Option<String>,
    },
}

impl ValueSetRef {
    pub fn from_params(p: &Params, ctx: &Context) -> Result<Self> {
        if let Some(id) = ctx.instance.id {
            return Ok(ValueSetRef::Instance(id.to_string()));
        }
        if let Some(r) = p.resource("valueSet")? {
            let max = ctx.config.limits.max_tx_resource_size;
            check_resource_size(r, max, "valueSet parameter")?;
            return match parse_resource(r)
                .map_err(|e| Error::Invalid(format!("Invalid valueSet: {e}")))?
            {
                Resource::ValueSet(vs) => Ok(ValueSetRef::Inline(Box::new(vs))),
                _ => Err(Error::Invalid(
                    "Parameter 'valueSet' must be a ValueSet".into(),
                )),
            };
        }
        let (url, context) = (p.str("url")?, p.str("context")?);
        let url = url
            .or(context)
            .ok_or_else(|| Error::Invalid("Parameter 'url' or 'valueSet' is required".into()))?;
        let (url, mut version) = crate::model::split_canonical(url);
        if let Some(v) = p.str("valueSetVersion")? {
            version = Some(v);
        }
        Ok(ValueSetRef::Canonical {
            url: url.to_string(),
            version: version.map(str::to_string),
        })
    }

    /// The value set named: `{cs}?fhir_vs` is the implicit value set of a code system.
    pub fn resolve(self, scope: &Scope, instance: &Instance) -> Result<Arc<ValueSet>> {
        let (url, version) = match self {
            ValueSetRef::Instance(id) => {
                return instance
                    .catalog
                    .value_sets
                    .by_id(&id)
                    .cloned()
                    .ok_or_else(|| Error::NotFound(format!("Resource ValueSet '{id}' not found")))
            }
            ValueSetRef::Inline(vs) => return Ok(Arc::new(*vs)),
            ValueSetRef::Canonical { url, version } => (url, version),
        };
        if let Some(implicit) = crate::ops::provider::implicit_value_set(scope, &url) {
            return implicit.map(Arc::new);
        }
        let version = version.or_else(|| scope.default_value_set_version(&url).map(str::to_string));
        scope.value_set(&url, version.as_deref()).ok_or_else(|| {
            if let Some(e) = scope.unreadable(&url) {
                return e;
            }
            let shown = match &version {
                Some(v) => format!("{url}|{v}"),
                None => url.clone(),
            };
            Error::NotFound(format!(
                "A definition for the value Set '{shown}' could not be found"
            ))
        })
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Small helpers for the `from_params` tests: the same request as a query and a body.

    use super::*;
    use serde_json::json;

    pub fn config() -> AppConfig {
        AppConfig::default()
    }

    pub fn ctx<'a>(config: &'a AppConfig, catalog: &'a Catalog) -> Context<'a> {
        Context {
            accept_language: None,
            accept_language_sent: false,
            too_costly_threshold: None,
            config,
            instance: Instance { id: None, catalog },
        }
    }

    pub fn query(q: &str) -> Params {
        Params::from_query(q).expect("test query")
    }

    pub fn body(parameter: Value) -> Params {
        Params::from_json(&json!({"resourceType": "Parameters", "parameter": parameter}))
            .expect("test body")
    }

    /// The request `from_params` reads from the query `q` and from the body `b`: the two must
    /// give the same request (compared by `Debug`), which is returned.
    pub fn same_request<T: std::fmt::Debug>(
        from_params: impl Fn(&Params, &Context) -> Result<T>,
        q: &str,
        b: Value,
    ) -> T {
        let (config, catalog) = (config(), Catalog::default());
        let ctx = ctx(&config, &catalog);
        let by_query = from_params(&query(q), &ctx).expect("the query form parses");
        let by_body = from_params(&body(b), &ctx).expect("the body form parses");
        assert_eq!(format!("{by_query:?}"), format!("{by_body:?}"));
        by_query
    }

    /// The message of an error.
    pub fn message<T: std::fmt::Debug>(r: Result<T>) -> String {
        match r {
            Err(e) => e.to_string(),
            Ok(v) => panic!("expected an error, got {v:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn a_value_set_is_named_alike_by_query_and_body() {
        let (config, catalog) = (config(), Catalog::default());
        let ctx = ctx(&config, &catalog);
        let by_query = ValueSetRef::from_params(&query("url=http://x|2&valueSetVersion=3"), &ctx);
        let by_body = ValueSetRef::from_params(
            &body(json!([{"name": "url", "valueUri": "http://x|2"},
                         {"name": "valueSetVersion", "valueString": "3"}])),
            &ctx,
        );
        let expected = ValueSetRef::Canonical {
            url: "http://x".into(),
            version: Some("3".into()),
        };
        assert_eq!(by_query.unwrap(), expected);
        assert_eq!(by_body.unwrap(), expected);
    }

    #[test]
    fn a_value_set_must_be_named() {
        let (config, catalog) = (config(), Catalog::default());
        let ctx = ctx(&config, &catalog);
        assert!(message(ValueSetRef::from_params(&query("code=a"), &ctx))
            .contains("Parameter 'url' or 'valueSet' is required"));
        let not_a_vs = body(
            json!([{"name": "valueSet", "resource": {"resourceType": "CodeSystem",
            "url": "http://x", "status": "active", "content": "complete"}}]),
        );
        assert!(message(ValueSetRef::from_params(&not_a_vs, &ctx))
            .contains("Parameter 'valueSet' must be a ValueSet"));
    }

    #[test]
    fn an_unknown_instance_is_not_found_when_needed() {
        let (config, catalog) = (config(), Catalog::default());
        let mut ctx = ctx(&config, &catalog);
        ctx.instance.id = Some("nope");
        assert_eq!(
            requested_system(&query("system=http://s"), &ctx).unwrap(),
            Some("http://s".into())
        );
        assert!(message(requested_system(&query(""), &ctx))
            .contains("Resource CodeSystem 'nope' not found"));
    }

    /// `displayLanguage` is a language tag or a weighted list of them, in the query as in a
    /// body, for every operation that reads it; anything else is refused as an invalid
    /// display language (400, `processing`, tx-issue-type `invalid-display`).
    #[test]
    fn a_display_language_must_be_language_tags() {
        let (config, catalog) = (config(), Catalog::default());
        let ctx = ctx(&config, &catalog);
        for ok in [
            "de",
            "en-AU",
            "zh-Hant-TW",
            "de,*; q=0",
            "en, en-AU;q=0.4",
            "*",
        ] {
            let q = query(&format!("displayLanguage={}", ok.replace(' ', "%20")));
            let b = body(json!([{"name": "displayLanguage", "valueCode": ok}]));
            for p in [&q, &b] {
                assert!(languages(p, &ctx).is_ok(), "{ok}");
                assert!(
                    crate::fhir::request::expand::ExpandParameters::from_params(p, &ctx).is_ok()
                );
            }
        }
        for bad in ["-", "de-", "en_US", "toolongtag9", "fr,,en"] {
            let q = query(&format!("system=http://s&code=a&displayLanguage={bad}"));
            let b = body(json!([{"name": "system", "valueUri": "http://s"},
                {"name": "code", "valueCode": "a"},
                {"name": "displayLanguage", "valueCode": bad}]));
            for p in [&q, &b] {
                let e = languages(p, &ctx).expect_err(bad);
                assert_eq!((e.status(), e.issue_code()), (400, "processing"), "{bad}");
                assert_eq!(e.tx_issue_type(), Some("invalid-display"));
                assert_eq!(e.to_string(), format!("Invalid displayLanguage: '{bad}'"));
                let lookup = crate::ops::lookup::LookupRequest::from_params(p, &ctx);
                assert!(
                    matches!(lookup, Err(Error::InvalidDisplayLanguage(_))),
                    "{bad}"
                );
                let expand = crate::fhir::request::expand::ExpandParameters::from_params(p, &ctx);
                assert!(
                    matches!(expand, Err(Error::InvalidDisplayLanguage(_))),
                    "{bad}"
                );
            }
        }
    }
}
