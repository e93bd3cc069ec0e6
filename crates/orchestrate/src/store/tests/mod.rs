//! The local store on real files, the committed manifest schema, and (in `s3`) the S3 store
//! against a real S3-compatible server.

mod s3;

use orchestrate_core::artifact::DocumentKey;

use super::{LocalStore, StoreError};

#[test]
#[ignore = "writes schema/manifest.schema.json"]
fn regenerate_manifest_schema() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schema/manifest.schema.json"
    );
    std::fs::write(
        path,
        orchestrate_core::artifact::schema::manifest_schema_text(),
    )
    .expect("writes the schema");
}

#[test]
fn local_writes_are_atomic_and_reads_verify_the_digest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::new(dir.path().join("store"));
    store.preflight().expect("writable");
    let key = DocumentKey::manifest("pratiko", "staging", "42");
    let stored = store.put(&key, b"{\"a\":1}\n").expect("written");
    assert!(
        stored
            .location
            .ends_with("pratiko/staging/42/manifest.json"),
        "{}",
        stored.location
    );
    let (bytes, _) = store.get(&key).expect("read").expect("present");
    assert_eq!(bytes, b"{\"a\":1}\n");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("store/pratiko/staging/42"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    let mut leftovers = leftovers;
    leftovers.sort();
    assert_eq!(
        leftovers,
        ["manifest.json", "manifest.json.sha256"],
        "no temporary files left"
    );
    // Tampered after the write: the read refuses it.
    std::fs::write(&stored.location, b"{\"a\":2}\n").expect("tamper");
    assert!(matches!(store.get(&key), Err(StoreError::Digest { .. })));
    assert!(
        store
            .get(&DocumentKey::manifest("pratiko", "staging", "43"))
            .expect("no error")
            .is_none()
    );
}

#[test]
fn a_store_directory_that_cannot_be_created_fails_its_preflight() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, b"x").expect("file");
    let store = LocalStore::new(file.join("store"));
    let err = store.preflight().expect_err("not a directory");
    assert!(err.to_string().contains("cannot create"), "{err}");
}
