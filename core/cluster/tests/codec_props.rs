//! Property tests of the cluster serializer: round trips, model <-> protobuf conversion, and
//! decoding arbitrary bytes never panics.

use proptest::prelude::*;
use prost::Message;
use rekko_cluster::codec::{
    self, proto, ClusterMessage, ConfigCheck, Heartbeat, HeartbeatRsp, Join,
};
use rekko_cluster::{
    Address, Gossip, Member, MemberStatus, Reachability, UniqueAddress, VectorClock,
};

fn arb_address() -> impl Strategy<Value = Address> {
    (
        prop::sample::select(vec!["127.0.0.1", "127.0.0.2", "10.0.0.10", "host-ü"]),
        1u16..65535,
    )
        .prop_map(|(h, p)| Address::new("ClusterSystem", h, p))
}

fn arb_node() -> impl Strategy<Value = UniqueAddress> {
    (arb_address(), any::<i64>()).prop_map(|(a, u)| UniqueAddress::new(a, u))
}

fn arb_status() -> impl Strategy<Value = MemberStatus> {
    prop::sample::select(
        MemberStatus::ALL
            .into_iter()
            .filter(|s| *s != MemberStatus::Removed)
            .collect::<Vec<_>>(),
    )
}

fn arb_member(node: UniqueAddress) -> impl Strategy<Value = Member> {
    (
        arb_status(),
        prop_oneof![Just(i32::MAX), 1i32..100],
        prop::collection::btree_set(
            prop::sample::select(vec!["a", "b", "backend", "dc-east"]),
            0..3,
        ),
        prop::sample::select(vec!["0.0.0", "1.2.3", "2.0-RC1"]),
    )
        .prop_map(move |(status, up, roles, v)| Member {
            up_number: up,
            ..Member::joining(node.clone(), roles.into_iter().map(String::from), v)
                .with_status(status)
        })
}

fn arb_gossip() -> impl Strategy<Value = Gossip> {
    prop::collection::btree_set(arb_node(), 1..6)
        .prop_flat_map(|nodes| {
            let nodes: Vec<UniqueAddress> = nodes.into_iter().collect();
            let n = nodes.len();
            let members: Vec<_> = nodes.iter().cloned().map(arb_member).collect();
            (
                Just(nodes),
                members,
                prop::collection::vec(any::<bool>(), n),
                prop::collection::vec((0..n, 0..n, 0u8..3), 0..6),
                prop::collection::vec(0i64..5, n),
                prop::collection::vec((arb_node(), 0i64..2_000_000_000_000), 0..3),
            )
        })
        .prop_map(|(nodes, members, seen, reach_ops, clock, tombs)| {
            let mut g = Gossip::with_members(members);
            g.seen = nodes
                .iter()
                .zip(&seen)
                .filter(|(_, s)| **s)
                .map(|(n, _)| n.clone())
                .collect();
            let mut r = Reachability::new();
            for (o, s, op) in reach_ops {
                r = match op {
                    0 => r.unreachable(&nodes[o], &nodes[s]),
                    1 => r.reachable(&nodes[o], &nodes[s]),
                    _ => r.terminated(&nodes[o], &nodes[s]),
                };
            }
            g.reachability = r;
            g.version = VectorClock::from_entries(
                nodes
                    .iter()
                    .zip(clock)
                    .filter(|(_, c)| *c > 0)
                    .map(|(n, c)| (n.vclock_node(), c)),
            );
            for (t, ts) in tombs {
                if !g.has_member(&t) {
                    g.tombstones.insert(t, ts);
                }
            }
            g
        })
}

fn arb_message() -> impl Strategy<Value = ClusterMessage> {
    prop_oneof![
        (
            arb_node(),
            prop::collection::vec("[a-z]{1,5}", 0..3),
            "[0-9.]{1,6}"
        )
            .prop_map(|(node, roles, v)| {
                ClusterMessage::Join(Join {
                    node,
                    roles,
                    app_version: v,
                })
            }),
        (arb_node(), arb_gossip())
            .prop_map(|(from, gossip)| ClusterMessage::Welcome { from, gossip }),
        proptest::option::of("\\PC{0,40}")
            .prop_map(|c| ClusterMessage::InitJoin { current_config: c }),
        (
            arb_address(),
            prop_oneof![
                Just(ConfigCheck::Unchecked),
                Just(ConfigCheck::Incompatible),
                "\\PC{0,40}".prop_map(ConfigCheck::Compatible)
            ]
        )
            .prop_map(|(address, config_check)| ClusterMessage::InitJoinAck {
                address,
                config_check
            }),
        arb_address().prop_map(ClusterMessage::InitJoinNack),
        arb_address().prop_map(ClusterMessage::Leave),
        arb_address().prop_map(ClusterMessage::Down),
        arb_node().prop_map(ClusterMessage::ExitingConfirmed),
        (arb_node(), arb_node(), arb_gossip())
            .prop_map(|(from, to, gossip)| ClusterMessage::GossipEnvelope { from, to, gossip }),
        (arb_node(), arb_gossip(), any::<bool>()).prop_map(|(from, g, d)| {
            ClusterMessage::GossipStatus {
                from,
                version: g.version.clone(),
                seen_digest: d.then(|| g.seen_digest().to_vec()),
            }
        }),
        (arb_address(), any::<i64>(), any::<i64>()).prop_map(|(from, s, c)| {
            ClusterMessage::Heartbeat(Heartbeat {
                from,
                sequence_nr: s,
                creation_time: c,
            })
        }),
        (arb_node(), any::<i64>(), any::<i64>()).prop_map(|(from, s, c)| {
            ClusterMessage::HeartbeatRsp(HeartbeatRsp {
                from,
                sequence_nr: s,
                creation_time: c,
            })
        }),
    ]
}

const MANIFESTS: &[&str] = &[
    "J",
    "W",
    "IJ",
    "IJA",
    "IJN",
    "L",
    "D",
    "EC",
    "GE",
    "GS",
    "HB",
    "HBR",
    "org.apache.pekko.cluster.GossipEnvelope",
    "org.apache.pekko.cluster.ClusterHeartbeatSender$Heartbeat",
    "org.apache.pekko.cluster.ClusterHeartbeatSender$HeartbeatRsp",
    "org.apache.pekko.cluster.InternalClusterAction$InitJoinAck",
    "PS",
    "CRP",
    "",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn message_round_trip(msg in arb_message()) {
        let bytes = msg.to_binary();
        let back = ClusterMessage::from_binary(msg.manifest(), &bytes).unwrap();
        prop_assert_eq!(&back, &msg);
        prop_assert_eq!(back.to_binary().len(), bytes.len());
    }

    #[test]
    fn gossip_model_proto_round_trip(g in arb_gossip()) {
        let p = codec::gossip_to_proto(&g);
        let back = codec::gossip_from_proto(&p).unwrap();
        prop_assert_eq!(&back, &g);
        // proto -> model -> proto is stable too
        prop_assert_eq!(codec::gossip_to_proto(&back), p.clone());
        let bytes = p.encode_to_vec();
        let again = proto::Gossip::decode(bytes.as_slice()).unwrap();
        prop_assert_eq!(codec::gossip_from_proto(&again).unwrap(), g);
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..200),
        manifest in prop::sample::select(MANIFESTS),
    ) {
        let _ = ClusterMessage::from_binary(manifest, &bytes);
        let _ = ClusterMessage::from_binary(manifest, &codec::gzip(&bytes));
        let env = proto::GossipEnvelope {
            from: codec::unique_address_to_proto(&UniqueAddress::new(Address::new("S", "h", 1), 1)),
            to: codec::unique_address_to_proto(&UniqueAddress::new(Address::new("S", "h", 2), 2)),
            serialized_gossip: codec::gzip(&bytes).into(),
        };
        let _ = ClusterMessage::from_binary("GE", &env.encode_to_vec());
    }

    #[test]
    fn mutated_gossip_never_panics(g in arb_gossip(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let mut bytes = codec::gossip_to_proto(&g).encode_to_vec();
        for (i, b) in flips {
            let i = i.index(bytes.len());
            bytes[i] ^= b;
        }
        if let Ok(p) = proto::Gossip::decode(bytes.as_slice()) {
            let _ = codec::gossip_from_proto(&p);
        }
    }
}

#[test]
fn uid_split_matches_jvm_vectors() {
    let u = UniqueAddress::new(
        Address::new("ClusterSystem", "127.0.0.1", 25520),
        8469301372340155426,
    );
    let p = codec::unique_address_to_proto(&u);
    assert_eq!((p.uid, p.uid2), (3524277282, Some(1971912889)));
    let u2 = UniqueAddress::new(u.address.clone(), -4223372036854775808);
    let p2 = codec::unique_address_to_proto(&u2);
    assert_eq!((p2.uid, p2.uid2), (1156841472, Some(3311636866)));
    assert_eq!(codec::unique_address_from_proto(&p2).unwrap(), u2);
    // without uid2 the low half is sign-extended
    let legacy = proto::UniqueAddress {
        uid2: None,
        uid: 0xFFFF_FFFF,
        ..p2
    };
    assert_eq!(codec::unique_address_from_proto(&legacy).unwrap().uid, -1);
}

#[test]
fn init_join_ack_accepts_legacy_bare_address() {
    let a = Address::new("ClusterSystem", "127.0.0.1", 2552);
    let bare = codec::address_to_proto(&a).encode_to_vec();
    let msg = ClusterMessage::from_binary("IJA", &bare).unwrap();
    assert_eq!(
        msg,
        ClusterMessage::InitJoinAck {
            address: a,
            config_check: ConfigCheck::Unchecked
        }
    );
}

#[test]
fn gossip_decoding_adds_default_dc_role_and_version() {
    let node = UniqueAddress::new(Address::new("S", "h", 1), 7);
    let p = proto::Gossip {
        all_addresses: vec![codec::unique_address_to_proto(&node)],
        members: vec![proto::Member {
            address_index: 0,
            up_number: 1,
            status: 1,
            roles_indexes: vec![],
            app_version_index: None,
        }],
        ..Default::default()
    };
    let g = codec::gossip_from_proto(&p).unwrap();
    let m = g.member(&node).unwrap();
    assert!(m.has_role("dc-default"));
    assert_eq!(m.app_version, "0.0.0");
    assert_eq!(m.status, MemberStatus::Up);
}

#[test]
fn out_of_range_indexes_are_errors_naming_the_table() {
    let p = proto::Gossip {
        members: vec![proto::Member {
            address_index: 3,
            ..Default::default()
        }],
        ..Default::default()
    };
    let err = codec::gossip_from_proto(&p).unwrap_err();
    assert!(err.contains("member address index 3"), "{err}");
    let bad = ClusterMessage::from_binary("GE", b"\x0a\x00")
        .unwrap_err()
        .to_string();
    assert!(bad.contains("GE"), "{bad}");
    assert!(matches!(
        ClusterMessage::from_binary("XX", b""),
        Err(rekko_cluster::ClusterError::UnknownManifest(_))
    ));
}

#[test]
fn serializer_identity() {
    assert_eq!(codec::SERIALIZER_ID, 5);
    let welcome = ClusterMessage::Welcome {
        from: UniqueAddress::new(Address::new("S", "h", 1), 1),
        gossip: Gossip::empty(),
    };
    let bytes = welcome.to_binary();
    assert_eq!(&bytes[..2], &[0x1f, 0x8b], "Welcome is gzip-compressed");
}

#[test]
fn decode_errors_name_the_message_type_and_manifest() {
    for (manifest, name) in [
        ("GE", "GossipEnvelope"),
        ("GS", "GossipStatus"),
        ("J", "Join"),
        ("org.apache.pekko.cluster.GossipEnvelope", "GossipEnvelope"),
    ] {
        let err = ClusterMessage::from_binary(manifest, &[0xff, 0xff, 0xff])
            .expect_err("garbage is not a message")
            .to_string();
        assert!(
            err.contains(name) && err.contains(&format!("{manifest:?}")),
            "{err}"
        );
    }
    assert_eq!(rekko_cluster::codec::message_name("XYZ"), "unknown");
}
