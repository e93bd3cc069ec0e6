//! Checking one setting at a time: each parser takes the given value, returns the typed value
//! or records a problem that names the input (or flag, or event key) with a hint.

use std::collections::BTreeMap;
use std::time::Duration;

use orchestrate_core::notify::rule::Channel;
use orchestrate_core::plan::{Plan, ReleaseSet, Strategy, did_you_mean, parse_versions};
use semver::Version;

use super::problems::Problems;
use super::raw::{Given, Origin, RawSettings};
use super::{Auth, Secret};

/// Where a value came from, as the `-->` line of its diagnostic.
pub fn location(given: &Given) -> String {
    match &given.origin {
        Origin::Input => format!("input {}", given.input),
        Origin::Flag(flag) => (*flag).to_owned(),
        Origin::Event { event, key } => format!("{event} event: {key}"),
        Origin::Var(name) => format!("${name}"),
    }
}

fn hint_from(candidate: Option<&str>, all: &[&str], what: &str) -> String {
    match candidate {
        Some(close) => format!("did you mean `{close}`? {what}: {}", quoted(all)),
        None => format!("{what}: {}", quoted(all)),
    }
}

fn quoted(names: &[&str]) -> String {
    let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    list.join(", ")
}

/// The environment must be one the plan defines.
pub fn environment(given: Option<&Given>, plan: &Plan, problems: &mut Problems) -> Option<String> {
    let names: Vec<&str> = plan.environments.keys().map(String::as_str).collect();
    let Some(given) = given else {
        problems.input(
            "input target_environment",
            "no target environment given: set input `target_environment` (or `--env`)",
            format!("environments in the plan: {}", quoted(&names)),
        );
        return None;
    };
    if plan.environments.contains_key(&given.text) {
        return Some(given.text.clone());
    }
    problems.input(
        &location(given),
        format!(
            "{} names environment `{}`, which plan `{}` does not define",
            given.label(),
            given.text,
            plan.name
        ),
        hint_from(
            did_you_mean(&given.text, names.iter().copied()),
            &names,
            "environments in the plan",
        ),
    );
    None
}

/// Parses every version mapping with the core's parser, merges them (a service given twice is
/// an error) and checks the release set against the plan.
pub fn release_set(parts: &[Given], plan: &Plan, problems: &mut Problems) -> Option<ReleaseSet> {
    if parts.is_empty() {
        problems.input(
            "input versions",
            "no versions given: set input `versions` (or `--versions`) to a mapping of service to version",
            "e.g. `{backend: 1.2.0, frontend: {android: 2.1.0, web: 2.1.0}}`",
        );
        return None;
    }
    let mut merged: BTreeMap<String, Version> = BTreeMap::new();
    let mut from: BTreeMap<String, String> = BTreeMap::new();
    let mut ok = true;
    for part in parts {
        let name = versions_name(part);
        match parse_versions(&name, &part.text) {
            Ok(versions) => {
                for (service, version) in versions {
                    if let Some(first) = from.get(&service) {
                        problems.input(
                            &location(part),
                            format!(
                                "{} gives `{service}` a version again (already given by {first})",
                                part.label()
                            ),
                            "give each service one version",
                        );
                        ok = false;
                    } else {
                        from.insert(service.clone(), part.label());
                        merged.insert(service, version);
                    }
                }
            }
            Err(diagnostics) => {
                problems.extend(diagnostics, &part.text);
                ok = false;
            }
        }
    }
    if !ok {
        return None;
    }
    match plan.release_set(&merged) {
        Ok(release) => Some(release),
        Err(diagnostics) => {
            problems.extend(diagnostics, "");
            None
        }
    }
}

/// The name the versions parser uses in its messages: the input, flag or event key.
fn versions_name(given: &Given) -> String {
    match &given.origin {
        Origin::Flag(flag) => (*flag).to_owned(),
        Origin::Event { key, .. } => key.clone(),
        Origin::Input | Origin::Var(_) => given.input.to_owned(),
    }
}

/// The strategy: the given one, else the plan's.
pub fn strategy(given: Option<&Given>, plan: &Plan, problems: &mut Problems) -> Strategy {
    let Some(given) = given else {
        return plan.strategy;
    };
    match given.text.as_str() {
        "sequential" => Strategy::Sequential,
        "parallel" => Strategy::Parallel,
        "canary" => Strategy::Canary,
        other => {
            let all = ["sequential", "parallel", "canary"];
            problems.input(
                &location(given),
                format!("{} must be a strategy, got `{other}`", given.label()),
                hint_from(did_you_mean(&other.to_lowercase(), all), &all, "strategies"),
            );
            plan.strategy
        }
    }
}

/// Booleans as `@actions/core`'s `getBooleanInput` accepts them, and nothing else.
pub fn boolean(given: Option<&Given>, default: bool, problems: &mut Problems) -> bool {
    let Some(given) = given else {
        return default;
    };
    match given.text.as_str() {
        "true" | "True" | "TRUE" => true,
        "false" | "False" | "FALSE" => false,
        other => {
            problems.input(
                &location(given),
                format!("{} must be a boolean, got `{other}`", given.label()),
                "use `true` or `false` (`True`, `TRUE`, `False` and `FALSE` are accepted too)",
            );
            default
        }
    }
}

/// A comma or newline separated channel list; `none` turns notifications off.
pub fn channels(given: Option<&Given>, problems: &mut Problems) -> Option<Vec<Channel>> {
    let given = given?;
    let all = ["slack", "webhook", "email", "github_issue", "none"];
    let mut channels = Vec::new();
    let mut ok = true;
    for word in given
        .text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        let channel = match word {
            "slack" => Channel::Slack,
            "webhook" => Channel::Webhook,
            "email" => Channel::Email,
            "github_issue" => Channel::GithubIssue,
            "none" => continue,
            other => {
                problems.input(
                    &location(given),
                    format!("{} names an unknown channel `{other}`", given.label()),
                    hint_from(did_you_mean(other, all), &all, "channels"),
                );
                ok = false;
                continue;
            }
        };
        if !channels.contains(&channel) {
            channels.push(channel);
        }
    }
    ok.then_some(channels)
}

/// A positive duration with units (`45m`, `1h 30m`, `600s`).
pub fn timeout(given: Option<&Given>, problems: &mut Problems) -> Option<Duration> {
    let given = given?;
    let hint = "write a duration with a unit, e.g. `45m`, `1h 30m` or `600s`";
    match humantime::parse_duration(&given.text) {
        Ok(d) if !d.is_zero() => Some(d),
        Ok(_) => {
            problems.input(
                &location(given),
                format!("{} must be longer than zero", given.label()),
                hint,
            );
            None
        }
        Err(err) => {
            problems.input(
                &location(given),
                format!(
                    "{} is not a duration (`{}`): {err}",
                    given.label(),
                    given.text
                ),
                hint,
            );
            None
        }
    }
}

/// Credentials: a token wins; else an App id with its private key; else none (fine for a
/// preview or a dry run, an error for a real release).
pub fn auth(raw: &RawSettings, required: bool, problems: &mut Problems) -> Option<Auth> {
    if let Some(token) = &raw.token {
        return Some(Auth::Token(Secret::new(token.text.clone())));
    }
    match (&raw.app_id, &raw.app_private_key) {
        (Some(id), Some(key)) => match id.text.parse::<u64>() {
            Ok(app_id) => Some(Auth::App {
                app_id,
                private_key: Secret::new(key.text.clone()),
            }),
            Err(_) => {
                // The usual mistake is the two inputs swapped: never echo a private key.
                let got = if id.text.len() <= 20 && !id.text.contains(['\n', '\r']) {
                    format!("`{}`", id.text)
                } else {
                    "a longer text (not shown: it may be the private key)".to_owned()
                };
                problems.input(
                    &location(id),
                    format!("{} must be the App's numeric id, got {got}", id.label()),
                    "find it on the App's settings page (\"App ID\")",
                );
                None
            }
        },
        (Some(id), None) => {
            problems.input(
                &location(id),
                "input `app_id` is given without `app_private_key`",
                "pass the App's private key (a PEM secret) as `app_private_key`, or use `github_token`",
            );
            None
        }
        (None, Some(key)) => {
            problems.input(
                &location(key),
                "input `app_private_key` is given without `app_id`",
                "pass the App's numeric id as `app_id`, or use `github_token`",
            );
            None
        }
        (None, None) => {
            if required {
                problems.input(
                    "input github_token",
                    "no credentials: set input `github_token` (a PAT or App token), or `app_id` and `app_private_key`",
                    "the workflow's own GITHUB_TOKEN cannot dispatch in other repositories; from a terminal, set ORCHESTRATE_TOKEN",
                );
            }
            None
        }
    }
}
