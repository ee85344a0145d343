//! Cluster members, their status lifecycle and Pekko's member orderings.

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;

use crate::address::UniqueAddress;

/// Prefix of the data-center role every member carries (`dc-default`).
pub const DC_ROLE_PREFIX: &str = "dc-";

/// Name of the default data center.
pub const DEFAULT_DATA_CENTER: &str = "default";

/// The upNumber of a member that has not been moved to Up yet (`Int.MaxValue`).
pub const UP_NUMBER_NOT_UP: i32 = i32::MAX;

/// Status of a member in the membership lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MemberStatus {
    /// Admitted by a contact node, waiting for the leader.
    Joining,
    /// Moved up by the leader without convergence.
    WeaklyUp,
    /// A full member.
    Up,
    /// Asked to leave.
    Leaving,
    /// Leaving approved by the leader; hands over its work.
    Exiting,
    /// Downed; will be removed.
    Down,
    /// Removed (never stored in gossip).
    Removed,
    /// Full cluster shutdown requested.
    PreparingForShutdown,
    /// Full cluster shutdown: ready to stop.
    ReadyForShutdown,
}

impl MemberStatus {
    /// All statuses.
    pub const ALL: [MemberStatus; 9] = [
        MemberStatus::Joining,
        MemberStatus::WeaklyUp,
        MemberStatus::Up,
        MemberStatus::Leaving,
        MemberStatus::Exiting,
        MemberStatus::Down,
        MemberStatus::Removed,
        MemberStatus::PreparingForShutdown,
        MemberStatus::ReadyForShutdown,
    ];

    /// The status's number in the protobuf `MemberStatus` enum.
    pub fn to_proto(self) -> i32 {
        match self {
            MemberStatus::Joining => 0,
            MemberStatus::Up => 1,
            MemberStatus::Leaving => 2,
            MemberStatus::Exiting => 3,
            MemberStatus::Down => 4,
            MemberStatus::Removed => 5,
            MemberStatus::WeaklyUp => 6,
            MemberStatus::PreparingForShutdown => 7,
            MemberStatus::ReadyForShutdown => 8,
        }
    }

    /// The status for a protobuf `MemberStatus` number.
    pub fn from_proto(n: i32) -> Option<MemberStatus> {
        MemberStatus::ALL.into_iter().find(|s| s.to_proto() == n)
    }

    /// Statuses this one may move to (Pekko's `allowedTransitions`).
    pub fn allowed_transitions(self) -> &'static [MemberStatus] {
        use MemberStatus::*;
        match self {
            Joining => &[WeaklyUp, Up, Leaving, Down, Removed],
            WeaklyUp => &[Up, Leaving, Down, Removed],
            Up => &[Leaving, Down, Removed, PreparingForShutdown],
            Leaving => &[Exiting, Down, Removed],
            Exiting => &[Removed, Down],
            Down => &[Removed],
            PreparingForShutdown => &[ReadyForShutdown, Removed, Leaving, Down],
            ReadyForShutdown => &[Removed, Leaving, Down],
            Removed => &[],
        }
    }

    /// Statuses a leader may have (Up, Leaving, PreparingForShutdown, ReadyForShutdown); also
    /// the statuses that must have seen the gossip for convergence.
    pub fn is_leader_or_convergence_status(self) -> bool {
        matches!(
            self,
            MemberStatus::Up
                | MemberStatus::Leaving
                | MemberStatus::PreparingForShutdown
                | MemberStatus::ReadyForShutdown
        )
    }
}

impl fmt::Display for MemberStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A member of the cluster. Identity is its [`UniqueAddress`]; see [`Member::same_node`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Member {
    /// Identity of the member.
    pub unique_address: UniqueAddress,
    /// Age rank: assigned when moved Up, [`UP_NUMBER_NOT_UP`] before.
    pub up_number: i32,
    /// Current status.
    pub status: MemberStatus,
    /// Roles, including exactly one `dc-<name>` role.
    pub roles: BTreeSet<String>,
    /// `pekko.cluster.app-version` of the node.
    pub app_version: String,
}

impl Member {
    /// A freshly joining member. Adds `dc-default` when `roles` has no `dc-` role.
    pub fn joining(
        unique_address: UniqueAddress,
        roles: impl IntoIterator<Item = String>,
        app_version: impl Into<String>,
    ) -> Member {
        Member {
            unique_address,
            up_number: UP_NUMBER_NOT_UP,
            status: MemberStatus::Joining,
            roles: with_dc_role(roles),
            app_version: app_version.into(),
        }
    }

    /// True when both denote the same node incarnation.
    pub fn same_node(&self, other: &Member) -> bool {
        self.unique_address == other.unique_address
    }

    /// The data center named by the `dc-` role (`default` when there is none).
    pub fn data_center(&self) -> &str {
        self.roles
            .iter()
            .find_map(|r| r.strip_prefix(DC_ROLE_PREFIX))
            .unwrap_or(DEFAULT_DATA_CENTER)
    }

    /// True if the member has the role.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.contains(role)
    }

    /// A copy with a new status.
    pub fn with_status(&self, status: MemberStatus) -> Member {
        Member {
            status,
            ..self.clone()
        }
    }

    /// A copy with status Up and the given upNumber.
    pub fn with_up_number(&self, up_number: i32) -> Member {
        Member {
            up_number,
            ..self.clone()
        }
    }

    /// Pekko's `isOlderThan` (same data center assumed): lower upNumber, then lower address.
    pub fn is_older_than(&self, other: &Member) -> bool {
        age_ordering(self, other) == Ordering::Less
    }
}

/// Adds `dc-default` to a role set lacking a `dc-` role.
pub fn with_dc_role(roles: impl IntoIterator<Item = String>) -> BTreeSet<String> {
    let mut set: BTreeSet<String> = roles.into_iter().collect();
    if !set.iter().any(|r| r.starts_with(DC_ROLE_PREFIX)) {
        set.insert(format!("{DC_ROLE_PREFIX}{DEFAULT_DATA_CENTER}"));
    }
    set
}

/// Pekko's `Member.ordering`: by unique address.
pub fn member_ordering(a: &Member, b: &Member) -> Ordering {
    a.unique_address.cmp(&b.unique_address)
}

/// Pekko's `Member.ageOrdering`: oldest first (lower upNumber, then address).
pub fn age_ordering(a: &Member, b: &Member) -> Ordering {
    a.up_number
        .cmp(&b.up_number)
        .then_with(|| a.unique_address.address.cmp(&b.unique_address.address))
        .then_with(|| a.unique_address.uid.cmp(&b.unique_address.uid))
}

/// Pekko's `Member.leaderStatusOrdering`, the fallback of leader election: Down last, then
/// Exiting, then Joining, then WeaklyUp; everything else first; ties by member ordering.
pub fn leader_status_ordering(a: &Member, b: &Member) -> Ordering {
    fn rank(s: MemberStatus) -> u8 {
        match s {
            MemberStatus::Down => 4,
            MemberStatus::Exiting => 3,
            MemberStatus::Joining => 2,
            MemberStatus::WeaklyUp => 1,
            _ => 0,
        }
    }
    if a.status == b.status {
        member_ordering(a, b)
    } else {
        rank(a.status)
            .cmp(&rank(b.status))
            .then_with(|| member_ordering(a, b))
    }
}

/// Pekko's `Member.highestPriorityOf`: of two views of the same node, the one a merge keeps.
pub fn highest_priority_of<'a>(m1: &'a Member, m2: &'a Member) -> &'a Member {
    use MemberStatus::*;
    if m1.status == m2.status {
        // keep the older, it carries the lower upNumber
        return if m1.is_older_than(m2) || age_ordering(m1, m2) == Ordering::Equal {
            m1
        } else {
            m2
        };
    }
    let either = |s: MemberStatus| -> Option<&'a Member> {
        if m1.status == s {
            Some(m1)
        } else if m2.status == s {
            Some(m2)
        } else {
            None
        }
    };
    for s in [Removed, ReadyForShutdown, Down, Exiting, Leaving] {
        if let Some(m) = either(s) {
            return m;
        }
    }
    for s in [Joining, WeaklyUp] {
        if m1.status == s {
            return m2;
        }
        if m2.status == s {
            return m1;
        }
    }
    if let Some(m) = either(PreparingForShutdown) {
        return m;
    }
    m1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;

    fn m(port: u16, status: MemberStatus, up: i32) -> Member {
        let mut m = Member::joining(
            UniqueAddress::new(Address::new("S", "h", port), port as i64),
            Vec::<String>::new(),
            "0.0.0",
        );
        m.status = status;
        m.up_number = up;
        m
    }

    #[test]
    fn joining_member_gets_default_dc_role() {
        let a = m(1, MemberStatus::Joining, UP_NUMBER_NOT_UP);
        assert!(a.has_role("dc-default"));
        assert_eq!(a.data_center(), "default");
    }

    #[test]
    fn age_ordering_prefers_up_number_then_address() {
        let a = m(2, MemberStatus::Up, 1);
        let b = m(1, MemberStatus::Up, 2);
        assert!(a.is_older_than(&b));
        let c = m(1, MemberStatus::Up, 1);
        assert!(c.is_older_than(&a));
    }

    #[test]
    fn highest_priority_follows_pekko_table() {
        use MemberStatus::*;
        let pairs = [
            (Down, Up, Down),
            (Exiting, Leaving, Exiting),
            (Leaving, Up, Leaving),
            (Joining, Up, Up),
            (WeaklyUp, Up, Up),
            (Joining, WeaklyUp, WeaklyUp),
            (PreparingForShutdown, Up, PreparingForShutdown),
            (ReadyForShutdown, Down, ReadyForShutdown),
            (Removed, ReadyForShutdown, Removed),
        ];
        for (x, y, want) in pairs {
            let a = m(1, x, 5);
            let b = m(1, y, 5);
            assert_eq!(highest_priority_of(&a, &b).status, want, "{x:?} vs {y:?}");
            assert_eq!(highest_priority_of(&b, &a).status, want, "{y:?} vs {x:?}");
        }
        let older = m(1, Up, 1);
        let younger = m(1, Up, 3);
        assert_eq!(highest_priority_of(&younger, &older).up_number, 1);
    }

    #[test]
    fn leader_status_ordering_puts_down_last() {
        let down = m(1, MemberStatus::Down, 1);
        let joining = m(2, MemberStatus::Joining, UP_NUMBER_NOT_UP);
        let up = m(3, MemberStatus::Up, 1);
        assert_eq!(leader_status_ordering(&up, &joining), Ordering::Less);
        assert_eq!(leader_status_ordering(&joining, &down), Ordering::Less);
    }

    #[test]
    fn proto_numbers_round_trip() {
        for s in MemberStatus::ALL {
            assert_eq!(MemberStatus::from_proto(s.to_proto()), Some(s));
        }
        assert_eq!(MemberStatus::from_proto(9), None);
    }
}
