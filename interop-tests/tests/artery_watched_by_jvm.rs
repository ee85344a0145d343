//! Remote death watch with a JVM Pekko node as the watcher: the JVM watches
//! a Rekko endpoint; the endpoint stops -> the JVM gets `Terminated`; the
//! Rekko process is killed with SIGKILL -> the JVM gets `Terminated` through
//! address termination (its failure detector).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use rekko_interop_tests::{
    require_jvm, write_fixture_conf, FixtureSpec, HarnessError, JvmNode, LineProcess, PekkoVersion,
};

const ANSWER: Duration = Duration::from_secs(30);
/// JVM default: acceptable-heartbeat-pause 10 s plus detection intervals.
const NODE_LOSS: Duration = Duration::from_secs(60);

/// Builds the `echo_node` example of rekko-remote and returns its path.
fn echo_node_binary() -> PathBuf {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "-q",
            "-p",
            "rekko-remote",
            "--example",
            "echo_node",
        ])
        .status()
        .expect("cargo build --example echo_node");
    assert!(status.success(), "building echo_node failed");
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/<test> -> target/debug/examples/echo_node
    exe.parent()
        .and_then(|deps| deps.parent())
        .map(|profile| profile.join("examples").join("echo_node"))
        .expect("target directory")
}

fn start_rust_node(name: &str) -> Result<(LineProcess, String), HarnessError> {
    let mut cmd = Command::new(echo_node_binary());
    cmd.arg("RekkoChild");
    let mut p = LineProcess::spawn(name, cmd)?;
    let ready = p.wait_for_prefix("READY ", ANSWER)?;
    let address = ready.trim_start_matches("READY ").to_string();
    Ok((p, address))
}

fn watched_by(version: PekkoVersion, system: &str) -> Result<(), HarnessError> {
    // Without a cluster, Pekko drops remote Watch unless this is on.
    let conf = write_fixture_conf(
        &format!("artery-watched-{}.conf", version.as_str()),
        "pekko.remote.use-unsafe-remote-features-outside-cluster = on\n",
    )?;
    let mut jvm = JvmNode::start(
        FixtureSpec::new("org.rekko.fixtures.EchoNode")
            .name(&format!("artery-watched-{}", version.as_str()))
            .version(version)
            .args(["--system", system, "--config", &conf.to_string_lossy()]),
    )?;
    let (mut rust, address) = start_rust_node(&format!("rekko-watched-{}", version.as_str()))?;

    // The endpoint stops -> Terminated.
    let echo = format!("{address}/user/echo");
    assert_eq!(
        jvm.request(&format!("send {echo} ping"), ANSWER)?,
        "REPLY ping"
    );
    assert_eq!(
        jvm.request(&format!("watch {echo}"), ANSWER)?,
        format!("WATCHING {echo}")
    );
    // The JVM's Watch travels on the control stream; an ask over the same
    // association afterwards makes sure it was delivered before the stop.
    assert_eq!(
        jvm.request(&format!("send {echo} after-watch"), ANSWER)?,
        "REPLY after-watch"
    );
    assert_eq!(rust.request("stop /user/echo", ANSWER)?, "STOPPED");
    let line = jvm.process().wait_for_prefix("TERMINATED ", ANSWER)?;
    assert_eq!(line, format!("TERMINATED {echo}"));
    drop(rust);

    // The Rekko process is killed -> Terminated through address termination.
    let (mut rust, address) = start_rust_node(&format!("rekko-killed-{}", version.as_str()))?;
    let echo = format!("{address}/user/echo");
    assert_eq!(
        jvm.request(&format!("watch {echo}"), ANSWER)?,
        format!("WATCHING {echo}")
    );
    assert_eq!(
        jvm.request(&format!("send {echo} alive"), ANSWER)?,
        "REPLY alive"
    );
    rust.kill()?;
    let line = jvm.process().wait_for_prefix("TERMINATED ", NODE_LOSS)?;
    assert_eq!(line, format!("TERMINATED {echo}"));
    jvm.quit(ANSWER)?;
    Ok(())
}

#[test]
fn pekko_1_7_watches_a_rekko_endpoint() -> Result<(), HarnessError> {
    require_jvm!();
    watched_by(PekkoVersion::V1_7_0, "Watcher17")
}

#[test]
fn pekko_1_0_3_watches_a_rekko_endpoint() -> Result<(), HarnessError> {
    require_jvm!();
    watched_by(PekkoVersion::V1_0_3, "Watcher103")
}
