//! Graph building for arbitrary fan-out/fan-in graphs (Pekko `GraphDSL`).
//!
//! A [`GraphBuilder`] collects stages (sources, flows, sinks and junctions), each with
//! typed ports ([`Inlet`], [`Outlet`]), and connections between ports. Building checks
//! that every port is connected exactly once (except the ports a Source/Flow/Sink shape
//! exposes) and yields an ordinary blueprint: [`RunnableGraph`], [`Source`], [`Flow`] or
//! [`Sink`]. Like every blueprint it can be materialized any number of times.
//!
//! Each connection is a one-element channel and each stage a future; all stages of one
//! materialization run in one task, so a graph adds one hop per connection but no task per
//! stage. As in Pekko, every stage runs from materialization on, whether or not anything
//! pulls the outlet a source- or flow-shaped graph exposes: when some stages do not feed
//! that outlet (an internal sink, say), the graph runs in a task of its own started at
//! materialization, and the stages that feed only the exposed outlet move on its demand
//! alone (their connections are gated: no element passes before it is asked for). A graph
//! whose stages all feed the exposed outlet runs in the task that polls it. Cycles work as
//! in Pekko: a cycle needs a decoupling stage (for example `buffer` with a dropping
//! strategy) or it deadlocks once it is full.
//!
//! ```
//! use rekko_stream::prelude::*;
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let mut b = GraphBuilder::new();
//! let src = b.add_source(Source::iter(1..=3));
//! let bcast = b.broadcast::<i32>(2, false);
//! let zip = b.zip::<i32, i32>();
//! let (out, seq) = b.add_sink_mat(Sink::seq());
//! b.connect(src, bcast.in_());
//! let doubled = b.via(bcast.out(0), Flow::new().map(|x: i32| x * 2));
//! b.connect(doubled, zip.in0());
//! b.connect(bcast.out(1), zip.in1());
//! b.connect(zip.out(), out);
//! let graph = b.build_closed_mat(move |m| m.take(seq)).unwrap();
//! assert_eq!(graph.run().await.unwrap(), vec![(2, 1), (4, 2), (6, 3)]);
//! # }
//! ```

use std::any::Any;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::{FutureExt, Stream, StreamExt};

use crate::attributes::Attributes;
use crate::dsl::{Elems, Flow, RunnableGraph, Sink, Source};
use crate::error::StreamError;
use crate::ops::fanin::{Concat, Merge, ZipWith};
use crate::ops::fanout::{self, Router, Tx};
use crate::ops::slot;

static BUILDER_IDS: AtomicU64 = AtomicU64::new(1);

/// An input port of a stage in a [`GraphBuilder`], carrying elements of `T`.
pub struct Inlet<T> {
    builder: u64,
    port: usize,
    _t: PhantomData<fn(T)>,
}

/// An output port of a stage in a [`GraphBuilder`], carrying elements of `T`.
pub struct Outlet<T> {
    builder: u64,
    port: usize,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Inlet<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Inlet<T> {}
impl<T> Clone for Outlet<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Outlet<T> {}

/// Refers to the materialized value of a stage added with an `add_*_mat` method; redeem
/// it with [`MatValues::take`] in the function given to a `build_*_mat` method.
pub struct MatKey<M> {
    builder: u64,
    node: usize,
    _m: PhantomData<fn() -> M>,
}
impl<M> Clone for MatKey<M> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<M> Copy for MatKey<M> {}

/// The materialized values of one materialization of a graph.
pub struct MatValues {
    builder: u64,
    values: Vec<Option<Box<dyn Any>>>,
}

impl MatValues {
    /// Takes the materialized value `key` refers to.
    ///
    /// # Panics
    /// If the value was already taken in this materialization or `key` belongs to another
    /// builder (both programming errors in the combine function).
    pub fn take<M: 'static>(&mut self, key: MatKey<M>) -> M {
        assert_eq!(key.builder, self.builder, "MatKey of another GraphBuilder");
        match self
            .values
            .get_mut(key.node)
            .and_then(Option::take)
            .map(|b| b.downcast::<M>())
        {
            Some(Ok(m)) => *m,
            _ => panic!("materialized value of stage {} taken twice", key.node),
        }
    }
}

/// Ports of a one-input, many-output junction (`Broadcast`, `Balance`, `Partition`).
pub struct FanOutShape<T> {
    inlet: Inlet<T>,
    outlets: Vec<Outlet<T>>,
}

impl<T> FanOutShape<T> {
    /// The input.
    pub fn in_(&self) -> Inlet<T> {
        self.inlet
    }
    /// Output `i`.
    ///
    /// # Panics
    /// If `i` is not below the junction's output count.
    pub fn out(&self, i: usize) -> Outlet<T> {
        self.outlets[i]
    }
    /// All outputs in order.
    pub fn outs(&self) -> &[Outlet<T>] {
        &self.outlets
    }
}

/// Ports of a many-input, one-output junction (`Merge`, `Concat`).
pub struct FanInShape<T> {
    inlets: Vec<Inlet<T>>,
    outlet: Outlet<T>,
}

impl<T> FanInShape<T> {
    /// Input `i`.
    ///
    /// # Panics
    /// If `i` is not below the junction's input count.
    pub fn in_(&self, i: usize) -> Inlet<T> {
        self.inlets[i]
    }
    /// All inputs in order.
    pub fn ins(&self) -> &[Inlet<T>] {
        &self.inlets
    }
    /// The output.
    pub fn out(&self) -> Outlet<T> {
        self.outlet
    }
}

/// Ports of `MergePreferred`: one preferred input, `n` secondary inputs, one output.
pub struct MergePreferredShape<T> {
    preferred: Inlet<T>,
    inlets: Vec<Inlet<T>>,
    outlet: Outlet<T>,
}

impl<T> MergePreferredShape<T> {
    /// The preferred input: whenever it has an element, that element goes first.
    pub fn preferred(&self) -> Inlet<T> {
        self.preferred
    }
    /// Secondary input `i`.
    ///
    /// # Panics
    /// If `i` is not below the number of secondary inputs.
    pub fn in_(&self, i: usize) -> Inlet<T> {
        self.inlets[i]
    }
    /// The output.
    pub fn out(&self) -> Outlet<T> {
        self.outlet
    }
}

/// Ports of a two-input zip producing `C`.
pub struct ZipShape<A, B, C> {
    in0: Inlet<A>,
    in1: Inlet<B>,
    outlet: Outlet<C>,
}

impl<A, B, C> ZipShape<A, B, C> {
    /// The left input.
    pub fn in0(&self) -> Inlet<A> {
        self.in0
    }
    /// The right input.
    pub fn in1(&self) -> Inlet<B> {
        self.in1
    }
    /// The output.
    pub fn out(&self) -> Outlet<C> {
        self.outlet
    }
}

/// Ports of an unzip: one input, two outputs of different types.
pub struct UnzipShape<In, A, B> {
    inlet: Inlet<In>,
    out0: Outlet<A>,
    out1: Outlet<B>,
}

impl<In, A, B> UnzipShape<In, A, B> {
    /// The input.
    pub fn in_(&self) -> Inlet<In> {
        self.inlet
    }
    /// The first output.
    pub fn out0(&self) -> Outlet<A> {
        self.out0
    }
    /// The second output.
    pub fn out1(&self) -> Outlet<B> {
        self.out1
    }
}

/// Ports of a flow added to a graph.
pub struct FlowShape<I, O> {
    inlet: Inlet<I>,
    outlet: Outlet<O>,
}

impl<I, O> FlowShape<I, O> {
    /// The flow's input.
    pub fn in_(&self) -> Inlet<I> {
        self.inlet
    }
    /// The flow's output.
    pub fn out(&self) -> Outlet<O> {
        self.outlet
    }
}

/// One materialization's channel ends, by port.
struct Wiring {
    ins: Vec<Option<Box<dyn Any + Send>>>,
    outs: Vec<Option<Box<dyn Any + Send>>>,
    names: Arc<Vec<String>>,
}

impl Wiring {
    fn take_in<T: Send + 'static>(&mut self, p: usize) -> Elems<T> {
        match self.ins[p].take().map(|b| b.downcast::<Elems<T>>()) {
            Some(Ok(e)) => *e,
            _ => Box::pin(futures::stream::once(futures::future::ready(Err(
                StreamError::InvalidGraph {
                    port: self.names[p].as_str().into(),
                    problem: "has no upstream",
                },
            )))),
        }
    }

    fn take_out<T: Send + 'static>(&mut self, p: usize) -> Tx<T> {
        match self.outs[p].take().map(|b| b.downcast::<Tx<T>>()) {
            Some(Ok(tx)) => *tx,
            // no downstream: a sender whose receiver is gone reads as cancellation
            _ => slot::channel(false).0,
        }
    }
}

type NodeFn =
    dyn Fn(&mut Wiring, &Attributes) -> (BoxFuture<'static, ()>, Box<dyn Any>) + Send + Sync;
/// Makes one connection's channel ends; `true` makes a gated channel (see
/// [`slot::channel`]).
type EdgeFn = dyn Fn(bool) -> (Box<dyn Any + Send>, Box<dyn Any + Send>) + Send + Sync;

struct Edge {
    from: usize,
    to: usize,
    make: Arc<EdgeFn>,
}

/// Builds a graph of stages and connections (Pekko `GraphDSL.Builder`). See the module
/// documentation for an example.
pub struct GraphBuilder {
    id: u64,
    nodes: Vec<Arc<NodeFn>>,
    names: Vec<String>,
    inlet: Vec<bool>,
    /// The stage each port belongs to.
    owner: Vec<usize>,
    edges: Vec<Edge>,
    uses: Vec<usize>,
    errors: Vec<StreamError>,
}

impl Default for GraphBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn channel_edge<T: Send + 'static>() -> Arc<EdgeFn> {
    Arc::new(|gated| {
        let (tx, rx) = slot::channel::<Result<T, StreamError>>(gated);
        let elems: Elems<T> = Box::pin(rx);
        (Box::new(tx) as Box<dyn Any + Send>, Box::new(elems) as _)
    })
}

/// Forwards `up` into `tx`, pulling only when `tx` has room; stops when the receiver is
/// gone (cancelling `up` by dropping it).
pub(crate) async fn pump<T>(mut up: Elems<T>, mut tx: Tx<T>) {
    loop {
        if poll_fn(|cx| tx.poll_ready(cx)).await.is_err() {
            return;
        }
        match up.next().await {
            Some(Ok(x)) => {
                if tx.start_send(Ok(x)).is_err() {
                    return;
                }
            }
            Some(Err(e)) => {
                let _ = tx.start_send(Err(e));
                return;
            }
            None => return,
        }
    }
}

/// Polls a live output for room: `Some(true)` ready, `Some(false)` not yet, `None` gone
/// (the output is cleared).
fn poll_room<T>(tx: &mut Option<Tx<T>>, cx: &mut Context<'_>) -> Option<bool> {
    let t = tx.as_mut()?;
    match t.poll_ready(cx) {
        Poll::Ready(Ok(())) => Some(true),
        Poll::Ready(Err(_)) => {
            *tx = None;
            None
        }
        Poll::Pending => Some(false),
    }
}

/// Drives an unzip: pulls only when every live output has room.
async fn unzip<In, A, B, F: Fn(In) -> (A, B)>(
    mut up: Elems<In>,
    (mut tx0, mut tx1): (Option<Tx<A>>, Option<Tx<B>>),
    f: Arc<F>,
) {
    loop {
        let live = poll_fn(|cx| {
            let r0 = poll_room(&mut tx0, cx);
            let r1 = poll_room(&mut tx1, cx);
            match (r0, r1) {
                (None, None) => Poll::Ready(false),
                (Some(false), _) | (_, Some(false)) => Poll::Pending,
                _ => Poll::Ready(true),
            }
        })
        .await;
        if !live {
            return; // both outputs cancelled: cancel upstream
        }
        match up.next().await {
            Some(Ok(x)) => {
                let (a, b) = f(x);
                if let Some(t) = tx0.as_mut() {
                    let _ = t.start_send(Ok(a));
                }
                if let Some(t) = tx1.as_mut() {
                    let _ = t.start_send(Ok(b));
                }
            }
            Some(Err(e)) => {
                if let Some(t) = tx0.as_mut() {
                    let _ = t.start_send(Err(e.clone()));
                }
                if let Some(t) = tx1.as_mut() {
                    let _ = t.start_send(Err(e));
                }
                return;
            }
            None => return,
        }
    }
}

fn unit() -> Box<dyn Any> {
    Box::new(())
}

impl GraphBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        GraphBuilder {
            id: BUILDER_IDS.fetch_add(1, Ordering::Relaxed),
            nodes: Vec::new(),
            names: Vec::new(),
            inlet: Vec::new(),
            owner: Vec::new(),
            edges: Vec::new(),
            uses: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn port(&mut self, node: &str, port: &str, inlet: bool) -> usize {
        self.names.push(format!("{node}.{port}"));
        self.inlet.push(inlet);
        // every stage creates its ports right before it is added
        self.owner.push(self.nodes.len());
        self.uses.push(0);
        self.names.len() - 1
    }

    fn inlet<T>(&mut self, node: &str, port: &str) -> Inlet<T> {
        Inlet {
            builder: self.id,
            port: self.port(node, port, true),
            _t: PhantomData,
        }
    }

    fn outlet<T>(&mut self, node: &str, port: &str) -> Outlet<T> {
        Outlet {
            builder: self.id,
            port: self.port(node, port, false),
            _t: PhantomData,
        }
    }

    fn node_name(&self, kind: &str) -> String {
        format!("{kind}#{}", self.nodes.len())
    }

    fn add_node(&mut self, f: Arc<NodeFn>) -> usize {
        self.nodes.push(f);
        self.nodes.len() - 1
    }

    fn key<M>(&self, node: usize) -> MatKey<M> {
        MatKey {
            builder: self.id,
            node,
            _m: PhantomData,
        }
    }

    /// Adds a source; its materialized value is discarded.
    pub fn add_source<T: Send + 'static, M: 'static>(&mut self, source: Source<T, M>) -> Outlet<T> {
        self.add_source_mat(source).0
    }

    /// Adds a source, keeping a key to its materialized value.
    pub fn add_source_mat<T: Send + 'static, M: 'static>(
        &mut self,
        source: Source<T, M>,
    ) -> (Outlet<T>, MatKey<M>) {
        let name = self.node_name("Source");
        let out = self.outlet::<T>(&name, "out");
        let p = out.port;
        let node = self.add_node(Arc::new(move |w, attrs| {
            let (elems, m) = source.materialize(attrs);
            let tx = w.take_out::<T>(p);
            (pump(elems, tx).boxed(), Box::new(m) as Box<dyn Any>)
        }));
        (out, self.key(node))
    }

    /// Adds a sink; its materialized value is discarded.
    pub fn add_sink<T: Send + 'static, M: 'static>(&mut self, sink: Sink<T, M>) -> Inlet<T> {
        self.add_sink_mat(sink).0
    }

    /// Adds a sink, keeping a key to its materialized value.
    pub fn add_sink_mat<T: Send + 'static, M: 'static>(
        &mut self,
        sink: Sink<T, M>,
    ) -> (Inlet<T>, MatKey<M>) {
        let name = self.node_name("Sink");
        let inl = self.inlet::<T>(&name, "in");
        let p = inl.port;
        let node = self.add_node(Arc::new(move |w, attrs| {
            let up = w.take_in::<T>(p);
            let (m, fut) = sink.materialize(up, attrs);
            (fut, Box::new(m) as Box<dyn Any>)
        }));
        (inl, self.key(node))
    }

    /// Adds a flow; its materialized value is discarded.
    pub fn add_flow<I: Send + 'static, O: Send + 'static, M: 'static>(
        &mut self,
        flow: Flow<I, O, M>,
    ) -> FlowShape<I, O> {
        self.add_flow_mat(flow).0
    }

    /// Adds a flow, keeping a key to its materialized value.
    pub fn add_flow_mat<I: Send + 'static, O: Send + 'static, M: 'static>(
        &mut self,
        flow: Flow<I, O, M>,
    ) -> (FlowShape<I, O>, MatKey<M>) {
        let name = self.node_name("Flow");
        let inlet = self.inlet::<I>(&name, "in");
        let outlet = self.outlet::<O>(&name, "out");
        let (pi, po) = (inlet.port, outlet.port);
        let node = self.add_node(Arc::new(move |w, attrs| {
            let up = w.take_in::<I>(pi);
            let (elems, m) = flow.materialize(up, attrs);
            let tx = w.take_out::<O>(po);
            (pump(elems, tx).boxed(), Box::new(m) as Box<dyn Any>)
        }));
        (FlowShape { inlet, outlet }, self.key(node))
    }

    fn fan_out<T: Send + 'static>(
        &mut self,
        kind: &str,
        n: usize,
        router: Arc<Router<T>>,
    ) -> FanOutShape<T> {
        let name = self.node_name(kind);
        let inlet = self.inlet::<T>(&name, "in");
        let outlets: Vec<Outlet<T>> = (0..n)
            .map(|i| self.outlet::<T>(&name, &format!("out{i}")))
            .collect();
        let pi = inlet.port;
        let pos: Vec<usize> = outlets.iter().map(|o| o.port).collect();
        self.add_node(Arc::new(move |w, _| {
            let up = w.take_in::<T>(pi);
            let outs = pos.iter().map(|p| Some(w.take_out::<T>(*p))).collect();
            (router(up, outs), unit())
        }));
        FanOutShape { inlet, outlets }
    }

    /// Adds `Broadcast(n, eager_cancel)`: every element to every output, at the pace of
    /// the slowest; with `eager_cancel` the first output that cancels cancels the junction,
    /// otherwise it goes on while any output is left.
    pub fn broadcast<T: Clone + Send + 'static>(
        &mut self,
        n: usize,
        eager_cancel: bool,
    ) -> FanOutShape<T> {
        let router: Arc<Router<T>> =
            Arc::new(move |up, outs| fanout::broadcast(up, outs, eager_cancel).boxed());
        self.fan_out("Broadcast", n, router)
    }

    /// Adds `Balance(n)`: each element to one output that is ready for it. Elements are
    /// moved, never cloned.
    pub fn balance<T: Send + 'static>(&mut self, n: usize) -> FanOutShape<T> {
        let router: Arc<Router<T>> = Arc::new(|up, outs| fanout::balance(up, outs).boxed());
        self.fan_out("Balance", n, router)
    }

    /// Adds `Partition(n, f)`: each element to output `f(&x)`; an index out of range fails
    /// the stream, elements for a cancelled output are dropped. Elements are moved, never
    /// cloned.
    pub fn partition<T, F>(&mut self, n: usize, f: F) -> FanOutShape<T>
    where
        T: Send + 'static,
        F: Fn(&T) -> usize + Send + Sync + 'static,
    {
        let f: Arc<dyn Fn(&T) -> usize + Send + Sync> = Arc::new(f);
        let router: Arc<Router<T>> =
            Arc::new(move |up, outs| fanout::partition(up, outs, f.clone()).boxed());
        self.fan_out("Partition", n, router)
    }

    fn fan_in<T: Send + 'static>(
        &mut self,
        kind: &str,
        ports: &[String],
        make: impl Fn(Vec<Elems<T>>) -> Elems<T> + Send + Sync + 'static,
    ) -> (Vec<Inlet<T>>, Outlet<T>) {
        let name = self.node_name(kind);
        let inlets: Vec<Inlet<T>> = ports.iter().map(|p| self.inlet::<T>(&name, p)).collect();
        let outlet = self.outlet::<T>(&name, "out");
        let pis: Vec<usize> = inlets.iter().map(|i| i.port).collect();
        let po = outlet.port;
        self.add_node(Arc::new(move |w, _| {
            let ins = pis.iter().map(|p| w.take_in::<T>(*p)).collect();
            let tx = w.take_out::<T>(po);
            (pump(make(ins), tx).boxed(), unit())
        }));
        (inlets, outlet)
    }

    fn numbered(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("in{i}")).collect()
    }

    /// Adds `Merge(n, eager_complete)`: elements from any input as they arrive; completes
    /// when all inputs completed (or, with `eager_complete`, when the first one did).
    pub fn merge<T: Send + 'static>(&mut self, n: usize, eager_complete: bool) -> FanInShape<T> {
        let (inlets, outlet) = self.fan_in("Merge", &Self::numbered(n), move |ins| {
            Box::pin(Merge::new(ins, eager_complete, false))
        });
        FanInShape { inlets, outlet }
    }

    /// Adds `MergePreferred(n, eager_complete)`: like `merge` with an extra preferred input
    /// whose elements always go first.
    pub fn merge_preferred<T: Send + 'static>(
        &mut self,
        n: usize,
        eager_complete: bool,
    ) -> MergePreferredShape<T> {
        let mut ports = vec!["preferred".to_string()];
        ports.extend(Self::numbered(n));
        let (mut inlets, outlet) = self.fan_in("MergePreferred", &ports, move |ins| {
            Box::pin(Merge::new(ins, eager_complete, true))
        });
        let preferred = inlets.remove(0);
        MergePreferredShape {
            preferred,
            inlets,
            outlet,
        }
    }

    /// Adds `Concat(n)`: all elements of input 0, then of input 1, and so on.
    pub fn concat<T: Send + 'static>(&mut self, n: usize) -> FanInShape<T> {
        let (inlets, outlet) = self.fan_in("Concat", &Self::numbered(n), |ins| {
            Box::pin(Concat {
                inputs: VecDeque::from(ins),
            })
        });
        FanInShape { inlets, outlet }
    }

    /// Adds `Zip`: pairs one element of each input; completes when either completes.
    pub fn zip<A: Send + 'static, B: Send + 'static>(&mut self) -> ZipShape<A, B, (A, B)> {
        self.zip_with(|a, b| (a, b))
    }

    /// Adds `ZipWith(f)`: combines one element of each input with `f`.
    pub fn zip_with<A, B, C, F>(&mut self, f: F) -> ZipShape<A, B, C>
    where
        A: Send + 'static,
        B: Send + 'static,
        C: Send + 'static,
        F: Fn(A, B) -> C + Send + Sync + 'static,
    {
        let name = self.node_name("Zip");
        let in0 = self.inlet::<A>(&name, "in0");
        let in1 = self.inlet::<B>(&name, "in1");
        let outlet = self.outlet::<C>(&name, "out");
        let (pa, pb, po) = (in0.port, in1.port, outlet.port);
        let f = Arc::new(f);
        self.add_node(Arc::new(move |w, _| {
            let zip: Elems<C> = Box::pin(ZipWith {
                a: Some(w.take_in::<A>(pa)),
                b: Some(w.take_in::<B>(pb)),
                ha: None,
                hb: None,
                f: f.clone(),
                done: false,
            });
            let tx = w.take_out::<C>(po);
            (pump(zip, tx).boxed(), unit())
        }));
        ZipShape { in0, in1, outlet }
    }

    /// Adds `Unzip`: splits each pair into its two outputs.
    pub fn unzip<A: Send + 'static, B: Send + 'static>(&mut self) -> UnzipShape<(A, B), A, B> {
        self.unzip_with(|p| p)
    }

    /// Adds `UnzipWith(f)`: splits each element with `f` into its two outputs. Emits when
    /// every output still running is ready; elements for an output that cancelled are
    /// dropped; cancels upstream when both outputs cancelled (as Pekko's `UnzipWith`).
    pub fn unzip_with<In, A, B, F>(&mut self, f: F) -> UnzipShape<In, A, B>
    where
        In: Send + 'static,
        A: Send + 'static,
        B: Send + 'static,
        F: Fn(In) -> (A, B) + Send + Sync + 'static,
    {
        let name = self.node_name("Unzip");
        let inlet = self.inlet::<In>(&name, "in");
        let out0 = self.outlet::<A>(&name, "out0");
        let out1 = self.outlet::<B>(&name, "out1");
        let (pi, p0, p1) = (inlet.port, out0.port, out1.port);
        let f = Arc::new(f);
        self.add_node(Arc::new(move |w, _| {
            let up = w.take_in::<In>(pi);
            let outs = (Some(w.take_out::<A>(p0)), Some(w.take_out::<B>(p1)));
            (unzip(up, outs, f.clone()).boxed(), unit())
        }));
        UnzipShape { inlet, out0, out1 }
    }

    fn own(&mut self, builder: u64, port: usize) -> bool {
        if builder == self.id {
            true
        } else {
            self.errors.push(StreamError::InvalidGraph {
                port: format!("#{port}").into(),
                problem: "belongs to another GraphBuilder",
            });
            false
        }
    }

    /// Connects `from` to `to` (Pekko `from ~> to`). Connecting a port twice is reported
    /// when the graph is built.
    pub fn connect<T: Send + 'static>(&mut self, from: Outlet<T>, to: Inlet<T>) {
        if !self.own(from.builder, from.port) || !self.own(to.builder, to.port) {
            return;
        }
        self.uses[from.port] += 1;
        self.uses[to.port] += 1;
        self.edges.push(Edge {
            from: from.port,
            to: to.port,
            make: channel_edge::<T>(),
        });
    }

    /// Adds `flow` after `from` and returns the flow's output (Pekko `from ~> flow`).
    pub fn via<T: Send + 'static, U: Send + 'static, M: 'static>(
        &mut self,
        from: Outlet<T>,
        flow: Flow<T, U, M>,
    ) -> Outlet<U> {
        let shape = self.add_flow(flow);
        self.connect(from, shape.in_());
        shape.out()
    }

    /// Adds `sink` after `from` (Pekko `from ~> sink`).
    pub fn to<T: Send + 'static, M: 'static>(&mut self, from: Outlet<T>, sink: Sink<T, M>) {
        let inlet = self.add_sink(sink);
        self.connect(from, inlet);
    }

    /// Checks the wiring: every port connected exactly once, `open` ports not at all.
    fn check(&self, open: &[usize]) -> Result<(), StreamError> {
        if let Some(e) = self.errors.first() {
            return Err(e.clone());
        }
        for (p, uses) in self.uses.iter().enumerate() {
            let problem = if open.contains(&p) {
                (*uses > 0).then_some("is exposed by the shape but also connected inside")
            } else if *uses == 0 {
                Some("is not connected")
            } else if *uses > 1 {
                Some("is connected more than once")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(StreamError::InvalidGraph {
                    port: self.names[p].as_str().into(),
                    problem,
                });
            }
        }
        Ok(())
    }

    fn into_blueprint(self) -> Blueprint {
        Blueprint {
            id: self.id,
            nodes: self.nodes,
            edges: self.edges,
            names: Arc::new(self.names),
            owner: self.owner,
            internal: None,
        }
    }

    /// The blueprint of a graph exposing outlet `port`, with its internal part marked.
    fn into_exposing_blueprint(self, port: usize) -> Blueprint {
        let stage_edges: Vec<(usize, usize)> = self
            .edges
            .iter()
            .map(|e| (self.owner[e.from], self.owner[e.to]))
            .collect();
        let internal = internal_part(self.nodes.len(), &stage_edges, self.owner[port]);
        let mut bp = self.into_blueprint();
        bp.internal = internal;
        bp
    }

    /// Builds a closed graph (Pekko `ClosedShape`).
    pub fn build_closed(self) -> Result<RunnableGraph<()>, StreamError> {
        self.build_closed_mat(|_| ())
    }

    /// Builds a closed graph whose materialized value `mat` computes from the stages'
    /// values.
    pub fn build_closed_mat<M, F>(self, mat: F) -> Result<RunnableGraph<M>, StreamError>
    where
        M: 'static,
        F: Fn(&mut MatValues) -> M + Send + Sync + 'static,
    {
        self.check(&[])?;
        let bp = self.into_blueprint();
        Ok(RunnableGraph {
            f: Arc::new(move |attrs| {
                let (mut w, mut values) = bp.wiring();
                let fut = bp.run(&mut w, &mut values, attrs);
                (mat(&mut values), fut)
            }),
        })
    }

    /// Builds a source exposing `out` (Pekko `SourceShape`).
    pub fn build_source<T: Send + 'static>(
        self,
        out: Outlet<T>,
    ) -> Result<Source<T, ()>, StreamError> {
        self.build_source_mat(out, |_| ())
    }

    /// Builds a source exposing `out`, materializing to what `mat` computes.
    pub fn build_source_mat<T, M, F>(
        mut self,
        out: Outlet<T>,
        mat: F,
    ) -> Result<Source<T, M>, StreamError>
    where
        T: Send + 'static,
        M: 'static,
        F: Fn(&mut MatValues) -> M + Send + Sync + 'static,
    {
        self.own(out.builder, out.port);
        self.check(&[out.port])?;
        let bp = self.into_exposing_blueprint(out.port);
        Ok(Source::from_materializer(move |attrs| {
            let (mut w, mut values) = bp.wiring();
            let elems = bp.run_exposing::<T>(out.port, &mut w, &mut values, attrs);
            (elems, mat(&mut values))
        }))
    }

    /// Builds a flow from `inlet` to `outlet` (Pekko `FlowShape`).
    pub fn build_flow<I: Send + 'static, O: Send + 'static>(
        self,
        inlet: Inlet<I>,
        outlet: Outlet<O>,
    ) -> Result<Flow<I, O, ()>, StreamError> {
        self.build_flow_mat(inlet, outlet, |_| ())
    }

    /// Builds a flow from `inlet` to `outlet`, materializing to what `mat` computes.
    pub fn build_flow_mat<I, O, M, F>(
        mut self,
        inlet: Inlet<I>,
        outlet: Outlet<O>,
        mat: F,
    ) -> Result<Flow<I, O, M>, StreamError>
    where
        I: Send + 'static,
        O: Send + 'static,
        M: 'static,
        F: Fn(&mut MatValues) -> M + Send + Sync + 'static,
    {
        self.own(inlet.builder, inlet.port);
        self.own(outlet.builder, outlet.port);
        self.check(&[inlet.port, outlet.port])?;
        let bp = self.into_exposing_blueprint(outlet.port);
        Ok(Flow::from_materializer(move |up: Elems<I>, attrs| {
            let (mut w, mut values) = bp.wiring();
            w.ins[inlet.port] = Some(Box::new(up));
            let elems = bp.run_exposing::<O>(outlet.port, &mut w, &mut values, attrs);
            (elems, mat(&mut values))
        }))
    }

    /// Builds a sink consuming `inlet` (Pekko `SinkShape`).
    pub fn build_sink<T: Send + 'static>(
        self,
        inlet: Inlet<T>,
    ) -> Result<Sink<T, ()>, StreamError> {
        self.build_sink_mat(inlet, |_| ())
    }

    /// Builds a sink consuming `inlet`, materializing to what `mat` computes.
    pub fn build_sink_mat<T, M, F>(
        mut self,
        inlet: Inlet<T>,
        mat: F,
    ) -> Result<Sink<T, M>, StreamError>
    where
        T: Send + 'static,
        M: 'static,
        F: Fn(&mut MatValues) -> M + Send + Sync + 'static,
    {
        self.own(inlet.builder, inlet.port);
        self.check(&[inlet.port])?;
        let bp = self.into_blueprint();
        Ok(Sink::from_materializer(move |up: Elems<T>, attrs| {
            let (mut w, mut values) = bp.wiring();
            w.ins[inlet.port] = Some(Box::new(up));
            let fut = bp.run(&mut w, &mut values, attrs);
            (mat(&mut values), fut)
        }))
    }
}

/// Which stages of a graph exposing an outlet of stage `exposed` form its internal part:
/// the stages that do not feed the exposed outlet (internal sinks, and anything else whose
/// output ends inside the graph) and every stage feeding one of those. `None` when every
/// stage feeds the exposed outlet (no internal part). `edges` are (from, to) stage pairs.
fn internal_part(nodes: usize, edges: &[(usize, usize)], exposed: usize) -> Option<Vec<bool>> {
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); nodes];
    for &(from, to) in edges {
        preds[to].push(from);
    }
    // marks every stage from which one of `start` is reachable (`start` included)
    let upstream_of = |start: Vec<usize>| {
        let mut seen = vec![false; nodes];
        let mut todo = start;
        while let Some(n) = todo.pop() {
            if !std::mem::replace(&mut seen[n], true) {
                todo.extend(preds[n].iter().copied().filter(|p| !seen[*p]));
            }
        }
        seen
    };
    let feeds_exposed = upstream_of(vec![exposed]);
    let outside: Vec<usize> = (0..nodes).filter(|n| !feeds_exposed[*n]).collect();
    if outside.is_empty() {
        None
    } else {
        Some(upstream_of(outside))
    }
}

/// A checked graph, ready to materialize.
struct Blueprint {
    id: u64,
    nodes: Vec<Arc<NodeFn>>,
    edges: Vec<Edge>,
    names: Arc<Vec<String>>,
    /// The stage each port belongs to.
    owner: Vec<usize>,
    /// For a source- or flow-shaped graph with an internal part: which stages belong to it.
    internal: Option<Vec<bool>>,
}

impl Blueprint {
    /// Fresh channel ends for every connection. In a graph with an internal part the
    /// connections into stages outside it are gated, so those stages move only on demand
    /// from the exposed outlet.
    fn wiring(&self) -> (Wiring, MatValues) {
        let n = self.names.len();
        let mut w = Wiring {
            ins: (0..n).map(|_| None).collect(),
            outs: (0..n).map(|_| None).collect(),
            names: self.names.clone(),
        };
        for e in &self.edges {
            let gated = self
                .internal
                .as_ref()
                .is_some_and(|internal| !internal[self.owner[e.to]]);
            let (tx, rx) = (e.make)(gated);
            w.outs[e.from] = Some(tx);
            w.ins[e.to] = Some(rx);
        }
        let values = MatValues {
            builder: self.id,
            values: Vec::with_capacity(self.nodes.len()),
        };
        (w, values)
    }

    /// Materializes every stage; the returned future runs them all.
    fn run(
        &self,
        w: &mut Wiring,
        values: &mut MatValues,
        attrs: &Attributes,
    ) -> BoxFuture<'static, ()> {
        let mut futs = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let (fut, m) = node(w, attrs);
            futs.push(fut);
            values.values.push(Some(m));
        }
        futures::future::join_all(futs).map(|_| ()).boxed()
    }

    /// Materializes every stage with outlet `port` left open; its elements are the
    /// returned stream.
    ///
    /// Without an internal part every stage feeds the exposed outlet, and polling the
    /// returned stream drives them all (fused, in the polling task). With one, the stages
    /// run in a task of their own, started now (Pekko runs every stage of a materialized
    /// graph whether or not its outlet is pulled): the internal part moves on by itself,
    /// while the exposed outlet and the connections into the stages that only feed it are
    /// gated, so those stages move only on the exposed outlet's demand.
    fn run_exposing<T: Send + 'static>(
        &self,
        port: usize,
        w: &mut Wiring,
        values: &mut MatValues,
        attrs: &Attributes,
    ) -> Elems<T> {
        let split = self.internal.is_some();
        let (tx, rx) = slot::channel::<Result<T, StreamError>>(split);
        w.outs[port] = Some(Box::new(tx));
        let driver = self.run(w, values, attrs);
        if split {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(driver);
                return Box::pin(rx);
            }
        }
        Box::pin(Driven {
            driver: Some(driver),
            out: Box::pin(rx),
            spawn_on_poll: split,
        })
    }
}

/// The exposed output of a Source- or Flow-shaped graph driving the graph's stages: polling
/// it also drives them. When the output ends while other stages still run, they continue
/// on their own task. A graph with an internal part that was materialized outside a tokio
/// runtime (`spawn_on_poll`) moves to its own task at the first poll; without a runtime
/// then either, polling drives it.
struct Driven<T> {
    driver: Option<BoxFuture<'static, ()>>,
    out: Elems<T>,
    spawn_on_poll: bool,
}

impl<T> Stream for Driven<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if std::mem::take(&mut this.spawn_on_poll) {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                if let Some(d) = this.driver.take() {
                    handle.spawn(d);
                }
            }
        }
        if let Some(d) = this.driver.as_mut() {
            if d.as_mut().poll(cx).is_ready() {
                this.driver = None;
            }
        }
        let r = this.out.as_mut().poll_next(cx);
        if let Poll::Ready(None) = r {
            if let Some(d) = this.driver.take() {
                if let Ok(handle) = tokio::runtime::Handle::try_current() {
                    handle.spawn(d);
                }
            }
        }
        r
    }
}

impl<T> Unpin for Driven<T> {}

#[cfg(test)]
mod tests {
    use super::internal_part;

    #[test]
    fn a_graph_whose_stages_all_feed_the_exposed_outlet_has_no_internal_part() {
        // 0 -> 1 -> 2 (exposed), 3 -> 1, and a cycle 2 -> 4 -> 1
        let edges = [(0, 1), (1, 2), (3, 1), (2, 4), (4, 1)];
        assert_eq!(internal_part(5, &edges, 2), None);
    }

    #[test]
    fn internal_sinks_and_their_feeders_form_the_internal_part() {
        // source 0 -> junction 1 -> flow 2 -> exposed flow 3; junction 1 -> sink 4;
        // source 5 -> flow 6 -> sink 7; source 8 -> flow 3
        let edges = [(0, 1), (1, 2), (2, 3), (1, 4), (5, 6), (6, 7), (8, 3)];
        let internal = internal_part(9, &edges, 3).unwrap();
        let marked: Vec<usize> = (0..9).filter(|n| internal[*n]).collect();
        assert_eq!(marked, vec![0, 1, 4, 5, 6, 7]);
    }
}
