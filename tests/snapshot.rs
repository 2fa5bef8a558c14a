//! The catalog snapshot saved next to the search index: a round trip gives back exactly what
//! the files give; a corrupted, truncated, foreign or stale snapshot is never used.

mod common;

use std::fs;
use std::path::Path;

use nosterm::catalog::Catalog;
use nosterm::config::AppConfig;
use nosterm::load::load_dir;
use nosterm::ops::members::ExpansionMembers;
use nosterm::reload::{reload, SaveSnapshot};
use nosterm::search::Entries;
use nosterm::state::AppState;
use nosterm::store::{self as snapshot, Contents};

use common::{copy_tree, data_dir, TempDir};

const R10: &str =
    "https://mos.esante.gouv.fr/NOS/TRE_R10-SexeAdministratif/FHIR/TRE-R10-SexeAdministratif";

/// Loads `data` as `nosterm index` does, saving the snapshot in `index`.
fn index(data: &Path, index: &Path) -> AppState {
    let state = AppState::empty(AppConfig {
        data: Some(data.to_path_buf()),
        index: Some(index.to_path_buf()),
        ..AppConfig::default()
    });
    reload(&state, None, SaveSnapshot::BeforeReturning).unwrap();
    state
}

/// The display of R10#M as served.
fn r10_m(state: &AppState) -> Option<String> {
    let snap = state.release();
    let cs = snap.catalog.code_systems.get(R10, None)?;
    cs.concept("M")?.display.clone()
}

#[test]
fn round_trip_gives_back_exactly_what_the_files_give() {
    let tmp = TempDir::new("roundtrip");
    let data = data_dir();
    index(&data, &tmp.0);
    let key = nosterm::reload::data_key(&data).unwrap();
    let stored = snapshot::read::<Entries>(&tmp.0, key)
        .unwrap()
        .expect("a snapshot");
    let fresh = load_dir(&data).unwrap();
    let back = &stored.dataset;
    assert_eq!(back.code_systems.len(), fresh.code_systems.len());
    // Every code system, with every concept, designation and property, and its code and
    // hierarchy look-ups (rebuilt), equals the freshly loaded one.
    for (a, b) in back.code_systems.iter().zip(&fresh.code_systems) {
        assert_eq!(a, b, "{}", b.meta.url);
        for c in &b.concepts {
            assert_eq!(a.concept(&c.code), Some(c));
        }
    }
    assert_eq!(back.value_sets, fresh.value_sets);
    assert_eq!(back.concept_maps, fresh.concept_maps);
    assert_eq!(back.aliases, fresh.aliases);
    assert_eq!(back.warnings, fresh.warnings);
    // The saved search entries are those the fresh catalog gives.
    let (entries, fp) = stored.entries.expect("search entries saved");
    let expected = Entries::collect(&Catalog::from_dataset(fresh), &ExpansionMembers);
    assert_eq!(entries.entries, expected.entries);
    assert_eq!(
        fp,
        expected.fingerprint(nosterm::search::schema::SCHEMA_VERSION)
    );
    let keys = |e: &Entries| e.scopes.iter().map(|s| s.key.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&entries), keys(&expected));
}

#[test]
fn a_sound_snapshot_is_used_and_a_changed_file_invalidates_it() {
    let tmp = TempDir::new("used");
    let data = tmp.0.join("data");
    copy_tree(&data_dir(), &data);
    let ix = tmp.0.join("index");
    let first = index(&data, &ix);
    assert_eq!(r10_m(&first).as_deref(), Some("Masculin"));
    // A snapshot saying something the files do not: if it is read, the display shows it.
    let key = nosterm::reload::data_key(&data).unwrap();
    let mut dataset = load_dir(&data).unwrap();
    for cs in &mut dataset.code_systems {
        if cs.meta.url == R10 {
            for c in &mut cs.concepts {
                if c.code == "M" {
                    c.display = Some("from the snapshot".into());
                }
            }
        }
    }
    let contents: Contents<Entries> = Contents {
        code_systems: dataset.code_systems.iter().collect(),
        value_sets: dataset.value_sets.iter().collect(),
        concept_maps: dataset.concept_maps.iter().collect(),
        aliases: &dataset.aliases,
        warnings: &dataset.warnings,
        entries: None,
    };
    snapshot::write(&ix, key, &contents).unwrap();
    let again = index(&data, &ix);
    assert_eq!(r10_m(&again).as_deref(), Some("from the snapshot"));

    // One byte changed in a data file (same size, same name): the snapshot is stale.
    let csv = data.join("CodeSystem-TRE-R10-SexeAdministratif.csv");
    let mut bytes = fs::read(&csv).unwrap();
    let at = bytes
        .windows(10)
        .position(|w| w == b"M,Masculin")
        .expect("R10#M in the file");
    bytes[at + 2] = b'm';
    fs::write(&csv, &bytes).unwrap();
    assert_ne!(nosterm::reload::data_key(&data).unwrap(), key);
    let changed = index(&data, &ix);
    assert_eq!(r10_m(&changed).as_deref(), Some("masculin"));
    // The stale snapshot was replaced by the new one.
    let names: Vec<String> = fs::read_dir(&ix)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("catalog-"))
        .collect();
    let new_key = nosterm::reload::data_key(&data).unwrap();
    assert_eq!(names, vec![format!("catalog-{new_key:016x}.bin")]);
}

/// Damages the snapshot of `data` in `ix` with `damage`; it must be refused and the next load
/// must come from the files and save a sound snapshot again.
fn refused_then_rebuilt(tag: &str, damage: impl Fn(&mut Vec<u8>)) {
    let tmp = TempDir::new(tag);
    let data = data_dir();
    let ix = tmp.0.join("index");
    index(&data, &ix);
    let key = nosterm::reload::data_key(&data).unwrap();
    let path = snapshot::path_for(&ix, key);
    let mut bytes = fs::read(&path).unwrap();
    damage(&mut bytes);
    fs::write(&path, &bytes).unwrap();
    assert!(
        snapshot::read::<Entries>(&ix, key).is_err(),
        "{tag}: damaged snapshot accepted"
    );
    let state = index(&data, &ix);
    assert_eq!(
        state.release().catalog.concept_count(),
        Catalog::from_dataset(load_dir(&data).unwrap()).concept_count()
    );
    assert!(
        snapshot::read::<Entries>(&ix, key).unwrap().is_some(),
        "{tag}: not rebuilt"
    );
}

#[test]
fn a_corrupted_snapshot_is_ignored_and_rebuilt() {
    refused_then_rebuilt("corrupt", |b| {
        let mid = b.len() / 2;
        b[mid] ^= 0x55;
    });
}

#[test]
fn a_truncated_snapshot_is_ignored_and_rebuilt() {
    refused_then_rebuilt("truncated", |b| b.truncate(b.len() - 100));
}

#[test]
fn a_snapshot_of_another_format_or_version_is_ignored() {
    // Format number (bytes 16..20 of the header).
    refused_then_rebuilt("format", |b| b[16] = b[16].wrapping_add(1));
    // nosterm version, the first string of the payload (after the header and its 4-byte
    // length): a snapshot written by another release.
    refused_then_rebuilt("version", |b| {
        let sections = u32::from_le_bytes([b[28], b[29], b[30], b[31]]) as usize;
        b[32 + 16 * sections + 4] = b'9';
    });
}

#[test]
fn a_snapshot_whose_sections_do_not_line_up_is_ignored() {
    // One byte moved from the second section to the first in the section table: the total
    // still matches the file size.
    refused_then_rebuilt("sections", |b| {
        let first = u64::from_le_bytes(b[32..40].try_into().unwrap());
        let second = u64::from_le_bytes(b[48..56].try_into().unwrap());
        b[32..40].copy_from_slice(&(first + 1).to_le_bytes());
        b[48..56].copy_from_slice(&(second - 1).to_le_bytes());
    });
    // A byte changed in the last concept section.
    refused_then_rebuilt("concepts", |b| {
        let at = b.len() - 10;
        b[at] ^= 0x55;
    });
}

#[test]
fn hash_is_stable_across_chunking() {
    let text: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut whole = snapshot::Hash64::default();
    whole.write(&text);
    for split in [1usize, 3, 7, 8, 9, 31, 32, 33, 4095] {
        let mut parts = snapshot::Hash64::default();
        for c in text.chunks(split) {
            parts.write(c);
        }
        assert_eq!(parts.finish(), whole.finish(), "chunks of {split}");
    }
    let mut other = snapshot::Hash64::default();
    let mut changed = text.clone();
    changed[5000] ^= 1;
    other.write(&changed);
    assert_ne!(other.finish(), whole.finish());
}
