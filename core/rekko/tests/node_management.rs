//! `rekko node` serves Pekko Management's cluster HTTP routes and health checks when its
//! configuration sets `pekko.management.http.*`: a one-node cluster reports itself `Up`,
//! leader and oldest; `/ready` and `/alive` answer 200; an unknown member is 404; and
//! `PUT operation=Leave` on the node itself makes it leave the cluster and exit. Under a
//! `base-path`, the node streams its cluster events (member, leader and role leader) in Pekko
//! HTTP's encoding, answers the shard routes, and `PUT /cluster operation=prepare-for-full-shutdown`
//! makes the member PreparingForShutdown then ReadyForShutdown (`/ready` then fails).
//! Conditions are polled until a deadline; nothing sleeps as synchronisation.

use std::process::Command;
use std::time::{Duration, Instant};

use rekko_interop_tests::{free_port, HarnessError, LineProcess};
use serde_json::Value;

const ANSWER: Duration = Duration::from_secs(30);
const CONVERGE: Duration = Duration::from_secs(60);

struct Node {
    process: LineProcess,
    address: String,
    base: String,
    _dir: tempfile::TempDir,
}

fn start_node(read_only: bool) -> Result<Node, HarnessError> {
    start_node_with(&format!("route-providers-read-only = {read_only}"), "")
}

/// A one-node `rekko node` whose `pekko.management.http` block has `http` added; `base_path`
/// is the configured base path (`""` for none), appended to the node's `base`.
fn start_node_with(http_extra: &str, base_path: &str) -> Result<Node, HarnessError> {
    let (port, http) = (free_port()?, free_port()?);
    let address = format!("pekko://ClusterSystem@127.0.0.1:{port}");
    let dir = tempfile::tempdir().map_err(|e| HarnessError::Io {
        context: "creating a temporary directory".to_string(),
        source: e,
    })?;
    let conf = dir.path().join("application.conf");
    std::fs::write(
        &conf,
        format!(
            r#"
pekko {{
  actor.provider = cluster
  remote.artery.canonical {{ hostname = "127.0.0.1", port = {port} }}
  cluster.seed-nodes = ["{address}"]
  management.http {{
    hostname = "127.0.0.1"
    port = {http}
    {http_extra}
  }}
}}
"#
        ),
    )
    .map_err(|e| HarnessError::Io {
        context: "writing application.conf".to_string(),
        source: e,
    })?;
    let mut command = Command::new(env!("CARGO_BIN_EXE_rekko"));
    command.arg("node").arg("--config").arg(&conf);
    let mut process = LineProcess::spawn("rekko-node-management", command)?;
    process.wait_for_prefix("READY", ANSWER)?;
    Ok(Node {
        process,
        address,
        base: format!("http://127.0.0.1:{http}{base_path}"),
        _dir: dir,
    })
}

async fn get(url: &str) -> (u16, String) {
    let r = reqwest::get(url)
        .await
        .expect("management endpoint answers");
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

/// Polls `GET /cluster/members` until the node itself is Up; returns that document.
async fn wait_self_up(node: &Node) -> Value {
    let deadline = Instant::now() + CONVERGE;
    loop {
        let (status, body) = get(&format!("{}/cluster/members", node.base)).await;
        assert_eq!(status, 200, "{body}");
        let doc: Value = serde_json::from_str(&body).expect("JSON document");
        let up = doc["members"].as_array().is_some_and(|ms| {
            ms.iter()
                .any(|m| m["node"] == node.address.as_str() && m["status"] == "Up")
        });
        if up {
            return doc;
        }
        assert!(Instant::now() < deadline, "node never Up: {doc}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rekko_node_serves_cluster_members_and_health_checks() -> Result<(), HarnessError> {
    let node = tokio::task::block_in_place(|| start_node(true))?;
    let doc = wait_self_up(&node).await;
    let a = node.address.as_str();
    assert_eq!(doc["selfNode"], a);
    assert_eq!(doc["leader"], a);
    assert_eq!(doc["oldest"], a);
    assert_eq!(doc["oldestPerRole"], serde_json::json!({ "dc-default": a }));
    assert_eq!(doc["unreachable"], serde_json::json!([]));
    let members = doc["members"].as_array().expect("members array");
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["roles"], serde_json::json!(["dc-default"]));
    assert!(members[0]["nodeUid"]
        .as_str()
        .is_some_and(|u| u.parse::<i64>().is_ok()));

    assert_eq!(
        get(&format!("{}/ready", node.base)).await,
        (200, "OK".to_string())
    );
    assert_eq!(
        get(&format!("{}/alive", node.base)).await,
        (200, "OK".to_string())
    );

    let encoded = a
        .replace(':', "%3A")
        .replace('/', "%2F")
        .replace('@', "%40");
    let (status, body) = get(&format!("{}/cluster/members/{encoded}", node.base)).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("member"),
        members[0]
    );

    let (status, body) = get(&format!(
        "{}/cluster/members/ClusterSystem@127.0.0.1:1",
        node.base
    ))
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        r#"{"message":"Member [ClusterSystem@127.0.0.1:1] not found"}"#
    );

    // Read-only (Pekko's default): mutations are refused and the node stays Up.
    let r = reqwest::Client::new()
        .delete(format!("{}/cluster/members/{encoded}", node.base))
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status().as_u16(), 405);
    wait_self_up(&node).await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn put_leave_through_management_makes_rekko_node_leave_and_exit() -> Result<(), HarnessError>
{
    let mut node = tokio::task::block_in_place(|| start_node(false))?;
    wait_self_up(&node).await;
    let encoded = node
        .address
        .replace(':', "%3A")
        .replace('/', "%2F")
        .replace('@', "%40");
    let r = reqwest::Client::new()
        .put(format!("{}/cluster/members/{encoded}", node.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("operation=Leave")
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.text().await.expect("body"),
        format!(r#"{{"message":"Leaving {}"}}"#, node.address)
    );
    let exited = tokio::task::block_in_place(|| node.process.wait_exit(CONVERGE))?;
    assert!(
        exited,
        "rekko node exits after leaving; log:\n{}",
        node.process.log_tail()
    );
    Ok(())
}

/// Reads server-sent events from `r` until `done` holds for the `(event, data)` pairs read;
/// panics naming them at the deadline.
async fn read_events(
    r: &mut reqwest::Response,
    done: impl Fn(&[(String, String)]) -> bool,
) -> Vec<(String, String)> {
    let deadline = Instant::now() + CONVERGE;
    let (mut buf, mut events) = (String::new(), Vec::new());
    while !done(&events) {
        if let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let field = |name: &str| {
                frame
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .unwrap_or_default()
                    .to_string()
            };
            events.push((field("event:"), field("data:")));
            continue;
        }
        let left = deadline
            .checked_duration_since(Instant::now())
            .unwrap_or_default();
        match tokio::time::timeout(left, r.chunk()).await {
            Ok(Ok(Some(chunk))) => buf.push_str(&String::from_utf8_lossy(&chunk)),
            other => panic!("stream ended or timed out ({other:?}); read {events:#?}"),
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread")]
async fn rekko_node_streams_events_and_answers_every_route_under_its_base_path(
) -> Result<(), HarnessError> {
    let node = tokio::task::block_in_place(|| {
        start_node_with(
            r#"route-providers-read-only = false, base-path = "ops""#,
            "/ops",
        )
    })?;
    wait_self_up(&node).await;
    let a = node.address.as_str();

    let mut r = reqwest::get(format!("{}/cluster/domain-events", node.base))
        .await
        .expect("the stream opens");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let events = read_events(&mut r, |e| e.iter().any(|(k, _)| k == "RoleLeaderChanged")).await;
    let kinds: Vec<&str> = events.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds, ["MemberUp", "LeaderChanged", "RoleLeaderChanged"]);
    let up: Value = serde_json::from_str(&events[0].1).expect("JSON");
    assert_eq!(up["member"]["uniqueAddress"]["address"], a);
    assert_eq!(up["member"]["status"], "Up");
    assert_eq!(
        events[1].1,
        format!(r#"{{"address":"{a}","type":"LeaderChanged"}}"#)
    );
    assert_eq!(
        events[2].1,
        format!(r#"{{"address":"{a}","role":"dc-default","type":"RoleLeaderChanged"}}"#)
    );

    assert_eq!(
        get(&format!("{}/cluster/shards", node.base)).await,
        (200, r#"{"entityTypeKeys":[]}"#.to_string())
    );
    assert_eq!(
        get(&format!("{}/cluster/shards/Cart", node.base)).await,
        (
            404,
            r#"{"message":"Shard Region Cart is not started"}"#.to_string()
        )
    );
    let root = node.base.trim_end_matches("/ops");
    assert_eq!(get(&format!("{root}/ready")).await.0, 404);
    assert_eq!(
        get(&format!("{}/ready", node.base)).await,
        (200, "OK".to_string())
    );
    wait_self_up(&node).await;
    // A full cluster shutdown: answered at once as Pekko Management does, then the member is
    // PreparingForShutdown and the leader (itself) moves it to ReadyForShutdown.
    let r = reqwest::Client::new()
        .put(format!("{}/cluster", node.base))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("operation=prepare-for-full-shutdown")
        .send()
        .await
        .expect("answers");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.text().await.expect("body"),
        r#"{"message":"Preparing for full cluster shutdown"}"#
    );
    let deadline = Instant::now() + CONVERGE;
    loop {
        let (status, body) = get(&format!("{}/cluster/members", node.base)).await;
        assert_eq!(status, 200, "{body}");
        let doc: Value = serde_json::from_str(&body).expect("JSON document");
        if doc["members"].as_array().is_some_and(|ms| {
            ms.len() == 1 && ms[0]["node"] == a && ms[0]["status"] == "ReadyForShutdown"
        }) {
            break;
        }
        assert!(Instant::now() < deadline, "never ReadyForShutdown: {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The node keeps running; the readiness check no longer passes (ready-states are Up and
    // WeaklyUp).
    assert_eq!(get(&format!("{}/ready", node.base)).await.0, 500);
    assert_eq!(get(&format!("{}/alive", node.base)).await.0, 200);
    Ok(())
}
