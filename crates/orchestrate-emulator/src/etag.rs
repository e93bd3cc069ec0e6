//! Strong ETags over a response's representation, and `If-None-Match` matching.

use sha2::{Digest, Sha256};

/// A strong ETag (`"<hex>"`) over the body and the headers that shape the representation.
pub fn compute(body: &[u8], link: Option<&str>, token_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(body);
    hasher.update(b"\0");
    hasher.update(link.unwrap_or("").as_bytes());
    // GitHub varies representations on Authorization; so do we.
    hasher.update(b"\0");
    hasher.update(token_id.as_bytes());
    format!("\"{}\"", hex::encode(hasher.finalize()))
}

/// Whether an `If-None-Match` header value matches `etag` (weak comparison, as for GET).
pub fn matches(if_none_match: &str, etag: &str) -> bool {
    let bare = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let wanted = bare(etag);
    if_none_match
        .split(',')
        .any(|candidate| candidate.trim() == "*" || bare(candidate) == wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etag_changes_with_body_and_matches_weak_forms() {
        let a = compute(b"{}", None, "t");
        assert_ne!(a, compute(b"{ }", None, "t"));
        assert!(a.starts_with('"') && a.ends_with('"'));
        assert!(matches(&a, &a));
        assert!(matches(&format!("W/{a}, \"x\""), &a));
        assert!(!matches("\"x\"", &a));
    }
}
