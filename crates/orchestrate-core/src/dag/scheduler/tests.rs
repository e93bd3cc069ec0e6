//! Event scripts for the reference plan under every strategy and a failure at each position,
//! recorded as transcripts (`> event` / `<   command`) and checked against snapshots, plus
//! targeted asserts on outcomes, rollback order and final status.

use std::collections::BTreeMap;

use super::sim::{Behaviour, World, canary, reference, reference_behaviour, secs};
use super::*;
use crate::report::{ReleaseStatus, RollbackOutcome, ServiceOutcome};

fn play(
    name: &str,
    config: SchedulerConfig,
    behaviour: BTreeMap<String, Behaviour>,
    inject: Vec<Event>,
) -> World {
    let mut world = World::new(config, behaviour);
    for event in inject {
        world.inject(event);
    }
    let world = world.run();
    insta::assert_snapshot!(name, world.transcript);
    let dones = world
        .commands
        .iter()
        .filter(|c| matches!(c, Command::Done { .. }))
        .count();
    assert_eq!(dones, 1, "{name}: Done must be sent exactly once");
    assert!(
        matches!(world.commands.last(), Some(Command::Done { .. })),
        "{name}: Done must be last"
    );
    assert!(
        world.scheduler.outcomes().iter().all(|(_, o)| o.is_some()),
        "{name}: every service must end settled"
    );
    world
}

fn done(world: &World) -> (ReleaseStatus, DoneReason) {
    world.scheduler.done().expect("the release finished")
}

fn outcome(world: &World, service: &str) -> ServiceOutcome {
    world.scheduler.outcome(service).expect("settled")
}

fn is_dispatch(c: &Command) -> bool {
    matches!(c, Command::Dispatch { .. })
}

fn is_rollback_or_halt(c: &Command) -> bool {
    matches!(c, Command::Rollback { .. } | Command::Halt { .. })
}

fn strategies() -> Vec<(&'static str, StrategyConfig)> {
    vec![
        ("sequential", StrategyConfig::Sequential),
        ("parallel_1", StrategyConfig::Parallel { max_parallel: 1 }),
        ("parallel_2", StrategyConfig::Parallel { max_parallel: 2 }),
        ("parallel_4", StrategyConfig::Parallel { max_parallel: 4 }),
        ("canary_4", canary(4, 300)),
        ("canary_2", canary(2, 300)),
        ("canary_no_bake", canary(4, 0)),
    ]
}

#[test]
fn every_strategy_succeeds_and_respects_needs() {
    for (name, strategy) in strategies() {
        let world = play(
            &format!("success_{name}"),
            reference(strategy),
            reference_behaviour(),
            vec![],
        );
        assert_eq!(
            done(&world),
            (ReleaseStatus::Succeeded, DoneReason::Completed)
        );
        assert_eq!(world.services_of(is_dispatch)[0], "backend", "{name}");
        for (service, o) in world.scheduler.outcomes() {
            assert_eq!(o, Some(ServiceOutcome::Succeeded), "{name}: {service}");
        }
    }
}

#[test]
fn sequential_follows_file_order_and_canary_goes_first() {
    let world = World::new(reference(StrategyConfig::Sequential), reference_behaviour()).run();
    assert_eq!(
        world.services_of(is_dispatch),
        ["backend", "android", "ios", "web", "desktop"]
    );
    let world = World::new(reference(canary(4, 300)), reference_behaviour()).run();
    assert_eq!(
        world.services_of(is_dispatch),
        ["backend", "web", "android", "ios", "desktop"]
    );
    // backend verified at 72s, web dispatched then, run 30s + dispatch 2s + health 10s.
    assert!(world.commands.contains(&Command::Bake {
        until: secs(114 + 300)
    }));
}

/// A failure at each position, under each strategy family.
#[test]
fn a_failure_at_each_position() {
    type Tweak = fn(&mut Behaviour);
    let failures: [(&str, &str, Tweak); 7] = [
        ("backend_run_fails", "backend", |b| b.run_ok = false),
        ("backend_health_fails", "backend", |b| b.health_ok = false),
        ("android_fails", "android", |b| b.run_ok = false),
        ("ios_fails", "ios", |b| b.run_ok = false),
        ("web_fails", "web", |b| b.run_ok = false),
        ("web_health_fails", "web", |b| b.health_ok = false),
        ("desktop_fails", "desktop", |b| b.run_ok = false),
    ];
    let families = [
        ("sequential", StrategyConfig::Sequential),
        ("parallel_4", StrategyConfig::Parallel { max_parallel: 4 }),
        ("canary_4", canary(4, 300)),
    ];
    for (family, strategy) in families {
        for (failure, service, tweak) in failures {
            let mut behaviour = reference_behaviour();
            tweak(behaviour.get_mut(service).expect("reference service"));
            let world = play(
                &format!("{failure}_{family}"),
                reference(strategy.clone()),
                behaviour,
                vec![],
            );
            let (status, reason) = done(&world);
            assert_eq!(reason, DoneReason::Failed, "{failure} {family}");
            assert_ne!(status, ReleaseStatus::Succeeded, "{failure} {family}");
            assert_eq!(
                outcome(&world, service),
                ServiceOutcome::Failed,
                "{failure} {family}"
            );
            if service == "backend" {
                // Nothing else ever started, and nothing needs rolling back but the backend
                // whose health failed.
                assert_eq!(world.services_of(is_dispatch), ["backend"]);
                for s in ["android", "ios", "web", "desktop"] {
                    assert_eq!(outcome(&world, s), ServiceOutcome::Skipped);
                }
            }
            if family == "canary_4" && service == "web" {
                assert_eq!(world.services_of(is_dispatch), ["backend", "web"]);
            }
        }
    }
}

#[test]
fn backend_health_failure_rolls_the_backend_back() {
    let mut behaviour = reference_behaviour();
    behaviour.get_mut("backend").expect("backend").health_ok = false;
    let world = World::new(
        reference(StrategyConfig::Parallel { max_parallel: 4 }),
        behaviour,
    )
    .run();
    assert_eq!(world.services_of(is_rollback_or_halt), ["backend"]);
    assert_eq!(
        done(&world),
        (ReleaseStatus::RolledBack, DoneReason::Failed)
    );
    assert_eq!(outcome(&world, "backend"), ServiceOutcome::Failed);
    assert_eq!(
        world.scheduler.rollbacks(),
        [("backend".to_owned(), RollbackOutcome::Succeeded)]
    );
}

#[test]
fn fail_fast_cancels_in_flight_and_rolls_back_in_reverse() {
    let mut behaviour = reference_behaviour();
    behaviour.get_mut("ios").expect("ios").run_ok = false;
    let world = World::new(
        reference(StrategyConfig::Parallel { max_parallel: 4 }),
        behaviour,
    )
    .run();
    // web (30s) and desktop (45s) verified before ios (90s) failed; android was cancelled.
    assert!(world.commands.contains(&Command::Cancel {
        service: "android".into()
    }));
    assert_eq!(
        world.services_of(is_rollback_or_halt),
        ["desktop", "web", "backend"]
    );
    assert_eq!(outcome(&world, "android"), ServiceOutcome::Cancelled);
    assert_eq!(outcome(&world, "desktop"), ServiceOutcome::RolledBack);
    assert_eq!(
        done(&world),
        (ReleaseStatus::RolledBack, DoneReason::Failed)
    );
}

#[test]
fn irreversible_services_are_halted_not_rolled_back() {
    let mut behaviour = reference_behaviour();
    behaviour.get_mut("desktop").expect("desktop").run_ok = false;
    // The transcript is the `desktop_fails_sequential` snapshot.
    let world = World::new(reference(StrategyConfig::Sequential), behaviour).run();
    assert_eq!(
        world.services_of(is_rollback_or_halt),
        ["web", "ios", "android", "backend"]
    );
    assert!(world.commands.contains(&Command::Halt {
        service: "android".into()
    }));
    assert_eq!(outcome(&world, "android"), ServiceOutcome::Halted);
    assert_eq!(
        world.scheduler.rollbacks(),
        [
            ("web".to_owned(), RollbackOutcome::Succeeded),
            ("ios".to_owned(), RollbackOutcome::Succeeded),
            ("android".to_owned(), RollbackOutcome::Refused),
            ("backend".to_owned(), RollbackOutcome::Succeeded),
        ]
    );
    assert_eq!(
        done(&world),
        (ReleaseStatus::RolledBack, DoneReason::Failed)
    );
}

#[test]
fn without_fail_fast_independent_branches_carry_on() {
    let mut behaviour = reference_behaviour();
    behaviour.get_mut("web").expect("web").run_ok = false;
    let mut config = reference(StrategyConfig::Parallel { max_parallel: 2 });
    config.fail_fast = false;
    let world = play(
        "web_fails_no_fail_fast_parallel_2",
        config,
        behaviour,
        vec![],
    );
    assert!(
        !world
            .commands
            .iter()
            .any(|c| matches!(c, Command::Cancel { .. }))
    );
    for s in ["android", "ios", "desktop"] {
        assert!(
            world.services_of(is_dispatch).contains(&s.to_owned()),
            "{s}"
        );
    }
    assert_eq!(outcome(&world, "web"), ServiceOutcome::Failed);
    assert_eq!(
        done(&world),
        (ReleaseStatus::RolledBack, DoneReason::Failed)
    );
}

#[test]
fn without_rollback_a_failure_is_just_failed() {
    let mut behaviour = reference_behaviour();
    behaviour.get_mut("ios").expect("ios").run_ok = false;
    let mut config = reference(StrategyConfig::Parallel { max_parallel: 4 });
    config.rollback_on_failure = false;
    let world = play(
        "ios_fails_no_rollback_parallel_4",
        config,
        behaviour,
        vec![],
    );
    assert!(world.services_of(is_rollback_or_halt).is_empty());
    assert_eq!(outcome(&world, "web"), ServiceOutcome::Succeeded);
    assert_eq!(done(&world), (ReleaseStatus::Failed, DoneReason::Failed));
}

#[test]
fn a_refused_or_missing_rollback_makes_the_release_failed() {
    for (name, outcome_of_backend) in [
        ("backend_rollback_refused", RollbackOutcome::Refused),
        ("backend_rollback_no_previous", RollbackOutcome::NoPrevious),
        ("backend_rollback_fails", RollbackOutcome::Failed),
    ] {
        let mut behaviour = reference_behaviour();
        behaviour.get_mut("ios").expect("ios").run_ok = false;
        behaviour.get_mut("backend").expect("backend").rollback = outcome_of_backend.clone();
        let world = play(
            name,
            reference(StrategyConfig::Parallel { max_parallel: 4 }),
            behaviour,
            vec![],
        );
        assert_eq!(
            done(&world),
            (ReleaseStatus::Failed, DoneReason::Failed),
            "{name}"
        );
        // The backend keeps its deploy outcome; the rollback report says what happened.
        assert_eq!(
            outcome(&world, "backend"),
            ServiceOutcome::Succeeded,
            "{name}"
        );
        assert!(
            world
                .scheduler
                .rollbacks()
                .contains(&("backend".to_owned(), outcome_of_backend))
        );
    }
}

#[test]
fn a_service_timeout_mid_flight_cancels_it_and_maps_to_timed_out() {
    let world = play(
        "ios_times_out_parallel_4",
        reference(StrategyConfig::Parallel { max_parallel: 4 }),
        reference_behaviour(),
        vec![Event::TimedOut {
            service: "ios".into(),
            now: secs(150),
        }],
    );
    assert_eq!(outcome(&world, "ios"), ServiceOutcome::TimedOut);
    assert_eq!(outcome(&world, "android"), ServiceOutcome::Cancelled);
    assert_eq!(
        done(&world),
        (ReleaseStatus::RolledBack, DoneReason::TimedOut)
    );
}

#[test]
fn the_release_timeout_cancels_everything_in_flight() {
    let world = play(
        "release_timeout_parallel_4",
        reference(StrategyConfig::Parallel { max_parallel: 4 }),
        reference_behaviour(),
        vec![Event::ReleaseTimeout { now: secs(150) }],
    );
    for s in ["android", "ios"] {
        assert!(
            world
                .commands
                .contains(&Command::Cancel { service: s.into() })
        );
        assert_eq!(outcome(&world, s), ServiceOutcome::TimedOut, "{s}");
    }
    assert_eq!(
        world.services_of(is_rollback_or_halt),
        ["desktop", "web", "backend"]
    );
    assert_eq!(
        done(&world),
        (ReleaseStatus::RolledBack, DoneReason::TimedOut)
    );

    // Sequential: desktop never started, so it is skipped.
    let world = play(
        "release_timeout_sequential",
        reference(StrategyConfig::Sequential),
        reference_behaviour(),
        vec![Event::ReleaseTimeout { now: secs(150) }],
    );
    assert_eq!(outcome(&world, "desktop"), ServiceOutcome::Skipped);
    assert_eq!(done(&world).1, DoneReason::TimedOut);
}

#[test]
fn abort_cancels_rolls_back_and_ends_cancelled() {
    let world = play(
        "abort_parallel_4",
        reference(StrategyConfig::Parallel { max_parallel: 4 }),
        reference_behaviour(),
        vec![Event::Abort { now: secs(100) }],
    );
    assert_eq!(
        done(&world),
        (ReleaseStatus::Cancelled, DoneReason::Aborted)
    );
    assert_eq!(world.services_of(is_rollback_or_halt), ["backend"]);

    let world = play(
        "abort_during_bake_canary_4",
        reference(canary(4, 300)),
        reference_behaviour(),
        vec![Event::Abort { now: secs(200) }],
    );
    assert_eq!(world.services_of(is_dispatch), ["backend", "web"]);
    assert_eq!(world.services_of(is_rollback_or_halt), ["web", "backend"]);
    assert_eq!(
        done(&world),
        (ReleaseStatus::Cancelled, DoneReason::Aborted)
    );
}

#[test]
fn a_canary_that_degrades_during_the_bake_stops_the_rest() {
    let world = play(
        "canary_degrades_during_bake",
        reference(canary(4, 300)),
        reference_behaviour(),
        vec![Event::HealthVerdict {
            service: "web".into(),
            ok: false,
            now: secs(200),
        }],
    );
    assert_eq!(world.services_of(is_dispatch), ["backend", "web"]);
    assert_eq!(outcome(&world, "web"), ServiceOutcome::Failed);
    assert_eq!(outcome(&world, "backend"), ServiceOutcome::RolledBack);
    assert_eq!(outcome(&world, "ios"), ServiceOutcome::Skipped);
    assert_eq!(
        done(&world),
        (ReleaseStatus::RolledBack, DoneReason::Failed)
    );
}

#[test]
fn events_that_do_not_apply_are_ignored() {
    let world = play(
        "nonsense_events_parallel_4",
        reference(StrategyConfig::Parallel { max_parallel: 4 }),
        reference_behaviour(),
        vec![
            Event::RunFinished {
                service: "ios".into(),
                success: true,
                now: secs(1),
            },
            Event::Dispatched {
                service: "ghost".into(),
                now: secs(3),
            },
            Event::RunFinished {
                service: "backend".into(),
                success: false,
                now: secs(63),
            },
            Event::Cancelled {
                service: "web".into(),
                now: secs(80),
            },
            Event::Start { now: secs(81) },
            Event::Tick { now: secs(82) },
            Event::RollbackFinished {
                service: "web".into(),
                outcome: RollbackOutcome::Succeeded,
                now: secs(83),
            },
            Event::Abort { now: secs(1000) },
        ],
    );
    assert_eq!(
        done(&world),
        (ReleaseStatus::Succeeded, DoneReason::Completed)
    );
}
