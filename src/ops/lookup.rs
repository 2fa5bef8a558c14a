//! `CodeSystem/$lookup`: everything known about one code.

use std::sync::Arc;

use super::display::{display_for, Languages};
use super::supplement;
use crate::error::{Error, Result};
use crate::model::{CodeSystem, Coding, Concept, Designation, PropertyValue};
use crate::ops::Scope;

#[derive(Debug, Clone, Default)]
pub struct LookupRequest {
    pub system: String,
    pub version: Option<String>,
    pub code: String,
    /// Properties asked for; empty or `*` = all.
    pub properties: Vec<String>,
    pub languages: Languages,
}

#[derive(Debug, Clone)]
pub struct LookupProperty {
    pub code: String,
    pub value: PropertyValue,
    /// For parent/child: the related concept's display.
    pub description: Option<String>,
    /// For a property that is itself a concept (a SNOMED CT attribute): its display.
    pub code_display: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LookupResult {
    pub name: String,
    pub system: String,
    pub version: Option<String>,
    pub code: String,
    pub display: Option<String>,
    pub definition: Option<String>,
    pub is_abstract: bool,
    /// Each with the supplement it comes from (`url|version`), if any.
    pub designations: Vec<(Designation, Option<String>)>,
    pub properties: Vec<LookupProperty>,
    /// `url|version` of the supplements applied to the code system.
    pub used_supplements: Vec<String>,
}

/// The use of the designation that restates a concept's display in the code system's
/// language.
const PREFERRED_FOR_LANGUAGE: (&str, &str, &str) = (
    "http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra",
    "preferredForLanguage",
    "Preferred For Language",
);

/// The concept's designations, led by its display in the code system's language (when the
/// system states one), each with the supplement it comes from.
fn designations_of(
    scope: &Scope,
    cs: &CodeSystem,
    concept: &Concept,
) -> Vec<(Designation, Option<String>)> {
    let mut out = Vec::new();
    if let (Some(lang), Some(display)) = (&cs.meta.language, &concept.display) {
        let (system, code, display_of_use) = PREFERRED_FOR_LANGUAGE;
        let mut use_ = Coding::code(system, code);
        use_.display = Some(display_of_use.to_string());
        let restated = Designation {
            language: Some(lang.clone()),
            use_: Some(Arc::new(use_)),
            value: display.clone(),
            extensions: None,
        };
        let already = concept
            .designations
            .iter()
            .any(|d| d.value == *display && d.language.as_deref() == Some(lang.as_str()));
        if !already {
            out.push((restated, None));
        }
    }
    for d in &concept.designations {
        let source = supplement::designation_source(scope, cs, &concept.code, d);
        out.push((d.clone(), source.map(str::to_string)));
    }
    out
}

pub fn unknown_system(system: &str, version: Option<&str>) -> Error {
    let message = match version {
        Some(v) => format!(
            "A definition for CodeSystem '{system}' version '{v}' could not be found, so the code cannot be validated"
        ),
        None => format!(
            "A definition for CodeSystem '{system}' could not be found, so the code cannot be validated"
        ),
    };
    Error::UnknownSystem {
        message,
        system: system.to_string(),
    }
}

pub fn unknown_code_message(cs: &CodeSystem, code: &str) -> String {
    // A SNOMED CT version is an edition URI: its name says which edition it is.
    let edition = cs
        .edition
        .edition
        .as_ref()
        .map(|e| format!(" ({})", e.name))
        .unwrap_or_default();
    match &cs.meta.version {
        Some(v) => format!(
            "Unknown code '{code}' in the CodeSystem '{}' version '{v}'{edition}",
            cs.meta.url
        ),
        None => format!("Unknown code '{code}' in the CodeSystem '{}'", cs.meta.url),
    }
}

pub fn lookup(scope: &Scope, req: &LookupRequest) -> Result<LookupResult> {
    let cs: Arc<CodeSystem> = scope
        .code_system(&req.system, req.version.as_deref())
        .ok_or_else(|| {
            scope
                .unreadable(&req.system)
                .unwrap_or_else(|| unknown_system(&req.system, req.version.as_deref()))
        })?;
    let concept = cs
        .concept_or_expression(&req.code)
        .ok_or_else(|| Error::NotFound(unknown_code_message(&cs, &req.code)))?;
    let concept: &Concept = &concept;
    let provider = super::provider::provider(&cs);
    let wants =
        |p: &str| req.properties.is_empty() || req.properties.iter().any(|w| w == "*" || w == p);

    let mut properties = Vec::new();
    for p in &concept.properties {
        if matches!(&*p.code, "parent" | "child") || !wants(&p.code) {
            continue;
        }
        properties.push(LookupProperty {
            code: p.code.to_string(),
            value: p.value.clone(),
            description: None,
            code_display: None,
        });
    }
    if wants("inactive") && concept.property("inactive").is_none() {
        properties.push(LookupProperty {
            code: "inactive".into(),
            value: PropertyValue::Boolean(concept.is_inactive()),
            description: None,
            code_display: None,
        });
    }
    if wants("parent") {
        for p in &concept.parents {
            properties.push(super::provider::code_property(
                "parent",
                p.clone(),
                cs.concept(p).and_then(|c| c.display.clone()),
            ));
        }
    }
    if wants("child") {
        for (code, display) in provider.children(&concept.code) {
            properties.push(super::provider::code_property("child", code, display));
        }
    }
    properties.extend(provider.extra_properties(&concept.code, &req.properties));

    let designations = designations_of(scope, &cs, concept);

    Ok(LookupResult {
        name: provider.name(),
        system: cs.meta.url.clone(),
        version: cs.meta.version.clone(),
        code: concept.code.clone(),
        display: display_for(&cs, concept, &req.languages).map(str::to_string),
        definition: concept.definition.clone(),
        is_abstract: concept.is_abstract(),
        designations,
        properties,
        used_supplements: cs.applied_supplements.clone(),
    })
}
