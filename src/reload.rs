//! Reload without downtime: a release is loaded, checked, turned into a catalog and a search
//! index aside, and only then swapped in whole; a refused release changes nothing. Requests in
//! flight finish on the release they started with; the search cache lives in the index, so a
//! new release starts with an empty cache.
//!
//! The resources of the previous release that the new one does not have (same `url|version`)
//! are carried over for pinned (`version=`) requests; unpinned requests get the new release.
//!
//! Blocking and CPU-bound: callers on an async runtime run it with `web::block`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::catalog::diff::{diff, ChangeSummary};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::load::{load_dir_with, load_editions, LoadError, LoadOptions};
use crate::ops::members::ExpansionMembers;
use crate::search::{Entries, SearchError, SearchIndex};
use crate::state::{newest_resource_date, now, AppState, Release, ReleaseInfo};
use crate::store::{self, Contents, Stored};

/// What a release holds, for `/health/ready` and `/admin/status`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub ready: bool,
    pub generation: u64,
    pub source: String,
    pub loaded_at: String,
    /// The newest `date` among the release's resources, as published (ISO 8601); empty when
    /// none states one.
    pub newest_resource_date: String,
    pub load_ms: u64,
    pub index_ms: u64,
    /// Current tables (code systems, value sets and concept maps answered unpinned).
    pub tables: usize,
    pub code_systems: usize,
    pub value_sets: usize,
    pub concept_maps: usize,
    /// Concepts of the current code systems.
    pub concepts: usize,
    pub carried_versions: usize,
    pub search_entries: usize,
}

impl Status {
    pub fn of(release: &Release) -> Status {
        let cat = &release.catalog;
        let code_systems = cat.code_systems.current().count();
        let value_sets = cat.value_sets.current().count();
        let concept_maps = cat.concept_maps.current().count();
        let info = release.info.as_deref();
        Status {
            ready: info.is_some(),
            generation: release.generation,
            source: info.map(|r| r.source.clone()).unwrap_or_default(),
            loaded_at: info.map(|r| r.loaded_at.clone()).unwrap_or_default(),
            newest_resource_date: info
                .and_then(|r| r.newest_resource.as_ref())
                .map(|d| d.date.clone())
                .unwrap_or_default(),
            load_ms: info.map_or(0, |r| r.load_ms),
            index_ms: info.map_or(0, |r| r.index_ms),
            tables: code_systems + value_sets + concept_maps,
            code_systems,
            value_sets,
            concept_maps,
            concepts: cat.current_concept_count(),
            carried_versions: cat.code_systems.carried_len()
                + cat.value_sets.carried_len()
                + cat.concept_maps.carried_len(),
            search_entries: release.search.as_ref().map_or(0, |s| s.len()),
        }
    }
}

/// The answer to a successful reload.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub status: Status,
    pub changes: ChangeSummary,
}

fn refused(path: &Path, message: String) -> Error {
    Error::ReleaseRefused(vec![LoadError::new(
        path.display().to_string(),
        None,
        None,
        message,
    )])
}

/// A release whose search index could not be built or opened: refused, and said so.
fn index_refused(e: SearchError) -> Error {
    Error::SearchIndex(format!(
        "release refused: its search index could not be built or opened ({e}); the previous data is still served"
    ))
}

/// The folder to load: `requested`, or the configured data folder; symlinks are resolved
/// now, so a re-pointed `current` link is followed.
fn resolve(state: &AppState, requested: Option<&Path>) -> Result<PathBuf> {
    let path = requested
        .or(state.config.data.as_deref())
        .ok_or_else(|| Error::Invalid("no data folder configured and none given".into()))?;
    std::fs::canonicalize(path).map_err(|e| refused(path, format!("cannot read: {e}")))
}

fn build_index(state: &AppState, catalog: &Catalog) -> Result<Arc<SearchIndex>> {
    let built = match &state.config.index {
        Some(dir) => {
            SearchIndex::open_or_build(dir, catalog, &ExpansionMembers).map(|(ix, provenance)| {
                tracing::info!("search index {provenance:?} in {}", dir.display());
                ix
            })
        }
        None => SearchIndex::build_in_ram(catalog, &ExpansionMembers),
    };
    built.map(Arc::new).map_err(index_refused)
}

/// The data folder at `path`, over the built-in FHIR R4 core when `fhir_core`.
fn load_release(
    path: &Path,
    fhir_core: bool,
    options: &LoadOptions,
) -> Result<crate::load::Dataset> {
    let data = load_dir_with(path, options).map_err(Error::ReleaseRefused)?;
    if !fhir_core {
        return Ok(data);
    }
    let core = crate::load::fhir_core::dataset().map_err(Error::ReleaseRefused)?;
    crate::probe::stage("FHIR core loaded");
    Ok(crate::load::fhir_core::layer_under(data, core))
}

/// The file keeping the SNOMED CT editions of the release of `key` in `dir`: the key mixed
/// with the modules marked unpublished (they change the editions' URIs).
fn editions_file(dir: &Path, key: u64, options: &LoadOptions) -> PathBuf {
    let mut h = store::Hash64::default();
    h.write(&key.to_le_bytes());
    for m in &options.sct_unpublished {
        h.write(&m.to_le_bytes());
    }
    dir.join(format!("editions-{:016x}.bin", h.finish()))
}

/// The editions `write_editions` kept in `file`; `None` (logged) when there is none or it
/// cannot be read: the RF2 releases are then read again.
fn read_editions(file: &Path) -> Option<Vec<Arc<crate::snomed::Edition>>> {
    let bytes = std::fs::read(file).ok()?;
    let word = |at: usize| -> Option<usize> {
        let b = bytes.get(at..at.checked_add(8)?)?;
        usize::try_from(u64::from_le_bytes(b.try_into().ok()?)).ok()
    };
    let mut out = Vec::new();
    let mut at = 8usize;
    let count = word(0).unwrap_or(usize::MAX);
    let mut failure = (count == usize::MAX).then(|| "truncated".to_string());
    for _ in 0..count.min(1024) {
        if failure.is_some() {
            break;
        }
        let Some(n) = word(at) else {
            failure = Some("truncated".into());
            break;
        };
        at += 8;
        let Some(one) = at.checked_add(n).and_then(|end| bytes.get(at..end)) else {
            failure = Some("truncated".into());
            break;
        };
        at += n;
        match crate::snomed::codec::decode(one) {
            Ok(e) => out.push(Arc::new(e)),
            Err(e) => failure = Some(e),
        }
    }
    if let Some(why) = failure {
        tracing::warn!("SNOMED CT editions file {} ignored: {why}", file.display());
        return None;
    }
    crate::probe::stage("SNOMED CT editions decoded");
    Some(out)
}

/// Keeps the editions in `file` (written aside, then renamed), and removes the editions files
/// of other releases from its folder.
fn write_editions(file: &Path, editions: &[Arc<crate::snomed::Edition>]) -> std::io::Result<()> {
    let mut bytes = (editions.len() as u64).to_le_bytes().to_vec();
    for e in editions {
        let one = crate::snomed::codec::encode(e);
        bytes.extend_from_slice(&(one.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&one);
    }
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let aside = file.with_extension("tmp");
    std::fs::write(&aside, &bytes)?;
    std::fs::rename(&aside, file)?;
    let keep = file.file_name().map(|n| n.to_string_lossy().into_owned());
    if let Some(dir) = file.parent() {
        for entry in std::fs::read_dir(dir)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let other = name.starts_with("editions-") && name.ends_with(".bin");
            if other && Some(&name) != keep.as_ref() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    Ok(())
}

/// The key of the snapshot of the data at `path`: the data's fingerprint mixed with the
/// search schema version. A snapshot holds the search entries and their fingerprint as the
/// search code that saved it made them: another version of that code must not reuse them.
pub fn data_key(path: &Path) -> std::io::Result<u64> {
    let mut h = store::Hash64::default();
    h.write(&store::fingerprint_data(path)?.to_le_bytes());
    h.write(&crate::search::schema::SCHEMA_VERSION.to_le_bytes());
    Ok(h.finish())
}

/// The key of the snapshot of a release: `data_key`, mixed with the built-in FHIR core's
/// bytes when that layer is under the data (another binary may embed another core).
pub fn release_key(path: &Path, fhir_core: bool) -> std::io::Result<u64> {
    let key = data_key(path)?;
    if !fhir_core {
        return Ok(key);
    }
    let mut h = store::Hash64::default();
    h.write(&key.to_le_bytes());
    h.write(crate::load::fhir_core::BUNDLE);
    Ok(h.finish())
}

/// The key of the release at `path` and its saved snapshot in `dir`, when one is there and
/// sound; an unusable snapshot is logged and ignored (the files are loaded instead).
fn stored_release(
    dir: &Path,
    path: &Path,
    fhir_core: bool,
) -> (Option<u64>, Option<Stored<Entries>>) {
    let key = match release_key(path, fhir_core) {
        Ok(k) => k,
        Err(e) => {
            tracing::warn!("cannot fingerprint {}: {e}", path.display());
            return (None, None);
        }
    };
    crate::probe::stage("data fingerprinted");
    match store::read(dir, key) {
        Ok(stored) => (Some(key), stored),
        Err(e) => {
            tracing::warn!(
                "catalog snapshot {} ignored ({e}); loading the files",
                store::path_for(dir, key).display()
            );
            (Some(key), None)
        }
    }
}

/// Saves `release` (its own resources, not those carried over) as the snapshot file in `dir`
/// under the data key `key`, with its search entries when they depend on this data alone.
pub fn save_snapshot_file(
    dir: &Path,
    key: u64,
    release: &Release,
    aliases: &[(String, String)],
    warnings: &[LoadError],
) -> std::io::Result<PathBuf> {
    let cat = &release.catalog;
    let carried = cat.code_systems.carried_len()
        + cat.value_sets.carried_len()
        + cat.concept_maps.carried_len();
    let entries = match (&release.search, carried) {
        (Some(ix), 0) => Some((ix.entries(), ix.fingerprint())),
        _ => None,
    };
    store::write(
        dir,
        key,
        &Contents {
            // SNOMED CT editions are read again from their RF2 files, not kept here.
            code_systems: cat
                .code_systems
                .own()
                .filter(|a| a.edition.edition.is_none())
                .map(|a| a.as_ref())
                .collect(),
            value_sets: cat.value_sets.own().map(|a| a.as_ref()).collect(),
            concept_maps: cat.concept_maps.own().map(|a| a.as_ref()).collect(),
            aliases,
            warnings,
            entries,
        },
    )
}

/// When `reload` writes the snapshot file of the new release (when it has to: not when the
/// release was itself read from an up-to-date one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveSnapshot {
    /// After the swap, on a thread of its own: the new release is served meanwhile (the
    /// server's reloads).
    InBackground,
    /// Before `reload` returns (`nosterm index`, which exits right after).
    BeforeReturning,
}

/// Loads `requested` (or the configured data folder), builds its catalog and index aside and
/// swaps them in, then saves the snapshot file as `save` says. On any error nothing changes
/// and every error is returned. One reload runs at a time; a second waits for the first.
pub fn reload(state: &AppState, requested: Option<&Path>, save: SaveSnapshot) -> Result<Report> {
    counted(reload_inner(state, requested, save))
}

/// Counts a refused reload (`nosterm_reload_failures_total`), whoever asked for it.
fn counted(result: Result<Report>) -> Result<Report> {
    if result.is_err() {
        let (_, at) = now();
        crate::metrics::METRICS.reload_refused(at);
    }
    result
}

fn reload_inner(state: &AppState, requested: Option<&Path>, save: SaveSnapshot) -> Result<Report> {
    let _one_at_a_time = state
        .reload_lock
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let path = resolve(state, requested)?;
    let started = Instant::now();
    let index_dir = state.config.index.clone();
    let (key, stored) = match &index_dir {
        Some(dir) => stored_release(dir, &path, state.config.fhir_core),
        None => (None, None),
    };
    let from_snapshot = stored.is_some();
    let options = LoadOptions {
        sct_unpublished: state.config.sct_unpublished.clone(),
    };
    // SNOMED CT editions are kept in a file of their own beside the snapshot, under the same
    // data key (and the operator's unpublished modules): a restart decodes them rather than
    // parsing the RF2 releases again.
    let editions_at = match (&index_dir, key) {
        (Some(dir), Some(k)) => Some(editions_file(dir, k, &options)),
        _ => None,
    };
    let (data, stored_entries) = match stored {
        Some(s) => {
            let mut data = s.dataset;
            data.editions = match editions_at.as_deref().and_then(read_editions) {
                Some(kept) => kept,
                None => load_editions(&path, &options).map_err(Error::ReleaseRefused)?,
            };
            (data, s.entries)
        }
        None => (load_release(&path, state.config.fhir_core, &options)?, None),
    };
    if let Some(file) = &editions_at {
        if !data.editions.is_empty() && !file.exists() {
            if let Err(e) = write_editions(file, &data.editions) {
                tracing::warn!("SNOMED CT editions not kept in {}: {e}", file.display());
            }
        }
    }
    crate::probe::stage("loaded dataset");
    let had_entries = stored_entries.is_some();
    let aliases = data.aliases.clone();
    let warnings = data.warnings.clone();
    let mut catalog = Catalog::from_dataset(data);
    crate::probe::stage("catalog built");
    let previous = state.release();
    let changes = diff(&previous.catalog, &catalog);
    let carried_versions = if previous.info.is_some() {
        catalog.carry_over(&previous.catalog)
    } else {
        0
    };
    drop(previous);
    let load_ms = started.elapsed().as_millis() as u64;
    let indexing = Instant::now();
    // Saved entries describe this data alone: usable when nothing was carried over.
    let search = match (stored_entries, &index_dir) {
        (Some((entries, fp)), Some(dir)) if carried_versions == 0 => {
            SearchIndex::open_or_build_entries(dir, entries, fp)
                .map(|(ix, provenance)| {
                    tracing::info!("search index {provenance:?} in {}", dir.display());
                    Arc::new(ix)
                })
                .map_err(index_refused)?
        }
        _ => build_index(state, &catalog)?,
    };
    let index_ms = indexing.elapsed().as_millis() as u64;
    crate::probe::stage("search index ready");
    let (loaded_at, loaded_at_unix) = now();
    let release = ReleaseInfo {
        source: path.display().to_string(),
        loaded_at,
        loaded_at_unix,
        newest_resource: newest_resource_date(&catalog),
        load_ms,
        index_ms,
        carried_versions,
        changes: changes.clone(),
    };
    let generation = state.install(catalog, Some(search), release);
    let installed = state.release();
    crate::probe::stage("installed");
    // Saved after the swap, off the request path: the release is served meanwhile.
    if let (Some(dir), Some(key)) = (index_dir, key) {
        if !from_snapshot || (!had_entries && carried_versions == 0) {
            let saved = installed.clone();
            let write_file = move || {
                if let Err(e) = save_snapshot_file(&dir, key, &saved, &aliases, &warnings) {
                    tracing::warn!("cannot save the catalog snapshot in {}: {e}", dir.display());
                }
                crate::probe::stage("snapshot saved");
            };
            if save == SaveSnapshot::BeforeReturning {
                write_file();
            } else if let Err(e) = std::thread::Builder::new()
                .name("snapshot".into())
                .spawn(write_file)
            {
                tracing::warn!("cannot save the catalog snapshot: {e}");
            }
        }
    }
    tracing::info!(
        generation,
        load_ms,
        index_ms,
        "reloaded {} ({} tables changed, {} added, {} removed)",
        path.display(),
        changes.tables_changed.len(),
        changes.tables_added.len(),
        changes.tables_removed.len()
    );
    Ok(Report {
        status: Status::of(&installed),
        changes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AppConfig;

    /// An index folder that cannot be made (a file stands in its place): the release is
    /// refused as a search-index failure (503, `no-store`, a message that says so), not as an
    /// internal error, and the server stays as it was.
    #[test]
    fn a_search_index_that_cannot_be_built_refuses_the_release_as_such() {
        let tmp =
            std::env::temp_dir().join(format!("nosterm-index-refused-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let blocker = tmp.join("index");
        std::fs::write(&blocker, b"not a folder").unwrap();
        let config = AppConfig {
            data: Some(PathBuf::from("tests/fixtures/fhir")),
            index: Some(blocker),
            ..Default::default()
        };
        let state = AppState::empty(config);
        let refused = reload(&state, None, SaveSnapshot::InBackground);
        let _ = std::fs::remove_dir_all(&tmp);
        let err = refused.expect_err("the release is refused");
        assert!(matches!(err, Error::SearchIndex(_)), "{err:?}");
        assert_eq!((err.status(), err.issue_code()), (503, "no-store"));
        assert!(
            err.to_string()
                .starts_with("release refused: its search index could not be built or opened"),
            "{err}"
        );
        assert!(!state.is_ready());
    }
}
