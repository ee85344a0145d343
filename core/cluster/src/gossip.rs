//! The gossip state: members, seen set, reachability, version and tombstones.

use std::collections::{BTreeMap, BTreeSet};

use sha1::{Digest, Sha1};

use crate::address::UniqueAddress;
use crate::member::{highest_priority_of, Member, MemberStatus};
use crate::reachability::Reachability;
use crate::vclock::VectorClock;

/// The replicated membership state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gossip {
    /// Live members by unique address (sorted by Pekko's member ordering).
    pub members: BTreeMap<UniqueAddress, Member>,
    /// Nodes that have seen exactly this version.
    pub seen: BTreeSet<UniqueAddress>,
    /// Reachability table.
    pub reachability: Reachability,
    /// Version of this state.
    pub version: VectorClock,
    /// Removed nodes and their removal time (epoch ms).
    pub tombstones: BTreeMap<UniqueAddress, i64>,
}

impl Gossip {
    /// The empty gossip of an uninitialized node.
    pub fn empty() -> Gossip {
        Gossip::default()
    }

    /// A gossip with the given members and nothing else.
    pub fn with_members(members: impl IntoIterator<Item = Member>) -> Gossip {
        Gossip {
            members: members
                .into_iter()
                .map(|m| (m.unique_address.clone(), m))
                .collect(),
            ..Gossip::default()
        }
    }

    /// True when there are no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The member with this unique address.
    pub fn member(&self, node: &UniqueAddress) -> Option<&Member> {
        self.members.get(node)
    }

    /// True if the node is a member.
    pub fn has_member(&self, node: &UniqueAddress) -> bool {
        self.members.contains_key(node)
    }

    /// The member whose address (ignoring uid) equals `address`.
    pub fn member_by_address(&self, address: &crate::Address) -> Option<&Member> {
        self.members
            .values()
            .find(|m| &m.unique_address.address == address)
    }

    /// True if `node` has seen this version.
    pub fn seen_by_node(&self, node: &UniqueAddress) -> bool {
        self.seen.contains(node)
    }

    /// A copy with `node` added to the seen set.
    pub fn seen_by(&self, node: &UniqueAddress) -> Gossip {
        let mut g = self.clone();
        g.seen.insert(node.clone());
        g
    }

    /// A copy seen only by `node`.
    pub fn only_seen(&self, node: &UniqueAddress) -> Gossip {
        let mut g = self.clone();
        g.seen = [node.clone()].into_iter().collect();
        g
    }

    /// A copy seen by nobody.
    pub fn clear_seen(&self) -> Gossip {
        let mut g = self.clone();
        g.seen.clear();
        g
    }

    /// A copy whose seen set is the union with `other`'s.
    pub fn merge_seen(&self, other: &Gossip) -> Gossip {
        let mut g = self.clone();
        g.seen.extend(other.seen.iter().cloned());
        g
    }

    /// A copy with the node's vector clock entry incremented.
    pub fn increment(&self, node: &UniqueAddress) -> Gossip {
        let mut g = self.clone();
        g.version = g.version.increment(&node.vclock_node());
        g
    }

    /// A copy with the node's vector clock entry removed.
    pub fn prune(&self, node: &UniqueAddress) -> Gossip {
        let mut g = self.clone();
        g.version = g.version.prune(&node.vclock_node());
        g
    }

    /// A copy with `member` inserted or replaced.
    pub fn update_member(&self, member: Member) -> Gossip {
        let mut g = self.clone();
        g.members.insert(member.unique_address.clone(), member);
        g
    }

    /// Removes a member as the leader does: drops it from members, seen and reachability,
    /// prunes its clock entry, and tombstones it at `now_ms`.
    pub fn remove(&self, node: &UniqueAddress, now_ms: i64) -> Gossip {
        let mut g = self.prune(node);
        g.members.remove(node);
        g.seen.remove(node);
        g.reachability = g.reachability.remove([node]);
        g.tombstones.insert(node.clone(), now_ms);
        g
    }

    /// Drops tombstones removed before `remove_before_ms`.
    pub fn prune_tombstones(&self, remove_before_ms: i64) -> Gossip {
        let mut g = self.clone();
        g.tombstones.retain(|_, t| *t >= remove_before_ms);
        g
    }

    /// True if members span more than one data center.
    pub fn is_multi_dc(&self) -> bool {
        let mut dcs = self.members.values().map(|m| m.data_center());
        match dcs.next() {
            None => false,
            Some(first) => dcs.any(|d| d != first),
        }
    }

    /// SHA-1 over the comma-joined address strings of the sorted seen set.
    pub fn seen_digest(&self) -> [u8; 20] {
        let joined = self
            .seen
            .iter()
            .map(|n| n.address.to_string())
            .collect::<Vec<_>>()
            .join(",");
        Sha1::digest(joined.as_bytes()).into()
    }

    /// Merges two concurrent versions (Pekko's `Gossip.merge`); the result is seen by nobody.
    pub fn merge(&self, that: &Gossip) -> Gossip {
        let mut tombstones = that.tombstones.clone();
        tombstones.extend(self.tombstones.iter().map(|(k, v)| (k.clone(), *v)));
        let mut version = self.version.merge(&that.version);
        for node in tombstones.keys() {
            version = version.prune(&node.vclock_node());
        }
        let mut members = BTreeMap::new();
        let all: BTreeSet<&UniqueAddress> =
            self.members.keys().chain(that.members.keys()).collect();
        for node in all {
            let picked = match (self.members.get(node), that.members.get(node)) {
                (Some(a), Some(b)) => Some(highest_priority_of(a, b).clone()),
                (Some(m), None) | (None, Some(m)) => {
                    let gone = tombstones.contains_key(node)
                        || matches!(m.status, MemberStatus::Down | MemberStatus::Exiting);
                    (!gone).then(|| m.clone())
                }
                (None, None) => None,
            };
            if let Some(m) = picked {
                members.insert(node.clone(), m);
            }
        }
        let allowed: BTreeSet<UniqueAddress> = members.keys().cloned().collect();
        let reachability = self.reachability.merge(&allowed, &that.reachability);
        Gossip {
            members,
            seen: BTreeSet::new(),
            reachability,
            version,
            tombstones,
        }
    }

    /// Before merging concurrent versions: prunes from this clock the entries of members that
    /// are Down or Exiting here and absent from `other` (which has removed them).
    pub fn prune_removed_by(&self, other: &Gossip) -> Gossip {
        let mut g = self.clone();
        for m in self.members.values() {
            if matches!(m.status, MemberStatus::Down | MemberStatus::Exiting)
                && !other.has_member(&m.unique_address)
            {
                g.version = g.version.prune(&m.unique_address.vclock_node());
            }
        }
        g
    }

    /// Checks Pekko's invariants; returns a description of the first violation.
    pub fn check_invariants(&self) -> Result<(), String> {
        if let Some(m) = self
            .members
            .values()
            .find(|m| m.status == MemberStatus::Removed)
        {
            return Err(format!("member {} is Removed", m.unique_address));
        }
        for o in self.reachability.all_observers() {
            if !self.has_member(&o) {
                return Err(format!("reachability observer {o} is not a member"));
            }
        }
        for s in &self.seen {
            if !self.has_member(s) {
                return Err(format!("seen node {s} is not a member"));
            }
        }
        if self.version.len() > self.members.len() {
            return Err(format!(
                "vector clock has {} entries for {} members",
                self.version.len(),
                self.members.len()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;

    fn n(p: u16) -> UniqueAddress {
        UniqueAddress::new(Address::new("ClusterSystem", "127.0.0.1", p), p as i64)
    }

    fn m(p: u16, s: MemberStatus) -> Member {
        Member::joining(n(p), Vec::<String>::new(), "0.0.0").with_status(s)
    }

    #[test]
    fn seen_digest_matches_jvm_vector() {
        let g = Gossip::with_members([m(25520, MemberStatus::Up), m(25521, MemberStatus::Up)])
            .seen_by(&n(25520))
            .seen_by(&n(25521));
        let hex: String = g.seen_digest().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "479b3ab506e08cefaf256887ea7f74f3a34e5b3b");
    }

    #[test]
    fn merge_picks_highest_priority_and_drops_removed() {
        let a = Gossip::with_members([
            m(1, MemberStatus::Up),
            m(2, MemberStatus::Up),
            m(3, MemberStatus::Down),
        ])
        .increment(&n(1));
        let b = Gossip::with_members([m(1, MemberStatus::Up), m(2, MemberStatus::Leaving)])
            .increment(&n(2))
            .seen_by(&n(2));
        let merged = a.merge(&b);
        assert_eq!(merged.member(&n(2)).unwrap().status, MemberStatus::Leaving);
        assert!(
            !merged.has_member(&n(3)),
            "Down member absent on the other side was removed there"
        );
        assert!(merged.seen.is_empty());
        assert_eq!(merged.version.get(&n(1).vclock_node()), 1);
        assert_eq!(merged.version.get(&n(2).vclock_node()), 1);
    }

    #[test]
    fn merge_honours_tombstones() {
        let a =
            Gossip::with_members([m(1, MemberStatus::Up), m(2, MemberStatus::Up)]).increment(&n(2));
        let b = Gossip::with_members([m(1, MemberStatus::Up)]).remove(&n(2), 42);
        let merged = a.merge(&b);
        assert!(!merged.has_member(&n(2)));
        assert_eq!(merged.tombstones.get(&n(2)), Some(&42));
        assert_eq!(merged.version.get(&n(2).vclock_node()), 0);
        assert!(merged.check_invariants().is_ok());
    }
}
