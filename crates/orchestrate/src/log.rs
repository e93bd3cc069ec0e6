//! Logging: `tracing` to stderr only (stdout carries workflow commands and command output),
//! filtered by `ORCHESTRATE_LOG` / `RUST_LOG`, every line redacted by the shared masker and
//! defused: the runner reads workflow commands on stderr too, and log messages quote GitHub.

use std::io::{self, IsTerminal, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::gha::Masker;
use crate::gha::commands::defuse;

/// The filter when neither variable is set: warnings, and our own progress at info.
const DEFAULT_FILTER: &str = "warn,orchestrate=info";

/// Installs the global subscriber. A bad filter falls back to the default (and says so),
/// rather than failing the release over a log setting.
pub fn init(filter: Option<&str>, masker: Masker) {
    let (filter, bad) = match filter.map(EnvFilter::try_new) {
        Some(Ok(f)) => (f, None),
        Some(Err(e)) => (EnvFilter::new(DEFAULT_FILTER), Some(e)),
        None => (EnvFilter::new(DEFAULT_FILTER), None),
    };
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(io::stderr().is_terminal())
        .with_target(false)
        .without_time()
        .with_writer(RedactingStderr { masker })
        .finish();
    // A second init (only possible in tests) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(subscriber);
    if let Some(e) = bad {
        tracing::warn!("ignoring the log filter: {e}");
    }
}

/// Makes one buffered writer per log event.
struct RedactingStderr {
    masker: Masker,
}

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = RedactedLine;

    fn make_writer(&'a self) -> RedactedLine {
        RedactedLine {
            masker: self.masker.clone(),
            buf: Vec::new(),
        }
    }
}

/// Collects one event, then writes it redacted when dropped: a secret split across two
/// `write` calls is still caught.
pub struct RedactedLine {
    masker: Masker,
    buf: Vec<u8>,
}

impl Write for RedactedLine {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactedLine {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let text = render(&self.masker, &self.buf);
        // Nowhere to report a failed log write; dropping the line is the only option.
        let _ = io::stderr().lock().write_all(text.as_bytes());
    }
}

/// One formatted event as it goes to stderr: redacted, then defused.
fn render(masker: &Masker, buf: &[u8]) -> String {
    defuse(&masker.redact(&String::from_utf8_lossy(buf))).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_line_quoting_github_cannot_start_a_workflow_command() {
        let masker = Masker::new();
        masker.register("ghp_secret_token");
        let event =
            b" WARN run concluded: job `build\n::stop-commands::x` failed (ghp_secret_token)\n";
        let text = render(&masker, event);
        assert!(!text.contains("ghp_secret_token"), "{text}");
        assert!(
            text.lines().all(|l| !l.trim_start().starts_with("::")),
            "{text}"
        );
        assert!(text.ends_with('\n'));
    }
}
