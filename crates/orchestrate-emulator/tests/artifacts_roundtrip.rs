//! Artifact upload v4 end to end over HTTP: Twirp calls, Azure block uploads, signed downloads.

mod artifacts_support;

use artifacts_support::Harness;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest as _, Md5};
use orchestrate_emulator::artifacts::{artifact_json, sha256_digest};
use orchestrate_emulator::zipper::zip_files;
use serde_json::json;

/// Block ids as `@azure/storage-blob` makes them: equal length, base64.
fn block_id(index: usize) -> String {
    STANDARD.encode(format!("{:0>48}", format!("prefix-{index}")))
}

#[tokio::test]
async fn blocks_then_block_list_then_finalize_list_and_download() {
    let h = Harness::start().await;
    let zip = zip_files(&[
        ("build-info.json", br#"{"version":"1.4.0"}"#),
        ("big.bin", &[7u8; 70_000]),
    ]);
    assert_eq!(
        h.runtime.run_for_backend_id(&h.run_backend_id),
        Some(("octo/api".to_owned(), 42))
    );
    let upload_url = h.create("build-info").await;
    assert!(
        upload_url.starts_with(&format!("{}/_blob/", h.base)),
        "{upload_url}"
    );
    assert!(
        upload_url.contains("sig="),
        "SAS signature in the query: {upload_url}"
    );

    let (first, second) = zip.split_at(zip.len() / 2);
    for (index, chunk) in [first, second].into_iter().enumerate() {
        let response = h
            .http
            .put(format!(
                "{upload_url}&comp=block&blockid={}",
                urlencode(&block_id(index))
            ))
            .header("x-ms-version", "2025-11-05")
            .body(chunk.to_vec())
            .send()
            .await
            .expect("put block");
        assert_eq!(response.status().as_u16(), 201);
        assert!(response.headers().contains_key("x-ms-request-id"));
        assert_eq!(response.headers()["x-ms-version"], "2025-11-05");
        assert_eq!(response.headers()["x-ms-request-server-encrypted"], "true");
        assert_eq!(
            response.headers()["content-md5"],
            STANDARD.encode(Md5::digest(chunk)).as_str()
        );
    }
    let list = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>{}</Latest><Latest>{}</Latest></BlockList>",
        block_id(0),
        block_id(1)
    );
    let response = h
        .http
        .put(format!("{upload_url}&comp=blocklist"))
        .header("x-ms-blob-content-type", "application/zip")
        .body(list)
        .send()
        .await
        .expect("put block list");
    assert_eq!(response.status().as_u16(), 201);
    assert!(response.headers().contains_key("etag"));
    assert!(response.headers().contains_key("last-modified"));

    let id = h.finalize("build-info", &zip).await;

    // ListArtifacts: snake_case names, int64 values as strings.
    let (status, listed) = h.twirp("ListArtifacts", &h.ids(json!({}))).await;
    assert_eq!(status, 200);
    let item = &listed["artifacts"][0];
    assert_eq!(item["database_id"], id.to_string());
    assert_eq!(item["size"], zip.len().to_string());
    assert_eq!(item["name"], "build-info");
    assert_eq!(item["digest"], sha256_digest(&zip));
    assert_eq!(item["workflow_run_backend_id"], h.run_backend_id);
    assert_eq!(item["workflow_job_run_backend_id"], h.job_backend_id);
    assert!(
        item["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    let (status, filtered) = h
        .twirp(
            "ListArtifacts",
            &h.ids(json!({"id_filter": (id + 1).to_string()})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(filtered["artifacts"].as_array().map(Vec::len), Some(0));
    let (_, by_name) = h
        .twirp(
            "ListArtifacts",
            &h.ids(json!({"name_filter": "build-info"})),
        )
        .await;
    assert_eq!(by_name["artifacts"].as_array().map(Vec::len), Some(1));

    // The finished artifact is a normal record of run 42, with the digest of the bytes.
    let records = h.store.list_for_run("octo/api", 42);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].id, id);
    let rest = artifact_json(&records[0], "http://api.test");
    assert_eq!(rest["digest"], sha256_digest(&zip));
    assert_eq!(rest["size_in_bytes"], zip.len());

    // GetSignedArtifactURL, then a tokenless GET.
    let (status, signed) = h
        .twirp(
            "GetSignedArtifactURL",
            &h.ids(json!({"name": "build-info"})),
        )
        .await;
    assert_eq!(status, 200);
    let url = signed["signed_url"].as_str().expect("signed_url");
    let response = h.http.get(url).send().await.expect("download");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/zip");
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=build-info.zip; filename*=UTF-8''build-info.zip"
    );
    assert_eq!(
        response.headers()["content-length"],
        zip.len().to_string().as_str()
    );
    assert_eq!(
        response.bytes().await.expect("body").as_ref(),
        zip.as_slice()
    );
}

#[tokio::test]
async fn single_shot_put_blob_with_camel_case_requests() {
    let h = Harness::start().await;
    let bytes = zip_files(&[("a.txt", b"a")]);
    let (status, created) = h
        .twirp(
            "CreateArtifact",
            &json!({
                "workflowRunBackendId": h.run_backend_id,
                "workflowJobRunBackendId": h.job_backend_id,
                "name": "camel",
                "mimeType": {"value": "application/zip"},
                "version": 7,
            }),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let url = created["signed_upload_url"].as_str().expect("url");
    assert_eq!(h.put_blob(url, &bytes).await, 201);
    let (status, finalized) = h
        .twirp(
            "FinalizeArtifact",
            &json!({
                "workflowRunBackendId": h.run_backend_id,
                "workflowJobRunBackendId": h.job_backend_id,
                "name": "camel",
                "size": bytes.len(),
                "hash": {"value": sha256_digest(&bytes)},
            }),
        )
        .await;
    assert_eq!(status, 200, "{finalized}");
    assert_eq!(finalized["ok"], true);
    assert!(
        finalized["artifact_id"].is_string(),
        "int64 as a string: {finalized}"
    );
    let record = h
        .store
        .list_for_run("octo/api", 42)
        .pop()
        .expect("one artifact");
    assert_eq!(record.digest, Some(sha256_digest(&bytes)));
}

#[tokio::test]
async fn signed_download_supports_head_and_ranges() {
    let h = Harness::start().await;
    let record = h.store.create_finished(
        "octo/api",
        42,
        "ranged",
        b"0123456789".to_vec(),
        h.store.now(),
    );
    let url = h
        .store
        .signed_download_url(&h.base, record.id, h.store.now());

    let head = h.http.head(&url).send().await.expect("head");
    assert_eq!(head.status().as_u16(), 200);
    assert_eq!(head.headers()["content-length"], "10");
    assert_eq!(head.headers()["accept-ranges"], "bytes");

    let ranged = h
        .http
        .get(&url)
        .header("range", "bytes=2-5")
        .send()
        .await
        .expect("range");
    assert_eq!(ranged.status().as_u16(), 206);
    assert_eq!(ranged.headers()["content-range"], "bytes 2-5/10");
    assert_eq!(ranged.bytes().await.expect("body").as_ref(), b"2345");

    let beyond = h
        .http
        .get(&url)
        .header("x-ms-range", "bytes=20-")
        .send()
        .await
        .expect("range");
    assert_eq!(beyond.status().as_u16(), 416);
}

#[tokio::test]
async fn delete_artifact_removes_it_from_run_listings() {
    let h = Harness::start().await;
    let bytes = zip_files(&[("x", b"x")]);
    let url = h.create("doomed").await;
    assert_eq!(h.put_blob(&url, &bytes).await, 201);
    let id = h.finalize("doomed", &bytes).await;
    let (status, deleted) = h
        .twirp("DeleteArtifact", &h.ids(json!({"name": "doomed"})))
        .await;
    assert_eq!(status, 200);
    assert_eq!(deleted["artifact_id"], id.to_string());
    assert!(h.store.list_for_run("octo/api", 42).is_empty());
    let (status, again) = h
        .twirp("DeleteArtifact", &h.ids(json!({"name": "doomed"})))
        .await;
    assert_eq!(status, 404);
    assert_eq!(again["code"], "not_found");
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
