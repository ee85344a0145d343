//! `PartitionHub`: routing, start-up, back-pressure by the consumer that falls behind,
//! consumers attaching and detaching, completion and failure.

use std::time::Duration;

use rekko_stream::prelude::*;
use rekko_stream::testkit::{Probe, ProbeSource, Signal};
use rekko_stream::ConsumerInfo;

const QUIET: Duration = Duration::from_millis(200);

/// Runs a queue source into `hub`: the queue to offer to and the hub's consumer source.
fn offered_into<T: Send + 'static>(
    hub: Sink<T, Source<T, ()>>,
) -> (rekko_stream::SourceQueue<T>, Source<T, ()>) {
    Source::queue(16, OverflowStrategy::Backpressure)
        .to_mat(hub, Keep::both)
        .run()
}

#[tokio::test(start_paused = true)]
async fn routes_by_index_after_enough_consumers_attached() {
    let hub = Source::iter(0..10).run_with(PartitionHub::sink(
        |size, x: &i32| Some(*x as usize % size),
        2,
        16,
    ));
    let mut a = Probe::of(hub.clone());
    // one consumer of two: the hub has not started, nothing arrives
    assert!(matches!(
        a.request_next_within(QUIET).await,
        Signal::Nothing
    ));
    let mut b = Probe::of(hub.clone());
    let (xs, end) = a.to_end().await;
    assert_eq!(xs, vec![0, 2, 4, 6, 8]);
    assert!(matches!(end, Signal::Complete));
    let (ys, end) = b.to_end().await;
    assert_eq!(ys, vec![1, 3, 5, 7, 9]);
    assert!(matches!(end, Signal::Complete));
    // a consumer attaching after completion completes at once
    let (late, end) = Probe::of(hub).to_end().await;
    assert!(late.is_empty() && matches!(end, Signal::Complete));
}

#[tokio::test(start_paused = true)]
async fn none_drops_and_out_of_range_index_fails() {
    let hub = Source::iter(0..6).run_with(PartitionHub::sink(
        |_, x: &i32| (x % 2 == 0).then_some(0),
        1,
        16,
    ));
    assert_eq!(hub.run_with(Sink::seq()).await.unwrap(), vec![0, 2, 4]);

    let hub = Source::iter(0..3).run_with(PartitionHub::sink(|_, _: &i32| Some(5), 1, 16));
    let err = hub.run_with(Sink::seq()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "PartitionHub: partitioner chose index 5 of 1 consumers"
    );

    // a stateful partitioner choosing an id that is not attached
    let hub = Source::iter(0..3).run_with(PartitionHub::stateful_sink(
        || |_: &ConsumerInfo<'_>, _: &i32| Some(42),
        1,
        16,
    ));
    let err = hub.run_with(Sink::seq()).await.unwrap_err();
    assert!(err.to_string().contains("consumer id 42"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn slowest_relevant_consumer_back_pressures_within_the_buffer() {
    // everything goes to consumer 0, which does not pull: the hub holds at most 4
    let (stats, hub) = ProbeSource::of((0..100).collect::<Vec<i32>>(), false)
        .to_mat(PartitionHub::sink(|_, _: &i32| Some(0), 1, 4), Keep::both)
        .run();
    let mut slow = Probe::of(hub.clone());
    assert!(matches!(
        Probe::of(hub.clone()).request_next_within(QUIET).await,
        Signal::Nothing
    ));
    assert_eq!(
        stats.pulled(),
        4,
        "buffer of 4 is full, producer back-pressured"
    );
    // taking two frees two slots
    assert!(matches!(slow.request_next().await, Signal::Next(0)));
    assert!(matches!(slow.request_next().await, Signal::Next(1)));
    assert!(matches!(
        Probe::of(hub).request_next_within(QUIET).await,
        Signal::Nothing
    ));
    assert_eq!(stats.pulled(), 6);
    let (rest, end) = slow.to_end().await;
    assert_eq!(rest, (2..100).collect::<Vec<_>>());
    assert!(matches!(end, Signal::Complete));
}

#[tokio::test(start_paused = true)]
async fn elements_wait_for_the_first_consumer_with_start_after_zero() {
    let (stats, hub) = ProbeSource::of((0..10).collect::<Vec<i32>>(), false)
        .to_mat(PartitionHub::sink(|_, _: &i32| Some(0), 0, 3), Keep::both)
        .run();
    tokio::time::sleep(QUIET).await; // let the hub run with no consumer
    assert_eq!(
        stats.pulled(),
        3,
        "holds up to its buffer before any consumer"
    );
    assert_eq!(
        hub.run_with(Sink::seq()).await.unwrap(),
        (0..10).collect::<Vec<_>>()
    );
}

#[tokio::test(start_paused = true)]
async fn detached_consumer_loses_its_queue_and_others_continue() {
    let (q, hub) = offered_into(PartitionHub::stateful_sink(
        || {
            let mut next = 0usize;
            move |info: &ConsumerInfo<'_>, _: &u64| {
                next += 1;
                info.consumer_id_by_idx(next % info.size())
            }
        },
        2,
        16,
    ));
    let mut a = Probe::of(hub.clone());
    let mut b = Probe::of(hub.clone());
    for i in 0..4 {
        q.offer_async(i).await;
    }
    // round robin over two: b gets 0 and 2, a gets 1 and 3
    assert!(matches!(b.request_next().await, Signal::Next(0)));
    assert!(matches!(a.request_next().await, Signal::Next(1)));
    b.cancel(); // element 2 queued for b is dropped with it
    for i in 4..7 {
        q.offer_async(i).await;
    }
    q.complete();
    let (xs, end) = a.to_end().await;
    assert_eq!(xs, vec![3, 4, 5, 6]);
    assert!(matches!(end, Signal::Complete));
}

#[tokio::test(start_paused = true)]
async fn least_loaded_partitioner_sees_queue_sizes() {
    let (q, hub) = offered_into(PartitionHub::stateful_sink(
        || {
            |info: &ConsumerInfo<'_>, _: &u64| {
                info.consumer_ids()
                    .iter()
                    .copied()
                    .min_by_key(|id| info.queue_size(*id))
            }
        },
        2,
        16,
    ));
    let mut a = Probe::of(hub.clone());
    let mut b = Probe::of(hub.clone());
    for i in 0..4 {
        q.offer_async(i).await;
    }
    // alternate while both queues grow: 0 -> a (ties go to the lowest id), 1 -> b, ...
    assert!(matches!(a.request_next().await, Signal::Next(0)));
    assert!(matches!(a.request_next().await, Signal::Next(2)));
    // a drained its queue, b holds 1 and 3: the next two go to a
    for i in 4..6 {
        q.offer_async(i).await;
    }
    assert!(matches!(a.request_next().await, Signal::Next(4)));
    assert!(matches!(a.request_next().await, Signal::Next(5)));
    q.complete();
    assert_eq!(b.to_end().await.0, vec![1, 3]);
}

#[tokio::test(start_paused = true)]
async fn failure_reaches_every_consumer_at_once() {
    let (q, hub) = offered_into(PartitionHub::sink(
        |size, x: &i32| Some(*x as usize % size),
        2,
        16,
    ));
    let mut a = Probe::of(hub.clone());
    let mut b = Probe::of(hub.clone());
    q.offer_async(0).await;
    q.offer_async(2).await;
    tokio::time::sleep(QUIET).await; // both queued for a
    q.fail(StreamError::msg("boom"));
    // b has nothing queued: it sees the failure as soon as the hub does
    assert!(matches!(b.request_next().await, Signal::Error(_)));
    // the failure skips a's queued elements
    let sa = a.request_next().await;
    assert!(matches!(sa, Signal::Error(_)), "{sa:?}");
    assert!(matches!(
        Probe::of(hub).request_next().await,
        Signal::Error(_)
    ));
}

#[tokio::test(start_paused = true)]
async fn held_elements_reach_a_consumer_attaching_while_upstream_is_idle() {
    // start_after 0: the hub pulls before any consumer and holds what it got
    let (q, hub) = offered_into(PartitionHub::sink(|_, _: &i32| Some(0), 0, 16));
    for i in 0..3 {
        q.offer_async(i).await;
    }
    tokio::time::sleep(QUIET).await; // the hub holds 0..3, upstream is idle
    let mut a = Probe::of(hub);
    // the held elements are routed when `a` attaches, so completing now loses nothing
    q.complete();
    let (xs, end) = a.to_end().await;
    assert_eq!(xs, vec![0, 1, 2]);
    assert!(matches!(end, Signal::Complete));
}
