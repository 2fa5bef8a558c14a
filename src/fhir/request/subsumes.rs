//! `$subsumes`: two codes (`codeA`/`codeB`, or `codingA`/`codingB`) of one code system.

use serde_json::{json, Value};

use super::{required, Context};
use crate::error::Result;
use crate::fhir::params::Params;
use crate::ops::subsumes::Outcome;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubsumesRequest {
    pub system: String,
    pub version: Option<String>,
    pub code_a: String,
    pub code_b: String,
}

impl SubsumesRequest {
    /// The system is `system`, else `codingA`'s, else the addressed instance's.
    pub fn from_params(p: &Params, ctx: &Context) -> Result<Self> {
        let instance = ctx.instance.code_system()?;
        let ca = p.coding("codingA")?;
        let cb = p.coding("codingB")?;
        let system = p
            .str("system")?
            .map(str::to_string)
            .or_else(|| ca.as_ref().and_then(|c| c.system.clone()))
            .or_else(|| instance.as_ref().map(|i| i.0.clone()));
        let a = p
            .str("codeA")?
            .map(str::to_string)
            .or_else(|| ca.and_then(|c| c.code));
        let b = p
            .str("codeB")?
            .map(str::to_string)
            .or_else(|| cb.and_then(|c| c.code));
        let version = p.str("version")?.map(str::to_string);
        Ok(SubsumesRequest {
            system: required(system, "system")?,
            version,
            code_a: required(a, "codeA")?,
            code_b: required(b, "codeB")?,
        })
    }
}

/// The answer: `Parameters` with the `outcome`.
pub fn subsumes_json(outcome: Outcome) -> Value {
    json!({"resourceType": "Parameters", "parameter": [
        {"name": "outcome", "valueCode": outcome.as_str()}
    ]})
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
            SubsumesRequest::from_params,
            "system=s&codeA=a&codeB=b&version=1",
            json!([{"name": "codingA", "valueCoding": {"system": "s", "code": "a"}},
                {"name": "codingB", "valueCoding": {"system": "s", "code": "b"}},
                {"name": "version", "valueString": "1"}]),
        );
        assert_eq!(
            q,
            SubsumesRequest {
                system: "s".into(),
                version: Some("1".into()),
                code_a: "a".into(),
                code_b: "b".into()
            }
        );
    }

    #[test]
    fn malformed_parameters_are_refused() {
        let (config, catalog) = (config(), Catalog::default());
        let ctx = ctx(&config, &catalog);
        let read = |q: &str| message(SubsumesRequest::from_params(&query(q), &ctx));
        assert_eq!(read("codeA=a&codeB=b"), "Parameter 'system' is required");
        assert_eq!(read("system=s&codeB=b"), "Parameter 'codeA' is required");
        assert_eq!(read("system=s&codeA=a"), "Parameter 'codeB' is required");
        assert_eq!(
            read("system=s&codingA=a"),
            "Parameter 'codingA' must be a Coding"
        );
    }
}
