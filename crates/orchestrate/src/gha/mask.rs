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
/// A URL (a webhook) also gives the forms it is printed in without its host: see
/// [`url_fragments`].
fn fragments(secret: &str) -> Vec<String> {
    let trimmed = secret.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    if !trimmed.contains(['\n', '\r']) {
        let mut out = vec![trimmed.to_owned()];
        for extra in url_fragments(trimmed) {
            if !out.contains(&extra) {
                out.push(extra);
            }
        }
        return out;
    }
    trimmed
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A path shorter than this (`/`, `/hook`) is not secret on its own and would only blank out
/// ordinary log text.
const MIN_URL_PART: usize = 8;

/// For a secret `http(s)` URL: the URL as the `url` crate prints it (lower-cased host, default
/// port dropped, characters percent-encoded), its path and query (what a server quotes in a
/// `Cannot POST /services/T0/B0/xyz` refusal, or a log line that prints the host apart), that
/// part percent-decoded, and the password in its user info.
fn url_fragments(secret: &str) -> Vec<String> {
    let Ok(url) = reqwest::Url::parse(secret) else {
        return Vec::new();
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Vec::new();
    }
    let mut out = vec![url.as_str().to_owned()];
    let mut tail = url.path().to_owned();
    if let Some(query) = url.query() {
        tail.push('?');
        tail.push_str(query);
    }
    if let Ok(decoded) = urlencoding_decode(&tail) {
        out.push(decoded);
    }
    out.push(tail);
    if let Some(password) = url.password() {
        out.push(password.to_owned());
    }
    out.retain(|part| part.trim().len() >= MIN_URL_PART && part != secret);
    out
}

/// `%XX` sequences decoded; `Err` when the result is not UTF-8.
fn urlencoding_decode(s: &str) -> Result<String, std::string::FromUtf8Error> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
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
    fn a_webhook_url_is_masked_even_when_printed_without_its_host() {
        let masker = Masker::new();
        let url = "HTTPS://Hooks.Example.com:443/services/T0/B0/s3cr%65t?token=abc";
        let fresh = masker.register(url);
        assert_eq!(fresh[0], url);
        // A server's 404 page quotes the path; `url` prints the normalised form.
        for printed in [
            "Cannot POST /services/T0/B0/s3cr%65t?token=abc",
            "Cannot POST /services/T0/B0/s3cret?token=abc",
            "request to https://hooks.example.com/services/T0/B0/s3cr%65t?token=abc failed",
        ] {
            let redacted = masker.redact(printed);
            assert!(!redacted.contains("s3cr"), "{printed} -> {redacted}");
        }
        // A short path alone is not secret and stays readable.
        let other = Masker::new();
        assert_eq!(
            other.register("https://example.com/hook"),
            ["https://example.com/hook"]
        );
        assert_eq!(other.redact("POST /hook"), "POST /hook");
        let creds = Masker::new();
        creds.register("https://user:hunter2hunter2@smtp.example.com/");
        assert_eq!(creds.redact("password hunter2hunter2"), "password ***");
    }

    #[test]
    fn clones_share_what_they_know() {
        let masker = Masker::new();
        let other = masker.clone();
        masker.register("s3cr3t");
        assert_eq!(other.redact("a s3cr3t b"), "a *** b");
    }
}
