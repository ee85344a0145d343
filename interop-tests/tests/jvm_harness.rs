//! The harness itself, proven with two JVM Pekko nodes: each asks the other's echo actor.

use std::time::Duration;

use rekko_interop_tests::{require_jvm, FixtureSpec, HarnessError, JvmNode};

const ANSWER: Duration = Duration::from_secs(30);

#[test]
fn two_jvm_echo_nodes_exchange_messages() -> Result<(), HarnessError> {
    require_jvm!();
    let mut a = JvmNode::start(
        FixtureSpec::new("org.rekko.fixtures.EchoNode")
            .name("echo-a")
            .args(["--system", "A"]),
    )?;
    let mut b = JvmNode::start(
        FixtureSpec::new("org.rekko.fixtures.EchoNode")
            .name("echo-b")
            .args(["--system", "B"]),
    )?;
    assert!(
        a.address().starts_with("pekko://A@127.0.0.1:"),
        "{}",
        a.address()
    );
    assert!(
        b.address().starts_with("pekko://B@127.0.0.1:"),
        "{}",
        b.address()
    );

    let to_b = a.request(
        &format!("send {}/user/echo hello from A", b.address()),
        ANSWER,
    )?;
    assert_eq!(to_b, "REPLY hello from A");
    let to_a = b.request(
        &format!("send {}/user/echo héllo from B ✓", a.address()),
        ANSWER,
    )?;
    assert_eq!(to_a, "REPLY héllo from B ✓");

    // An actor that does not exist never answers: the ask fails instead of hanging.
    let missing = a.request(&format!("send {}/user/nobody hi", b.address()), ANSWER)?;
    assert!(
        missing.starts_with("ERROR AskTimeoutException"),
        "{missing}"
    );

    assert!(a.quit(ANSWER)?, "node A did not exit after quit");
    Ok(())
}

#[test]
fn a_fixture_that_never_gets_ready_fails_with_its_log() {
    require_jvm!();
    // ConfigDump in serve mode prints READY; with a bogus main class the JVM exits at once.
    let result = JvmNode::start(
        FixtureSpec::new("org.rekko.fixtures.NoSuchFixture").ready_timeout(Duration::from_secs(60)),
    );
    match result {
        Err(HarnessError::Exited { log_tail, .. }) => {
            assert!(log_tail.contains("NoSuchFixture"), "log tail: {log_tail}")
        }
        Err(other) => panic!("expected Exited, got {other}"),
        Ok(node) => panic!("a missing class printed READY: {}", node.address()),
    }
}

#[test]
fn pekko_1_0_3_and_1_7_0_nodes_exchange_messages() -> Result<(), HarnessError> {
    use rekko_interop_tests::PekkoVersion;
    require_jvm!();
    let mut old = JvmNode::start(
        FixtureSpec::new("org.rekko.fixtures.EchoNode")
            .name("echo-1.0.3")
            .version(PekkoVersion::V1_0_3)
            .args(["--system", "Old"]),
    )?;
    let mut new = JvmNode::start(
        FixtureSpec::new("org.rekko.fixtures.EchoNode")
            .name("echo-1.7.0")
            .args(["--system", "New"]),
    )?;
    let to_new = old.request(
        &format!("send {}/user/echo from 1.0.3", new.address()),
        ANSWER,
    )?;
    assert_eq!(to_new, "REPLY from 1.0.3");
    let to_old = new.request(
        &format!("send {}/user/echo from 1.7.0", old.address()),
        ANSWER,
    )?;
    assert_eq!(to_old, "REPLY from 1.7.0");
    Ok(())
}
