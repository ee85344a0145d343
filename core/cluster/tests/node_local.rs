//! Two Rekko cluster nodes in one process form a cluster over real remoting.

use std::time::Duration;

use hocon_config::Config;
use rekko_cluster::node::from_wire_address;
use rekko_cluster::{ClusterEvent, ClusterNode, MemberStatus};
use rekko_remote::{RemoteNode, RemoteSettings};

const CONF: &str = r#"
pekko.cluster {
  gossip-interval = 200ms
  leader-actions-interval = 200ms
  seed-node-timeout = 2s
  downing-provider-class = "org.apache.pekko.cluster.sbr.SplitBrainResolverProvider"
}
"#;

async fn start() -> ClusterNode {
    let remote = RemoteNode::start(RemoteSettings::new("ClusterSystem", "127.0.0.1", 0))
        .await
        .expect("remoting starts");
    let config = Config::parse_string(CONF).expect("config parses");
    ClusterNode::start(remote, &config).expect("cluster starts")
}

/// Polls `cond` until it holds or 30 s passed.
async fn eventually(what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn all_up(n: &ClusterNode, count: usize) -> bool {
    let m = n.members();
    m.len() == count && m.iter().all(|m| m.status == MemberStatus::Up)
}

#[tokio::test]
async fn second_node_joins_first_seed_and_leaves() {
    let a = start().await;
    let b = start().await;
    let mut b_events = b.subscribe();
    let seed = from_wire_address(a.remote().address());
    a.join_seed_nodes(std::slice::from_ref(&seed));
    b.join_seed_nodes(std::slice::from_ref(&seed));
    eventually("both Up on both", || all_up(&a, 2) && all_up(&b, 2)).await;
    // The leader is the member with the lowest address.
    let lowest = std::cmp::min(a.self_address(), b.self_address()).clone();
    assert_eq!(a.leader(), Some(lowest.clone()));
    assert_eq!(b.leader(), Some(lowest));

    let self_up = next_self_event(&mut b_events).await;
    assert!(
        matches!(&self_up, ClusterEvent::SelfUp(m) if &m.unique_address.address == b.self_address()),
        "first self event of b is SelfUp with its own address: {self_up:?}"
    );

    let mut a_events = a.subscribe();
    assert!(b.leave_gracefully(Duration::from_secs(30)).await);
    // Done leaving: b goes away at once, as `rekko node` and a JVM node do; the leader a
    // needs nothing more from it (remoting's shutdown flushes the queued ExitingConfirmed).
    b.remote().shutdown().await;
    let removed = next_self_event(&mut b_events).await;
    assert_eq!(
        removed,
        ClusterEvent::SelfRemoved {
            previous_status: MemberStatus::Exiting
        },
        "b publishes SelfRemoved after leaving"
    );
    let b_node = b.self_unique_address().clone();
    let wait = async {
        loop {
            match a_events.recv().await {
                Ok(ClusterEvent::UnreachableMember(m)) if m.unique_address == b_node => {
                    panic!("a marked the leaving node unreachable")
                }
                Ok(ClusterEvent::MemberRemoved {
                    member,
                    previous_status,
                }) if member.unique_address == b_node => return previous_status,
                Ok(_) => continue,
                Err(e) => panic!("event stream of a ended: {e}"),
            }
        }
    };
    let previous = tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("a removes b within 30 s");
    assert_eq!(previous, MemberStatus::Exiting, "a removed b as Exiting");
    eventually("b removed on a", || all_up(&a, 1)).await;
    a.remote().shutdown().await;
}

/// The next `SelfUp` or `SelfRemoved` on `rx` (other events are skipped), within 30 s.
async fn next_self_event(rx: &mut tokio::sync::broadcast::Receiver<ClusterEvent>) -> ClusterEvent {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(e @ (ClusterEvent::SelfUp(_) | ClusterEvent::SelfRemoved { .. })) => return e,
                Ok(_) => continue,
                Err(e) => panic!("event stream ended: {e}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("a self event within 30 s")
}
