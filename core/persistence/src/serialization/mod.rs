//! Payload codecs with the JVM's rules: Jackson JSON/CBOR (31/32/33), protobuf (2),
//! Pekko's `MessageSerializer` (7) and `SnapshotSerializer` (8).

pub mod jackson;
pub mod message;
pub mod protobuf;
pub mod snapshot;

use crate::model::SerializedPayload;
use crate::Result;

/// Turns a Rust value into the (serializer id, manifest, bytes) the JVM would store, and back.
pub trait PayloadCodec<T>: Send + Sync {
    /// Serializes a value.
    fn encode(&self, value: &T) -> Result<SerializedPayload>;
    /// Deserializes a payload.
    fn decode(&self, payload: &SerializedPayload) -> Result<T>;
}

/// Serializer id of Pekko's `ProtobufSerializer`.
pub const PROTOBUF_SERIALIZER_ID: i32 = 2;
/// Serializer id of `ByteArraySerializer`.
pub const BYTE_ARRAY_SERIALIZER_ID: i32 = 4;
/// Serializer id of `primitive-long`.
pub const PRIMITIVE_LONG_ID: i32 = 18;
/// Serializer id of `primitive-int`.
pub const PRIMITIVE_INT_ID: i32 = 19;
/// Serializer id of `primitive-string`.
pub const PRIMITIVE_STRING_ID: i32 = 20;

/// A payload rendered for people: JSON when a built-in codec can decode it, hex otherwise.
pub fn render_payload(payload: &SerializedPayload) -> String {
    match payload.serializer_id {
        jackson::JACKSON_JSON_ID | jackson::JACKSON_CBOR_264_ID | jackson::JACKSON_CBOR_ID => {
            match jackson::decode_to_json(payload) {
                Ok(v) => v.to_string(),
                Err(_) => hex::encode(&payload.bytes),
            }
        }
        PRIMITIVE_STRING_ID => match std::str::from_utf8(&payload.bytes) {
            Ok(s) => serde_json::Value::String(s.to_string()).to_string(),
            Err(_) => hex::encode(&payload.bytes),
        },
        PRIMITIVE_LONG_ID if payload.bytes.len() == 8 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&payload.bytes);
            i64::from_le_bytes(b).to_string()
        }
        PRIMITIVE_INT_ID if payload.bytes.len() == 4 => {
            let mut b = [0u8; 4];
            b.copy_from_slice(&payload.bytes);
            i32::from_le_bytes(b).to_string()
        }
        _ => hex::encode(&payload.bytes),
    }
}
