//! Cluster domain events, computed as the difference between two membership states (what
//! Pekko publishes to `Cluster.subscribe` subscribers).

use std::collections::BTreeSet;

use crate::address::Address;
use crate::member::{Member, MemberStatus};
use crate::membership::MembershipState;
use crate::reachability::Reachability;

/// A change of membership, reachability or leadership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterEvent {
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
    /// A member is PreparingForShutdown: a full cluster shutdown was started (Pekko's
    /// `MemberPreparingForShutdown`).
    MemberPreparingForShutdown(Member),
    /// A member is ReadyForShutdown: the leader saw every member prepare for the full cluster
    /// shutdown (Pekko's `MemberReadyForShutdown`).
    MemberReadyForShutdown(Member),
    /// A member was removed (the member has status Removed).
    MemberRemoved {
        /// The member, with status Removed.
        member: Member,
        /// Its status before removal.
        previous_status: MemberStatus,
    },
    /// A member became unreachable.
    UnreachableMember(Member),
    /// A member became reachable again.
    ReachableMember(Member),
    /// The leader of this data center changed.
    LeaderChanged(Option<Address>),
    /// The seen set of the latest gossip changed.
    SeenChanged(BTreeSet<Address>),
    /// The reachability table changed.
    ReachabilityChanged(Reachability),
    /// This node is Up (Pekko typed `SelfUp`); published right after this node's own `MemberUp`.
    SelfUp(Member),
    /// This node is no longer a member: it was removed, or downed and stopped, or finished
    /// leaving (Pekko typed `SelfRemoved`). Published once, when the cluster node stops.
    SelfRemoved {
        /// Its last status as a member (e.g. `Exiting` after a graceful leave, `Down`).
        previous_status: MemberStatus,
    },
}

fn unreachable_set(s: &MembershipState) -> BTreeSet<crate::UniqueAddress> {
    let other_dc: Vec<&crate::UniqueAddress> = s
        .gossip
        .members
        .values()
        .filter(|m| m.data_center() != s.self_dc)
        .map(|m| &m.unique_address)
        .collect();
    let mut set = s
        .gossip
        .reachability
        .remove(other_dc)
        .all_unreachable_or_terminated();
    set.remove(&s.self_node);
    set
}

/// Events leading from `old` to `new` (both views of the same node).
pub fn diff(old: &MembershipState, new: &MembershipState) -> Vec<ClusterEvent> {
    let mut events = Vec::new();
    for m in new.gossip.members.values() {
        let changed = old
            .gossip
            .member(&m.unique_address)
            .is_none_or(|o| o.status != m.status);
        if changed {
            match m.status {
                MemberStatus::Joining => events.push(ClusterEvent::MemberJoined(m.clone())),
                MemberStatus::WeaklyUp => events.push(ClusterEvent::MemberWeaklyUp(m.clone())),
                MemberStatus::Up => events.push(ClusterEvent::MemberUp(m.clone())),
                MemberStatus::Leaving => events.push(ClusterEvent::MemberLeft(m.clone())),
                MemberStatus::Exiting => events.push(ClusterEvent::MemberExited(m.clone())),
                MemberStatus::Down => events.push(ClusterEvent::MemberDowned(m.clone())),
                MemberStatus::PreparingForShutdown => {
                    events.push(ClusterEvent::MemberPreparingForShutdown(m.clone()))
                }
                MemberStatus::ReadyForShutdown => {
                    events.push(ClusterEvent::MemberReadyForShutdown(m.clone()))
                }
                _ => {}
            }
        }
    }
    for m in old.gossip.members.values() {
        if !new.gossip.has_member(&m.unique_address) {
            events.push(ClusterEvent::MemberRemoved {
                member: m.with_status(MemberStatus::Removed),
                previous_status: m.status,
            });
        }
    }
    let (old_u, new_u) = (unreachable_set(old), unreachable_set(new));
    for n in new_u.difference(&old_u) {
        if let Some(m) = new.gossip.member(n) {
            events.push(ClusterEvent::UnreachableMember(m.clone()));
        }
    }
    for n in old_u.difference(&new_u) {
        if let Some(m) = new.gossip.member(n) {
            events.push(ClusterEvent::ReachableMember(m.clone()));
        }
    }
    if old.gossip.reachability != new.gossip.reachability {
        events.push(ClusterEvent::ReachabilityChanged(
            new.gossip.reachability.clone(),
        ));
    }
    let seen = |s: &MembershipState| -> BTreeSet<Address> {
        s.gossip.seen.iter().map(|n| n.address.clone()).collect()
    };
    if seen(old) != seen(new) {
        events.push(ClusterEvent::SeenChanged(seen(new)));
    }
    let (old_l, new_l) = (old.leader(), new.leader());
    if old_l != new_l {
        events.push(ClusterEvent::LeaderChanged(new_l.map(|l| l.address)));
    }
    events
}
