//! Synchronous one-in/one-out operators: map, filter, fold, take, grouped, recover, ...

use std::collections::VecDeque;
use std::fmt::Debug;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures::Stream;

use super::{poll_up, yield_now, SYNC_LIMIT};
use crate::attributes::Attributes;
use crate::dsl::{Elems, Source};
use crate::error::{Decider, Directive, StreamError};

type Item<T> = Option<Result<T, StreamError>>;

pub(crate) struct Map<T, F> {
    pub up: Option<Elems<T>>,
    pub f: Arc<F>,
}
impl<T, U, F: Fn(T) -> U> Stream for Map<T, F> {
    type Item = Result<U, StreamError>;
    #[inline]
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<U>> {
        let this = &mut *self;
        Poll::Ready(match ready!(poll_up(&mut this.up, cx)) {
            Some(Ok(x)) => Some(Ok((this.f)(x))),
            Some(Err(e)) => Some(Err(e)),
            None => None,
        })
    }
}

/// Applies a decider to a failed element: `Ok(())` means drop it and go on.
fn supervise(decider: &Option<Decider>, e: &StreamError) -> Directive {
    match decider {
        Some(d) => d(e),
        None => Directive::Stop,
    }
}

pub(crate) fn decider_of(attrs: &Attributes) -> Option<Decider> {
    Some(attrs.decider())
}

/// `try_map` / `collect` / `filter` / `map_concat` / `try_filter` share this loop: `f` maps an
/// element to zero or one outputs or a failure that goes through supervision.
pub(crate) struct TryFilterMap<T, F> {
    pub up: Option<Elems<T>>,
    pub f: Arc<F>,
    pub decider: Option<Decider>,
}
impl<T, U, F: Fn(T) -> Result<Option<U>, StreamError>> Stream for TryFilterMap<T, F> {
    type Item = Result<U, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<U>> {
        let this = &mut *self;
        for _ in 0..SYNC_LIMIT {
            match ready!(poll_up(&mut this.up, cx)) {
                Some(Ok(x)) => match (this.f)(x) {
                    Ok(Some(y)) => return Poll::Ready(Some(Ok(y))),
                    Ok(None) => continue,
                    Err(e) => match supervise(&this.decider, &e) {
                        Directive::Stop => {
                            this.up = None;
                            return Poll::Ready(Some(Err(e)));
                        }
                        _ => continue,
                    },
                },
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(None),
            }
        }
        yield_now(cx)
    }
}

/// Infallible `collect` / `filter` (no supervision overhead).
pub(crate) struct FilterMap<T, F> {
    pub up: Option<Elems<T>>,
    pub f: Arc<F>,
}
impl<T, U, F: Fn(T) -> Option<U>> Stream for FilterMap<T, F> {
    type Item = Result<U, StreamError>;
    #[inline]
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<U>> {
        let this = &mut *self;
        for _ in 0..SYNC_LIMIT {
            match ready!(poll_up(&mut this.up, cx)) {
                Some(Ok(x)) => {
                    if let Some(y) = (this.f)(x) {
                        return Poll::Ready(Some(Ok(y)));
                    }
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(None),
            }
        }
        yield_now(cx)
    }
}

pub(crate) struct MapConcat<T, F, I: IntoIterator> {
    pub up: Option<Elems<T>>,
    pub f: Arc<F>,
    pub cur: Option<I::IntoIter>,
}
impl<T, F, I> Stream for MapConcat<T, F, I>
where
    F: Fn(T) -> I,
    I: IntoIterator,
{
    type Item = Result<I::Item, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<I::Item>> {
        let this = &mut *self;
        for _ in 0..SYNC_LIMIT {
            if let Some(it) = this.cur.as_mut() {
                if let Some(y) = it.next() {
                    return Poll::Ready(Some(Ok(y)));
                }
                this.cur = None;
            }
            match ready!(poll_up(&mut this.up, cx)) {
                Some(Ok(x)) => this.cur = Some((this.f)(x).into_iter()),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(None),
            }
        }
        yield_now(cx)
    }
}

pub(crate) struct StatefulMap<T, S, F, C> {
    pub up: Option<Elems<T>>,
    pub state: Option<S>,
    pub f: Arc<F>,
    pub on_complete: Arc<C>,
}
impl<T, S, U, F, C> Stream for StatefulMap<T, S, F, C>
where
    F: Fn(&mut S, T) -> U,
    C: Fn(S) -> Option<U>,
{
    type Item = Result<U, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<U>> {
        let this = &mut *self;
        if this.state.is_none() {
            return Poll::Ready(None);
        }
        Poll::Ready(match ready!(poll_up(&mut this.up, cx)) {
            Some(Ok(x)) => match this.state.as_mut() {
                Some(s) => Some(Ok((this.f)(s, x))),
                None => None,
            },
            Some(Err(e)) => {
                this.state = None;
                Some(Err(e))
            }
            None => this
                .state
                .take()
                .and_then(|s| (this.on_complete)(s))
                .map(Ok),
        })
    }
}

/// `fold` / `try_fold` / `reduce`: aggregate, emit once on completion.
pub(crate) struct Fold<T, A, F> {
    pub up: Option<Elems<T>>,
    pub zero: Option<A>,
    pub acc: Option<A>,
    pub f: Arc<F>,
    pub decider: Option<Decider>,
    pub done: bool,
    /// For `reduce`: name to report when the stream was empty.
    pub empty_fails: Option<&'static str>,
}
impl<T, A: Clone, F> Stream for Fold<T, A, F>
where
    F: Fn(Option<A>, T) -> Result<A, StreamError>,
{
    type Item = Result<A, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<A>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        for _ in 0..SYNC_LIMIT {
            match ready!(poll_up(&mut this.up, cx)) {
                Some(Ok(x)) => match (this.f)(this.acc.take(), x) {
                    Ok(a) => this.acc = Some(a),
                    Err(e) => match supervise(&this.decider, &e) {
                        Directive::Stop => {
                            this.done = true;
                            this.up = None;
                            return Poll::Ready(Some(Err(e)));
                        }
                        // `f` consumed the accumulator; both directives restart from zero
                        // for fold. Resume keeps going from the zero as the best effort.
                        Directive::Resume | Directive::Restart => this.acc = this.zero.clone(),
                    },
                },
                Some(Err(e)) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                None => {
                    this.done = true;
                    return Poll::Ready(match (this.acc.take(), this.empty_fails) {
                        (Some(a), _) => Some(Ok(a)),
                        (None, Some(stage)) => Some(Err(StreamError::NoSuchElement { stage })),
                        (None, None) => None,
                    });
                }
            }
        }
        yield_now(cx)
    }
}

pub(crate) struct Scan<T, A, F> {
    pub up: Option<Elems<T>>,
    pub zero: A,
    pub acc: Option<A>,
    pub emitted_zero: bool,
    pub f: Arc<F>,
    pub decider: Option<Decider>,
}
impl<T, A: Clone, F> Stream for Scan<T, A, F>
where
    F: Fn(&A, T) -> Result<A, StreamError>,
{
    type Item = Result<A, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<A>> {
        let this = &mut *self;
        if !this.emitted_zero {
            this.emitted_zero = true;
            this.acc = Some(this.zero.clone());
            return Poll::Ready(Some(Ok(this.zero.clone())));
        }
        for _ in 0..SYNC_LIMIT {
            match ready!(poll_up(&mut this.up, cx)) {
                Some(Ok(x)) => {
                    let cur = this.acc.get_or_insert_with(|| this.zero.clone());
                    match (this.f)(cur, x) {
                        Ok(a) => {
                            this.acc = Some(a.clone());
                            return Poll::Ready(Some(Ok(a)));
                        }
                        Err(e) => match supervise(&this.decider, &e) {
                            Directive::Stop => {
                                this.up = None;
                                return Poll::Ready(Some(Err(e)));
                            }
                            Directive::Resume => continue,
                            Directive::Restart => this.acc = Some(this.zero.clone()),
                        },
                    }
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => return Poll::Ready(None),
            }
        }
        yield_now(cx)
    }
}

pub(crate) struct Take<T> {
    pub up: Option<Elems<T>>,
    pub remaining: u64,
}
impl<T> Stream for Take<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        if this.remaining == 0 {
            this.up = None;
            return Poll::Ready(None);
        }
        let r = ready!(poll_up(&mut this.up, cx));
        if let Some(Ok(_)) = r {
            this.remaining -= 1;
            if this.remaining == 0 {
                // cancel upstream right after the n-th element
                this.up = None;
            }
        }
        Poll::Ready(r)
    }
}

pub(crate) struct TakeWhile<T, F> {
    pub up: Option<Elems<T>>,
    pub p: Arc<F>,
    pub inclusive: bool,
}
impl<T, F: Fn(&T) -> bool> Stream for TakeWhile<T, F> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        Poll::Ready(match ready!(poll_up(&mut this.up, cx)) {
            Some(Ok(x)) => {
                if (this.p)(&x) {
                    Some(Ok(x))
                } else {
                    this.up = None;
                    if this.inclusive {
                        Some(Ok(x))
                    } else {
                        None
                    }
                }
            }
            other => other,
        })
    }
}

pub(crate) struct Drop<T> {
    pub up: Option<Elems<T>>,
    pub remaining: u64,
}
impl<T> Stream for Drop<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        for _ in 0..SYNC_LIMIT {
            match ready!(poll_up(&mut this.up, cx)) {
                Some(Ok(x)) => {
                    if this.remaining == 0 {
                        return Poll::Ready(Some(Ok(x)));
                    }
                    this.remaining -= 1;
                }
                other => return Poll::Ready(other),
            }
        }
        yield_now(cx)
    }
}

pub(crate) struct DropWhile<T, F> {
    pub up: Option<Elems<T>>,
    pub p: Arc<F>,
    pub dropping: bool,
}
impl<T, F: Fn(&T) -> bool> Stream for DropWhile<T, F> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        for _ in 0..SYNC_LIMIT {
            match ready!(poll_up(&mut this.up, cx)) {
                Some(Ok(x)) => {
                    if !this.dropping || !(this.p)(&x) {
                        this.dropping = false;
                        return Poll::Ready(Some(Ok(x)));
                    }
                }
                other => return Poll::Ready(other),
            }
        }
        yield_now(cx)
    }
}

pub(crate) struct Grouped<T> {
    pub up: Option<Elems<T>>,
    pub n: usize,
    pub buf: Vec<T>,
}
impl<T> Stream for Grouped<T> {
    type Item = Result<Vec<T>, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<Vec<T>>> {
        let this = &mut *self;
        for _ in 0..SYNC_LIMIT {
            match ready!(poll_up(&mut this.up, cx)) {
                Some(Ok(x)) => {
                    this.buf.push(x);
                    if this.buf.len() >= this.n {
                        let n = this.n;
                        return Poll::Ready(Some(Ok(std::mem::replace(
                            &mut this.buf,
                            Vec::with_capacity(n),
                        ))));
                    }
                }
                Some(Err(e)) => {
                    this.buf.clear();
                    return Poll::Ready(Some(Err(e)));
                }
                None => {
                    return Poll::Ready(if this.buf.is_empty() {
                        None
                    } else {
                        Some(Ok(std::mem::take(&mut this.buf)))
                    })
                }
            }
        }
        yield_now(cx)
    }
}

pub(crate) struct Sliding<T> {
    pub up: Option<Elems<T>>,
    pub n: usize,
    pub step: usize,
    pub buf: VecDeque<T>,
}
impl<T: Clone> Stream for Sliding<T> {
    type Item = Result<Vec<T>, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<Vec<T>>> {
        let this = &mut *self;
        let (n, step) = (this.n, this.step);
        for _ in 0..SYNC_LIMIT {
            match ready!(poll_up(&mut this.up, cx)) {
                Some(Ok(x)) => {
                    this.buf.push_back(x);
                    let len = this.buf.len();
                    if len == n {
                        return Poll::Ready(Some(Ok(this.buf.iter().cloned().collect())));
                    } else if len > n {
                        if step <= n {
                            this.buf.drain(..step);
                            if this.buf.len() == n {
                                return Poll::Ready(Some(Ok(this.buf.iter().cloned().collect())));
                            }
                        } else if len == step {
                            this.buf.clear();
                        }
                    }
                }
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {
                    let len = this.buf.len();
                    let out = (len > 0 && len < n).then(|| Ok(this.buf.drain(..).collect()));
                    this.buf.clear();
                    return Poll::Ready(out);
                }
            }
        }
        yield_now(cx)
    }
}

pub(crate) struct ZipWithIndex<T> {
    pub up: Option<Elems<T>>,
    pub i: u64,
}
impl<T> Stream for ZipWithIndex<T> {
    type Item = Result<(T, u64), StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<(T, u64)>> {
        let this = &mut *self;
        Poll::Ready(match ready!(poll_up(&mut this.up, cx)) {
            Some(Ok(x)) => {
                let i = this.i;
                this.i += 1;
                Some(Ok((x, i)))
            }
            Some(Err(e)) => Some(Err(e)),
            None => None,
        })
    }
}

pub(crate) struct Recover<T, F> {
    pub up: Option<Elems<T>>,
    pub f: Arc<F>,
}
impl<T, F: Fn(&StreamError) -> Option<T>> Stream for Recover<T, F> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        Poll::Ready(match ready!(poll_up(&mut this.up, cx)) {
            Some(Err(e)) => match (this.f)(&e) {
                Some(x) => Some(Ok(x)),
                None => Some(Err(e)),
            },
            other => other,
        })
    }
}

pub(crate) struct MapError<T, F> {
    pub up: Option<Elems<T>>,
    pub f: Arc<F>,
}
impl<T, F: Fn(StreamError) -> StreamError> Stream for MapError<T, F> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        Poll::Ready(match ready!(poll_up(&mut this.up, cx)) {
            Some(Err(e)) => Some(Err((this.f)(e))),
            other => other,
        })
    }
}

pub(crate) struct RecoverWithRetries<T, F> {
    pub up: Option<Elems<T>>,
    /// `None` = unlimited (Pekko `attempts = -1`).
    pub attempts_left: Option<u64>,
    pub f: Arc<F>,
    pub attrs: Attributes,
}
impl<T: Send + 'static, M: 'static, F> Stream for RecoverWithRetries<T, F>
where
    F: Fn(&StreamError) -> Option<Source<T, M>>,
{
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        loop {
            match ready!(poll_up(&mut this.up, cx)) {
                Some(Err(e)) => {
                    if this.attempts_left == Some(0) {
                        return Poll::Ready(Some(Err(e)));
                    }
                    match (this.f)(&e) {
                        Some(src) => {
                            if let Some(n) = this.attempts_left.as_mut() {
                                *n -= 1;
                            }
                            this.up = Some(src.materialize(&this.attrs).0);
                        }
                        None => return Poll::Ready(Some(Err(e))),
                    }
                }
                other => return Poll::Ready(other),
            }
        }
    }
}

pub(crate) struct Log<T> {
    pub up: Option<Elems<T>>,
    pub name: Arc<str>,
}
impl<T: Debug> Stream for Log<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        let r = ready!(poll_up(&mut this.up, cx));
        match &r {
            Some(Ok(x)) => {
                tracing::debug!(target: "rekko_stream::log", stage = %this.name, element = ?x, "element")
            }
            Some(Err(e)) => {
                tracing::error!(target: "rekko_stream::log", stage = %this.name, error = %e, "upstream failed")
            }
            None => {
                tracing::debug!(target: "rekko_stream::log", stage = %this.name, "upstream finished")
            }
        }
        Poll::Ready(r)
    }
}
impl<T> std::ops::Drop for Log<T> {
    fn drop(&mut self) {
        if self.up.is_some() {
            tracing::debug!(target: "rekko_stream::log", stage = %self.name, "downstream cancelled");
        }
    }
}

/// Builds a stream stage from an iterator-like closure each poll; used by sources.
pub(crate) struct FromIter<I> {
    pub it: I,
}
impl<I: Iterator> Stream for FromIter<I> {
    type Item = Result<I::Item, StreamError>;
    #[inline]
    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Item<I::Item>> {
        Poll::Ready(self.it.next().map(Ok))
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.it.size_hint()
    }
}

impl<T, F> Unpin for Map<T, F> {}
impl<T, F> Unpin for TryFilterMap<T, F> {}
impl<T, F> Unpin for FilterMap<T, F> {}
impl<T, F, I: IntoIterator> Unpin for MapConcat<T, F, I> {}
impl<T, S, F, C> Unpin for StatefulMap<T, S, F, C> {}
impl<T, A, F> Unpin for Fold<T, A, F> {}
impl<T, A, F> Unpin for Scan<T, A, F> {}
impl<T> Unpin for Take<T> {}
impl<T, F> Unpin for TakeWhile<T, F> {}
impl<T> Unpin for Drop<T> {}
impl<T, F> Unpin for DropWhile<T, F> {}
impl<T> Unpin for Grouped<T> {}
impl<T> Unpin for Sliding<T> {}
impl<T> Unpin for ZipWithIndex<T> {}
impl<T, F> Unpin for Recover<T, F> {}
impl<T, F> Unpin for MapError<T, F> {}
impl<T, F> Unpin for RecoverWithRetries<T, F> {}
impl<T> Unpin for Log<T> {}
impl<I> Unpin for FromIter<I> {}

pub(crate) struct Limit<T> {
    pub up: Option<Elems<T>>,
    pub seen: u64,
    pub limit: u64,
}
impl<T> Unpin for Limit<T> {}
impl<T> Stream for Limit<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        let r = ready!(poll_up(&mut this.up, cx));
        if let Some(Ok(_)) = r {
            this.seen += 1;
            if this.seen > this.limit {
                this.up = None;
                return Poll::Ready(Some(Err(StreamError::LimitReached { limit: this.limit })));
            }
        }
        Poll::Ready(r)
    }
}

/// `intersperse`: `start` first, `inject` between elements, `end` at completion.
pub(crate) struct Intersperse<T> {
    pub up: Option<Elems<T>>,
    pub start: Option<T>,
    pub inject: T,
    pub end: Option<T>,
    pub held: Option<T>,
    pub first: bool,
}
impl<T: Clone> Stream for Intersperse<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        if let Some(s) = this.start.take() {
            return Poll::Ready(Some(Ok(s)));
        }
        if let Some(x) = this.held.take() {
            return Poll::Ready(Some(Ok(x)));
        }
        Poll::Ready(match ready!(poll_up(&mut this.up, cx)) {
            Some(Ok(x)) if this.first => {
                this.first = false;
                Some(Ok(x))
            }
            Some(Ok(x)) => {
                this.held = Some(x);
                Some(Ok(this.inject.clone()))
            }
            Some(Err(e)) => {
                this.end = None;
                Some(Err(e))
            }
            None => this.end.take().map(Ok),
        })
    }
}
impl<T> Unpin for Intersperse<T> {}
