//! `$translate`: a code of a source system, through one concept map or all that fit, with
//! the R4 and R5 names of its parameters.

use super::{required, Context};
use crate::error::Result;
use crate::fhir::params::Params;
pub use crate::ops::translate::TranslateRequest;

impl TranslateRequest {
    /// The map is the addressed instance, else `url`; R5 names a reverse translation by
    /// giving `targetCode` instead of `sourceCode`.
    pub fn from_params(p: &Params, ctx: &Context) -> Result<Self> {
        let (coding, source_coding) = (p.coding("coding")?, p.coding("sourceCoding")?);
        let coding = coding.or(source_coding);
        // The first of these names that is given.
        let pick = |names: &[&str]| -> Result<Option<String>> {
            for n in names {
                if let Some(v) = p.str(n)? {
                    return Ok(Some(v.to_string()));
                }
            }
            Ok(None)
        };
        let map_url = match ctx.instance.id {
            Some(_) => ctx.instance.concept_map_url()?,
            None => pick(&["url"])?,
        };
        let target_code = pick(&["targetCode"])?;
        let reverse = p.bool("reverse")?.unwrap_or(false) || target_code.is_some();
        let source_code = pick(&["code", "sourceCode"])?
            .or(target_code)
            .or_else(|| coding.as_ref().and_then(|c| c.code.clone()));
        let (given_system, other_system) = if reverse && p.has("targetCode") {
            (
                pick(&["targetSystem", "targetsystem"])?,
                pick(&["sourceSystem", "system"])?,
            )
        } else {
            (
                pick(&["system", "sourceSystem"])?
                    .or_else(|| coding.as_ref().and_then(|c| c.system.clone())),
                pick(&["targetsystem", "targetSystem", "target"])?,
            )
        };
        Ok(TranslateRequest {
            map_url,
            map_version: pick(&["conceptMapVersion"])?,
            source_system: required(given_system, "system")?,
            source_code: required(source_code, "code")?,
            target_system: other_system,
            reverse,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::fhir::request::testing::*;
    use serde_json::json;

    #[test]
    fn query_and_body_give_the_same_request() {
        let q = same_request(
            TranslateRequest::from_params,
            "url=m&system=s&code=a&targetsystem=t&conceptMapVersion=2",
            json!([{"name": "url", "valueUri": "m"},
                {"name": "sourceCoding", "valueCoding": {"system": "s", "code": "a"}},
                {"name": "targetSystem", "valueUri": "t"},
                {"name": "conceptMapVersion", "valueString": "2"}]),
        );
        assert_eq!(q.map_url.as_deref(), Some("m"));
        assert_eq!(
            (q.source_system.as_str(), q.source_code.as_str()),
            ("s", "a")
        );
        assert_eq!(q.target_system.as_deref(), Some("t"));
        assert!(!q.reverse);
    }

    #[test]
    fn a_target_code_asks_for_the_reverse_translation() {
        let (config, catalog) = (config(), Catalog::default());
        let ctx = ctx(&config, &catalog);
        let r = TranslateRequest::from_params(
            &query("targetCode=x&targetSystem=t&sourceSystem=s"),
            &ctx,
        )
        .unwrap();
        assert!(r.reverse);
        assert_eq!(
            (r.source_system.as_str(), r.source_code.as_str()),
            ("t", "x")
        );
        assert_eq!(r.target_system.as_deref(), Some("s"));
    }

    #[test]
    fn malformed_parameters_are_refused() {
        let (config, catalog) = (config(), Catalog::default());
        let mut ctx = ctx(&config, &catalog);
        let read = |q: &str, ctx: &Context| message(TranslateRequest::from_params(&query(q), ctx));
        assert_eq!(read("code=a", &ctx), "Parameter 'system' is required");
        assert_eq!(read("system=s", &ctx), "Parameter 'code' is required");
        assert_eq!(
            read("system=s&code=a&reverse=no", &ctx),
            "Parameter 'reverse' must be true or false, not 'no'"
        );
        ctx.instance.id = Some("m1");
        assert_eq!(
            read("system=s&code=a", &ctx),
            "Resource ConceptMap 'm1' not found"
        );
    }
}
