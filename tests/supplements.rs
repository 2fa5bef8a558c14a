//! CodeSystem supplements over a NOS table: an English supplement of TRE-A08 applies when a
//! request (`useSupplement`) or its value set (`valueset-supplement`) names it, a language
//! pack applies without being named, and a supplement that is unknown, of another system or
//! used as a system is refused.

mod common;
use common::post_json;

use std::fs;
use std::path::PathBuf;

use actix_web::web;
use nosterm::config::AppConfig;
use nosterm::state::AppState;
use serde_json::{json, Value};

const A08: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_A08-HL7Confidentiality/FHIR/TRE-A08-HL7Confidentiality";
const SUP: &str = "http://example.org/fhir/CodeSystem/a08-en";
const LANG_PACK: &str = "http://hl7.org/fhir/StructureDefinition/codesystem-supplement-type";

/// An English supplement of TRE-A08 (`lang_pack`: marked as a language pack).
fn supplement(lang_pack: bool) -> Value {
    let mut cs = json!({
        "resourceType": "CodeSystem", "id": "a08-en", "url": SUP, "version": "1.0",
        "status": "active", "content": "supplement", "supplements": A08,
        "concept": [
            {"code": "N", "designation": [{"language": "en", "value": "Normal (en)"}]},
            {"code": "R", "designation": [{"language": "en", "value": "Restricted", "extension": [
                {"url": "http://hl7.org/fhir/StructureDefinition/coding-sctdescid", "valueId": "4242"}]}],
             "property": [{"code": "rank", "valueInteger": 2}]},
            {"code": "NOPE", "designation": [{"language": "en", "value": "Not in A08"}]}
        ]
    });
    if lang_pack {
        cs["extension"] = json!([{"url": LANG_PACK, "valueCode": "lang-pack"}]);
    }
    cs
}

fn params(list: Value, sup: Option<Value>) -> Value {
    let mut p = list.as_array().cloned().unwrap_or_default();
    if let Some(s) = sup {
        p.push(json!({"name": "tx-resource", "resource": s}));
    }
    json!({"resourceType": "Parameters", "parameter": p})
}

fn all<'a>(p: &'a Value, name: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    p["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |x| x["name"] == name)
}

/// The value of the first parameter `name` (whatever its type).
fn value<'a>(p: &'a Value, name: &'a str) -> Option<&'a Value> {
    all(p, name).next().and_then(|x| {
        x.as_object()?
            .iter()
            .find(|(k, _)| k.starts_with("value"))
            .map(|(_, v)| v)
    })
}

/// Designation values of a `$lookup` answer, with their `source` part if any.
fn designations(p: &Value) -> Vec<(String, Option<String>)> {
    all(p, "designation")
        .map(|d| {
            let part = |n: &str| {
                d["part"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|x| x["name"] == n)
                    .cloned()
            };
            let v = part("value").and_then(|x| x["valueString"].as_str().map(str::to_string));
            let s = part("source").and_then(|x| x["valueCanonical"].as_str().map(str::to_string));
            (v.unwrap_or_default(), s)
        })
        .collect()
}

#[actix_web::test]
async fn lookup_uses_a_supplement_only_when_named() {
    let app = common::start(common::shipped_state()).await;
    let ask = |extra: Value| {
        let mut list = vec![
            json!({"name": "system", "valueUri": A08}),
            json!({"name": "code", "valueCode": "N"}),
            json!({"name": "displayLanguage", "valueCode": "en"}),
        ];
        list.extend(extra.as_array().cloned().unwrap_or_default());
        params(Value::Array(list), Some(supplement(false)))
    };
    let (s, plain) = post_json(&app, "/fhir/CodeSystem/$lookup", ask(json!([]))).await;
    assert_eq!(s, 200, "{plain}");
    assert!(!designations(&plain).iter().any(|d| d.0 == "Normal (en)"));
    assert!(value(&plain, "used-supplement").is_none());

    let named = json!([{"name": "useSupplement", "valueCanonical": SUP}]);
    let (s, b) = post_json(&app, "/fhir/CodeSystem/$lookup", ask(named)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(value(&b, "display"), Some(&json!("Normal (en)")));
    assert!(designations(&b).contains(&("Normal (en)".into(), Some(format!("{SUP}|1.0")))));
    assert_eq!(
        value(&b, "used-supplement"),
        Some(&json!(format!("{SUP}|1.0")))
    );
}

#[actix_web::test]
async fn validate_code_accepts_a_named_supplements_display() {
    let app = common::start(common::shipped_state()).await;
    let ask = |named: bool| {
        let mut list = vec![
            json!({"name": "coding", "valueCoding": {"system": A08, "code": "R", "display": "Restricted"}}),
        ];
        if named {
            list.push(json!({"name": "useSupplement", "valueCanonical": format!("{SUP}|1.0")}));
        }
        params(Value::Array(list), Some(supplement(false)))
    };
    let (s, b) = post_json(&app, "/fhir/CodeSystem/$validate-code", ask(false)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(value(&b, "result"), Some(&json!(false)), "{b}");
    let (s, b) = post_json(&app, "/fhir/CodeSystem/$validate-code", ask(true)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(value(&b, "result"), Some(&json!(true)), "{b}");
}

#[actix_web::test]
async fn expand_uses_the_supplement_its_value_set_names() {
    let app = common::start(common::shipped_state()).await;
    let vs = json!({
        "resourceType": "ValueSet", "url": "http://example.org/fhir/ValueSet/a08-en",
        "status": "active",
        "extension": [{"url": "http://hl7.org/fhir/StructureDefinition/valueset-supplement",
                       "valueCanonical": SUP}],
        "compose": {"include": [{"system": A08}]}
    });
    let body = params(
        json!([
            {"name": "url", "valueUri": "http://example.org/fhir/ValueSet/a08-en"},
            {"name": "includeDesignations", "valueBoolean": true},
            {"name": "tx-resource", "resource": vs}
        ]),
        Some(supplement(false)),
    );
    let (s, b) = post_json(&app, "/fhir/ValueSet/$expand", body).await;
    assert_eq!(s, 200, "{b}");
    let used: Vec<&Value> = b["expansion"]["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == "used-supplement")
        .collect();
    assert_eq!(used.len(), 1, "{b}");
    assert_eq!(used[0]["valueUri"], format!("{SUP}|1.0"));
    let text = b["expansion"]["contains"].to_string();
    assert!(text.contains("Restricted"), "{b}");
    assert!(!text.contains("Not in A08"), "{b}");
}

#[actix_web::test]
async fn unknown_or_misplaced_supplements_are_refused() {
    let app = common::start(common::shipped_state()).await;
    // Unknown: 404 not-found, for lookup and for a value set naming it.
    let body = params(
        json!([
            {"name": "system", "valueUri": A08},
            {"name": "code", "valueCode": "N"},
            {"name": "useSupplement", "valueCanonical": "http://example.org/fhir/CodeSystem/none"}
        ]),
        None,
    );
    let (s, b) = post_json(&app, "/fhir/CodeSystem/$lookup", body).await;
    assert_eq!(s, 404, "{b}");
    assert_eq!(b["issue"][0]["code"], "not-found");
    assert_eq!(b["issue"][0]["details"]["coding"][0]["code"], "not-found");
    assert!(b["issue"][0]["details"]["text"]
        .as_str()
        .unwrap_or("")
        .contains("supplement"));
    // Of another system: 400.
    let body = params(
        json!([
            {"name": "system", "valueUri": "http://example.org/other"},
            {"name": "code", "valueCode": "N"},
            {"name": "useSupplement", "valueCanonical": SUP}
        ]),
        Some(supplement(false)),
    );
    let (s, b) = post_json(&app, "/fhir/CodeSystem/$lookup", body).await;
    assert_eq!(s, 400, "{b}");
    // Used as a Coding.system: not valid, and said why.
    let body = params(
        json!([{"name": "coding", "valueCoding": {"system": SUP, "code": "N"}}]),
        Some(supplement(false)),
    );
    let (s, b) = post_json(&app, "/fhir/CodeSystem/$validate-code", body).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(value(&b, "result"), Some(&json!(false)));
    assert!(value(&b, "message")
        .and_then(Value::as_str)
        .is_some_and(|m| m.contains("is a supplement")));
}

/// A fresh data folder with the shipped tables and an English language pack for TRE-A08.
fn data_with_lang_pack(tag: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("nosterm-supplements-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    for e in fs::read_dir(common::data_dir()).unwrap() {
        let e = e.unwrap();
        if e.path().extension().is_some_and(|x| x == "csv") {
            fs::copy(e.path(), dir.join(e.file_name())).unwrap();
        }
    }
    fs::write(
        dir.join("CodeSystem-a08-en.json"),
        supplement(true).to_string(),
    )
    .unwrap();
    dir
}

#[actix_web::test]
async fn a_stored_language_pack_applies_without_being_named() {
    let dir = data_with_lang_pack("served");
    let state = match AppState::load(&dir, AppConfig::default()) {
        Ok(s) => web::Data::new(s),
        Err(e) => panic!("the data must load: {e:?}"),
    };
    let app = common::start(state).await;
    let body = params(
        json!([
            {"name": "system", "valueUri": A08},
            {"name": "code", "valueCode": "R"},
            {"name": "displayLanguage", "valueCode": "en"}
        ]),
        None,
    );
    let (s, b) = post_json(&app, "/fhir/CodeSystem/$lookup", body).await;
    let _ = fs::remove_dir_all(&dir);
    assert_eq!(s, 200, "{b}");
    assert_eq!(value(&b, "display"), Some(&json!("Restricted")), "{b}");
}

/// The served TRE-A08 concept `code`, after a load that saves (or reads back) a snapshot in
/// `index`.
fn served_after_indexing(data: &std::path::Path, index: &std::path::Path, code: &str) -> String {
    let state = AppState::empty(AppConfig {
        data: Some(data.to_path_buf()),
        index: Some(index.to_path_buf()),
        ..AppConfig::default()
    });
    if let Err(e) =
        nosterm::reload::reload(&state, None, nosterm::reload::SaveSnapshot::BeforeReturning)
    {
        panic!("the data must load: {e}");
    }
    let snap = state.release();
    let cs = snap.catalog.code_systems.get(A08, None);
    format!("{:?}", cs.and_then(|cs| cs.concept(code).cloned()))
}

#[actix_web::test]
async fn a_language_pack_survives_a_snapshot_round_trip_unchanged() {
    let dir = data_with_lang_pack("snapshot");
    let index = dir.with_extension("index");
    let fresh = served_after_indexing(&dir, &index, "R");
    let saved = fs::read_dir(&index).is_ok_and(|mut d| d.next().is_some());
    let read_back = served_after_indexing(&dir, &index, "R");
    let _ = fs::remove_dir_all(&dir);
    let _ = fs::remove_dir_all(&index);
    assert!(saved, "a snapshot must have been saved");
    assert!(
        fresh.contains("Restricted") && fresh.contains("rank"),
        "{fresh}"
    );
    assert_eq!(fresh, read_back);
}
