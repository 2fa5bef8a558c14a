//! Compose filters (`compose.include.filter`) evaluated against a code system's concepts.

use regex::Regex;

use crate::error::{Error, Result};
use crate::model::{CodeSystem, Filter};

/// A filter prepared for repeated evaluation (regexes compiled, target index resolved).
pub struct CompiledFilter<'a> {
    filter: &'a Filter,
    regex: Option<Regex>,
    /// For hierarchy filters: the concepts selected, by index.
    selected: Option<Vec<bool>>,
    /// The filter's value (checked present), and its comma-separated items (`in`, `not-in`).
    value: &'a str,
    values: Vec<&'a str>,
}

/// The value of a filter; a filter without one is refused before any member is selected
/// (`members::check_definition` names where it is; this is the fallback).
fn value_of(filter: &Filter) -> Result<&str> {
    filter.value.as_deref().ok_or_else(|| {
        Error::Invalid(format!(
            "The filter with property = {}, op = {} has no value",
            filter.property, filter.op
        ))
    })
}

impl<'a> CompiledFilter<'a> {
    pub fn new(cs: &CodeSystem, filter: &'a Filter) -> Result<Self> {
        let value = value_of(filter)?;
        let mut compiled = CompiledFilter {
            filter,
            regex: None,
            selected: None,
            value,
            values: value.split(',').map(str::trim).collect(),
        };
        match filter.op.as_str() {
            "regex" => {
                let re = Regex::new(&format!("^(?:{value})$")).map_err(|e| {
                    Error::Invalid(format!(
                        "The regex '{value}' in the filter on '{}' is not valid: {e}",
                        filter.property
                    ))
                })?;
                compiled.regex = Some(re);
            }
            "is-a" | "descendent-of" | "is-not-a" | "generalizes" | "child-of"
            | "descendent-leaf" => {
                compiled.selected = Some(hierarchy_selection(cs, &filter.op, value));
            }
            "=" | "in" | "not-in" | "exists" => {}
            other => {
                return Err(Error::NotSupported(format!(
                    "The filter operator '{other}' is not supported"
                )))
            }
        }
        Ok(compiled)
    }

    pub fn matches(&self, cs: &CodeSystem, index: usize) -> bool {
        let concept = &cs.concepts[index];
        if let Some(sel) = &self.selected {
            return sel[index];
        }
        let prop = self.filter.property.as_str();
        let values: Vec<String> = match prop {
            "code" | "concept" => vec![concept.code.clone()],
            "display" => concept.display.clone().into_iter().collect(),
            "inactive" => vec![concept.is_inactive().to_string()],
            "status" if concept.property("status").is_none() => {
                vec![if concept.is_inactive() {
                    "retired"
                } else {
                    "active"
                }
                .to_string()]
            }
            "parent" => concept.parents.clone(),
            _ => concept
                .properties
                .iter()
                .filter(|p| &*p.code == prop)
                .map(|p| p.value.as_text())
                .collect(),
        };
        match self.filter.op.as_str() {
            "=" => values.iter().any(|v| v == self.value),
            "in" => values.iter().any(|v| self.values.contains(&v.as_str())),
            "not-in" => !values.iter().any(|v| self.values.contains(&v.as_str())),
            "exists" => (self.value == "true") != values.is_empty(),
            "regex" => match &self.regex {
                Some(re) => values.iter().any(|v| re.is_match(v)),
                None => false,
            },
            _ => false,
        }
    }
}

/// Whether one concept passes `filter`: for the hierarchy operators a walk up from the concept
/// (no selection over the whole code system), else a compiled filter. For membership checks
/// (`$validate-code`), where one concept is tested per request.
pub fn matches_one(cs: &CodeSystem, filter: &Filter, index: usize) -> Result<bool> {
    let op = filter.op.as_str();
    if !matches!(
        op,
        "is-a" | "descendent-of" | "is-not-a" | "generalizes" | "child-of" | "descendent-leaf"
    ) {
        return CompiledFilter::new(cs, filter).map(|f| f.matches(cs, index));
    }
    let value = value_of(filter)?;
    let Some(root) = cs.index_of(value) else {
        return Ok(op == "is-not-a");
    };
    Ok(match op {
        "is-a" => index == root || cs.is_ancestor(root, index),
        "descendent-of" => cs.is_ancestor(root, index),
        "descendent-leaf" => cs.is_ancestor(root, index) && cs.children_of(index).next().is_none(),
        "child-of" => cs.concepts[index].parents.iter().any(|p| p == value),
        "is-not-a" => !(index == root || cs.is_ancestor(root, index)),
        "generalizes" => index == root || cs.is_ancestor(index, root),
        _ => false,
    })
}

fn hierarchy_selection(cs: &CodeSystem, op: &str, value: &str) -> Vec<bool> {
    let n = cs.concepts.len();
    let mut sel = vec![false; n];
    let Some(root) = cs.index_of(value) else {
        if op == "is-not-a" {
            return vec![true; n];
        }
        return sel;
    };
    match op {
        "is-a" => {
            sel[root] = true;
            for d in cs.descendants(root) {
                sel[d] = true;
            }
        }
        "descendent-of" => {
            for d in cs.descendants(root) {
                sel[d] = true;
            }
        }
        "descendent-leaf" => {
            for d in cs.descendants(root) {
                if cs.children_of(d).next().is_none() {
                    sel[d] = true;
                }
            }
        }
        "child-of" => {
            for (i, c) in cs.concepts.iter().enumerate() {
                if c.parents.iter().any(|p| p == value) {
                    sel[i] = true;
                }
            }
        }
        "is-not-a" => {
            sel = vec![true; n];
            sel[root] = false;
            for d in cs.descendants(root) {
                sel[d] = false;
            }
        }
        "generalizes" => {
            sel[root] = true;
            for a in cs.ancestors(root) {
                sel[a] = true;
            }
        }
        _ => {}
    }
    sel
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Concept, ResourceMeta};

    fn system() -> CodeSystem {
        let c = |code: &str, parents: &[&str]| Concept {
            code: code.into(),
            parents: parents.iter().map(|p| p.to_string()).collect(),
            ..Default::default()
        };
        CodeSystem::new(
            ResourceMeta::default(),
            vec![
                c("root", &[]),
                c("block", &["root"]),
                c("leaf1", &["block"]),
                c("leaf2", &["block"]),
                c("other", &[]),
            ],
        )
    }

    /// The per-concept walk (`matches_one`) and the whole-system selection agree everywhere.
    #[test]
    fn one_concept_walk_agrees_with_the_selection() {
        let cs = system();
        for op in [
            "is-a",
            "descendent-of",
            "is-not-a",
            "generalizes",
            "child-of",
            "descendent-leaf",
        ] {
            for value in ["root", "block", "leaf1", "missing"] {
                let f = Filter {
                    property: "concept".into(),
                    op: op.into(),
                    value: Some(value.into()),
                };
                let compiled = CompiledFilter::new(&cs, &f).unwrap();
                for i in 0..cs.concepts.len() {
                    assert_eq!(
                        matches_one(&cs, &f, i).unwrap(),
                        compiled.matches(&cs, i),
                        "{op} {value} on {}",
                        cs.concepts[i].code
                    );
                }
            }
        }
    }
}
