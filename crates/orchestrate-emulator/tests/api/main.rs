//! The emulator over HTTP, as clients see it: status codes, headers, bodies and behaviours.

mod auth;
mod deployments;
mod dispatch;
mod gates;
mod history;
mod issues;
mod lifecycle;
mod lists;
#[path = "../common/octo.rs"]
mod octo;
mod octocrab_models;
mod politeness;
mod support;
