//! The secret masker: remembers every secret, tells the runner about each one with
//! `::add-mask::` before anything else is printed, and redacts secrets from every string that
//! reaches a sink (logs, outputs, the summary, notifications).

use std::sync::{Arc, PoisonError, RwLock};

/// What a secret is replaced with, the same marker the runner uses.
pub const REDACTED: &str = "***";

/// Shared, cheap to clone: the log writer, the output files and the notifiers all hold one.
#[derive(Debug, Clone, Default)]
pub struct Masker {
    secrets: Arc<RwLock<Vec<String>>>,
}

impl Masker {
    pub fn new() -> Masker {
        Masker::default()
    }

    /// Remembers a secret and returns the values the runner must be told to mask (empty when
    /// the secret is blank or already known). A multi-line secret is masked line by line, each
    /// line trimmed, as the runner itself does, so a PEM key never leaks piecewise.
    pub fn register(&self, secret: &str) -> Vec<String> {
        let fragments = fragments(secret);
        if fragments.is_empty() {
            return Vec::new();
        }
        let mut known = self.secrets.write().unwrap_or_else(PoisonError::into_inner);
        let mut fresh = Vec::new();
        for fragment in fragments {
            if !known.contains(&fragment) {
                known.push(fragment.clone());
                fresh.push(fragment);
            }
        }
        // Longest first, so a secret that contains another is replaced whole.
        known.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        fresh
    }

    /// `s` with every known secret replaced by `***`.
    pub fn redact(&self, s: &str) -> String {
        let known = self.secrets.read().unwrap_or_else(PoisonError::into_inner);
        let mut out = s.to_owned();
        for secret in known.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }

    /// Whether no secret is registered.
    pub fn is_empty(&self) -> bool {
        self.secrets
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }
}

/// The pieces of a secret worth masking: the trimmed value when it is one line, else every
/// non-blank trimmed line. Blank secrets give nothing (the runner warns on an empty mask).
fn fragments(secret: &str) -> Vec<String> {
    let trimmed = secret.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    if !trimmed.contains(['\n', '\r']) {
        return vec![trimmed.to_owned()];
    }
    trimmed
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_every_occurrence_and_longest_secret_first() {
        let masker = Masker::new();
        assert_eq!(masker.register("abc"), ["abc"]);
        assert_eq!(masker.register("xxabcxx"), ["xxabcxx"]);
        assert_eq!(masker.redact("1 abc 2 xxabcxx 3 abc"), "1 *** 2 *** 3 ***");
    }

    #[test]
    fn multi_line_secrets_are_masked_line_by_line() {
        let masker = Masker::new();
        let key = "-----BEGIN KEY-----\n  AAAA\r\nBBBB\n\n-----END KEY-----\n";
        let fresh = masker.register(key);
        assert_eq!(
            fresh,
            ["-----BEGIN KEY-----", "AAAA", "BBBB", "-----END KEY-----"]
        );
        let redacted = masker.redact(&format!("key is {key}"));
        assert!(
            !redacted.contains("AAAA") && !redacted.contains("BBBB"),
            "{redacted}"
        );
    }

    #[test]
    fn blank_and_repeated_secrets_register_nothing_new() {
        let masker = Masker::new();
        assert!(masker.register("").is_empty());
        assert!(masker.register("  \n\t").is_empty());
        assert!(masker.is_empty());
        assert_eq!(masker.register(" tok "), ["tok"]);
        assert!(masker.register("tok").is_empty());
        assert_eq!(masker.redact("tok"), REDACTED);
    }

    #[test]
    fn clones_share_what_they_know() {
        let masker = Masker::new();
        let other = masker.clone();
        masker.register("s3cr3t");
        assert_eq!(other.redact("a s3cr3t b"), "a *** b");
    }
}
