//! `Source::queue`: a materialized handle through which application code offers elements.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures::Stream;
use parking_lot::Mutex;
use tokio::sync::{watch, Notify};

use crate::dsl::{Elems, Source};
use crate::error::StreamError;
use crate::ops::decouple::{overflow, OverflowStrategy};

/// The outcome of offering an element (Pekko `QueueOfferResult`).
#[derive(Debug, Clone)]
pub enum QueueOfferResult {
    /// The element was buffered.
    Enqueued,
    /// The element was dropped by the overflow strategy (or the queue was full).
    Dropped,
    /// The queue was completed or the stream was cancelled.
    QueueClosed,
    /// The stream failed (e.g. by the `Fail` overflow strategy).
    Failure(StreamError),
}

struct State<T> {
    buf: VecDeque<T>,
    cap: usize,
    strategy: OverflowStrategy,
    /// Set by `complete` (Ok) or `fail` / overflow (Err).
    closed: Option<Result<(), StreamError>>,
    cancelled: bool,
    consumer: Option<Waker>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    space: Notify,
    terminated: watch::Sender<Option<Result<(), StreamError>>>,
}

/// Handle of a running `Source::queue` (Pekko `SourceQueueWithComplete` /
/// `BoundedSourceQueue`). Cloneable; all clones feed the same stream.
pub struct SourceQueue<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for SourceQueue<T> {
    fn clone(&self) -> Self {
        SourceQueue {
            shared: self.shared.clone(),
        }
    }
}

impl<T> std::fmt::Debug for SourceQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SourceQueue")
    }
}

impl<T> SourceQueue<T> {
    /// Offers without waiting: a full queue applies the overflow strategy, and with
    /// `Backpressure` reports [`QueueOfferResult::Dropped`] (Pekko `BoundedSourceQueue.offer`).
    pub fn offer(&self, x: T) -> QueueOfferResult {
        match self.try_offer(x) {
            Ok(r) => r,
            Err(_) => QueueOfferResult::Dropped,
        }
    }

    fn try_offer(&self, x: T) -> Result<QueueOfferResult, T> {
        let mut s = self.shared.state.lock();
        if s.cancelled {
            return Ok(QueueOfferResult::QueueClosed);
        }
        match &s.closed {
            Some(Ok(())) => return Ok(QueueOfferResult::QueueClosed),
            Some(Err(e)) => return Ok(QueueOfferResult::Failure(e.clone())),
            None => {}
        }
        let result = if s.buf.len() < s.cap {
            s.buf.push_back(x);
            QueueOfferResult::Enqueued
        } else {
            let (cap, strategy) = (s.cap, s.strategy);
            match strategy {
                OverflowStrategy::Backpressure => return Err(x),
                OverflowStrategy::DropNew => QueueOfferResult::Dropped,
                _ => match overflow(&mut s.buf, cap, strategy, x, "Source::queue") {
                    Ok(()) => QueueOfferResult::Enqueued,
                    Err(e) => {
                        s.closed = Some(Err(e.clone()));
                        QueueOfferResult::Failure(e)
                    }
                },
            }
        };
        if let Some(w) = s.consumer.take() {
            drop(s);
            w.wake();
        }
        Ok(result)
    }

    /// Offers and, with the `Backpressure` strategy, waits for room (Pekko
    /// `SourceQueueWithComplete.offer` future).
    pub async fn offer_async(&self, mut x: T) -> QueueOfferResult {
        loop {
            let notified = self.shared.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match self.try_offer(x) {
                Ok(r) => return r,
                Err(back) => x = back,
            }
            notified.await;
        }
    }

    /// Completes the stream after the buffered elements were emitted.
    pub fn complete(&self) {
        let mut s = self.shared.state.lock();
        if s.closed.is_none() {
            s.closed = Some(Ok(()));
        }
        if let Some(w) = s.consumer.take() {
            drop(s);
            w.wake();
        }
        self.shared.space.notify_waiters();
    }

    /// Fails the stream at once; buffered elements are discarded.
    pub fn fail(&self, e: StreamError) {
        let mut s = self.shared.state.lock();
        if s.closed.is_none() {
            s.closed = Some(Err(e));
            s.buf.clear();
        }
        if let Some(w) = s.consumer.take() {
            drop(s);
            w.wake();
        }
        self.shared.space.notify_waiters();
    }

    /// Number of buffered elements.
    pub fn size(&self) -> usize {
        self.shared.state.lock().buf.len()
    }

    /// Resolves when the stream terminated: `Ok` on completion or cancellation, `Err` on
    /// failure (Pekko `watchCompletion`).
    pub async fn watch_completion(&self) -> Result<(), StreamError> {
        let mut rx = self.shared.terminated.subscribe();
        loop {
            if let Some(r) = rx.borrow_and_update().clone() {
                return r;
            }
            if rx.changed().await.is_err() {
                return Err(StreamError::AbruptTermination("Source::queue dropped"));
            }
        }
    }
}

struct QueueStream<T> {
    shared: Arc<Shared<T>>,
    done: bool,
}

impl<T> QueueStream<T> {
    fn terminate(&mut self, r: Result<(), StreamError>) {
        self.done = true;
        self.shared.terminated.send_replace(Some(r));
        self.shared.space.notify_waiters();
    }
}

impl<T> Stream for QueueStream<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        let mut s = self.shared.state.lock();
        if let Some(Err(e)) = &s.closed {
            let e = e.clone();
            drop(s);
            self.terminate(Err(e.clone()));
            return Poll::Ready(Some(Err(e)));
        }
        if let Some(x) = s.buf.pop_front() {
            drop(s);
            self.shared.space.notify_one();
            return Poll::Ready(Some(Ok(x)));
        }
        if let Some(Ok(())) = s.closed {
            drop(s);
            self.terminate(Ok(()));
            return Poll::Ready(None);
        }
        s.consumer = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl<T> Drop for QueueStream<T> {
    fn drop(&mut self) {
        if !self.done {
            self.shared.state.lock().cancelled = true;
            self.terminate(Ok(()));
        }
    }
}

impl<T: Send + 'static> Source<T, SourceQueue<T>> {
    /// A source fed through the materialized [`SourceQueue`], buffering at most
    /// `buffer_size` elements and applying `strategy` when full (Pekko `Source.queue`).
    pub fn queue(buffer_size: usize, strategy: OverflowStrategy) -> Self {
        let cap = buffer_size.max(1);
        Source::from_materializer(move |_| {
            let shared = Arc::new(Shared {
                state: Mutex::new(State {
                    buf: VecDeque::new(),
                    cap,
                    strategy,
                    closed: None,
                    cancelled: false,
                    consumer: None,
                }),
                space: Notify::new(),
                terminated: watch::channel(None).0,
            });
            let stream: Elems<T> = Box::pin(QueueStream {
                shared: shared.clone(),
                done: false,
            });
            (stream, SourceQueue { shared })
        })
    }
}

impl<T> Unpin for QueueStream<T> {}
