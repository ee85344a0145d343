//! Where things are: the repository, the logs, free ports.

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use crate::HarnessError;

/// The repository's root directory (the parent of `interop-tests/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `target/interop-logs/` of the build that produced the running test binary, created if needed.
pub fn interop_logs_dir() -> Result<PathBuf, HarnessError> {
    let dir = target_dir().join("interop-logs");
    std::fs::create_dir_all(&dir)
        .map_err(|e| HarnessError::io(format!("creating {}", dir.display()), e))?;
    Ok(dir)
}

/// Writes `text` to the file `name` in [`interop_logs_dir`] (a fixture's `--config` file, kept
/// next to its log) and returns its path.
pub fn write_fixture_conf(name: &str, text: &str) -> Result<PathBuf, HarnessError> {
    let conf = interop_logs_dir()?.join(name);
    std::fs::write(&conf, text)
        .map_err(|e| HarnessError::io(format!("writing {}", conf.display()), e))?;
    Ok(conf)
}

/// The cargo target directory: test binaries live in `<target>/<profile>/deps/`.
pub(crate) fn target_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(Path::to_path_buf))
        .unwrap_or_else(|| repo_root().join("target"))
}

/// A TCP port on 127.0.0.1 that was free when this function returned.
pub fn free_port() -> Result<u16, HarnessError> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| HarnessError::io("binding 127.0.0.1:0 to find a free port", e))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| HarnessError::io("reading the port of a bound socket", e))
}
