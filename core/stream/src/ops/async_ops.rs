//! Operators driven by futures: map_async (ordered and unordered), flat_map_concat,
//! flat_map_merge, unfold_async.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures::stream::SelectAll;
use futures::{Stream, StreamExt};

use super::{poll_up, yield_now, SYNC_LIMIT};
use crate::attributes::Attributes;
use crate::dsl::{Elems, Source};
use crate::error::{Decider, Directive, StreamError};

type Item<T> = Option<Result<T, StreamError>>;

enum Slot<U, Fut> {
    Done(Result<U, StreamError>),
    Running(Pin<Box<Fut>>),
}

/// `map_async` (ordered) and `map_async_unordered`: at most `parallelism` futures in flight.
pub(crate) struct MapAsync<T, U, F, Fut> {
    pub up: Option<Elems<T>>,
    pub f: Arc<F>,
    pub parallelism: usize,
    pub ordered: bool,
    pub decider: Option<Decider>,
    slots: VecDeque<Slot<U, Fut>>,
    failed: bool,
}

impl<T, U, F, Fut> MapAsync<T, U, F, Fut> {
    pub(crate) fn new(
        up: Elems<T>,
        f: Arc<F>,
        parallelism: usize,
        ordered: bool,
        decider: Option<Decider>,
    ) -> Self {
        let parallelism = parallelism.max(1);
        MapAsync {
            up: Some(up),
            f,
            parallelism,
            ordered,
            decider,
            slots: VecDeque::with_capacity(parallelism),
            failed: false,
        }
    }
}

impl<T, U, F, Fut> Stream for MapAsync<T, U, F, Fut>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<U, StreamError>>,
{
    type Item = Result<U, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<U>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        for _ in 0..SYNC_LIMIT {
            // pull while there is room
            while this.slots.len() < this.parallelism {
                match poll_up(&mut this.up, cx) {
                    Poll::Ready(Some(Ok(x))) => {
                        let mut fut = Box::pin((this.f)(x));
                        match fut.as_mut().poll(cx) {
                            Poll::Ready(r) => this.slots.push_back(Slot::Done(r)),
                            Poll::Pending => this.slots.push_back(Slot::Running(fut)),
                        }
                    }
                    Poll::Ready(Some(Err(e))) => {
                        this.failed = true;
                        this.slots.clear();
                        return Poll::Ready(Some(Err(e)));
                    }
                    Poll::Ready(None) | Poll::Pending => break,
                }
            }
            // advance running futures
            for slot in this.slots.iter_mut() {
                if let Slot::Running(fut) = slot {
                    if let Poll::Ready(r) = fut.as_mut().poll(cx) {
                        *slot = Slot::Done(r);
                    }
                }
            }
            // emit
            let idx = if this.ordered {
                matches!(this.slots.front(), Some(Slot::Done(_))).then_some(0)
            } else {
                this.slots.iter().position(|s| matches!(s, Slot::Done(_)))
            };
            match idx.and_then(|i| this.slots.remove(i)) {
                Some(Slot::Done(Ok(y))) => return Poll::Ready(Some(Ok(y))),
                Some(Slot::Done(Err(e))) => {
                    match this.decider.as_ref().map_or(Directive::Stop, |d| d(&e)) {
                        Directive::Stop => {
                            this.failed = true;
                            this.up = None;
                            this.slots.clear();
                            return Poll::Ready(Some(Err(e)));
                        }
                        _ => continue,
                    }
                }
                _ => {}
            }
            if this.up.is_none() && this.slots.is_empty() {
                return Poll::Ready(None);
            }
            return Poll::Pending;
        }
        yield_now(cx)
    }
}

/// `flat_map_concat`: one inner source at a time.
pub(crate) struct FlatMapConcat<T, U, F> {
    pub up: Option<Elems<T>>,
    pub inner: Option<Elems<U>>,
    pub f: Arc<F>,
    pub attrs: Attributes,
}
impl<T, U: Send + 'static, M: 'static, F> Stream for FlatMapConcat<T, U, F>
where
    F: Fn(T) -> Source<U, M>,
{
    type Item = Result<U, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<U>> {
        let this = &mut *self;
        for _ in 0..SYNC_LIMIT {
            if this.inner.is_some() {
                match ready!(poll_up(&mut this.inner, cx)) {
                    Some(Ok(y)) => return Poll::Ready(Some(Ok(y))),
                    Some(Err(e)) => {
                        this.up = None;
                        return Poll::Ready(Some(Err(e)));
                    }
                    None => {}
                }
            }
            match ready!(poll_up(&mut this.up, cx)) {
                Some(Ok(x)) => this.inner = Some((this.f)(x).materialize(&this.attrs).0),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(None),
            }
        }
        yield_now(cx)
    }
}

/// `flat_map_merge`: up to `breadth` inner sources at once.
pub(crate) struct FlatMapMerge<T, U, F> {
    pub up: Option<Elems<T>>,
    pub inners: SelectAll<Elems<U>>,
    pub breadth: usize,
    pub f: Arc<F>,
    pub attrs: Attributes,
    pub failed: bool,
}
impl<T, U: Send + 'static, M: 'static, F> Stream for FlatMapMerge<T, U, F>
where
    F: Fn(T) -> Source<U, M>,
{
    type Item = Result<U, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<U>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        for _ in 0..SYNC_LIMIT {
            let mut up_pending = false;
            while this.inners.len() < this.breadth {
                match poll_up(&mut this.up, cx) {
                    Poll::Ready(Some(Ok(x))) => {
                        this.inners.push((this.f)(x).materialize(&this.attrs).0);
                    }
                    Poll::Ready(Some(Err(e))) => {
                        this.failed = true;
                        this.inners.clear();
                        return Poll::Ready(Some(Err(e)));
                    }
                    Poll::Ready(None) => break,
                    Poll::Pending => {
                        up_pending = true;
                        break;
                    }
                }
            }
            match this.inners.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(y))) => return Poll::Ready(Some(Ok(y))),
                Poll::Ready(Some(Err(e))) => {
                    this.failed = true;
                    this.up = None;
                    this.inners.clear();
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    if this.up.is_none() {
                        return Poll::Ready(None);
                    }
                    if up_pending {
                        return Poll::Pending;
                    }
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        yield_now(cx)
    }
}

/// `Source::unfold_async`.
pub(crate) struct UnfoldAsync<S, F, Fut> {
    pub state: Option<S>,
    pub f: Arc<F>,
    pub fut: Option<Pin<Box<Fut>>>,
}
impl<S, T, F, Fut> Stream for UnfoldAsync<S, F, Fut>
where
    F: Fn(S) -> Fut,
    Fut: Future<Output = Option<(S, T)>>,
{
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        if this.fut.is_none() {
            match this.state.take() {
                Some(s) => this.fut = Some(Box::pin((this.f)(s))),
                None => return Poll::Ready(None),
            }
        }
        let Some(fut) = this.fut.as_mut() else {
            return Poll::Ready(None);
        };
        let r = ready!(fut.as_mut().poll(cx));
        this.fut = None;
        Poll::Ready(match r {
            Some((s, x)) => {
                this.state = Some(s);
                Some(Ok(x))
            }
            None => None,
        })
    }
}

impl<T, U, F, Fut> Unpin for MapAsync<T, U, F, Fut> {}
impl<T, U, F> Unpin for FlatMapConcat<T, U, F> {}
impl<T, U, F> Unpin for FlatMapMerge<T, U, F> {}
impl<S, F, Fut> Unpin for UnfoldAsync<S, F, Fut> {}
