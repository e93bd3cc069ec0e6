//! orchestrate-github
