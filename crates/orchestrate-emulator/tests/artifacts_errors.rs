//! How the results and blob services refuse: Twirp error codes, SAS checks, Azure XML errors.

mod artifacts_support;

use artifacts_support::{Harness, TWIRP};
use orchestrate_emulator::artifacts::sha256_digest;
use orchestrate_emulator::results::RuntimeRegistry;
use serde_json::json;

#[tokio::test]
async fn duplicate_name_in_a_run_is_409_already_exists() {
    let h = Harness::start().await;
    h.create("dup").await;
    let (status, body) = h
        .twirp("CreateArtifact", &h.ids(json!({"name": "dup"})))
        .await;
    assert_eq!(status, 409);
    assert_eq!(
        body,
        json!({"code": "already_exists", "msg": "an artifact with this name already exists on the workflow run"})
    );
    // A finished artifact of the scenario blocks the name as well.
    h.store.create_finished(
        "octo/api",
        42,
        "from-scenario",
        b"zip".to_vec(),
        h.store.now(),
    );
    let (status, _) = h
        .twirp("CreateArtifact", &h.ids(json!({"name": "from-scenario"})))
        .await;
    assert_eq!(status, 409);
    // Another run may reuse the name.
    let (token, run, job) = h.runtime.mint_runtime_token("octo/api", 43);
    let body =
        json!({"workflow_run_backend_id": run, "workflow_job_run_backend_id": job, "name": "dup"});
    let (status, _) = h.twirp_as(Some(&token), "CreateArtifact", &body).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn missing_forged_or_foreign_tokens_are_401_unauthenticated() {
    let h = Harness::start().await;
    let body = h.ids(json!({"name": "x"}));
    let foreign = RuntimeRegistry::new().mint_runtime_token("octo/api", 42).0;
    let mut forged = h.token.clone();
    forged.push('A');
    for token in [
        None,
        Some("garbage"),
        Some(foreign.as_str()),
        Some(forged.as_str()),
    ] {
        let (status, error) = h.twirp_as(token, "CreateArtifact", &body).await;
        assert_eq!(status, 401, "token {token:?}");
        assert_eq!(error["code"], "unauthenticated");
        assert!(error["msg"].is_string());
    }
}

#[tokio::test]
async fn backend_ids_must_match_the_token_scope() {
    let h = Harness::start().await;
    let (_, other_run, other_job) = h.runtime.mint_runtime_token("octo/api", 99);
    let wrong_run = json!({"workflow_run_backend_id": other_run, "workflow_job_run_backend_id": h.job_backend_id, "name": "x"});
    let (status, error) = h.twirp("CreateArtifact", &wrong_run).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (403, Some("permission_denied"))
    );
    let wrong_job = h.ids(json!({"workflow_job_run_backend_id": other_job, "name": "x"}));
    let (status, error) = h.twirp("CreateArtifact", &wrong_job).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (403, Some("permission_denied"))
    );
    let (status, error) = h.twirp("CreateArtifact", &json!({"name": "x"})).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("invalid_argument"))
    );
}

#[tokio::test]
async fn bad_names_routes_and_bodies_get_twirp_codes() {
    let h = Harness::start().await;
    let (status, error) = h
        .twirp("CreateArtifact", &h.ids(json!({"name": "a/b"})))
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("invalid_argument"))
    );
    let (status, error) = h.twirp("NoSuchMethod", &h.ids(json!({}))).await;
    assert_eq!((status, error["code"].as_str()), (404, Some("bad_route")));
    let response = h
        .http
        .post(format!("{}/{TWIRP}/CreateArtifact", h.base))
        .bearer_auth(&h.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 400);
    let error: serde_json::Value = response.json().await.expect("json error");
    assert_eq!(error["code"], "malformed");
    let (status, error) = h
        .twirp("GetSignedArtifactURL", &h.ids(json!({"name": "nope"})))
        .await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn finalize_checks_upload_size_and_hash() {
    let h = Harness::start().await;
    let (status, error) = h
        .twirp(
            "FinalizeArtifact",
            &h.ids(json!({"name": "never-created", "size": "1"})),
        )
        .await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));
    let url = h.create("checked").await;
    let (status, error) = h
        .twirp(
            "FinalizeArtifact",
            &h.ids(json!({"name": "checked", "size": "3"})),
        )
        .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (412, Some("failed_precondition"))
    );
    assert_eq!(h.put_blob(&url, b"abc").await, 201);
    let wrong_hash = h.ids(json!({"name": "checked", "size": "3", "hash": sha256_digest(b"xyz")}));
    let (status, error) = h.twirp("FinalizeArtifact", &wrong_hash).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (400, Some("invalid_argument"))
    );
    let wrong_size = h.ids(json!({"name": "checked", "size": "4"}));
    let (status, _) = h.twirp("FinalizeArtifact", &wrong_size).await;
    assert_eq!(status, 400);
    assert!(
        h.store.list_for_run("octo/api", 42).is_empty(),
        "nothing published on refusal"
    );
    assert!(h.finalize("checked", b"abc").await > 0);
}

#[tokio::test]
async fn expired_or_tampered_signed_urls_are_403_with_azure_xml() {
    let h = Harness::start().await;
    let record = h
        .store
        .create_finished("octo/api", 42, "art", b"zip".to_vec(), h.store.now());
    let stale = h.store.signed_download_url(
        &h.base,
        record.id,
        h.store.now() - chrono::Duration::seconds(61),
    );
    let fresh = h
        .store
        .signed_download_url(&h.base, record.id, h.store.now());
    let tampered = fresh.replace(
        &format!("artifacts/{}.zip", record.id),
        &format!("artifacts/{}.zip", record.id + 1),
    );
    let unsigned = fresh.split('?').next().expect("path").to_owned();
    for url in [&stale, &tampered, &unsigned] {
        let response = h.http.get(url).send().await.expect("get");
        assert_eq!(response.status().as_u16(), 403, "{url}");
        assert_eq!(
            response.headers()["x-ms-error-code"],
            "AuthenticationFailed"
        );
        assert_eq!(response.headers()["content-type"], "application/xml");
        let text = response.text().await.expect("body");
        assert!(
            text.contains("<Error><Code>AuthenticationFailed</Code><Message>"),
            "{text}"
        );
    }
    assert_eq!(
        h.http
            .get(&fresh)
            .send()
            .await
            .expect("get")
            .status()
            .as_u16(),
        200
    );
    // A read URL cannot upload.
    let put = h
        .http
        .put(&fresh)
        .header("x-ms-blob-type", "BlockBlob")
        .body("x")
        .send()
        .await
        .expect("put");
    assert_eq!(
        put.status().as_u16(),
        405,
        "no PUT route on the download path"
    );
    // An expired artifact's blob is gone even with a valid signature.
    assert!(h.store.expire(record.id));
    let gone = h.http.get(&fresh).send().await.expect("get");
    assert_eq!(gone.status().as_u16(), 404);
    assert_eq!(gone.headers()["x-ms-error-code"], "BlobNotFound");
}

#[tokio::test]
async fn block_uploads_refuse_bad_ids_lists_and_headers() {
    let h = Harness::start().await;
    let url = h.create("blocks").await;
    let bad_id = h
        .http
        .put(format!("{url}&comp=block&blockid=%%%"))
        .body("x")
        .send()
        .await
        .expect("put");
    assert_eq!(bad_id.status().as_u16(), 400);
    let unknown = "<BlockList><Latest>QUFBQQ==</Latest></BlockList>";
    let response = h
        .http
        .put(format!("{url}&comp=blocklist"))
        .body(unknown)
        .send()
        .await
        .expect("put");
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(response.headers()["x-ms-error-code"], "InvalidBlockList");
    let no_type = h.http.put(&url).body("x").send().await.expect("put");
    assert_eq!(no_type.status().as_u16(), 400);
    assert_eq!(
        no_type.headers()["x-ms-error-code"],
        "MissingRequiredHeader"
    );
    let upload_sig = url.split("sig=").nth(1).expect("sig").to_owned();
    let forged = url.replace(&upload_sig, "AAAA");
    assert_eq!(h.put_blob(&forged, b"x").await, 403);
}
