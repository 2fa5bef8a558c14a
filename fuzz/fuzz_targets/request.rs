//! Request decoding: a query string, a `Parameters` body, and the `tx-resource` (or
//! `valueSet`) resources it carries, read as the server reads them and added to a catalog.
//!
//! Input: `query\0body` (no `\0`: the whole input is both a query string and a body).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nosterm::catalog::Catalog;
use nosterm::fhir::params::{ParamValue, Params};
use nosterm::load::{fhir_json::parse_resource, Resource};

fuzz_target!(|data: &[u8]| {
    let (query, body) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, data),
    };
    if let Ok(q) = std::str::from_utf8(query) {
        let _ = Params::from_query_limited(q, 1_000);
        let _ = Params::from_query_all(q);
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let Ok(params) = Params::from_json_limited(&json, 1_000) else {
        return;
    };
    let _ = params.count();
    let mut cat = Catalog::default();
    for (_, v) in &params.0 {
        let ParamValue::Resource(r) = v else { continue };
        match parse_resource(r) {
            Ok(Resource::CodeSystem(cs)) => cat.add_code_system(cs),
            Ok(Resource::ValueSet(vs)) => cat.add_value_set(vs),
            Ok(Resource::ConceptMap(cm)) => cat.add_concept_map(cm),
            Ok(Resource::Alias { .. }) | Err(_) => {}
        }
    }
});
