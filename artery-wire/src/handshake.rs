//! The Artery handshake, sans-I/O.
//!
//! [`OutboundHandshake`] is the initiator side for one association: it emits
//! `HandshakeReq` on start, retries every `retry_interval` until the peer's
//! uid is known, fails after `timeout`, and asks for a re-injected request at
//! most every `inject_interval` while traffic flows. [`respond`] is the
//! responder side: it validates an inbound `HandshakeReq` and produces the
//! `HandshakeRsp`. Both feed [`PeerUid`], which tracks the peer incarnation.

use std::time::{Duration, Instant};

use crate::address::{Address, UniqueAddress};
use crate::control::ArteryMessage;

/// Handshake timing, `pekko.remote.artery.advanced.handshake-*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeSettings {
    /// `handshake-timeout` (20 s).
    pub timeout: Duration,
    /// `handshake-retry-interval` (1 s).
    pub retry_interval: Duration,
    /// `inject-handshake-interval` (1 s).
    pub inject_interval: Duration,
}

impl Default for HandshakeSettings {
    fn default() -> Self {
        HandshakeSettings {
            timeout: Duration::from_secs(20),
            retry_interval: Duration::from_secs(1),
            inject_interval: Duration::from_secs(1),
        }
    }
}

/// How a completed handshake relates to what was known about the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incarnation {
    /// First uid learned for this address.
    First,
    /// Same uid as before (periodic handshake).
    Same,
    /// A different uid: the peer restarted; the old incarnation is gone.
    New {
        /// The previous uid.
        old_uid: u64,
    },
}

/// The uid the peer at one address currently has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerUid {
    uid: Option<u64>,
}

impl PeerUid {
    /// The current uid, if a handshake completed.
    pub fn get(&self) -> Option<u64> {
        self.uid
    }

    /// Records the uid of a completed handshake.
    pub fn complete(&mut self, uid: u64) -> Incarnation {
        match self.uid.replace(uid) {
            None => Incarnation::First,
            Some(old) if old == uid => Incarnation::Same,
            Some(old_uid) => Incarnation::New { old_uid },
        }
    }
}

/// What the initiator asks the driver to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeAction {
    /// Send this `HandshakeReq` (control stream, or every stream on start).
    SendRequest(ArteryMessage),
    /// No answer within the timeout: fail queued messages, report the peer.
    TimedOut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Pending {
        deadline: Instant,
        next_retry: Instant,
    },
    Complete,
    Failed,
}

/// Initiator state of one association.
#[derive(Debug, Clone)]
pub struct OutboundHandshake {
    local: UniqueAddress,
    remote: Address,
    settings: HandshakeSettings,
    state: State,
    last_request: Option<Instant>,
}

impl OutboundHandshake {
    /// A handshake from `local` toward `remote`, not started.
    pub fn new(local: UniqueAddress, remote: Address, settings: HandshakeSettings) -> Self {
        OutboundHandshake {
            local,
            remote,
            settings,
            state: State::Idle,
            last_request: None,
        }
    }

    /// The `HandshakeReq` this side sends.
    pub fn request(&self) -> ArteryMessage {
        ArteryMessage::HandshakeReq {
            from: self.local.clone(),
            to: self.remote.clone(),
        }
    }

    /// Starts (or restarts after a failure) the handshake. `known_uid` is the
    /// peer uid if the association already knows it; then the handshake is
    /// complete at once, but the request is still sent.
    pub fn start(&mut self, known_uid: Option<u64>, now: Instant) -> ArteryMessage {
        self.state = if known_uid.is_some() {
            State::Complete
        } else {
            State::Pending {
                deadline: now + self.settings.timeout,
                next_retry: now + self.settings.retry_interval,
            }
        };
        self.last_request = Some(now);
        self.request()
    }

    /// True once the peer uid is known and messages may flow.
    pub fn is_complete(&self) -> bool {
        self.state == State::Complete
    }

    /// True after a timeout, until the next [`OutboundHandshake::start`].
    pub fn is_failed(&self) -> bool {
        self.state == State::Failed
    }

    /// True while waiting for the peer.
    pub fn is_pending(&self) -> bool {
        matches!(self.state, State::Pending { .. })
    }

    /// The peer's uid became known (an inbound `HandshakeRsp` on the control
    /// stream, or an inbound `HandshakeReq` from that peer).
    pub fn on_peer_uid(&mut self, from: &UniqueAddress) -> bool {
        if from.address != self.remote {
            return false;
        }
        if self.state != State::Failed {
            self.state = State::Complete;
        }
        true
    }

    /// Timers: retries while pending, the timeout.
    pub fn poll(&mut self, now: Instant) -> Option<HandshakeAction> {
        if let State::Pending {
            deadline,
            next_retry,
        } = self.state
        {
            if now >= deadline {
                self.state = State::Failed;
                return Some(HandshakeAction::TimedOut);
            }
            if now >= next_retry {
                self.state = State::Pending {
                    deadline,
                    next_retry: now + self.settings.retry_interval,
                };
                self.last_request = Some(now);
                return Some(HandshakeAction::SendRequest(self.request()));
            }
        }
        None
    }

    /// When [`OutboundHandshake::poll`] next has something to do.
    pub fn poll_at(&self) -> Option<Instant> {
        match self.state {
            State::Pending {
                deadline,
                next_retry,
            } => Some(deadline.min(next_retry)),
            _ => None,
        }
    }

    /// Call before sending an application message on a completed
    /// association: returns a `HandshakeReq` to inject first when
    /// `inject_interval` has passed since the previous one.
    pub fn inject_before_send(&mut self, now: Instant) -> Option<ArteryMessage> {
        if self.state != State::Complete {
            return None;
        }
        match self.last_request {
            Some(t) if now.saturating_duration_since(t) < self.settings.inject_interval => None,
            _ => {
                self.last_request = Some(now);
                Some(self.request())
            }
        }
    }
}

/// Why an inbound `HandshakeReq` was not answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HandshakeRejected {
    /// `to` is not this node's canonical address (system name, host string,
    /// port or protocol differ).
    WrongDestination {
        /// The address the request was for.
        to: Box<Address>,
        /// This node's address.
        local: Box<Address>,
    },
}

/// Responder side: validates an inbound `HandshakeReq(from, to)` and returns
/// the `HandshakeRsp` to send to `from.address` on the control stream. The
/// caller then records `from.uid` with [`PeerUid::complete`].
pub fn respond(
    local: &UniqueAddress,
    to: &Address,
) -> std::result::Result<ArteryMessage, HandshakeRejected> {
    if *to != local.address {
        return Err(HandshakeRejected::WrongDestination {
            to: Box::new(to.clone()),
            local: Box::new(local.address.clone()),
        });
    }
    Ok(ArteryMessage::HandshakeRsp(local.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> UniqueAddress {
        UniqueAddress::new(Address::new("A", "127.0.0.1", 1), 11)
    }
    fn remote() -> Address {
        Address::new("B", "127.0.0.1", 2)
    }

    #[test]
    fn retries_then_times_out() {
        let t0 = Instant::now();
        let mut h = OutboundHandshake::new(local(), remote(), HandshakeSettings::default());
        let req = h.start(None, t0);
        assert!(matches!(req, ArteryMessage::HandshakeReq { .. }));
        assert!(h.is_pending());
        assert_eq!(h.poll(t0 + Duration::from_millis(500)), None);
        assert_eq!(h.poll_at(), Some(t0 + Duration::from_secs(1)));
        let mut retries = 0;
        for s in 1..20 {
            if let Some(HandshakeAction::SendRequest(_)) = h.poll(t0 + Duration::from_secs(s)) {
                retries += 1;
            }
        }
        assert_eq!(retries, 19);
        assert_eq!(
            h.poll(t0 + Duration::from_secs(20)),
            Some(HandshakeAction::TimedOut)
        );
        assert!(h.is_failed());
        assert_eq!(h.poll(t0 + Duration::from_secs(21)), None);
    }

    #[test]
    fn completes_on_response_from_the_right_address() {
        let t0 = Instant::now();
        let mut h = OutboundHandshake::new(local(), remote(), HandshakeSettings::default());
        h.start(None, t0);
        assert!(!h.on_peer_uid(&UniqueAddress::new(Address::new("C", "127.0.0.1", 2), 5)));
        assert!(h.is_pending());
        assert!(h.on_peer_uid(&UniqueAddress::new(remote(), 5)));
        assert!(h.is_complete());
        assert_eq!(h.poll(t0 + Duration::from_secs(30)), None);
    }

    #[test]
    fn known_uid_completes_at_once_and_injects_once_per_interval() {
        let t0 = Instant::now();
        let mut h = OutboundHandshake::new(local(), remote(), HandshakeSettings::default());
        h.start(Some(5), t0);
        assert!(h.is_complete());
        assert_eq!(h.inject_before_send(t0 + Duration::from_millis(999)), None);
        assert!(h.inject_before_send(t0 + Duration::from_secs(1)).is_some());
        assert_eq!(h.inject_before_send(t0 + Duration::from_millis(1500)), None);
    }

    #[test]
    fn responder_checks_destination() {
        let l = local();
        assert_eq!(
            respond(&l, &l.address),
            Ok(ArteryMessage::HandshakeRsp(l.clone()))
        );
        let other = Address::new("A", "localhost", 1);
        assert!(matches!(
            respond(&l, &other),
            Err(HandshakeRejected::WrongDestination { .. })
        ));
    }

    #[test]
    fn peer_uid_tracks_incarnations() {
        let mut p = PeerUid::default();
        assert_eq!(p.complete(1), Incarnation::First);
        assert_eq!(p.complete(1), Incarnation::Same);
        assert_eq!(p.complete(2), Incarnation::New { old_uid: 1 });
        assert_eq!(p.get(), Some(2));
    }
}
