//! `$lookup`: a code (`code` + `system`, or `coding`) of a code system.

use super::{languages, primitives, required, Context};
use crate::error::Result;
use crate::fhir::params::Params;
pub use crate::ops::lookup::LookupRequest;

impl LookupRequest {
    /// The code from `code`/`system`/`version` or `coding`, the system defaulting to the
    /// addressed instance's.
    pub fn from_params(p: &Params, ctx: &Context) -> Result<Self> {
        let coding = p.coding("coding")?;
        let instance = ctx.instance.code_system()?;
        let system = p
            .str("system")?
            .map(str::to_string)
            .or_else(|| coding.as_ref().and_then(|c| c.system.clone()))
            .or_else(|| instance.as_ref().map(|i| i.0.clone()));
        let code = p
            .str("code")?
            .map(str::to_string)
            .or_else(|| coding.as_ref().and_then(|c| c.code.clone()));
        let version = p
            .str("version")?
            .map(str::to_string)
            .or_else(|| coding.as_ref().and_then(|c| c.version.clone()))
            .or_else(|| instance.as_ref().and_then(|i| i.1.clone()));
        let properties = primitives(p, "property");
        Ok(LookupRequest {
            system: required(system, "system")?,
            code: required(code, "code")?,
            version,
            properties,
            languages: languages(p, ctx)?,
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
            LookupRequest::from_params,
            "system=http://s&code=a&version=1&property=p&property=q&displayLanguage=fr",
            json!([
                {"name": "coding", "valueCoding": {"system": "http://s", "code": "a", "version": "1"}},
                {"name": "property", "valueCode": "p"},
                {"name": "property", "valueCode": "q"},
                {"name": "displayLanguage", "valueCode": "fr"}]),
        );
        assert_eq!(q.system, "http://s");
        assert_eq!(q.properties, ["p", "q"]);
        assert_eq!(q.languages.0, ["fr"]);
    }

    #[test]
    fn malformed_parameters_are_refused() {
        let (config, catalog) = (config(), Catalog::default());
        let ctx = ctx(&config, &catalog);
        assert_eq!(
            message(LookupRequest::from_params(&query("code=a"), &ctx)),
            "Parameter 'system' is required"
        );
        assert_eq!(
            message(LookupRequest::from_params(&query("system=s"), &ctx)),
            "Parameter 'code' is required"
        );
        assert_eq!(
            message(LookupRequest::from_params(&query("coding=s|a"), &ctx)),
            "Parameter 'coding' must be a Coding"
        );
    }

    #[test]
    fn the_accept_language_header_is_the_default_language() {
        let (config, catalog) = (config(), Catalog::default());
        let mut ctx = ctx(&config, &catalog);
        ctx.accept_language = Some("de, en;q=0.5");
        let r = LookupRequest::from_params(&query("system=s&code=a"), &ctx).unwrap();
        assert_eq!(r.languages.0, ["de", "en"]);
        let r =
            LookupRequest::from_params(&query("system=s&code=a&displayLanguage=fr"), &ctx).unwrap();
        assert_eq!(r.languages.0, ["fr"]);
    }
}
