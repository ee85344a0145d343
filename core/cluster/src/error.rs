//! The crate's error type.

/// Errors of the cluster crate: decoding wire messages, reading settings.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A cluster message could not be decoded.
    #[error(
        "cannot decode cluster message {} (manifest {manifest:?}): {reason}",
        crate::codec::message_name(manifest)
    )]
    Decode {
        /// Manifest of the message being decoded.
        manifest: String,
        /// What was wrong.
        reason: String,
    },
    /// The manifest is not one the cluster serializer knows.
    #[error("unknown cluster message manifest {0:?} (serializer id 5)")]
    UnknownManifest(String),
    /// A message could not be encoded.
    #[error("cannot encode cluster message {manifest}: {reason}")]
    Encode {
        /// Manifest of the message being encoded.
        manifest: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// An address string could not be parsed.
    #[error("invalid address {input:?}: {reason}")]
    Address {
        /// The text given.
        input: String,
        /// What was wrong.
        reason: String,
    },
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
    /// The remoting transport reported an error.
    #[error("remoting: {0}")]
    Remote(#[from] rekko_remote::RemoteError),
}

/// Result alias of this crate.
pub type Result<T, E = ClusterError> = std::result::Result<T, E>;
