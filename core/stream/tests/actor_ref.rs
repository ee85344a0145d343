//! `Source::actor_ref_with_ack` and `Sink::actor_ref_with_backpressure` with
//! `rekko-actor` actors.
#![cfg(feature = "actor")]

use std::sync::Arc;

use parking_lot::Mutex;
use rekko_actor::{
    ActorPath, ActorRef, ActorRefTarget, ActorSystem, ActorSystemSettings, Address, Behaviors,
    SystemHandle,
};
use rekko_stream::prelude::*;
use rekko_stream::testkit::{ProbeSource, ProbeStats};
use rekko_stream::{ActorFlow, ActorSourceMsg, StreamError};
use tokio::sync::mpsc;

fn settings() -> ActorSystemSettings {
    let mut s = ActorSystemSettings::default();
    s.coordinated_shutdown.run_by_jvm_shutdown_hook = false;
    s
}

#[derive(Clone)]
enum Producer {
    Start(ActorRef<ActorSourceMsg<u32>>),
    Ack,
}

/// The stage ref and the number of acks received.
type ProducerState = (Option<ActorRef<ActorSourceMsg<u32>>>, u32);

/// An actor that sends 0..n to the stream, each only after the previous ack.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_source_emits_each_element_after_its_ack() {
    let n = 500u32;
    let state: Arc<Mutex<ProducerState>> = Arc::new(Mutex::new((None, 0)));
    let s = state.clone();
    let producer = Behaviors::receive_message(move |m: Producer| {
        let mut st = s.lock();
        match m {
            Producer::Start(r) => {
                r.tell(ActorSourceMsg::Element(0));
                st.0 = Some(r);
            }
            Producer::Ack => {
                st.1 += 1;
                let next = st.1;
                if let Some(r) = &st.0 {
                    if next < n {
                        r.tell(ActorSourceMsg::Element(next));
                    } else {
                        r.tell(ActorSourceMsg::Complete);
                    }
                }
            }
        }
        Behaviors::same()
    });
    let sys = ActorSystem::new(producer, "actor-source", settings()).expect("system");
    let (stage, all) = Source::actor_ref_with_ack(sys.guardian().clone(), Producer::Ack)
        .to_mat(Sink::seq(), Keep::both)
        .run();
    sys.tell(Producer::Start(stage));
    assert_eq!(all.await.expect("completes"), (0..n).collect::<Vec<_>>());
    assert_eq!(state.lock().1, n, "one ack per element");
    sys.terminate();
}

struct Counter(Arc<Mutex<usize>>);
impl ActorRefTarget<()> for Counter {
    fn tell(&self, (): ()) {
        *self.0.lock() += 1;
    }
    fn path(&self) -> ActorPath {
        ActorPath::root(Address::local("test")).child("acks")
    }
}

#[tokio::test(flavor = "current_thread")]
async fn actor_source_fails_on_an_element_before_the_ack() {
    let acks = Arc::new(Mutex::new(0));
    let ack_to = ActorRef::from_target(Arc::new(Counter(acks.clone())));
    let (stage, all) = Source::actor_ref_with_ack(ack_to, ())
        .to_mat(Sink::seq(), Keep::both)
        .run();
    stage.tell(ActorSourceMsg::Element(1u8));
    stage.tell(ActorSourceMsg::Element(2u8));
    assert!(all.await.is_err());
    assert_eq!(*acks.lock(), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn actor_source_fail_message_fails_the_stream() {
    let ack_to = ActorRef::from_target(Arc::new(Counter(Arc::new(Mutex::new(0)))));
    let (stage, all) = Source::<u8, _>::actor_ref_with_ack(ack_to, ())
        .to_mat(Sink::seq(), Keep::both)
        .run();
    stage.tell(ActorSourceMsg::Element(7));
    stage.tell(ActorSourceMsg::Fail(StreamError::msg("stop")));
    // The element was acknowledged only after it was taken; the failure follows it.
    assert!(all.await.is_err());
}

#[derive(Clone, PartialEq, Debug)]
struct Ack;

#[derive(Clone)]
enum Consumer {
    Init(ActorRef<Ack>),
    Elem(ActorRef<Ack>, u32),
    Done,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Init,
    Elem(u32),
    Done,
    Failed(String),
}

fn consumer(tx: mpsc::UnboundedSender<Seen>) -> rekko_actor::Behavior<Consumer> {
    Behaviors::receive_message(move |m: Consumer| {
        match m {
            Consumer::Init(ack) => {
                let _ = tx.send(Seen::Init);
                ack.tell(Ack);
            }
            Consumer::Elem(ack, x) => {
                let _ = tx.send(Seen::Elem(x));
                ack.tell(Ack);
            }
            Consumer::Done => {
                let _ = tx.send(Seen::Done);
            }
            Consumer::Failed(e) => {
                let _ = tx.send(Seen::Failed(e));
            }
        }
        Behaviors::same()
    })
}

/// What the consumer saw, up to and including `Done` or `Failed`.
async fn seen_until_the_end(rx: &mut mpsc::UnboundedReceiver<Seen>) -> Vec<Seen> {
    let mut seen = Vec::new();
    while let Some(s) = rx.recv().await {
        let done = matches!(s, Seen::Done | Seen::Failed(_));
        seen.push(s);
        if done {
            break;
        }
    }
    seen
}

/// The sink under test, speaking the `Consumer` protocol to `target`.
fn consumer_sink(sys: &SystemHandle, target: ActorRef<Consumer>) -> Sink<u32, ()> {
    Sink::actor_ref_with_backpressure(
        sys,
        target,
        Consumer::Elem,
        Consumer::Init,
        Ack,
        Consumer::Done,
        |e| Consumer::Failed(e.to_string()),
    )
}

/// Runs `items` (then `tail`) into `sink`: how many elements were pulled, and the stream's
/// termination as seen between source and sink.
fn run_probe_into(
    items: Vec<u32>,
    tail: Source<u32, ()>,
    sink: Sink<u32, ()>,
) -> (Arc<ProbeStats>, StreamFuture<()>) {
    ProbeSource::of(items, false)
        .concat(tail)
        .via_mat(Flow::watch_termination(), Keep::both)
        .to_mat(sink, Keep::left)
        .run()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_sink_sends_init_elements_and_completion_with_acks() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sys = ActorSystem::new(consumer(tx), "actor-sink", settings()).expect("system");
    Source::iter(0..100u32).run_with(consumer_sink(&sys, sys.guardian().clone()));
    let seen = seen_until_the_end(&mut rx).await;
    let mut expected = vec![Seen::Init];
    expected.extend((0..100).map(Seen::Elem));
    expected.push(Seen::Done);
    assert_eq!(seen, expected);
    sys.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_sink_reports_upstream_failure() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sys = ActorSystem::new(consumer(tx), "actor-sink-fail", settings()).expect("system");
    Source::iter(0..2u32)
        .concat(Source::failed(StreamError::msg("boom")))
        .run_with(consumer_sink(&sys, sys.guardian().clone()));
    let seen = seen_until_the_end(&mut rx).await;
    // as in Pekko the failure is sent at once: elements still waiting for an ack are dropped
    assert_eq!(seen.first(), Some(&Seen::Init));
    assert!(matches!(seen.last(), Some(Seen::Failed(m)) if m.contains("boom")));
    let elems = &seen[1..seen.len() - 1];
    assert_eq!(elems, &[Seen::Elem(0), Seen::Elem(1)][..elems.len()]);
    sys.terminate();
}

/// The sink sends the next element only after the actor acknowledged the previous message,
/// and pulls ahead at most its input buffer (16, as Pekko's stage) meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_sink_waits_for_the_ack() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    // A slow actor: it reports what it got and keeps the ack refs, acknowledging nothing.
    let kept = Arc::new(Mutex::new(Vec::new()));
    let kept_by_actor = kept.clone();
    let silent = Behaviors::receive_message(move |m: Consumer| {
        match m {
            Consumer::Init(ack) => {
                kept_by_actor.lock().push(ack);
                let _ = tx.send(Seen::Init);
            }
            Consumer::Elem(ack, x) => {
                kept_by_actor.lock().push(ack);
                let _ = tx.send(Seen::Elem(x));
            }
            _ => {}
        }
        Behaviors::same()
    });
    let sys = ActorSystem::new(silent, "actor-sink-silent", settings()).expect("system");
    let (stats, _) = run_probe_into(
        (0..100).collect(),
        Source::empty(),
        consumer_sink(&sys, sys.guardian().clone()),
    );
    assert_eq!(rx.recv().await, Some(Seen::Init));
    // Let the sink's task run on after sending init: it must not send an element.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(rx.try_recv().is_err(), "no element before the init ack");
    assert!(stats.pulled() <= 16, "pulled ahead {} > 16", stats.pulled());

    let init_ack = kept.lock()[0].clone();
    init_ack.tell(Ack);
    assert_eq!(rx.recv().await, Some(Seen::Elem(0)));
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(rx.try_recv().is_err(), "one message at a time");
    assert!(
        stats.pulled() <= 17,
        "pulled ahead {} > 16 + 1 sent",
        stats.pulled()
    );
    sys.terminate();
}

const WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Like Pekko's stage on the `Terminated` of its target: when the target stops, the sink
/// completes and cancels upstream (no further element is pulled).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_sink_cancels_upstream_when_the_target_stops() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let stops_at_3 = Behaviors::receive_message(move |m: Consumer| match m {
        Consumer::Init(ack) => {
            ack.tell(Ack);
            Behaviors::same()
        }
        Consumer::Elem(ack, x) => {
            let _ = tx.send(x);
            if x == 3 {
                Behaviors::stopped()
            } else {
                ack.tell(Ack);
                Behaviors::same()
            }
        }
        _ => Behaviors::same(),
    });
    let sys = ActorSystem::new(
        Behaviors::ignore::<()>(),
        "actor-sink-target-stops",
        settings(),
    )
    .expect("system");
    let target = sys.system_actor_of(stops_at_3, "target").expect("target");
    let (stats, terminated) = run_probe_into(
        (0..100).collect(),
        Source::empty(),
        consumer_sink(&sys, target),
    );
    tokio::time::timeout(WAIT, terminated)
        .await
        .expect("the stream ends once the target stopped")
        .expect("upstream is cancelled, not failed");
    assert!(
        stats.pulled() <= 4 + 16,
        "elements 0..=3 were sent and at most 16 pulled ahead, got {}",
        stats.pulled()
    );
    let mut seen = Vec::new();
    while let Ok(x) = rx.try_recv() {
        seen.push(x);
    }
    assert_eq!(seen, vec![0, 1, 2, 3]);
    sys.terminate();
}

/// A target that is already stopped when the stream starts: the init message goes to dead
/// letters and the sink cancels upstream without pulling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_sink_to_a_stopped_target_cancels_upstream() {
    let stops = Behaviors::receive_message(|m: Consumer| match m {
        Consumer::Done => Behaviors::stopped(),
        _ => Behaviors::same(),
    });
    let sys = ActorSystem::new(stops, "actor-sink-target-gone", settings()).expect("system");
    let target = sys.guardian().clone();
    target.tell(Consumer::Done);
    tokio::time::timeout(WAIT, sys.when_terminated())
        .await
        .expect("the target stops");
    let (stats, terminated) = run_probe_into(
        (0..10).collect(),
        Source::empty(),
        consumer_sink(&sys, target),
    );
    tokio::time::timeout(WAIT, terminated)
        .await
        .expect("the stream ends")
        .expect("upstream is cancelled, not failed");
    assert_eq!(stats.pulled(), 0);
}

/// The target stops while the sink waits for upstream (which has nothing to give): the
/// death watch ends the sink at once, as Pekko's `Terminated` handling does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_sink_notices_the_target_stopping_while_upstream_is_idle() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let stops_after_ack_of_1 = Behaviors::receive_message(move |m: Consumer| match m {
        Consumer::Init(ack) => {
            ack.tell(Ack);
            Behaviors::same()
        }
        Consumer::Elem(ack, x) => {
            ack.tell(Ack);
            let _ = tx.send(x);
            if x == 1 {
                Behaviors::stopped()
            } else {
                Behaviors::same()
            }
        }
        _ => Behaviors::same(),
    });
    let sys =
        ActorSystem::new(Behaviors::ignore::<()>(), "actor-sink-idle", settings()).expect("system");
    let target = sys
        .system_actor_of(stops_after_ack_of_1, "target")
        .expect("target");
    // two elements, then an upstream that never completes
    let (_, terminated) = run_probe_into(vec![0, 1], Source::never(), consumer_sink(&sys, target));
    tokio::time::timeout(WAIT, terminated)
        .await
        .expect("the sink ends although upstream sends nothing more")
        .expect("upstream is cancelled, not failed");
    assert_eq!(rx.recv().await, Some(0));
    assert_eq!(rx.recv().await, Some(1));
    sys.terminate();
}

#[tokio::test]
async fn actor_source_without_ack_buffers_and_drains_on_complete() {
    let (r, out) = Source::<u32, _>::actor_ref(8, OverflowStrategy::DropHead)
        .to_mat(Sink::seq(), Keep::both)
        .run();
    for i in 0..3 {
        r.tell(ActorSourceMsg::Element(i));
    }
    r.tell(ActorSourceMsg::Complete);
    r.tell(ActorSourceMsg::Element(99)); // after completion: dropped
    assert_eq!(out.await.unwrap(), vec![0, 1, 2]);
}

#[tokio::test]
async fn actor_source_without_ack_applies_its_overflow_strategy() {
    use rekko_stream::testkit::{Probe, Signal};
    // nobody pulls yet: a buffer of 2 keeps the newest two with DropHead
    let (elems, r) = Source::<u32, _>::actor_ref(2, OverflowStrategy::DropHead).into_stream_mat();
    for i in 0..5 {
        r.tell(ActorSourceMsg::Element(i));
    }
    r.tell(ActorSourceMsg::Complete);
    let (xs, end) = Probe::new(elems).to_end().await;
    assert_eq!(xs, vec![3, 4]);
    assert!(matches!(end, Signal::Complete));

    // Backpressure cannot hold an actor back: overflowing fails the stream
    let (elems, r) =
        Source::<u32, _>::actor_ref(2, OverflowStrategy::Backpressure).into_stream_mat();
    for i in 0..3 {
        r.tell(ActorSourceMsg::Element(i));
    }
    let (_, end) = Probe::new(elems).to_end().await;
    match end {
        Signal::Error(e) => assert!(e.to_string().contains("not supported"), "{e}"),
        other => panic!("expected a failure, got {other:?}"),
    }

    // Fail fails at once, skipping buffered elements
    let (elems, r) = Source::<u32, _>::actor_ref(4, OverflowStrategy::DropNew).into_stream_mat();
    r.tell(ActorSourceMsg::Element(1));
    r.tell(ActorSourceMsg::Fail(StreamError::msg("boom")));
    let (xs, end) = Probe::new(elems).to_end().await;
    assert!(xs.is_empty());
    assert!(matches!(end, Signal::Error(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_sink_without_ack_tells_elements_then_completion() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sys = ActorSystem::new(Behaviors::ignore::<()>(), "actor-sink-no-ack", settings())
        .expect("system");
    let collector = Behaviors::receive_message(move |m: Seen| {
        let _ = tx.send(m);
        Behaviors::same()
    });
    let target = sys.system_actor_of(collector, "collector").expect("target");
    Source::iter(0..5u32)
        .map(Seen::Elem)
        .run_with(Sink::actor_ref(&sys, target, Seen::Done, |e| {
            Seen::Failed(e.to_string())
        }));
    let seen = seen_until_the_end(&mut rx).await;
    let mut expected: Vec<Seen> = (0..5).map(Seen::Elem).collect();
    expected.push(Seen::Done);
    assert_eq!(seen, expected);

    // a target that stops ends the sink although upstream never completes
    let stops = Behaviors::receive_message(|_: Seen| Behaviors::stopped());
    let target = sys.system_actor_of(stops, "stops").expect("target");
    let terminated = Source::single(Seen::Init)
        .concat(Source::never())
        .via_mat(Flow::watch_termination(), Keep::right)
        .to_mat(
            Sink::actor_ref(&sys, target, Seen::Done, |e| Seen::Failed(e.to_string())),
            Keep::left,
        )
        .run();
    tokio::time::timeout(WAIT, terminated)
        .await
        .expect("the sink ends once the target stopped")
        .expect("upstream is cancelled, not failed");
    sys.terminate();
}

enum Calc {
    Double(u32, ActorRef<u32>),
    Checked(u32, ActorRef<rekko_actor::StatusReply<u32>>),
    Ignore(ActorRef<u32>),
}

fn calculator() -> rekko_actor::Behavior<Calc> {
    Behaviors::receive_message(|m: Calc| {
        match m {
            Calc::Double(x, reply_to) => reply_to.tell(x * 2),
            Calc::Checked(x, reply_to) if x < 3 => {
                reply_to.tell(rekko_actor::StatusReply::success(x))
            }
            Calc::Checked(x, reply_to) => {
                reply_to.tell(rekko_actor::StatusReply::error(format!("{x} is too big")))
            }
            Calc::Ignore(reply_to) => drop(reply_to), // never answers
        }
        Behaviors::same()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actor_flow_ask_emits_replies_in_order() {
    let sys =
        ActorSystem::new(Behaviors::ignore::<()>(), "actor-flow-ask", settings()).expect("system");
    let calc = sys.system_actor_of(calculator(), "calc").expect("calc");
    let doubled = Source::iter(1..=20u32)
        .via(ActorFlow::ask(4, calc.clone(), WAIT, Calc::Double))
        .run_with(Sink::seq())
        .await
        .unwrap();
    assert_eq!(doubled, (1..=20).map(|x| x * 2).collect::<Vec<_>>());

    // an error status reply fails the stream
    let err = Source::iter(0..5u32)
        .via(ActorFlow::ask_with_status(
            2,
            calc.clone(),
            WAIT,
            Calc::Checked,
        ))
        .run_with(Sink::seq())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("3 is too big"), "{err}");

    // no reply: the ask times out and fails the stream
    let err = Source::single(0u32)
        .via(ActorFlow::ask(
            1,
            calc,
            std::time::Duration::from_millis(50),
            |_, reply_to: ActorRef<u32>| Calc::Ignore(reply_to),
        ))
        .run_with(Sink::seq())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    sys.terminate();
}
