//! `orchestrate bench`: how well orchestrate waits, measured in real time on the built-in
//! emulator. Each case (`cases.rs`) gets an emulator of its own at 1× speed; its runs are
//! dispatched at once and awaited by the same watcher `orchestrate run` uses (forecast
//! pacing). Detection latency is the emulator's exact completion instant → the moment the
//! watcher reported the run completed; request figures come from the emulator's request log
//! (`figures.rs`), not from the client's own counters.

mod cases;
mod figures;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use orchestrate_emulator::{DEFAULT_TOKEN, Emulator, EmulatorConfig, Scenario};
use orchestrate_github::{
    Client, ClientConfig, Credentials, DispatchRequest, ForecastPolicy, GitHub, Repo, RunWatcher,
    Secret, WatchTarget,
};

use super::Io;
use crate::cli::{BenchArgs, BenchCase, Format};
use crate::error::Failure;
use cases::{Case, WORKFLOW};
use figures::CaseFigures;

/// `--quick`: a tenth of every duration and interval, three samples (a smoke test of the
/// machinery; its figures are not the benchmark's).
const QUICK_SCALE: f64 = 0.1;

pub fn run(args: &BenchArgs, io: &mut Io) -> Result<(), Failure> {
    let samples = usize::from(args.samples);
    let (scale, samples) = if args.quick {
        (QUICK_SCALE, samples.min(3))
    } else {
        (1.0, samples)
    };
    let selected: Vec<BenchCase> = if args.cases.is_empty() {
        vec![BenchCase::A, BenchCase::B, BenchCase::C, BenchCase::D]
    } else {
        args.cases.clone()
    };
    let cases: Vec<Case> = selected
        .iter()
        .map(|c| Case::new(*c, samples, scale))
        .collect();
    io.eprint(&format!(
        "benchmarking {} case(s) in real time{}; the longest takes about {}\n",
        cases.len(),
        if args.quick {
            " (quick: 1/10 scale)"
        } else {
            ""
        },
        humantime::format_duration(Duration::from_secs(
            cases
                .iter()
                .flat_map(|c| c.repos.iter().flat_map(|r| r.runs.iter()))
                .max()
                .map_or(0, |d| d.as_secs() + 5)
        ))
    ))
    .context("writing to stderr")?;
    let policy = scaled(ForecastPolicy::default(), scale);
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    // The cases run side by side, each on its own emulator (so its own rate-limit budget).
    let figures = runtime.block_on(async {
        let mut tasks = tokio::task::JoinSet::new();
        for (i, case) in cases.iter().cloned().enumerate() {
            tasks.spawn(async move { (i, measure(&case, policy).await) });
        }
        let mut figures = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            let (i, measured) = joined
                .map_err(|e| Failure::Internal(anyhow::anyhow!("a bench case failed: {e}")))?;
            figures.push((i, measured?));
        }
        figures.sort_by_key(|(i, _)| *i);
        Ok::<_, Failure>(figures.into_iter().map(|(_, f)| f).collect::<Vec<_>>())
    })?;
    let text = match args.format {
        Format::Text => figures::render(&figures),
        Format::Json => serde_json::to_string_pretty(&figures).context("encoding the figures")?,
    };
    io.print(&text).context("writing to stdout")?;
    Ok(())
}

/// Every interval of `policy` multiplied by `scale`.
fn scaled(policy: ForecastPolicy, scale: f64) -> ForecastPolicy {
    let s = |d: Duration| d.mul_f64(scale);
    ForecastPolicy {
        dense: s(policy.dense),
        edge_max: s(policy.edge_max),
        early_polls: policy.early_polls,
        sparse_min: s(policy.sparse_min),
        sparse_max: s(policy.sparse_max),
        young: s(policy.young),
        steady: s(policy.steady),
    }
}

async fn measure(case: &Case, policy: ForecastPolicy) -> Result<CaseFigures, Failure> {
    let scenario = Scenario::from_yaml(&case.scenario())
        .map_err(|e| Failure::Internal(anyhow::anyhow!("the bench scenario: {e}")))?;
    let config = EmulatorConfig {
        time_factor: Some(1.0),
        rate_limit: 5_000,
        ..EmulatorConfig::new(scenario)
    };
    let emulator = Emulator::start(config)
        .await
        .map_err(|e| Failure::Internal(anyhow::anyhow!("starting the emulator: {e}")))?;
    let client = Client::new(ClientConfig::new(
        emulator.base_url(),
        Credentials::Token(Secret::new(DEFAULT_TOKEN)),
    ))
    .map_err(|e| Failure::Internal(anyhow::anyhow!("setting up the GitHub client: {e}")))?;
    let github: Arc<dyn GitHub> = Arc::new(client);
    let watcher = Arc::new(RunWatcher::spawn(Arc::clone(&github), policy));
    let emulator = Arc::new(emulator);
    let mut awaits = tokio::task::JoinSet::new();
    for spec in &case.repos {
        let (owner, name) = spec.name.split_once('/').unwrap_or(("bench", &spec.name));
        let repo = Repo {
            owner: owner.to_owned(),
            name: name.to_owned(),
        };
        for n in 0..spec.runs.len() {
            let (github, watcher, emulator) = (
                Arc::clone(&github),
                Arc::clone(&watcher),
                Arc::clone(&emulator),
            );
            let repo = repo.clone();
            awaits.spawn(async move { await_one(&*github, &watcher, &emulator, repo, n).await });
        }
    }
    let mut latencies = Vec::new();
    while let Some(joined) = awaits.join_next().await {
        let latency = joined
            .map_err(|e| Failure::Internal(anyhow::anyhow!("a bench task failed: {e}")))??;
        latencies.push(latency);
    }
    let log = emulator.requests();
    let awaiting = figures::awaiting(&log);
    Ok(CaseFigures {
        case: case.case.letter().to_owned(),
        title: case.title.clone(),
        runs: case.runs(),
        repositories: case.repos.len(),
        detection_ms: figures::quantiles(&latencies),
        awaiting,
        per_run: figures::per_run(awaiting, case.runs()),
        log: figures::log_summary(&log),
    })
}

/// Dispatches run `n` of `repo` and awaits it; its detection latency.
async fn await_one(
    github: &dyn GitHub,
    watcher: &RunWatcher,
    emulator: &orchestrate_emulator::RunningEmulator,
    repo: Repo,
    n: usize,
) -> Result<Duration, Failure> {
    let internal = |what: String| Failure::Internal(anyhow::anyhow!(what));
    let request = DispatchRequest {
        repo: repo.clone(),
        workflow: WORKFLOW.to_owned(),
        git_ref: "main".to_owned(),
        inputs: [("n".to_owned(), n.to_string())].into(),
        correlate: false,
    };
    let dispatched = github
        .dispatch(&request)
        .await
        .map_err(|e| internal(format!("dispatching in {repo}: {e}")))?;
    let target = WatchTarget::from_dispatch(&dispatched, chrono::Duration::seconds(120))
        .ok_or_else(|| internal(format!("the dispatch in {repo} gave no run")))?;
    let run = watcher
        .watch_predicted(target, WORKFLOW)
        .completed()
        .await
        .map_err(|f| internal(format!("awaiting the run in {repo}: {}", f.message)))?;
    let detected = emulator.now();
    let ended = emulator
        .runs(&repo.to_string())
        .into_iter()
        .find(|r| r.id == run.id)
        .map(|r| r.ends_at)
        .ok_or_else(|| internal(format!("run {} is not in the emulator", run.id)))?;
    Ok((detected - ended).to_std().unwrap_or_default())
}
