//! Transport settings between two Rekko nodes over real TCP: outbound lanes,
//! idle outbound streams, `accept-protocol-names`, large-message stream
//! accounting, and Status.Failure / PoisonPill wire forms. Every wait is on
//! an event or a delivery, never on time.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rekko_remote::{
    ByteArray, Delivery, JvmThrowable, RemoteError, RemoteEvent, RemoteMessage, RemoteNode,
    RemoteSettings, StackFrame, StatusFailure, StreamId,
};
use tokio::sync::{broadcast, mpsc};

const T: Duration = Duration::from_secs(10);

fn settings(name: &str) -> RemoteSettings {
    RemoteSettings::new(name, "127.0.0.1", 0)
}

/// The first event `pick` maps to `Some`, within a generous bound.
async fn next_event<R>(
    rx: &mut broadcast::Receiver<RemoteEvent>,
    mut pick: impl FnMut(RemoteEvent) -> Option<R>,
) -> R {
    loop {
        match tokio::time::timeout(T, rx.recv()).await {
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

/// Registers `path` on `node`, forwarding every delivery to a channel.
fn sink(node: &RemoteNode, path: &str) -> mpsc::UnboundedReceiver<Delivery> {
    let (tx, rx) = mpsc::unbounded_channel();
    node.register(
        path,
        Arc::new(move |_: &RemoteNode, d: Delivery| {
            let _ = tx.send(d);
        }),
    );
    rx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_to_one_recipient_stay_in_order_across_lanes() {
    let mut sa = settings("Lanes");
    sa.outbound_lanes = 4;
    let a = RemoteNode::start(sa).await.unwrap();
    let b = RemoteNode::start(settings("LanesB")).await.unwrap();
    let mut events = a.subscribe();
    let (tx, mut rx) = mpsc::unbounded_channel::<(String, String)>();
    const RECIPIENTS: usize = 8;
    const PER: usize = 500;
    for r in 0..RECIPIENTS {
        let tx = tx.clone();
        b.register(
            &format!("/user/r{r}"),
            Arc::new(move |_: &RemoteNode, d: Delivery| {
                let _ = tx.send((d.recipient.clone(), d.message.as_text().unwrap_or_default()));
            }),
        );
    }
    for i in 0..PER {
        for r in 0..RECIPIENTS {
            let path = format!("{}/user/r{r}", b.address());
            loop {
                match a.tell_typed(&path, None, &format!("{i}")) {
                    Ok(()) => break,
                    // Before the handshake completes the queues fill up.
                    Err(RemoteError::QueueFull { .. }) => tokio::task::yield_now().await,
                    Err(e) => panic!("{e}"),
                }
            }
        }
    }
    let mut next: HashMap<String, usize> = HashMap::new();
    for _ in 0..RECIPIENTS * PER {
        let (who, text) = tokio::time::timeout(T, rx.recv()).await.unwrap().unwrap();
        let n = next.entry(who.clone()).or_default();
        assert_eq!(text, n.to_string(), "out of order at {who}");
        *n += 1;
    }
    assert!(next.values().all(|n| *n == PER));
    // More than one ordinary-stream connection carried them.
    let mut lanes = HashSet::new();
    while let Ok(e) = events.try_recv() {
        if let RemoteEvent::OutboundConnected {
            stream: StreamId::Ordinary,
            lane,
            ..
        } = e
        {
            lanes.insert(lane);
        }
    }
    assert!(lanes.len() > 1, "lanes used: {lanes:?}");
    assert!(lanes.iter().all(|l| *l < 4));
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_outbound_streams_stop_and_start_again_on_the_next_message() {
    let mut sa = settings("Idle");
    sa.stop_idle_outbound_after = Duration::from_millis(300);
    let a = RemoteNode::start(sa).await.unwrap();
    let b = RemoteNode::start(settings("IdleB")).await.unwrap();
    let mut inbox = sink(&b, "/user/in");
    let path = format!("{}/user/in", b.address());
    let mut events = a.subscribe();

    a.tell_typed(&path, None, &"first".to_string()).unwrap();
    let d = tokio::time::timeout(T, inbox.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.message.as_text().as_deref(), Some("first"));

    // Nothing more is sent: both streams in use are stopped.
    let mut stopped = HashSet::new();
    while !(stopped.contains(&StreamId::Ordinary) && stopped.contains(&StreamId::Control)) {
        let s = next_event(&mut events, |e| match e {
            RemoteEvent::OutboundStreamIdleStopped { remote, stream, .. } => {
                assert_eq!(&remote, b.address());
                Some(stream)
            }
            _ => None,
        })
        .await;
        stopped.insert(s);
    }

    // The next message opens a new ordinary connection and arrives.
    a.tell_typed(&path, None, &"second".to_string()).unwrap();
    next_event(&mut events, |e| match e {
        RemoteEvent::OutboundConnected {
            stream: StreamId::Ordinary,
            ..
        } => Some(()),
        _ => None,
    })
    .await;
    let d = tokio::time::timeout(T, inbox.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.message.as_text().as_deref(), Some("second"));
    // The association (and the peer's uid) survived.
    assert_eq!(a.peer_uid(b.address()), Some(b.unique_address().uid));
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_association_idle_past_the_quarantine_limit_is_quarantined() {
    let mut sa = settings("IdleQ");
    sa.stop_idle_outbound_after = Duration::from_millis(200);
    sa.quarantine_idle_outbound_after = Duration::from_millis(600);
    let a = RemoteNode::start(sa).await.unwrap();
    let b = RemoteNode::start(settings("IdleQB")).await.unwrap();
    let mut inbox = sink(&b, "/user/in");
    let mut a_events = a.subscribe();
    let mut b_events = b.subscribe();
    a.tell_typed(&format!("{}/user/in", b.address()), None, &"x".to_string())
        .unwrap();
    tokio::time::timeout(T, inbox.recv())
        .await
        .unwrap()
        .unwrap();
    let (remote, reason) = next_event(&mut a_events, |e| match e {
        RemoteEvent::Quarantined { remote, reason } => Some((remote, reason)),
        _ => None,
    })
    .await;
    assert_eq!(&remote, b.unique_address());
    assert!(
        reason.contains("quarantine-idle-outbound-after"),
        "{reason}"
    );
    // The peer is told.
    let by = next_event(&mut b_events, |e| match e {
        RemoteEvent::QuarantinedByPeer(from) => Some(from),
        _ => None,
    })
    .await;
    assert_eq!(&by, a.unique_address());
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshakes_from_a_protocol_not_accepted_are_refused() {
    // An "akka" node that accepts both, talking to a pekko-only node.
    let mut sa = settings("AkkaSide");
    sa.protocol = "akka".into();
    sa.accept_protocol_names = vec!["akka".into(), "pekko".into()];
    sa.handshake.timeout = Duration::from_secs(2);
    let a = RemoteNode::start(sa).await.unwrap();
    let b = RemoteNode::start(settings("PekkoOnly")).await.unwrap();
    let mut inbox = sink(&b, "/user/in");
    let mut b_events = b.subscribe();
    a.tell_typed(&format!("{}/user/in", b.address()), None, &"hi".to_string())
        .unwrap();
    let (from, reason) = next_event(&mut b_events, |e| match e {
        RemoteEvent::HandshakeRefused { from, reason } => Some((from, reason)),
        _ => None,
    })
    .await;
    assert_eq!(&from, a.unique_address());
    assert!(reason.contains("protocol [akka]"), "{reason}");
    assert!(inbox.try_recv().is_err());
    assert_eq!(b.peer_uid(a.address()), None);

    // Sending to an akka:// path from the pekko-only node is refused at once.
    let err = b
        .tell_typed(&format!("{}/user/x", a.address()), None, &"no".to_string())
        .unwrap_err();
    assert!(err.to_string().contains("accept-protocol-names"), "{err}");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_mib_message_travels_on_the_large_stream_and_is_counted() {
    let mut sa = settings("Big");
    sa.large_message_destinations = vec!["/user/large".into()];
    sa.maximum_large_frame_size = 4 * 1024 * 1024;
    let mut sb = settings("BigB");
    sb.maximum_large_frame_size = 4 * 1024 * 1024;
    let a = RemoteNode::start(sa).await.unwrap();
    let b = RemoteNode::start(sb).await.unwrap();
    let mut inbox = sink(&b, "/user/large");
    let big: Vec<u8> = (0..2 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    a.tell_typed(
        &format!("{}/user/large", b.address()),
        None,
        &ByteArray(big.clone().into()),
    )
    .unwrap();
    let d = tokio::time::timeout(T, inbox.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ByteArray::from_message(&d.message).unwrap().0, big);
    let sent = a.stream_stats();
    let got = b.stream_stats();
    assert!(sent.sent(StreamId::Large) >= 2, "{sent:?}"); // HandshakeReq + message
    assert!(sent.outbound_bytes[2] > big.len() as u64, "{sent:?}");
    assert!(got.received(StreamId::Large) >= 2, "{got:?}");
    assert!(got.inbound_bytes[2] > big.len() as u64, "{got:?}");
    // Nothing that large went on the ordinary stream.
    assert!(sent.outbound_bytes[1] < big.len() as u64, "{sent:?}");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_failure_travels_with_class_message_cause_and_stack() {
    let a = RemoteNode::start(settings("Fail")).await.unwrap();
    let b = RemoteNode::start(settings("FailB")).await.unwrap();
    let got: Arc<Mutex<Vec<StatusFailure>>> = Arc::default();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let g = got.clone();
    b.register_typed("/user/failures", move |_, _, f: StatusFailure| {
        g.lock().push(f);
        let _ = tx.send(());
    });
    let failure = StatusFailure(
        JvmThrowable::new("java.lang.IllegalStateException", "x")
            .with_cause(JvmThrowable::new("java.io.IOException", "disk"))
            .with_frame(StackFrame {
                class_name: "rekko.Demo".into(),
                method_name: "run".into(),
                file_name: Some("demo.rs".into()),
                line_number: 7,
            }),
    );
    a.tell_typed(&format!("{}/user/failures", b.address()), None, &failure)
        .unwrap();
    tokio::time::timeout(T, rx.recv()).await.unwrap().unwrap();
    assert_eq!(got.lock()[0], failure);
    assert_eq!(
        got.lock()[0].0.to_string(),
        "java.lang.IllegalStateException: x; caused by java.io.IOException: disk"
    );
    a.shutdown().await;
    b.shutdown().await;
}
