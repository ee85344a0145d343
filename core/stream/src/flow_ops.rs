//! [`FlowOps`]: the operators shared by [`Source`], [`Flow`] and [`SubFlow`].

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::SelectAll;
use futures::FutureExt;

use crate::attributes::Attributes;
use crate::dsl::{Elems, Flow, Sink, Source};
use crate::error::{StreamError, TimeoutKind};
use crate::ops::async_ops::{FlatMapConcat, FlatMapMerge, MapAsync};
use crate::ops::basic::*;
use crate::ops::decouple::{
    BufferLogic, ConflateLogic, Decoupled, DelayOverflowStrategy, Expand, OverflowStrategy,
};
use crate::ops::fanin::{Concat, Interleave, Merge, OrElse, ZipAll, ZipWith};
use crate::ops::fanout::{attach, AlsoTo};
use crate::ops::substream::{GroupByRouter, Router, RouterFactory, SplitRouter, SubMerge};
use crate::ops::timing::Within;
use crate::ops::timing::{
    Delay, GroupedWithin, KeepAlive, Throttle, ThrottleMode, Timeout, Timer, TokenBucket,
};

/// Operators available on sources, flows and substreams. `Repr<U>` is the same kind of
/// blueprint with output `U` (and the same materialized value).
pub trait FlowOps: Sized {
    /// Element type of the output.
    type Out: Send + 'static;
    /// The blueprint type after an operator changes the output type to `U`.
    type Repr<U: Send + 'static>: FlowOps<Out = U>;

    /// Appends a stage built per materialization from the upstream element stream and the
    /// effective attributes. The building block of every operator.
    fn via_stage<U, S>(self, stage: S) -> Self::Repr<U>
    where
        U: Send + 'static,
        S: Fn(Elems<Self::Out>, &Attributes) -> Elems<U> + Send + Sync + 'static;

    /// Transforms each element (Pekko `map`).
    fn map<U, F>(self, f: F) -> Self::Repr<U>
    where
        U: Send + 'static,
        F: Fn(Self::Out) -> U + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.via_stage(move |up, _| {
            Box::pin(Map {
                up: Some(up),
                f: f.clone(),
            })
        })
    }

    /// Fallible `map`; failures go through the supervision decider (resume/restart drop the
    /// element, stop fails the stream).
    fn try_map<U, E, F>(self, f: F) -> Self::Repr<U>
    where
        U: Send + 'static,
        E: Into<StreamError>,
        F: Fn(Self::Out) -> Result<U, E> + Send + Sync + 'static,
    {
        let f = Arc::new(move |x| f(x).map(Some).map_err(Into::into));
        self.via_stage(move |up, attrs| {
            Box::pin(TryFilterMap {
                up: Some(up),
                f: f.clone(),
                decider: decider_of(attrs),
            })
        })
    }

    /// Keeps elements for which `p` holds (Pekko `filter`).
    fn filter<F>(self, p: F) -> Self::Repr<Self::Out>
    where
        F: Fn(&Self::Out) -> bool + Send + Sync + 'static,
    {
        self.collect(move |x| p(&x).then_some(x))
    }

    /// Drops elements for which `p` holds (Pekko `filterNot`).
    fn filter_not<F>(self, p: F) -> Self::Repr<Self::Out>
    where
        F: Fn(&Self::Out) -> bool + Send + Sync + 'static,
    {
        self.filter(move |x| !p(x))
    }

    /// Filter and map in one (Pekko `collect` with a partial function).
    fn collect<U, F>(self, f: F) -> Self::Repr<U>
    where
        U: Send + 'static,
        F: Fn(Self::Out) -> Option<U> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.via_stage(move |up, _| {
            Box::pin(FilterMap {
                up: Some(up),
                f: f.clone(),
            })
        })
    }

    /// Alias of [`FlowOps::collect`] with the Rust name.
    fn filter_map<U, F>(self, f: F) -> Self::Repr<U>
    where
        U: Send + 'static,
        F: Fn(Self::Out) -> Option<U> + Send + Sync + 'static,
    {
        self.collect(f)
    }

    /// Maps each element to a collection and emits its elements (Pekko `mapConcat`).
    fn map_concat<I, F>(self, f: F) -> Self::Repr<I::Item>
    where
        I: IntoIterator + 'static,
        I::IntoIter: Send + 'static,
        I::Item: Send + 'static,
        F: Fn(Self::Out) -> I + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.via_stage(move |up, _| {
            Box::pin(MapConcat::<_, F, I> {
                up: Some(up),
                f: f.clone(),
                cur: None,
            })
        })
    }

    /// Map with per-materialization state created by `create`; `on_complete` may emit one
    /// final element (Pekko `statefulMap`).
    fn stateful_map<S, U, C, F, G>(self, create: C, f: F, on_complete: G) -> Self::Repr<U>
    where
        S: Send + 'static,
        U: Send + 'static,
        C: Fn() -> S + Send + Sync + 'static,
        F: Fn(&mut S, Self::Out) -> U + Send + Sync + 'static,
        G: Fn(S) -> Option<U> + Send + Sync + 'static,
    {
        let (f, g) = (Arc::new(f), Arc::new(on_complete));
        self.via_stage(move |up, _| {
            Box::pin(StatefulMap {
                up: Some(up),
                state: Some(create()),
                f: f.clone(),
                on_complete: g.clone(),
            })
        })
    }

    /// Map to a collection with per-materialization state: `create` makes the mapping
    /// function of each materialization, whose results are emitted one by one (Pekko
    /// `statefulMapConcat`).
    fn stateful_map_concat<I, C, F>(self, create: C) -> Self::Repr<I::Item>
    where
        I: IntoIterator + 'static,
        I::IntoIter: Send + 'static,
        I::Item: Send + 'static,
        C: Fn() -> F + Send + Sync + 'static,
        F: FnMut(Self::Out) -> I + Send + 'static,
    {
        self.via_stage(move |up, _| {
            let f = parking_lot::Mutex::new(create());
            Box::pin(MapConcat {
                up: Some(up),
                f: Arc::new(move |x| (f.lock())(x)),
                cur: None,
            })
        })
    }

    /// Emits the final aggregate when upstream completes (Pekko `fold`).
    fn fold<A, F>(self, zero: A, f: F) -> Self::Repr<A>
    where
        A: Clone + Send + Sync + 'static,
        F: Fn(A, Self::Out) -> A + Send + Sync + 'static,
    {
        self.try_fold(zero, move |a, x| Ok::<_, StreamError>(f(a, x)))
    }

    /// Fallible fold with supervision (resume and restart both continue from `zero`, since
    /// the failed step consumed the accumulator).
    fn try_fold<A, E, F>(self, zero: A, f: F) -> Self::Repr<A>
    where
        A: Clone + Send + Sync + 'static,
        E: Into<StreamError>,
        F: Fn(A, Self::Out) -> Result<A, E> + Send + Sync + 'static,
    {
        let z = zero.clone();
        let f = Arc::new(move |acc: Option<A>, x| {
            f(acc.unwrap_or_else(|| z.clone()), x).map_err(Into::into)
        });
        self.via_stage(move |up, attrs| {
            Box::pin(Fold {
                up: Some(up),
                zero: Some(zero.clone()),
                acc: Some(zero.clone()),
                f: f.clone(),
                decider: decider_of(attrs),
                done: false,
                empty_fails: None,
            })
        })
    }

    /// Combines elements pairwise, emitting the result on completion; fails with
    /// [`StreamError::NoSuchElement`] on an empty stream (Pekko `reduce`).
    fn reduce<F>(self, f: F) -> Self::Repr<Self::Out>
    where
        Self::Out: Clone + Sync,
        F: Fn(Self::Out, Self::Out) -> Self::Out + Send + Sync + 'static,
    {
        let f = Arc::new(move |acc: Option<Self::Out>, x| {
            Ok(match acc {
                None => x,
                Some(a) => f(a, x),
            })
        });
        self.via_stage(move |up, attrs| {
            Box::pin(Fold {
                up: Some(up),
                zero: None,
                acc: None,
                f: f.clone(),
                decider: decider_of(attrs),
                done: false,
                empty_fails: Some("reduce"),
            })
        })
    }

    /// Emits `zero` and then every intermediate aggregate (Pekko `scan`).
    fn scan<A, F>(self, zero: A, f: F) -> Self::Repr<A>
    where
        A: Clone + Send + Sync + 'static,
        F: Fn(&A, Self::Out) -> A + Send + Sync + 'static,
    {
        self.try_scan(zero, move |a, x| Ok::<_, StreamError>(f(a, x)))
    }

    /// Fallible scan with supervision (restart resets the aggregate to `zero`).
    fn try_scan<A, E, F>(self, zero: A, f: F) -> Self::Repr<A>
    where
        A: Clone + Send + Sync + 'static,
        E: Into<StreamError>,
        F: Fn(&A, Self::Out) -> Result<A, E> + Send + Sync + 'static,
    {
        let f = Arc::new(move |a: &A, x| f(a, x).map_err(Into::into));
        self.via_stage(move |up, attrs| {
            Box::pin(Scan {
                up: Some(up),
                zero: zero.clone(),
                acc: None,
                emitted_zero: false,
                f: f.clone(),
                decider: decider_of(attrs),
            })
        })
    }

    /// Passes the first `n` elements, then completes and cancels upstream (Pekko `take`).
    fn take(self, n: u64) -> Self::Repr<Self::Out> {
        self.via_stage(move |up, _| {
            Box::pin(Take {
                up: Some(up),
                remaining: n,
            })
        })
    }

    /// Passes elements while `p` holds, then completes and cancels upstream.
    fn take_while<F>(self, p: F) -> Self::Repr<Self::Out>
    where
        F: Fn(&Self::Out) -> bool + Send + Sync + 'static,
    {
        take_while_stage(self, p, false)
    }

    /// Like `take_while` but also emits the first failing element (Pekko `inclusive = true`).
    fn take_while_inclusive<F>(self, p: F) -> Self::Repr<Self::Out>
    where
        F: Fn(&Self::Out) -> bool + Send + Sync + 'static,
    {
        take_while_stage(self, p, true)
    }

    /// Fails with [`StreamError::LimitReached`] when more than `n` elements arrive (Pekko `limit`).
    fn limit(self, n: u64) -> Self::Repr<Self::Out> {
        self.via_stage(move |up, _| {
            Box::pin(Limit {
                up: Some(up),
                seen: 0,
                limit: n,
            })
        })
    }

    /// Passes elements for `d` after materialization, then completes and cancels upstream
    /// (Pekko `takeWithin`).
    fn take_within(self, d: Duration) -> Self::Repr<Self::Out> {
        within(self, d, true)
    }

    /// Holds back all elements until `d` after materialization (Pekko `initialDelay`).
    fn initial_delay(self, d: Duration) -> Self::Repr<Self::Out> {
        within(self, d, false)
    }

    /// Skips the first `n` elements (Pekko `drop`).
    fn drop(self, n: u64) -> Self::Repr<Self::Out> {
        self.via_stage(move |up, _| {
            Box::pin(Drop {
                up: Some(up),
                remaining: n,
            })
        })
    }

    /// Skips elements while `p` holds (Pekko `dropWhile`).
    fn drop_while<F>(self, p: F) -> Self::Repr<Self::Out>
    where
        F: Fn(&Self::Out) -> bool + Send + Sync + 'static,
    {
        let p = Arc::new(p);
        self.via_stage(move |up, _| {
            Box::pin(DropWhile {
                up: Some(up),
                p: p.clone(),
                dropping: true,
            })
        })
    }

    /// Chunks of `n` elements; the last may be smaller (Pekko `grouped`).
    fn grouped(self, n: usize) -> Self::Repr<Vec<Self::Out>> {
        let n = n.max(1);
        self.via_stage(move |up, _| {
            Box::pin(Grouped {
                up: Some(up),
                n,
                buf: Vec::with_capacity(n.min(1024)),
            })
        })
    }

    /// Chunks of at most `n` elements or whatever arrived within each period `d`; never
    /// emits an empty chunk (Pekko `groupedWithin`).
    fn grouped_within(self, n: usize, d: Duration) -> Self::Repr<Vec<Self::Out>> {
        let n = n.max(1);
        self.via_stage(move |up, _| {
            Box::pin(GroupedWithin {
                up: Some(up),
                n,
                d,
                buf: Vec::new(),
                timer: Timer::default(),
                started: false,
                done: false,
            })
        })
    }

    /// Sliding windows of `n` elements advancing by `step` (Pekko `sliding`).
    fn sliding(self, n: usize, step: usize) -> Self::Repr<Vec<Self::Out>>
    where
        Self::Out: Clone,
    {
        let (n, step) = (n.max(1), step.max(1));
        self.via_stage(move |up, _| {
            Box::pin(Sliding {
                up: Some(up),
                n,
                step,
                buf: VecDeque::new(),
            })
        })
    }

    /// Pairs each element with its 0-based index (Pekko `zipWithIndex`).
    fn zip_with_index(self) -> Self::Repr<(Self::Out, u64)> {
        self.via_stage(|up, _| Box::pin(ZipWithIndex { up: Some(up), i: 0 }))
    }

    /// Runs `f` on up to `parallelism` elements at once and emits results in input order
    /// (Pekko `mapAsync`).
    fn map_async<U, Fut, F>(self, parallelism: usize, f: F) -> Self::Repr<U>
    where
        U: Send + 'static,
        Fut: Future<Output = U> + Send + 'static,
        F: Fn(Self::Out) -> Fut + Send + Sync + 'static,
    {
        self.try_map_async(parallelism, move |x| f(x).map(Ok::<U, StreamError>))
    }

    /// `map_async` whose futures may fail; failures go through supervision.
    fn try_map_async<U, E, Fut, F>(self, parallelism: usize, f: F) -> Self::Repr<U>
    where
        U: Send + 'static,
        E: Into<StreamError>,
        Fut: Future<Output = Result<U, E>> + Send + 'static,
        F: Fn(Self::Out) -> Fut + Send + Sync + 'static,
    {
        map_async_stage(self, parallelism, f, true)
    }

    /// Like `map_async` but emits results as they complete (Pekko `mapAsyncUnordered`).
    fn map_async_unordered<U, Fut, F>(self, parallelism: usize, f: F) -> Self::Repr<U>
    where
        U: Send + 'static,
        Fut: Future<Output = U> + Send + 'static,
        F: Fn(Self::Out) -> Fut + Send + Sync + 'static,
    {
        self.try_map_async_unordered(parallelism, move |x| f(x).map(Ok::<U, StreamError>))
    }

    /// `map_async_unordered` whose futures may fail; failures go through supervision.
    fn try_map_async_unordered<U, E, Fut, F>(self, parallelism: usize, f: F) -> Self::Repr<U>
    where
        U: Send + 'static,
        E: Into<StreamError>,
        Fut: Future<Output = Result<U, E>> + Send + 'static,
        F: Fn(Self::Out) -> Fut + Send + Sync + 'static,
    {
        map_async_stage(self, parallelism, f, false)
    }

    /// Maps each element to a source and emits its elements, one source after the other
    /// (Pekko `flatMapConcat`).
    fn flat_map_concat<U, M, F>(self, f: F) -> Self::Repr<U>
    where
        U: Send + 'static,
        M: 'static,
        F: Fn(Self::Out) -> Source<U, M> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.via_stage(move |up, attrs| {
            Box::pin(FlatMapConcat {
                up: Some(up),
                inner: None,
                f: f.clone(),
                attrs: attrs.clone(),
            })
        })
    }

    /// Maps each element to a source and merges up to `breadth` of them (Pekko `flatMapMerge`).
    fn flat_map_merge<U, M, F>(self, breadth: usize, f: F) -> Self::Repr<U>
    where
        U: Send + 'static,
        M: 'static,
        F: Fn(Self::Out) -> Source<U, M> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let breadth = breadth.max(1);
        self.via_stage(move |up, attrs| {
            Box::pin(FlatMapMerge {
                up: Some(up),
                inners: SelectAll::new(),
                breadth,
                f: f.clone(),
                attrs: attrs.clone(),
                failed: false,
            })
        })
    }

    /// Limits throughput to `elements` per `per` with bursts of `maximum_burst`
    /// (Pekko `throttle(elements, per, maximumBurst, mode)`).
    fn throttle(
        self,
        elements: u32,
        per: Duration,
        maximum_burst: u32,
        mode: ThrottleMode,
    ) -> Self::Repr<Self::Out> {
        self.throttle_weighted(elements, per, maximum_burst, mode, |_| 1)
    }

    /// Throttle where each element costs `cost(elem)` tokens.
    fn throttle_weighted<C>(
        self,
        cost: u32,
        per: Duration,
        maximum_burst: u32,
        mode: ThrottleMode,
        cost_fn: C,
    ) -> Self::Repr<Self::Out>
    where
        C: Fn(&Self::Out) -> u32 + Send + Sync + 'static,
    {
        let nanos = (per.as_nanos() / u128::from(cost.max(1))).max(1) as i64;
        let cost_fn = Arc::new(move |x: &Self::Out| i64::from(cost_fn(x)));
        self.via_stage(move |up, _| {
            Box::pin(Throttle {
                up: Some(up),
                cost: cost_fn.clone(),
                bucket: TokenBucket::new(i64::from(maximum_burst), nanos),
                mode,
                held: None,
                timer: Timer::default(),
                failed: false,
            })
        })
    }

    /// Shifts each element by `d`, holding at most 16 elements (Pekko `delay`).
    fn delay(self, d: Duration, strategy: DelayOverflowStrategy) -> Self::Repr<Self::Out> {
        self.via_stage(move |up, attrs| {
            Box::pin(Delay {
                up: Some(up),
                d,
                cap: attrs.get_input_buffer(),
                strategy,
                buf: VecDeque::new(),
                timer: Timer::default(),
                failed: false,
            })
        })
    }

    /// Fails with a timeout if no element passes for `d` (Pekko `idleTimeout`).
    fn idle_timeout(self, d: Duration) -> Self::Repr<Self::Out> {
        timeout(self, TimeoutKind::Idle, d)
    }

    /// Fails with a timeout if the stream has not completed within `d` (Pekko `completionTimeout`).
    fn completion_timeout(self, d: Duration) -> Self::Repr<Self::Out> {
        timeout(self, TimeoutKind::Completion, d)
    }

    /// Fails with a timeout if the first element does not arrive within `d` (Pekko `initialTimeout`).
    fn initial_timeout(self, d: Duration) -> Self::Repr<Self::Out> {
        timeout(self, TimeoutKind::Initial, d)
    }

    /// Injects `inject()` when upstream emitted nothing for `d` while downstream waits
    /// (Pekko `keepAlive`).
    fn keep_alive<F>(self, d: Duration, inject: F) -> Self::Repr<Self::Out>
    where
        F: Fn() -> Self::Out + Send + Sync + 'static,
    {
        let inject = Arc::new(inject);
        self.via_stage(move |up, _| {
            Box::pin(KeepAlive {
                up: Some(up),
                d,
                inject: inject.clone(),
                timer: Timer::default(),
                started: false,
            })
        })
    }

    /// Buffers up to `size` elements with an overflow strategy (Pekko `buffer`). Runs its
    /// upstream in its own task so it keeps accepting while downstream is busy.
    fn buffer(self, size: usize, strategy: OverflowStrategy) -> Self::Repr<Self::Out> {
        let size = size.max(1);
        self.via_stage(move |up, _| {
            Box::pin(Decoupled::<Self::Out>::with_logic(
                up,
                BufferLogic {
                    buf: VecDeque::with_capacity(size.min(1024)),
                    cap: size,
                    strategy,
                },
            ))
        })
    }

    /// An asynchronous boundary: everything upstream runs in its own task, with a buffer of
    /// the `input_buffer` attribute (default 16) (Pekko `.async`).
    fn async_boundary(self) -> Self::Repr<Self::Out> {
        self.via_stage(|up, attrs| {
            Box::pin(Decoupled::<Self::Out>::boundary(
                up,
                attrs.get_input_buffer(),
            ))
        })
    }

    /// Aggregates elements with `f` while downstream is busy (Pekko `conflate`).
    fn conflate<F>(self, f: F) -> Self::Repr<Self::Out>
    where
        F: Fn(Self::Out, Self::Out) -> Self::Out + Send + Sync + 'static,
    {
        self.conflate_with_seed(|x| x, f)
    }

    /// Conflate starting each aggregate with `seed` (Pekko `conflateWithSeed`).
    fn conflate_with_seed<A, S, F>(self, seed: S, f: F) -> Self::Repr<A>
    where
        A: Send + 'static,
        S: Fn(Self::Out) -> A + Send + Sync + 'static,
        F: Fn(A, Self::Out) -> A + Send + Sync + 'static,
    {
        self.batch_weighted(u64::MAX, |_| 0, seed, f)
    }

    /// Like conflate but back-pressures once `max` elements are aggregated (Pekko `batch`).
    fn batch<A, S, F>(self, max: u64, seed: S, f: F) -> Self::Repr<A>
    where
        A: Send + 'static,
        S: Fn(Self::Out) -> A + Send + Sync + 'static,
        F: Fn(A, Self::Out) -> A + Send + Sync + 'static,
    {
        self.batch_weighted(max, |_| 1, seed, f)
    }

    /// `batch` with a cost per element (Pekko `batchWeighted`).
    fn batch_weighted<A, C, S, F>(self, max: u64, cost: C, seed: S, f: F) -> Self::Repr<A>
    where
        A: Send + 'static,
        C: Fn(&Self::Out) -> u64 + Send + Sync + 'static,
        S: Fn(Self::Out) -> A + Send + Sync + 'static,
        F: Fn(A, Self::Out) -> A + Send + Sync + 'static,
    {
        let (seed, f, cost) = (Arc::new(seed), Arc::new(f), Arc::new(cost));
        self.via_stage(move |up, _| {
            Box::pin(Decoupled::<A>::with_logic(
                up,
                ConflateLogic {
                    acc: None,
                    weight: 0,
                    max: max.max(1),
                    seed: seed.clone(),
                    agg: f.clone(),
                    cost: cost.clone(),
                    _t: PhantomData,
                },
            ))
        })
    }

    /// While upstream has nothing new, emits further elements from `f(last)` (Pekko `expand`).
    fn expand<I, F>(self, f: F) -> Self::Repr<I::Item>
    where
        I: Iterator + Send + 'static,
        I::Item: Send + 'static,
        F: Fn(Self::Out) -> I + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.via_stage(move |up, _| {
            Box::pin(Expand {
                up: Some(up),
                f: f.clone(),
                cur: None,
            })
        })
    }

    /// Replaces a failure by one final element, then completes (Pekko `recover`).
    fn recover<F>(self, f: F) -> Self::Repr<Self::Out>
    where
        F: Fn(&StreamError) -> Option<Self::Out> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.via_stage(move |up, _| {
            Box::pin(Recover {
                up: Some(up),
                f: f.clone(),
            })
        })
    }

    /// On failure switches to the source `f` returns, at most `attempts` times (`None` =
    /// unlimited, Pekko `-1`) (Pekko `recoverWithRetries`).
    fn recover_with_retries<M, F>(self, attempts: Option<u64>, f: F) -> Self::Repr<Self::Out>
    where
        M: 'static,
        F: Fn(&StreamError) -> Option<Source<Self::Out, M>> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.via_stage(move |up, attrs| {
            Box::pin(RecoverWithRetries {
                up: Some(up),
                attempts_left: attempts,
                f: f.clone(),
                attrs: attrs.clone(),
            })
        })
    }

    /// Translates a failure (Pekko `mapError`).
    fn map_error<F>(self, f: F) -> Self::Repr<Self::Out>
    where
        F: Fn(StreamError) -> StreamError + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.via_stage(move |up, _| {
            Box::pin(MapError {
                up: Some(up),
                f: f.clone(),
            })
        })
    }

    /// Logs elements (DEBUG), completion (DEBUG), cancellation (DEBUG) and failure (ERROR)
    /// under the target `rekko_stream::log` (Pekko `log`).
    fn log(self, name: &str) -> Self::Repr<Self::Out>
    where
        Self::Out: Debug,
    {
        let name: Arc<str> = Arc::from(name);
        self.via_stage(move |up, _| {
            Box::pin(Log {
                up: Some(up),
                name: name.clone(),
            })
        })
    }

    /// Merges with `other`, completing when both complete (Pekko `merge`).
    fn merge<M>(self, other: Source<Self::Out, M>) -> Self::Repr<Self::Out>
    where
        M: 'static,
    {
        merge_stage(self, other, false)
    }

    /// Merge where this side wins when both have elements (Pekko `mergePreferred`).
    fn merge_preferred<M>(self, other: Source<Self::Out, M>) -> Self::Repr<Self::Out>
    where
        M: 'static,
    {
        merge_stage(self, other, true)
    }

    /// Emits `other`'s elements after this stream completes (Pekko `concat`).
    fn concat<M: 'static>(self, other: Source<Self::Out, M>) -> Self::Repr<Self::Out> {
        concat_stage(self, other, false)
    }

    /// Emits `other`'s elements before this stream's (Pekko `prepend`).
    fn prepend<M: 'static>(self, other: Source<Self::Out, M>) -> Self::Repr<Self::Out> {
        concat_stage(self, other, true)
    }

    /// Emits `other` only if this stream completes without elements (Pekko `orElse`).
    fn or_else<M: 'static>(self, other: Source<Self::Out, M>) -> Self::Repr<Self::Out> {
        self.via_stage(move |up, attrs| {
            Box::pin(OrElse {
                primary: Some(up),
                secondary: Some(other.materialize(attrs).0),
                seen: false,
            })
        })
    }

    /// Alternates `segment` elements from each side (Pekko `interleave`).
    fn interleave<M: 'static>(
        self,
        other: Source<Self::Out, M>,
        segment: usize,
    ) -> Self::Repr<Self::Out> {
        let segment = segment.max(1);
        self.via_stage(move |up, attrs| {
            Box::pin(Interleave {
                inputs: [Some(up), Some(other.materialize(attrs).0)],
                cur: 0,
                count: 0,
                segment,
            })
        })
    }

    /// Pairs elements one-to-one; completes when either side does (Pekko `zip`).
    fn zip<B: Send + 'static, M: 'static>(self, other: Source<B, M>) -> Self::Repr<(Self::Out, B)> {
        self.zip_with(other, |a, b| (a, b))
    }

    /// Combines elements one-to-one with `f` (Pekko `zipWith`).
    fn zip_with<B, C, M, F>(self, other: Source<B, M>, f: F) -> Self::Repr<C>
    where
        B: Send + 'static,
        C: Send + 'static,
        M: 'static,
        F: Fn(Self::Out, B) -> C + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.via_stage(move |up, attrs| {
            Box::pin(ZipWith {
                a: Some(up),
                b: Some(other.materialize(attrs).0),
                ha: None,
                hb: None,
                f: f.clone(),
                done: false,
            })
        })
    }

    /// Pairs elements one-to-one until both sides completed; the side that completed
    /// first is padded with its `pad` element (Pekko `zipAll(that, thisElem, thatElem)`).
    fn zip_all<B, M>(
        self,
        other: Source<B, M>,
        pad: Self::Out,
        other_pad: B,
    ) -> Self::Repr<(Self::Out, B)>
    where
        Self::Out: Clone + Sync,
        B: Clone + Send + Sync + 'static,
        M: 'static,
    {
        self.via_stage(move |up, attrs| {
            Box::pin(ZipAll {
                a: Some(up),
                b: Some(other.materialize(attrs).0),
                ha: None,
                hb: None,
                pad_a: pad.clone(),
                pad_b: other_pad.clone(),
            })
        })
    }

    /// Emits `inject` between elements (Pekko `intersperse(inject)`).
    fn intersperse(self, inject: Self::Out) -> Self::Repr<Self::Out>
    where
        Self::Out: Clone + Sync,
    {
        intersperse_stage(self, None, inject, None)
    }

    /// Emits `start` first, `inject` between elements and `end` at completion, also for
    /// an empty stream, but not after a failure (Pekko `intersperse(start, inject, end)`).
    fn intersperse_with(
        self,
        start: Self::Out,
        inject: Self::Out,
        end: Self::Out,
    ) -> Self::Repr<Self::Out>
    where
        Self::Out: Clone + Sync,
    {
        intersperse_stage(self, Some(start), inject, Some(end))
    }

    /// Also sends every element to `sink`, back-pressured by both; if the sink cancels, the
    /// stream completes (Pekko `alsoTo`, eager cancel). The sink's materialized value is
    /// discarded; use `Flow::also_to_mat` to keep it.
    fn also_to<M: 'static>(self, sink: Sink<Self::Out, M>) -> Self::Repr<Self::Out>
    where
        Self::Out: Clone,
    {
        also_to_stage(self, sink, false)
    }

    /// Sends elements to `sink` only when it is ready, never back-pressuring the main stream
    /// (Pekko `wireTap`).
    fn wire_tap<M: 'static>(self, sink: Sink<Self::Out, M>) -> Self::Repr<Self::Out>
    where
        Self::Out: Clone,
    {
        also_to_stage(self, sink, true)
    }

    /// Demultiplexes into at most `max_substreams` substreams by `key` (Pekko `groupBy`);
    /// continue with substream operators and join with `merge_substreams`.
    fn group_by<K, F>(self, max_substreams: usize, key: F) -> SubFlow<Self, Self::Out>
    where
        K: Hash + Eq + Send + 'static,
        F: Fn(&Self::Out) -> K + Send + Sync + 'static,
    {
        let key = Arc::new(key);
        let router: RouterFactory<Self::Out> = Arc::new(move || {
            Box::new(GroupByRouter {
                max: max_substreams,
                key: key.clone(),
                ids: HashMap::<K, u64>::new(),
            }) as Box<dyn Router<Self::Out>>
        });
        SubFlow {
            parent: self,
            router,
            flow: Flow::new(),
        }
    }

    /// Starts a new substream with each element for which `p` holds (Pekko `splitWhen`).
    fn split_when<F>(self, p: F) -> SubFlow<Self, Self::Out>
    where
        F: Fn(&Self::Out) -> bool + Send + Sync + 'static,
    {
        split(self, p, false)
    }

    /// Ends the current substream after each element for which `p` holds (Pekko `splitAfter`).
    fn split_after<F>(self, p: F) -> SubFlow<Self, Self::Out>
    where
        F: Fn(&Self::Out) -> bool + Send + Sync + 'static,
    {
        split(self, p, true)
    }
}

fn timeout<R: FlowOps>(r: R, kind: TimeoutKind, d: Duration) -> R::Repr<R::Out> {
    r.via_stage(move |up, _| {
        Box::pin(Timeout {
            up: Some(up),
            kind,
            d,
            timer: Timer::default(),
            started: false,
            seen_first: false,
            failed: false,
        })
    })
}

/// `intersperse` and `intersperse_with`.
fn intersperse_stage<R: FlowOps>(
    r: R,
    start: Option<R::Out>,
    inject: R::Out,
    end: Option<R::Out>,
) -> R::Repr<R::Out>
where
    R::Out: Clone + Sync,
{
    r.via_stage(move |up, _| {
        Box::pin(Intersperse {
            up: Some(up),
            start: start.clone(),
            inject: inject.clone(),
            end: end.clone(),
            held: None,
            first: true,
        })
    })
}

/// `take_while` (`inclusive` = false) and `take_while_inclusive`.
fn take_while_stage<R: FlowOps, F>(r: R, p: F, inclusive: bool) -> R::Repr<R::Out>
where
    F: Fn(&R::Out) -> bool + Send + Sync + 'static,
{
    let p = Arc::new(p);
    r.via_stage(move |up, _| {
        Box::pin(TakeWhile {
            up: Some(up),
            p: p.clone(),
            inclusive,
        })
    })
}

/// `take_within` (`take` = true) and `initial_delay`.
fn within<R: FlowOps>(r: R, d: Duration, take: bool) -> R::Repr<R::Out> {
    r.via_stage(move |up, _| {
        Box::pin(Within {
            up: Some(up),
            d,
            timer: Timer::default(),
            started: false,
            passed: false,
            take,
        })
    })
}

/// `try_map_async` (`ordered`) and `try_map_async_unordered`.
fn map_async_stage<R, U, E, Fut, F>(r: R, parallelism: usize, f: F, ordered: bool) -> R::Repr<U>
where
    R: FlowOps,
    U: Send + 'static,
    E: Into<StreamError>,
    Fut: Future<Output = Result<U, E>> + Send + 'static,
    F: Fn(R::Out) -> Fut + Send + Sync + 'static,
{
    let f = Arc::new(move |x| f(x).map(|r: Result<U, E>| r.map_err(Into::into)));
    r.via_stage(move |up, attrs| {
        Box::pin(MapAsync::new(
            up,
            f.clone(),
            parallelism,
            ordered,
            decider_of(attrs),
        ))
    })
}

/// `merge` and `merge_preferred` (this side preferred).
fn merge_stage<R: FlowOps, M: 'static>(
    r: R,
    other: Source<R::Out, M>,
    preferred: bool,
) -> R::Repr<R::Out> {
    r.via_stage(move |up, attrs| {
        Box::pin(Merge::new(
            vec![up, other.materialize(attrs).0],
            false,
            preferred,
        ))
    })
}

/// `concat` and `prepend` (`other_first`).
fn concat_stage<R: FlowOps, M: 'static>(
    r: R,
    other: Source<R::Out, M>,
    other_first: bool,
) -> R::Repr<R::Out> {
    r.via_stage(move |up, attrs| {
        let other = other.materialize(attrs).0;
        let inputs = if other_first {
            vec![other, up]
        } else {
            vec![up, other]
        };
        Box::pin(Concat {
            inputs: VecDeque::from(inputs),
        })
    })
}

/// `also_to` and `wire_tap` (`tap`).
fn also_to_stage<R: FlowOps, M: 'static>(r: R, sink: Sink<R::Out, M>, tap: bool) -> R::Repr<R::Out>
where
    R::Out: Clone,
{
    r.via_stage(move |up, attrs| also_to_elems(up, &sink, attrs, tap).0)
}

/// `up` with every element also sent to a fresh materialization of `sink`, and that
/// materialization's value.
fn also_to_elems<T: Clone + Send + 'static, M: 'static>(
    up: Elems<T>,
    sink: &Sink<T, M>,
    attrs: &Attributes,
    tap: bool,
) -> (Elems<T>, M) {
    let (tx, m, fut) = attach(sink, attrs);
    let elems = Box::pin(AlsoTo {
        up: Some(up),
        tx: Some(tx),
        side: Some(fut),
        tap,
    });
    (elems, m)
}

fn split<R: FlowOps, F>(r: R, p: F, after: bool) -> SubFlow<R, R::Out>
where
    F: Fn(&R::Out) -> bool + Send + Sync + 'static,
{
    let p = Arc::new(p);
    let router: RouterFactory<R::Out> = Arc::new(move || {
        Box::new(SplitRouter {
            p: p.clone(),
            after,
            current: None,
            next_id: 0,
        }) as Box<dyn Router<R::Out>>
    });
    SubFlow {
        parent: r,
        router,
        flow: Flow::new(),
    }
}

/// Substreams of a `group_by` / `split_when` / `split_after` (Pekko `SubFlow`). Operators
/// apply to every substream; `merge_substreams` / `concat_substreams` join them.
pub struct SubFlow<P: FlowOps, U> {
    parent: P,
    router: RouterFactory<P::Out>,
    flow: Flow<P::Out, U, ()>,
}

impl<P: FlowOps, U: Send + 'static> SubFlow<P, U> {
    /// Runs each substream through `flow`.
    pub fn via<V: Send + 'static>(self, flow: Flow<U, V, ()>) -> SubFlow<P, V> {
        SubFlow {
            parent: self.parent,
            router: self.router,
            flow: self.flow.via(flow),
        }
    }

    /// Merges the substreams' outputs as they arrive (Pekko `mergeSubstreams`).
    pub fn merge_substreams(self) -> P::Repr<U> {
        self.join(false)
    }

    /// Emits the substreams one after the other, in the order they were opened (Pekko
    /// `concatSubstreams`). With `group_by` this deadlocks when a later key arrives while
    /// an earlier substream is still open, as in Pekko.
    pub fn concat_substreams(self) -> P::Repr<U> {
        self.join(true)
    }

    fn join(self, concat: bool) -> P::Repr<U> {
        let (router, flow) = (self.router, self.flow);
        self.parent.via_stage(move |up, attrs| {
            Box::pin(SubMerge::new(
                up,
                router(),
                flow.clone(),
                attrs.clone(),
                concat,
            ))
        })
    }
}

impl<P: FlowOps, U: Send + 'static> FlowOps for SubFlow<P, U> {
    type Out = U;
    type Repr<V: Send + 'static> = SubFlow<P, V>;
    fn via_stage<V, S>(self, stage: S) -> SubFlow<P, V>
    where
        V: Send + 'static,
        S: Fn(Elems<U>, &Attributes) -> Elems<V> + Send + Sync + 'static,
    {
        SubFlow {
            parent: self.parent,
            router: self.router,
            flow: self.flow.via_stage(stage),
        }
    }
}

impl<Out: Send + 'static, Mat: 'static> FlowOps for Source<Out, Mat> {
    type Out = Out;
    type Repr<U: Send + 'static> = Source<U, Mat>;
    fn via_stage<U, S>(self, stage: S) -> Source<U, Mat>
    where
        U: Send + 'static,
        S: Fn(Elems<Out>, &Attributes) -> Elems<U> + Send + Sync + 'static,
    {
        let up = self.f;
        Source::from_materializer(move |attrs| {
            let (e, m) = up(attrs);
            (stage(e, attrs), m)
        })
    }
}

impl<In: Send + 'static, Out: Send + 'static, Mat: 'static> FlowOps for Flow<In, Out, Mat> {
    type Out = Out;
    type Repr<U: Send + 'static> = Flow<In, U, Mat>;
    fn via_stage<U, S>(self, stage: S) -> Flow<In, U, Mat>
    where
        U: Send + 'static,
        S: Fn(Elems<Out>, &Attributes) -> Elems<U> + Send + Sync + 'static,
    {
        let first = self.f;
        Flow::from_materializer(move |up, attrs| {
            let (e, m) = first(up, attrs);
            (stage(e, attrs), m)
        })
    }
}

impl<In: Send + 'static, Out: Clone + Send + 'static, Mat: 'static> Flow<In, Out, Mat> {
    /// `also_to` keeping both materialized values combined with `combine`.
    pub fn also_to_mat<M2: 'static, M3: 'static, C>(
        self,
        sink: Sink<Out, M2>,
        combine: C,
    ) -> Flow<In, Out, M3>
    where
        C: Fn(Mat, M2) -> M3 + Send + Sync + 'static,
    {
        let first = self.f;
        Flow::from_materializer(move |up, attrs| {
            let (e, m1) = first(up, attrs);
            let (e, m2) = also_to_elems(e, &sink, attrs, false);
            (e, combine(m1, m2))
        })
    }
}
