//! The service graph and the scheduler: a pure state machine that turns events into commands.
