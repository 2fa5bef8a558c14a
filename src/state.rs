//! Shared server state: the current snapshot, swapped atomically on reload.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::catalog::Catalog;
use crate::config::AppConfig;
use crate::load::{load_dir, LoadError};
use crate::search::SearchIndex;

/// One immutable generation of loaded terminology.
#[derive(Debug)]
pub struct Snapshot {
    pub generation: u64,
    pub catalog: Catalog,
    /// Full-text index of `catalog`, built alongside it; `None` when it could not be built
    /// (text filters then fall back to the plain matcher).
    pub search: Option<Arc<SearchIndex>>,
}

/// Indexes `catalog` in memory; a failure is logged and leaves search to the plain matcher.
pub fn build_search_in_ram(catalog: &Catalog) -> Option<Arc<SearchIndex>> {
    match SearchIndex::build_in_ram(catalog) {
        Ok(ix) => Some(Arc::new(ix)),
        Err(e) => {
            tracing::warn!("{e}; text filters use the plain matcher");
            None
        }
    }
}

pub struct AppState {
    snapshot: ArcSwap<Snapshot>,
    next_generation: AtomicU64,
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
        AppState {
            snapshot: ArcSwap::from_pointee(Snapshot {
                generation: 1,
                catalog,
                search,
            }),
            next_generation: AtomicU64::new(2),
            config,
        }
    }

    /// Loads `dir` into a new state.
    pub fn load(dir: &Path, config: AppConfig) -> Result<Self, Vec<LoadError>> {
        let data = load_dir(dir)?;
        Ok(AppState::new(Catalog::from_dataset(data), config))
    }

    /// The snapshot a request works on from start to end.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.snapshot.load_full()
    }

    /// Swaps in a new catalog (its index built in memory first); requests in flight keep the
    /// one they started with.
    pub fn replace(&self, catalog: Catalog) -> u64 {
        let search = build_search_in_ram(&catalog);
        self.replace_with(catalog, search)
    }

    /// Swaps in a new catalog and its index, both built aside.
    pub fn replace_with(&self, catalog: Catalog, search: Option<Arc<SearchIndex>>) -> u64 {
        let generation = self.next_generation.fetch_add(1, Ordering::SeqCst);
        self.snapshot.store(Arc::new(Snapshot {
            generation,
            catalog,
            search,
        }));
        generation
    }
}
