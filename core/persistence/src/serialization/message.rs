//! Pekko's persistence `MessageSerializer` (id 7): `PersistentRepr` as the `PersistentMessage`
//! protobuf of `MessageFormats.proto` (proto2). The legacy JDBC schema stores whole events this
//! way in its `message` column.
//!
//! Optional fields are omitted exactly when the JVM omits them (empty strings, zero timestamp).

use prost::Message;

use crate::model::{PersistentRepr, SerializedPayload};
use crate::{PersistenceError, Result};

/// Serializer id of `MessageSerializer`.
pub const MESSAGE_SERIALIZER_ID: i32 = 7;
/// Manifest the JVM writes for a `PersistentRepr`.
pub const PERSISTENT_IMPL_MANIFEST: &str = "org.apache.pekko.persistence.PersistentImpl";

/// `PersistentPayload` message.
#[derive(Clone, PartialEq, Message)]
pub struct PersistentPayloadProto {
    /// Serializer id of `payload`.
    #[prost(int32, required, tag = "1")]
    pub serializer_id: i32,
    /// Serialized object.
    #[prost(bytes = "vec", required, tag = "2")]
    pub payload: Vec<u8>,
    /// Serializer manifest, UTF-8; absent when empty.
    #[prost(bytes = "vec", optional, tag = "3")]
    pub payload_manifest: Option<Vec<u8>>,
}

/// `PersistentMessage` message.
#[derive(Clone, PartialEq, Message)]
pub struct PersistentMessageProto {
    /// The event.
    #[prost(message, optional, tag = "1")]
    pub payload: Option<PersistentPayloadProto>,
    /// Sequence number.
    #[prost(int64, optional, tag = "2")]
    pub sequence_nr: Option<i64>,
    /// Persistence id (absent when empty).
    #[prost(string, optional, tag = "3")]
    pub persistence_id: Option<String>,
    /// Obsolete delete flag.
    #[prost(bool, optional, tag = "4")]
    pub deleted: Option<bool>,
    /// Sender path (never present in journals).
    #[prost(string, optional, tag = "11")]
    pub sender: Option<String>,
    /// Event-adapter manifest (absent when empty).
    #[prost(string, optional, tag = "12")]
    pub manifest: Option<String>,
    /// Writer UUID (absent when empty).
    #[prost(string, optional, tag = "13")]
    pub writer_uuid: Option<String>,
    /// Epoch ms (zig-zag; absent when 0).
    #[prost(sint64, optional, tag = "14")]
    pub timestamp: Option<i64>,
    /// Metadata.
    #[prost(message, optional, tag = "15")]
    pub metadata: Option<PersistentPayloadProto>,
}

/// `AtomicWrite` message.
#[derive(Clone, PartialEq, Message)]
pub struct AtomicWriteProto {
    /// The events, in order.
    #[prost(message, repeated, tag = "1")]
    pub payload: Vec<PersistentMessageProto>,
}

fn payload_to_proto(p: &SerializedPayload) -> PersistentPayloadProto {
    PersistentPayloadProto {
        serializer_id: p.serializer_id,
        payload: p.bytes.to_vec(),
        payload_manifest: (!p.manifest.is_empty()).then(|| p.manifest.as_bytes().to_vec()),
    }
}

fn payload_from_proto(p: PersistentPayloadProto) -> Result<SerializedPayload> {
    let manifest = match p.payload_manifest {
        None => String::new(),
        Some(b) => String::from_utf8(b).map_err(|e| PersistenceError::Decode {
            serializer_id: MESSAGE_SERIALIZER_ID,
            manifest: PERSISTENT_IMPL_MANIFEST.into(),
            what: "PersistentPayload.payloadManifest".into(),
            reason: e.to_string(),
        })?,
    };
    Ok(SerializedPayload::new(p.serializer_id, manifest, p.payload))
}

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// Encodes an event as `PersistentMessage` bytes (tags are not part of this format).
pub fn encode_persistent_message(repr: &PersistentRepr) -> Vec<u8> {
    PersistentMessageProto {
        payload: Some(payload_to_proto(&repr.payload)),
        sequence_nr: Some(repr.sequence_nr),
        persistence_id: non_empty(&repr.persistence_id),
        deleted: None,
        sender: None,
        manifest: non_empty(&repr.adapter_manifest),
        writer_uuid: non_empty(&repr.writer_uuid),
        timestamp: (repr.timestamp > 0).then_some(repr.timestamp),
        metadata: repr.metadata.as_ref().map(payload_to_proto),
    }
    .encode_to_vec()
}

/// Decodes `PersistentMessage` bytes into an event (absent fields read as the JVM reads them).
pub fn decode_persistent_message(bytes: &[u8]) -> Result<PersistentRepr> {
    let err = |reason: String| PersistenceError::Decode {
        serializer_id: MESSAGE_SERIALIZER_ID,
        manifest: PERSISTENT_IMPL_MANIFEST.into(),
        what: "PersistentMessage".into(),
        reason,
    };
    let m = PersistentMessageProto::decode(bytes).map_err(|e| err(e.to_string()))?;
    let payload = m
        .payload
        .ok_or_else(|| err("payload field missing".into()))?;
    Ok(PersistentRepr {
        persistence_id: m.persistence_id.unwrap_or_default(),
        sequence_nr: m.sequence_nr.unwrap_or(0),
        payload: payload_from_proto(payload)?,
        adapter_manifest: m.manifest.unwrap_or_default(),
        writer_uuid: m.writer_uuid.unwrap_or_default(),
        timestamp: m.timestamp.unwrap_or(0),
        deleted: m.deleted.unwrap_or(false),
        metadata: m.metadata.map(payload_from_proto).transpose()?,
        tags: Vec::new(),
    })
}

/// Decodes an `AtomicWrite` message.
pub fn decode_atomic_write(bytes: &[u8]) -> Result<Vec<PersistentRepr>> {
    let m = AtomicWriteProto::decode(bytes).map_err(|e| PersistenceError::Decode {
        serializer_id: MESSAGE_SERIALIZER_ID,
        manifest: "org.apache.pekko.persistence.AtomicWrite".into(),
        what: "AtomicWrite".into(),
        reason: e.to_string(),
    })?;
    m.payload
        .into_iter()
        .map(|p| decode_persistent_message(&p.encode_to_vec()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn empty_optionals_are_omitted() {
        let r = PersistentRepr::new("", 1, SerializedPayload::new(4, "", vec![1u8]), "");
        let bytes = encode_persistent_message(&r);
        // payload (tag 1) and sequenceNr (tag 2) only.
        assert_eq!(
            bytes,
            vec![0x0a, 0x05, 0x08, 0x04, 0x12, 0x01, 0x01, 0x10, 0x01]
        );
    }

    proptest! {
        #[test]
        fn round_trip(pid in ".{0,20}", seq in 0i64..i64::MAX, ts in 0i64..i64::MAX,
                      manifest in ".{0,20}", writer in "[a-f0-9-]{0,36}",
                      bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut r = PersistentRepr::new(pid, seq, SerializedPayload::new(31, manifest, bytes), writer);
            r.timestamp = ts;
            let back = decode_persistent_message(&encode_persistent_message(&r)).unwrap();
            prop_assert_eq!(back, r);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_persistent_message(&bytes);
        }
    }
}
