//! Request decoding: a query string, a `Parameters` body, and the `tx-resource` (or
//! `valueSet`) resources it carries, read as the server reads them and added to a catalog.
//!
//! Input: `query\0body` (no `\0`: the whole input is both a query string and a body).
//! Rules checked: the parameter limit (a limit from 1 to 64, by input length) refuses a query
//! or body exactly when it holds more parameters than that (every `&` piece of a query, every
//! nested `part` of a body), and what it accepts reads as without a limit (`_` control
//! parameters aside); the fast path for simple bodies (`from_simple_json`) reads what the
//! general reader reads; a resource carried renders to FHIR JSON that loads back to the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nosterm::catalog::Catalog;
use nosterm::fhir::params::{ParamValue, Params};
use nosterm::fhir::resources::round_trip_mismatch;
use nosterm::load::{fhir_json::parse_resource, Resource};

fuzz_target!(|data: &[u8]| {
    // A limit small enough that inputs land on both sides of it.
    let limit = data.len() % 64 + 1;
    let (query, body) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, data),
    };
    if let Ok(q) = std::str::from_utf8(query) {
        // The rule: every non-empty `&` piece counts, `_` control parameters included.
        let pieces = q.split('&').filter(|p| !p.is_empty()).count();
        let limited = Params::from_query_limited(q, limit);
        let all = Params::from_query_all(q);
        match (&limited, &all) {
            (Ok(limited), Ok(all)) => {
                assert!(
                    pieces <= limit,
                    "{pieces} pieces read under a limit of {limit}"
                );
                let public: Vec<_> = all.0.iter().filter(|(k, _)| !k.starts_with('_')).collect();
                assert_eq!(limited.0.iter().collect::<Vec<_>>(), public);
            }
            (Err(e), Ok(_)) => assert!(pieces > limit, "refused within the limit: {e}"),
            (Ok(_), Err(e)) => panic!("read under the limit, refused without it: {e}"),
            (Err(_), Err(_)) => {}
        }
    }
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    let unlimited = Params::from_json_limited(&json, usize::MAX);
    let limited = Params::from_json_limited(&json, limit);
    match (&limited, &unlimited) {
        (Ok(l), Ok(u)) => {
            assert!(
                u.count() <= limit,
                "{} parameters read under {limit}",
                u.count()
            );
            assert_eq!(l, u);
        }
        (Err(e), Ok(u)) => assert!(u.count() > limit, "refused within the limit: {e}"),
        (Ok(_), Err(e)) => panic!("read under the limit, refused without it: {e}"),
        (Err(_), Err(_)) => {}
    }
    // The server's fast path for simple bodies reads what the general reader reads.
    if let Some(simple) = Params::from_simple_json(body, limit) {
        match &limited {
            Ok(l) => assert_eq!(&simple, l, "fast path and general reader differ"),
            Err(e) => panic!("the fast path read a body the general reader refuses: {e}"),
        }
    }
    let Ok(params) = unlimited else {
        return;
    };
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
