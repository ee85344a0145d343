//! Stream failures and supervision directives.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Which timeout operator fired (see [`StreamError::Timeout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeoutKind {
    /// `idle_timeout`: no element passed for the configured duration.
    Idle,
    /// `completion_timeout`: the stream did not complete in time.
    Completion,
    /// `initial_timeout`: the first element did not arrive in time.
    Initial,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Idle => "idle",
            TimeoutKind::Completion => "completion",
            TimeoutKind::Initial => "initial",
        })
    }
}

/// Why a stream failed. Cloneable because one failure is delivered to several
/// places (downstream stages, fan-out outputs, materialized futures).
#[derive(Debug, Clone, thiserror::Error)]
pub enum StreamError {
    /// A user function or an external component failed with this error.
    #[error("stream stage failed: {0}")]
    Failed(Arc<dyn StdError + Send + Sync + 'static>),
    /// A failure described only by a message.
    #[error("{0}")]
    Message(Arc<str>),
    /// A buffer with the `Fail` overflow strategy was full (Pekko `BufferOverflowException`).
    #[error("buffer overflow in {stage}: buffer of size {size} is full")]
    BufferOverflow {
        /// The operator whose buffer overflowed.
        stage: &'static str,
        /// Its capacity.
        size: usize,
    },
    /// A timeout operator fired (Pekko `StreamTimeoutException` / `TimeoutException`).
    #[error("{kind} timeout: no progress within {after:?}")]
    Timeout {
        /// Which operator fired.
        kind: TimeoutKind,
        /// The configured duration.
        after: Duration,
    },
    /// `group_by` saw more distinct keys than allowed (Pekko `TooManySubstreamsOpenException`).
    #[error("cannot open a new substream: {max} substreams are already open")]
    TooManySubstreams {
        /// The configured maximum.
        max: usize,
    },
    /// A sink needing an element got an empty stream (Pekko `NoSuchElementException`).
    #[error("{stage}: stream completed without any element")]
    NoSuchElement {
        /// The sink that needed the element.
        stage: &'static str,
    },
    /// `throttle` in enforcing mode saw more elements than allowed (Pekko `RateExceededException`).
    #[error("throttle: maximum rate exceeded in enforcing mode")]
    RateExceeded,
    /// `limit(n)` saw more than `n` elements (Pekko `StreamLimitReachedException`).
    #[error("limit of {limit} elements reached")]
    LimitReached {
        /// The configured limit.
        limit: u64,
    },
    /// A single-use source (e.g. one built from a `futures::Stream` value) was materialized twice.
    #[error("{0} can be materialized only once")]
    AlreadyMaterialized(&'static str),
    /// A graph built with [`crate::GraphBuilder`] is not wired correctly (Pekko's
    /// `IllegalArgumentException` from `GraphDSL`).
    #[error("invalid graph: port {port} {problem}")]
    InvalidGraph {
        /// The port, as `Stage#index.port` (for example `Zip#3.in1`).
        port: Arc<str>,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The stream ended without a terminal signal, e.g. its task was dropped or panicked
    /// (Pekko `AbruptTerminationException` / `AbruptStageTerminationException`).
    #[error("stream terminated abruptly: {0}")]
    AbruptTermination(&'static str),
}

impl StreamError {
    /// Wraps any error as a stream failure.
    pub fn failed<E: StdError + Send + Sync + 'static>(e: E) -> Self {
        StreamError::Failed(Arc::new(e))
    }

    /// A failure carrying only a message.
    pub fn msg(m: impl Into<String>) -> Self {
        StreamError::Message(Arc::from(m.into()))
    }
}

/// What a supervision decider tells an operator to do with a failing element
/// (Pekko `Supervision.Directive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Directive {
    /// Fail the stream (the default).
    Stop,
    /// Drop the failing element and continue with the stage's state.
    Resume,
    /// Drop the failing element and reset the stage's accumulated state.
    Restart,
}

/// Maps a failure to a [`Directive`]; installed with [`crate::Attributes::supervision`].
pub type Decider = Arc<dyn Fn(&StreamError) -> Directive + Send + Sync>;

/// Ready-made deciders (Pekko `Supervision.stoppingDecider` etc.).
pub struct Supervision;

impl Supervision {
    /// Always [`Directive::Stop`].
    pub fn stopping_decider() -> Decider {
        Arc::new(|_| Directive::Stop)
    }
    /// Always [`Directive::Resume`].
    pub fn resuming_decider() -> Decider {
        Arc::new(|_| Directive::Resume)
    }
    /// Always [`Directive::Restart`].
    pub fn restarting_decider() -> Decider {
        Arc::new(|_| Directive::Restart)
    }
}
