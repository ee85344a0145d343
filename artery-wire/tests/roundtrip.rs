//! Property tests: every message and the envelope round-trip; the frame
//! decoder yields the same frames however the byte stream is chunked.

use artery_wire::address::{Address, UniqueAddress};
use artery_wire::control::{ArteryMessage, CompressionAdvertisement, SystemMessageEnvelope};
use artery_wire::envelope::{Envelope, Field};
use artery_wire::frame::{encode_frame, FrameDecoder, Inbound, InboundDecoder};
use artery_wire::misc::{MiscMessage, Payload};
use artery_wire::selection::{SelectionElement, SelectionEnvelope};
use artery_wire::sysmsg::SystemMessage;
use artery_wire::throwable::{JvmThrowable, StackFrame, ThrowableKind};
use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9._-]{1,12}"
}

fn address() -> impl Strategy<Value = Address> {
    (
        prop_oneof![Just("pekko"), Just("akka")],
        text(),
        text(),
        any::<u16>(),
    )
        .prop_map(|(p, s, h, port)| Address {
            protocol: p.into(),
            system: s,
            host: h,
            port,
        })
}

fn unique() -> impl Strategy<Value = UniqueAddress> {
    (address(), any::<u64>()).prop_map(|(a, u)| UniqueAddress::new(a, u))
}

fn bytes() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..64).prop_map(Bytes::from)
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..80).prop_map(|v| Field::Literal(v.into())),
        any::<u16>().prop_map(Field::Compressed),
    ]
}

fn envelope() -> impl Strategy<Value = Envelope> {
    (
        (any::<i8>(), any::<i8>(), any::<u64>(), any::<i32>()),
        (field(), field(), field()),
        proptest::option::of(bytes()),
        bytes(),
    )
        .prop_map(
            |((rv, mv, uid, ser), (s, r, m), metadata, payload)| Envelope {
                actor_ref_table_version: rv,
                manifest_table_version: mv,
                origin_uid: uid,
                serializer_id: ser,
                sender: s,
                recipient: r,
                manifest: m,
                metadata,
                payload,
            },
        )
}

fn advertisement() -> impl Strategy<Value = CompressionAdvertisement> {
    (
        unique(),
        any::<u64>(),
        0u32..128,
        proptest::collection::vec(text(), 0..8),
    )
        .prop_map(
            |(from, origin_uid, table_version, keys)| CompressionAdvertisement {
                from,
                origin_uid,
                table_version,
                entries: keys.into_iter().zip(0u32..).collect(),
            },
        )
}

fn artery_message() -> impl Strategy<Value = ArteryMessage> {
    prop_oneof![
        (unique(), unique()).prop_map(|(from, to)| ArteryMessage::Quarantined { from, to }),
        unique().prop_map(ArteryMessage::ActorSystemTerminating),
        unique().prop_map(ArteryMessage::ActorSystemTerminatingAck),
        (unique(), address()).prop_map(|(from, to)| ArteryMessage::HandshakeReq { from, to }),
        unique().prop_map(ArteryMessage::HandshakeRsp),
        advertisement().prop_map(ArteryMessage::ActorRefCompressionAdvertisement),
        (unique(), any::<u32>()).prop_map(|(from, version)| {
            ArteryMessage::ActorRefCompressionAdvertisementAck { from, version }
        }),
        advertisement().prop_map(ArteryMessage::ClassManifestCompressionAdvertisement),
        (unique(), any::<u32>()).prop_map(|(from, version)| {
            ArteryMessage::ClassManifestCompressionAdvertisementAck { from, version }
        }),
        (
            bytes(),
            any::<i32>(),
            proptest::option::of(bytes()),
            any::<u64>(),
            unique()
        )
            .prop_map(|(message, serializer_id, manifest, seq_no, ack_reply_to)| {
                ArteryMessage::SystemMessageEnvelope(SystemMessageEnvelope {
                    message,
                    serializer_id,
                    manifest,
                    seq_no,
                    ack_reply_to,
                })
            }),
        (any::<u64>(), unique()).prop_map(|(seq_no, from)| ArteryMessage::Ack { seq_no, from }),
        (any::<u64>(), unique()).prop_map(|(seq_no, from)| ArteryMessage::Nack { seq_no, from }),
        Just(ArteryMessage::ArteryHeartbeat),
        any::<u64>().prop_map(|uid| ArteryMessage::ArteryHeartbeatRsp { uid }),
        Just(ArteryMessage::Flush),
        any::<i32>().prop_map(|expected_acks| ArteryMessage::FlushAck { expected_acks }),
    ]
}

fn payload() -> impl Strategy<Value = Payload> {
    (
        any::<i32>(),
        prop_oneof![Just(String::new()), text()],
        bytes(),
    )
        .prop_map(|(id, m, b)| Payload::new(id, m, b))
}

fn misc_message() -> impl Strategy<Value = MiscMessage> {
    prop_oneof![
        payload().prop_map(|message_id| MiscMessage::Identify { message_id }),
        (payload(), proptest::option::of(text())).prop_map(|(correlation_id, actor_ref)| {
            MiscMessage::ActorIdentity {
                correlation_id,
                actor_ref,
            }
        }),
        payload().prop_map(MiscMessage::StatusSuccess),
        payload().prop_map(MiscMessage::StatusFailure),
        text().prop_map(MiscMessage::ActorRef),
        Just(MiscMessage::PoisonPill),
        Just(MiscMessage::Kill),
        Just(MiscMessage::Done),
        Just(MiscMessage::NotUsed),
        (text(), text(), text()).prop_map(|(message, original_message, original_class_name)| {
            MiscMessage::ThrowableNotSerializable {
                message,
                original_message,
                original_class_name,
            }
        }),
    ]
}

fn system_message() -> impl Strategy<Value = SystemMessage> {
    prop_oneof![
        (text(), text()).prop_map(|(watchee, watcher)| SystemMessage::Watch { watchee, watcher }),
        (text(), text()).prop_map(|(watchee, watcher)| SystemMessage::Unwatch { watchee, watcher }),
        (text(), any::<bool>(), any::<bool>()).prop_map(|(actor, e, a)| {
            SystemMessage::DeathWatchNotification {
                actor,
                existence_confirmed: e,
                address_terminated: a,
            }
        }),
    ]
}

fn selection() -> impl Strategy<Value = SelectionEnvelope> {
    let element = prop_oneof![
        Just(SelectionElement::Parent),
        text().prop_map(SelectionElement::ChildName),
        text().prop_map(SelectionElement::ChildPattern),
    ];
    (
        payload(),
        proptest::collection::vec(element, 0..6),
        any::<bool>(),
    )
        .prop_map(|(message, elements, wildcard_fan_out)| SelectionEnvelope {
            message,
            elements,
            wildcard_fan_out,
        })
}

fn stack_frame() -> impl Strategy<Value = StackFrame> {
    (text(), text(), proptest::option::of(text()), any::<i32>()).prop_map(
        |(class_name, method_name, file_name, line_number)| StackFrame {
            class_name,
            method_name,
            file_name,
            line_number,
        },
    )
}

/// Throwables in each of Pekko's three encodings, with nested causes.
fn throwable() -> impl Strategy<Value = JvmThrowable> {
    let leaf = prop_oneof![
        (
            text(),
            proptest::option::of(text()),
            proptest::collection::vec(stack_frame(), 0..4)
        )
            .prop_map(|(class_name, message, stack_trace)| JvmThrowable {
                class_name,
                message,
                cause: None,
                stack_trace,
                kind: ThrowableKind::Throwable,
            }),
        (text(), text(), text()).prop_map(|(class_name, original, message)| JvmThrowable {
            class_name,
            message: Some(original),
            cause: None,
            stack_trace: Vec::new(),
            kind: ThrowableKind::NotSerializable { message },
        }),
    ];
    leaf.prop_recursive(4, 8, 1, |inner| {
        prop_oneof![
            (text(), proptest::option::of(text()), inner.clone()).prop_map(|(c, m, cause)| {
                JvmThrowable {
                    class_name: c,
                    message: m,
                    cause: Some(Box::new(cause)),
                    stack_trace: Vec::new(),
                    kind: ThrowableKind::Throwable,
                }
            }),
            (
                proptest::option::of(text()),
                text(),
                proptest::option::of(inner)
            )
                .prop_map(|(actor, m, cause)| JvmThrowable {
                    class_name: artery_wire::throwable::ACTOR_INITIALIZATION_EXCEPTION.into(),
                    message: Some(m),
                    cause: cause.map(Box::new),
                    stack_trace: Vec::new(),
                    kind: ThrowableKind::ActorInitialization { actor },
                }),
        ]
    })
}

proptest! {
    #[test]
    fn throwables_round_trip(t in throwable()) {
        prop_assert_eq!(JvmThrowable::decode(t.manifest(), t.encode()).unwrap(), t.clone());
        // As the cause of a Status.Failure.
        let failure = MiscMessage::StatusFailure(t.to_payload());
        match MiscMessage::decode("E", failure.encode()).unwrap() {
            MiscMessage::StatusFailure(p) => prop_assert_eq!(JvmThrowable::from_payload(&p).unwrap(), t),
            other => prop_assert!(false, "not a Status.Failure: {:?}", other),
        }
    }

    #[test]
    fn poison_pill_and_kill_round_trip(kill in any::<bool>()) {
        let msg = if kill { MiscMessage::Kill } else { MiscMessage::PoisonPill };
        let bytes = msg.encode();
        prop_assert!(bytes.is_empty());
        prop_assert_eq!(msg.manifest(), if kill { "K" } else { "P" });
        prop_assert_eq!(MiscMessage::decode(msg.manifest(), bytes).unwrap(), msg);
    }

    #[test]
    fn envelope_round_trips(env in envelope()) {
        let mut out = BytesMut::new();
        env.encode(&mut out).unwrap();
        prop_assert_eq!(out.len(), env.encoded_len());
        prop_assert_eq!(Envelope::decode(out.freeze()).unwrap(), env);
    }

    #[test]
    fn artery_messages_round_trip(msg in artery_message()) {
        let back = ArteryMessage::decode(msg.manifest(), msg.encode()).unwrap();
        prop_assert_eq!(back, msg);
    }

    #[test]
    fn misc_messages_round_trip(msg in misc_message()) {
        prop_assert_eq!(MiscMessage::decode(msg.manifest(), msg.encode()).unwrap(), msg);
    }

    #[test]
    fn system_messages_round_trip(msg in system_message()) {
        prop_assert_eq!(SystemMessage::decode(msg.encode()).unwrap(), msg);
    }

    #[test]
    fn selections_round_trip(sel in selection()) {
        prop_assert_eq!(SelectionEnvelope::decode(sel.encode()).unwrap(), sel);
    }

    #[test]
    fn frames_survive_any_chunking(
        frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..100), 0..10),
        cuts in proptest::collection::vec(1usize..50, 1..40),
    ) {
        let mut wire = BytesMut::from(&b"PEKK\x02"[..]);
        for f in &frames {
            encode_frame(f, &mut wire).unwrap();
        }
        let wire = wire.freeze();
        let mut dec = InboundDecoder::new(vec![*b"AKKA", *b"PEKK"], 100, 100);
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut pos = 0;
        let mut cut = cuts.iter().cycle();
        while pos < wire.len() {
            let n = (*cut.next().unwrap()).min(wire.len() - pos);
            buf.extend_from_slice(&wire[pos..pos + n]);
            pos += n;
            while let Some(item) = dec.decode(&mut buf).unwrap() {
                got.push(item);
            }
        }
        prop_assert!(dec.decode_eof(&mut buf).unwrap().is_none());
        prop_assert_eq!(got.len(), frames.len() + 1);
        prop_assert!(matches!(got[0], Inbound::Preamble(_)));
        for (item, f) in got[1..].iter().zip(&frames) {
            prop_assert_eq!(item, &Inbound::Frame(Bytes::from(f.clone())));
        }
    }

    #[test]
    fn decoders_never_panic_on_garbage(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let b = Bytes::from(data.clone());
        let _ = Envelope::decode(b.clone());
        for m in ["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p"] {
            let _ = ArteryMessage::decode(m, b.clone());
        }
        for m in ["A","B","D","E","G","TNSEX"] {
            let _ = MiscMessage::decode(m, b.clone());
        }
        for m in ["F","AIEX","TNSEX"] {
            let _ = JvmThrowable::decode(m, b.clone());
        }
        let _ = SystemMessage::decode(b.clone());
        let _ = SelectionEnvelope::decode(b.clone());
        let mut buf = BytesMut::from(&data[..]);
        let mut dec = FrameDecoder::new(64);
        while let Ok(Some(_)) = dec.decode(&mut buf) {}
    }
}
