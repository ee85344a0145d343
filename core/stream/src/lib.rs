//! Pekko-style streams: `Source`, `Flow` and `Sink` blueprints with
//! demand-driven back-pressure, built on async Rust.
//!
//! # Model
//!
//! * Blueprints ([`Source`], [`Flow`], [`Sink`], [`RunnableGraph`]) are immutable,
//!   cheaply cloneable values. Each materialization (`run`, `run_with`, `into_stream`)
//!   builds fresh operator state and yields the materialized value (`Mat`), combined
//!   along `via_mat` / `to_mat` with [`Keep`].
//! * A materialized segment is a `futures::Stream` of `Result<T, StreamError>`: polling is
//!   demand (one element per `poll_next`, the Pekko pull/push handshake), an `Err` is the
//!   terminal failure, end-of-stream is completion and dropping the stream cancels
//!   everything upstream. No operator buffers without bound.
//! * Fusing: a linear chain runs in the task that polls it, without channels.
//!   [`FlowOps::async_boundary`] puts the upstream in its own tokio task behind a bounded
//!   buffer (the `input_buffer` attribute, default 16). `buffer`, `conflate` and `batch`
//!   also run their upstream in their own task so they can absorb elements while
//!   downstream is busy.
//! * Graphs: fan-in operators and fan-out sinks as combinators; [`GraphBuilder`] for
//!   arbitrary graphs with cycles (Pekko `GraphDSL`); [`BidiFlow`] for protocol stacks;
//!   [`MergeHub`], [`BroadcastHub`] and [`PartitionHub`] for dynamic fan-in and fan-out.
//! * Supervision: fallible operators (`try_map`, `try_map_async`, `try_fold`, `try_scan`)
//!   consult the decider set with [`Attributes::supervision`].
//!
//! ```
//! use rekko_stream::prelude::*;
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let sum = Source::iter(1..=10u64).map(|x| x * 2).filter(|x| x % 3 == 0).run_with(Sink::fold(0, |a, x| a + x));
//! assert_eq!(sum.await.unwrap(), 6 + 12 + 18);
//! # }
//! ```

#[cfg(feature = "actor")]
mod actor_ref;
mod attributes;
pub mod bench_pipelines;
mod bidi;
mod dsl;
mod error;
mod flow_ops;
mod graph;
mod hub;
mod killswitch;
mod ops;
mod partition_hub;
mod queue;
mod restart;
mod sinks;
mod sources;
pub mod testkit;

#[cfg(feature = "actor")]
pub use actor_ref::{ActorFlow, ActorSourceMsg};
pub use attributes::{Attributes, DEFAULT_INPUT_BUFFER};
pub use bidi::BidiFlow;
pub use dsl::{Elems, Flow, Keep, RunnableGraph, Sink, Source, StreamFuture};
pub use error::{Decider, Directive, StreamError, Supervision, TimeoutKind};
pub use flow_ops::{FlowOps, SubFlow};
pub use graph::{
    FanInShape, FanOutShape, FlowShape, GraphBuilder, Inlet, MatKey, MatValues,
    MergePreferredShape, Outlet, UnzipShape, ZipShape,
};
pub use hub::{BroadcastHub, MergeHub};
pub use killswitch::{KillSwitches, SharedKillSwitch, UniqueKillSwitch};
pub use ops::decouple::{DelayOverflowStrategy, OverflowStrategy};
pub use ops::timing::{Cancellable, ThrottleMode};
pub use partition_hub::{ConsumerInfo, PartitionHub, PARTITION_HUB_DEFAULT_BUFFER};
pub use queue::{QueueOfferResult, SourceQueue};
pub use restart::{RestartFlow, RestartSettings, RestartSink, RestartSource};
pub use sinks::SinkQueue;

/// Everything needed to build and run streams.
pub mod prelude {
    pub use crate::{
        Attributes, BidiFlow, BroadcastHub, DelayOverflowStrategy, Directive, Flow, FlowOps,
        GraphBuilder, Keep, KillSwitches, MergeHub, OverflowStrategy, PartitionHub,
        QueueOfferResult, RestartFlow, RestartSettings, RestartSink, RestartSource, RunnableGraph,
        Sink, Source, StreamError, StreamFuture, Supervision, ThrottleMode,
    };
}

impl From<String> for StreamError {
    fn from(s: String) -> Self {
        StreamError::msg(s)
    }
}

impl From<&str> for StreamError {
    fn from(s: &str) -> Self {
        StreamError::msg(s)
    }
}

impl From<std::io::Error> for StreamError {
    fn from(e: std::io::Error) -> Self {
        StreamError::failed(e)
    }
}
