//! Sans-I/O codec of Pekko's Artery protocol: framing, envelopes, the protobuf
//! messages Pekko exchanges, serializer ids, and the protocol state machines.
//!
//! Nothing here performs I/O: bytes and the current time go in, frames,
//! timers and events come out. The tokio drivers live in `rekko-remote`.
