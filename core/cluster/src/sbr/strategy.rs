//! Downing strategies: keep-majority, static-quorum, keep-oldest, down-all, lease-majority.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use crate::address::{Address, UniqueAddress};
use crate::member::{age_ordering, Member, MemberStatus};
use crate::membership::MembershipState;
use crate::reachability::{Reachability, ReachabilityStatus};

/// A downing strategy with its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Keep the side with more members (ties: the side with the lowest address).
    KeepMajority {
        /// Count only members with this role.
        role: Option<String>,
    },
    /// Keep the side with at least `quorum_size` members.
    StaticQuorum {
        /// Minimum members of a surviving side.
        quorum_size: usize,
        /// Count only members with this role.
        role: Option<String>,
    },
    /// Keep the side with the oldest member.
    KeepOldest {
        /// Down the oldest if it is alone on its side.
        down_if_alone: bool,
        /// Count only members with this role.
        role: Option<String>,
    },
    /// Down every member.
    DownAll,
    /// Keep the side that acquires the lease; the minority side (by keep-majority counting)
    /// waits `acquire_lease_delay_for_minority` before trying, so the majority wins when it
    /// can reach the lease.
    LeaseMajority {
        /// Count only members with this role.
        role: Option<String>,
        /// Delay of the minority side before it tries to acquire the lease.
        acquire_lease_delay_for_minority: Duration,
        /// How long the lease is kept after the downed nodes were removed.
        release_after: Duration,
    },
}

impl Strategy {
    fn role(&self) -> Option<&str> {
        match self {
            Strategy::KeepMajority { role }
            | Strategy::StaticQuorum { role, .. }
            | Strategy::KeepOldest { role, .. }
            | Strategy::LeaseMajority { role, .. } => role.as_deref(),
            Strategy::DownAll => None,
        }
    }

    fn uses_age_ordering(&self) -> bool {
        matches!(self, Strategy::KeepOldest { .. })
    }

    /// True for lease-majority, whose decisions need the lease.
    pub fn uses_lease(&self) -> bool {
        matches!(self, Strategy::LeaseMajority { .. })
    }
}

/// A strategy's decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Down the unreachable members.
    DownUnreachable,
    /// Down the reachable members (this side, including self).
    DownReachable,
    /// Down every member.
    DownAll,
    /// Down the indirectly connected members (plus what the strategy decides without them).
    DownIndirectlyConnected,
    /// Down self because another member quarantined this node.
    DownSelfQuarantinedByRemote,
    /// lease-majority: acquire the lease (after `acquire_delay`), then down the unreachable
    /// members; [`Decision::DownReachable`] when the lease is not acquired.
    AcquireLeaseAndDownUnreachable {
        /// Wait before trying (the minority side's delay, zero on the majority side).
        acquire_delay: Duration,
    },
    /// lease-majority with indirectly connected members: acquire the lease, then down the
    /// indirectly connected ones (as [`Decision::DownIndirectlyConnected`]);
    /// [`Decision::ReverseDownIndirectlyConnected`] when the lease is not acquired.
    AcquireLeaseAndDownIndirectlyConnected {
        /// Wait before trying (always zero in Pekko).
        acquire_delay: Duration,
    },
    /// lease-majority without the lease while indirectly connected: down the indirectly
    /// connected members and every reachable one.
    ReverseDownIndirectlyConnected,
}

impl Decision {
    /// True for the decisions about indirectly connected members.
    pub fn is_indirectly_connected(self) -> bool {
        matches!(
            self,
            Decision::DownIndirectlyConnected
                | Decision::AcquireLeaseAndDownIndirectlyConnected { .. }
                | Decision::ReverseDownIndirectlyConnected
        )
    }

    /// The delay before acquiring the lease, for the decisions that need the lease.
    pub fn acquire_lease_delay(self) -> Option<Duration> {
        match self {
            Decision::AcquireLeaseAndDownUnreachable { acquire_delay }
            | Decision::AcquireLeaseAndDownIndirectlyConnected { acquire_delay } => {
                Some(acquire_delay)
            }
            _ => None,
        }
    }

    /// The decision taken when the lease a decision needs is not acquired (Pekko's
    /// `reverseDecision`); other decisions are returned unchanged.
    pub fn reverse(self) -> Decision {
        match self {
            Decision::AcquireLeaseAndDownUnreachable { .. } => Decision::DownReachable,
            Decision::AcquireLeaseAndDownIndirectlyConnected { .. } => {
                Decision::ReverseDownIndirectlyConnected
            }
            other => other,
        }
    }
}

/// Scala's `FiniteDuration.toString` of a delay: `0 days` for zero, milliseconds otherwise.
fn scala_duration(d: Duration) -> String {
    if d.is_zero() {
        "0 days".to_string()
    } else {
        format!("{} milliseconds", d.as_millis())
    }
}

impl fmt::Display for Decision {
    /// The decision as Pekko logs it, e.g. `DownUnreachable` or
    /// `AcquireLeaseAndDownUnreachable(2000 milliseconds)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::AcquireLeaseAndDownUnreachable { acquire_delay } => write!(
                f,
                "AcquireLeaseAndDownUnreachable({})",
                scala_duration(*acquire_delay)
            ),
            Decision::AcquireLeaseAndDownIndirectlyConnected { acquire_delay } => write!(
                f,
                "AcquireLeaseAndDownIndirectlyConnected({})",
                scala_duration(*acquire_delay)
            ),
            other => fmt::Debug::fmt(other, f),
        }
    }
}

/// What the SBR knows about its own data center.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SbrView {
    /// This node.
    pub self_node: UniqueAddress,
    /// Members of this data center (any status).
    pub members: Vec<Member>,
    /// Members seen as unreachable (or downed); never contains self.
    pub unreachable: BTreeSet<UniqueAddress>,
    /// Unreachable/Terminated records between members of this data center.
    pub reachability: Reachability,
    /// Addresses that have seen the current gossip.
    pub seen_by: BTreeSet<Address>,
}

impl SbrView {
    /// The view a node has of its data center from its latest gossip: members of `self_dc`,
    /// unreachable = aggregated unreachable (other-DC nodes ignored) plus Down members, minus
    /// self.
    pub fn from_membership(state: &MembershipState) -> SbrView {
        let dc: BTreeSet<&UniqueAddress> = state.dc_members().map(|m| &m.unique_address).collect();
        let members: Vec<Member> = state.dc_members().cloned().collect();
        let other_dc: Vec<&UniqueAddress> = state
            .gossip
            .members
            .values()
            .filter(|m| m.data_center() != state.self_dc)
            .map(|m| &m.unique_address)
            .collect();
        let no_outside = state.gossip.reachability.remove(other_dc);
        let mut unreachable: BTreeSet<UniqueAddress> = no_outside
            .all_unreachable_or_terminated()
            .into_iter()
            .filter(|n| dc.contains(n))
            .collect();
        unreachable.extend(
            members
                .iter()
                .filter(|m| m.status == MemberStatus::Down)
                .map(|m| m.unique_address.clone()),
        );
        unreachable.remove(&state.self_node);
        SbrView {
            self_node: state.self_node.clone(),
            reachability: filter_sbr_reachability(&state.gossip.reachability, &dc),
            members,
            unreachable,
            seen_by: state
                .gossip
                .seen
                .iter()
                .map(|n| n.address.clone())
                .collect(),
        }
    }

    fn sorted(&self, strategy: &Strategy, mut ms: Vec<Member>) -> Vec<Member> {
        if strategy.uses_age_ordering() {
            ms.sort_by(age_ordering);
        } else {
            ms.sort_by(|a, b| a.unique_address.cmp(&b.unique_address));
        }
        ms
    }

    /// Pekko's `members(includingPossiblyUp, excludingPossiblyExiting)` restricted to the role.
    fn members_with_role(
        &self,
        strategy: &Strategy,
        including_possibly_up: bool,
        excluding_possibly_exiting: bool,
    ) -> Vec<Member> {
        let ms = self
            .members
            .iter()
            .filter(|m| {
                let s = m.status;
                !((!including_possibly_up
                    && matches!(s, MemberStatus::Joining | MemberStatus::WeaklyUp))
                    || (excluding_possibly_exiting && s == MemberStatus::Leaving)
                    || s == MemberStatus::Down
                    || s == MemberStatus::Exiting)
            })
            .filter(|m| strategy.role().is_none_or(|r| m.has_role(r)))
            .cloned()
            .collect();
        self.sorted(strategy, ms)
    }

    fn split(&self, strategy: &Strategy, up: bool, exiting: bool) -> (usize, usize) {
        let ms = self.members_with_role(strategy, up, exiting);
        let unreachable = ms.iter().filter(|m| self.is_unreachable(m)).count();
        (ms.len() - unreachable, unreachable)
    }

    fn is_unreachable(&self, m: &Member) -> bool {
        self.unreachable.contains(&m.unique_address)
    }

    /// Nodes unreachable but still connected to this side: observers that are also subjects,
    /// and both ends of records whose subject has seen the current gossip.
    pub fn indirectly_connected(&self) -> BTreeSet<UniqueAddress> {
        let observers = self.reachability.all_observers();
        let subjects = self.reachability.all_unreachable_or_terminated();
        let mut result: BTreeSet<UniqueAddress> =
            observers.intersection(&subjects).cloned().collect();
        result.extend(self.seen_connected());
        result
    }

    fn seen_connected(&self) -> BTreeSet<UniqueAddress> {
        self.reachability
            .records()
            .into_iter()
            .filter(|r| self.seen_by.contains(&r.subject.address))
            .flat_map(|r| [r.observer, r.subject])
            .collect()
    }

    /// The strategy's decision for this view.
    pub fn decide(&self, strategy: &Strategy) -> Decision {
        let indirect = !self.indirectly_connected().is_empty();
        match strategy {
            Strategy::DownAll => Decision::DownAll,
            Strategy::LeaseMajority {
                acquire_lease_delay_for_minority,
                ..
            } => {
                if indirect {
                    Decision::AcquireLeaseAndDownIndirectlyConnected {
                        acquire_delay: Duration::ZERO,
                    }
                } else {
                    Decision::AcquireLeaseAndDownUnreachable {
                        acquire_delay: if self.is_in_minority(strategy) {
                            *acquire_lease_delay_for_minority
                        } else {
                            Duration::ZERO
                        },
                    }
                }
            }
            Strategy::StaticQuorum { quorum_size, .. } => {
                let ms = self.members_with_role(strategy, false, false);
                if ms.len() > (quorum_size * 2).saturating_sub(1) {
                    Decision::DownAll
                } else if indirect {
                    Decision::DownIndirectlyConnected
                } else if ms.len() - ms.iter().filter(|m| self.is_unreachable(m)).count()
                    >= *quorum_size
                {
                    Decision::DownUnreachable
                } else {
                    Decision::DownReachable
                }
            }
            Strategy::KeepMajority { .. } => {
                if indirect {
                    return Decision::DownIndirectlyConnected;
                }
                let ms = self.members_with_role(strategy, false, false);
                let Some(lowest) = ms.first() else {
                    return Decision::DownAll;
                };
                let (r, u) = self.split(strategy, false, false);
                match self.majority(r, u, lowest) {
                    Decision::DownUnreachable => {
                        let ms2 = self.members_with_role(strategy, false, true);
                        let Some(lowest2) = ms2.first() else {
                            return Decision::DownAll;
                        };
                        let this_side = ms2.iter().filter(|m| !self.is_unreachable(m)).count();
                        let other_side = self
                            .members_with_role(strategy, true, false)
                            .iter()
                            .filter(|m| self.is_unreachable(m))
                            .count();
                        match self.majority(this_side, other_side, lowest2) {
                            Decision::DownUnreachable => Decision::DownUnreachable,
                            _ => Decision::DownAll,
                        }
                    }
                    d => d,
                }
            }
            Strategy::KeepOldest { down_if_alone, .. } => {
                if indirect {
                    return Decision::DownIndirectlyConnected;
                }
                let ms = self.members_with_role(strategy, false, false);
                let Some(oldest) = ms.first() else {
                    return Decision::DownAll;
                };
                let (r, u) = self.split(strategy, false, false);
                match oldest_decision(*down_if_alone, !self.is_unreachable(oldest), r, u) {
                    Decision::DownUnreachable => {
                        let ms2 = self.members_with_role(strategy, false, true);
                        let Some(oldest2) = ms2.first() else {
                            return Decision::DownAll;
                        };
                        let (r2, u2) = self.split(strategy, *down_if_alone, true);
                        match oldest_decision(*down_if_alone, !self.is_unreachable(oldest2), r2, u2)
                        {
                            Decision::DownUnreachable => Decision::DownUnreachable,
                            _ => Decision::DownAll,
                        }
                    }
                    d => d,
                }
            }
        }
    }

    /// lease-majority's side test: fewer reachable than unreachable members with the role, or
    /// an equal split where the lowest address is on the other side.
    fn is_in_minority(&self, strategy: &Strategy) -> bool {
        let ms = self.members_with_role(strategy, false, false);
        let Some(lowest) = ms.first() else {
            return false;
        };
        let unreachable = ms.iter().filter(|m| self.is_unreachable(m)).count();
        match (unreachable * 2).cmp(&ms.len()) {
            Ordering::Equal => self.is_unreachable(lowest),
            Ordering::Less => false,
            Ordering::Greater => true,
        }
    }

    fn majority(&self, this_side: usize, other_side: usize, lowest: &Member) -> Decision {
        match this_side.cmp(&other_side) {
            Ordering::Equal if self.is_unreachable(lowest) => Decision::DownReachable,
            Ordering::Equal | Ordering::Greater => Decision::DownUnreachable,
            Ordering::Less => Decision::DownReachable,
        }
    }

    fn downable(&self) -> BTreeSet<UniqueAddress> {
        self.members
            .iter()
            .filter(|m| !matches!(m.status, MemberStatus::Down | MemberStatus::Exiting))
            .map(|m| m.unique_address.clone())
            .collect()
    }

    /// The nodes a decision downs (Pekko's `nodesToDown`); a second indirectly-connected
    /// decision while resolving one falls back to down-all, as the JVM does.
    pub fn nodes_to_down(
        &self,
        strategy: &Strategy,
        decision: Decision,
    ) -> BTreeSet<UniqueAddress> {
        self.try_nodes_to_down(strategy, decision)
            .unwrap_or_else(|| self.downable())
    }

    fn try_nodes_to_down(
        &self,
        strategy: &Strategy,
        decision: Decision,
    ) -> Option<BTreeSet<UniqueAddress>> {
        let downable = self.downable();
        Some(match decision {
            Decision::DownUnreachable | Decision::AcquireLeaseAndDownUnreachable { .. } => {
                downable.intersection(&self.unreachable).cloned().collect()
            }
            Decision::DownReachable => downable.difference(&self.unreachable).cloned().collect(),
            Decision::DownAll => downable,
            Decision::ReverseDownIndirectlyConnected => {
                let indirect = self.indirectly_connected();
                downable
                    .iter()
                    .filter(|n| indirect.contains(n) || !self.unreachable.contains(n))
                    .cloned()
                    .collect()
            }
            Decision::DownIndirectlyConnected
            | Decision::AcquireLeaseAndDownIndirectlyConnected { .. } => {
                let mut set = self.indirectly_connected();
                set.extend(self.additional_when_indirectly_connected(strategy, &downable)?);
                downable.intersection(&set).cloned().collect()
            }
            Decision::DownSelfQuarantinedByRemote => downable
                .into_iter()
                .filter(|n| n == &self.self_node)
                .collect(),
        })
    }

    fn additional_when_indirectly_connected(
        &self,
        strategy: &Strategy,
        downable: &BTreeSet<UniqueAddress>,
    ) -> Option<BTreeSet<UniqueAddress>> {
        let indirect = self.indirectly_connected();
        if self.unreachable.difference(&indirect).next().is_none() {
            return Some(BTreeSet::new());
        }
        let observers = self.reachability.all_observers();
        let subjects = self.reachability.all_unreachable_or_terminated();
        let cycle: BTreeSet<&UniqueAddress> = observers.intersection(&subjects).collect();
        let seen = self.seen_connected();
        let reachability = self.reachability.filter_records(|r| {
            downable.contains(&r.observer)
                && downable.contains(&r.subject)
                && !((cycle.contains(&r.observer) && cycle.contains(&r.subject))
                    || (seen.contains(&r.observer) && seen.contains(&r.subject)))
        });
        let filtered = SbrView {
            unreachable: reachability.all_unreachable_or_terminated(),
            reachability,
            ..self.clone()
        };
        let decision = filtered.decide(strategy);
        if decision.is_indirectly_connected() {
            tracing::warn!("SBR double {decision:?} decision, downing all instead");
            return None;
        }
        filtered.try_nodes_to_down(strategy, decision)
    }

    /// Pekko's `isAllUnreachableDownOrExiting`: no unreachable member left that is neither
    /// Joining/WeaklyUp nor Down/Exiting (roles ignored).
    pub fn is_all_unreachable_down_or_exiting(&self) -> bool {
        self.unreachable.is_empty()
            || self
                .members
                .iter()
                .filter(|m| self.is_unreachable(m))
                .all(|m| {
                    matches!(
                        m.status,
                        MemberStatus::Down
                            | MemberStatus::Exiting
                            | MemberStatus::Joining
                            | MemberStatus::WeaklyUp
                    )
                })
    }
}

fn oldest_decision(
    down_if_alone: bool,
    oldest_on_this_side: bool,
    this_side: usize,
    other_side: usize,
) -> Decision {
    if oldest_on_this_side {
        if down_if_alone && this_side == 1 && other_side >= 2 {
            Decision::DownReachable
        } else {
            Decision::DownUnreachable
        }
    } else if down_if_alone && other_side == 1 && this_side >= 2 {
        Decision::DownUnreachable
    } else {
        Decision::DownReachable
    }
}

/// Keeps Unreachable/Terminated records whose observer and subject are both in `dc`.
pub fn filter_sbr_reachability(r: &Reachability, dc: &BTreeSet<&UniqueAddress>) -> Reachability {
    r.filter_records(|rec| {
        rec.status != ReachabilityStatus::Reachable
            && dc.contains(&rec.observer)
            && dc.contains(&rec.subject)
    })
}
