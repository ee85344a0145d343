//! Serialized messages going out and coming in.

use artery_wire::primitives::{decode_string, encode_string};
use artery_wire::serializers;
use artery_wire::UniqueAddress;
use bytes::Bytes;

/// A message in serialized form: serializer id, manifest and bytes, exactly
/// as it travels in an Artery envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerializedMessage {
    /// The serializer id (see [`artery_wire::serializers`]).
    pub serializer_id: i32,
    /// The manifest (`""` for serializers without one).
    pub manifest: String,
    /// The payload bytes.
    pub payload: Bytes,
}

impl SerializedMessage {
    /// A `java.lang.String` (serializer 20).
    pub fn string(text: &str) -> Self {
        SerializedMessage {
            serializer_id: serializers::STRING,
            manifest: String::new(),
            payload: encode_string(text),
        }
    }

    /// The text if this is a String message with valid UTF-8.
    pub fn as_text(&self) -> Option<String> {
        (self.serializer_id == serializers::STRING)
            .then(|| decode_string(&self.payload).ok())
            .flatten()
    }

    /// One-line description: the text for a String, else serializer id,
    /// manifest and hex bytes.
    pub fn describe(&self) -> String {
        match self.as_text() {
            Some(t) => t,
            None => {
                let hex: String = self.payload.iter().map(|b| format!("{b:02x}")).collect();
                format!(
                    "serializer={} manifest={:?} bytes={}",
                    self.serializer_id, self.manifest, hex
                )
            }
        }
    }
}

/// A message delivered to a local endpoint or returned as an ask reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The local recipient path (e.g. `/user/echo`).
    pub recipient: String,
    /// The sender's full path, if the message had one.
    pub sender: Option<String>,
    /// The message.
    pub message: SerializedMessage,
    /// The sending node incarnation.
    pub origin: UniqueAddress,
}
