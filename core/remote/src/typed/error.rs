//! Errors of the typed location-transparency API.

use std::time::Duration;

use rekko_actor::remote::WireError;

use crate::error::RemoteError;

/// Why a ref could not be resolved, a message not sent, or an ask not answered.
#[derive(Debug, thiserror::Error)]
pub enum RefError {
    /// The string is not an actor path.
    #[error("invalid actor path [{path}]: {reason}")]
    InvalidPath {
        /// The text given.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The path is on this node but no actor lives there (or not with that uid).
    #[error("no local actor at [{0}]")]
    NotFound(String),
    /// The local actor at the path does not accept the requested message type.
    #[error("actor [{path}] does not accept messages of type {type_name}")]
    WrongType {
        /// The actor's path.
        path: String,
        /// The requested message type.
        type_name: &'static str,
    },
    /// The message could not be serialized with its binding.
    #[error("cannot serialize message for [{path}]: {source}")]
    Encode {
        /// The recipient.
        path: String,
        /// The serializer's error.
        #[source]
        source: WireError,
    },
    /// The transport refused the message (queue full, frame too large...).
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// No reply arrived in time.
    #[error("ask timed out on [{path}] after [{} ms]", timeout.as_millis())]
    AskTimeout {
        /// The asked actor.
        path: String,
        /// The timeout that elapsed.
        timeout: Duration,
    },
    /// The actor system and the remoting node have different system names.
    #[error("actor system [{system}] cannot use remoting node of system [{node}]: the names must be equal")]
    SystemNameMismatch {
        /// The actor system's name.
        system: String,
        /// The node's `system_name`.
        node: String,
    },
}
