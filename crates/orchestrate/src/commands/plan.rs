//! `orchestrate plan`: validate the plan and the flags together, then print the preview as
//! text or as one JSON document. Writes nothing anywhere else.

use anyhow::Context as _;

use super::Io;
use crate::cli::{Format, PlanArgs};
use crate::error::Failure;
use crate::preview::{self, Preview};
use crate::settings::{Purpose, RawSettings, Settings, planfile};

pub fn run(args: &PlanArgs, io: &mut Io) -> Result<(), Failure> {
    let path = &args.release.plan;
    let file = planfile::read(path, &path.display().to_string())?;
    let raw = RawSettings::from_release_args(&args.release);
    let settings = Settings::validate(&raw, &file, Purpose::Preview)?;
    let warnings = file.warnings();
    if !warnings.is_empty() {
        io.eprint(&format!("{}\n", warnings.render()))
            .context("writing to stderr")?;
    }
    let preview = Preview::build(&settings).context("building the preview")?;
    let text = match args.format {
        Format::Text => preview::text::render(&preview),
        Format::Json => {
            serde_json::to_string_pretty(&preview).context("serializing the preview")?
        }
    };
    io.print(&text).context("writing to stdout")?;
    Ok(())
}
