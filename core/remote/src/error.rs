//! The crate's error type.

use std::time::Duration;

use artery_wire::WireError;
use thiserror::Error;

/// Errors of the remoting drivers.
#[derive(Debug, Error)]
pub enum RemoteError {
    /// Binding the listen socket failed.
    #[error("cannot bind Artery listener on {addr}: {source}")]
    Bind {
        /// The bind address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A path or address given by the user did not parse.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// An ask got no reply in time.
    #[error("no reply from {path} within {timeout:?}{}", .cause.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    AskTimeout {
        /// The asked actor.
        path: String,
        /// The timeout.
        timeout: Duration,
        /// Why the association did not work, if known (connection refused,
        /// handshake timeout, quarantine).
        cause: Option<String>,
    },
    /// No handshake with a peer within the timeout.
    #[error("association with {remote} not established within {timeout:?}{}", .cause.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    AssociationFailed {
        /// The peer address.
        remote: String,
        /// The timeout.
        timeout: Duration,
        /// Why, if known.
        cause: Option<String>,
    },
    /// The envelope is larger than the stream's maximum frame size; the
    /// message was not sent.
    #[error("message to {path} is {size} bytes, larger than the {stream} stream's maximum frame size {max}")]
    MessageTooLarge {
        /// The recipient.
        path: String,
        /// Envelope size.
        size: usize,
        /// The limit.
        max: usize,
        /// The stream name.
        stream: &'static str,
    },
    /// The outbound queue of the stream is full (the peer is slow or not
    /// reachable); the message was dropped.
    #[error("outbound {stream} queue toward {path} is full; message dropped")]
    QueueFull {
        /// The recipient.
        path: String,
        /// The stream name.
        stream: &'static str,
    },
    /// TLS files or configuration are unusable.
    #[error("TLS: {0}")]
    Tls(String),
    /// A user message could not be encoded, or a reply was not of the
    /// expected type.
    #[error(transparent)]
    Codec(#[from] crate::codec::CodecError),
    /// The node was shut down.
    #[error("remoting node is shut down")]
    Shutdown,
}

/// Result alias for this crate.
pub type Result<T, E = RemoteError> = std::result::Result<T, E>;
