//! Actor-ref compression with a JVM: the JVM advertises a compression table
//! for what Rekko sends it, Rekko installs and acks it, then writes
//! compressed recipient tags that the JVM decompresses.

use std::time::Duration;

use rekko_interop_tests::{require_jvm, write_fixture_conf, FixtureSpec, HarnessError, JvmNode};
use rekko_remote::{RemoteEvent, RemoteNode, RemoteSettings};

const ANSWER: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekko_uses_the_table_a_jvm_advertises() -> Result<(), HarnessError> {
    require_jvm!();
    let conf = write_fixture_conf(
        "artery-compression.conf",
        "pekko.remote.artery.advanced.compression {\n  \
         actor-refs.advertisement-interval = 500 ms\n  \
         manifests.advertisement-interval = 500 ms\n}\n",
    )?;
    let jvm = tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.EchoNode")
                .name("artery-compression")
                .args([
                    "--system",
                    "JvmCompress",
                    "--config",
                    &conf.display().to_string(),
                ]),
        )
    })?;
    let rust = RemoteNode::start(RemoteSettings::new("RekkoCompress", "127.0.0.1", 0))
        .await
        .expect("start Rekko node");
    let mut events = rust.subscribe();
    let echo = rust
        .identify(&format!("{}/user/echo", jvm.address()), ANSWER)
        .await
        .expect("identify")
        .expect("echo exists");
    assert!(echo.contains('#'), "{echo}");

    // Keep sending to the echo actor (by its full path with uid) until the
    // JVM advertises a table containing it.
    let advertised = tokio::time::timeout(ANSWER, async {
        let mut n = 0u64;
        loop {
            let r = rust
                .send_string(&echo, &format!("warm {n}"), Some(ANSWER))
                .await
                .expect("ask")
                .expect("reply");
            assert_eq!(r.message.as_text(), Some(format!("warm {n}")));
            n += 1;
            while let Ok(e) = events.try_recv() {
                if let RemoteEvent::CompressionTableInstalled {
                    actor_refs: true,
                    keys,
                    version,
                    ..
                } = e
                {
                    if keys.contains(&echo) {
                        return version;
                    }
                }
            }
        }
    })
    .await
    .expect("the JVM advertised an actor-ref table with the echo actor");
    assert!(advertised >= 1);

    let before = rust.compressed_sends();
    for i in 0..20 {
        let text = format!("compressed {i}");
        let r = rust
            .send_string(&echo, &text, Some(ANSWER))
            .await
            .expect("ask with a compressed recipient")
            .expect("reply");
        assert_eq!(r.message.as_text(), Some(text));
    }
    assert!(rust.compressed_sends() >= before + 20);

    rust.shutdown().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}

/// The other direction: Rekko advertises a table of what the JVM sends it
/// (the echo actor as sender of its replies); the JVM acks it and compresses
/// the sender, which Rekko decodes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jvm_uses_the_table_rekko_advertises() -> Result<(), HarnessError> {
    require_jvm!();
    let jvm = tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.EchoNode")
                .name("artery-compression-inbound")
                .args(["--system", "JvmInbound"]),
        )
    })?;
    let mut settings = RemoteSettings::new("RekkoInbound", "127.0.0.1", 0);
    settings.compression_actor_refs_interval = Duration::from_millis(500);
    settings.compression_manifests_interval = Duration::from_millis(500);
    let rust = RemoteNode::start(settings).await.expect("start Rekko node");
    let mut events = rust.subscribe();
    let echo = format!("{}/user/echo", jvm.address());

    let acked = tokio::time::timeout(ANSWER, async {
        let mut n = 0u64;
        loop {
            let r = rust
                .send_string(&echo, &format!("warm {n}"), Some(ANSWER))
                .await
                .expect("ask")
                .expect("reply");
            assert_eq!(r.message.as_text(), Some(format!("warm {n}")));
            n += 1;
            while let Ok(e) = events.try_recv() {
                if let RemoteEvent::CompressionAdvertisementAcked {
                    actor_refs: true,
                    version,
                    ..
                } = e
                {
                    return version;
                }
            }
        }
    })
    .await
    .expect("the JVM acknowledged Rekko's actor-ref table");
    assert!(acked >= 1);

    let before = rust.decompressed_receives();
    for i in 0..20 {
        let text = format!("from a compressed sender {i}");
        let r = rust
            .send_string(&echo, &text, Some(ANSWER))
            .await
            .expect("ask")
            .expect("reply");
        assert_eq!(r.message.as_text(), Some(text));
        let sender = r.sender.expect("sender");
        assert!(sender.starts_with(&format!("{echo}#")), "{sender}");
    }
    assert!(rust.decompressed_receives() >= before + 20);

    rust.shutdown().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}
