//! Values derived from one catalog snapshot, computed on first use and kept while the snapshot
//! lives: e.g. the members of a catalog value set, enumerated once instead of on every
//! `$expand`. A reload builds a new catalog, hence a new, empty memo: nothing can be stale.
//!
//! Values are type-erased (`Any`) so that the catalog need not know the types of the layers
//! above it; each caller names its entries by a key prefix of its own. The memo is bounded by
//! weight (about one unit per value-set member): once full, further values are computed for
//! the request and not kept. Its keys are bounded by what the catalog holds (one entry per
//! value set), so a map under a read-write lock does: reads, the common case, share the lock.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Total weight kept (about one unit per member enumerated: a few hundred bytes each).
const CAPACITY: u64 = 2_000_000;

type Entry = Arc<dyn Any + Send + Sync>;

#[derive(Default)]
pub struct Memo(RwLock<(u64, HashMap<String, Entry>)>);

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.read().map_or(0, |m| m.1.len());
        write!(f, "Memo({n} entries)")
    }
}

impl Memo {
    /// The value under `key`, or `compute()`d and kept with the weight `weight` gives it
    /// when there is room (an error is returned and not kept). Two requests may compute the
    /// same value at the same time; the first one kept wins.
    pub fn get_or_try_insert<T, E>(
        &self,
        key: &str,
        weight: impl FnOnce(&T) -> u32,
        compute: impl FnOnce() -> Result<T, E>,
    ) -> Result<Arc<T>, E>
    where
        T: Any + Send + Sync,
    {
        let found = self
            .0
            .read()
            .ok()
            .and_then(|m| m.1.get(key).cloned())
            .and_then(|v| v.downcast::<T>().ok());
        if let Some(v) = found {
            return Ok(v);
        }
        let value = Arc::new(compute()?);
        let w = u64::from(weight(&value).max(1));
        if let Ok(mut m) = self.0.write() {
            if let Some(v) = m.1.get(key).cloned().and_then(|v| v.downcast::<T>().ok()) {
                return Ok(v);
            }
            if m.0 + w <= CAPACITY {
                m.0 += w;
                m.1.insert(key.to_string(), value.clone());
            }
        }
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

#[cfg(test)]
mod heavy_entries {
    use super::*;

    #[test]
    fn keeps_an_entry_of_a_large_value_set() {
        let memo = Memo::default();
        let _: Result<Arc<Vec<u8>>, ()> = memo.get_or_try_insert("big", |_| 50_000, || Ok(vec![1]));
        let mut calls = 0;
        for _ in 0..3 {
            let _: Result<Arc<Vec<u8>>, ()> = memo.get_or_try_insert(
                "big",
                |_| 50_000,
                || {
                    calls += 1;
                    Ok(vec![2])
                },
            );
        }
        assert_eq!(calls, 0);
    }
}
