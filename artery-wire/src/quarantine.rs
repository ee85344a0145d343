//! Quarantine bookkeeping for one association, sans-I/O: which incarnations
//! (uids) of the peer are quarantined, whether harmlessly, and what to do
//! with inbound envelopes from them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::address::UniqueAddress;
use crate::control::ArteryMessage;

/// One quarantined uid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuarantineEntry {
    /// When it was quarantined.
    pub since: Instant,
    /// Graceful shutdown (no `Quarantined` notice is sent to the peer).
    pub harmless: bool,
}

/// What to do with an inbound envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundVerdict {
    /// Not quarantined: process it.
    Accept,
    /// Quarantined: drop it and send this `Quarantined` notice back.
    DropAndNotify(ArteryMessage),
    /// Quarantined: drop silently (heartbeats, `Quarantined` itself).
    Drop,
}

/// Outcome of a quarantine request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuarantineOutcome {
    /// Newly quarantined; send this notice to the peer unless harmless
    /// (`None`).
    Quarantined(Option<ArteryMessage>),
    /// Already quarantined, or not the current uid: nothing to do.
    Ignored,
}

/// The quarantined uids of one remote address.
#[derive(Debug, Clone, Default)]
pub struct QuarantineSet {
    entries: HashMap<u64, QuarantineEntry>,
}

impl QuarantineSet {
    /// Quarantines `peer` if it is the association's `current_uid`.
    pub fn quarantine(
        &mut self,
        local: &UniqueAddress,
        peer: &UniqueAddress,
        current_uid: Option<u64>,
        harmless: bool,
        now: Instant,
    ) -> QuarantineOutcome {
        if current_uid != Some(peer.uid) || self.entries.contains_key(&peer.uid) {
            return QuarantineOutcome::Ignored;
        }
        self.entries.insert(
            peer.uid,
            QuarantineEntry {
                since: now,
                harmless,
            },
        );
        QuarantineOutcome::Quarantined((!harmless).then(|| ArteryMessage::Quarantined {
            from: local.clone(),
            to: peer.clone(),
        }))
    }

    /// True if `uid` is quarantined.
    pub fn is_quarantined(&self, uid: u64) -> bool {
        self.entries.contains_key(&uid)
    }

    /// The entry for `uid`.
    pub fn get(&self, uid: u64) -> Option<QuarantineEntry> {
        self.entries.get(&uid).copied()
    }

    /// Decides about an inbound envelope from `peer`. `exempt` is true for
    /// heartbeats and `Quarantined` notices, which are never answered.
    pub fn check_inbound(
        &self,
        local: &UniqueAddress,
        peer: &UniqueAddress,
        exempt: bool,
    ) -> InboundVerdict {
        match self.entries.get(&peer.uid) {
            None => InboundVerdict::Accept,
            Some(_) if exempt => InboundVerdict::Drop,
            Some(_) => InboundVerdict::DropAndNotify(ArteryMessage::Quarantined {
                from: local.clone(),
                to: peer.clone(),
            }),
        }
    }

    /// Forgets entries older than `keep` (`remove-quarantined-association-after`).
    pub fn expire(&mut self, now: Instant, keep: Duration) {
        self.entries
            .retain(|_, e| now.saturating_duration_since(e.since) < keep);
    }
}

/// True if a `Quarantined(from, to)` notice says *this* incarnation was
/// quarantined by the peer (which then never talks to it again).
pub fn quarantined_us(local: &UniqueAddress, to: &UniqueAddress) -> bool {
    local == to
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;

    fn local() -> UniqueAddress {
        UniqueAddress::new(Address::new("A", "h", 1), 1)
    }
    fn peer(uid: u64) -> UniqueAddress {
        UniqueAddress::new(Address::new("B", "h", 2), uid)
    }

    #[test]
    fn quarantines_current_uid_only_once() {
        let t0 = Instant::now();
        let mut q = QuarantineSet::default();
        assert_eq!(
            q.quarantine(&local(), &peer(5), Some(6), false, t0),
            QuarantineOutcome::Ignored
        );
        assert_eq!(
            q.quarantine(&local(), &peer(5), Some(5), false, t0),
            QuarantineOutcome::Quarantined(Some(ArteryMessage::Quarantined {
                from: local(),
                to: peer(5)
            }))
        );
        assert_eq!(
            q.quarantine(&local(), &peer(5), Some(5), false, t0),
            QuarantineOutcome::Ignored
        );
        assert!(q.is_quarantined(5));
    }

    #[test]
    fn harmless_sends_no_notice() {
        let mut q = QuarantineSet::default();
        assert_eq!(
            q.quarantine(&local(), &peer(5), Some(5), true, Instant::now()),
            QuarantineOutcome::Quarantined(None)
        );
        assert!(q.get(5).unwrap().harmless);
    }

    #[test]
    fn inbound_from_quarantined_uid_is_dropped_new_uid_accepted() {
        let t0 = Instant::now();
        let mut q = QuarantineSet::default();
        q.quarantine(&local(), &peer(5), Some(5), false, t0);
        assert!(matches!(
            q.check_inbound(&local(), &peer(5), false),
            InboundVerdict::DropAndNotify(_)
        ));
        assert_eq!(
            q.check_inbound(&local(), &peer(5), true),
            InboundVerdict::Drop
        );
        assert_eq!(
            q.check_inbound(&local(), &peer(6), false),
            InboundVerdict::Accept
        );
        q.expire(t0 + Duration::from_secs(3601), Duration::from_secs(3600));
        assert!(!q.is_quarantined(5));
    }

    #[test]
    fn detects_notice_about_us() {
        assert!(quarantined_us(&local(), &local()));
        assert!(!quarantined_us(&local(), &peer(1)));
    }
}
