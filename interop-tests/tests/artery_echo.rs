//! Artery TCP interop: a Rekko node and a real JVM Pekko `EchoNode` ask each
//! other's `/user/echo` with Strings, Rekko identifies the JVM actor, and bad
//! bytes on the Rekko port do not disturb the JVM association.

use std::time::Duration;

use rekko_interop_tests::{
    init_test_logs, require_jvm, FixtureSpec, HarnessError, JvmNode, PekkoVersion,
};
use rekko_remote::{RemoteEvent, RemoteNode, RemoteSettings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ANSWER: Duration = Duration::from_secs(30);

fn jvm_request(node: &mut JvmNode, line: &str) -> Result<String, HarnessError> {
    tokio::task::block_in_place(|| node.request(line, ANSWER))
}

async fn echo_both_ways(version: PekkoVersion, system: &str) -> Result<(), HarnessError> {
    init_test_logs();
    let mut jvm = tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.EchoNode")
                .name(&format!("artery-echo-{}", version.as_str()))
                .version(version)
                .args(["--system", system]),
        )
    })?;
    let rust = RemoteNode::start(RemoteSettings::new("RekkoSys", "127.0.0.1", 0))
        .await
        .expect("start Rekko node");
    rust.register_echo("/user/echo");
    let jvm_echo = format!("{}/user/echo", jvm.address());

    // Rust -> JVM ask.
    let reply = rust
        .send_string(&jvm_echo, "hello from Rekko ✓", Some(ANSWER))
        .await
        .expect("ask JVM echo")
        .expect("a reply");
    assert_eq!(
        reply.message.as_text().as_deref(),
        Some("hello from Rekko ✓")
    );
    let sender = reply.sender.expect("reply has a sender");
    assert!(sender.starts_with(&format!("{jvm_echo}#")), "{sender}");

    // Many asks in order.
    for i in 0..20 {
        let r = rust
            .send_string(&jvm_echo, &format!("n{i}"), Some(ANSWER))
            .await
            .expect("ask")
            .expect("reply");
        assert_eq!(r.message.as_text(), Some(format!("n{i}")));
    }

    // Rust identifies the JVM actor (with its uid) and a missing one.
    let id = rust.identify(&jvm_echo, ANSWER).await.expect("identify");
    assert_eq!(id.as_deref(), Some(sender.as_str()));
    let none = rust
        .identify(&format!("{}/user/nobody", jvm.address()), ANSWER)
        .await
        .expect("identify missing");
    assert_eq!(none, None);

    // JVM -> Rust ask (through an actor selection, as EchoNode does).
    let rust_echo = format!("{}/user/echo", rust.address());
    let answer = jvm_request(&mut jvm, &format!("send {rust_echo} héllo from the JVM"))?;
    assert_eq!(answer, "REPLY héllo from the JVM");

    // Garbage on the Rekko port closes that connection only.
    let mut events = rust.subscribe();
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", rust.address().port))
        .await
        .expect("connect");
    s.write_all(b"GARBAGE!").await.expect("write");
    let mut b = [0u8; 8];
    let n = tokio::time::timeout(ANSWER, s.read(&mut b))
        .await
        .expect("closed");
    assert!(matches!(n, Ok(0) | Err(_)));
    let closed = loop {
        match tokio::time::timeout(ANSWER, events.recv()).await {
            Ok(Ok(RemoteEvent::InboundConnectionClosed { reason, .. })) => break reason,
            Ok(Ok(_)) => continue,
            other => panic!("no close event: {other:?}"),
        }
    };
    assert!(closed.contains("magic"), "{closed}");
    let again = jvm_request(&mut jvm, &format!("send {rust_echo} still there"))?;
    assert_eq!(again, "REPLY still there");
    let r = rust
        .send_string(&jvm_echo, "after garbage", Some(ANSWER))
        .await
        .expect("ask after garbage")
        .expect("reply");
    assert_eq!(r.message.as_text().as_deref(), Some("after garbage"));

    // The JVM acknowledges our ActorSystemTerminating on every stream.
    let report = rust.shutdown().await;
    assert!(report.flush_sent >= 2, "{report:?}");
    assert_eq!(report.flush_acked, report.flush_sent, "{report:?}");
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekko_and_pekko_1_7_ask_each_other() -> Result<(), HarnessError> {
    require_jvm!();
    echo_both_ways(PekkoVersion::V1_7_0, "Jvm17").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekko_and_pekko_1_0_3_ask_each_other() -> Result<(), HarnessError> {
    require_jvm!();
    echo_both_ways(PekkoVersion::V1_0_3, "Jvm103").await
}
