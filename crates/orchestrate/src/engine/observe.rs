//! Live progress of a release. The driver reports each service's state changes and release
//! notes to an [`Observer`]; sinks print them as plain lines (logs, pipes, the Actions log) or
//! as one live line per service on a terminal (indicatif). Everything printed is redacted.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::gha::Masker;
use crate::gha::commands::defuse;

/// Receives progress; called from the driver's loop only.
pub trait Observer {
    /// `service` is now `state` (`dispatched`, `running`, `checking health`, `verified`, …);
    /// `detail` is a link or a reason, possibly empty.
    fn service(&mut self, at: Duration, service: &str, state: &str, detail: &str);
    /// Something about the release as a whole.
    fn release(&mut self, at: Duration, text: &str);
}

/// Discards everything (tests, measurements).
#[derive(Debug, Default)]
pub struct Silent;

impl Observer for Silent {
    fn service(&mut self, _: Duration, _: &str, _: &str, _: &str) {}
    fn release(&mut self, _: Duration, _: &str) {}
}

/// `[  1m 05s] backend   running   https://…`: one line per change.
pub struct Lines<W: Write> {
    out: W,
    masker: Masker,
    width: usize,
}

impl<W: Write> Lines<W> {
    /// `names` sets the column width.
    pub fn new<'a>(out: W, masker: Masker, names: impl IntoIterator<Item = &'a str>) -> Self {
        let width = names.into_iter().map(str::len).max().unwrap_or(8);
        Lines { out, masker, width }
    }

    fn write(&mut self, line: &str) {
        // Progress is best effort: a closed pipe must not stop the release.
        let _ = writeln!(self.out, "{}", safe(&self.masker, line));
        let _ = self.out.flush();
    }
}

/// `text` redacted and defused: progress quotes GitHub's text (job names, conclusions,
/// messages), which must not run as a workflow command in the Actions log.
fn safe(masker: &Masker, text: &str) -> String {
    defuse(&masker.redact(text)).into_owned()
}

pub fn clock(at: Duration) -> String {
    let s = at.as_secs();
    if s >= 60 {
        format!("{:>2}m {:02}s", s / 60, s % 60)
    } else {
        format!("    {s:>2}s")
    }
}

impl<W: Write> Observer for Lines<W> {
    fn service(&mut self, at: Duration, service: &str, state: &str, detail: &str) {
        let line = format!(
            "[{}] {service:<w$}  {state:<16} {detail}",
            clock(at),
            w = self.width
        );
        self.write(line.trim_end());
    }

    fn release(&mut self, at: Duration, text: &str) {
        self.write(&format!("[{}] {text}", clock(at)));
    }
}

/// One live line per service on a terminal.
pub struct Live {
    multi: MultiProgress,
    bars: BTreeMap<String, ProgressBar>,
    masker: Masker,
    width: usize,
}

impl Live {
    pub fn new(services: &[String], masker: Masker) -> Live {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let width = services.iter().map(String::len).max().unwrap_or(8);
        let style = ProgressStyle::with_template("{spinner} {prefix} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        let bars = services
            .iter()
            .map(|name| {
                let bar = multi.add(ProgressBar::new_spinner());
                bar.set_style(style.clone());
                bar.set_prefix(format!("{name:<width$}"));
                bar.set_message("pending");
                bar.enable_steady_tick(Duration::from_millis(120));
                (name.clone(), bar)
            })
            .collect();
        Live {
            multi,
            bars,
            masker,
            width,
        }
    }
}

impl Observer for Live {
    fn service(&mut self, at: Duration, service: &str, state: &str, detail: &str) {
        let text = safe(
            &self.masker,
            &format!("{state:<16} {detail} ({})", clock(at).trim()),
        );
        match self.bars.get(service) {
            Some(bar) if is_final(state) => bar.finish_with_message(text),
            Some(bar) => bar.set_message(text),
            None => {
                let _ = self
                    .multi
                    .println(format!("{service:<w$} {text}", w = self.width));
            }
        }
    }

    fn release(&mut self, at: Duration, text: &str) {
        let _ = self
            .multi
            .println(safe(&self.masker, &format!("[{}] {text}", clock(at))));
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        for bar in self.bars.values() {
            if !bar.is_finished() {
                bar.abandon();
            }
        }
    }
}

fn is_final(state: &str) -> bool {
    matches!(
        state,
        "verified"
            | "succeeded"
            | "failed"
            | "skipped"
            | "cancelled"
            | "timed out"
            | "rolled back"
            | "rollback failed"
            | "halted"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_align_services_and_redact_secrets() {
        let masker = Masker::new();
        masker.register("s3cr3t-token");
        let mut lines = Lines::new(Vec::new(), masker, ["backend", "web"]);
        lines.service(
            Duration::from_secs(65),
            "web",
            "dispatched",
            "https://x?t=s3cr3t-token",
        );
        lines.release(Duration::from_secs(3), "canary baking");
        let text = String::from_utf8(lines.out).expect("utf-8");
        assert_eq!(
            text,
            "[ 1m 05s] web      dispatched       https://x?t=***\n[     3s] canary baking\n"
        );
    }

    #[test]
    fn lines_quoting_github_text_cannot_run_workflow_commands() {
        let mut lines = Lines::new(Vec::new(), Masker::new(), ["web"]);
        lines.service(
            Duration::from_secs(1),
            "web",
            "failed",
            "job `x\n::stop-commands::t`, step `##[add-mask]y`",
        );
        lines.release(Duration::from_secs(2), "note\r::set-output name=a::b");
        let text = String::from_utf8(lines.out).expect("utf-8");
        for line in text.split(['\n', '\r']) {
            assert!(!line.trim_start().starts_with("::"), "{line:?} in {text:?}");
            assert!(!line.contains("##["), "{line:?} in {text:?}");
        }
        assert!(
            text.contains("stop-commands::t"),
            "the text stays: {text:?}"
        );
    }
}
