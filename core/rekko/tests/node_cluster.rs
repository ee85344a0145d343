//! `rekko node` as a member of a JVM Pekko cluster: joins through a JVM seed, leaves gracefully
//! on SIGTERM (exit status 0, removed on the JVM nodes, never unreachable), and after SIGKILL is
//! marked unreachable, downed by the JVM's split brain resolver and removed.
//! Conditions are polled until a deadline; nothing sleeps as synchronisation.

use std::process::Command;
use std::time::{Duration, Instant};

use rekko_interop_tests::cluster_conf::split_brain_conf;
use rekko_interop_tests::{
    free_port, require_jvm, FixtureSpec, HarnessError, JvmNode, LineProcess,
};

const SYSTEM: &str = "ClusterSystem";
const ANSWER: Duration = Duration::from_secs(30);
const CONVERGE: Duration = Duration::from_secs(90);

fn address(port: u16) -> String {
    format!("pekko://{SYSTEM}@127.0.0.1:{port}")
}

fn start_jvm(name: &str, port: u16, seed: &str) -> Result<JvmNode, HarnessError> {
    JvmNode::start(
        FixtureSpec::new("org.rekko.fixtures.ClusterNode")
            .name(name)
            .args([
                "--system",
                SYSTEM,
                "--port",
                &port.to_string(),
                "--seeds",
                seed,
            ]),
    )
}

/// Starts `rekko node --config FILE` with the same cluster settings as the JVM fixture.
fn start_rekko(
    dir: &tempfile::TempDir,
    port: u16,
    seed: &str,
) -> Result<LineProcess, HarnessError> {
    let conf = dir.path().join("application.conf");
    std::fs::write(
        &conf,
        format!(
            "pekko.actor.provider = cluster\n\
             pekko.remote.artery.canonical {{ hostname = \"127.0.0.1\", port = {port} }}\n\
             pekko.cluster.seed-nodes = [\"{seed}\"]\n{}",
            split_brain_conf("keep-majority", "5s")
        ),
    )
    .map_err(|e| HarnessError::io("writing application.conf", e))?;
    let mut command = Command::new(env!("CARGO_BIN_EXE_rekko"));
    command.arg("node").arg("--config").arg(&conf);
    let mut p = LineProcess::spawn("rekko-node", command)?;
    let ready = p.wait_for_prefix("READY", ANSWER)?;
    assert_eq!(ready.trim_start_matches("READY").trim(), address(port));
    Ok(p)
}

/// `MEMBERS a=Up,b=Up/unreachable` as (address, status) pairs.
fn members(node: &mut JvmNode) -> Result<Vec<(String, String)>, HarnessError> {
    let line = node.request("members", ANSWER)?;
    Ok(line
        .trim_start_matches("MEMBERS")
        .trim()
        .split(',')
        .filter_map(|e| e.split_once('='))
        .map(|(a, s)| (a.to_string(), s.to_string()))
        .collect())
}

fn all_up(m: &[(String, String)], expected: &[String]) -> bool {
    m.len() == expected.len()
        && expected
            .iter()
            .all(|a| m.iter().any(|(b, s)| a == b && s == "Up"))
}

/// Polls both JVM nodes until `cond` holds on each view; returns every view seen.
fn poll(
    jvms: &mut [&mut JvmNode],
    what: &str,
    cond: impl Fn(&[(String, String)]) -> bool,
) -> Result<Vec<Vec<(String, String)>>, HarnessError> {
    let deadline = Instant::now() + CONVERGE;
    let mut seen = Vec::new();
    loop {
        let mut ok = true;
        for j in jvms.iter_mut() {
            let m = members(j)?;
            ok &= cond(&m);
            seen.push(m);
        }
        if ok {
            return Ok(seen);
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; last views {:?}",
            &seen[seen.len().saturating_sub(2)..]
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

struct Cluster {
    j1: JvmNode,
    j2: JvmNode,
    rekko: LineProcess,
    rekko_address: String,
    jvm_addresses: Vec<String>,
    _dir: tempfile::TempDir,
}

fn three_node_cluster(tag: &str) -> Result<Cluster, HarnessError> {
    let (p1, p2, p3) = (free_port()?, free_port()?, free_port()?);
    let seed = address(p1);
    let j1 = start_jvm(&format!("{tag}-seed"), p1, &seed)?;
    let j2 = start_jvm(&format!("{tag}-second"), p2, &seed)?;
    let dir = tempfile::tempdir().map_err(|e| HarnessError::Io {
        context: "creating a temporary directory".to_string(),
        source: e,
    })?;
    let rekko = start_rekko(&dir, p3, &seed)?;
    let mut c = Cluster {
        j1,
        j2,
        rekko,
        rekko_address: address(p3),
        jvm_addresses: vec![address(p1), address(p2)],
        _dir: dir,
    };
    let all = vec![address(p1), address(p2), address(p3)];
    poll(&mut [&mut c.j1, &mut c.j2], "three members Up", |m| {
        all_up(m, &all)
    })?;
    Ok(c)
}

#[test]
fn rekko_node_leaves_gracefully_on_sigterm() -> Result<(), HarnessError> {
    require_jvm!();
    let mut c = three_node_cluster("node-sigterm")?;
    c.rekko.terminate()?;
    let remaining = c.jvm_addresses.clone();
    let views = poll(&mut [&mut c.j1, &mut c.j2], "Rekko node removed", |m| {
        all_up(m, &remaining)
    })?;
    for v in &views {
        for (a, s) in v {
            if a == &c.rekko_address {
                assert!(
                    !s.contains("unreachable"),
                    "leaving node marked unreachable: {v:?}"
                );
            }
        }
    }
    assert!(c.rekko.wait_exit(ANSWER)?, "rekko node exits after leaving");
    Ok(())
}

#[test]
fn killed_rekko_node_is_marked_unreachable_downed_and_removed() -> Result<(), HarnessError> {
    require_jvm!();
    let mut c = three_node_cluster("node-sigkill")?;
    c.rekko.kill()?;
    let me = c.rekko_address.clone();
    poll(&mut [&mut c.j1, &mut c.j2], "Rekko node unreachable", |m| {
        m.iter()
            .any(|(a, s)| a == &me && s.ends_with("/unreachable"))
    })?;
    let remaining = c.jvm_addresses.clone();
    poll(
        &mut [&mut c.j1, &mut c.j2],
        "Rekko node downed and removed",
        |m| all_up(m, &remaining),
    )?;
    Ok(())
}
