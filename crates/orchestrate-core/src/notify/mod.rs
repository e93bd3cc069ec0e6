//! Notifications: which events happened in a run, which rules match them, and the messages
//! each channel receives. Building messages is pure; sending them is the binary's job.

pub mod email;
pub mod events;
pub mod issue;
pub mod route;
pub mod rule;
#[doc(hidden)]
pub mod samples;
pub mod slack;
pub mod text;
pub mod webhook;

pub use events::{Notice, approval_required, at_finish, at_start};
pub use route::{Delivery, Routing, parse_channel_filter, route};
pub use webhook::{signature_header, verify_signature};
