//! The crate's error type.

/// Errors of the management crate: reading `pekko.management.*` settings and binding the server.
#[derive(Debug, thiserror::Error)]
pub enum ManagementError {
    /// A setting has an invalid value.
    #[error("invalid setting {key}: {reason}")]
    Setting {
        /// Full config key.
        key: String,
        /// What was wrong.
        reason: String,
    },
    /// The configuration library reported an error.
    #[error(transparent)]
    Config(#[from] hocon_config::ConfigError),
    /// The HTTP server could not bind its address.
    #[error("cannot bind Pekko Management (HTTP) endpoint to {address}: {source}")]
    Bind {
        /// `host:port` that was to be bound.
        address: String,
        /// The socket error.
        source: std::io::Error,
    },
}

/// Result alias of this crate.
pub type Result<T, E = ManagementError> = std::result::Result<T, E>;
