//! Source factories (Pekko `Source.single`, `Source(iterable)`, `Source.tick`, ...).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::future::{FutureExt, Shared};
use futures::{stream, Stream, StreamExt};
use parking_lot::Mutex;

use crate::dsl::{Elems, Source};
use crate::error::StreamError;
use crate::ops::async_ops::UnfoldAsync;
use crate::ops::basic::FromIter;
use crate::ops::fanin::Merge;
use crate::ops::timing::{Cancellable, Tick, Timer};

/// A source emitting the elements of the iterator `make` builds per materialization.
fn from_iter_fn<T, I, F>(make: F) -> Source<T, ()>
where
    T: Send + 'static,
    I: Iterator<Item = T> + Send + 'static,
    F: Fn() -> I + Send + Sync + 'static,
{
    Source::from_materializer(move |_| (Box::pin(FromIter { it: make() }) as Elems<T>, ()))
}

impl<T: Send + 'static> Source<T, ()> {
    /// Completes at once (Pekko `Source.empty`).
    pub fn empty() -> Self {
        Source::from_materializer(|_| (Box::pin(stream::empty()) as Elems<T>, ()))
    }

    /// Never emits and never completes (Pekko `Source.never`).
    pub fn never() -> Self {
        Source::from_materializer(|_| (Box::pin(stream::pending()) as Elems<T>, ()))
    }

    /// Fails at once with `e` (Pekko `Source.failed`).
    pub fn failed(e: StreamError) -> Self {
        Source::from_materializer(move |_| {
            (
                Box::pin(stream::once(futures::future::ready(Err(e.clone())))) as Elems<T>,
                (),
            )
        })
    }

    /// Emits one element, then completes (Pekko `Source.single`).
    pub fn single(x: T) -> Self
    where
        T: Clone + Sync,
    {
        from_iter_fn(move || std::iter::once(x.clone()))
    }

    /// Emits the elements of a collection or iterator, which is cloned per materialization
    /// (Pekko `Source(iterable)` / `Source.fromIterator`).
    pub fn iter<I>(items: I) -> Self
    where
        I: IntoIterator<Item = T> + Clone + Send + Sync + 'static,
        I::IntoIter: Send + 'static,
    {
        from_iter_fn(move || items.clone().into_iter())
    }

    /// Emits `x` forever (Pekko `Source.repeat`).
    pub fn repeat(x: T) -> Self
    where
        T: Clone + Sync,
    {
        from_iter_fn(move || std::iter::repeat(x.clone()))
    }

    /// Repeats the elements of a collection forever (Pekko `Source.cycle`).
    pub fn cycle<I>(items: I) -> Self
    where
        I: IntoIterator<Item = T> + Clone + Send + Sync + 'static,
        I::IntoIter: Clone + Send + 'static,
    {
        from_iter_fn(move || items.clone().into_iter().cycle())
    }

    /// Generates elements from a state until `f` returns `None` (Pekko `Source.unfold`).
    pub fn unfold<S, F>(zero: S, f: F) -> Self
    where
        S: Clone + Send + Sync + 'static,
        F: Fn(S) -> Option<(S, T)> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        from_iter_fn(move || UnfoldIter {
            state: Some(zero.clone()),
            f: f.clone(),
        })
    }

    /// Like `unfold` with an asynchronous step (Pekko `Source.unfoldAsync`).
    pub fn unfold_async<S, Fut, F>(zero: S, f: F) -> Self
    where
        S: Clone + Send + Sync + 'static,
        Fut: Future<Output = Option<(S, T)>> + Send + 'static,
        F: Fn(S) -> Fut + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        Source::from_materializer(move |_| {
            (
                Box::pin(UnfoldAsync {
                    state: Some(zero.clone()),
                    f: f.clone(),
                    fut: None,
                }) as Elems<T>,
                (),
            )
        })
    }

    /// Emits the value of a future. The future is shared, so every materialization emits
    /// the same value (Pekko `Source.future`).
    pub fn future<Fut>(fut: Fut) -> Self
    where
        Fut: Future<Output = T> + Send + 'static,
        T: Clone + Sync,
    {
        let shared: Shared<futures::future::BoxFuture<'static, T>> = fut.boxed().shared();
        Source::from_materializer(move |_| {
            (
                Box::pin(stream::once(shared.clone().map(Ok))) as Elems<T>,
                (),
            )
        })
    }

    /// Emits the elements of the source the future produces (Pekko `Source.futureSource`).
    pub fn future_source<M, Fut>(fut: Fut) -> Self
    where
        M: 'static,
        Fut: Future<Output = Source<T, M>> + Send + 'static,
    {
        let shared = fut.map(Arc::new).boxed().shared();
        Source::from_materializer(move |attrs| {
            let attrs = attrs.clone();
            let s = shared
                .clone()
                .map(move |src| src.materialize(&attrs).0)
                .flatten_stream();
            (Box::pin(s) as Elems<T>, ())
        })
    }

    /// A source over a `futures::Stream` value. The stream can be consumed once: a second
    /// materialization fails with [`StreamError::AlreadyMaterialized`]. Use
    /// [`Source::from_stream_fn`] for a reusable blueprint.
    pub fn from_stream<S>(s: S) -> Self
    where
        S: Stream<Item = T> + Send + 'static,
    {
        let cell = Arc::new(Mutex::new(Some(s)));
        Source::from_materializer(move |_| match cell.lock().take() {
            Some(s) => (Box::pin(s.map(Ok)) as Elems<T>, ()),
            None => (
                Box::pin(stream::once(futures::future::ready(Err(
                    StreamError::AlreadyMaterialized("Source::from_stream"),
                )))) as Elems<T>,
                (),
            ),
        })
    }

    /// A source over a fallible `futures::Stream`; an `Err` item fails the stream.
    pub fn from_try_stream<S, E>(s: S) -> Self
    where
        S: Stream<Item = Result<T, E>> + Send + 'static,
        E: Into<StreamError>,
    {
        let cell = Arc::new(Mutex::new(Some(s)));
        Source::from_materializer(move |_| match cell.lock().take() {
            Some(s) => (Box::pin(s.map(|r| r.map_err(Into::into))) as Elems<T>, ()),
            None => (
                Box::pin(stream::once(futures::future::ready(Err(
                    StreamError::AlreadyMaterialized("Source::from_try_stream"),
                )))) as Elems<T>,
                (),
            ),
        })
    }

    /// A reusable source calling `make` for a fresh `futures::Stream` per materialization.
    pub fn from_stream_fn<S, F>(make: F) -> Self
    where
        S: Stream<Item = T> + Send + 'static,
        F: Fn() -> S + Send + Sync + 'static,
    {
        Source::from_materializer(move |_| (Box::pin(make().map(Ok)) as Elems<T>, ()))
    }
}

impl<T: Send + 'static, M: 'static> Source<T, M> {
    /// Merges several sources, completing when all complete (Pekko `Source.combine` with
    /// `Merge`, `mergeAll`).
    pub fn merge_all(sources: Vec<Source<T, M>>) -> Source<T, Vec<M>> {
        Source::from_materializer(move |attrs| {
            let (elems, mats): (Vec<_>, Vec<_>) =
                sources.iter().map(|s| s.materialize(attrs)).unzip();
            (Box::pin(Merge::new(elems, false, false)) as Elems<T>, mats)
        })
    }

    /// Emits the sources one after the other (Pekko `Source.combine` with `Concat`).
    pub fn concat_all(sources: Vec<Source<T, M>>) -> Source<T, Vec<M>> {
        Source::from_materializer(move |attrs| {
            let (elems, mats): (Vec<_>, Vec<_>) =
                sources.iter().map(|s| s.materialize(attrs)).unzip();
            (
                Box::pin(crate::ops::fanin::Concat {
                    inputs: elems.into(),
                }) as Elems<T>,
                mats,
            )
        })
    }
}

impl<T: Clone + Send + Sync + 'static> Source<T, Cancellable> {
    /// Emits `elem` at `initial_delay + k * interval` when downstream is waiting; ticks
    /// while it is not are dropped (Pekko `Source.tick`).
    pub fn tick(initial_delay: Duration, interval: Duration, elem: T) -> Self {
        Source::from_materializer(move |_| {
            let cancel = Cancellable::default();
            let s = Tick {
                initial: initial_delay,
                interval,
                elem: elem.clone(),
                next: None,
                waiting: false,
                timer: Timer::default(),
                cancel: cancel.clone(),
            };
            (Box::pin(s) as Elems<T>, cancel)
        })
    }
}

struct UnfoldIter<S, F> {
    state: Option<S>,
    f: Arc<F>,
}
impl<S, T, F: Fn(S) -> Option<(S, T)>> Iterator for UnfoldIter<S, F> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        let s = self.state.take()?;
        let (s, x) = (self.f)(s)?;
        self.state = Some(s);
        Some(x)
    }
}
impl<S, F> Unpin for UnfoldIter<S, F> {}

impl<T: Send + 'static> Source<T, tokio::sync::oneshot::Sender<Option<T>>> {
    /// A source materializing a one-shot sender (Pekko `Source.maybe`, whose materialized
    /// value is a `Promise[Option[T]]`): `send(Some(x))` emits `x` and completes,
    /// `send(None)` completes without an element. Until then the source emits nothing.
    /// Dropping the sender unsent completes the source without an element (a Pekko promise
    /// that is never completed leaves the stream running forever).
    pub fn maybe() -> Self {
        Source::from_materializer(|_| {
            let (tx, rx) = tokio::sync::oneshot::channel::<Option<T>>();
            let elems = stream::once(rx)
                .filter_map(|r| futures::future::ready(r.ok().flatten().map(Ok::<T, StreamError>)));
            (Box::pin(elems) as Elems<T>, tx)
        })
    }
}
