//! JSON builders for GitHub's response objects, shaped after the schemas and examples in
//! `github-openapi-subset.json` (every required field present, nullable ones as `null`).

pub mod actions;
pub mod deploy;
pub mod gates;
pub mod issues;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use crate::scenario::ArtifactSpec;
use crate::state::RepoState;
use crate::template::{TemplateContext, render};

/// A GraphQL-style node id for an object of `kind`.
pub fn node_id(kind: &str, id: u64) -> String {
    STANDARD.encode(format!("{kind}{id}"))
}

/// A stable user id for a login.
pub fn user_id(login: &str) -> u64 {
    login.bytes().fold(1_000_u64, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(u64::from(b))
    }) % 90_000_000
        + 1_000
}

/// `simple-user` for `login`.
pub fn user(base: &str, login: &str) -> Value {
    let bot = login.ends_with("[bot]");
    let id = user_id(login);
    let api = format!("{base}/users/{login}");
    json!({
        "login": login,
        "id": id,
        "node_id": node_id(if bot { "Bot" } else { "User" }, id),
        "avatar_url": format!("{base}/avatars/u/{id}"),
        "gravatar_id": "",
        "url": api,
        "html_url": format!("{}/{login}", web_root(base)),
        "followers_url": format!("{api}/followers"),
        "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"),
        "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"),
        "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"),
        "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"),
        "type": if bot { "Bot" } else { "User" },
        "user_view_type": "public",
        "site_admin": false,
    })
}

/// The API URL of a repository.
pub fn repo_url(base: &str, full_name: &str) -> String {
    format!("{base}/repos/{full_name}")
}

/// The web root for an API root: GHES serves its API under `/api/v3` and its pages at the
/// host's root, so `html_url`s drop that suffix.
pub fn web_root(base: &str) -> &str {
    base.strip_suffix("/api/v3").unwrap_or(base)
}

/// The web URL of a repository.
pub fn repo_html(base: &str, full_name: &str) -> String {
    format!("{}/{full_name}", web_root(base))
}

/// `minimal-repository` for a repository.
pub fn minimal_repository(base: &str, repo: &RepoState) -> Value {
    let full = repo.full_name();
    let (owner, name) = full.split_once('/').unwrap_or((full, full));
    let url = repo_url(base, full);
    let mut map = Map::new();
    map.insert("id".into(), json!(repo.id));
    map.insert("node_id".into(), json!(node_id("Repository", repo.id)));
    map.insert("name".into(), json!(name));
    map.insert("full_name".into(), json!(full));
    let mut owner_json = user(base, owner);
    owner_json["id"] = json!(repo.owner_id);
    owner_json["type"] = json!("Organization");
    map.insert("owner".into(), owner_json);
    map.insert("private".into(), json!(repo.spec.private));
    map.insert("html_url".into(), json!(repo_html(base, full)));
    map.insert("description".into(), Value::Null);
    map.insert("fork".into(), json!(false));
    map.insert("url".into(), json!(url));
    for (key, suffix) in REPO_URLS {
        map.insert((*key).into(), json!(format!("{url}/{suffix}")));
    }
    map.insert(
        "git_url".into(),
        json!(format!("git://emulator/{full}.git")),
    );
    map.insert("ssh_url".into(), json!(format!("git@emulator:{full}.git")));
    map.insert(
        "clone_url".into(),
        json!(format!("{}.git", repo_html(base, full))),
    );
    map.insert("default_branch".into(), json!(repo.spec.default_branch));
    map.insert(
        "visibility".into(),
        json!(if repo.spec.private {
            "private"
        } else {
            "public"
        }),
    );
    Value::Object(map)
}

/// The `*_url` members of a repository, relative to its API URL.
const REPO_URLS: &[(&str, &str)] = &[
    ("archive_url", "{archive_format}{/ref}"),
    ("assignees_url", "assignees{/user}"),
    ("blobs_url", "git/blobs{/sha}"),
    ("branches_url", "branches{/branch}"),
    ("collaborators_url", "collaborators{/collaborator}"),
    ("comments_url", "comments{/number}"),
    ("commits_url", "commits{/sha}"),
    ("compare_url", "compare/{base}...{head}"),
    ("contents_url", "contents/{+path}"),
    ("contributors_url", "contributors"),
    ("deployments_url", "deployments"),
    ("downloads_url", "downloads"),
    ("events_url", "events"),
    ("forks_url", "forks"),
    ("git_commits_url", "git/commits{/sha}"),
    ("git_refs_url", "git/refs{/sha}"),
    ("git_tags_url", "git/tags{/sha}"),
    ("issue_comment_url", "issues/comments{/number}"),
    ("issue_events_url", "issues/events{/number}"),
    ("issues_url", "issues{/number}"),
    ("keys_url", "keys{/key_id}"),
    ("labels_url", "labels{/name}"),
    ("languages_url", "languages"),
    ("merges_url", "merges"),
    ("milestones_url", "milestones{/number}"),
    (
        "notifications_url",
        "notifications{?since,all,participating}",
    ),
    ("pulls_url", "pulls{/number}"),
    ("releases_url", "releases{/id}"),
    ("stargazers_url", "stargazers"),
    ("statuses_url", "statuses/{sha}"),
    ("subscribers_url", "subscribers"),
    ("subscription_url", "subscription"),
    ("tags_url", "tags"),
    ("teams_url", "teams"),
    ("trees_url", "git/trees{/sha}"),
    ("hooks_url", "hooks"),
];

/// The zip bytes of a scripted artifact: each file's JSON (string leaves templated) or text.
pub fn artifact_zip(spec: &ArtifactSpec, ctx: &TemplateContext) -> Vec<u8> {
    let contents: Vec<(String, Vec<u8>)> = spec
        .files
        .iter()
        .map(|(path, value)| {
            let bytes = match value {
                Value::String(text) => render(text, ctx).into_bytes(),
                other => {
                    let rendered = render_value(other, ctx);
                    serde_json::to_vec_pretty(&rendered).unwrap_or_default()
                }
            };
            (path.clone(), bytes)
        })
        .collect();
    let borrowed: Vec<(&str, &[u8])> = contents
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    crate::zipper::zip_files(&borrowed)
}

fn render_value(value: &Value, ctx: &TemplateContext) -> Value {
    match value {
        Value::String(text) => Value::String(render(text, ctx)),
        Value::Array(items) => Value::Array(items.iter().map(|v| render_value(v, ctx)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), render_value(v, ctx)))
                .collect(),
        ),
        other => other.clone(),
    }
}
