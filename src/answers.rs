//! Rendered answers of the exact operations (`$validate-code`, `$lookup`, `$subsumes`) and of
//! `$expand` pages made on the HTTP worker, kept for the life of a release.
//!
//! Validators ask the same few thousand (value set, code) questions all day long; once an
//! answer is rendered, the same request (same operation, query, body and the headers that
//! change an answer) gets the same bytes back without parsing, looking up or rendering again.
//! UIs typing into a code picker send the same prefixes all day: a kept expansion is the same
//! expansion, with the timestamp and identifier it was made with.
//! Each release has its own cache, dropped with it: a reload never serves an older answer.
//! Keys are the request's bytes themselves, compared whole (no digest that could collide).

use bytes::Bytes;

/// Largest request body whose answer is kept: a key holds the whole body, and a body of that
/// size already costs more to read than the cache saves.
pub const MAX_KEYED_BODY: usize = 4 * 1024;

/// Bytes of key and answer, plus this, count against the capacity (the entry's bookkeeping).
const ENTRY_OVERHEAD: usize = 192;

/// What makes two requests the same question.
#[derive(Debug, Clone, Copy)]
pub struct Question<'a> {
    /// Resource type and operation, e.g. `ValueSet` and `validate-code`, and the instance id
    /// if any.
    pub resource: &'a str,
    pub operation: &'a str,
    pub id: Option<&'a str>,
    pub query: &'a str,
    pub body: &'a [u8],
    /// The headers an answer depends on (`Accept-Language`, `Content-Type`,
    /// `X-TOO-COSTLY-THRESHOLD`).
    pub accept_language: Option<&'a [u8]>,
    pub content_type: Option<&'a [u8]>,
    pub too_costly_threshold: Option<&'a [u8]>,
}

impl Question<'_> {
    /// The key, or `None` when this request's answer is not kept (large body).
    fn key(&self) -> Option<Key> {
        if self.body.len() > MAX_KEYED_BODY {
            return None;
        }
        let mut k = Vec::with_capacity(
            self.resource.len() + self.operation.len() + self.query.len() + self.body.len() + 96,
        );
        // Every part but the last is length-prefixed, and an absent part differs from every
        // present one, so no two questions share a key.
        let mut part = |bytes: Option<&[u8]>| match bytes {
            None => k.push(0),
            Some(bytes) => {
                k.push(1);
                k.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                k.extend_from_slice(bytes);
            }
        };
        part(Some(self.resource.as_bytes()));
        part(Some(self.operation.as_bytes()));
        part(self.id.map(str::as_bytes));
        part(Some(self.query.as_bytes()));
        part(self.accept_language);
        part(self.content_type);
        part(self.too_costly_threshold);
        k.extend_from_slice(self.body);
        Some(k.into_boxed_slice())
    }
}

/// The answers of one release, within a byte budget (least useful dropped first).
pub struct AnswerCache {
    cache: Option<moka::sync::Cache<Key, Bytes>>,
}

/// A question's bytes (`Question::key`).
pub type Key = Box<[u8]>;

fn weight(key: &[u8], answer: &Bytes) -> u32 {
    u32::try_from(key.len() + answer.len() + ENTRY_OVERHEAD).unwrap_or(u32::MAX)
}

impl std::fmt::Debug for AnswerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnswerCache")
            .field("entries", &self.cache.as_ref().map(|c| c.entry_count()))
            .finish()
    }
}

impl AnswerCache {
    /// A cache of at most `capacity_bytes`; 0 keeps nothing.
    pub fn new(capacity_bytes: u64) -> Self {
        let cache = (capacity_bytes > 0).then(|| {
            moka::sync::Cache::builder()
                .max_capacity(capacity_bytes)
                .weigher(|k: &Key, v: &Bytes| weight(k, v))
                .build()
        });
        AnswerCache { cache }
    }

    /// The answer kept for `question`, if any; the key to keep its answer under otherwise
    /// (`None` when it is not to be kept).
    pub fn get(&self, question: &Question) -> Result<Bytes, Option<Key>> {
        let Some(cache) = &self.cache else {
            return Err(None);
        };
        let Some(key) = question.key() else {
            return Err(None);
        };
        match cache.get(&key) {
            Some(answer) => Ok(answer),
            None => Err(Some(key)),
        }
    }

    pub fn insert(&self, key: Key, answer: Bytes) {
        if let Some(cache) = &self.cache {
            cache.insert(key, answer);
        }
    }

    /// Applies pending inserts and evictions now (moka does it in batches), so that `len` is
    /// exact.
    pub fn settle(&self) {
        if let Some(cache) = &self.cache {
            cache.run_pending_tasks();
        }
    }

    /// Answers kept (approximate while inserts are pending: see `settle`).
    pub fn len(&self) -> u64 {
        self.cache.as_ref().map_or(0, |c| c.entry_count())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q<'a>(query: &'a str, body: &'a [u8]) -> Question<'a> {
        Question {
            resource: "ValueSet",
            operation: "validate-code",
            id: None,
            query,
            body,
            accept_language: None,
            content_type: None,
            too_costly_threshold: None,
        }
    }

    #[test]
    fn same_question_same_answer_other_question_none() {
        let cache = AnswerCache::new(1 << 20);
        let key = cache.get(&q("code=A", b"")).unwrap_err().unwrap();
        cache.insert(key, Bytes::from_static(b"answer A"));
        assert_eq!(cache.get(&q("code=A", b"")).unwrap(), &b"answer A"[..]);
        assert!(cache.get(&q("code=B", b"")).is_err());
        assert!(cache.get(&q("code=A", b"{}")).is_err());
        let fr = Question {
            accept_language: Some(b"fr"),
            ..q("code=A", b"")
        };
        assert!(cache.get(&fr).is_err());
        let instance = Question {
            id: Some("x"),
            ..q("code=A", b"")
        };
        assert!(cache.get(&instance).is_err());
    }

    #[test]
    fn parts_cannot_run_into_each_other() {
        let a = q("code=A", b"").key().unwrap();
        let b = Question {
            operation: "validate-codecode=A",
            query: "",
            ..q("", b"")
        }
        .key()
        .unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn an_absent_header_is_not_any_value_of_it() {
        let absent = q("code=A", b"").key().unwrap();
        for v in [&b""[..], b"\xff", b"\x00"] {
            let present = Question {
                accept_language: Some(v),
                ..q("code=A", b"")
            };
            assert_ne!(present.key().unwrap(), absent);
        }
    }

    #[test]
    fn large_bodies_and_a_zero_budget_keep_nothing() {
        let big = vec![b' '; MAX_KEYED_BODY + 1];
        let cache = AnswerCache::new(1 << 20);
        assert!(matches!(cache.get(&q("", &big)), Err(None)));
        let off = AnswerCache::new(0);
        assert!(matches!(off.get(&q("code=A", b"")), Err(None)));
        off.insert(Box::from(&b"k"[..]), Bytes::from_static(b"v"));
        assert!(off.is_empty());
    }
}
