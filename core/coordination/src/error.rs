//! The crate's error type.

/// Errors of the coordination crate: lease configuration and lease operations.
#[derive(Debug, thiserror::Error)]
pub enum CoordinationError {
    /// The config path given as a lease implementation has no config block.
    #[error("no lease configuration at {path:?}: {reason}")]
    MissingLeaseConfig {
        /// The config path (Pekko's `lease-implementation`).
        path: String,
        /// What the configuration library reported.
        reason: String,
    },
    /// The lease implementation's config block has an empty `lease-class`.
    #[error("lease configuration {path:?} must define lease-class")]
    EmptyLeaseClass {
        /// The config path of the implementation block.
        path: String,
    },
    /// No implementation is registered for the block's `lease-class`.
    #[error(
        "lease configuration {path:?} names lease-class {class:?}, which is not registered \
         with the LeaseProvider (registered: [{}]); Rekko cannot load JVM classes, register a \
         Rust implementation under that name",
        registered.join(", ")
    )]
    UnknownLeaseClass {
        /// The config path of the implementation block.
        path: String,
        /// The `lease-class` string.
        class: String,
        /// The classes that are registered.
        registered: Vec<String>,
    },
    /// A setting in the lease configuration is invalid.
    #[error("invalid lease setting {key}: {reason}")]
    Setting {
        /// The key (relative to the implementation block, or a full path).
        key: String,
        /// What was wrong.
        reason: String,
    },
    /// A lease operation failed; the lease may or may not be held (Pekko's `LeaseException`).
    #[error("lease {lease_name:?}: {message}")]
    Lease {
        /// The lease name.
        lease_name: String,
        /// What failed.
        message: String,
    },
    /// A lease operation did not complete in time (Pekko's `LeaseTimeoutException`).
    #[error("lease {lease_name:?}: {operation} timed out after {millis} ms")]
    Timeout {
        /// The lease name.
        lease_name: String,
        /// The operation (`acquire`, `release`).
        operation: &'static str,
        /// The time limit in milliseconds.
        millis: u128,
    },
    /// The configuration library reported an error.
    #[error(transparent)]
    Config(#[from] hocon_config::ConfigError),
}

/// Result alias of this crate.
pub type Result<T, E = CoordinationError> = std::result::Result<T, E>;
