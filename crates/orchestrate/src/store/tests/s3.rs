//! The S3 store against a real S3-compatible server: moto's server (`tests/s3/server.py`),
//! started by each test on a free port on 127.0.0.1, with request authentication on, over
//! real HTTP. The interpreter comes from `crate::test_python` (moto is installed into
//! `target/test-venvs/moto` when no Python has it). Covered: the round trip, a tampered
//! object, bad credentials, a missing bucket (and `orchestrate run` refusing it before
//! anything is dispatched: exit 2 with a hint), an unreachable endpoint, and the secret key
//! never appearing in an error.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, ObjectStore as _, ObjectStoreExt as _, PutOptions, PutPayload,
};
use orchestrate_core::artifact::DocumentKey;
use tokio::io::AsyncBufReadExt;

use crate::env::ORCHESTRATE_TEST_MOTO_PYTHON;
use crate::settings::Secret;
use crate::store::StoreError;
use crate::store::s3::{AwsCredentials, S3Config, S3Store};

/// The moto release the tests are written against (also in `.ci/run`'s `PY_TOOLS`).
const MOTO: &str = "moto[server]==5.2.5";
const BUCKET: &str = "releases";

fn python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            crate::test_python::PythonTool {
                module: "moto.server",
                package: MOTO,
                venv: "moto",
                override_var: ORCHESTRATE_TEST_MOTO_PYTHON,
            }
            .find_or_provision()
        })
        .clone()
}

/// A running moto server; killed when dropped (and it exits by itself when its stdin closes).
struct Moto {
    endpoint: String,
    access_key_id: String,
    secret_access_key: String,
    _child: tokio::process::Child,
}

impl Moto {
    async fn start() -> Moto {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/s3/server.py");
        let mut child = tokio::process::Command::new(python())
            .arg(&script)
            .arg(BUCKET)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start the moto server");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        tokio::time::timeout(
            Duration::from_secs(60),
            tokio::io::BufReader::new(stdout).read_line(&mut line),
        )
        .await
        .expect("moto starts within a minute")
        .expect("moto prints its endpoint");
        let info: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line:?}"));
        let text = |k: &str| info[k].as_str().expect("a string").to_owned();
        Moto {
            endpoint: text("endpoint"),
            access_key_id: text("access_key_id"),
            secret_access_key: text("secret_access_key"),
            _child: child,
        }
    }

    fn credentials(&self) -> AwsCredentials {
        AwsCredentials {
            access_key_id: Some(self.access_key_id.clone()),
            secret_access_key: Some(Secret::new(self.secret_access_key.clone())),
            session_token: None,
            region: Some("us-east-1".into()),
            endpoint: None,
        }
    }

    fn store(&self, bucket: &str, credentials: &AwsCredentials) -> S3Store {
        let mut config = S3Config::new(bucket, "orchestrate/", None, Some(&self.endpoint));
        config.retries = 1;
        S3Store::new(config, credentials).expect("configured")
    }
}

fn key() -> DocumentKey {
    DocumentKey::manifest("pratiko", "staging", "1000000007")
}

#[tokio::test]
async fn documents_round_trip_through_a_real_s3_server_with_their_digest() {
    let moto = Moto::start().await;
    let store = moto.store(BUCKET, &moto.credentials());
    store.preflight().await.expect("the bucket is there");
    let body = br#"{"schema":"orchestrate.manifest/v1"}"#;
    let stored = store.put(&key(), body).await.expect("written");
    assert_eq!(
        stored.location,
        "s3://releases/orchestrate/pratiko/staging/1000000007/manifest.json"
    );
    assert_eq!(stored.digest, crate::store::digest(body));
    let (read, location) = store.get(&key()).await.expect("read").expect("present");
    assert_eq!(read, body);
    assert_eq!(location, stored.location);
    let missing = DocumentKey::manifest("pratiko", "staging", "1");
    assert!(store.get(&missing).await.expect("no error").is_none());
}

#[tokio::test]
async fn a_tampered_object_fails_its_digest_check() {
    let moto = Moto::start().await;
    let store = moto.store(BUCKET, &moto.credentials());
    let stored = store.put(&key(), b"{\"a\":1}").await.expect("written");
    // Someone rewrites the object but keeps the old digest metadata.
    let (raw, prefix) = store.raw();
    let path = ObjectPath::from(format!("{prefix}/{}", key().path().expect("key")));
    let mut attributes = Attributes::new();
    attributes.insert(Attribute::Metadata("sha256".into()), stored.digest.into());
    raw.put_opts(
        &path,
        PutPayload::from_static(b"{\"a\":2}"),
        PutOptions {
            attributes,
            ..PutOptions::default()
        },
    )
    .await
    .expect("tampered");
    let err = store.get(&key()).await.expect_err("refused");
    assert!(matches!(err, StoreError::Digest { .. }), "{err}");
    // An object without a digest is refused too.
    raw.put(&path, PutPayload::from_static(b"{\"a\":3}"))
        .await
        .expect("rewritten");
    assert!(matches!(
        store.get(&key()).await,
        Err(StoreError::Digest { .. })
    ));
}

#[tokio::test]
async fn bad_credentials_are_refused_with_a_hint_and_the_secret_never_shows() {
    let moto = Moto::start().await;
    let canary = "CANARY-secret-access-key-0123456789abcdef";
    let bad = AwsCredentials {
        secret_access_key: Some(Secret::new(canary)),
        ..moto.credentials()
    };
    let store = moto.store(BUCKET, &bad);
    let err = store.preflight().await.expect_err("refused");
    assert!(matches!(err, StoreError::Refused { .. }), "{err}");
    assert!(
        err.to_string().contains("credentials were refused"),
        "{err}"
    );
    assert!(
        err.hint().contains("AWS_SECRET_ACCESS_KEY"),
        "{}",
        err.hint()
    );
    let shown = format!("{err} {} {err:?} {store:?}", err.hint());
    assert!(!shown.contains(canary), "{shown}");
    assert!(!shown.contains(&moto.secret_access_key), "{shown}");
}

#[tokio::test]
async fn a_missing_bucket_fails_the_preflight_with_a_hint() {
    let moto = Moto::start().await;
    let store = moto.store("no-such-bucket", &moto.credentials());
    let err = store.preflight().await.expect_err("no bucket");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(
        err.hint().contains("create bucket `no-such-bucket`"),
        "{}",
        err.hint()
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_reported_after_bounded_retries() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let credentials = AwsCredentials {
        access_key_id: Some("AKIAEXAMPLE".into()),
        secret_access_key: Some(Secret::new("secret")),
        ..AwsCredentials::default()
    };
    let mut config = S3Config::new(BUCKET, "", None, Some(&format!("http://127.0.0.1:{port}")));
    config.retries = 2;
    let store = S3Store::new(config, &credentials).expect("configured");
    let started = std::time::Instant::now();
    let err = store.preflight().await.expect_err("nothing listens");
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn no_credentials_is_bad_input_before_any_request() {
    let config = S3Config::new(BUCKET, "", None, Some("http://127.0.0.1:9"));
    let err = S3Store::new(config, &AwsCredentials::default()).expect_err("no credentials");
    assert!(err.hint().contains("AWS_ACCESS_KEY_ID"), "{}", err.hint());
}

#[test]
fn run_refuses_a_missing_bucket_before_anything_is_dispatched() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let moto = runtime.block_on(Moto::start());
    let emulator = runtime
        .block_on(orchestrate_emulator::Emulator::start(
            orchestrate_emulator::EmulatorConfig::default(),
        ))
        .expect("emulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = dir.path().join("plan.yml");
    std::fs::write(
        &plan,
        format!(
            "version: 1\nname: shop\nenvironments: {{ staging: {{}} }}\nartifacts: {{ store: s3, bucket: no-such-bucket, endpoint: \"{}\" }}\nservices:\n  api: {{ repo: acme/api, workflow: deploy.yml }}\n",
            moto.endpoint
        ),
    )
    .expect("plan");
    let env = crate::env::Env::from_map([
        (crate::env::GITHUB_API_URL, emulator.base_url().to_owned()),
        (
            crate::env::ORCHESTRATE_TOKEN,
            orchestrate_emulator::DEFAULT_TOKEN.to_owned(),
        ),
        (crate::env::AWS_ACCESS_KEY_ID, moto.access_key_id.clone()),
        (
            crate::env::AWS_SECRET_ACCESS_KEY,
            moto.secret_access_key.clone(),
        ),
    ]);
    let args = crate::cli::RunArgs {
        release: crate::cli::ReleaseArgs {
            plan,
            env: "staging".into(),
            versions: "{api: 1.0.0}".into(),
            strategy: None,
        },
        no_rollback: false,
        timeout: None,
        notify: None,
        dry_run: false,
        manifest_dir: dir.path().join("manifests"),
    };
    // `run` starts its own runtime: call it from a plain thread.
    let result = std::thread::spawn(move || {
        let mut io = crate::commands::Io::new(
            Box::new(std::io::sink()),
            Box::new(std::io::sink()),
            crate::gha::Masker::new(),
            false,
        );
        crate::commands::run::run(&args, &env, &mut io).map_err(|e| match e {
            crate::error::Failure::BadInput(problems) => problems.render(),
            other => format!("not bad input: {other}"),
        })
    })
    .join()
    .expect("no panic");
    let Err(text) = result else {
        panic!("expected bad input, got success");
    };
    assert!(
        text.contains("does not exist") && text.contains("create bucket `no-such-bucket`"),
        "{text}"
    );
    let dispatched = emulator
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .count();
    assert_eq!(dispatched, 0, "nothing was dispatched or recorded");
    drop(moto);
}
