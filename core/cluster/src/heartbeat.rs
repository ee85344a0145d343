//! Cluster failure detection without I/O: the monitoring ring (who heartbeats whom) and the
//! heartbeat sender state with one phi accrual detector per monitored node.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use artery_wire::failure_detector::{PhiAccrualFailureDetector, PhiAccrualSettings};

use crate::address::{Address, UniqueAddress};
use crate::codec::{Heartbeat, HeartbeatRsp};

/// Pekko's ring order: `Long.hashCode(uid)` ascending, ties by address ordering.
pub fn ring_ordering(a: &UniqueAddress, b: &UniqueAddress) -> Ordering {
    a.ring_hash()
        .cmp(&b.ring_hash())
        .then_with(|| a.address.cmp(&b.address))
        .then_with(|| a.uid.cmp(&b.uid))
}

/// The monitoring ring (Pekko's `HeartbeatNodeRing`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeartbeatNodeRing {
    self_node: UniqueAddress,
    nodes: Vec<UniqueAddress>,
    unreachable: BTreeSet<UniqueAddress>,
    monitored_by_nr_of_members: usize,
}

impl HeartbeatNodeRing {
    /// A ring of `nodes` (self is always included).
    pub fn new(
        self_node: UniqueAddress,
        nodes: impl IntoIterator<Item = UniqueAddress>,
        unreachable: impl IntoIterator<Item = UniqueAddress>,
        monitored_by_nr_of_members: usize,
    ) -> HeartbeatNodeRing {
        let mut ring = HeartbeatNodeRing {
            nodes: Vec::new(),
            unreachable: unreachable.into_iter().collect(),
            monitored_by_nr_of_members,
            self_node: self_node.clone(),
        };
        for n in nodes.into_iter().chain([self_node]) {
            ring.insert(n);
        }
        ring
    }

    fn insert(&mut self, n: UniqueAddress) {
        if let Err(i) = self.nodes.binary_search_by(|x| ring_ordering(x, &n)) {
            self.nodes.insert(i, n);
        }
    }

    /// The nodes in ring order.
    pub fn nodes(&self) -> &[UniqueAddress] {
        &self.nodes
    }

    /// A copy with `n` added.
    pub fn with_node(&self, n: UniqueAddress) -> HeartbeatNodeRing {
        let mut r = self.clone();
        r.insert(n);
        r
    }

    /// A copy without `n`.
    pub fn without_node(&self, n: &UniqueAddress) -> HeartbeatNodeRing {
        let mut r = self.clone();
        r.nodes.retain(|x| x != n);
        r.unreachable.remove(n);
        r
    }

    /// A copy with `n` marked unreachable (or reachable).
    pub fn with_unreachable(&self, n: &UniqueAddress, unreachable: bool) -> HeartbeatNodeRing {
        let mut r = self.clone();
        if unreachable {
            r.unreachable.insert(n.clone());
        } else {
            r.unreachable.remove(n);
        }
        r
    }

    /// The nodes `sender` heartbeats: the next `monitored-by-nr-of-members` reachable nodes
    /// clockwise, plus unreachable ones met on the way while fewer than that are collected.
    pub fn receivers(&self, sender: &UniqueAddress) -> BTreeSet<UniqueAddress> {
        let k = self.monitored_by_nr_of_members;
        if k >= self.nodes.len().saturating_sub(1) {
            return self
                .nodes
                .iter()
                .filter(|n| *n != sender)
                .cloned()
                .collect();
        }
        let start = match self.nodes.binary_search_by(|x| ring_ordering(x, sender)) {
            Ok(i) | Err(i) => i,
        };
        let mut acc = BTreeSet::new();
        let first = self.nodes[start..].iter().filter(|n| *n != sender);
        let remaining = self.take(k, first, &mut acc);
        if remaining > 0 {
            self.take(
                remaining,
                self.nodes.iter().filter(|n| *n != sender),
                &mut acc,
            );
        }
        acc
    }

    fn take<'a>(
        &self,
        mut n: usize,
        iter: impl Iterator<Item = &'a UniqueAddress>,
        acc: &mut BTreeSet<UniqueAddress>,
    ) -> usize {
        for next in iter {
            if n == 0 {
                break;
            }
            let unreachable = self.unreachable.contains(next);
            if unreachable && acc.len() >= self.monitored_by_nr_of_members {
                continue;
            }
            acc.insert(next.clone());
            if !unreachable {
                n -= 1;
            }
        }
        n
    }

    /// This node's receivers.
    pub fn my_receivers(&self) -> BTreeSet<UniqueAddress> {
        self.receivers(&self.self_node)
    }
}

/// `pekko.cluster.failure-detector.*`.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(rename_all = "kebab-case", default)]
pub struct FailureDetectorSettings {
    /// `heartbeat-interval`.
    pub heartbeat_interval: Duration,
    /// `threshold`.
    pub threshold: f64,
    /// `max-sample-size`.
    pub max_sample_size: usize,
    /// `min-std-deviation`.
    pub min_std_deviation: Duration,
    /// `acceptable-heartbeat-pause`.
    pub acceptable_heartbeat_pause: Duration,
    /// `monitored-by-nr-of-members`.
    pub monitored_by_nr_of_members: usize,
    /// `expected-response-after`.
    pub expected_response_after: Duration,
}

impl Default for FailureDetectorSettings {
    fn default() -> Self {
        FailureDetectorSettings {
            heartbeat_interval: Duration::from_secs(1),
            threshold: 8.0,
            max_sample_size: 1000,
            min_std_deviation: Duration::from_millis(100),
            acceptable_heartbeat_pause: Duration::from_secs(3),
            monitored_by_nr_of_members: 9,
            expected_response_after: Duration::from_secs(1),
        }
    }
}

impl FailureDetectorSettings {
    /// The phi accrual settings these keys describe.
    pub fn phi(&self) -> PhiAccrualSettings {
        PhiAccrualSettings {
            threshold: self.threshold,
            max_sample_size: self.max_sample_size,
            min_std_deviation: self.min_std_deviation,
            acceptable_heartbeat_pause: self.acceptable_heartbeat_pause,
            first_heartbeat_estimate: self.heartbeat_interval,
        }
    }
}

/// The heartbeat sender of one node (Pekko's `ClusterHeartbeatSender` state).
#[derive(Clone, Debug)]
pub struct HeartbeatSender {
    settings: FailureDetectorSettings,
    ring: HeartbeatNodeRing,
    old_receivers_now_unreachable: BTreeSet<UniqueAddress>,
    detectors: BTreeMap<Address, PhiAccrualFailureDetector>,
    expected_first: Vec<(Instant, UniqueAddress)>,
    sequence_nr: i64,
}

impl HeartbeatSender {
    /// A sender for `self_node`, started when the node became a member.
    pub fn new(self_node: UniqueAddress, settings: FailureDetectorSettings) -> HeartbeatSender {
        let k = settings.monitored_by_nr_of_members;
        HeartbeatSender {
            settings,
            ring: HeartbeatNodeRing::new(self_node, [], [], k),
            old_receivers_now_unreachable: BTreeSet::new(),
            detectors: BTreeMap::new(),
            expected_first: Vec::new(),
            sequence_nr: 0,
        }
    }

    /// The current ring.
    pub fn ring(&self) -> &HeartbeatNodeRing {
        &self.ring
    }

    /// Nodes heartbeated in each round.
    pub fn active_receivers(&self) -> BTreeSet<UniqueAddress> {
        let mut r = self.ring.my_receivers();
        r.extend(self.old_receivers_now_unreachable.iter().cloned());
        r
    }

    fn is_monitoring(&self, a: &Address) -> bool {
        self.detectors.get(a).is_some_and(|d| d.is_monitoring())
    }

    /// True unless the detector of `node` says it failed (never-heartbeated nodes are
    /// available): the verdict the reaper turns into reachability records.
    pub fn is_available(&self, node: &Address, now: Instant) -> bool {
        self.detectors.get(node).is_none_or(|d| d.is_available(now))
    }

    fn heartbeat_from(&mut self, a: &Address, now: Instant) {
        let phi = self.settings.phi();
        self.detectors
            .entry(a.clone())
            .or_insert_with(|| PhiAccrualFailureDetector::new(phi))
            .heartbeat(now);
    }

    fn membership_change(&mut self, new_ring: HeartbeatNodeRing, now: Instant) {
        let old = self.ring.my_receivers();
        let new = new_ring.my_receivers();
        for removed in old.difference(&new) {
            if self.is_available(&removed.address, now) {
                self.detectors.remove(&removed.address);
            } else {
                self.old_receivers_now_unreachable.insert(removed.clone());
            }
        }
        self.ring = new_ring;
    }

    /// A member appeared (any status).
    pub fn add_member(&mut self, node: UniqueAddress, now: Instant) {
        let ring = self.ring.with_node(node);
        self.membership_change(ring, now);
    }

    /// A member was removed.
    pub fn remove_member(&mut self, node: &UniqueAddress, now: Instant) {
        let ring = self.ring.without_node(node);
        self.membership_change(ring, now);
        self.detectors.remove(&node.address);
        self.old_receivers_now_unreachable.remove(node);
    }

    /// A member became unreachable (`true`) or reachable again (`false`) in the cluster view.
    pub fn set_unreachable(&mut self, node: &UniqueAddress, unreachable: bool, now: Instant) {
        let ring = self.ring.with_unreachable(node, unreachable);
        self.membership_change(ring, now);
    }

    /// One heartbeat round: the heartbeat and its receivers. Receivers never heard from get an
    /// "expected first heartbeat" check after `expected-response-after`.
    pub fn tick(
        &mut self,
        self_address: &Address,
        creation_time_nanos: i64,
        now: Instant,
    ) -> (Heartbeat, Vec<UniqueAddress>) {
        self.sequence_nr += 1;
        let receivers: Vec<UniqueAddress> = self.active_receivers().into_iter().collect();
        for r in &receivers {
            if !self.is_monitoring(&r.address) && !self.expected_first.iter().any(|(_, n)| n == r) {
                self.expected_first
                    .push((now + self.settings.expected_response_after, r.clone()));
            }
        }
        self.fire_expected_first(now);
        (
            Heartbeat {
                from: self_address.clone(),
                sequence_nr: self.sequence_nr,
                creation_time: creation_time_nanos,
            },
            receivers,
        )
    }

    /// Feeds a synthetic first heartbeat for receivers that never answered in time, so that a
    /// silent node becomes unavailable after the normal detection time.
    pub fn fire_expected_first(&mut self, now: Instant) {
        let due: Vec<UniqueAddress> = self
            .expected_first
            .iter()
            .filter(|(at, _)| *at <= now)
            .map(|(_, n)| n.clone())
            .collect();
        self.expected_first.retain(|(at, _)| *at > now);
        let active = self.active_receivers();
        for n in due {
            if active.contains(&n) && !self.is_monitoring(&n.address) {
                self.heartbeat_from(&n.address, now);
            }
        }
    }

    /// A `HeartbeatRsp` arrived.
    pub fn on_response(&mut self, rsp: &HeartbeatRsp, now: Instant) {
        if !self.active_receivers().contains(&rsp.from) {
            return;
        }
        self.heartbeat_from(&rsp.from.address, now);
        if self.old_receivers_now_unreachable.contains(&rsp.from)
            && !self.ring.my_receivers().contains(&rsp.from)
        {
            self.old_receivers_now_unreachable.remove(&rsp.from);
        }
    }
}
