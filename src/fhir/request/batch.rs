//! `$batch-validate-code`: several ValueSet `$validate-code` requests in one, each a
//! `validation` (parts or a `Parameters` resource) that takes the outer parameters it
//! does not give itself.

use serde_json::{json, Value};

use super::Context;
use crate::error::{Error, Result};
use crate::fhir::params::{ParamValue, Params};

#[derive(Debug, Clone, PartialEq)]
pub struct BatchValidateRequest {
    /// The parameters of each validation, outer ones merged in.
    pub validations: Vec<Params>,
}

impl BatchValidateRequest {
    pub fn from_params(p: &Params, ctx: &Context) -> Result<Self> {
        let max_params = ctx.config.limits.max_params;
        let validations = p
            .all("validation")
            .map(|v| {
                let mut merged = match v {
                    ParamValue::Parts(inner) => inner.clone(),
                    ParamValue::Resource(r) => Params::from_json_limited(r, max_params)?,
                    _ => {
                        return Err(Error::Invalid(
                            "Each 'validation' must be a Parameters resource".into(),
                        ))
                    }
                };
                for (name, value) in &p.0 {
                    if name != "validation" && !merged.has(name) {
                        merged.0.push((name.clone(), value.clone()));
                    }
                }
                Ok(merged)
            })
            .collect::<Result<_>>()?;
        Ok(BatchValidateRequest { validations })
    }
}

/// The answer: one `validation` per request, its `Parameters` or `OperationOutcome`.
pub fn batch_json(answers: Vec<Value>) -> Value {
    let results: Vec<Value> = answers
        .into_iter()
        .map(|answer| json!({"name": "validation", "resource": answer}))
        .collect();
    json!({"resourceType": "Parameters", "parameter": results})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::fhir::request::testing::*;
    use serde_json::json;

    #[test]
    fn each_validation_takes_the_outer_parameters_it_lacks() {
        let (config, catalog) = (config(), Catalog::default());
        let ctx = ctx(&config, &catalog);
        let p = body(json!([
            {"name": "url", "valueUri": "v"},
            {"name": "validation", "resource": {"resourceType": "Parameters", "parameter": [
                {"name": "code", "valueCode": "a"}]}},
            {"name": "validation", "part": [
                {"name": "code", "valueCode": "b"}, {"name": "url", "valueUri": "w"}]}]));
        let r = BatchValidateRequest::from_params(&p, &ctx).unwrap();
        assert_eq!(r.validations.len(), 2);
        assert_eq!(r.validations[0].str("url").unwrap(), Some("v"));
        assert_eq!(r.validations[0].str("code").unwrap(), Some("a"));
        assert_eq!(r.validations[1].str("url").unwrap(), Some("w"));
        assert!(!r.validations[1].has("validation"));
    }

    #[test]
    fn a_validation_must_be_parameters() {
        let (config, catalog) = (config(), Catalog::default());
        let ctx = ctx(&config, &catalog);
        assert_eq!(
            message(BatchValidateRequest::from_params(
                &query("validation=x"),
                &ctx
            )),
            "Each 'validation' must be a Parameters resource"
        );
        let p = body(json!([{"name": "validation", "resource": {"resourceType": "Patient"}}]));
        assert_eq!(
            message(BatchValidateRequest::from_params(&p, &ctx)),
            "The request body must be a FHIR Parameters resource"
        );
    }
}
