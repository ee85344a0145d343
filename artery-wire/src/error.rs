//! The crate's error type.

use thiserror::Error;

/// Everything that can go wrong while decoding or validating Artery bytes.
///
/// Each variant names what was wrong and where (offset, field, manifest).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum WireError {
    /// The connection preamble did not start with an accepted magic.
    #[error("connection preamble: unexpected magic bytes {found:02x?} (accepted: {accepted})")]
    BadMagic {
        /// The four bytes received.
        found: [u8; 4],
        /// The accepted magics, comma separated.
        accepted: String,
    },
    /// The preamble named a stream id other than 1, 2 or 3.
    #[error("connection preamble: unknown stream id {0} (expected 1, 2 or 3)")]
    BadStreamId(u8),
    /// A frame announced a negative length.
    #[error("frame length {0} is negative")]
    NegativeFrameLength(i32),
    /// A frame announced a length above the configured maximum.
    #[error("frame length {length} exceeds maximum frame size {max}")]
    FrameTooLarge {
        /// The announced length.
        length: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The connection ended in the middle of a preamble or frame.
    #[error("connection closed inside a frame: {buffered} bytes buffered, {needed} needed")]
    Truncated {
        /// Bytes that were buffered at end of stream.
        buffered: usize,
        /// Bytes that would have been needed to complete the unit.
        needed: usize,
    },
    /// The envelope is shorter than what its header announces.
    #[error("envelope too short: need {needed} bytes at offset {offset}, envelope has {len}")]
    EnvelopeTooShort {
        /// Where the read started.
        offset: usize,
        /// How many bytes were needed.
        needed: usize,
        /// Total envelope length.
        len: usize,
    },
    /// The envelope's version byte is higher than the supported version 0.
    #[error("envelope version {0} not supported (highest supported is 0)")]
    UnsupportedVersion(i8),
    /// A literal or a field could not be encoded.
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// What was being encoded.
        what: &'static str,
        /// Why it failed.
        reason: String,
    },
    /// A protobuf payload failed to parse.
    #[error("bad protobuf {message}: {reason}")]
    Protobuf {
        /// The protobuf message type.
        message: &'static str,
        /// The decoder's reason.
        reason: String,
    },
    /// A required protobuf field was missing.
    #[error("protobuf {message}: required field `{field}` missing")]
    MissingField {
        /// The protobuf message type.
        message: &'static str,
        /// The field name.
        field: &'static str,
    },
    /// An unknown manifest for a serializer.
    #[error("unknown manifest {manifest:?} for serializer {serializer_id}")]
    UnknownManifest {
        /// The serializer id.
        serializer_id: i32,
        /// The manifest.
        manifest: String,
    },
    /// A remote path whose protocol is not in `accept-protocol-names`.
    #[error("Wrong protocol of [{path}], expected one of [{accepted}] (pekko.remote.accept-protocol-names)")]
    WrongProtocol {
        /// The path.
        path: String,
        /// The accepted protocol names, comma-separated.
        accepted: String,
    },
    /// A primitive payload of the wrong size or a malformed text.
    #[error("bad payload for serializer {serializer_id}: {reason}")]
    BadPayload {
        /// The serializer id.
        serializer_id: i32,
        /// What was wrong.
        reason: String,
    },
    /// An address or actor path string did not parse.
    #[error("bad address or actor path {input:?}: {reason}")]
    BadPath {
        /// The text.
        input: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A compressed tag could not be resolved.
    #[error(
        "cannot decompress {kind} index {index} with table version {version} from uid {origin_uid}"
    )]
    UnknownCompression {
        /// "actor ref" or "manifest".
        kind: &'static str,
        /// The table index.
        index: u32,
        /// The table version from the header.
        version: i8,
        /// The sender's system uid.
        origin_uid: u64,
    },
}

/// Result alias for this crate.
pub type Result<T, E = WireError> = std::result::Result<T, E>;

pub(crate) fn protobuf_err(message: &'static str) -> impl FnOnce(prost::DecodeError) -> WireError {
    move |e| WireError::Protobuf {
        message,
        reason: e.to_string(),
    }
}
