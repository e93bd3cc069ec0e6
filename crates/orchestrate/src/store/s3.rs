//! The `s3` store: any S3-compatible bucket (AWS, MinIO, R2, GCS interop) through
//! `object_store`. SigV4 is object_store's (signed with ring); the HTTP transport is our own
//! reqwest recipe (bundled webpki roots, rustls with ring), so it runs in the `FROM scratch`
//! image and adds no second TLS stack. Credentials come from the standard `AWS_*` variables
//! only (see `env.rs`), never from the plan. Each document is one PUT whose `x-amz-meta-sha256`
//! carries its digest; a read checks the bytes against it.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::client::{HttpClient, HttpConnector};
use object_store::path::Path as ObjectPath;
use object_store::{
    Attribute, Attributes, ClientOptions, ObjectStore, ObjectStoreExt as _, PutOptions, PutPayload,
    RetryConfig,
};
use orchestrate_core::artifact::{DocumentKey, verify_sha256};

use super::{MAX_DOCUMENT, StoreError, Stored, digest};
use crate::settings::Secret;

/// The metadata key that carries a document's digest (`x-amz-meta-sha256`).
const DIGEST_METADATA: &str = "sha256";

/// The standard AWS credentials, as the environment gives them.
#[derive(Debug, Clone, Default)]
pub struct AwsCredentials {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    pub session_token: Option<Secret>,
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
    pub region: Option<String>,
    /// `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`: used when the plan names no endpoint.
    pub endpoint: Option<String>,
}

/// Where and how to reach the bucket.
#[derive(Debug, Clone)]
pub struct S3Config {
    pub bucket: String,
    pub prefix: String,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    /// Retries of one request after a transient failure.
    pub retries: usize,
    pub timeout: Duration,
}

impl S3Config {
    pub fn new(
        bucket: &str,
        prefix: &str,
        region: Option<&str>,
        endpoint: Option<&str>,
    ) -> S3Config {
        S3Config {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            region: region.map(str::to_owned),
            endpoint: endpoint.map(str::to_owned),
            retries: 3,
            timeout: Duration::from_secs(30),
        }
    }
}

/// An error and its sources, as text.
fn error_chain(e: &object_store::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// S3's `<Code>…</Code>` in an error body.
fn s3_code(text: &str) -> Option<&str> {
    let start = text.find("<Code>")? + "<Code>".len();
    let end = start + text[start..].find("</Code>")?;
    Some(&text[start..end])
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(300)
        .collect()
}

/// Hands object_store our HTTPS client instead of the one it would build (which would load
/// the OS certificate store the image does not have).
#[derive(Debug)]
struct Connector {
    timeout: Duration,
}

impl HttpConnector for Connector {
    fn connect(&self, _: &ClientOptions) -> object_store::Result<HttpClient> {
        let client = orchestrate_github::client::https_client_builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(self.timeout)
            .build()
            .map_err(|e| object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })?;
        Ok(HttpClient::new(client))
    }
}

#[derive(Debug)]
pub struct S3Store {
    store: Arc<AmazonS3>,
    config: S3Config,
}

impl S3Store {
    /// Fails (bad input, exit 2) only for what can be told without the network: no
    /// credentials, an unusable endpoint.
    pub fn new(config: S3Config, credentials: &AwsCredentials) -> Result<S3Store, StoreError> {
        let refused = |message: String, hint: &str| StoreError::Refused {
            store: format!("s3 bucket `{}`", config.bucket),
            message,
            hint: hint.to_owned(),
        };
        let (Some(key_id), Some(secret)) = (
            credentials.access_key_id.as_deref(),
            credentials.secret_access_key.as_ref(),
        ) else {
            return Err(refused(
                "no AWS credentials in the environment".into(),
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials) in the step's `env:`, e.g. with aws-actions/configure-aws-credentials",
            ));
        };
        let region = config
            .region
            .clone()
            .or_else(|| credentials.region.clone())
            .unwrap_or_else(|| "us-east-1".to_owned());
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&config.bucket)
            .with_region(region)
            .with_access_key_id(key_id)
            .with_secret_access_key(secret.expose())
            .with_http_connector(Connector {
                timeout: config.timeout,
            })
            .with_retry(RetryConfig {
                max_retries: config.retries,
                retry_timeout: Duration::from_secs(60),
                ..RetryConfig::default()
            });
        if let Some(token) = &credentials.session_token {
            builder = builder.with_token(token.expose());
        }
        if let Some(endpoint) = config
            .endpoint
            .clone()
            .or_else(|| credentials.endpoint.clone())
        {
            builder = builder
                .with_allow_http(endpoint.starts_with("http://"))
                .with_endpoint(endpoint);
        }
        let store = builder.build().map_err(|e| {
            refused(
                format!("cannot configure the S3 client: {e}"),
                "check `artifacts.endpoint`, `artifacts.region` and `artifacts.bucket`",
            )
        })?;
        Ok(S3Store {
            store: Arc::new(store),
            config,
        })
    }

    pub fn describe(&self) -> String {
        if self.config.prefix.is_empty() {
            format!("s3://{}", self.config.bucket)
        } else {
            format!("s3://{}/{}", self.config.bucket, self.config.prefix)
        }
    }

    fn path_of(&self, key: &DocumentKey) -> Result<ObjectPath, StoreError> {
        let relative = key.path()?;
        let full = if self.config.prefix.is_empty() {
            relative
        } else {
            format!("{}/{relative}", self.config.prefix)
        };
        Ok(ObjectPath::from(full))
    }

    /// What went wrong, by S3's error code when the answer carried one (object_store reports
    /// most refusals of a list or a write as a generic error with the status and the body).
    fn error(&self, e: object_store::Error) -> StoreError {
        let store = format!("s3 bucket `{}`", self.config.bucket);
        let bucket = &self.config.bucket;
        let text = error_chain(&e);
        let code = s3_code(&text);
        let missing =
            matches!(e, object_store::Error::NotFound { .. }) || code == Some("NoSuchBucket");
        let denied = matches!(
            e,
            object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. }
        ) || matches!(
            code,
            Some(
                "InvalidAccessKeyId"
                    | "SignatureDoesNotMatch"
                    | "AccessDenied"
                    | "ExpiredToken"
                    | "InvalidToken"
            )
        );
        if missing {
            return StoreError::Refused {
                store,
                message: format!(
                    "bucket `{bucket}` does not exist (or the endpoint serves no such bucket)"
                ),
                hint: format!(
                    "create bucket `{bucket}`, or fix `artifacts.bucket` / `artifacts.endpoint` in the plan"
                ),
            };
        }
        if denied {
            return StoreError::Refused {
                store,
                message: format!("the credentials were refused ({})", code.unwrap_or("403")),
                hint: format!(
                    "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), and that they may list and write `{bucket}`"
                ),
            };
        }
        if let Some(code) = code {
            return StoreError::Refused {
                store,
                message: format!("the store refused the request ({code})"),
                hint: "check `artifacts` in the plan against what the store supports".to_owned(),
            };
        }
        StoreError::Unreachable {
            store,
            message: first_line(&text),
            hint: "check `artifacts.endpoint` and the network; the store was retried with backoff"
                .to_owned(),
        }
    }

    /// One list request under the prefix: the bucket exists and the credentials are good.
    pub async fn preflight(&self) -> Result<(), StoreError> {
        let prefix =
            (!self.config.prefix.is_empty()).then(|| ObjectPath::from(self.config.prefix.as_str()));
        self.store
            .list_with_delimiter(prefix.as_ref())
            .await
            .map(drop)
            .map_err(|e| self.error(e))
    }

    /// One PUT: the object and its digest appear together or not at all.
    pub async fn put(&self, key: &DocumentKey, bytes: &[u8]) -> Result<Stored, StoreError> {
        let path = self.path_of(key)?;
        let sum = digest(bytes);
        let mut attributes = Attributes::new();
        attributes.insert(Attribute::ContentType, "application/json".into());
        attributes.insert(
            Attribute::Metadata(DIGEST_METADATA.into()),
            sum.clone().into(),
        );
        let options = PutOptions {
            attributes,
            ..PutOptions::default()
        };
        self.store
            .put_opts(&path, PutPayload::from(bytes.to_vec()), options)
            .await
            .map_err(|e| self.error(e))?;
        Ok(Stored {
            location: format!("s3://{}/{path}", self.config.bucket),
            digest: sum,
            size: bytes.len() as u64,
            artifact_id: None,
            requests: 1,
        })
    }

    pub async fn get(&self, key: &DocumentKey) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let path = self.path_of(key)?;
        let location = format!("s3://{}/{path}", self.config.bucket);
        let result = match self.store.get(&path).await {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.error(e)),
        };
        if result.meta.size > MAX_DOCUMENT {
            return Err(StoreError::Unreachable {
                store: format!("s3 bucket `{}`", self.config.bucket),
                message: format!("{location} is larger than {MAX_DOCUMENT} bytes"),
                hint: "this is not a document orchestrate wrote".to_owned(),
            });
        }
        let expected = result
            .attributes
            .get(&Attribute::Metadata(DIGEST_METADATA.into()))
            .map(|v| v.as_ref().to_owned());
        let bytes = result.bytes().await.map_err(|e| self.error(e))?;
        verify_sha256(&location, expected.as_deref(), &bytes).map_err(|source| {
            StoreError::Digest {
                store: format!("s3 bucket `{}`", self.config.bucket),
                source,
            }
        })?;
        Ok(Some((bytes.to_vec(), location)))
    }

    /// The object_store client, for tests that tamper with what was written.
    #[cfg(test)]
    pub(crate) fn raw(&self) -> (Arc<AmazonS3>, ObjectPath) {
        (
            Arc::clone(&self.store),
            ObjectPath::from(self.config.prefix.as_str()),
        )
    }
}
