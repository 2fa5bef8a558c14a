//! Value sets published as an expansion only (no `compose`), as the ANS SMT (an Ontoserver)
//! publishes some JDVs: their members are the stored `expansion.contains`, read as members of
//! the code systems they name when those are loaded here.

use std::collections::HashSet;
use std::sync::Arc;

use serde_json::Value;

use super::members::{member_from_concept, Member, Trace};
use crate::error::{Error, Result};
use crate::model::{Designation, ValueSet};
use crate::ops::Scope;

/// The `used-codesystem` versions a stored expansion reports, as `(url, version)`.
fn used_code_systems(exp: &Value) -> Vec<(String, Option<String>)> {
    let Some(params) = exp.get("parameter").and_then(Value::as_array) else {
        return Vec::new();
    };
    params
        .iter()
        .filter(|p| p.get("name").and_then(Value::as_str) == Some("used-codesystem"))
        .filter_map(|p| {
            let v = p
                .get("valueUri")
                .or_else(|| p.get("valueCanonical"))
                .and_then(Value::as_str)?;
            let (url, version) = crate::model::split_canonical(v);
            Some((url.to_string(), version.map(str::to_string)))
        })
        .collect()
}

fn text(item: &Value, key: &str) -> Option<String> {
    item.get(key).and_then(Value::as_str).map(str::to_string)
}

fn flag(item: &Value, key: &str) -> bool {
    item.get(key).and_then(Value::as_bool) == Some(true)
}

fn designations(item: &Value) -> Vec<Designation> {
    let Some(list) = item.get("designation").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|d| {
            Some(Designation {
                language: text(d, "language"),
                use_: d.get("use").and_then(|u| {
                    Some(Arc::new(crate::model::Coding {
                        system: text(u, "system"),
                        version: text(u, "version"),
                        code: Some(text(u, "code")?),
                        display: text(u, "display"),
                    }))
                }),
                value: text(d, "value")?,
                extensions: d
                    .get("extension")
                    .and_then(Value::as_array)
                    .filter(|e| !e.is_empty())
                    .map(|e| Box::new(e.clone())),
            })
        })
        .collect()
}

/// The members of a value set that has no `compose`: its stored expansion, or an error when it
/// has none (an expansion that cannot be made is never an empty success).
pub fn stored_members(scope: &Scope, vs: &ValueSet, trace: &mut Trace) -> Result<Vec<Member>> {
    let Some(exp) = &vs.expansion else {
        return Err(Error::InvalidValueSet(format!(
            "The value set '{}' has no compose and no stored expansion, so it cannot be expanded",
            vs.meta.versioned_url()
        )));
    };
    let used = used_code_systems(exp);
    let mut out = Vec::new();
    let mut seen: HashSet<(String, String)> = HashSet::new();
    let mut stack: Vec<&Value> = exp
        .get("contains")
        .and_then(Value::as_array)
        .map(|a| a.iter().rev().collect())
        .unwrap_or_default();
    // Depth-first, in document order: a nested item follows its parent.
    while let Some(item) = stack.pop() {
        if let Some(children) = item.get("contains").and_then(Value::as_array) {
            stack.extend(children.iter().rev());
        }
        let (Some(system), Some(code)) = (text(item, "system"), text(item, "code")) else {
            // A grouping entry with no code selects nothing itself.
            continue;
        };
        let url = scope.canonical_url(&system).unwrap_or(system);
        if !seen.insert((url.clone(), code.clone())) {
            continue;
        }
        let version = text(item, "version").or_else(|| {
            used.iter()
                .find(|(u, _)| super::members::same_system(scope, u, &url))
                .and_then(|(_, v)| v.clone())
        });
        let source = scope
            .code_system(&url, version.as_deref())
            .and_then(|cs| cs.index_of(&code).map(|i| (cs, i)));
        let mut m = match source {
            Some((cs, i)) => member_from_concept(&cs, i, &url),
            None => Member::listed_only(&url, version.as_deref(), &code),
        };
        // What the publisher stored wins over what the code system says today.
        if let Some(d) = text(item, "display") {
            m.display = Some(d);
        }
        let stored_designations = designations(item);
        if !stored_designations.is_empty() {
            m.designations = stored_designations;
        }
        m.inactive |= flag(item, "inactive");
        m.is_abstract |= flag(item, "abstract");
        if version.is_some() {
            m.version = version;
        }
        if let Some(ext) = item.get("extension").and_then(Value::as_array) {
            m.extensions = ext.clone();
        }
        out.push(m);
    }
    for (url, version) in used {
        let canonical = match version {
            Some(v) => format!("{url}|{v}"),
            None => url,
        };
        if !trace.used_systems.contains(&canonical) {
            trace.used_systems.push(canonical);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::model::{CodeSystem, Concept, ResourceMeta};

    fn catalog() -> Catalog {
        let mut cat = Catalog::default();
        let concepts = [("1", "Un"), ("2", "Deux")]
            .into_iter()
            .map(|(code, display)| Concept {
                code: code.into(),
                display: Some(display.into()),
                ..Default::default()
            })
            .collect();
        let meta = ResourceMeta {
            url: "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-test".into(),
            version: Some("20260101120000".into()),
            ..Default::default()
        };
        cat.add_code_system(CodeSystem::new(meta, concepts));
        cat
    }

    fn expansion_only(contains: Value) -> ValueSet {
        ValueSet {
            meta: ResourceMeta {
                url: "https://smt.esante.gouv.fr/fhir/ValueSet/jdv-test".into(),
                version: Some("20260101120000".into()),
                ..Default::default()
            },
            expansion: Some(serde_json::json!({
                "parameter": [{"name": "used-codesystem",
                    "valueUri": "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-test|20260101120000"}],
                "contains": contains
            })),
            ..Default::default()
        }
    }

    #[test]
    fn members_come_from_the_stored_expansion_with_its_labels_and_flags() {
        let cat = catalog();
        let scope = Scope::new(&cat);
        let sys = "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-test";
        let vs = expansion_only(serde_json::json!([
            {"system": sys, "code": "2", "display": "Deux (JDV)", "inactive": true},
            {"system": sys, "code": "9", "display": "Inconnu ici"},
            {"system": sys, "code": "2", "display": "doublon"},
            {"display": "groupe", "contains": [{"system": sys, "code": "1"}]}
        ]));
        let mut trace = Trace::default();
        let members = stored_members(&scope, &vs, &mut trace).unwrap();
        let got: Vec<(&str, Option<&str>, bool, bool)> = members
            .iter()
            .map(|m| {
                (
                    m.code.as_str(),
                    m.display.as_deref(),
                    m.inactive,
                    m.source.is_some(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("2", Some("Deux (JDV)"), true, true),
                ("9", Some("Inconnu ici"), false, false),
                ("1", Some("Un"), false, true),
            ]
        );
        assert_eq!(members[0].version.as_deref(), Some("20260101120000"));
        assert_eq!(trace.used_systems, vec![format!("{sys}|20260101120000")]);
    }

    #[test]
    fn a_value_set_with_neither_compose_nor_expansion_is_an_error() {
        let cat = catalog();
        let scope = Scope::new(&cat);
        let mut vs = expansion_only(Value::Null);
        vs.expansion = None;
        let err = stored_members(&scope, &vs, &mut Trace::default()).unwrap_err();
        assert!(err
            .to_string()
            .contains("no compose and no stored expansion"));
    }
}
