//! The harness's error type.

use std::path::PathBuf;

/// What went wrong while preparing or driving a fixture process.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// `mvn package` in `jvm-fixtures/` failed; the output is attached.
    #[error("building the JVM fixtures failed (exit status {status}); mvn output:\n{output}")]
    FixtureBuild {
        /// Exit status of `mvn`.
        status: String,
        /// Combined output of `mvn`.
        output: String,
    },
    /// The jar was expected at a path where it is not.
    #[error("the fixture jar was not found at {0}")]
    MissingJar(PathBuf),
    /// A process could not be started.
    #[error("could not start {what}: {source}")]
    Spawn {
        /// What was being started.
        what: String,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A fixture did not print its `READY` line in time.
    #[error("{name} did not print READY within {timeout_secs}s; log {log}:\n{log_tail}")]
    NotReady {
        /// The fixture's name.
        name: String,
        /// How long the harness waited.
        timeout_secs: u64,
        /// Where the full log is.
        log: PathBuf,
        /// The end of the log.
        log_tail: String,
    },
    /// A fixture exited while the harness waited for a line from it.
    #[error("{name} exited while a line was expected; log {log}:\n{log_tail}")]
    Exited {
        /// The fixture's name.
        name: String,
        /// Where the full log is.
        log: PathBuf,
        /// The end of the log.
        log_tail: String,
    },
    /// A fixture did not answer a command in time.
    #[error("{name} did not answer within {timeout_secs}s; log {log}:\n{log_tail}")]
    Timeout {
        /// The fixture's name.
        name: String,
        /// How long the harness waited.
        timeout_secs: u64,
        /// Where the full log is.
        log: PathBuf,
        /// The end of the log.
        log_tail: String,
    },
    /// Reading or writing a file or pipe failed.
    #[error("{context}: {source}")]
    Io {
        /// What the harness was doing.
        context: String,
        /// The operating system's error.
        source: std::io::Error,
    },
}

impl HarnessError {
    /// [`HarnessError::Io`] with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        HarnessError::Io {
            context: context.into(),
            source,
        }
    }
}
