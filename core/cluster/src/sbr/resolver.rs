//! The SBR's timing as a sans-I/O state machine: member events and ticks go in (with the
//! current monotonic time), downing actions come out once the view has been stable for
//! `stable-after`, or immediately for down-all-when-unstable and quarantine.
//!
//! With lease-majority a decision first needs the lease: the resolver asks its
//! [`LeaseHandle`] to acquire it (at once, or after `acquire-lease-delay-for-minority` on the
//! minority side), stashes the events that arrive meanwhile as Pekko's resolver does, and acts
//! on the tick that sees the answer: the decision when the lease was acquired, its reverse
//! (down this side) when not. A held lease is released `release-after` once the nodes it
//! downed were removed.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use rekko_coordination::LeaseProvider;

use crate::address::{Address, UniqueAddress};
use crate::error::ClusterError;
use crate::member::{Member, MemberStatus};
use crate::reachability::Reachability;
use crate::sbr::lease::{LeaseDriver, LeaseHandle, LeaseRequest, LeaseResponse};
use crate::sbr::settings::SbrSettings;
use crate::sbr::strategy::{filter_sbr_reachability, Decision, SbrView, Strategy};

/// Inputs of the resolver: Pekko's cluster domain events it subscribes to.
#[derive(Clone, Debug, PartialEq)]
pub enum SbrEvent {
    /// A member is Joining.
    MemberJoined(Member),
    /// A member is WeaklyUp.
    MemberWeaklyUp(Member),
    /// A member is Up.
    MemberUp(Member),
    /// A member is Leaving.
    MemberLeft(Member),
    /// A member is Exiting.
    MemberExited(Member),
    /// A member was downed.
    MemberDowned(Member),
    /// A member was removed.
    MemberRemoved(Member),
    /// A member became unreachable.
    UnreachableMember(Member),
    /// A member became reachable again.
    ReachableMember(Member),
    /// The reachability table changed.
    ReachabilityChanged(Reachability),
    /// The seen set of the current gossip changed.
    SeenChanged(BTreeSet<Address>),
    /// The DC leader changed.
    LeaderChanged(Option<Address>),
    /// Another member quarantined this node.
    ThisNodeQuarantinedByRemote,
}

/// A downing decision to execute with the local `Down` command, in order (self last).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SbrAction {
    /// The decision taken.
    pub decision: Decision,
    /// Nodes to down, self last.
    pub down: Vec<UniqueAddress>,
}

/// When a lease held after a lease-majority decision is released (Pekko's
/// `ReleaseLeaseCondition`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaseRelease {
    /// No lease held.
    NoLease,
    /// Held until these downed members are removed.
    WhenMembersRemoved(BTreeSet<UniqueAddress>),
    /// Held until this time (the downed members are gone).
    WhenTimeElapsed(Duration),
}

/// A lease-majority decision waiting for the lease.
#[derive(Clone, Copy, Debug)]
struct LeaseWait {
    decision: Decision,
    /// When the acquire is still to be started (the minority side's delay).
    acquire_at: Option<Duration>,
}

#[derive(Clone, Copy, Debug)]
struct ChangeStats {
    first: Duration,
    latest: Duration,
    count: u64,
}

/// The split brain resolver of one node (for its own data center).
#[derive(Debug)]
pub struct SplitBrainResolver {
    strategy: Strategy,
    stable_after: Duration,
    down_all_when_unstable: Option<Duration>,
    self_node: UniqueAddress,
    self_dc: String,
    members: BTreeMap<UniqueAddress, Member>,
    unreachable: BTreeSet<UniqueAddress>,
    reachability: Reachability,
    seen_by: BTreeSet<Address>,
    leader: bool,
    self_member_added: bool,
    stable_deadline: Duration,
    stats: ChangeStats,
    lease: Option<Box<dyn LeaseHandle>>,
    lease_wait: Option<LeaseWait>,
    stash: Vec<SbrEvent>,
    release: LeaseRelease,
    releasing: bool,
}

impl SplitBrainResolver {
    /// A resolver started at `now` with the given strategy and timing.
    pub fn new(
        strategy: Strategy,
        stable_after: Duration,
        down_all_when_unstable: Option<Duration>,
        self_node: UniqueAddress,
        self_dc: impl Into<String>,
        now: Duration,
    ) -> SplitBrainResolver {
        SplitBrainResolver {
            strategy,
            stable_after,
            down_all_when_unstable,
            self_node,
            self_dc: self_dc.into(),
            members: BTreeMap::new(),
            unreachable: BTreeSet::new(),
            reachability: Reachability::new(),
            seen_by: BTreeSet::new(),
            leader: false,
            self_member_added: false,
            stable_deadline: now + stable_after,
            stats: ChangeStats {
                first: now,
                latest: now,
                count: 0,
            },
            lease: None,
            lease_wait: None,
            stash: Vec::new(),
            release: LeaseRelease::NoLease,
            releasing: false,
        }
    }

    /// The same resolver using `lease` for the lease-majority decisions.
    pub fn with_lease(mut self, lease: Box<dyn LeaseHandle>) -> SplitBrainResolver {
        self.lease = Some(lease);
        self
    }

    /// A resolver from settings; for lease-majority the lease comes from the process-wide
    /// [`LeaseProvider::global`].
    pub fn from_settings(
        settings: &SbrSettings,
        self_node: UniqueAddress,
        self_dc: impl Into<String>,
        now: Duration,
    ) -> crate::Result<SplitBrainResolver> {
        SplitBrainResolver::from_settings_with_provider(
            settings,
            LeaseProvider::global(),
            self_node,
            self_dc,
            now,
        )
    }

    /// A resolver from settings; for lease-majority the lease named `lease-name` (default
    /// `<system>-pekko-sbr`) is created by `provider` from the block at
    /// `lease-majority.lease-implementation`, owned by this node's `system@host:port` (Pekko's
    /// `Address.hostPort`), and driven by a [`LeaseDriver`].
    pub fn from_settings_with_provider(
        settings: &SbrSettings,
        provider: &LeaseProvider,
        self_node: UniqueAddress,
        self_dc: impl Into<String>,
        now: Duration,
    ) -> crate::Result<SplitBrainResolver> {
        let strategy = settings.strategy()?;
        let uses_lease = strategy.uses_lease();
        let resolver = SplitBrainResolver::new(
            strategy,
            settings.stable_after,
            settings.down_all_when_unstable_duration(),
            self_node.clone(),
            self_dc,
            now,
        );
        if !uses_lease {
            return Ok(resolver);
        }
        let lm = &settings.lease_majority;
        let a = &self_node.address;
        let owner = format!("{}@{}:{}", a.system, a.host, a.port);
        let name = lm.safe_lease_name(&a.system);
        let empty = hocon_config::Config::empty();
        let config = settings.source.0.as_ref().unwrap_or(&empty);
        let lease = provider
            .get_lease(config, &name, &lm.lease_implementation, &owner)
            .map_err(|e| ClusterError::Setting {
                key: "pekko.cluster.split-brain-resolver.lease-majority.lease-implementation"
                    .into(),
                reason: e.to_string(),
            })?;
        tracing::info!(
            "SBR uses lease [{name}] of lease-class [{}] for owner [{owner}]",
            lease.settings().lease_class()
        );
        Ok(resolver.with_lease(Box::new(LeaseDriver::new(lease))))
    }

    /// The lease-majority decision waiting for the lease, if any.
    pub fn waiting_for_lease(&self) -> Option<Decision> {
        self.lease_wait.map(|w| w.decision)
    }

    /// When a held lease will be released.
    pub fn lease_release(&self) -> &LeaseRelease {
        &self.release
    }

    /// True when this node takes the decisions: it is the leader and itself Up or WeaklyUp.
    pub fn is_responsible(&self) -> bool {
        self.leader && self.self_member_added
    }

    /// When a decision may be taken at the earliest.
    pub fn stable_deadline(&self) -> Duration {
        self.stable_deadline
    }

    /// The strategy in use.
    pub fn strategy(&self) -> &Strategy {
        &self.strategy
    }

    /// The current view of the data center.
    pub fn view(&self) -> SbrView {
        let dc: BTreeSet<&UniqueAddress> = self.members.keys().collect();
        SbrView {
            self_node: self.self_node.clone(),
            members: self.members.values().cloned().collect(),
            unreachable: self.unreachable.clone(),
            reachability: filter_sbr_reachability(&self.reachability, &dc),
            seen_by: self.seen_by.clone(),
        }
    }

    fn in_dc(&self, m: &Member) -> bool {
        m.data_center() == self.self_dc
    }

    fn reset_stable_deadline(&mut self, now: Duration) {
        self.stable_deadline = now + self.stable_after;
    }

    fn reset_stats(&mut self, now: Duration) {
        self.stats = ChangeStats {
            first: now,
            latest: now,
            count: 0,
        };
    }

    fn reset_stats_if_all_unreachable_downed(&mut self, now: Duration) {
        if self.stats.count > 0 && self.view().is_all_unreachable_down_or_exiting() {
            self.reset_stats(now);
        }
    }

    fn reachability_event(&mut self, m: Member, unreachable: bool, now: Duration) {
        if m.unique_address == self.self_node || !self.in_dc(&m) {
            return;
        }
        if unreachable {
            self.unreachable.insert(m.unique_address.clone());
        } else {
            self.unreachable.remove(&m.unique_address);
        }
        self.members.insert(m.unique_address.clone(), m);
        if self.stats.count == 0 {
            self.stats = ChangeStats {
                first: now,
                latest: now,
                count: 1,
            };
        } else {
            self.stats.latest = now;
            self.stats.count += 1;
        }
        self.reset_stats_if_all_unreachable_downed(now);
        self.reset_stable_deadline(now);
    }

    /// Feeds one event. Returns an action only for [`SbrEvent::ThisNodeQuarantinedByRemote`].
    /// While a decision waits for the lease, events are stashed and applied once the lease
    /// answered.
    pub fn on_event(&mut self, event: SbrEvent, now: Duration) -> Option<SbrAction> {
        if self.lease_wait.is_some() {
            self.stash.push(event);
            return None;
        }
        match event {
            SbrEvent::MemberJoined(m) => {
                if self.in_dc(&m) {
                    self.members.insert(m.unique_address.clone(), m);
                }
            }
            SbrEvent::MemberWeaklyUp(m) => {
                if m.unique_address == self.self_node {
                    self.self_member_added = true;
                }
                if self.in_dc(&m) {
                    self.members.insert(m.unique_address.clone(), m);
                }
            }
            SbrEvent::MemberUp(m) => {
                if self.in_dc(&m) {
                    if m.unique_address == self.self_node {
                        self.self_member_added = true;
                    }
                    if let Strategy::StaticQuorum { quorum_size, .. } = self.strategy {
                        let count = self.members.len() + 1;
                        if count > quorum_size * 2 - 1 {
                            tracing::warn!(
                                "The cluster size is [{count}] and static-quorum.quorum-size is [{quorum_size}]: \
                                 a SBR decision with this size downs all nodes"
                            );
                        }
                    }
                    self.members.insert(m.unique_address.clone(), m);
                    self.reset_stable_deadline(now);
                }
            }
            SbrEvent::MemberLeft(m) => {
                if self.in_dc(&m) {
                    self.members.insert(m.unique_address.clone(), m);
                }
            }
            SbrEvent::MemberExited(m) => {
                if self.in_dc(&m) {
                    self.members.insert(m.unique_address.clone(), m);
                    self.reset_stable_deadline(now);
                }
            }
            SbrEvent::MemberDowned(m) | SbrEvent::UnreachableMember(m) => {
                self.reachability_event(m, true, now)
            }
            SbrEvent::ReachableMember(m) => self.reachability_event(m, false, now),
            SbrEvent::MemberRemoved(m) => {
                if self.in_dc(&m) && m.unique_address != self.self_node {
                    self.members.remove(&m.unique_address);
                    self.unreachable.remove(&m.unique_address);
                    self.reset_stats_if_all_unreachable_downed(now);
                    if let LeaseRelease::WhenMembersRemoved(nodes) = &mut self.release {
                        nodes.remove(&m.unique_address);
                        if nodes.is_empty() {
                            self.release =
                                LeaseRelease::WhenTimeElapsed(now + self.release_after());
                        }
                    }
                }
            }
            SbrEvent::ReachabilityChanged(r) => self.reachability = r,
            SbrEvent::SeenChanged(s) => self.seen_by = s,
            SbrEvent::LeaderChanged(l) => self.leader = l.as_ref() == Some(&self.self_node.address),
            SbrEvent::ThisNodeQuarantinedByRemote => {
                return self.act(Decision::DownSelfQuarantinedByRemote, now);
            }
        }
        None
    }

    /// The periodic tick (every second in Pekko). Returns the action to execute, if any.
    ///
    /// With a lease, the tick first reads the lease's answers: an acquire answer returns the
    /// decision's action (the rest of the tick waits for the next one). While waiting for the
    /// lease the tick only starts a delayed acquire.
    pub fn tick(&mut self, now: Duration) -> Option<SbrAction> {
        let mut from_lease = None;
        while let Some(response) = self.lease.as_mut().and_then(|l| l.poll()) {
            if let Some(a) = self.on_lease_response(response, now) {
                from_lease = Some(merge(&self.self_node, from_lease, a));
            }
        }
        if from_lease.is_some() {
            return from_lease;
        }
        if let Some(wait) = self.lease_wait.as_mut() {
            if wait.acquire_at.is_some_and(|at| now >= at) {
                wait.acquire_at = None;
                self.start_lease(LeaseRequest::Acquire);
            }
            return None;
        }
        let mut action = None;
        if self.stats.count > 0 {
            let since_first = now.saturating_sub(self.stats.first);
            let since_latest = now.saturating_sub(self.stats.latest);
            match self.down_all_when_unstable {
                Some(extra) if since_first > self.stable_after + extra => {
                    tracing::warn!("SBR detected instability and will down all nodes");
                    action = self.act(Decision::DownAll, now);
                }
                None if since_latest > self.stable_after * 2 => self.reset_stats(now),
                _ => {}
            }
        }
        if self.is_responsible() && !self.unreachable.is_empty() && now >= self.stable_deadline {
            let view = self.view();
            let decision = view.decide(&self.strategy);
            let decided = match decision.acquire_lease_delay() {
                Some(delay) => self.decide_with_lease(decision, delay, now),
                None => self.act(decision, now),
            };
            if let Some(a) = decided {
                action = Some(a);
            }
        }
        if let LeaseRelease::WhenTimeElapsed(deadline) = self.release {
            if now >= deadline && !self.releasing {
                self.releasing = true;
                self.start_lease(LeaseRequest::Release);
            }
        }
        action
    }

    /// Feeds the answer of a lease request (the resolver's own [`LeaseHandle`] answers are read
    /// by [`SplitBrainResolver::tick`]). Returns the action of the decision that waited for the
    /// lease, or of its reverse when the lease was not acquired.
    pub fn on_lease_response(
        &mut self,
        response: LeaseResponse,
        now: Duration,
    ) -> Option<SbrAction> {
        match response {
            LeaseResponse::Acquired(holding) => {
                let wait = self.lease_wait.take()?;
                let mut action = if holding {
                    tracing::info!("SBR acquired lease for decision [{}]", wait.decision);
                    let (action, downed) = self.act_on(wait.decision, now);
                    self.release = match std::mem::replace(&mut self.release, LeaseRelease::NoLease)
                    {
                        LeaseRelease::WhenMembersRemoved(mut nodes) => {
                            nodes.extend(downed);
                            LeaseRelease::WhenMembersRemoved(nodes)
                        }
                        _ if downed.is_empty() => {
                            LeaseRelease::WhenTimeElapsed(now + self.release_after())
                        }
                        _ => LeaseRelease::WhenMembersRemoved(downed),
                    };
                    action
                } else {
                    let reverse = wait.decision.reverse();
                    tracing::info!(
                        "SBR couldn't acquire lease, reverse decision [{}] to [{reverse}]",
                        wait.decision
                    );
                    self.release = LeaseRelease::NoLease;
                    self.act(reverse, now)
                };
                for event in std::mem::take(&mut self.stash) {
                    if let Some(a) = self.on_event(event, now) {
                        action = Some(merge(&self.self_node, action, a));
                    }
                }
                action
            }
            LeaseResponse::Released(released) => {
                self.releasing = false;
                if self.lease_wait.is_none() {
                    if let LeaseRelease::WhenTimeElapsed(deadline) = self.release {
                        if released && now >= deadline {
                            tracing::info!("SBR released lease.");
                            self.release = LeaseRelease::NoLease;
                        }
                    }
                }
                None
            }
        }
    }

    fn release_after(&self) -> Duration {
        match self.strategy {
            Strategy::LeaseMajority { release_after, .. } => release_after,
            _ => Duration::ZERO,
        }
    }

    fn start_lease(&mut self, request: LeaseRequest) {
        if let Some(lease) = self.lease.as_mut() {
            lease.start(request);
        }
    }

    /// A lease-majority decision: act at once when the lease is already held, otherwise
    /// acquire it (after `delay`) and wait.
    fn decide_with_lease(
        &mut self,
        decision: Decision,
        delay: Duration,
        now: Duration,
    ) -> Option<SbrAction> {
        let Some(lease) = self.lease.as_mut() else {
            tracing::error!(
                "SBR decision [{decision}] needs a lease but none is configured; acting as if it was not acquired"
            );
            return self.act(decision.reverse(), now);
        };
        if lease.check() {
            tracing::info!("SBR has acquired lease for decision [{decision}]");
            return self.act(decision, now);
        }
        let acquire_at = if delay.is_zero() {
            lease.start(LeaseRequest::Acquire);
            None
        } else {
            tracing::debug!(
                "SBR delayed attempt to acquire lease for [{} ms]",
                delay.as_millis()
            );
            Some(now + delay)
        };
        self.lease_wait = Some(LeaseWait {
            decision,
            acquire_at,
        });
        None
    }

    fn act(&mut self, decision: Decision, now: Duration) -> Option<SbrAction> {
        self.act_on(decision, now).0
    }

    /// Executes a decision: the action and every node it downs.
    fn act_on(
        &mut self,
        decision: Decision,
        now: Duration,
    ) -> (Option<SbrAction>, BTreeSet<UniqueAddress>) {
        let view = self.view();
        let nodes = view.nodes_to_down(&self.strategy, decision);
        if nodes.is_empty() {
            return (None, nodes);
        }
        let mut down: Vec<UniqueAddress> = nodes
            .iter()
            .filter(|n| **n != self.self_node)
            .cloned()
            .collect();
        if nodes.contains(&self.self_node) {
            down.push(self.self_node.clone());
        }
        tracing::warn!(
            "SBR took decision {decision} and is downing [{}]{}, [{}] unreachable of [{}] members",
            down.iter()
                .map(|n| n.address.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            if nodes.contains(&self.self_node) {
                " including myself"
            } else {
                ""
            },
            self.unreachable.len(),
            self.members
                .values()
                .filter(|m| !matches!(m.status, MemberStatus::Down | MemberStatus::Exiting))
                .count(),
        );
        self.reset_stats(now);
        self.reset_stable_deadline(now);
        (Some(SbrAction { decision, down }), nodes)
    }
}

impl SbrEvent {
    /// The resolver input for a cluster event, if the resolver listens to it.
    pub fn from_cluster_event(event: &crate::events::ClusterEvent) -> Option<SbrEvent> {
        use crate::events::ClusterEvent as E;
        Some(match event {
            E::MemberJoined(m) => SbrEvent::MemberJoined(m.clone()),
            E::MemberWeaklyUp(m) => SbrEvent::MemberWeaklyUp(m.clone()),
            E::MemberUp(m) => SbrEvent::MemberUp(m.clone()),
            E::MemberLeft(m) => SbrEvent::MemberLeft(m.clone()),
            E::MemberExited(m) => SbrEvent::MemberExited(m.clone()),
            E::MemberDowned(m) => SbrEvent::MemberDowned(m.clone()),
            E::MemberRemoved { member, .. } => SbrEvent::MemberRemoved(member.clone()),
            E::UnreachableMember(m) => SbrEvent::UnreachableMember(m.clone()),
            E::ReachableMember(m) => SbrEvent::ReachableMember(m.clone()),
            E::LeaderChanged(l) => SbrEvent::LeaderChanged(l.clone()),
            E::SeenChanged(s) => SbrEvent::SeenChanged(s.clone()),
            E::ReachabilityChanged(r) => SbrEvent::ReachabilityChanged(r.clone()),
            E::SelfUp(_)
            | E::SelfRemoved { .. }
            | E::MemberPreparingForShutdown(_)
            | E::MemberReadyForShutdown(_) => return None,
        })
    }
}

/// Two actions of one step as one: the first's decision, every node once, `me` last.
fn merge(me: &UniqueAddress, first: Option<SbrAction>, second: SbrAction) -> SbrAction {
    let Some(mut first) = first else {
        return second;
    };
    for n in second.down {
        if !first.down.contains(&n) {
            first.down.push(n);
        }
    }
    if let Some(i) = first.down.iter().position(|n| n == me) {
        let me = first.down.remove(i);
        first.down.push(me);
    }
    first
}
