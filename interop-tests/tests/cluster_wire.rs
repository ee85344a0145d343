//! Rekko's cluster serializer (id 5) against Pekko's `ClusterMessageSerializer`: every message
//! Rekko encodes is decoded by the JVM (its `toString` names what Rekko put in), the JVM
//! re-encodes it, and Rekko decodes the JVM's bytes back to the same message.

use std::collections::BTreeSet;
use std::time::Duration;

use rekko_cluster::codec::{ClusterMessage, ConfigCheck, Heartbeat, HeartbeatRsp, Join};
use rekko_cluster::{Address, Gossip, Member, MemberStatus, Reachability, UniqueAddress};
use rekko_interop_tests::{require_jvm, FixtureSpec, HarnessError, JvmNode, PekkoVersion};

const ANSWER: Duration = Duration::from_secs(30);

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64_encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = B64.iter().position(|x| *x == c).expect("base64 character") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

fn node(port: u16, uid: i64) -> UniqueAddress {
    UniqueAddress::new(Address::new("ClusterSystem", "127.0.0.1", port), uid)
}

fn member(
    n: &UniqueAddress,
    status: MemberStatus,
    up: i32,
    roles: &[&str],
    version: &str,
) -> Member {
    Member {
        up_number: up,
        ..Member::joining(n.clone(), roles.iter().map(|r| r.to_string()), version)
            .with_status(status)
    }
}

/// A gossip exercising every table: roles, app versions, seen, reachability with an empty
/// observer row, a tombstone, a clock with large uids.
fn sample_gossip() -> Gossip {
    let (a, b, c) = (
        node(2551, 8469301372340155426),
        node(2552, -4223372036854775808),
        node(2553, 3),
    );
    let mut g = Gossip::with_members([
        member(&a, MemberStatus::Up, 1, &["backend"], "1.2.3"),
        member(
            &b,
            MemberStatus::Leaving,
            2,
            &["frontend", "backend"],
            "1.2.3",
        ),
        member(&c, MemberStatus::Joining, i32::MAX, &[], "2.0.0"),
    ]);
    g.reachability = Reachability::new()
        .unreachable(&a, &c)
        .unreachable(&b, &c)
        .reachable(&b, &c);
    g = g
        .increment(&a)
        .increment(&a)
        .increment(&b)
        .seen_by(&a)
        .seen_by(&b);
    g.tombstones.insert(node(2554, 77), 1_700_000_000_000);
    g
}

fn messages() -> Vec<ClusterMessage> {
    let a = node(2551, 8469301372340155426);
    let b = node(2552, -4223372036854775808);
    let g = sample_gossip();
    vec![
        ClusterMessage::Join(Join {
            node: b.clone(),
            roles: vec!["backend".into(), "dc-default".into()],
            app_version: "1.2.3".into(),
        }),
        ClusterMessage::Welcome {
            from: a.clone(),
            gossip: g.clone(),
        },
        ClusterMessage::InitJoin {
            current_config: Some(
                r#"{"pekko":{"cluster":{"downing-provider-class":"","split-brain-resolver":{"active-strategy":"keep-majority"}},"version":"1.7.0"}}"#.into(),
            ),
        },
        ClusterMessage::InitJoinAck {
            address: a.address.clone(),
            config_check: ConfigCheck::Compatible(r#"{"pekko":{"cluster":{"downing-provider-class":""}}}"#.into()),
        },
        ClusterMessage::InitJoinAck {
            address: a.address.clone(),
            config_check: ConfigCheck::Incompatible,
        },
        ClusterMessage::InitJoinNack(a.address.clone()),
        ClusterMessage::Leave(b.address.clone()),
        ClusterMessage::Down(b.address.clone()),
        ClusterMessage::ExitingConfirmed(b.clone()),
        ClusterMessage::GossipEnvelope {
            from: a.clone(),
            to: b.clone(),
            gossip: g.clone(),
        },
        ClusterMessage::GossipStatus {
            from: a.clone(),
            version: g.version.clone(),
            seen_digest: Some(g.seen_digest().to_vec()),
        },
        ClusterMessage::Heartbeat(Heartbeat {
            from: a.address.clone(),
            sequence_nr: 42,
            creation_time: -5_000_000_123,
        }),
        ClusterMessage::HeartbeatRsp(HeartbeatRsp {
            from: b.clone(),
            sequence_nr: 42,
            creation_time: 9_000_000_000,
        }),
    ]
}

/// Role order inside `Join` is a set on the JVM.
fn normalize(m: ClusterMessage) -> ClusterMessage {
    match m {
        ClusterMessage::Join(mut j) => {
            j.roles = j
                .roles
                .into_iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            ClusterMessage::Join(j)
        }
        other => other,
    }
}

fn round_trip_through_jvm(version: PekkoVersion) -> Result<(), HarnessError> {
    let mut jvm = JvmNode::start(
        FixtureSpec::new("org.rekko.fixtures.ClusterWireDump")
            .name(&format!("cluster-wire-{version:?}"))
            .version(version),
    )?;
    for msg in messages() {
        let manifest = msg.manifest();
        let line = jvm.request(
            &format!("decode {manifest} {}", b64_encode(&msg.to_binary())),
            ANSWER,
        )?;
        let mut parts = line.splitn(5, ' ');
        assert_eq!(parts.next(), Some("OK"), "JVM rejected {manifest}: {line}");
        assert_eq!(parts.next(), Some(manifest), "JVM manifest for {msg:?}");
        let jvm_bytes = b64_decode(parts.next().unwrap_or(""));
        let digest = parts.next().unwrap_or("");
        let shown = parts.next().unwrap_or("");
        // the JVM computes the same seen digest for the gossip
        if let ClusterMessage::Welcome { gossip, .. }
        | ClusterMessage::GossipEnvelope { gossip, .. } = &msg
        {
            let ours: String = gossip
                .seen_digest()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert_eq!(digest, ours, "{manifest}: seen digest");
        }
        // the JVM saw what Rekko encoded
        let expected_text: Vec<String> = match &msg {
            ClusterMessage::Welcome { gossip, .. }
            | ClusterMessage::GossipEnvelope { gossip, .. } => gossip
                .members
                .keys()
                .map(|n| n.address.to_string())
                .chain([
                    "Leaving".to_string(),
                    "1.2.3".to_string(),
                    "2.0.0".to_string(),
                ])
                .collect(),
            ClusterMessage::Join(j) => {
                vec![j.node.uid.to_string(), "backend".into(), "1.2.3".into()]
            }
            ClusterMessage::Leave(a)
            | ClusterMessage::Down(a)
            | ClusterMessage::InitJoinNack(a) => {
                vec![a.to_string()]
            }
            ClusterMessage::ExitingConfirmed(n) => vec![n.uid.to_string()],
            ClusterMessage::Heartbeat(h) => {
                vec![h.from.to_string(), "42".into(), "-5000000123".into()]
            }
            ClusterMessage::HeartbeatRsp(h) => vec![h.from.uid.to_string(), "9000000000".into()],
            _ => vec![],
        };
        for t in expected_text {
            assert!(
                shown.contains(&t),
                "{manifest}: JVM toString lacks {t:?}: {shown}"
            );
        }
        // and Rekko reads the JVM's bytes back to the same message
        let back = ClusterMessage::from_binary(manifest, &jvm_bytes)
            .unwrap_or_else(|e| panic!("Rekko cannot decode JVM bytes of {manifest}: {e}"));
        assert_eq!(
            normalize(back),
            normalize(msg.clone()),
            "{manifest} through the JVM"
        );
    }
    // the JVM refuses what Rekko refuses
    let bad = jvm.request("decode GE AAAA", ANSWER)?;
    assert!(bad.starts_with("ERROR"), "{bad}");
    assert!(ClusterMessage::from_binary("GE", &b64_decode("AAAA")).is_err());
    assert!(jvm.quit(ANSWER)?, "fixture did not exit");
    Ok(())
}

#[test]
fn cluster_messages_round_trip_through_pekko_1_7() -> Result<(), HarnessError> {
    require_jvm!();
    round_trip_through_jvm(PekkoVersion::V1_7_0)
}

#[test]
fn cluster_messages_round_trip_through_pekko_1_0_3() -> Result<(), HarnessError> {
    require_jvm!();
    round_trip_through_jvm(PekkoVersion::V1_0_3)
}

#[test]
fn base64_helper_round_trips() {
    for n in 0..10u8 {
        let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
        assert_eq!(b64_decode(&b64_encode(&data)), data);
    }
    assert_eq!(b64_encode(b"Sys"), "U3lz");
}
