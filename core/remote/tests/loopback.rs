//! Two Rekko nodes in one process over real TCP on 127.0.0.1, and bad bytes
//! thrown at a node's port.

use std::time::Duration;

use artery_wire::envelope::{Envelope, Field};
use artery_wire::frame::encode_frame;
use rekko_interop_tests::remote_events::next_terminated;
use rekko_remote::{RemoteEvent, RemoteNode, RemoteSettings, SerializedMessage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast;

const T: Duration = Duration::from_secs(10);

fn settings(name: &str) -> RemoteSettings {
    RemoteSettings::new(name, "127.0.0.1", 0)
}

async fn next_closed(rx: &mut broadcast::Receiver<RemoteEvent>) -> String {
    loop {
        match tokio::time::timeout(T, rx.recv()).await {
            Ok(Ok(RemoteEvent::InboundConnectionClosed { reason, .. })) => return reason,
            Ok(Ok(_)) => continue,
            other => panic!("no InboundConnectionClosed event: {other:?}"),
        }
    }
}

/// Starts a node with `settings` and an echo actor at `/user/echo`; returns the node and the
/// echo's path.
async fn echo_node(settings: RemoteSettings) -> (RemoteNode, String) {
    let node = RemoteNode::start(settings).await.unwrap();
    node.register_echo("/user/echo");
    let path = format!("{}/user/echo", node.address());
    (node, path)
}

/// A raw TCP connection to the node's port, and the node's events from before it connected.
async fn connect_raw(node: &RemoteNode) -> (broadcast::Receiver<RemoteEvent>, TcpStream) {
    let events = node.subscribe();
    let s = TcpStream::connect(("127.0.0.1", node.address().port))
        .await
        .unwrap();
    (events, s)
}

/// The reason of the next dropped message; fails if the connection closes first.
async fn next_dropped(rx: &mut broadcast::Receiver<RemoteEvent>) -> String {
    loop {
        match tokio::time::timeout(T, rx.recv()).await {
            Ok(Ok(RemoteEvent::MessageDropped { reason })) => return reason,
            Ok(Ok(RemoteEvent::InboundConnectionClosed { reason, .. })) => {
                panic!("closed: {reason}")
            }
            Ok(Ok(_)) => {}
            other => panic!("no MessageDropped event: {other:?}"),
        }
    }
}

/// A new node `A` asks the echo at `path` with `text` and gets it back: the echo's node still
/// serves real peers.
async fn still_serves(path: &str, text: &str) {
    let a = RemoteNode::start(settings("A")).await.unwrap();
    let reply = a.send_string(path, text, Some(T)).await.unwrap().unwrap();
    assert_eq!(reply.message.as_text().as_deref(), Some(text));
    a.shutdown().await;
}

/// Writes `bytes` to the node's port and waits until the node closes.
async fn poke(node: &RemoteNode, bytes: &[u8]) -> String {
    let (mut events, mut s) = connect_raw(node).await;
    s.write_all(bytes).await.unwrap();
    let reason = next_closed(&mut events).await;
    // The node closed its side: reading yields EOF (or a reset).
    let mut b = [0u8; 16];
    let n = tokio::time::timeout(T, s.read(&mut b)).await.unwrap();
    assert!(matches!(n, Ok(0) | Err(_)), "connection still open: {n:?}");
    reason
}

#[tokio::test]
async fn ask_and_identify_between_two_rekko_nodes() {
    let a = RemoteNode::start(settings("A")).await.unwrap();
    let (b, path) = echo_node(settings("B")).await;

    let reply = a
        .send_string(&path, "hello", Some(T))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply.message.as_text().as_deref(), Some("hello"));
    assert_eq!(reply.sender.as_deref(), Some(path.as_str()));
    assert_eq!(a.peer_uid(b.address()), Some(b.unique_address().uid));

    // Many in order.
    for i in 0..50 {
        let r = a
            .ask(&path, SerializedMessage::string(&format!("m{i}")), T)
            .await
            .unwrap();
        assert_eq!(r.message.as_text(), Some(format!("m{i}")));
    }

    assert_eq!(a.identify(&path, T).await.unwrap(), Some(path.clone()));
    let wild = format!("{}/user/ec*", b.address());
    assert_eq!(a.identify(&wild, T).await.unwrap(), Some(path.clone()));
    let missing = format!("{}/user/nobody", b.address());
    assert_eq!(a.identify(&missing, T).await.unwrap(), None);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn ask_to_a_closed_port_times_out_with_the_cause() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut s = settings("A");
    s.outbound_restart_backoff = Duration::from_millis(50);
    let a = RemoteNode::start(s).await.unwrap();
    let err = a
        .send_string(
            &format!("pekko://B@127.0.0.1:{port}/user/echo"),
            "x",
            Some(Duration::from_millis(500)),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("no reply"), "{err}");
    assert!(err.contains("refused"), "{err}");
    a.shutdown().await;
}

#[tokio::test]
async fn bad_input_closes_only_that_connection() {
    let (b, path) = echo_node(settings("B")).await;

    let r = poke(&b, b"GET / HTTP/1.1\r\n\r\n").await;
    assert!(r.contains("magic"), "{r}");

    let r = poke(&b, b"PEKA\x01").await;
    assert!(r.contains("magic"), "{r}");

    let r = poke(&b, b"AKKA\x07").await;
    assert!(r.contains("stream id 7"), "{r}");

    let r = poke(&b, b"AKKA\x02\xff\xff\xff\x7f").await;
    assert!(r.contains("exceeds maximum frame size"), "{r}");

    let r = poke(&b, b"AKKA\x02\x00\x00\x00\x80").await;
    assert!(r.contains("negative"), "{r}");

    // A truncated frame: announces 100 bytes, sends 3, then half-closes.
    {
        let (mut events, mut s) = connect_raw(&b).await;
        s.write_all(b"AKKA\x02\x64\x00\x00\x00abc").await.unwrap();
        s.shutdown().await.unwrap();
        let r = next_closed(&mut events).await;
        assert!(r.contains("closed inside a frame"), "{r}");
    }

    // A frame too short for an envelope header.
    let mut bytes = b"AKKA\x02".to_vec();
    let mut buf = bytes::BytesMut::new();
    encode_frame(&[0u8; 10], &mut buf).unwrap();
    bytes.extend_from_slice(&buf);
    let r = poke(&b, &bytes).await;
    assert!(r.contains("envelope too short"), "{r}");

    // The node still serves a real peer.
    still_serves(&path, "still here").await;
    b.shutdown().await;
}

#[tokio::test]
async fn unknown_uid_is_dropped_and_connection_lives() {
    let (b, path) = echo_node(settings("B")).await;
    let (mut events, mut s) = connect_raw(&b).await;
    let env = Envelope::new(
        12345,
        20,
        Field::empty(),
        Field::literal(&path),
        Field::empty(),
        bytes::Bytes::from_static(b"hi"),
    );
    let mut buf = bytes::BytesMut::from(&b"AKKA\x02"[..]);
    env.encode_frame(&mut buf).unwrap();
    s.write_all(&buf).await.unwrap();
    let reason = next_dropped(&mut events).await;
    assert!(
        reason.contains("Unknown system with UID [12345]"),
        "{reason}"
    );
    // The same connection still accepts frames: no close event follows a
    // second frame.
    s.write_all(&buf[5..]).await.unwrap();
    next_dropped(&mut events).await;
    b.shutdown().await;
}

#[tokio::test]
async fn large_destinations_use_stream_3_and_oversize_is_refused() {
    let mut sa = settings("A");
    sa.large_message_destinations = vec!["/user/big*".into()];
    let a = RemoteNode::start(sa).await.unwrap();
    let (b, small) = echo_node(settings("B")).await;
    // Replies with the length of what it got.
    b.register(
        "/user/bigecho",
        std::sync::Arc::new(|node: &RemoteNode, d: rekko_remote::Delivery| {
            let len = d.message.payload.len().to_string();
            if let Some(s) = &d.sender {
                node.tell(s, None, SerializedMessage::string(&len)).unwrap();
            }
        }),
    );
    // 1 MiB fits the large stream (2 MiB) but not the ordinary one (256 KiB,
    // which B's reader enforces per inbound stream).
    let text = "x".repeat(1024 * 1024);
    let big = format!("{}/user/bigecho", b.address());
    let r = a.send_string(&big, &text, Some(T)).await.unwrap().unwrap();
    assert_eq!(r.message.as_text().as_deref(), Some("1048576"));
    let err = a.send_string(&small, &text, Some(T)).await.unwrap_err();
    assert!(
        matches!(
            err,
            rekko_remote::RemoteError::MessageTooLarge {
                stream: "ordinary",
                ..
            }
        ),
        "{err}"
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn one_shot_cli_helpers() {
    let (b, path) = echo_node(settings("B")).await;

    let reply = rekko_remote::send_string(RemoteSettings::default(), &path, "hi", Some(T))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply.message.describe(), "hi");
    assert_eq!(
        rekko_remote::send_string(RemoteSettings::default(), &path, "tell", None)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        rekko_remote::identify(RemoteSettings::default(), &path, T)
            .await
            .unwrap(),
        Some(path.clone())
    );

    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut s = RemoteSettings::default();
    s.handshake.timeout = Duration::from_millis(500);
    s.outbound_restart_backoff = Duration::from_millis(50);
    let err =
        rekko_remote::send_string(s, &format!("pekko://X@127.0.0.1:{port}/user/a"), "x", None)
            .await
            .unwrap_err()
            .to_string();
    assert!(err.contains("refused"), "{err}");
    b.shutdown().await;
}

#[tokio::test]
async fn watching_a_missing_remote_actor_reports_terminated() {
    let a = RemoteNode::start(settings("A")).await.unwrap();
    let (b, _) = echo_node(settings("B")).await;
    let mut events = a.subscribe();
    let missing = format!("{}/user/nobody", b.address());
    a.watch(&missing).await.unwrap();
    assert_eq!(next_terminated(&mut events, T).await, (missing, false));
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn restarted_peer_with_new_uid_is_reached_again() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
    let mut sa = settings("A");
    sa.outbound_restart_backoff = Duration::from_millis(100);
    let a = RemoteNode::start(sa).await.unwrap();
    let (b1, path) = echo_node(settings("B")).await;
    let port = b1.address().port;
    let r = a.send_string(&path, "one", Some(T)).await.unwrap().unwrap();
    assert_eq!(r.message.as_text().as_deref(), Some("one"));
    let uid1 = b1.unique_address().uid;
    assert_eq!(a.peer_uid(b1.address()), Some(uid1));
    b1.shutdown().await;

    let b2 = RemoteNode::start(RemoteSettings::new("B", "127.0.0.1", port))
        .await
        .unwrap();
    b2.register_echo("/user/echo");
    assert_ne!(b2.unique_address().uid, uid1);
    for i in 0..5 {
        let text = format!("after restart {i}");
        let r = a.send_string(&path, &text, Some(T)).await.unwrap().unwrap();
        assert_eq!(r.message.as_text(), Some(text));
    }
    assert_eq!(a.peer_uid(b2.address()), Some(b2.unique_address().uid));
    a.shutdown().await;
    b2.shutdown().await;
}

#[tokio::test]
async fn a_watched_node_that_dies_is_detected_by_the_failure_detector() {
    let mut sa = settings("A");
    // A short acceptable pause keeps the test fast.
    sa.watch_failure_detector
        .detector
        .acceptable_heartbeat_pause = Duration::from_millis(500);
    sa.watch_failure_detector.heartbeat_interval = Duration::from_millis(100);
    sa.watch_failure_detector.detector.first_heartbeat_estimate = Duration::from_millis(100);
    sa.watch_failure_detector.reaper_interval = Duration::from_millis(100);
    let a = RemoteNode::start(sa).await.unwrap();
    let (b, path) = echo_node(settings("B")).await;
    let mut events = a.subscribe();
    a.watch(&path).await.unwrap();
    // B answers heartbeats while it lives, and is not declared lost.
    let mut responses = 0;
    while responses < 5 {
        match tokio::time::timeout(T, events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            RemoteEvent::HeartbeatResponse(from) => {
                assert_eq!(&from, b.unique_address());
                responses += 1;
            }
            RemoteEvent::AddressTerminated(_) => panic!("declared lost while answering"),
            _ => {}
        }
    }
    let b_address = b.address().clone();
    b.shutdown().await;
    let mut lost = false;
    let mut terminated = None;
    while !(lost && terminated.is_some()) {
        match tokio::time::timeout(T, events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            RemoteEvent::AddressTerminated(addr) => {
                assert_eq!(addr, b_address);
                lost = true;
            }
            RemoteEvent::Terminated {
                actor,
                address_terminated,
                ..
            } => {
                assert!(address_terminated);
                terminated = Some(actor);
            }
            _ => {}
        }
    }
    assert_eq!(terminated.as_deref(), Some(path.as_str()));
    a.shutdown().await;
}

#[tokio::test]
async fn shutdown_flushes_with_actor_system_terminating() {
    let a = RemoteNode::start(settings("A")).await.unwrap();
    let (b, path) = echo_node(settings("B")).await;
    a.send_string(&path, "hi", Some(T)).await.unwrap().unwrap();
    let mut events = b.subscribe();
    let report = a.shutdown().await;
    assert!(report.flush_sent >= 2, "{report:?}");
    assert_eq!(report.flush_acked, report.flush_sent, "{report:?}");
    loop {
        if let RemoteEvent::PeerTerminating(from) = tokio::time::timeout(T, events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            assert_eq!(&from, a.unique_address());
            break;
        }
    }
    b.shutdown().await;
}

#[tokio::test]
async fn compression_tables_round_trip_between_rekko_nodes() {
    let a = RemoteNode::start(settings("A")).await.unwrap();
    let mut sb = settings("B");
    sb.compression_actor_refs_interval = Duration::from_millis(100);
    sb.compression_manifests_interval = Duration::from_millis(100);
    let (b, path) = echo_node(sb).await;
    let mut b_events = b.subscribe();
    let mut a_events = a.subscribe();
    // A keeps asking until B advertised a table with the echo path and A
    // acknowledged it.
    let mut installed = false;
    let mut acked = false;
    let mut n = 0;
    while !(installed && acked) {
        a.send_string(&path, &format!("warm {n}"), Some(T))
            .await
            .unwrap()
            .unwrap();
        n += 1;
        while let Ok(e) = a_events.try_recv() {
            if let RemoteEvent::CompressionTableInstalled { keys, .. } = e {
                installed |= keys.contains(&path);
            }
        }
        while let Ok(e) = b_events.try_recv() {
            if let RemoteEvent::CompressionAdvertisementAcked {
                actor_refs: true, ..
            } = e
            {
                acked = true;
            }
        }
    }
    let sent_before = a.compressed_sends();
    for i in 0..10 {
        let text = format!("compressed {i}");
        let r = a.send_string(&path, &text, Some(T)).await.unwrap().unwrap();
        assert_eq!(r.message.as_text(), Some(text));
    }
    assert!(a.compressed_sends() >= sent_before + 10);
    assert!(b.decompressed_receives() >= 10);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn bad_protobuf_and_unknown_manifests_are_dropped_connection_lives() {
    use artery_wire::control::ArteryMessage;
    use artery_wire::{Address, UniqueAddress};

    let (b, echo) = echo_node(settings("B")).await;
    let (mut events, mut s) = connect_raw(&b).await;
    // Handshake as a fake peer (nobody listens there; B's reply is lost).
    let me = UniqueAddress::new(Address::new("Fake", "127.0.0.1", 1), 4242);
    let hs = ArteryMessage::HandshakeReq {
        from: me,
        to: b.address().clone(),
    };
    let root = format!("{}/", b.address());
    let frames: Vec<(i32, &str, &str, &[u8])> = vec![
        (17, "d", "", &[]),                  // placeholder for the handshake
        (17, "j", &echo, b"\xff\xff"),       // bad SystemMessageEnvelope
        (17, "z", "", b""),                  // unknown control manifest
        (16, "A", &echo, b"\x0a\xff"),       // truncated Identify
        (6, "", &root, b"\x1a\x02\x08\x07"), // selection with a bad pattern type
    ];
    let mut buf = bytes::BytesMut::from(&b"AKKA\x02"[..]);
    for (i, (ser, manifest, recipient, payload)) in frames.iter().enumerate() {
        let payload = if i == 0 {
            hs.encode()
        } else {
            bytes::Bytes::copy_from_slice(payload)
        };
        Envelope::new(
            4242,
            *ser,
            Field::empty(),
            Field::optional((!recipient.is_empty()).then_some(*recipient)),
            Field::literal(manifest),
            payload,
        )
        .encode_frame(&mut buf)
        .unwrap();
    }
    s.write_all(&buf).await.unwrap();
    let mut reasons = Vec::new();
    while reasons.len() < 4 {
        reasons.push(next_dropped(&mut events).await);
    }
    let all = reasons.join("\n");
    assert!(all.contains("SystemMessageEnvelope"), "{all}");
    assert!(all.contains("\"z\""), "{all}");
    assert!(all.contains("Identify"), "{all}");
    assert!(all.contains("selection"), "{all}");

    // The node still serves a real peer.
    still_serves(&echo, "ok").await;
    b.shutdown().await;
}

#[tokio::test]
async fn stopping_a_watched_endpoint_notifies_the_remote_watcher() {
    let a = RemoteNode::start(settings("A")).await.unwrap();
    let (b, path) = echo_node(settings("B")).await;
    let mut events = a.subscribe();
    a.watch(&path).await.unwrap();
    // A's heartbeats follow the Watch on A's control connection, so B's
    // first heartbeat answer means B has registered the watch.
    loop {
        if let RemoteEvent::HeartbeatResponse(_) = tokio::time::timeout(T, events.recv())
            .await
            .unwrap()
            .unwrap()
        {
            break;
        }
    }
    b.unregister("/user/echo");
    let (actor, confirmed) = next_terminated(&mut events, T).await;
    assert_eq!(actor, path);
    assert!(confirmed);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_full_outbound_queue_refuses_further_messages() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut s = settings("A");
    s.outbound_message_queue_size = 10;
    let a = RemoteNode::start(s).await.unwrap();
    let path = format!("pekko://B@127.0.0.1:{port}/user/x");
    // Nothing leaves while no handshake completed: ten fit, the eleventh not.
    for i in 0..10 {
        a.tell(&path, None, SerializedMessage::string(&i.to_string()))
            .unwrap();
    }
    let err = a
        .tell(&path, None, SerializedMessage::string("one too many"))
        .unwrap_err();
    assert!(
        matches!(
            err,
            rekko_remote::RemoteError::QueueFull {
                stream: "ordinary",
                ..
            }
        ),
        "{err}"
    );
    a.shutdown().await;
}
