//! Hand-driven event scripts for the protocol's edge cases: rejections, a cancel racing the
//! run, the bake's clock, degenerate configurations.

use std::time::Duration;

use super::sim::{canary, reference, secs};
use super::*;
use crate::report::{ReleaseStatus, RollbackOutcome, ServiceOutcome};

fn direct(strategy: StrategyConfig) -> Scheduler {
    Scheduler::new(reference(strategy)).expect("acyclic")
}

fn ev_run(service: &str, success: bool, now: u64) -> Event {
    Event::RunFinished {
        service: service.into(),
        success,
        now: secs(now),
    }
}

fn dispatch(s: &str) -> Command {
    Command::Dispatch { service: s.into() }
}

#[test]
fn rejections_say_why() {
    let mut s = direct(StrategyConfig::Sequential);
    assert_eq!(
        s.try_event(Event::Tick { now: secs(0) }),
        Err(Rejected::NotStarted)
    );
    assert_eq!(
        s.on_event(Event::Start { now: secs(0) }),
        [dispatch("backend")]
    );
    assert_eq!(
        s.try_event(Event::Start { now: secs(1) }),
        Err(Rejected::AlreadyStarted)
    );
    assert_eq!(
        s.try_event(ev_run("ghost", true, 1)),
        Err(Rejected::UnknownService("ghost".into()))
    );
    assert_eq!(
        s.try_event(Event::HealthVerdict {
            service: "backend".into(),
            ok: true,
            now: secs(1)
        }),
        Err(Rejected::WrongState {
            service: "backend".into(),
            state: "dispatching"
        })
    );
    assert_eq!(s.state("backend"), Some(ServiceState::Dispatching));
}

#[test]
fn a_cancel_before_the_run_is_known_and_a_run_that_wins_the_race() {
    let mut s = direct(StrategyConfig::Parallel { max_parallel: 4 });
    s.on_event(Event::Start { now: secs(0) });
    s.on_event(Event::Dispatched {
        service: "backend".into(),
        now: secs(1),
    });
    s.on_event(ev_run("backend", true, 2));
    let ready = s.on_event(Event::HealthVerdict {
        service: "backend".into(),
        ok: true,
        now: secs(3),
    });
    assert_eq!(
        ready,
        [
            dispatch("android"),
            dispatch("ios"),
            dispatch("web"),
            dispatch("desktop")
        ]
    );
    assert_eq!(
        s.on_event(Event::Abort { now: secs(4) }),
        ["android", "ios", "web", "desktop"].map(|x| Command::Cancel { service: x.into() })
    );
    // The run appears after the cancel was sent: nothing more to do.
    assert_eq!(
        s.try_event(Event::Dispatched {
            service: "ios".into(),
            now: secs(5)
        }),
        Ok(vec![])
    );
    // android's run concluded successfully before the cancel took effect: it went out.
    assert_eq!(s.on_event(ev_run("android", true, 6)), []);
    assert!(s.status("android").is_some_and(|st| st.deployed));
    s.on_event(Event::Cancelled {
        service: "ios".into(),
        now: secs(7),
    });
    s.on_event(Event::Cancelled {
        service: "web".into(),
        now: secs(7),
    });
    assert_eq!(
        s.on_event(Event::Cancelled {
            service: "desktop".into(),
            now: secs(8)
        }),
        [
            Command::Halt {
                service: "android".into()
            },
            Command::Rollback {
                service: "backend".into()
            }
        ]
    );
    assert_eq!(
        s.try_event(Event::Abort { now: secs(9) }),
        Err(Rejected::AlreadyStopping)
    );
    assert_eq!(
        s.on_event(Event::RollbackFinished {
            service: "backend".into(),
            outcome: RollbackOutcome::Succeeded,
            now: secs(40)
        }),
        [Command::Done {
            status: ReleaseStatus::Cancelled,
            reason: DoneReason::Aborted
        }]
    );
    assert_eq!(s.outcome("android"), Some(ServiceOutcome::Halted));
    assert_eq!(s.outcome("ios"), Some(ServiceOutcome::Cancelled));
    assert_eq!(
        s.try_event(Event::Tick { now: secs(41) }),
        Err(Rejected::Finished)
    );
}

#[test]
fn a_tick_before_the_bake_ends_changes_nothing() {
    let mut s = direct(canary(4, 60));
    s.on_event(Event::Start { now: secs(0) });
    s.on_event(ev_run("backend", true, 10));
    assert_eq!(
        s.on_event(Event::HealthVerdict {
            service: "backend".into(),
            ok: true,
            now: secs(20)
        }),
        [dispatch("web")]
    );
    s.on_event(ev_run("web", true, 30));
    assert_eq!(
        s.on_event(Event::HealthVerdict {
            service: "web".into(),
            ok: true,
            now: secs(40)
        }),
        [Command::Bake { until: secs(100) }]
    );
    assert_eq!(s.on_event(Event::Tick { now: secs(99) }), []);
    assert_eq!(
        s.on_event(Event::Tick { now: secs(100) }),
        [dispatch("android"), dispatch("ios"), dispatch("desktop")]
    );
}

#[test]
fn degenerate_configurations_still_finish() {
    // No services: done at once.
    let mut s = Scheduler::new(SchedulerConfig {
        nodes: vec![],
        strategy: StrategyConfig::Parallel { max_parallel: 0 },
        fail_fast: true,
        rollback_on_failure: true,
    })
    .expect("empty graph");
    assert_eq!(
        s.on_event(Event::Start {
            now: Duration::ZERO
        }),
        [Command::Done {
            status: ReleaseStatus::Succeeded,
            reason: DoneReason::Completed
        }]
    );
    // max_parallel 0 counts as 1; a canary naming nothing in the release set is parallel.
    let mut s = direct(StrategyConfig::Canary {
        services: vec!["ghost".into()],
        bake: secs(60),
        max_parallel: 0,
    });
    s.on_event(Event::Start { now: secs(0) });
    s.on_event(ev_run("backend", true, 1));
    assert_eq!(
        s.on_event(Event::HealthVerdict {
            service: "backend".into(),
            ok: true,
            now: secs(2)
        }),
        [dispatch("android")]
    );
    // A cycle is an error, not a panic.
    let mut config = reference(StrategyConfig::Sequential);
    config.nodes[0].needs = vec!["web".into()];
    assert!(matches!(Scheduler::new(config), Err(GraphError::Cycle(_))));
}
