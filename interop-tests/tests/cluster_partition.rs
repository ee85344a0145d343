//! A network partition of a mixed cluster (3 JVM Pekko 1.7.0 nodes and 2 Rekko nodes) into
//! a majority side {JVM, JVM, Rekko} and a minority side {JVM, Rekko}: keep-majority downs the
//! minority, and JVM and Rekko nodes agree. The majority side removes both minority nodes;
//! the minority side downs itself.
//!
//! Every node's canonical port is an [`ArteryProxy`] port forwarding to the node's bind port,
//! so the test cuts traffic between nodes without touching the host's network. Conditions are
//! polled until a deadline; nothing sleeps as synchronisation.

use std::time::{Duration, Instant};

use rekko_cluster::MemberStatus;
use rekko_interop_tests::artery_proxy::ArteryProxy;
use rekko_interop_tests::cluster_conf::split_brain_conf;
use rekko_interop_tests::logs::{capture_logs, captured_log};
use rekko_interop_tests::mixed_cluster::{MixedCluster, ANSWER, CONVERGE};
use rekko_interop_tests::{free_port, require_jvm, HarnessError};
use rekko_remote::{RemoteNode, RemoteSettings, SerializedMessage};

/// Settings shared by every node (JVM and Rekko): keep-majority, short stable-after.
fn cluster_conf() -> String {
    split_brain_conf("keep-majority", "3s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keep_majority_downs_the_minority_of_a_partitioned_mixed_cluster(
) -> Result<(), HarnessError> {
    require_jvm!();
    capture_logs();
    // j* are JVM nodes, r* Rekko nodes, in start order; j1 is the seed.
    let names = ["j1", "r1", "r2", "j2", "j3"];
    let mut canonical = Vec::new();
    for _ in names {
        canonical.push(free_port()?);
    }
    let majority = ["j1", "j2", "r1"];
    let minority = ["j3", "r2"];
    let mut cluster = MixedCluster::start("partition", &cluster_conf(), &names, &canonical).await?;
    cluster.await_all_up().await?;
    cluster.partition(&majority, &minority);

    // The majority side removes the minority; JVM and Rekko members agree.
    cluster
        .await_side_up("majority side after the partition", &majority)
        .await?;
    // The minority side downed itself: the Rekko node shut its cluster down ...
    tokio::time::timeout(CONVERGE, cluster.rekkos["r2"].terminated())
        .await
        .expect("the minority Rekko node stops");
    // ... and the minority JVM node took or received the same decision.
    let j3_state = cluster.await_jvm_gone("j3").await?;
    eprintln!("minority JVM node: {j3_state}");

    // Both decisions were logged with Pekko's words, by a JVM or a Rekko node.
    let mut logs = captured_log();
    logs.push_str(&cluster.jvm_logs());
    let minority_addrs: Vec<String> = minority.iter().map(|n| cluster.addr_of(n)).collect();
    let decision = |name: &str| {
        logs.lines()
            .find(|l| {
                l.contains(&format!("SBR took decision {name} and is downing"))
                    && minority_addrs.iter().all(|a| l.contains(a.as_str()))
            })
            .map(str::to_string)
    };
    let majority_decision = decision("DownUnreachable").expect("a DownUnreachable decision");
    let minority_decision = decision("DownReachable").expect("a DownReachable decision");
    assert!(
        minority_decision.contains("including myself"),
        "{minority_decision}"
    );
    eprintln!("majority: {majority_decision}\nminority: {minority_decision}");
    assert_eq!(
        cluster.rekkos["r1"].self_member().map(|m| m.status),
        Some(MemberStatus::Up)
    );

    cluster.shutdown().await;
    Ok(())
}

/// The proxy on its own, between two Rekko remoting nodes (no JVM needed): messages pass,
/// a partition silences the connections between the two, and after healing the nodes
/// reconnect and messages pass again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn artery_proxy_cuts_and_restores_traffic() -> Result<(), HarnessError> {
    capture_logs();
    let proxy = ArteryProxy::new();
    let mut nodes = Vec::new();
    for name in ["a", "b"] {
        let (canonical, bind) = (free_port()?, free_port()?);
        proxy.add_node(name, canonical, bind).await?;
        let mut settings = RemoteSettings::new("ProxySystem", "127.0.0.1", canonical);
        settings.bind_port = Some(bind);
        let node = RemoteNode::start(settings).await.expect("remoting starts");
        proxy.register_uid(node.unique_address().uid, name);
        nodes.push(node);
    }
    let (a, b) = (&nodes[0], &nodes[1]);
    b.register_echo("/user/echo");
    let echo = format!("{}/user/echo", b.address());
    let hello = || SerializedMessage {
        serializer_id: 4,
        manifest: String::new(),
        payload: bytes::Bytes::from_static(b"hello"),
    };
    let reply = a
        .ask(&echo, hello(), ANSWER)
        .await
        .expect("echo through the proxy");
    assert_eq!(&reply.message.payload[..], b"hello");

    proxy.partition(&[&["a"], &["b"]]);
    assert!(
        proxy.silenced_connections() >= 2,
        "both directions silenced: {proxy:?}"
    );
    assert!(a.ask(&echo, hello(), Duration::from_secs(2)).await.is_err());

    proxy.heal();
    let deadline = Instant::now() + CONVERGE;
    loop {
        if let Ok(reply) = a.ask(&echo, hello(), Duration::from_secs(2)).await {
            assert_eq!(&reply.message.payload[..], b"hello");
            break;
        }
        assert!(Instant::now() < deadline, "no traffic after healing");
    }
    proxy.shutdown();
    a.shutdown().await;
    b.shutdown().await;
    Ok(())
}
