//! `ValueSet/$expand`: the members of a value set, paged.

use super::display::{display_for, Languages};
use super::members::{enumerate, Member};
use crate::catalog::Scope;
use crate::error::{Error, Result};
use crate::model::{Designation, ValueSet};

#[derive(Debug, Clone)]
pub struct ExpandRequest {
    pub offset: usize,
    pub count: Option<usize>,
    pub active_only: bool,
    pub include_designations: bool,
    pub languages: Languages,
    /// Text filter on displays (word prefixes, accent- and case-insensitive).
    pub filter: Option<String>,
    /// Refuse expansions larger than this (`too-costly`).
    pub max_size: usize,
}

impl Default for ExpandRequest {
    fn default() -> Self {
        ExpandRequest {
            offset: 0,
            count: None,
            active_only: false,
            include_designations: false,
            languages: Languages::default(),
            filter: None,
            max_size: 100_000,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ExpansionItem {
    pub system: String,
    pub version: Option<String>,
    pub code: String,
    pub display: Option<String>,
    pub inactive: bool,
    pub is_abstract: bool,
    pub designations: Vec<Designation>,
}

#[derive(Debug, Clone)]
pub struct Expansion {
    pub total: usize,
    pub offset: usize,
    pub count: Option<usize>,
    pub items: Vec<ExpansionItem>,
    /// `system|version` of every code system used.
    pub used_systems: Vec<String>,
}

/// Lower-cases and strips French accents and ligatures, for text matching.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'À' | 'Á' | 'Â' | 'Ä' => out.push('a'),
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'È' | 'Ê' | 'Ë' => out.push('e'),
            'î' | 'ï' | 'í' | 'Î' | 'Ï' => out.push('i'),
            'ô' | 'ö' | 'ó' | 'Ô' | 'Ö' => out.push('o'),
            'ù' | 'û' | 'ü' | 'ú' | 'Ù' | 'Û' | 'Ü' => out.push('u'),
            'ç' | 'Ç' => out.push('c'),
            'œ' | 'Œ' => out.push_str("oe"),
            'æ' | 'Æ' => out.push_str("ae"),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

fn words(s: &str) -> Vec<String> {
    fold(s)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// Every query word is a prefix of some word of the text (or of the code).
fn text_matches(query: &[String], m: &Member, display: Option<&str>) -> bool {
    let mut hay: Vec<String> = display.map(words).unwrap_or_default();
    hay.extend(words(&m.code));
    for d in &m.designations {
        hay.extend(words(&d.value));
    }
    query.iter().all(|q| hay.iter().any(|w| w.starts_with(q.as_str())))
}

pub fn expand(scope: &Scope, vs: &ValueSet, req: &ExpandRequest) -> Result<Expansion> {
    let members = enumerate(scope, vs, 0)?;
    let query: Vec<String> = req.filter.as_deref().map(words).unwrap_or_default();
    let mut used_systems: Vec<String> = Vec::new();
    let mut selected = Vec::new();
    for m in members {
        if req.active_only && m.inactive {
            continue;
        }
        let display = match &m.source {
            Some((cs, i)) if m.display.is_none() || !req.languages.is_empty() => {
                display_for(cs, &cs.concepts[*i], &req.languages)
                    .map(str::to_string)
                    .or(m.display.clone())
            }
            _ => m.display.clone(),
        };
        if !query.is_empty() && !text_matches(&query, &m, display.as_deref()) {
            continue;
        }
        let used = match &m.version {
            Some(v) => format!("{}|{}", m.system, v),
            None => m.system.clone(),
        };
        if !used_systems.contains(&used) {
            used_systems.push(used);
        }
        selected.push(ExpansionItem {
            system: m.system,
            version: m.version,
            code: m.code,
            display,
            inactive: m.inactive,
            is_abstract: m.is_abstract,
            designations: if req.include_designations {
                m.designations
            } else {
                Vec::new()
            },
        });
    }
    let total = selected.len();
    if req.count.is_none() && total > req.max_size {
        return Err(Error::TooCostly(format!(
            "The value set '{}' has {total} members, more than the limit of {}; use count and offset to page",
            vs.meta.url, req.max_size
        )));
    }
    let items: Vec<ExpansionItem> = selected
        .into_iter()
        .skip(req.offset)
        .take(req.count.unwrap_or(usize::MAX))
        .collect();
    Ok(Expansion {
        total,
        offset: req.offset,
        count: req.count,
        items,
        used_systems,
    })
}

/// The implicit value set of a whole code system (`{url}?fhir_vs`).
pub fn implicit_value_set(system_url: &str, version: Option<&str>) -> ValueSet {
    use crate::model::{Compose, ConceptSetComponent, ResourceMeta};
    ValueSet {
        meta: ResourceMeta {
            url: format!("{system_url}?fhir_vs"),
            status: "active".into(),
            ..Default::default()
        },
        compose: Compose {
            include: vec![ConceptSetComponent {
                system: Some(system_url.to_string()),
                version: version.map(str::to_string),
                ..Default::default()
            }],
            ..Default::default()
        },
        ..Default::default()
    }
}
