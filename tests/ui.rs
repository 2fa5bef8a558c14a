//! The browser UI routes, its JSON helpers, `/metrics` and the request id, in-process.

mod common;
use common::enc;

use actix_web::test;
use serde_json::Value;

const J07: &str =
    "https://mos.esante.gouv.fr/NOS/JDV_J07-XdsTypeCode-CISIS/FHIR/JDV-J07-XdsTypeCode-CISIS";
const A04: &str = "https://mos.esante.gouv.fr/NOS/TRE_A04-Loinc/FHIR/TRE-A04-Loinc";

#[actix_web::test]
async fn pages_and_assets_are_served() {
    let app = common::start(common::shipped_state()).await;
    for (uri, mime, needle) in [
        ("/", "text/html", "<html lang=\"fr\">"),
        ("/demo", "text/html", "<nos-autocomplete"),
        ("/ui/app.js", "text/javascript", "function route()"),
        ("/ui/app.css", "text/css", ":root"),
        (
            "/ui/nos-autocomplete.js",
            "text/javascript",
            "customElements.define(\"nos-autocomplete\"",
        ),
    ] {
        let res = test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
        assert_eq!(res.status(), 200, "{uri}");
        let ct = res
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        assert!(ct.starts_with(mime), "{uri}: {ct}");
        let body = test::read_body(res).await;
        assert!(
            String::from_utf8_lossy(&body).contains(needle),
            "{uri} lacks {needle}"
        );
    }
    let res = test::call_service(
        &app,
        test::TestRequest::get().uri("/ui/nope.js").to_request(),
    )
    .await;
    assert_eq!(res.status(), 404);
}

/// GET `uri`, which must answer 200 with JSON: the body.
async fn get_json<S: common::App>(app: &S, uri: &str) -> Value {
    let (status, body) = common::call(app, common::get(uri)).await;
    assert_eq!(status, 200, "{uri}");
    body
}

#[actix_web::test]
async fn ui_api_helpers() {
    let app = common::start(common::shipped_state()).await;

    // Search across tables: by OID, and a concept label.
    let r = get_json(&app, "/ui/api/search?q=1.2.250.1.213.1.1.5.471").await;
    assert_eq!(r["tables"][0]["url"], J07);
    let r = get_json(&app, &format!("/ui/api/search?q={}", enc("cr op"))).await;
    assert_eq!(r["concepts"][0]["code"], "34874-8");
    assert_eq!(r["concepts"][0]["display"], "CR opératoire");

    // The value sets containing a concept.
    let r = get_json(
        &app,
        &format!("/ui/api/concept?system={}&code=34874-8", enc(A04)),
    )
    .await;
    let urls: Vec<&str> = r["value_sets"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["url"].as_str())
        .collect();
    assert!(urls.contains(&J07), "{urls:?}");

    // Versions of J07, and what changed between them.
    let r = get_json(
        &app,
        &format!("/ui/api/versions?kind=ValueSet&url={}", enc(J07)),
    )
    .await;
    let versions: Vec<&str> = r
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v["version"].as_str())
        .collect();
    assert_eq!(versions.len(), 2, "{versions:?}");
    let r = get_json(
        &app,
        &format!(
            "/ui/api/diff?kind=ValueSet&url={}&from={}&to={}",
            enc(J07),
            versions[0],
            versions[1]
        ),
    )
    .await;
    assert_eq!(r["old_version"], versions[0]);
    assert!(!r["added"].as_array().unwrap().is_empty());
}

#[actix_web::test]
async fn request_id_and_metrics() {
    let app = common::start(common::shipped_state()).await;
    // Taken from the request, returned.
    let res = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/fhir/metadata")
            .insert_header(("X-Request-Id", "abc-123"))
            .to_request(),
    )
    .await;
    assert_eq!(res.headers().get("x-request-id").unwrap(), "abc-123");
    // Made when absent (or unusable), different each time.
    let mut ids = Vec::new();
    for _ in 0..2 {
        let res = test::call_service(
            &app,
            test::TestRequest::get()
                .uri("/fhir/CodeSystem/nope")
                .insert_header(("X-Request-Id", "bad id with spaces"))
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), 404);
        ids.push(
            res.headers()
                .get("x-request-id")
                .unwrap()
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_ne!(ids[0], ids[1]);
    assert!(!ids[0].contains(' '));

    let before = nosterm::metrics::METRICS.requests("ValueSet/$expand");
    // Three pages of one search: three questions for the answer cache, one search.
    for count in [3, 4, 5] {
        let uri = format!(
            "/fhir/ValueSet/$expand?url={}&filter=lettre&count={count}",
            enc(J07)
        );
        let res = test::call_service(&app, test::TestRequest::get().uri(&uri).to_request()).await;
        assert_eq!(res.status(), 200);
    }
    // Other tests of this binary may run expansions at the same time: at least ours.
    assert!(nosterm::metrics::METRICS.requests("ValueSet/$expand") >= before + 3);

    let res = test::call_service(&app, test::TestRequest::get().uri("/metrics").to_request()).await;
    assert_eq!(res.status(), 200);
    assert!(res
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = String::from_utf8(test::read_body(res).await.to_vec()).unwrap();
    for needle in [
        "nosterm_http_requests_total{operation=\"ValueSet/$expand\",status=\"200\"}",
        "nosterm_http_requests_total{operation=\"CodeSystem/read\",status=\"404\"}",
        "nosterm_http_request_duration_seconds_bucket{operation=\"metadata\",status=\"200\",le=\"+Inf\"}",
        "nosterm_search_cache_hits_total ",
        "nosterm_search_cache_misses_total ",
        "nosterm_snapshot_generation 1",
        "nosterm_tables{kind=\"ValueSet\"}",
        "nosterm_concepts ",
        "nosterm_ready 1",
    ] {
        assert!(text.contains(needle), "/metrics lacks {needle}:\n{text}");
    }
    // The same search three times: at least two answered from the search cache.
    let hits: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("nosterm_search_cache_hits_total "))
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(hits >= 2, "cache hits {hits}");
}
