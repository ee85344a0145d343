//! Remote death watch over Artery between a Rekko node and a JVM `EchoNode`:
//! system messages with sequence numbers and acks in both directions.

use std::time::Duration;

use rekko_interop_tests::remote_events::next_terminated;
use rekko_interop_tests::{
    require_jvm, write_fixture_conf, FixtureSpec, HarnessError, JvmNode, PekkoVersion,
};
use rekko_remote::{RemoteEvent, RemoteNode, RemoteSettings};

const ANSWER: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekko_watches_a_missing_jvm_actor() -> Result<(), HarnessError> {
    require_jvm!();
    let jvm = tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.EchoNode")
                .name("artery-watch")
                .version(PekkoVersion::V1_7_0)
                .args(["--system", "JvmWatch"]),
        )
    })?;
    let rust = RemoteNode::start(RemoteSettings::new("RekkoWatch", "127.0.0.1", 0))
        .await
        .expect("start Rekko node");
    let mut events = rust.subscribe();

    // The JVM acks our Watch and answers with a sequenced
    // DeathWatchNotification(existenceConfirmed = false), which we ack.
    let missing = format!("{}/user/nobody", jvm.address());
    rust.watch(&missing).await.expect("watch");
    assert_eq!(next_terminated(&mut events, ANSWER).await, (missing, false));

    // A second watch on the same association uses the next sequence numbers.
    let missing2 = format!("{}/user/nobody2", jvm.address());
    rust.watch(&missing2).await.expect("watch");
    assert_eq!(
        next_terminated(&mut events, ANSWER).await,
        (missing2, false)
    );

    rust.shutdown().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}

/// The JVM answers Rekko's heartbeats (it needs its remote watcher, which
/// runs outside a cluster only with `use-unsafe-remote-features-outside-cluster`);
/// when the JVM process is killed, the failure detector declares the node
/// lost and the watched actor terminated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_jvm_is_detected_by_rekko_failure_detector() -> Result<(), HarnessError> {
    require_jvm!();
    let conf = write_fixture_conf(
        "artery-watch-unsafe.conf",
        "pekko.remote.use-unsafe-remote-features-outside-cluster = on\n",
    )?;
    let mut jvm = tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.EchoNode")
                .name("artery-watch-kill")
                .args([
                    "--system",
                    "JvmKill",
                    "--config",
                    &conf.display().to_string(),
                ]),
        )
    })?;
    let rust = RemoteNode::start(RemoteSettings::new("RekkoKill", "127.0.0.1", 0))
        .await
        .expect("start Rekko node");
    let mut events = rust.subscribe();
    let echo = format!("{}/user/echo", jvm.address());
    rust.watch(&echo).await.expect("watch");

    // The JVM's remote watcher answers our heartbeats with its uid.
    let mut responses = 0;
    while responses < 3 {
        match tokio::time::timeout(ANSWER, events.recv()).await {
            Ok(Ok(RemoteEvent::HeartbeatResponse(from))) => {
                assert_eq!(from.address.to_string(), jvm.address());
                responses += 1;
            }
            Ok(Ok(RemoteEvent::AddressTerminated(a))) => panic!("{a} declared lost while alive"),
            Ok(Ok(RemoteEvent::Terminated { actor, .. })) => {
                panic!("{actor} terminated while alive")
            }
            Ok(Ok(_)) => {}
            other => panic!("no heartbeat response: {other:?}"),
        }
    }

    tokio::task::block_in_place(|| jvm.kill())?;
    let mut lost = false;
    let mut terminated = false;
    while !(lost && terminated) {
        match tokio::time::timeout(ANSWER, events.recv()).await {
            Ok(Ok(RemoteEvent::AddressTerminated(a))) => {
                assert_eq!(a.to_string(), jvm.address());
                lost = true;
            }
            Ok(Ok(RemoteEvent::Terminated {
                actor,
                address_terminated,
                ..
            })) => {
                assert_eq!(actor, echo);
                assert!(address_terminated);
                terminated = true;
            }
            Ok(Ok(_)) => {}
            other => panic!("node loss not detected: {other:?}"),
        }
    }
    rust.shutdown().await;
    Ok(())
}
