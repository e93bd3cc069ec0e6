//! The plan's `artifacts:` section: where the release manifest and the artifacts services
//! hand on (`share:`) are stored. Read from the raw file, then validated into [`StoreConfig`].
//!
//! ```yaml
//! artifacts:
//!   store: s3                  # github (default) | s3 | local
//!   bucket: releases           # s3: required
//!   prefix: orchestrate        # s3: key prefix (default none)
//!   region: eu-west-1          # s3: default AWS_REGION / AWS_DEFAULT_REGION, else us-east-1
//!   endpoint: http://127.0.0.1:9000   # s3: MinIO, R2, GCS interop …
//!   path: /srv/releases        # local: the directory (default .orchestrate/artifacts)
//! ```
//!
//! Credentials never come from the plan: S3 reads the standard `AWS_*` variables.

use schemars::JsonSchema;

use super::decode::{Ctx, Spanned};
use super::diag::{Span, suggestion};
use super::yaml::Node;

pub(crate) const KEYS: &[&str] = &["store", "bucket", "prefix", "region", "endpoint", "path"];
const STORES: &[&str] = &["github", "s3", "local"];
/// Where `store: local` writes when the plan names no `path`.
pub const DEFAULT_LOCAL_PATH: &str = ".orchestrate/artifacts";

/// Where documents are stored.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StoreConfig {
    /// The Actions results service of the orchestrating run; read back by REST.
    #[default]
    Github,
    /// An S3-compatible bucket.
    S3 {
        bucket: String,
        /// Without leading or trailing `/`; empty for none.
        prefix: String,
        region: Option<String>,
        endpoint: Option<String>,
    },
    /// A directory (relative paths are relative to the working directory).
    Local { path: String },
}

impl StoreConfig {
    /// `github`, `s3` or `local`.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreConfig::Github => "github",
            StoreConfig::S3 { .. } => "s3",
            StoreConfig::Local { .. } => "local",
        }
    }
}

/// The store names `validate` accepts.
#[derive(JsonSchema)]
#[schemars(rename = "Store", rename_all = "snake_case")]
#[expect(dead_code, reason = "only its schema is used")]
enum StoreKind {
    Github,
    S3,
    Local,
}

/// Where the release manifest and the artifacts services hand on are stored. Credentials never
/// go here: S3 reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
#[derive(Debug, JsonSchema)]
#[schemars(rename = "Artifacts", deny_unknown_fields)]
pub struct RawStore {
    #[schemars(skip)]
    pub span: Span,
    /// `github` (default: the manifest is an artifact of the orchestrating run), `s3` (an
    /// S3-compatible bucket) or `local` (a directory).
    #[schemars(with = "Option<StoreKind>")]
    pub store: Option<Spanned<String>>,
    /// `s3`: the bucket (required).
    pub bucket: Option<Spanned<String>>,
    /// `s3`: a key prefix, e.g. `orchestrate`.
    pub prefix: Option<Spanned<String>>,
    /// `s3`: the region (default `AWS_REGION`, `AWS_DEFAULT_REGION`, else `us-east-1`).
    pub region: Option<Spanned<String>>,
    /// `s3`: the endpoint of an S3-compatible store (MinIO, R2, GCS interop), `http(s)://…`.
    pub endpoint: Option<Spanned<String>>,
    /// `local`: the directory (default `.orchestrate/artifacts`).
    pub path: Option<Spanned<String>>,
}

pub(crate) fn read(ctx: &mut Ctx<'_>, node: &Node, span: Span) -> Option<RawStore> {
    let f = ctx.fields(node, "`artifacts`", span, KEYS)?;
    let mut text = |key: &str| {
        f.get(key)
            .and_then(|n| ctx.string(n, &format!("`artifacts.{key}`")))
    };
    Some(RawStore {
        span,
        store: text("store"),
        bucket: text("bucket"),
        prefix: text("prefix"),
        region: text("region"),
        endpoint: text("endpoint"),
        path: text("path"),
    })
}

pub(crate) fn validate(ctx: &mut Ctx<'_>, raw: Option<&RawStore>) -> StoreConfig {
    let Some(raw) = raw else {
        return StoreConfig::Github;
    };
    let kind = raw.store.as_ref().map_or("github", |s| s.value.as_str());
    let only_for = |ctx: &mut Ctx<'_>, value: &Option<Spanned<String>>, key: &str, store: &str| {
        if let Some(v) = value {
            let diag = ctx.error(
                v.span,
                format!("`artifacts.{key}` only applies to `store: {store}` (this plan's store is `{kind}`)"),
            );
            diag.hint = Some(format!("remove `{key}`, or set `store: {store}`"));
        }
    };
    match kind {
        "github" => {
            for (value, key) in [
                (&raw.bucket, "bucket"),
                (&raw.prefix, "prefix"),
                (&raw.region, "region"),
                (&raw.endpoint, "endpoint"),
            ] {
                only_for(ctx, value, key, "s3");
            }
            only_for(ctx, &raw.path, "path", "local");
            StoreConfig::Github
        }
        "s3" => {
            only_for(ctx, &raw.path, "path", "local");
            let bucket = match &raw.bucket {
                Some(b) if valid_bucket(&b.value) => b.value.clone(),
                Some(b) => {
                    let diag = ctx.error(b.span, format!("`{}` is not an S3 bucket name", b.value));
                    diag.hint = Some(
                        "bucket names are 3 to 63 lowercase letters, digits, `.` and `-`"
                            .to_owned(),
                    );
                    String::new()
                }
                None => {
                    let span = raw.store.as_ref().map_or(raw.span, |s| s.span);
                    let diag = ctx.error(span, "`store: s3` needs a `bucket`");
                    diag.hint = Some("add `bucket: <name>` under `artifacts:`".to_owned());
                    String::new()
                }
            };
            let prefix = raw.prefix.as_ref().map_or(String::new(), |p| {
                let trimmed = p.value.trim_matches('/').to_owned();
                if trimmed
                    .split('/')
                    .any(|s| s.is_empty() || s == "." || s == "..")
                    && !trimmed.is_empty()
                {
                    let diag = ctx.error(
                        p.span,
                        format!(
                            "`artifacts.prefix` `{}` has an empty, `.` or `..` segment",
                            p.value
                        ),
                    );
                    diag.hint = Some("write the key prefix as `a/b`".to_owned());
                }
                trimmed
            });
            if let Some(e) = &raw.endpoint
                && !(e.value.starts_with("http://") || e.value.starts_with("https://"))
            {
                let diag = ctx.error(
                    e.span,
                    format!("`artifacts.endpoint` `{}` is not an http(s) URL", e.value),
                );
                diag.hint = Some(
                    "e.g. `https://<account>.r2.cloudflarestorage.com` or `http://127.0.0.1:9000`"
                        .to_owned(),
                );
            }
            StoreConfig::S3 {
                bucket,
                prefix,
                region: raw.region.as_ref().map(|r| r.value.clone()),
                endpoint: raw
                    .endpoint
                    .as_ref()
                    .map(|e| e.value.trim_end_matches('/').to_owned()),
            }
        }
        "local" => {
            for (value, key) in [
                (&raw.bucket, "bucket"),
                (&raw.prefix, "prefix"),
                (&raw.region, "region"),
                (&raw.endpoint, "endpoint"),
            ] {
                only_for(ctx, value, key, "s3");
            }
            let path = raw
                .path
                .as_ref()
                .map_or(DEFAULT_LOCAL_PATH.to_owned(), |p| {
                    if p.value.trim().is_empty() {
                        let diag = ctx.error(p.span, "`artifacts.path` is empty");
                        diag.hint = Some(format!(
                            "name a directory, or leave `path` out for `{DEFAULT_LOCAL_PATH}`"
                        ));
                    }
                    p.value.clone()
                });
            StoreConfig::Local { path }
        }
        other => {
            let span = raw.store.as_ref().map_or(raw.span, |s| s.span);
            let diag = ctx.error(span, format!("unknown artifact store `{other}`"));
            diag.label = Some("unknown store".to_owned());
            diag.hint = suggestion(other, STORES, "stores are");
            StoreConfig::Github
        }
    }
}

/// S3's bucket naming rules (the common subset every S3-compatible store accepts).
fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Characters `upload-artifact` refuses in an artifact name.
pub(crate) const FORBIDDEN_NAME_CHARS: &[char] =
    &['"', ':', '<', '>', '|', '*', '?', '\r', '\n', '\\', '/'];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_s3_rules() {
        assert!(valid_bucket("releases"));
        assert!(valid_bucket("my.bucket-1"));
        assert!(!valid_bucket("ab"));
        assert!(!valid_bucket("Upper"));
        assert!(!valid_bucket("-dash"));
        assert!(!valid_bucket("under_score"));
    }
}
