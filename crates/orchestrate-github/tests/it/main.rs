//! Integration tests of the GitHub layer over real HTTP: a scripted fake GitHub (`fake.rs`) for
//! exact protocol cases, the emulator for end-to-end ones (App auth, a GHES `/api/v3` host),
//! and real zip archives for the safe unpacking.

mod app_auth;
mod approvals;
mod artifacts;
mod deployments;
mod dispatch;
mod emulator;
mod fake;
mod ghes;
mod issues;
mod polling;
mod results;
mod unzip;

use std::time::Duration;

use orchestrate_github::{Client, ClientConfig, Credentials, Repo, RetryPolicy, Secret};

pub const TOKEN: &str = "ghp_test_token_value";

pub fn repo() -> Repo {
    Repo {
        owner: "acme".into(),
        name: "api".into(),
    }
}

/// A client with fast retries and lookups, so the tests do not wait for production timings.
pub fn client(url: &str) -> Client {
    let mut config = ClientConfig::new(url, Credentials::Token(Secret::new(TOKEN)));
    config.retry = RetryPolicy {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    config.dispatch_lookup = Duration::from_millis(300);
    config.dispatch_lookup_interval = Duration::from_millis(50);
    config.request_timeout = Duration::from_secs(5);
    Client::new(config).expect("client builds")
}
