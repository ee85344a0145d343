//! Stream refs between two Rekko nodes in one process, over Artery TCP on
//! localhost: all four directions of use, failure propagation and the
//! subscription timeout.

use std::time::Duration;

use rekko_remote::{RemoteNode, RemoteSettings, SerializedMessage};
use rekko_stream::prelude::*;
use rekko_stream::StreamError;
use rekko_stream_refs::{StreamRefError, StreamRefSettings, StreamRefs};

async fn node(name: &str) -> RemoteNode {
    RemoteNode::start(RemoteSettings::new(name, "127.0.0.1", 0))
        .await
        .expect("start node")
}

fn strings(n: usize) -> Source<SerializedMessage, ()> {
    Source::iter((0..n).map(|i| SerializedMessage::string(&i.to_string())))
}

fn texts(v: Vec<SerializedMessage>) -> Vec<String> {
    v.into_iter()
        .map(|m| m.as_text().expect("a String"))
        .collect()
}

fn expected(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}

fn stream_ref_error(e: &StreamError) -> Option<StreamRefError> {
    match e {
        StreamError::Failed(inner) => inner.downcast_ref::<StreamRefError>().cloned(),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_ref_and_sink_ref_between_two_rekko_nodes() {
    let a = node("RefsA").await;
    let b = node("RefsB").await;
    let refs_a = StreamRefs::new(a.clone(), StreamRefSettings::default());
    let refs_b = StreamRefs::new(b.clone(), StreamRefSettings::default());

    for n in [0usize, 1, 31, 32, 33, 1000] {
        // A offers a SourceRef, B consumes it.
        let (source_ref, done) = strings(n).run_with(refs_a.source_ref());
        let got = refs_b
            .source(&source_ref)
            .run_with(Sink::seq())
            .await
            .expect("SourceRef stream completes");
        assert_eq!(texts(got), expected(n));
        done.await
            .expect("sending stage completes after the receiver stopped");

        // B offers a SinkRef, A fills it.
        let (sink_ref, collected) = refs_b.sink_ref().to_mat(Sink::seq(), Keep::both).run();
        strings(n)
            .run_with(refs_a.sink(&sink_ref))
            .await
            .expect("SinkRef stream completes");
        assert_eq!(texts(collected.await.expect("collected")), expected(n));
    }
    a.shutdown().await;
    b.shutdown().await;
}

/// Both stages on one node: their messages take the node's loopback path,
/// and neither stage's handler is entered while the other sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn source_ref_and_sink_ref_on_one_node() {
    let a = node("RefsSelf").await;
    let refs = StreamRefs::new(a.clone(), StreamRefSettings::default());
    let n = 1000;
    let (source_ref, done) = strings(n).run_with(refs.source_ref());
    let got = refs
        .source(&source_ref)
        .run_with(Sink::seq())
        .await
        .expect("SourceRef stream completes");
    assert_eq!(texts(got), expected(n));
    done.await.expect("sending stage completes");

    let (sink_ref, collected) = refs.sink_ref().to_mat(Sink::seq(), Keep::both).run();
    strings(n)
        .run_with(refs.sink(&sink_ref))
        .await
        .expect("SinkRef stream completes");
    assert_eq!(texts(collected.await.expect("collected")), expected(n));
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_failure_fails_the_remote_receiver() {
    let a = node("RefsFailA").await;
    let b = node("RefsFailB").await;
    let refs_a = StreamRefs::new(a.clone(), StreamRefSettings::default());
    let refs_b = StreamRefs::new(b.clone(), StreamRefSettings::default());
    let failing = strings(10).concat(Source::failed(StreamError::msg("boom")));
    let (source_ref, _done) = failing.run_with(refs_a.source_ref());
    let err = refs_b
        .source(&source_ref)
        .run_with(Sink::seq())
        .await
        .expect_err("the stream fails");
    match stream_ref_error(&err) {
        Some(StreamRefError::RemoteTerminated(m)) => assert!(m.contains("boom"), "{m}"),
        other => panic!("expected RemoteTerminated, got {other:?} ({err})"),
    }
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receiver_cancellation_cancels_the_remote_sender() {
    let a = node("RefsCancelA").await;
    let b = node("RefsCancelB").await;
    let refs_a = StreamRefs::new(a.clone(), StreamRefSettings::default());
    let refs_b = StreamRefs::new(b.clone(), StreamRefSettings::default());
    let endless = Source::repeat(SerializedMessage::string("x"));
    let (source_ref, done) = endless.run_with(refs_a.source_ref());
    let got = refs_b
        .source(&source_ref)
        .take(100)
        .run_with(Sink::seq())
        .await
        .expect("take(100) completes");
    assert_eq!(got.len(), 100);
    done.await
        .expect("the sender is cancelled normally (Ack exchange)");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unused_source_ref_times_out() {
    let a = node("RefsTimeout").await;
    let settings =
        StreamRefSettings::default().with_subscription_timeout(Duration::from_millis(200));
    let refs = StreamRefs::new(a.clone(), settings);
    let (_source_ref, done) = strings(3).run_with(refs.source_ref());
    assert!(matches!(
        done.await,
        Err(StreamRefError::SubscriptionTimeout(_))
    ));
    a.shutdown().await;
}
