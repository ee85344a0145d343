//! Fan-in operators: merge, merge_preferred, zip, concat, or_else, interleave.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures::Stream;

use super::{poll_up, yield_now, SYNC_LIMIT};
use crate::dsl::Elems;
use crate::error::StreamError;

type Item<T> = Option<Result<T, StreamError>>;

/// `merge` / `merge_all` / `merge_preferred`: emits whatever input has an element;
/// round-robin for fairness, except that input 0 is always tried first when `preferred`.
pub(crate) struct Merge<T> {
    pub inputs: Vec<Option<Elems<T>>>,
    pub next: usize,
    pub eager_complete: bool,
    pub preferred: bool,
}
impl<T> Merge<T> {
    pub(crate) fn new(inputs: Vec<Elems<T>>, eager_complete: bool, preferred: bool) -> Self {
        Merge {
            inputs: inputs.into_iter().map(Some).collect(),
            next: 0,
            eager_complete,
            preferred,
        }
    }
    fn shutdown(&mut self) {
        self.inputs.iter_mut().for_each(|i| *i = None);
    }
}
impl<T> Stream for Merge<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        let n = this.inputs.len();
        let start = if this.preferred { 0 } else { this.next };
        let mut any_open = false;
        for k in 0..n {
            let i = if this.preferred && k == 0 {
                0
            } else if this.preferred {
                1 + (this.next + k - 1) % (n - 1).max(1)
            } else {
                (start + k) % n
            };
            if this.inputs[i].is_none() {
                continue;
            }
            match poll_up(&mut this.inputs[i], cx) {
                Poll::Ready(Some(Ok(x))) => {
                    this.next = if this.preferred { i } else { i + 1 };
                    return Poll::Ready(Some(Ok(x)));
                }
                Poll::Ready(Some(Err(e))) => {
                    this.shutdown();
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    if this.eager_complete {
                        this.shutdown();
                        return Poll::Ready(None);
                    }
                }
                Poll::Pending => any_open = true,
            }
        }
        if any_open || this.inputs.iter().any(|i| i.is_some()) {
            Poll::Pending
        } else {
            Poll::Ready(None)
        }
    }
}

/// `zip_with`: pairs one element of each side; completes when either side completes.
pub(crate) struct ZipWith<A, B, F> {
    pub a: Option<Elems<A>>,
    pub b: Option<Elems<B>>,
    pub ha: Option<A>,
    pub hb: Option<B>,
    pub f: std::sync::Arc<F>,
    pub done: bool,
}
impl<A, B, C, F: Fn(A, B) -> C> Stream for ZipWith<A, B, F> {
    type Item = Result<C, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<C>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        if this.ha.is_none() {
            match poll_up(&mut this.a, cx) {
                Poll::Ready(Some(Ok(x))) => this.ha = Some(x),
                Poll::Ready(Some(Err(e))) => return this.finish(Some(Err(e))),
                Poll::Ready(None) => return this.finish(None),
                Poll::Pending => {}
            }
        }
        if this.hb.is_none() {
            match poll_up(&mut this.b, cx) {
                Poll::Ready(Some(Ok(x))) => this.hb = Some(x),
                Poll::Ready(Some(Err(e))) => return this.finish(Some(Err(e))),
                Poll::Ready(None) => return this.finish(None),
                Poll::Pending => {}
            }
        }
        match (this.ha.take(), this.hb.take()) {
            (Some(a), Some(b)) => Poll::Ready(Some(Ok((this.f)(a, b)))),
            (a, b) => {
                this.ha = a;
                this.hb = b;
                Poll::Pending
            }
        }
    }
}
impl<A, B, F> ZipWith<A, B, F> {
    fn finish<C>(&mut self, r: Item<C>) -> Poll<Item<C>> {
        self.done = true;
        self.a = None;
        self.b = None;
        Poll::Ready(r)
    }
}

/// `concat` / `prepend`: inputs one after the other.
pub(crate) struct Concat<T> {
    pub inputs: VecDeque<Elems<T>>,
}
impl<T> Stream for Concat<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        for _ in 0..SYNC_LIMIT {
            let Some(front) = this.inputs.front_mut() else {
                return Poll::Ready(None);
            };
            match ready!(front.as_mut().poll_next(cx)) {
                Some(Ok(x)) => return Poll::Ready(Some(Ok(x))),
                Some(Err(e)) => {
                    this.inputs.clear();
                    return Poll::Ready(Some(Err(e)));
                }
                None => {
                    this.inputs.pop_front();
                }
            }
        }
        yield_now(cx)
    }
}

/// `or_else`: the secondary only if the primary completes without elements.
pub(crate) struct OrElse<T> {
    pub primary: Option<Elems<T>>,
    pub secondary: Option<Elems<T>>,
    pub seen: bool,
}
impl<T> Stream for OrElse<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        if this.primary.is_some() {
            match ready!(poll_up(&mut this.primary, cx)) {
                Some(Ok(x)) => {
                    if !this.seen {
                        this.seen = true;
                        this.secondary = None;
                    }
                    return Poll::Ready(Some(Ok(x)));
                }
                Some(Err(e)) => {
                    this.secondary = None;
                    return Poll::Ready(Some(Err(e)));
                }
                None => {
                    if this.seen {
                        return Poll::Ready(None);
                    }
                }
            }
        }
        poll_up(&mut this.secondary, cx)
    }
}

/// `interleave`: `segment` elements from one input, then `segment` from the other; when
/// one completes the rest of the other follows.
pub(crate) struct Interleave<T> {
    pub inputs: [Option<Elems<T>>; 2],
    pub cur: usize,
    pub count: usize,
    pub segment: usize,
}
impl<T> Stream for Interleave<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        loop {
            if this.inputs[this.cur].is_none() {
                let other = 1 - this.cur;
                if this.inputs[other].is_none() {
                    return Poll::Ready(None);
                }
                this.cur = other;
                this.count = 0;
            }
            match ready!(poll_up(&mut this.inputs[this.cur], cx)) {
                Some(Ok(x)) => {
                    this.count += 1;
                    if this.count >= this.segment && this.inputs[1 - this.cur].is_some() {
                        this.cur = 1 - this.cur;
                        this.count = 0;
                    }
                    return Poll::Ready(Some(Ok(x)));
                }
                Some(Err(e)) => {
                    this.inputs = [None, None];
                    return Poll::Ready(Some(Err(e)));
                }
                None => continue,
            }
        }
    }
}

impl<T> Unpin for Merge<T> {}
impl<A, B, F> Unpin for ZipWith<A, B, F> {}
impl<T> Unpin for Concat<T> {}
impl<T> Unpin for OrElse<T> {}
impl<T> Unpin for Interleave<T> {}

/// `zip_all`: pairs one element of each side; after one side completes its pad element
/// stands in for it until the other completes too.
pub(crate) struct ZipAll<A, B> {
    pub a: Option<Elems<A>>,
    pub b: Option<Elems<B>>,
    pub ha: Option<A>,
    pub hb: Option<B>,
    pub pad_a: A,
    pub pad_b: B,
}
impl<A: Clone, B: Clone> Stream for ZipAll<A, B> {
    type Item = Result<(A, B), StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<(A, B)>> {
        let this = &mut *self;
        if this.ha.is_none() && this.a.is_some() {
            match poll_up(&mut this.a, cx) {
                Poll::Ready(Some(Ok(x))) => this.ha = Some(x),
                Poll::Ready(Some(Err(e))) => {
                    this.b = None;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) | Poll::Pending => {}
            }
        }
        if this.hb.is_none() && this.b.is_some() {
            match poll_up(&mut this.b, cx) {
                Poll::Ready(Some(Ok(x))) => this.hb = Some(x),
                Poll::Ready(Some(Err(e))) => {
                    this.a = None;
                    this.ha = None;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) | Poll::Pending => {}
            }
        }
        // a side is done once its upstream is gone and nothing of it is held
        let a_done = this.a.is_none() && this.ha.is_none();
        let b_done = this.b.is_none() && this.hb.is_none();
        match (this.ha.take(), this.hb.take()) {
            (Some(a), Some(b)) => Poll::Ready(Some(Ok((a, b)))),
            (Some(a), None) if b_done => Poll::Ready(Some(Ok((a, this.pad_b.clone())))),
            (None, Some(b)) if a_done => Poll::Ready(Some(Ok((this.pad_a.clone(), b)))),
            (None, None) if a_done && b_done => Poll::Ready(None),
            (a, b) => {
                this.ha = a;
                this.hb = b;
                Poll::Pending
            }
        }
    }
}
impl<A, B> Unpin for ZipAll<A, B> {}
