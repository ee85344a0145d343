//! `GraphBuilder` (Pekko `GraphDSL`): closed, source, flow and sink shapes, junctions,
//! materialized values, cycles and wiring errors.

use rekko_stream::prelude::*;
use rekko_stream::StreamError;

#[tokio::test]
async fn diamond_broadcast_two_flows_zip() {
    let mut b = GraphBuilder::new();
    let src = b.add_source(Source::iter(1..=5));
    let bcast = b.broadcast::<i32>(2, false);
    let zip = b.zip::<i32, String>();
    let (sink, seq) = b.add_sink_mat(Sink::seq());
    b.connect(src, bcast.in_());
    let left = b.via(bcast.out(0), Flow::new().map(|x: i32| x * 10));
    let right = b.via(bcast.out(1), Flow::new().map(|x: i32| format!("#{x}")));
    b.connect(left, zip.in0());
    b.connect(right, zip.in1());
    b.connect(zip.out(), sink);
    let graph = b.build_closed_mat(move |m| m.take(seq)).unwrap();
    let expected: Vec<(i32, String)> = (1..=5).map(|x| (x * 10, format!("#{x}"))).collect();
    assert_eq!(graph.run().await.unwrap(), expected);
    // a blueprint: a second run is independent
    assert_eq!(graph.run().await.unwrap(), expected);
}

#[tokio::test]
async fn cycle_with_merge_preferred_and_dropping_buffer_does_not_deadlock() {
    // Pekko docs, "Graph cycles": source ~> merge ~> map ~> bcast ~> sink
    //                                      merge.preferred <~ buffer(10, dropHead) <~ bcast
    let mut b = GraphBuilder::new();
    let src = b.add_source(Source::iter(1..=1000));
    let merge = b.merge_preferred::<i32>(1, false);
    let bcast = b.broadcast::<i32>(2, true);
    let (out, seq) = b.add_sink_mat(Flow::new().take(300).to_mat(Sink::seq(), Keep::right));
    b.connect(src, merge.in_(0));
    let mapped = b.via(merge.out(), Flow::new().map(|x: i32| x));
    b.connect(mapped, bcast.in_());
    b.connect(bcast.out(0), out);
    let back = b.via(
        bcast.out(1),
        Flow::new().buffer(10, OverflowStrategy::DropHead),
    );
    b.connect(back, merge.preferred());
    let got = b
        .build_closed_mat(move |m| m.take(seq))
        .unwrap()
        .run()
        .await
        .unwrap();
    assert_eq!(got.len(), 300, "the cycle keeps flowing");
    assert_eq!(got[0], 1);
    assert!(got.iter().all(|x| (1..=1000).contains(x)));
    // fed-back elements came round again: some element was seen twice
    let mut sorted = got.clone();
    sorted.sort();
    sorted.dedup();
    assert!(
        sorted.len() < got.len(),
        "feedback elements re-enter the stream"
    );
}

#[test]
fn unconnected_port_is_named() {
    let mut b = GraphBuilder::new();
    let src = b.add_source(Source::iter(1..=3));
    let zip = b.zip::<i32, i32>();
    let sink = b.add_sink(Sink::<(i32, i32), _>::ignore());
    b.connect(src, zip.in0());
    b.connect(zip.out(), sink);
    match b.build_closed() {
        Err(StreamError::InvalidGraph { port, problem }) => {
            assert_eq!(&*port, "Zip#1.in1");
            assert_eq!(problem, "is not connected");
        }
        other => panic!("expected InvalidGraph, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn port_connected_twice_and_foreign_ports_are_errors() {
    let mut b = GraphBuilder::new();
    let src = b.add_source(Source::iter(1..=3));
    let s1 = b.add_sink(Sink::<i32, _>::ignore());
    let s2 = b.add_sink(Sink::<i32, _>::ignore());
    b.connect(src, s1);
    b.connect(src, s2);
    let err = b.build_closed().map(|_| ()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid graph: port Source#0.out is connected more than once"
    );

    let mut other = GraphBuilder::new();
    let foreign = other.add_sink(Sink::<i32, _>::ignore());
    let mut b = GraphBuilder::new();
    let src = b.add_source(Source::iter(1..=3));
    b.connect(src, foreign);
    let err = b.build_closed().map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("another GraphBuilder"), "{err}");
}

#[tokio::test]
async fn source_shape_with_partition_and_merge() {
    let mut b = GraphBuilder::new();
    let (src, stats_key) =
        b.add_source_mat(Source::iter(1..=10).via_mat(KillSwitches::single(), Keep::right));
    let part = b.partition::<i32, _>(2, |x| (x % 2) as usize);
    let merge = b.merge::<i32>(2, false);
    b.connect(src, part.in_());
    let evens = b.via(part.out(0), Flow::new().map(|x: i32| x * 100));
    b.connect(evens, merge.in_(0));
    b.connect(part.out(1), merge.in_(1));
    let source = b
        .build_source_mat(merge.out(), move |m| m.take(stats_key))
        .unwrap();
    let (_switch, out) = source.to_mat(Sink::seq(), Keep::both).run();
    let mut got = out.await.unwrap();
    got.sort();
    assert_eq!(got, vec![1, 3, 5, 7, 9, 200, 400, 600, 800, 1000]);
}

#[tokio::test]
async fn flow_shape_with_balance_and_concat() {
    let mut b = GraphBuilder::new();
    let entry = b.add_flow(Flow::<i32, i32, ()>::new());
    let balance = b.balance::<i32>(2);
    let merge = b.merge::<i32>(2, false);
    let concat = b.concat::<i32>(2);
    let tail = b.add_source(Source::iter(vec![-1, -2]));
    b.connect(entry.out(), balance.in_());
    let a = b.via(balance.out(0), Flow::new().map(|x: i32| x + 1000));
    let c = b.via(balance.out(1), Flow::new().map(|x: i32| x + 2000));
    b.connect(a, merge.in_(0));
    b.connect(c, merge.in_(1));
    b.connect(merge.out(), concat.in_(0));
    b.connect(tail, concat.in_(1));
    let flow = b.build_flow(entry.in_(), concat.out()).unwrap();
    let got = Source::iter(0..20)
        .via(flow)
        .run_with(Sink::seq())
        .await
        .unwrap();
    assert_eq!(got.len(), 22);
    assert_eq!(
        &got[20..],
        &[-1, -2],
        "concat's second input follows the first"
    );
    let mut base: Vec<i32> = got[..20].iter().map(|x| x % 1000).collect();
    base.sort();
    assert_eq!(base, (0..20).collect::<Vec<_>>(), "balance loses nothing");
}

#[tokio::test]
async fn sink_shape_broadcasting_into_two_sinks() {
    let mut b = GraphBuilder::new();
    let bcast = b.broadcast::<i32>(2, false);
    let (s1, k1) = b.add_sink_mat(Sink::seq());
    let (s2, k2) = b.add_sink_mat(Sink::fold(0, |a, x| a + x));
    b.connect(bcast.out(0), s1);
    let doubled = b.via(bcast.out(1), Flow::new().map(|x: i32| x * 2));
    b.connect(doubled, s2);
    let sink = b
        .build_sink_mat(bcast.in_(), move |m| (m.take(k1), m.take(k2)))
        .unwrap();
    let (seq, sum) = Source::iter(1..=4).run_with(sink);
    assert_eq!(seq.await.unwrap(), vec![1, 2, 3, 4]);
    assert_eq!(sum.await.unwrap(), 20);
}

#[tokio::test]
async fn failure_inside_the_graph_reaches_the_sinks() {
    let mut b = GraphBuilder::new();
    let src = b.add_source(Source::iter(1..=3).concat(Source::failed(StreamError::msg("boom"))));
    let bcast = b.broadcast::<i32>(2, false);
    let (s1, k1) = b.add_sink_mat(Sink::seq());
    let (s2, k2) = b.add_sink_mat(Sink::seq());
    b.connect(src, bcast.in_());
    b.connect(bcast.out(0), s1);
    b.connect(bcast.out(1), s2);
    let (a, c) = b
        .build_closed_mat(move |m| (m.take(k1), m.take(k2)))
        .unwrap()
        .run();
    assert_eq!(a.await.unwrap_err().to_string(), "boom");
    assert_eq!(c.await.unwrap_err().to_string(), "boom");
}

#[tokio::test]
async fn exposed_port_must_not_be_connected_inside() {
    let mut b = GraphBuilder::new();
    let src = b.add_source(Source::iter(1..=3));
    let sink = b.add_sink(Sink::<i32, _>::ignore());
    b.connect(src, sink);
    let err = b.build_source(src).map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("Source#0.out is exposed"), "{err}");
}

#[tokio::test]
async fn unzip_feeds_both_outputs_and_survives_one_cancelling() {
    let mut b = GraphBuilder::new();
    let src = b.add_source(Source::iter((1..=5).map(|x| (x, format!("s{x}")))));
    let unzip = b.unzip::<i32, String>();
    let (nums, k1) = b.add_sink_mat(Sink::seq());
    // the second output takes two, then cancels: the first goes on to the end
    let (strs, k2) = b.add_sink_mat(Flow::new().take(2).to_mat(Sink::seq(), Keep::right));
    b.connect(src, unzip.in_());
    b.connect(unzip.out0(), nums);
    b.connect(unzip.out1(), strs);
    let (nums, strs) = b
        .build_closed_mat(move |m| (m.take(k1), m.take(k2)))
        .unwrap()
        .run();
    assert_eq!(
        strs.await.unwrap(),
        vec!["s1".to_string(), "s2".to_string()]
    );
    assert_eq!(nums.await.unwrap(), vec![1, 2, 3, 4, 5]);

    // unzip_with into a flow shape that zips the halves back together
    let mut b = GraphBuilder::new();
    let unzip = b.unzip_with(|x: i32| (x, x * x));
    let zip = b.zip_with(|a: i32, sq: i32| a + sq);
    b.connect(unzip.out0(), zip.in0());
    b.connect(unzip.out1(), zip.in1());
    let flow = b.build_flow(unzip.in_(), zip.out()).unwrap();
    let got = Source::iter(1..=4)
        .via(flow)
        .run_with(Sink::seq())
        .await
        .unwrap();
    assert_eq!(got, vec![2, 6, 12, 20]);
}
