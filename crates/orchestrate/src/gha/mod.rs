//! The runner contract of a container action (github-protocol.md §4): step outputs, the job
//! summary, workflow commands and secret masking. Every sink takes `impl Write` so tests can
//! capture it, and every sink redacts through the shared [`Masker`].

pub mod commands;
pub mod mask;
pub mod outputs;
pub mod summary;

/// The runner's parsers for what the sinks write, shared with the integration tests.
#[cfg(test)]
#[path = "../../tests/it/runner.rs"]
pub(crate) mod runner;

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

pub use commands::{Level, Location, Workflow};
pub use mask::Masker;
pub use outputs::{OutputError, OutputWriter};
pub use summary::SummaryWriter;

/// Opens a runner file (`GITHUB_OUTPUT`, `GITHUB_STEP_SUMMARY`) for appending, creating it if
/// the runner did not, and returns its current length for the summary's size budget.
pub fn open_append(path: &Path) -> io::Result<(File, usize)> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let len = file.metadata()?.len();
    Ok((file, usize::try_from(len).unwrap_or(usize::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn open_append_keeps_what_is_there_and_reports_its_length() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("step_summary_1");
        std::fs::write(&path, "abc").expect("write");
        let (mut file, len) = open_append(&path).expect("open");
        assert_eq!(len, 3);
        file.write_all(b"def").expect("append");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "abcdef");
    }
}
