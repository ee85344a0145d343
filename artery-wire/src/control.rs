//! Artery control messages: serializer 17 ([`crate::serializers::ARTERY`])
//! with one-letter manifests `a`..`p`, protobuf payloads from
//! `ArteryControlFormats`.

use bytes::Bytes;
use prost::Message;

use crate::address::{Address, UniqueAddress};
use crate::error::{protobuf_err, Result, WireError};
use crate::proto::artery_control as pc;
use crate::serializers::{artery as m, ARTERY};

/// A compression table advertisement (`f` for actor refs, `h` for manifests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompressionAdvertisement {
    /// The advertising node: the one that will decompress.
    pub from: UniqueAddress,
    /// The uid of the node that should use the table.
    pub origin_uid: u64,
    /// Table version 0..=127.
    pub table_version: u32,
    /// `(key, id)` pairs: actor paths or manifests and their compression id.
    pub entries: Vec<(String, u32)>,
}

/// A system message wrapped for acknowledged delivery (`j`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SystemMessageEnvelope {
    /// The serialized system message.
    pub message: Bytes,
    /// Serializer of `message` (normally 22).
    pub serializer_id: i32,
    /// Manifest of `message`, absent for serializer 22.
    pub manifest: Option<Bytes>,
    /// Sequence number, 1, 2, 3, ... per sender/receiver incarnation pair.
    pub seq_no: u64,
    /// The sender's own unique address: acks go there.
    pub ack_reply_to: UniqueAddress,
}

/// Every message of the ArteryMessageSerializer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArteryMessage {
    /// `a`: `from` quarantined the incarnation `to`.
    Quarantined {
        /// The quarantining node.
        from: UniqueAddress,
        /// The quarantined incarnation.
        to: UniqueAddress,
    },
    /// `b`: the sender's actor system is shutting down.
    ActorSystemTerminating(UniqueAddress),
    /// `c`: answer to `b`.
    ActorSystemTerminatingAck(UniqueAddress),
    /// `d`: handshake request.
    HandshakeReq {
        /// The initiator.
        from: UniqueAddress,
        /// The address the initiator believes the peer has.
        to: Address,
    },
    /// `e`: handshake response carrying the responder's unique address.
    HandshakeRsp(UniqueAddress),
    /// `f`: actor-ref compression table advertisement.
    ActorRefCompressionAdvertisement(CompressionAdvertisement),
    /// `g`: acknowledgement of `f`.
    ActorRefCompressionAdvertisementAck {
        /// The acknowledging node.
        from: UniqueAddress,
        /// The acknowledged table version.
        version: u32,
    },
    /// `h`: manifest compression table advertisement.
    ClassManifestCompressionAdvertisement(CompressionAdvertisement),
    /// `i`: acknowledgement of `h`.
    ClassManifestCompressionAdvertisementAck {
        /// The acknowledging node.
        from: UniqueAddress,
        /// The acknowledged table version.
        version: u32,
    },
    /// `j`: a sequenced system message.
    SystemMessageEnvelope(SystemMessageEnvelope),
    /// `k`: cumulative acknowledgement of system messages up to `seq_no`.
    Ack {
        /// Highest in-order sequence number received.
        seq_no: u64,
        /// The acknowledging node.
        from: UniqueAddress,
    },
    /// `l`: negative acknowledgement (a gap after `seq_no`).
    Nack {
        /// Highest in-order sequence number received.
        seq_no: u64,
        /// The acknowledging node.
        from: UniqueAddress,
    },
    /// `m`: remote watcher heartbeat (empty payload).
    ArteryHeartbeat,
    /// `n`: heartbeat response carrying the responder's system uid.
    ArteryHeartbeatRsp {
        /// The responder's system uid.
        uid: u64,
    },
    /// `o`: flush request (empty payload).
    Flush,
    /// `p`: flush acknowledgement.
    FlushAck {
        /// How many acks the flusher should expect in total.
        expected_acks: i32,
    },
}

fn ua(v: pc::UniqueAddress) -> Result<UniqueAddress> {
    UniqueAddress::from_proto(&v)
}

impl ArteryMessage {
    /// The manifest of this message.
    pub fn manifest(&self) -> &'static str {
        match self {
            ArteryMessage::Quarantined { .. } => m::QUARANTINED,
            ArteryMessage::ActorSystemTerminating(_) => m::ACTOR_SYSTEM_TERMINATING,
            ArteryMessage::ActorSystemTerminatingAck(_) => m::ACTOR_SYSTEM_TERMINATING_ACK,
            ArteryMessage::HandshakeReq { .. } => m::HANDSHAKE_REQ,
            ArteryMessage::HandshakeRsp(_) => m::HANDSHAKE_RSP,
            ArteryMessage::ActorRefCompressionAdvertisement(_) => {
                m::ACTOR_REF_COMPRESSION_ADVERTISEMENT
            }
            ArteryMessage::ActorRefCompressionAdvertisementAck { .. } => {
                m::ACTOR_REF_COMPRESSION_ADVERTISEMENT_ACK
            }
            ArteryMessage::ClassManifestCompressionAdvertisement(_) => {
                m::CLASS_MANIFEST_COMPRESSION_ADVERTISEMENT
            }
            ArteryMessage::ClassManifestCompressionAdvertisementAck { .. } => {
                m::CLASS_MANIFEST_COMPRESSION_ADVERTISEMENT_ACK
            }
            ArteryMessage::SystemMessageEnvelope(_) => m::SYSTEM_MESSAGE_ENVELOPE,
            ArteryMessage::Ack { .. } => m::SYSTEM_MESSAGE_DELIVERY_ACK,
            ArteryMessage::Nack { .. } => m::SYSTEM_MESSAGE_DELIVERY_NACK,
            ArteryMessage::ArteryHeartbeat => m::ARTERY_HEARTBEAT,
            ArteryMessage::ArteryHeartbeatRsp { .. } => m::ARTERY_HEARTBEAT_RSP,
            ArteryMessage::Flush => m::FLUSH,
            ArteryMessage::FlushAck { .. } => m::FLUSH_ACK,
        }
    }

    /// True for the recipient-less messages the receiving transport consumes
    /// on the control stream (they MUST only be sent on stream 1).
    pub fn is_control_plane(&self) -> bool {
        matches!(
            self,
            ArteryMessage::Quarantined { .. }
                | ArteryMessage::HandshakeRsp(_)
                | ArteryMessage::ActorRefCompressionAdvertisement(_)
                | ArteryMessage::ActorRefCompressionAdvertisementAck { .. }
                | ArteryMessage::ClassManifestCompressionAdvertisement(_)
                | ArteryMessage::ClassManifestCompressionAdvertisementAck { .. }
                | ArteryMessage::Ack { .. }
                | ArteryMessage::Nack { .. }
        )
    }

    /// Serializes the payload (manifest from [`ArteryMessage::manifest`]).
    pub fn encode(&self) -> Bytes {
        let v = match self {
            ArteryMessage::Quarantined { from, to } => pc::Quarantined {
                from: from.to_proto(),
                to: to.to_proto(),
            }
            .encode_to_vec(),
            ArteryMessage::ActorSystemTerminating(a)
            | ArteryMessage::ActorSystemTerminatingAck(a)
            | ArteryMessage::HandshakeRsp(a) => pc::MessageWithAddress {
                address: a.to_proto(),
            }
            .encode_to_vec(),
            ArteryMessage::HandshakeReq { from, to } => pc::HandshakeReq {
                from: from.to_proto(),
                to: to.to_proto(),
            }
            .encode_to_vec(),
            ArteryMessage::ActorRefCompressionAdvertisement(a)
            | ArteryMessage::ClassManifestCompressionAdvertisement(a) => {
                pc::CompressionTableAdvertisement {
                    from: a.from.to_proto(),
                    origin_uid: a.origin_uid,
                    table_version: a.table_version,
                    keys: a.entries.iter().map(|(k, _)| k.clone()).collect(),
                    values: a.entries.iter().map(|(_, v)| *v).collect(),
                }
                .encode_to_vec()
            }
            ArteryMessage::ActorRefCompressionAdvertisementAck { from, version }
            | ArteryMessage::ClassManifestCompressionAdvertisementAck { from, version } => {
                pc::CompressionTableAdvertisementAck {
                    from: from.to_proto(),
                    version: *version,
                }
                .encode_to_vec()
            }
            ArteryMessage::SystemMessageEnvelope(e) => pc::SystemMessageEnvelope {
                message: e.message.clone(),
                serializer_id: e.serializer_id,
                message_manifest: e.manifest.clone(),
                seq_no: e.seq_no,
                ack_reply_to: e.ack_reply_to.to_proto(),
            }
            .encode_to_vec(),
            ArteryMessage::Ack { seq_no, from } | ArteryMessage::Nack { seq_no, from } => {
                pc::SystemMessageDeliveryAck {
                    seq_no: *seq_no,
                    from: from.to_proto(),
                }
                .encode_to_vec()
            }
            ArteryMessage::ArteryHeartbeat | ArteryMessage::Flush => Vec::new(),
            ArteryMessage::ArteryHeartbeatRsp { uid } => {
                pc::ArteryHeartbeatRsp { uid: *uid }.encode_to_vec()
            }
            ArteryMessage::FlushAck { expected_acks } => pc::FlushAck {
                expected_acks: Some(*expected_acks),
            }
            .encode_to_vec(),
        };
        Bytes::from(v)
    }

    /// Parses a serializer-17 payload with its manifest.
    pub fn decode(manifest: &str, payload: Bytes) -> Result<ArteryMessage> {
        Ok(match manifest {
            m::QUARANTINED => {
                let p = pc::Quarantined::decode(payload).map_err(protobuf_err("Quarantined"))?;
                ArteryMessage::Quarantined {
                    from: ua(p.from)?,
                    to: ua(p.to)?,
                }
            }
            m::ACTOR_SYSTEM_TERMINATING | m::ACTOR_SYSTEM_TERMINATING_ACK | m::HANDSHAKE_RSP => {
                let p = pc::MessageWithAddress::decode(payload)
                    .map_err(protobuf_err("MessageWithAddress"))?;
                let a = ua(p.address)?;
                match manifest {
                    m::ACTOR_SYSTEM_TERMINATING => ArteryMessage::ActorSystemTerminating(a),
                    m::ACTOR_SYSTEM_TERMINATING_ACK => ArteryMessage::ActorSystemTerminatingAck(a),
                    _ => ArteryMessage::HandshakeRsp(a),
                }
            }
            m::HANDSHAKE_REQ => {
                let p = pc::HandshakeReq::decode(payload).map_err(protobuf_err("HandshakeReq"))?;
                ArteryMessage::HandshakeReq {
                    from: ua(p.from)?,
                    to: Address::from_proto(&p.to)?,
                }
            }
            m::ACTOR_REF_COMPRESSION_ADVERTISEMENT
            | m::CLASS_MANIFEST_COMPRESSION_ADVERTISEMENT => {
                let p = pc::CompressionTableAdvertisement::decode(payload)
                    .map_err(protobuf_err("CompressionTableAdvertisement"))?;
                if p.keys.len() != p.values.len() {
                    return Err(WireError::Protobuf {
                        message: "CompressionTableAdvertisement",
                        reason: format!("{} keys but {} values", p.keys.len(), p.values.len()),
                    });
                }
                let a = CompressionAdvertisement {
                    from: ua(p.from)?,
                    origin_uid: p.origin_uid,
                    table_version: p.table_version,
                    entries: p.keys.into_iter().zip(p.values).collect(),
                };
                if manifest == m::ACTOR_REF_COMPRESSION_ADVERTISEMENT {
                    ArteryMessage::ActorRefCompressionAdvertisement(a)
                } else {
                    ArteryMessage::ClassManifestCompressionAdvertisement(a)
                }
            }
            m::ACTOR_REF_COMPRESSION_ADVERTISEMENT_ACK
            | m::CLASS_MANIFEST_COMPRESSION_ADVERTISEMENT_ACK => {
                let p = pc::CompressionTableAdvertisementAck::decode(payload)
                    .map_err(protobuf_err("CompressionTableAdvertisementAck"))?;
                let from = ua(p.from)?;
                if manifest == m::ACTOR_REF_COMPRESSION_ADVERTISEMENT_ACK {
                    ArteryMessage::ActorRefCompressionAdvertisementAck {
                        from,
                        version: p.version,
                    }
                } else {
                    ArteryMessage::ClassManifestCompressionAdvertisementAck {
                        from,
                        version: p.version,
                    }
                }
            }
            m::SYSTEM_MESSAGE_ENVELOPE => {
                let p = pc::SystemMessageEnvelope::decode(payload)
                    .map_err(protobuf_err("SystemMessageEnvelope"))?;
                ArteryMessage::SystemMessageEnvelope(SystemMessageEnvelope {
                    message: p.message,
                    serializer_id: p.serializer_id,
                    manifest: p.message_manifest,
                    seq_no: p.seq_no,
                    ack_reply_to: ua(p.ack_reply_to)?,
                })
            }
            m::SYSTEM_MESSAGE_DELIVERY_ACK | m::SYSTEM_MESSAGE_DELIVERY_NACK => {
                let p = pc::SystemMessageDeliveryAck::decode(payload)
                    .map_err(protobuf_err("SystemMessageDeliveryAck"))?;
                let from = ua(p.from)?;
                if manifest == m::SYSTEM_MESSAGE_DELIVERY_ACK {
                    ArteryMessage::Ack {
                        seq_no: p.seq_no,
                        from,
                    }
                } else {
                    ArteryMessage::Nack {
                        seq_no: p.seq_no,
                        from,
                    }
                }
            }
            m::ARTERY_HEARTBEAT => ArteryMessage::ArteryHeartbeat,
            m::ARTERY_HEARTBEAT_RSP => {
                let p = pc::ArteryHeartbeatRsp::decode(payload)
                    .map_err(protobuf_err("ArteryHeartbeatRsp"))?;
                ArteryMessage::ArteryHeartbeatRsp { uid: p.uid }
            }
            m::FLUSH => ArteryMessage::Flush,
            m::FLUSH_ACK => {
                let p = pc::FlushAck::decode(payload).map_err(protobuf_err("FlushAck"))?;
                ArteryMessage::FlushAck {
                    expected_acks: p.expected_acks.unwrap_or(1),
                }
            }
            other => {
                return Err(WireError::UnknownManifest {
                    serializer_id: ARTERY,
                    manifest: other.to_string(),
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    fn b_addr() -> UniqueAddress {
        UniqueAddress::new(Address::new("B", "127.0.0.1", 25521), 0xa000_0000_0000_0000)
    }

    /// Payload of the Ack in section 12.4 of the wire spec.
    #[test]
    fn ack_bytes_match_spec() {
        let bytes = hex(
            "08 01 12 26 0a 19 0a 05 70 65 6b 6b 6f 12 01 42 1a 09 31 32 37 2e 30 2e 30 2e 31 \
             20 b1 c7 01 10 80 80 80 80 80 80 80 80 a0 01",
        );
        let msg = ArteryMessage::Ack {
            seq_no: 1,
            from: b_addr(),
        };
        assert_eq!(&msg.encode()[..], &bytes[..]);
        assert_eq!(ArteryMessage::decode("k", Bytes::from(bytes)).unwrap(), msg);
    }

    #[test]
    fn heartbeat_rsp_bytes_match_spec() {
        let msg = ArteryMessage::ArteryHeartbeatRsp {
            uid: 0xa000_0000_0000_0000,
        };
        assert_eq!(
            &msg.encode()[..],
            &hex("08 80 80 80 80 80 80 80 80 a0 01")[..]
        );
    }

    #[test]
    fn empty_flush_ack_means_one() {
        assert_eq!(
            ArteryMessage::decode("p", Bytes::new()).unwrap(),
            ArteryMessage::FlushAck { expected_acks: 1 }
        );
    }

    #[test]
    fn missing_required_field_is_an_error() {
        assert_eq!(
            ArteryMessage::decode("e", Bytes::new()),
            Err(WireError::MissingField {
                message: "Address",
                field: "system"
            })
        );
    }

    #[test]
    fn unknown_manifest_is_an_error() {
        assert!(matches!(
            ArteryMessage::decode("z", Bytes::new()),
            Err(WireError::UnknownManifest { .. })
        ));
    }

    #[test]
    fn required_zero_fields_are_emitted() {
        // port 0 and uid 0 must still be written (proto2 required).
        let msg = ArteryMessage::HandshakeRsp(UniqueAddress::new(Address::new("S", "h", 0), 0));
        let bytes = msg.encode();
        assert!(bytes.windows(2).any(|w| w == [0x20, 0x00]), "{bytes:02x?}");
        assert!(bytes.ends_with(&[0x10, 0x00]), "{bytes:02x?}");
    }
}
