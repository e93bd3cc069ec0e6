//! Runtime tokens (`ACTIONS_RUNTIME_TOKEN`) and the run backend ids they name.
//!
//! `@actions/artifact` reads the backend ids from the token's `scp` claim without verifying
//! it (protocol.md §3.2); the emulator signs the token (HS256, per-emulator key) and does
//! verify it, so a forged or foreign token gets the 401 GitHub would give.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use hmac::{Hmac, Mac as _};
use serde_json::{Value, json};
use sha2::Sha256;

/// Runtime tokens live as long as the longest job may run.
const TOKEN_LIFETIME_HOURS: i64 = 6;

struct RegistryInner {
    runs: HashMap<String, (String, u64)>,
    by_run: HashMap<(String, u64), String>,
}

/// Maps workflow-run backend ids to `(repo, run_id)` and mints the runtime tokens naming them.
/// Clones share one registry.
#[derive(Clone)]
pub struct RuntimeRegistry {
    inner: Arc<Mutex<RegistryInner>>,
    key: Arc<[u8; 32]>,
}

impl std::fmt::Debug for RuntimeRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeRegistry").finish_non_exhaustive()
    }
}

impl Default for RuntimeRegistry {
    fn default() -> Self {
        Self::new()
    }
}

/// The backend ids a verified runtime token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Scope {
    pub run_backend_id: String,
    pub job_backend_id: String,
}

impl RuntimeRegistry {
    /// An empty registry with a fresh random token-signing key.
    #[must_use]
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Mutex::new(RegistryInner {
                runs: HashMap::new(),
                by_run: HashMap::new(),
            })),
            key: Arc::new(rand::random()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, RegistryInner> {
        // Nothing panics while holding the lock; a poisoned one still holds consistent maps.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Mints `ACTIONS_RUNTIME_TOKEN` for a new job of `repo`'s run `run_id`.
    ///
    /// Returns `(token, run_backend_id, job_backend_id)`. One run keeps one backend id; every
    /// call is a new job. The token is a JWT whose `scp` is
    /// `Actions.ExampleScope Actions.Results:<run>:<job>`, valid for six hours.
    pub fn mint_runtime_token(&self, repo: &str, run_id: u64) -> (String, String, String) {
        let run_backend_id = {
            let mut inner = self.lock();
            let key = (repo.to_owned(), run_id);
            match inner.by_run.get(&key) {
                Some(id) => id.clone(),
                None => {
                    let id = uuid::Uuid::new_v4().to_string();
                    inner.by_run.insert(key, id.clone());
                    inner.runs.insert(id.clone(), (repo.to_owned(), run_id));
                    id
                }
            }
        };
        let job_backend_id = uuid::Uuid::new_v4().to_string();
        let now = Utc::now().timestamp();
        let claims = json!({
            "scp": format!("Actions.ExampleScope Actions.Results:{run_backend_id}:{job_backend_id}"),
            "iss": "orchestrate-emulator",
            "aud": "actions-results",
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_HOURS * 3600,
        });
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"HS256"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signing_input = format!("{header}.{payload}");
        let signature = URL_SAFE_NO_PAD.encode(self.mac(&signing_input).finalize().into_bytes());
        (
            format!("{signing_input}.{signature}"),
            run_backend_id,
            job_backend_id,
        )
    }

    /// The `(repo, run_id)` a run backend id stands for.
    #[must_use]
    pub fn run_for_backend_id(&self, run_backend_id: &str) -> Option<(String, u64)> {
        self.lock().runs.get(run_backend_id).cloned()
    }

    fn mac(&self, signing_input: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(self.key.as_ref())
            .expect("hmac accepts a key of any length");
        mac.update(signing_input.as_bytes());
        mac
    }

    /// Verifies signature and expiry, then reads the `Actions.Results` scope.
    pub(super) fn verify(&self, token: &str) -> Option<Scope> {
        let (signing_input, signature) = token.rsplit_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        self.mac(signing_input).verify_slice(&signature).ok()?;
        let (_, payload) = signing_input.split_once('.')?;
        let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
        if claims["exp"].as_i64()? <= Utc::now().timestamp() {
            return None;
        }
        claims["scp"].as_str()?.split(' ').find_map(|scope| {
            let parts: Vec<&str> = scope.split(':').collect();
            match parts.as_slice() {
                ["Actions.Results", run, job] => Some(Scope {
                    run_backend_id: (*run).to_owned(),
                    job_backend_id: (*job).to_owned(),
                }),
                _ => None,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_token_decodes_like_jwt_decode_and_verifies() {
        let registry = RuntimeRegistry::new();
        let (token, run, job) = registry.mint_runtime_token("o/r", 5);
        let (again, run_again, job_again) = registry.mint_runtime_token("o/r", 5);
        assert_eq!(run, run_again, "one run keeps one backend id");
        assert_ne!(job, job_again, "every mint is a new job");
        assert_ne!(token, again);
        let payload = token.split('.').nth(1).expect("three segments");
        let claims: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url"))
                .expect("json");
        assert_eq!(
            claims["scp"],
            format!("Actions.ExampleScope Actions.Results:{run}:{job}")
        );
        assert!(
            claims["exp"]
                .as_i64()
                .is_some_and(|e| e > Utc::now().timestamp())
        );
        assert_eq!(
            registry.verify(&token),
            Some(Scope {
                run_backend_id: run.clone(),
                job_backend_id: job
            })
        );
        assert_eq!(
            registry.run_for_backend_id(&run),
            Some(("o/r".to_owned(), 5))
        );
    }

    #[test]
    fn forged_or_foreign_tokens_fail_verification() {
        let registry = RuntimeRegistry::new();
        let (token, _, _) = registry.mint_runtime_token("o/r", 5);
        let other = RuntimeRegistry::new();
        assert_eq!(other.verify(&token), None);
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(br#"{"scp":"Actions.Results:x:y","exp":99999999999}"#);
        parts[1] = &forged;
        assert_eq!(registry.verify(&parts.join(".")), None);
        assert_eq!(registry.verify("not-a-jwt"), None);
    }
}
