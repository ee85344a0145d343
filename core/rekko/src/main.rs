//! The `rekko` command-line interface.

fn main() {}
