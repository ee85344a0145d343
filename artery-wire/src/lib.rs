//! Sans-I/O codec of Pekko's Artery protocol: framing, envelopes, the protobuf
//! messages Pekko exchanges, serializer ids, and the protocol state machines.
//!
//! Nothing here performs I/O: bytes and the current time go in, frames,
//! timers and events come out. The tokio drivers live in `rekko-remote`.
//!
//! # Example
//!
//! Encode a String message as one TCP frame and decode it again:
//!
//! ```
//! use artery_wire::envelope::{Envelope, Field};
//! use artery_wire::frame::FrameDecoder;
//! use artery_wire::serializers;
//! use bytes::{Bytes, BytesMut};
//!
//! let env = Envelope::new(
//!     42,
//!     serializers::STRING,
//!     Field::literal("pekko://A@127.0.0.1:25520/user/src"),
//!     Field::literal("pekko://B@127.0.0.1:25521/user/echo"),
//!     Field::empty(),
//!     Bytes::from_static(b"hello"),
//! );
//! let mut wire = BytesMut::new();
//! env.encode_frame(&mut wire).unwrap();
//!
//! let mut decoder = FrameDecoder::new(256 * 1024);
//! let frame = decoder.decode(&mut wire).unwrap().unwrap();
//! let back = Envelope::decode(frame).unwrap();
//! assert_eq!(back, env);
//! assert_eq!(&back.payload[..], b"hello");
//! ```

pub mod address;
pub mod compression;
pub mod control;
pub mod envelope;
pub mod error;
pub mod failure_detector;
pub mod frame;
pub mod handshake;
pub mod misc;
pub mod preamble;
pub mod primitives;
pub mod proto;
pub mod quarantine;
pub mod remote_watch;
pub mod selection;
pub mod serializers;
pub mod sysmsg;
pub mod system_delivery;
pub mod throwable;

pub use address::{ActorPath, Address, UniqueAddress};
pub use envelope::{Envelope, Field};
pub use error::WireError;
pub use preamble::{Preamble, StreamId};
