//! `{{ name }}` templates: parsing, the variables they use, and rendering.
//! (Placeholder shape; the plan work fills it in.)

/// A parsed template string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    source: String,
}

impl Template {
    pub fn source(&self) -> &str {
        &self.source
    }
}
