//! The HTTP server over real sockets: binding by the `pekko.management.http.*` keys, JSON and
//! text responses with their content types, form-encoded PUTs and the `Allow` header.

use std::sync::{Arc, Mutex};

use hocon_config::Config;
use rekko_cluster::{
    Address, ClusterEvent, Gossip, Member, MemberStatus, MembershipState, UniqueAddress,
};
use rekko_management::{ClusterMembers, ManagedCluster, ManagementServer, ManagementSettings};
use tokio::sync::broadcast;

struct OneNode {
    state: MembershipState,
    downed: Mutex<Vec<String>>,
    events: broadcast::Sender<ClusterEvent>,
}

impl ManagedCluster for OneNode {
    fn membership(&self) -> MembershipState {
        self.state.clone()
    }
    fn join(&self, _: &Address) {}
    fn leave(&self, _: &Address) {}
    fn down(&self, address: &Address) {
        self.downed
            .lock()
            .expect("not poisoned")
            .push(address.to_string());
    }
    fn events(&self) -> Option<broadcast::Receiver<ClusterEvent>> {
        Some(self.events.subscribe())
    }
    fn prepare_for_full_cluster_shutdown(&self) {}
}

fn one_node(status: MemberStatus) -> Arc<OneNode> {
    let me = UniqueAddress::new(Address::new("Sys", "127.0.0.1", 2551), -3);
    let mut m = Member::joining(me.clone(), Vec::new(), "1.0.0");
    m.status = status;
    m.up_number = 1;
    Arc::new(OneNode {
        state: MembershipState::new(Gossip::with_members([m]), me, "default"),
        downed: Mutex::new(Vec::new()),
        events: broadcast::channel(16).0,
    })
}

async fn start(conf: &str, cluster: Arc<OneNode>) -> ManagementServer {
    let text = format!("pekko.management.http {{ hostname = \"127.0.0.1\", port = 0 }}\n{conf}");
    let settings = ManagementSettings::from_config(&Config::parse_string(&text).expect("parses"))
        .expect("loads");
    ManagementServer::start(settings, cluster)
        .await
        .expect("binds")
}

#[tokio::test]
async fn serves_members_json_and_health_text() {
    let server = start("", one_node(MemberStatus::Up)).await;
    let base = server.base_uri().to_string();
    assert_eq!(
        base,
        format!("http://127.0.0.1:{}", server.local_addr().port())
    );
    let http = reqwest::Client::new();

    let r = http
        .get(format!("{base}/cluster/members"))
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let doc: ClusterMembers = serde_json::from_str(&r.text().await.expect("body")).expect("json");
    assert_eq!(doc.self_node, "pekko://Sys@127.0.0.1:2551");
    assert_eq!(doc.members[0].node_uid, "-3");

    let r = http
        .get(format!("{base}/ready"))
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=UTF-8");
    assert_eq!(r.text().await.expect("body"), "OK");
    server.stop().await;
}

#[tokio::test]
async fn not_ready_while_joining() {
    let server = start("", one_node(MemberStatus::Joining)).await;
    let r = reqwest::get(format!("{}/ready", server.base_uri()))
        .await
        .expect("answers");
    assert_eq!(r.status(), 500);
    let r = reqwest::get(format!("{}/alive", server.base_uri()))
        .await
        .expect("answers");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn form_encoded_put_downs_the_member() {
    let cluster = one_node(MemberStatus::Up);
    let server = start(
        "pekko.management.http.route-providers-read-only = false",
        cluster.clone(),
    )
    .await;
    let url = format!(
        "{}/cluster/members/pekko%3A%2F%2FSys%40127.0.0.1%3A2551",
        server.base_uri()
    );
    let r = reqwest::Client::new()
        .put(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("operation=Down")
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.text().await.expect("body"),
        r#"{"message":"Downing pekko://Sys@127.0.0.1:2551"}"#
    );
    assert_eq!(
        *cluster.downed.lock().expect("not poisoned"),
        vec!["pekko://Sys@127.0.0.1:2551".to_string()]
    );
    let r = reqwest::Client::new()
        .patch(&url)
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, DELETE, PUT");
}

#[tokio::test]
async fn base_path_and_bind_port_are_honoured() {
    let server = start(
        r#"pekko.management.http { port = 7626, bind-port = "0", base-path = "mgmt" }"#,
        one_node(MemberStatus::Up),
    )
    .await;
    let port = server.local_addr().port();
    assert_ne!(port, 7626, "bound the bind-port, not the port");
    assert_eq!(server.base_uri(), format!("http://127.0.0.1:{port}/mgmt"));
    let r = reqwest::get(format!("http://127.0.0.1:{port}/mgmt/alive"))
        .await
        .expect("answers");
    assert_eq!(r.status(), 200);
    let r = reqwest::get(format!("http://127.0.0.1:{port}/alive"))
        .await
        .expect("answers");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_taken_port_is_a_bind_error_naming_it() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let port = taken.local_addr().expect("address").port();
    let text = format!("pekko.management.http {{ hostname = \"127.0.0.1\", port = {port} }}");
    let settings = ManagementSettings::from_config(&Config::parse_string(&text).expect("parses"))
        .expect("loads");
    let e = ManagementServer::start(settings, one_node(MemberStatus::Up))
        .await
        .expect_err("port taken");
    assert!(e.to_string().contains(&format!("127.0.0.1:{port}")), "{e}");
}

/// Reads the SSE stream until an event line names `kind`; returns that event's data line.
async fn next_event(r: &mut reqwest::Response, buf: &mut String, kind: &str) -> String {
    loop {
        if let Some(i) = buf.find(&format!("\nevent:{kind}\n\n")) {
            let start = buf[..i].rfind("\n\n").map_or(0, |j| j + 2);
            let data = buf[start..i]
                .strip_prefix("data:")
                .expect("data line first, as Pekko HTTP writes it")
                .to_string();
            buf.replace_range(..i + kind.len() + 9, "");
            return data;
        }
        let chunk = r
            .chunk()
            .await
            .expect("stream readable")
            .expect("stream open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test]
async fn domain_events_replay_the_state_then_stream_live_events() {
    let cluster = one_node(MemberStatus::Up);
    let server = start("", cluster.clone()).await;
    let mut r = reqwest::get(format!("{}/cluster/domain-events", server.base_uri()))
        .await
        .expect("answers");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let mut buf = String::new();
    let up = next_event(&mut r, &mut buf, "MemberUp").await;
    let v: serde_json::Value = serde_json::from_str(&up).expect("JSON data");
    assert_eq!(v["type"], "MemberUp");
    assert_eq!(
        v["member"]["uniqueAddress"]["address"],
        "pekko://Sys@127.0.0.1:2551"
    );
    assert_eq!(v["member"]["uniqueAddress"]["longUid"], -3);

    let mut left = cluster.state.self_member().expect("member").clone();
    left.status = MemberStatus::Leaving;
    cluster
        .events
        .send(ClusterEvent::MemberLeft(left))
        .expect("a subscriber");
    let data = next_event(&mut r, &mut buf, "MemberLeft").await;
    assert!(data.contains(r#""status":"Leaving""#), "{data}");
}

#[tokio::test]
async fn domain_events_of_the_requested_types_only() {
    let cluster = one_node(MemberStatus::Up);
    let server = start("", cluster.clone()).await;
    let mut r = reqwest::get(format!(
        "{}/cluster/domain-events?type=LeaderChanged",
        server.base_uri()
    ))
    .await
    .expect("answers");
    let mut buf = String::new();
    let first = next_event(&mut r, &mut buf, "LeaderChanged").await;
    assert!(first.contains("pekko://Sys@127.0.0.1:2551"), "{first}");
    assert!(!buf.contains("MemberUp"), "{buf}");
    let me = cluster.state.self_member().expect("member").clone();
    cluster
        .events
        .send(ClusterEvent::MemberLeft(me))
        .expect("a subscriber");
    cluster
        .events
        .send(ClusterEvent::LeaderChanged(None))
        .expect("a subscriber");
    let second = next_event(&mut r, &mut buf, "LeaderChanged").await;
    assert_eq!(second, r#"{"type":"LeaderChanged"}"#);
    assert!(!buf.contains("MemberLeft"), "{buf}");
}
