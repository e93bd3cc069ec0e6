//! `orchestrate plan`: validate the plan and the flags together, then print the preview as
//! text or as one JSON document. Writes nothing anywhere else.

use anyhow::Context as _;

use super::Io;
use crate::checkup;
use crate::cli::{Format, PlanArgs};
use crate::env::Env;
use crate::error::Failure;
use crate::preview::{self, Preview};
use crate::settings::{Purpose, RawSettings, Settings, planfile};

pub fn run(args: &PlanArgs, env: &Env, io: &mut Io) -> Result<(), Failure> {
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
    // A preview is never a gate: unhealthy services are shown, the exit code stays 0.
    let health = if args.health {
        Some(super::health::check(
            env,
            io,
            &settings.plan,
            &settings.environment,
            &[],
        )?)
    } else {
        None
    };
    let text = match args.format {
        Format::Text => {
            let mut text = preview::text::render(&preview);
            if let Some(health) = &health {
                text.push_str("\nCurrent health\n\n");
                text.push_str(&checkup::render_text(health));
            }
            text
        }
        Format::Json => {
            let mut value = serde_json::to_value(&preview).context("serializing the preview")?;
            if let (Some(health), Some(map)) = (&health, value.as_object_mut()) {
                map.insert(
                    "health".into(),
                    serde_json::to_value(health).context("serializing the health")?,
                );
            }
            serde_json::to_string_pretty(&value).context("serializing the preview")?
        }
    };
    io.print(&text).context("writing to stdout")?;
    Ok(())
}
