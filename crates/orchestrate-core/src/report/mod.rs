//! The run report: everything that happened in one release, and the pure renderers that turn
//! it into a job summary, step outputs and a Mermaid graph.

mod approval;
pub mod format;
pub mod mermaid;
mod model;
pub mod outputs;
mod ser;
pub mod summary;
#[cfg(test)]
pub(crate) mod tests;

pub use approval::{ApprovalReport, ApprovalState};
pub use model::*;
