//! Route tests: each request Pekko Management answers, with its status and body.

use std::sync::Mutex;

use axum::http::{Method, StatusCode};
use hocon_config::Config;
use rekko_cluster::{Address, Gossip, Member, MemberStatus, MembershipState, UniqueAddress};

use super::*;

/// A cluster whose state is fixed and whose commands are recorded.
struct FakeCluster {
    state: MembershipState,
    calls: Mutex<Vec<String>>,
}

impl ManagedCluster for FakeCluster {
    fn membership(&self) -> MembershipState {
        self.state.clone()
    }
    fn join(&self, address: &Address) {
        self.record(format!("join {address}"));
    }
    fn leave(&self, address: &Address) {
        self.record(format!("leave {address}"));
    }
    fn down(&self, address: &Address) {
        self.record(format!("down {address}"));
    }
    fn prepare_for_full_cluster_shutdown(&self) {
        self.record("prepare".to_string());
    }
}

impl FakeCluster {
    fn record(&self, call: String) {
        self.calls.lock().expect("not poisoned").push(call);
    }
    fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("not poisoned").clone()
    }
}

const SELF: &str = "pekko://Sys@127.0.0.1:2551";
const OTHER: &str = "pekko://Sys@127.0.0.1:2552";

fn node(port: u16) -> UniqueAddress {
    UniqueAddress::new(Address::new("Sys", "127.0.0.1", port), i64::from(port))
}

fn cluster(self_status: Option<MemberStatus>) -> FakeCluster {
    let mut members = vec![];
    if let Some(s) = self_status {
        let mut m = Member::joining(node(2551), Vec::new(), "1.0.0");
        m.status = s;
        m.up_number = 1;
        members.push(m);
    }
    let mut other = Member::joining(node(2552), vec!["backend".to_string()], "1.0.0");
    other.status = MemberStatus::Up;
    other.up_number = 2;
    members.push(other);
    FakeCluster {
        state: MembershipState::new(Gossip::with_members(members), node(2551), "default"),
        calls: Mutex::new(Vec::new()),
    }
}

fn settings(extra: &str) -> ManagementSettings {
    let text = format!("pekko.management.http.hostname = \"127.0.0.1\"\n{extra}");
    ManagementSettings::from_config(&Config::parse_string(&text).expect("parses")).expect("loads")
}

fn read_write() -> ManagementSettings {
    settings("pekko.management.http.route-providers-read-only = false")
}

fn call(
    settings: &ManagementSettings,
    c: &FakeCluster,
    method: Method,
    path: &str,
    form: &str,
) -> Reply {
    let content_type = (!form.is_empty()).then_some("application/x-www-form-urlencoded");
    handle(
        &Request {
            method: &method,
            path,
            content_type,
            body: form.as_bytes(),
        },
        settings,
        c,
    )
}

fn message(r: &Reply) -> String {
    assert_eq!(r.content_type, ContentType::Json, "{r:?}");
    let m: crate::ManagementMessage = serde_json::from_str(&r.body).expect("a message document");
    m.message
}

fn encoded(address: &str) -> String {
    address
        .replace(':', "%3A")
        .replace('/', "%2F")
        .replace('@', "%40")
}

#[test]
fn get_members_answers_the_cluster_status_document() {
    let c = cluster(Some(MemberStatus::Up));
    for path in ["/cluster/members", "/cluster/members/"] {
        let r = call(&settings(""), &c, Method::GET, path, "");
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.content_type, ContentType::Json);
        let doc: crate::ClusterMembers = serde_json::from_str(&r.body).expect("document");
        assert_eq!(doc.self_node, SELF);
        assert_eq!(doc.members.len(), 2);
        assert_eq!(doc.leader.as_deref(), Some(SELF));
        assert_eq!(doc.oldest.as_deref(), Some(SELF));
    }
}

#[test]
fn get_member_by_encoded_raw_or_host_port_address() {
    let c = cluster(Some(MemberStatus::Up));
    for a in [
        encoded(OTHER),
        OTHER.to_string(),
        "Sys@127.0.0.1:2552".to_string(),
    ] {
        let r = call(
            &settings(""),
            &c,
            Method::GET,
            &format!("/cluster/members/{a}"),
            "",
        );
        assert_eq!(r.status, StatusCode::OK, "{a}: {r:?}");
        let m: crate::ClusterMember = serde_json::from_str(&r.body).expect("member");
        assert_eq!(
            m,
            crate::ClusterMember {
                node: OTHER.into(),
                node_uid: "2552".into(),
                status: "Up".into(),
                roles: vec!["backend".into(), "dc-default".into()],
            }
        );
    }
}

#[test]
fn unknown_member_is_404_naming_it() {
    let c = cluster(Some(MemberStatus::Up));
    let path = format!("/cluster/members/{}", encoded("pekko://Sys@127.0.0.1:9999"));
    for (s, method) in [(settings(""), Method::GET), (read_write(), Method::PUT)] {
        let r = call(&s, &c, method, &path, "operation=Down");
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert_eq!(message(&r), "Member [pekko://Sys@127.0.0.1:9999] not found");
    }
}

#[test]
fn put_down_and_leave_act_on_the_member_case_insensitively() {
    let c = cluster(Some(MemberStatus::Up));
    let path = format!("/cluster/members/{}", encoded(OTHER));
    let r = call(&read_write(), &c, Method::PUT, &path, "operation=Down");
    assert_eq!(
        (r.status, message(&r)),
        (StatusCode::OK, format!("Downing {OTHER}"))
    );
    let r = call(&read_write(), &c, Method::PUT, &path, "operation=leave");
    assert_eq!(
        (r.status, message(&r)),
        (StatusCode::OK, format!("Leaving {OTHER}"))
    );
    let r = call(&read_write(), &c, Method::DELETE, &path, "");
    assert_eq!(
        (r.status, message(&r)),
        (StatusCode::OK, format!("Leaving {OTHER}"))
    );
    assert_eq!(
        c.calls(),
        vec![
            format!("down {OTHER}"),
            format!("leave {OTHER}"),
            format!("leave {OTHER}")
        ]
    );
}

#[test]
fn unsupported_operation_is_400_and_changes_nothing() {
    let c = cluster(Some(MemberStatus::Up));
    let path = format!("/cluster/members/{}", encoded(OTHER));
    for op in ["operation=Restart", "operation=Join"] {
        let r = call(&read_write(), &c, Method::PUT, &path, op);
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(message(&r), "Operation not supported");
    }
    assert!(c.calls().is_empty());
}

#[test]
fn put_without_operation_is_400_missing_form_field() {
    let c = cluster(Some(MemberStatus::Up));
    let path = format!("/cluster/members/{}", encoded(OTHER));
    let r = call(&read_write(), &c, Method::PUT, &path, "");
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body, "Request is missing required form field 'operation'");
}

#[test]
fn other_methods_on_a_member_are_405_listing_the_supported_ones() {
    let c = cluster(Some(MemberStatus::Up));
    let path = format!("/cluster/members/{}", encoded(OTHER));
    let r = call(&read_write(), &c, Method::PATCH, &path, "");
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        r.body,
        "HTTP method not allowed, supported methods: GET, DELETE, PUT"
    );
    assert_eq!(r.allow.as_deref(), Some("GET, DELETE, PUT"));
}

#[test]
fn read_only_mode_refuses_mutations_with_405() {
    let c = cluster(Some(MemberStatus::Up));
    let path = format!("/cluster/members/{}", encoded(OTHER));
    for method in [Method::PUT, Method::DELETE] {
        let r = call(&settings(""), &c, method, &path, "operation=Down");
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            r.body,
            "A request was made of a resource using a request method not supported by that resource;"
        );
    }
    let r = call(
        &settings(""),
        &c,
        Method::POST,
        "/cluster/members",
        "address=pekko://Sys@h:1",
    );
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(c.calls().is_empty());
}

#[test]
fn post_members_joins_the_address() {
    let c = cluster(None);
    let r = call(
        &read_write(),
        &c,
        Method::POST,
        "/cluster/members",
        &format!("address={}", encoded(OTHER)),
    );
    assert_eq!(
        (r.status, message(&r)),
        (StatusCode::OK, format!("Joining {OTHER}"))
    );
    assert_eq!(c.calls(), vec![format!("join {OTHER}")]);
    let r = call(&read_write(), &c, Method::POST, "/cluster/members", "");
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body, "Request is missing required form field 'address'");
}

#[test]
fn ready_follows_the_self_status_and_alive_is_always_ok() {
    let failing = "Not Healthy: Check [org.apache.pekko.management.cluster.scaladsl.ClusterMembershipCheck] not ok";
    for (status, ready) in [
        (None, false),
        (Some(MemberStatus::Joining), false),
        (Some(MemberStatus::WeaklyUp), true),
        (Some(MemberStatus::Up), true),
        (Some(MemberStatus::Leaving), false),
    ] {
        let c = cluster(status);
        let r = call(&settings(""), &c, Method::GET, "/ready", "");
        if ready {
            assert_eq!(
                (r.status, r.body.as_str()),
                (StatusCode::OK, "OK"),
                "{status:?}"
            );
        } else {
            assert_eq!(
                (r.status, r.body.as_str()),
                (StatusCode::INTERNAL_SERVER_ERROR, failing),
                "{status:?}"
            );
        }
        assert_eq!(r.content_type, ContentType::Text);
        let r = call(&settings(""), &c, Method::GET, "/alive", "");
        assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "OK"));
        let r = call(&settings(""), &c, Method::GET, "/startup", "");
        assert_eq!(r.status, StatusCode::OK);
    }
}

#[test]
fn ready_states_setting_changes_readiness() {
    let c = cluster(Some(MemberStatus::Joining));
    let s = settings(r#"pekko.management.cluster.health-check.ready-states = ["Joining"]"#);
    assert_eq!(
        call(&s, &c, Method::GET, "/ready", "").status,
        StatusCode::OK
    );
}

#[test]
fn health_paths_take_only_get() {
    let c = cluster(Some(MemberStatus::Up));
    let r = call(&settings(""), &c, Method::POST, "/alive", "");
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.body, "HTTP method not allowed, supported methods: GET");
}

#[test]
fn base_path_prefixes_every_route() {
    let c = cluster(Some(MemberStatus::Up));
    let s = settings(r#"pekko.management.http.base-path = "admin/mgmt""#);
    assert_eq!(
        call(&s, &c, Method::GET, "/admin/mgmt/ready", "").status,
        StatusCode::OK
    );
    assert_eq!(
        call(&s, &c, Method::GET, "/admin/mgmt/cluster/members", "").status,
        StatusCode::OK
    );
    assert_eq!(
        call(&s, &c, Method::GET, "/ready", "").status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&s, &c, Method::GET, "/admin/mgmtx/ready", "").status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn unknown_paths_are_404() {
    let c = cluster(Some(MemberStatus::Up));
    for path in [
        "/",
        "/cluster",
        "/clusters/members",
        "/cluster/shards",
        "/readyz",
    ] {
        let r = call(&settings(""), &c, Method::GET, path, "");
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(r.body, "The requested resource could not be found.");
    }
}

#[test]
fn disabled_route_providers_are_not_served() {
    let c = cluster(Some(MemberStatus::Up));
    let s =
        settings(r#"pekko.management.http.routes { cluster-management = "", health-checks = "" }"#);
    assert_eq!(
        call(&s, &c, Method::GET, "/ready", "").status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        call(&s, &c, Method::GET, "/cluster/members", "").status,
        StatusCode::NOT_FOUND
    );
}

#[test]
fn form_with_another_content_type_is_not_read() {
    let c = cluster(Some(MemberStatus::Up));
    let path = format!("/cluster/members/{}", encoded(OTHER));
    let r = handle(
        &Request {
            method: &Method::PUT,
            path: &path,
            content_type: Some("application/json"),
            body: b"operation=Down",
        },
        &read_write(),
        &c,
    );
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(c.calls().is_empty());
}

#[test]
fn domain_events_take_only_get() {
    let c = cluster(Some(MemberStatus::Up));
    let r = call(
        &settings(""),
        &c,
        Method::POST,
        "/cluster/domain-events",
        "",
    );
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.body, "HTTP method not allowed, supported methods: GET");
    let get = Request {
        method: &Method::GET,
        path: "/cluster/domain-events",
        content_type: None,
        body: b"",
    };
    let filter = domain_events_request(&get, Some("type=MemberUp&type=Nope"), &settings(""))
        .expect("an event stream request");
    assert!(filter.accepts("MemberUp") && !filter.accepts("MemberLeft"));
    let members = Request {
        path: "/cluster/members",
        ..get
    };
    assert!(domain_events_request(&members, None, &settings("")).is_none());
}

#[test]
fn put_cluster_knows_only_prepare_for_full_shutdown() {
    let c = cluster(Some(MemberStatus::Up));
    let r = call(
        &read_write(),
        &c,
        Method::PUT,
        "/cluster",
        "operation=Bogus",
    );
    assert_eq!(
        (r.status, message(&r)),
        (
            StatusCode::BAD_REQUEST,
            "Operation not supported".to_string()
        )
    );
    assert!(c.calls().is_empty());
    let r = call(&read_write(), &c, Method::PUT, "/cluster", "");
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body, "Request is missing required form field 'operation'");
    assert!(c.calls().is_empty());
}

#[test]
fn put_cluster_prepares_a_full_shutdown() {
    // Any case of the operation, with or without the trailing slash, as Pekko Management.
    for (path, body) in [
        ("/cluster", "operation=prepare-for-full-shutdown"),
        ("/cluster/", "operation=Prepare-For-Full-Shutdown"),
    ] {
        let c = cluster(Some(MemberStatus::Up));
        let r = handle(
            &Request {
                method: &Method::PUT,
                path,
                content_type: Some("application/x-www-form-urlencoded"),
                body: body.as_bytes(),
            },
            &read_write(),
            &c,
        );
        assert_eq!(
            (r.status, r.content_type, message(&r)),
            (
                StatusCode::OK,
                ContentType::Json,
                "Preparing for full cluster shutdown".to_string()
            ),
            "{path} {body}"
        );
        assert_eq!(
            r.body,
            r#"{"message":"Preparing for full cluster shutdown"}"#
        );
        assert_eq!(c.calls(), vec!["prepare".to_string()]);
    }
}

#[test]
fn cluster_path_takes_only_put_when_read_write_and_is_unknown_read_only() {
    let c = cluster(Some(MemberStatus::Up));
    let r = call(&read_write(), &c, Method::GET, "/cluster", "");
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.body, "HTTP method not allowed, supported methods: PUT");
    assert_eq!(r.allow.as_deref(), Some("PUT"));
    let r = call(
        &settings(""),
        &c,
        Method::PUT,
        "/cluster",
        "operation=prepare-for-full-shutdown",
    );
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[test]
fn shards_list_no_type_and_every_region_is_not_started() {
    let c = cluster(Some(MemberStatus::Up));
    let r = call(&read_write(), &c, Method::GET, "/cluster/shards", "");
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.content_type, ContentType::Json);
    assert_eq!(r.body, r#"{"entityTypeKeys":[]}"#);
    for s in [read_write(), settings("")] {
        let r = call(&s, &c, Method::GET, "/cluster/shards/Cart", "");
        assert_eq!(
            (r.status, message(&r)),
            (
                StatusCode::NOT_FOUND,
                "Shard Region Cart is not started".to_string()
            )
        );
        let r = call(&s, &c, Method::POST, "/cluster/shards/Cart", "");
        assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(r.body, "HTTP method not allowed, supported methods: GET");
    }
    let r = call(&read_write(), &c, Method::DELETE, "/cluster/shards", "");
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    // Read-only mode has no type list.
    let r = call(&settings(""), &c, Method::GET, "/cluster/shards", "");
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[test]
fn members_path_lists_get_and_post_for_other_methods() {
    let c = cluster(Some(MemberStatus::Up));
    let r = call(&read_write(), &c, Method::PATCH, "/cluster/members", "");
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        r.body,
        "HTTP method not allowed, supported methods: GET, POST"
    );
    let r = call(&read_write(), &c, Method::POST, "/cluster/members", "");
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.body, "Request is missing required form field 'address'");
}

#[test]
fn a_node_outside_the_cluster_counts_as_removed_for_readiness() {
    let c = cluster(None);
    let r = call(&settings(""), &c, Method::GET, "/ready", "");
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    let s = settings(r#"pekko.management.cluster.health-check.ready-states = ["Up", "Removed"]"#);
    let r = call(&s, &c, Method::GET, "/ready", "");
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "OK"));
}
