//! Every request limit (README "Limits"): the request that hits it and the answer. In-process
//! app for the per-request limits; a real server on loopback for the connection limits.

mod common;
use common::{call, enc, get, post};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use actix_web::{test, web};
use nosterm::config::{AppConfig, Limits, NetLimits};
use nosterm::state::AppState;
use serde_json::{json, Value};

const J07: &str =
    "https://mos.esante.gouv.fr/NOS/JDV_J07-XdsTypeCode-CISIS/FHIR/JDV-J07-XdsTypeCode-CISIS";

/// Small limits, so that each test hits one with a small request.
fn small() -> AppConfig {
    AppConfig {
        max_body: 64 * 1024,
        max_expansion: 20,
        limits: Limits {
            max_params: 20,
            max_tx_resources: 2,
            max_tx_resource_size: 4 * 1024,
            max_filter: 16,
            max_ecl_steps: 1_000_000,
            request_timeout_ms: 30_000,
            body_timeout_ms: 300,
        },
        ..AppConfig::default()
    }
}

fn state_with(config: AppConfig) -> web::Data<AppState> {
    common::state_with(&common::data_dir(), config)
}

/// An OperationOutcome whose first issue has `code` and a diagnostic containing `text`.
fn assert_outcome(body: &Value, code: &str, text: &str) {
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    assert_eq!(body["issue"][0]["severity"], "error", "{body}");
    assert_eq!(body["issue"][0]["code"], code, "{body}");
    assert!(body.to_string().contains(text), "{text}: {body}");
}

fn code_system(id: &str, concepts: usize) -> Value {
    let concept: Vec<Value> = (0..concepts)
        .map(|i| json!({"code": format!("c{i}"), "display": format!("Concept {i}")}))
        .collect();
    json!({"resourceType": "CodeSystem", "id": id, "url": format!("http://example.org/{id}"),
        "status": "active", "content": "complete", "concept": concept})
}

#[actix_web::test]
async fn request_body_size() {
    let app = common::start(state_with(small())).await;
    let big = json!({"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": J07}, {"name": "filter", "valueString": "x".repeat(70_000)}]});
    let (status, body) = call(&app, post("/fhir/ValueSet/$expand", &big)).await;
    assert_eq!(status, 413, "{body}");
    assert_outcome(&body, "too-costly", "larger than the limit of 65536 bytes");
}

#[actix_web::test]
async fn number_of_parameters() {
    let app = common::start(state_with(small())).await;
    // In the query string (counted before decoding).
    let query: Vec<String> = (0..21).map(|i| format!("p{i}=x")).collect();
    let uri = format!("/fhir/CodeSystem/$lookup?{}", query.join("&"));
    let (status, body) = call(&app, get(&uri)).await;
    assert_eq!(status, 422, "{body}");
    assert_outcome(&body, "too-costly", "Too many parameters (21, limit 20)");
    // Nested parts count too: 1 + 20 here.
    let parts: Vec<Value> = (0..20)
        .map(|i| json!({"name": format!("p{i}"), "valueString": "x"}))
        .collect();
    let nested = json!({"resourceType": "Parameters", "parameter": [
        {"name": "validation", "part": parts}]});
    let (status, body) = call(&app, post("/fhir/ValueSet/$batch-validate-code", &nested)).await;
    assert_eq!(status, 422, "{body}");
    assert_outcome(&body, "too-costly", "Too many parameters (21, limit 20)");
    // Query and body together.
    let query: Vec<String> = (0..10).map(|i| format!("q{i}=x")).collect();
    let ps: Vec<Value> = (0..11)
        .map(|i| json!({"name": format!("b{i}"), "valueString": "x"}))
        .collect();
    let uri = format!("/fhir/CodeSystem/$lookup?{}", query.join("&"));
    let body = json!({"resourceType": "Parameters", "parameter": ps});
    let (status, body) = call(&app, post(&uri, &body)).await;
    assert_eq!(status, 422, "{body}");
    assert_outcome(&body, "too-costly", "Too many parameters (21, limit 20)");
}

#[actix_web::test]
async fn tx_resource_count_and_size() {
    let app = common::start(state_with(small())).await;
    let three: Vec<Value> = (0..3)
        .map(|i| json!({"name": "tx-resource", "resource": code_system(&format!("cs{i}"), 1)}))
        .collect();
    let mut params = three.clone();
    params.push(json!({"name": "system", "valueUri": "http://example.org/cs0"}));
    params.push(json!({"name": "code", "valueCode": "c0"}));
    let (status, body) = call(
        &app,
        post(
            "/fhir/CodeSystem/$lookup",
            &json!({"resourceType": "Parameters", "parameter": params}),
        ),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_outcome(
        &body,
        "too-costly",
        "Too many tx-resource parameters (3, limit 2)",
    );

    // Two are fine...
    let mut ok = three[..2].to_vec();
    ok.push(json!({"name": "system", "valueUri": "http://example.org/cs1"}));
    ok.push(json!({"name": "code", "valueCode": "c0"}));
    let (status, body) = call(
        &app,
        post(
            "/fhir/CodeSystem/$lookup",
            &json!({"resourceType": "Parameters", "parameter": ok}),
        ),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // ...but not one of more than 4 KiB.
    let big = json!({"resourceType": "Parameters", "parameter": [
        {"name": "tx-resource", "resource": code_system("big", 200)},
        {"name": "system", "valueUri": "http://example.org/big"},
        {"name": "code", "valueCode": "c0"}]});
    let (status, body) = call(&app, post("/fhir/CodeSystem/$lookup", &big)).await;
    assert_eq!(status, 422, "{body}");
    assert_outcome(&body, "too-costly", "A tx-resource is too large");
    assert_outcome(&body, "too-costly", "limit 4096");

    // The same limit applies to an inline `valueSet`.
    let include: Vec<Value> = (0..200)
        .map(|i| json!({"system": format!("http://example.org/s{i}")}))
        .collect();
    let vs = json!({"resourceType": "Parameters", "parameter": [{"name": "valueSet", "resource":
        {"resourceType": "ValueSet", "status": "active", "compose": {"include": include}}}]});
    let (status, body) = call(&app, post("/fhir/ValueSet/$expand", &vs)).await;
    assert_eq!(status, 422, "{body}");
    assert_outcome(&body, "too-costly", "A valueSet parameter is too large");
}

#[actix_web::test]
async fn filter_length() {
    let app = common::start(state_with(small())).await;
    let uri = format!(
        "/fhir/ValueSet/$expand?url={}&count=5&filter={}",
        enc(J07),
        enc(&"é".repeat(17))
    );
    let (status, body) = call(&app, get(&uri)).await;
    assert_eq!(status, 422, "{body}");
    assert_outcome(
        &body,
        "too-costly",
        "filter is too long (17 characters, limit 16)",
    );
    // 16 characters (32 bytes) are accepted.
    let uri = format!(
        "/fhir/ValueSet/$expand?url={}&count=5&filter={}",
        enc(J07),
        enc(&"é".repeat(16))
    );
    let (status, body) = call(&app, get(&uri)).await;
    assert_eq!(status, 200, "{body}");
}

#[actix_web::test]
async fn expansion_size_and_the_too_costly_header() {
    let app = common::start(state_with(small())).await;
    let uri = format!("/fhir/ValueSet/$expand?url={}", enc(J07));
    let (status, body) = call(&app, get(&uri)).await;
    assert_eq!(status, 422, "{body}");
    assert_outcome(&body, "too-costly", "too many codes to produce (>20)");
    // The conformance suite's header lowers the limit...
    let req = test::TestRequest::get()
        .uri(&format!(
            "/fhir/ValueSet/$expand?url={}&filter=compte",
            enc(J07)
        ))
        .insert_header(("X-TOO-COSTLY-THRESHOLD", "1"))
        .to_request();
    let (status, body) = call(&app, req).await;
    assert_eq!(status, 422, "{body}");
    assert_outcome(&body, "too-costly", "too many codes to produce (>1)");
    // ...but never raises it.
    let req = test::TestRequest::get()
        .uri(&uri)
        .insert_header(("X-TOO-COSTLY-THRESHOLD", "100000"))
        .to_request();
    let (status, body) = call(&app, req).await;
    assert_eq!(status, 422, "{body}");
    assert_outcome(&body, "too-costly", "too many codes to produce (>20)");
    // Paging is the way through.
    let (status, body) = call(&app, get(&format!("{uri}&count=20&offset=40"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["expansion"]["contains"].as_array().map(Vec::len),
        Some(20)
    );
}

#[actix_web::test]
async fn time_budget() {
    let mut config = small();
    config.max_body = 16 * 1024 * 1024;
    config.limits.max_tx_resource_size = 16 * 1024 * 1024;
    config.limits.request_timeout_ms = 1;
    let app = common::start(state_with(config)).await;
    // Reading a 50 000-concept tx-resource alone takes longer than 1 ms.
    let body = json!({"resourceType": "Parameters", "parameter": [
        {"name": "tx-resource", "resource": code_system("slow", 50_000)},
        {"name": "url", "valueUri": "http://example.org/slow?fhir_vs"},
        {"name": "count", "valueInteger": 1}]});
    let (status, body) = call(&app, post("/fhir/ValueSet/$expand", &body)).await;
    assert_eq!(status, 503, "{body}");
    assert_outcome(&body, "too-costly", "within the time budget of 1 ms");
}

#[actix_web::test]
async fn slow_request_body() {
    use futures_util::StreamExt;
    let app = common::start(state_with(small())).await;
    // One chunk, then nothing more: the body never completes.
    let chunks = futures_util::stream::once(async {
        Ok::<_, actix_http::error::PayloadError>(web::Bytes::from_static(b"{\"resourceType\""))
    })
    .chain(futures_util::stream::pending());
    let (req, _) = test::TestRequest::post()
        .uri("/fhir/CodeSystem/$lookup")
        .insert_header(("content-type", "application/fhir+json"))
        .to_request()
        .replace_payload(actix_http::Payload::from(
            Box::pin(chunks) as actix_http::BoxedPayloadStream
        ));
    let started = Instant::now();
    let (status, body) = call(&app, req).await;
    assert_eq!(status, 408, "{body}");
    assert_outcome(&body, "timeout", "not received within 300 ms");
    assert!(started.elapsed() < Duration::from_secs(5));
}

// --- Connection limits, on a real server (loopback, one worker) ---

/// Starts the real server (one worker) on an ephemeral loopback port; it runs until the test
/// process ends.
fn start_server(net: NetLimits) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let state = state_with(small());
        actix_web::rt::System::new().block_on(async move {
            let (server, addrs) =
                nosterm::http::server::bind(state, "127.0.0.1:0", 1, &net).expect("bind");
            tx.send(addrs[0]).expect("send address");
            server.await.expect("server");
        });
    });
    rx.recv_timeout(Duration::from_secs(60))
        .expect("server start")
}

/// One `GET /health/live` on a fresh connection: (status line, elapsed).
fn live(addr: SocketAddr) -> (String, Duration) {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).ok();
    s.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    (
        out.lines().next().unwrap_or("").to_string(),
        started.elapsed(),
    )
}

#[::core::prelude::v1::test]
fn slow_client_is_cut_off_while_others_are_served() {
    let addr = start_server(NetLimits {
        max_connections: 1_024,
        client_timeout_ms: 500,
    });
    let mut slow = TcpStream::connect(addr).expect("connect");
    slow.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let started = Instant::now();
    let head = b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut cut_off = false;
    for b in head.iter() {
        // One byte every 100 ms; a normal request on the same single worker still answers.
        if slow.write_all(&[*b]).is_err() {
            cut_off = true;
            break;
        }
        let (status, took) = live(addr);
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert!(took < Duration::from_secs(2), "{took:?}");
        std::thread::sleep(Duration::from_millis(100));
        if started.elapsed() > Duration::from_secs(3) {
            break;
        }
    }
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);
    // The server answered 408 (or closed) after ~500 ms, well before the head was complete.
    assert!(
        cut_off || answer.starts_with("HTTP/1.1 408") || answer.is_empty(),
        "{answer}"
    );
    assert!(!answer.contains("200 OK"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[::core::prelude::v1::test]
fn connections_beyond_the_limit_wait_for_a_free_slot() {
    let addr = start_server(NetLimits {
        max_connections: 2,
        client_timeout_ms: 800,
    });
    // Two idle connections fill the worker's slots until the client timeout closes them.
    let idle: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(addr).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    let (status, took) = live(addr);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(took >= Duration::from_millis(400), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    drop(idle);
    // Once free, requests are served at once.
    let (status, took) = live(addr);
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(took < Duration::from_millis(400), "{took:?}");
}

#[actix_web::test]
async fn public_errors_name_no_file() {
    let app = common::start(state_with(small())).await;
    let data = common::data_dir().display().to_string();
    let bad_cs = json!({"resourceType": "Parameters", "parameter": [
        {"name": "tx-resource", "resource": {"resourceType": "CodeSystem", "concept": 3}}]});
    let answers = [
        call(&app, get("/fhir/CodeSystem/nope")).await,
        call(&app, get("/fhir/ValueSet/$expand?url=http://nowhere")).await,
        call(&app, post("/fhir/CodeSystem/$lookup", &bad_cs)).await,
        call(
            &app,
            post(
                "/fhir/ValueSet/$expand",
                &json!({"resourceType": "Patient"}),
            ),
        )
        .await,
        call(&app, get("/fhir/CodeSystem/$lookup?system=%ZZ")).await,
        call(&app, get("/health/ready")).await,
    ];
    for (status, body) in answers {
        let text = body.to_string();
        assert!(!text.contains(&data), "{status}: {text}");
        for ext in [".csv", ".tabs", ".xml\"", "/data/", "/tmp/"] {
            assert!(!text.contains(ext), "{status}: {text}");
        }
    }
}

/// The time budget also stops the work itself: past the deadline, enumerating a filtered
/// value set over a large code system gives up instead of running on in the blocking pool
/// after the client was answered 503.
#[actix_web::test]
async fn past_the_deadline_enumeration_stops() {
    use nosterm::catalog::Catalog;
    use nosterm::error::Error;
    use nosterm::model::{
        CodeSystem, Compose, Concept, ConceptSetComponent, Filter, ResourceMeta, ValueSet,
    };
    use nosterm::ops::members::enumerate;
    use nosterm::ops::Scope;
    let concepts = (0..20_000)
        .map(|i| Concept {
            code: format!("c{i}"),
            display: Some(format!("Concept {i}")),
            ..Default::default()
        })
        .collect();
    let mut cat = Catalog::default();
    cat.add_code_system(CodeSystem::new(
        ResourceMeta {
            id: "big".into(),
            url: "http://example.org/big".into(),
            status: "active".into(),
            ..Default::default()
        },
        concepts,
    ));
    let vs = ValueSet {
        meta: ResourceMeta {
            url: "http://example.org/big-regex".into(),
            status: "active".into(),
            ..Default::default()
        },
        compose: Compose {
            include: vec![ConceptSetComponent {
                system: Some("http://example.org/big".into()),
                filters: vec![Filter {
                    property: "code".into(),
                    op: "regex".into(),
                    value: Some("c[0-9]*".into()),
                }],
                ..Default::default()
            }],
            ..Default::default()
        },
        ..Default::default()
    };
    let open = Scope::new(&cat);
    assert_eq!(enumerate(&open, &vs, 0).map(|m| m.len()).ok(), Some(20_000));
    let late = Scope {
        deadline: Some(Instant::now() - Duration::from_millis(1)),
        value_set_versions: &[],
        ..Scope::new(&cat)
    };
    match enumerate(&late, &vs, 0) {
        Err(Error::DeadlineExceeded(msg)) => assert!(msg.contains("time budget"), "{msg}"),
        other => panic!(
            "expected DeadlineExceeded, got {:?}",
            other.map(|m| m.len())
        ),
    }
}
