//! Shared server state: the current snapshot, swapped atomically on reload.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::catalog::Catalog;
use crate::config::AppConfig;
use crate::load::{load_dir, LoadError};

/// One immutable generation of loaded terminology.
#[derive(Debug)]
pub struct Snapshot {
    pub generation: u64,
    pub catalog: Catalog,
}

pub struct AppState {
    snapshot: ArcSwap<Snapshot>,
    next_generation: AtomicU64,
    pub config: AppConfig,
}

impl AppState {
    pub fn new(catalog: Catalog, config: AppConfig) -> Self {
        AppState {
            snapshot: ArcSwap::from_pointee(Snapshot {
                generation: 1,
                catalog,
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

    /// Swaps in a new catalog; requests in flight keep the one they started with.
    pub fn replace(&self, catalog: Catalog) -> u64 {
        let generation = self.next_generation.fetch_add(1, Ordering::SeqCst);
        self.snapshot.store(Arc::new(Snapshot {
            generation,
            catalog,
        }));
        generation
    }
}
