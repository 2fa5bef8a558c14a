//! Metamorphic test: every `$validate-code`, `$lookup` and `$expand` request of HL7's
//! tx-ecosystem suites (`tests/fixtures/metamorphic/requests.json`, written by
//! `scripts/metamorphic-requests`) is re-sent in each other form that means the same, and must
//! get the same verdict as the form the suite uses:
//!
//! - the subject as `code` + `system` (+ version, display), as a `coding`, and as a
//!   `codeableConcept` holding that one coding;
//! - GET (query string) and POST (`Parameters`) when every parameter is a primitive;
//! - a value set named `url|version` and `url` + `valueSetVersion`.
//!
//! The verdict compared: the HTTP status class; for `$validate-code` the `result` and the
//! highest issue severity; for `$lookup` the display; for `$expand` the total and the members
//! (system, version, code). Issue texts and FHIRPaths legitimately differ between forms
//! (`code` vs `Coding.code` vs `CodeableConcept.coding[0].code`) and are not compared.
//!
//! The one rule by which forms differ, stated once: a `codeableConcept` is reported per coding
//! *and* as a whole, so a coding that is not in the value set adds an informational
//! `this-code-not-in-vs` issue beside the whole concept's error; the highest severity is the same.

mod common;
use common::{get_json, post_json, send, shipped_state, App};

use actix_web::test;
use serde_json::{json, Map, Value};

struct Case {
    name: String,
    operation: String,
    accept_language: Option<String>,
    params: Vec<Value>,
}

fn cases() -> Vec<Case> {
    let path = common::fixture_dir("metamorphic").join("requests.json");
    let file: Value = serde_json::from_slice(&std::fs::read(path).expect("requests.json"))
        .expect("requests.json is JSON");
    let setup = &file["setup"];
    file["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .map(|c| {
            let suite = c["suite"].as_str().unwrap_or_default();
            let mut params: Vec<Value> = c["body"]["parameter"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            params.extend(setup[suite].as_array().cloned().unwrap_or_default());
            Case {
                name: format!("{suite}/{}", c["test"].as_str().unwrap_or_default()),
                operation: c["operation"].as_str().unwrap_or_default().to_string(),
                accept_language: c["accept_language"].as_str().map(str::to_string),
                params,
            }
        })
        .collect()
}

fn value_of(p: &Value) -> Option<(&String, &Value)> {
    p.as_object()?.iter().find(|(k, _)| k.starts_with("value"))
}

fn primitive(p: &Value) -> Option<String> {
    match value_of(p)?.1 {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn find<'a>(params: &'a [Value], name: &str) -> Option<&'a Value> {
    params.iter().find(|p| p["name"] == name)
}

fn without(params: &[Value], names: &[&str]) -> Vec<Value> {
    params
        .iter()
        .filter(|p| !names.iter().any(|n| p["name"] == *n))
        .cloned()
        .collect()
}

fn text_param(name: &str, kind: &str, value: &str) -> Value {
    json!({"name": name, kind: value})
}

/// One coding, as the request states its subject, with the parameter names it came from.
#[derive(Clone, Debug, PartialEq)]
struct Subject {
    coding: Map<String, Value>,
}

/// The names of the code-form parameters at each level.
struct CodeForm {
    system: &'static str,
    version: &'static str,
}

fn code_form(operation: &str) -> CodeForm {
    match operation {
        // `$validate-code` on a ValueSet: `systemVersion` is the code system's version.
        "validate-code" => CodeForm {
            system: "system",
            version: "systemVersion",
        },
        // On a CodeSystem and for `$lookup`: `version` is the code system's version.
        _ => CodeForm {
            system: "system",
            version: "version",
        },
    }
}

/// The subject of a request and the parameters that carry it, when it has exactly one coding.
fn subject(case: &Case) -> Option<(Subject, &'static str)> {
    let form = code_form(&case.operation);
    if let Some(c) = find(&case.params, "coding") {
        let coding = c["valueCoding"].as_object()?.clone();
        return Some((Subject { coding }, "coding"));
    }
    if let Some(cc) = find(&case.params, "codeableConcept") {
        let cc = cc["valueCodeableConcept"].as_object()?;
        let codings = cc.get("coding")?.as_array()?;
        if codings.len() != 1 || cc.contains_key("text") {
            return None;
        }
        let coding = codings[0].as_object()?.clone();
        return Some((Subject { coding }, "codeableConcept"));
    }
    let code = primitive(find(&case.params, "code")?)?;
    let mut coding = Map::new();
    let system = find(&case.params, form.system)
        .and_then(primitive)
        .or_else(|| {
            // On a CodeSystem the system may be given as `url`.
            (case.operation != "validate-code")
                .then(|| find(&case.params, "url").and_then(primitive))
                .flatten()
        });
    coding.insert("system".into(), Value::String(system?));
    if let Some(v) = find(&case.params, form.version).and_then(primitive) {
        coding.insert("version".into(), Value::String(v));
    }
    coding.insert("code".into(), Value::String(code));
    if let Some(d) = find(&case.params, "display").and_then(primitive) {
        coding.insert("display".into(), Value::String(d));
    }
    Some((Subject { coding }, "code"))
}

/// The request with its subject stated in `form` (`code`, `coding` or `codeableConcept`).
fn restated(case: &Case, subject: &Subject, form: &str) -> Option<Vec<Value>> {
    let names = code_form(&case.operation);
    let mut params = without(
        &case.params,
        &[
            "code",
            "system",
            names.version,
            "display",
            "coding",
            "codeableConcept",
        ],
    );
    if case.operation != "validate-code" && find(&case.params, "url").is_some() {
        // A CodeSystem-level `url` naming the system goes with the code form.
        if find(&case.params, "code").is_some() && find(&case.params, "system").is_none() {
            params = without(&params, &["url"]);
        }
    }
    let c = &subject.coding;
    match form {
        "code" => {
            let code = c.get("code")?.as_str()?;
            let system = c.get("system")?.as_str()?;
            params.push(text_param("code", "valueCode", code));
            params.push(text_param("system", "valueUri", system));
            if let Some(v) = c.get("version").and_then(Value::as_str) {
                params.push(text_param(names.version, "valueString", v));
            }
            if let Some(d) = c.get("display").and_then(Value::as_str) {
                params.push(text_param("display", "valueString", d));
            }
        }
        "coding" => params.push(json!({"name": "coding", "valueCoding": c})),
        _ => {
            params.push(json!({"name": "codeableConcept", "valueCodeableConcept": {"coding": [c]}}))
        }
    }
    Some(params)
}

/// `url|version` ↔ `url` + `valueSetVersion`.
fn value_set_version_restated(case: &Case) -> Option<Vec<Value>> {
    if case.operation != "validate-code" && case.operation != "expand" {
        return None;
    }
    let url = find(&case.params, "url").and_then(primitive)?;
    let mut params = without(&case.params, &["url", "valueSetVersion"]);
    match (
        url.split_once('|'),
        find(&case.params, "valueSetVersion").and_then(primitive),
    ) {
        (Some((bare, version)), None) => {
            params.push(text_param("url", "valueUri", bare));
            params.push(text_param("valueSetVersion", "valueString", version));
        }
        (None, Some(version)) => {
            params.push(text_param("url", "valueUri", &format!("{url}|{version}")));
        }
        _ => return None,
    }
    Some(params)
}

fn path_of(operation: &str) -> &'static str {
    match operation {
        "validate-code" => "/fhir/ValueSet/$validate-code",
        "cs-validate-code" => "/fhir/CodeSystem/$validate-code",
        "lookup" => "/fhir/CodeSystem/$lookup",
        _ => "/fhir/ValueSet/$expand",
    }
}

fn query_of(params: &[Value]) -> Option<String> {
    let mut q = Vec::new();
    for p in params {
        let name = p["name"].as_str()?;
        q.push(format!(
            "{}={}",
            common::enc(name),
            common::enc(&primitive(p)?)
        ));
    }
    Some(q.join("&"))
}

async fn ask<S: App>(
    app: &S,
    case: &Case,
    params: &[Value],
    method_get: bool,
) -> Option<(u16, Value)> {
    let path = path_of(&case.operation);
    if method_get {
        let uri = format!("{path}?{}", query_of(params)?);
        if let Some(lang) = &case.accept_language {
            let req = test::TestRequest::get()
                .uri(&uri)
                .insert_header(("accept-language", lang.as_str()))
                .to_request();
            return Some(send(app, req).await);
        }
        return Some(get_json(app, &uri).await);
    }
    let body = json!({"resourceType": "Parameters", "parameter": params});
    if let Some(lang) = &case.accept_language {
        let req = test::TestRequest::post()
            .uri(path)
            .insert_header(("content-type", "application/fhir+json"))
            .insert_header(("accept-language", lang.as_str()))
            .set_payload(body.to_string())
            .to_request();
        return Some(send(app, req).await);
    }
    Some(post_json(app, path, &body).await)
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "fatal" => 4,
        "error" => 3,
        "warning" => 2,
        "information" => 1,
        _ => 0,
    }
}

/// What must not change between forms of one question.
fn verdict(operation: &str, status: u16, body: &Value) -> Value {
    let class = status / 100;
    if class != 2 {
        return json!({"status": class});
    }
    match operation {
        "expand" => {
            fn walk(items: &Value, out: &mut Vec<String>) {
                for c in items.as_array().into_iter().flatten() {
                    if let Some(code) = c["code"].as_str() {
                        out.push(format!(
                            "{}|{}#{code}",
                            c["system"].as_str().unwrap_or(""),
                            c["version"].as_str().unwrap_or("")
                        ));
                    }
                    walk(&c["contains"], out);
                }
            }
            let mut members = Vec::new();
            walk(&body["expansion"]["contains"], &mut members);
            members.sort();
            json!({"status": class, "total": body["expansion"]["total"], "members": members})
        }
        "lookup" => json!({"status": class, "display": common::param_value(body, "display")}),
        _ => {
            let highest = body["parameter"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["name"] == "issues")
                .flat_map(|p| {
                    p["resource"]["issue"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                })
                .filter_map(|i| i["severity"].as_str().map(severity_rank))
                .max()
                .unwrap_or(0);
            json!({
                "status": class,
                "result": common::param_value(body, "result"),
                "highest-severity": highest,
            })
        }
    }
}

#[actix_web::test]
async fn every_form_of_a_question_gets_the_same_verdict() {
    let app = common::start(shipped_state()).await;
    let mut derived = 0;
    let mut differences = Vec::new();
    let mut kinds: std::collections::BTreeMap<String, usize> = Default::default();
    for case in cases() {
        let Some((status, body)) = ask(&app, &case, &case.params, false).await else {
            continue;
        };
        let original = verdict(&case.operation, status, &body);
        let mut variants: Vec<(String, Vec<Value>)> = Vec::new();
        if case.operation != "expand" {
            if let Some((subject, given)) = subject(&case) {
                let forms: &[&str] = if case.operation == "lookup" {
                    &["code", "coding"]
                } else {
                    &["code", "coding", "codeableConcept"]
                };
                for form in forms.iter().filter(|f| **f != given) {
                    if let Some(p) = restated(&case, &subject, form) {
                        variants.push((format!("{given} as {form}"), p));
                    }
                }
            }
        }
        if let Some(p) = value_set_version_restated(&case) {
            variants.push(("url|version vs valueSetVersion".into(), p));
        }
        let mut sent: Vec<(String, Vec<Value>, bool)> = variants
            .into_iter()
            .map(|(what, p)| (what, p, false))
            .collect();
        if query_of(&case.params).is_some() {
            sent.push(("GET instead of POST".into(), case.params.clone(), true));
        }
        for (what, params, method_get) in sent {
            let Some((status, body)) = ask(&app, &case, &params, method_get).await else {
                continue;
            };
            derived += 1;
            *kinds.entry(what.clone()).or_insert(0usize) += 1;
            let got = verdict(&case.operation, status, &body);
            if got != original {
                differences.push(format!("{} ({what}): {original} became {got}", case.name));
            }
        }
    }
    eprintln!("metamorphic: {derived} derived requests: {kinds:?}");
    assert!(derived > 500, "only {derived} derived requests");
    assert!(
        differences.is_empty(),
        "{} of {derived} derived requests changed the verdict:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

/// The same on the shipped NOS JDVs, where the value sets are stored: for each member (and a
/// wrong display, and a code of the same TRE outside the JDV), every combination of type or
/// instance level, URL or OID, `url|version` or `valueSetVersion`, GET or POST, and subject
/// form gets the same verdict.
#[actix_web::test]
async fn nos_questions_get_the_same_verdict_in_every_form() {
    let data = nosterm::load::load_dir(&common::data_dir()).expect("shipped data loads");
    let app = common::start(shipped_state()).await;
    let mut derived = 0;
    let mut differences = Vec::new();
    let mut results = std::collections::BTreeMap::<String, usize>::new();
    for vs in data
        .value_sets
        .iter()
        .filter(|vs| !vs.meta.origin.file.starts_with("svs/"))
    {
        let Some(inc) = vs.compose.include.first() else {
            continue;
        };
        let Some(system) = inc.system.clone() else {
            continue;
        };
        let tre = data.code_systems.iter().find(|cs| cs.meta.url == system);
        let outside = tre.and_then(|cs| {
            cs.concepts
                .iter()
                .find(|c| inc.concept(&c.code).is_none())
                .map(|c| c.code.clone())
        });
        let mut questions: Vec<(String, Option<String>)> = inc
            .concepts
            .iter()
            .take(3)
            .map(|c| (c.code.clone(), c.display.clone()))
            .collect();
        if let Some(first) = inc.concepts.first() {
            questions.push((first.code.clone(), Some("Libellé faux".into())));
        }
        questions.extend(outside.map(|c| (c, None)));
        questions.push(("CODE-INEXISTANT".into(), None));
        let names: Vec<String> = std::iter::once(vs.meta.url.clone())
            .chain(vs.meta.oids.iter().map(|o| format!("urn:oid:{o}")))
            .collect();
        for (code, display) in questions {
            let mut coding = Map::new();
            coding.insert("system".into(), json!(system));
            coding.insert("code".into(), json!(code));
            if let Some(d) = &display {
                coding.insert("display".into(), json!(d));
            }
            let subjects: Vec<Vec<Value>> = vec![
                {
                    let mut p = vec![
                        text_param("code", "valueCode", &code),
                        text_param("system", "valueUri", &system),
                    ];
                    if let Some(d) = &display {
                        p.push(text_param("display", "valueString", d));
                    }
                    p
                },
                vec![json!({"name": "coding", "valueCoding": coding})],
                vec![
                    json!({"name": "codeableConcept", "valueCodeableConcept": {"coding": [coding]}}),
                ],
            ];
            let mut verdicts: Vec<(String, Value)> = Vec::new();
            for (form, subject) in ["code", "coding", "codeableConcept"].iter().zip(&subjects) {
                let mut targets: Vec<(String, String, Vec<Value>)> = Vec::new();
                for url in &names {
                    targets.push((
                        format!("type url={url}"),
                        "/fhir/ValueSet/$validate-code".into(),
                        vec![text_param("url", "valueUri", url)],
                    ));
                    if let Some(v) = &vs.meta.version {
                        targets.push((
                            format!("type url={url}|{v}"),
                            "/fhir/ValueSet/$validate-code".into(),
                            vec![text_param("url", "valueUri", &format!("{url}|{v}"))],
                        ));
                        targets.push((
                            format!("type url={url} valueSetVersion={v}"),
                            "/fhir/ValueSet/$validate-code".into(),
                            vec![
                                text_param("url", "valueUri", url),
                                text_param("valueSetVersion", "valueString", v),
                            ],
                        ));
                    }
                }
                targets.push((
                    format!("instance {}", vs.meta.id),
                    format!("/fhir/ValueSet/{}/$validate-code", vs.meta.id),
                    Vec::new(),
                ));
                for (target, path, mut params) in targets {
                    params.extend(subject.iter().cloned());
                    let body = json!({"resourceType": "Parameters", "parameter": params});
                    let (status, answer) = post_json(&app, &path, &body).await;
                    verdicts.push((
                        format!("{form} {target} POST"),
                        verdict("validate-code", status, &answer),
                    ));
                    if let Some(q) = query_of(&params) {
                        let (status, answer) = get_json(&app, &format!("{path}?{q}")).await;
                        verdicts.push((
                            format!("{form} {target} GET"),
                            verdict("validate-code", status, &answer),
                        ));
                    }
                }
            }
            let (first_form, first) = &verdicts[0];
            *results.entry(first.to_string()).or_default() += 1;
            for (form, v) in &verdicts[1..] {
                derived += 1;
                if v != first {
                    differences.push(format!(
                        "{}#{code} in {}: {first_form} gave {first}, {form} gave {v}",
                        system, vs.meta.url
                    ));
                }
            }
        }
    }
    eprintln!("metamorphic (NOS): {derived} derived requests; verdicts {results:?}");
    assert!(derived > 1000, "only {derived} derived requests");
    assert!(results.len() >= 2, "the questions do not vary: {results:?}");
    assert!(
        differences.is_empty(),
        "{} of {derived} derived requests changed the verdict:\n{}",
        differences.len(),
        differences[..differences.len().min(40)].join("\n")
    );
}
