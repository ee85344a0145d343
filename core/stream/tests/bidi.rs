//! `BidiFlow`: the codec and framing protocol stack from Pekko's BidiFlow documentation,
//! `atop`, `reversed`, `join` and materialized values.

use rekko_stream::prelude::*;

#[derive(Debug, Clone, PartialEq)]
enum Message {
    Ping(i32),
    Pong(i32),
}

fn to_bytes(msg: Message) -> Vec<u8> {
    let (tag, id) = match msg {
        Message::Ping(id) => (1u8, id),
        Message::Pong(id) => (2u8, id),
    };
    let mut out = vec![tag];
    out.extend_from_slice(&id.to_le_bytes());
    out
}

fn from_bytes(bytes: Vec<u8>) -> Result<Message, StreamError> {
    let id = bytes
        .get(1..5)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(i32::from_le_bytes)
        .ok_or_else(|| StreamError::msg(format!("parse error: short message {bytes:?}")))?;
    match bytes[0] {
        1 => Ok(Message::Ping(id)),
        2 => Ok(Message::Pong(id)),
        other => Err(StreamError::msg(format!(
            "parse error: expected 1|2 got {other}"
        ))),
    }
}

fn codec() -> BidiFlow<Message, Vec<u8>, Vec<u8>, Message> {
    BidiFlow::from_flows(Flow::new().map(to_bytes), Flow::new().try_map(from_bytes))
}

fn add_length_header(bytes: Vec<u8>) -> Vec<u8> {
    let mut out = (bytes.len() as u32).to_le_bytes().to_vec();
    out.extend(bytes);
    out
}

/// Reassembles length-prefixed frames from chunks of any size (Pekko docs' `FrameParser`).
fn frame_parser() -> Flow<Vec<u8>, Vec<u8>> {
    Flow::new()
        .stateful_map(
            Vec::<u8>::new,
            |stash: &mut Vec<u8>, chunk: Vec<u8>| {
                stash.extend(chunk);
                let mut frames = Vec::new();
                while stash.len() >= 4 {
                    let len = u32::from_le_bytes([stash[0], stash[1], stash[2], stash[3]]) as usize;
                    if stash.len() < 4 + len {
                        break;
                    }
                    frames.push(stash[4..4 + len].to_vec());
                    stash.drain(..4 + len);
                }
                frames
            },
            |_| None,
        )
        .map_concat(|frames| frames)
}

fn framing() -> BidiFlow<Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>> {
    BidiFlow::from_flows(Flow::new().map(add_length_header), frame_parser())
}

#[tokio::test]
async fn protocol_stack_plugged_into_its_own_inverse() {
    let stack = codec().atop(framing());
    let pingpong = Flow::new().collect(|m: Message| match m {
        Message::Ping(id) => Some(Message::Pong(id)),
        Message::Pong(_) => None,
    });
    let flow = stack.clone().atop(stack.reversed()).join(pingpong);
    let result = Source::iter((0..10).map(Message::Ping))
        .via(flow)
        .limit(20)
        .run_with(Sink::seq())
        .await
        .unwrap();
    assert_eq!(result, (0..10).map(Message::Pong).collect::<Vec<_>>());
}

#[tokio::test]
async fn framing_survives_arbitrary_chunking() {
    // payloads -> length header -> cut into 3-byte chunks -> frame parser -> payloads
    let rechunk = Flow::new()
        .map_concat(|bytes: Vec<u8>| bytes.chunks(3).map(<[u8]>::to_vec).collect::<Vec<_>>());
    let flow = framing().join(rechunk);
    let payloads: Vec<Vec<u8>> = (0..20u8).map(|n| (0..n).collect()).collect();
    let got = Source::iter(payloads.clone())
        .via(flow)
        .run_with(Sink::seq())
        .await
        .unwrap();
    assert_eq!(got, payloads);
}

#[tokio::test]
async fn decoding_error_fails_the_stream() {
    // what comes back on the wire is not a message
    let flow = codec().join(Flow::new().map(|_: Vec<u8>| vec![9u8, 0, 0, 0, 0]));
    let err = Source::single(Message::Ping(1))
        .via(flow)
        .run_with(Sink::seq())
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "parse error: expected 1|2 got 9");
}

#[tokio::test]
async fn from_functions_reversed_and_materialized_values() {
    let top = Flow::<i32, i32, ()>::new()
        .map(|x| x + 1)
        .map_materialized_value(|_| "top");
    let bottom = Flow::<String, String, ()>::new()
        .map(|s: String| s.len())
        .map_materialized_value(|_| "bottom");
    let layer = BidiFlow::from_flows_mat(top, bottom, Keep::both);
    let outer = BidiFlow::from_functions(|x: i32| x * 10, |n: usize| n as i64);
    let stack = outer.atop_mat(layer, |l, r| (l, r));
    // stack: i32 -(*10)-> -(+1)-> i32 ; String -(len)-> -(as i64)-> i64
    let flow = stack.join_mat(
        Flow::<i32, i32, ()>::new()
            .map(|x| "x".repeat(x as usize))
            .map_materialized_value(|_| 5),
        Keep::both,
    );
    let ((((), (t, b)), five), out) = Source::iter(vec![1, 2])
        .via_mat(flow, Keep::right)
        .to_mat(Sink::seq(), Keep::both)
        .run();
    assert_eq!((t, b, five), ("top", "bottom", 5));
    assert_eq!(out.await.unwrap(), vec![11i64, 21]);

    // reversed turns the layer around
    let rev = BidiFlow::from_functions(|x: i32| x + 1, |s: String| s.len()).reversed();
    let flow = rev.join(Flow::new().map(|n: usize| n as i32 * 100));
    let got = Source::iter(vec!["a".to_string(), "abc".to_string()])
        .via(flow)
        .run_with(Sink::seq())
        .await
        .unwrap();
    // top is now String -(len)-> usize, bottom i32 -(+1)-> i32
    assert_eq!(got, vec![101, 301]);
}

#[tokio::test]
async fn single_bidi_kill_switch_terminates_both_directions() {
    use rekko_stream::testkit::{Probe, ProbeSource, Signal};
    let flow = KillSwitches::single_bidi::<i32, i32>()
        .join_mat(Flow::new().map(|x: i32| x * 2), Keep::left);
    let source = ProbeSource::of(vec![1, 2, 3], false)
        .concat(Source::never())
        .via_mat(flow, Keep::both);

    let (elems, (stats, switch)) = source.clone().into_stream_mat();
    let mut probe = Probe::new(elems);
    assert_eq!(probe.request(3).await.0, vec![2, 4, 6]);
    switch.shutdown();
    assert!(matches!(probe.request_next().await, Signal::Complete));
    assert!(stats.cancelled(), "the top arm cancelled its upstream");

    let (elems, (_, switch)) = source.into_stream_mat();
    let mut probe = Probe::new(elems);
    assert!(matches!(probe.request_next().await, Signal::Next(2)));
    switch.abort(StreamError::msg("killed"));
    match probe.request_next().await {
        Signal::Error(e) => assert_eq!(e.to_string(), "killed"),
        other => panic!("expected the abort, got {other:?}"),
    }
}
