//! Shared server state: the current release, swapped atomically on reload.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use serde::Serialize;

use crate::answers::AnswerCache;
use crate::catalog::diff::ChangeSummary;
use crate::catalog::Catalog;
use crate::config::AppConfig;
use crate::load::{load_dir, LoadError};
use crate::model::date::unix_seconds;
use crate::ops::members::ExpansionMembers;
use crate::search::SearchIndex;

/// A release: one immutable generation of loaded terminology, with its search index and the
/// answers computed over it. Requests hold the one they started with to their end.
#[derive(Debug)]
pub struct Release {
    pub generation: u64,
    pub catalog: Catalog,
    /// Full-text index of `catalog`, built alongside it; `None` when it could not be built
    /// (text filters then fall back to the plain matcher).
    pub search: Option<Arc<SearchIndex>>,
    /// Where and when this data was loaded, and what changed from the previous release;
    /// `None` before the first load (the server is not ready).
    pub info: Option<Arc<ReleaseInfo>>,
    /// Rendered answers of exact operations over this release (`answers`).
    pub answers: AnswerCache,
}

/// Where and when a release's data was loaded, and what changed from the one before.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReleaseInfo {
    /// The data folder, symlinks resolved, as it was at load time.
    pub source: String,
    /// When the release was installed (`YYYY-MM-DDThh:mm:ssZ`).
    pub loaded_at: String,
    /// The same instant, in seconds since 1970 (for the metrics).
    pub loaded_at_unix: u64,
    /// The newest `date` among the release's own resources, as published, and in seconds
    /// since 1970: how recent the data itself is. `None` when no resource states a date.
    pub newest_resource: Option<NewestDate>,
    /// Reading and checking the files, building the catalog (ms).
    pub load_ms: u64,
    /// Opening or building the search index (ms).
    pub index_ms: u64,
    /// Resource versions of the previous release kept for pinned requests.
    pub carried_versions: usize,
    /// What changed from the previous release.
    pub changes: ChangeSummary,
}

/// A resource `date` and the instant it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewestDate {
    /// As the resource states it (ISO 8601, any FHIR precision).
    pub date: String,
    /// Its first instant, in seconds since 1970 (`model::date::unix_seconds`).
    pub unix: i64,
}

/// The newest `date` among the code systems, value sets and concept maps the release itself
/// brings (versions carried over from the previous release are not its data). Dates that are
/// not FHIR dates are ignored.
pub fn newest_resource_date(catalog: &Catalog) -> Option<NewestDate> {
    let metas = (catalog.code_systems.own().map(|r| &r.meta))
        .chain(catalog.value_sets.own().map(|r| &r.meta))
        .chain(catalog.concept_maps.own().map(|r| &r.meta));
    metas
        .filter_map(|m| {
            let date = m.date.as_deref()?;
            let unix = unix_seconds(date)?;
            Some(NewestDate {
                date: date.to_string(),
                unix,
            })
        })
        .max_by_key(|d| d.unix)
}

impl ReleaseInfo {
    /// For a release installed without going through `reload` (tests, embedding).
    pub fn unmeasured(source: String, catalog: &Catalog) -> Self {
        let (loaded_at, loaded_at_unix) = now();
        ReleaseInfo {
            source,
            loaded_at,
            loaded_at_unix,
            newest_resource: newest_resource_date(catalog),
            ..Default::default()
        }
    }
}

/// The current time as a FHIR instant and in seconds since 1970.
pub(crate) fn now() -> (String, u64) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (crate::fhir::instant_from_unix(secs), secs)
}

/// Indexes `catalog` in memory; a failure is logged and leaves search to the plain matcher.
pub fn build_search_in_ram(catalog: &Catalog) -> Option<Arc<SearchIndex>> {
    match SearchIndex::build_in_ram(catalog, &ExpansionMembers) {
        Ok(ix) => Some(Arc::new(ix)),
        Err(e) => {
            tracing::warn!("{e}; text filters use the plain matcher");
            None
        }
    }
}

pub struct AppState {
    current: ArcSwap<Release>,
    next_generation: AtomicU64,
    /// Set once a release with data is installed.
    ready: AtomicBool,
    /// One reload at a time (held while a release is built aside).
    pub(crate) reload_lock: Mutex<()>,
    pub config: AppConfig,
}

impl AppState {
    /// A state over `catalog`, its search index built in memory.
    pub fn new(catalog: Catalog, config: AppConfig) -> Self {
        let search = build_search_in_ram(&catalog);
        AppState::with_search(catalog, search, config)
    }

    /// A state over `catalog` with an index built beforehand (e.g. opened from disk).
    pub fn with_search(
        catalog: Catalog,
        search: Option<Arc<SearchIndex>>,
        config: AppConfig,
    ) -> Self {
        let source = config
            .data
            .as_ref()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        let release = ReleaseInfo::unmeasured(source, &catalog);
        AppState {
            current: ArcSwap::from_pointee(Release {
                generation: 1,
                catalog,
                search,
                info: Some(Arc::new(release)),
                answers: AnswerCache::new(config.answer_cache_bytes),
            }),
            next_generation: AtomicU64::new(2),
            ready: AtomicBool::new(true),
            reload_lock: Mutex::new(()),
            config,
        }
    }

    /// A state with no data yet (not ready): the first load is done by `reload::reload`.
    pub fn empty(config: AppConfig) -> Self {
        AppState {
            current: ArcSwap::from_pointee(Release {
                generation: 0,
                catalog: Catalog::default(),
                search: None,
                info: None,
                answers: AnswerCache::new(0),
            }),
            next_generation: AtomicU64::new(1),
            ready: AtomicBool::new(false),
            reload_lock: Mutex::new(()),
            config,
        }
    }

    /// Loads `dir` into a new state; `dir` becomes the folder a reload re-reads unless the
    /// configuration names one.
    pub fn load(dir: &Path, mut config: AppConfig) -> Result<Self, Vec<LoadError>> {
        let data = load_dir(dir)?;
        config.data.get_or_insert_with(|| dir.to_path_buf());
        Ok(AppState::new(Catalog::from_dataset(data), config))
    }

    /// Whether the first load is complete.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// The release a request works on from start to end.
    pub fn release(&self) -> Arc<Release> {
        self.current.load_full()
    }

    /// Swaps in a new catalog (its index built in memory first); requests in flight keep the
    /// one they started with.
    pub fn replace(&self, catalog: Catalog) -> u64 {
        let search = build_search_in_ram(&catalog);
        self.replace_with(catalog, search)
    }

    /// Swaps in a new catalog and its index, both built aside.
    pub fn replace_with(&self, catalog: Catalog, search: Option<Arc<SearchIndex>>) -> u64 {
        let release = ReleaseInfo::unmeasured(String::new(), &catalog);
        self.install(catalog, search, release)
    }

    /// Swaps in a release built aside, with where it came from; returns its generation.
    pub fn install(
        &self,
        catalog: Catalog,
        search: Option<Arc<SearchIndex>>,
        release: ReleaseInfo,
    ) -> u64 {
        let generation = self.next_generation.fetch_add(1, Ordering::SeqCst);
        self.current.store(Arc::new(Release {
            generation,
            catalog,
            search,
            info: Some(Arc::new(release)),
            answers: AnswerCache::new(self.config.answer_cache_bytes),
        }));
        self.ready.store(true, Ordering::Release);
        generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CodeSystem, ConceptMap, ResourceMeta, ValueSet};

    fn meta(url: &str, date: Option<&str>) -> ResourceMeta {
        ResourceMeta {
            id: url.rsplit('/').next().unwrap_or(url).to_string(),
            url: url.to_string(),
            date: date.map(str::to_string),
            ..ResourceMeta::default()
        }
    }

    #[test]
    fn newest_date_compares_instants_not_strings() {
        let mut cat = Catalog::default();
        assert_eq!(newest_resource_date(&cat), None);
        cat.add_code_system(CodeSystem::new(
            meta("http://x/cs-year", Some("2024")),
            vec![],
        ));
        cat.add_code_system(CodeSystem::new(meta("http://x/cs-none", None), vec![]));
        // Sorts last as a string, but is 2024-02-29T23:30:00Z.
        cat.add_value_set(ValueSet {
            meta: meta("http://x/vs", Some("2024-03-01T00:30:00+01:00")),
            ..ValueSet::default()
        });
        // Not a FHIR date: ignored.
        cat.add_value_set(ValueSet {
            meta: meta("http://x/vs-bad", Some("2099-02-30")),
            ..ValueSet::default()
        });
        cat.add_concept_map(ConceptMap {
            meta: meta("http://x/cm", Some("2024-02-29T23:45:00Z")),
            ..ConceptMap::default()
        });
        assert_eq!(
            newest_resource_date(&cat),
            Some(NewestDate {
                date: "2024-02-29T23:45:00Z".into(),
                unix: 1_709_250_300,
            })
        );
        cat.add_code_system(CodeSystem::new(
            meta("http://x/cs-month", Some("2024-03")),
            vec![],
        ));
        assert_eq!(
            newest_resource_date(&cat).map(|d| d.date),
            Some("2024-03".into())
        );
    }
}
