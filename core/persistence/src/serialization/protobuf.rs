//! User protobuf payloads (Pekko's `ProtobufSerializer`, id 2): the manifest is the JVM class
//! name of the generated message and the bytes are its standard wire encoding, passed through.

use std::marker::PhantomData;

use prost::Message;

use super::{PayloadCodec, PROTOBUF_SERIALIZER_ID};
use crate::model::SerializedPayload;
use crate::{PersistenceError, Result};

/// Codec binding one prost message type to one JVM class name.
pub struct ProtobufCodec<M> {
    class_name: String,
    _m: PhantomData<fn() -> M>,
}

impl<M> ProtobufCodec<M> {
    /// Binds `M` to JVM class `class_name` (e.g. `com.example.proto.CartEvents$ItemAdded`).
    pub fn new(class_name: impl Into<String>) -> Self {
        ProtobufCodec {
            class_name: class_name.into(),
            _m: PhantomData,
        }
    }
}

impl<M: Message + Default> PayloadCodec<M> for ProtobufCodec<M> {
    fn encode(&self, value: &M) -> Result<SerializedPayload> {
        Ok(SerializedPayload::new(
            PROTOBUF_SERIALIZER_ID,
            self.class_name.clone(),
            value.encode_to_vec(),
        ))
    }

    fn decode(&self, payload: &SerializedPayload) -> Result<M> {
        if payload.serializer_id != PROTOBUF_SERIALIZER_ID || payload.manifest != self.class_name {
            return Err(PersistenceError::UnknownPayload {
                serializer_id: payload.serializer_id,
                manifest: payload.manifest.clone(),
            });
        }
        M::decode(&payload.bytes[..]).map_err(|e| PersistenceError::Decode {
            serializer_id: payload.serializer_id,
            manifest: payload.manifest.clone(),
            what: "protobuf payload".into(),
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, PartialEq, Message)]
    struct ItemAdded {
        #[prost(string, tag = "1")]
        item: String,
    }

    #[test]
    fn passes_bytes_through() {
        let c = ProtobufCodec::<ItemAdded>::new("com.example.proto.ItemAdded");
        let p = c.encode(&ItemAdded { item: "a".into() }).unwrap();
        assert_eq!(p.serializer_id, 2);
        assert_eq!(&p.bytes[..], &[0x0a, 0x01, b'a']);
        assert_eq!(c.decode(&p).unwrap().item, "a");
        let other = SerializedPayload::new(2, "x.Y", p.bytes.clone());
        assert!(c.decode(&other).is_err());
    }
}
