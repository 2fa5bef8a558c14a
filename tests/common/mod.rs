//! The one harness of the integration tests: the states they serve, the in-process app
//! (`start`, as `main` builds it with `create_app`), requests in FHIR JSON, and readers of
//! the answers. Every file under `tests/` takes what it needs from here.
#![allow(dead_code)] // each test crate uses a different subset

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::{test, web};
use nosterm::config::AppConfig;
use nosterm::state::AppState;
use serde_json::Value;

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
pub fn state_of(dir: &Path) -> web::Data<AppState> {
    state_with(dir, AppConfig::default())
}

/// A server state over `dir` with `config` (the test fails if it does not load).
pub fn state_with(dir: &Path, config: AppConfig) -> web::Data<AppState> {
    match AppState::load(dir, config) {
        Ok(s) => web::Data::new(s),
        Err(errors) => panic!("{} must load: {errors:?}", dir.display()),
    }
}

/// The in-process app over `state`, as `main` serves it.
pub async fn start(state: web::Data<AppState>) -> impl App {
    test::init_service(nosterm::create_app(state)).await
}

/// A fresh folder under the system temp dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("nosterm-test-{tag}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    /// Writes `bytes` at `rel`, creating the folders on the way.
    pub fn write(&self, rel: &str, bytes: impl AsRef<[u8]>) {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Replaces line `line` (1-based) of a CRLF or LF text file by `f(line)`.
pub fn edit_line(file: &Path, line: usize, f: impl Fn(&str) -> String) {
    let text = fs::read_to_string(file).unwrap();
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    let cr = lines[line - 1].ends_with('\r');
    let body = lines[line - 1].trim_end_matches('\r').to_string();
    lines[line - 1] = f(&body) + if cr { "\r" } else { "" };
    fs::write(file, lines.join("\n")).unwrap();
}

/// Copies the folder `from` into `to`, recursively.
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &to.join(e.file_name()));
        } else {
            fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
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

/// Sends a request: (status, body as JSON). An empty body is `Null`; any other body must be
/// JSON (the test fails, showing it, when it is not).
pub async fn call<S: App>(app: &S, req: actix_http::Request) -> (u16, Value) {
    let resp = test::call_service(app, req).await;
    let status = resp.status().as_u16();
    let body = test::read_body(resp).await;
    if body.is_empty() {
        return (status, Value::Null);
    }
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("JSON body ({e}): {}", String::from_utf8_lossy(&body)));
    (status, json)
}

/// A GET request.
pub fn get(uri: &str) -> actix_http::Request {
    test::TestRequest::get().uri(uri).to_request()
}

/// A POST request with a FHIR JSON body.
pub fn post(uri: &str, body: &Value) -> actix_http::Request {
    test::TestRequest::post()
        .uri(uri)
        .insert_header(("content-type", "application/fhir+json"))
        .set_payload(body.to_string())
        .to_request()
}

/// GET `uri`, which must answer FHIR JSON (content type and body): (status, body).
pub async fn get_fhir<S: App>(app: &S, uri: &str) -> (u16, Value) {
    let resp = test::call_service(app, get(uri)).await;
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        ctype.starts_with("application/fhir+json"),
        "{uri}: content-type {ctype}"
    );
    let body = test::read_body(resp).await;
    let json = serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{uri}: JSON body ({e}): {}", String::from_utf8_lossy(&body)));
    (status, json)
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

/// POST a FHIR JSON body to `uri`: (status, JSON body; `Null` when the body is not JSON).
pub async fn post_json<S: App>(
    app: &S,
    uri: &str,
    body: impl std::borrow::Borrow<Value>,
) -> (u16, Value) {
    send(app, post(uri, body.borrow())).await
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

/// The codes of an expansion, in order; `v` is the `ValueSet` or its `expansion`.
pub fn codes(v: &Value) -> Vec<String> {
    let expansion = if v.get("expansion").is_some() {
        &v["expansion"]
    } else {
        v
    };
    expansion["contains"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["code"].as_str().map(str::to_string))
        .collect()
}

/// The `details` codes of the issues of a `Parameters` answer's `issues` resource.
pub fn issue_codes(p: &Value) -> Vec<String> {
    p["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|x| x["name"] == "issues")
        .flat_map(|x| {
            x["resource"]["issue"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|i| {
            i["details"]["coding"][0]["code"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

/// An `OperationOutcome` whose first issue is an error with this `code`.
pub fn assert_outcome(body: &Value, code: &str) {
    assert_eq!(body["resourceType"], "OperationOutcome", "{body}");
    assert_eq!(body["issue"][0]["severity"], "error", "{body}");
    assert_eq!(body["issue"][0]["code"], code, "{body}");
}

/// The `version` of each resource of a search `Bundle`, sorted.
pub fn bundle_versions(bundle: &Value) -> Vec<String> {
    let mut versions: Vec<String> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["resource"]["version"].as_str().map(str::to_string))
        .collect();
    versions.sort();
    versions
}
