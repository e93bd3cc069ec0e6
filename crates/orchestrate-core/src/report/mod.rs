//! The run report: everything that happened in one release, and the pure renderers that turn
//! it into a job summary, step outputs and a Mermaid graph.

mod model;

pub use model::*;
