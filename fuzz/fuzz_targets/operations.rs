//! The terminology operations over the shipped data, driven as a request drives them: an
//! operation, maybe an instance id, a query string and a body (a `Parameters` resource, its
//! `tx-resource`s included, or a form). Past request decoding (`request`), this reaches
//! `$lookup`, `$validate-code`, `$subsumes`, `$expand` (filters, paging, languages),
//! `$batch-validate-code` and `$translate`.
//!
//! Input: an operation byte, an id byte, then `query\0body` (no `\0`: the rest is the query
//! and the body is empty, as in a GET). Rules checked: no panic, no 500 (`Error::Internal` is
//! a bug), and an answer is JSON.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use actix_web::http::header::{HeaderMap, HeaderValue, ACCEPT_LANGUAGE, CONTENT_TYPE};
use libfuzzer_sys::fuzz_target;
use nosterm::catalog::Canonical;
use nosterm::config::AppConfig;
use nosterm::error::Error;
use nosterm::http::fuzzing::{answer_in_place, RequestHead};
use nosterm::state::AppState;

const OPERATIONS: &[(&str, &str)] = &[
    ("CodeSystem", "lookup"),
    ("CodeSystem", "validate-code"),
    ("CodeSystem", "subsumes"),
    ("ValueSet", "validate-code"),
    ("ValueSet", "expand"),
    ("ValueSet", "batch-validate-code"),
    ("ConceptMap", "translate"),
    ("ValueSet", "lookup"),
];

struct World {
    state: AppState,
    /// Instance ids by resource type, as the catalog holds them.
    ids: [Vec<String>; 3],
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
        let state = match AppState::load(&data, AppConfig::default()) {
            Ok(state) => state,
            Err(errors) => panic!("the shipped data does not load: {errors:?}"),
        };
        let cat = &state.release().catalog;
        let ids = [
            cat.code_systems
                .all()
                .iter()
                .map(|r| r.meta().id.clone())
                .collect(),
            cat.value_sets
                .all()
                .iter()
                .map(|r| r.meta().id.clone())
                .collect(),
            cat.concept_maps
                .all()
                .iter()
                .map(|r| r.meta().id.clone())
                .collect(),
        ];
        World { state, ids }
    })
}

// Loading the data and building its index takes a second or two, more on a loaded machine:
// done before fuzzing starts, or libFuzzer counts it against the first input's time limit.
fuzz_target!(init: { world(); }, |data: &[u8]| {
    let [op, id, rest @ ..] = data else { return };
    let world = world();
    let (rtype, name) = OPERATIONS[usize::from(*op) % OPERATIONS.len()];
    let kind = ["CodeSystem", "ValueSet", "ConceptMap"]
        .iter()
        .position(|k| *k == rtype)
        .unwrap_or(0);
    // Half the inputs are type-level; the others name one of the catalog's resources.
    let id = (id & 1 == 1)
        .then(|| world.ids[kind].get(usize::from(id >> 1) % world.ids[kind].len().max(1)))
        .flatten()
        .map(String::as_str);
    let (query, body) = match rest.iter().position(|b| *b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let Ok(query) = std::str::from_utf8(query) else {
        return;
    };
    let mut headers = HeaderMap::new();
    if !body.is_empty() {
        let form = body.first() == Some(&b'f');
        let ct = if form {
            "application/x-www-form-urlencoded"
        } else {
            "application/fhir+json"
        };
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    if op & 0x80 != 0 {
        headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("en, fr;q=0.8"));
    }
    let head = RequestHead::from_parts(query, headers);
    match answer_in_place(&world.state, rtype, id, name, &head, body) {
        Ok(answer) => {
            assert!(
                serde_json::from_slice::<serde_json::Value>(&answer).is_ok(),
                "not JSON"
            );
        }
        Err(Error::Internal(message)) => panic!("500 on a request: {message}"),
        Err(_) => {}
    }
});
