//! `ConceptMap/$translate` over the loaded maps (NOS ASS tables).

use crate::error::{Error, Result};
use crate::ops::Scope;

#[derive(Debug, Clone, Default)]
pub struct TranslateRequest {
    /// A specific map (`url`), else every map whose groups fit the systems.
    pub map_url: Option<String>,
    pub map_version: Option<String>,
    pub source_system: String,
    pub source_code: String,
    pub target_system: Option<String>,
    /// Reverse direction: find sources for a target code.
    pub reverse: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    pub equivalence: String,
    pub system: String,
    pub code: String,
    pub display: Option<String>,
    /// `url|version` of the map that gave this match.
    pub source_map: String,
    /// In reverse translations: the source concept found (system, code).
    pub source: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct TranslateResult {
    pub result: bool,
    pub message: Option<String>,
    pub matches: Vec<Match>,
}

pub fn translate(scope: &Scope, req: &TranslateRequest) -> Result<TranslateResult> {
    let source = scope
        .canonical_url(&req.source_system)
        .unwrap_or_else(|| req.source_system.clone());
    let target = req
        .target_system
        .as_deref()
        .map(|t| scope.canonical_url(t).unwrap_or_else(|| t.to_string()));
    let maps: Vec<_> = match &req.map_url {
        Some(url) => vec![scope
            .concept_map(url, req.map_version.as_deref())
            .ok_or_else(|| Error::NotFound(format!("Unable to find ConceptMap '{url}'")))?],
        None => scope.concept_maps().cloned().collect(),
    };
    let norm = |s: &Option<String>| {
        s.as_deref()
            .map(|s| scope.canonical_url(s).unwrap_or_else(|| s.to_string()))
    };
    let mut matches = Vec::new();
    for map in &maps {
        let canonical = map.meta.versioned_url();
        for g in &map.groups {
            let (from, to) = if req.reverse {
                (norm(&g.target), norm(&g.source))
            } else {
                (norm(&g.source), norm(&g.target))
            };
            if from.as_deref() != Some(source.as_str()) {
                continue;
            }
            if target.is_some() && to != target {
                continue;
            }
            let to_system = to.clone().unwrap_or_default();
            for el in &g.elements {
                for t in &el.targets {
                    if req.reverse {
                        // Reverse: the given code is a target; report the sources that map to it.
                        if t.code.as_deref() != Some(req.source_code.as_str()) {
                            continue;
                        }
                        let from_system = from.clone().unwrap_or_default();
                        matches.push(Match {
                            equivalence: t.equivalence.clone(),
                            system: from_system,
                            code: req.source_code.clone(),
                            display: t.display.clone(),
                            source_map: canonical.clone(),
                            source: Some((to_system.clone(), el.code.clone())),
                        });
                        continue;
                    }
                    if el.code != req.source_code {
                        continue;
                    }
                    let Some(code) = t.code.as_deref() else {
                        continue;
                    };
                    matches.push(Match {
                        equivalence: t.equivalence.clone(),
                        system: to_system.clone(),
                        code: code.to_string(),
                        display: t.display.clone(),
                        source_map: canonical.clone(),
                        source: None,
                    });
                }
            }
        }
    }
    let result = matches
        .iter()
        .any(|m| !matches!(m.equivalence.as_str(), "unmatched" | "disjoint"));
    let message = if matches.is_empty() {
        Some(format!(
            "No translation found for '{}#{}'",
            req.source_system, req.source_code
        ))
    } else {
        None
    };
    Ok(TranslateResult {
        result,
        message,
        matches,
    })
}
