//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::PathBuf;

use actix_web::web;
use nosterm::config::AppConfig;
use nosterm::state::AppState;

/// The shipped `data/` folder.
pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("data")
}

/// A server state over the shipped data (the test fails if it does not load).
pub fn shipped_state() -> web::Data<AppState> {
    match AppState::load(&data_dir(), AppConfig::default()) {
        Ok(s) => web::Data::new(s),
        Err(errors) => panic!("shipped data must load: {errors:?}"),
    }
}

/// Percent-encodes a query-string value.
pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A server state over a folder of the test fixtures (the test fails if it does not load).
pub fn state_of(dir: &std::path::Path) -> web::Data<AppState> {
    match AppState::load(dir, AppConfig::default()) {
        Ok(s) => web::Data::new(s),
        Err(errors) => panic!("{} must load: {errors:?}", dir.display()),
    }
}

/// A fixture folder under `tests/fixtures`.
pub fn fixture_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The in-process app, as `test::init_service` returns it.
pub trait App:
    actix_web::dev::Service<
    actix_http::Request,
    Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
    Error = actix_web::Error,
>
{
}

impl<S> App for S where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
    >
{
}

/// Sends a request, returning (status, body as JSON; `Null` when the body is not JSON).
pub async fn send<S: App>(app: &S, req: actix_http::Request) -> (u16, serde_json::Value) {
    let resp = actix_web::test::call_service(app, req).await;
    let status = resp.status().as_u16();
    let body = actix_web::test::read_body(resp).await;
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

/// GET `uri`: (status, JSON body).
pub async fn get_json<S: App>(app: &S, uri: &str) -> (u16, serde_json::Value) {
    send(
        app,
        actix_web::test::TestRequest::get().uri(uri).to_request(),
    )
    .await
}

/// POST a FHIR JSON body to `uri`: (status, JSON body).
pub async fn post_json<S: App>(
    app: &S,
    uri: &str,
    body: &serde_json::Value,
) -> (u16, serde_json::Value) {
    let req = actix_web::test::TestRequest::post()
        .uri(uri)
        .insert_header(("content-type", "application/fhir+json"))
        .set_payload(body.to_string())
        .to_request();
    send(app, req).await
}

/// The value of the `Parameters` parameter `name`, whatever its `value[x]` type.
pub fn param_value<'a>(p: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    p["parameter"]
        .as_array()?
        .iter()
        .find(|x| x["name"] == name)
        .and_then(|x| {
            x.as_object()?
                .iter()
                .find(|(k, _)| k.starts_with("value"))
                .map(|(_, v)| v)
        })
}
