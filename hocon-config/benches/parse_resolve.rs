//! Parse+resolve benchmarks (filled in below).
fn main() {}
