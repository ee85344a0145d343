//! Substreams: `group_by` / `split_when` / `split_after` demultiplex into substreams that
//! each run a flow; `merge_substreams` / `concat_substreams` join them again. The whole
//! construct is fused into one stream; each substream input holds at most one element,
//! so a slow substream back-pressures the upstream.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures::stream::SelectAll;
use futures::{Stream, StreamExt};
use parking_lot::Mutex;

use super::{poll_up, yield_now, SYNC_LIMIT};
use crate::attributes::Attributes;
use crate::dsl::{Elems, Flow};
use crate::error::StreamError;

type Item<T> = Option<Result<T, StreamError>>;

/// Where an element goes.
pub(crate) struct Routed {
    pub id: u64,
    pub is_new: bool,
    pub close_before: Option<u64>,
    pub close_after: bool,
}

/// Assigns elements to substreams; one instance per materialization.
pub(crate) trait Router<T>: Send {
    fn route(&mut self, x: &T) -> Result<Routed, StreamError>;
}

/// Creates a fresh router per materialization.
pub(crate) type RouterFactory<T> = Arc<dyn Fn() -> Box<dyn Router<T>> + Send + Sync>;

pub(crate) struct GroupByRouter<K, F> {
    pub max: usize,
    pub key: Arc<F>,
    pub ids: HashMap<K, u64>,
}
impl<T, K: Hash + Eq + Send, F: Fn(&T) -> K + Send + Sync> Router<T> for GroupByRouter<K, F> {
    fn route(&mut self, x: &T) -> Result<Routed, StreamError> {
        let k = (self.key)(x);
        if let Some(id) = self.ids.get(&k) {
            return Ok(Routed {
                id: *id,
                is_new: false,
                close_before: None,
                close_after: false,
            });
        }
        if self.ids.len() >= self.max {
            return Err(StreamError::TooManySubstreams { max: self.max });
        }
        let id = self.ids.len() as u64;
        self.ids.insert(k, id);
        Ok(Routed {
            id,
            is_new: true,
            close_before: None,
            close_after: false,
        })
    }
}

pub(crate) struct SplitRouter<F> {
    pub p: Arc<F>,
    pub after: bool,
    pub current: Option<u64>,
    pub next_id: u64,
}
impl<T, F: Fn(&T) -> bool + Send + Sync> Router<T> for SplitRouter<F> {
    fn route(&mut self, x: &T) -> Result<Routed, StreamError> {
        let hit = (self.p)(x);
        let mut close_before = None;
        if !self.after && hit && self.current.is_some() {
            close_before = self.current.take();
        }
        let (id, is_new) = match self.current {
            Some(id) => (id, false),
            None => {
                let id = self.next_id;
                self.next_id += 1;
                self.current = Some(id);
                (id, true)
            }
        };
        let close_after = self.after && hit;
        if close_after {
            self.current = None;
        }
        Ok(Routed {
            id,
            is_new,
            close_before,
            close_after,
        })
    }
}

struct SlotState<T> {
    elem: Option<T>,
    closed: bool,
    cancelled: bool,
    waker: Option<Waker>,
}

struct Slot<T>(Arc<Mutex<SlotState<T>>>);

enum Put<T> {
    Done,
    Cancelled,
    Full(T),
}

impl<T> Slot<T> {
    fn put(&self, x: T) -> Put<T> {
        let mut s = self.0.lock();
        if s.cancelled {
            return Put::Cancelled;
        }
        if s.elem.is_some() {
            return Put::Full(x);
        }
        s.elem = Some(x);
        if let Some(w) = s.waker.take() {
            drop(s);
            w.wake();
        }
        Put::Done
    }
    fn close(&self) {
        let mut s = self.0.lock();
        s.closed = true;
        if let Some(w) = s.waker.take() {
            drop(s);
            w.wake();
        }
    }
}

/// The input side of one substream.
struct SubInput<T>(Arc<Mutex<SlotState<T>>>);
impl<T> Stream for SubInput<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let mut s = self.0.lock();
        if let Some(x) = s.elem.take() {
            return Poll::Ready(Some(Ok(x)));
        }
        if s.closed {
            return Poll::Ready(None);
        }
        match &s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => s.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}
impl<T> Drop for SubInput<T> {
    fn drop(&mut self) {
        let mut s = self.0.lock();
        s.cancelled = true;
        s.elem = None;
    }
}

enum Outs<U> {
    Merge(SelectAll<Elems<U>>),
    Concat(VecDeque<Elems<U>>),
}

impl<U> Outs<U> {
    fn push(&mut self, s: Elems<U>) {
        match self {
            Outs::Merge(m) => m.push(s),
            Outs::Concat(c) => c.push_back(s),
        }
    }
    fn is_empty(&self) -> bool {
        match self {
            Outs::Merge(m) => m.is_empty(),
            Outs::Concat(c) => c.is_empty(),
        }
    }
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Item<U>> {
        match self {
            Outs::Merge(m) => match m.poll_next_unpin(cx) {
                Poll::Ready(None) => Poll::Pending,
                other => other,
            },
            Outs::Concat(c) => loop {
                let Some(front) = c.front_mut() else {
                    return Poll::Pending;
                };
                match front.as_mut().poll_next(cx) {
                    Poll::Ready(None) => {
                        c.pop_front();
                    }
                    other => return other,
                }
            },
        }
    }
}

/// Demultiplex + per-substream flow + merge/concat, fused.
pub(crate) struct SubMerge<T, U> {
    up: Option<Elems<T>>,
    router: Box<dyn Router<T>>,
    flow: Flow<T, U, ()>,
    attrs: Attributes,
    slots: HashMap<u64, Slot<T>>,
    outs: Outs<U>,
    pending: Option<(u64, T, bool)>,
    failed: bool,
}

impl<T: Send + 'static, U: Send + 'static> SubMerge<T, U> {
    pub(crate) fn new(
        up: Elems<T>,
        router: Box<dyn Router<T>>,
        flow: Flow<T, U, ()>,
        attrs: Attributes,
        concat: bool,
    ) -> Self {
        SubMerge {
            up: Some(up),
            router,
            flow,
            attrs,
            slots: HashMap::new(),
            outs: if concat {
                Outs::Concat(VecDeque::new())
            } else {
                Outs::Merge(SelectAll::new())
            },
            pending: None,
            failed: false,
        }
    }

    fn fail(&mut self, e: StreamError) -> Poll<Item<U>> {
        self.failed = true;
        self.up = None;
        self.slots.clear();
        self.outs = Outs::Concat(VecDeque::new());
        self.pending = None;
        Poll::Ready(Some(Err(e)))
    }

    /// Places an element; `false` if the substream is not ready for it yet.
    fn place(&mut self, id: u64, x: T, close_after: bool) -> bool {
        let Some(slot) = self.slots.get(&id) else {
            return true;
        }; // closed substream: drop
        match slot.put(x) {
            Put::Done => {
                if close_after {
                    if let Some(s) = self.slots.remove(&id) {
                        s.close();
                    }
                }
                true
            }
            Put::Cancelled => {
                self.slots.remove(&id);
                true
            }
            Put::Full(x) => {
                self.pending = Some((id, x, close_after));
                false
            }
        }
    }
}

impl<T: Send + 'static, U: Send + 'static> Stream for SubMerge<T, U> {
    type Item = Result<U, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<U>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        for _ in 0..SYNC_LIMIT {
            match this.outs.poll(cx) {
                Poll::Ready(Some(Ok(y))) => return Poll::Ready(Some(Ok(y))),
                Poll::Ready(Some(Err(e))) => return this.fail(e),
                _ => {}
            }
            if let Some((id, x, close_after)) = this.pending.take() {
                if !this.place(id, x, close_after) {
                    return Poll::Pending;
                }
                continue;
            }
            if this.up.is_none() {
                return if this.outs.is_empty() {
                    Poll::Ready(None)
                } else {
                    Poll::Pending
                };
            }
            match poll_up(&mut this.up, cx) {
                Poll::Ready(Some(Ok(x))) => {
                    let r = match this.router.route(&x) {
                        Ok(r) => r,
                        Err(e) => return this.fail(e),
                    };
                    if let Some(prev) = r.close_before {
                        if let Some(s) = this.slots.remove(&prev) {
                            s.close();
                        }
                    }
                    if r.is_new {
                        let shared = Arc::new(Mutex::new(SlotState {
                            elem: None,
                            closed: false,
                            cancelled: false,
                            waker: None,
                        }));
                        let input: Elems<T> = Box::pin(SubInput(shared.clone()));
                        let (out, ()) = this.flow.materialize(input, &this.attrs);
                        this.outs.push(out);
                        this.slots.insert(r.id, Slot(shared));
                    }
                    this.place(r.id, x, r.close_after);
                }
                Poll::Ready(Some(Err(e))) => return this.fail(e),
                Poll::Ready(None) => {
                    for (_, s) in this.slots.drain() {
                        s.close();
                    }
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        yield_now(cx)
    }
}

impl<K, F> Unpin for GroupByRouter<K, F> {}
impl<F> Unpin for SplitRouter<F> {}
impl<T> Unpin for SubInput<T> {}
impl<T, U> Unpin for SubMerge<T, U> {}
