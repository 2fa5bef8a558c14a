//! Concept extensions in expansions: a NOS-shaped TRE whose concepts carry
//! `codesystem-conceptOrder`, `codesystem-label`, `itemWeight` and a standards status, and a
//! JDV listing some of them with its own `valueset-label` / `valueset-conceptOrder`. The
//! expansion reports them as member properties (declared once), asked for or not; the value
//! set's word wins over the code system's; unknown extensions are not echoed.

mod common;

use std::fs;
use std::path::PathBuf;

use serde_json::{json, Value};

const TRE: &str = "https://mos.esante.gouv.fr/NOS/TRE_X99-Essai/FHIR/TRE-X99-Essai";
const JDV: &str = "https://mos.esante.gouv.fr/NOS/JDV_X99-Essai/FHIR/JDV-X99-Essai";
const SD: &str = "http://hl7.org/fhir/StructureDefinition/";
const CONTAINS_PROPERTY: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.contains.property";
const EXPANSION_PROPERTY: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.property";

fn ext(name: &str, value: Value) -> Value {
    let mut e = value;
    e["url"] = json!(format!("{SD}{name}"));
    e
}

fn tre() -> Value {
    json!({
        "resourceType": "CodeSystem", "id": "TRE-X99-Essai", "url": TRE, "version": "1",
        "status": "active", "content": "complete", "hierarchyMeaning": "is-a",
        "concept": [{
            "code": "R", "display": "Racine",
            "extension": [ext("codesystem-conceptOrder", json!({"valueInteger": 3}))],
            "concept": [{
                "code": "A", "display": "Alpha",
                "designation": [{"language": "en", "value": "Alpha (en)"}],
                "extension": [
                    ext("codesystem-conceptOrder", json!({"valueInteger": 1})),
                    ext("codesystem-label", json!({"valueString": "1."})),
                    ext("itemWeight", json!({"valueDecimal": 0.5}))
                ]
            }, {
                "code": "B", "display": "Beta",
                "extension": [
                    ext("codesystem-conceptOrder", json!({"valueInteger": 2})),
                    ext("structuredefinition-standards-status", json!({"valueCode": "deprecated"})),
                    ext("rendering-style", json!({"valueString": "font-style: italic"})),
                    {"url": "http://example.org/unknown", "valueString": "not echoed"}
                ]
            }]
        }]
    })
}

fn jdv() -> Value {
    json!({
        "resourceType": "ValueSet", "id": "JDV-X99-Essai", "url": JDV, "version": "1",
        "status": "active",
        "extension": [{"url": "http://example.org/jdv-note", "valueString": "publiée"}],
        "compose": {"include": [{"system": TRE, "concept": [
            {"code": "A",
             "designation": [{"language": "fr", "value": "Alpha du JDV"},
                             {"language": "en", "value": "Alpha (en)"}],
             "extension": [
                ext("valueset-label", json!({"valueString": "a)"})),
                ext("valueset-conceptOrder", json!({"valueInteger": 10})),
                {"url": "http://example.org/unknown", "valueString": "not echoed"}
            ]},
            {"code": "B", "extension": [
                ext("structuredefinition-standards-status", json!({"valueCode": "withdrawn"}))
            ]}
        ]}]}
    })
}

/// A data folder holding only the TRE and the JDV.
fn data(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nosterm-expext-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("temp dir");
    fs::write(dir.join("CodeSystem-TRE-X99.json"), tre().to_string()).expect("write TRE");
    fs::write(dir.join("ValueSet-JDV-X99.json"), jdv().to_string()).expect("write JDV");
    dir
}

/// Per member code: its reported properties as (code, value as text), sorted.
fn member_properties(vs: &Value) -> Vec<(String, Vec<(String, String)>)> {
    let mut out = Vec::new();
    for c in vs["expansion"]["contains"].as_array().into_iter().flatten() {
        let mut props: Vec<(String, String)> = c["extension"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["url"] == CONTAINS_PROPERTY)
            .map(|e| {
                let code = e["extension"][0]["valueCode"]
                    .as_str()
                    .unwrap_or("")
                    .to_string();
                let v = e["extension"][1]
                    .as_object()
                    .and_then(|o| o.iter().find(|(k, _)| k.starts_with("value")))
                    .map(|(k, v)| format!("{k}={v}"))
                    .unwrap_or_default();
                (code, v)
            })
            .collect();
        props.sort();
        out.push((c["code"].as_str().unwrap_or("").to_string(), props));
    }
    out.sort();
    out
}

/// Per member code: the URLs of the extensions echoed (property extensions aside), sorted.
fn member_extensions(vs: &Value) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for c in vs["expansion"]["contains"].as_array().into_iter().flatten() {
        let mut urls: Vec<String> = c["extension"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| e["url"] != CONTAINS_PROPERTY)
            .filter_map(|e| e["url"].as_str().map(str::to_string))
            .collect();
        urls.sort();
        out.push((c["code"].as_str().unwrap_or("").to_string(), urls));
    }
    out.sort();
    out
}

fn declared(vs: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vs["expansion"]["extension"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["url"] == EXPANSION_PROPERTY)
        .map(|e| {
            let part = |n: &str| {
                e["extension"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|p| p["url"] == n)
                    .and_then(|p| p.get("valueCode").or_else(|| p.get("valueUri")))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            (part("code"), part("uri"))
        })
        .collect();
    out.sort();
    out
}

fn p(code: &str, v: &str) -> (String, String) {
    (code.to_string(), v.to_string())
}

/// The stored JDV by GET: its label and order win over the TRE's, the TRE's weight and
/// status still come; the TRE's standards status is a property, the JDV's stays an extension.
#[actix_web::test]
async fn stored_jdv_reports_concept_extensions_as_properties() {
    let dir = data("jdv");
    let app = common::start(common::state_of(&dir)).await;
    let (s, vs) = common::get_json(
        &app,
        &format!("/fhir/ValueSet/$expand?url={}", common::enc(JDV)),
    )
    .await;
    let _ = fs::remove_dir_all(&dir);
    assert_eq!(s, 200, "{vs}");
    assert_eq!(
        member_properties(&vs),
        vec![
            (
                "A".to_string(),
                vec![
                    p("label", "valueString=\"a)\""),
                    p("order", "valueDecimal=10"),
                    p("weight", "valueDecimal=0.5"),
                ]
            ),
            (
                "B".to_string(),
                vec![
                    p("order", "valueDecimal=2"),
                    p("status", "valueCode=\"deprecated\"")
                ]
            ),
        ]
    );
    assert_eq!(
        member_extensions(&vs),
        vec![
            ("A".to_string(), vec![]),
            (
                "B".to_string(),
                vec![
                    format!("{SD}rendering-style"),
                    format!("{SD}structuredefinition-standards-status"),
                ]
            ),
        ]
    );
    let base = "http://hl7.org/fhir/concept-properties#";
    assert_eq!(
        declared(&vs),
        vec![
            p("label", &format!("{base}label")),
            p("order", &format!("{base}order")),
            p("status", &format!("{base}status")),
            p("weight", &format!("{base}itemWeight")),
        ]
    );
}

/// A value set selecting the TRE by an is-a filter (posted as a tx-resource): the members
/// carry the TRE's extension properties without any `property` parameter.
#[actix_web::test]
async fn filtered_include_reports_the_code_systems_extension_properties() {
    let dir = data("filter");
    let app = common::start(common::state_of(&dir)).await;
    let vs = json!({
        "resourceType": "ValueSet", "url": "http://example.org/fhir/ValueSet/x99-sous-racine",
        "status": "active",
        "compose": {"include": [{"system": TRE,
            "filter": [{"property": "concept", "op": "descendent-of", "value": "R"}]}]}
    });
    let (s, out) = common::post_json(
        &app,
        "/fhir/ValueSet/$expand",
        &json!({"resourceType": "Parameters", "parameter": [
            {"name": "url", "valueUri": "http://example.org/fhir/ValueSet/x99-sous-racine"},
            {"name": "tx-resource", "resource": vs}
        ]}),
    )
    .await;
    let _ = fs::remove_dir_all(&dir);
    assert_eq!(s, 200, "{out}");
    assert_eq!(
        member_properties(&out),
        vec![
            (
                "A".to_string(),
                vec![
                    p("label", "valueString=\"1.\""),
                    p("order", "valueDecimal=1"),
                    p("weight", "valueDecimal=0.5"),
                ]
            ),
            (
                "B".to_string(),
                vec![
                    p("order", "valueDecimal=2"),
                    p("status", "valueCode=\"deprecated\"")
                ]
            ),
        ]
    );
    assert_eq!(
        member_extensions(&out),
        vec![
            ("A".to_string(), vec![]),
            ("B".to_string(), vec![format!("{SD}rendering-style")]),
        ]
    );
}

/// The JDV's designations add to the TRE's (each once), they do not replace them.
#[actix_web::test]
async fn jdv_designations_add_to_the_code_systems() {
    let dir = data("designations");
    let app = common::start(common::state_of(&dir)).await;
    let (s, vs) = common::get_json(
        &app,
        &format!(
            "/fhir/ValueSet/$expand?url={}&includeDesignations=true",
            common::enc(JDV)
        ),
    )
    .await;
    let _ = fs::remove_dir_all(&dir);
    assert_eq!(s, 200, "{vs}");
    let a = vs["expansion"]["contains"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["code"] == "A")
        .expect("A in the expansion");
    let values: Vec<&str> = a["designation"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d["value"].as_str())
        .collect();
    assert_eq!(values, ["Alpha (en)", "Alpha du JDV"], "{a}");
}

/// The JDV's own extensions are part of its definition: they come with `includeDefinition`
/// (as its `compose` does), not otherwise.
#[actix_web::test]
async fn jdv_extensions_come_with_its_definition() {
    let dir = data("definition");
    let app = common::start(common::state_of(&dir)).await;
    let ask = |definition: bool| {
        format!(
            "/fhir/ValueSet/$expand?url={}&includeDefinition={definition}",
            common::enc(JDV)
        )
    };
    let (s, with) = common::get_json(&app, &ask(true)).await;
    let (s2, without) = common::get_json(&app, &ask(false)).await;
    let _ = fs::remove_dir_all(&dir);
    assert_eq!((s, s2), (200, 200), "{with} {without}");
    assert_eq!(with["extension"][0]["url"], "http://example.org/jdv-note");
    assert!(with["compose"].is_object(), "{with}");
    assert!(without.get("extension").is_none(), "{without}");
    assert!(without.get("compose").is_none(), "{without}");
}
