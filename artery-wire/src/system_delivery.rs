//! Acknowledged, ordered delivery of system messages (Watch, Unwatch,
//! DeathWatchNotification, ...) over the control stream, sans-I/O.
//!
//! [`SystemMessageSender`] numbers outgoing messages, keeps them until acked,
//! resends all unacked ones every `resend_interval`, and reports when the
//! association must be quarantined (buffer overflow or no ack for
//! `give_up_after`). [`SystemMessageAcker`] is the receiving side: it acks
//! in-order messages, re-acks duplicates and nacks gaps, per sender
//! incarnation.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::address::{Address, UniqueAddress};
use crate::control::{ArteryMessage, SystemMessageEnvelope};
use crate::serializers::SYSTEM_MESSAGE;

/// `pekko.remote.artery.advanced.system-message-*` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeliverySettings {
    /// `system-message-buffer-size` (20000).
    pub buffer_size: usize,
    /// `system-message-resend-interval` (1 s).
    pub resend_interval: Duration,
    /// `give-up-system-message-after` (6 h).
    pub give_up_after: Duration,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            buffer_size: 20_000,
            resend_interval: Duration::from_secs(1),
            give_up_after: Duration::from_secs(6 * 3600),
        }
    }
}

/// One sequenced system message ready to be put in a `j` envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequenced {
    /// Envelope recipient: the actor the system message is for.
    pub recipient: String,
    /// The `SystemMessageEnvelope` payload.
    pub envelope: SystemMessageEnvelope,
}

impl Sequenced {
    /// The control message to encode.
    pub fn message(&self) -> ArteryMessage {
        ArteryMessage::SystemMessageEnvelope(self.envelope.clone())
    }
}

/// Why the sender gave up: the association must be quarantined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GiveUp {
    /// More than `buffer_size` unacked messages.
    BufferOverflow {
        /// The configured buffer size.
        size: usize,
    },
    /// No ack for longer than `give_up_after`.
    Unacknowledged {
        /// Time since the last ack (or the first unacked send).
        for_: Duration,
    },
}

/// Sender side for one association.
#[derive(Debug, Clone)]
pub struct SystemMessageSender {
    local: UniqueAddress,
    settings: DeliverySettings,
    seq_no: u64,
    peer_uid: Option<u64>,
    unacked: VecDeque<Sequenced>,
    next_resend: Option<Instant>,
    last_progress: Option<Instant>,
}

impl SystemMessageSender {
    /// A sender for messages from `local`.
    pub fn new(local: UniqueAddress, settings: DeliverySettings) -> Self {
        SystemMessageSender {
            local,
            settings,
            seq_no: 0,
            peer_uid: None,
            unacked: VecDeque::new(),
            next_resend: None,
            last_progress: None,
        }
    }

    /// Number of unacknowledged messages.
    pub fn unacked_len(&self) -> usize {
        self.unacked.len()
    }

    /// The last assigned sequence number.
    pub fn seq_no(&self) -> u64 {
        self.seq_no
    }

    /// Sends a serializer-22 system message to `recipient` on the peer
    /// incarnation `peer_uid`. If the incarnation changed, the old sequence
    /// is cleared first (its unacked messages are returned in the error-free
    /// path through [`SystemMessageSender::clear`] semantics: dropped).
    pub fn send(
        &mut self,
        peer_uid: u64,
        recipient: String,
        message: Bytes,
        now: Instant,
    ) -> Result<Sequenced, GiveUp> {
        if self.peer_uid != Some(peer_uid) {
            self.clear();
            self.peer_uid = Some(peer_uid);
        }
        if self.unacked.len() >= self.settings.buffer_size {
            return Err(GiveUp::BufferOverflow {
                size: self.settings.buffer_size,
            });
        }
        self.seq_no += 1;
        let s = Sequenced {
            recipient,
            envelope: SystemMessageEnvelope {
                message,
                serializer_id: SYSTEM_MESSAGE,
                manifest: None,
                seq_no: self.seq_no,
                ack_reply_to: self.local.clone(),
            },
        };
        if self.unacked.is_empty() {
            self.last_progress = Some(now);
        }
        self.unacked.push_back(s.clone());
        self.next_resend = Some(now + self.settings.resend_interval);
        Ok(s)
    }

    /// An `Ack(n)` from `from`; ignored if `from` is not `remote`.
    pub fn on_ack(&mut self, seq_no: u64, from: &UniqueAddress, remote: &Address, now: Instant) {
        if from.address != *remote || Some(from.uid) != self.peer_uid {
            return;
        }
        let before = self.unacked.len();
        while self
            .unacked
            .front()
            .is_some_and(|s| s.envelope.seq_no <= seq_no)
        {
            self.unacked.pop_front();
        }
        if self.unacked.len() != before || self.unacked.is_empty() {
            self.last_progress = Some(now);
        }
        if self.unacked.is_empty() {
            self.next_resend = None;
        }
    }

    /// A `Nack(n)`: acks up to `n`; the rest goes with the next resend.
    /// Returns false if `n` is beyond anything sent (a peer bug, logged by
    /// the caller).
    pub fn on_nack(
        &mut self,
        seq_no: u64,
        from: &UniqueAddress,
        remote: &Address,
        now: Instant,
    ) -> bool {
        if seq_no > self.seq_no {
            return false;
        }
        self.on_ack(seq_no, from, remote, now);
        true
    }

    /// Timers: the messages to resend now, or a give-up.
    pub fn poll(&mut self, now: Instant) -> Result<Vec<Sequenced>, GiveUp> {
        if self.unacked.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(t) = self.last_progress {
            let idle = now.saturating_duration_since(t);
            if idle > self.settings.give_up_after {
                return Err(GiveUp::Unacknowledged { for_: idle });
            }
        }
        match self.next_resend {
            Some(t) if now >= t => {
                self.next_resend = Some(now + self.settings.resend_interval);
                Ok(self.unacked.iter().cloned().collect())
            }
            _ => Ok(Vec::new()),
        }
    }

    /// When [`SystemMessageSender::poll`] next has something to do.
    pub fn poll_at(&self) -> Option<Instant> {
        self.next_resend
    }

    /// Drops all unacked messages (quarantine or new incarnation) and
    /// restarts the sequence; returns what was dropped (dead letters).
    pub fn clear(&mut self) -> Vec<Sequenced> {
        self.seq_no = 0;
        self.next_resend = None;
        self.last_progress = None;
        self.peer_uid = None;
        self.unacked.drain(..).collect()
    }
}

/// What the acker decided for one inbound `SystemMessageEnvelope`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckDecision {
    /// Send this `Ack`/`Nack` on the control stream to `reply_to`.
    pub reply: ArteryMessage,
    /// The address to send the reply to.
    pub reply_to: Address,
    /// Deliver the inner system message to the envelope recipient.
    pub deliver: bool,
}

/// Receiver side: next expected sequence number per sender incarnation.
#[derive(Debug, Clone)]
pub struct SystemMessageAcker {
    local: UniqueAddress,
    expected: HashMap<UniqueAddress, u64>,
}

impl SystemMessageAcker {
    /// An acker that signs its acks with `local`.
    pub fn new(local: UniqueAddress) -> Self {
        SystemMessageAcker {
            local,
            expected: HashMap::new(),
        }
    }

    /// Handles one inbound `SystemMessageEnvelope`.
    pub fn on_envelope(&mut self, env: &SystemMessageEnvelope) -> AckDecision {
        let expected = self.expected.entry(env.ack_reply_to.clone()).or_insert(1);
        let (reply, deliver) = if env.seq_no == *expected {
            *expected += 1;
            (
                ArteryMessage::Ack {
                    seq_no: env.seq_no,
                    from: self.local.clone(),
                },
                true,
            )
        } else if env.seq_no < *expected {
            (
                ArteryMessage::Ack {
                    seq_no: *expected - 1,
                    from: self.local.clone(),
                },
                false,
            )
        } else {
            (
                ArteryMessage::Nack {
                    seq_no: *expected - 1,
                    from: self.local.clone(),
                },
                false,
            )
        };
        AckDecision {
            reply,
            reply_to: env.ack_reply_to.address.clone(),
            deliver,
        }
    }

    /// Forgets a sender incarnation (quarantined or replaced).
    pub fn forget(&mut self, peer: &UniqueAddress) {
        self.expected.remove(peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a() -> UniqueAddress {
        UniqueAddress::new(Address::new("A", "h", 1), 1)
    }
    fn b() -> UniqueAddress {
        UniqueAddress::new(Address::new("B", "h", 2), 2)
    }
    fn msg(n: u8) -> Bytes {
        Bytes::from(vec![n])
    }

    #[test]
    fn numbers_resends_and_acks() {
        let t0 = Instant::now();
        let mut s = SystemMessageSender::new(a(), DeliverySettings::default());
        let m1 = s.send(2, "r".into(), msg(1), t0).unwrap();
        let m2 = s.send(2, "r".into(), msg(2), t0).unwrap();
        assert_eq!((m1.envelope.seq_no, m2.envelope.seq_no), (1, 2));
        assert_eq!(m1.envelope.ack_reply_to, a());
        assert!(s.poll(t0 + Duration::from_millis(999)).unwrap().is_empty());
        let resent = s.poll(t0 + Duration::from_secs(1)).unwrap();
        assert_eq!(resent, vec![m1, m2.clone()]);
        s.on_ack(1, &b(), &b().address, t0);
        assert_eq!(s.unacked_len(), 1);
        assert_eq!(s.poll(t0 + Duration::from_secs(2)).unwrap(), vec![m2]);
        s.on_ack(2, &b(), &b().address, t0);
        assert_eq!(s.unacked_len(), 0);
        assert_eq!(s.poll_at(), None);
    }

    #[test]
    fn ack_from_wrong_peer_is_ignored() {
        let t0 = Instant::now();
        let mut s = SystemMessageSender::new(a(), DeliverySettings::default());
        s.send(2, "r".into(), msg(1), t0).unwrap();
        s.on_ack(1, &a(), &b().address, t0);
        s.on_ack(1, &UniqueAddress::new(b().address, 99), &b().address, t0);
        assert_eq!(s.unacked_len(), 1);
    }

    #[test]
    fn nack_acks_prefix_and_rejects_future() {
        let t0 = Instant::now();
        let mut s = SystemMessageSender::new(a(), DeliverySettings::default());
        for i in 0..3 {
            s.send(2, "r".into(), msg(i), t0).unwrap();
        }
        assert!(s.on_nack(1, &b(), &b().address, t0));
        assert_eq!(s.unacked_len(), 2);
        assert!(!s.on_nack(9, &b(), &b().address, t0));
    }

    #[test]
    fn new_incarnation_restarts_sequence() {
        let t0 = Instant::now();
        let mut s = SystemMessageSender::new(a(), DeliverySettings::default());
        s.send(2, "r".into(), msg(1), t0).unwrap();
        s.send(2, "r".into(), msg(2), t0).unwrap();
        let m = s.send(3, "r".into(), msg(3), t0).unwrap();
        assert_eq!(m.envelope.seq_no, 1);
        assert_eq!(s.unacked_len(), 1);
    }

    #[test]
    fn overflow_and_give_up() {
        let t0 = Instant::now();
        let settings = DeliverySettings {
            buffer_size: 2,
            resend_interval: Duration::from_secs(1),
            give_up_after: Duration::from_secs(10),
        };
        let mut s = SystemMessageSender::new(a(), settings);
        s.send(2, "r".into(), msg(1), t0).unwrap();
        s.send(2, "r".into(), msg(2), t0).unwrap();
        assert_eq!(
            s.send(2, "r".into(), msg(3), t0),
            Err(GiveUp::BufferOverflow { size: 2 })
        );
        assert!(matches!(
            s.poll(t0 + Duration::from_secs(11)),
            Err(GiveUp::Unacknowledged { .. })
        ));
        assert_eq!(s.clear().len(), 2);
        assert_eq!(s.seq_no(), 0);
    }

    fn env(seq_no: u64, from: UniqueAddress) -> SystemMessageEnvelope {
        SystemMessageEnvelope {
            message: msg(0),
            serializer_id: 22,
            manifest: None,
            seq_no,
            ack_reply_to: from,
        }
    }

    #[test]
    fn acker_acks_in_order_reacks_duplicates_nacks_gaps() {
        let mut ack = SystemMessageAcker::new(b());
        let d = ack.on_envelope(&env(1, a()));
        assert!(d.deliver);
        assert_eq!(d.reply_to, a().address);
        assert_eq!(
            d.reply,
            ArteryMessage::Ack {
                seq_no: 1,
                from: b()
            }
        );
        let d = ack.on_envelope(&env(1, a()));
        assert!(!d.deliver);
        assert_eq!(
            d.reply,
            ArteryMessage::Ack {
                seq_no: 1,
                from: b()
            }
        );
        let d = ack.on_envelope(&env(3, a()));
        assert!(!d.deliver);
        assert_eq!(
            d.reply,
            ArteryMessage::Nack {
                seq_no: 1,
                from: b()
            }
        );
        assert!(ack.on_envelope(&env(2, a())).deliver);
        // A new incarnation of A starts at 1 again.
        let a2 = UniqueAddress::new(a().address, 77);
        assert!(ack.on_envelope(&env(1, a2.clone())).deliver);
        ack.forget(&a2);
        assert!(ack.on_envelope(&env(1, a2)).deliver);
    }

    #[test]
    fn sender_and_acker_converge_with_losses() {
        // Lose about 40% of transmissions (deterministic xorshift); resends
        // must get everything through exactly once and in order.
        let t0 = Instant::now();
        let mut s = SystemMessageSender::new(a(), DeliverySettings::default());
        let mut r = SystemMessageAcker::new(b());
        let mut delivered = Vec::new();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut pending = Vec::new();
        for i in 0..10u8 {
            pending.push(s.send(2, "r".into(), msg(i), t0).unwrap());
        }
        for tick in 1..100u64 {
            for m in pending.drain(..) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                if rng % 10 < 4 {
                    continue;
                }
                let d = r.on_envelope(&m.envelope);
                if d.deliver {
                    delivered.push(m.envelope.message[0]);
                }
                match d.reply {
                    ArteryMessage::Ack { seq_no, from } => {
                        s.on_ack(seq_no, &from, &b().address, t0)
                    }
                    ArteryMessage::Nack { seq_no, from } => {
                        s.on_nack(seq_no, &from, &b().address, t0);
                    }
                    _ => unreachable!(),
                }
            }
            pending = s.poll(t0 + Duration::from_secs(tick)).unwrap();
            if s.unacked_len() == 0 {
                break;
            }
        }
        assert_eq!(delivered, (0..10).collect::<Vec<_>>());
    }
}
