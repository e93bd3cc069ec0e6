//! GitHub App auth through the action: the installation tokens the client mints mid-release
//! are announced with `::add-mask::` before anything could print them, and the private key
//! never shows.

use std::time::Duration;

use orchestrate_emulator::{
    Access, AppSpec, Emulator, EmulatorConfig, InstallationSpec, Permission,
};

use crate::engine_github::{PLAN, VERSIONS, action_env, run_action, scenario, workspace_with};

const KEY: &str = include_str!("../../../orchestrate-github/tests/fixtures/test-app-key.pem");
const PUBLIC_KEY: &str =
    include_str!("../../../orchestrate-github/tests/fixtures/test-app-key.pub.pem");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minted_installation_tokens_are_masked_before_their_first_use() {
    let installation = InstallationSpec::new(
        7,
        "acme",
        &[
            (Permission::Actions, Access::Write),
            (Permission::Deployments, Access::Write),
            (Permission::Contents, Access::Read),
            (Permission::Metadata, Access::Read),
        ],
    );
    let config = EmulatorConfig {
        time_factor: Some(60.0),
        apps: vec![AppSpec::new(4242, PUBLIC_KEY).installation(installation)],
        ..EmulatorConfig::new(scenario(Duration::from_secs(30)))
    };
    let emu = Emulator::start(config).await.expect("emulator starts");
    let dir = workspace_with(&emu, PLAN);
    let mut env: Vec<(String, String)> = action_env(&emu, dir.path(), "", VERSIONS, "88")
        .into_iter()
        .filter(|(k, _)| k != "INPUT_GITHUB_TOKEN")
        .collect();
    env.push(("INPUT_GITHUB_TOKEN".to_owned(), String::new()));
    env.push(("INPUT_APP_ID".to_owned(), "4242".to_owned()));
    env.push(("INPUT_APP_PRIVATE_KEY".to_owned(), KEY.to_owned()));

    let out = run_action(dir.path(), env).await;
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);

    let both = format!("{}\n{}", out.stdout, out.stderr);
    let masks: Vec<&str> = both
        .lines()
        .filter_map(|l| l.strip_prefix("::add-mask::"))
        .filter(|v| v.starts_with("ghs_"))
        .collect();
    assert!(!masks.is_empty(), "no minted token was announced:\n{both}");
    for line in both.lines().filter(|l| !l.starts_with("::add-mask::")) {
        assert!(!line.contains("ghs_"), "a minted token escaped: {line}");
        assert!(
            !line.contains("PRIVATE KEY"),
            "the private key escaped: {line}"
        );
    }
    let files = ["set_output", "step_summary"]
        .map(|f| std::fs::read_to_string(dir.path().join(f)).expect("runner file"));
    for text in &files {
        assert!(!text.contains("ghs_") && !text.contains("PRIVATE KEY"));
        for token in &masks {
            assert!(!text.contains(token));
        }
    }
    emu.shutdown().await.expect("emulator stops");
}
