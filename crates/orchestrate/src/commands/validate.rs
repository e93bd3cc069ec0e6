//! `orchestrate validate [PLAN]`: every diagnostic to stderr like a compiler; a short `ok`
//! line on stdout when the plan is valid.

use std::path::Path;

use anyhow::Context as _;

use super::Io;
use crate::error::Failure;
use crate::settings::planfile;

pub fn run(path: &Path, io: &mut Io) -> Result<(), Failure> {
    let label = path.display().to_string();
    let file = planfile::read(path, &label)?;
    let warnings = file.warnings();
    if !warnings.is_empty() {
        io.eprint(&format!("{}\n", warnings.render()))
            .context("writing to stderr")?;
    }
    let plan = &file.loaded.plan;
    let line = format!(
        "ok: {label}: plan `{}` with {} services and {} environments{}",
        plan.name,
        plan.services.len(),
        plan.environments.len(),
        if warnings.is_empty() {
            String::new()
        } else {
            format!(" ({})", warnings.summary_line())
        }
    );
    io.print(&line).context("writing to stdout")?;
    Ok(())
}
