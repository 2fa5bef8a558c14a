//! Integration tests: the real HTTP app, in-process, on the shipped data, speaking FHIR JSON.

mod common;
use common::{assert_outcome, enc, get_fhir, issue_codes, param_value, post_json};

use actix_web::test;
use serde_json::{json, Value};

const A08: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_A08-HL7Confidentiality/FHIR/TRE-A08-HL7Confidentiality";
const A08_OID: &str = "2.16.840.1.113883.5.25";
const A07: &str = "https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/TRE-A07-StatutVisibiliteDocument";
const R02: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R02-SecteurActivite/FHIR/TRE-R02-SecteurActivite";
const R94: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R94-ProfessionSocial/FHIR/TRE-R94-ProfessionSocial";
const A03: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_A03-ClasseDocument/FHIR/TRE-A03-ClasseDocument";
const J02: &str = "https://mos.esante.gouv.fr/NOS/JDV_J02-XdsHealthcareFacilityTypeCode-CISIS/FHIR/JDV-J02-XdsHealthcareFacilityTypeCode-CISIS";
const J07: &str =
    "https://mos.esante.gouv.fr/NOS/JDV_J07-XdsTypeCode-CISIS/FHIR/JDV-J07-XdsTypeCode-CISIS";
const J07_OID: &str = "1.2.250.1.213.1.1.5.471";
const J08: &str = "https://mos.esante.gouv.fr/NOS/JDV_J08-XdsConfidentialityCode-CISIS/FHIR/JDV-J08-XdsConfidentialityCode-CISIS";
const A04: &str = "https://mos.esante.gouv.fr/NOS/TRE_A04-Loinc/FHIR/TRE-A04-Loinc";

macro_rules! app {
    () => {
        common::start(common::shipped_state()).await
    };
}

#[actix_web::test]
async fn valid_code_by_url_and_by_oid() {
    let app = app!();
    for system in [
        A08.to_string(),
        format!("urn:oid:{A08_OID}"),
        A08_OID.to_string(),
    ] {
        let (s, p) = get_fhir(
            &app,
            &format!(
                "/fhir/CodeSystem/$validate-code?url={}&code=R",
                enc(&system)
            ),
        )
        .await;
        assert_eq!(s, 200, "{p}");
        assert_eq!(
            param_value(&p, "result"),
            Some(&json!(true)),
            "{system}: {p}"
        );
        assert_eq!(param_value(&p, "display"), Some(&json!("Restreint")));
        assert_eq!(param_value(&p, "code"), Some(&json!("R")));
    }
}

#[actix_web::test]
async fn unknown_code_is_false_with_invalid_code_issue() {
    let app = app!();
    let (s, p) = get_fhir(
        &app,
        &format!("/fhir/CodeSystem/$validate-code?url={}&code=X", enc(A08)),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(param_value(&p, "result"), Some(&json!(false)));
    assert!(param_value(&p, "message")
        .unwrap()
        .as_str()
        .unwrap()
        .contains("Unknown code 'X'"));
    assert_eq!(issue_codes(&p), vec!["invalid-code"]);
}

#[actix_web::test]
async fn wrong_display_names_the_valid_one_and_lenient_warns() {
    let app = app!();
    let uri = format!(
        "/fhir/CodeSystem/$validate-code?url={}&code=V&display=Secret",
        enc(A08)
    );
    let (_, p) = get_fhir(&app, &uri).await;
    assert_eq!(param_value(&p, "result"), Some(&json!(false)));
    let msg = param_value(&p, "message").unwrap().as_str().unwrap();
    assert!(
        msg.contains("Très restreint") && msg.contains("Secret"),
        "{msg}"
    );
    assert_eq!(issue_codes(&p), vec!["invalid-display"]);

    let (_, p) = get_fhir(&app, &format!("{uri}&lenient-display-validation=true")).await;
    assert_eq!(param_value(&p, "result"), Some(&json!(true)));
    assert_eq!(issue_codes(&p), vec!["invalid-display"]);
}

#[actix_web::test]
async fn designation_is_an_accepted_display() {
    let app = app!();
    let (_, p) = get_fhir(
        &app,
        &format!(
            "/fhir/CodeSystem/$validate-code?url={}&code=SA02&display={}",
            enc(R02),
            enc("Hôp militaire SSA")
        ),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{p}");
    assert_eq!(
        param_value(&p, "display"),
        Some(&json!("Hôpital militaire du Service de santé des armées"))
    );
}

#[actix_web::test]
async fn retired_code_is_valid_and_flagged_inactive() {
    let app = app!();
    let (_, p) = get_fhir(
        &app,
        &format!("/fhir/CodeSystem/$validate-code?url={}&code=200", enc(R94)),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{p}");
    assert_eq!(param_value(&p, "inactive"), Some(&json!(true)));
    let (_, p) = get_fhir(
        &app,
        &format!(
            "/fhir/CodeSystem/$validate-code?url={}&code=200&activeOnly=true",
            enc(R94)
        ),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(false)), "{p}");
}

#[actix_web::test]
async fn jdv_membership_by_url_and_oid_get_and_post() {
    let app = app!();
    // A member of J08 taken from TRE_A07, by URL.
    let (_, p) = get_fhir(
        &app,
        &format!(
            "/fhir/ValueSet/$validate-code?url={}&system={}&code=INVISIBLE_PATIENT",
            enc(J08),
            enc(A07)
        ),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{p}");
    // A code of TRE_A08 that is in J08, system by OID.
    let (_, p) = get_fhir(
        &app,
        &format!(
            "/fhir/ValueSet/$validate-code?url={}&system=urn:oid:{A08_OID}&code=N",
            enc(J08)
        ),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{p}");
    // A valid TRE_A03 code that is not in J07: not in the value set.
    let (_, p) = post_json(
        &app,
        "/fhir/ValueSet/$validate-code",
        json!({"resourceType":"Parameters","parameter":[
            {"name":"url","valueUri": format!("urn:oid:{J07_OID}")},
            {"name":"coding","valueCoding":{"system": A03, "code":"10"}}]}),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(false)), "{p}");
    assert!(issue_codes(&p).contains(&"not-in-vs".to_string()));
    // A LOINC member of J07 (TRE_A04 is declared but not shipped): the JDV decides.
    let (_, p) = post_json(
        &app,
        "/fhir/ValueSet/$validate-code",
        json!({"resourceType":"Parameters","parameter":[
            {"name":"url","valueUri": J07},
            {"name":"coding","valueCoding":{"system": A04, "code":"11490-0",
              "display":"Lettre de liaison à la sortie d'un établissement de soins"}}]}),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{p}");
}

#[actix_web::test]
async fn jdv_label_and_tre_label_are_both_accepted() {
    let app = app!();
    for display in [
        "Structure d'urgence hors établissement hospitalier",
        "Permanence de soins ambulatoires hors cabinet",
    ] {
        let (_, p) = get_fhir(
            &app,
            &format!(
                // The 2023 J02 (the 2024 SVS version has other labels).
                "/fhir/ValueSet/$validate-code?url={}&valueSetVersion=0.1.0&system={}&code=SA50&display={}",
                enc(J02),
                enc(R02),
                enc(display)
            ),
        )
        .await;
        assert_eq!(
            param_value(&p, "result"),
            Some(&json!(true)),
            "{display}: {p}"
        );
    }
    let (_, p) = get_fhir(
        &app,
        &format!(
            "/fhir/ValueSet/$validate-code?url={}&valueSetVersion=0.1.0&system={}&code=SA50&display=Boulangerie",
            enc(J02),
            enc(R02)
        ),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(false)), "{p}");
}

#[actix_web::test]
async fn lookup_gives_designations_and_properties() {
    let app = app!();
    let (s, p) = get_fhir(
        &app,
        &format!("/fhir/CodeSystem/$lookup?system=urn:oid:{A08_OID}&code=V"),
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(param_value(&p, "display"), Some(&json!("Très restreint")));
    assert_eq!(
        param_value(&p, "name"),
        Some(&json!("TRE_A08-HL7Confidentiality"))
    );
    let uses: Vec<&str> = p["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["name"] == "designation")
        .filter_map(|d| {
            d["part"].as_array()?.iter().find(|x| x["name"] == "use")?["valueCoding"]["code"]
                .as_str()
        })
        .collect();
    assert_eq!(
        uses,
        vec!["LibelleCourt", "LibelleAdapte", "DescriptionMetier"]
    );
    let props: Vec<&str> = p["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["name"] == "property")
        .filter_map(|d| d["part"][0]["valueCode"].as_str())
        .collect();
    assert!(
        props.contains(&"dateValid") && props.contains(&"dateMaj") && props.contains(&"inactive"),
        "{props:?}"
    );
}

#[actix_web::test]
async fn translate_document_type_to_class() {
    let app = app!();
    let (s, p) = get_fhir(
        &app,
        "/fhir/ConceptMap/$translate?system=http://loinc.org&code=10213-7",
    )
    .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{p}");
    let m = p["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "match")
        .unwrap();
    let concept = m["part"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "concept")
        .unwrap();
    assert_eq!(concept["valueCoding"]["system"], A03);
    assert_eq!(concept["valueCoding"]["code"], "10");
    let origin = m["part"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "originMap")
        .unwrap();
    assert!(origin["valueCanonical"]
        .as_str()
        .unwrap()
        .contains("ASS_X04"));
}

#[actix_web::test]
async fn expand_pages_and_counts() {
    let app = app!();
    let (s, vs) = get_fhir(
        &app,
        // The 2023 J07 (93 members); the 2024 SVS version is the newest.
        &format!(
            "/fhir/ValueSet/$expand?url={}&count=10&offset=5",
            enc(&format!("{J07}|0.1.0"))
        ),
    )
    .await;
    assert_eq!(s, 200, "{vs}");
    assert_eq!(vs["expansion"]["total"], 93);
    assert_eq!(vs["expansion"]["contains"].as_array().unwrap().len(), 10);
    // The implicit value set of a TRE.
    let (_, vs) = get_fhir(
        &app,
        &format!(
            "/fhir/ValueSet/$expand?url={}",
            enc(&format!("{R94}?fhir_vs"))
        ),
    )
    .await;
    assert_eq!(vs["expansion"]["total"], 26);
    let (_, vs) = get_fhir(
        &app,
        &format!(
            "/fhir/ValueSet/$expand?url={}&activeOnly=true",
            enc(&format!("{R94}?fhir_vs"))
        ),
    )
    .await;
    assert!(vs["expansion"]["total"].as_u64().unwrap() < 26);
}

#[actix_web::test]
async fn read_and_search_by_oid() {
    let app = app!();
    let (s, cs) = get_fhir(&app, "/fhir/CodeSystem/TRE-A08-HL7Confidentiality").await;
    assert_eq!(s, 200);
    assert_eq!(cs["url"], A08);
    for id in [format!("urn:oid:{A08_OID}"), A08_OID.to_string()] {
        let (_, b) = get_fhir(&app, &format!("/fhir/CodeSystem?identifier={}", enc(&id))).await;
        assert_eq!(b["resourceType"], "Bundle");
        assert_eq!(b["total"], 1, "{id}");
        assert_eq!(b["entry"][0]["resource"]["url"], A08);
    }
    // `_elements`: the listed elements only, marked SUBSETTED, concepts not rendered.
    let (_, b) = get_fhir(
        &app,
        &format!("/fhir/CodeSystem?url={}&_elements=url,version", enc(A08)),
    )
    .await;
    let r = &b["entry"][0]["resource"];
    assert_eq!(r["url"], A08, "{b}");
    assert!(r["version"].is_string(), "{b}");
    assert!(r.get("concept").is_none() && r.get("name").is_none(), "{b}");
    assert_eq!(r["meta"]["tag"][0]["code"], "SUBSETTED", "{b}");
    let (_, b) = get_fhir(
        &app,
        &format!("/fhir/ValueSet?url={}&_summary=count", enc(J07)),
    )
    .await;
    // Two versions: 2023 (CSV, from the FHIR export) and 2024 (IHE SVS).
    assert_eq!(b["total"], 2);
    let (s, m) = get_fhir(&app, "/fhir/metadata").await;
    assert_eq!(s, 200);
    assert_eq!(m["fhirVersion"], "4.0.1");
    let (_, t) = get_fhir(&app, "/fhir/metadata?mode=terminology").await;
    assert!(t["codeSystem"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["uri"] == A08));
}

#[actix_web::test]
async fn bad_requests_are_operation_outcomes() {
    let app = app!();
    // 400: missing parameter, bad boolean, broken JSON, not a Parameters body.
    let (s, b) = get_fhir(
        &app,
        &format!("/fhir/CodeSystem/$validate-code?url={}", enc(A08)),
    )
    .await;
    assert_eq!(s, 400);
    assert_outcome(&b, "invalid");
    let (s, b) = get_fhir(
        &app,
        &format!(
            "/fhir/CodeSystem/$validate-code?url={}&code=N&activeOnly=maybe",
            enc(A08)
        ),
    )
    .await;
    assert_eq!(s, 400);
    assert_outcome(&b, "invalid");
    let req = test::TestRequest::post()
        .uri("/fhir/ValueSet/$validate-code")
        .insert_header(("content-type", "application/fhir+json"))
        .set_payload("{\"resourceType\": \"Parameters\", ")
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status().as_u16(), 400);
    let (s, b) = post_json(
        &app,
        "/fhir/ValueSet/$validate-code",
        json!({"resourceType":"Patient"}),
    )
    .await;
    assert_eq!(s, 400);
    assert_outcome(&b, "invalid");
    // 404: unknown code system, value set, resource, code in lookup, endpoint.
    let (s, b) = get_fhir(
        &app,
        "/fhir/CodeSystem/$lookup?system=urn:oid:1.2.3.4&code=x",
    )
    .await;
    assert_eq!(s, 404);
    assert_outcome(&b, "not-found");
    let (s, b) = get_fhir(
        &app,
        "/fhir/CodeSystem/$lookup?system=urn:oid:2.16.840.1.113883.5.25&code=nope",
    )
    .await;
    assert_eq!(s, 404);
    assert_outcome(&b, "not-found");
    let (s, b) = get_fhir(&app, "/fhir/ValueSet/$expand?url=http://example.org/nope").await;
    assert_eq!(s, 404);
    assert_outcome(&b, "not-found");
    let (s, b) = get_fhir(&app, "/fhir/CodeSystem/does-not-exist").await;
    assert_eq!(s, 404);
    assert_outcome(&b, "not-found");
    let (s, b) = get_fhir(&app, "/fhir/Patient/1").await;
    assert_eq!(s, 404);
    assert_outcome(&b, "not-found");
    // 405: writes.
    let req = test::TestRequest::put()
        .uri("/fhir/CodeSystem/TRE-A08-HL7Confidentiality")
        .set_payload("{}")
        .to_request();
    let resp = test::call_service(&app, req).await;
    assert_eq!(resp.status().as_u16(), 405);
    let b: Value = serde_json::from_slice(&test::read_body(resp).await).unwrap();
    assert_outcome(&b, "not-supported");
    // 404: translate with an unknown map.
    let (s, b) = get_fhir(
        &app,
        "/fhir/ConceptMap/$translate?url=http://example.org/map&system=http://loinc.org&code=1",
    )
    .await;
    assert_eq!(s, 404);
    assert_outcome(&b, "not-found");
    // 422: well-formed but unprocessable: a value set that includes itself.
    let circular = json!({"resourceType":"ValueSet","url":"http://example.org/vs/loop","status":"active",
        "compose":{"include":[{"valueSet":["http://example.org/vs/loop"]}]}});
    let (s, b) = post_json(
        &app,
        "/fhir/ValueSet/$expand",
        json!({"resourceType":"Parameters","parameter":[
        {"name":"url","valueUri":"http://example.org/vs/loop"},
        {"name":"tx-resource","resource": circular}]}),
    )
    .await;
    assert_eq!(s, 422, "{b}");
    assert_outcome(&b, "processing");
}

/// `property` on a shipped TRE: GET and POST give the same members and properties, on the
/// paged path (`count`) and the whole expansion.
#[actix_web::test]
async fn expand_properties_same_by_get_and_post() {
    let app = app!();
    let vs_url = format!("{R02}?fhir_vs");
    for paging in [Some(3), None] {
        let count = paging.map(|n| format!("&count={n}")).unwrap_or_default();
        let (s, by_get) = get_fhir(
            &app,
            &format!(
                "/fhir/ValueSet/$expand?url={}&property=dateValid&property=inactive{count}",
                enc(&vs_url)
            ),
        )
        .await;
        assert_eq!(s, 200, "{by_get}");
        let mut params = vec![
            json!({"name": "url", "valueUri": vs_url}),
            json!({"name": "property", "valueString": "dateValid"}),
            json!({"name": "property", "valueString": "inactive"}),
        ];
        if let Some(n) = paging {
            params.push(json!({"name": "count", "valueInteger": n}));
        }
        let (s, by_post) = post_json(
            &app,
            "/fhir/ValueSet/$expand",
            json!({"resourceType": "Parameters", "parameter": params}),
        )
        .await;
        assert_eq!(s, 200, "{by_post}");
        let first = &by_get["expansion"]["contains"][0];
        assert_eq!(first, &by_post["expansion"]["contains"][0]);
        assert_eq!(
            by_get["expansion"]["extension"],
            by_post["expansion"]["extension"]
        );
        // Both asked properties on the first member: its dateValid and a computed inactive.
        let codes: Vec<&str> = first["extension"]
            .as_array()
            .expect("contains.property extensions")
            .iter()
            .filter_map(|e| e["extension"][0]["valueCode"].as_str())
            .collect();
        assert_eq!(codes, ["dateValid", "inactive"], "{first}");
    }
}

/// `designation` naming a use (a NOS designation type, without system): only the
/// designations of that use come back, by GET and POST alike.
#[actix_web::test]
async fn expand_designation_use_filter() {
    let app = app!();
    let vs_url = format!("{R02}?fhir_vs");
    let (s, by_get) = get_fhir(
        &app,
        &format!(
            "/fhir/ValueSet/$expand?url={}&designation=LibelleCourt&count=2",
            enc(&vs_url)
        ),
    )
    .await;
    assert_eq!(s, 200, "{by_get}");
    let (s, by_post) = post_json(
        &app,
        "/fhir/ValueSet/$expand",
        json!({"resourceType": "Parameters", "parameter": [
            {"name": "url", "valueUri": vs_url},
            {"name": "designation", "valueString": "|LibelleCourt"},
            {"name": "count", "valueInteger": 2}]}),
    )
    .await;
    assert_eq!(s, 200, "{by_post}");
    for vs in [&by_get, &by_post] {
        let first = &vs["expansion"]["contains"][0];
        let uses: Vec<&str> = first["designation"]
            .as_array()
            .expect("designations")
            .iter()
            .filter_map(|d| d["use"]["code"].as_str())
            .collect();
        assert_eq!(uses, ["LibelleCourt"], "{first}");
    }
}

/// An unreadable tx-resource fails only a request that looks up the url it claims: a
/// validation against the shipped data beside it is answered, a `$lookup` or `$validate-code`
/// of its system says why it could not be used.
#[actix_web::test]
async fn unreadable_tx_resource_fails_only_requests_that_use_it() {
    let app = app!();
    const BAD: &str = "http://example.org/cs/unreadable";
    let with = |params: Value| {
        let mut all = params.as_array().cloned().unwrap_or_default();
        all.push(json!({"name": "tx-resource", "resource":
            {"resourceType": "CodeSystem", "url": BAD, "status": "active", "concept": {"code": "a"}}}));
        json!({"resourceType": "Parameters", "parameter": all})
    };
    let (status, body) = post_json(
        &app,
        "/fhir/ValueSet/$validate-code",
        with(json!([{"name": "url", "valueUri": J07},
                    {"name": "coding", "valueCoding": {"system": A04, "code": "11488-4"}}])),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["resourceType"], "Parameters", "{body}");
    for (uri, params) in [
        (
            "/fhir/CodeSystem/$lookup",
            json!([{"name": "system", "valueUri": BAD}, {"name": "code", "valueCode": "a"}]),
        ),
        (
            "/fhir/CodeSystem/$validate-code",
            json!([{"name": "url", "valueUri": BAD}, {"name": "code", "valueCode": "a"}]),
        ),
        (
            "/fhir/ValueSet/$validate-code",
            json!([{"name": "url", "valueUri": J07},
                   {"name": "coding", "valueCoding": {"system": BAD, "code": "a"}}]),
        ),
    ] {
        let (status, body) = post_json(&app, uri, with(params)).await;
        assert_eq!(status, 400, "{uri}: {body}");
        assert_outcome(&body, "invalid");
        let text = body["issue"][0]["details"]["text"].as_str().unwrap_or("");
        assert!(
            text.starts_with(&format!("Invalid tx-resource '{BAD}'")),
            "{uri}: {text}"
        );
    }
}

/// The answer without what changes from one call to the next (expansion identifier, time).
fn without_instant(mut v: Value) -> Value {
    if let Some(e) = v.get_mut("expansion").and_then(Value::as_object_mut) {
        e.remove("identifier");
        e.remove("timestamp");
    }
    v
}

/// Every operation reads its parameters alike from a query and from a `Parameters` body,
/// at the type and at the instance level (`/CodeSystem/{id}/$op`, `/ValueSet/{id}/$op`).
#[actix_web::test]
async fn a_query_and_a_body_ask_the_same_question() {
    let app = app!();
    let r02_id = "TRE-R02-SecteurActivite";
    let j02_id = "JDV-J02-XdsHealthcareFacilityTypeCode-CISIS";
    let cases: Vec<(String, Value)> = vec![
        (
            format!(
                "/fhir/CodeSystem/$lookup?system={}&code=SA07&property=parent",
                enc(R02)
            ),
            json!([{"name": "coding", "valueCoding": {"system": R02, "code": "SA07"}},
                   {"name": "property", "valueCode": "parent"}]),
        ),
        (
            format!("/fhir/CodeSystem/{r02_id}/$lookup?code=SA07"),
            json!([{"name": "code", "valueCode": "SA07"}]),
        ),
        (
            format!("/fhir/CodeSystem/{r02_id}/$validate-code?code=SA07&display=x"),
            json!([{"name": "code", "valueCode": "SA07"}, {"name": "display", "valueString": "x"}]),
        ),
        (
            format!("/fhir/CodeSystem/{r02_id}/$subsumes?codeA=SA07&codeB=SA07"),
            json!([{"name": "codingA", "valueCoding": {"code": "SA07"}},
                   {"name": "codingB", "valueCoding": {"code": "SA07"}}]),
        ),
        (
            format!(
                "/fhir/ValueSet/$validate-code?url={}&system={}&code=SA07",
                enc(J02),
                enc(R02)
            ),
            json!([{"name": "url", "valueUri": J02},
                   {"name": "coding", "valueCoding": {"system": R02, "code": "SA07"}}]),
        ),
        (
            format!("/fhir/ValueSet/{j02_id}/$expand?count=3&offset=1&activeOnly=true"),
            json!([{"name": "count", "valueInteger": 3}, {"name": "offset", "valueInteger": 1},
                   {"name": "activeOnly", "valueBoolean": true}]),
        ),
    ];
    for (uri, parameter) in cases {
        let (gs, g) = get_fhir(&app, &uri).await;
        let path = uri.split('?').next().unwrap_or(&uri);
        let body = json!({"resourceType": "Parameters", "parameter": parameter});
        let (ps, p) = post_json(&app, path, body).await;
        assert_eq!(gs, 200, "{uri}: {g}");
        assert_eq!((gs, without_instant(g)), (ps, without_instant(p)), "{uri}");
    }
}

/// An instance-level operation on an unknown resource is 404 whatever it asks; a malformed
/// parameter read before the instance is needed is still the 400 it was.
#[actix_web::test]
async fn an_unknown_instance_is_not_found() {
    let app = app!();
    for uri in [
        "/fhir/CodeSystem/nope/$lookup?code=a",
        "/fhir/CodeSystem/nope/$validate-code?code=a",
        "/fhir/CodeSystem/nope/$subsumes?codeA=a&codeB=b",
        "/fhir/ValueSet/nope/$validate-code?code=a",
        "/fhir/ValueSet/nope/$expand",
        "/fhir/ConceptMap/nope/$translate?system=s&code=a",
    ] {
        let (s, b) = get_fhir(&app, uri).await;
        assert_eq!(s, 404, "{uri}: {b}");
        assert_outcome(&b, "not-found");
    }
    let (s, b) = get_fhir(&app, "/fhir/CodeSystem/nope/$lookup?coding=a").await;
    assert_eq!(s, 400, "{b}");
    assert!(
        b.to_string()
            .contains("Parameter 'coding' must be a Coding"),
        "{b}"
    );
}
