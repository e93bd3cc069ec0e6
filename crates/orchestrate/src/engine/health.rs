//! Health gates (SPEC §6): GET the rendered URL until the answer shows the new version serving
//! (`health::judge`), every `interval`, until the gate's timeout. In a rehearsal the request
//! goes to the emulator's `/_health/<service>` instead of the plan's host (see [`HealthRoute`]).
//! While a canary bakes, [`Gate::watch`] keeps checking it at the same interval.

use std::collections::BTreeMap;
use std::time::Duration;

use orchestrate_core::health::{Expectation, judge};
use orchestrate_core::plan::{Health, Vars};
use orchestrate_core::report::HealthVerdict;

use super::pace::Pace;

/// Failing checks in a row that fail a canary during its bake: one lost answer is tolerated,
/// a service failing its check for a whole interval is not.
pub const BAKE_STRIKES: u32 = 2;

/// Where health checks go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthRoute {
    /// The rendered URL of the plan.
    Direct,
    /// A rehearsal: every service's check goes to `<base>/_health/<service>`, whose behaviour
    /// the scenario's `health:` entries script. The plan's URL is still rendered (and logged)
    /// so a template error shows as it would for real.
    Emulator { base_url: String },
}

impl HealthRoute {
    pub fn url(&self, service: &str, rendered: &str) -> String {
        match self {
            HealthRoute::Direct => rendered.to_owned(),
            HealthRoute::Emulator { base_url } => {
                format!("{}/_health/{service}", base_url.trim_end_matches('/'))
            }
        }
    }
}

/// One gate, ready to run: URL and expectations rendered.
#[derive(Debug, Clone)]
pub struct Gate {
    pub service: String,
    pub url: String,
    pub expect: Expectation,
    pub interval: Duration,
    pub timeout: Duration,
}

impl Gate {
    /// Renders `health` for `service`; `env_timeout` is the environment's `health_timeout`.
    pub fn new(
        service: &str,
        health: &Health,
        vars: &Vars,
        env_timeout: Duration,
        route: &HealthRoute,
    ) -> Result<Gate, String> {
        let rendered = health
            .url
            .render(vars)
            .map_err(|e| format!("health url: {e}"))?;
        let json = health
            .expect_json
            .iter()
            .map(|(k, t)| {
                t.render(vars)
                    .map(|v| (k.clone(), v))
                    .map_err(|e| format!("health expectation `{k}`: {e}"))
            })
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        Ok(Gate {
            service: service.to_owned(),
            url: route.url(service, &rendered),
            expect: Expectation {
                status: health.expect_status,
                json,
            },
            interval: health.interval.max(Duration::from_millis(100)),
            timeout: health.timeout.unwrap_or(env_timeout),
        })
    }

    /// Checks until the answer passes or the timeout (emulated time) is spent. A check is made
    /// at least once, and once more at the deadline.
    pub async fn run(&self, http: &reqwest::Client, pace: &Pace) -> HealthVerdict {
        let start = pace.now();
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let reason = match self.check_once(http, pace).await {
                Ok(()) => return HealthVerdict::Passed { attempts },
                Err(reason) => reason,
            };
            let spent = pace.now().saturating_sub(start);
            if spent >= self.timeout {
                return HealthVerdict::Failed {
                    attempts,
                    reason: format!(
                        "{reason} (after {attempts} checks in {})",
                        humantime::format_duration(round_secs(self.timeout))
                    ),
                };
            }
            tracing::debug!(service = %self.service, attempt = attempts, %reason, "health check not passing yet");
            pace.sleep(self.interval.min(self.timeout - spent)).await;
        }
    }

    /// Re-checks every `interval` while a canary bakes. Returns only when [`BAKE_STRIKES`]
    /// checks in a row fail; the driver aborts it when the bake ends.
    pub async fn watch(&self, http: &reqwest::Client, pace: &Pace) -> HealthVerdict {
        let (mut checks, mut strikes) = (0u32, 0u32);
        loop {
            pace.sleep(self.interval).await;
            checks += 1;
            match self.check_once(http, pace).await {
                Ok(()) => strikes = 0,
                Err(reason) => {
                    strikes += 1;
                    tracing::debug!(service = %self.service, strikes, %reason, "canary check failing during the bake");
                    if strikes >= BAKE_STRIKES {
                        return HealthVerdict::Failed {
                            attempts: checks,
                            reason: format!("{reason} ({strikes} checks in a row during the bake)"),
                        };
                    }
                }
            }
        }
    }

    async fn check_once(&self, http: &reqwest::Client, pace: &Pace) -> Result<(), String> {
        self.probe(http, pace).await.verdict
    }

    /// One check, as each attempt of [`Gate::run`] makes it: one GET, whose answer may take at
    /// most an interval (real time at least a second), judged against the expectation.
    pub async fn probe(&self, http: &reqwest::Client, pace: &Pace) -> Probe {
        let limit = pace.to_real(self.interval).max(Duration::from_secs(1));
        let started = tokio::time::Instant::now();
        let paths: Vec<&str> = self.expect.json.keys().map(String::as_str).collect();
        let answer = async {
            let response = tokio::time::timeout(limit, http.get(&self.url).send())
                .await
                .map_err(|_| "no answer in time".to_owned())?
                .map_err(|e| format!("request failed: {}", without_url(&e)))?;
            let status = response.status().as_u16();
            let body = tokio::time::timeout(limit, response.text())
                .await
                .map_err(|_| (status, "body not received in time".to_owned()));
            Ok::<_, String>((status, body))
        }
        .await;
        let (status, verdict, seen) = match answer {
            Err(reason) => (None, Err(reason), vec![None; paths.len()]),
            Ok((status, Err((_, reason)))) => (Some(status), Err(reason), vec![None; paths.len()]),
            Ok((status, Ok(body))) => {
                let body = body.unwrap_or_default();
                let seen = orchestrate_core::health::seen(&body, &paths);
                (Some(status), judge(&self.expect, status, &body), seen)
            }
        };
        Probe {
            status,
            seen: paths.iter().map(|p| (*p).to_owned()).zip(seen).collect(),
            latency: started.elapsed(),
            verdict,
        }
    }
}

/// One answer to one health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The HTTP status; `None` when no answer came.
    pub status: Option<u16>,
    /// The value the body holds at each expected JSON path (`None`: not there, or not JSON).
    pub seen: BTreeMap<String, Option<String>>,
    /// Real time from the request to the whole answer (or to giving up).
    pub latency: Duration,
    /// Passed, or why not, in words fit for a summary.
    pub verdict: Result<(), String>,
}

fn round_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs())
}

/// reqwest errors print the URL; a health URL may carry a token in its query, so it is left out.
fn without_url(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "transport error"
    };
    kind.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_emulator_route_replaces_the_host_by_service() {
        let route = HealthRoute::Emulator {
            base_url: "http://127.0.0.1:9/".into(),
        };
        assert_eq!(
            route.url("backend", "https://api.example/health"),
            "http://127.0.0.1:9/_health/backend"
        );
        assert_eq!(HealthRoute::Direct.url("b", "https://x/h"), "https://x/h");
    }
}
