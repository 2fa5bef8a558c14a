//! The IHE SVS XML loader, from file bytes. Rules checked: every error and warning names the
//! file, and every value set loaded renders to FHIR JSON that loads back to the same one.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nosterm::fhir::resources::round_trip_mismatch;
use nosterm::load::svs::parse_svs;
use nosterm::load::Resource;

fuzz_target!(|data: &[u8]| match parse_svs(data, "fuzz.xml") {
    Ok(file) => {
        for w in &file.warnings {
            assert_eq!(w.file, "fuzz.xml", "{w}");
        }
        for vs in file.value_sets {
            if let Some(why) = round_trip_mismatch(&Resource::ValueSet(vs)) {
                panic!("{why}");
            }
        }
    }
    Err(errors) => {
        for e in &errors {
            assert_eq!(e.file, "fuzz.xml", "{e}");
        }
    }
});
