//! Values derived from one catalog snapshot, computed on first use and kept while the snapshot
//! lives: e.g. the members of a catalog value set, enumerated once instead of on every
//! `$expand`. A reload builds a new catalog, hence a new, empty memo: nothing can be stale.
//!
//! Values are type-erased (`Any`) so that the catalog need not know the types of the layers
//! above it; each caller names its entries by a key prefix of its own. The memo is bounded by
//! weight (about one unit per value-set member), least recently used first out.

use std::any::Any;
use std::sync::{Arc, OnceLock};

use moka::sync::Cache;

/// Total weight kept (about one unit per member enumerated: a few hundred bytes each).
const CAPACITY: u64 = 2_000_000;

type Entry = (u32, Arc<dyn Any + Send + Sync>);

/// Created on first use: request-scoped overlay catalogs never pay for it.
#[derive(Default)]
pub struct Memo(OnceLock<Cache<String, Entry>>);

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.get().map_or(0, |c| c.entry_count());
        write!(f, "Memo({n} entries)")
    }
}

impl Memo {
    fn cache(&self) -> &Cache<String, Entry> {
        self.0.get_or_init(|| {
            Cache::builder()
                .max_capacity(CAPACITY)
                .weigher(|_k: &String, v: &Entry| v.0)
                .build()
        })
    }

    /// The value under `key`, or `compute()`d and kept with the weight `weight` gives it
    /// (an error is returned and not kept). Two requests may compute the same value at the
    /// same time; one of them is kept.
    pub fn get_or_try_insert<T, E>(
        &self,
        key: &str,
        weight: impl FnOnce(&T) -> u32,
        compute: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E>
    where
        T: Any + Send + Sync,
    {
        let cache = self.cache();
        if let Some(v) = cache.get(key).and_then(|(_, v)| v.downcast::<T>().ok()) {
            return Ok(v);
        }
        let value = Arc::new(compute()?);
        let w = weight(&value).max(1);
        cache.insert(key.to_string(), (w, value.clone()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn computes_once_and_keeps_no_errors() {
        let memo = Memo::default();
        let mut calls = 0;
        let a: Result<Arc<u32>, ()> = memo.get_or_try_insert(
            "k",
            |_| 1,
            || {
                calls += 1;
                Ok(7)
            },
        );
        assert_eq!(*a.unwrap(), 7);
        let b: Result<Arc<u32>, ()> = memo.get_or_try_insert("k", |_| 1, || Ok(8));
        assert_eq!(*b.unwrap(), 7);
        assert_eq!(calls, 1);
        let e: Result<Arc<u32>, &str> = memo.get_or_try_insert("e", |_| 1, || Err("no"));
        assert!(e.is_err());
        let ok: Result<Arc<u32>, &str> = memo.get_or_try_insert("e", |_| 1, || Ok(1));
        assert_eq!(*ok.unwrap(), 1);
    }
}
