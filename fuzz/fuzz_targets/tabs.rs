//! The ANS `.tabs` loader, in both encodings: the bytes as given (UTF-8 or not), and, when
//! they are UTF-8 text of Latin-1 characters only, the same text encoded in ISO-8859-1.
//! Rules checked: the ISO-8859-1 bytes of a text decode to that text (so both encodings give
//! the same table or the same errors); every error names the file; a table loaded renders to
//! FHIR JSON that loads back to the same resource.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nosterm::fhir::resources::round_trip_mismatch;
use nosterm::load::tabs::{decode, parse_tabs};
use nosterm::load::{LoadError, Resource};

fn check(out: &Result<Resource, Vec<LoadError>>) {
    match out {
        Ok(r) => {
            if let Some(why) = round_trip_mismatch(r) {
                panic!("{why}");
            }
        }
        Err(errors) => {
            for e in errors {
                assert_eq!(e.file, "fuzz.tabs", "{e}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let as_given = parse_tabs(data, "fuzz.tabs");
    check(&as_given);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(latin1) = text
        .chars()
        .map(|c| u8::try_from(c).ok())
        .collect::<Option<Vec<u8>>>()
    else {
        return;
    };
    // ISO-8859-1 bytes that are also valid UTF-8 read as UTF-8 (the detection cannot tell);
    // any others must decode to this very text, so that both encodings load the same table
    // (`parse_tabs` reads its bytes only through `decode`).
    if latin1.len() == data.len() || std::str::from_utf8(&latin1).is_ok() {
        return;
    }
    assert_eq!(decode(&latin1), text, "ISO-8859-1 decoding");
});
