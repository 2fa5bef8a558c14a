//! The ANS `.tabs` loader, in both encodings: the bytes as given (UTF-8 or not), and, when
//! they are UTF-8 text of Latin-1 characters only, the same text encoded in ISO-8859-1.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nosterm::load::tabs::parse_tabs;

fuzz_target!(|data: &[u8]| {
    let _ = parse_tabs(data, "fuzz.tabs");
    if let Ok(text) = std::str::from_utf8(data) {
        let latin1: Option<Vec<u8>> = text.chars().map(|c| u8::try_from(c).ok()).collect();
        if let Some(latin1) = latin1 {
            if latin1.len() != data.len() {
                let _ = parse_tabs(&latin1, "fuzz.tabs");
            }
        }
    }
});
