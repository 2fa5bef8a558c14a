//! Times the decoding of a catalog snapshot, alone: `cargo run --release --example
//! snapshot_read -- INDEX_DIR/catalog-<key>.bin` (prints wall time; run under `time` for CPU).

use std::path::Path;
use std::time::Instant;

/// The server's allocator: decoding is mostly allocation.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let Some(file) = std::env::args().nth(1) else {
        eprintln!("usage: snapshot_read INDEX_DIR/catalog-<key>.bin");
        std::process::exit(2);
    };
    let path = Path::new(&file);
    let key = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix("catalog-"))
        .and_then(|n| n.strip_suffix(".bin"))
        .and_then(|k| u64::from_str_radix(k, 16).ok());
    let (Some(dir), Some(key)) = (path.parent(), key) else {
        eprintln!("not a snapshot file name: {file}");
        std::process::exit(2);
    };
    let started = Instant::now();
    match nosterm::store::read::<nosterm::search::Entries>(dir, key) {
        Ok(Some(s)) => {
            let concepts: usize = s
                .dataset
                .code_systems
                .iter()
                .map(|c| c.concepts.len())
                .sum();
            let entries = s.entries.as_ref().map_or(0, |(e, _)| e.entries.len());
            println!(
                "decoded in {:.3} s: {concepts} concepts, {entries} entries",
                started.elapsed().as_secs_f64()
            );
            // Skips freeing a gigabyte: the server keeps it too.
            std::process::exit(0);
        }
        Ok(None) => eprintln!("no snapshot"),
        Err(e) => eprintln!("unusable snapshot: {e}"),
    }
    std::process::exit(1);
}
