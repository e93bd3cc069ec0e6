//! A plain emulator server for curl and other outside clients, standing in for
//! `orchestrate emulator` until that command is wired: `serve [--port N] [--scenario FILE]
//! [--legacy-ghes]`. Prints `emulator listening on <base URL>` and serves until killed; the
//! token is the permissive default, `emulator-token`.

use orchestrate_emulator::{Emulator, EmulatorConfig, Scenario};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = EmulatorConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                config.port = args.next().ok_or("--port needs a value")?.parse()?;
            }
            "--scenario" => {
                let path = args.next().ok_or("--scenario needs a file")?;
                config.scenario = Scenario::from_yaml(&std::fs::read_to_string(path)?)?;
            }
            "--legacy-ghes" => config.legacy_ghes = true,
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    let emulator = Emulator::start(config).await?;
    announce(&format!("emulator listening on {}", emulator.base_url()));
    tokio::signal::ctrl_c().await?;
    emulator.shutdown().await?;
    Ok(())
}

#[expect(
    clippy::print_stdout,
    reason = "the listening line on stdout is this program's output"
)]
fn announce(line: &str) {
    println!("{line}");
}
