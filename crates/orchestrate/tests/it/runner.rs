//! The runner's side of the contract, re-implemented from actions/runner for checking what the
//! binary writes: `EnvFileKeyValuePairs` (the `GITHUB_OUTPUT` parser, Linux flavour) and the
//! workflow-command parser with its unescaping. The one copy: the binary's unit tests include
//! this file too (`gha/mod.rs`), so both test suites check against the same parsers.

use std::collections::BTreeMap;

/// Reads one `\n`-terminated line; the flag says whether it had its newline.
fn read_line<'a>(text: &'a str, index: &mut usize) -> Option<(&'a str, bool)> {
    if *index >= text.len() {
        return None;
    }
    let start = *index;
    match text[start..].find('\n') {
        Some(lf) => {
            *index = start + lf + 1;
            Some((&text[start..start + lf], true))
        }
        None => {
            *index = text.len();
            Some((&text[start..], false))
        }
    }
}

/// Parses an environment file the way the runner does; errors carry the runner's messages.
pub fn parse_env_file(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let mut index = 0;
    while let Some((line, _)) = read_line(text, &mut index) {
        if line.is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        if let Some(e) = equals.filter(|e| heredoc.is_none_or(|h| *e < h)) {
            if e == 0 {
                return Err(format!("Invalid format '{line}'. Name must not be empty"));
            }
            out.insert(line[..e].to_owned(), line[e + 1..].to_owned());
            continue;
        }
        let Some(h) = heredoc else {
            return Err(format!("Invalid format '{line}'"));
        };
        let (name, delimiter) = (&line[..h], &line[h + 2..]);
        if name.is_empty() || delimiter.is_empty() {
            return Err(format!(
                "Invalid format '{line}'. Name must not be empty and delimiter must not be empty"
            ));
        }
        let (start, mut end) = (index, index);
        loop {
            let Some((content, had_newline)) = read_line(text, &mut index) else {
                return Err(format!(
                    "Invalid value. Matching delimiter not found '{delimiter}'"
                ));
            };
            if content == delimiter {
                break;
            }
            if !had_newline {
                return Err("Invalid value. EOF marker missing new line.".to_owned());
            }
            end = index - 1;
        }
        out.insert(
            name.to_owned(),
            if end > start {
                text[start..end].to_owned()
            } else {
                String::new()
            },
        );
    }
    Ok(out)
}

/// A workflow command as the runner reads it: name, properties and message, unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowCommand {
    pub name: String,
    pub properties: BTreeMap<String, String>,
    pub message: String,
}

/// `ActionCommand.TryParseV2`: `::name k=v,k=v::message`, leading whitespace allowed.
pub fn parse_command(line: &str) -> Option<WorkflowCommand> {
    let rest = line.trim_start().strip_prefix("::")?;
    let end = rest.find("::")?;
    let (head, message) = (&rest[..end], &rest[end + 2..]);
    let (name, props) = head.split_once(' ').unwrap_or((head, ""));
    let properties = props
        .split(',')
        .filter_map(|p| p.split_once('='))
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.to_owned(), unescape_property(v)))
        .collect();
    Some(WorkflowCommand {
        name: name.to_lowercase(),
        properties,
        message: unescape_data(message),
    })
}

/// The runner's unescaping of a command's message.
pub fn unescape_data(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%25", "%")
}

fn unescape_property(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

#[test]
fn the_parsers_follow_the_runner() {
    let parsed = parse_env_file("a=1\nb<<EOF\nx\n\ny=z\nEOF\n").expect("valid");
    assert_eq!(parsed["a"], "1");
    assert_eq!(parsed["b"], "x\n\ny=z");
    assert!(parse_env_file("b<<EOF\nx").is_err());
    let cmd = parse_command("::error file=a%2Cb.yml,line=3::bad%0Athing 100%25").expect("command");
    assert_eq!(cmd.name, "error");
    assert_eq!(cmd.properties["file"], "a,b.yml");
    assert_eq!(cmd.message, "bad\nthing 100%");
}
