//! Errors of the StreamRef protocol, named after Pekko's exceptions.

use thiserror::Error;

/// A StreamRef failure, carrying the Pekko exception kind it corresponds to.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StreamRefError {
    /// The partner never appeared within `subscription-timeout`
    /// (Pekko `StreamRefSubscriptionTimeoutException`).
    #[error("StreamRefSubscriptionTimeoutException: {0}")]
    SubscriptionTimeout(String),
    /// The partner failed, or terminated without a clean end
    /// (Pekko `RemoteStreamRefActorTerminatedException`).
    #[error("RemoteStreamRefActorTerminatedException: {0}")]
    RemoteTerminated(String),
    /// An element or completion arrived with an unexpected sequence number
    /// (Pekko `InvalidSequenceNumberException`).
    #[error("InvalidSequenceNumberException: expected {expected}, got {got}: {message}")]
    InvalidSequenceNumber {
        /// The expected sequence number.
        expected: i64,
        /// The received one.
        got: i64,
        /// What arrived.
        message: String,
    },
    /// A protocol message came from an actor that is not the partner
    /// (Pekko `InvalidPartnerActorException`).
    #[error("InvalidPartnerActorException: expected {expected}, got {got}")]
    InvalidPartner {
        /// The partner's path.
        expected: String,
        /// The sender's path.
        got: String,
    },
    /// The partner sent more elements than demanded (or flooded the stage);
    /// Pekko fails its receiver with an `IllegalStateException` saying this.
    #[error("IllegalStateException: Attempted to overflow buffer! Capacity: {capacity}")]
    BufferOverflow {
        /// The receiver's buffer capacity that was exceeded.
        capacity: usize,
    },
    /// A message that is illegal in the stage's current state.
    #[error("illegal StreamRef message {message} in state {state}")]
    IllegalState {
        /// The message.
        message: String,
        /// The state.
        state: &'static str,
    },
    /// The transport refused a send or a watch.
    #[error("transport: {0}")]
    Transport(String),
    /// A protocol message could not be decoded.
    #[error(transparent)]
    Codec(#[from] CodecError),
}

/// A StreamRef protocol message that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CodecError {
    /// The manifest is none of `A`..`H`.
    #[error("unknown StreamRef manifest {0:?}")]
    UnknownManifest(String),
    /// The protobuf bytes are malformed.
    #[error("malformed StreamRef message (manifest {manifest}): {reason}")]
    Malformed {
        /// The manifest.
        manifest: &'static str,
        /// The decoder's explanation.
        reason: String,
    },
    /// A serializer other than 30 was given.
    #[error("serializer id {0} is not the StreamRef serializer (30)")]
    WrongSerializer(i32),
    /// `CumulativeDemand` must be positive.
    #[error("CumulativeDemand {0} is not positive")]
    NonPositiveDemand(i64),
    /// Text fields must be UTF-8.
    #[error("{field} is not UTF-8")]
    NotUtf8 {
        /// The field.
        field: &'static str,
    },
}
