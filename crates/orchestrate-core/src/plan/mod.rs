//! The release plan: the raw file shape, validation into a [`Plan`], templates, and the
//! `versions` input.

mod model;
mod template;

pub use model::*;
pub use template::Template;
