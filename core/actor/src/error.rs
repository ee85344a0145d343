//! The crate's error type.

use std::time::Duration;

use crate::path::ActorPath;

/// Errors returned by the actor runtime, each naming what failed and where.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ActorError {
    /// An actor name breaks Pekko's naming rules.
    #[error("invalid actor name [{name}]: {reason}")]
    InvalidName {
        /// The rejected name.
        name: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An actor path string could not be parsed.
    #[error("cannot parse [{path}] as an actor path: {reason}")]
    InvalidPath {
        /// The rejected text.
        path: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A sibling with that name exists (names stay reserved until the old actor has terminated).
    #[error("actor name [{name}] is not unique under [{parent}]")]
    NameNotUnique {
        /// The requested name.
        name: String,
        /// Path of the parent.
        parent: String,
    },
    /// `ActorContext::stop` was given an actor that is not a child of this actor.
    #[error("only direct children of an actor can be stopped through its context: [{child}] is not a child of [{parent}]")]
    NotAChild {
        /// The actor passed in.
        child: String,
        /// This actor.
        parent: String,
    },
    /// The actor system is terminating or terminated; nothing can be spawned.
    #[error("actor system [{system}] is terminated; cannot spawn [{name}]")]
    SystemTerminated {
        /// System name.
        system: String,
        /// Requested actor name.
        name: String,
    },
    /// A named dispatcher is not configured.
    #[error("dispatcher [{0}] not configured")]
    DispatcherNotFound(String),
    /// An invalid setting value.
    #[error("invalid setting [{key}]: {reason}")]
    InvalidSetting {
        /// Config key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A coordinated shutdown phase graph has a cycle or unknown phase.
    #[error("coordinated shutdown phases: {0}")]
    InvalidPhases(String),
}

/// Why an `ask` did not produce a reply.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AskError {
    /// No reply within the timeout.
    #[error("ask timed out on [{target}] after [{} ms]", timeout.as_millis())]
    Timeout {
        /// The asked actor.
        target: ActorPath,
        /// The timeout that elapsed.
        timeout: Duration,
    },
    /// The reply was a `StatusReply::Error`.
    #[error("status reply error from [{target}]: {message}")]
    Status {
        /// The asked actor.
        target: ActorPath,
        /// The error text of the reply.
        message: String,
    },
}

/// Returned by `StashBuffer::stash` when the buffer is full (Pekko's `StashOverflowException`).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("stash buffer of [{actor}] is full (capacity {capacity})")]
pub struct StashOverflow {
    /// The stashing actor.
    pub actor: String,
    /// The buffer's capacity.
    pub capacity: usize,
}
