//! Rekko against JVM Pekko 1.7.0 beyond plain messages: death watch of a live
//! JVM actor that stops, PoisonPill from Rekko, Status.Failure with
//! throwables in both directions (the `RemoteMiscNode` fixture), and a 2 MiB
//! message on the large-message stream both ways (`EchoNode`).

use std::time::Duration;

use rekko_interop_tests::{
    require_jvm, write_fixture_conf, FixtureSpec, HarnessError, JvmNode, PekkoVersion,
};
use rekko_remote::{
    ByteArray, JvmThrowable, PoisonPill, RemoteEvent, RemoteNode, RemoteSettings, StackFrame,
    StatusFailure, StreamId, ThrowableKind,
};
use tokio::sync::{broadcast, mpsc};

const ANSWER: Duration = Duration::from_secs(30);

fn misc_node(name: &str, system: &str) -> Result<JvmNode, HarnessError> {
    tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.RemoteMiscNode")
                .name(name)
                .version(PekkoVersion::V1_7_0)
                .args(["--system", system]),
        )
    })
}

/// Sends a command and returns the first answer line starting with `prefix`.
fn command(jvm: &mut JvmNode, line: &str, prefix: &str) -> Result<String, HarnessError> {
    tokio::task::block_in_place(|| {
        jvm.process().send_line(line)?;
        jvm.process().wait_for_prefix(prefix, ANSWER)
    })
}

async fn next_failure(rx: &mut mpsc::UnboundedReceiver<JvmThrowable>) -> JvmThrowable {
    tokio::time::timeout(ANSWER, rx.recv())
        .await
        .expect("a Status.Failure arrives")
        .expect("channel open")
}

/// Waits for an asynchronous answer line starting with `prefix`.
fn wait_line(jvm: &mut JvmNode, prefix: &str) -> Result<String, HarnessError> {
    tokio::task::block_in_place(|| jvm.process().wait_for_prefix(prefix, ANSWER))
}

async fn next_event<R>(
    rx: &mut broadcast::Receiver<RemoteEvent>,
    mut pick: impl FnMut(RemoteEvent) -> Option<R>,
) -> R {
    loop {
        match tokio::time::timeout(ANSWER, rx.recv()).await {
            Ok(Ok(e)) => {
                if let Some(r) = pick(e) {
                    return r;
                }
            }
            Ok(Err(broadcast::error::RecvError::Lagged(_))) => continue,
            other => panic!("expected event did not come: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekko_watches_a_live_jvm_actor_that_stops() -> Result<(), HarnessError> {
    require_jvm!();
    let mut jvm = misc_node("artery-misc-watch", "JvmLive")?;
    let rust = RemoteNode::start(RemoteSettings::new("RekkoLive", "127.0.0.1", 0))
        .await
        .expect("start Rekko node");
    let mut events = rust.subscribe();
    let spawned = command(&mut jvm, "spawn victim", "SPAWNED ")?;
    let victim = spawned.trim_start_matches("SPAWNED ").to_string();
    assert_eq!(victim, format!("{}/user/victim", jvm.address()));

    rust.watch(&victim).await.expect("watch");
    // The JVM acknowledged the Watch: it is registered before the stop.
    let from = next_event(&mut events, |e| match e {
        RemoteEvent::SystemMessageAcked { from, .. } => Some(from),
        RemoteEvent::Terminated { actor, .. } => panic!("{actor} terminated too early"),
        _ => None,
    })
    .await;
    assert_eq!(from.address.to_string(), jvm.address());

    command(&mut jvm, "stop victim", "STOPPING ")?;
    let (actor, confirmed, address_terminated) = next_event(&mut events, |e| match e {
        RemoteEvent::Terminated {
            actor,
            existence_confirmed,
            address_terminated,
        } => Some((actor, existence_confirmed, address_terminated)),
        _ => None,
    })
    .await;
    assert_eq!(actor, victim);
    assert!(confirmed, "the JVM confirms the actor existed");
    assert!(!address_terminated);

    rust.shutdown().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_pill_from_rekko_stops_a_jvm_actor() -> Result<(), HarnessError> {
    require_jvm!();
    let mut jvm = misc_node("artery-misc-poison", "JvmPoison")?;
    let rust = RemoteNode::start(RemoteSettings::new("RekkoPoison", "127.0.0.1", 0))
        .await
        .expect("start Rekko node");
    let mut events = rust.subscribe();
    let target = command(&mut jvm, "spawn target", "SPAWNED ")?
        .trim_start_matches("SPAWNED ")
        .to_string();
    // Watched on both sides: by a JVM actor and by Rekko.
    command(&mut jvm, &format!("watch {target}"), "WATCHING ")?;
    rust.watch(&target).await.expect("watch");
    next_event(&mut events, |e| match e {
        RemoteEvent::SystemMessageAcked { .. } => Some(()),
        _ => None,
    })
    .await;
    // The probe is alive: it echoes.
    let echo: String = rust
        .ask_typed(&target, &"alive?".to_string(), ANSWER)
        .await
        .expect("echo before the PoisonPill");
    assert_eq!(echo, "alive?");

    rust.tell_typed(&target, None, &PoisonPill).expect("tell");
    let line = wait_line(&mut jvm, "TERMINATED ")?;
    assert_eq!(line, format!("TERMINATED {target}"));
    let (actor, confirmed) = next_event(&mut events, |e| match e {
        RemoteEvent::Terminated {
            actor,
            existence_confirmed,
            ..
        } => Some((actor, existence_confirmed)),
        _ => None,
    })
    .await;
    assert_eq!((actor.as_str(), confirmed), (target.as_str(), true));

    rust.shutdown().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_failure_from_the_jvm_decodes_class_message_and_cause() -> Result<(), HarnessError> {
    require_jvm!();
    let mut jvm = misc_node("artery-misc-failure-in", "JvmFails")?;
    let rust = RemoteNode::start(RemoteSettings::new("RekkoFailures", "127.0.0.1", 0))
        .await
        .expect("start Rekko node");
    let (tx, mut rx) = mpsc::unbounded_channel::<JvmThrowable>();
    rust.register_typed("/user/failures", move |_, _, f: StatusFailure| {
        let _ = tx.send(f.0);
    });
    let me = format!("{}/user/failures", rust.address());

    // Bound to the misc serializer on the JVM: Pekko's Throwable form (F)
    // with class name, message and the JVM's stack trace.
    command(
        &mut jvm,
        &format!("fail {me} java.lang.IllegalStateException x"),
        "SENT",
    )?;
    let t = next_failure(&mut rx).await;
    assert_eq!(t.class_name, "java.lang.IllegalStateException");
    assert_eq!(t.message.as_deref(), Some("x"));
    assert_eq!(t.kind, ThrowableKind::Throwable);
    assert!(!t.stack_trace.is_empty(), "the JVM sends its stack trace");
    assert_eq!(t.to_string(), "java.lang.IllegalStateException: x");

    // Not bound: the JVM sends the ThrowableNotSerializableException
    // stand-in, which still names the original class and message.
    command(
        &mut jvm,
        &format!("fail {me} java.lang.UnsupportedOperationException nope"),
        "SENT",
    )?;
    let t = next_failure(&mut rx).await;
    assert_eq!(t.class_name, "java.lang.UnsupportedOperationException");
    assert_eq!(t.message.as_deref(), Some("nope"));
    assert!(matches!(t.kind, ThrowableKind::NotSerializable { .. }));

    // ActorInitializationException with a cause (AIEX).
    command(&mut jvm, &format!("fail-init {me} init failed"), "SENT")?;
    let t = next_failure(&mut rx).await;
    assert!(matches!(t.kind, ThrowableKind::ActorInitialization { .. }));
    assert!(
        t.message
            .as_deref()
            .unwrap_or_default()
            .contains("init failed"),
        "{t}"
    );
    let cause = t.cause.expect("cause");
    assert_eq!(cause.class_name, "java.lang.IllegalStateException");
    assert_eq!(cause.message.as_deref(), Some("inner"));

    rust.shutdown().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_failure_from_rekko_is_decoded_by_the_jvm() -> Result<(), HarnessError> {
    require_jvm!();
    let mut jvm = misc_node("artery-misc-failure-out", "JvmGetsFailures")?;
    let rust = RemoteNode::start(RemoteSettings::new("RekkoSendsFailures", "127.0.0.1", 0))
        .await
        .expect("start Rekko node");
    let probe = command(&mut jvm, "spawn probe", "SPAWNED ")?
        .trim_start_matches("SPAWNED ")
        .to_string();

    let failure = StatusFailure(
        JvmThrowable::new("java.lang.IllegalStateException", "x")
            .with_cause(JvmThrowable::new(
                "java.lang.IllegalArgumentException",
                "inner",
            ))
            .with_frame(StackFrame {
                class_name: "rekko.Demo".into(),
                method_name: "run".into(),
                file_name: Some("demo.rs".into()),
                line_number: 7,
            }),
    );
    rust.tell_typed(&probe, None, &failure).expect("tell");
    let line = wait_line(&mut jvm, "FAILURE ")?;
    assert_eq!(
        line,
        "FAILURE java.lang.IllegalStateException x cause java.lang.IllegalArgumentException inner frames=1"
    );

    // A class the JVM does not bind to the misc serializer arrives as its
    // ThrowableNotSerializableException stand-in, with the message.
    let unbound = StatusFailure(JvmThrowable::new(
        "java.lang.UnsupportedOperationException",
        "nope",
    ));
    rust.tell_typed(&probe, None, &unbound).expect("tell");
    let line = wait_line(&mut jvm, "FAILURE ")?;
    assert!(line.starts_with("FAILURE TNSEX "), "{line}");
    assert!(line.contains(" nope"), "{line}");

    rust.shutdown().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_mib_message_on_the_large_stream_both_ways() -> Result<(), HarnessError> {
    require_jvm!();
    // The JVM sends replies to Rekko's temporary ask paths on stream 3.
    let conf = write_fixture_conf(
        "artery-large.conf",
        "pekko.remote.artery {\n  large-message-destinations = [\"/temp/*\"]\n  advanced.maximum-large-frame-size = 4 MiB\n}\n",
    )?;
    let jvm = tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.EchoNode")
                .name("artery-large")
                .version(PekkoVersion::V1_7_0)
                .args([
                    "--system",
                    "JvmLarge",
                    "--config",
                    &conf.display().to_string(),
                ]),
        )
    })?;
    let mut settings = RemoteSettings::new("RekkoLarge", "127.0.0.1", 0);
    settings.large_message_destinations = vec!["/user/echo".into()];
    settings.maximum_large_frame_size = 4 * 1024 * 1024;
    let rust = RemoteNode::start(settings).await.expect("start Rekko node");
    let echo = format!("{}/user/echo", jvm.address());

    let big: Vec<u8> = (0..2 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(31) % 253) as u8)
        .collect();
    let before = rust.stream_stats();
    let reply: ByteArray = rust
        .ask_typed(&echo, &ByteArray(big.clone().into()), ANSWER)
        .await
        .expect("2 MiB echo");
    assert!(reply.0 == big, "the 2 MiB reply differs from what was sent");
    let after = rust.stream_stats();
    let large = usize::from(StreamId::Large.as_u8() - 1);
    let ordinary = usize::from(StreamId::Ordinary.as_u8() - 1);
    // Rekko -> JVM on stream 3 ...
    assert!(
        after.outbound_bytes[large] - before.outbound_bytes[large] > big.len() as u64,
        "{after:?}"
    );
    // ... and JVM -> Rekko on stream 3, nothing that large elsewhere.
    assert!(
        after.inbound_bytes[large] - before.inbound_bytes[large] > big.len() as u64,
        "{after:?}"
    );
    assert!(after.received(StreamId::Large) >= 1);
    assert!(
        after.inbound_bytes[ordinary] < big.len() as u64,
        "{after:?}"
    );
    assert!(
        after.outbound_bytes[ordinary] < big.len() as u64,
        "{after:?}"
    );

    rust.shutdown().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}
