//! User messages bound once to a Pekko serializer id and manifest.
//!
//! A type implements [`RemoteMessage`] to state, once, how it travels: its
//! serializer id, its manifest and its payload codec. The macros
//! [`jackson_json!`](crate::jackson_json), [`jackson_cbor!`](crate::jackson_cbor)
//! and [`protobuf!`](crate::protobuf) write that implementation for serde and
//! prost types; Pekko's built-ins (`String`, `i64`, `i32`, `bool`,
//! [`ByteString`], [`ByteArray`]) are implemented here.
//!
//! ```
//! use rekko_remote::{jackson_json, RemoteMessage};
//!
//! #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
//! struct Greeting {
//!     name: String,
//! }
//! jackson_json!(Greeting, "com.example.Greeting");
//!
//! let wire = Greeting { name: "hi".into() }.to_message().unwrap();
//! assert_eq!(wire.serializer_id, 31);
//! assert_eq!(wire.manifest, "com.example.Greeting");
//! assert_eq!(Greeting::from_message(&wire).unwrap(), Greeting { name: "hi".into() });
//! ```

use std::io::Read;

use artery_wire::misc::MiscMessage;
use artery_wire::primitives;
use artery_wire::serializers;
pub use artery_wire::throwable::{JvmThrowable, StackFrame, ThrowableKind};
#[doc(hidden)]
pub use bytes::Bytes;
use thiserror::Error;

use crate::message::SerializedMessage;

/// Why a user message could not be encoded or decoded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// The message was written with another serializer id or manifest than
    /// the type is bound to.
    #[error("message with serializer id {serializer_id} and manifest {manifest:?} is not a {expected_type} (bound to serializer id {expected_id}, manifest {expected_manifest:?})")]
    Unbound {
        /// The serializer id on the wire.
        serializer_id: i32,
        /// The manifest on the wire.
        manifest: String,
        /// The Rust type asked for.
        expected_type: &'static str,
        /// Its serializer id.
        expected_id: i32,
        /// Its manifest.
        expected_manifest: &'static str,
    },
    /// The payload did not decode.
    #[error(
        "cannot decode payload of serializer id {serializer_id}, manifest {manifest:?}: {reason}"
    )]
    Decode {
        /// The serializer id.
        serializer_id: i32,
        /// The manifest.
        manifest: String,
        /// What was wrong.
        reason: String,
    },
    /// The value could not be encoded.
    #[error("cannot encode {type_name} for serializer id {serializer_id}: {reason}")]
    Encode {
        /// The Rust type.
        type_name: &'static str,
        /// The serializer id.
        serializer_id: i32,
        /// What was wrong.
        reason: String,
    },
}

/// A message type bound to one serializer id and manifest, with its payload
/// codec.
pub trait RemoteMessage: Sized {
    /// The Pekko serializer id (e.g. 31 for Jackson JSON).
    const SERIALIZER_ID: i32;
    /// The manifest written with the message (`""` for serializers without
    /// one; the JVM class name for protobuf and Jackson).
    const MANIFEST: &'static str;

    /// Encodes the payload bytes.
    fn encode(&self) -> Result<Bytes, String>;

    /// Decodes payload bytes.
    fn decode(payload: &[u8]) -> Result<Self, String>;

    /// The message in wire form.
    fn to_message(&self) -> Result<SerializedMessage, CodecError> {
        let payload = self.encode().map_err(|reason| CodecError::Encode {
            type_name: std::any::type_name::<Self>(),
            serializer_id: Self::SERIALIZER_ID,
            reason,
        })?;
        Ok(SerializedMessage {
            serializer_id: Self::SERIALIZER_ID,
            manifest: Self::MANIFEST.to_string(),
            payload,
        })
    }

    /// True if `msg` carries this type's serializer id and manifest. A
    /// Jackson manifest may carry a `#<version>` suffix.
    fn matches(msg: &SerializedMessage) -> bool {
        msg.serializer_id == Self::SERIALIZER_ID && {
            let base = if is_jackson(msg.serializer_id) {
                msg.manifest.split('#').next().unwrap_or_default()
            } else {
                msg.manifest.as_str()
            };
            base == Self::MANIFEST
        }
    }

    /// Decodes `msg` if it carries this type's serializer id and manifest.
    fn from_message(msg: &SerializedMessage) -> Result<Self, CodecError> {
        if !Self::matches(msg) {
            return Err(CodecError::Unbound {
                serializer_id: msg.serializer_id,
                manifest: msg.manifest.clone(),
                expected_type: std::any::type_name::<Self>(),
                expected_id: Self::SERIALIZER_ID,
                expected_manifest: Self::MANIFEST,
            });
        }
        Self::decode(&msg.payload).map_err(|reason| CodecError::Decode {
            serializer_id: msg.serializer_id,
            manifest: msg.manifest.clone(),
            reason,
        })
    }
}

fn is_jackson(id: i32) -> bool {
    matches!(
        id,
        serializers::JACKSON_JSON | serializers::JACKSON_CBOR | serializers::JACKSON_CBOR_264
    )
}

/// JSON bytes as `pekko-serialization-jackson` writes them.
pub fn json_encode<T: serde::Serialize>(value: &T) -> Result<Bytes, String> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(|e| e.to_string())
}

/// Decodes JSON written by `pekko-serialization-jackson`, inflating it first
/// when it is gzip-compressed (payloads above `compress-larger-than`).
pub fn json_decode<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, String> {
    if payload.starts_with(&[0x1f, 0x8b]) {
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(payload)
            .read_to_end(&mut json)
            .map_err(|e| format!("gzip: {e}"))?;
        serde_json::from_slice(&json).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice(payload).map_err(|e| e.to_string())
    }
}

/// CBOR bytes for the Jackson CBOR serializer.
pub fn cbor_encode<T: serde::Serialize>(value: &T) -> Result<Bytes, String> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).map_err(|e| e.to_string())?;
    Ok(Bytes::from(out))
}

/// Decodes CBOR written by the Jackson CBOR serializer.
pub fn cbor_decode<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, String> {
    ciborium::from_reader(payload).map_err(|e| e.to_string())
}

/// Protobuf bytes of a prost message.
pub fn protobuf_encode<T: prost::Message>(value: &T) -> Result<Bytes, String> {
    Ok(Bytes::from(value.encode_to_vec()))
}

/// Decodes protobuf bytes into a prost message.
pub fn protobuf_decode<T: prost::Message + Default>(payload: &[u8]) -> Result<T, String> {
    T::decode(payload).map_err(|e| e.to_string())
}

/// Binds a serde type to Jackson JSON (serializer id 31) under the JVM class
/// name `manifest`.
#[macro_export]
macro_rules! jackson_json {
    ($t:ty, $manifest:expr) => {
        impl $crate::RemoteMessage for $t {
            const SERIALIZER_ID: i32 = 31;
            const MANIFEST: &'static str = $manifest;
            fn encode(&self) -> ::std::result::Result<$crate::codec::Bytes, String> {
                $crate::codec::json_encode(self)
            }
            fn decode(payload: &[u8]) -> ::std::result::Result<Self, String> {
                $crate::codec::json_decode(payload)
            }
        }
    };
}

/// Binds a serde type to Jackson CBOR (serializer id 33) under the JVM class
/// name `manifest`.
#[macro_export]
macro_rules! jackson_cbor {
    ($t:ty, $manifest:expr) => {
        impl $crate::RemoteMessage for $t {
            const SERIALIZER_ID: i32 = 33;
            const MANIFEST: &'static str = $manifest;
            fn encode(&self) -> ::std::result::Result<$crate::codec::Bytes, String> {
                $crate::codec::cbor_encode(self)
            }
            fn decode(payload: &[u8]) -> ::std::result::Result<Self, String> {
                $crate::codec::cbor_decode(payload)
            }
        }
    };
}

/// Binds a prost message to Pekko's protobuf serializer (id 2) under the
/// JVM class name `manifest`.
#[macro_export]
macro_rules! protobuf {
    ($t:ty, $manifest:expr) => {
        impl $crate::RemoteMessage for $t {
            const SERIALIZER_ID: i32 = 2;
            const MANIFEST: &'static str = $manifest;
            fn encode(&self) -> ::std::result::Result<$crate::codec::Bytes, String> {
                $crate::codec::protobuf_encode(self)
            }
            fn decode(payload: &[u8]) -> ::std::result::Result<Self, String> {
                $crate::codec::protobuf_decode(payload)
            }
        }
    };
}

/// `org.apache.pekko.util.ByteString` (serializer 21): raw bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ByteString(pub Bytes);

/// `byte[]` (serializer 4): raw bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ByteArray(pub Bytes);

impl RemoteMessage for ByteString {
    const SERIALIZER_ID: i32 = serializers::BYTE_STRING;
    const MANIFEST: &'static str = "";
    fn encode(&self) -> Result<Bytes, String> {
        Ok(self.0.clone())
    }
    fn decode(payload: &[u8]) -> Result<Self, String> {
        Ok(ByteString(Bytes::copy_from_slice(payload)))
    }
}

impl RemoteMessage for ByteArray {
    const SERIALIZER_ID: i32 = serializers::BYTE_ARRAY;
    const MANIFEST: &'static str = "";
    fn encode(&self) -> Result<Bytes, String> {
        Ok(self.0.clone())
    }
    fn decode(payload: &[u8]) -> Result<Self, String> {
        Ok(ByteArray(Bytes::copy_from_slice(payload)))
    }
}

impl RemoteMessage for String {
    const SERIALIZER_ID: i32 = serializers::STRING;
    const MANIFEST: &'static str = "";
    fn encode(&self) -> Result<Bytes, String> {
        Ok(primitives::encode_string(self))
    }
    fn decode(payload: &[u8]) -> Result<Self, String> {
        primitives::decode_string(payload).map_err(|e| e.to_string())
    }
}

impl RemoteMessage for i64 {
    const SERIALIZER_ID: i32 = serializers::LONG;
    const MANIFEST: &'static str = "";
    fn encode(&self) -> Result<Bytes, String> {
        Ok(primitives::encode_long(*self))
    }
    fn decode(payload: &[u8]) -> Result<Self, String> {
        primitives::decode_long(payload).map_err(|e| e.to_string())
    }
}

impl RemoteMessage for i32 {
    const SERIALIZER_ID: i32 = serializers::INT;
    const MANIFEST: &'static str = "";
    fn encode(&self) -> Result<Bytes, String> {
        Ok(primitives::encode_int(*self))
    }
    fn decode(payload: &[u8]) -> Result<Self, String> {
        primitives::decode_int(payload).map_err(|e| e.to_string())
    }
}

impl RemoteMessage for bool {
    const SERIALIZER_ID: i32 = serializers::BOOLEAN;
    const MANIFEST: &'static str = "";
    fn encode(&self) -> Result<Bytes, String> {
        Ok(primitives::encode_bool(*self))
    }
    fn decode(payload: &[u8]) -> Result<Self, String> {
        primitives::decode_bool(payload).map_err(|e| e.to_string())
    }
}

/// `org.apache.pekko.actor.Status.Failure` (serializer 16, manifest `E`)
/// with its cause as Pekko writes it: a throwable bound to the misc
/// serializer (`F`), an `ActorInitializationException` (`AIEX`), or the
/// `ThrowableNotSerializableException` stand-in (`TNSEX`) the JVM sends for
/// other exceptions. A JVM node decodes an `F` cause into the named class
/// only if that class is bound to `pekko-misc` there; otherwise it gets a
/// `ThrowableNotSerializableException` naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusFailure(pub JvmThrowable);

impl RemoteMessage for StatusFailure {
    const SERIALIZER_ID: i32 = serializers::MISC;
    const MANIFEST: &'static str = serializers::misc::STATUS_FAILURE;
    fn encode(&self) -> Result<Bytes, String> {
        Ok(MiscMessage::StatusFailure(self.0.to_payload()).encode())
    }
    fn decode(payload: &[u8]) -> Result<Self, String> {
        match MiscMessage::decode(Self::MANIFEST, Bytes::copy_from_slice(payload)) {
            Ok(MiscMessage::StatusFailure(p)) => JvmThrowable::from_payload(&p)
                .map(StatusFailure)
                .map_err(|e| e.to_string()),
            Ok(other) => Err(format!("not a Status.Failure: {other:?}")),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// `org.apache.pekko.actor.PoisonPill` (serializer 16, manifest `P`): the
/// receiving JVM actor stops after the messages before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoisonPill;

impl RemoteMessage for PoisonPill {
    const SERIALIZER_ID: i32 = serializers::MISC;
    const MANIFEST: &'static str = serializers::misc::POISON_PILL;
    fn encode(&self) -> Result<Bytes, String> {
        Ok(Bytes::new())
    }
    fn decode(_payload: &[u8]) -> Result<Self, String> {
        Ok(PoisonPill)
    }
}

/// `org.apache.pekko.actor.Kill` (serializer 16, manifest `K`): the
/// receiving JVM actor fails with `ActorKilledException`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Kill;

impl RemoteMessage for Kill {
    const SERIALIZER_ID: i32 = serializers::MISC;
    const MANIFEST: &'static str = serializers::misc::KILL;
    fn encode(&self) -> Result<Bytes, String> {
        Ok(Bytes::new())
    }
    fn decode(_payload: &[u8]) -> Result<Self, String> {
        Ok(Kill)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn status_failure_poison_pill_and_kill_wire_form() {
        let f = StatusFailure(
            JvmThrowable::new("java.lang.IllegalStateException", "x")
                .with_cause(JvmThrowable::new("java.lang.RuntimeException", "inner")),
        );
        let wire = f.to_message().unwrap();
        assert_eq!((wire.serializer_id, wire.manifest.as_str()), (16, "E"));
        assert_eq!(StatusFailure::from_message(&wire).unwrap(), f);
        let p = PoisonPill.to_message().unwrap();
        assert_eq!(
            (p.serializer_id, p.manifest.as_str(), p.payload.len()),
            (16, "P", 0)
        );
        let k = Kill.to_message().unwrap();
        assert_eq!((k.serializer_id, k.manifest.as_str()), (16, "K"));
        assert!(PoisonPill::from_message(&k).is_err());
    }

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Greeting {
        name: String,
        count: i32,
        tags: Vec<String>,
    }
    crate::jackson_json!(Greeting, "x.Greeting");

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Cbor {
        name: String,
        count: i64,
    }
    crate::jackson_cbor!(Cbor, "x.Cbor");

    #[derive(Clone, PartialEq, prost::Message)]
    struct Point {
        #[prost(int32, tag = "1")]
        x: i32,
        #[prost(int32, tag = "2")]
        y: i32,
        #[prost(string, tag = "3")]
        label: String,
    }
    crate::protobuf!(Point, "x.Point");

    fn round_trip<M: RemoteMessage + PartialEq + std::fmt::Debug>(m: M) {
        let wire = m.to_message().expect("encode");
        assert_eq!(wire.serializer_id, M::SERIALIZER_ID);
        assert_eq!(wire.manifest, M::MANIFEST);
        assert_eq!(M::from_message(&wire).expect("decode"), m);
    }

    proptest! {
        #[test]
        fn user_and_builtin_messages_round_trip(name in ".*", count in any::<i32>(), long in any::<i64>(), tags in proptest::collection::vec(".*", 0..4), bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            round_trip(Greeting { name: name.clone(), count, tags });
            round_trip(Cbor { name: name.clone(), count: long });
            round_trip(Point { x: count, y: -count, label: name.clone() });
            round_trip(name);
            round_trip(long);
            round_trip(count);
            round_trip(ByteString(Bytes::from(bytes.clone())));
            round_trip(ByteArray(Bytes::from(bytes)));
        }
    }

    #[test]
    fn json_matches_jackson_and_gzip_is_inflated() {
        let g = Greeting {
            name: "a".into(),
            count: 7,
            tags: vec!["t".into()],
        };
        let wire = g.to_message().expect("encode");
        assert_eq!(&wire.payload[..], br#"{"name":"a","count":7,"tags":["t"]}"#);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, &wire.payload).expect("gzip");
        let zipped = SerializedMessage {
            payload: Bytes::from(gz.finish().expect("gzip")),
            manifest: "x.Greeting#2".into(),
            ..wire
        };
        assert_eq!(Greeting::from_message(&zipped).expect("decode"), g);
    }

    #[test]
    fn other_id_or_manifest_is_unbound_and_names_both() {
        let wire = SerializedMessage {
            serializer_id: 31,
            manifest: "x.Other".into(),
            payload: Bytes::from_static(b"{}"),
        };
        let e = Greeting::from_message(&wire).expect_err("unbound");
        let text = e.to_string();
        assert!(text.contains("31") && text.contains("x.Other"), "{text}");
        let e = Point::from_message(&SerializedMessage {
            serializer_id: 2,
            manifest: "x.Point".into(),
            payload: Bytes::from_static(&[0xff]),
        })
        .expect_err("bad protobuf");
        assert!(
            matches!(
                e,
                CodecError::Decode {
                    serializer_id: 2,
                    ..
                }
            ),
            "{e}"
        );
    }
}
