//! Notifications: which events happened in a run, which rules match them, and the messages
//! each channel receives. Building messages is pure; sending them is the binary's job.

pub mod rule;
