//! The pure core of orchestrate: release plans, the scheduler, run reports and notification
//! messages. Nothing here performs I/O, reads the environment or the clock: time and outside
//! facts come in as data, so every behaviour is tested without a network.

pub mod artifact;
pub mod dag;
pub mod health;
pub mod notify;
pub mod plan;
pub mod report;
pub mod stats;
