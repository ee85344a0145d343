//! Simulation harness: many nodes' [`ClusterCore`]s and heartbeat senders (and optionally split
//! brain resolvers) in one process on virtual time, exchanging messages encoded with the real
//! codec through a simulated network with latency and partitions. Failure detection is the real
//! phi accrual detector fed by heartbeat responses. Deterministic for a given seed.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rekko_cluster::codec::ClusterMessage;
use rekko_cluster::daemon::{ClusterCore, CoreSettings, CoreStatus, Destination, Outgoing};
use rekko_cluster::heartbeat::{FailureDetectorSettings, HeartbeatSender};
use rekko_cluster::sbr::{SbrEvent, SplitBrainResolver, Strategy};
use rekko_cluster::seed::{SeedAction, SeedNodeProcess};
use rekko_cluster::{Address, ClusterEvent, MemberStatus, UniqueAddress};

/// Virtual time step of the simulation.
pub const STEP_MS: i64 = 50;
/// Interval of gossip, reaper, leader actions and SBR ticks.
pub const TICK_MS: i64 = 1000;

pub struct SimNode {
    pub core: ClusterCore,
    pub sbr: Option<SplitBrainResolver>,
    pub events: Vec<(i64, ClusterEvent)>,
    pub alive: bool,
    /// Heartbeats to the monitoring ring and phi accrual detection of the receivers.
    pub heartbeat: HeartbeatSender,
    pub heartbeats_answered: u64,
    /// The seed-node process while joining through `seed-nodes`.
    pub seed: Option<SeedNodeProcess>,
    /// Virtual time at which the node stopped (removed, downed, or its exit completed).
    pub stopped_at: Option<i64>,
    /// Cluster messages delivered to this node: (time, sender index, manifest).
    pub received: Vec<(i64, usize, &'static str)>,
    tick_offset: i64,
}

struct InFlight {
    at: i64,
    from: usize,
    to: Destination,
    manifest: &'static str,
    bytes: Vec<u8>,
}

pub struct Sim {
    pub nodes: Vec<SimNode>,
    pub now: i64,
    rng: StdRng,
    epoch: Instant,
    net: Vec<InFlight>,
    blocked: BTreeSet<(usize, usize)>,
    pub delivered: u64,
}

pub fn address(i: usize) -> Address {
    Address::new("ClusterSystem", "127.0.0.1", 2551 + i as u16)
}

impl Sim {
    /// `n` nodes; with `sbr`, each runs a split brain resolver with that strategy.
    pub fn new(n: usize, seed: u64, sbr: Option<(Strategy, Duration)>) -> Sim {
        let mut rng = StdRng::seed_from_u64(seed);
        let nodes = (0..n)
            .map(|i| {
                let node = UniqueAddress::new(address(i), rng.gen());
                let core = ClusterCore::new(node.clone(), CoreSettings::default(), rng.gen());
                let sbr = sbr.as_ref().map(|(s, stable)| {
                    SplitBrainResolver::new(
                        s.clone(),
                        *stable,
                        Some(Duration::from_secs(4).max(*stable * 3 / 4)),
                        node,
                        "default",
                        Duration::ZERO,
                    )
                });
                SimNode {
                    heartbeat: HeartbeatSender::new(
                        core.self_node().clone(),
                        FailureDetectorSettings::default(),
                    ),
                    heartbeats_answered: 0,
                    seed: None,
                    stopped_at: None,
                    received: Vec::new(),
                    core,
                    sbr,
                    events: Vec::new(),
                    alive: true,
                    tick_offset: rng.gen_range(0..TICK_MS / STEP_MS) * STEP_MS,
                }
            })
            .collect();
        Sim {
            nodes,
            now: 0,
            rng,
            epoch: Instant::now(),
            net: Vec::new(),
            blocked: BTreeSet::new(),
            delivered: 0,
        }
    }

    pub fn node_id(&self, i: usize) -> UniqueAddress {
        self.nodes[i].core.self_node().clone()
    }

    /// Cuts all traffic between the two groups.
    pub fn partition(&mut self, a: &[usize], b: &[usize]) {
        for &x in a {
            for &y in b {
                self.blocked.insert((x, y));
                self.blocked.insert((y, x));
            }
        }
    }

    pub fn heal(&mut self) {
        self.blocked.clear();
    }

    fn send(&mut self, from: usize, out: Vec<Outgoing>) {
        for o in out {
            let latency = self.rng.gen_range(5..40);
            self.net.push(InFlight {
                at: self.now + latency,
                from,
                to: o.to,
                manifest: o.message.manifest(),
                bytes: o.message.to_binary(),
            });
        }
    }

    fn resolve(&self, to: &Destination) -> Option<usize> {
        self.nodes.iter().position(|n| match to {
            Destination::Address(a) => &n.core.self_node().address == a,
            Destination::Node(u) => n.core.self_node() == u,
        })
    }

    pub fn join(&mut self, i: usize, seed: usize) {
        let out = self.nodes[i].core.join(&address(seed), self.now);
        self.collect_events(i);
        self.send(i, out);
    }

    /// Starts node `i` joining through the seed nodes `seeds` (as `pekko.cluster.seed-nodes`).
    pub fn join_seed_nodes(&mut self, i: usize, seeds: &[usize]) {
        let seeds: Vec<Address> = seeds.iter().map(|s| address(*s)).collect();
        let (p, actions) =
            SeedNodeProcess::start(&address(i), &seeds, Duration::from_secs(5), self.dur());
        self.nodes[i].seed = p;
        self.seed_actions(i, actions, None);
    }

    fn dur(&self) -> Duration {
        Duration::from_millis(self.now as u64)
    }

    fn seed_actions(&mut self, i: usize, actions: Vec<SeedAction>, ack: Option<ClusterMessage>) {
        let now = self.now;
        for a in actions {
            let out = match a {
                SeedAction::SendInitJoin(to) => {
                    let init = self.nodes[i].core.init_join().expect("init join payload");
                    to.into_iter()
                        .map(|t| Outgoing {
                            to: Destination::Address(t),
                            message: init.clone(),
                        })
                        .collect()
                }
                SeedAction::JoinSelf => self.nodes[i].core.join(&address(i), now),
                SeedAction::AcceptAck(from) => match ack.clone() {
                    Some(msg) => self.nodes[i].core.receive(&from, msg, now),
                    None => Vec::new(),
                },
            };
            self.collect_events(i);
            self.send(i, out);
        }
    }

    /// Node `i` starts a full cluster shutdown (`prepareForFullClusterShutdown`).
    pub fn prepare_for_full_cluster_shutdown(&mut self, i: usize) {
        let out = self.nodes[i].core.prepare_for_full_cluster_shutdown();
        self.collect_events(i);
        self.send(i, out);
    }

    /// True when every node in `group` sees exactly `group` as members, all with `status`,
    /// and has convergence.
    pub fn all_with_status(&self, group: &[usize], status: MemberStatus) -> bool {
        let ids: BTreeSet<UniqueAddress> = group.iter().map(|&i| self.node_id(i)).collect();
        group.iter().all(|&i| {
            let v = self.view(i);
            v.keys().cloned().collect::<BTreeSet<_>>() == ids
                && v.values().all(|s| *s == status)
                && self.nodes[i].core.state().convergence(&BTreeSet::new())
        })
    }

    /// Kills node `i` (SIGKILL): it stops at once, messages in flight to it are lost.
    pub fn kill(&mut self, i: usize) {
        self.nodes[i].alive = false;
    }

    pub fn leave(&mut self, i: usize) {
        let out = self.nodes[i].core.leave(&address(i));
        self.collect_events(i);
        self.send(i, out);
        self.complete_exit(i);
    }

    fn instant(&self) -> Instant {
        self.epoch + Duration::from_millis(self.now as u64)
    }

    fn collect_events(&mut self, i: usize) {
        let now = self.now;
        let instant = self.instant();
        let node = &mut self.nodes[i];
        for e in node.core.take_events() {
            let me = node.core.self_node().clone();
            match &e {
                ClusterEvent::MemberJoined(m)
                | ClusterEvent::MemberWeaklyUp(m)
                | ClusterEvent::MemberUp(m)
                | ClusterEvent::MemberLeft(m)
                | ClusterEvent::MemberExited(m)
                | ClusterEvent::MemberDowned(m)
                    if m.unique_address != me =>
                {
                    node.heartbeat.add_member(m.unique_address.clone(), instant)
                }
                ClusterEvent::MemberRemoved { member, .. } => node
                    .heartbeat
                    .remove_member(&member.unique_address, instant),
                ClusterEvent::UnreachableMember(m) => {
                    node.heartbeat
                        .set_unreachable(&m.unique_address, true, instant)
                }
                ClusterEvent::ReachableMember(m) => {
                    node.heartbeat
                        .set_unreachable(&m.unique_address, false, instant)
                }
                _ => {}
            }
            if let Some(sbr) = node.sbr.as_mut() {
                if let Some(ev) = SbrEvent::from_cluster_event(&e) {
                    sbr.on_event(ev, Duration::from_millis(now as u64));
                }
            }
            node.events.push((now, e));
        }
    }

    fn deliver_due(&mut self) {
        let now = self.now;
        let (due, rest): (Vec<InFlight>, Vec<InFlight>) = std::mem::take(&mut self.net)
            .into_iter()
            .partition(|m| m.at <= now);
        self.net = rest;
        for m in due {
            let Some(to) = self.resolve(&m.to) else {
                continue;
            };
            if !self.nodes[to].alive || self.blocked.contains(&(m.from, to)) {
                continue;
            }
            let msg = ClusterMessage::from_binary(m.manifest, &m.bytes)
                .expect("simulated wire bytes decode");
            let sender = address(m.from);
            self.delivered += 1;
            self.nodes[to].received.push((now, m.from, m.manifest));
            if let ClusterMessage::HeartbeatRsp(rsp) = &msg {
                let instant = self.instant();
                self.nodes[to].heartbeat.on_response(rsp, instant);
                continue;
            }
            if matches!(msg, ClusterMessage::Heartbeat(_)) {
                self.nodes[to].heartbeats_answered += 1;
            }
            if let Some(p) = self.nodes[to].seed.as_mut() {
                let actions = match &msg {
                    ClusterMessage::InitJoinAck { address, .. } => Some(p.on_ack(address)),
                    ClusterMessage::InitJoinNack(a) => Some(p.on_nack(a)),
                    _ => None,
                };
                if let Some(actions) = actions {
                    self.seed_actions(to, actions, Some(msg));
                    continue;
                }
            }
            let out = self.nodes[to].core.receive(&sender, msg, now);
            self.collect_events(to);
            self.send(to, out);
            self.complete_exit(to);
        }
    }

    /// A node that sees itself Exiting runs its exit tasks at once and stops, as the driver
    /// (and Pekko's coordinated shutdown, whose cluster phases have nothing else to wait for)
    /// does.
    fn complete_exit(&mut self, i: usize) {
        if self.nodes[i].core.in_exit_phase()
            && *self.nodes[i].core.status() == CoreStatus::Initialized
        {
            let out = self.nodes[i].core.exiting_completed();
            self.collect_events(i);
            self.send(i, out);
        }
        self.note_stopped(i);
    }

    fn note_stopped(&mut self, i: usize) {
        if *self.nodes[i].core.status() == CoreStatus::Stopped {
            self.nodes[i].alive = false;
            if self.nodes[i].stopped_at.is_none() {
                self.nodes[i].stopped_at = Some(self.now);
            }
        }
    }

    fn tick_node(&mut self, i: usize) {
        let now = self.now;
        if !self.nodes[i].alive {
            return;
        }
        if let Some(p) = self.nodes[i].seed.as_mut() {
            let actions = p.tick(Duration::from_millis(now as u64));
            self.seed_actions(i, actions, None);
        }
        // heartbeat round to the monitoring ring, then the reaper asks the detectors
        let instant = self.instant();
        let mut out = Vec::new();
        if *self.nodes[i].core.status() == CoreStatus::Initialized {
            let node = &mut self.nodes[i];
            let me = node.core.self_node().address.clone();
            node.heartbeat.fire_expected_first(instant);
            let (hb, receivers) = node.heartbeat.tick(&me, now * 1_000_000, instant);
            for r in receivers {
                out.push(Outgoing {
                    to: Destination::Address(r.address),
                    message: ClusterMessage::Heartbeat(hb.clone()),
                });
            }
        }
        let node = &mut self.nodes[i];
        let hb = &node.heartbeat;
        node.core
            .reap_unreachable(|n| hb.is_available(&n.address, instant));
        self.collect_events(i);
        out.extend(self.nodes[i].core.gossip_tick());
        out.extend(self.nodes[i].core.leader_actions_tick(now));
        self.collect_events(i);
        if let Some(action) = self.nodes[i]
            .sbr
            .as_mut()
            .and_then(|s| s.tick(Duration::from_millis(now as u64)))
        {
            for n in action.down {
                out.extend(self.nodes[i].core.down(&n.address));
            }
            self.collect_events(i);
        }
        self.send(i, out);
        self.complete_exit(i);
    }

    /// Advances virtual time by `ms`.
    pub fn run_for(&mut self, ms: i64) {
        let end = self.now + ms;
        while self.now < end {
            self.now += STEP_MS;
            self.deliver_due();
            for i in 0..self.nodes.len() {
                if (self.now - self.nodes[i].tick_offset) % TICK_MS == 0 {
                    self.tick_node(i);
                }
            }
        }
    }

    /// Runs until `cond` holds (checked every step) or `max_ms` passes; returns the time taken.
    pub fn run_until(&mut self, max_ms: i64, mut cond: impl FnMut(&Sim) -> bool) -> Option<i64> {
        let start = self.now;
        while self.now - start < max_ms {
            if cond(self) {
                return Some(self.now - start);
            }
            self.run_for(STEP_MS);
        }
        cond(self).then(|| self.now - start)
    }

    /// Statuses of all members in node `i`'s view.
    pub fn view(&self, i: usize) -> BTreeMap<UniqueAddress, MemberStatus> {
        self.nodes[i]
            .core
            .gossip()
            .members
            .iter()
            .map(|(k, m)| (k.clone(), m.status))
            .collect()
    }

    /// True when every node in `group` sees exactly `group` as members, all Up, and has
    /// convergence.
    pub fn all_up(&self, group: &[usize]) -> bool {
        let ids: BTreeSet<UniqueAddress> = group.iter().map(|&i| self.node_id(i)).collect();
        group.iter().all(|&i| {
            let v = self.view(i);
            v.keys().cloned().collect::<BTreeSet<_>>() == ids
                && v.values().all(|s| *s == MemberStatus::Up)
                && self.nodes[i].core.state().convergence(&BTreeSet::new())
        })
    }
}
