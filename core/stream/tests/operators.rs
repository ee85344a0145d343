//! One test (at least) per operator, checking Pekko's documented semantics.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rekko_stream::prelude::*;
use rekko_stream::testkit::{Probe, ProbeSource, Signal};

async fn collect<T: Send + 'static, M: 'static>(s: Source<T, M>) -> Result<Vec<T>, StreamError> {
    s.run_with(Sink::seq()).await
}

fn boom() -> StreamError {
    StreamError::msg("boom")
}

#[tokio::test]
async fn map_transforms_each_element() {
    assert_eq!(
        collect(Source::iter(1..=3).map(|x| x * 10)).await.unwrap(),
        vec![10, 20, 30]
    );
}

#[tokio::test]
async fn filter_and_filter_not() {
    assert_eq!(
        collect(Source::iter(1..=6).filter(|x| x % 2 == 0))
            .await
            .unwrap(),
        vec![2, 4, 6]
    );
    assert_eq!(
        collect(Source::iter(1..=6).filter_not(|x| x % 2 == 0))
            .await
            .unwrap(),
        vec![1, 3, 5]
    );
}

#[tokio::test]
async fn collect_filters_and_maps() {
    let out = collect(Source::iter(1..=6).collect(|x| (x % 3 == 0).then(|| x.to_string())))
        .await
        .unwrap();
    assert_eq!(out, vec!["3".to_string(), "6".to_string()]);
}

#[tokio::test]
async fn map_concat_flattens_collections() {
    assert_eq!(
        collect(Source::iter(1..=3).map_concat(|x| vec![x; x]))
            .await
            .unwrap(),
        vec![1, 2, 2, 3, 3, 3]
    );
}

#[tokio::test]
async fn stateful_map_keeps_state_and_emits_on_complete() {
    let s = Source::iter(vec![1, 1, 2, 2, 2, 3]).stateful_map(
        || None::<i32>,
        |last, x| {
            let changed = *last != Some(x);
            *last = Some(x);
            (x, changed)
        },
        |last| last.map(|x| (x * 100, true)),
    );
    let out: Vec<_> = collect(s)
        .await
        .unwrap()
        .into_iter()
        .filter(|(_, c)| *c)
        .map(|(x, _)| x)
        .collect();
    assert_eq!(out, vec![1, 2, 3, 300]);
}

#[tokio::test]
async fn fold_emits_aggregate_on_completion_and_zero_on_empty() {
    assert_eq!(
        collect(Source::iter(1..=4).fold(0, |a, x| a + x))
            .await
            .unwrap(),
        vec![10]
    );
    assert_eq!(
        collect(Source::<i32>::empty().fold(7, |a, x| a + x))
            .await
            .unwrap(),
        vec![7]
    );
}

#[tokio::test]
async fn fold_emits_nothing_on_failure() {
    let r = collect(
        Source::iter(1..=3)
            .concat(Source::failed(boom()))
            .fold(0, |a, x| a + x),
    )
    .await;
    assert!(matches!(r, Err(StreamError::Message(_))));
}

#[tokio::test]
async fn scan_emits_zero_and_every_step() {
    assert_eq!(
        collect(Source::iter(1..=3).scan(0, |a, x| a + x))
            .await
            .unwrap(),
        vec![0, 1, 3, 6]
    );
    assert_eq!(
        collect(Source::<i32>::empty().scan(5, |a, x| a + x))
            .await
            .unwrap(),
        vec![5]
    );
}

#[tokio::test]
async fn reduce_combines_and_fails_when_empty() {
    assert_eq!(
        collect(Source::iter(1..=4).reduce(|a, b| a * b))
            .await
            .unwrap(),
        vec![24]
    );
    let r = collect(Source::<i32>::empty().reduce(|a, b| a + b)).await;
    assert!(matches!(r, Err(StreamError::NoSuchElement { .. })));
}

#[tokio::test]
async fn take_completes_and_cancels_upstream_after_n() {
    let (stream, stats) = ProbeSource::of((0..100).collect::<Vec<_>>(), false)
        .take(3)
        .into_stream_mat();
    let mut p = Probe::new(stream);
    let (xs, end) = p.to_end().await;
    assert_eq!(xs, vec![0, 1, 2]);
    assert!(matches!(end, Signal::Complete));
    assert_eq!(
        stats.pulled(),
        3,
        "take must not pull past the n-th element"
    );
    assert!(stats.cancelled());
}

#[tokio::test]
async fn take_zero_completes_immediately() {
    let (stream, stats) = ProbeSource::of(vec![1, 2, 3], false)
        .take(0)
        .into_stream_mat();
    let mut p = Probe::new(stream);
    assert!(matches!(p.request_next().await, Signal::Complete));
    assert_eq!(stats.pulled(), 0);
    assert!(stats.cancelled());
}

#[tokio::test]
async fn take_while_and_inclusive() {
    assert_eq!(
        collect(Source::iter(1..=10).take_while(|x| *x < 4))
            .await
            .unwrap(),
        vec![1, 2, 3]
    );
    assert_eq!(
        collect(Source::iter(1..=10).take_while_inclusive(|x| *x < 4))
            .await
            .unwrap(),
        vec![1, 2, 3, 4]
    );
}

#[tokio::test]
async fn drop_and_drop_while() {
    assert_eq!(
        collect(Source::iter(1..=5).drop(2)).await.unwrap(),
        vec![3, 4, 5]
    );
    assert_eq!(
        collect(Source::iter(vec![1, 2, 5, 1, 2]).drop_while(|x| *x < 3))
            .await
            .unwrap(),
        vec![5, 1, 2]
    );
}

#[tokio::test]
async fn grouped_emits_last_partial_chunk() {
    assert_eq!(
        collect(Source::iter(1..=5).grouped(2)).await.unwrap(),
        vec![vec![1, 2], vec![3, 4], vec![5]]
    );
    assert!(collect(Source::<i32>::empty().grouped(2))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn sliding_windows_follow_pekko() {
    assert_eq!(
        collect(Source::iter(1..=5).sliding(3, 1)).await.unwrap(),
        vec![vec![1, 2, 3], vec![2, 3, 4], vec![3, 4, 5]]
    );
    assert_eq!(
        collect(Source::iter(1..=4).sliding(3, 2)).await.unwrap(),
        vec![vec![1, 2, 3], vec![3, 4]]
    );
    assert_eq!(
        collect(Source::iter(1..=5).sliding(3, 2)).await.unwrap(),
        vec![vec![1, 2, 3], vec![3, 4, 5]]
    );
    assert_eq!(
        collect(Source::iter(1..=2).sliding(3, 1)).await.unwrap(),
        vec![vec![1, 2]]
    );
    assert_eq!(
        collect(Source::iter(1..=7).sliding(2, 3)).await.unwrap(),
        vec![vec![1, 2], vec![4, 5], vec![7]]
    );
}

#[tokio::test]
async fn zip_with_index_counts_from_zero() {
    assert_eq!(
        collect(Source::iter(vec!['a', 'b']).zip_with_index())
            .await
            .unwrap(),
        vec![('a', 0), ('b', 1)]
    );
}

#[tokio::test]
async fn map_async_preserves_order_and_bounds_parallelism() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let max_seen = Arc::new(AtomicUsize::new(0));
    let (f, m) = (in_flight.clone(), max_seen.clone());
    let s = Source::iter(0..50u64).map_async(4, move |x| {
        let (f, m) = (f.clone(), m.clone());
        async move {
            let now = f.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now, Ordering::SeqCst);
            // later elements finish first
            for _ in 0..(50 - x) % 7 {
                tokio::task::yield_now().await;
            }
            f.fetch_sub(1, Ordering::SeqCst);
            x * 2
        }
    });
    assert_eq!(
        collect(s).await.unwrap(),
        (0..50u64).map(|x| x * 2).collect::<Vec<_>>()
    );
    assert!(max_seen.load(Ordering::SeqCst) <= 4);
    assert!(
        max_seen.load(Ordering::SeqCst) >= 2,
        "futures should overlap"
    );
}

#[tokio::test]
async fn map_async_unordered_emits_all() {
    let s = Source::iter(0..30u64).map_async_unordered(5, |x| async move {
        for _ in 0..(x % 4) {
            tokio::task::yield_now().await;
        }
        x
    });
    let mut out = collect(s).await.unwrap();
    out.sort();
    assert_eq!(out, (0..30).collect::<Vec<_>>());
}

#[tokio::test]
async fn map_async_failure_fails_stream_and_resume_drops() {
    let f = |x: i32| async move {
        if x == 3 {
            Err(StreamError::msg("bad 3"))
        } else {
            Ok(x)
        }
    };
    let r = collect(Source::iter(1..=5).try_map_async(2, f)).await;
    assert!(r.is_err());
    let s = Source::iter(1..=5)
        .try_map_async(2, f)
        .with_attributes(Attributes::supervision(Supervision::resuming_decider()));
    assert_eq!(collect(s).await.unwrap(), vec![1, 2, 4, 5]);
}

#[tokio::test]
async fn try_map_supervision_stop_resume_restart() {
    let f = |x: i32| {
        if x == 0 {
            Err(StreamError::msg("div by zero"))
        } else {
            Ok(100 / x)
        }
    };
    assert!(collect(Source::iter(vec![1, 0, 2]).try_map(f))
        .await
        .is_err());
    let resumed = Source::iter(vec![1, 0, 2])
        .try_map(f)
        .with_attributes(Attributes::supervision(Supervision::resuming_decider()));
    assert_eq!(collect(resumed).await.unwrap(), vec![100, 50]);
    let restarted = Source::iter(vec![1, 0, 2])
        .try_map(f)
        .with_attributes(Attributes::supervision(Supervision::restarting_decider()));
    assert_eq!(collect(restarted).await.unwrap(), vec![100, 50]);
}

#[tokio::test]
async fn try_scan_restart_resets_state_resume_keeps_it() {
    let f = |a: &i32, x: i32| {
        if x < 0 {
            Err(StreamError::msg("negative"))
        } else {
            Ok(a + x)
        }
    };
    let resumed = Source::iter(vec![1, 2, -1, 3])
        .try_scan(0, f)
        .with_attributes(Attributes::supervision(Supervision::resuming_decider()));
    assert_eq!(collect(resumed).await.unwrap(), vec![0, 1, 3, 6]);
    let restarted = Source::iter(vec![1, 2, -1, 3])
        .try_scan(0, f)
        .with_attributes(Attributes::supervision(Supervision::restarting_decider()));
    assert_eq!(collect(restarted).await.unwrap(), vec![0, 1, 3, 3]);
}

#[tokio::test]
async fn try_fold_restart_starts_over() {
    let f = |a: i32, x: i32| {
        if x < 0 {
            Err(StreamError::msg("negative"))
        } else {
            Ok(a + x)
        }
    };
    let restarted = Source::iter(vec![1, 2, -1, 3])
        .try_fold(0, f)
        .with_attributes(Attributes::supervision(Supervision::restarting_decider()));
    assert_eq!(collect(restarted).await.unwrap(), vec![3]);
    assert!(collect(Source::iter(vec![1, -1]).try_fold(0, f))
        .await
        .is_err());
}

#[tokio::test]
async fn decider_can_choose_per_error() {
    let decider: Decider = Arc::new(|e: &StreamError| {
        if e.to_string().contains("skip") {
            Directive::Resume
        } else {
            Directive::Stop
        }
    });
    let f = |x: i32| match x {
        2 => Err(StreamError::msg("skip me")),
        4 => Err(StreamError::msg("fatal")),
        x => Ok(x),
    };
    let s = Source::iter(1..=5)
        .try_map(f)
        .with_attributes(Attributes::supervision(decider));
    let mut p = Probe::of(s);
    let (xs, end) = p.to_end().await;
    assert_eq!(xs, vec![1, 3]);
    assert!(matches!(end, Signal::Error(_)));
}
use rekko_stream::Decider;

#[tokio::test]
async fn inner_attributes_override_outer() {
    let f = |x: i32| {
        if x == 2 {
            Err(StreamError::msg("two"))
        } else {
            Ok(x)
        }
    };
    let inner = Flow::new()
        .try_map(f)
        .with_attributes(Attributes::supervision(Supervision::resuming_decider()));
    let s = Source::iter(1..=3)
        .via(inner)
        .with_attributes(Attributes::supervision(Supervision::stopping_decider()));
    assert_eq!(collect(s).await.unwrap(), vec![1, 3]);
}

#[tokio::test]
async fn flat_map_concat_runs_sources_in_order() {
    let s = Source::iter(1..=3).flat_map_concat(|x| Source::iter(vec![x; 2]));
    assert_eq!(collect(s).await.unwrap(), vec![1, 1, 2, 2, 3, 3]);
}

#[tokio::test]
async fn flat_map_merge_merges_all_inner_sources() {
    let s = Source::iter(0..10).flat_map_merge(3, |x| Source::iter(vec![x * 10, x * 10 + 1]));
    let mut out = collect(s).await.unwrap();
    out.sort();
    let mut expect: Vec<_> = (0..10).flat_map(|x| [x * 10, x * 10 + 1]).collect();
    expect.sort();
    assert_eq!(out, expect);
}

#[tokio::test]
async fn flat_map_failure_in_inner_fails_outer() {
    let s = Source::iter(1..=3).flat_map_concat(|x| {
        if x == 2 {
            Source::failed(boom())
        } else {
            Source::single(x)
        }
    });
    assert!(collect(s).await.is_err());
}

#[tokio::test]
async fn recover_emits_replacement_and_completes() {
    let s = Source::iter(1..=2)
        .concat(Source::failed(boom()))
        .concat(Source::single(99))
        .recover(|_| Some(-1));
    assert_eq!(collect(s).await.unwrap(), vec![1, 2, -1]);
}

#[tokio::test]
async fn recover_with_retries_switches_sources_and_respects_attempts() {
    let s = Source::iter(1..=2)
        .concat(Source::failed(boom()))
        .recover_with_retries(Some(1), |_| Some(Source::iter(vec![10, 11])));
    assert_eq!(collect(s).await.unwrap(), vec![1, 2, 10, 11]);
    let always_failing = Source::<i32>::failed(boom());
    let s2 = Source::single(1)
        .concat(Source::failed(boom()))
        .recover_with_retries(Some(2), move |_| Some(always_failing.clone()));
    assert!(
        collect(s2).await.is_err(),
        "third failure must not be recovered"
    );
}

#[tokio::test]
async fn map_error_translates() {
    let r =
        collect(Source::<i32>::failed(boom()).map_error(|_| StreamError::msg("translated"))).await;
    assert_eq!(r.unwrap_err().to_string(), "translated");
}

#[tokio::test]
async fn conflate_aggregates_while_downstream_is_slow() {
    let (q_source, q) = Source::<i32, _>::queue(100, OverflowStrategy::Backpressure)
        .conflate(|a, b| a + b)
        .into_stream_mat();
    let mut p = Probe::new(q_source);
    for i in 1..=10 {
        assert!(matches!(q.offer(i), QueueOfferResult::Enqueued));
    }
    q.complete();
    let (xs, end) = p.to_end().await;
    assert!(matches!(end, Signal::Complete));
    assert_eq!(xs.iter().sum::<i32>(), 55, "no element lost: {xs:?}");
    assert!(
        xs.len() < 10,
        "elements offered while downstream did not pull are conflated: {xs:?}"
    );
}

#[tokio::test]
async fn batch_respects_max() {
    let (s, q) = Source::<i32, _>::queue(100, OverflowStrategy::Backpressure)
        .batch(
            3,
            |x| vec![x],
            |mut v, x| {
                v.push(x);
                v
            },
        )
        .into_stream_mat();
    for i in 1..=10 {
        q.offer(i);
    }
    q.complete();
    let (xs, _) = Probe::new(s).to_end().await;
    assert!(xs.iter().all(|b| b.len() <= 3), "{xs:?}");
    assert_eq!(xs.concat(), (1..=10).collect::<Vec<_>>());
}

#[tokio::test]
async fn expand_repeats_last_element_when_upstream_is_slow() {
    let (s, q) = Source::<i32, _>::queue(4, OverflowStrategy::Backpressure)
        .expand(std::iter::repeat)
        .into_stream_mat();
    let mut p = Probe::new(s);
    q.offer(7);
    let got = p.request(3).await.0;
    assert_eq!(got, vec![7, 7, 7]);
    q.offer(8);
    assert_eq!(p.request_next().await.element(), 8);
    q.complete();
    assert!(matches!(p.request_next().await, Signal::Complete));
}

#[tokio::test]
async fn buffer_overflow_strategies() {
    async fn run(strategy: OverflowStrategy) -> (Vec<i32>, Signal<i32>) {
        // upstream offers 1..=6 before downstream pulls anything; buffer 3 (+1 in hand-off)
        let (s, q) = Source::<i32, _>::queue(16, OverflowStrategy::Backpressure)
            .buffer(3, strategy)
            .into_stream_mat();
        let mut p = Probe::new(s);
        q.offer(0);
        assert_eq!(p.request_next().await.element(), 0); // starts the buffer task
        for i in 1..=6 {
            q.offer(i);
        }
        // let the buffer task take everything it will take
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
        q.complete();
        p.to_end().await
    }
    let (xs, end) = run(OverflowStrategy::Backpressure).await;
    assert_eq!(xs, vec![1, 2, 3, 4, 5, 6]);
    assert!(matches!(end, Signal::Complete));
    let (xs, _) = run(OverflowStrategy::DropHead).await;
    assert_eq!(*xs.last().unwrap(), 6);
    assert!(xs.len() < 6 && !xs.contains(&2), "oldest dropped: {xs:?}");
    let (xs, _) = run(OverflowStrategy::DropTail).await;
    assert!(
        xs.contains(&6) && xs.len() < 6,
        "youngest buffered replaced by newest: {xs:?}"
    );
    let (xs, _) = run(OverflowStrategy::DropNew).await;
    assert!(
        !xs.contains(&6) && xs.contains(&1),
        "new elements dropped: {xs:?}"
    );
    let (xs, _) = run(OverflowStrategy::DropBuffer).await;
    assert!(xs.contains(&6) && xs.len() < 6, "{xs:?}");
    let (_, end) = run(OverflowStrategy::Fail).await;
    assert!(
        matches!(end, Signal::Error(StreamError::BufferOverflow { .. })),
        "{end:?}"
    );
}

#[tokio::test]
async fn group_by_merge_substreams() {
    let s = Source::iter(0..100)
        .group_by(10, |x| x % 10)
        .fold(0, |a, x| a + x)
        .merge_substreams();
    let mut out = collect(s).await.unwrap();
    out.sort();
    let mut expect: Vec<i32> = (0..10)
        .map(|k| (0..100).filter(|x| x % 10 == k).sum())
        .collect();
    expect.sort();
    assert_eq!(out, expect);
}

#[tokio::test]
async fn group_by_fails_on_too_many_substreams() {
    let r = collect(Source::iter(0..10).group_by(3, |x| *x).merge_substreams()).await;
    assert!(matches!(r, Err(StreamError::TooManySubstreams { max: 3 })));
}

#[tokio::test]
async fn group_by_drops_elements_for_closed_substreams() {
    let s = Source::iter(vec![1, 2, 1, 2, 1])
        .group_by(2, |x| *x)
        .take(1)
        .merge_substreams();
    let mut out = collect(s).await.unwrap();
    out.sort();
    assert_eq!(out, vec![1, 2]);
}

#[tokio::test]
async fn split_when_and_split_after() {
    let s = Source::iter(vec![1, 2, 0, 3, 0, 4])
        .split_when(|x| *x == 0)
        .grouped(10)
        .concat_substreams();
    assert_eq!(
        collect(s).await.unwrap(),
        vec![vec![1, 2], vec![0, 3], vec![0, 4]]
    );
    let s = Source::iter(vec![1, 2, 0, 3, 0, 4])
        .split_after(|x| *x == 0)
        .grouped(10)
        .concat_substreams();
    assert_eq!(
        collect(s).await.unwrap(),
        vec![vec![1, 2, 0], vec![3, 0], vec![4]]
    );
}

#[tokio::test]
async fn interleave_alternates_segments() {
    let s = Source::iter(vec![1, 2, 3, 4, 5]).interleave(Source::iter(vec![10, 20, 30]), 2);
    assert_eq!(collect(s).await.unwrap(), vec![1, 2, 10, 20, 3, 4, 30, 5]);
}

#[tokio::test]
async fn watch_termination_reports_completion_failure_and_cancel() {
    let (done, all) = Source::iter(1..=3)
        .via_mat(Flow::watch_termination(), Keep::right)
        .to_mat(Sink::seq(), Keep::both)
        .run();
    assert_eq!(all.await.unwrap(), vec![1, 2, 3]);
    assert!(done.await.is_ok());
    let (done, _) = Source::<i32>::failed(boom())
        .via_mat(Flow::watch_termination(), Keep::right)
        .to_mat(Sink::ignore(), Keep::both)
        .run();
    assert!(done.await.is_err());
    let (done, _) = Source::repeat(1)
        .via_mat(Flow::watch_termination(), Keep::right)
        .to_mat(Sink::head(), Keep::both)
        .run();
    assert!(done.await.is_ok(), "cancellation is a normal termination");
}

#[tokio::test]
async fn also_to_sends_to_both() {
    let side = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let s2 = side.clone();
    let out = collect(Source::iter(1..=5).also_to(Sink::for_each(move |x| s2.lock().push(x))))
        .await
        .unwrap();
    assert_eq!(out, vec![1, 2, 3, 4, 5]);
    // the side sink runs in its own task; wait for it to catch up
    for _ in 0..100 {
        if side.lock().len() == 5 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(*side.lock(), vec![1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn also_to_cancelled_side_completes_stream() {
    let out = collect(Source::iter(1..=100).also_to(Sink::cancelled()))
        .await
        .unwrap();
    assert!(out.len() < 100);
}

#[tokio::test]
async fn wire_tap_never_backpressures_main() {
    // a side sink that never pulls
    let never: Sink<i32, ()> = Sink::from_materializer(|up, _| {
        (
            (),
            Box::pin(async move {
                let _keep = up;
                std::future::pending::<()>().await
            }),
        )
    });
    let out = collect(Source::iter(1..=100).wire_tap(never))
        .await
        .unwrap();
    assert_eq!(out.len(), 100);
}

#[tokio::test]
async fn log_passes_elements_through() {
    assert_eq!(
        collect(Source::iter(1..=3).log("test")).await.unwrap(),
        vec![1, 2, 3]
    );
}

#[tokio::test]
async fn kill_switch_unique_shutdown_and_abort() {
    let (ks, out) = Source::<i32>::never()
        .via_mat(KillSwitches::single(), Keep::right)
        .to_mat(Sink::seq(), Keep::both)
        .run();
    ks.shutdown();
    ks.abort(boom()); // ignored: only the first command counts
    assert_eq!(out.await.unwrap(), Vec::<i32>::new());
    let (ks, out) = Source::<i32>::never()
        .via_mat(KillSwitches::single(), Keep::right)
        .to_mat(Sink::seq(), Keep::both)
        .run();
    ks.abort(boom());
    assert!(out.await.is_err());
}

#[tokio::test]
async fn kill_switch_cancels_upstream() {
    let (stream, (stats, ks)) = ProbeSource::of((0..1000).collect::<Vec<_>>(), true)
        .via_mat(KillSwitches::single(), Keep::both)
        .into_stream_mat();
    let mut p = Probe::new(stream);
    assert_eq!(p.request_next().await.element(), 0);
    ks.shutdown();
    assert!(matches!(p.request_next().await, Signal::Complete));
    assert!(stats.cancelled());
}

#[tokio::test]
async fn shared_kill_switch_stops_all_streams_and_later_ones() {
    let ks = KillSwitches::shared("all");
    let a = Source::<i32>::never().via(ks.flow()).run_with(Sink::seq());
    let b = Source::<i32>::never().via(ks.flow()).run_with(Sink::seq());
    ks.shutdown();
    assert!(a.await.unwrap().is_empty());
    assert!(b.await.unwrap().is_empty());
    let later = Source::iter(1..=3).via(ks.flow()).run_with(Sink::seq());
    assert!(later.await.unwrap().is_empty());
    let ks2 = KillSwitches::shared("abort");
    let c = Source::<i32>::never().via(ks2.flow()).run_with(Sink::seq());
    ks2.abort(boom());
    assert!(c.await.is_err());
}

#[tokio::test]
async fn panic_in_user_function_surfaces_as_abrupt_termination() {
    let r = collect(Source::iter(1..=3).map(|x: i32| {
        if x == 2 {
            panic!("user code panicked")
        } else {
            x
        }
    }))
    .await;
    assert!(matches!(r, Err(StreamError::AbruptTermination(_))), "{r:?}");
}

#[tokio::test(start_paused = true)]
async fn throttle_weighted_and_delay_drop_strategies_do_not_lose_order() {
    let out = collect(Source::iter(1..=5).throttle_weighted(
        100,
        std::time::Duration::from_millis(1),
        100,
        ThrottleMode::Shaping,
        |x| *x as u32,
    ))
    .await
    .unwrap();
    assert_eq!(out, vec![1, 2, 3, 4, 5]);
    for strategy in [
        DelayOverflowStrategy::DropHead,
        DelayOverflowStrategy::DropTail,
        DelayOverflowStrategy::DropNew,
        DelayOverflowStrategy::DropBuffer,
    ] {
        let out =
            collect(Source::iter(1..=40).delay(std::time::Duration::from_millis(1), strategy))
                .await
                .unwrap();
        assert!(out.windows(2).all(|w| w[0] < w[1]), "{strategy:?}: {out:?}");
        assert!(!out.is_empty());
    }
    let r = collect(Source::iter(1..=40).delay(
        std::time::Duration::from_millis(50),
        DelayOverflowStrategy::Fail,
    ))
    .await;
    assert!(
        matches!(r, Err(StreamError::BufferOverflow { .. })),
        "{r:?}"
    );
}

#[tokio::test]
async fn also_to_mat_keeps_side_value() {
    let flow = Flow::<i32, i32, ()>::new().also_to_mat(Sink::seq(), Keep::right);
    let (side, main) = Source::iter(1..=3)
        .via_mat(flow, Keep::right)
        .to_mat(Sink::seq(), Keep::both)
        .run();
    assert_eq!(main.await.unwrap(), vec![1, 2, 3]);
    assert_eq!(side.await.unwrap(), vec![1, 2, 3]);
}

#[tokio::test]
async fn substream_operators_apply_per_substream() {
    let s = Source::iter(0..20)
        .group_by(4, |x| x % 4)
        .via(Flow::new().take(2))
        .merge_substreams();
    let mut out = collect(s).await.unwrap();
    out.sort();
    assert_eq!(out, vec![0, 1, 2, 3, 4, 5, 6, 7]);
    let s = Source::iter(0..12)
        .group_by(3, |x| x % 3)
        .map_async(2, |x| async move { x * 2 })
        .grouped(2)
        .merge_substreams();
    let out = collect(s).await.unwrap();
    assert_eq!(out.len(), 6);
    assert!(out.iter().all(|g| g.len() == 2 && g[0] % 6 == g[1] % 6));
}

#[tokio::test]
async fn stateful_map_concat_keeps_state_per_materialization() {
    // emits each element as often as it has been seen so far
    let counted = Source::iter(vec!['a', 'b', 'a', 'a']).stateful_map_concat(|| {
        let mut seen = std::collections::HashMap::new();
        move |c: char| {
            let n = seen.entry(c).or_insert(0usize);
            *n += 1;
            vec![c; *n]
        }
    });
    let expected = vec!['a', 'b', 'a', 'a', 'a', 'a', 'a'];
    assert_eq!(
        counted.clone().run_with(Sink::seq()).await.unwrap(),
        expected
    );
    // a second run starts from fresh state
    assert_eq!(counted.run_with(Sink::seq()).await.unwrap(), expected);
}

#[tokio::test]
async fn maybe_emits_what_its_sender_sends() {
    let (tx, out) = Source::<i32, _>::maybe()
        .to_mat(Sink::seq(), Keep::both)
        .run();
    let _ = tx.send(Some(7));
    assert_eq!(out.await.unwrap(), vec![7]);

    let (tx, out) = Source::<i32, _>::maybe()
        .to_mat(Sink::seq(), Keep::both)
        .run();
    let _ = tx.send(None);
    assert!(out.await.unwrap().is_empty());

    let (tx, out) = Source::<i32, _>::maybe()
        .to_mat(Sink::seq(), Keep::both)
        .run();
    drop(tx);
    assert!(out.await.unwrap().is_empty());
}

#[tokio::test]
async fn zip_all_pads_the_side_that_completed_first() {
    let got = collect(Source::iter(1..=3).zip_all(Source::iter(vec!["a"]), 0, "-"))
        .await
        .unwrap();
    assert_eq!(got, vec![(1, "a"), (2, "-"), (3, "-")]);
    let got = collect(Source::iter(vec![1]).zip_all(Source::iter(vec!["a", "b"]), 0, "-"))
        .await
        .unwrap();
    assert_eq!(got, vec![(1, "a"), (0, "b")]);
    let got = collect(Source::<i32>::empty().zip_all(Source::<&str>::empty(), 0, "-"))
        .await
        .unwrap();
    assert!(got.is_empty());
    let failing = Source::iter(1..=2).concat(Source::failed(StreamError::msg("boom")));
    assert!(collect(failing.zip_all(Source::iter(vec!["a"]), 0, "-"))
        .await
        .is_err());
}

#[tokio::test]
async fn intersperse_injects_between_and_around() {
    let words = Source::iter(vec!["a", "b", "c"]);
    assert_eq!(
        collect(words.clone().intersperse(",")).await.unwrap(),
        vec!["a", ",", "b", ",", "c"]
    );
    assert_eq!(
        collect(words.intersperse_with("[", ",", "]"))
            .await
            .unwrap(),
        vec!["[", "a", ",", "b", ",", "c", "]"]
    );
    // start and end also for an empty stream, as in Pekko
    assert_eq!(
        collect(Source::<&str>::empty().intersperse_with("[", ",", "]"))
            .await
            .unwrap(),
        vec!["[", "]"]
    );
    // no end after a failure
    let mut p = Probe::of(
        Source::single("a")
            .concat(Source::failed(StreamError::msg("boom")))
            .intersperse_with("[", ",", "]"),
    );
    let (xs, end) = p.to_end().await;
    assert_eq!(xs, vec!["[", "a"]);
    assert!(matches!(end, Signal::Error(_)));
}

#[tokio::test]
async fn pre_materialize_gives_the_value_first_and_the_elements_once() {
    let (q, source) = Source::<i32, _>::queue(4, OverflowStrategy::Backpressure).pre_materialize();
    // the materialized value is usable before the elements are consumed
    q.offer(1);
    q.offer(2);
    q.complete();
    assert_eq!(collect(source.clone()).await.unwrap(), vec![1, 2]);
    assert!(matches!(
        collect(source).await,
        Err(StreamError::AlreadyMaterialized(_))
    ));
}

#[tokio::test]
async fn sink_pre_materialize_gives_the_value_first_and_takes_one_upstream() {
    let (sum, sink) = Sink::fold(0, |a, x: i32| a + x).pre_materialize();
    Source::iter(1..=4).run_with(sink.clone());
    assert_eq!(sum.await.unwrap(), 10);
    // the second upstream is cancelled at once
    let (stats, done) = ProbeSource::of(vec![1, 2, 3], false)
        .via_mat(Flow::watch_termination(), Keep::both)
        .to_mat(sink, Keep::left)
        .run();
    done.await.unwrap();
    assert_eq!(stats.pulled(), 0);
    assert!(stats.cancelled());
}
