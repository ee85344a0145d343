//! The TLS scenario both TLS interop tests run against a JVM `EchoNode` (whatever the SSL
//! engine provider): messages both ways over mutual TLS, then a Rekko node the JVM must not
//! trust (or that must not trust the JVM) refused on both sides, with the good association
//! still working.

use std::time::Duration;

use rekko_remote::{RemoteEvent, RemoteNode, RemoteSettings};

use crate::{HarnessError, JvmNode};

/// Runs the scenario against `jvm` (an `EchoNode` with `/user/echo`, on `tls-tcp`) with a
/// Rekko node started from `trusted` and one started from `refused` (a certificate or trust
/// store that does not match the JVM's), waiting up to `answer` for each reply. Stops both
/// Rekko nodes and the JVM at the end.
pub async fn tls_exchange_and_refusal(
    mut jvm: JvmNode,
    trusted: RemoteSettings,
    mut refused: RemoteSettings,
    answer: Duration,
) -> Result<(), HarnessError> {
    let rust = RemoteNode::start(trusted).await.expect("start Rekko node");
    rust.register_echo("/user/echo");
    let jvm_echo = format!("{}/user/echo", jvm.address());

    // Rekko -> JVM (Rekko is the TLS client), and the reply JVM -> Rekko (the JVM is the client).
    let r = rust
        .send_string(&jvm_echo, "tls hello", Some(answer))
        .await
        .expect("ask over TLS")
        .expect("reply");
    assert_eq!(r.message.as_text().as_deref(), Some("tls hello"));
    let rust_echo = format!("{}/user/echo", rust.address());
    let reply = tokio::task::block_in_place(|| {
        jvm.request(&format!("send {rust_echo} tls from jvm"), answer)
    })?;
    assert_eq!(reply, "REPLY tls from jvm");

    // The node without the matching certificate or trust store: the handshake fails both
    // ways with a TLS error, and neither side crashes.
    refused.handshake.timeout = Duration::from_secs(3);
    let outsider = RemoteNode::start(refused)
        .await
        .expect("start the refused node");
    let mut outsider_events = outsider.subscribe();
    let err = outsider
        .send_string(&jvm_echo, "let me in", Some(Duration::from_secs(3)))
        .await
        .expect_err("the handshake with the JVM must fail")
        .to_string();
    assert!(err.contains("TLS"), "{err}");
    outsider.register_echo("/user/echo");
    let outsider_echo = format!("{}/user/echo", outsider.address());
    let reply =
        tokio::task::block_in_place(|| jvm.request(&format!("send {outsider_echo} hi"), answer))?;
    assert!(reply.starts_with("ERROR"), "{reply}");
    let reason = loop {
        match tokio::time::timeout(answer, outsider_events.recv()).await {
            Ok(Ok(RemoteEvent::InboundConnectionClosed { reason, .. })) => break reason,
            Ok(Ok(_)) => continue,
            other => panic!("the refused node did not refuse the JVM: {other:?}"),
        }
    };
    assert!(reason.contains("TLS"), "{reason}");

    // The good association still works.
    let r = rust
        .send_string(&jvm_echo, "still fine", Some(answer))
        .await
        .expect("ask")
        .expect("reply");
    assert_eq!(r.message.as_text().as_deref(), Some("still fine"));

    outsider.shutdown().await;
    rust.shutdown().await;
    tokio::task::block_in_place(|| jvm.quit(answer))?;
    Ok(())
}
