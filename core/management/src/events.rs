//! `GET /cluster/domain-events`: cluster events as server-sent events, encoded as Pekko
//! Management encodes them (`event: <Type>`, `data: <compact JSON with "type">`).

use rekko_cluster::events::diff;
use rekko_cluster::{ClusterEvent, Gossip, Member, MembershipState};
use serde_json::{json, Map, Value};

/// The `type` query values Pekko Management accepts, with the event types each selects.
const GROUPS: &[(&str, &[&str])] = &[
    (
        "ClusterDomainEvent",
        &[
            "MemberJoined",
            "MemberWeaklyUp",
            "MemberUp",
            "MemberLeft",
            "MemberExited",
            "MemberDowned",
            "MemberRemoved",
            "LeaderChanged",
            "UnreachableMember",
            "ReachableMember",
        ],
    ),
    (
        "MemberEvent",
        &[
            "MemberJoined",
            "MemberWeaklyUp",
            "MemberUp",
            "MemberLeft",
            "MemberExited",
            "MemberDowned",
            "MemberRemoved",
        ],
    ),
    (
        "ReachabilityEvent",
        &["UnreachableMember", "ReachableMember"],
    ),
    ("MemberJoined", &["MemberJoined"]),
    ("MemberWeaklyUp", &["MemberWeaklyUp"]),
    ("MemberUp", &["MemberUp"]),
    ("MemberLeft", &["MemberLeft"]),
    ("MemberExited", &["MemberExited"]),
    ("MemberDowned", &["MemberDowned"]),
    ("MemberRemoved", &["MemberRemoved"]),
    ("LeaderChanged", &["LeaderChanged"]),
    ("UnreachableMember", &["UnreachableMember"]),
    ("ReachableMember", &["ReachableMember"]),
    // Accepted by Pekko Management; Rekko never emits these (single data center, no role
    // leader events, no full-cluster shutdown).
    ("RoleLeaderChanged", &[]),
    ("ClusterShuttingDown", &[]),
    ("DataCenterReachabilityEvent", &[]),
    ("UnreachableDataCenter", &[]),
    ("ReachableDataCenter", &[]),
];

/// Which event types a stream carries, from its `type` query values: all when none are given;
/// unknown values are ignored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventFilter {
    types: Option<Vec<&'static str>>,
}

impl EventFilter {
    /// The filter for these `type` query values.
    pub fn from_query_types<'a>(values: impl IntoIterator<Item = &'a str>) -> EventFilter {
        let values: Vec<&str> = values.into_iter().collect();
        if values.is_empty() {
            return EventFilter { types: None };
        }
        let mut types = Vec::new();
        for v in values {
            if let Some((_, selected)) = GROUPS.iter().find(|(name, _)| *name == v) {
                types.extend_from_slice(selected);
            }
        }
        EventFilter { types: Some(types) }
    }

    /// True when events of `event_type` pass.
    pub fn accepts(&self, event_type: &str) -> bool {
        self.types.as_ref().is_none_or(|t| t.contains(&event_type))
    }
}

fn member_json(m: &Member) -> Value {
    json!({
        "uniqueAddress": {
            "address": m.unique_address.address.to_string(),
            "longUid": m.unique_address.uid,
        },
        "status": m.status.to_string(),
        "roles": m.roles.iter().collect::<Vec<_>>(),
        "dataCenter": m.data_center(),
    })
}

/// The SSE `event` name and `data` JSON of a cluster event; `None` for events Pekko
/// Management does not expose (seen-set and reachability-table changes).
pub fn encode(event: &ClusterEvent) -> Option<(&'static str, String)> {
    let (kind, mut fields) = match event {
        ClusterEvent::MemberJoined(m) => ("MemberJoined", member_fields(m)),
        ClusterEvent::MemberWeaklyUp(m) => ("MemberWeaklyUp", member_fields(m)),
        ClusterEvent::MemberUp(m) => ("MemberUp", member_fields(m)),
        ClusterEvent::MemberLeft(m) => ("MemberLeft", member_fields(m)),
        ClusterEvent::MemberExited(m) => ("MemberExited", member_fields(m)),
        ClusterEvent::MemberDowned(m) => ("MemberDowned", member_fields(m)),
        ClusterEvent::MemberRemoved {
            member,
            previous_status,
        } => {
            let mut f = member_fields(member);
            f.insert("previousStatus".into(), previous_status.to_string().into());
            ("MemberRemoved", f)
        }
        ClusterEvent::UnreachableMember(m) => ("UnreachableMember", member_fields(m)),
        ClusterEvent::ReachableMember(m) => ("ReachableMember", member_fields(m)),
        ClusterEvent::LeaderChanged(leader) => {
            let mut f = Map::new();
            if let Some(a) = leader {
                f.insert("address".into(), a.to_string().into());
            }
            ("LeaderChanged", f)
        }
        // Pekko Management's stream carries cluster domain events only; SelfUp and
        // SelfRemoved belong to the typed Cluster API.
        ClusterEvent::SeenChanged(_)
        | ClusterEvent::ReachabilityChanged(_)
        | ClusterEvent::SelfUp(_)
        | ClusterEvent::SelfRemoved { .. } => return None,
    };
    fields.insert("type".into(), kind.into());
    Some((kind, Value::Object(fields).to_string()))
}

fn member_fields(m: &Member) -> Map<String, Value> {
    let mut f = Map::new();
    f.insert("member".into(), member_json(m));
    f
}

/// The current state replayed as events (Pekko's `InitialStateAsEvents`): the events leading
/// from an empty state to `state`.
pub fn initial_events(state: &MembershipState) -> Vec<ClusterEvent> {
    let empty = MembershipState::new(Gossip::empty(), state.self_node.clone(), &state.self_dc);
    diff(&empty, state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rekko_cluster::{Address, MemberStatus, UniqueAddress};

    fn member(status: MemberStatus) -> Member {
        let u = UniqueAddress::new(Address::new("Sys", "127.0.0.1", 2551), -5);
        let mut m = Member::joining(u, vec!["backend".to_string()], "1.0.0");
        m.status = status;
        m
    }

    #[test]
    fn member_events_carry_the_member_and_type() {
        let (kind, data) =
            encode(&ClusterEvent::MemberUp(member(MemberStatus::Up))).expect("exposed");
        assert_eq!(kind, "MemberUp");
        let v: Value = serde_json::from_str(&data).expect("JSON");
        assert_eq!(
            v,
            json!({
                "member": {
                    "uniqueAddress": {"address": "pekko://Sys@127.0.0.1:2551", "longUid": -5},
                    "status": "Up", "roles": ["backend", "dc-default"], "dataCenter": "default"
                },
                "type": "MemberUp"
            })
        );
    }

    #[test]
    fn removed_carries_previous_status_and_leader_may_be_absent() {
        let (_, data) = encode(&ClusterEvent::MemberRemoved {
            member: member(MemberStatus::Removed),
            previous_status: MemberStatus::Exiting,
        })
        .expect("exposed");
        let v: Value = serde_json::from_str(&data).expect("JSON");
        assert_eq!(v["previousStatus"], "Exiting");
        assert_eq!(v["type"], "MemberRemoved");
        let (_, data) = encode(&ClusterEvent::LeaderChanged(None)).expect("exposed");
        assert_eq!(data, r#"{"type":"LeaderChanged"}"#);
        assert!(encode(&ClusterEvent::SeenChanged(Default::default())).is_none());
    }

    #[test]
    fn filter_selects_groups_and_ignores_unknown_types() {
        let all = EventFilter::from_query_types([]);
        assert!(all.accepts("MemberUp") && all.accepts("LeaderChanged"));
        let members = EventFilter::from_query_types(["MemberEvent", "Bogus"]);
        assert!(members.accepts("MemberRemoved") && !members.accepts("LeaderChanged"));
        let none = EventFilter::from_query_types(["Bogus"]);
        assert!(!none.accepts("MemberUp"));
        let reach = EventFilter::from_query_types(["ReachabilityEvent", "LeaderChanged"]);
        assert!(reach.accepts("UnreachableMember") && reach.accepts("LeaderChanged"));
        assert!(!reach.accepts("MemberUp"));
    }

    #[test]
    fn initial_state_replays_members_and_leader() {
        let m = member(MemberStatus::Up);
        let state = MembershipState::new(
            Gossip::with_members([m.clone()]),
            m.unique_address.clone(),
            "default",
        );
        let kinds: Vec<&str> = initial_events(&state)
            .iter()
            .filter_map(|e| encode(e).map(|(k, _)| k))
            .collect();
        assert!(kinds.contains(&"MemberUp"), "{kinds:?}");
        assert!(kinds.contains(&"LeaderChanged"), "{kinds:?}");
    }
}
