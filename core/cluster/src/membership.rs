//! A node's view of the gossip ([`MembershipState`]): convergence, leader election and the
//! leader actions, all as pure functions of the state (time is passed in).

use std::collections::{BTreeMap, BTreeSet};

use crate::address::UniqueAddress;
use crate::gossip::Gossip;
use crate::member::{leader_status_ordering, Member, MemberStatus, UP_NUMBER_NOT_UP};
use crate::reachability::Reachability;

/// The latest gossip as seen from one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipState {
    /// The latest gossip.
    pub gossip: Gossip,
    /// This node.
    pub self_node: UniqueAddress,
    /// This node's data center.
    pub self_dc: String,
}

impl MembershipState {
    /// A state for `self_node` in data center `self_dc`.
    pub fn new(gossip: Gossip, self_node: UniqueAddress, self_dc: impl Into<String>) -> Self {
        MembershipState {
            gossip,
            self_node,
            self_dc: self_dc.into(),
        }
    }

    /// This node's member entry, if it is a member.
    pub fn self_member(&self) -> Option<&Member> {
        self.gossip.member(&self.self_node)
    }

    /// Members of this node's data center, in member order.
    pub fn dc_members(&self) -> impl Iterator<Item = &Member> {
        self.gossip
            .members
            .values()
            .filter(move |m| m.data_center() == self.self_dc)
    }

    fn other_dc_nodes(&self) -> Vec<&UniqueAddress> {
        self.gossip
            .members
            .values()
            .filter(|m| m.data_center() != self.self_dc)
            .map(|m| &m.unique_address)
            .collect()
    }

    /// Reachability without observations made from other data centers.
    pub fn dc_reachability(&self) -> Reachability {
        self.gossip
            .reachability
            .remove_observers(self.other_dc_nodes())
    }

    /// Reachability of this DC's nodes as seen by this DC's non-Down members.
    pub fn dc_reachability_excluding_downed_observers(&self) -> Reachability {
        let excluded = self
            .gossip
            .members
            .values()
            .filter(|m| m.status == MemberStatus::Down || m.data_center() != self.self_dc)
            .map(|m| &m.unique_address);
        self.gossip
            .reachability
            .remove_observers(excluded)
            .remove(self.other_dc_nodes())
    }

    /// Pekko's convergence check: every Up/Leaving/(Preparing|Ready)ForShutdown DC member has
    /// seen this gossip (or confirmed exiting), and every unreachable DC member is Down or
    /// Exiting.
    pub fn convergence(&self, exiting_confirmed: &BTreeSet<UniqueAddress>) -> bool {
        let first_member_in_dc = !self
            .dc_members()
            .any(|m| m.status.is_leader_or_convergence_status());
        let hindering = self.gossip.members.values().any(|m| {
            let relevant_status = m.status.is_leader_or_convergence_status()
                || (first_member_in_dc
                    && matches!(m.status, MemberStatus::Joining | MemberStatus::WeaklyUp));
            (first_member_in_dc || m.data_center() == self.self_dc)
                && relevant_status
                && !(self.gossip.seen_by_node(&m.unique_address)
                    || exiting_confirmed.contains(&m.unique_address))
        });
        if hindering {
            return false;
        }
        self.dc_reachability_excluding_downed_observers()
            .all_unreachable_or_terminated()
            .into_iter()
            .filter(|n| n != &self.self_node && !exiting_confirmed.contains(n))
            .all(|n| match self.gossip.member(&n) {
                Some(m) => matches!(m.status, MemberStatus::Down | MemberStatus::Exiting),
                None => true,
            })
    }

    /// The leader of this node's data center.
    pub fn leader(&self) -> Option<UniqueAddress> {
        self.leader_of(self.gossip.members.values())
    }

    /// The leader among members having `role`.
    pub fn role_leader(&self, role: &str) -> Option<UniqueAddress> {
        self.leader_of(self.gossip.members.values().filter(|m| m.has_role(role)))
    }

    /// True if `node` is the leader.
    pub fn is_leader(&self, node: &UniqueAddress) -> bool {
        self.leader().as_ref() == Some(node)
    }

    /// Pekko's `leaderOf`: first reachable non-Down DC member in member order with a leader
    /// status, else the minimum under the leader status ordering.
    pub fn leader_of<'a>(
        &self,
        members: impl Iterator<Item = &'a Member>,
    ) -> Option<UniqueAddress> {
        let reachability = self.dc_reachability();
        let all_reachable = reachability.is_all_reachable();
        let mut candidates: Vec<&Member> = members
            .filter(|m| m.data_center() == self.self_dc && m.status != MemberStatus::Down)
            .filter(|m| {
                all_reachable
                    || reachability.is_reachable(&m.unique_address)
                    || m.unique_address == self.self_node
            })
            .collect();
        candidates.sort_by(|a, b| a.unique_address.cmp(&b.unique_address));
        candidates
            .iter()
            .find(|m| m.status.is_leader_or_convergence_status())
            .or_else(|| {
                candidates
                    .iter()
                    .min_by(|a, b| leader_status_ordering(a, b))
            })
            .map(|m| m.unique_address.clone())
    }

    /// Never gossip to self nor to nodes self has marked unreachable.
    pub fn valid_node_for_gossip(&self, node: &UniqueAddress) -> bool {
        node != &self.self_node
            && self
                .gossip
                .reachability
                .is_reachable_by(&self.self_node, node)
    }

    /// True if `node` is reachable in the DC view ignoring Down observers.
    pub fn is_reachable_excluding_downed_observers(&self, node: &UniqueAddress) -> bool {
        match self.gossip.member(node) {
            None => false,
            Some(m) if m.data_center() == self.self_dc => self
                .dc_reachability_excluding_downed_observers()
                .is_reachable(node),
            Some(_) => {
                let downed = self
                    .gossip
                    .members
                    .values()
                    .filter(|m| m.status == MemberStatus::Down)
                    .map(|m| &m.unique_address);
                self.gossip
                    .reachability
                    .remove_observers(downed)
                    .is_reachable(node)
            }
        }
    }

    /// The oldest member of this data center (Pekko's age ordering).
    pub fn oldest(&self) -> Option<&Member> {
        self.dc_members()
            .min_by(|a, b| crate::member::age_ordering(a, b))
    }

    /// Where the leader gossips members it just moved to Exiting (quick news for singletons):
    /// the two oldest members of this data center and, for each role of the exiting members
    /// (`dc-` roles aside), the two oldest with that role. Self may be among them (the caller
    /// does not gossip to itself), as in Pekko.
    pub fn gossip_targets_for_exiting(&self, exiting: &[Member]) -> Vec<Member> {
        let mut targets: Vec<Member> = Vec::new();
        if exiting.is_empty() {
            return targets;
        }
        let mut by_age: Vec<&Member> = self.dc_members().collect();
        by_age.sort_by(|a, b| crate::member::age_ordering(a, b));
        let mut add = |m: &Member| {
            if !targets.iter().any(|t| t.unique_address == m.unique_address) {
                targets.push(m.clone());
            }
        };
        for m in by_age.iter().take(2) {
            add(m);
        }
        let roles: BTreeSet<&String> = exiting
            .iter()
            .flat_map(|m| m.roles.iter())
            .filter(|r| !r.starts_with(crate::member::DC_ROLE_PREFIX))
            .collect();
        for role in roles {
            for m in by_age.iter().filter(|m| m.has_role(role)).take(2) {
                add(m);
            }
        }
        targets
    }
}

/// Settings the leader actions depend on (from `pekko.cluster.*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderActionSettings {
    /// `min-nr-of-members`.
    pub min_nr_of_members: usize,
    /// `role.<name>.min-nr-of-members`.
    pub min_nr_of_members_of_role: BTreeMap<String, usize>,
    /// `prune-gossip-tombstones-after` in milliseconds.
    pub prune_gossip_tombstones_after_ms: i64,
}

impl Default for LeaderActionSettings {
    fn default() -> Self {
        LeaderActionSettings {
            min_nr_of_members: 1,
            min_nr_of_members_of_role: BTreeMap::new(),
            prune_gossip_tombstones_after_ms: 24 * 3600 * 1000,
        }
    }
}

/// Status changes made by one leader-actions round.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeaderActionsOutcome {
    /// Members whose status changed, with the new member value.
    pub changed: Vec<Member>,
    /// Members removed (with their status before removal).
    pub removed: Vec<Member>,
}

impl LeaderActionsOutcome {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.removed.is_empty()
    }
}

fn min_nr_fulfilled(g: &Gossip, s: &LeaderActionSettings) -> bool {
    g.members.len() >= s.min_nr_of_members
        && s.min_nr_of_members_of_role
            .iter()
            .all(|(role, n)| g.members.values().filter(|m| m.has_role(role)).count() >= *n)
}

/// The leader's actions on convergence: Joining/WeaklyUp -> Up, Leaving -> Exiting,
/// PreparingForShutdown -> ReadyForShutdown, removal of unreachable Down/Exiting members and of
/// confirmed Exiting members (with tombstones), tombstone pruning. Returns the new gossip
/// (already incremented by the leader and seen only by it) when something changed.
pub fn leader_actions_on_convergence(
    state: &MembershipState,
    exiting_confirmed: &BTreeSet<UniqueAddress>,
    settings: &LeaderActionSettings,
    preparing_for_shutdown: bool,
    now_ms: i64,
) -> Option<(Gossip, LeaderActionsOutcome)> {
    use MemberStatus::*;
    let g = &state.gossip;
    let in_dc = |m: &Member| m.data_center() == state.self_dc;
    let mut to_remove: BTreeSet<UniqueAddress> = BTreeSet::new();
    for node in state.dc_reachability().all_unreachable_or_terminated() {
        if let Some(m) = g.member(&node) {
            if in_dc(m) && matches!(m.status, Down | Exiting) {
                to_remove.insert(node);
            }
        }
    }
    for node in exiting_confirmed {
        if let Some(m) = g.member(node) {
            if in_dc(m) && m.status == Exiting {
                to_remove.insert(node.clone());
            }
        }
    }
    if g.is_multi_dc() {
        for m in g.members.values() {
            if !in_dc(m) && matches!(m.status, Down | Exiting) {
                to_remove.insert(m.unique_address.clone());
            }
        }
    }
    let enough = min_nr_fulfilled(g, settings);
    let mut up_number = state
        .dc_members()
        .map(|m| {
            if m.up_number == UP_NUMBER_NOT_UP {
                0
            } else {
                m.up_number
            }
        })
        .max()
        .unwrap_or(0);
    let mut outcome = LeaderActionsOutcome::default();
    for m in state.dc_members() {
        if to_remove.contains(&m.unique_address) {
            continue;
        }
        let changed = match m.status {
            Joining | WeaklyUp if enough && !preparing_for_shutdown => {
                up_number = up_number.saturating_add(1);
                Some(Member {
                    status: Up,
                    up_number,
                    ..m.clone()
                })
            }
            Leaving => Some(m.with_status(Exiting)),
            PreparingForShutdown => Some(m.with_status(ReadyForShutdown)),
            _ => None,
        };
        outcome.changed.extend(changed);
    }
    let mut next = g.clone();
    for m in &outcome.changed {
        next.members.insert(m.unique_address.clone(), m.clone());
    }
    for node in &to_remove {
        if let Some(m) = g.member(node) {
            outcome.removed.push(m.clone());
        }
        next = next.remove(node, now_ms);
    }
    let pruned = next.prune_tombstones(now_ms - settings.prune_gossip_tombstones_after_ms);
    let tombstones_pruned = pruned.tombstones.len() != next.tombstones.len();
    if outcome.is_empty() && !tombstones_pruned {
        return None;
    }
    let next = pruned
        .increment(&state.self_node)
        .only_seen(&state.self_node);
    Some((next, outcome))
}

/// The leader's WeaklyUp promotion without convergence: reachable Joining DC members become
/// WeaklyUp (when `min-nr-of-members` is fulfilled).
pub fn weakly_up_promotion(
    state: &MembershipState,
    settings: &LeaderActionSettings,
) -> Option<(Gossip, Vec<Member>)> {
    if !min_nr_fulfilled(&state.gossip, settings) {
        return None;
    }
    let changed: Vec<Member> = state
        .dc_members()
        .filter(|m| {
            m.status == MemberStatus::Joining
                && state.is_reachable_excluding_downed_observers(&m.unique_address)
        })
        .map(|m| m.with_status(MemberStatus::WeaklyUp))
        .collect();
    if changed.is_empty() {
        return None;
    }
    let mut next = state.gossip.clone();
    for m in &changed {
        next.members.insert(m.unique_address.clone(), m.clone());
    }
    Some((
        next.increment(&state.self_node).only_seen(&state.self_node),
        changed,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;

    fn n(host: &str, p: u16) -> UniqueAddress {
        UniqueAddress::new(Address::new("S", host, p), p as i64)
    }

    fn m(node: &UniqueAddress, s: MemberStatus, up: i32) -> Member {
        Member {
            up_number: up,
            ..Member::joining(node.clone(), Vec::<String>::new(), "0.0.0").with_status(s)
        }
    }

    fn state(members: Vec<Member>, self_node: &UniqueAddress) -> MembershipState {
        MembershipState::new(Gossip::with_members(members), self_node.clone(), "default")
    }

    #[test]
    fn exiting_news_go_to_the_two_oldest_and_the_two_oldest_of_each_role() {
        let (a, b, c, d) = (n("h", 1), n("h", 2), n("h", 3), n("h", 4));
        let with_role = |node: &UniqueAddress, up: i32, role: &str| Member {
            up_number: up,
            ..Member::joining(node.clone(), vec![role.to_string()], "0.0.0")
                .with_status(MemberStatus::Up)
        };
        let leaving = with_role(&d, 4, "backend").with_status(MemberStatus::Exiting);
        let s = state(
            vec![
                m(&a, MemberStatus::Up, 1),
                m(&b, MemberStatus::Up, 2),
                with_role(&c, 3, "backend"),
                leaving.clone(),
            ],
            &a,
        );
        let targets: Vec<UniqueAddress> = s
            .gossip_targets_for_exiting(std::slice::from_ref(&leaving))
            .into_iter()
            .map(|m| m.unique_address)
            .collect();
        // a (self, oldest) is a target like in Pekko; the caller skips itself.
        assert_eq!(targets, vec![a.clone(), b.clone(), c.clone(), d.clone()]);
        assert!(s.gossip_targets_for_exiting(&[]).is_empty());
    }

    #[test]
    fn leader_is_lowest_address_with_leader_status() {
        let (a, b, c) = (n("10.0.0.10", 1), n("10.0.0.2", 1), n("10.0.0.3", 1));
        let s = state(
            vec![
                m(&a, MemberStatus::Joining, i32::MAX),
                m(&b, MemberStatus::Up, 1),
                m(&c, MemberStatus::Up, 2),
            ],
            &c,
        );
        // "10.0.0.10" sorts first but is Joining: the first Up member leads
        assert_eq!(s.leader(), Some(b.clone()));
        let mut s2 = s.clone();
        s2.gossip.reachability = s.gossip.reachability.unreachable(&c, &b);
        assert_eq!(s2.leader(), Some(c.clone()));
        // all joining: fallback ordering
        let s3 = state(
            vec![
                m(&a, MemberStatus::Joining, i32::MAX),
                m(&b, MemberStatus::Down, 1),
            ],
            &a,
        );
        assert_eq!(s3.leader(), Some(a));
    }

    #[test]
    fn convergence_requires_seen_and_no_blocking_unreachable() {
        let (a, b) = (n("h", 1), n("h", 2));
        let mut s = state(
            vec![m(&a, MemberStatus::Up, 1), m(&b, MemberStatus::Up, 2)],
            &a,
        );
        s.gossip = s.gossip.seen_by(&a);
        assert!(!s.convergence(&BTreeSet::new()));
        assert!(s.convergence(&[b.clone()].into_iter().collect()));
        s.gossip = s.gossip.seen_by(&b);
        assert!(s.convergence(&BTreeSet::new()));
        s.gossip.reachability = s.gossip.reachability.unreachable(&a, &b);
        assert!(!s.convergence(&BTreeSet::new()));
        s.gossip = s.gossip.update_member(m(&b, MemberStatus::Down, 2));
        assert!(
            s.convergence(&BTreeSet::new()),
            "Down unreachable does not block"
        );
    }

    #[test]
    fn leader_actions_move_up_exit_and_remove() {
        let (a, b, c, d) = (n("h", 1), n("h", 2), n("h", 3), n("h", 4));
        let mut s = state(
            vec![
                m(&a, MemberStatus::Up, 1),
                m(&b, MemberStatus::Joining, i32::MAX),
                m(&c, MemberStatus::Leaving, 2),
                m(&d, MemberStatus::Down, 3),
            ],
            &a,
        );
        s.gossip.reachability = s.gossip.reachability.unreachable(&a, &d);
        let (g, out) = leader_actions_on_convergence(
            &s,
            &BTreeSet::new(),
            &LeaderActionSettings::default(),
            false,
            1000,
        )
        .unwrap();
        assert_eq!(g.member(&b).unwrap().status, MemberStatus::Up);
        assert_eq!(
            g.member(&b).unwrap().up_number,
            4,
            "after youngest upNumber 3"
        );
        assert_eq!(g.member(&c).unwrap().status, MemberStatus::Exiting);
        assert!(!g.has_member(&d));
        assert_eq!(g.tombstones.get(&d), Some(&1000));
        assert_eq!(out.removed.len(), 1);
        assert_eq!(g.seen, [a.clone()].into_iter().collect());
        assert_eq!(g.version.get(&a.vclock_node()), 1);
        assert!(g.check_invariants().is_ok());
        // exiting confirmed removal
        let s2 = MembershipState::new(g, a.clone(), "default");
        let (g2, out2) = leader_actions_on_convergence(
            &s2,
            &[c.clone()].into_iter().collect(),
            &LeaderActionSettings::default(),
            false,
            2000,
        )
        .unwrap();
        assert!(!g2.has_member(&c));
        assert_eq!(out2.removed[0].status, MemberStatus::Exiting);
        // tombstones pruned after the configured time
        let s3 = MembershipState::new(g2, a.clone(), "default");
        let settings = LeaderActionSettings::default();
        let later = 2000 + settings.prune_gossip_tombstones_after_ms + 1;
        let (g3, _) =
            leader_actions_on_convergence(&s3, &BTreeSet::new(), &settings, false, later).unwrap();
        assert!(g3.tombstones.is_empty());
    }

    #[test]
    fn min_nr_of_members_holds_joining() {
        let (a, b) = (n("h", 1), n("h", 2));
        let s = state(
            vec![
                m(&a, MemberStatus::Joining, i32::MAX),
                m(&b, MemberStatus::Joining, i32::MAX),
            ],
            &a,
        );
        let settings = LeaderActionSettings {
            min_nr_of_members: 3,
            ..Default::default()
        };
        assert!(leader_actions_on_convergence(&s, &BTreeSet::new(), &settings, false, 0).is_none());
        let (g, _) = leader_actions_on_convergence(
            &s,
            &BTreeSet::new(),
            &LeaderActionSettings::default(),
            false,
            0,
        )
        .unwrap();
        assert_eq!(g.member(&a).unwrap().up_number, 1);
        assert_eq!(g.member(&b).unwrap().up_number, 2);
        let (wg, changed) = weakly_up_promotion(&s, &LeaderActionSettings::default()).unwrap();
        assert_eq!(changed.len(), 2);
        assert_eq!(wg.member(&b).unwrap().status, MemberStatus::WeaklyUp);
    }
}
