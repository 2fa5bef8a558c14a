//! CapabilityStatement (`/metadata`) and TerminologyCapabilities (`/metadata?mode=terminology`).

use serde_json::{json, Value};

use crate::catalog::Catalog;

pub const SOFTWARE: &str = "nosterm";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Version of the HL7 tx-ecosystem test suite this server is checked against.
pub const TX_TEST_VERSION: &str = "1.9.0";
/// Date of this build's capability statement (the crate carries no build timestamp).
pub const RELEASE_DATE: &str = "2026-11-23";

fn op(name: &str) -> Value {
    json!({"name": name, "definition": format!("http://hl7.org/fhir/OperationDefinition/{}", op_definition(name))})
}

fn op_definition(name: &str) -> String {
    match name {
        "lookup" | "subsumes" => format!("CodeSystem-{name}"),
        "validate-code" => "ValueSet-validate-code".into(),
        "expand" => "ValueSet-expand".into(),
        "translate" => "ConceptMap-translate".into(),
        other => other.to_string(),
    }
}

fn search_params() -> Value {
    json!([
        {"name": "url", "type": "uri"},
        {"name": "version", "type": "token"},
        {"name": "identifier", "type": "token"},
        {"name": "name", "type": "string"},
        {"name": "title", "type": "string"},
        {"name": "status", "type": "token"},
        {"name": "_summary", "type": "token"},
        {"name": "_count", "type": "number"}
    ])
}

pub fn capability_statement(base: &str) -> Value {
    let read_search = json!([{"code": "read"}, {"code": "search-type"}]);
    json!({
        "resourceType": "CapabilityStatement",
        "id": "nosterm",
        "extension": [
            {"url": "http://hl7.org/fhir/uv/application-feature/StructureDefinition/feature",
             "extension": [
                {"url": "definition", "valueCanonical": "http://hl7.org/fhir/uv/tx-tests/FeatureDefinition/test-version"},
                {"url": "value", "valueCode": TX_TEST_VERSION}]},
            {"url": "http://hl7.org/fhir/uv/application-feature/StructureDefinition/feature",
             "extension": [
                {"url": "definition", "valueCanonical": "http://hl7.org/fhir/uv/tx-ecosystem/FeatureDefinition/CodeSystemAsParameter"},
                {"url": "value", "valueBoolean": true}]}
        ],
        "url": format!("{base}/metadata"),
        "version": VERSION,
        "name": "nosterm",
        "title": "nosterm FHIR terminology server for the French NOS",
        "status": "active",
        "date": RELEASE_DATE,
        "publisher": "nosterm",
        "kind": "instance",
        "instantiates": ["http://hl7.org/fhir/CapabilityStatement/terminology-server"],
        "software": {"name": SOFTWARE, "version": VERSION, "releaseDate": RELEASE_DATE},
        "implementation": {"description": "nosterm", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "resource": [
                {"type": "CodeSystem", "interaction": read_search, "searchParam": search_params(),
                 "operation": [op("lookup"), op("validate-code"), op("subsumes")]},
                {"type": "ConceptMap", "interaction": read_search, "searchParam": search_params(),
                 "operation": [op("translate")]},
                {"type": "ValueSet", "interaction": read_search, "searchParam": search_params(),
                 "operation": [op("expand"), op("validate-code")]}
            ],
            "operation": [op("versions")]
        }]
    })
}

pub fn terminology_capabilities(base: &str, catalog: &Catalog) -> Value {
    let mut systems: Vec<Value> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for cs in catalog.code_systems.all() {
        if !seen.insert(cs.meta.url.clone()) {
            continue;
        }
        let versions: Vec<Value> = catalog
            .code_systems
            .versions(&cs.meta.url)
            .iter()
            .map(|v| match &v.meta.version {
                Some(ver) => json!({"code": ver}),
                None => json!({}),
            })
            .collect();
        systems.push(json!({"uri": cs.meta.url, "version": versions}));
    }
    let params = [
        "activeOnly",
        "check-system-version",
        "count",
        "displayLanguage",
        "excludeNested",
        "filter",
        "force-system-version",
        "includeDefinition",
        "includeDesignations",
        "offset",
        "property",
        "system-version",
        "tx-resource",
        "useSupplement",
    ];
    json!({
        "resourceType": "TerminologyCapabilities",
        "id": "nosterm",
        "url": format!("{base}/metadata?mode=terminology"),
        "version": VERSION,
        "name": "nosterm",
        "title": "nosterm terminology capabilities",
        "status": "active",
        "date": RELEASE_DATE,
        "kind": "instance",
        "software": {"name": SOFTWARE, "version": VERSION},
        "codeSystem": systems,
        "expansion": {
            "hierarchical": false,
            "paging": true,
            "parameter": params.iter().map(|p| json!({"name": p})).collect::<Vec<_>>()
        },
        "validateCode": {"translations": false},
        "translation": {"needsMap": false}
    })
}
