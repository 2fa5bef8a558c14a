//! Request decoding: a query string, a `Parameters` body, and the `tx-resource` (or
//! `valueSet`) resources it carries, read as the server reads them and added to a catalog.
//!
//! Input: `query\0body` (no `\0`: the whole input is both a query string and a body).
//! Rules checked: the parameter limit holds (a query or body read under a limit never holds
//! more than it; a query within it reads as without it, `_` control parameters aside); a
//! resource carried renders to FHIR JSON that loads back to the same resource.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nosterm::catalog::Catalog;
use nosterm::fhir::params::{ParamValue, Params};
use nosterm::fhir::resources::round_trip_mismatch;
use nosterm::load::{fhir_json::parse_resource, Resource};

const LIMIT: usize = 1_000;

fuzz_target!(|data: &[u8]| {
    let (query, body) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, data),
    };
    if let Ok(q) = std::str::from_utf8(query) {
        let limited = Params::from_query_limited(q, LIMIT);
        let all = Params::from_query_all(q);
        match (&limited, &all) {
            (Ok(limited), Ok(all)) => {
                assert!(limited.count() <= LIMIT);
                let public: Vec<_> = all.0.iter().filter(|(k, _)| !k.starts_with('_')).collect();
                assert_eq!(limited.0.iter().collect::<Vec<_>>(), public);
            }
            // Refused for its size or its syntax: either way not a partial read.
            (Err(_), _) => {}
            (Ok(_), Err(e)) => panic!("read under the limit, refused without it: {e}"),
        }
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let Ok(params) = Params::from_json_limited(&json, LIMIT) else {
        return;
    };
    assert!(params.count() <= LIMIT, "{} parameters read", params.count());
    let mut cat = Catalog::default();
    for (_, v) in &params.0 {
        let ParamValue::Resource(r) = v else { continue };
        let Ok(resource) = parse_resource(r) else {
            continue;
        };
        if let Some(why) = round_trip_mismatch(&resource) {
            panic!("{why}");
        }
        match resource {
            Resource::CodeSystem(cs) => cat.add_code_system(cs),
            Resource::ValueSet(vs) => cat.add_value_set(vs),
            Resource::ConceptMap(cm) => cat.add_concept_map(cm),
            Resource::Alias { .. } => {}
        }
    }
});
