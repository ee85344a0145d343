//! The membership core as a sans-I/O state machine (Pekko's `ClusterCoreDaemon`): messages,
//! ticks and local commands go in with the current time, messages to send and cluster events
//! come out. A transport driver delivers [`Outgoing`] messages and feeds received ones back.

use std::collections::BTreeSet;

use crate::address::{Address, UniqueAddress};
use crate::codec::{ClusterMessage, ConfigCheck, HeartbeatRsp, Join};
use crate::events::{diff, ClusterEvent};
use crate::gossip::Gossip;
use crate::member::{Member, MemberStatus};
use crate::membership::{
    leader_actions_on_convergence, weakly_up_promotion, LeaderActionSettings, MembershipState,
};
use crate::vclock::VcOrdering;

/// Where an outgoing message goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A node's core daemon, by address (`Join`, `InitJoin`, replies before membership).
    Address(Address),
    /// A member incarnation's core daemon.
    Node(UniqueAddress),
}

/// A message to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// Receiver.
    pub to: Destination,
    /// The message.
    pub message: ClusterMessage,
}

/// Lifecycle of the core.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoreStatus {
    /// Not a member, not joining.
    Uninitialized,
    /// `Join` sent to this address, waiting for `Welcome`.
    TryingToJoin(Address),
    /// A member.
    Initialized,
    /// Removed from the cluster, or shut down after being downed.
    Stopped,
}

/// Settings of the core (from [`crate::ClusterSettings`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreSettings {
    /// Roles including the `dc-` role.
    pub roles: Vec<String>,
    /// `app-version`.
    pub app_version: String,
    /// `multi-data-center.self-data-center`.
    pub self_dc: String,
    /// Leader action settings.
    pub leader_actions: LeaderActionSettings,
    /// Leader ticks without convergence before WeaklyUp promotion (`None` = off).
    pub weakly_up_after_ticks: Option<u32>,
}

impl CoreSettings {
    /// Core settings from cluster settings.
    pub fn from_cluster_settings(s: &crate::ClusterSettings) -> CoreSettings {
        let interval = s.leader_actions_interval.as_millis().max(1);
        CoreSettings {
            roles: s.roles_with_dc(),
            app_version: s.app_version.clone(),
            self_dc: s.multi_data_center.self_data_center.clone(),
            leader_actions: s.leader_action_settings(),
            weakly_up_after_ticks: s
                .weakly_up_after()
                .map(|d| u32::try_from(d.as_millis().div_ceil(interval)).unwrap_or(u32::MAX)),
        }
    }
}

impl Default for CoreSettings {
    fn default() -> Self {
        CoreSettings::from_cluster_settings(&crate::ClusterSettings::default())
    }
}

/// Small deterministic generator for gossip target selection (splitmix64).
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get((self.next() % items.len() as u64) as usize)
        }
    }
}

/// The membership core of one node.
#[derive(Clone, Debug)]
pub struct ClusterCore {
    settings: CoreSettings,
    state: MembershipState,
    status: CoreStatus,
    exiting_confirmed: BTreeSet<UniqueAddress>,
    exit_phase: bool,
    preparing_for_shutdown: bool,
    ticks_without_convergence: u32,
    downed_ticks: u32,
    rng: Rng,
    events: Vec<ClusterEvent>,
    join_config: Option<(hocon_config::Config, bool)>,
}

impl ClusterCore {
    /// A new, uninitialized core for `self_node`; `seed` drives gossip target selection.
    pub fn new(self_node: UniqueAddress, settings: CoreSettings, seed: u64) -> ClusterCore {
        let dc = settings.self_dc.clone();
        ClusterCore {
            settings,
            state: MembershipState::new(Gossip::empty(), self_node, dc),
            status: CoreStatus::Uninitialized,
            exiting_confirmed: BTreeSet::new(),
            exit_phase: false,
            preparing_for_shutdown: false,
            ticks_without_convergence: 0,
            downed_ticks: 0,
            rng: Rng(seed),
            events: Vec::new(),
            join_config: None,
        }
    }

    /// Enables the configuration compatibility check with this node's configuration;
    /// `enforce` is `configuration-compatibility-check.enforce-on-join`.
    pub fn with_join_config(mut self, config: hocon_config::Config, enforce: bool) -> ClusterCore {
        self.join_config = Some((config, enforce));
        self
    }

    /// The `InitJoin` a seed-node process sends.
    pub fn init_join(&self) -> crate::Result<ClusterMessage> {
        let empty = hocon_config::Config::empty();
        let own = self.join_config.as_ref().map_or(&empty, |(c, _)| c);
        Ok(ClusterMessage::InitJoin {
            current_config: Some(crate::join_config::init_join_config(own)?),
        })
    }

    /// This node.
    pub fn self_node(&self) -> &UniqueAddress {
        &self.state.self_node
    }

    /// The current membership state.
    pub fn state(&self) -> &MembershipState {
        &self.state
    }

    /// The latest gossip.
    pub fn gossip(&self) -> &Gossip {
        &self.state.gossip
    }

    /// Lifecycle status of the core.
    pub fn status(&self) -> &CoreStatus {
        &self.status
    }

    /// This node's member entry.
    pub fn self_member(&self) -> Option<&Member> {
        self.state.self_member()
    }

    /// True once this node has seen itself Exiting (it no longer marks gossip as seen).
    pub fn in_exit_phase(&self) -> bool {
        self.exit_phase
    }

    /// True once this node started preparing a full cluster shutdown: it was asked to
    /// ([`ClusterCore::prepare_for_full_cluster_shutdown`]) or, while Up, it saw a member
    /// PreparingForShutdown or ReadyForShutdown. It then accepts no `Join` and, as leader,
    /// moves no member Up or WeaklyUp.
    pub fn is_preparing_for_shutdown(&self) -> bool {
        self.preparing_for_shutdown
    }

    /// Takes the cluster events produced since the last call.
    pub fn take_events(&mut self) -> Vec<ClusterEvent> {
        std::mem::take(&mut self.events)
    }

    fn self_status(&self) -> Option<MemberStatus> {
        self.self_member().map(|m| m.status)
    }

    fn set_state(&mut self, gossip: Gossip) {
        let old = self.state.clone();
        self.state.gossip = gossip;
        self.events.extend(diff(&old, &self.state));
        if old.self_member().is_some()
            && self.self_member().is_none()
            && self.status == CoreStatus::Initialized
        {
            tracing::info!(
                "Cluster Node [{}] - Shutting down myself: removed from the cluster",
                self.self_node().address
            );
            self.status = CoreStatus::Stopped;
        }
        if self.self_status() == Some(MemberStatus::Exiting) && !self.exit_phase {
            tracing::info!(
                "Cluster Node [{}] - Exiting, starting coordinated shutdown",
                self.self_node().address
            );
            self.exit_phase = true;
        }
    }

    /// Pekko's local update rule: increment own clock entry, seen only by self (or by nobody in
    /// the exit phase).
    fn update_latest(&mut self, gossip: Gossip) {
        let g = gossip.increment(self.self_node());
        let g = if self.exit_phase {
            g.clear_seen()
        } else {
            g.only_seen(self.self_node())
        };
        self.set_state(g);
    }

    fn gossip_to(&self, node: &UniqueAddress) -> Outgoing {
        Outgoing {
            to: Destination::Node(node.clone()),
            message: ClusterMessage::GossipEnvelope {
                from: self.self_node().clone(),
                to: node.clone(),
                gossip: self.state.gossip.clone(),
            },
        }
    }

    fn gossip_random(&mut self, n: usize) -> Vec<Outgoing> {
        let mut candidates: Vec<UniqueAddress> = self
            .state
            .dc_members()
            .map(|m| m.unique_address.clone())
            .filter(|a| self.state.valid_node_for_gossip(a))
            .collect();
        let mut out = Vec::new();
        while out.len() < n && !candidates.is_empty() {
            let i = (self.rng.next() % candidates.len() as u64) as usize;
            let node = candidates.swap_remove(i);
            out.push(self.gossip_to(&node));
        }
        out
    }

    /// `Cluster.join(address)`: joins self (new one-node cluster) or sends `Join` to `address`.
    pub fn join(&mut self, address: &Address, now_ms: i64) -> Vec<Outgoing> {
        if self.status != CoreStatus::Uninitialized {
            tracing::debug!("ignoring join to {address}: already {:?}", self.status);
            return Vec::new();
        }
        if address == &self.self_node().address {
            let me = Member::joining(
                self.self_node().clone(),
                self.settings.roles.clone(),
                self.settings.app_version.clone(),
            );
            self.status = CoreStatus::Initialized;
            self.update_latest(Gossip::with_members([me]));
            self.leader_actions_now(now_ms);
            return Vec::new();
        }
        self.status = CoreStatus::TryingToJoin(address.clone());
        vec![Outgoing {
            to: Destination::Address(address.clone()),
            message: ClusterMessage::Join(Join {
                node: self.self_node().clone(),
                roles: self.settings.roles.clone(),
                app_version: self.settings.app_version.clone(),
            }),
        }]
    }

    /// Gives up a join that got no `Welcome` (`retry-unsuccessful-join-after`).
    pub fn join_timed_out(&mut self) {
        if matches!(self.status, CoreStatus::TryingToJoin(_)) {
            self.status = CoreStatus::Uninitialized;
        }
    }

    /// Handles one received cluster message. `sender` is the address of the sending node.
    pub fn receive(
        &mut self,
        sender: &Address,
        message: ClusterMessage,
        now_ms: i64,
    ) -> Vec<Outgoing> {
        if self.status == CoreStatus::Stopped {
            return Vec::new();
        }
        match message {
            ClusterMessage::InitJoin { current_config } => {
                self.receive_init_join(sender, current_config)
            }
            ClusterMessage::InitJoinAck {
                address,
                config_check,
            } => {
                if self.accepts_join_config(&address, &config_check) {
                    self.join(&address, now_ms)
                } else {
                    // The JVM runs CoordinatedShutdown (IncompatibleConfigurationDetectedReason).
                    self.status = CoreStatus::Stopped;
                    Vec::new()
                }
            }
            ClusterMessage::InitJoinNack(_) => Vec::new(),
            ClusterMessage::Join(j) => self.receive_join(j, now_ms),
            ClusterMessage::Welcome { from, gossip } => self.receive_welcome(from, gossip),
            ClusterMessage::GossipEnvelope { from, to, gossip } => {
                self.receive_gossip(from, to, gossip)
            }
            ClusterMessage::GossipStatus {
                from,
                version,
                seen_digest,
            } => self.receive_gossip_status(from, version, seen_digest),
            ClusterMessage::Leave(a) => self.leave(&a),
            ClusterMessage::Down(a) => self.down(&a),
            ClusterMessage::ExitingConfirmed(n) => {
                if self.status == CoreStatus::Initialized {
                    self.exiting_confirmed.insert(n);
                }
                Vec::new()
            }
            ClusterMessage::Heartbeat(h) => vec![Outgoing {
                to: Destination::Address(sender.clone()),
                message: ClusterMessage::HeartbeatRsp(HeartbeatRsp {
                    from: self.self_node().clone(),
                    sequence_nr: h.sequence_nr,
                    creation_time: h.creation_time,
                }),
            }],
            ClusterMessage::HeartbeatRsp(_) => Vec::new(),
        }
    }

    /// The joiner's side of the check (`InitJoinAck` received).
    fn accepts_join_config(&self, address: &Address, check: &ConfigCheck) -> bool {
        let me = &self.self_node().address;
        let Some((own, enforce)) = &self.join_config else {
            return !matches!(check, ConfigCheck::Incompatible);
        };
        let problems = match check {
            ConfigCheck::Unchecked => {
                tracing::warn!(
                    "Cluster Node [{me}] - Joining [{address}] without configuration check"
                );
                return true;
            }
            ConfigCheck::Incompatible => {
                vec![format!(
                    "[{address}] reported an incompatible configuration"
                )]
            }
            ConfigCheck::Compatible(text) => match hocon_config::Config::parse_string(text) {
                Ok(theirs) => crate::join_config::check(&theirs, own)
                    .err()
                    .unwrap_or_default(),
                Err(e) => vec![format!(
                    "cannot parse the configuration of [{address}]: {e}"
                )],
            },
        };
        if problems.is_empty() {
            return true;
        }
        if *enforce {
            tracing::error!(
                "Cluster Node [{me}] - Couldn't join seed nodes because of incompatible cluster configuration ({}). \
                 To join anyway set 'pekko.cluster.configuration-compatibility-check.enforce-on-join = off'. \
                 This node will be shutdown!",
                problems.join(", ")
            );
            false
        } else {
            tracing::warn!(
                "Cluster Node [{me}] - Joining [{address}] despite incompatible configuration: {}",
                problems.join(", ")
            );
            true
        }
    }

    fn receive_init_join(
        &mut self,
        sender: &Address,
        current_config: Option<String>,
    ) -> Vec<Outgoing> {
        let me = self.self_node().address.clone();
        let reply = match (&self.status, self.self_status()) {
            (CoreStatus::Initialized, Some(s))
                if !matches!(s, MemberStatus::Down | MemberStatus::Exiting) =>
            {
                ClusterMessage::InitJoinAck {
                    address: me,
                    config_check: self.seed_config_check(sender, current_config.as_deref()),
                }
            }
            _ => ClusterMessage::InitJoinNack(me),
        };
        vec![Outgoing {
            to: Destination::Address(sender.clone()),
            message: reply,
        }]
    }

    /// The contact node's side of the check (`InitJoin` received).
    fn seed_config_check(&self, sender: &Address, current_config: Option<&str>) -> ConfigCheck {
        let Some((own, _)) = &self.join_config else {
            return ConfigCheck::Unchecked;
        };
        let text = current_config.unwrap_or("").trim();
        if text.is_empty() {
            return ConfigCheck::Unchecked;
        }
        let Ok(theirs) = hocon_config::Config::parse_string(text) else {
            tracing::warn!(
                "Cluster Node [{}] - cannot parse the join configuration of [{sender}]",
                self.self_node().address
            );
            return ConfigCheck::Incompatible;
        };
        match crate::join_config::check(&theirs, own) {
            Ok(()) => match crate::join_config::compatible_reply(&theirs, own) {
                Ok(reply) => ConfigCheck::Compatible(reply),
                Err(_) => ConfigCheck::Unchecked,
            },
            Err(problems) => {
                let version = |c: &hocon_config::Config| {
                    c.get_string(crate::join_config::PEKKO_VERSION_KEY)
                        .unwrap_or_else(|_| crate::join_config::DEFAULT_PEKKO_VERSION.to_string())
                };
                tracing::warn!(
                    "Cluster Node [{}] - Found incompatible settings when [{sender}] tried to join: {}. \
                     Self version [{}], Joining version [{}].",
                    self.self_node().address,
                    problems.join(", "),
                    version(own),
                    version(&theirs)
                );
                ConfigCheck::Incompatible
            }
        }
    }

    fn receive_join(&mut self, j: Join, now_ms: i64) -> Vec<Outgoing> {
        if self.status != CoreStatus::Initialized {
            return Vec::new();
        }
        let me = self.self_node().clone();
        if self.preparing_for_shutdown {
            tracing::info!(
                "Cluster Node [{}] - Ignoring join request from [{}] as preparing for shutdown",
                me.address,
                j.node.address
            );
            return Vec::new();
        }
        if j.node.address.system != me.address.system {
            tracing::warn!(
                "Cluster Node [{}] - Trying to join member with wrong ActorSystem name [{}]",
                me.address,
                j.node.address.system
            );
            return Vec::new();
        }
        if matches!(
            self.self_status(),
            Some(MemberStatus::Down | MemberStatus::Exiting)
        ) {
            tracing::info!(
                "Cluster Node [{}] - Not accepting join of [{}]: this node is Down or Exiting",
                me.address,
                j.node.address
            );
            return Vec::new();
        }
        let welcome = |core: &ClusterCore| Outgoing {
            to: Destination::Node(j.node.clone()),
            message: ClusterMessage::Welcome {
                from: core.self_node().clone(),
                gossip: core.state.gossip.clone(),
            },
        };
        if let Some(existing) = self
            .state
            .gossip
            .member_by_address(&j.node.address)
            .cloned()
        {
            if existing.unique_address == j.node {
                return if j.node == me {
                    Vec::new()
                } else {
                    vec![welcome(self)]
                };
            }
            // a new incarnation: down the old one first
            if existing.status != MemberStatus::Down {
                tracing::info!("Cluster Node [{}] - New incarnation of existing member [{}] is trying to join; downing the old one", me.address, existing.unique_address.address);
                let mut g = self.state.gossip.clone();
                g.reachability = g.reachability.terminated(&me, &existing.unique_address);
                self.update_latest(g);
                return self.down(&existing.unique_address.address);
            }
            return Vec::new();
        }
        let mut g = self.state.gossip.update_member(Member::joining(
            j.node.clone(),
            j.roles,
            j.app_version,
        ));
        let self_join_first = self.state.gossip.is_empty();
        if !g.has_member(&me) {
            g = g.update_member(Member::joining(
                me.clone(),
                self.settings.roles.clone(),
                self.settings.app_version.clone(),
            ));
        }
        tracing::info!(
            "Cluster Node [{}] - Node [{}] is JOINING",
            me.address,
            j.node.address
        );
        self.update_latest(g);
        if j.node == me && self_join_first {
            self.leader_actions_now(now_ms);
            return Vec::new();
        }
        vec![welcome(self)]
    }

    fn receive_welcome(&mut self, from: UniqueAddress, gossip: Gossip) -> Vec<Outgoing> {
        match &self.status {
            CoreStatus::TryingToJoin(target) if target == &from.address => {}
            CoreStatus::Uninitialized => {}
            _ => return Vec::new(),
        }
        if !self.state.gossip.is_empty() || !gossip.has_member(self.self_node()) {
            return Vec::new();
        }
        tracing::info!(
            "Cluster Node [{}] - Welcome from [{}]",
            self.self_node().address,
            from.address
        );
        self.status = CoreStatus::Initialized;
        let me = self.self_node().clone();
        self.set_state(gossip.seen_by(&me));
        vec![self.gossip_to(&from)]
    }

    fn receive_gossip(
        &mut self,
        from: UniqueAddress,
        to: UniqueAddress,
        remote: Gossip,
    ) -> Vec<Outgoing> {
        let me = self.self_node().clone();
        if self.status != CoreStatus::Initialized
            || to != me
            || !self.state.gossip.has_member(&from)
            || !self.state.gossip.reachability.is_reachable_by(&me, &from)
            || !remote.has_member(&me)
        {
            tracing::debug!(
                "Cluster Node [{}] - Ignoring received gossip from [{}]",
                me.address,
                from.address
            );
            return Vec::new();
        }
        let local = &self.state.gossip;
        let (winning, talkback) = match remote.version.compare(&local.version) {
            VcOrdering::Same => (
                remote.merge_seen(local),
                !self.exit_phase && !remote.seen_by_node(&me),
            ),
            VcOrdering::Before => (local.clone(), true),
            VcOrdering::After => (
                remote.clone(),
                !self.exit_phase && !remote.seen_by_node(&me),
            ),
            VcOrdering::Concurrent => {
                let r = remote.prune_removed_by(local);
                let l = local.prune_removed_by(&remote);
                (r.merge(&l), true)
            }
        };
        let winning = if self.exit_phase {
            winning
        } else {
            winning.seen_by(&me)
        };
        self.set_state(winning);
        if talkback && self.status == CoreStatus::Initialized {
            vec![self.gossip_to(&from)]
        } else {
            Vec::new()
        }
    }

    fn receive_gossip_status(
        &mut self,
        from: UniqueAddress,
        version: crate::VectorClock,
        seen_digest: Option<Vec<u8>>,
    ) -> Vec<Outgoing> {
        let me = self.self_node().clone();
        if self.status != CoreStatus::Initialized
            || !self.state.gossip.has_member(&from)
            || !self.state.gossip.reachability.is_reachable_by(&me, &from)
        {
            return Vec::new();
        }
        let seen_same = match seen_digest.as_deref() {
            None | Some([]) => true,
            Some(d) => d == self.state.gossip.seen_digest().as_slice(),
        };
        if !seen_same {
            return vec![self.gossip_to(&from)];
        }
        match version.compare(&self.state.gossip.version) {
            VcOrdering::Same => Vec::new(),
            VcOrdering::After => vec![self.gossip_status_to(&from)],
            _ => vec![self.gossip_to(&from)],
        }
    }

    fn gossip_status_to(&self, node: &UniqueAddress) -> Outgoing {
        Outgoing {
            to: Destination::Node(node.clone()),
            message: ClusterMessage::GossipStatus {
                from: self.self_node().clone(),
                version: self.state.gossip.version.clone(),
                seen_digest: Some(self.state.gossip.seen_digest().to_vec()),
            },
        }
    }

    /// One gossip round (every `gossip-interval`): a `GossipStatus` to a node that has seen
    /// this version, the full gossip otherwise. Unseen nodes are preferred as targets.
    pub fn gossip_tick(&mut self) -> Vec<Outgoing> {
        if self.status != CoreStatus::Initialized || self.state.gossip.members.len() <= 1 {
            return Vec::new();
        }
        let valid: Vec<UniqueAddress> = self
            .state
            .dc_members()
            .map(|m| m.unique_address.clone())
            .filter(|a| self.state.valid_node_for_gossip(a))
            .collect();
        let unseen: Vec<UniqueAddress> = valid
            .iter()
            .filter(|a| !self.state.gossip.seen_by_node(a))
            .cloned()
            .collect();
        let pool = if unseen.is_empty() { &valid } else { &unseen };
        let Some(target) = self.rng.pick(pool).cloned() else {
            return Vec::new();
        };
        if self.state.gossip.seen_by_node(&target) {
            vec![self.gossip_status_to(&target)]
        } else {
            vec![self.gossip_to(&target)]
        }
    }

    /// Pekko's `isGossipSpeedupNeeded`: after a gossip round, two more rounds follow within the
    /// same interval (at 1/3 and 2/3 of it) while a member is Down or fewer than half of the
    /// members have seen the latest gossip. In a multi-data-center cluster Pekko's rule holds
    /// whenever this data center has a member, so it is kept as is.
    pub fn is_gossip_speedup_needed(&self) -> bool {
        let g = &self.state.gossip;
        if g.is_multi_dc() {
            g.members
                .values()
                .any(|m| m.status == MemberStatus::Down || m.data_center() == self.settings.self_dc)
                || g.seen
                    .iter()
                    .filter(|n| {
                        g.member(n)
                            .is_some_and(|m| m.data_center() == self.settings.self_dc)
                    })
                    .count()
                    < g.members
                        .values()
                        .filter(|m| m.data_center() == self.settings.self_dc)
                        .count()
                        / 2
        } else {
            g.members.values().any(|m| m.status == MemberStatus::Down)
                || g.seen.len() < g.members.len() / 2
        }
    }

    /// Pekko's `GossipSpeedupTick`: one more gossip round if the speedup is still needed.
    pub fn gossip_speedup_tick(&mut self) -> Vec<Outgoing> {
        if self.is_gossip_speedup_needed() {
            self.gossip_tick()
        } else {
            Vec::new()
        }
    }

    /// `Leave(address)`: marks that member Leaving and gossips.
    pub fn leave(&mut self, address: &Address) -> Vec<Outgoing> {
        if self.status != CoreStatus::Initialized {
            return Vec::new();
        }
        let Some(m) = self.state.gossip.member_by_address(address).cloned() else {
            return Vec::new();
        };
        if !matches!(
            m.status,
            MemberStatus::Joining
                | MemberStatus::WeaklyUp
                | MemberStatus::Up
                | MemberStatus::PreparingForShutdown
                | MemberStatus::ReadyForShutdown
        ) {
            return Vec::new();
        }
        tracing::info!(
            "Cluster Node [{}] - Marked address [{}] as [Leaving]",
            self.self_node().address,
            address
        );
        self.update_latest(
            self.state
                .gossip
                .update_member(m.with_status(MemberStatus::Leaving)),
        );
        self.gossip_tick()
    }

    /// Pekko's `Cluster.prepareForFullClusterShutdown()`: once per node, every Up member is
    /// marked PreparingForShutdown (members not yet Up stay Joining or WeaklyUp, leaving ones
    /// go on leaving), the new gossip is sent in a gossip round, and from then on this node
    /// accepts no `Join` and, as leader, moves no member Up. On convergence the leader moves
    /// the PreparingForShutdown members to ReadyForShutdown. Nothing stops: as in Pekko, the
    /// nodes are shut down from outside once every member is ReadyForShutdown.
    pub fn prepare_for_full_cluster_shutdown(&mut self) -> Vec<Outgoing> {
        if self.status != CoreStatus::Initialized || self.preparing_for_shutdown {
            return Vec::new();
        }
        self.preparing_for_shutdown = true;
        let changed: Vec<Member> = self
            .state
            .gossip
            .members
            .values()
            .filter(|m| m.status == MemberStatus::Up)
            .map(|m| m.with_status(MemberStatus::PreparingForShutdown))
            .collect();
        let mut g = self.state.gossip.clone();
        for m in &changed {
            g = g.update_member(m.clone());
        }
        self.update_latest(g);
        for m in &changed {
            tracing::info!(
                "Cluster Node [{}] - Preparing for shutdown [{}] as [{}]",
                self.self_node().address,
                m.unique_address.address,
                MemberStatus::PreparingForShutdown
            );
        }
        self.gossip_tick()
    }

    /// Pekko's `checkForPrepareForShutdown` (every leader-actions tick, on every node): an Up
    /// member that sees a member PreparingForShutdown or ReadyForShutdown prepares too.
    fn check_for_prepare_for_shutdown(&mut self) -> Vec<Outgoing> {
        let detected = self.self_status() == Some(MemberStatus::Up)
            && self.state.gossip.members.values().any(|m| {
                matches!(
                    m.status,
                    MemberStatus::PreparingForShutdown | MemberStatus::ReadyForShutdown
                )
            });
        if !detected {
            return Vec::new();
        }
        tracing::debug!(
            "Cluster Node [{}] - Detected full cluster shutdown",
            self.self_node().address
        );
        self.prepare_for_full_cluster_shutdown()
    }

    /// `Down(address)`: marks that member Down and tells it (or 5 others when downing self).
    pub fn down(&mut self, address: &Address) -> Vec<Outgoing> {
        if self.status != CoreStatus::Initialized {
            return Vec::new();
        }
        let Some(m) = self.state.gossip.member_by_address(address).cloned() else {
            tracing::info!(
                "Cluster Node [{}] - Ignoring down of unknown node [{address}]",
                self.self_node().address
            );
            return Vec::new();
        };
        if m.status == MemberStatus::Down {
            return Vec::new();
        }
        tracing::info!(
            "Cluster Node [{}] - Marking node [{}] as [Down]",
            self.self_node().address,
            address
        );
        let mut g = self
            .state
            .gossip
            .update_member(m.with_status(MemberStatus::Down));
        g.seen.remove(&m.unique_address);
        self.update_latest(g);
        if &m.unique_address == self.self_node() {
            self.gossip_random(5)
        } else {
            vec![self.gossip_to(&m.unique_address)]
        }
    }

    /// The failure detector's verdicts (every `unreachable-nodes-reaper-interval`):
    /// `is_available` tells whether a member's heartbeats arrive.
    pub fn reap_unreachable(&mut self, is_available: impl Fn(&UniqueAddress) -> bool) {
        if self.status != CoreStatus::Initialized || self.state.gossip.members.len() <= 1 {
            return;
        }
        let me = self.self_node().clone();
        let r = &self.state.gossip.reachability;
        let mut newly_unreachable = Vec::new();
        let mut newly_reachable = Vec::new();
        for node in self.state.gossip.members.keys() {
            if node == &me {
                continue;
            }
            let status = r.status_by(&me, node);
            let available = is_available(node);
            if status == crate::ReachabilityStatus::Reachable && !available {
                newly_unreachable.push(node.clone());
            } else if status == crate::ReachabilityStatus::Unreachable && available {
                newly_reachable.push(node.clone());
            }
        }
        if newly_unreachable.is_empty() && newly_reachable.is_empty() {
            return;
        }
        let mut g = self.state.gossip.clone();
        for n in &newly_unreachable {
            tracing::warn!(
                "Cluster Node [{}] - Marking node as UNREACHABLE [{}]",
                me.address,
                n.address
            );
            g.reachability = g.reachability.unreachable(&me, n);
        }
        for n in &newly_reachable {
            tracing::info!(
                "Cluster Node [{}] - Marking node as REACHABLE [{}]",
                me.address,
                n.address
            );
            g.reachability = g.reachability.reachable(&me, n);
        }
        self.update_latest(g);
    }

    /// The remoting layer quarantined this member's uid: record it as Terminated.
    pub fn quarantined(&mut self, node: &UniqueAddress) {
        if self.status != CoreStatus::Initialized || !self.state.gossip.has_member(node) {
            return;
        }
        let mut g = self.state.gossip.clone();
        g.reachability = g.reachability.terminated(self.self_node(), node);
        self.update_latest(g);
    }

    /// The exit tasks of a leaving node are done (phase `cluster-exiting-done`): mark seen,
    /// gossip to 5 members and confirm to the two leader candidates.
    pub fn exiting_completed(&mut self) -> Vec<Outgoing> {
        if self.status != CoreStatus::Initialized || self.self_member().is_none() {
            return Vec::new();
        }
        let me = self.self_node().clone();
        self.set_state(self.state.gossip.seen_by(&me));
        let mut out = self.gossip_random(5);
        let others: Vec<Member> = self
            .state
            .gossip
            .members
            .values()
            .filter(|m| m.unique_address != me)
            .cloned()
            .collect();
        let l1 = self.state.leader_of(others.iter());
        let l2 = self.state.leader_of(
            others
                .iter()
                .filter(|m| Some(&m.unique_address) != l1.as_ref()),
        );
        for l in [l1, l2].into_iter().flatten() {
            out.push(Outgoing {
                to: Destination::Node(l),
                message: ClusterMessage::ExitingConfirmed(me.clone()),
            });
        }
        self.status = CoreStatus::Stopped;
        out
    }

    fn leader_actions_now(&mut self, now_ms: i64) -> Vec<Outgoing> {
        let Some((g, outcome)) = leader_actions_on_convergence(
            &self.state,
            &self.exiting_confirmed,
            &self.settings.leader_actions,
            self.preparing_for_shutdown,
            now_ms,
        ) else {
            return Vec::new();
        };
        for m in &outcome.changed {
            tracing::info!(
                "Cluster Node [{}] - Leader is moving node [{}] to [{}]",
                self.self_node().address,
                m.unique_address.address,
                m.status
            );
        }
        for m in &outcome.removed {
            tracing::info!(
                "Cluster Node [{}] - Leader is removing {} node [{}]",
                self.self_node().address,
                m.status,
                m.unique_address.address
            );
            self.exiting_confirmed.remove(&m.unique_address);
        }
        let g = if self.exit_phase { g.clear_seen() } else { g };
        self.set_state(g);
        // Newly Exiting members: tell the oldest quickly (Pekko's gossipExitingMembersToOldest).
        let exiting: Vec<Member> = outcome
            .changed
            .iter()
            .filter(|m| m.status == MemberStatus::Exiting)
            .cloned()
            .collect();
        self.state
            .gossip_targets_for_exiting(&exiting)
            .iter()
            .filter(|m| self.state.valid_node_for_gossip(&m.unique_address))
            .map(|m| self.gossip_to(&m.unique_address))
            .collect()
    }

    /// The leader-actions tick (every `leader-actions-interval`).
    pub fn leader_actions_tick(&mut self, now_ms: i64) -> Vec<Outgoing> {
        if self.status != CoreStatus::Initialized {
            return Vec::new();
        }
        let mut out = Vec::new();
        if self.state.is_leader(self.self_node()) {
            if self.state.convergence(&self.exiting_confirmed) {
                self.ticks_without_convergence = 0;
                out.extend(self.leader_actions_now(now_ms));
            } else {
                self.ticks_without_convergence = self.ticks_without_convergence.saturating_add(1);
                if let Some(limit) = self.settings.weakly_up_after_ticks {
                    if self.ticks_without_convergence >= limit && !self.preparing_for_shutdown {
                        if let Some((g, changed)) =
                            weakly_up_promotion(&self.state, &self.settings.leader_actions)
                        {
                            for m in &changed {
                                tracing::info!(
                                    "Cluster Node [{}] - Leader is moving node [{}] to [WeaklyUp]",
                                    self.self_node().address,
                                    m.unique_address.address
                                );
                            }
                            let g = if self.exit_phase { g.clear_seen() } else { g };
                            self.set_state(g);
                        }
                    }
                }
            }
        }
        let members: BTreeSet<UniqueAddress> = self.state.gossip.members.keys().cloned().collect();
        self.exiting_confirmed.retain(|n| members.contains(n));
        out.extend(self.check_for_prepare_for_shutdown());
        if self.self_status() == Some(MemberStatus::Down) {
            self.downed_ticks += 1;
            let all_down_seen_or_unreachable = self
                .state
                .dc_members()
                .filter(|m| m.status == MemberStatus::Down)
                .all(|m| {
                    self.state.gossip.seen_by_node(&m.unique_address)
                        || !self
                            .state
                            .gossip
                            .reachability
                            .is_reachable(&m.unique_address)
                });
            if self.downed_ticks >= 4 || all_down_seen_or_unreachable {
                tracing::info!(
                    "Cluster Node [{}] - Shutting down myself: downed",
                    self.self_node().address
                );
                out.extend(self.gossip_random(5));
                self.status = CoreStatus::Stopped;
            }
        }
        out
    }
}
