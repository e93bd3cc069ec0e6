//! The service graph and the scheduler: a pure state machine that turns events into commands.
//! Also the compatibility checks (`requires` ranges) over the order the scheduler follows.

pub mod compat;
mod graph;
mod scheduler;

pub use graph::{Graph, GraphError};
pub use scheduler::{
    Command, DoneReason, Event, NodeSpec, Rejected, RollbackStatus, Scheduler, SchedulerConfig,
    ServiceState, ServiceStatus, SkipReason, StrategyConfig,
};
