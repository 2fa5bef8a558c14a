//! `$expand`: paging, filter, languages, designations, version rules, and what the
//! expansion repeats of the request (`expansion.parameter`).

use serde_json::json;

use super::{canonical_list, display_language, languages, primitives, Context};
use crate::error::{Error, Result};
use crate::fhir::params::{ParamValue, Params};
use crate::fhir::render::Param;
#[cfg(test)]
use crate::model::valueset::EXPANSION_PARAMETER;
use crate::model::ValueSet;
use crate::ops::expand::ExpandRequest;
use crate::ops::members::VersionRules;

/// The `$expand` parameters, typed: the domain request and what only the answer uses.
#[derive(Debug, Clone)]
pub struct ExpandParameters {
    pub request: ExpandRequest,
    /// `includeDefinition`: the value set's definition comes with the expansion.
    pub include_definition: bool,
    /// `displayLanguage`, else `Accept-Language` (repeated in the expansion).
    pub display_language: Option<String>,
}

const LANGUAGE_DESIGNATION: &str = "urn:ietf:bcp:47|";

impl ExpandParameters {
    /// Reads the parameters (with the value set's defaults already merged in, see
    /// `with_value_set_defaults`); the size limit is the server's, lowered by the
    /// `x-too-costly-threshold` header.
    pub fn from_params(p: &Params, ctx: &Context) -> Result<Self> {
        let max_expansion = ctx.config.max_expansion;
        let max_size = ctx
            .too_costly_threshold
            .map_or(max_expansion, |h| h.min(max_expansion));
        // `limit` (tx.fhir.org's): the most codes the client wants an expansion to have.
        let max_size = p.usize("limit")?.map_or(max_size, |l| l.min(max_size));
        let filter = p.str("filter")?.filter(|f| !f.trim().is_empty());
        let max_filter = ctx.config.limits.max_filter;
        if let Some(f) = filter.filter(|f| f.chars().count() > max_filter) {
            return Err(Error::TooCostly(format!(
                "The filter is too long ({} characters, limit {max_filter})",
                f.chars().count()
            )));
        }
        let display_language = match display_language(p)? {
            Some(l) => Some(l.to_string()),
            None => ctx.accept_language.map(str::to_string),
        };
        let include_definition = p.bool("includeDefinition")?.unwrap_or(false);
        let designations = primitives(p, "designation");
        let request = ExpandRequest {
            offset: p.usize("offset")?.unwrap_or(0),
            count: p.usize("count")?,
            active_only: p.bool("activeOnly")?.unwrap_or(false),
            include_designations: p.bool("includeDesignations")?.unwrap_or(false),
            languages: languages(p, ctx)?,
            filter: filter.map(str::to_string),
            max_size,
            exclude_nested: p.bool("excludeNested")?.unwrap_or(false),
            rules: VersionRules {
                force: canonical_list(p, "force-system-version")?,
                default: canonical_list(p, "system-version")?,
                check: canonical_list(p, "check-system-version")?,
            },
            designation_languages: designations
                .iter()
                .filter_map(|s| s.strip_prefix(LANGUAGE_DESIGNATION).map(str::to_string))
                .collect(),
            designation_uses: designations
                .iter()
                .filter(|s| !s.starts_with(LANGUAGE_DESIGNATION))
                .cloned()
                .collect(),
            strict_languages: display_language
                .as_deref()
                .is_some_and(excludes_other_languages),
            properties: primitives(p, "property"),
        };
        Ok(ExpandParameters {
            request,
            include_definition,
            display_language,
        })
    }

    /// The request's parameters the expansion repeats (`expansion.parameter`).
    pub fn echoed<'a>(&'a self, p: &'a Params) -> Vec<Param<'a>> {
        let mut echoed = Vec::new();
        for name in [
            "filter",
            "count",
            "offset",
            "activeOnly",
            "includeDesignations",
            "includeDefinition",
            "excludeNested",
        ] {
            if let Some(ParamValue::Primitive(v)) = p.get(name) {
                echoed.push(match name {
                    "count" | "offset" => Param::json(
                        name,
                        "valueInteger",
                        v.parse::<u64>().map(|n| json!(n)).unwrap_or(json!(v)),
                    ),
                    "filter" => Param::str(name, "valueString", v),
                    _ => Param::bool(name, "valueBoolean", v == "true"),
                });
            }
        }
        if let Some(l) = &self.display_language {
            echoed.push(Param::str("displayLanguage", "valueCode", l));
        }
        for (name, key) in [
            ("designation", "valueString"),
            ("force-system-version", "valueUri"),
            ("default-valueset-version", "valueUri"),
        ] {
            for v in p.all(name) {
                if let ParamValue::Primitive(v) = v {
                    echoed.push(Param::str(name, key, v));
                }
            }
        }
        echoed
    }
}

/// The parameters with the value set's own expansion parameters
/// (`valueset-expansion-parameter`) added as defaults for those the request does not give
/// (an `Accept-Language` header gives the display language).
pub fn with_value_set_defaults(p: &Params, vs: &ValueSet, ctx: &Context) -> Params {
    let mut merged = p.clone();
    for (name, value) in vs.expansion_parameters() {
        let header_wins = name == "displayLanguage" && ctx.accept_language_sent;
        if !merged.has(&name) && !header_wins {
            merged.0.push((name, ParamValue::Primitive(value)));
        }
    }
    merged
}

/// Whether a request can be answered from a kept expansion (`ops::expand::expand_kept`):
/// not when it brings resources of its own, supplements or nested parameters.
pub fn may_use_kept(p: &Params) -> bool {
    !p.has("useSupplement")
        && !p.has("default-valueset-version")
        && !p
            .0
            .iter()
            .any(|(_, v)| matches!(v, ParamValue::Resource(_) | ParamValue::Parts(_)))
}

/// `de, *; q=0`: every language not listed is unacceptable.
fn excludes_other_languages(header: &str) -> bool {
    header.split(',').any(|part| {
        let mut bits = part.split(';');
        bits.next().is_some_and(|t| t.trim() == "*")
            && bits.any(|b| {
                b.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::fhir::request::testing::*;
    use serde_json::json;

    #[test]
    fn query_and_body_give_the_same_request() {
        let q = same_request(ExpandParameters::from_params, "url=v&filter=abc&count=10&offset=5&activeOnly=true&designation=urn:ietf:bcp:47|fr&designation=http://u|x&property=p", json!([{"name": "url", "valueUri": "v"},
                {"name": "filter", "valueString": "abc"},
                {"name": "count", "valueInteger": 10}, {"name": "offset", "valueInteger": 5},
                {"name": "activeOnly", "valueBoolean": true},
                {"name": "designation", "valueString": "urn:ietf:bcp:47|fr"},
                {"name": "designation", "valueString": "http://u|x"},
                {"name": "property", "valueCode": "p"}]));
        let r = &q.request;
        assert_eq!((r.offset, r.count, r.active_only), (5, Some(10), true));
        assert_eq!(r.designation_languages, ["fr"]);
        assert_eq!(r.designation_uses, ["http://u|x"]);
        assert_eq!(r.max_size, config().max_expansion);
    }

    #[test]
    fn malformed_parameters_are_refused() {
        let (mut config, catalog) = (config(), Catalog::default());
        config.limits.max_filter = 3;
        let ctx = ctx(&config, &catalog);
        let read = |q: &str| message(ExpandParameters::from_params(&query(q), &ctx));
        assert_eq!(
            read("count=-1"),
            "Parameter 'count' must be a non-negative integer, not '-1'"
        );
        assert_eq!(
            read("filter=abcd"),
            "The filter is too long (4 characters, limit 3)"
        );
        assert_eq!(
            read("excludeNested=1"),
            "Parameter 'excludeNested' must be true or false, not '1'"
        );
    }

    #[test]
    fn the_threshold_header_lowers_the_limit_and_the_header_gives_the_language() {
        let (config, catalog) = (config(), Catalog::default());
        let mut ctx = ctx(&config, &catalog);
        ctx.too_costly_threshold = Some(7);
        ctx.accept_language = Some("de, *; q=0");
        let e = ExpandParameters::from_params(&query("filter=%20"), &ctx).unwrap();
        assert_eq!(e.request.max_size, 7.min(config.max_expansion));
        assert_eq!(e.request.filter, None);
        assert!(e.request.strict_languages);
        assert_eq!(e.display_language.as_deref(), Some("de, *; q=0"));
    }

    #[test]
    fn echoes_what_the_answer_repeats() {
        let (config, catalog) = (config(), Catalog::default());
        let ctx = ctx(&config, &catalog);
        let p = query("count=x0&activeOnly=true&displayLanguage=fr&force-system-version=s|1");
        // `count=x0` is refused by `from_params`; the echo only repeats what it is given.
        let e = ExpandParameters::from_params(&query("displayLanguage=fr"), &ctx).unwrap();
        let names: Vec<&str> = e.echoed(&p).iter().map(|x| x.name).collect();
        assert_eq!(
            names,
            [
                "count",
                "activeOnly",
                "displayLanguage",
                "force-system-version"
            ]
        );
    }

    #[test]
    fn a_kept_expansion_answers_only_plain_parameters() {
        assert!(may_use_kept(&query("url=v&count=2&filter=a")));
        assert!(!may_use_kept(&query("url=v&useSupplement=http://s")));
        let tx = body(json!([{"name": "tx-resource", "resource": {"resourceType": "ValueSet"}}]));
        assert!(!may_use_kept(&tx));
        assert!(!may_use_kept(&body(json!([{"name": "p", "part": []}]))));
    }

    #[test]
    fn value_set_defaults_yield_to_the_request_and_to_the_language_header() {
        let vs: ValueSet = match crate::load::fhir_json::parse_resource(&json!({
            "resourceType": "ValueSet", "url": "http://v", "status": "active",
            "compose": {"extension": [
                {"url": EXPANSION_PARAMETER, "extension": [
                    {"url": "name", "valueCode": "activeOnly"},
                    {"url": "value", "valueBoolean": true}]},
                {"url": EXPANSION_PARAMETER, "extension": [
                    {"url": "name", "valueCode": "displayLanguage"},
                    {"url": "value", "valueCode": "fr"}]},
                {"url": EXPANSION_PARAMETER, "extension": [
                    {"url": "name", "valueCode": "count"},
                    {"url": "value", "valueInteger": 3}]}],
                "include": [{"system": "http://s"}]}}))
        {
            Ok(crate::load::Resource::ValueSet(vs)) => vs,
            other => panic!("{other:?}"),
        };
        let (config, catalog) = (config(), Catalog::default());
        let mut ctx = ctx(&config, &catalog);
        let merged = with_value_set_defaults(&query("count=5"), &vs, &ctx);
        assert_eq!(merged.str("count").unwrap(), Some("5"));
        assert_eq!(merged.str("activeOnly").unwrap(), Some("true"));
        assert_eq!(merged.str("displayLanguage").unwrap(), Some("fr"));
        ctx.accept_language_sent = true;
        let merged = with_value_set_defaults(&query(""), &vs, &ctx);
        assert_eq!(merged.str("displayLanguage").unwrap(), None);
        assert_eq!(merged.str("count").unwrap(), Some("3"));
    }
}
