//! Pure parsing of GitHub's `Link` pagination header, and turning its absolute URLs back into
//! paths under the configured API base (so the token is only ever sent to that host).

/// The `rel="next"` target of a `Link` header, if any.
pub fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let mut pieces = part.split(';');
        let target = pieces.next()?.trim();
        let url = target.strip_prefix('<')?.strip_suffix('>')?;
        pieces
            .any(|p| {
                let p = p.trim();
                p == r#"rel="next""# || p == "rel=next"
            })
            .then(|| url.to_owned())
    })
}

/// The path and query of `link` relative to `base` (the configured API URL), or `Err(host)`
/// when the link points to another origin. A path under the base path (GHES `/api/v3`) has that
/// prefix removed so it can be joined to the base again.
pub fn relative_to_base(link: &str, base: &url::Url) -> Result<String, String> {
    let url = url::Url::parse(link).map_err(|_| link.to_owned())?;
    if url.origin() != base.origin() {
        return Err(url.host_str().unwrap_or(link).to_owned());
    }
    let base_path = base.path().trim_end_matches('/');
    let path = url.path();
    let rest = path
        .strip_prefix(base_path)
        .filter(|r| r.starts_with('/'))
        .unwrap_or(path);
    Ok(match url.query() {
        Some(q) => format!("{rest}?{q}"),
        None => rest.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_next_link_among_others() {
        let h = r#"<https://api.github.com/repositories/1/actions/runs?page=2>; rel="next", <https://api.github.com/repositories/1/actions/runs?page=5>; rel="last""#;
        assert_eq!(
            next_link(h).as_deref(),
            Some("https://api.github.com/repositories/1/actions/runs?page=2")
        );
        let last_only = r#"<https://x/y?page=1>; rel="prev", <https://x/y?page=5>; rel="last""#;
        assert_eq!(next_link(last_only), None);
        assert_eq!(next_link(""), None);
    }

    #[test]
    fn links_are_made_relative_to_the_base_path_and_foreign_hosts_refused() {
        let ghes = url::Url::parse("https://ghe.example.com/api/v3").expect("valid url");
        assert_eq!(
            relative_to_base(
                "https://ghe.example.com/api/v3/repos/a/b/actions/runs?page=2",
                &ghes
            ),
            Ok("/repos/a/b/actions/runs?page=2".to_owned())
        );
        let local = url::Url::parse("http://127.0.0.1:8080").expect("valid url");
        assert_eq!(
            relative_to_base("http://127.0.0.1:8080/repos/a/b/deployments?page=3", &local),
            Ok("/repos/a/b/deployments?page=3".to_owned())
        );
        assert_eq!(
            relative_to_base("https://evil.example.net/repos/a/b?page=2", &local),
            Err("evil.example.net".to_owned())
        );
    }
}
