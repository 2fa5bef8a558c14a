//! The request's own resources (`tx-resource`, and the value sets an inline `valueSet`
//! contains), as a catalog over the stored one for this request only.

use serde_json::Value;

use super::check_resource_size;
use crate::catalog::Catalog;
use crate::config::Limits;
use crate::error::{Error, Result};
use crate::fhir::params::{ParamValue, Params};
use crate::load::{fhir_json::parse_resource, Resource};

/// The request's own resources (`tx-resource`), as an overlay catalog.
pub fn overlay(params: &Params, limits: &Limits) -> Result<Option<Catalog>> {
    let max_count = limits.max_tx_resources;
    let resources: Vec<&Value> = params
        .all("tx-resource")
        .filter_map(|v| match v {
            ParamValue::Resource(r) => Some(r),
            _ => None,
        })
        .collect();
    let contained = contained_value_sets(params);
    if resources.is_empty() && contained.is_empty() {
        return Ok(None);
    }
    if resources.len() > max_count {
        return Err(Error::TooCostly(format!(
            "Too many tx-resource parameters ({}, limit {max_count})",
            resources.len()
        )));
    }
    for r in &resources {
        check_resource_size(r, limits.max_tx_resource_size, "tx-resource")?;
    }
    let mut cat = Catalog::default();
    for r in resources {
        match parse_resource(r) {
            Ok(Resource::CodeSystem(cs)) => cat.add_code_system(cs),
            Ok(Resource::ValueSet(vs)) => cat.add_value_set(vs),
            Ok(Resource::ConceptMap(cm)) => cat.add_concept_map(cm),
            Ok(Resource::Alias { .. }) => {}
            // A resource that cannot be read matters only to a request that refers to it:
            // it is kept as a reason under the url it claims, and the request fails with that
            // reason only when it looks that url up (without a url, nothing can refer to it).
            Err(e) => {
                if let Some(url) = r.get("url").and_then(Value::as_str) {
                    cat.add_unreadable(url, format!("Invalid tx-resource '{url}': {e}"));
                }
            }
        }
    }
    for vs in contained {
        cat.add_value_set(vs);
    }
    Ok(Some(cat))
}

/// Value sets contained in an inline `valueSet` parameter, registered under the local
/// reference (`#id`) by which the container's compose names them.
fn contained_value_sets(params: &Params) -> Vec<crate::model::ValueSet> {
    let Ok(Some(container)) = params.resource("valueSet") else {
        return Vec::new();
    };
    let Some(contained) = container.get("contained").and_then(Value::as_array) else {
        return Vec::new();
    };
    contained
        .iter()
        .filter_map(|c| match parse_resource(c) {
            Ok(Resource::ValueSet(mut vs)) => {
                let id = c.get("id").and_then(Value::as_str)?;
                vs.meta.url = format!("#{id}");
                vs.meta.version = None;
                Some(vs)
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhir::request::testing::*;
    use serde_json::json;

    fn code_system(url: &str) -> Value {
        json!({"resourceType": "CodeSystem", "url": url, "status": "active",
               "content": "complete", "concept": [{"code": "a"}]})
    }

    #[test]
    fn brings_its_resources_within_the_limits() {
        let mut limits = config().limits;
        assert!(overlay(&query("code=a"), &limits).unwrap().is_none());
        let p = body(json!([
            {"name": "tx-resource", "resource": code_system("http://s1")},
            {"name": "tx-resource", "resource": code_system("http://s2")}]));
        let cat = overlay(&p, &limits).unwrap().unwrap();
        assert!(cat.code_systems.get("http://s2", None).is_some());
        limits.max_tx_resources = 1;
        assert_eq!(
            message(overlay(&p, &limits)),
            "Too many tx-resource parameters (2, limit 1)"
        );
        limits.max_tx_resources = 2;
        limits.max_tx_resource_size = 20;
        assert!(message(overlay(&p, &limits)).starts_with("A tx-resource is too large"));
    }

    #[test]
    fn an_unreadable_resource_is_kept_as_the_reason_under_its_url() {
        let limits = config().limits;
        let p = body(json!([{"name": "tx-resource", "resource":
            {"resourceType": "ValueSet", "url": "http://v", "compose": 3}}]));
        let cat = overlay(&p, &limits).unwrap().unwrap();
        let scope = crate::ops::Scope {
            base: &cat,
            overlay: None,
            search: None,
            deadline: None,
            value_set_versions: &[],
            ecl_max_steps: crate::ops::scope::DEFAULT_ECL_STEPS,
        };
        assert!(message(scope.unreadable("http://v").map_or(Ok(()), Err))
            .starts_with("Invalid tx-resource 'http://v'"));
    }

    #[test]
    fn contained_value_sets_are_named_by_their_local_reference() {
        let limits = config().limits;
        let p = body(json!([{"name": "valueSet", "resource": {
            "resourceType": "ValueSet", "url": "http://v", "status": "active",
            "contained": [{"resourceType": "ValueSet", "id": "inner", "status": "active",
                "compose": {"include": [{"system": "http://s"}]}}],
            "compose": {"include": [{"valueSet": ["#inner"]}]}}}]));
        let cat = overlay(&p, &limits).unwrap().unwrap();
        assert!(cat.value_sets.get("#inner", None).is_some());
    }
}
