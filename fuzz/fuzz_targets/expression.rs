//! The SNOMED CT compositional grammar parser: never panics, errors point inside the input,
//! and whatever parses prints back to text that parses to the same expression.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nosterm::snomed::expression::{is_expression, parse, parse_strict};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = is_expression(text);
    let _ = parse_strict(text);
    match parse(text) {
        Ok(e) => {
            let printed = e.to_string();
            let again = parse(&printed).expect("a printed expression parses");
            assert_eq!(again.to_string(), printed);
            let canonical = e.canonical();
            assert_eq!(parse(&canonical).map(|x| x.canonical()), Ok(canonical));
        }
        Err(err) => assert!(err.position <= text.chars().count(), "{err}"),
    }
});
