//! The watching side of remote death watch, sans-I/O (Pekko's
//! `RemoteWatcher`): which remote actors are watched per node, heartbeats
//! to those nodes, re-watch when a node answers with a new uid, and node
//! loss detected by the phi accrual failure detector.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use crate::address::Address;
use crate::failure_detector::{PhiAccrualFailureDetector, PhiAccrualSettings};

/// Timing of the remote watcher (`pekko.remote.watch-failure-detector.*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RemoteWatchSettings {
    /// `heartbeat-interval` (1 s).
    pub heartbeat_interval: Duration,
    /// `expected-response-after` (1 s): start the detector even without a
    /// response this long after the first heartbeat.
    pub expected_response_after: Duration,
    /// `unreachable-nodes-reaper-interval` (1 s).
    pub reaper_interval: Duration,
    /// The failure detector.
    pub detector: PhiAccrualSettings,
}

impl Default for RemoteWatchSettings {
    fn default() -> Self {
        RemoteWatchSettings {
            heartbeat_interval: Duration::from_secs(1),
            expected_response_after: Duration::from_secs(1),
            reaper_interval: Duration::from_secs(1),
            detector: PhiAccrualSettings::default(),
        }
    }
}

/// What the driver has to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchAction {
    /// Send `ArteryHeartbeat` to the node's `/system/remote-watcher`.
    SendHeartbeat(Address),
    /// Send `Watch` again for these actors (first response or new uid).
    Rewatch(Address, Vec<String>),
    /// The node is considered lost: every watched actor on it terminated
    /// (`addressTerminated = true`); quarantine `uid` if known.
    AddressTerminated {
        /// The lost node.
        address: Address,
        /// Its last known uid.
        uid: Option<u64>,
        /// The watched actors on it.
        actors: Vec<String>,
    },
}

#[derive(Debug, Clone)]
struct Node {
    actors: BTreeSet<String>,
    detector: PhiAccrualFailureDetector,
    uid: Option<u64>,
    next_heartbeat: Instant,
    first_heartbeat: Option<Instant>,
}

/// Watch state of all remote nodes.
#[derive(Debug, Clone)]
pub struct RemoteWatch {
    settings: RemoteWatchSettings,
    nodes: HashMap<Address, Node>,
    unreachable: BTreeSet<Address>,
    next_reap: Option<Instant>,
}

impl RemoteWatch {
    /// An empty watcher.
    pub fn new(settings: RemoteWatchSettings) -> Self {
        RemoteWatch {
            settings,
            nodes: HashMap::new(),
            unreachable: BTreeSet::new(),
            next_reap: None,
        }
    }

    /// Starts watching `actor` on `node`. Returns false if the node is
    /// already considered lost (the caller reports termination at once).
    pub fn watch(&mut self, node: &Address, actor: &str, now: Instant) -> bool {
        if self.unreachable.contains(node) {
            return false;
        }
        let s = self.settings;
        self.nodes
            .entry(node.clone())
            .or_insert_with(|| Node {
                actors: BTreeSet::new(),
                detector: PhiAccrualFailureDetector::new(s.detector),
                uid: None,
                next_heartbeat: now,
                first_heartbeat: None,
            })
            .actors
            .insert(actor.to_string());
        self.next_reap.get_or_insert(now + s.reaper_interval);
        true
    }

    /// Stops watching `actor` (also when its termination arrived).
    pub fn unwatch(&mut self, node: &Address, actor: &str) {
        if let Some(n) = self.nodes.get_mut(node) {
            n.actors.remove(actor);
            if n.actors.is_empty() {
                self.nodes.remove(node);
            }
        }
    }

    /// The actors watched on `node`.
    pub fn watched(&self, node: &Address) -> Vec<String> {
        self.nodes
            .get(node)
            .map(|n| n.actors.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// An `ArteryHeartbeatRsp(uid)` from `node`.
    pub fn on_heartbeat_rsp(
        &mut self,
        node: &Address,
        uid: u64,
        now: Instant,
    ) -> Option<WatchAction> {
        let n = self.nodes.get_mut(node)?;
        n.detector.heartbeat(now);
        if n.uid != Some(uid) {
            n.uid = Some(uid);
            return Some(WatchAction::Rewatch(
                node.clone(),
                n.actors.iter().cloned().collect(),
            ));
        }
        None
    }

    /// Timers: heartbeats due, nodes lost.
    pub fn tick(&mut self, now: Instant) -> Vec<WatchAction> {
        let mut out = Vec::new();
        let s = self.settings;
        for (addr, n) in self.nodes.iter_mut() {
            if now >= n.next_heartbeat {
                out.push(WatchAction::SendHeartbeat(addr.clone()));
                n.next_heartbeat = now + s.heartbeat_interval;
                n.first_heartbeat.get_or_insert(now);
            }
            // A node that never answers is monitored from the expected
            // response time on, so it is detected too.
            if let Some(first) = n.first_heartbeat {
                if !n.detector.is_monitoring() && now >= first + s.expected_response_after {
                    n.detector.heartbeat(now);
                }
            }
        }
        if self.next_reap.is_some_and(|t| now >= t) {
            self.next_reap = Some(now + s.reaper_interval);
            let lost: Vec<Address> = self
                .nodes
                .iter()
                .filter(|(_, n)| n.detector.is_monitoring() && !n.detector.is_available(now))
                .map(|(a, _)| a.clone())
                .collect();
            for a in lost {
                if let Some(n) = self.nodes.remove(&a) {
                    self.unreachable.insert(a.clone());
                    out.push(WatchAction::AddressTerminated {
                        address: a,
                        uid: n.uid,
                        actors: n.actors.into_iter().collect(),
                    });
                }
            }
        }
        out
    }

    /// Forgets that `node` was lost, e.g. when a new incarnation completed
    /// a handshake, so it can be watched again.
    pub fn reachable_again(&mut self, node: &Address) {
        self.unreachable.remove(node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b() -> Address {
        Address::new("B", "h", 2)
    }

    #[test]
    fn heartbeats_rewatch_and_detect_loss() {
        let t0 = Instant::now();
        let mut w = RemoteWatch::new(RemoteWatchSettings::default());
        assert!(w.watch(&b(), "pekko://B@h:2/user/x", t0));
        assert_eq!(w.tick(t0), vec![WatchAction::SendHeartbeat(b())]);
        assert_eq!(
            w.on_heartbeat_rsp(&b(), 7, t0 + Duration::from_millis(10)),
            Some(WatchAction::Rewatch(
                b(),
                vec!["pekko://B@h:2/user/x".into()]
            ))
        );
        let mut now = t0;
        for s in 1..10 {
            now = t0 + Duration::from_secs(s);
            let a = w.tick(now);
            assert_eq!(a, vec![WatchAction::SendHeartbeat(b())]);
            assert_eq!(w.on_heartbeat_rsp(&b(), 7, now), None);
        }
        // Silence: heartbeats keep going out until the node is declared lost.
        let mut lost = None;
        for ms in (0..30_000).step_by(100) {
            let t = now + Duration::from_millis(ms);
            for a in w.tick(t) {
                if let WatchAction::AddressTerminated { .. } = a {
                    lost = Some((t - now, a));
                }
            }
            if lost.is_some() {
                break;
            }
        }
        let (after, action) = lost.expect("node lost");
        assert!(
            after > Duration::from_secs(10) && after < Duration::from_secs(15),
            "{after:?}"
        );
        assert_eq!(
            action,
            WatchAction::AddressTerminated {
                address: b(),
                uid: Some(7),
                actors: vec!["pekko://B@h:2/user/x".into()]
            }
        );
        assert!(!w.watch(&b(), "pekko://B@h:2/user/y", now));
        w.reachable_again(&b());
        assert!(w.watch(&b(), "pekko://B@h:2/user/y", now));
    }

    #[test]
    fn new_uid_triggers_rewatch_and_unwatch_stops_heartbeats() {
        let t0 = Instant::now();
        let mut w = RemoteWatch::new(RemoteWatchSettings::default());
        w.watch(&b(), "a", t0);
        w.tick(t0);
        assert!(w.on_heartbeat_rsp(&b(), 1, t0).is_some());
        assert!(w.on_heartbeat_rsp(&b(), 1, t0).is_none());
        assert!(w.on_heartbeat_rsp(&b(), 2, t0).is_some());
        w.unwatch(&b(), "a");
        assert!(w.tick(t0 + Duration::from_secs(5)).is_empty());
    }

    #[test]
    fn silent_node_is_detected_without_any_response() {
        let t0 = Instant::now();
        let mut w = RemoteWatch::new(RemoteWatchSettings::default());
        w.watch(&b(), "a", t0);
        let lost = (0..300)
            .map(|i| t0 + Duration::from_millis(100 * i))
            .any(|t| {
                w.tick(t)
                    .iter()
                    .any(|a| matches!(a, WatchAction::AddressTerminated { uid: None, .. }))
            });
        assert!(lost);
    }
}
