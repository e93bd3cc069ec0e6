//! Unpacking an artifact zip safely, and reading its JSON files into dotted fields.
//!
//! Nothing an archive says is trusted: names are checked (no `..`, no absolute paths, no drive
//! prefixes, no NUL or other control characters), symbolic links are refused, the entry count and the bytes *actually
//! read* are bounded per file and in total (declared sizes may lie), and files are created new
//! inside a fresh directory, so nothing outside it is touched. On any error the directory is
//! removed again. Reading the JSON fields is bounded too: the flattened fields (whose keys
//! repeat every parent key) and the warnings have budgets, so a small file cannot expand into
//! gigabytes of keys or millions of log lines.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::types::ArtifactLimits;

#[derive(Debug, thiserror::Error)]
pub enum UnzipError {
    #[error("not a readable zip archive")]
    NotZip(#[source] zip::result::ZipError),
    #[error("entry {0:?} points outside the target directory")]
    Escapes(String),
    /// Names end up in paths, warnings and logs; a line break there could forge log lines.
    #[error("entry {0:?} has control characters in its name")]
    ControlCharacters(String),
    #[error("entry {0:?} is a symbolic link")]
    Symlink(String),
    #[error("the archive has more than {0} entries")]
    TooManyEntries(usize),
    #[error("entry {name:?} expands to more than {limit} bytes")]
    FileTooLarge { name: String, limit: u64 },
    #[error("the archive expands to more than {0} bytes")]
    TotalTooLarge(u64),
    #[error("target directory {0} exists and is not empty")]
    NotEmpty(PathBuf),
    #[error("cannot read entry {name:?}")]
    Entry {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {0}")]
    Io(PathBuf, #[source] std::io::Error),
}

/// The relative path an entry name stands for, or an error when it would leave the directory.
pub fn safe_relative_path(name: &str) -> Result<PathBuf, UnzipError> {
    let escapes = || UnzipError::Escapes(name.to_owned());
    if name.is_empty() || name.contains('\0') || name.starts_with(['/', '\\']) {
        return Err(escapes());
    }
    if name.chars().any(char::is_control) {
        return Err(UnzipError::ControlCharacters(name.to_owned()));
    }
    let mut path = PathBuf::new();
    for part in name.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => return Err(escapes()),
            // `C:` drive prefixes and NTFS streams.
            p if p.contains(':') => return Err(escapes()),
            p => path.push(p),
        }
    }
    if path.as_os_str().is_empty() {
        return Err(escapes());
    }
    Ok(path)
}

/// Unpack `bytes` into `dest` (which must not exist, or be empty). Returns the files written,
/// relative to `dest`, sorted.
pub fn extract(
    bytes: &[u8],
    dest: &Path,
    limits: &ArtifactLimits,
) -> Result<Vec<PathBuf>, UnzipError> {
    if dest.exists() {
        let mut entries =
            std::fs::read_dir(dest).map_err(|e| UnzipError::Io(dest.to_owned(), e))?;
        if entries.next().is_some() {
            return Err(UnzipError::NotEmpty(dest.to_owned()));
        }
    }
    std::fs::create_dir_all(dest).map_err(|e| UnzipError::Io(dest.to_owned(), e))?;
    let result = extract_into(bytes, dest, limits);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(dest);
    }
    result
}

fn extract_into(
    bytes: &[u8],
    dest: &Path,
    limits: &ArtifactLimits,
) -> Result<Vec<PathBuf>, UnzipError> {
    let mut archive =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(UnzipError::NotZip)?;
    if archive.len() > limits.max_entries {
        return Err(UnzipError::TooManyEntries(limits.max_entries));
    }
    let mut total: u64 = 0;
    let mut files = Vec::new();
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(UnzipError::NotZip)?;
        let name = entry.name().map_err(UnzipError::NotZip)?.into_owned();
        let relative = safe_relative_path(&name)?;
        if entry.is_symlink() {
            return Err(UnzipError::Symlink(name));
        }
        let target = dest.join(&relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| UnzipError::Io(target.clone(), e))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| UnzipError::Io(parent.to_owned(), e))?;
        }
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&target)
            .map_err(|e| UnzipError::Io(target.clone(), e))?;
        let allowed = limits.max_file.min(limits.max_total.saturating_sub(total));
        let written =
            copy_bounded(&mut entry, &mut out, allowed).map_err(|source| UnzipError::Entry {
                name: name.clone(),
                source,
            })?;
        match written {
            Some(n) => total += n,
            None if allowed < limits.max_file => {
                return Err(UnzipError::TotalTooLarge(limits.max_total));
            }
            None => {
                return Err(UnzipError::FileTooLarge {
                    name,
                    limit: limits.max_file,
                });
            }
        }
        files.push(relative);
    }
    files.sort();
    Ok(files)
}

/// Copy at most `limit` bytes; `None` when the source holds more.
fn copy_bounded(
    from: &mut impl Read,
    to: &mut impl Write,
    limit: u64,
) -> std::io::Result<Option<u64>> {
    let copied = std::io::copy(&mut from.take(limit.saturating_add(1)), to)?;
    Ok((copied <= limit).then_some(copied))
}

/// Flatten a JSON value into dotted keys: objects nest (`build.sha`), scalars become text,
/// arrays stay JSON text, `null` becomes the empty string.
pub fn flatten_json(value: &serde_json::Value) -> BTreeMap<String, String> {
    flatten_json_bounded(value, usize::MAX).unwrap_or_default()
}

/// [`flatten_json`], or `None` as soon as the keys and values together pass `budget` bytes.
/// Every key repeats its parents' keys, so a 1 MB file of one long key holding many short ones
/// would otherwise flatten into tens of gigabytes.
pub fn flatten_json_bounded(
    value: &serde_json::Value,
    budget: usize,
) -> Option<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    let mut left = budget;
    flatten_into("", value, &mut out, &mut left)?;
    Some(out)
}

fn flatten_into(
    prefix: &str,
    value: &serde_json::Value,
    out: &mut BTreeMap<String, String>,
    left: &mut usize,
) -> Option<()> {
    use serde_json::Value;
    let text = match value {
        Value::Object(map) => {
            for (key, inner) in map {
                // Charged when built, leaf or not: building long keys costs time too.
                *left = left.checked_sub(prefix.len() + 1 + key.len())?;
                let key = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten_into(&key, inner, out, left)?;
            }
            return Some(());
        }
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(_) | Value::Number(_) | Value::Array(_) => value.to_string(),
    };
    if !prefix.is_empty() {
        *left = left.checked_sub(text.len())?;
        out.insert(prefix.to_owned(), text);
    }
    Some(())
}

/// At most this many warnings are kept per artifact; the rest are counted in a last one.
const MAX_WARNINGS: usize = 20;

/// The flattened fields of one artifact may take this many times `max_json` bytes in all.
const FIELDS_BUDGET_FACTOR: u64 = 16;

/// Read the fields of the `*.json` files among `files` (relative to `dir`), in path order; the
/// first file to define a key wins and later duplicates are reported as warnings.
pub fn read_json_fields(
    dir: &Path,
    files: &[PathBuf],
    max_json: u64,
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut fields = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut budget =
        usize::try_from(max_json.saturating_mul(FIELDS_BUDGET_FACTOR)).unwrap_or(usize::MAX);
    for file in files.iter().filter(|f| {
        f.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    }) {
        let shown = file.display();
        let mut text = String::new();
        let read = std::fs::File::open(dir.join(file))
            .and_then(|f| f.take(max_json.saturating_add(1)).read_to_string(&mut text));
        match read {
            Ok(n) if n as u64 > max_json => {
                warnings.push(format!(
                    "{shown} is larger than {max_json} bytes; fields not read"
                ));
                continue;
            }
            Ok(_) => {}
            Err(e) => {
                warnings.push(format!("{shown} could not be read: {e}"));
                continue;
            }
        }
        let value: serde_json::Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                warnings.push(format!("{shown} is not valid JSON: {e}"));
                continue;
            }
        };
        let Some(flat) = flatten_json_bounded(&value, budget) else {
            warnings.push(format!(
                "{shown}: the artifact's JSON fields exceed {} bytes; it and later files are not read",
                max_json.saturating_mul(FIELDS_BUDGET_FACTOR)
            ));
            break;
        };
        let mut repeated = Vec::new();
        for (key, text) in flat {
            budget = budget.saturating_sub(key.len() + text.len());
            match fields.entry(key) {
                std::collections::btree_map::Entry::Occupied(taken) => {
                    repeated.push(taken.key().clone());
                }
                std::collections::btree_map::Entry::Vacant(free) => {
                    free.insert(text);
                }
            }
        }
        // One warning per file, however many fields it repeats.
        match repeated.as_slice() {
            [] => {}
            // Keys are the archive's text: escaped, so a line break cannot forge a log line.
            [one] => warnings.push(format!(
                "{shown} repeats field `{}`; the first value is kept",
                one.escape_debug()
            )),
            [first, rest @ ..] => warnings.push(format!(
                "{shown} repeats field `{}` and {} more; the first values are kept",
                first.escape_debug(),
                rest.len()
            )),
        }
    }
    if warnings.len() > MAX_WARNINGS {
        let more = warnings.len() - MAX_WARNINGS;
        warnings.truncate(MAX_WARNINGS);
        warnings.push(format!("{more} more warnings about JSON files not shown"));
    }
    (fields, warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_leave_the_directory_are_refused() {
        for bad in [
            "../../evil",
            "/etc/passwd",
            "\\windows\\x",
            "C:/x",
            "a/../../b",
            "a/..",
            "",
            "a\0b",
            "./",
        ] {
            assert!(safe_relative_path(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            safe_relative_path("./dir//file.json").ok(),
            Some(PathBuf::from("dir/file.json"))
        );
        assert_eq!(
            safe_relative_path("dir\\file.json").ok(),
            Some(PathBuf::from("dir/file.json"))
        );
    }

    #[test]
    fn json_flattens_to_dotted_keys() {
        let v = serde_json::json!({"image": "ghcr.io/a:1", "build": {"sha": "abc", "n": 3, "ok": true},
                                   "tags": ["a", "b"], "none": null});
        let flat = flatten_json(&v);
        assert_eq!(flat["image"], "ghcr.io/a:1");
        assert_eq!(flat["build.sha"], "abc");
        assert_eq!(flat["build.n"], "3");
        assert_eq!(flat["build.ok"], "true");
        assert_eq!(flat["tags"], r#"["a","b"]"#);
        assert_eq!(flat["none"], "");
        assert!(flatten_json(&serde_json::json!("bare")).is_empty());
    }

    #[test]
    fn control_characters_in_names_are_refused() {
        for bad in ["a\nb.json", "x\r::error::y", "tab\there", "del\u{7f}"] {
            assert!(
                matches!(
                    safe_relative_path(bad),
                    Err(UnzipError::ControlCharacters(_))
                ),
                "{bad:?} accepted"
            );
        }
        assert!(safe_relative_path("déploiement/ünïcode.json").is_ok());
    }

    fn write_json(dir: &Path, name: &str, text: &str) -> PathBuf {
        std::fs::write(dir.join(name), text).expect("write");
        PathBuf::from(name)
    }

    #[test]
    fn one_long_key_over_many_short_ones_does_not_expand_into_gigabytes() {
        // 512 KiB of key holding 40k leaves: unbounded, ~20 GB of flattened keys.
        let dir = tempfile::tempdir().expect("tempdir");
        let mut leaves = String::new();
        for i in 0..40_000 {
            if i > 0 {
                leaves.push(',');
            }
            leaves.push_str(&format!("\"{i:x}\":0"));
        }
        let text = format!("{{\"{}\":{{{leaves}}}}}", "k".repeat(512 << 10));
        assert!(text.len() < 1 << 20);
        let files = [write_json(dir.path(), "bomb.json", &text)];
        let (fields, warnings) = read_json_fields(dir.path(), &files, 1 << 20);
        assert!(fields.is_empty());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("exceed"), "{warnings:?}");
        assert!(flatten_json_bounded(&serde_json::json!({"a": {"b": "c"}}), 6).is_some());
        assert!(flatten_json_bounded(&serde_json::json!({"a": {"b": "c"}}), 5).is_none());
    }

    #[test]
    fn repeated_fields_give_one_escaped_warning_per_file_and_warnings_are_capped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let many: serde_json::Map<String, serde_json::Value> = (0..1000)
            .map(|i| (format!("k{i}"), serde_json::json!(i)))
            .collect();
        let text = serde_json::Value::Object(many).to_string();
        let mut files = vec![write_json(
            dir.path(),
            "a.json",
            r#"{"x\n::error::forged": 1}"#,
        )];
        files.push(write_json(
            dir.path(),
            "b.json",
            r#"{"x\n::error::forged": 2}"#,
        ));
        for i in 0..40 {
            files.push(write_json(dir.path(), &format!("c{i:02}.json"), &text));
        }
        let (fields, warnings) = read_json_fields(dir.path(), &files, 1 << 20);
        assert_eq!(fields["x\n::error::forged"], "1");
        assert_eq!(fields["k999"], "999");
        assert_eq!(warnings.len(), MAX_WARNINGS + 1, "{warnings:?}");
        assert!(warnings.iter().all(|w| !w.contains('\n')), "{warnings:?}");
        assert!(warnings[0].contains("b.json repeats field `x\\n::error::forged`"));
        assert!(warnings[1].contains("and 999 more"), "{warnings:?}");
        assert_eq!(
            warnings[MAX_WARNINGS],
            "20 more warnings about JSON files not shown"
        );
    }

    #[test]
    fn bounded_copy_reports_overflow_by_bytes_read() {
        let mut out = Vec::new();
        assert_eq!(
            copy_bounded(&mut &b"12345"[..], &mut out, 5).ok(),
            Some(Some(5))
        );
        out.clear();
        assert_eq!(
            copy_bounded(&mut &b"123456"[..], &mut out, 5).ok(),
            Some(None)
        );
    }
}
