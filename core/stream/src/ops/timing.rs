//! Time-based operators. All use tokio's clock, so tests can run them under a paused clock.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures::task::AtomicWaker;
use futures::Stream;
use tokio::time::{Instant, Sleep};

use super::decouple::DelayOverflowStrategy;
use super::{poll_up, yield_now, SYNC_LIMIT};
use crate::dsl::Elems;
use crate::error::{StreamError, TimeoutKind};

type Item<T> = Option<Result<T, StreamError>>;

/// A lazily created, reusable timer (creating a `Sleep` needs a runtime, so it is made on
/// first use inside `poll_next`).
#[derive(Default)]
pub(crate) struct Timer {
    sleep: Option<Pin<Box<Sleep>>>,
    armed: bool,
}

impl Timer {
    pub(crate) fn arm(&mut self, at: Instant) {
        match self.sleep.as_mut() {
            Some(s) => s.as_mut().reset(at),
            None => self.sleep = Some(Box::pin(tokio::time::sleep_until(at))),
        }
        self.armed = true;
    }
    pub(crate) fn disarm(&mut self) {
        self.armed = false;
    }
    /// Ready once when the armed deadline has passed (then disarmed).
    pub(crate) fn poll_fire(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if !self.armed {
            return Poll::Pending;
        }
        match self.sleep.as_mut() {
            Some(s) => {
                ready!(s.as_mut().poll(cx));
                self.armed = false;
                Poll::Ready(())
            }
            None => Poll::Pending,
        }
    }
}

/// Throttle mode (Pekko `ThrottleMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleMode {
    /// Delay elements to respect the rate (the default).
    Shaping,
    /// Fail the stream with [`StreamError::RateExceeded`] when the rate is exceeded.
    Enforcing,
}

/// Pekko's token bucket: starts full, one token every `nanos_between` nanoseconds.
pub(crate) struct TokenBucket {
    capacity: i64,
    nanos_between: i64,
    tokens: i64,
    last: i64,
    base: Option<Instant>,
}

impl TokenBucket {
    pub(crate) fn new(capacity: i64, nanos_between: i64) -> Self {
        TokenBucket {
            capacity,
            nanos_between: nanos_between.max(1),
            tokens: capacity,
            last: 0,
            base: None,
        }
    }
    fn now(&mut self) -> i64 {
        let now = Instant::now();
        let base = *self.base.get_or_insert(now);
        i64::try_from(now.duration_since(base).as_nanos()).unwrap_or(i64::MAX)
    }
    /// Takes `cost` tokens; returns how long to wait before the element may pass.
    pub(crate) fn offer(&mut self, cost: i64) -> i64 {
        let now = self.now();
        let elapsed = now - self.last;
        if elapsed >= self.nanos_between {
            let arrived = elapsed / self.nanos_between;
            self.last += arrived * self.nanos_between;
            self.tokens = self.tokens.saturating_add(arrived).min(self.capacity);
        }
        if cost <= self.tokens {
            self.tokens -= cost;
            0
        } else {
            let remaining = cost - self.tokens;
            let since = now - self.last;
            let delay = remaining * self.nanos_between - since;
            self.tokens = 0;
            self.last = now + delay;
            delay
        }
    }
}

pub(crate) struct Throttle<T, C> {
    pub up: Option<Elems<T>>,
    pub cost: Arc<C>,
    pub bucket: TokenBucket,
    pub mode: ThrottleMode,
    pub held: Option<T>,
    pub timer: Timer,
    pub failed: bool,
}
impl<T, C: Fn(&T) -> i64> Stream for Throttle<T, C> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        if this.held.is_some() {
            ready!(this.timer.poll_fire(cx));
            return Poll::Ready(this.held.take().map(Ok));
        }
        match ready!(poll_up(&mut this.up, cx)) {
            Some(Ok(x)) => {
                let delay = this.bucket.offer((this.cost)(&x));
                if delay <= 0 {
                    return Poll::Ready(Some(Ok(x)));
                }
                if this.mode == ThrottleMode::Enforcing {
                    this.failed = true;
                    this.up = None;
                    return Poll::Ready(Some(Err(StreamError::RateExceeded)));
                }
                this.held = Some(x);
                this.timer
                    .arm(Instant::now() + Duration::from_nanos(delay as u64));
                ready!(this.timer.poll_fire(cx));
                Poll::Ready(this.held.take().map(Ok))
            }
            other => Poll::Ready(other),
        }
    }
}

pub(crate) struct Delay<T> {
    pub up: Option<Elems<T>>,
    pub d: Duration,
    pub cap: usize,
    pub strategy: DelayOverflowStrategy,
    pub buf: VecDeque<(Instant, T)>,
    pub timer: Timer,
    pub failed: bool,
}
impl<T> Stream for Delay<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        let mut emit_early = false;
        for _ in 0..SYNC_LIMIT {
            let full = this.buf.len() >= this.cap;
            if full && this.strategy == DelayOverflowStrategy::Backpressure {
                break;
            }
            match poll_up(&mut this.up, cx) {
                Poll::Ready(Some(Ok(x))) => {
                    let at = Instant::now() + this.d;
                    if !full {
                        this.buf.push_back((at, x));
                        continue;
                    }
                    match this.strategy.as_overflow() {
                        None => {
                            this.buf.push_back((at, x));
                            emit_early = true;
                            break;
                        }
                        Some(s) => {
                            if let Err(e) = super::decouple::overflow(
                                &mut this.buf,
                                this.cap,
                                s,
                                (at, x),
                                "delay",
                            ) {
                                this.failed = true;
                                this.up = None;
                                return Poll::Ready(Some(Err(e)));
                            }
                        }
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.failed = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        let Some((at, _)) = this.buf.front() else {
            return if this.up.is_none() {
                Poll::Ready(None)
            } else {
                Poll::Pending
            };
        };
        if emit_early || *at <= Instant::now() {
            return Poll::Ready(this.buf.pop_front().map(|(_, x)| Ok(x)));
        }
        this.timer.arm(*at);
        ready!(this.timer.poll_fire(cx));
        Poll::Ready(this.buf.pop_front().map(|(_, x)| Ok(x)))
    }
}

/// idle / completion / initial timeouts.
pub(crate) struct Timeout<T> {
    pub up: Option<Elems<T>>,
    pub kind: TimeoutKind,
    pub d: Duration,
    pub timer: Timer,
    pub started: bool,
    pub seen_first: bool,
    pub failed: bool,
}
impl<T> Stream for Timeout<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        if !this.started {
            this.started = true;
            this.timer.arm(Instant::now() + this.d);
        }
        let watching = match this.kind {
            TimeoutKind::Initial => !this.seen_first,
            _ => true,
        };
        if watching && this.timer.poll_fire(cx).is_ready() {
            this.failed = true;
            this.up = None;
            return Poll::Ready(Some(Err(StreamError::Timeout {
                kind: this.kind,
                after: this.d,
            })));
        }
        let r = ready!(poll_up(&mut this.up, cx));
        if let Some(Ok(_)) = r {
            this.seen_first = true;
            match this.kind {
                TimeoutKind::Idle => this.timer.arm(Instant::now() + this.d),
                TimeoutKind::Initial => this.timer.disarm(),
                TimeoutKind::Completion => {}
            }
        }
        Poll::Ready(r)
    }
}

pub(crate) struct KeepAlive<T, F> {
    pub up: Option<Elems<T>>,
    pub d: Duration,
    pub inject: Arc<F>,
    pub timer: Timer,
    pub started: bool,
}
impl<T, F: Fn() -> T> Stream for KeepAlive<T, F> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        if !this.started {
            this.started = true;
            this.timer.arm(Instant::now() + this.d);
        }
        match poll_up(&mut this.up, cx) {
            Poll::Ready(r) => {
                this.timer.arm(Instant::now() + this.d);
                Poll::Ready(r)
            }
            Poll::Pending => {
                ready!(this.timer.poll_fire(cx));
                this.timer.arm(Instant::now() + this.d);
                Poll::Ready(Some(Ok((this.inject)())))
            }
        }
    }
}

pub(crate) struct GroupedWithin<T> {
    pub up: Option<Elems<T>>,
    pub n: usize,
    pub d: Duration,
    pub buf: Vec<T>,
    pub timer: Timer,
    pub started: bool,
    pub done: bool,
}
impl<T> GroupedWithin<T> {
    fn emit(&mut self) -> Poll<Item<Vec<T>>> {
        self.timer.arm(Instant::now() + self.d);
        Poll::Ready(Some(Ok(std::mem::replace(
            &mut self.buf,
            Vec::with_capacity(self.n.min(1024)),
        ))))
    }
}
impl<T> Stream for GroupedWithin<T> {
    type Item = Result<Vec<T>, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<Vec<T>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        if !this.started {
            this.started = true;
            this.timer.arm(Instant::now() + this.d);
        }
        for _ in 0..SYNC_LIMIT {
            if this.buf.len() >= this.n {
                return this.emit();
            }
            match poll_up(&mut this.up, cx) {
                Poll::Ready(Some(Ok(x))) => this.buf.push(x),
                Poll::Ready(Some(Err(e))) => {
                    this.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    return Poll::Ready(if this.buf.is_empty() {
                        None
                    } else {
                        Some(Ok(std::mem::take(&mut this.buf)))
                    });
                }
                Poll::Pending => {
                    // periodic timer: an empty window emits nothing and starts the next one
                    while this.timer.poll_fire(cx).is_ready() {
                        if !this.buf.is_empty() {
                            return this.emit();
                        }
                        this.timer.arm(Instant::now() + this.d);
                    }
                    return Poll::Pending;
                }
            }
        }
        yield_now(cx)
    }
}

/// Cancels a [`crate::Source::tick`] (Pekko `Cancellable`).
#[derive(Clone, Default)]
pub struct Cancellable {
    inner: Arc<CancelInner>,
}
#[derive(Default)]
struct CancelInner {
    cancelled: AtomicBool,
    waker: AtomicWaker,
}
impl Cancellable {
    /// Stops the ticks; the source completes. Idempotent.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::Release);
        self.inner.waker.wake();
    }
    /// Whether [`Cancellable::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::Acquire)
    }
}
impl std::fmt::Debug for Cancellable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancellable")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// `Source::tick`: emits at `initial + k * interval` only when downstream was waiting then.
pub(crate) struct Tick<T> {
    pub initial: Duration,
    pub interval: Duration,
    pub elem: T,
    pub next: Option<Instant>,
    pub waiting: bool,
    pub timer: Timer,
    pub cancel: Cancellable,
}
impl<T: Clone> Stream for Tick<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        this.cancel.inner.waker.register(cx.waker());
        if this.cancel.is_cancelled() {
            return Poll::Ready(None);
        }
        let now = Instant::now();
        let next = this.next.get_or_insert(now + this.initial);
        if !this.waiting {
            // ticks that passed while nobody was waiting are dropped
            while *next < now && !this.interval.is_zero() {
                *next += this.interval;
            }
            this.waiting = true;
            this.timer.arm(*next);
        }
        ready!(this.timer.poll_fire(cx));
        this.waiting = false;
        *next += this.interval;
        Poll::Ready(Some(Ok(this.elem.clone())))
    }
}

impl<T, C> Unpin for Throttle<T, C> {}
impl<T> Unpin for Delay<T> {}
impl<T> Unpin for Timeout<T> {}
impl<T, F> Unpin for KeepAlive<T, F> {}
impl<T> Unpin for GroupedWithin<T> {}
impl<T> Unpin for Tick<T> {}

/// `take_within` (complete after `d`) and `initial_delay` (hold back elements until `d`).
pub(crate) struct Within<T> {
    pub up: Option<Elems<T>>,
    pub d: Duration,
    pub timer: Timer,
    pub started: bool,
    pub passed: bool,
    pub take: bool,
}
impl<T> Unpin for Within<T> {}
impl<T> Stream for Within<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        if !this.started {
            this.started = true;
            this.timer.arm(Instant::now() + this.d);
        }
        if !this.passed && this.timer.poll_fire(cx).is_ready() {
            this.passed = true;
        }
        if this.take {
            if this.passed {
                this.up = None; // time is up: complete and cancel upstream
                return Poll::Ready(None);
            }
        } else if !this.passed {
            return Poll::Pending;
        }
        poll_up(&mut this.up, cx)
    }
}
