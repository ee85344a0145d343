//! Substreams: `group_by` / `split_when` / `split_after` demultiplex into substreams that
//! each run a flow; `merge_substreams` / `concat_substreams` join them again. The whole
//! construct is fused into one stream; each substream input holds at most one element,
//! so a slow substream back-pressures the upstream.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures::task::AtomicWaker;
use futures::Stream;
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

/// Hasher for the dense `u64` substream ids (the ids are small counters, so identity is fine).
#[derive(Default)]
struct IdHasher(u64);
impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
type IdMap<V> = HashMap<u64, V, std::hash::BuildHasherDefault<IdHasher>>;

struct SlotState<T> {
    elem: Option<T>,
    closed: bool,
    cancelled: bool,
}

/// One-element hand-over cell between the demultiplexer and a substream. `full` lets the
/// substream see an empty cell without taking the lock.
struct Cell<T> {
    state: Mutex<SlotState<T>>,
    full: AtomicBool,
}

struct Slot<T>(Arc<Cell<T>>);

enum Put<T> {
    Done,
    Cancelled,
    Full(T),
}

impl<T> Slot<T> {
    fn put(&self, x: T) -> Put<T> {
        if self.0.full.load(Ordering::Acquire) {
            return Put::Full(x);
        }
        let mut s = self.0.state.lock();
        if s.cancelled {
            return Put::Cancelled;
        }
        if s.elem.is_some() {
            return Put::Full(x);
        }
        s.elem = Some(x);
        self.0.full.store(true, Ordering::Release);
        Put::Done
    }
    fn close(&self) {
        self.0.state.lock().closed = true;
        self.0.full.store(true, Ordering::Release);
    }
}

/// The input side of one substream. Only the demultiplexer fills it and it marks the
/// substream ready itself, so no waker is stored here.
struct SubInput<T>(Arc<Cell<T>>);
impl<T> Stream for SubInput<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Item<T>> {
        // `full` also signals "closed", so an empty, open cell is seen without locking
        if !self.0.full.load(Ordering::Acquire) {
            return Poll::Pending;
        }
        let mut s = self.0.state.lock();
        if let Some(x) = s.elem.take() {
            if !s.closed {
                self.0.full.store(false, Ordering::Release);
            }
            return Poll::Ready(Some(Ok(x)));
        }
        if s.closed {
            return Poll::Ready(None);
        }
        self.0.full.store(false, Ordering::Release);
        Poll::Pending
    }
}
impl<T> Drop for SubInput<T> {
    fn drop(&mut self) {
        let mut s = self.0.state.lock();
        s.cancelled = true;
        s.elem = None;
    }
}

/// Substreams woken from outside (timers, futures inside a substream).
struct WakeQueue {
    woken: Mutex<Vec<usize>>,
    /// Set when `woken` may be non-empty, so the hot path can skip the lock.
    any: AtomicBool,
    parent: AtomicWaker,
}

struct SubWaker {
    idx: usize,
    queue: Arc<WakeQueue>,
    /// Set while the index sits in the woken list, so repeated wakes queue it once.
    notified: AtomicBool,
}

impl Wake for SubWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        if !self.notified.swap(true, Ordering::AcqRel) {
            self.queue.woken.lock().push(self.idx);
            self.queue.any.store(true, Ordering::Release);
        }
        self.queue.parent.wake();
    }
}

struct SubEntry<U> {
    out: Elems<U>,
    waker: Waker,
    wake_state: Arc<SubWaker>,
}

/// Demultiplex + per-substream flow + merge/concat, fused.
pub(crate) struct SubMerge<T, U> {
    up: Option<Elems<T>>,
    router: Box<dyn Router<T>>,
    flow: Flow<T, U, ()>,
    attrs: Attributes,
    /// Open substream inputs by substream id, with the slab index of the substream.
    slots: IdMap<(Slot<T>, usize)>,
    /// Substream outputs (slab; `None` = finished).
    subs: Vec<Option<SubEntry<U>>>,
    free: Vec<usize>,
    live: usize,
    ready: VecDeque<usize>,
    queued: Vec<bool>,
    /// Concat mode: slab indices in opening order; only the front one is polled.
    order: Option<VecDeque<usize>>,
    wake_queue: Arc<WakeQueue>,
    pending: Option<(u64, T, bool)>,
    failed: bool,
    registered: Option<Waker>,
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
            slots: IdMap::default(),
            subs: Vec::new(),
            free: Vec::new(),
            live: 0,
            ready: VecDeque::new(),
            queued: Vec::new(),
            order: concat.then(VecDeque::new),
            wake_queue: Arc::new(WakeQueue {
                woken: Mutex::new(Vec::new()),
                any: AtomicBool::new(false),
                parent: AtomicWaker::new(),
            }),
            pending: None,
            failed: false,
            registered: None,
        }
    }

    fn fail(&mut self, e: StreamError) -> Poll<Item<U>> {
        self.failed = true;
        self.up = None;
        self.slots.clear();
        self.subs.clear();
        self.ready.clear();
        self.pending = None;
        Poll::Ready(Some(Err(e)))
    }

    fn mark_ready(&mut self, idx: usize) {
        if !self.queued[idx] {
            self.queued[idx] = true;
            self.ready.push_back(idx);
        }
    }

    fn open(&mut self, id: u64) {
        let shared = Arc::new(Cell {
            state: Mutex::new(SlotState {
                elem: None,
                closed: false,
                cancelled: false,
            }),
            full: AtomicBool::new(false),
        });
        let input: Elems<T> = Box::pin(SubInput(shared.clone()));
        let (out, ()) = self.flow.materialize(input, &self.attrs);
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.subs.push(None);
                self.queued.push(false);
                self.subs.len() - 1
            }
        };
        let wake_state = Arc::new(SubWaker {
            idx,
            queue: self.wake_queue.clone(),
            notified: AtomicBool::new(false),
        });
        let waker = Waker::from(wake_state.clone());
        self.subs[idx] = Some(SubEntry {
            out,
            waker,
            wake_state,
        });
        self.live += 1;
        if let Some(order) = self.order.as_mut() {
            order.push_back(idx);
        }
        self.slots.insert(id, (Slot(shared), idx));
        self.mark_ready(idx);
    }

    fn close(&mut self, id: u64) {
        if let Some((s, idx)) = self.slots.remove(&id) {
            s.close();
            self.mark_ready(idx);
        }
    }

    /// Places an element; `false` if the substream is not ready for it yet.
    fn place(&mut self, id: u64, x: T, close_after: bool) -> bool {
        let Some((slot, idx)) = self.slots.get(&id) else {
            return true;
        }; // closed substream: drop
        let idx = *idx;
        match slot.put(x) {
            Put::Done => {
                self.mark_ready(idx);
                if close_after {
                    self.close(id);
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

    /// Polls ready substreams; `Some` when one produced an element or failed.
    fn poll_subs(&mut self) -> Option<Result<U, StreamError>> {
        if self.wake_queue.any.load(Ordering::Acquire) {
            self.wake_queue.any.store(false, Ordering::Release);
            let woken: Vec<usize> = std::mem::take(&mut *self.wake_queue.woken.lock());
            for idx in woken {
                if let Some(Some(entry)) = self.subs.get(idx) {
                    entry.wake_state.notified.store(false, Ordering::Release);
                }
                if idx < self.queued.len() && !self.queued[idx] {
                    self.queued[idx] = true;
                    self.ready.push_back(idx);
                }
            }
        }
        while let Some(idx) = self.ready.pop_front() {
            self.queued[idx] = false;
            if let Some(order) = &self.order {
                if order.front() != Some(&idx) {
                    continue; // concat: only the oldest substream runs; it is re-marked below
                }
            }
            let Some(entry) = self.subs[idx].as_mut() else {
                continue;
            };
            let mut cx = Context::from_waker(&entry.waker);
            match entry.out.as_mut().poll_next(&mut cx) {
                Poll::Ready(Some(Ok(y))) => {
                    self.mark_ready(idx); // it may have more
                    return Some(Ok(y));
                }
                Poll::Ready(Some(Err(e))) => return Some(Err(e)),
                Poll::Ready(None) => {
                    self.subs[idx] = None;
                    self.free.push(idx);
                    self.live -= 1;
                    if let Some(order) = self.order.as_mut() {
                        order.pop_front();
                        if let Some(&next) = order.front() {
                            self.mark_ready(next);
                        }
                    }
                }
                Poll::Pending => {}
            }
        }
        None
    }
}

impl<T: Send + 'static, U: Send + 'static> Stream for SubMerge<T, U> {
    type Item = Result<U, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<U>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        if !this
            .registered
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            this.wake_queue.parent.register(cx.waker());
            this.registered = Some(cx.waker().clone());
        }
        for _ in 0..SYNC_LIMIT {
            match this.poll_subs() {
                Some(Ok(y)) => return Poll::Ready(Some(Ok(y))),
                Some(Err(e)) => return this.fail(e),
                None => {}
            }
            if let Some((id, x, close_after)) = this.pending.take() {
                if !this.place(id, x, close_after) {
                    return Poll::Pending;
                }
                continue;
            }
            if this.up.is_none() {
                return if this.live == 0 {
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
                        this.close(prev);
                    }
                    if r.is_new {
                        this.open(r.id);
                    }
                    this.place(r.id, x, r.close_after);
                }
                Poll::Ready(Some(Err(e))) => return this.fail(e),
                Poll::Ready(None) => {
                    let ids: Vec<u64> = this.slots.keys().copied().collect();
                    for id in ids {
                        this.close(id);
                    }
                }
                Poll::Pending => return Poll::Pending,
            }
        }
        yield_now(cx)
    }
}
impl<T, U> Unpin for SubMerge<T, U> {}
