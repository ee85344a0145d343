//! The receiver and sender state machines wired to each other through
//! simulated lanes, without I/O: random scheduling of downstream pulls,
//! upstream elements and message deliveries.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use rekko_remote::SerializedMessage;
use rekko_stream_refs::codec;
use rekko_stream_refs::receiver::{Effect, Receiver};
use rekko_stream_refs::sender::Sender;
use rekko_stream_refs::{StreamRefError, StreamRefMessage, StreamRefSettings};

const R: &str = "pekko://B@127.0.0.1:2/system/s/$$a-SourceRef-0";
const S: &str = "pekko://A@127.0.0.1:1/system/s/$$a-SinkRef-0#17";

fn elem(i: usize) -> SerializedMessage {
    SerializedMessage::string(&i.to_string())
}

#[derive(Default)]
struct World {
    to_sender: VecDeque<StreamRefMessage>,
    to_receiver: VecDeque<StreamRefMessage>,
    received: Vec<SerializedMessage>,
    sender_pulled: bool,
    receiver_done: Option<Effect>,
    sender_done: Option<Effect>,
    max_demand_seen: i64,
    sent: i64,
}

impl World {
    fn receiver_effects(&mut self, r: &mut Receiver) {
        for e in r.take_effects() {
            match e {
                Effect::Send { to, msg } => {
                    assert!(to == S || to.starts_with(S.split('#').next().unwrap()));
                    self.to_sender.push_back(msg)
                }
                Effect::Push(x) => self.received.push(x),
                Effect::Watch(_) | Effect::Unwatch(_) => {}
                done => self.receiver_done = Some(done),
            }
        }
    }

    fn sender_effects(&mut self, s: &mut Sender) {
        for e in s.take_effects() {
            match e {
                Effect::Send { to, msg } => {
                    assert_eq!(to, R);
                    assert!(
                        !matches!(msg, StreamRefMessage::SequencedOnNext { .. }),
                        "elements are Effect::Element"
                    );
                    self.to_receiver.push_back(msg)
                }
                Effect::Element { seq_nr, payload } => {
                    assert_eq!(s.partner(), Some(R), "elements go to the partner");
                    assert!(seq_nr < self.max_demand_seen, "sent beyond demand");
                    assert_eq!(seq_nr, self.sent);
                    self.sent += 1;
                    // Through the wire form the driver sends.
                    let wire = codec::sequenced_on_next(seq_nr, &payload);
                    let msg = StreamRefMessage::from_serialized(&wire).expect("decodes");
                    assert_eq!(
                        msg,
                        StreamRefMessage::SequencedOnNext {
                            seq_nr,
                            payload: payload.clone()
                        }
                    );
                    self.to_receiver.push_back(msg)
                }
                Effect::Pull => self.sender_pulled = true,
                Effect::Watch(_) | Effect::Unwatch(_) | Effect::CancelUpstream(_) => {}
                done => self.sender_done = Some(done),
            }
        }
    }
}

proptest! {
    /// Every element arrives exactly once and in order, the receiver never
    /// buffers beyond its capacity, the sender never exceeds the demand, and
    /// both stages end cleanly (the receiver completes; the sender completes
    /// on the receiver's termination).
    #[test]
    fn elements_flow_exactly_once_within_demand(
        n in 0usize..200,
        capacity in 1usize..40,
        schedule in proptest::collection::vec(0u8..4, 0..4000),
    ) {
        let settings = StreamRefSettings::default().with_buffer_capacity(capacity);
        let now = Instant::now();
        let mut r = Receiver::target(R, S, settings.clone(), now);
        let mut s = Sender::origin(S, settings, now);
        let mut w = World::default();
        let mut next = 0usize;
        let mut steps = schedule.into_iter().chain(std::iter::repeat_with(|| 0u8).flat_map(|_| [0, 1, 2, 3]));
        for _ in 0..100_000 {
            if w.receiver_done.is_some() && w.sender_done.is_some() { break; }
            match steps.next().unwrap_or(0) {
                0 => { r.on_pull(now); w.receiver_effects(&mut r); }
                1 => if let Some(m) = w.to_sender.pop_front() {
                    if let StreamRefMessage::CumulativeDemand(d) = m { w.max_demand_seen = w.max_demand_seen.max(d); }
                    s.on_message(Some(R), m); w.sender_effects(&mut s);
                },
                2 => if let Some(m) = w.to_receiver.pop_front() {
                    r.on_message(Some(S), m, now); w.receiver_effects(&mut r);
                    prop_assert!(r.buffered() <= capacity);
                },
                _ => if w.sender_pulled {
                    w.sender_pulled = false;
                    if next < n { s.on_element(elem(next)); next += 1; } else { s.on_upstream_finish(Ok(())); }
                    w.sender_effects(&mut s);
                },
            }
            if r.is_finished() && w.sender_done.is_none() && w.to_receiver.is_empty() {
                // The receiver stopped: its watchers learn it.
                s.on_terminated(R);
                w.sender_effects(&mut s);
            }
        }
        prop_assert_eq!(w.receiver_done, Some(Effect::Complete));
        prop_assert_eq!(w.sender_done, Some(Effect::Complete));
        let expected: Vec<_> = (0..n).map(elem).collect();
        prop_assert_eq!(w.received, expected);
    }
}

#[test]
fn demand_follows_the_watermarks() {
    let now = Instant::now();
    let mut r = Receiver::target(R, S, StreamRefSettings::default(), now);
    assert_eq!(r.take_effects(), vec![Effect::Watch(S.into())]);
    r.on_pull(now);
    assert_eq!(
        r.take_effects(),
        vec![Effect::Send {
            to: S.into(),
            msg: StreamRefMessage::CumulativeDemand(32)
        }]
    );
    r.on_message(
        Some(S),
        StreamRefMessage::OnSubscribeHandshake(S.into()),
        now,
    );
    let mut demands = Vec::new();
    for i in 0..17 {
        r.on_message(
            Some(S),
            StreamRefMessage::SequencedOnNext {
                seq_nr: i,
                payload: elem(i as usize),
            },
            now,
        );
        r.on_pull(now);
        for e in r.take_effects() {
            if let Effect::Send {
                msg: StreamRefMessage::CumulativeDemand(d),
                ..
            } = e
            {
                demands.push(d);
            }
        }
    }
    assert_eq!(demands, vec![49]);
}

#[test]
fn too_many_elements_overflow_and_gaps_fail() {
    let now = Instant::now();
    let settings = StreamRefSettings::default().with_buffer_capacity(2);
    let mut r = Receiver::target(R, S, settings.clone(), now);
    for i in 0..3 {
        r.on_message(
            Some(S),
            StreamRefMessage::SequencedOnNext {
                seq_nr: i,
                payload: elem(0),
            },
            now,
        );
    }
    assert!(r
        .take_effects()
        .contains(&Effect::Fail(StreamRefError::BufferOverflow {
            capacity: 2
        })));

    let mut r = Receiver::target(R, S, settings, now);
    r.on_message(
        Some(S),
        StreamRefMessage::SequencedOnNext {
            seq_nr: 1,
            payload: elem(0),
        },
        now,
    );
    assert!(r.take_effects().iter().any(|e| matches!(
        e,
        Effect::Fail(StreamRefError::InvalidSequenceNumber {
            expected: 0,
            got: 1,
            ..
        })
    )));
}

#[test]
fn foreign_sender_is_an_invalid_partner() {
    let now = Instant::now();
    let mut r = Receiver::target(R, S, StreamRefSettings::default(), now);
    r.on_message(
        Some("pekko://X@127.0.0.1:9/user/other"),
        StreamRefMessage::OnSubscribeHandshake(S.into()),
        now,
    );
    assert!(r
        .take_effects()
        .iter()
        .any(|e| matches!(e, Effect::Fail(StreamRefError::InvalidPartner { .. }))));
}

#[test]
fn element_before_the_handshake_starts_the_stream_and_foreign_elements_fail() {
    let now = Instant::now();
    let mut r = Receiver::target(R, S, StreamRefSettings::default(), now);
    r.on_pull(now);
    r.take_effects();
    // The partner's first element may overtake its handshake.
    r.on_message(
        Some(S),
        StreamRefMessage::SequencedOnNext {
            seq_nr: 0,
            payload: elem(0),
        },
        now,
    );
    assert_eq!(r.take_effects(), vec![Effect::Push(elem(0))]);
    // Running: no subscription timeout any more, only demand redelivery.
    assert_eq!(r.next_deadline(), Some(now + Duration::from_secs(1)));
    r.on_pull(now);
    r.on_message(
        Some(S.split('#').next().unwrap()),
        StreamRefMessage::SequencedOnNext {
            seq_nr: 1,
            payload: elem(1),
        },
        now,
    );
    assert_eq!(r.take_effects(), vec![Effect::Push(elem(1))]);
    r.on_message(
        Some("pekko://X@127.0.0.1:9/user/other"),
        StreamRefMessage::SequencedOnNext {
            seq_nr: 2,
            payload: elem(2),
        },
        now,
    );
    assert!(r.take_effects().iter().any(|e| matches!(
        e,
        Effect::Fail(StreamRefError::InvalidPartner { expected, .. }) if expected == S
    )));
    assert!(r.is_finished());
}

#[test]
fn timers_follow_the_settings() {
    let now = Instant::now();
    let settings = StreamRefSettings::default();
    // Subscription timeout: no partner within 30 s.
    let mut r = Receiver::origin(R, settings.clone(), now);
    assert_eq!(r.next_deadline(), Some(now + Duration::from_secs(30)));
    r.on_timer(now + Duration::from_secs(29));
    assert!(!r.is_finished());
    r.on_timer(now + Duration::from_secs(30));
    assert!(matches!(
        r.take_effects().last(),
        Some(Effect::Fail(StreamRefError::SubscriptionTimeout(_)))
    ));

    // Demand redelivery after 1 s of demand silence while running.
    let mut r = Receiver::target(R, S, settings.clone(), now);
    r.on_pull(now);
    r.on_message(
        Some(S),
        StreamRefMessage::OnSubscribeHandshake(S.into()),
        now,
    );
    r.take_effects();
    r.on_timer(now + Duration::from_secs(1));
    assert_eq!(
        r.take_effects(),
        vec![Effect::Send {
            to: S.into(),
            msg: StreamRefMessage::CumulativeDemand(32)
        }]
    );

    // Partner terminated: a late completion is still clean within the
    // final-termination-signal deadline; without one the stage fails.
    let t = now + Duration::from_secs(5);
    r.on_terminated(S, t);
    assert_eq!(
        r.next_deadline(),
        Some(t + Duration::from_secs(2)).min(r.next_deadline())
    );
    r.on_timer(t + Duration::from_secs(2));
    assert!(matches!(
        r.take_effects().last(),
        Some(Effect::Fail(StreamRefError::RemoteTerminated(_)))
    ));

    // An origin sender that never sees demand fails after the subscription timeout.
    let mut s = Sender::origin(S, settings, now);
    s.on_timer(now + Duration::from_secs(30));
    assert!(matches!(
        s.take_effects().last(),
        Some(Effect::Fail(StreamRefError::SubscriptionTimeout(_)))
    ));
}

#[test]
fn cancellation_exchange() {
    let now = Instant::now();
    let settings = StreamRefSettings::default();
    let mut r = Receiver::target(R, S, settings.clone(), now);
    r.on_pull(now);
    r.on_message(
        Some(S),
        StreamRefMessage::OnSubscribeHandshake(S.into()),
        now,
    );
    r.take_effects();
    r.on_downstream_cancel(false, now);
    let effects = r.take_effects();
    assert!(effects.contains(&Effect::Send {
        to: S.into(),
        msg: StreamRefMessage::RemoteStreamCompleted(0)
    }));

    let mut s = Sender::target(S, R, settings);
    s.take_effects();
    s.on_message(Some(R), StreamRefMessage::RemoteStreamCompleted(0));
    let effects = s.take_effects();
    assert!(effects.contains(&Effect::CancelUpstream(None)));
    assert!(effects.contains(&Effect::Send {
        to: R.into(),
        msg: StreamRefMessage::Ack
    }));

    r.on_message(Some(S), StreamRefMessage::Ack, now);
    assert_eq!(r.take_effects(), vec![Effect::Cancelled]);
}

#[test]
fn sender_failure_reaches_the_receiver_as_remote_terminated() {
    let now = Instant::now();
    let mut r = Receiver::target(R, S, StreamRefSettings::default(), now);
    r.on_message(
        Some(S),
        StreamRefMessage::RemoteStreamFailure("boom".into()),
        now,
    );
    match r.take_effects().last() {
        Some(Effect::Fail(StreamRefError::RemoteTerminated(m))) => assert!(m.contains("boom")),
        other => panic!("unexpected {other:?}"),
    }
}
