//! Compiles `proto/ClusterMessages.proto` with the pure-Rust `protox` compiler
//! (no system `protoc` needed) and generates prost types.

use std::path::PathBuf;

const PROTOS: &[&str] = &["proto/ClusterMessages.proto"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for p in PROTOS {
        println!("cargo:rerun-if-changed={p}");
    }
    let descriptors = protox::compile(PROTOS, ["proto"])?;
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut config = prost_build::Config::new();
    config.bytes(["."]);
    config.out_dir(&out);
    config.compile_fds(descriptors)?;
    Ok(())
}
