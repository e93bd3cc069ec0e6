//! What a release's manifest tells `orchestrate stats` that the registry cannot know exactly:
//! each service's dispatch and settle times on the release's own clock (milliseconds; the
//! registry has whole seconds and only the time a deployment was recorded, after its run was
//! found), the services it waits for (`needs`), and its health verdict even when the final
//! deployment status could not be written.

use std::collections::BTreeMap;

use crate::artifact::Manifest;
use crate::artifact::kinds::HealthState;

/// One release's manifest, as the stats arithmetic reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseTimes {
    /// The release (release-set deployment id), as the registry's payloads name it.
    pub release_id: String,
    pub services: BTreeMap<String, ServiceTimes>,
}

/// One service of a release's manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceTimes {
    pub needs: Vec<String>,
    /// Seconds from the release's start to its dispatch.
    pub dispatched: Option<f64>,
    /// Seconds from the release's start to it settling (verified, or failed).
    pub settled: Option<f64>,
    /// It was verified (and may have been rolled back later).
    pub verified: bool,
    /// `Some(true)` when its health check passed, `Some(false)` when it failed.
    pub health: Option<bool>,
}

impl ReleaseTimes {
    /// The services of `manifest` that were in the release.
    pub fn of(manifest: &Manifest) -> ReleaseTimes {
        let services = manifest
            .services
            .iter()
            .filter(|(_, s)| s.to_version.is_some())
            .map(|(name, s)| {
                let timings = manifest.performance.services.get(name);
                let times = ServiceTimes {
                    needs: s.needs.clone(),
                    dispatched: timings.and_then(|t| t.dispatched_secs),
                    settled: timings.and_then(|t| t.settled_secs),
                    verified: matches!(s.outcome.as_str(), "succeeded" | "rolled_back"),
                    health: match s.health {
                        HealthState::Passed => Some(true),
                        HealthState::Failed => Some(false),
                        HealthState::NotChecked | HealthState::NoCheck => None,
                    },
                };
                (name.clone(), times)
            })
            .collect();
        ReleaseTimes {
            release_id: manifest.deployment_id.clone(),
            services,
        }
    }

    /// The hand-offs to the services in `dependants`: each one's dispatch minus the last of
    /// its `needs` verified before it. A service that needs nothing in the release (or whose
    /// times the manifest lacks) has none.
    pub fn hand_offs<'a>(&self, dependants: impl IntoIterator<Item = &'a str>) -> Vec<f64> {
        dependants
            .into_iter()
            .filter_map(|name| {
                let service = self.services.get(name)?;
                let dispatched = service.dispatched?;
                let ready = service
                    .needs
                    .iter()
                    .filter_map(|need| self.services.get(need))
                    .filter(|need| need.verified)
                    .filter_map(|need| need.settled)
                    .filter(|&settled| settled <= dispatched)
                    .reduce(f64::max)?;
                Some(dispatched - ready)
            })
            .collect()
    }
}
