//! Health right now (`orchestrate health`, `plan --health`): each service's health check of the
//! plan, made once against what the registry says is deployed, with the templates and
//! expectations of a release: the engine's [`Gate`], rendered with [`ReleaseVars`] in which
//! `version` is the deployed version, `previous_version` the one before it, `runs.<svc>` and
//! `deployment_id` what the deployments recorded.
//!
//! One check per service, no retries: a release's gate retries because a service is starting;
//! on call and before a release the question is how it answers now. A check whose templates
//! need a value only a release has (`artifacts.*`, or a version never deployed) is skipped,
//! saying which.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use orchestrate_core::plan::{Health, Plan, Template};
use orchestrate_github::GitHub;
use serde::Serialize;

use crate::engine::health::{Gate, HealthRoute, Probe};
use crate::engine::pace::Pace;
use crate::engine::registry::{self, Deployed};
use crate::engine::vars::ReleaseVars;

/// The expected JSON field shown in the table's version column.
const VERSION_FIELD: &str = "version";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
    /// The check could not be made: a template needs what only a release knows.
    Skipped,
    /// The service has no health check.
    NoCheck,
}

/// An expected JSON field: what the service serves and what it should.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    pub path: String,
    pub seen: Option<String>,
    pub expected: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub service: String,
    /// The version the registry says is deployed.
    pub deployed: Option<String>,
    pub verdict: Verdict,
    /// The URL checked, without credentials or query (which may hold a token).
    pub url: Option<String>,
    pub http_status: Option<u16>,
    pub expected_status: Option<u16>,
    pub fields: Vec<Field>,
    pub latency_ms: Option<u64>,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
}

/// Every row, in plan order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Checkup {
    pub plan: String,
    pub environment: String,
    pub checked_at: DateTime<Utc>,
    pub services: Vec<Row>,
}

impl Checkup {
    pub fn count(&self, verdict: Verdict) -> usize {
        self.services
            .iter()
            .filter(|r| r.verdict == verdict)
            .count()
    }

    pub fn failed(&self) -> Vec<&str> {
        self.services
            .iter()
            .filter(|r| r.verdict == Verdict::Failed)
            .map(|r| r.service.as_str())
            .collect()
    }
}

/// Checks `services` (all of the plan's when empty) in `environment`, concurrently.
pub async fn run(
    github: &Arc<dyn GitHub>,
    http: &reqwest::Client,
    plan: &Plan,
    environment: &str,
    services: &[String],
) -> Result<Checkup, orchestrate_github::Error> {
    let checked_at = Utc::now();
    let deployed = registry::lookup(github, plan, environment).await?;
    let env_timeout = plan
        .environments
        .get(environment)
        .map_or(Duration::from_secs(60), |e| e.health_timeout);
    let selected = plan
        .services
        .iter()
        .filter(|s| services.is_empty() || services.contains(&s.name));
    let mut rows = Vec::new();
    let mut probes = tokio::task::JoinSet::new();
    for (index, service) in selected.enumerate() {
        let current = deployed.get(&service.name).cloned().unwrap_or_default();
        let mut row = Row {
            service: service.name.clone(),
            deployed: current.current.clone(),
            verdict: Verdict::NoCheck,
            url: None,
            http_status: None,
            expected_status: None,
            fields: Vec::new(),
            latency_ms: None,
            reason: None,
        };
        if let Some(health) = &service.health {
            let vars = vars_for(plan, environment, &service.name, &deployed);
            row.expected_status = Some(health.expect_status);
            match gate(&service.name, health, &vars, env_timeout, environment) {
                Ok(gate) => {
                    row.url = Some(display_url(&gate.url));
                    row.fields = gate
                        .expect
                        .json
                        .iter()
                        .map(|(path, expected)| Field {
                            path: path.clone(),
                            seen: None,
                            expected: expected.clone(),
                        })
                        .collect();
                    let http = http.clone();
                    probes.spawn(async move { (index, gate.probe(&http, &Pace::real()).await) });
                }
                Err(reason) => {
                    row.verdict = Verdict::Skipped;
                    row.reason = Some(reason);
                }
            }
        }
        rows.push(row);
    }
    while let Some(joined) = probes.join_next().await {
        if let Ok((index, probe)) = joined {
            apply(&mut rows[index], probe);
        }
    }
    Ok(Checkup {
        plan: plan.name.clone(),
        environment: environment.to_owned(),
        checked_at,
        services: rows,
    })
}

/// A release's variables as they stand outside one: the registry's versions and runs.
fn vars_for(
    plan: &Plan,
    environment: &str,
    service: &str,
    deployed: &BTreeMap<String, Deployed>,
) -> orchestrate_core::plan::Vars {
    let versions = |pick: fn(&Deployed) -> Option<&String>| {
        deployed
            .iter()
            .filter_map(|(name, d)| pick(d).map(|v| (name.clone(), v.clone())))
            .collect::<BTreeMap<_, _>>()
    };
    let own = deployed.get(service);
    let release_id = own.and_then(|d| d.release_id.clone());
    let mut release = ReleaseVars::new(
        plan,
        environment,
        release_id.as_deref().unwrap_or_default(),
        versions(|d| d.current.as_ref()),
        versions(|d| d.previous.as_ref()),
    );
    for (name, d) in deployed {
        if let Some((id, url)) = &d.run {
            release.set_run(name, *id, url);
        }
    }
    let mut vars = release.for_deploy(service);
    // Unknown is not empty: a template needing it is skipped, not rendered blank.
    if release_id.is_none() {
        vars.remove("deployment_id");
    }
    if own.and_then(|d| d.current.as_ref()).is_none() {
        vars.remove("version");
    }
    if own.and_then(|d| d.previous.as_ref()).is_none() {
        vars.remove("previous_version");
    }
    vars
}

/// The gate, or why it cannot be checked now (the first template variable without a value).
fn gate(
    service: &str,
    health: &Health,
    vars: &orchestrate_core::plan::Vars,
    env_timeout: Duration,
    environment: &str,
) -> Result<Gate, String> {
    let templates = std::iter::once(&health.url).chain(health.expect_json.values());
    if let Some(missing) = templates
        .flat_map(Template::variables)
        .find(|v| !vars.contains_key(*v))
    {
        return Err(match missing {
            "version" | "previous_version" => format!(
                "`{{{{ {missing} }}}}`: no such version of `{service}` is recorded as deployed in `{environment}`"
            ),
            _ if missing.starts_with("versions.") => format!(
                "`{{{{ {missing} }}}}`: that service has no version recorded as deployed in `{environment}`"
            ),
            _ => format!(
                "`{{{{ {missing} }}}}` is known only during a release (the registry does not record it)"
            ),
        });
    }
    Gate::new(service, health, vars, env_timeout, &HealthRoute::Direct)
}

fn apply(row: &mut Row, probe: Probe) {
    row.http_status = probe.status;
    row.latency_ms = Some(u64::try_from(probe.latency.as_millis()).unwrap_or(u64::MAX));
    for field in &mut row.fields {
        field.seen = probe.seen.get(&field.path).cloned().flatten();
    }
    match probe.verdict {
        Ok(()) => row.verdict = Verdict::Passed,
        Err(reason) => {
            row.verdict = Verdict::Failed;
            row.reason = Some(reason);
        }
    }
}

/// `scheme://host[:port]/path`, with `?…` when there was a query: a health URL may carry a
/// token in its query or its user info, and neither is printed.
fn display_url(url: &str) -> String {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return "(not a URL)".to_owned();
    };
    let mut out = format!("{}://{}", parsed.scheme(), parsed.host_str().unwrap_or(""));
    if let Some(port) = parsed.port() {
        let _ = write!(out, ":{port}");
    }
    out.push_str(parsed.path());
    if parsed.query().is_some() {
        out.push_str("?…");
    }
    out
}

/// The table: one line per service, the reason under a failed or skipped one.
pub fn render_text(checkup: &Checkup) -> String {
    let mut out = format!(
        "Health of `{}` (plan `{}`), one check per service at {}:\n\n",
        checkup.environment,
        checkup.plan,
        checkup.checked_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let cells: Vec<[String; 6]> = checkup.services.iter().map(cells).collect();
    let header = [
        "SERVICE",
        "RESULT",
        "HTTP",
        "VERSION (seen / expected)",
        "LATENCY",
        "URL",
    ];
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut text = String::from("  ");
        for (i, cell) in cells.iter().enumerate() {
            let gap = if i == 0 { "" } else { "  " };
            if i + 1 == cells.len() {
                let _ = write!(text, "{gap}{cell}");
            } else {
                let _ = write!(text, "{gap}{cell:<width$}", width = widths[i]);
            }
        }
        text.trim_end().to_owned()
    };
    let _ = writeln!(out, "{}", line(&header.map(str::to_owned)));
    for (row, cells) in checkup.services.iter().zip(&cells) {
        let _ = writeln!(out, "{}", line(cells));
        if let Some(reason) = &row.reason {
            let _ = writeln!(out, "    {reason}");
        }
    }
    let _ = writeln!(
        out,
        "\n{} passed, {} failed, {} skipped, {} without a health check",
        checkup.count(Verdict::Passed),
        checkup.count(Verdict::Failed),
        checkup.count(Verdict::Skipped),
        checkup.count(Verdict::NoCheck)
    );
    out
}

fn cells(row: &Row) -> [String; 6] {
    let dash = || "-".to_owned();
    let result = match row.verdict {
        Verdict::Passed => "pass",
        Verdict::Failed => "FAIL",
        Verdict::Skipped => "skipped",
        Verdict::NoCheck => "no check",
    };
    let version = row
        .fields
        .iter()
        .find(|f| f.path == VERSION_FIELD)
        .or_else(|| row.fields.first())
        .map_or_else(dash, |f| {
            let label = if f.path == VERSION_FIELD {
                String::new()
            } else {
                format!("{}: ", f.path)
            };
            format!(
                "{label}{} / {}",
                f.seen.as_deref().unwrap_or("-"),
                f.expected
            )
        });
    [
        row.service.clone(),
        result.to_owned(),
        row.http_status.map_or_else(dash, |s| s.to_string()),
        version,
        row.latency_ms.map_or_else(dash, |ms| format!("{ms} ms")),
        row.url.clone().unwrap_or_else(dash),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_urls_keep_neither_credentials_nor_query() {
        assert_eq!(
            display_url("https://user:pw@api.example.com:8443/health?token=abc"),
            "https://api.example.com:8443/health?…"
        );
        assert_eq!(
            display_url("http://127.0.0.1:9/_health/web"),
            "http://127.0.0.1:9/_health/web"
        );
        assert_eq!(display_url("not a url"), "(not a URL)");
    }

    #[test]
    fn checks_render_with_the_registry_and_skip_what_only_a_release_knows() {
        let text = "version: 1\nname: p\nenvironments: {staging: {vars: {api: https://x}}}\nservices:\n  api:\n    repo: a/api\n    workflow: d.yml\n    artifacts: [info]\n    health: {url: \"{{ vars.api }}/h?r={{ runs.api.id }}&d={{ deployment_id }}\", expect: {json: {version: \"{{ version }}\", was: \"{{ previous_version }}\"}}}\n  web:\n    repo: a/web\n    workflow: d.yml\n    needs: [api]\n    health: {url: \"{{ vars.api }}/web\", expect: {json: {image: \"{{ artifacts.api.info.image }}\"}}}\n";
        let plan = orchestrate_core::plan::load("p.yml", text)
            .expect("valid")
            .plan;
        let deployed = BTreeMap::from([(
            "api".to_owned(),
            Deployed {
                current: Some("1.3.0".into()),
                previous: Some("1.2.0".into()),
                run: Some((42, "https://github.com/a/api/actions/runs/42".into())),
                release_id: Some("9001".into()),
            },
        )]);
        let health = |name: &str| {
            plan.service(name)
                .and_then(|s| s.health.clone())
                .expect("health")
        };
        let vars = vars_for(&plan, "staging", "api", &deployed);
        let api = gate(
            "api",
            &health("api"),
            &vars,
            Duration::from_secs(60),
            "staging",
        )
        .expect("renders");
        assert_eq!(api.url, "https://x/h?r=42&d=9001");
        assert_eq!(api.expect.json["version"], "1.3.0");
        assert_eq!(api.expect.json["was"], "1.2.0");
        let vars = vars_for(&plan, "staging", "web", &deployed);
        let web = gate(
            "web",
            &health("web"),
            &vars,
            Duration::from_secs(60),
            "staging",
        )
        .expect_err("needs an artifact");
        assert!(
            web.contains("`{{ artifacts.api.info.image }}` is known only during a release"),
            "{web}"
        );
        let empty = BTreeMap::new();
        let vars = vars_for(&plan, "staging", "api", &empty);
        let never = gate(
            "api",
            &health("api"),
            &vars,
            Duration::from_secs(60),
            "staging",
        )
        .expect_err("nothing deployed");
        assert!(
            never.contains("`{{ runs.api.id }}` is known only during a release"),
            "{never}"
        );
    }

    fn row(service: &str, verdict: Verdict) -> Row {
        Row {
            service: service.into(),
            deployed: Some("1.3.0".into()),
            verdict,
            url: Some("https://api.example.com/health".into()),
            http_status: Some(200),
            expected_status: Some(200),
            fields: vec![Field {
                path: "version".into(),
                seen: Some("1.3.0".into()),
                expected: "1.3.0".into(),
            }],
            latency_ms: Some(12),
            reason: None,
        }
    }

    #[test]
    fn the_table_shows_each_service_and_why_one_failed() {
        let mut web = row("web", Verdict::Failed);
        web.http_status = Some(503);
        web.fields[0].seen = None;
        web.fields[0].expected = "2.1.0".into();
        web.reason = Some("answered HTTP 503, expected 200".into());
        let mut android = row("android", Verdict::NoCheck);
        android.url = None;
        android.http_status = None;
        android.fields.clear();
        android.latency_ms = None;
        let checkup = Checkup {
            plan: "pratiko".into(),
            environment: "staging".into(),
            checked_at: DateTime::from_timestamp(1_800_000_000, 0).expect("valid"),
            services: vec![row("backend", Verdict::Passed), web, android],
        };
        insta::assert_snapshot!(render_text(&checkup));
        assert_eq!(checkup.failed(), ["web"]);
    }
}
