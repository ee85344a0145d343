//! Rate-decoupling operators and asynchronous boundaries: `async_boundary`, `buffer`,
//! `conflate`, `batch` (each runs its upstream in its own task so it keeps accepting
//! elements while downstream is busy) and the fused `expand`.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};
use tokio::sync::mpsc;

use super::poll_up;
use crate::dsl::Elems;
use crate::error::StreamError;

type Item<T> = Option<Result<T, StreamError>>;

/// What a full buffer does with a new element (Pekko `OverflowStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverflowStrategy {
    /// Stop pulling from upstream until there is room (no loss).
    Backpressure,
    /// Drop the oldest buffered element.
    DropHead,
    /// Drop the youngest buffered element.
    DropTail,
    /// Drop all buffered elements.
    DropBuffer,
    /// Drop the incoming element.
    DropNew,
    /// Fail the stream with [`StreamError::BufferOverflow`].
    Fail,
}

/// Overflow strategy of `delay` (Pekko `DelayOverflowStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelayOverflowStrategy {
    /// Emit the oldest element before its delay elapsed to make room.
    EmitEarly,
    /// Stop pulling until there is room.
    Backpressure,
    /// Drop the oldest buffered element.
    DropHead,
    /// Drop the youngest buffered element.
    DropTail,
    /// Drop all buffered elements.
    DropBuffer,
    /// Drop the incoming element.
    DropNew,
    /// Fail the stream.
    Fail,
}

impl DelayOverflowStrategy {
    pub(crate) fn as_overflow(self) -> Option<OverflowStrategy> {
        Some(match self {
            DelayOverflowStrategy::EmitEarly => return None,
            DelayOverflowStrategy::Backpressure => OverflowStrategy::Backpressure,
            DelayOverflowStrategy::DropHead => OverflowStrategy::DropHead,
            DelayOverflowStrategy::DropTail => OverflowStrategy::DropTail,
            DelayOverflowStrategy::DropBuffer => OverflowStrategy::DropBuffer,
            DelayOverflowStrategy::DropNew => OverflowStrategy::DropNew,
            DelayOverflowStrategy::Fail => OverflowStrategy::Fail,
        })
    }
}

/// Puts `x` into a full buffer according to `strategy`.
pub(crate) fn overflow<T>(
    buf: &mut VecDeque<T>,
    cap: usize,
    strategy: OverflowStrategy,
    x: T,
    stage: &'static str,
) -> Result<(), StreamError> {
    match strategy {
        OverflowStrategy::Backpressure => buf.push_back(x),
        OverflowStrategy::DropHead => {
            tracing::debug!(stage, "buffer full, dropping the oldest element");
            buf.pop_front();
            buf.push_back(x);
        }
        OverflowStrategy::DropTail => {
            tracing::debug!(stage, "buffer full, dropping the youngest element");
            buf.pop_back();
            buf.push_back(x);
        }
        OverflowStrategy::DropBuffer => {
            tracing::debug!(stage, "buffer full, dropping all buffered elements");
            buf.clear();
            buf.push_back(x);
        }
        OverflowStrategy::DropNew => {
            tracing::debug!(stage, "buffer full, dropping the new element");
        }
        OverflowStrategy::Fail => {
            tracing::error!(stage, size = cap, "buffer overflow");
            return Err(StreamError::BufferOverflow { stage, size: cap });
        }
    }
    Ok(())
}

/// The state machine of a decoupled operator, driven by its own task.
pub(crate) trait DecoupleLogic<In, Out>: Send + 'static {
    fn can_accept(&self) -> bool;
    fn push(&mut self, x: In) -> Result<(), StreamError>;
    fn has_output(&self) -> bool;
    fn pull(&mut self) -> Option<Out>;
}

/// Pass-through with a bounded buffer: the asynchronous boundary and `buffer`.
pub(crate) struct BufferLogic<T> {
    pub buf: VecDeque<T>,
    pub cap: usize,
    pub strategy: OverflowStrategy,
}
impl<T: Send + 'static> DecoupleLogic<T, T> for BufferLogic<T> {
    fn can_accept(&self) -> bool {
        self.strategy != OverflowStrategy::Backpressure || self.buf.len() < self.cap
    }
    fn push(&mut self, x: T) -> Result<(), StreamError> {
        if self.buf.len() < self.cap {
            self.buf.push_back(x);
            Ok(())
        } else {
            overflow(&mut self.buf, self.cap, self.strategy, x, "buffer")
        }
    }
    fn has_output(&self) -> bool {
        !self.buf.is_empty()
    }
    fn pull(&mut self) -> Option<T> {
        self.buf.pop_front()
    }
}

/// `conflate_with_seed` and `batch_weighted`.
pub(crate) struct ConflateLogic<T, A, S, F, C> {
    pub acc: Option<A>,
    pub weight: u64,
    pub max: u64,
    pub seed: Arc<S>,
    pub agg: Arc<F>,
    pub cost: Arc<C>,
    pub _t: std::marker::PhantomData<fn(T)>,
}
impl<T, A, S, F, C> DecoupleLogic<T, A> for ConflateLogic<T, A, S, F, C>
where
    T: Send + 'static,
    A: Send + 'static,
    S: Fn(T) -> A + Send + Sync + 'static,
    F: Fn(A, T) -> A + Send + Sync + 'static,
    C: Fn(&T) -> u64 + Send + Sync + 'static,
{
    fn can_accept(&self) -> bool {
        self.weight < self.max
    }
    fn push(&mut self, x: T) -> Result<(), StreamError> {
        self.weight = self.weight.saturating_add((self.cost)(&x));
        self.acc = Some(match self.acc.take() {
            None => (self.seed)(x),
            Some(a) => (self.agg)(a, x),
        });
        Ok(())
    }
    fn has_output(&self) -> bool {
        self.acc.is_some()
    }
    fn pull(&mut self) -> Option<A> {
        self.weight = 0;
        self.acc.take()
    }
}

async fn next_of<T>(up: &mut Option<Elems<T>>) -> Item<T> {
    match up {
        Some(s) => s.next().await,
        None => futures::future::pending().await,
    }
}

enum Event<'a, O, I> {
    Permit(Result<mpsc::Permit<'a, Result<O, StreamError>>, mpsc::error::SendError<()>>),
    Closed,
    Input(Item<I>),
}

async fn drive<In, Out, L>(
    up: Elems<In>,
    mut logic: L,
    tx: mpsc::Sender<Result<Out, StreamError>>,
    done: Arc<AtomicBool>,
) where
    In: Send + 'static,
    Out: Send + 'static,
    L: DecoupleLogic<In, Out>,
{
    let mut up = Some(up);
    loop {
        let want_in = up.is_some() && logic.can_accept();
        let have_out = logic.has_output();
        if up.is_none() && !have_out {
            break;
        }
        let ev = tokio::select! {
            biased;
            p = tx.reserve(), if have_out => Event::Permit(p),
            _ = tx.closed(), if !have_out => Event::Closed,
            x = next_of(&mut up), if want_in => Event::Input(x),
        };
        match ev {
            Event::Permit(Ok(permit)) => {
                if let Some(o) = logic.pull() {
                    permit.send(Ok(o));
                }
            }
            Event::Permit(Err(_)) | Event::Closed => return, // downstream cancelled
            Event::Input(Some(Ok(x))) => {
                if let Err(e) = logic.push(x) {
                    let _ = tx.send(Err(e)).await;
                    return;
                }
            }
            Event::Input(Some(Err(e))) => {
                let _ = tx.send(Err(e)).await;
                return;
            }
            Event::Input(None) => up = None,
        }
    }
    done.store(true, Ordering::Release);
}

async fn drive_boundary<T: Send + 'static>(
    up: Elems<T>,
    tx: mpsc::Sender<Result<T, StreamError>>,
    done: Arc<AtomicBool>,
) {
    if let Forwarded::Completed = forward(up, &tx, true).await {
        done.store(true, Ordering::Release);
    }
}

/// How [`forward`] ended.
pub(crate) enum Forwarded {
    /// Upstream completed.
    Completed,
    /// The receiver is gone; upstream was cancelled.
    Cancelled,
    /// Upstream failed with this error (forwarded or not, as asked).
    Failed(StreamError),
}

/// Sends everything from `up` into `tx` until upstream ends or the receiver is gone (then
/// `up` is dropped, cancelling it). A failure is sent on too when `send_failure`.
pub(crate) async fn forward<T>(
    mut up: Elems<T>,
    tx: &mpsc::Sender<Result<T, StreamError>>,
    send_failure: bool,
) -> Forwarded {
    loop {
        let next = tokio::select! {
            biased;
            _ = tx.closed() => return Forwarded::Cancelled,
            x = up.next() => x,
        };
        match next {
            Some(Ok(x)) => {
                if tx.send(Ok(x)).await.is_err() {
                    return Forwarded::Cancelled;
                }
            }
            Some(Err(e)) => {
                if send_failure {
                    let _ = tx.send(Err(e.clone())).await;
                }
                return Forwarded::Failed(e);
            }
            None => return Forwarded::Completed,
        }
    }
}

/// Starts the upstream task of a decoupled segment.
type Starter<Out> = Box<
    dyn FnOnce(
            mpsc::Sender<Result<Out, StreamError>>,
            Arc<AtomicBool>,
        ) -> futures::future::BoxFuture<'static, ()>
        + Send,
>;

enum DecoupledState<Out> {
    Idle(Option<Starter<Out>>, usize),
    Running(mpsc::Receiver<Result<Out, StreamError>>, Arc<AtomicBool>),
    Done,
}

/// The downstream face of a decoupled segment; spawns the upstream task on first poll.
pub(crate) struct Decoupled<Out> {
    state: DecoupledState<Out>,
}

impl<Out: Send + 'static> Decoupled<Out> {
    /// An asynchronous boundary with a buffer of `size` elements.
    pub(crate) fn boundary<T: Send + 'static>(up: Elems<T>, size: usize) -> Decoupled<T> {
        Decoupled {
            state: DecoupledState::Idle(
                Some(Box::new(move |tx, done| {
                    Box::pin(drive_boundary(up, tx, done))
                })),
                size.max(1),
            ),
        }
    }

    /// A decoupled operator whose logic runs in its own task, handing over through a
    /// one-element channel.
    pub(crate) fn with_logic<In: Send + 'static, L: DecoupleLogic<In, Out>>(
        up: Elems<In>,
        logic: L,
    ) -> Decoupled<Out> {
        Decoupled {
            state: DecoupledState::Idle(
                Some(Box::new(move |tx, done| {
                    Box::pin(drive(up, logic, tx, done))
                })),
                1,
            ),
        }
    }
}

impl<Out: Send + 'static> Stream for Decoupled<Out> {
    type Item = Result<Out, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<Out>> {
        let this = &mut *self;
        if let DecoupledState::Idle(start, size) = &mut this.state {
            let (tx, rx) = mpsc::channel(*size);
            let done = Arc::new(AtomicBool::new(false));
            if let Some(start) = start.take() {
                tokio::spawn(start(tx, done.clone()));
            }
            this.state = DecoupledState::Running(rx, done);
        }
        match &mut this.state {
            DecoupledState::Running(rx, done) => match rx.poll_recv(cx) {
                Poll::Ready(Some(x)) => {
                    if x.is_err() {
                        this.state = DecoupledState::Done;
                    }
                    Poll::Ready(Some(x))
                }
                Poll::Ready(None) => {
                    let ok = done.load(Ordering::Acquire);
                    this.state = DecoupledState::Done;
                    if ok {
                        Poll::Ready(None)
                    } else {
                        Poll::Ready(Some(Err(StreamError::AbruptTermination(
                            "the task running the upstream of an asynchronous boundary stopped",
                        ))))
                    }
                }
                Poll::Pending => Poll::Pending,
            },
            _ => Poll::Ready(None),
        }
    }
}

/// `expand`: emits the iterator made from the latest element while upstream has nothing new.
pub(crate) struct Expand<T, F, I> {
    pub up: Option<Elems<T>>,
    pub f: Arc<F>,
    pub cur: Option<I>,
}
impl<T, U, F, I> Stream for Expand<T, F, I>
where
    F: Fn(T) -> I,
    I: Iterator<Item = U>,
{
    type Item = Result<U, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<U>> {
        let this = &mut *self;
        loop {
            match poll_up(&mut this.up, cx) {
                Poll::Ready(Some(Ok(x))) => {
                    let mut it = (this.f)(x);
                    match it.next() {
                        Some(y) => {
                            this.cur = Some(it);
                            return Poll::Ready(Some(Ok(y)));
                        }
                        None => {
                            this.cur = None;
                            continue;
                        }
                    }
                }
                Poll::Ready(Some(Err(e))) => {
                    this.cur = None;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(None) => {
                    this.cur = None;
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    return match this.cur.as_mut().and_then(|it| it.next()) {
                        Some(y) => Poll::Ready(Some(Ok(y))),
                        None => Poll::Pending,
                    }
                }
            }
        }
    }
}

impl<T> Unpin for BufferLogic<T> {}
impl<T, A, S, F, C> Unpin for ConflateLogic<T, A, S, F, C> {}
impl<Out> Unpin for Decoupled<Out> {}
impl<T, F, I> Unpin for Expand<T, F, I> {}
