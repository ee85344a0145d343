//! Cluster membership interop: Rekko [`ClusterNode`]s and JVM Pekko `ClusterNode` fixtures
//! form one cluster, with either side as seed and leader, and a Rekko node leaves gracefully.
//! Conditions are polled until a deadline; nothing sleeps as synchronisation.

use std::time::{Duration, Instant};

use hocon_config::Config;
use rekko_cluster::{Address, ClusterNode, MemberStatus};
use rekko_interop_tests::cluster_conf::split_brain_conf;
use rekko_interop_tests::{
    free_port, init_test_logs, require_jvm, FixtureSpec, HarnessError, JvmNode, PekkoVersion,
};
use rekko_remote::{RemoteNode, RemoteSettings};

const SYSTEM: &str = "ClusterSystem";
const ANSWER: Duration = Duration::from_secs(30);
const CONVERGE: Duration = Duration::from_secs(60);

/// Three free ports in ascending order and a Rekko node on the first (the lowest address, so
/// the leader once all are members).
async fn rekko_seed_and_two_ports() -> Result<(u16, u16, u16, ClusterNode), HarnessError> {
    let mut ports = [free_port()?, free_port()?, free_port()?];
    ports.sort();
    let [pr, p1, p2] = ports;
    Ok((pr, p1, p2, start_rekko(pr).await))
}

fn jvm_address(port: u16) -> String {
    format!("pekko://{SYSTEM}@127.0.0.1:{port}")
}

fn start_jvm(
    name: &str,
    version: PekkoVersion,
    port: u16,
    seeds: &[String],
) -> Result<JvmNode, HarnessError> {
    tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.ClusterNode")
                .name(&format!("{name}-{}", version.as_str()))
                .version(version)
                .args(["--system", SYSTEM, "--port", &port.to_string()])
                .args(["--seeds".to_string(), seeds.join(",")]),
        )
    })
}

async fn start_rekko(port: u16) -> ClusterNode {
    let remote = RemoteNode::start(RemoteSettings::new(SYSTEM, "127.0.0.1", port))
        .await
        .expect("Rekko remoting starts");
    // The same cluster settings as the JVM fixture's `cluster-node.conf`.
    let config =
        Config::parse_string(&split_brain_conf("keep-majority", "5s")).expect("config parses");
    ClusterNode::start(remote, &config).expect("Rekko cluster starts")
}

/// `MEMBERS a=Up,b=Up` parsed into (address, status) pairs.
fn jvm_members(node: &mut JvmNode) -> Result<Vec<(String, String)>, HarnessError> {
    let line = tokio::task::block_in_place(|| node.request("members", ANSWER))?;
    let list = line.strip_prefix("MEMBERS").unwrap_or("").trim();
    Ok(list
        .split(',')
        .filter(|e| !e.is_empty())
        .filter_map(|e| e.split_once('='))
        .map(|(a, s)| (a.to_string(), s.to_string()))
        .collect())
}

fn jvm_leader(node: &mut JvmNode) -> Result<String, HarnessError> {
    let line = tokio::task::block_in_place(|| node.request("leader", ANSWER))?;
    Ok(line.trim_start_matches("LEADER").trim().to_string())
}

fn all_up(members: &[(String, String)], expected: &[String]) -> bool {
    let mut got: Vec<&String> = members
        .iter()
        .filter(|(_, s)| s == "Up")
        .map(|(a, _)| a)
        .collect();
    got.sort();
    let mut want: Vec<&String> = expected.iter().collect();
    want.sort();
    members.len() == expected.len() && got == want
}

fn rekko_all_up(node: &ClusterNode, expected: &[String]) -> bool {
    let members = node.members();
    let mut got: Vec<String> = members
        .iter()
        .filter(|m| m.status == MemberStatus::Up)
        .map(|m| m.unique_address.address.to_string())
        .collect();
    got.sort();
    let mut want = expected.to_vec();
    want.sort();
    members.len() == expected.len() && got == want
}

/// Polls until every JVM node and the Rekko node see exactly `expected`, all Up.
async fn await_all_up(
    jvms: &mut [&mut JvmNode],
    rekko: &ClusterNode,
    expected: &[String],
) -> Result<(), HarnessError> {
    let deadline = Instant::now() + CONVERGE;
    loop {
        let mut ok = rekko_all_up(rekko, expected);
        let mut views = Vec::new();
        for j in jvms.iter_mut() {
            let m = jvm_members(j)?;
            ok &= all_up(&m, expected);
            views.push(m);
        }
        if ok {
            return Ok(());
        }
        assert!(
            Instant::now() < deadline,
            "cluster did not converge to {expected:?} all Up: JVM views {views:?}, Rekko view {:?}",
            rekko
                .members()
                .iter()
                .map(|m| format!("{}={}", m.unique_address.address, m.status))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn rekko_joins_two_jvm_nodes(version: PekkoVersion) -> Result<(), HarnessError> {
    init_test_logs();
    let (p1, p2, p3) = (free_port()?, free_port()?, free_port()?);
    let seed = jvm_address(p1);
    let mut j1 = start_jvm("cluster-seed", version, p1, std::slice::from_ref(&seed))?;
    let mut j2 = start_jvm("cluster-second", version, p2, std::slice::from_ref(&seed))?;
    let rekko = start_rekko(p3).await;
    rekko.join_seed_nodes(&[seed.parse::<Address>().expect("seed address")]);
    let expected = vec![seed.clone(), jvm_address(p2), jvm_address(p3)];
    await_all_up(&mut [&mut j1, &mut j2], &rekko, &expected).await?;
    // The leader is the lowest address (all hosts are 127.0.0.1: the lowest port).
    let leader = jvm_address(p1.min(p2).min(p3));
    assert_eq!(jvm_leader(&mut j1)?, leader);
    assert_eq!(jvm_leader(&mut j2)?, leader);
    assert_eq!(rekko.leader().map(|a| a.to_string()), Some(leader));
    rekko.remote().shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekko_joins_pekko_1_7_cluster_through_jvm_seed() -> Result<(), HarnessError> {
    require_jvm!();
    rekko_joins_two_jvm_nodes(PekkoVersion::V1_7_0).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekko_joins_pekko_1_0_3_cluster_through_jvm_seed() -> Result<(), HarnessError> {
    require_jvm!();
    rekko_joins_two_jvm_nodes(PekkoVersion::V1_0_3).await
}

/// JVM nodes join a cluster whose first seed is Rekko; Rekko (lowest address) leads and moves
/// them Up. Then Rekko leaves gracefully: the JVM nodes remove it and never see it unreachable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jvm_nodes_join_rekko_seed_and_rekko_leaves_gracefully() -> Result<(), HarnessError> {
    require_jvm!();
    init_test_logs();
    let (pr, p1, p2, rekko) = rekko_seed_and_two_ports().await?;
    let seed = jvm_address(pr);
    rekko.join_seed_nodes(&[seed.parse::<Address>().expect("seed address")]);
    let seeds = [seed.clone()];
    let mut j1 = start_jvm("cluster-joiner-1", PekkoVersion::V1_7_0, p1, &seeds)?;
    let mut j2 = start_jvm("cluster-joiner-2", PekkoVersion::V1_7_0, p2, &seeds)?;
    let expected = vec![seed.clone(), jvm_address(p1), jvm_address(p2)];
    await_all_up(&mut [&mut j1, &mut j2], &rekko, &expected).await?;
    assert_eq!(rekko.leader().map(|a| a.to_string()), Some(seed.clone()));
    assert_eq!(jvm_leader(&mut j1)?, seed);
    assert_eq!(jvm_leader(&mut j2)?, seed);
    let up_numbers: Vec<i32> = rekko.members().iter().map(|m| m.up_number).collect();
    assert!(
        up_numbers.iter().all(|n| *n > 0 && *n < i32::MAX),
        "{up_numbers:?}"
    );

    // Graceful leave of the (leading) Rekko node.
    let leaving = {
        let rekko = rekko.clone();
        tokio::spawn(async move { rekko.leave_gracefully(CONVERGE).await })
    };
    let remaining = vec![jvm_address(p1), jvm_address(p2)];
    let deadline = Instant::now() + CONVERGE;
    let mut statuses_seen = Vec::new();
    loop {
        let mut done = true;
        for j in [&mut j1, &mut j2] {
            let m = jvm_members(j)?;
            for (a, s) in &m {
                if a == &seed {
                    assert!(
                        !s.contains("unreachable"),
                        "the leaving Rekko node was marked unreachable: {m:?}"
                    );
                    if !statuses_seen.contains(s) {
                        statuses_seen.push(s.clone());
                    }
                }
            }
            done &= all_up(&m, &remaining);
        }
        if done {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Rekko node not removed; statuses seen {statuses_seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(leaving.await.expect("leave task"), "leave completed");
    assert!(rekko.is_terminated());
    rekko.remote().shutdown().await;
    Ok(())
}

/// With Rekko leading, a JVM node is killed: Rekko's heartbeats mark it unreachable, Rekko's
/// keep-majority split brain resolver downs it, and it is removed on Rekko and the other JVM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_jvm_node_is_downed_by_rekko_leader() -> Result<(), HarnessError> {
    require_jvm!();
    init_test_logs();
    let (pr, p1, p2, rekko) = rekko_seed_and_two_ports().await?;
    let seed = jvm_address(pr);
    let mut events = rekko.subscribe();
    rekko.join_seed_nodes(&[seed.parse::<Address>().expect("seed address")]);
    let seeds = [seed.clone()];
    let mut j1 = start_jvm("cluster-survivor", PekkoVersion::V1_7_0, p1, &seeds)?;
    let mut j2 = start_jvm("cluster-victim", PekkoVersion::V1_7_0, p2, &seeds)?;
    let expected = vec![seed.clone(), jvm_address(p1), jvm_address(p2)];
    await_all_up(&mut [&mut j1], &rekko, &expected).await?;
    tokio::task::block_in_place(|| j2.kill())?;

    let victim = jvm_address(p2);
    let remaining = vec![seed.clone(), jvm_address(p1)];
    await_all_up(&mut [&mut j1], &rekko, &remaining).await?;
    // Rekko published the whole story: unreachable, downed, removed.
    let mut story = Vec::new();
    while let Ok(e) = events.try_recv() {
        match e {
            rekko_cluster::ClusterEvent::UnreachableMember(m)
                if m.unique_address.address.to_string() == victim =>
            {
                story.push("unreachable")
            }
            rekko_cluster::ClusterEvent::MemberDowned(m)
                if m.unique_address.address.to_string() == victim =>
            {
                story.push("downed")
            }
            rekko_cluster::ClusterEvent::MemberRemoved { member, .. }
                if member.unique_address.address.to_string() == victim =>
            {
                story.push("removed")
            }
            _ => {}
        }
    }
    assert_eq!(story, vec!["unreachable", "downed", "removed"]);
    rekko.remote().shutdown().await;
    Ok(())
}
