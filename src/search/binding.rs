//! Which search index belongs to the catalog a request works on.
//!
//! Operations receive a `Scope` (a borrowed catalog), not the snapshot that owns it; the
//! snapshot registers itself here and `index_for` finds it again. Only live snapshots are
//! consulted (weak references): a snapshot found alive owns a catalog that is alive at that
//! address, and two live catalogs never share an address, so the match is exact and a reload
//! can never hand out the index of another generation.

use std::sync::{Arc, Mutex, Weak};

use super::SearchIndex;
use crate::catalog::Catalog;

/// Something that owns a catalog and, maybe, its search index (the server's snapshot).
pub trait CatalogIndex: Send + Sync {
    fn catalog(&self) -> &Catalog;
    fn search_index(&self) -> Option<&Arc<SearchIndex>>;
}

static BOUND: Mutex<Vec<Weak<dyn CatalogIndex>>> = Mutex::new(Vec::new());

/// Registers `owner`; owners that have been dropped are forgotten at the same time.
pub fn bind<T: CatalogIndex + 'static>(owner: &Arc<T>) {
    let weak: Weak<T> = Arc::downgrade(owner);
    let mut bound = BOUND
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    bound.retain(|w| w.strong_count() > 0);
    bound.push(weak);
}

/// The index of `catalog`, if its owner registered one and is still alive.
pub fn index_for(catalog: &Catalog) -> Option<Arc<SearchIndex>> {
    let bound = BOUND
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    bound
        .iter()
        .filter_map(Weak::upgrade)
        .find(|owner| std::ptr::eq(owner.catalog(), catalog))
        .and_then(|owner| owner.search_index().cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Owner {
        catalog: Catalog,
        index: Option<Arc<SearchIndex>>,
    }

    impl CatalogIndex for Owner {
        fn catalog(&self) -> &Catalog {
            &self.catalog
        }
        fn search_index(&self) -> Option<&Arc<SearchIndex>> {
            self.index.as_ref()
        }
    }

    #[test]
    fn only_the_owner_of_that_very_catalog_answers() {
        let catalog = Catalog::default();
        let index = SearchIndex::build_in_ram(&catalog).map(Arc::new).ok();
        let owner = Arc::new(Owner { catalog, index });
        bind(&owner);
        assert!(index_for(&owner.catalog).is_some());
        let other = Catalog::default();
        assert!(index_for(&other).is_none());
        drop(owner);
        assert!(index_for(&other).is_none());
    }
}
