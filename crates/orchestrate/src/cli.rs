//! The command line: every subcommand and flag, parsed with clap's derive API. Tokens are
//! never flags (they would end up in shell history and process lists): they come from the
//! environment (`ORCHESTRATE_TOKEN`) or the action's `github_token` input.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The default plan location, relative to the repository root (the action's workspace).
pub const DEFAULT_PLAN: &str = ".github/orchestrate.yml";
/// Where the manifest goes outside Actions with the `github` store.
pub const DEFAULT_MANIFEST_DIR: &str = ".orchestrate/manifests";

/// Coordinated releases across repositories, driven by GitHub Actions.
#[derive(Debug, Parser)]
#[command(name = "orchestrate", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a release plan and report every problem; exit 2 if there is any error.
    Validate {
        /// The release plan.
        #[arg(default_value = DEFAULT_PLAN)]
        plan: PathBuf,
    },
    /// Show what a release would do: waves, resolved inputs, irreversible services, locks.
    Plan(PlanArgs),
    /// Run a release from a terminal.
    Run(RunArgs),
    /// The container entry point: inputs from `INPUT_*`, outputs to the runner's files.
    Action,
    /// Run a whole release against the built-in emulator (no token, no network).
    Rehearse(RehearseArgs),
    /// Show what the registry says is deployed in an environment.
    Status(StatusArgs),
    /// Serve the built-in GitHub emulator.
    Emulator(EmulatorArgs),
    /// Print the plan's JSON Schema (draft 2020-12), for editors and validators.
    Schema,
    /// Run the plan's health checks now, against what the registry says is deployed.
    Health(HealthArgs),
    /// Release statistics from the registry: success rates, durations, rollbacks, DORA.
    Stats(StatsArgs),
    /// Measure waiting in real time on the built-in emulator: detection latency and requests
    /// per awaited run (takes about 3 minutes).
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Cases to run (default: a, b, c and d; repeat the flag or separate with commas).
    #[arg(long = "case", value_enum, value_delimiter = ',')]
    pub cases: Vec<BenchCase>,
    /// Independent samples of cases a, b and d, each in a repository of its own.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub samples: u16,
    /// A tenth of every duration and interval, at most 3 samples: a smoke test of the
    /// machinery, whose figures are not the benchmark's.
    #[arg(long)]
    pub quick: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// The benchmark's cases (issue 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BenchCase {
    /// One 20 s run whose workflow's history holds 10 runs of 19–21 s.
    A,
    /// One 3-minute run whose history holds 10 runs of 2:40–3:20.
    B,
    /// 50 runs of 20 s in 5 repositories.
    C,
    /// One 20 s run without history.
    D,
    /// One 10-minute run whose history holds 10 runs of 9:55–10:05 (not in the default set:
    /// it takes 10 minutes).
    E,
}

impl BenchCase {
    pub fn letter(self) -> &'static str {
        match self {
            BenchCase::A => "a",
            BenchCase::B => "b",
            BenchCase::C => "c",
            BenchCase::D => "d",
            BenchCase::E => "e",
        }
    }
}

/// What every release-shaped command takes: a plan, an environment and versions.
#[derive(Debug, Args)]
pub struct ReleaseArgs {
    /// The release plan.
    #[arg(default_value = DEFAULT_PLAN)]
    pub plan: PathBuf,
    /// The environment to release to (one of the plan's `environments`).
    #[arg(long = "env", short = 'e', value_name = "ENV")]
    pub env: String,
    /// Versions as a YAML/JSON mapping, e.g. `{backend: 1.2.0, frontend: {web: 2.1.0}}`.
    #[arg(long, value_name = "MAPPING")]
    pub versions: String,
    /// Override the plan's strategy.
    #[arg(long, value_enum, value_name = "STRATEGY")]
    pub strategy: Option<StrategyArg>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also check every service's health now (reads the registry: needs a token).
    #[arg(long)]
    pub health: bool,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The release plan.
    #[arg(default_value = DEFAULT_PLAN)]
    pub plan: PathBuf,
    /// The environment to check.
    #[arg(long = "env", short = 'e', value_name = "ENV")]
    pub env: String,
    /// Only these services (repeat the flag or separate with commas).
    #[arg(long, value_name = "SERVICE", value_delimiter = ',')]
    pub service: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// The release plan (to know the services and their repositories).
    #[arg(default_value = DEFAULT_PLAN)]
    pub plan: PathBuf,
    /// The environment to look at.
    #[arg(long = "env", short = 'e', value_name = "ENV")]
    pub env: String,
    /// The period, back from now: a number and a unit (`m`, `h`, `d`, `w`), e.g. `30d`.
    #[arg(long, default_value = "30d", value_name = "PERIOD")]
    pub since: String,
    /// Only these services (repeat the flag or separate with commas).
    #[arg(long, value_name = "SERVICE", value_delimiter = ',')]
    pub service: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = StatsFormat::Table)]
    pub format: StatsFormat,
    /// Where `run` wrote the release manifests with the plan's `github` store (outside
    /// Actions); with `s3` or `local` they are read from the store.
    #[arg(long, value_name = "DIR", default_value = DEFAULT_MANIFEST_DIR)]
    pub manifest_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    Table,
    Json,
    /// The OpenMetrics text format Prometheus scrapes (gauges, labelled by environment).
    Prometheus,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub release: ReleaseArgs,
    /// Do not roll back deployed services when the release fails.
    #[arg(long)]
    pub no_rollback: bool,
    /// Limit for the whole release, e.g. `45m`.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Only these notification channels (comma separated: slack, webhook, email, github_issue).
    #[arg(long, value_name = "CHANNELS")]
    pub notify: Option<String>,
    /// Resolve and report, dispatch nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Where the release manifest is written with the plan's `github` store (outside Actions
    /// it cannot be uploaded to a workflow run).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_MANIFEST_DIR)]
    pub manifest_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct RehearseArgs {
    /// The release plan.
    #[arg(default_value = DEFAULT_PLAN)]
    pub plan: PathBuf,
    /// The emulator scenario: a built-in name (happy, backend-unhealthy, android-upload-fails,
    /// canary-fails, canary-degrades, flaky-api, fifty-runs, approval, approval-rejected) or a
    /// file.
    #[arg(long, value_name = "SCENARIO", default_value = "happy")]
    pub scenario: String,
    /// The environment to release to; the plan's first environment when absent.
    #[arg(long = "env", short = 'e', value_name = "ENV")]
    pub env: Option<String>,
    /// Versions mapping; the scenario's versions when absent.
    #[arg(long, value_name = "MAPPING")]
    pub versions: Option<String>,
    /// Override the plan's strategy.
    #[arg(long, value_enum, value_name = "STRATEGY")]
    pub strategy: Option<StrategyArg>,
    /// Output format of the final report.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write the summary (Markdown) to this file.
    #[arg(long, value_name = "FILE")]
    pub summary_file: Option<PathBuf>,
    /// Print what the release cost: requests, 304s, detection latency, overhead.
    #[arg(long)]
    pub metrics: bool,
    /// Limit for the whole release (GitHub time), e.g. `45m`.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// After the release, write the orchestrating run's environment (`ACTIONS_RESULTS_URL`,
    /// `ACTIONS_RUNTIME_TOKEN`, `GITHUB_API_URL`, `GITHUB_TOKEN`, `GITHUB_REPOSITORY`,
    /// `GITHUB_RUN_ID`, `MANIFEST_ARTIFACT_ID`) to this file and keep serving the emulator
    /// until interrupted, so other clients can read the manifest.
    #[arg(long, value_name = "ENV_FILE")]
    pub serve_after: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The release plan (to know the services and their repositories).
    #[arg(default_value = DEFAULT_PLAN)]
    pub plan: PathBuf,
    /// The environment to look at.
    #[arg(long = "env", short = 'e', value_name = "ENV")]
    pub env: String,
    /// How many past release sets to list.
    #[arg(long, default_value_t = 5)]
    pub history: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// Port to listen on (0 picks a free one and prints it).
    #[arg(long, short = 'p')]
    pub port: u16,
    /// Address to bind; loopback by default so the emulator is never exposed.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// A scenario to preload (scripted run durations and faults); its `deployed:` versions
    /// are recorded as successful deployments before the emulator is announced.
    #[arg(long, value_name = "SCENARIO")]
    pub scenario: Option<String>,
    /// The plan that says where the scenario's `deployed:` versions are recorded (their
    /// repositories and environments).
    #[arg(long, value_name = "PLAN", default_value = DEFAULT_PLAN)]
    pub plan: PathBuf,
    /// Behave like GHES 3.20 and older: a dispatch with `return_run_details` answers 400.
    #[arg(long)]
    pub legacy_ghes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    Sequential,
    Parallel,
    Canary,
}

impl StrategyArg {
    /// The name as the plan and the action input spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            StrategyArg::Sequential => "sequential",
            StrategyArg::Parallel => "parallel",
            StrategyArg::Canary => "canary",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn plan_takes_env_versions_strategy_and_format() {
        let cli = Cli::try_parse_from([
            "orchestrate",
            "plan",
            "p.yml",
            "--env",
            "staging",
            "--versions",
            "{backend: 1.2.0}",
            "--strategy",
            "canary",
            "--format",
            "json",
        ])
        .expect("parses");
        let Command::Plan(args) = cli.command else {
            panic!("not plan: {cli:?}");
        };
        assert_eq!(args.release.plan, PathBuf::from("p.yml"));
        assert_eq!(args.release.env, "staging");
        assert_eq!(args.release.strategy, Some(StrategyArg::Canary));
        assert_eq!(args.format, Format::Json);
    }

    #[test]
    fn validate_defaults_to_the_conventional_plan_path() {
        let cli = Cli::try_parse_from(["orchestrate", "validate"]).expect("parses");
        let Command::Validate { plan } = cli.command else {
            panic!("not validate");
        };
        assert_eq!(plan, PathBuf::from(DEFAULT_PLAN));
    }

    #[test]
    fn rehearse_defaults_to_the_happy_scenario_and_emulator_requires_a_port() {
        let cli = Cli::try_parse_from(["orchestrate", "rehearse"]).expect("parses");
        let Command::Rehearse(args) = cli.command else {
            panic!("not rehearse");
        };
        assert_eq!(args.scenario, "happy");
        assert!(Cli::try_parse_from(["orchestrate", "emulator"]).is_err());
        assert!(Cli::try_parse_from(["orchestrate", "emulator", "--port", "0"]).is_ok());
        assert!(
            Cli::try_parse_from([
                "orchestrate",
                "plan",
                "--env",
                "x",
                "--versions",
                "{}",
                "--strategy",
                "yolo"
            ])
            .is_err()
        );
    }
}
