//! How source- and flow-shaped `GraphBuilder` graphs run (Pekko's fused-interpreter
//! semantics): internal stages progress from materialization on, whether or not the
//! exposed outlet is pulled, while the stages feeding the exposed outlet move only on its
//! demand. Also: `Balance` and `Partition` move elements that are not `Clone`.
//!
//! Tests run on a paused clock: `within` turns a wait that can never end into a failure
//! (the clock jumps ahead as soon as every task is idle) instead of a hang.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use rekko_stream::prelude::*;
use rekko_stream::StreamFuture;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

async fn within<F: Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(Duration::from_secs(3600), f).await {
        Ok(x) => x,
        Err(_) => panic!("{what} never happened: every task is idle"),
    }
}

/// A sink sending every element into a channel the test reads.
fn recording_sink<T: Send + 'static>(tx: UnboundedSender<T>) -> Sink<T, StreamFuture<()>> {
    Sink::for_each(move |x| {
        let _ = tx.send(x);
    })
}

fn drain<T>(rx: &mut UnboundedReceiver<T>) -> Vec<T> {
    let mut v = Vec::new();
    while let Ok(x) = rx.try_recv() {
        v.push(x);
    }
    v
}

/// An element type that cannot be cloned.
#[derive(Debug, PartialEq, Eq)]
struct Token(u32);

#[tokio::test]
async fn balance_and_partition_sinks_move_non_clone_elements() {
    let outs = Source::iter(0..30)
        .map(Token)
        .run_with(Sink::balance(vec![Sink::seq(), Sink::seq()]));
    let mut all: Vec<u32> = Vec::new();
    for f in outs {
        all.extend(f.await.unwrap().into_iter().map(|t| t.0));
    }
    all.sort_unstable();
    assert_eq!(all, (0..30).collect::<Vec<_>>());

    let outs = Source::iter(0..10).map(Token).run_with(Sink::partition(
        vec![Sink::seq(), Sink::seq()],
        |t: &Token| (t.0 % 2) as usize,
    ));
    let mut got = Vec::new();
    for f in outs {
        got.push(f.await.unwrap());
    }
    assert_eq!(
        got[0],
        vec![Token(0), Token(2), Token(4), Token(6), Token(8)]
    );
    assert_eq!(
        got[1],
        vec![Token(1), Token(3), Token(5), Token(7), Token(9)]
    );
}

#[tokio::test]
async fn graph_builder_balance_and_partition_move_non_clone_elements() {
    let mut b = GraphBuilder::new();
    let src = b.add_source(Source::iter(0..20).map(Token));
    let part = b.partition(2, |t: &Token| (t.0 % 2) as usize);
    let bal = b.balance::<Token>(2);
    let merge = b.merge::<Token>(3, false);
    let (out, seq) = b.add_sink_mat(Sink::seq());
    b.connect(src, part.in_());
    b.connect(part.out(0), bal.in_());
    b.connect(bal.out(0), merge.in_(0));
    b.connect(bal.out(1), merge.in_(1));
    b.connect(part.out(1), merge.in_(2));
    b.connect(merge.out(), out);
    let graph = b.build_closed_mat(move |m| m.take(seq)).unwrap();
    let mut got: Vec<u32> = graph
        .run()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.0)
        .collect();
    got.sort_unstable();
    assert_eq!(got, (0..20).collect::<Vec<_>>());
}

/// `Source(1..=n) ~> junction`; `junction.out(0)` exposed, `junction.out(1) ~>` a
/// recording sink. Materializes to the sink's completion.
fn source_with_internal_sink(
    n: u32,
    broadcast: Option<bool>,
    probe: UnboundedSender<u32>,
    seen: UnboundedSender<u32>,
) -> Source<u32, StreamFuture<()>> {
    let mut b = GraphBuilder::new();
    let src = b.add_source(Source::iter(1..=n).map(move |x| {
        let _ = probe.send(x);
        x
    }));
    let junction = match broadcast {
        Some(eager_cancel) => b.broadcast::<u32>(2, eager_cancel),
        None => b.balance::<u32>(2),
    };
    let (inlet, done) = b.add_sink_mat(recording_sink(seen));
    b.connect(src, junction.in_());
    b.connect(junction.out(1), inlet);
    b.build_source_mat(junction.out(0), move |m| m.take(done))
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn balance_feeds_the_internal_sink_before_the_exposed_outlet_is_polled() {
    let (probe, _probe_rx) = unbounded_channel();
    let (seen_tx, mut seen) = unbounded_channel();
    let (stream, done) = source_with_internal_sink(50, None, probe, seen_tx).into_stream_mat();
    let first = within("an element reaching the internal sink", seen.recv()).await;
    assert_eq!(first, Some(1));
    // nobody pulls the exposed outlet: the internal sink gets every element and completes
    within("the internal sink completing", done).await.unwrap();
    let mut internal = vec![1];
    internal.extend(drain(&mut seen));
    let exposed: Vec<u32> = stream.map(|r| r.unwrap()).collect().await;
    let mut all = [internal, exposed].concat();
    all.sort_unstable();
    assert_eq!(
        all,
        (1..=50).collect::<Vec<_>>(),
        "each element exactly once"
    );
}

#[tokio::test(start_paused = true)]
async fn broadcast_back_pressures_on_the_exposed_outlet_until_it_is_pulled() {
    let (probe_tx, mut probe) = unbounded_channel();
    let (seen_tx, mut seen) = unbounded_channel();
    let (witness_tx, mut witness) = unbounded_channel();
    // source ~> broadcast ~> out; broadcast ~> recording sink; plus an independent path
    // source ~> witness sink in the same graph, whose completion proves the graph's task
    // made progress
    let mut b = GraphBuilder::new();
    let src = b.add_source(Source::iter(1..=5u32).map(move |x| {
        let _ = probe_tx.send(x);
        x
    }));
    let bcast = b.broadcast::<u32>(2, false);
    let (inlet, done) = b.add_sink_mat(recording_sink(seen_tx));
    b.connect(src, bcast.in_());
    b.connect(bcast.out(1), inlet);
    let w_src = b.add_source(Source::iter(1..=3u32));
    let (w_in, w_done) = b.add_sink_mat(recording_sink(witness_tx));
    b.connect(w_src, w_in);
    let source = b
        .build_source_mat(bcast.out(0), move |m| (m.take(done), m.take(w_done)))
        .unwrap();
    let (stream, (done, witness_done)) = source.into_stream_mat();

    within("the witness path completing", witness_done)
        .await
        .unwrap();
    assert_eq!(drain(&mut witness), vec![1, 2, 3]);
    assert_eq!(
        within("the source emitting", probe.recv()).await,
        Some(1),
        "the graph runs from materialization on"
    );
    assert!(
        drain(&mut seen).is_empty(),
        "broadcast waits for demand on every output, the exposed one included"
    );
    assert!(
        drain(&mut probe).is_empty(),
        "the source is back-pressured after the element the broadcast has not taken"
    );

    let exposed: Vec<u32> = stream.map(|r| r.unwrap()).collect().await;
    assert_eq!(exposed, vec![1, 2, 3, 4, 5]);
    within("the internal sink completing", done).await.unwrap();
    assert_eq!(drain(&mut seen), vec![1, 2, 3, 4, 5]);
}

#[tokio::test(start_paused = true)]
async fn broadcast_passes_elements_as_the_exposed_outlet_pulls_them() {
    let (probe, _probe_rx) = unbounded_channel();
    let (seen_tx, mut seen) = unbounded_channel();
    let (mut stream, done) =
        source_with_internal_sink(5, Some(false), probe, seen_tx).into_stream_mat();
    for i in 1..=5 {
        assert_eq!(stream.next().await.unwrap().unwrap(), i);
        assert_eq!(
            within("the internal sink seeing the pulled element", seen.recv()).await,
            Some(i)
        );
    }
    assert!(stream.next().await.is_none());
    within("the internal sink completing", done).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_exposed_outlet_leaves_a_lazy_broadcast_feeding_the_internal_sink() {
    let (probe, _probe_rx) = unbounded_channel();
    let (seen_tx, mut seen) = unbounded_channel();
    let (stream, done) =
        source_with_internal_sink(10, Some(false), probe, seen_tx).into_stream_mat();
    let two: Vec<u32> = stream.take(2).map(|r| r.unwrap()).collect().await;
    assert_eq!(two, vec![1, 2]);
    within("the internal sink completing", done).await.unwrap();
    assert_eq!(drain(&mut seen), (1..=10).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn cancelling_the_exposed_outlet_of_an_eager_cancel_broadcast_completes_the_graph() {
    let (probe, _probe_rx) = unbounded_channel();
    let (seen_tx, mut seen) = unbounded_channel();
    let (stream, done) =
        source_with_internal_sink(10, Some(true), probe, seen_tx).into_stream_mat();
    let two: Vec<u32> = stream.take(2).map(|r| r.unwrap()).collect().await;
    assert_eq!(two, vec![1, 2]);
    within("the internal sink completing", done).await.unwrap();
    assert_eq!(
        drain(&mut seen),
        vec![1, 2],
        "nothing passes after the cancel"
    );
}

#[tokio::test(start_paused = true)]
async fn failure_reaches_the_exposed_outlet_and_the_internal_sink() {
    let mut b = GraphBuilder::new();
    let src = b.add_source(Source::iter(1..=5).try_map(|x: u32| {
        if x == 3 {
            Err(StreamError::msg("three"))
        } else {
            Ok(x)
        }
    }));
    let bcast = b.broadcast::<u32>(2, false);
    let (inlet, seq) = b.add_sink_mat(Sink::seq());
    b.connect(src, bcast.in_());
    b.connect(bcast.out(1), inlet);
    let source = b
        .build_source_mat(bcast.out(0), move |m| m.take(seq))
        .unwrap();
    let (stream, seq) = source.into_stream_mat();
    let got: Vec<Result<u32, StreamError>> = stream.collect().await;
    assert_eq!(got.len(), 3);
    assert_eq!(*got[0].as_ref().unwrap(), 1);
    assert_eq!(*got[1].as_ref().unwrap(), 2);
    assert!(got[2].as_ref().unwrap_err().to_string().contains("three"));
    let err = within("the internal sink failing", seq).await.unwrap_err();
    assert!(err.to_string().contains("three"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn flow_shaped_graph_feeds_its_internal_sink_from_upstream_without_downstream_demand() {
    // in ~> balance ~> map ~> out; balance ~> internal sink
    let (seen_tx, mut seen) = unbounded_channel();
    let mut b = GraphBuilder::new();
    let bal = b.balance::<u32>(2);
    let out = b.via(bal.out(0), Flow::new().map(|x: u32| x + 1000));
    let (inlet, done) = b.add_sink_mat(recording_sink(seen_tx));
    b.connect(bal.out(1), inlet);
    let flow = b
        .build_flow_mat(bal.in_(), out, move |m| m.take(done))
        .unwrap();
    let (stream, done) = Source::iter(1..=20u32)
        .via_mat(flow, Keep::right)
        .into_stream_mat();
    assert_eq!(
        within("an element reaching the internal sink", seen.recv()).await,
        Some(1)
    );
    within("the internal sink completing", done).await.unwrap();
    let mut all = vec![1];
    all.extend(drain(&mut seen));
    let exposed: Vec<u32> = stream.map(|r| r.unwrap() - 1000).collect().await;
    all.extend(exposed);
    all.sort_unstable();
    assert_eq!(all, (1..=20).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn flow_shaped_broadcast_graph_pulls_upstream_at_the_pace_of_both_outputs() {
    // in ~> broadcast ~> out; broadcast ~> Sink.seq (materialized value)
    let mut b = GraphBuilder::new();
    let bcast = b.broadcast::<u32>(2, false);
    let (inlet, seq) = b.add_sink_mat(Sink::seq());
    b.connect(bcast.out(1), inlet);
    let flow = b
        .build_flow_mat(bcast.in_(), bcast.out(0), move |m| m.take(seq))
        .unwrap();
    let (got, seq) = Source::iter(1..=100u32)
        .via_mat(flow, Keep::right)
        .to_mat(Sink::seq(), Keep::both)
        .run();
    assert_eq!(got.await.unwrap(), (1..=100).collect::<Vec<_>>());
    assert_eq!(
        within("the internal sink completing", seq).await.unwrap(),
        (1..=100).collect::<Vec<_>>()
    );
}

#[test]
fn a_graph_materialized_outside_a_runtime_starts_at_the_first_poll() {
    let (probe, _probe_rx) = unbounded_channel();
    let (seen_tx, mut seen) = unbounded_channel();
    let (stream, done) =
        source_with_internal_sink(5, Some(false), probe, seen_tx).into_stream_mat();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async move {
        let exposed: Vec<u32> = stream.map(|r| r.unwrap()).collect().await;
        assert_eq!(exposed, vec![1, 2, 3, 4, 5]);
        within("the internal sink completing", done).await.unwrap();
        assert_eq!(drain(&mut seen), vec![1, 2, 3, 4, 5]);
    });
}

#[tokio::test]
async fn a_graph_whose_stages_all_feed_the_exposed_outlet_is_unchanged() {
    // source ~> broadcast ~> (map, map) ~> merge ~> out
    let mut b = GraphBuilder::new();
    let src = b.add_source(Source::iter(1..=5u32));
    let bcast = b.broadcast::<u32>(2, false);
    let merge = b.merge::<u32>(2, false);
    b.connect(src, bcast.in_());
    let a = b.via(bcast.out(0), Flow::new().map(|x: u32| x * 10));
    let c = b.via(bcast.out(1), Flow::new().map(|x: u32| x * 100));
    b.connect(a, merge.in_(0));
    b.connect(c, merge.in_(1));
    let source = b.build_source(merge.out()).unwrap();
    let mut got = source.run_with(Sink::seq()).await.unwrap();
    got.sort_unstable();
    assert_eq!(got, vec![10, 20, 30, 40, 50, 100, 200, 300, 400, 500]);
}
