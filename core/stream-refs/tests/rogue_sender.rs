//! A receiving stage (a consumed `SourceRef`) against a hand-written sending
//! stage that breaks the protocol, over Artery TCP on localhost: a sender that
//! ignores the cumulative demand overflows the receiver's buffer, and one that
//! skips a sequence number is caught; both fail the receiving stream with
//! Pekko's error kind and never hang (every wait is bounded and fails the
//! test when it runs out).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rekko_remote::{Delivery, RemoteEvent, RemoteNode, RemoteSettings, SerializedMessage};
use rekko_stream::StreamError;
use rekko_stream_refs::{
    SourceRef, StreamRefError, StreamRefMessage, StreamRefSettings, StreamRefs,
};
use tokio::sync::{broadcast, mpsc};

const WAIT: Duration = Duration::from_secs(20);

async fn node(name: &str) -> RemoteNode {
    RemoteNode::start(RemoteSettings::new(name, "127.0.0.1", 0))
        .await
        .expect("start node")
}

fn stream_ref_error(e: &StreamError) -> Option<StreamRefError> {
    match e {
        StreamError::Failed(inner) => inner.downcast_ref::<StreamRefError>().cloned(),
        _ => None,
    }
}

/// Registers a sending stage at `/user/rogue` on `node` that answers the
/// first `CumulativeDemand` with the handshake and then the elements with the
/// sequence numbers `seq_nrs`, whatever was demanded. Reports the demand it
/// saw and the receiving stage's path once everything is sent.
fn rogue(
    node: &RemoteNode,
    seq_nrs: Vec<i64>,
) -> (SourceRef, mpsc::UnboundedReceiver<(i64, String)>) {
    let me = format!("{}/user/rogue", node.address());
    let (sent_tx, sent) = mpsc::unbounded_channel();
    let started = std::sync::atomic::AtomicBool::new(false);
    let path = me.clone();
    node.register(
        "/user/rogue",
        Arc::new(move |node: &RemoteNode, d: Delivery| {
            let Ok(StreamRefMessage::CumulativeDemand(demand)) =
                StreamRefMessage::from_serialized(&d.message)
            else {
                return;
            };
            let Some(receiver) = d.sender else { return };
            if started.swap(true, std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            let send = |m: StreamRefMessage| {
                node.tell(&receiver, Some(&me), m.to_serialized())
                    .expect("rogue send");
            };
            send(StreamRefMessage::OnSubscribeHandshake(me.clone()));
            for &seq_nr in &seq_nrs {
                send(StreamRefMessage::SequencedOnNext {
                    seq_nr,
                    payload: SerializedMessage::string(&seq_nr.to_string()),
                });
            }
            let _ = sent_tx.send((demand, receiver.clone()));
        }),
    );
    (SourceRef { origin_ref: path }, sent)
}

/// Consumes the stream until it fails; returns the elements seen before and
/// the failure. Fails the test if the stream completes or stalls.
async fn until_failure(
    mut elements: rekko_stream::Elems<SerializedMessage>,
) -> (Vec<String>, StreamError) {
    let mut seen = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, elements.next()).await {
            Err(_) => panic!("the receiving stream neither failed nor produced within {WAIT:?}"),
            Ok(None) => panic!("the receiving stream completed instead of failing: {seen:?}"),
            Ok(Some(Ok(x))) => seen.push(x.as_text().expect("a String")),
            Ok(Some(Err(e))) => return (seen, e),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sender_ignoring_demand_overflows_the_receiver_buffer() {
    let a = node("RogueOverflowA").await;
    let b = node("RogueOverflowB").await;
    let settings = StreamRefSettings::default();
    let capacity = settings.buffer_capacity;
    let flood = 200i64;
    let (source_ref, mut sent) = rogue(&a, (0..flood).collect());
    let refs_b = StreamRefs::new(b.clone(), settings);

    // Downstream asks for one element (the pull sends the first demand) and
    // then stops reading until the stage is over: the receiver hands over
    // that one, buffers the rest and must fail, not grow.
    let mut events = a.subscribe();
    let mut elements = refs_b.source(&source_ref).into_stream();
    assert!(
        futures::poll!(elements.next()).is_pending(),
        "nothing can have arrived before the first demand"
    );
    let (demand, receiver) = tokio::time::timeout(WAIT, sent.recv())
        .await
        .expect("the receiver sent demand within the wait")
        .expect("the rogue reported");
    assert_eq!(
        demand, capacity as i64,
        "first demand is the buffer capacity"
    );
    // The receiving stage stops when it fails; its death watch tells.
    a.watch(&receiver).await.expect("watch the receiving stage");
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(RemoteEvent::Terminated { actor, .. }) if actor == receiver => break,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event stream ended: {e}"),
            }
        }
    })
    .await
    .expect("the receiving stage stopped within the wait");

    let (seen, err) = until_failure(elements).await;
    let kind = stream_ref_error(&err).unwrap_or_else(|| panic!("not a StreamRef error: {err}"));
    assert!(
        matches!(kind, StreamRefError::BufferOverflow { .. }),
        "expected a buffer overflow, got {kind}"
    );
    assert!(
        kind.to_string().contains("Attempted to overflow buffer!"),
        "Pekko's message: {kind}"
    );
    assert_eq!(
        seen,
        ["0"],
        "only the element answering the one pull reaches downstream"
    );
    assert_eq!(
        refs_b.max_buffered(),
        capacity,
        "the buffer filled to its capacity, never beyond"
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skipped_sequence_number_fails_the_receiver() {
    let a = node("RogueSeqA").await;
    let b = node("RogueSeqB").await;
    let (source_ref, _sent) = rogue(&a, vec![0, 1, 3]);
    let refs_b = StreamRefs::new(b.clone(), StreamRefSettings::default());

    let (seen, err) = until_failure(refs_b.source(&source_ref).into_stream()).await;
    // Elements still buffered when the stage fails are dropped, as in Pekko.
    assert!(
        ["0", "1"].starts_with(&seen.iter().map(String::as_str).collect::<Vec<_>>()),
        "only elements before the gap, in order: {seen:?}"
    );
    let kind = stream_ref_error(&err).unwrap_or_else(|| panic!("not a StreamRef error: {err}"));
    assert_eq!(
        kind,
        StreamRefError::InvalidSequenceNumber {
            expected: 2,
            got: 3,
            message: "Illegal sequence nr in SequencedOnNext".into(),
        }
    );
    a.shutdown().await;
    b.shutdown().await;
}
