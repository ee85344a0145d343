//! `rekko send` and `rekko identify` against a real JVM Pekko node (`EchoNode`).

use std::process::{Command, Output};

use rekko_interop_tests::{free_port, require_jvm, FixtureSpec, HarnessError, JvmNode};

fn rekko(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rekko"))
        .args(args)
        .output()
        .expect("the rekko binary built by cargo runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn echo_node(version: rekko_interop_tests::PekkoVersion) -> Result<JvmNode, HarnessError> {
    JvmNode::start(
        FixtureSpec::new("org.rekko.fixtures.EchoNode")
            .name(&format!("cli-echo-{}", version.as_str()))
            .version(version)
            .args(["--system", "Echo"]),
    )
}

fn send_and_identify(version: rekko_interop_tests::PekkoVersion) -> Result<(), HarnessError> {
    let node = echo_node(version)?;
    let echo = format!("{}/user/echo", node.address());

    let out = rekko(&[
        "send",
        &echo,
        "hello from rekko ✓",
        "--ask",
        "--timeout",
        "20s",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout(&out), "hello from rekko ✓");

    let out = rekko(&["send", &echo, "fire and forget", "--timeout", "20s"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout(&out), "");

    let out = rekko(&["identify", &echo, "--timeout", "20s"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let identified = stdout(&out);
    let (path, uid) = identified
        .split_once('#')
        .unwrap_or_else(|| panic!("no #uid in {identified:?}"));
    assert_eq!(path, echo);
    assert!(uid.parse::<i64>().is_ok(), "uid {uid:?} is not a number");

    let out = rekko(&[
        "identify",
        &format!("{}/user/nobody", node.address()),
        "--timeout",
        "20s",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "not found");
    Ok(())
}

#[test]
fn send_ask_and_identify_against_pekko_1_7_0() -> Result<(), HarnessError> {
    require_jvm!();
    send_and_identify(rekko_interop_tests::PekkoVersion::V1_7_0)
}

#[test]
fn send_ask_and_identify_against_pekko_1_0_3() -> Result<(), HarnessError> {
    require_jvm!();
    send_and_identify(rekko_interop_tests::PekkoVersion::V1_0_3)
}

#[test]
fn ask_without_reply_times_out_and_fails() -> Result<(), HarnessError> {
    require_jvm!();
    let node = echo_node(rekko_interop_tests::PekkoVersion::V1_7_0)?;
    let nobody = format!("{}/user/nobody", node.address());
    let out = rekko(&["send", &nobody, "anyone?", "--ask", "--timeout", "2s"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no reply"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

#[test]
fn refused_association_fails_and_says_why() -> Result<(), HarnessError> {
    let port = free_port()?;
    let target = format!("pekko://Nobody@127.0.0.1:{port}/user/echo");
    let out = rekko(&["send", &target, "hello?", "--ask", "--timeout", "2s"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refused"), "{stderr}");
    Ok(())
}
