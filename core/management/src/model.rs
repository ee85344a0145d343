//! The JSON documents of Pekko Management's cluster routes and how they are computed from a
//! node's [`MembershipState`] (pure functions).

use std::collections::{BTreeMap, BTreeSet};

use rekko_cluster::member::age_ordering;
use rekko_cluster::{Member, MemberStatus, MembershipState, ReachabilityStatus, UniqueAddress};
use serde::{Deserialize, Serialize};

/// One member: `{"node", "nodeUid", "roles", "status"}` (name order, as Pekko writes it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterMember {
    /// The member's address, `pekko://system@host:port`.
    pub node: String,
    /// The member's uid as a signed decimal string.
    pub node_uid: String,
    /// Roles, including the `dc-` role.
    pub roles: Vec<String>,
    /// Status name (`Joining`, `WeaklyUp`, `Up`, ...).
    pub status: String,
}

/// An unreachable member and the members that observed it unreachable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterUnreachableMember {
    /// The unreachable member's address.
    pub node: String,
    /// Addresses of the observers, sorted.
    pub observed_by: Vec<String>,
}

/// The answer of `GET /cluster/members`. Fields are in name order, as Pekko Management (spray
/// JSON) writes them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterMembers {
    /// The leader of this node's data center; omitted when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader: Option<String>,
    /// Every member of the gossip, ordered by `node` (as text).
    pub members: Vec<ClusterMember>,
    /// The oldest `Up` member of this node's data center; omitted when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest: Option<String>,
    /// For each role of the `Up` members of this data center, the oldest of them with it.
    pub oldest_per_role: BTreeMap<String, String>,
    /// This node's address.
    pub self_node: String,
    /// Members with at least one `Unreachable` record, sorted by member.
    pub unreachable: Vec<ClusterUnreachableMember>,
}

/// A response carrying only a message: `{"message": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagementMessage {
    /// The text.
    pub message: String,
}

impl ManagementMessage {
    /// A message response.
    pub fn new(message: impl Into<String>) -> ManagementMessage {
        ManagementMessage {
            message: message.into(),
        }
    }
}

/// The answer of `GET /cluster/shards`: the entity type names of the started regions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardEntityTypeKeys {
    /// Type names (always empty on Rekko, which runs no sharding).
    pub entity_type_keys: Vec<String>,
}

/// A member as the routes show it.
pub fn cluster_member(m: &Member) -> ClusterMember {
    ClusterMember {
        node: m.unique_address.address.to_string(),
        node_uid: m.unique_address.uid.to_string(),
        status: m.status.to_string(),
        roles: m.roles.iter().cloned().collect(),
    }
}

/// The cluster status document of `GET /cluster/members` for `state`.
pub fn cluster_members(state: &MembershipState) -> ClusterMembers {
    // Pekko Management collects the members into a set ordered by the `node` string.
    let mut members: Vec<ClusterMember> =
        state.gossip.members.values().map(cluster_member).collect();
    members.sort_by(|a, b| a.node.cmp(&b.node));

    let mut grouped: BTreeMap<UniqueAddress, BTreeSet<UniqueAddress>> = BTreeMap::new();
    for r in state.gossip.reachability.records() {
        if r.status == ReachabilityStatus::Unreachable {
            grouped.entry(r.subject).or_default().insert(r.observer);
        }
    }
    let unreachable = grouped
        .into_iter()
        .map(|(subject, observers)| ClusterUnreachableMember {
            node: subject.address.to_string(),
            observed_by: observers
                .into_iter()
                .map(|o| o.address.to_string())
                .collect(),
        })
        .collect();

    let this_dc_up: Vec<&Member> = state
        .gossip
        .members
        .values()
        .filter(|m| m.status == MemberStatus::Up && m.data_center() == state.self_dc)
        .collect();
    let oldest_of = |ms: &mut dyn Iterator<Item = &&Member>| {
        ms.min_by(|a, b| age_ordering(a, b))
            .map(|m| m.unique_address.address.to_string())
    };
    let oldest = oldest_of(&mut this_dc_up.iter());
    let roles: BTreeSet<&String> = this_dc_up.iter().flat_map(|m| m.roles.iter()).collect();
    let oldest_per_role = roles
        .into_iter()
        .map(|role| {
            let o = oldest_of(&mut this_dc_up.iter().filter(|m| m.has_role(role)))
                .unwrap_or_else(|| "<unknown>".to_string());
            (role.clone(), o)
        })
        .collect();

    ClusterMembers {
        self_node: state.self_node.address.to_string(),
        members,
        unreachable,
        leader: state.leader().map(|l| l.address.to_string()),
        oldest,
        oldest_per_role,
    }
}

/// The member an `{address}` path names: equal to its full address or its `system@host:port`.
pub fn find_member<'a>(state: &'a MembershipState, address: &str) -> Option<&'a Member> {
    state.gossip.members.values().find(|m| {
        let a = &m.unique_address.address;
        a.to_string() == address || format!("{}@{}:{}", a.system, a.host, a.port) == address
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rekko_cluster::{Address, Gossip, Reachability};

    fn node(port: u16, uid: i64) -> UniqueAddress {
        UniqueAddress::new(Address::new("Sys", "127.0.0.1", port), uid)
    }

    fn member(n: &UniqueAddress, status: MemberStatus, up: i32, roles: &[&str]) -> Member {
        let mut m = Member::joining(n.clone(), roles.iter().map(|r| r.to_string()), "1.0.0");
        m.status = status;
        m.up_number = up;
        m
    }

    #[test]
    fn members_document_has_pekko_managements_shape() {
        let (a, b, c) = (node(2551, -7), node(2552, 8), node(2553, 9));
        let gossip = Gossip::with_members([
            member(&a, MemberStatus::Up, 2, &["backend"]),
            member(&b, MemberStatus::Up, 1, &[]),
            member(&c, MemberStatus::Joining, i32::MAX, &["backend"]),
        ]);
        let state = MembershipState::new(gossip, b.clone(), "default");
        let doc = cluster_members(&state);
        let json = serde_json::to_value(&doc).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "selfNode": "pekko://Sys@127.0.0.1:2552",
                "members": [
                    {"node": "pekko://Sys@127.0.0.1:2551", "nodeUid": "-7", "status": "Up",
                     "roles": ["backend", "dc-default"]},
                    {"node": "pekko://Sys@127.0.0.1:2552", "nodeUid": "8", "status": "Up",
                     "roles": ["dc-default"]},
                    {"node": "pekko://Sys@127.0.0.1:2553", "nodeUid": "9", "status": "Joining",
                     "roles": ["backend", "dc-default"]}
                ],
                "unreachable": [],
                "leader": "pekko://Sys@127.0.0.1:2551",
                "oldest": "pekko://Sys@127.0.0.1:2552",
                "oldestPerRole": {
                    "backend": "pekko://Sys@127.0.0.1:2551",
                    "dc-default": "pekko://Sys@127.0.0.1:2552"
                }
            })
        );
    }

    #[test]
    fn members_are_ordered_by_node_text() {
        let (a, b) = (node(9999, 1), node(10000, 2));
        let gossip = Gossip::with_members([
            member(&a, MemberStatus::Up, 1, &[]),
            member(&b, MemberStatus::Up, 2, &[]),
        ]);
        let doc = cluster_members(&MembershipState::new(gossip, a.clone(), "default"));
        let nodes: Vec<&str> = doc.members.iter().map(|m| m.node.as_str()).collect();
        assert_eq!(
            nodes,
            ["pekko://Sys@127.0.0.1:10000", "pekko://Sys@127.0.0.1:9999"]
        );
    }

    #[test]
    fn leader_and_oldest_are_omitted_when_absent() {
        let state = MembershipState::new(Gossip::empty(), node(2551, 1), "default");
        let json = serde_json::to_value(cluster_members(&state)).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "selfNode": "pekko://Sys@127.0.0.1:2551",
                "members": [], "unreachable": [], "oldestPerRole": {}
            })
        );
    }

    #[test]
    fn unreachable_lists_subjects_with_sorted_observers() {
        let (a, b, c) = (node(2551, 1), node(2552, 2), node(2553, 3));
        let mut gossip = Gossip::with_members([
            member(&a, MemberStatus::Up, 1, &[]),
            member(&b, MemberStatus::Up, 2, &[]),
            member(&c, MemberStatus::Up, 3, &[]),
        ]);
        gossip.reachability = Reachability::new()
            .unreachable(&c, &a)
            .unreachable(&b, &a)
            .terminated(&a, &b)
            .unreachable(&a, &c)
            .reachable(&a, &c);
        let doc = cluster_members(&MembershipState::new(gossip, a.clone(), "default"));
        assert_eq!(
            doc.unreachable,
            vec![ClusterUnreachableMember {
                node: a.address.to_string(),
                observed_by: vec![b.address.to_string(), c.address.to_string()],
            }]
        );
    }

    #[test]
    fn oldest_ignores_members_of_other_data_centers_and_not_up() {
        let (a, b, c) = (node(2551, 1), node(2552, 2), node(2553, 3));
        let gossip = Gossip::with_members([
            member(&a, MemberStatus::Up, 1, &["dc-east"]),
            member(&b, MemberStatus::Leaving, 2, &[]),
            member(&c, MemberStatus::Up, 3, &[]),
        ]);
        let doc = cluster_members(&MembershipState::new(gossip, c.clone(), "default"));
        assert_eq!(doc.oldest.as_deref(), Some("pekko://Sys@127.0.0.1:2553"));
        assert_eq!(
            doc.oldest_per_role,
            BTreeMap::from([(
                "dc-default".to_string(),
                "pekko://Sys@127.0.0.1:2553".to_string()
            )])
        );
    }

    #[test]
    fn a_member_is_found_by_full_address_or_host_port() {
        let a = node(2551, 1);
        let gossip = Gossip::with_members([member(&a, MemberStatus::Up, 1, &[])]);
        let state = MembershipState::new(gossip, a.clone(), "default");
        assert!(find_member(&state, "pekko://Sys@127.0.0.1:2551").is_some());
        assert!(find_member(&state, "Sys@127.0.0.1:2551").is_some());
        assert!(find_member(&state, "127.0.0.1:2551").is_none());
        assert!(find_member(&state, "pekko://Sys@127.0.0.1:2552").is_none());
    }
}
