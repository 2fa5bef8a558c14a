//! The whole HTTP app over the shipped data, as `nosterm serve` assembles it (`create_app`):
//! routing, headers, every handler: resource read and search, the operations, SVS (ITI-48,
//! ITI-60), `metadata`, the UI, health, metrics and the admin routes (an admin token is set,
//! and the fuzzer does not know it). `operations` drives the operations deeper; this target
//! reaches what no other does.
//!
//! Input: a method byte, a header byte (which `Accept`, `Content-Type`, `Accept-Language`
//! and `Authorization` to send), then `path?query\0body`. Rules checked: no panic, no 500,
//! a JSON answer is JSON, no answer shows where the data lies on disk (the checkout's path,
//! unless the request itself holds it, decoded), and an admin route
//! never answers 2xx to a request without the token.
#![no_main]

use std::cell::OnceCell;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::path::Path;
use std::pin::Pin;

use actix_web::dev::Service;
use actix_web::http::header::{ACCEPT, ACCEPT_LANGUAGE, AUTHORIZATION, CONTENT_TYPE};
use actix_web::http::{Method, Uri};
use actix_web::rt::System;
use actix_web::{test, web};
use libfuzzer_sys::fuzz_target;
use nosterm::config::{AppConfig, Secret};
use nosterm::state::AppState;

/// A request as the input describes it.
struct Call {
    method: Method,
    uri: String,
    headers: Vec<(actix_web::http::header::HeaderName, &'static str)>,
    body: Vec<u8>,
}

/// What the rules look at: status, content type, body.
type Answer = (u16, String, Vec<u8>);
type Client = Box<dyn Fn(Call) -> Pin<Box<dyn Future<Output = Answer>>>>;

struct World {
    runner: actix_web::rt::SystemRunner,
    send: Client,
    /// Where the data lies: no answer may show it.
    secrets: Vec<String>,
}

fn app(
    send: impl Service<
            actix_http::Request,
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
        > + 'static,
) -> Client {
    let send = std::rc::Rc::new(send);
    Box::new(move |call: Call| {
        let send = send.clone();
        Box::pin(async move {
            let mut req = test::TestRequest::default()
                .method(call.method)
                .uri(&call.uri)
                .set_payload(call.body);
            for (name, value) in call.headers {
                req = req.insert_header((name, value));
            }
            match send.call(req.to_request()).await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let ct = resp
                        .headers()
                        .get(CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    let body = test::read_body(resp).await.to_vec();
                    (status, ct, body)
                }
                // An error the app did not render: actix's own default answer.
                Err(e) => (
                    e.as_response_error().status_code().as_u16(),
                    String::new(),
                    Vec::new(),
                ),
            }
        })
    })
}

thread_local! {
    // Leaked, never dropped: the runtime cannot be torn down while thread-locals are (at exit).
    static WORLD: OnceCell<&'static World> = const { OnceCell::new() };
}

fn with_world<T>(f: impl FnOnce(&World) -> T) -> T {
    WORLD.with(|w| {
        let world = w.get_or_init(|| {
            let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
            let token = format!("{:032x}", RandomState::new().hash_one(std::process::id()));
            let config = AppConfig {
                admin_token: Some(Secret::new(token)),
                ..AppConfig::default()
            };
            let state = match AppState::load(&data, config) {
                Ok(state) => state,
                Err(errors) => panic!("the shipped data does not load: {errors:?}"),
            };
            let runner = System::new();
            let service = runner.block_on(test::init_service(nosterm::create_app(web::Data::new(
                state,
            ))));
            // The checkout the data lies in, as written and as resolved.
            let root = data.join("..");
            let mut secrets = vec![data.display().to_string()];
            if let Ok(real) = std::fs::canonicalize(&root) {
                secrets.push(real.display().to_string());
            }
            Box::leak(Box::new(World {
                runner,
                send: app(service),
                secrets,
            }))
        });
        f(world)
    })
}

/// `%XX` decoded, `+` as a space: what the app reads from a query, a path or a form.
fn decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', ..) => {
                out.push(b' ');
                i += 1;
            }
            (c, ..) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

const METHODS: [Method; 6] = [
    Method::GET,
    Method::GET,
    Method::POST,
    Method::POST,
    Method::PUT,
    Method::DELETE,
];
const ACCEPTS: [&str; 4] = [
    "application/fhir+json",
    "application/json, text/html;q=0.5",
    "application/fhir+xml",
    "*/*",
];
const CONTENT_TYPES: [&str; 4] = [
    "application/fhir+json",
    "application/x-www-form-urlencoded",
    "application/json; charset=utf-8",
    "text/plain",
];

// Loading the data, building its index and the app take a few seconds: done before fuzzing
// starts, or libFuzzer counts them against the first input's time limit.
fuzz_target!(init: { with_world(|_| ()); }, |data: &[u8]| {
    let [method, flags, rest @ ..] = data else { return };
    let (target, body) = match rest.iter().position(|b| *b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let Ok(target) = std::str::from_utf8(target) else {
        return;
    };
    let uri = if target.starts_with('/') {
        target.to_string()
    } else {
        format!("/fhir/{target}")
    };
    // What a client cannot send (an invalid request target) never reaches the app.
    if uri.parse::<Uri>().is_err() {
        return;
    }
    let mut headers = vec![(ACCEPT, ACCEPTS[usize::from(flags & 3)])];
    if !body.is_empty() {
        headers.push((CONTENT_TYPE, CONTENT_TYPES[usize::from((flags >> 2) & 3)]));
    }
    if flags & 0x10 != 0 {
        headers.push((ACCEPT_LANGUAGE, "en;q=0.9, fr"));
    }
    if flags & 0x20 != 0 {
        headers.push((AUTHORIZATION, "Bearer not-the-token"));
    }
    let call = Call {
        method: METHODS[usize::from(*method) % METHODS.len()].clone(),
        uri: uri.clone(),
        headers,
        body: body.to_vec(),
    };
    let (status, content_type, answer) = with_world(|w| {
        let answer = w.runner.block_on((w.send)(call));
        let text = String::from_utf8_lossy(&answer.2);
        // An answer may quote the request (a path it does not know); it may not show one
        // the client did not send.
        let body_text = String::from_utf8_lossy(body).replace("\\/", "/");
        let sent = format!("{uri}\n{}\n{body_text}\n{}", decoded(&uri), decoded(&body_text));
        for secret in w.secrets.iter().filter(|s| !sent.contains(s.as_str())) {
            assert!(
                !text.contains(secret.as_str()),
                "the answer shows where the data lies: {text}"
            );
        }
        answer
    });
    assert_ne!(status, 500, "500 on {uri}: {}", String::from_utf8_lossy(&answer));
    if content_type.contains("json") {
        assert!(
            serde_json::from_slice::<serde_json::Value>(&answer).is_ok(),
            "{uri}: {content_type} that is not JSON"
        );
    }
    if uri.starts_with("/admin") {
        assert!(!(200..300).contains(&status), "{uri} answered {status} without the token");
    }
});
