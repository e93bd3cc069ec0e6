//! The Rust side of the Node cross-check (`tests/node/rust-interop.mjs`): uploads a file as an
//! artifact of the job's run with orchestrate's results-service client, or downloads an
//! artifact by name with its REST client, so `@actions/artifact` can read what Rust wrote and
//! the reverse.
//!
//!     artifact_interop upload NAME FILE     ACTIONS_RESULTS_URL, ACTIONS_RUNTIME_TOKEN; prints the id
//!     artifact_interop download NAME DIR    GITHUB_API_URL, GITHUB_TOKEN, GITHUB_REPOSITORY

use std::path::Path;

use orchestrate_github::results::{ResultsClient, ResultsConfig, zip_files};
use orchestrate_github::{ArtifactLimits, Client, ClientConfig, Credentials, GitHub, Repo, Secret};

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [cmd, name, file] if cmd == "upload" => {
            let bytes = std::fs::read(file)?;
            let entry = Path::new(file)
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or("the file has no name")?;
            let zip = zip_files(&[(entry, &bytes)])?;
            let client = ResultsClient::new(
                &var("ACTIONS_RESULTS_URL")?,
                &Secret::new(var("ACTIONS_RUNTIME_TOKEN")?),
                ResultsConfig::default(),
            )?;
            let uploaded = client.upload_zip(name, zip).await?;
            announce(&format!("{} {}", uploaded.id, uploaded.digest));
        }
        [cmd, name, dir] if cmd == "download" => {
            let client = Client::new(ClientConfig::new(
                var("GITHUB_API_URL")?,
                Credentials::Token(Secret::new(var("GITHUB_TOKEN")?)),
            ))?;
            let full = var("GITHUB_REPOSITORY")?;
            let (owner, repo) = full
                .split_once('/')
                .ok_or("GITHUB_REPOSITORY is not owner/name")?;
            let repo = Repo {
                owner: owner.to_owned(),
                name: repo.to_owned(),
            };
            let found = client.find_artifacts(&repo, name).await?;
            let artifact = found.first().ok_or("no artifact of that name")?;
            let extracted = client
                .download_artifact(&repo, artifact, Path::new(dir), &ArtifactLimits::default())
                .await?;
            if !extracted.digest_verified {
                return Err("the artifact's digest was not checked".into());
            }
            announce(&format!("{} files", extracted.files.len()));
        }
        _ => return Err("usage: artifact_interop upload NAME FILE | download NAME DIR".into()),
    }
    Ok(())
}

#[expect(
    clippy::print_stdout,
    reason = "the line on stdout is this program's output"
)]
fn announce(line: &str) {
    println!("{line}");
}
