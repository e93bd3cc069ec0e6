//! The client's per-URL ETag cache: the validator to send as `If-None-Match` and the body a
//! `304` stands for. Bounded: when full it starts over, since most entries are one list per
//! awaited repository and a full cache means something is running away.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::client::Response;

/// Most cached URLs are one list per awaited repository; this only bounds a runaway.
pub(crate) const MAX_CACHED: usize = 4096;

struct Cached {
    etag: String,
    body: String,
    link: Option<String>,
}

pub(crate) struct EtagCache {
    entries: Mutex<HashMap<String, Cached>>,
    capacity: usize,
}

impl EtagCache {
    pub(crate) fn new(capacity: usize) -> Self {
        EtagCache {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The validator to send for `path`, if its body is cached.
    pub(crate) fn etag(&self, path: &str) -> Option<String> {
        self.lock().get(path).map(|c| c.etag.clone())
    }

    /// `response` (a 304) completed with the cached body, or `None` when the entry is gone
    /// (evicted since its validator was sent).
    pub(crate) fn hit(&self, path: &str, response: Response) -> Option<Response> {
        let cache = self.lock();
        let hit = cache.get(path)?;
        Some(Response {
            status: 200,
            body: hit.body.clone(),
            link: hit.link.clone(),
            etag: Some(hit.etag.clone()),
            from_cache: true,
            ..response
        })
    }

    /// Keep a 2xx body under its ETag (responses without one are not cached).
    pub(crate) fn store(&self, path: &str, response: &Response) {
        let Some(etag) = &response.etag else { return };
        let mut cache = self.lock();
        if cache.len() >= self.capacity && !cache.contains_key(path) {
            cache.clear();
        }
        cache.insert(
            path.to_owned(),
            Cached {
                etag: etag.clone(),
                body: response.body.clone(),
                link: response.link.clone(),
            },
        );
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pacing::RateHeaders;

    fn response(status: u16, etag: Option<&str>, body: &str) -> Response {
        Response {
            status,
            body: body.to_owned(),
            etag: etag.map(str::to_owned),
            link: None,
            location: None,
            rate: RateHeaders::default(),
            from_cache: false,
        }
    }

    #[test]
    fn a_304_is_answered_with_the_cached_body_until_evicted() {
        let cache = EtagCache::new(1);
        cache.store("/a", &response(200, Some("\"v1\""), "body a"));
        cache.store("/unvalidated", &response(200, None, "ignored"));
        assert_eq!(cache.etag("/a").as_deref(), Some("\"v1\""));
        let hit = cache.hit("/a", response(304, None, "")).expect("cached");
        assert_eq!(
            (hit.status, hit.body.as_str(), hit.from_cache),
            (200, "body a", true)
        );
        // Full: a new URL starts the cache over.
        cache.store("/b", &response(200, Some("\"v2\""), "body b"));
        assert_eq!(cache.etag("/a"), None);
        assert!(cache.hit("/a", response(304, None, "")).is_none());
        cache.clear();
        assert_eq!(cache.etag("/b"), None);
    }
}
