//! The concept properties `$expand` reports on its members (R5 `expansion.contains.property`,
//! asked for with `property` parameters) and their declarations (`expansion.property`).
//!
//! A `property` parameter names a property by its code in the code system, by the URI the
//! code system gives it, or by one of the concept's own elements that FHIR treats as
//! properties: `definition`, `parent`, `child` (and `inactive`, always known).

use crate::model::{CodeSystem, PropertyValue};

/// Base of the URIs of the properties FHIR defines for every code system.
pub const CONCEPT_PROPERTIES: &str = "http://hl7.org/fhir/concept-properties#";

/// Codes of the properties FHIR defines for every code system (their URI is
/// `CONCEPT_PROPERTIES` + code when the code system does not declare one).
const STANDARD_CODES: [&str; 13] = [
    "inactive",
    "deprecated",
    "notSelectable",
    "parent",
    "child",
    "partOf",
    "synonym",
    "comment",
    "itemWeight",
    "status",
    "retirementDate",
    "deprecationDate",
    "definition",
];

/// One property value reported on an expansion member.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemProperty {
    pub code: String,
    /// The property's URI, declared with its code in `expansion.property`.
    pub uri: Option<String>,
    pub value: PropertyValue,
}

/// The URI of property `code` in `cs`: the one the code system declares, else the standard
/// one for the codes FHIR defines.
pub fn property_uri(cs: &CodeSystem, code: &str) -> Option<String> {
    cs.property_defs
        .iter()
        .find(|d| d.code == code)
        .and_then(|d| d.uri.clone())
        .or_else(|| {
            STANDARD_CODES
                .contains(&code)
                .then(|| format!("{CONCEPT_PROPERTIES}{code}"))
        })
}

/// Whether the `property` parameter `wanted` names property `code` of `cs`.
fn names(cs: &CodeSystem, wanted: &str, code: &str) -> bool {
    wanted == code || property_uri(cs, code).is_some_and(|uri| uri == wanted)
}

/// The properties of concept `index` of `cs` that the `property` parameters `wanted` ask
/// for, in the order asked (each property once, whatever the number of names given for it).
pub fn requested(cs: &CodeSystem, index: usize, wanted: &[String]) -> Vec<ItemProperty> {
    let Some(concept) = cs.concepts.get(index) else {
        return Vec::new();
    };
    let mut out: Vec<ItemProperty> = Vec::new();
    let mut push = |code: &str, value: PropertyValue| {
        out.push(ItemProperty {
            code: code.to_string(),
            uri: property_uri(cs, code),
            value,
        })
    };
    let mut done: Vec<&str> = Vec::new();
    for w in wanted {
        // Elements of the concept (hierarchy, definition), then its stated properties.
        let element = ["definition", "parent", "child", "inactive"]
            .into_iter()
            .find(|code| names(cs, w, code));
        let codes: Vec<&str> = match element {
            Some(code) => vec![code],
            None => {
                let mut codes: Vec<&str> = concept
                    .properties
                    .iter()
                    .map(|p| &*p.code)
                    .filter(|code| names(cs, w, code))
                    .collect();
                codes.dedup();
                codes
            }
        };
        for code in codes {
            if done.contains(&code) {
                continue;
            }
            done.push(code);
            match code {
                "definition" => {
                    if let Some(d) = &concept.definition {
                        push(code, PropertyValue::String(d.clone()));
                    }
                }
                // Stated by nesting or `parent` properties alike: `parents` holds them all.
                "parent" => {
                    for p in &concept.parents {
                        push(code, PropertyValue::Code(p.clone()));
                    }
                }
                "child" => {
                    for c in cs.children_of(index) {
                        push(code, PropertyValue::Code(c.code.clone()));
                    }
                }
                // `inactive` is known for every concept, stated or not.
                "inactive" if concept.property("inactive").is_none() => {
                    push(code, PropertyValue::Boolean(concept.is_inactive()));
                }
                _ => {
                    for p in concept.properties.iter().filter(|p| &*p.code == code) {
                        push(code, p.value.clone());
                    }
                }
            }
        }
    }
    out
}

/// Where a concept extension was stated: on the code system's concept (supplements merged),
/// or on the value set's `compose.include.concept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionSource {
    CodeSystem,
    ValueSet,
}

const EXT_BASE: &str = "http://hl7.org/fhir/StructureDefinition/";

/// Concept extensions an expansion reports as member properties, always (asked for or not):
/// (extension name, property code, property URI code, value type).
const EXTENSION_PROPERTIES: [(&str, &str, &str, PropertyKind); 5] = [
    ("codesystem-label", "label", "label", PropertyKind::String),
    ("valueset-label", "label", "label", PropertyKind::String),
    (
        "codesystem-conceptOrder",
        "order",
        "order",
        PropertyKind::Decimal,
    ),
    (
        "valueset-conceptOrder",
        "order",
        "order",
        PropertyKind::Decimal,
    ),
    ("itemWeight", "weight", "itemWeight", PropertyKind::Decimal),
];

/// The standards status of a code system's concept is its `status` property; on a value
/// set's concept it stays an extension (the value set's word, e.g. deprecating a member).
const STANDARDS_STATUS: &str = "structuredefinition-standards-status";

/// Concept extensions an expansion echoes on its members (presentation and the value
/// set's own statements); other extensions, unknown ones included, are not repeated.
const ECHOED_EXTENSIONS: [&str; 5] = [
    "rendering-style",
    "rendering-xhtml",
    "valueset-deprecated",
    "valueset-concept-definition",
    STANDARDS_STATUS,
];

#[derive(Debug, Clone, Copy)]
enum PropertyKind {
    String,
    Decimal,
}

/// The short name of a core FHIR extension (`itemWeight` for its full URL).
fn core_extension_name(ext: &serde_json::Value) -> Option<&str> {
    ext.get("url")?.as_str()?.strip_prefix(EXT_BASE)
}

/// The value of `ext` as a property value of `kind` (a decimal from an integer or decimal).
fn extension_value(ext: &serde_json::Value, kind: PropertyKind) -> Option<PropertyValue> {
    match kind {
        PropertyKind::String => ext
            .get("valueString")
            .and_then(|v| v.as_str())
            .map(|s| PropertyValue::String(s.to_string())),
        PropertyKind::Decimal => ext
            .get("valueDecimal")
            .or_else(|| ext.get("valueInteger"))
            .filter(|v| v.is_number())
            .map(|v| PropertyValue::Decimal(v.to_string())),
    }
}

/// The member properties stated by concept extensions (`label`, `order`, `weight`, and for a
/// code system's concept `status`), each code once (the first stated wins).
pub fn extension_properties(
    extensions: &[serde_json::Value],
    from: ExtensionSource,
) -> Vec<ItemProperty> {
    let mut out: Vec<ItemProperty> = Vec::new();
    for ext in extensions {
        let Some(name) = core_extension_name(ext) else {
            continue;
        };
        let found = if name == STANDARDS_STATUS && from == ExtensionSource::CodeSystem {
            ext.get("valueCode")
                .and_then(|v| v.as_str())
                .map(|s| ("status", "status", PropertyValue::Code(s.to_string())))
        } else {
            EXTENSION_PROPERTIES
                .iter()
                .find(|(n, ..)| *n == name)
                .and_then(|(_, code, uri, kind)| {
                    extension_value(ext, *kind).map(|v| (*code, *uri, v))
                })
        };
        if let Some((code, uri, value)) = found {
            if !out.iter().any(|p| p.code == code) {
                out.push(ItemProperty {
                    code: code.to_string(),
                    uri: Some(format!("{CONCEPT_PROPERTIES}{uri}")),
                    value,
                });
            }
        }
    }
    out
}

/// The concept extensions echoed on an expansion member: those of `ECHOED_EXTENSIONS` not
/// reported as properties instead.
pub fn echoed_extensions(
    extensions: &[serde_json::Value],
    from: ExtensionSource,
) -> impl Iterator<Item = &serde_json::Value> {
    extensions.iter().filter(move |ext| {
        core_extension_name(ext).is_some_and(|name| {
            ECHOED_EXTENSIONS.contains(&name)
                && !(name == STANDARDS_STATUS && from == ExtensionSource::CodeSystem)
        })
    })
}

/// Adds `extra` to `props`, except the properties `props` already reports (by code).
pub fn add_missing(props: &mut Vec<ItemProperty>, extra: Vec<ItemProperty>) {
    for p in extra {
        if !props.iter().any(|q| q.code == p.code) {
            props.push(p);
        }
    }
}

/// The declarations (`expansion.property`) of the properties reported on `items`: each
/// (code, URI) once, in order of first use.
pub fn declarations<'a>(
    items: impl IntoIterator<Item = &'a ItemProperty>,
) -> Vec<(String, Option<String>)> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for p in items {
        if !out.iter().any(|(c, u)| *c == p.code && *u == p.uri) {
            out.push((p.code.clone(), p.uri.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Concept, ConceptProperty, PropertyDef, ResourceMeta};

    fn prop(code: &str, value: PropertyValue) -> ConceptProperty {
        ConceptProperty {
            code: code.into(),
            value,
        }
    }

    fn def(code: &str, uri: Option<&str>, type_: &str) -> PropertyDef {
        PropertyDef {
            code: code.into(),
            uri: uri.map(str::to_string),
            description: None,
            type_: type_.into(),
        }
    }

    /// An SMT-style TRE: a root, and a child with NOS properties and a definition.
    fn tre() -> CodeSystem {
        let root = Concept {
            code: "R".into(),
            display: Some("Racine".into()),
            ..Default::default()
        };
        let child = Concept {
            code: "C1".into(),
            display: Some("Enfant".into()),
            definition: Some("Un concept enfant".into()),
            parents: vec!["R".into()],
            properties: vec![
                prop("status", PropertyValue::Code("active".into())),
                prop("niveau", PropertyValue::Integer(2)),
                prop("rass", PropertyValue::Boolean(true)),
                prop(
                    "dateValid",
                    PropertyValue::DateTime("2024-01-01T00:00:00Z".into()),
                ),
            ],
            ..Default::default()
        };
        let mut cs = CodeSystem::new(
            ResourceMeta {
                url: "https://smt.esante.gouv.fr/terminologie-tre".into(),
                ..Default::default()
            },
            vec![root, child],
        );
        cs.property_defs = vec![
            def(
                "niveau",
                Some("https://smt.esante.gouv.fr/prop#niveau"),
                "integer",
            ),
            def("rass", None, "boolean"),
            def("status", None, "code"),
        ];
        cs.index();
        cs
    }

    fn codes(props: &[ItemProperty]) -> Vec<(&str, String)> {
        props
            .iter()
            .map(|p| (p.code.as_str(), p.value.as_text()))
            .collect()
    }

    fn ask(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn named_properties_come_in_the_order_asked_with_their_uris() {
        let cs = tre();
        let got = requested(&cs, 1, &ask(&["niveau", "status", "definition"]));
        assert_eq!(
            codes(&got),
            vec![
                ("niveau", "2".to_string()),
                ("status", "active".to_string()),
                ("definition", "Un concept enfant".to_string()),
            ]
        );
        assert_eq!(
            got[0].uri.as_deref(),
            Some("https://smt.esante.gouv.fr/prop#niveau")
        );
        // Declared without URI: the standard one for a FHIR property code.
        assert_eq!(
            got[1].uri.as_deref(),
            Some("http://hl7.org/fhir/concept-properties#status")
        );
        assert_eq!(
            got[2].uri.as_deref(),
            Some("http://hl7.org/fhir/concept-properties#definition")
        );
        assert_eq!(got[0].value, PropertyValue::Integer(2));
    }

    #[test]
    fn a_property_is_named_by_its_uri_and_reported_once() {
        let cs = tre();
        let got = requested(
            &cs,
            1,
            &ask(&["https://smt.esante.gouv.fr/prop#niveau", "niveau"]),
        );
        assert_eq!(codes(&got), vec![("niveau", "2".to_string())]);
        let got = requested(
            &cs,
            1,
            &ask(&["http://hl7.org/fhir/concept-properties#definition"]),
        );
        assert_eq!(
            codes(&got),
            vec![("definition", "Un concept enfant".to_string())]
        );
    }

    #[test]
    fn hierarchy_and_inactive_are_properties_of_every_concept() {
        let cs = tre();
        let got = requested(
            &cs,
            0,
            &ask(&["child", "parent", "inactive", "niveau", "definition"]),
        );
        // The root: a child, no parent, not inactive; neither niveau nor definition.
        assert_eq!(
            codes(&got),
            vec![
                ("child", "C1".to_string()),
                ("inactive", "false".to_string())
            ]
        );
        let got = requested(&cs, 1, &ask(&["parent", "unknown"]));
        assert_eq!(codes(&got), vec![("parent", "R".to_string())]);
    }

    #[test]
    fn declarations_list_each_property_once() {
        let cs = tre();
        let mut all = requested(&cs, 1, &ask(&["rass", "niveau"]));
        all.extend(requested(&cs, 1, &ask(&["niveau"])));
        assert_eq!(
            declarations(&all),
            vec![
                ("rass".to_string(), None),
                (
                    "niveau".to_string(),
                    Some("https://smt.esante.gouv.fr/prop#niveau".to_string())
                ),
            ]
        );
    }

    fn ext(name: &str, value: serde_json::Value) -> serde_json::Value {
        let mut e = value;
        e["url"] = serde_json::json!(format!("{EXT_BASE}{name}"));
        e
    }

    /// A TRE concept's extensions, as a NOS publisher would order and label its codes.
    fn tre_concept_extensions() -> Vec<serde_json::Value> {
        use serde_json::json;
        vec![
            ext("codesystem-conceptOrder", json!({"valueInteger": 4})),
            ext("codesystem-label", json!({"valueString": "4."})),
            ext("itemWeight", json!({"valueDecimal": 1.25})),
            ext(
                "structuredefinition-standards-status",
                json!({"valueCode": "deprecated"}),
            ),
            ext("rendering-style", json!({"valueString": "color: red"})),
            json!({"url": "http://example.org/unknown", "valueString": "x"}),
        ]
    }

    #[test]
    fn code_system_concept_extensions_become_properties() {
        let extensions = tre_concept_extensions();
        let got = extension_properties(&extensions, ExtensionSource::CodeSystem);
        assert_eq!(
            codes(&got),
            vec![
                ("order", "4".to_string()),
                ("label", "4.".to_string()),
                ("weight", "1.25".to_string()),
                ("status", "deprecated".to_string()),
            ]
        );
        // The order of an integer extension is a decimal property.
        assert_eq!(got[0].value, PropertyValue::Decimal("4".into()));
        assert_eq!(got[1].value, PropertyValue::String("4.".into()));
        assert_eq!(got[3].value, PropertyValue::Code("deprecated".into()));
        assert_eq!(
            got[2].uri.as_deref(),
            Some("http://hl7.org/fhir/concept-properties#itemWeight")
        );
        // Only the presentation extension is echoed: the others are properties or unknown.
        let echoed: Vec<_> = echoed_extensions(&extensions, ExtensionSource::CodeSystem)
            .filter_map(|e| e["url"].as_str())
            .collect();
        assert_eq!(
            echoed,
            vec!["http://hl7.org/fhir/StructureDefinition/rendering-style"]
        );
    }

    #[test]
    fn a_jdv_concepts_label_and_order_are_properties_its_status_an_extension() {
        use serde_json::json;
        let jdv = vec![
            ext("valueset-label", json!({"valueString": "b)"})),
            ext("valueset-conceptOrder", json!({"valueInteger": 2})),
            ext(
                "structuredefinition-standards-status",
                json!({"valueCode": "withdrawn"}),
            ),
            ext("valueset-deprecated", json!({"valueBoolean": true})),
            // A label without a string value states nothing.
            ext("codesystem-label", json!({"valueInteger": 3})),
        ];
        let got = extension_properties(&jdv, ExtensionSource::ValueSet);
        assert_eq!(
            codes(&got),
            vec![("label", "b)".to_string()), ("order", "2".to_string())]
        );
        let echoed: Vec<_> = echoed_extensions(&jdv, ExtensionSource::ValueSet)
            .filter_map(|e| e["url"].as_str())
            .collect();
        assert_eq!(
            echoed,
            vec![
                "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status",
                "http://hl7.org/fhir/StructureDefinition/valueset-deprecated",
            ]
        );
    }

    #[test]
    fn properties_already_reported_are_not_added_again() {
        let mut props = requested(&tre(), 1, &ask(&["status"]));
        let from_jdv = vec![ItemProperty {
            code: "label".into(),
            uri: None,
            value: PropertyValue::String("b)".into()),
        }];
        add_missing(&mut props, from_jdv);
        add_missing(
            &mut props,
            extension_properties(&tre_concept_extensions(), ExtensionSource::CodeSystem),
        );
        // The asked status and the JDV's label win; order and weight come from the TRE.
        assert_eq!(
            codes(&props),
            vec![
                ("status", "active".to_string()),
                ("label", "b)".to_string()),
                ("order", "4".to_string()),
                ("weight", "1.25".to_string()),
            ]
        );
    }
}
