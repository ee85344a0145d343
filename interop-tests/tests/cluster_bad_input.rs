//! Bad input at the cluster layer, against JVM Pekko 1.7.0:
//!
//! * a JVM node whose configuration is incompatible (another split brain resolver strategy)
//!   asks a Rekko seed to join: Rekko logs Pekko's "Found incompatible settings" warning and
//!   answers `IncompatibleConfig`; the JVM refuses to join with its own error and shuts down;
//! * a Rekko node with an incompatible configuration asks a JVM seed: the JVM logs the same
//!   warning, Rekko refuses to join with Pekko's wording and stops, as a JVM joiner would;
//! * malformed gossip (serializer 5, manifests `GE`/`GS`) sent to a Rekko member is dropped
//!   with a log line naming what was wrong, and the node stays a member of a converged cluster.
//!
//! Logs are awaited by polling until a deadline; nothing sleeps as synchronisation.

use std::time::{Duration, Instant};

use bytes::Bytes;
use hocon_config::Config;
use prost::Message;
use rekko_cluster::codec::{gossip_to_proto, gzip, proto, unique_address_to_proto};
use rekko_cluster::{Address, ClusterNode, MemberStatus};
use rekko_interop_tests::cluster_conf::split_brain_conf;
use rekko_interop_tests::logs::{capture_logs, captured_log_line, fixture_log_line};
use rekko_interop_tests::{free_port, require_jvm, FixtureSpec, HarnessError, JvmNode};
use rekko_remote::{RemoteNode, RemoteSettings, SerializedMessage};

const SYSTEM: &str = "ClusterSystem";
const ANSWER: Duration = Duration::from_secs(30);
const CONVERGE: Duration = Duration::from_secs(60);
const SBR_KEY: &str = "pekko.cluster.split-brain-resolver.active-strategy";

/// The JVM fixture's cluster settings (keep-majority).
fn rekko_conf() -> String {
    split_brain_conf("keep-majority", "5s")
}

/// The same, with another strategy: incompatible with the fixture's keep-majority.
fn keep_oldest_conf() -> String {
    split_brain_conf("keep-oldest", "5s")
}

/// Polls `probe` until it yields a value, failing with `what` after [`CONVERGE`].
async fn eventually<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + CONVERGE;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn jvm_address(port: u16) -> String {
    format!("pekko://{SYSTEM}@127.0.0.1:{port}")
}

fn start_jvm(
    name: &str,
    port: u16,
    seeds: &[String],
    config: Option<&std::path::Path>,
) -> Result<JvmNode, HarnessError> {
    let mut spec = FixtureSpec::new("org.rekko.fixtures.ClusterNode")
        .name(name)
        .args(["--system", SYSTEM, "--port", &port.to_string()])
        .args(["--seeds".to_string(), seeds.join(",")]);
    if let Some(path) = config {
        spec = spec.args(["--config".to_string(), path.display().to_string()]);
    }
    tokio::task::block_in_place(|| JvmNode::start(spec))
}

async fn start_rekko(port: u16, conf: &str) -> ClusterNode {
    let remote = RemoteNode::start(RemoteSettings::new(SYSTEM, "127.0.0.1", port))
        .await
        .expect("Rekko remoting starts");
    let config = Config::parse_string(conf).expect("config parses");
    ClusterNode::start(remote, &config).expect("Rekko cluster starts")
}

fn jvm_members(node: &mut JvmNode) -> Result<String, HarnessError> {
    tokio::task::block_in_place(|| node.request("members", ANSWER))
}

/// A JVM node with `active-strategy = keep-oldest` asks a keep-majority Rekko seed to join.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jvm_joiner_with_incompatible_config_is_refused_by_rekko_seed() -> Result<(), HarnessError>
{
    require_jvm!();
    capture_logs();
    let (pr, pj) = (free_port()?, free_port()?);
    let seed = jvm_address(pr);
    let rekko = start_rekko(pr, &rekko_conf()).await;
    rekko.join_seed_nodes(&[seed.parse::<Address>().expect("seed address")]);
    eventually("the Rekko seed to be Up", || {
        (rekko.self_member()?.status == MemberStatus::Up).then_some(())
    })
    .await;

    let dir = tempfile::tempdir().map_err(|e| HarnessError::io("temp dir", e))?;
    let conf = dir.path().join("keep-oldest.conf");
    std::fs::write(&conf, keep_oldest_conf()).map_err(|e| HarnessError::io("writing conf", e))?;
    let joiner = jvm_address(pj);
    let mut jvm = start_jvm(
        "bad-input-incompatible-joiner",
        pj,
        std::slice::from_ref(&seed),
        Some(&conf),
    )?;

    // Rekko, the contact node, logs Pekko's warning with the incompatible key ...
    let warned = eventually("Rekko's incompatible-settings warning", || {
        captured_log_line(&[
            "Found incompatible settings when",
            &joiner,
            &format!("{SBR_KEY} is incompatible"),
        ])
    })
    .await;
    assert!(warned.contains("WARN"), "{warned}");
    // ... and the JVM refuses the IncompatibleConfig reply with its own error and shuts down.
    let refused = eventually("the JVM's refusal", || {
        fixture_log_line(
            &mut jvm,
            &["Couldn't join seed nodes because of incompatible cluster configuration"],
        )
    })
    .await;
    assert!(refused.contains("ERROR"), "{refused}");
    // The JVM never became a member.
    assert_eq!(
        rekko
            .members()
            .iter()
            .map(|m| m.unique_address.address.to_string())
            .collect::<Vec<_>>(),
        vec![seed.clone()]
    );
    rekko.remote().shutdown().await;
    Ok(())
}

/// A keep-oldest Rekko node asks a keep-majority JVM seed to join.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekko_joiner_with_incompatible_config_is_refused_by_jvm_seed() -> Result<(), HarnessError>
{
    require_jvm!();
    capture_logs();
    let (pj, pr) = (free_port()?, free_port()?);
    let seed = jvm_address(pj);
    let mut jvm = start_jvm("bad-input-jvm-seed", pj, std::slice::from_ref(&seed), None)?;
    let rekko = start_rekko(pr, &keep_oldest_conf()).await;
    let me = rekko.self_address().to_string();
    rekko.join_seed_nodes(&[seed.parse::<Address>().expect("seed address")]);

    // The JVM seed logs its reason ...
    let warned = eventually("the JVM's incompatible-settings warning", || {
        fixture_log_line(
            &mut jvm,
            &[
                "Found incompatible settings when",
                &me,
                &format!("{SBR_KEY} is incompatible"),
            ],
        )
    })
    .await;
    assert!(warned.contains("WARN"), "{warned}");
    // ... Rekko refuses with Pekko's words and shuts its cluster extension down.
    let refused = eventually("Rekko's refusal", || {
        captured_log_line(&[
            &me,
            "Couldn't join seed nodes because of incompatible cluster configuration",
            &seed,
        ])
    })
    .await;
    assert!(refused.contains("ERROR"), "{refused}");
    tokio::time::timeout(CONVERGE, rekko.terminated())
        .await
        .expect("the refused Rekko node stops");
    assert!(rekko.self_member().is_none());
    let members = jvm_members(&mut jvm)?;
    assert_eq!(members, format!("MEMBERS {seed}=Up"));
    rekko.remote().shutdown().await;
    Ok(())
}

/// Sends one cluster-serializer message with `manifest` and raw `payload` to the core daemon
/// of `to`.
fn send_raw(from: &RemoteNode, to: &ClusterNode, manifest: &str, payload: Vec<u8>) {
    let path = format!("{}/system/cluster/core/daemon", to.self_address());
    from.tell(
        &path,
        None,
        SerializedMessage {
            serializer_id: 5,
            manifest: manifest.to_string(),
            payload: Bytes::from(payload),
        },
    )
    .expect("raw message queued");
}

/// Malformed gossip to a Rekko member of a JVM-seeded cluster is dropped with a log line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_gossip_is_dropped_and_rekko_stays_a_member() -> Result<(), HarnessError> {
    require_jvm!();
    capture_logs();
    let (pj, pr, pp) = (free_port()?, free_port()?, free_port()?);
    let seed = jvm_address(pj);
    let mut jvm = start_jvm(
        "bad-input-gossip-seed",
        pj,
        std::slice::from_ref(&seed),
        None,
    )?;
    let rekko = start_rekko(pr, &rekko_conf()).await;
    rekko.join_seed_nodes(&[seed.parse::<Address>().expect("seed address")]);
    let me = rekko.self_address().to_string();
    let both_up = format!("MEMBERS {}", {
        let mut v = [format!("{seed}=Up"), format!("{me}=Up")];
        v.sort();
        v.join(",")
    });
    let deadline = Instant::now() + CONVERGE;
    while jvm_members(&mut jvm)? != both_up {
        assert!(Instant::now() < deadline, "Rekko did not become Up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The JVM leader can move Rekko Up before Rekko has handled the Welcome: wait until
    // Rekko's own gossip lists the seed too.
    let jvm_node = loop {
        if let Some(m) = rekko
            .members()
            .into_iter()
            .find(|m| m.unique_address.address.to_string() == seed)
        {
            break m.unique_address;
        }
        assert!(
            Instant::now() < deadline,
            "Rekko never listed the JVM seed as a member"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // A plain remoting node of the same system plays the attacker.
    let probe = RemoteNode::start(RemoteSettings::new(SYSTEM, "127.0.0.1", pp))
        .await
        .expect("probe remoting starts");
    let probe_address = probe.address().to_string();

    // 1. Bytes that are not a protobuf GossipEnvelope.
    send_raw(
        &probe,
        &rekko,
        "GE",
        vec![0xff, 0xff, 0xff, 0xff, 0x0f, 0x01],
    );
    // 2. A well-formed envelope whose gossip is not gzip data.
    let envelope = |serialized: Vec<u8>| proto::GossipEnvelope {
        from: unique_address_to_proto(&jvm_node),
        to: unique_address_to_proto(rekko.self_unique_address()),
        serialized_gossip: Bytes::from(serialized),
    };
    send_raw(
        &probe,
        &rekko,
        "GE",
        envelope(b"not gzip".to_vec()).encode_to_vec(),
    );
    // 3. Gzipped gossip whose member refers past the address table.
    let mut gossip = gossip_to_proto(&rekko.state().gossip);
    gossip.members[0].address_index = 99;
    send_raw(
        &probe,
        &rekko,
        "GE",
        envelope(gzip(&gossip.encode_to_vec())).encode_to_vec(),
    );
    // 4. A truncated GossipStatus.
    let status = proto::GossipStatus {
        from: unique_address_to_proto(&jvm_node),
        all_hashes: vec![],
        version: proto::VectorClock::default(),
        seen_digest: None,
    }
    .encode_to_vec();
    send_raw(&probe, &rekko, "GS", status[..status.len() / 2].to_vec());

    let mut lines = Vec::new();
    for (what, needle) in [
        ("not protobuf", "GossipEnvelope"),
        ("not gzip", "gzip"),
        ("bad index", "index 99 out of range"),
        ("truncated status", "GossipStatus"),
    ] {
        let line = eventually(&format!("the log line for the {what} gossip"), || {
            captured_log_line(&[
                &me,
                "dropping malformed cluster message",
                &probe_address,
                needle,
            ])
        })
        .await;
        lines.push(line);
    }
    for l in &lines {
        eprintln!("logged: {l}");
    }

    // Still a member; the cluster converges with both nodes Up, as the JVM sees it.
    eventually("Rekko Up and converged after the bad gossip", || {
        let state = rekko.state();
        let up = state
            .gossip
            .members
            .values()
            .all(|m| m.status == MemberStatus::Up);
        (up && state.convergence(&Default::default()) && state.gossip.members.len() == 2)
            .then_some(())
    })
    .await;
    assert_eq!(
        rekko.self_member().map(|m| m.status),
        Some(MemberStatus::Up)
    );
    assert_eq!(jvm_members(&mut jvm)?, both_up);
    probe.shutdown().await;
    rekko.remote().shutdown().await;
    Ok(())
}
