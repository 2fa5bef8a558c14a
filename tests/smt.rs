//! The real SMT-era NOS resources (`tests/fixtures/smt`, copied unchanged from the ANS IG):
//! smt.esante.gouv.fr URLs, timestamp versions, `=` filters on integer, code and boolean
//! properties, a JDV published only as an expansion, deprecated members, French supplements.

mod common;
use common::{enc, fixture_dir, get_json, param_value, post_json, state_of};

use serde_json::{json, Value};

const R395: &str = "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r395-engagement";
const R420: &str = "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r420-droit-prestation";
const R406: &str =
    "https://smt.esante.gouv.fr/fhir/CodeSystem/tre-r406-forme-activite-smsse-regulee";
const J314: &str = "https://smt.esante.gouv.fr/fhir/ValueSet/jdv-j314-engagement-finess";
const J401: &str =
    "https://smt.esante.gouv.fr/fhir/ValueSet/jdv-j401-categorie-droit-prestation-ms";
const J401_OID: &str = "urn:oid:1.2.250.1.213.3.4.241";
const J402: &str = "https://smt.esante.gouv.fr/fhir/ValueSet/jdv-j402-type-droit-prestation-ms";
const J134: &str =
    "https://mos.esante.gouv.fr/NOS/JDV_J134-FormeActivite-RASS/FHIR/JDV-J134-FormeActivite-RASS";
const J367: &str = "https://smt.esante.gouv.fr/fhir/ValueSet/jdv-j367-type-projet-personnalise-ms";
const J370: &str = "https://smt.esante.gouv.fr/fhir/ValueSet/jdv-j370-type-contrat-sejour-ms";

macro_rules! app {
    () => {
        common::start(state_of(&fixture_dir("smt"))).await
    };
}

fn codes(expansion: &Value) -> Vec<String> {
    fn walk(items: &Value, out: &mut Vec<String>) {
        for c in items.as_array().into_iter().flatten() {
            if let Some(code) = c["code"].as_str() {
                out.push(code.to_string());
            }
            walk(&c["contains"], out);
        }
    }
    let mut out = Vec::new();
    walk(&expansion["expansion"]["contains"], &mut out);
    out
}

fn published_expansion_codes() -> Vec<String> {
    let path = fixture_dir("smt").join("ValueSet-jdv-j401-categorie-droit-prestation-ms.json");
    let vs: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    codes(&vs)
}

/// The JDV published only as an expansion expands to that expansion, by URL, by OID and at its
/// version, pages, and filters; nothing is silently empty.
#[actix_web::test]
async fn a_jdv_published_only_as_an_expansion_is_served_from_it() {
    let app = app!();
    let published = published_expansion_codes();
    assert_eq!(published.len(), 14);
    for url in [
        J401.to_string(),
        J401_OID.to_string(),
        format!("{J401}|20260505120000"),
    ] {
        let (status, vs) =
            get_json(&app, &format!("/fhir/ValueSet/$expand?url={}", enc(&url))).await;
        assert_eq!(status, 200, "{url}: {vs}");
        assert_eq!(vs["expansion"]["total"], 14, "{url}");
        assert_eq!(codes(&vs), published, "{url}");
    }
    // Paging walks the same members.
    let mut paged = Vec::new();
    for offset in (0..14).step_by(5) {
        let (_, page) = get_json(
            &app,
            &format!(
                "/fhir/ValueSet/$expand?url={}&count=5&offset={offset}",
                enc(J401)
            ),
        )
        .await;
        paged.extend(codes(&page));
    }
    assert_eq!(paged, published);
    // A filter searches the stored displays.
    let (_, found) = get_json(
        &app,
        &format!(
            "/fhir/ValueSet/$expand?url={}&filter=orientation",
            enc(J401)
        ),
    )
    .await;
    let mut found = codes(&found);
    found.sort();
    assert_eq!(found, ["13", "14", "7", "8"]);
    // The expansion names the code system version it was made from.
    let (_, vs) = get_json(&app, &format!("/fhir/ValueSet/$expand?url={}", enc(J401))).await;
    let used: Vec<&str> = vs["expansion"]["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "used-codesystem")
        .filter_map(|p| p["valueUri"].as_str())
        .collect();
    assert_eq!(used, [format!("{R420}|20260505120000")]);
}

#[actix_web::test]
async fn membership_of_a_stored_expansion_is_decided_by_it() {
    let app = app!();
    for (code, expected) in [("5", true), ("12", true), ("99", false)] {
        for vs in [J401, J401_OID] {
            let (status, p) = get_json(
                &app,
                &format!(
                    "/fhir/ValueSet/$validate-code?url={}&system={}&code={code}",
                    enc(vs),
                    enc(R420)
                ),
            )
            .await;
            assert_eq!(status, 200);
            assert_eq!(
                param_value(&p, "result"),
                Some(&json!(expected)),
                "{vs} {code}: {p}"
            );
        }
    }
    // The display the expansion stores is the one returned.
    let (_, p) = get_json(
        &app,
        &format!(
            "/fhir/ValueSet/$validate-code?url={}&system={}&code=3",
            enc(J401),
            enc(R420)
        ),
    )
    .await;
    assert_eq!(
        param_value(&p, "display"),
        Some(&json!("AVA (Assurance vieillesse des aidants)"))
    );
}

/// A value set with neither a compose nor an expansion cannot be expanded: an error, not an
/// empty success.
#[actix_web::test]
async fn a_value_set_with_nothing_to_expand_is_an_error() {
    let app = app!();
    let body = json!({"resourceType": "Parameters", "parameter": [
        {"name": "valueSet", "resource": {"resourceType": "ValueSet",
            "url": "https://smt.esante.gouv.fr/fhir/ValueSet/jdv-vide", "status": "active"}}
    ]});
    let (status, oo) = post_json(&app, "/fhir/ValueSet/$expand", &body).await;
    assert!((400..500).contains(&status), "{status}: {oo}");
    assert_eq!(oo["resourceType"], "OperationOutcome");
    let text = oo["issue"][0]["details"]["text"].as_str().unwrap_or("");
    assert!(text.contains("cannot be expanded"), "{text}");
}

/// `=` filters on an integer (`niveau`), a code (`status`) and a boolean (`rass`) property.
#[actix_web::test]
async fn property_filters_select_what_the_smt_selects() {
    let app = app!();
    for (vs, total) in [(J314, 35), (J134, 39), (J402, 62)] {
        let (status, e) = get_json(&app, &format!("/fhir/ValueSet/$expand?url={}", enc(vs))).await;
        assert_eq!(status, 200, "{vs}: {e}");
        assert_eq!(e["expansion"]["total"], total, "{vs}");
    }
    for vs in [J367, J370] {
        let (status, e) = get_json(&app, &format!("/fhir/ValueSet/$expand?url={}", enc(vs))).await;
        assert_eq!(status, 200, "{vs}: {e}");
        let n = e["expansion"]["total"].as_u64().unwrap_or(0);
        assert!(n > 0, "{vs} expands to nothing");
    }
    // R406's one concept that is not `rass` is outside J134 and still a valid R406 code.
    let path = fixture_dir("smt").join("CodeSystem-tre-r406-forme-activite-smsse-regulee.json");
    let r406: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let (_, e) = get_json(&app, &format!("/fhir/ValueSet/$expand?url={}", enc(J134))).await;
    let in_j134 = codes(&e);
    let outside: Vec<&str> = r406["concept"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["code"].as_str())
        .filter(|c| !in_j134.iter().any(|m| m == c))
        .collect();
    assert_eq!(outside.len(), 1, "{outside:?}");
    for (url, expected) in [(J134, false), (R406, true)] {
        let kind = if url == R406 {
            "CodeSystem"
        } else {
            "ValueSet"
        };
        let (_, p) = get_json(
            &app,
            &format!(
                "/fhir/{kind}/$validate-code?url={}&system={}&code={}",
                enc(url),
                enc(R406),
                enc(outside[0])
            ),
        )
        .await;
        assert_eq!(
            param_value(&p, "result"),
            Some(&json!(expected)),
            "{url}: {p}"
        );
    }
}

/// The deprecated members of J314 (closed R395 codes with `niveau` 2) validate with a warning
/// that says the concept is no longer active; an active one validates without any.
#[actix_web::test]
async fn deprecated_members_validate_with_a_warning() {
    let app = app!();
    for code in ["HPR", "PAD", "PAP", "RUR", "SID"] {
        let (_, p) = get_json(
            &app,
            &format!(
                "/fhir/ValueSet/$validate-code?url={}&system={}&code={code}",
                enc(J314),
                enc(R395)
            ),
        )
        .await;
        assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{code}: {p}");
        assert_eq!(
            param_value(&p, "inactive"),
            Some(&json!(true)),
            "{code}: {p}"
        );
        let issues = p["parameter"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == "issues")
            .map(|x| x["resource"]["issue"].clone())
            .unwrap_or(Value::Null);
        assert!(
            issues
                .as_array()
                .into_iter()
                .flatten()
                .any(|i| i["severity"] == "warning"),
            "{code}: {p}"
        );
    }
    let (_, p) = get_json(
        &app,
        &format!(
            "/fhir/ValueSet/$validate-code?url={}&system={}&code=ACI",
            enc(J314),
            enc(R395)
        ),
    )
    .await;
    assert_eq!(param_value(&p, "result"), Some(&json!(true)));
    assert_eq!(param_value(&p, "inactive"), None, "{p}");
}

/// Every concept of every SMT code system looks up by URL and by OID, at its timestamp version.
#[actix_web::test]
async fn every_smt_concept_looks_up_by_url_and_oid() {
    let app = app!();
    let mut checked = 0;
    for entry in std::fs::read_dir(fixture_dir("smt")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with("CodeSystem-tre-") {
            continue;
        }
        let cs: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let url = cs["url"].as_str().unwrap();
        let version = cs["version"].as_str().unwrap();
        let oid = cs["identifier"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["value"].as_str())
            .find(|v| v.starts_with("urn:oid:"))
            .unwrap_or_else(|| panic!("{name} has no OID"));
        for concept in cs["concept"].as_array().unwrap() {
            let code = concept["code"].as_str().unwrap();
            for system in [url, oid] {
                let (status, p) = get_json(
                    &app,
                    &format!(
                        "/fhir/CodeSystem/$lookup?system={}&code={}&version={version}",
                        enc(system),
                        enc(code)
                    ),
                )
                .await;
                assert_eq!(status, 200, "{system}#{code}: {p}");
                assert_eq!(
                    param_value(&p, "display"),
                    Some(&concept["display"]),
                    "{system}#{code}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 2 * 100, "checked {checked}");
}

/// The two real French language packs supplement HL7 code systems that the SMT does not
/// publish: a request that brings the base system (as a `tx-resource`) gets the French
/// designations without naming the pack, in `$lookup`, `$validate-code` and `$expand`.
#[actix_web::test]
async fn french_language_packs_apply_to_the_hl7_systems_they_supplement() {
    let app = app!();
    let clinical = json!({"resourceType": "CodeSystem",
        "url": "http://terminology.hl7.org/CodeSystem/condition-clinical", "version": "3.0.0",
        "status": "active", "content": "complete",
        "concept": [
            {"code": "active", "display": "Active", "concept": [
                {"code": "recurrence", "display": "Recurrence"},
                {"code": "relapse", "display": "Relapse"}]},
            {"code": "inactive", "display": "Inactive", "concept": [
                {"code": "remission", "display": "Remission"},
                {"code": "resolved", "display": "Resolved"}]}]});
    let gender = json!({"resourceType": "CodeSystem",
        "url": "http://terminology.hl7.org/CodeSystem/v3-AdministrativeGender", "version": "3.0.0",
        "status": "active", "content": "complete",
        "concept": [{"code": "F", "display": "Female"}, {"code": "M", "display": "Male"},
                    {"code": "UN", "display": "Undifferentiated"}]});
    let with = |base: &Value, mut params: Vec<Value>| {
        params.push(json!({"name": "tx-resource", "resource": base}));
        json!({"resourceType": "Parameters", "parameter": params})
    };
    let fr = json!({"name": "displayLanguage", "valueCode": "fr-FR"});
    for (base, code, english, french) in [
        (&clinical, "relapse", "Relapse", "Rechute"),
        (&gender, "F", "Female", "Féminin"),
    ] {
        let system = base["url"].as_str().unwrap();
        let (status, p) = post_json(
            &app,
            "/fhir/CodeSystem/$lookup",
            &with(
                base,
                vec![
                    json!({"name": "system", "valueUri": system}),
                    json!({"name": "code", "valueCode": code}),
                    fr.clone(),
                ],
            ),
        )
        .await;
        assert_eq!(status, 200, "{p}");
        assert_eq!(param_value(&p, "display"), Some(&json!(french)), "{p}");
        // Without a language asked for, the system's own display.
        let (_, p) = post_json(
            &app,
            "/fhir/CodeSystem/$lookup",
            &with(
                base,
                vec![
                    json!({"name": "system", "valueUri": system}),
                    json!({"name": "code", "valueCode": code}),
                ],
            ),
        )
        .await;
        assert_eq!(param_value(&p, "display"), Some(&json!(english)), "{p}");
        // The French display is a valid display of the code.
        let (_, p) = post_json(
            &app,
            "/fhir/CodeSystem/$validate-code",
            &with(
                base,
                vec![
                    json!({"name": "url", "valueUri": system}),
                    json!({"name": "code", "valueCode": code}),
                    json!({"name": "display", "valueString": french}),
                    fr.clone(),
                ],
            ),
        )
        .await;
        assert_eq!(param_value(&p, "result"), Some(&json!(true)), "{p}");
        // An expansion in French names the pack it used.
        let (status, vs) = post_json(
            &app,
            "/fhir/ValueSet/$expand",
            &with(
                base,
                vec![
                    json!({"name": "url", "valueUri": format!("{system}?fhir_vs")}),
                    fr.clone(),
                ],
            ),
        )
        .await;
        assert_eq!(status, 200, "{vs}");
        let text = vs.to_string();
        assert!(text.contains(french), "{vs}");
        assert!(text.contains("used-supplement"), "{vs}");
    }
}
