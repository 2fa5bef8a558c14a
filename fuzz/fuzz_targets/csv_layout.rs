//! The CSV layout loader (`catalog.csv` + one CSV per table) from files in memory.
//!
//! Input: `name\0content\0name\0content…` (the first file is normally `catalog.csv`; the
//! seed corpus packs the shipped `data/` this way, see `scripts/fuzz`). Rules checked: every
//! error names a file of the input; every resource of a load without errors renders to FHIR JSON that loads
//! back to the same resource.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use nosterm::fhir::resources::round_trip_mismatch;
use nosterm::load::csv_layout::load_files;

fuzz_target!(|data: &[u8]| {
    let mut files = HashMap::new();
    let mut parts = data.split(|b| *b == 0);
    while let (Some(name), Some(content)) = (parts.next(), parts.next()) {
        let name = String::from_utf8_lossy(name).into_owned();
        files.insert(name, content.to_vec());
    }
    let out = load_files(&files, "fuzz/");
    // Every error names its file.
    for e in &out.errors {
        assert!(e.file.starts_with("fuzz/"), "{e}");
    }
    // What a read serves loads back to what was loaded. A load with errors is refused whole
    // (`load_dir`): its resources are never served.
    if !out.errors.is_empty() {
        return;
    }
    for r in &out.resources {
        if let Some(why) = round_trip_mismatch(r) {
            panic!("{why}");
        }
    }
});
