//! The SBR's timing as a sans-I/O state machine: member events and ticks go in (with the
//! current monotonic time), downing actions come out once the view has been stable for
//! `stable-after`, or immediately for down-all-when-unstable and quarantine.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::address::{Address, UniqueAddress};
use crate::member::{Member, MemberStatus};
use crate::reachability::Reachability;
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

#[derive(Clone, Copy, Debug)]
struct ChangeStats {
    first: Duration,
    latest: Duration,
    count: u64,
}

/// The split brain resolver of one node (for its own data center).
#[derive(Clone, Debug)]
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
        }
    }

    /// A resolver from settings (`active-strategy` must not be `lease-majority`).
    pub fn from_settings(
        settings: &SbrSettings,
        self_node: UniqueAddress,
        self_dc: impl Into<String>,
        now: Duration,
    ) -> crate::Result<SplitBrainResolver> {
        Ok(SplitBrainResolver::new(
            settings.strategy()?,
            settings.stable_after,
            settings.down_all_when_unstable_duration(),
            self_node,
            self_dc,
            now,
        ))
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
    pub fn on_event(&mut self, event: SbrEvent, now: Duration) -> Option<SbrAction> {
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
    pub fn tick(&mut self, now: Duration) -> Option<SbrAction> {
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
            if let Some(a) = self.act(decision, now) {
                action = Some(a);
            }
        }
        action
    }

    fn act(&mut self, decision: Decision, now: Duration) -> Option<SbrAction> {
        let view = self.view();
        let nodes = view.nodes_to_down(&self.strategy, decision);
        if nodes.is_empty() {
            return None;
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
            "SBR took decision {decision:?} and is downing [{}]{}, [{}] unreachable of [{}] members",
            down.iter().map(|n| n.address.to_string()).collect::<Vec<_>>().join(", "),
            if nodes.contains(&self.self_node) { " including myself" } else { "" },
            self.unreachable.len(),
            self.members
                .values()
                .filter(|m| !matches!(m.status, MemberStatus::Down | MemberStatus::Exiting))
                .count(),
        );
        self.reset_stats(now);
        self.reset_stable_deadline(now);
        Some(SbrAction { decision, down })
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
