//! StreamRefs between a Rekko node and a JVM Pekko `StreamRefNode`: a JVM
//! `SourceRef` consumed by Rekko, a Rekko `SinkRef` filled by a JVM stream, a
//! JVM `SinkRef` filled from Rekko, and partner loss in both directions.

use std::sync::Arc;
use std::time::Duration;

use rekko_interop_tests::{require_jvm, FixtureSpec, HarnessError, JvmNode, PekkoVersion};
use rekko_remote::{Delivery, RemoteNode, RemoteSettings, SerializedMessage};
use rekko_stream::prelude::*;
use rekko_stream::{StreamError, StreamFuture};
use rekko_stream_refs::{
    SinkRef, SourceRef, StreamRefError, StreamRefMessage, StreamRefSettings, StreamRefs,
};
use tokio::sync::mpsc;

/// Upper bound for any single answer; a guard against hangs, not a timing
/// assertion.
const ANSWER: Duration = Duration::from_secs(60);

fn start_jvm(name: &str, system: &str) -> Result<JvmNode, HarnessError> {
    tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.StreamRefNode")
                .name(name)
                .version(PekkoVersion::V1_7_0)
                .args(["--system", system]),
        )
    })
}

fn request(jvm: &mut JvmNode, line: &str) -> Result<String, HarnessError> {
    tokio::task::block_in_place(|| jvm.request(line, ANSWER))
}

async fn rust_node(name: &str) -> RemoteNode {
    RemoteNode::start(RemoteSettings::new(name, "127.0.0.1", 0))
        .await
        .expect("start Rekko node")
}

async fn ask_source_ref(node: &RemoteNode, jvm: &JvmNode, n: u64) -> SourceRef {
    let reply = node
        .ask(
            &format!("{}/user/refs", jvm.address()),
            SerializedMessage::string(&format!("source {n}")),
            ANSWER,
        )
        .await
        .expect("the JVM answers with a SourceRef");
    assert_eq!(
        (reply.message.serializer_id, reply.message.manifest.as_str()),
        (30, "E")
    );
    match StreamRefMessage::from_serialized(&reply.message).expect("decodes") {
        StreamRefMessage::SourceRef(r) => r,
        other => panic!("expected a SourceRef, got {other:?}"),
    }
}

async fn ask_sink_ref(node: &RemoteNode, jvm: &JvmNode) -> SinkRef {
    let reply = node
        .ask(
            &format!("{}/user/refs", jvm.address()),
            SerializedMessage::string("sink"),
            ANSWER,
        )
        .await
        .expect("the JVM answers with a SinkRef");
    match StreamRefMessage::from_serialized(&reply.message).expect("decodes") {
        StreamRefMessage::SinkRef(r) => r,
        other => panic!("expected a SinkRef, got {other:?}"),
    }
}

/// Counts elements and checks they are "0", "1", ... in order.
fn count_in_order() -> Sink<SerializedMessage, StreamFuture<(u64, bool)>> {
    Sink::fold((0u64, true), |(n, ok), m: SerializedMessage| {
        (
            n + 1,
            ok && m.as_text().as_deref() == Some(n.to_string().as_str()),
        )
    })
}

fn numbers(n: u64) -> Source<SerializedMessage, ()> {
    Source::iter((0..n).map(|i| SerializedMessage::string(&i.to_string())))
}

fn stream_ref_error(e: &StreamError) -> Option<StreamRefError> {
    match e {
        StreamError::Failed(inner) => inner.downcast_ref::<StreamRefError>().cloned(),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jvm_source_ref_of_100000_elements_is_consumed_in_order_with_bounded_buffers(
) -> Result<(), HarnessError> {
    require_jvm!();
    let jvm = start_jvm("stream-refs-source", "JvmSourceRefs")?;
    let rust = rust_node("RekkoSourceRefs").await;
    let settings = StreamRefSettings::default();
    let capacity = settings.buffer_capacity;
    let refs = StreamRefs::new(rust.clone(), settings);

    let source_ref = ask_source_ref(&rust, &jvm, 100_000).await;
    let (count, in_order) = tokio::time::timeout(
        Duration::from_secs(300),
        refs.source(&source_ref).run_with(count_in_order()),
    )
    .await
    .expect("the stream ends")
    .expect("the stream completes");
    assert_eq!(count, 100_000);
    assert!(in_order, "elements arrived out of order");
    // The receiver never held more than its buffer capacity: the JVM sender
    // stayed within the cumulative demand (an excess fails the stream).
    assert!(
        refs.max_buffered() <= capacity,
        "{} > {capacity}",
        refs.max_buffered()
    );

    // A second, small ref works on the same association.
    let source_ref = ask_source_ref(&rust, &jvm, 33).await;
    let (count, in_order) = refs
        .source(&source_ref)
        .run_with(count_in_order())
        .await
        .expect("completes");
    assert_eq!((count, in_order), (33, true));

    rust.shutdown().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekko_sink_ref_is_filled_by_a_jvm_stream() -> Result<(), HarnessError> {
    require_jvm!();
    let mut jvm = start_jvm("stream-refs-rekko-sink", "JvmFillsRekko")?;
    let rust = rust_node("RekkoSinkRefs").await;
    let refs = StreamRefs::new(rust.clone(), StreamRefSettings::default());

    // `/user/sinks` answers every message with a fresh SinkRef whose
    // elements are counted.
    let (results_tx, mut results) = mpsc::unbounded_channel();
    let me = format!("{}/user/sinks", rust.address());
    let handler_refs = refs.clone();
    rust.register(
        "/user/sinks",
        Arc::new(move |node: &RemoteNode, d: Delivery| {
            let (sink_ref, done) = handler_refs
                .sink_ref()
                .to_mat(count_in_order(), Keep::both)
                .run();
            let _ = results_tx.send(done);
            if let Some(sender) = d.sender {
                node.tell(&sender, Some(&me), sink_ref.to_serialized())
                    .expect("reply with the SinkRef");
            }
        }),
    );

    let offered = request(
        &mut jvm,
        &format!("offer-sink {}/user/sinks 10000", rust.address()),
    )?;
    assert_eq!(offered, "OFFERED");
    let done = results.recv().await.expect("a SinkRef was handed out");
    let (count, in_order) = tokio::time::timeout(ANSWER, done)
        .await
        .expect("the stream ends")
        .expect("the stream completes");
    assert_eq!((count, in_order), (10_000, true));
    assert_eq!(request(&mut jvm, "await-offer 30")?, "OFFER done");

    rust.shutdown().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jvm_sink_ref_is_filled_from_rekko() -> Result<(), HarnessError> {
    require_jvm!();
    let mut jvm = start_jvm("stream-refs-jvm-sink", "JvmSinkRefs")?;
    let rust = rust_node("RekkoFillsJvm").await;
    let refs = StreamRefs::new(rust.clone(), StreamRefSettings::default());

    for n in [0u64, 1, 32, 10_000] {
        let sink_ref = ask_sink_ref(&rust, &jvm).await;
        tokio::time::timeout(ANSWER, numbers(n).run_with(refs.sink(&sink_ref)))
            .await
            .expect("the stream ends")
            .expect("the JVM receiver took the whole stream");
        assert_eq!(
            request(&mut jvm, "await-sink 30")?,
            format!("RECEIVED {n} true done")
        );
    }

    rust.shutdown().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rekko_source_ref_is_consumed_by_a_jvm_stream() -> Result<(), HarnessError> {
    require_jvm!();
    let mut jvm = start_jvm("stream-refs-rekko-source", "JvmReadsRekko")?;
    let rust = rust_node("RekkoOffersSource").await;
    let refs = StreamRefs::new(rust.clone(), StreamRefSettings::default());

    // `/user/sources` answers every message with a SourceRef of 10,000
    // numbers; the sending stage's completion is reported on a channel.
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let me = format!("{}/user/sources", rust.address());
    let handler_refs = refs.clone();
    rust.register(
        "/user/sources",
        Arc::new(move |node: &RemoteNode, d: Delivery| {
            let (source_ref, finished) = numbers(10_000).run_with(handler_refs.source_ref());
            let _ = done_tx.send(finished);
            if let Some(sender) = d.sender {
                node.tell(&sender, Some(&me), source_ref.to_serialized())
                    .expect("reply with the SourceRef");
            }
        }),
    );

    let consuming = request(
        &mut jvm,
        &format!("consume-source {}/user/sources", rust.address()),
    )?;
    assert_eq!(consuming, "CONSUMING");
    assert_eq!(
        request(&mut jvm, "await-sink 60")?,
        "RECEIVED 10000 true done"
    );
    let finished = done.recv().await.expect("a SourceRef was handed out");
    tokio::time::timeout(ANSWER, finished)
        .await
        .expect("the sending stage ends")
        .expect("it completes once the JVM receiver terminated");

    rust.shutdown().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}

/// Killing the JVM mid-stream fails the Rekko stream with the JVM's error
/// kind (`RemoteStreamRefActorTerminatedException`) once the failure detector
/// declares the node lost and the final-termination-signal deadline passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_jvm_mid_stream_fails_the_rekko_stream() -> Result<(), HarnessError> {
    require_jvm!();
    let mut jvm = start_jvm("stream-refs-kill-jvm", "JvmKilled")?;
    let rust = rust_node("RekkoSurvivor").await;
    let refs = StreamRefs::new(rust.clone(), StreamRefSettings::default());

    let source_ref = ask_source_ref(&rust, &jvm, u64::MAX / 2).await;
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let run = refs
        .source(&source_ref)
        .map(move |m| {
            let _ = seen_tx.send(());
            m
        })
        .run_with(Sink::ignore());
    let run = tokio::spawn(run);
    for _ in 0..1000 {
        seen.recv().await.expect("elements flow");
    }
    tokio::task::block_in_place(|| jvm.kill())?;

    let err = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the stream fails instead of hanging")
        .expect("task")
        .expect_err("the stream fails");
    assert!(
        matches!(
            stream_ref_error(&err),
            Some(StreamRefError::RemoteTerminated(_))
        ),
        "unexpected error {err}"
    );
    rust.shutdown().await;
    Ok(())
}

/// The reverse: the Rekko node filling a JVM SinkRef shuts down mid-stream;
/// the JVM stream fails with `RemoteStreamRefActorTerminatedException`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_rekko_mid_stream_fails_the_jvm_stream() -> Result<(), HarnessError> {
    require_jvm!();
    let mut jvm = start_jvm("stream-refs-kill-rekko", "JvmSurvivor")?;
    let rust = rust_node("RekkoStopped").await;
    let refs = StreamRefs::new(rust.clone(), StreamRefSettings::default());

    let sink_ref = ask_sink_ref(&rust, &jvm).await;
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    let endless = Source::repeat(()).zip_with_index().map(move |((), i)| {
        let _ = seen_tx.send(());
        SerializedMessage::string(&i.to_string())
    });
    let done = endless.run_with(refs.sink(&sink_ref));
    for _ in 0..1000 {
        seen.recv().await.expect("elements flow");
    }
    rust.shutdown().await;
    drop(done);

    let line = request(&mut jvm, "await-sink 60")?;
    assert!(
        line.contains(" failed:RemoteStreamRefActorTerminatedException"),
        "unexpected JVM sink status: {line}"
    );
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}
