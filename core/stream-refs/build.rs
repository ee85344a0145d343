//! Compiles `proto/stream_ref_messages.proto` with the pure-Rust `protox`
//! compiler and generates prost types.

use std::path::PathBuf;

const PROTO: &str = "proto/stream_ref_messages.proto";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed={PROTO}");
    let descriptors = protox::compile([PROTO], ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut config = prost_build::Config::new();
    config.bytes(["."]);
    config.out_dir(&out);
    config.compile_fds(descriptors)?;
    Ok(())
}
