//! `orchestrate schema`: the plan's JSON Schema on stdout, generated from the types the plan
//! reader uses (the file committed at `schema/orchestrate.schema.json` is this output).

use anyhow::Context as _;

use super::Io;
use crate::error::Failure;

pub fn run(io: &mut Io) -> Result<(), Failure> {
    io.print(&orchestrate_core::plan::plan_schema_text())
        .context("writing to stdout")?;
    Ok(())
}
