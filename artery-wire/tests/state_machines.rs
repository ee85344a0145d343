//! Property tests of the sans-I/O protocol machines.

use std::time::{Duration, Instant};

use artery_wire::address::{Address, UniqueAddress};
use artery_wire::compression::{InboundDecompression, OutboundCompression, TableKind};
use artery_wire::control::ArteryMessage;
use artery_wire::envelope::{Envelope, Field};
use artery_wire::selection::glob_match;
use artery_wire::system_delivery::{DeliverySettings, SystemMessageAcker, SystemMessageSender};
use bytes::Bytes;
use proptest::prelude::*;

fn a() -> UniqueAddress {
    UniqueAddress::new(Address::new("A", "h", 1), 1)
}
fn b() -> UniqueAddress {
    UniqueAddress::new(Address::new("B", "h", 2), 2)
}

proptest! {
    /// Whatever transmissions (messages and acks) are lost, as long as the
    /// link eventually works again, resends deliver every system message
    /// exactly once and in order.
    #[test]
    fn system_delivery_is_exactly_once_in_order(
        count in 1usize..40,
        losses in proptest::collection::vec(any::<bool>(), 0..200),
    ) {
        let t0 = Instant::now();
        let mut sender = SystemMessageSender::new(a(), DeliverySettings::default());
        let mut acker = SystemMessageAcker::new(b());
        let mut lost = losses.iter().copied().chain(std::iter::repeat(false));
        let mut delivered = Vec::new();
        let mut in_flight = Vec::new();
        for i in 0..count {
            in_flight.push(sender.send(2, "r".into(), Bytes::from(vec![i as u8]), t0).unwrap());
        }
        let mut tick = 0u64;
        while sender.unacked_len() > 0 {
            tick += 1;
            prop_assert!(tick < 10_000, "no progress");
            for m in in_flight.drain(..) {
                if lost.next().unwrap_or(false) {
                    continue;
                }
                let d = acker.on_envelope(&m.envelope);
                if d.deliver {
                    delivered.push(m.envelope.message[0]);
                }
                if lost.next().unwrap_or(false) {
                    continue; // the ack is lost
                }
                match d.reply {
                    ArteryMessage::Ack { seq_no, from } => sender.on_ack(seq_no, &from, &b().address, t0),
                    ArteryMessage::Nack { seq_no, from } => {
                        prop_assert!(sender.on_nack(seq_no, &from, &b().address, t0));
                    }
                    other => prop_assert!(false, "unexpected reply {other:?}"),
                }
            }
            in_flight = sender.poll(t0 + Duration::from_secs(tick)).unwrap();
        }
        prop_assert_eq!(delivered, (0..count as u8).collect::<Vec<_>>());
    }

    /// A table advertised by the receiver and installed by the sender
    /// compresses and decompresses every key back to itself.
    #[test]
    fn compression_tables_round_trip(keys in proptest::collection::btree_set("[a-z/]{1,20}", 1..30)) {
        let keys: Vec<String> = keys.into_iter().collect();
        let mut inbound = InboundDecompression::default();
        let adv = inbound.advertise(&b(), a().uid, TableKind::ActorRef, keys.clone());
        let ArteryMessage::ActorRefCompressionAdvertisement(adv) = adv else {
            return Err(TestCaseError::fail("wrong advertisement kind"));
        };
        let mut outbound = OutboundCompression::default();
        let ack = outbound.on_advertisement(TableKind::ActorRef, &adv, &a(), Some(&b())).unwrap();
        prop_assert!(ack.is_some());
        for k in &keys {
            let (version, index) = outbound.compress(TableKind::ActorRef, k).unwrap();
            let mut env = Envelope::new(a().uid, 20, Field::Compressed(index), Field::empty(), Field::empty(), Bytes::new());
            env.actor_ref_table_version = version;
            inbound.decompress_envelope(&mut env).unwrap();
            prop_assert_eq!(env.sender.as_str(), Some(k.as_str()));
        }
    }

    /// `*` matches any run, `?` one character, and a literal pattern only
    /// itself.
    #[test]
    fn glob_matches_like_a_regex(text in "[ab]{0,8}", pattern in "[ab*?]{0,6}") {
        let re = format!(
            "^{}$",
            pattern.chars().map(|c| match c { '*' => ".*".to_string(), '?' => ".".to_string(), c => c.to_string() }).collect::<String>()
        );
        let expected = simple_regex(&re, &text);
        prop_assert_eq!(glob_match(pattern.as_bytes(), text.as_bytes()), expected);
    }
}

/// Tiny backtracking matcher for `^...$` patterns over `.`, `.*` and
/// literals, enough to check the glob.
fn simple_regex(re: &str, text: &str) -> bool {
    fn m(p: &[u8], t: &[u8]) -> bool {
        if p.is_empty() {
            return t.is_empty();
        }
        if p.len() >= 2 && p[1] == b'*' {
            return (0..=t.len())
                .any(|k| t[..k].iter().all(|&c| p[0] == b'.' || c == p[0]) && m(&p[2..], &t[k..]));
        }
        !t.is_empty() && (p[0] == b'.' || p[0] == t[0]) && m(&p[1..], &t[1..])
    }
    let p = re.trim_start_matches('^').trim_end_matches('$');
    m(p.as_bytes(), text.as_bytes())
}
