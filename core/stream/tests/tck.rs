//! Rule-based tests in the spirit of the Reactive Streams TCK (spec section 3), adapted to
//! the pull model: demand is a `poll_next` call, so a stage may only take from its
//! upstream what downstream asked for plus its documented buffer.

use std::time::Duration;

use proptest::prelude::*;
use rekko_stream::prelude::*;
use rekko_stream::testkit::{Probe, ProbeSource, Signal};

type Pipeline = fn(
    Source<u32, std::sync::Arc<rekko_stream::testkit::ProbeStats>>,
) -> Source<u32, std::sync::Arc<rekko_stream::testkit::ProbeStats>>;

/// One-in/one-out fused operators: demand reaching upstream equals demand from downstream.
fn one_to_one() -> Vec<(&'static str, Pipeline)> {
    vec![
        ("map", |s| s.map(|x| x + 1)),
        ("try_map", |s| s.try_map(Ok::<u32, StreamError>)),
        ("scan-after-first", |s| s.scan(0, |_, x| x).drop(1)),
        ("zip_with_index", |s| s.zip_with_index().map(|(x, _)| x)),
        ("recover", |s| s.recover(|_| None)),
        ("log", |s| s.log("tck")),
        ("kill_switch", |s| s.via(KillSwitches::shared("tck").flow())),
        ("watch_termination", |s| s.via(Flow::watch_termination())),
        ("take_while", |s| s.take_while(|_| true)),
        ("map_async_1", |s| s.map_async(1, |x| async move { x })),
        ("flat_map_concat", |s| s.flat_map_concat(Source::single)),
        ("keep_alive", |s| {
            s.keep_alive(Duration::from_secs(60), || 0)
        }),
        ("idle_timeout", |s| s.idle_timeout(Duration::from_secs(60))),
        ("throttle", |s| {
            s.throttle(1000, Duration::from_millis(1), 1000, ThrottleMode::Shaping)
        }),
    ]
}

#[tokio::test]
async fn required_spec101_demand_is_never_exceeded_by_one_to_one_operators() {
    for (name, pipe) in one_to_one() {
        let (stream, stats) = pipe(ProbeSource::of((0..100).collect(), true)).into_stream_mat();
        let mut p = Probe::new(stream);
        for k in 1..=5u64 {
            p.request_next().await.element();
            assert_eq!(
                stats.pulled(),
                k,
                "{name}: upstream demand must equal downstream demand"
            );
        }
    }
}

#[tokio::test]
async fn required_spec101_buffering_operators_stay_within_their_buffer() {
    let cases: Vec<(&str, Pipeline, u64)> = vec![
        ("map_async_4", |s| s.map_async(4, |x| async move { x }), 4),
        (
            "map_async_unordered_4",
            |s| s.map_async_unordered(4, |x| async move { x }),
            4,
        ),
        ("grouped_3", |s| s.grouped(3).map_concat(|v| v), 3),
        ("sliding_3", |s| s.sliding(3, 3).map_concat(|v| v), 3),
        (
            "buffer_5",
            |s| s.buffer(5, OverflowStrategy::Backpressure),
            5 + 2,
        ),
        ("async_boundary", |s| s.async_boundary(), 16 + 2),
        (
            "flat_map_merge_2",
            |s| s.flat_map_merge(2, Source::single),
            2,
        ),
    ];
    for (name, pipe, slack) in cases {
        let (stream, stats) = pipe(ProbeSource::of((0..1000).collect(), false)).into_stream_mat();
        let mut p = Probe::new(stream);
        for k in 1..=10u64 {
            p.request_next().await.element();
            for _ in 0..20 {
                tokio::task::yield_now().await; // let spawned stages run ahead as far as they may
            }
            assert!(
                stats.pulled() <= k + slack,
                "{name}: pulled {} after {k} requested",
                stats.pulled()
            );
        }
    }
}

#[tokio::test]
async fn required_spec105_completion_is_terminal_and_signalled_once() {
    for (name, pipe) in one_to_one() {
        let mut p = Probe::new(pipe(ProbeSource::of(vec![1, 2, 3], false)).into_stream());
        let (xs, end) = p.to_end().await;
        assert_eq!(xs.len(), 3, "{name}");
        assert!(matches!(end, Signal::Complete), "{name}: {end:?}");
        p.expect_silent_after_termination().await;
    }
}

#[tokio::test]
async fn optional_spec105_empty_stream_completes() {
    for (name, pipe) in one_to_one() {
        let mut p = Probe::new(pipe(ProbeSource::of(vec![], false)).into_stream());
        assert!(matches!(p.request_next().await, Signal::Complete), "{name}");
        p.expect_silent_after_termination().await;
    }
}

fn failing() -> Source<u32, std::sync::Arc<rekko_stream::testkit::ProbeStats>> {
    ProbeSource::of(vec![1, 2], false).concat(Source::failed(StreamError::msg("upstream failure")))
}

#[tokio::test]
async fn required_spec104_failure_is_terminal_and_signalled_once() {
    let mut all = one_to_one();
    all.retain(|(n, _)| *n != "recover");
    let more: Vec<(&str, Pipeline)> = vec![
        ("fold", |s| s.fold(0, |a, x| a + x)),
        ("grouped", |s| s.grouped(2).map(|v| v.len() as u32)),
        ("buffer", |s| s.buffer(4, OverflowStrategy::Backpressure)),
        ("async_boundary", |s| s.async_boundary()),
        ("map_async", |s| s.map_async(3, |x| async move { x })),
        ("merge", |s| s.merge(Source::never())),
        ("zip", |s| s.zip(Source::repeat(0u32)).map(|(a, _)| a)),
        ("group_by", |s| s.group_by(4, |x| x % 2).merge_substreams()),
        ("flat_map_merge", |s| s.flat_map_merge(2, Source::single)),
        ("conflate", |s| s.conflate(|a, b| a + b)),
    ];
    all.extend(more);
    for (name, pipe) in all {
        let mut p = Probe::new(pipe(failing()).into_stream());
        let (_, end) = p.to_end().await;
        assert!(
            matches!(end, Signal::Error(_)),
            "{name}: expected the failure, got {end:?}"
        );
        p.expect_silent_after_termination().await;
    }
}

#[tokio::test]
async fn required_spec312_cancellation_propagates_upstream() {
    let mut all = one_to_one();
    let more: Vec<(&str, Pipeline)> = vec![
        ("buffer", |s| s.buffer(4, OverflowStrategy::Backpressure)),
        ("async_boundary", |s| s.async_boundary()),
        ("map_async", |s| s.map_async(3, |x| async move { x })),
        ("merge", |s| s.merge(Source::never())),
        ("group_by", |s| s.group_by(4, |x| x % 2).merge_substreams()),
        ("also_to", |s| s.also_to(Sink::ignore())),
        ("conflate", |s| s.conflate(|a, b| a + b)),
        ("grouped_within", |s| {
            s.grouped_within(2, Duration::from_secs(1))
                .map_concat(|v| v)
        }),
    ];
    all.extend(more);
    for (name, pipe) in all {
        let (stream, stats) = pipe(ProbeSource::of((0..10_000).collect(), true)).into_stream_mat();
        let mut p = Probe::new(stream);
        p.request_next().await.element();
        p.cancel();
        let mut spins = 0;
        while !stats.cancelled() && spins < 1000 {
            tokio::task::yield_now().await;
            spins += 1;
        }
        assert!(
            stats.cancelled(),
            "{name}: cancellation did not reach the source"
        );
    }
}

#[tokio::test]
async fn required_spec317_huge_demand_is_fine() {
    // the pull model has no demand counter to overflow; a sink with unbounded appetite
    // over a long stream must just work
    let n = Source::repeat(1u64)
        .take(200_000)
        .run_with(Sink::fold(0u64, |a, x| a + x))
        .await
        .unwrap();
    assert_eq!(n, 200_000);
}

#[tokio::test]
async fn blueprints_are_reusable() {
    let s = Source::iter(1..=3).map(|x| x * 2);
    let g = s.clone().to_mat(Sink::seq(), Keep::right);
    assert_eq!(g.run().await.unwrap(), vec![2, 4, 6]);
    assert_eq!(g.run().await.unwrap(), vec![2, 4, 6]);
    assert_eq!(s.run_with(Sink::seq()).await.unwrap(), vec![2, 4, 6]);
}

/// A pipeline for the property test and its model (as a function of the input).
/// Name, pipeline, model of its output, whether order is preserved.
type Case = (&'static str, Pipeline, fn(&[u32]) -> Vec<u32>, bool);

fn pipelines() -> Vec<Case> {
    fn id(v: &[u32]) -> Vec<u32> {
        v.to_vec()
    }
    vec![
        (
            "map_filter",
            |s| s.map(|x| x.wrapping_mul(3)).filter(|x| x % 2 == 0),
            |v| {
                v.iter()
                    .map(|x| x.wrapping_mul(3))
                    .filter(|x| x % 2 == 0)
                    .collect()
            },
            true,
        ),
        ("async_boundary", |s| s.async_boundary(), id, true),
        (
            "buffer",
            |s| s.buffer(3, OverflowStrategy::Backpressure),
            id,
            true,
        ),
        (
            "map_async",
            |s| {
                s.map_async(4, |x| async move {
                    if x % 3 == 0 {
                        tokio::task::yield_now().await;
                    }
                    x
                })
            },
            id,
            true,
        ),
        (
            "map_async_unordered",
            |s| {
                s.map_async_unordered(4, |x| async move {
                    if x % 3 == 0 {
                        tokio::task::yield_now().await;
                    }
                    x
                })
            },
            id,
            false,
        ),
        (
            "grouped_concat",
            |s| s.grouped(3).map_concat(|v| v),
            id,
            true,
        ),
        (
            "group_by_merge",
            |s| s.group_by(4, |x| x % 4).merge_substreams(),
            id,
            false,
        ),
        (
            "flat_map_merge",
            |s| s.flat_map_merge(3, Source::single),
            id,
            false,
        ),
        (
            "flat_map_concat",
            |s| s.flat_map_concat(|x| Source::iter(vec![x])),
            id,
            true,
        ),
        (
            "zip_with_index",
            |s| s.zip_with_index().map(|(x, i)| x ^ (i as u32)),
            |v| v.iter().enumerate().map(|(i, x)| x ^ (i as u32)).collect(),
            true,
        ),
        (
            "interleave_empty",
            |s| s.interleave(Source::empty(), 2),
            id,
            true,
        ),
        ("merge_empty", |s| s.merge(Source::empty()), id, true),
        (
            "concat_async",
            |s| s.async_boundary().concat(Source::empty()).async_boundary(),
            id,
            true,
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    /// No element is lost or duplicated, whatever the demand pattern.
    #[test]
    fn no_loss_no_duplication_under_random_demand(
        input in proptest::collection::vec(0u32..1000, 0..200),
        which in 0usize..13,
        demand in proptest::collection::vec(1usize..8, 1..40),
        pauses in proptest::collection::vec(0usize..4, 1..40),
        yield_between in any::<bool>(),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let pipes = pipelines();
        let (name, pipe, model, ordered) = pipes[which % pipes.len()];
        let probe = Probe::new(pipe(ProbeSource::of(input.clone(), yield_between)).into_stream());
        let (mut got, end) = rt.block_on(drain_with(probe, &demand, &pauses));
        prop_assert!(matches!(end, Signal::Complete), "{}: {:?}", name, end);
        let mut expect = model(&input);
        if !ordered {
            got.sort();
            expect.sort();
        }
        prop_assert_eq!(got, expect, "pipeline {}", name);
    }

    /// Broadcast delivers everything to every output; balance delivers everything once.
    #[test]
    fn fan_out_no_loss(input in proptest::collection::vec(0u32..1000, 0..100)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            let outs = Source::iter(input.clone()).run_with(Sink::broadcast(vec![Sink::seq(), Sink::seq(), Sink::seq()], false));
            for o in outs {
                assert_eq!(o.await.unwrap(), input);
            }
            let outs = Source::iter(input.clone()).run_with(Sink::balance(vec![Sink::seq(), Sink::seq()]));
            let mut all = Vec::new();
            for o in outs {
                all.extend(o.await.unwrap());
            }
            all.sort();
            let mut expect = input.clone();
            expect.sort();
            assert_eq!(all, expect);
        });
    }
}

/// source -> balance(k) -> k identity flows -> merge(k), exposed as a source.
fn balance_merge_graph(input: Vec<u32>, k: usize) -> Source<u32, ()> {
    let mut b = GraphBuilder::new();
    let src = b.add_source(Source::iter(input));
    let balance = b.balance::<u32>(k);
    let merge = b.merge::<u32>(k, false);
    b.connect(src, balance.in_());
    for i in 0..k {
        let o = b.via(balance.out(i), Flow::new().map(|x: u32| x));
        b.connect(o, merge.in_(i));
    }
    b.build_source(merge.out()).expect("wired")
}

/// source -> broadcast(2) -> zip, exposed as a source of pairs.
fn broadcast_zip_graph(input: Vec<u32>) -> Source<(u32, u32), ()> {
    let mut b = GraphBuilder::new();
    let src = b.add_source(Source::iter(input));
    let bcast = b.broadcast::<u32>(2, false);
    let zip = b.zip::<u32, u32>();
    b.connect(src, bcast.in_());
    b.connect(bcast.out(0), zip.in0());
    b.connect(bcast.out(1), zip.in1());
    b.build_source(zip.out()).expect("wired")
}

/// Pulls `p` to the end with the given demand and pause pattern.
async fn drain_with<T: Send + 'static>(
    mut p: Probe<T>,
    demand: &[usize],
    pauses: &[usize],
) -> (Vec<T>, Signal<T>) {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        let (xs, end) = p.request(demand[i % demand.len()]).await;
        out.extend(xs);
        if let Some(end) = end {
            return (out, end);
        }
        for _ in 0..pauses[i % pauses.len()] {
            tokio::task::yield_now().await;
        }
        i += 1;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, .. ProptestConfig::default() })]

    /// Graphs built with `GraphBuilder` lose and duplicate nothing under random demand.
    #[test]
    fn graph_builder_no_loss_no_duplication(
        input in proptest::collection::vec(0u32..1000, 0..150),
        k in 1usize..5,
        demand in proptest::collection::vec(1usize..8, 1..20),
        pauses in proptest::collection::vec(0usize..4, 1..20),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let (mut merged, end) = rt.block_on(drain_with(
            Probe::of(balance_merge_graph(input.clone(), k)), &demand, &pauses));
        prop_assert!(matches!(end, Signal::Complete), "{:?}", end);
        let mut expect = input.clone();
        merged.sort();
        expect.sort();
        prop_assert_eq!(merged, expect);

        let (pairs, end) = rt.block_on(drain_with(
            Probe::of(broadcast_zip_graph(input.clone())), &demand, &pauses));
        prop_assert!(matches!(end, Signal::Complete), "{:?}", end);
        prop_assert_eq!(pairs, input.iter().map(|x| (*x, *x)).collect::<Vec<_>>());
    }

    /// `PartitionHub` delivers every element exactly once, in order, to the consumer its
    /// partitioner chose, whatever the buffer size and the consumers' pace.
    #[test]
    fn partition_hub_routes_every_element_once_in_order(
        input in proptest::collection::vec(0u32..1000, 0..150),
        n in 1usize..4,
        buffer in 1usize..8,
        demand in proptest::collection::vec(1usize..8, 1..20),
        pauses in proptest::collection::vec(0usize..4, 1..20),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let got = rt.block_on(async {
            let hub = Source::iter(input.clone())
                .run_with(PartitionHub::sink(|size, x: &u32| Some(*x as usize % size), n, buffer));
            let consumers: Vec<_> = (0..n)
                .map(|i| {
                    let p = Probe::of(hub.clone());
                    // each consumer with its own rotation of the demand pattern
                    let demand: Vec<usize> = demand.iter().cycle().skip(i).take(demand.len()).copied().collect();
                    let pauses = pauses.clone();
                    tokio::spawn(async move { drain_with(p, &demand, &pauses).await })
                })
                .collect();
            let mut got = Vec::new();
            for c in consumers {
                got.push(c.await.expect("consumer task"));
            }
            got
        });
        for (i, (xs, end)) in got.into_iter().enumerate() {
            prop_assert!(matches!(end, Signal::Complete), "consumer {}: {:?}", i, end);
            let expect: Vec<u32> = input.iter().copied().filter(|x| *x as usize % n == i).collect();
            prop_assert_eq!(xs, expect, "consumer {}", i);
        }
    }
}

/// source -> broadcast(2) (or balance(2)): out0 exposed, out1 -> an internal sink recording
/// into `seen`. Materializes to the internal sink's completion.
fn fan_out_with_internal_sink(
    input: Vec<u32>,
    broadcast: bool,
    seen: std::sync::Arc<std::sync::Mutex<Vec<u32>>>,
) -> Source<u32, rekko_stream::StreamFuture<()>> {
    let mut b = GraphBuilder::new();
    let src = b.add_source(Source::iter(input));
    let junction = if broadcast {
        b.broadcast::<u32>(2, false)
    } else {
        b.balance::<u32>(2)
    };
    let (inlet, done) = b.add_sink_mat(Sink::for_each(move |x| {
        seen.lock().expect("seen").push(x);
    }));
    b.connect(src, junction.in_());
    b.connect(junction.out(1), inlet);
    b.build_source_mat(junction.out(0), move |m| m.take(done))
        .expect("wired")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// A graph with an internal sink under random demand on its exposed outlet: nothing is
    /// lost or duplicated; a broadcast never lets the internal sink get ahead of what the
    /// exposed outlet asked for.
    #[test]
    fn graph_with_internal_sink_respects_exposed_demand(
        input in proptest::collection::vec(0u32..1000, 0..120),
        broadcast in any::<bool>(),
        demand in proptest::collection::vec(1usize..8, 1..20),
        pauses in proptest::collection::vec(0usize..4, 1..20),
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let source = fan_out_with_internal_sink(input.clone(), broadcast, seen.clone());
        let (got, end, internal) = rt.block_on(async {
            let (stream, done) = source.into_stream_mat();
            let mut p = Probe::new(stream);
            let mut got = Vec::new();
            let mut i = 0;
            let end = loop {
                let (xs, end) = p.request(demand[i % demand.len()]).await;
                got.extend(xs);
                if broadcast {
                    let n = seen.lock().expect("seen").len();
                    assert!(n <= got.len(), "internal sink got {n}, exposed outlet {}", got.len());
                }
                if let Some(end) = end {
                    break end;
                }
                for _ in 0..pauses[i % pauses.len()] {
                    tokio::task::yield_now().await;
                }
                i += 1;
            };
            done.await.expect("internal sink");
            let internal = seen.lock().expect("seen").clone();
            (got, end, internal)
        });
        prop_assert!(matches!(end, Signal::Complete), "{:?}", end);
        if broadcast {
            prop_assert_eq!(&got, &input);
            prop_assert_eq!(&internal, &input);
        } else {
            let mut all = [got, internal].concat();
            let mut expect = input.clone();
            all.sort();
            expect.sort();
            prop_assert_eq!(all, expect);
        }
    }
}
