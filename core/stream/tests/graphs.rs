//! Sources, sinks, junctions (combinator API), hubs and `futures::Stream` interop.

use futures::StreamExt;
use rekko_stream::prelude::*;
use rekko_stream::testkit::{Probe, ProbeSource, Signal};

async fn collect<T: Send + 'static, M: 'static>(s: Source<T, M>) -> Result<Vec<T>, StreamError> {
    s.run_with(Sink::seq()).await
}

#[tokio::test]
async fn basic_sources() {
    assert_eq!(collect(Source::single(5)).await.unwrap(), vec![5]);
    assert!(collect(Source::<i32>::empty()).await.unwrap().is_empty());
    assert!(collect(Source::<i32>::failed(StreamError::msg("x")))
        .await
        .is_err());
    assert_eq!(
        collect(Source::repeat(1).take(3)).await.unwrap(),
        vec![1, 1, 1]
    );
    assert_eq!(
        collect(Source::cycle(vec![1, 2]).take(5)).await.unwrap(),
        vec![1, 2, 1, 2, 1]
    );
    assert_eq!(
        collect(Source::unfold(0, |s| (s < 3).then_some((s + 1, s * 10))))
            .await
            .unwrap(),
        vec![0, 10, 20]
    );
    let s = Source::unfold_async(0, |s| async move { (s < 3).then_some((s + 1, s)) });
    assert_eq!(collect(s).await.unwrap(), vec![0, 1, 2]);
    let f = Source::future(async { 42 });
    assert_eq!(collect(f.clone()).await.unwrap(), vec![42]);
    assert_eq!(
        collect(f).await.unwrap(),
        vec![42],
        "future source is reusable"
    );
    assert_eq!(
        collect(Source::future_source(async { Source::iter(1..=2) }))
            .await
            .unwrap(),
        vec![1, 2]
    );
}

#[tokio::test]
async fn from_stream_is_single_use_and_from_stream_fn_reusable() {
    let s = Source::from_stream(futures::stream::iter(vec![1, 2, 3]));
    assert_eq!(collect(s.clone()).await.unwrap(), vec![1, 2, 3]);
    assert!(matches!(
        collect(s).await,
        Err(StreamError::AlreadyMaterialized(_))
    ));
    let s = Source::from_stream_fn(|| futures::stream::iter(vec![1, 2]));
    assert_eq!(collect(s.clone()).await.unwrap(), vec![1, 2]);
    assert_eq!(collect(s).await.unwrap(), vec![1, 2]);
    let s = Source::from_try_stream(futures::stream::iter(vec![
        Ok(1),
        Err(StreamError::msg("bad")),
    ]));
    assert!(collect(s).await.is_err());
}

#[tokio::test]
async fn into_stream_both_ways() {
    let v: Vec<_> = Source::iter(1..=3)
        .map(|x| x + 1)
        .into_stream()
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(v, vec![2, 3, 4]);
    let s = Source::iter(1..=3).run_with(Sink::into_stream());
    let v: Vec<_> = s.map(|r| r.unwrap()).collect().await;
    assert_eq!(v, vec![1, 2, 3]);
}

#[tokio::test]
async fn sinks() {
    assert_eq!(
        Source::iter(1..=4)
            .run_with(Sink::fold(0, |a, x| a + x))
            .await
            .unwrap(),
        10
    );
    assert_eq!(
        Source::iter(1..=4)
            .run_with(Sink::reduce(|a: i32, b: i32| a.max(b)))
            .await
            .unwrap(),
        4
    );
    assert_eq!(Source::iter(1..=4).run_with(Sink::last()).await.unwrap(), 4);
    assert_eq!(
        Source::<i32>::empty()
            .run_with(Sink::last_option())
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        Source::<i32>::empty().run_with(Sink::head()).await,
        Err(StreamError::NoSuchElement { .. })
    ));
    assert_eq!(
        Source::<i32>::empty()
            .run_with(Sink::head_option())
            .await
            .unwrap(),
        None
    );
    assert!(Source::iter(1..=4).run_with(Sink::ignore()).await.is_ok());
    assert!(Source::<i32>::failed(StreamError::msg("x"))
        .run_with(Sink::ignore())
        .await
        .is_err());
    let seen = std::sync::Arc::new(parking_lot::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    Source::iter(1..=3)
        .run_for_each(move |x| s2.lock().push(x))
        .await
        .unwrap();
    assert_eq!(*seen.lock(), vec![1, 2, 3]);
}

#[tokio::test]
async fn head_cancels_upstream() {
    let (stats, head) = ProbeSource::of((0..100).collect::<Vec<u32>>(), false)
        .to_mat(Sink::head(), Keep::both)
        .run();
    assert_eq!(head.await.unwrap(), 0);
    assert_eq!(stats.pulled(), 1);
    assert!(stats.cancelled());
}

#[tokio::test]
async fn sink_queue_pulls_on_demand() {
    let q = Source::iter(1..=3).run_with(Sink::queue());
    assert_eq!(q.pull().await.unwrap(), Some(1));
    assert_eq!(q.pull().await.unwrap(), Some(2));
    assert_eq!(q.pull().await.unwrap(), Some(3));
    assert_eq!(q.pull().await.unwrap(), None);
}

#[tokio::test]
async fn source_queue_overflow_strategies() {
    for (strategy, expect) in [
        (OverflowStrategy::DropHead, vec![3, 4]),
        (OverflowStrategy::DropTail, vec![1, 4]),
        (OverflowStrategy::DropBuffer, vec![3, 4]),
        (OverflowStrategy::DropNew, vec![1, 2]),
    ] {
        let (s, q) = Source::<i32, _>::queue(2, strategy).into_stream_mat();
        for i in 1..=4 {
            q.offer(i);
        }
        q.complete();
        assert_eq!(Probe::new(s).to_end().await.0, expect, "{strategy:?}");
    }
    let (s, q) = Source::<i32, _>::queue(1, OverflowStrategy::Fail).into_stream_mat();
    q.offer(1);
    assert!(matches!(q.offer(2), QueueOfferResult::Failure(_)));
    assert!(matches!(
        Probe::new(s).request_next().await,
        Signal::Error(StreamError::BufferOverflow { .. })
    ));
}

#[tokio::test]
async fn source_queue_reports_cancellation() {
    let (s, q) = Source::<i32, _>::queue(4, OverflowStrategy::Backpressure).into_stream_mat();
    drop(s);
    assert!(matches!(q.offer(1), QueueOfferResult::QueueClosed));
    assert!(q.watch_completion().await.is_ok());
}

#[tokio::test]
async fn merge_completes_when_all_complete() {
    let mut out = collect(Source::iter(vec![1, 3, 5]).merge(Source::iter(vec![2, 4])))
        .await
        .unwrap();
    out.sort();
    assert_eq!(out, vec![1, 2, 3, 4, 5]);
    let mut all = collect(Source::merge_all(vec![
        Source::iter(0..3),
        Source::iter(10..13),
        Source::iter(20..23),
    ]))
    .await
    .unwrap();
    all.sort();
    assert_eq!(all, vec![0, 1, 2, 10, 11, 12, 20, 21, 22]);
}

#[tokio::test]
async fn merge_preferred_prefers_its_side() {
    let out = collect(Source::iter(vec![1, 2, 3]).merge_preferred(Source::iter(vec![10, 20])))
        .await
        .unwrap();
    assert_eq!(out, vec![1, 2, 3, 10, 20]);
}

#[tokio::test]
async fn zip_completes_with_shorter_side() {
    assert_eq!(
        collect(Source::iter(1..=5).zip(Source::iter(vec!['a', 'b'])))
            .await
            .unwrap(),
        vec![(1, 'a'), (2, 'b')]
    );
    assert_eq!(
        collect(Source::iter(1..=3).zip_with(Source::iter(10..), |a, b| a + b))
            .await
            .unwrap(),
        vec![11, 13, 15]
    );
}

#[tokio::test]
async fn concat_prepend_or_else() {
    assert_eq!(
        collect(Source::iter(1..=2).concat(Source::iter(3..=4)))
            .await
            .unwrap(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(
        collect(Source::iter(1..=2).prepend(Source::iter(3..=4)))
            .await
            .unwrap(),
        vec![3, 4, 1, 2]
    );
    assert_eq!(
        collect(Source::<i32>::empty().or_else(Source::single(9)))
            .await
            .unwrap(),
        vec![9]
    );
    assert_eq!(
        collect(Source::single(1).or_else(Source::single(9)))
            .await
            .unwrap(),
        vec![1]
    );
    assert_eq!(
        collect(Source::concat_all(vec![
            Source::single(1),
            Source::single(2)
        ]))
        .await
        .unwrap(),
        vec![1, 2]
    );
}

#[tokio::test]
async fn concat_does_not_pull_second_before_first_completes() {
    let (second_stream, stats) = ProbeSource::of(vec![100u32], false).into_stream_mat();
    let second = Source::from_stream(second_stream.map(|r| r.unwrap()));
    let (s, q) = Source::<u32, _>::queue(4, OverflowStrategy::Backpressure)
        .concat(second)
        .into_stream_mat();
    let mut p = Probe::new(s);
    q.offer(1);
    assert_eq!(p.request_next().await.element(), 1);
    assert_eq!(
        stats.pulled(),
        0,
        "second source untouched while the first is running"
    );
    q.complete();
    assert_eq!(p.request_next().await.element(), 100);
    assert_eq!(stats.pulled(), 1);
}

#[tokio::test]
async fn broadcast_waits_for_slowest_and_tolerates_cancel() {
    let outs = Source::iter(1..=5).run_with(Sink::broadcast(vec![Sink::seq(), Sink::seq()], false));
    for o in outs {
        assert_eq!(o.await.unwrap(), vec![1, 2, 3, 4, 5]);
    }
    // one output takes only the head: the others still get everything (eager_cancel = false)
    let heads = Source::iter(1..=5).run_with(Sink::broadcast(
        vec![Sink::head_option(), Sink::last_option()],
        false,
    ));
    let mut it = heads.into_iter();
    assert_eq!(it.next().unwrap().await.unwrap(), Some(1));
    assert_eq!(it.next().unwrap().await.unwrap(), Some(5));
    // with eager cancel the whole fan-out stops
    let heads = Source::iter(1..=1_000_000).run_with(Sink::broadcast(
        vec![Sink::head_option(), Sink::last_option()],
        true,
    ));
    let mut it = heads.into_iter();
    assert_eq!(it.next().unwrap().await.unwrap(), Some(1));
    assert!(it.next().unwrap().await.unwrap().unwrap() < 1_000_000);
}

#[tokio::test]
async fn balance_spreads_elements_once() {
    let outs =
        Source::iter(0..100).run_with(Sink::balance(vec![Sink::seq(), Sink::seq(), Sink::seq()]));
    let mut all = Vec::new();
    for o in outs {
        all.extend(o.await.unwrap());
    }
    all.sort();
    assert_eq!(all, (0..100).collect::<Vec<_>>());
}

#[tokio::test]
async fn partition_routes_by_function() {
    let outs = Source::iter(0..10).run_with(Sink::partition(vec![Sink::seq(), Sink::seq()], |x| {
        (*x % 2) as usize
    }));
    let mut it = outs.into_iter();
    assert_eq!(it.next().unwrap().await.unwrap(), vec![0, 2, 4, 6, 8]);
    assert_eq!(it.next().unwrap().await.unwrap(), vec![1, 3, 5, 7, 9]);
    let outs = Source::iter(0..10).run_with(Sink::partition(vec![Sink::seq()], |_| 5));
    assert!(
        outs.into_iter().next().unwrap().await.is_err(),
        "index out of range fails"
    );
}

#[tokio::test]
async fn fan_out_failure_reaches_every_output() {
    let outs = Source::iter(1..=2)
        .concat(Source::failed(StreamError::msg("x")))
        .run_with(Sink::broadcast(vec![Sink::seq(), Sink::seq()], false));
    for o in outs {
        assert!(o.await.is_err());
    }
}

#[tokio::test]
async fn merge_hub_merges_dynamic_producers() {
    let (hub_sink, first_10) = MergeHub::source::<i32>(16)
        .take(10)
        .to_mat(Sink::seq(), Keep::both)
        .run();
    Source::iter(0..5).run_with(hub_sink.clone());
    Source::iter(100..105).run_with(hub_sink.clone());
    let mut got = first_10.await.unwrap();
    got.sort();
    assert_eq!(got, vec![0, 1, 2, 3, 4, 100, 101, 102, 103, 104]);
}

#[tokio::test]
async fn merge_hub_producer_failure_does_not_fail_hub() {
    let (hub_sink, out) = MergeHub::source::<i32>(4)
        .take(3)
        .to_mat(Sink::seq(), Keep::both)
        .run();
    Source::<i32>::failed(StreamError::msg("producer")).run_with(hub_sink.clone());
    Source::iter(1..=3).run_with(hub_sink);
    assert_eq!(out.await.unwrap(), vec![1, 2, 3]);
}

#[tokio::test]
async fn broadcast_hub_fans_out_to_dynamic_consumers() {
    let (q, hub_source) = Source::<i32, _>::queue(16, OverflowStrategy::Backpressure)
        .to_mat(BroadcastHub::sink(8), Keep::both)
        .run();
    let a = hub_source.clone().run_with(Sink::seq());
    let b = hub_source.clone().run_with(Sink::seq());
    tokio::task::yield_now().await;
    for i in 1..=5 {
        q.offer_async(i).await;
    }
    q.complete();
    assert_eq!(a.await.unwrap(), vec![1, 2, 3, 4, 5]);
    assert_eq!(b.await.unwrap(), vec![1, 2, 3, 4, 5]);
    // attaching after completion completes at once
    assert!(hub_source.run_with(Sink::seq()).await.unwrap().is_empty());
}

#[tokio::test]
async fn flows_compose_and_keep_materialized_values() {
    let flow = Flow::<i32, i32, ()>::new()
        .map(|x| x + 1)
        .via_mat(KillSwitches::single(), Keep::right);
    let sink = flow.clone().to_mat(Sink::seq(), Keep::both);
    let (_ks, out) = Source::iter(1..=3).run_with(sink);
    assert_eq!(out.await.unwrap(), vec![2, 3, 4]);
    let (_, out) = flow.run_with(Source::iter(1..=2), Sink::seq());
    assert_eq!(out.await.unwrap(), vec![2, 3]);
    let g = Source::iter(1..=3)
        .to_mat(Sink::fold(0, |a, x| a + x), Keep::right)
        .map_materialized_value(|f| f);
    assert_eq!(g.run().await.unwrap(), 6);
}

#[tokio::test]
async fn async_boundary_runs_upstream_in_another_task() {
    let out = collect(
        Source::iter(0..10_000)
            .map(|x| x + 1)
            .async_boundary()
            .filter(|x| x % 2 == 0),
    )
    .await
    .unwrap();
    assert_eq!(out.len(), 5_000);
    let small = Source::iter(0..100)
        .async_boundary()
        .with_attributes(Attributes::input_buffer(1));
    assert_eq!(collect(small).await.unwrap(), (0..100).collect::<Vec<_>>());
}
