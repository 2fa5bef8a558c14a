//! The FHIR R4 JSON loader (resources and Bundles), from file bytes. Rules checked: every
//! error names the file, and every resource loaded renders to FHIR JSON that loads back to
//! the same resource (what a read serves is what was loaded).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nosterm::fhir::resources::round_trip_mismatch;
use nosterm::load::fhir_json::parse_file;

fuzz_target!(|data: &[u8]| {
    match parse_file(data, "fuzz.json") {
        Ok(resources) => {
            for r in &resources {
                if let Some(why) = round_trip_mismatch(r) {
                    panic!("{why}");
                }
            }
        }
        Err(errors) => {
            for e in &errors {
                assert_eq!(e.file, "fuzz.json", "{e}");
            }
        }
    }
});
