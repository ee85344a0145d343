//! The StreamRef protocol messages and their serialized form (Pekko's
//! `StreamRefSerializer`, id 30, string manifests `A`..`H`).

use bytes::Bytes;
use prost::Message;
use rekko_remote::SerializedMessage;

use crate::error::CodecError;

/// Generated protobuf types of `proto/stream_ref_messages.proto`.
#[allow(missing_docs, clippy::all)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/_.rs"));
}

/// Pekko's `StreamRefSerializer` identifier.
pub const SERIALIZER_ID: i32 = 30;

/// Manifest of `SequencedOnNext`.
pub const SEQUENCED_ON_NEXT: &str = "A";
/// Manifest of `CumulativeDemand`.
pub const CUMULATIVE_DEMAND: &str = "B";
/// Manifest of `RemoteStreamFailure`.
pub const REMOTE_STREAM_FAILURE: &str = "C";
/// Manifest of `RemoteStreamCompleted`.
pub const REMOTE_STREAM_COMPLETED: &str = "D";
/// Manifest of a `SourceRef`.
pub const SOURCE_REF: &str = "E";
/// Manifest of a `SinkRef`.
pub const SINK_REF: &str = "F";
/// Manifest of `OnSubscribeHandshake`.
pub const ON_SUBSCRIBE_HANDSHAKE: &str = "G";
/// Manifest of the cancellation `Ack` (empty payload).
pub const ACK: &str = "H";

/// A reference to a remote stream's sending stage ("offer my data"): the
/// full path (with address, optionally `#uid`) of that stage's actor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceRef {
    /// The origin sender stage's actor path.
    pub origin_ref: String,
}

/// A reference to a remote stream's receiving stage ("send me data").
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SinkRef {
    /// The origin receiver stage's actor path.
    pub target_ref: String,
}

/// Everything StreamRefSerializer (id 30) carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamRefMessage {
    /// `A`: element `seq_nr` (from 0), serialized with its own serializer.
    SequencedOnNext {
        /// Sequence number.
        seq_nr: i64,
        /// The element.
        payload: SerializedMessage,
    },
    /// `B`: total demand since the start (positive).
    CumulativeDemand(i64),
    /// `C`: failure with its message text.
    RemoteStreamFailure(String),
    /// `D`: completion after `n` elements (or normal cancellation).
    RemoteStreamCompleted(i64),
    /// `E`: a SourceRef.
    SourceRef(SourceRef),
    /// `F`: a SinkRef.
    SinkRef(SinkRef),
    /// `G`: the sending stage's actor.
    OnSubscribeHandshake(String),
    /// `H`: acknowledges a cancellation.
    Ack,
}

/// The protobuf bytes of `SequencedOnNext(seq_nr, payload)`: one allocation
/// of the exact size (the element's bytes are copied once, into it).
pub fn encode_sequenced_on_next(seq_nr: i64, payload: &SerializedMessage) -> Bytes {
    proto::SequencedOnNext {
        seq_nr,
        payload: proto::Payload {
            enclosed_message: payload.payload.clone(),
            serializer_id: payload.serializer_id,
            message_manifest: (!payload.manifest.is_empty())
                .then(|| Bytes::copy_from_slice(payload.manifest.as_bytes())),
        },
    }
    .encode_to_vec()
    .into()
}

/// `SequencedOnNext(seq_nr, payload)` as an Artery payload (serializer 30,
/// manifest `A`), built without the [`StreamRefMessage`] value.
pub fn sequenced_on_next(seq_nr: i64, payload: &SerializedMessage) -> SerializedMessage {
    SerializedMessage {
        serializer_id: SERIALIZER_ID,
        manifest: SEQUENCED_ON_NEXT.to_string(),
        payload: encode_sequenced_on_next(seq_nr, payload),
    }
}

impl StreamRefMessage {
    /// The manifest Pekko writes for this message.
    pub fn manifest(&self) -> &'static str {
        match self {
            StreamRefMessage::SequencedOnNext { .. } => SEQUENCED_ON_NEXT,
            StreamRefMessage::CumulativeDemand(_) => CUMULATIVE_DEMAND,
            StreamRefMessage::RemoteStreamFailure(_) => REMOTE_STREAM_FAILURE,
            StreamRefMessage::RemoteStreamCompleted(_) => REMOTE_STREAM_COMPLETED,
            StreamRefMessage::SourceRef(_) => SOURCE_REF,
            StreamRefMessage::SinkRef(_) => SINK_REF,
            StreamRefMessage::OnSubscribeHandshake(_) => ON_SUBSCRIBE_HANDSHAKE,
            StreamRefMessage::Ack => ACK,
        }
    }

    /// The protobuf bytes (empty for `Ack`).
    pub fn encode(&self) -> Bytes {
        let actor = |path: &str| proto::ActorRef {
            path: path.to_string(),
        };
        let bytes = match self {
            StreamRefMessage::SequencedOnNext { seq_nr, payload } => {
                return encode_sequenced_on_next(*seq_nr, payload)
            }
            StreamRefMessage::CumulativeDemand(n) => {
                proto::CumulativeDemand { seq_nr: *n }.encode_to_vec()
            }
            StreamRefMessage::RemoteStreamFailure(msg) => proto::RemoteStreamFailure {
                cause: Some(Bytes::copy_from_slice(msg.as_bytes())),
            }
            .encode_to_vec(),
            StreamRefMessage::RemoteStreamCompleted(n) => {
                proto::RemoteStreamCompleted { seq_nr: *n }.encode_to_vec()
            }
            StreamRefMessage::SourceRef(r) => proto::SourceRef {
                origin_ref: actor(&r.origin_ref),
            }
            .encode_to_vec(),
            StreamRefMessage::SinkRef(r) => proto::SinkRef {
                target_ref: actor(&r.target_ref),
            }
            .encode_to_vec(),
            StreamRefMessage::OnSubscribeHandshake(path) => proto::OnSubscribeHandshake {
                target_ref: actor(path),
            }
            .encode_to_vec(),
            StreamRefMessage::Ack => Vec::new(),
        };
        Bytes::from(bytes)
    }

    /// This message as an Artery payload (serializer 30 with its manifest).
    pub fn to_serialized(&self) -> SerializedMessage {
        SerializedMessage {
            serializer_id: SERIALIZER_ID,
            manifest: self.manifest().to_string(),
            payload: self.encode(),
        }
    }

    /// Decodes an Artery payload of serializer 30.
    pub fn from_serialized(msg: &SerializedMessage) -> Result<Self, CodecError> {
        if msg.serializer_id != SERIALIZER_ID {
            return Err(CodecError::WrongSerializer(msg.serializer_id));
        }
        Self::decode(&msg.manifest, msg.payload.clone())
    }

    /// Decodes `bytes` written with `manifest`.
    pub fn decode(manifest: &str, bytes: Bytes) -> Result<Self, CodecError> {
        fn parse<M: Message + Default>(manifest: &'static str, b: Bytes) -> Result<M, CodecError> {
            M::decode(b).map_err(|e| CodecError::Malformed {
                manifest,
                reason: e.to_string(),
            })
        }
        fn utf8(field: &'static str, b: &[u8]) -> Result<String, CodecError> {
            String::from_utf8(b.to_vec()).map_err(|_| CodecError::NotUtf8 { field })
        }
        Ok(match manifest {
            SEQUENCED_ON_NEXT => {
                let m: proto::SequencedOnNext = parse(SEQUENCED_ON_NEXT, bytes)?;
                let manifest = match &m.payload.message_manifest {
                    Some(b) => utf8("Payload.messageManifest", b)?,
                    None => String::new(),
                };
                StreamRefMessage::SequencedOnNext {
                    seq_nr: m.seq_nr,
                    payload: SerializedMessage {
                        serializer_id: m.payload.serializer_id,
                        manifest,
                        payload: m.payload.enclosed_message,
                    },
                }
            }
            CUMULATIVE_DEMAND => {
                let m: proto::CumulativeDemand = parse(CUMULATIVE_DEMAND, bytes)?;
                if m.seq_nr <= 0 {
                    return Err(CodecError::NonPositiveDemand(m.seq_nr));
                }
                StreamRefMessage::CumulativeDemand(m.seq_nr)
            }
            REMOTE_STREAM_FAILURE => {
                let m: proto::RemoteStreamFailure = parse(REMOTE_STREAM_FAILURE, bytes)?;
                let cause = match &m.cause {
                    Some(b) => utf8("RemoteStreamFailure.cause", b)?,
                    None => String::new(),
                };
                StreamRefMessage::RemoteStreamFailure(cause)
            }
            REMOTE_STREAM_COMPLETED => {
                let m: proto::RemoteStreamCompleted = parse(REMOTE_STREAM_COMPLETED, bytes)?;
                StreamRefMessage::RemoteStreamCompleted(m.seq_nr)
            }
            SOURCE_REF => {
                let m: proto::SourceRef = parse(SOURCE_REF, bytes)?;
                StreamRefMessage::SourceRef(SourceRef {
                    origin_ref: m.origin_ref.path,
                })
            }
            SINK_REF => {
                let m: proto::SinkRef = parse(SINK_REF, bytes)?;
                StreamRefMessage::SinkRef(SinkRef {
                    target_ref: m.target_ref.path,
                })
            }
            ON_SUBSCRIBE_HANDSHAKE => {
                let m: proto::OnSubscribeHandshake = parse(ON_SUBSCRIBE_HANDSHAKE, bytes)?;
                StreamRefMessage::OnSubscribeHandshake(m.target_ref.path)
            }
            ACK => StreamRefMessage::Ack,
            other => return Err(CodecError::UnknownManifest(other.to_string())),
        })
    }
}

impl SourceRef {
    /// This ref as an Artery payload (serializer 30, manifest `E`).
    pub fn to_serialized(&self) -> SerializedMessage {
        StreamRefMessage::SourceRef(self.clone()).to_serialized()
    }
}

impl SinkRef {
    /// This ref as an Artery payload (serializer 30, manifest `F`).
    pub fn to_serialized(&self) -> SerializedMessage {
        StreamRefMessage::SinkRef(self.clone()).to_serialized()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn path() -> impl Strategy<Value = String> {
        (
            "[A-Za-z]{1,8}",
            1u16..65535,
            "[a-z$0-9-]{1,12}",
            any::<Option<i32>>(),
        )
            .prop_map(|(sys, port, name, uid)| match uid {
                Some(u) => format!("pekko://{sys}@127.0.0.1:{port}/system/{name}#{u}"),
                None => format!("pekko://{sys}@127.0.0.1:{port}/system/{name}"),
            })
    }

    fn message() -> impl Strategy<Value = StreamRefMessage> {
        prop_oneof![
            (
                any::<i64>(),
                any::<i32>(),
                "[A-Za-z0-9.]{0,10}",
                any::<Vec<u8>>()
            )
                .prop_map(|(seq_nr, serializer_id, manifest, bytes)| {
                    StreamRefMessage::SequencedOnNext {
                        seq_nr,
                        payload: SerializedMessage {
                            serializer_id,
                            manifest,
                            payload: Bytes::from(bytes),
                        },
                    }
                }),
            (1i64..).prop_map(StreamRefMessage::CumulativeDemand),
            ".{0,40}".prop_map(StreamRefMessage::RemoteStreamFailure),
            any::<i64>().prop_map(StreamRefMessage::RemoteStreamCompleted),
            path().prop_map(|p| StreamRefMessage::SourceRef(SourceRef { origin_ref: p })),
            path().prop_map(|p| StreamRefMessage::SinkRef(SinkRef { target_ref: p })),
            path().prop_map(StreamRefMessage::OnSubscribeHandshake),
            Just(StreamRefMessage::Ack),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(m in message()) {
            let s = m.to_serialized();
            prop_assert_eq!(s.serializer_id, SERIALIZER_ID);
            prop_assert_eq!(StreamRefMessage::from_serialized(&s).unwrap(), m);
        }

        #[test]
        fn decoding_garbage_never_panics(manifest in "[A-J]", bytes in any::<Vec<u8>>()) {
            let _ = StreamRefMessage::decode(&manifest, Bytes::from(bytes));
        }
    }

    #[test]
    fn manifests_are_pekkos() {
        let m: Vec<&str> = [
            StreamRefMessage::SequencedOnNext {
                seq_nr: 0,
                payload: SerializedMessage::string("x"),
            },
            StreamRefMessage::CumulativeDemand(1),
            StreamRefMessage::RemoteStreamFailure(String::new()),
            StreamRefMessage::RemoteStreamCompleted(0),
            StreamRefMessage::SourceRef(SourceRef {
                origin_ref: "a".into(),
            }),
            StreamRefMessage::SinkRef(SinkRef {
                target_ref: "a".into(),
            }),
            StreamRefMessage::OnSubscribeHandshake("a".into()),
            StreamRefMessage::Ack,
        ]
        .iter()
        .map(StreamRefMessage::manifest)
        .collect();
        assert_eq!(m, ["A", "B", "C", "D", "E", "F", "G", "H"]);
    }

    #[test]
    fn known_bytes() {
        // CumulativeDemand(32): field 1 varint 32.
        assert_eq!(
            &StreamRefMessage::CumulativeDemand(32).encode()[..],
            [0x08, 0x20]
        );
        assert!(StreamRefMessage::Ack.encode().is_empty());
        // An empty manifest is omitted from the element payload.
        let e = StreamRefMessage::SequencedOnNext {
            seq_nr: 1,
            payload: SerializedMessage::string("a"),
        }
        .encode();
        assert_eq!(
            &e[..],
            [0x08, 0x01, 0x12, 0x05, 0x0a, 0x01, b'a', 0x10, 0x14]
        );
    }

    #[test]
    fn rejects_zero_demand_and_unknown_manifest() {
        let zero = Bytes::from(proto::CumulativeDemand { seq_nr: 0 }.encode_to_vec());
        assert_eq!(
            StreamRefMessage::decode("B", zero),
            Err(CodecError::NonPositiveDemand(0))
        );
        assert!(matches!(
            StreamRefMessage::decode("Z", Bytes::new()),
            Err(CodecError::UnknownManifest(_))
        ));
        assert!(matches!(
            StreamRefMessage::decode("A", Bytes::from_static(&[0xff])),
            Err(CodecError::Malformed { .. })
        ));
    }
}
