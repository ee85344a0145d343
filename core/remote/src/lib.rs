//! Artery TCP transport drivers, interoperable with JVM Pekko nodes.
//!
//! The protocol logic (framing, envelopes, handshake, system message
//! delivery, compression, quarantine) lives in the sans-I/O `artery-wire`
//! crate; this crate holds the thin tokio drivers around it: a listener that
//! reads accepted connections, one writer task per outbound stream and
//! association, and the dispatch of inbound envelopes to local endpoints.
//!
//! # Example
//!
//! ```no_run
//! use rekko_remote::{RemoteNode, RemoteSettings};
//! use std::time::Duration;
//!
//! # async fn demo() -> Result<(), rekko_remote::RemoteError> {
//! let node = RemoteNode::start(RemoteSettings::default()).await?;
//! let reply = node
//!     .send_string(
//!         "pekko://EchoSystem@127.0.0.1:25520/user/echo",
//!         "hello",
//!         Some(Duration::from_secs(5)),
//!     )
//!     .await?;
//! println!("{}", reply.map(|d| d.message.describe()).unwrap_or_default());
//! node.shutdown().await;
//! # Ok(()) }
//! ```

mod api;
mod association;
pub mod codec;
mod compression;
mod endpoints;
mod error;
mod inbound;
pub mod keystore;
mod message;
mod node;
mod outbound;
mod recipient;
mod settings;
mod tls;
pub mod typed;

pub use api::{identify, send_string};
/// Addresses and paths as used on the wire.
pub use artery_wire::{ActorPath, Address, StreamId, UniqueAddress};
pub use association::StreamStats;
pub use codec::{
    ByteArray, ByteString, CodecError, JvmThrowable, Kill, PoisonPill, RemoteMessage, StackFrame,
    StatusFailure, ThrowableKind,
};
pub use error::{RemoteError, Result};
pub use message::{Delivery, SerializedMessage};
pub use node::{Handler, RemoteEvent, RemoteNode, ShutdownReport};
pub use recipient::RemoteRecipient;
pub use settings::{RemoteSettings, REFERENCE_CONF};
pub use tls::{ConfigSslEngineSettings, SslEngineProvider, TlsSettings};
