//! The IHE SVS XML loader, from file bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nosterm::load::svs::parse_svs;

fuzz_target!(|data: &[u8]| {
    let _ = parse_svs(data, "fuzz.xml");
});
