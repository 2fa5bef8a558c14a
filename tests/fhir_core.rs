//! The built-in FHIR R4 core terminology (issue 30): loaded under the data folder by the same
//! reload `serve` runs, the data winning on a clash, and left out with `--no-fhir-core`.

mod common;

use actix_web::web;
use common::*;
use nosterm::config::AppConfig;
use nosterm::reload::{reload, SaveSnapshot};
use nosterm::state::AppState;
use serde_json::{json, Value};

/// A server state over `dir` as `serve` loads it (no index folder), with or without the core.
fn served(dir: &std::path::Path, fhir_core: bool) -> web::Data<AppState> {
    let state = AppState::empty(AppConfig {
        data: Some(dir.to_path_buf()),
        fhir_core,
        ..AppConfig::default()
    });
    if let Err(e) = reload(&state, None, SaveSnapshot::InBackground) {
        panic!("{} must load: {e:?}", dir.display());
    }
    web::Data::new(state)
}

fn expand_uri(url: &str) -> String {
    format!("/fhir/ValueSet/$expand?url={}", enc(url))
}

const TRE_A08: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_A08-HL7Confidentiality/FHIR/TRE-A08-HL7Confidentiality";

#[actix_web::test]
async fn fhir_core_value_sets_and_code_systems_answer_beside_the_nos() {
    let app = start(served(&data_dir(), true)).await;

    // A plain FHIR value set.
    let (status, vs) = get_fhir(
        &app,
        &expand_uri("http://hl7.org/fhir/ValueSet/observation-status"),
    )
    .await;
    assert_eq!(status, 200, "{vs}");
    let got = codes(&vs);
    for code in ["registered", "preliminary", "final", "amended"] {
        assert!(got.contains(&code.to_string()), "{got:?}");
    }

    // One that imports a v2 table's value set and adds a concept of another system.
    let (status, vs) = get_fhir(
        &app,
        &expand_uri("http://hl7.org/fhir/ValueSet/yesnodontknow"),
    )
    .await;
    assert_eq!(status, 200, "{vs}");
    assert_eq!(codes(&vs), vec!["N", "Y", "asked-unknown"]);

    // One defined by an is-a filter on a v3 code system, its abstract root excluded.
    let (status, vs) = get_fhir(
        &app,
        &expand_uri("http://terminology.hl7.org/ValueSet/v3-ActEncounterCode"),
    )
    .await;
    assert_eq!(status, 200, "{vs}");
    let got = codes(&vs);
    assert!(got.contains(&"AMB".to_string()) && got.contains(&"IMP".to_string()));
    assert!(!got.contains(&"_ActEncounterCode".to_string()), "{got:?}");

    // A Condition.clinicalStatus code, right and wrong.
    let validate = |code: &str| {
        format!(
            "/fhir/ValueSet/$validate-code?url={}&system={}&code={code}",
            enc("http://hl7.org/fhir/ValueSet/condition-clinical"),
            enc("http://terminology.hl7.org/CodeSystem/condition-clinical")
        )
    };
    let (status, p) = get_fhir(&app, &validate("active")).await;
    assert_eq!(status, 200);
    assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{p}");
    assert_eq!(param_value(&p, "display"), Some(&json!("Active")));
    let (_, p) = get_fhir(&app, &validate("healed")).await;
    assert_eq!(param_value(&p, "result"), Some(&json!(false)), "{p}");

    // The NOS keep their OIDs: TRE_A08 answers for the OID HL7's v3 Confidentiality also
    // carries, which stays reachable by its own URL.
    let (_, p) = get_fhir(
        &app,
        "/fhir/CodeSystem/$lookup?system=urn:oid:2.16.840.1.113883.5.25&code=N",
    )
    .await;
    assert_eq!(param_value(&p, "system"), Some(&json!(TRE_A08)), "{p}");
    let (_, p) = get_fhir(
        &app,
        &format!(
            "/fhir/CodeSystem/$lookup?system={}&code=N",
            enc("http://terminology.hl7.org/CodeSystem/v3-Confidentiality")
        ),
    )
    .await;
    assert_eq!(param_value(&p, "display"), Some(&json!("normal")), "{p}");
}

/// IHE SVS serves the data folder's value sets; the core's, named by URL and often not
/// expressible in SVS (code systems without OID, SNOMED CT or LOINC content), are unknown to
/// it, even by their OID.
#[actix_web::test]
async fn svs_serves_the_data_folder_not_the_core() {
    let app = start(served(&data_dir(), true)).await;
    let core = nosterm::load::fhir_core::dataset().expect("core");
    let vs = core
        .value_sets
        .iter()
        .find(|v| v.meta.url == "http://hl7.org/fhir/ValueSet/observation-status")
        .expect("observation-status");
    let oid = vs.meta.oids.first().expect("an OID");
    let resp =
        actix_web::test::call_service(&app, get(&format!("/svs/RetrieveValueSet?id={oid}"))).await;
    assert_eq!(resp.status().as_u16(), 404);
    let body = actix_web::test::read_body(resp).await;
    assert!(String::from_utf8_lossy(&body).contains("NAV"));
    // J07 (XdsTypeCode), from the data folder, is served.
    let resp = actix_web::test::call_service(
        &app,
        get("/svs/RetrieveValueSet?id=1.2.250.1.213.1.1.5.471"),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 200);
}

#[actix_web::test]
async fn the_data_folder_wins_over_the_core_and_can_serve_alone() {
    let dir = TempDir::new("fhir-core-clash");
    let own: Value = json!({"resourceType": "CodeSystem", "id": "own-observation-status",
        "url": "http://hl7.org/fhir/observation-status", "version": "local", "status": "active",
        "content": "complete", "concept": [{"code": "local-only", "display": "Local"}]});
    dir.write("CodeSystem-own.json", own.to_string());

    let app = start(served(&dir.0, true)).await;
    let (status, vs) = get_fhir(
        &app,
        &expand_uri("http://hl7.org/fhir/ValueSet/observation-status"),
    )
    .await;
    assert_eq!(status, 200, "{vs}");
    // The core's value set, over the data folder's code system of that URL.
    assert_eq!(codes(&vs), vec!["local-only"]);
    let (_, p) = get_fhir(
        &app,
        "/fhir/CodeSystem/$lookup?system=http://hl7.org/fhir/observation-status&code=final",
    )
    .await;
    assert_eq!(p["resourceType"], "OperationOutcome", "{p}");

    let alone = start(served(&dir.0, false)).await;
    let (status, outcome) = get_fhir(
        &alone,
        &expand_uri("http://hl7.org/fhir/ValueSet/observation-status"),
    )
    .await;
    assert_eq!(status, 404, "{outcome}");
    assert_outcome(&outcome, "not-found");
}
