//! `GET /cluster/domain-events`: cluster events as server-sent events, encoded as Pekko
//! Management encodes them (`data:<compact JSON with "type">`, `event:<Type>`).
//!
//! Besides the events the cluster publishes, the stream carries `RoleLeaderChanged`, which
//! [`RoleLeaders`] derives from the membership state as Pekko's `diffRolesLeader` does.

use std::collections::BTreeMap;

use rekko_cluster::events::diff;
use rekko_cluster::{Address, ClusterEvent, Gossip, Member, MembershipState};
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
            "RoleLeaderChanged",
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
    ("RoleLeaderChanged", &["RoleLeaderChanged"]),
    // Accepted by Pekko Management; Rekko never emits these (single data center, no
    // shutdown event on the stream).
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
        // SelfRemoved belong to the typed Cluster API, and its encoder writes no member event
        // of the full cluster shutdown (it passes `MemberEvent` subscriptions but drops them).
        ClusterEvent::SeenChanged(_)
        | ClusterEvent::ReachabilityChanged(_)
        | ClusterEvent::MemberPreparingForShutdown(_)
        | ClusterEvent::MemberReadyForShutdown(_)
        | ClusterEvent::SelfUp(_)
        | ClusterEvent::SelfRemoved { .. } => return None,
    };
    fields.insert("type".into(), kind.into());
    Some((kind, sorted(Value::Object(fields)).to_string()))
}

/// `v` with the keys of every object in name order, as spray JSON (Pekko Management) writes
/// them.
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

fn member_fields(m: &Member) -> Map<String, Value> {
    let mut f = Map::new();
    f.insert("member".into(), member_json(m));
    f
}

/// The SSE `event` name and `data` JSON of Pekko's `RoleLeaderChanged(role, leader)`.
pub fn encode_role_leader(role: &str, leader: Option<&Address>) -> (&'static str, String) {
    let mut f = Map::new();
    f.insert("role".into(), role.into());
    if let Some(a) = leader {
        f.insert("address".into(), a.to_string().into());
    }
    f.insert("type".into(), "RoleLeaderChanged".into());
    ("RoleLeaderChanged", sorted(Value::Object(f)).to_string())
}

/// One server-sent event as Pekko HTTP writes it: `data:<data>\nevent:<kind>\n\n`.
pub fn sse_frame(kind: &str, data: &str) -> String {
    let mut out = String::with_capacity(data.len() + kind.len() + 16);
    for line in data.split('\n') {
        out.push_str("data:");
        out.push_str(line);
        out.push('\n');
    }
    if !kind.is_empty() {
        out.push_str("event:");
        out.push_str(kind);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// Pekko HTTP's heartbeat event (empty data), sent after 10 s without events.
pub const SSE_HEARTBEAT: &str = "data:\n\n";

/// The role leaders last reported on one stream; [`update`](Self::update) yields the
/// `RoleLeaderChanged` events to a new state (Pekko's `diffRolesLeader`: for every role of the
/// old or the new members, the new role leader when it differs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleLeaders {
    leaders: BTreeMap<String, Option<Address>>,
}

impl RoleLeaders {
    /// Role leaders of `state`: every role of its members, with the leader among the members
    /// having it.
    fn of(state: &MembershipState) -> BTreeMap<String, Option<Address>> {
        state
            .gossip
            .members
            .values()
            .flat_map(|m| m.roles.iter())
            .map(|role| (role.clone(), state.role_leader(role).map(|u| u.address)))
            .collect()
    }

    /// Moves to `state`; returns `(role, new leader)` for each role whose leader changed.
    pub fn update(&mut self, state: &MembershipState) -> Vec<(String, Option<Address>)> {
        let new = Self::of(state);
        let mut changes = Vec::new();
        let roles: std::collections::BTreeSet<&String> =
            self.leaders.keys().chain(new.keys()).collect();
        for role in roles {
            let old_leader = self.leaders.get(role).cloned().flatten();
            let new_leader = new.get(role).cloned().flatten();
            if old_leader != new_leader {
                changes.push((role.clone(), new_leader));
            }
        }
        self.leaders = new;
        changes
    }
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
    fn keys_are_written_in_name_order_as_spray_json_writes_them() {
        let (_, data) = encode(&ClusterEvent::MemberRemoved {
            member: member(MemberStatus::Removed),
            previous_status: MemberStatus::Exiting,
        })
        .expect("exposed");
        assert_eq!(
            data,
            concat!(
                r#"{"member":{"dataCenter":"default","roles":["backend","dc-default"],"#,
                r#""status":"Removed","uniqueAddress":{"address":"pekko://Sys@127.0.0.1:2551","#,
                r#""longUid":-5}},"previousStatus":"Exiting","type":"MemberRemoved"}"#
            )
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
        assert!(all.accepts("RoleLeaderChanged"));
        let none = EventFilter::from_query_types(["Bogus"]);
        assert!(!none.accepts("MemberUp"));
        let reach = EventFilter::from_query_types(["ReachabilityEvent", "LeaderChanged"]);
        assert!(reach.accepts("UnreachableMember") && reach.accepts("LeaderChanged"));
        assert!(!reach.accepts("MemberUp"));
    }

    #[test]
    fn role_leader_changes_follow_pekkos_diff() {
        let a = member(MemberStatus::Up);
        let b_addr = UniqueAddress::new(Address::new("Sys", "127.0.0.1", 2552), 7);
        let mut b = Member::joining(b_addr.clone(), vec!["web".to_string()], "1.0.0");
        b.status = MemberStatus::Up;
        let state = MembershipState::new(
            Gossip::with_members([a.clone(), b.clone()]),
            a.unique_address.clone(),
            "default",
        );
        let mut leaders = RoleLeaders::default();
        let a1 = Some(a.unique_address.address.clone());
        let b1 = Some(b_addr.address.clone());
        assert_eq!(
            leaders.update(&state),
            vec![
                ("backend".to_string(), a1.clone()),
                ("dc-default".to_string(), a1.clone()),
                ("web".to_string(), b1),
            ]
        );
        assert!(leaders.update(&state).is_empty(), "no change, no event");
        // The only `web` member is removed: its role leader becomes none.
        let state = MembershipState::new(
            Gossip::with_members([a.clone()]),
            a.unique_address.clone(),
            "default",
        );
        assert_eq!(leaders.update(&state), vec![("web".to_string(), None)]);
        let (kind, data) = encode_role_leader("web", None);
        assert_eq!(
            (kind, data.as_str()),
            (
                "RoleLeaderChanged",
                r#"{"role":"web","type":"RoleLeaderChanged"}"#
            )
        );
        let (_, data) = encode_role_leader("backend", a1.as_ref());
        assert_eq!(
            data,
            r#"{"address":"pekko://Sys@127.0.0.1:2551","role":"backend","type":"RoleLeaderChanged"}"#
        );
    }

    #[test]
    fn frames_are_written_as_pekko_http_writes_them() {
        assert_eq!(
            sse_frame("MemberUp", r#"{"a":1}"#),
            "data:{\"a\":1}\nevent:MemberUp\n\n"
        );
        assert_eq!(sse_frame("", "x\ny"), "data:x\ndata:y\n\n");
        assert_eq!(SSE_HEARTBEAT, "data:\n\n");
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
