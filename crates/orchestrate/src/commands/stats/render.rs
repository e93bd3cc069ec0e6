//! The outputs of `orchestrate stats`: a table for people, OpenMetrics text for Prometheus
//! (encoded by `prometheus-client`); JSON is the [`Report`] serialized as it is.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use chrono::DateTime;
use orchestrate_core::report::format::{count, duration, plural};
use orchestrate_core::stats::Figures;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use super::Report;

fn date(ts: i64) -> String {
    DateTime::from_timestamp(ts, 0).map_or_else(
        || ts.to_string(),
        |d| d.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

fn secs(s: f64) -> String {
    duration(Duration::from_secs_f64(s.max(0.0)))
}

fn opt_secs(s: Option<f64>) -> String {
    s.map_or_else(|| "–".to_owned(), secs)
}

/// A latency: to the millisecond under a minute when it is not whole seconds (the manifests'
/// precision), else like a duration.
fn latency(s: Option<f64>) -> String {
    match s {
        Some(s) if s < 60.0 && s.fract() != 0.0 => format!("{s:.3}s"),
        other => opt_secs(other),
    }
}

fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "–".to_owned(), |r| format!("{:.1} %", r * 100.0))
}

/// The table: what was counted first, then the deployment figures, then DORA's.
pub fn table(report: &Report) -> String {
    let s = &report.summary;
    let f = &s.figures;
    let mut out = String::new();
    let scope = if report.services.is_empty() {
        String::new()
    } else {
        format!(", services {}", report.services.join(", "))
    };
    let _ = writeln!(
        out,
        "Release statistics for `{}` (plan `{}`{scope}), {} → {} (--since {})\n",
        report.environment,
        report.plan,
        date(s.period_start),
        date(s.period_end),
        report.since
    );
    let unsettled = if s.unsettled > 0 {
        format!(" ({} still in flight, not counted)", s.unsettled)
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "Counted: {}{unsettled} of {} in {}, {}; {} spent ({} counted against the rate limit) \
         on {} and their statuses\n",
        plural(s.deployments, "deployment"),
        plural(s.services, "service"),
        count(s.repositories, "repository", "repositories"),
        plural(s.releases, "release"),
        plural(report.requests.total, "request"),
        report.requests.counted,
        plural(report.lists.len(), "deployments list"),
    );
    manifests(&mut out, report);
    deployments(&mut out, f);
    dora(&mut out, f, s.period_end - s.period_start);
    out
}

fn manifests(out: &mut String, report: &Report) {
    let m = &report.manifests;
    let unreadable = if m.unreadable.is_empty() {
        String::new()
    } else {
        format!(
            "; {} not usable: {}",
            m.unreadable.len(),
            m.unreadable.join("; ")
        )
    };
    let _ = if m.read == 0 {
        writeln!(
            out,
            "Manifests: none read from {}{unreadable}; the figures come from the registry alone\n",
            m.store
        )
    } else {
        writeln!(
            out,
            "Manifests: {} read from {} ({} without one){unreadable}; coordination latency and \
             health of those releases come from them\n",
            m.read,
            m.store,
            plural(m.missing, "release"),
        )
    };
}

fn deployments(out: &mut String, f: &Figures) {
    let settled = f.succeeded + f.failed + f.rolled_back;
    let share = |n: usize| pct((settled > 0).then(|| n as f64 / settled as f64));
    let _ = writeln!(out, "Deployments");
    let _ = writeln!(
        out,
        "  succeeded              {:>4}  {}",
        f.succeeded,
        share(f.succeeded)
    );
    let _ = writeln!(
        out,
        "  failed                 {:>4}  {}",
        f.failed,
        share(f.failed)
    );
    let _ = writeln!(
        out,
        "  rolled back            {:>4}  {}",
        f.rolled_back,
        share(f.rolled_back)
    );
    let _ = writeln!(
        out,
        "  duration               avg {}, p50 {}, p90 {}",
        opt_secs(f.duration_avg),
        opt_secs(f.duration_p50.map(|v| v as f64)),
        opt_secs(f.duration_p90.map(|v| v as f64)),
    );
    let _ = writeln!(
        out,
        "  health checks          {} of {} passed  {}",
        f.health_passed,
        f.health_checked,
        pct(f.health_pass_rate)
    );
    let _ = writeln!(
        out,
        "  coordination latency   avg {}, max {} ({})\n",
        latency(f.coordination_latency_avg),
        latency(f.coordination_latency_max),
        plural(f.coordination_pairs, "hand-off"),
    );
}

fn dora(out: &mut String, f: &Figures, period: i64) {
    let releases = f.releases_succeeded + f.releases_failed + f.releases_rolled_back;
    let _ = writeln!(out, "Releases (DORA)");
    let _ = writeln!(
        out,
        "  deployment frequency   {} a day ({} in {})",
        f.deployment_frequency_per_day
            .map_or_else(|| "–".to_owned(), |v| format!("{v:.2}")),
        plural(f.releases_succeeded, "successful release"),
        secs(period as f64),
    );
    let _ = writeln!(
        out,
        "  lead time (proxy)      avg {}, p50 {}  (first deployment recorded → last service verified)",
        opt_secs(f.lead_time_avg),
        opt_secs(f.lead_time_p50.map(|v| v as f64)),
    );
    let _ = writeln!(
        out,
        "  change failure rate    {}  ({} failed, {} rolled back, of {})",
        pct(f.change_failure_rate),
        f.releases_failed,
        f.releases_rolled_back,
        plural(releases, "release"),
    );
    let _ = writeln!(
        out,
        "  time to restore        avg {}  ({} restored, {} not yet)",
        opt_secs(f.mttr_avg),
        f.restored,
        f.unrestored
    );
}

/// The figures as OpenMetrics gauges (`orchestrate_…`), labelled with the environment and,
/// when `--service` narrowed them, the services. A figure with nothing to measure is left out.
pub fn prometheus(report: &Report) -> Result<String, std::fmt::Error> {
    let mut labels: Vec<(Cow<'static, str>, Cow<'static, str>)> =
        vec![("environment".into(), report.environment.clone().into())];
    if !report.services.is_empty() {
        labels.push(("services".into(), report.services.join(",").into()));
    }
    let mut registry = Registry::with_prefix_and_labels("orchestrate", labels.into_iter());
    let s = &report.summary;
    let f = &s.figures;
    let mut gauge = |name: &str, help: &str, unit: Option<Unit>, value: Option<f64>| {
        let Some(value) = value else { return };
        let g = Gauge::<f64, AtomicU64>::default();
        g.set(value);
        match unit {
            Some(unit) => registry.register_with_unit(name, help, unit, g),
            None => registry.register(name, help, g),
        }
    };
    let count = |n: usize| Some(n as f64);
    gauge(
        "period",
        "The period counted",
        Some(Unit::Seconds),
        Some((s.period_end - s.period_start) as f64),
    );
    gauge(
        "deployments",
        "Settled service deployments counted",
        None,
        count(s.deployments),
    );
    gauge(
        "deployments_unsettled",
        "Deployments still in flight, not counted",
        None,
        count(s.unsettled),
    );
    gauge(
        "deployments_succeeded",
        "Deployments verified (or irreversible and left in place)",
        None,
        count(f.succeeded),
    );
    gauge(
        "deployments_failed",
        "Deployments that failed",
        None,
        count(f.failed),
    );
    gauge(
        "deployments_rolled_back",
        "Deployments rolled back",
        None,
        count(f.rolled_back),
    );
    gauge(
        "deployment_success_ratio",
        "Succeeded over settled deployments",
        None,
        f.success_rate,
    );
    gauge(
        "deployment_failure_ratio",
        "Failed or rolled back over settled deployments",
        None,
        f.failure_rate,
    );
    gauge(
        "rollback_ratio",
        "Rolled back over settled deployments",
        None,
        f.rollback_rate,
    );
    gauge(
        "deployment_duration_avg",
        "Dispatch to settled, mean",
        Some(Unit::Seconds),
        f.duration_avg,
    );
    gauge(
        "deployment_duration_p50",
        "Dispatch to settled, median",
        Some(Unit::Seconds),
        f.duration_p50.map(|v| v as f64),
    );
    gauge(
        "deployment_duration_p90",
        "Dispatch to settled, 90th percentile",
        Some(Unit::Seconds),
        f.duration_p90.map(|v| v as f64),
    );
    gauge(
        "health_check_pass_ratio",
        "Health checks passed over made",
        None,
        f.health_pass_rate,
    );
    gauge(
        "coordination_latency_avg",
        "Upstream verified to dependent deployment, mean",
        Some(Unit::Seconds),
        f.coordination_latency_avg,
    );
    gauge("releases", "Releases counted", None, count(s.releases));
    gauge(
        "manifests_read",
        "Releases whose manifest was read (their coordination latency and health come from it)",
        None,
        count(s.manifests),
    );
    gauge(
        "deployment_frequency_per_day",
        "DORA deployment frequency: successful releases a day",
        None,
        f.deployment_frequency_per_day,
    );
    gauge(
        "lead_time_avg",
        "DORA lead time by proxy: first deployment recorded to last service verified",
        Some(Unit::Seconds),
        f.lead_time_avg,
    );
    gauge(
        "change_failure_ratio",
        "DORA change failure rate: failed or rolled-back releases over settled releases",
        None,
        f.change_failure_rate,
    );
    gauge(
        "time_to_restore_avg",
        "DORA time to restore service, mean",
        Some(Unit::Seconds),
        f.mttr_avg,
    );
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)?;
    Ok(text)
}
