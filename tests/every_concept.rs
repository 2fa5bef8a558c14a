//! Every concept of every shipped table is found again by `$lookup` and `$validate-code`, by
//! canonical URL and by OID; every JDV member validates against its JDV by URL and by OID.

mod common;
use common::{call, enc, get};

use actix_web::{test, web};
use nosterm::config::AppConfig;
use nosterm::load::{load_dir, Dataset};
use nosterm::reload::{reload, SaveSnapshot};
use nosterm::state::AppState;
use serde_json::Value;

fn result_of(p: &Value) -> Option<bool> {
    p["parameter"]
        .as_array()?
        .iter()
        .find(|x| x["name"] == "result")?["valueBoolean"]
        .as_bool()
}

#[actix_web::test]
async fn every_concept_and_member_round_trips() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let data = load_dir(&dir).expect("shipped data loads");
    let state = web::Data::new(AppState::load(&dir, AppConfig::default()).expect("loads"));
    round_trips(&common::start(state).await, &data).await;
}

/// The same over the built-in FHIR R4 core layer, as `serve` runs by default: the NOS keep
/// every URL and OID they share with HL7's systems (TRE_A08 and v3 Confidentiality, …).
#[actix_web::test]
async fn every_concept_and_member_round_trips_over_the_fhir_core() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let data = load_dir(&dir).expect("shipped data loads");
    let state = AppState::empty(AppConfig {
        data: Some(dir.clone()),
        fhir_core: true,
        ..AppConfig::default()
    });
    reload(&state, None, SaveSnapshot::InBackground).expect("data + core load");
    round_trips(&common::start(web::Data::new(state)).await, &data).await;
}

async fn round_trips<S: common::App>(app: &S, data: &Dataset) {
    let mut checked = 0;
    for cs in &data.code_systems {
        let names: Vec<String> = std::iter::once(cs.meta.url.clone())
            .chain(cs.meta.oids.iter().map(|o| format!("urn:oid:{o}")))
            .collect();
        assert!(
            cs.concepts.is_empty() || names.len() > 1,
            "{} has no OID",
            cs.meta.url
        );
        for c in &cs.concepts {
            for system in &names {
                let uri = format!(
                    "/fhir/CodeSystem/$lookup?system={}&code={}",
                    enc(system),
                    enc(&c.code)
                );
                let (status, body) = call(app, get(&uri)).await;
                assert_eq!(status, 200, "{uri}");
                let display = body["parameter"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|x| x["name"] == "display");
                assert_eq!(
                    display.map(|d| &d["valueString"]),
                    c.display.as_ref().map(|d| Value::from(d.as_str())).as_ref(),
                    "{uri}"
                );

                let mut uri = format!(
                    "/fhir/CodeSystem/$validate-code?url={}&code={}",
                    enc(system),
                    enc(&c.code)
                );
                if let Some(d) = &c.display {
                    uri.push_str(&format!("&display={}", enc(d)));
                }
                let (_, body) = call(app, get(&uri)).await;
                assert_eq!(result_of(&body), Some(true), "{uri}: {body}");
                checked += 1;
            }
        }
    }
    assert!(checked >= 2 * 492, "checked {checked}");

    let mut members = 0;
    // The JDVs of the CSV layout, each at its own version (newer IHE SVS versions of some of
    // them exist; the SVS value sets are checked member by member in tests/svs.rs).
    for vs in data
        .value_sets
        .iter()
        .filter(|vs| !vs.meta.origin.file.starts_with("svs/"))
    {
        let names: Vec<String> = std::iter::once(vs.meta.url.clone())
            .chain(vs.meta.oids.iter().map(|o| format!("urn:oid:{o}")))
            .collect();
        for inc in &vs.compose.include {
            let system = inc.system.as_deref().unwrap();
            for c in &inc.concepts {
                for url in &names {
                    let mut uri = format!(
                        "/fhir/ValueSet/$validate-code?url={}&system={}&code={}",
                        enc(url),
                        enc(system),
                        enc(&c.code)
                    );
                    if let Some(d) = &c.display {
                        uri.push_str(&format!("&display={}", enc(d)));
                    }
                    if let Some(v) = &vs.meta.version {
                        uri.push_str(&format!("&valueSetVersion={}", enc(v)));
                    }
                    let resp =
                        test::call_service(app, test::TestRequest::get().uri(&uri).to_request())
                            .await;
                    let body: Value = serde_json::from_slice(&test::read_body(resp).await).unwrap();
                    assert_eq!(result_of(&body), Some(true), "{uri}: {body}");
                    members += 1;
                }
            }
        }
    }
    assert_eq!(members, 2 * 272);
}
