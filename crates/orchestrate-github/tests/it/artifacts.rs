//! Artifact download: the 302 is followed without the token, the digest is checked, the zip is
//! unpacked and its JSON fields read.

use orchestrate_github::{ArtifactLimits, Error, GitHub};
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

async fn serve(zip: Vec<u8>, digest: String) -> fake::Fake {
    fake::start(move |req| {
        if req.is("GET", "/repos/acme/api/actions/runs/5/artifacts") {
            return Resp::json(200, listing(&digest));
        }
        if req.is("GET", "/repos/acme/api/actions/artifacts/11/zip") {
            return Resp::empty(302).header("location", "/blob/11.zip?sig=abc");
        }
        if req.is("GET", "/blob/11.zip") {
            return Resp {
                status: 200,
                headers: vec![("content-type".into(), "application/zip".into())],
                body: zip.clone(),
            };
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
    let artifacts = github.list_run_artifacts(&repo(), 5).await.expect("listed");
    let dir = tempfile::tempdir().expect("tempdir");
    let err = github
        .download_artifact(
            &repo(),
            &artifacts[0],
            &dir.path().join("x"),
            &ArtifactLimits::default(),
        )
        .await
        .expect_err("mismatch");
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
    let artifacts = github.list_run_artifacts(&repo(), 5).await.expect("listed");
    let dir = tempfile::tempdir().expect("tempdir");
    // The listing claims 200 bytes; the bytes actually read decide.
    let limits = ArtifactLimits {
        max_download: 1024,
        ..ArtifactLimits::default()
    };
    let err = github
        .download_artifact(&repo(), &artifacts[0], &dir.path().join("x"), &limits)
        .await
        .expect_err("too large");
    assert!(matches!(err, Error::ArtifactTooLarge { .. }), "{err}");
}
