//! Nested payloads and the MiscMessageSerializer (16) messages Rekko speaks:
//! `Identify` (`A`), `ActorIdentity` (`B`), `Status.Success`/`Failure`,
//! `PoisonPill`, `Kill`, `ActorRef`, throwables as `TNSEX`.

use bytes::Bytes;
use prost::Message;

use crate::error::{protobuf_err, Result, WireError};
use crate::proto::container as pb;
use crate::serializers::{misc as m, MISC};

/// A serialized object nested in another message (`ContainerFormats.Payload`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload {
    /// Serializer of `bytes`.
    pub serializer_id: i32,
    /// Manifest; empty string when the serializer has none.
    pub manifest: String,
    /// The serialized object.
    pub bytes: Bytes,
}

impl Payload {
    /// Builds a payload.
    pub fn new(serializer_id: i32, manifest: impl Into<String>, bytes: Bytes) -> Self {
        Payload {
            serializer_id,
            manifest: manifest.into(),
            bytes,
        }
    }

    /// To the protobuf form (manifest omitted when empty, as the JVM does).
    pub fn to_proto(&self) -> pb::Payload {
        pb::Payload {
            enclosed_message: self.bytes.clone(),
            serializer_id: self.serializer_id,
            message_manifest: (!self.manifest.is_empty())
                .then(|| Bytes::copy_from_slice(self.manifest.as_bytes())),
        }
    }

    /// From the protobuf form.
    pub fn from_proto(p: pb::Payload) -> Result<Self> {
        let manifest = match p.message_manifest {
            Some(b) => String::from_utf8(b.to_vec()).map_err(|_| WireError::Protobuf {
                message: "Payload",
                reason: "messageManifest is not UTF-8".into(),
            })?,
            None => String::new(),
        };
        Ok(Payload {
            serializer_id: p.serializer_id,
            manifest,
            bytes: p.enclosed_message,
        })
    }
}

/// The misc messages Rekko encodes and decodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MiscMessage {
    /// `A`: `Identify(messageId)`.
    Identify {
        /// The correlation id, any serializable value.
        message_id: Payload,
    },
    /// `B`: `ActorIdentity(correlationId, ref)`.
    ActorIdentity {
        /// The `Identify` message id.
        correlation_id: Payload,
        /// Full serialized path (with `#uid`) of the actor, if it exists.
        actor_ref: Option<String>,
    },
    /// `D`: `Status.Success(value)`.
    StatusSuccess(Payload),
    /// `E`: `Status.Failure(cause)`, the cause as a nested payload.
    StatusFailure(Payload),
    /// `G`: a classic actor ref.
    ActorRef(String),
    /// `P`: `PoisonPill`.
    PoisonPill,
    /// `K`: `Kill`.
    Kill,
    /// `DONE`: `Done`.
    Done,
    /// `NU`: `NotUsed`.
    NotUsed,
    /// `TNSEX`: `ThrowableNotSerializableException`.
    ThrowableNotSerializable {
        /// `"Serialization of [<class>] failed. <message>"`.
        message: String,
        /// The original message (`""` if null).
        original_message: String,
        /// The original exception class.
        original_class_name: String,
    },
}

impl MiscMessage {
    /// The manifest.
    pub fn manifest(&self) -> &'static str {
        match self {
            MiscMessage::Identify { .. } => m::IDENTIFY,
            MiscMessage::ActorIdentity { .. } => m::ACTOR_IDENTITY,
            MiscMessage::StatusSuccess(_) => m::STATUS_SUCCESS,
            MiscMessage::StatusFailure(_) => m::STATUS_FAILURE,
            MiscMessage::ActorRef(_) => m::ACTOR_REF,
            MiscMessage::PoisonPill => m::POISON_PILL,
            MiscMessage::Kill => m::KILL,
            MiscMessage::Done => m::DONE,
            MiscMessage::NotUsed => m::NOT_USED,
            MiscMessage::ThrowableNotSerializable { .. } => m::THROWABLE_NOT_SERIALIZABLE,
        }
    }

    /// Serializes the payload.
    pub fn encode(&self) -> Bytes {
        let v = match self {
            MiscMessage::Identify { message_id } => pb::Identify {
                message_id: message_id.to_proto(),
            }
            .encode_to_vec(),
            MiscMessage::ActorIdentity {
                correlation_id,
                actor_ref,
            } => pb::ActorIdentity {
                correlation_id: correlation_id.to_proto(),
                r#ref: actor_ref.as_ref().map(|p| pb::ActorRef { path: p.clone() }),
            }
            .encode_to_vec(),
            MiscMessage::StatusSuccess(p) | MiscMessage::StatusFailure(p) => {
                p.to_proto().encode_to_vec()
            }
            MiscMessage::ActorRef(path) => pb::ActorRef { path: path.clone() }.encode_to_vec(),
            MiscMessage::PoisonPill
            | MiscMessage::Kill
            | MiscMessage::Done
            | MiscMessage::NotUsed => Vec::new(),
            MiscMessage::ThrowableNotSerializable {
                message,
                original_message,
                original_class_name,
            } => pb::ThrowableNotSerializable {
                message: message.clone(),
                original_message: original_message.clone(),
                original_class_name: original_class_name.clone(),
            }
            .encode_to_vec(),
        };
        Bytes::from(v)
    }

    /// Parses a serializer-16 payload with its manifest.
    pub fn decode(manifest: &str, payload: Bytes) -> Result<MiscMessage> {
        Ok(match manifest {
            m::IDENTIFY => {
                let p = pb::Identify::decode(payload).map_err(protobuf_err("Identify"))?;
                MiscMessage::Identify {
                    message_id: Payload::from_proto(p.message_id)?,
                }
            }
            m::ACTOR_IDENTITY => {
                let p =
                    pb::ActorIdentity::decode(payload).map_err(protobuf_err("ActorIdentity"))?;
                MiscMessage::ActorIdentity {
                    correlation_id: Payload::from_proto(p.correlation_id)?,
                    actor_ref: p.r#ref.map(|r| r.path),
                }
            }
            m::STATUS_SUCCESS | m::STATUS_FAILURE => {
                let p = Payload::from_proto(
                    pb::Payload::decode(payload).map_err(protobuf_err("Payload"))?,
                )?;
                if manifest == m::STATUS_SUCCESS {
                    MiscMessage::StatusSuccess(p)
                } else {
                    MiscMessage::StatusFailure(p)
                }
            }
            m::ACTOR_REF => MiscMessage::ActorRef(
                pb::ActorRef::decode(payload)
                    .map_err(protobuf_err("ActorRef"))?
                    .path,
            ),
            m::POISON_PILL => MiscMessage::PoisonPill,
            m::KILL => MiscMessage::Kill,
            m::DONE => MiscMessage::Done,
            m::NOT_USED => MiscMessage::NotUsed,
            m::THROWABLE_NOT_SERIALIZABLE => {
                let p = pb::ThrowableNotSerializable::decode(payload)
                    .map_err(protobuf_err("ThrowableNotSerializable"))?;
                MiscMessage::ThrowableNotSerializable {
                    message: p.message,
                    original_message: p.original_message,
                    original_class_name: p.original_class_name,
                }
            }
            other => {
                return Err(WireError::UnknownManifest {
                    serializer_id: MISC,
                    manifest: other.to_string(),
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::encode_int;
    use crate::serializers::INT;

    #[test]
    fn identify_round_trip_and_layout() {
        let msg = MiscMessage::Identify {
            message_id: Payload::new(INT, "", encode_int(7)),
        };
        let bytes = msg.encode();
        // Identify{ messageId = Payload{ enclosedMessage=07000000, serializerId=19 } }
        assert_eq!(
            &bytes[..],
            &[0x0a, 0x08, 0x0a, 0x04, 7, 0, 0, 0, 0x10, 0x13]
        );
        assert_eq!(MiscMessage::decode("A", bytes).unwrap(), msg);
    }

    #[test]
    fn actor_identity_none_and_some() {
        for r in [None, Some("pekko://S@h:1/user/a#5".to_string())] {
            let msg = MiscMessage::ActorIdentity {
                correlation_id: Payload::new(20, "", Bytes::from_static(b"x")),
                actor_ref: r,
            };
            assert_eq!(MiscMessage::decode("B", msg.encode()).unwrap(), msg);
        }
    }

    #[test]
    fn unknown_manifest() {
        assert!(matches!(
            MiscMessage::decode("ZZ", Bytes::new()),
            Err(WireError::UnknownManifest {
                serializer_id: 16,
                ..
            })
        ));
    }
}
