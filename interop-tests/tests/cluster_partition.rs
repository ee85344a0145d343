//! A network partition of a mixed cluster (3 JVM Pekko 1.7.0 nodes and 2 Rekko nodes) into
//! a majority side {JVM, JVM, Rekko} and a minority side {JVM, Rekko}: keep-majority downs the
//! minority, and JVM and Rekko nodes agree. The majority side removes both minority nodes;
//! the minority side downs itself.
//!
//! Every node's canonical port is an [`ArteryProxy`] port forwarding to the node's bind port,
//! so the test cuts traffic between nodes without touching the host's network. Conditions are
//! polled until a deadline; nothing sleeps as synchronisation.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use hocon_config::Config;
use rekko_cluster::{Address, ClusterNode, MemberStatus};
use rekko_interop_tests::artery_proxy::ArteryProxy;
use rekko_interop_tests::cluster_conf::split_brain_conf;
use rekko_interop_tests::logs::{capture_logs, captured_log};
use rekko_interop_tests::{free_port, require_jvm, FixtureSpec, HarnessError, JvmNode};
use rekko_remote::{RemoteNode, RemoteSettings, SerializedMessage};

const SYSTEM: &str = "ClusterSystem";
const ANSWER: Duration = Duration::from_secs(30);
const CONVERGE: Duration = Duration::from_secs(90);

/// Settings shared by every node (JVM and Rekko): keep-majority, short stable-after.
fn cluster_conf() -> String {
    split_brain_conf("keep-majority", "3s")
}

fn address(port: u16) -> String {
    format!("pekko://{SYSTEM}@127.0.0.1:{port}")
}

/// One node of the test: its name, side and ports.
struct Plan {
    name: &'static str,
    canonical: u16,
    bind: u16,
}

fn start_jvm(dir: &Path, plan: &Plan, seed: &str) -> Result<JvmNode, HarnessError> {
    let conf = dir.join(format!("{}.conf", plan.name));
    let text = format!(
        "{}\npekko.remote.artery.bind.port = {}\n",
        cluster_conf(),
        plan.bind
    );
    std::fs::write(&conf, text).map_err(|e| HarnessError::io("writing node conf", e))?;
    tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.ClusterNode")
                .name(&format!("partition-{}", plan.name))
                .args(["--system", SYSTEM, "--port", &plan.canonical.to_string()])
                .args(["--seeds", seed])
                .args(["--config".to_string(), conf.display().to_string()]),
        )
    })
}

async fn start_rekko(plan: &Plan, seed: &str) -> ClusterNode {
    let mut settings = RemoteSettings::new(SYSTEM, "127.0.0.1", plan.canonical);
    settings.bind_port = Some(plan.bind);
    let remote = RemoteNode::start(settings)
        .await
        .expect("Rekko remoting starts");
    let config = Config::parse_string(&cluster_conf()).expect("config parses");
    let node = ClusterNode::start(remote, &config).expect("Rekko cluster starts");
    node.join_seed_nodes(&[seed.parse::<Address>().expect("seed address")]);
    node
}

fn jvm_members(node: &mut JvmNode) -> Result<String, HarnessError> {
    tokio::task::block_in_place(|| node.request("members", ANSWER))
}

/// `MEMBERS a=Up,b=Up` for `addresses`, sorted as the fixture sorts.
fn all_up_line(addresses: &[String]) -> String {
    let mut v: Vec<String> = addresses.iter().map(|a| format!("{a}=Up")).collect();
    v.sort();
    format!("MEMBERS {}", v.join(","))
}

fn rekko_view(node: &ClusterNode) -> String {
    let mut v: Vec<String> = node
        .members()
        .iter()
        .map(|m| format!("{}={}", m.unique_address.address, m.status))
        .collect();
    v.sort();
    format!("MEMBERS {}", v.join(","))
}

/// Polls until every JVM node and every Rekko node reports exactly `expected`.
async fn await_views(
    what: &str,
    jvms: &mut [&mut JvmNode],
    rekkos: &[&ClusterNode],
    expected: &str,
) -> Result<(), HarnessError> {
    let deadline = Instant::now() + CONVERGE;
    loop {
        let mut views = Vec::new();
        for j in jvms.iter_mut() {
            views.push(jvm_members(j)?);
        }
        views.extend(rekkos.iter().map(|r| rekko_view(r)));
        if views.iter().all(|v| v == expected) {
            return Ok(());
        }
        assert!(
            Instant::now() < deadline,
            "{what}: expected {expected}, views {views:#?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keep_majority_downs_the_minority_of_a_partitioned_mixed_cluster(
) -> Result<(), HarnessError> {
    require_jvm!();
    capture_logs();
    let mut plans = Vec::new();
    // j* are JVM nodes, r* Rekko nodes.
    for name in ["j1", "j2", "r1", "j3", "r2"] {
        plans.push(Plan {
            name,
            canonical: free_port()?,
            bind: free_port()?,
        });
    }
    let majority = ["j1", "j2", "r1"];
    let minority = ["j3", "r2"];
    let proxy = ArteryProxy::new();
    for p in &plans {
        proxy.add_node(p.name, p.canonical, p.bind).await?;
    }
    let by_name: BTreeMap<&str, &Plan> = plans.iter().map(|p| (p.name, p)).collect();
    let addr_of = |name: &str| address(by_name[name].canonical);
    let seed = addr_of("j1");
    let dir = tempfile::tempdir().map_err(|e| HarnessError::io("temp dir", e))?;

    let mut j1 = start_jvm(dir.path(), by_name["j1"], &seed)?;
    let r1 = start_rekko(by_name["r1"], &seed).await;
    let r2 = start_rekko(by_name["r2"], &seed).await;
    let mut j2 = start_jvm(dir.path(), by_name["j2"], &seed)?;
    let mut j3 = start_jvm(dir.path(), by_name["j3"], &seed)?;

    let everyone: Vec<String> = plans.iter().map(|p| address(p.canonical)).collect();
    await_views(
        "all five Up",
        &mut [&mut j1, &mut j2, &mut j3],
        &[&r1, &r2],
        &all_up_line(&everyone),
    )
    .await?;

    // Teach the proxy who is who: uids as the cluster knows them.
    for m in r1.members() {
        let a = m.unique_address.address.to_string();
        let name = plans
            .iter()
            .find(|p| address(p.canonical) == a)
            .map(|p| p.name)
            .expect("member is one of ours");
        proxy.register_uid(m.unique_address.uid as u64, name);
    }
    proxy.partition(&[&majority, &minority]);
    assert!(
        proxy.silenced_connections() > 0,
        "no connection crossed the partition: {proxy:?}"
    );

    // The majority side removes the minority; JVM and Rekko members agree.
    let survivors: Vec<String> = majority.iter().map(|n| addr_of(n)).collect();
    await_views(
        "majority side after the partition",
        &mut [&mut j1, &mut j2],
        &[&r1],
        &all_up_line(&survivors),
    )
    .await?;
    // The minority side downed itself: the Rekko node shut its cluster down ...
    tokio::time::timeout(CONVERGE, r2.terminated())
        .await
        .expect("the minority Rekko node stops");
    // ... and the minority JVM node took or received the same decision.
    let deadline = Instant::now() + CONVERGE;
    let j3_state = loop {
        let line = tokio::task::block_in_place(|| j3.process().request("self", ANSWER))?;
        if line == "SELF Down" || line == "SELF Removed" {
            break line;
        }
        assert!(Instant::now() < deadline, "minority JVM node still {line}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    eprintln!("minority JVM node: {j3_state}");

    // Both decisions were logged with Pekko's words, by a JVM or a Rekko node.
    let mut logs = captured_log();
    for j in [&mut j1, &mut j2, &mut j3] {
        logs.push_str(&std::fs::read_to_string(j.process().log_path()).unwrap_or_default());
    }
    let decision = |name: &str| {
        logs.lines()
            .find(|l| {
                l.contains(&format!("SBR took decision {name} and is downing"))
                    && minority.iter().all(|n| l.contains(&addr_of(n)))
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
    assert_eq!(r1.self_member().map(|m| m.status), Some(MemberStatus::Up));

    proxy.shutdown();
    r1.remote().shutdown().await;
    r2.remote().shutdown().await;
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
