//! orchestrate binary
fn main() {}
