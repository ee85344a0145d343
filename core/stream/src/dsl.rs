//! Blueprints: [`Source`], [`Flow`], [`Sink`], [`RunnableGraph`] and materialization.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::{FutureExt, Stream};
use tokio::sync::oneshot;

use crate::attributes::Attributes;
use crate::error::StreamError;

/// The running form of a stream segment: a boxed `futures::Stream` of elements where an
/// `Err` is the terminal failure signal and end-of-stream is completion. Dropping it
/// cancels everything upstream of it.
pub type Elems<T> = Pin<Box<dyn Stream<Item = Result<T, StreamError>> + Send + 'static>>;

/// Materialized-value combiners for `via_mat` / `to_mat` (Pekko `Keep`).
pub struct Keep;

impl Keep {
    /// Keep the upstream (left) value.
    pub fn left<L, R>(l: L, _r: R) -> L {
        l
    }
    /// Keep the downstream (right) value.
    pub fn right<L, R>(_l: L, r: R) -> R {
        r
    }
    /// Keep both as a pair.
    pub fn both<L, R>(l: L, r: R) -> (L, R) {
        (l, r)
    }
    /// Keep neither.
    pub fn none<L, R>(_l: L, _r: R) {}
}

/// A materialized future completing with the stream's result (Pekko `Future[T]` values
/// such as `Sink.seq`'s). Resolves to [`StreamError::AbruptTermination`] when the stream
/// was dropped or its task died before it could deliver a result.
#[must_use = "a StreamFuture does nothing unless awaited"]
pub struct StreamFuture<T> {
    rx: oneshot::Receiver<Result<T, StreamError>>,
}

impl<T> std::fmt::Debug for StreamFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamFuture")
    }
}

impl<T> Future for StreamFuture<T> {
    type Output = Result<T, StreamError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.rx.poll_unpin(cx) {
            Poll::Ready(Ok(r)) => Poll::Ready(r),
            Poll::Ready(Err(_)) => Poll::Ready(Err(StreamError::AbruptTermination(
                "the stage owning this future stopped without a result",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The completing side of a [`StreamFuture`].
pub(crate) struct Promise<T> {
    tx: Option<oneshot::Sender<Result<T, StreamError>>>,
}

impl<T> Promise<T> {
    pub(crate) fn complete(&mut self, r: Result<T, StreamError>) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(r);
        }
    }
    pub(crate) fn is_completed(&self) -> bool {
        self.tx.is_none()
    }
}

/// A new promise and the future it completes.
pub(crate) fn promise<T>() -> (Promise<T>, StreamFuture<T>) {
    let (tx, rx) = oneshot::channel();
    (Promise { tx: Some(tx) }, StreamFuture { rx })
}

type SourceFn<Out, Mat> = dyn Fn(&Attributes) -> (Elems<Out>, Mat) + Send + Sync;
type FlowFn<In, Out, Mat> = dyn Fn(Elems<In>, &Attributes) -> (Elems<Out>, Mat) + Send + Sync;
type SinkFn<In, Mat> =
    dyn Fn(Elems<In>, &Attributes) -> (Mat, BoxFuture<'static, ()>) + Send + Sync;
type GraphFn<Mat> = dyn Fn(&Attributes) -> (Mat, BoxFuture<'static, ()>) + Send + Sync;

/// A blueprint with one output of `Out`, materializing to `Mat` (Pekko `Source[Out, Mat]`).
/// Cloning is cheap; every materialization runs independently.
pub struct Source<Out, Mat = ()> {
    pub(crate) f: Arc<SourceFn<Out, Mat>>,
}

/// A blueprint with one input and one output (Pekko `Flow[In, Out, Mat]`).
pub struct Flow<In, Out, Mat = ()> {
    pub(crate) f: Arc<FlowFn<In, Out, Mat>>,
}

/// A blueprint with one input, materializing to `Mat` (Pekko `Sink[In, Mat]`).
pub struct Sink<In, Mat = ()> {
    pub(crate) f: Arc<SinkFn<In, Mat>>,
}

/// A fully connected blueprint that can be run (Pekko `RunnableGraph[Mat]`).
pub struct RunnableGraph<Mat> {
    pub(crate) f: Arc<GraphFn<Mat>>,
}

impl<Out, Mat> Clone for Source<Out, Mat> {
    fn clone(&self) -> Self {
        Source { f: self.f.clone() }
    }
}
impl<In, Out, Mat> Clone for Flow<In, Out, Mat> {
    fn clone(&self) -> Self {
        Flow { f: self.f.clone() }
    }
}
impl<In, Mat> Clone for Sink<In, Mat> {
    fn clone(&self) -> Self {
        Sink { f: self.f.clone() }
    }
}
impl<Mat> Clone for RunnableGraph<Mat> {
    fn clone(&self) -> Self {
        RunnableGraph { f: self.f.clone() }
    }
}

impl<Out: Send + 'static, Mat: 'static> Source<Out, Mat> {
    /// A source from a materialization function called once per run with the effective
    /// attributes. The returned stream must respect demand (it is only polled when
    /// downstream wants an element).
    pub fn from_materializer<F>(f: F) -> Self
    where
        F: Fn(&Attributes) -> (Elems<Out>, Mat) + Send + Sync + 'static,
    {
        Source { f: Arc::new(f) }
    }

    /// Materializes this source alone: its element stream and its materialized value.
    pub fn materialize(&self, attrs: &Attributes) -> (Elems<Out>, Mat) {
        (self.f)(attrs)
    }

    /// Attaches a flow; keeps this source's materialized value.
    pub fn via<U: Send + 'static, M2: 'static>(self, flow: Flow<Out, U, M2>) -> Source<U, Mat> {
        self.via_mat(flow, Keep::left)
    }

    /// Attaches a flow, combining both materialized values with `combine`.
    pub fn via_mat<U, M2, M3, C>(self, flow: Flow<Out, U, M2>, combine: C) -> Source<U, M3>
    where
        U: Send + 'static,
        M2: 'static,
        M3: 'static,
        C: Fn(Mat, M2) -> M3 + Send + Sync + 'static,
    {
        let up = self.f;
        Source::from_materializer(move |attrs| {
            let (elems, m1) = up(attrs);
            let (elems, m2) = (flow.f)(elems, attrs);
            (elems, combine(m1, m2))
        })
    }

    /// Connects to a sink; keeps this source's materialized value.
    pub fn to<M2: 'static>(self, sink: Sink<Out, M2>) -> RunnableGraph<Mat> {
        self.to_mat(sink, Keep::left)
    }

    /// Connects to a sink, combining both materialized values with `combine`.
    pub fn to_mat<M2, M3, C>(self, sink: Sink<Out, M2>, combine: C) -> RunnableGraph<M3>
    where
        M2: 'static,
        M3: 'static,
        C: Fn(Mat, M2) -> M3 + Send + Sync + 'static,
    {
        let up = self.f;
        RunnableGraph {
            f: Arc::new(move |attrs| {
                let (elems, m1) = up(attrs);
                let (m2, fut) = (sink.f)(elems, attrs);
                (combine(m1, m2), fut)
            }),
        }
    }

    /// Runs this source into `sink` and returns the sink's materialized value. Needs a
    /// tokio runtime.
    pub fn run_with<M2: 'static>(self, sink: Sink<Out, M2>) -> M2 {
        self.to_mat(sink, Keep::right).run()
    }

    /// Runs `f` for every element (Pekko `runForeach`).
    pub fn run_for_each<F>(self, f: F) -> StreamFuture<()>
    where
        F: FnMut(Out) + Send + Sync + Clone + 'static,
    {
        self.run_with(Sink::for_each(f))
    }

    /// Folds all elements (Pekko `runFold`).
    pub fn run_fold<A, F>(self, zero: A, f: F) -> StreamFuture<A>
    where
        A: Clone + Send + Sync + 'static,
        F: Fn(A, Out) -> A + Send + Sync + 'static,
    {
        self.run_with(Sink::fold(zero, f))
    }

    /// Transforms the materialized value.
    pub fn map_materialized_value<M2: 'static, F>(self, f: F) -> Source<Out, M2>
    where
        F: Fn(Mat) -> M2 + Send + Sync + 'static,
    {
        let up = self.f;
        Source::from_materializer(move |attrs| {
            let (e, m) = up(attrs);
            (e, f(m))
        })
    }

    /// Sets attributes on every operator inside this source (inner settings win).
    pub fn with_attributes(self, attrs: Attributes) -> Self {
        let up = self.f;
        Source::from_materializer(move |outer| up(&outer.and(&attrs)))
    }

    /// Names this source (for logs).
    pub fn named(self, name: impl Into<String>) -> Self {
        self.with_attributes(Attributes::name(name))
    }

    /// Materializes this source now and returns its materialized value together with a
    /// source of its elements (Pekko `preMaterialize`). The returned source can be
    /// materialized once; a second materialization fails with
    /// [`StreamError::AlreadyMaterialized`]. The elements flow once that source runs.
    pub fn pre_materialize(self) -> (Mat, Source<Out, ()>) {
        let (elems, mat) = (self.f)(&Attributes::new());
        let cell = parking_lot::Mutex::new(Some(elems));
        let source = Source::from_materializer(move |_| match cell.lock().take() {
            Some(elems) => (elems, ()),
            None => (
                Box::pin(futures::stream::once(futures::future::ready(Err(
                    StreamError::AlreadyMaterialized("a pre-materialized source"),
                )))) as Elems<Out>,
                (),
            ),
        });
        (mat, source)
    }

    /// Materializes this source as a `futures::Stream`, discarding the materialized value.
    /// The stream runs on the task that polls it (fused, no spawned task).
    pub fn into_stream(self) -> Elems<Out> {
        self.into_stream_mat().0
    }

    /// Materializes this source as a `futures::Stream` together with its materialized value.
    pub fn into_stream_mat(self) -> (Elems<Out>, Mat) {
        (self.f)(&Attributes::new())
    }
}

impl<In: Send + 'static, Out: Send + 'static, Mat: 'static> Flow<In, Out, Mat> {
    /// A flow from a materialization function called once per run.
    pub fn from_materializer<F>(f: F) -> Self
    where
        F: Fn(Elems<In>, &Attributes) -> (Elems<Out>, Mat) + Send + Sync + 'static,
    {
        Flow { f: Arc::new(f) }
    }

    /// Materializes this flow over `upstream`.
    pub fn materialize(&self, upstream: Elems<In>, attrs: &Attributes) -> (Elems<Out>, Mat) {
        (self.f)(upstream, attrs)
    }

    /// Attaches another flow; keeps this flow's materialized value.
    pub fn via<U: Send + 'static, M2: 'static>(self, flow: Flow<Out, U, M2>) -> Flow<In, U, Mat> {
        self.via_mat(flow, Keep::left)
    }

    /// Attaches another flow, combining materialized values.
    pub fn via_mat<U, M2, M3, C>(self, flow: Flow<Out, U, M2>, combine: C) -> Flow<In, U, M3>
    where
        U: Send + 'static,
        M2: 'static,
        M3: 'static,
        C: Fn(Mat, M2) -> M3 + Send + Sync + 'static,
    {
        let first = self.f;
        Flow::from_materializer(move |up, attrs| {
            let (e, m1) = first(up, attrs);
            let (e, m2) = (flow.f)(e, attrs);
            (e, combine(m1, m2))
        })
    }

    /// Connects to a sink, giving a sink; keeps this flow's materialized value.
    pub fn to<M2: 'static>(self, sink: Sink<Out, M2>) -> Sink<In, Mat> {
        self.to_mat(sink, Keep::left)
    }

    /// Connects to a sink, combining materialized values.
    pub fn to_mat<M2, M3, C>(self, sink: Sink<Out, M2>, combine: C) -> Sink<In, M3>
    where
        M2: 'static,
        M3: 'static,
        C: Fn(Mat, M2) -> M3 + Send + Sync + 'static,
    {
        let first = self.f;
        Sink::from_materializer(move |up, attrs| {
            let (e, m1) = first(up, attrs);
            let (m2, fut) = (sink.f)(e, attrs);
            (combine(m1, m2), fut)
        })
    }

    /// Transforms the materialized value.
    pub fn map_materialized_value<M2: 'static, F>(self, f: F) -> Flow<In, Out, M2>
    where
        F: Fn(Mat) -> M2 + Send + Sync + 'static,
    {
        let first = self.f;
        Flow::from_materializer(move |up, attrs| {
            let (e, m) = first(up, attrs);
            (e, f(m))
        })
    }

    /// Sets attributes on every operator inside this flow (inner settings win).
    pub fn with_attributes(self, attrs: Attributes) -> Self {
        let first = self.f;
        Flow::from_materializer(move |up, outer| first(up, &outer.and(&attrs)))
    }

    /// Names this flow (for logs).
    pub fn named(self, name: impl Into<String>) -> Self {
        self.with_attributes(Attributes::name(name))
    }

    /// Runs this flow between `source` and `sink`, returning both materialized values.
    pub fn run_with<M1: 'static, M2: 'static>(
        self,
        source: Source<In, M1>,
        sink: Sink<Out, M2>,
    ) -> (M1, M2) {
        source.via(self).to_mat(sink, Keep::both).run()
    }
}

impl<T: Send + 'static> Flow<T, T, ()> {
    /// The identity flow (Pekko `Flow[T]`), the starting point for building flows.
    pub fn new() -> Self {
        Flow::from_materializer(|up, _| (up, ()))
    }
}

impl<T: Send + 'static> Default for Flow<T, T, ()> {
    fn default() -> Self {
        Self::new()
    }
}

impl<In: Send + 'static, Mat: 'static> Sink<In, Mat> {
    /// A sink from a materialization function: it receives the element stream and returns
    /// the materialized value and a future that consumes the stream (spawned by `run`).
    pub fn from_materializer<F>(f: F) -> Self
    where
        F: Fn(Elems<In>, &Attributes) -> (Mat, BoxFuture<'static, ()>) + Send + Sync + 'static,
    {
        Sink { f: Arc::new(f) }
    }

    /// Materializes this sink over `upstream`: the materialized value and the consuming future.
    pub fn materialize(
        &self,
        upstream: Elems<In>,
        attrs: &Attributes,
    ) -> (Mat, BoxFuture<'static, ()>) {
        (self.f)(upstream, attrs)
    }

    /// Transforms the materialized value.
    pub fn map_materialized_value<M2: 'static, F>(self, f: F) -> Sink<In, M2>
    where
        F: Fn(Mat) -> M2 + Send + Sync + 'static,
    {
        let s = self.f;
        Sink::from_materializer(move |up, attrs| {
            let (m, fut) = s(up, attrs);
            (f(m), fut)
        })
    }

    /// Sets attributes on every operator inside this sink (inner settings win).
    pub fn with_attributes(self, attrs: Attributes) -> Self {
        let s = self.f;
        Sink::from_materializer(move |up, outer| s(up, &outer.and(&attrs)))
    }

    /// Materializes and starts this sink now (on the current tokio runtime, like `run`)
    /// and returns its materialized value together with a sink feeding it (Pekko
    /// `Sink.preMaterialize`). The returned sink can be materialized once; a second
    /// materialization cancels its upstream at once. Until it runs, the started sink waits
    /// for elements.
    pub fn pre_materialize(self) -> (Mat, Sink<In, ()>) {
        let (tx, rx) = crate::ops::slot::channel::<Result<In, StreamError>>(false);
        let (mat, fut) = (self.f)(Box::pin(rx), &Attributes::new());
        tokio::spawn(fut);
        let cell = parking_lot::Mutex::new(Some(tx));
        let sink = Sink::from_materializer(move |up: Elems<In>, _| {
            let fut: BoxFuture<'static, ()> = match cell.lock().take() {
                Some(tx) => Box::pin(crate::graph::pump(up, tx)),
                None => {
                    tracing::warn!("a pre-materialized sink was materialized twice; cancelling the second upstream");
                    Box::pin(async move { drop(up) })
                }
            };
            ((), fut)
        });
        (mat, sink)
    }

    /// Feeds the sink from `source` and runs it, returning the sink's materialized value.
    pub fn run_with<M1: 'static>(self, source: Source<In, M1>) -> Mat {
        source.to_mat(self, Keep::right).run()
    }
}

impl<Mat: 'static> RunnableGraph<Mat> {
    /// Materializes and starts the graph on the current tokio runtime; returns the
    /// materialized value. Panics outside a tokio runtime (like `tokio::spawn`).
    pub fn run(&self) -> Mat {
        self.run_with_attributes(&Attributes::new())
    }

    /// Like [`RunnableGraph::run`] with top-level attributes.
    pub fn run_with_attributes(&self, attrs: &Attributes) -> Mat {
        let (m, fut) = (self.f)(attrs);
        tokio::spawn(fut);
        m
    }

    /// Materializes without spawning: the materialized value and the future that runs the
    /// graph, for callers that drive it themselves.
    pub fn materialize(&self) -> (Mat, BoxFuture<'static, ()>) {
        (self.f)(&Attributes::new())
    }

    /// Transforms the materialized value.
    pub fn map_materialized_value<M2: 'static, F>(self, f: F) -> RunnableGraph<M2>
    where
        F: Fn(Mat) -> M2 + Send + Sync + 'static,
    {
        let g = self.f;
        RunnableGraph {
            f: Arc::new(move |attrs| {
                let (m, fut) = g(attrs);
                (f(m), fut)
            }),
        }
    }

    /// Sets attributes on every operator inside this graph (inner settings win).
    pub fn with_attributes(self, attrs: Attributes) -> Self {
        let g = self.f;
        RunnableGraph {
            f: Arc::new(move |outer| g(&outer.and(&attrs))),
        }
    }
}
