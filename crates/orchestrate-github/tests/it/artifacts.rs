//! Artifact download: the 302 is followed without the token, the digest is checked, the zip is
//! unpacked and its JSON fields read.

use orchestrate_github::{ArtifactLimits, Client, Error, ExtractedArtifact, GitHub, Result};
use sha2::{Digest, Sha256};

use crate::fake::{self, Resp};
use crate::unzip::{Entry, build_zip};
use crate::{client, repo};

fn listing(digest: &str) -> serde_json::Value {
    serde_json::json!({"total_count": 1, "artifacts": [{
        "id": 11, "node_id": "n", "name": "build-info", "size_in_bytes": 200, "url": "u",
        "archive_download_url": "u", "expired": false, "created_at": null, "expires_at": null,
        "updated_at": null, "digest": digest}]})
}

/// The storage host's answer: the archive's bytes.
fn zip_response(zip: &[u8]) -> Resp {
    Resp {
        status: 200,
        headers: vec![("content-type".into(), "application/zip".into())],
        body: zip.to_vec(),
    }
}

/// Lists run 5's artifacts and downloads the first into a fresh directory, as `x`; the
/// directory is returned so it outlives the checks.
async fn download_first(
    github: &Client,
    limits: &ArtifactLimits,
) -> (tempfile::TempDir, Result<ExtractedArtifact>) {
    let artifacts = github.list_run_artifacts(&repo(), 5).await.expect("listed");
    let dir = tempfile::tempdir().expect("tempdir");
    let downloaded = github
        .download_artifact(&repo(), &artifacts[0], &dir.path().join("x"), limits)
        .await;
    (dir, downloaded)
}

async fn serve(zip: Vec<u8>, digest: String) -> fake::Fake {
    fake::start(move |req| {
        if req.is("GET", "/repos/acme/api/actions/runs/5/artifacts") {
            return Resp::json(200, listing(&digest));
        }
        if req.is("GET", "/repos/acme/api/actions/artifacts/11/zip") {
            return Resp::empty(302).header("location", "/blob/11.zip?sig=abc");
        }
        if req.is("GET", "/blob/11.zip") {
            return zip_response(&zip);
        }
        Resp::empty(404)
    })
    .await
}

#[tokio::test]
async fn downloads_verifies_unpacks_and_reads_fields() {
    let zip = build_zip(&[Entry::File(
        "build-info.json",
        br#"{"image": "ghcr.io/acme/api:1.2.3", "build": {"sha": "abc"}}"#,
    )]);
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&zip)));
    let gh = serve(zip, digest).await;
    let github = client(&gh.url);
    let artifacts = github.list_run_artifacts(&repo(), 5).await.expect("listed");
    assert_eq!(artifacts.len(), 1);
    let dir = tempfile::tempdir().expect("tempdir");
    let dest = dir.path().join("build-info");
    let out = github
        .download_artifact(&repo(), &artifacts[0], &dest, &ArtifactLimits::default())
        .await
        .expect("downloaded");
    assert!(out.digest_verified);
    assert_eq!(out.fields["image"], "ghcr.io/acme/api:1.2.3");
    assert_eq!(out.fields["build.sha"], "abc");
    let blob = gh
        .requests()
        .into_iter()
        .find(|r| r.path.starts_with("/blob/"))
        .expect("blob fetched");
    assert_eq!(
        blob.header("authorization"),
        None,
        "the token is not sent to storage"
    );
    let rest = gh
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/zip"))
        .expect("rest call");
    assert!(rest.header("authorization").is_some());
}

#[tokio::test]
async fn a_digest_mismatch_is_an_error() {
    let zip = build_zip(&[Entry::File("a.json", b"{}")]);
    let gh = serve(zip, format!("sha256:{}", "0".repeat(64))).await;
    let github = client(&gh.url);
    let (dir, downloaded) = download_first(&github, &ArtifactLimits::default()).await;
    let err = downloaded.expect_err("mismatch");
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    assert!(!dir.path().join("x").exists());
}

#[tokio::test]
async fn a_body_over_the_download_limit_is_cut_off() {
    // Incompressible bytes (xorshift), so the zip itself is large.
    let mut x: u32 = 0x9e37_79b9;
    let noise: Vec<u8> = (0..64 << 10)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    let zip = build_zip(&[Entry::File("big.bin", &noise)]);
    let gh = serve(zip, String::new()).await;
    let github = client(&gh.url);
    // The listing claims 200 bytes; the bytes actually read decide.
    let limits = ArtifactLimits {
        max_download: 1024,
        ..ArtifactLimits::default()
    };
    let (_dir, downloaded) = download_first(&github, &limits).await;
    let err = downloaded.expect_err("too large");
    assert!(matches!(err, Error::ArtifactTooLarge { .. }), "{err}");
}

/// Everything an error could print: its message, every cause, and its `Debug` form.
fn everything_printed(err: &Error) -> String {
    let mut text = format!("{err} {err:?}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(&format!(" {cause} {cause:?}"));
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn a_failed_blob_download_does_not_reveal_the_signed_url() {
    // A port nobody listens on: the blob leg fails to connect.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let gh = fake::start(move |req| {
        if req.is("GET", "/repos/acme/api/actions/runs/5/artifacts") {
            return Resp::json(200, listing(""));
        }
        if req.is("GET", "/repos/acme/api/actions/artifacts/11/zip") {
            return Resp::empty(302).header(
                "location",
                format!("http://127.0.0.1:{port}/blob/11.zip?sv=1&sig=S3CR3TSIGNATURE"),
            );
        }
        Resp::empty(404)
    })
    .await;
    let github = client(&gh.url);
    let (_dir, downloaded) = download_first(&github, &ArtifactLimits::default()).await;
    let err = downloaded.expect_err("nothing listens there");
    assert!(matches!(err, Error::Network { .. }), "{err}");
    let printed = everything_printed(&err);
    assert!(!printed.contains("S3CR3TSIGNATURE"), "{printed}");
    assert!(!printed.contains("sig="), "{printed}");
}

#[tokio::test]
async fn a_download_retried_after_a_5xx_counts_as_a_retry() {
    let zip = build_zip(&[Entry::File("a.json", br#"{"v": "1"}"#)]);
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let seen = calls.clone();
    let gh = fake::start(move |req| {
        if req.is("GET", "/repos/acme/api/actions/runs/5/artifacts") {
            return Resp::json(200, listing(""));
        }
        if req.is("GET", "/repos/acme/api/actions/artifacts/11/zip") {
            if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                return Resp::json(502, serde_json::json!({"message": "Server Error"}));
            }
            return Resp::empty(302).header("location", "/blob/11.zip?sig=abc");
        }
        if req.is("GET", "/blob/11.zip") {
            return zip_response(&zip);
        }
        Resp::empty(404)
    })
    .await;
    let github = client(&gh.url);
    let (_dir, downloaded) = download_first(&github, &ArtifactLimits::default()).await;
    let out = downloaded.expect("second try works");
    assert_eq!(out.fields["v"], "1");
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(github.stats().retries, 1);
}

/// A storage host that sends `body` in three parts, `gap` apart, to any request.
async fn trickling_storage(body: Vec<u8>, gap: std::time::Duration) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let header = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/zip\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                if socket.write_all(header.as_bytes()).await.is_err() {
                    return;
                }
                for part in body.chunks(body.len().div_ceil(3)) {
                    tokio::time::sleep(gap).await;
                    if socket.write_all(part).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn a_download_slower_than_the_request_timeout_but_never_stalled_completes() {
    let zip = build_zip(&[Entry::File("a.json", br#"{"v": "2"}"#)]);
    // Three parts 400 ms apart: 1.2 s in all, each read well within the 1 s timeout.
    let port = trickling_storage(zip, std::time::Duration::from_millis(400)).await;
    let gh = fake::start(move |req| {
        if req.is("GET", "/repos/acme/api/actions/runs/5/artifacts") {
            return Resp::json(200, listing(""));
        }
        if req.is("GET", "/repos/acme/api/actions/artifacts/11/zip") {
            return Resp::empty(302)
                .header("location", format!("http://127.0.0.1:{port}/blob.zip"));
        }
        Resp::empty(404)
    })
    .await;
    let mut config = orchestrate_github::ClientConfig::new(
        &gh.url,
        orchestrate_github::Credentials::Token(orchestrate_github::Secret::new(crate::TOKEN)),
    );
    config.request_timeout = std::time::Duration::from_secs(1);
    config.retry.max_attempts = 1;
    let github = orchestrate_github::Client::new(config).expect("client");
    let (_dir, downloaded) = download_first(&github, &ArtifactLimits::default()).await;
    let out = downloaded.expect("a steady transfer is not cut off");
    assert_eq!(out.fields["v"], "2");
}
