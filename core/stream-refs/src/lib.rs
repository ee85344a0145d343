//! StreamRefs: `SourceRef` and `SinkRef` between Rekko and Pekko nodes over
//! Artery (Pekko's `StreamRefs`, protocol of `shared/spec/streams.md` §2).
//!
//! * [`codec`]: the protocol messages and refs as serializer 30 payloads.
//! * [`receiver`] and [`sender`]: the two stage state machines, sans-I/O
//!   (sequence numbers, cumulative demand, buffer capacity and the timeouts of
//!   [`StreamRefSettings`]).
//! * [`StreamRefs`]: thin drivers on a [`rekko_remote::RemoteNode`] that
//!   turn a received [`SourceRef`] into a [`rekko_stream::Source`], a received
//!   [`SinkRef`] into a [`rekko_stream::Sink`], and offer refs of local stages.
//!   A stage's endpoint handler drives its state machine directly: an
//!   arriving element goes straight to the polling downstream, a demand
//!   straight to the upstream puller.
//!
//! Elements travel as [`rekko_remote::SerializedMessage`]s (serializer id,
//! manifest and bytes), so any element type the JVM can deserialize works.

pub mod codec;
mod error;
pub mod receiver;
pub mod sender;
mod settings;
mod stages;

pub use codec::{SinkRef, SourceRef, StreamRefMessage};
pub use error::{CodecError, StreamRefError};
pub use settings::{StreamRefSettings, REFERENCE_CONF};
pub use stages::StreamRefs;
