//! Remote death watch over Artery between a Rekko node and a JVM `EchoNode`:
//! system messages with sequence numbers and acks in both directions.

use std::time::Duration;

use rekko_interop_tests::{require_jvm, FixtureSpec, HarnessError, JvmNode, PekkoVersion};
use rekko_remote::{RemoteEvent, RemoteNode, RemoteSettings};
use tokio::sync::broadcast;

const ANSWER: Duration = Duration::from_secs(30);

async fn next_terminated(rx: &mut broadcast::Receiver<RemoteEvent>) -> (String, bool) {
    loop {
        match tokio::time::timeout(ANSWER, rx.recv()).await {
            Ok(Ok(RemoteEvent::Terminated {
                actor,
                existence_confirmed,
                ..
            })) => return (actor, existence_confirmed),
            Ok(Ok(_)) => continue,
            other => panic!("no Terminated event: {other:?}"),
        }
    }
}

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
    assert_eq!(next_terminated(&mut events).await, (missing, false));

    // A second watch on the same association uses the next sequence numbers.
    let missing2 = format!("{}/user/nobody2", jvm.address());
    rust.watch(&missing2).await.expect("watch");
    assert_eq!(next_terminated(&mut events).await, (missing2, false));

    rust.shutdown().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}
