//! The FHIR R4 JSON loader (resources and Bundles), from file bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nosterm::load::fhir_json::parse_file;

fuzz_target!(|data: &[u8]| {
    let _ = parse_file(data, "fuzz.json");
});
