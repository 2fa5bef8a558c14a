//! A SNOMED CT concept of an edition as a `Concept`, so that what works on any code system's
//! concepts (displays in a language, designations, status) works on SNOMED CT's too.

use std::sync::Arc;

use super::{Coding, Concept, ConceptProperty, Designation, PropertyValue};
use crate::snomed::graph::{ids, Cid, Graph};
use crate::snomed::{Edition, SYSTEM};

/// The `use` of a description type: FSN, synonym or definition, with its display.
pub fn description_use(type_id: u64) -> Coding {
    let display = match type_id {
        ids::FSN => "Fully specified name",
        ids::SYNONYM => "Synonym",
        ids::DEFINITION => "Definition",
        _ => "Description",
    };
    Coding {
        system: Some(SYSTEM.to_string()),
        code: Some(type_id.to_string()),
        display: Some(display.to_string()),
        version: None,
    }
}

/// The concept `c` of `edition`: its display (the preferred term of the first language
/// refset), its active descriptions as designations, its text definition, its status and
/// its parents.
pub fn read(edition: &Edition, c: Cid) -> Concept {
    let uses: Vec<(u64, Arc<Coding>)> = [ids::FSN, ids::SYNONYM, ids::DEFINITION]
        .into_iter()
        .map(|t| (t, Arc::new(description_use(t))))
        .collect();
    let use_of = |t: u64| {
        uses.iter()
            .find(|(id, _)| *id == t)
            .map(|(_, u)| u.clone())
            .unwrap_or_else(|| Arc::new(description_use(t)))
    };
    let descriptions = edition.descriptions(c);
    // Inactive descriptions stay, marked withdrawn: a display that was once right is
    // recognised, and reported as no longer correct.
    // Preferred terms first (of every language refset), then the rest in release order: the
    // first designation in a language is then that language's preferred term, the display a
    // request in that language gets.
    let preferred = |d: &&crate::snomed::graph::Description| {
        d.active
            && d.type_id == ids::SYNONYM
            && d.acceptability
                .iter()
                .any(|(_, a)| *a == crate::snomed::graph::Acceptability::Preferred)
    };
    let designations = descriptions
        .iter()
        .filter(preferred)
        .chain(descriptions.iter().filter(|d| !preferred(d)))
        .filter(|d| d.type_id != ids::DEFINITION)
        .map(|d| Designation {
            language: Some(d.language.to_string()),
            use_: Some(use_of(d.type_id)),
            value: d.term.to_string(),
            extensions: (!d.active).then(|| {
                Box::new(vec![serde_json::json!({
                    "url": "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status",
                    "valueCode": "withdrawn",
                })])
            }),
        })
        .collect();
    let definition = descriptions
        .iter()
        .find(|d| d.active && d.type_id == ids::DEFINITION)
        .map(|d| d.term.to_string());
    Concept {
        code: edition.sctid(c).to_string(),
        display: edition.display(c).map(str::to_string),
        definition,
        designations,
        properties: vec![ConceptProperty {
            code: Arc::from("inactive"),
            value: PropertyValue::Boolean(!edition.is_active(c)),
        }],
        parents: edition
            .parents(c)
            .iter()
            .map(|&p| edition.sctid(p).to_string())
            .collect(),
        extensions: Vec::new(),
    }
}

/// The code system that serves an edition: SNOMED CT's canonical URL, the edition's URI as
/// version, its concepts read from the edition when asked for.
pub fn code_system(edition: Arc<Edition>) -> super::CodeSystem {
    let uri = edition.uri();
    let meta = super::ResourceMeta {
        id: super::fhir_id(&format!(
            "sct-{}-{}",
            edition.module, edition.effective_time
        )),
        url: SYSTEM.to_string(),
        version: Some(uri),
        name: Some("SNOMED_CT".to_string()),
        title: Some(format!("SNOMED CT {}", edition.name)),
        status: "active".to_string(),
        publisher: Some("SNOMED International".to_string()),
        description: Some(format!(
            "SNOMED CT {} (module {}, {}), read from the RF2 release {}",
            edition.name,
            edition.module,
            edition.effective_time,
            edition.folders.join(" + ")
        )),
        ..Default::default()
    };
    let mut cs = super::CodeSystem::new(meta, Vec::new());
    cs.case_sensitive = Some(true);
    cs.hierarchy_meaning = Some("is-a".to_string());
    cs.value_set = Some(format!("{SYSTEM}?fhir_vs"));
    cs.property_defs = [
        ("inactive", "boolean", "Whether the concept is inactive"),
        ("parent", "code", "A direct parent (is-a)"),
        ("child", "code", "A direct child (is-a)"),
        ("moduleId", "code", "The module the concept belongs to"),
        (
            "sufficientlyDefined",
            "boolean",
            "Whether the concept is fully defined",
        ),
        (
            "normalForm",
            "string",
            "The necessary normal form, with terms",
        ),
        (
            "normalFormTerse",
            "string",
            "The necessary normal form, without terms",
        ),
        (
            "effectiveTime",
            "dateTime",
            "When the concept's current state took effect",
        ),
    ]
    .into_iter()
    .map(|(code, type_, description)| super::PropertyDef {
        code: code.to_string(),
        uri: None,
        description: Some(description.to_string()),
        type_: type_.to_string(),
    })
    .collect();
    cs.edition = super::codesystem::EditionLink::new(edition);
    cs
}

/// A valid postcoordinated expression of `edition` as a concept: `code` as given, its display
/// the expression with the preferred term of each concept, its focus concepts as parents.
/// None when `code` is no expression, or names a concept the edition lacks or has retired.
pub fn expression_concept(edition: &Edition, code: &str) -> Option<Concept> {
    use crate::snomed::expression;
    if !expression::is_expression(code) {
        return None;
    }
    let parsed = expression::parse(code).ok()?;
    expression::validate(edition, &parsed).ok()?;
    let term = |c: Cid| edition.display(c).unwrap_or_default().to_string();
    let display = expression::render(edition, &parsed, &term);
    Some(Concept {
        code: code.to_string(),
        display: Some(display.clone()),
        designations: vec![Designation {
            language: Some("en-US".to_string()),
            use_: Some(Arc::new(Coding {
                system: Some("http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra".to_string()),
                code: Some("preferredForLanguage".to_string()),
                display: Some("Preferred For Language".to_string()),
                version: None,
            })),
            value: display,
            extensions: None,
        }],
        properties: vec![ConceptProperty {
            code: Arc::from("inactive"),
            value: PropertyValue::Boolean(false),
        }],
        // Where the expression sits in the hierarchy, as the reference server tells it: its
        // focus concepts' parents (the focus itself is its definition, not its parent).
        parents: {
            let mut parents: Vec<String> = Vec::new();
            for id in parsed.focus_concepts() {
                let Some(f) = edition.concept(id) else {
                    continue;
                };
                for &p in edition.parents(f) {
                    let code = edition.sctid(p).to_string();
                    if !parents.contains(&code) {
                        parents.push(code);
                    }
                }
            }
            parents
        },
        ..Concept::default()
    })
}
