//! The ANS `.tabs` loader, in both encodings: the bytes as given (UTF-8 or not), and, when
//! they are UTF-8 text of Latin-1 characters only, the same text encoded in ISO-8859-1.
//! Rules checked: both encodings of one text give the same answer (the same resource, or the
//! same errors at the same lines and columns); every error names the file; a table loaded
//! renders to FHIR JSON that loads back to the same resource.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nosterm::fhir::resources::round_trip_mismatch;
use nosterm::load::tabs::{decode, parse_tabs};
use nosterm::load::{same_content, LoadError, Resource};

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
    // Only when the ISO-8859-1 bytes read back as this text (not also valid UTF-8 of another).
    if latin1.len() == data.len() || decode(&latin1) != decode(data) {
        return;
    }
    let re_encoded = parse_tabs(&latin1, "fuzz.tabs");
    match (&as_given, &re_encoded) {
        (Ok(a), Ok(b)) => assert!(same_content(a, b), "UTF-8 {a:?}\nISO-8859-1 {b:?}"),
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => panic!("UTF-8 {as_given:?}\nISO-8859-1 {re_encoded:?}"),
    }
});
