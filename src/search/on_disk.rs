//! The index on disk: `DIR/index-<fingerprint>/` (tantivy files) and `DIR/fingerprint` (the
//! fingerprint of the data it was built from). A stale or broken index is rebuilt aside, in
//! `index-<fingerprint>.tmp`, renamed into place, and only then recorded and the old one
//! removed: a crash at any point leaves either the old index or the new one, never half of one.

use std::fs;
use std::path::{Path, PathBuf};

use tantivy::Index;

use super::entries::{Entries, MemberLister};
use super::schema::{self, SCHEMA_VERSION};
use super::{write, Result, SearchError, SearchIndex};
use crate::catalog::Catalog;

pub const FINGERPRINT_FILE: &str = "fingerprint";
const PREFIX: &str = "index-";

/// What `open_or_build` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provenance {
    /// The index on disk matched the data and was reused.
    Opened,
    /// There was no index: built.
    Built,
    /// The index on disk was stale (other data or version) or unreadable: rebuilt.
    Rebuilt,
}

fn hex(fp: u64) -> String {
    format!("{fp:016x}")
}

/// Opens the index at `path` for `data`; on error `data` is given back, for a rebuild.
fn open_existing(
    path: &Path,
    data: Entries,
    fingerprint: u64,
) -> std::result::Result<SearchIndex, Box<(SearchError, Entries)>> {
    let checked = (|| {
        let index = Index::open_in_dir(path)?;
        let fields = schema::resolve(&index.schema())?;
        let found = index.reader()?.searcher().num_docs();
        let expected = data.entries.len() as u64;
        if found != expected {
            return Err(SearchError::Invalid(format!(
                "{found} documents on disk, {expected} expected"
            )));
        }
        Ok((index, fields))
    })();
    match checked {
        Ok((index, fields)) => SearchIndex::assemble(index, fields, data, fingerprint)
            .map_err(|e| Box::new((e, Entries::default()))),
        Err(e) => Err(Box::new((e, data))),
    }
}

/// Writes `path` atomically (temporary file, then rename).
fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, contents)?;
    fs::rename(&tmp, path)
}

fn build_at(dir: &Path, name: &str, data: &Entries) -> Result<PathBuf> {
    let final_path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir_all(&tmp)?;
    {
        let (schema, fields) = schema::build();
        let index = Index::create_in_dir(&tmp, schema)?;
        write(&index, &fields, data)?;
    }
    if final_path.exists() {
        fs::remove_dir_all(&final_path)?;
    }
    fs::rename(&tmp, &final_path)?;
    Ok(final_path)
}

/// Removes every `index-*` folder but `keep`.
fn remove_others(dir: &Path, keep: &str) {
    let Ok(list) = fs::read_dir(dir) else {
        return;
    };
    for item in list.flatten() {
        let name = item.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(PREFIX) && name != keep && item.path().is_dir() {
            if let Err(e) = fs::remove_dir_all(item.path()) {
                tracing::warn!(
                    "cannot remove old search index {}: {e}",
                    item.path().display()
                );
            }
        }
    }
}

pub fn open_or_build(
    dir: &Path,
    catalog: &Catalog,
    members: &dyn MemberLister,
) -> Result<(SearchIndex, Provenance)> {
    let data = Entries::collect(catalog, members);
    crate::probe::stage("search entries collected");
    let fingerprint = data.fingerprint(SCHEMA_VERSION);
    crate::probe::stage("search entries fingerprinted");
    open_or_build_entries(dir, data, fingerprint)
}

/// `open_or_build` over entries collected beforehand (e.g. read from a catalog snapshot),
/// whose `Entries::fingerprint(SCHEMA_VERSION)` is `fingerprint`.
pub fn open_or_build_entries(
    dir: &Path,
    data: Entries,
    fingerprint: u64,
) -> Result<(SearchIndex, Provenance)> {
    fs::create_dir_all(dir)?;
    let fp = hex(fingerprint);
    let name = format!("{PREFIX}{fp}");
    let recorded = fs::read_to_string(dir.join(FINGERPRINT_FILE)).ok();
    let recorded = recorded.as_deref().map(str::trim);
    let data = if recorded == Some(fp.as_str()) && dir.join(&name).is_dir() {
        match open_existing(&dir.join(&name), data, fingerprint) {
            Ok(ix) => return Ok((ix, Provenance::Opened)),
            Err(failed) => {
                let (e, data) = *failed;
                tracing::warn!(
                    "search index in {} unusable ({e}); rebuilding",
                    dir.display()
                );
                data
            }
        }
    } else {
        data
    };
    let provenance = if recorded.is_some() {
        Provenance::Rebuilt
    } else {
        Provenance::Built
    };
    let path = build_at(dir, &name, &data)?;
    crate::probe::stage("search index built");
    write_atomically(&dir.join(FINGERPRINT_FILE), &format!("{fp}\n"))?;
    remove_others(dir, &name);
    open_existing(&path, data, fingerprint)
        .map(|ix| (ix, provenance))
        .map_err(|failed| failed.0)
}
