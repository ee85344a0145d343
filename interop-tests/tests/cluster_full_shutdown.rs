//! Full cluster shutdown started by Rekko in a mixed cluster: two JVM Pekko 1.7.0 `ClusterNode`
//! fixtures and one Rekko node. `PUT /cluster operation=prepare-for-full-shutdown` on the Rekko
//! node's management endpoint answers as Pekko Management does and starts Pekko's
//! `prepareForFullClusterShutdown` on Rekko; every JVM node's own view (its `members` command)
//! and Rekko's then list all three members `ReadyForShutdown`, and every node published, for
//! every member, `MemberPreparingForShutdown` before `MemberReadyForShutdown` (the JVM fixture's
//! `events` command, Rekko's event subscription). Run twice: with a JVM leader and with Rekko
//! as leader (moving the members to `ReadyForShutdown`). Nothing stops: the members stay
//! `ReadyForShutdown` until shut down from outside. Conditions are polled until a deadline;
//! nothing sleeps as synchronisation.

use std::time::{Duration, Instant};

use rekko_cluster::{Address, ClusterEvent, ClusterNode, MemberStatus};
use rekko_interop_tests::cluster_conf::split_brain_conf;
use rekko_interop_tests::managed_rekko::start_managed_rekko;
use rekko_interop_tests::mixed_cluster::{address, member_entries, ANSWER, CONVERGE, SYSTEM};
use rekko_interop_tests::{
    free_port, init_test_logs, require_jvm, FixtureSpec, HarnessError, JvmNode,
};
use rekko_management::ManagementServer;
use tokio::sync::broadcast;

/// A JVM `ClusterNode` (Pekko 1.7.0) joining `seed`.
fn start_jvm(name: &str, port: u16, seed: &str) -> Result<JvmNode, HarnessError> {
    tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.ClusterNode")
                .name(name)
                .args(["--system", SYSTEM, "--port", &port.to_string()])
                .args(["--seeds", seed]),
        )
    })
}

/// A Rekko member with the JVM fixture's cluster settings and read-write management HTTP.
async fn start_rekko(port: u16, http: u16) -> (ClusterNode, ManagementServer) {
    start_managed_rekko(
        SYSTEM,
        port,
        &format!(
            r#"
{}
pekko.management.http {{
  hostname = "127.0.0.1"
  port = {http}
  route-providers-read-only = false
}}
"#,
            split_brain_conf("keep-majority", "5s")
        ),
    )
    .await
}

/// `MEMBERS a=Up,b=Up` as sorted `address=status` entries.
fn jvm_members(node: &mut JvmNode) -> Result<Vec<String>, HarnessError> {
    let line = tokio::task::block_in_place(|| node.request("members", ANSWER))?;
    Ok(entries(line.strip_prefix("MEMBERS").unwrap_or("")))
}

/// `EVENTS MemberUp=a,...` as `event=address` entries in arrival order.
fn jvm_events(node: &mut JvmNode) -> Result<Vec<String>, HarnessError> {
    let line = tokio::task::block_in_place(|| node.request("events", ANSWER))?;
    Ok(line
        .strip_prefix("EVENTS")
        .unwrap_or("")
        .trim()
        .split(',')
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect())
}

fn entries(list: &str) -> Vec<String> {
    let mut e: Vec<String> = list
        .trim()
        .split(',')
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect();
    e.sort();
    e
}

/// Every member of `addresses` with `status`, as the sorted entries a view lists.
fn all_with(addresses: &[String], status: &str) -> Vec<String> {
    let mut e: Vec<String> = addresses.iter().map(|a| format!("{a}={status}")).collect();
    e.sort();
    e
}

/// Polls until both JVM nodes and the Rekko node list exactly `expected`.
async fn await_views(
    jvms: &mut [&mut JvmNode],
    rekko: &ClusterNode,
    expected: &[String],
) -> Result<(), HarnessError> {
    let deadline = Instant::now() + CONVERGE;
    loop {
        let ours = member_entries(rekko);
        let mut ok = ours == expected;
        let mut views = Vec::new();
        for j in jvms.iter_mut() {
            let v = jvm_members(j)?;
            ok &= v == expected;
            views.push(v);
        }
        if ok {
            return Ok(());
        }
        assert!(
            Instant::now() < deadline,
            "never {expected:?} everywhere: JVM views {views:?}, Rekko view {ours:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The shutdown events of `node` for one member: true when `MemberPreparingForShutdown`
/// precedes `MemberReadyForShutdown`.
fn prepared_then_ready(events: &[String], member: &str) -> bool {
    let at = |kind: &str| events.iter().position(|e| e == &format!("{kind}={member}"));
    matches!(
        (at("MemberPreparingForShutdown"), at("MemberReadyForShutdown")),
        (Some(p), Some(r)) if p < r
    )
}

/// Rekko's events so far, in the fixture's `event=address` form (shutdown events only).
fn drain_rekko(rx: &mut broadcast::Receiver<ClusterEvent>, into: &mut Vec<String>) {
    while let Ok(e) = rx.try_recv() {
        match e {
            ClusterEvent::MemberPreparingForShutdown(m) => {
                into.push(format!(
                    "MemberPreparingForShutdown={}",
                    m.unique_address.address
                ));
            }
            ClusterEvent::MemberReadyForShutdown(m) => {
                into.push(format!(
                    "MemberReadyForShutdown={}",
                    m.unique_address.address
                ));
            }
            _ => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_cluster_shutdown_started_by_rekko_with_a_jvm_leader() -> Result<(), HarnessError> {
    require_jvm!();
    full_shutdown_started_by_rekko(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_cluster_shutdown_started_by_rekko_as_leader() -> Result<(), HarnessError> {
    require_jvm!();
    full_shutdown_started_by_rekko(true).await
}

/// The scenario; `rekko_leads` gives the Rekko node the lowest address, so that it is the
/// leader moving the members to ReadyForShutdown (otherwise a JVM node is).
async fn full_shutdown_started_by_rekko(rekko_leads: bool) -> Result<(), HarnessError> {
    init_test_logs();
    let mut ports = [free_port()?, free_port()?, free_port()?];
    ports.sort();
    let [p1, p2, p3] = if rekko_leads {
        [ports[1], ports[2], ports[0]]
    } else {
        ports
    };
    let http = free_port()?;
    let seed = address(p1);
    let mut j1 = start_jvm("full-shutdown-seed", p1, &seed)?;
    let mut j2 = start_jvm("full-shutdown-second", p2, &seed)?;
    let (rekko, server) = start_rekko(p3, http).await;
    let mut rekko_events = rekko.subscribe();
    rekko.join_seed_nodes(&[seed.parse::<Address>().expect("seed address")]);
    let all = vec![address(p1), address(p2), address(p3)];
    await_views(&mut [&mut j1, &mut j2], &rekko, &all_with(&all, "Up")).await?;
    let leader = address(ports[0]);
    assert_eq!(rekko.leader().map(|l| l.to_string()), Some(leader.clone()));
    let line = tokio::task::block_in_place(|| j1.request("leader", ANSWER))?;
    assert_eq!(line, format!("LEADER {leader}"));

    // Rekko starts the full cluster shutdown through its management endpoint.
    let r = reqwest::Client::new()
        .put(format!("{}/cluster", server.base_uri()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("operation=prepare-for-full-shutdown")
        .send()
        .await
        .expect("the endpoint answers");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    assert_eq!(
        r.text().await.expect("a body"),
        r#"{"message":"Preparing for full cluster shutdown"}"#
    );

    // Every node's own view: all three ReadyForShutdown.
    await_views(
        &mut [&mut j1, &mut j2],
        &rekko,
        &all_with(&all, "ReadyForShutdown"),
    )
    .await?;

    // Every node saw every member PreparingForShutdown, then ReadyForShutdown.
    let mut ours = Vec::new();
    drain_rekko(&mut rekko_events, &mut ours);
    for (name, events) in [
        ("seed", jvm_events(&mut j1)?),
        ("second", jvm_events(&mut j2)?),
        ("Rekko", ours),
    ] {
        for member in &all {
            assert!(
                prepared_then_ready(&events, member),
                "{name} about {member}: {events:?}"
            );
        }
    }

    // Nothing stops on its own: Rekko stays a member, every view stays ReadyForShutdown.
    assert!(!rekko.is_terminated());
    assert_eq!(
        rekko.self_member().map(|m| m.status),
        Some(MemberStatus::ReadyForShutdown)
    );
    await_views(
        &mut [&mut j1, &mut j2],
        &rekko,
        &all_with(&all, "ReadyForShutdown"),
    )
    .await?;

    server.stop().await;
    rekko.remote().shutdown().await;
    Ok(())
}
