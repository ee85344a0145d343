//! Test helpers in the spirit of Pekko's `TestSource.probe` / `TestSink.probe`: a
//! [`Probe`] that pulls elements on request, and a [`ProbeSource`] that records demand
//! and cancellation.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::{Stream, StreamExt};

use crate::dsl::{Elems, Source};
use crate::error::StreamError;

/// What a probe saw when it asked for the next signal.
#[derive(Debug)]
pub enum Signal<T> {
    /// An element.
    Next(T),
    /// Completion.
    Complete,
    /// Failure.
    Error(StreamError),
    /// Nothing within the wait time.
    Nothing,
}

impl<T: std::fmt::Debug> Signal<T> {
    /// The element, panicking (test helper) on any other signal.
    pub fn element(self) -> T {
        match self {
            Signal::Next(x) => x,
            other => panic!("expected an element, got {other:?}"),
        }
    }
}

/// Consumes a materialized stream on demand and checks the terminal-signal rules.
pub struct Probe<T> {
    stream: Option<Elems<T>>,
    terminated: bool,
}

impl<T: Send + 'static> Probe<T> {
    /// Wraps a materialized stream.
    pub fn new(stream: Elems<T>) -> Self {
        Probe {
            stream: Some(stream),
            terminated: false,
        }
    }

    /// Materializes `source` and wraps it.
    pub fn of<M: 'static>(source: Source<T, M>) -> Self {
        Probe::new(source.into_stream())
    }

    /// Requests one element and waits up to `wait` (tokio time, so instant under a paused
    /// clock) for a signal. After a terminal signal, the stream must stay silent: a later
    /// element or second terminal signal panics (the test fails).
    pub async fn request_next_within(&mut self, wait: Duration) -> Signal<T> {
        let Some(s) = self.stream.as_mut() else {
            return Signal::Complete;
        };
        match tokio::time::timeout(wait, s.next()).await {
            Err(_) => Signal::Nothing,
            Ok(Some(Ok(x))) => {
                assert!(!self.terminated, "element after a terminal signal");
                Signal::Next(x)
            }
            Ok(Some(Err(e))) => {
                assert!(!self.terminated, "second terminal signal (failure)");
                self.terminated = true;
                Signal::Error(e)
            }
            Ok(None) => {
                self.terminated = true;
                Signal::Complete
            }
        }
    }

    /// `request_next_within` with a 3 s wait.
    pub async fn request_next(&mut self) -> Signal<T> {
        self.request_next_within(Duration::from_secs(3)).await
    }

    /// Requests up to `n` elements, stopping at a terminal signal.
    pub async fn request(&mut self, n: usize) -> (Vec<T>, Option<Signal<T>>) {
        let mut out = Vec::new();
        for _ in 0..n {
            match self.request_next().await {
                Signal::Next(x) => out.push(x),
                other => return (out, Some(other)),
            }
        }
        (out, None)
    }

    /// Drains to the end: all elements and the terminal signal.
    pub async fn to_end(&mut self) -> (Vec<T>, Signal<T>) {
        let mut out = Vec::new();
        loop {
            match self.request_next().await {
                Signal::Next(x) => out.push(x),
                other => return (out, other),
            }
        }
    }

    /// Asserts that after termination the stream keeps reporting completion and nothing
    /// else (Reactive Streams rules 1.6/1.7).
    pub async fn expect_silent_after_termination(&mut self) {
        for _ in 0..3 {
            if let Some(s) = self.stream.as_mut() {
                match s.next().await {
                    None => {}
                    Some(Ok(_)) => panic!("element after termination"),
                    Some(Err(e)) => panic!("failure after termination: {e}"),
                }
            }
        }
    }

    /// Cancels: drops the stream.
    pub fn cancel(&mut self) {
        self.stream = None;
    }
}

/// Counters shared between a [`ProbeSource`] stream and the test.
#[derive(Default, Debug)]
pub struct ProbeStats {
    pulled: AtomicU64,
    cancelled: AtomicBool,
}

impl ProbeStats {
    /// Elements handed out so far (how much demand reached the source).
    pub fn pulled(&self) -> u64 {
        self.pulled.load(Ordering::SeqCst)
    }
    /// Whether the stream was dropped before it completed (cancellation reached it).
    pub fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

/// A source of `items` that records how many elements were pulled and whether it was
/// cancelled. Optionally returns `Pending` once before each element (exercising wakeups).
pub struct ProbeSource;

impl ProbeSource {
    /// A counting source; the materialized value is its [`ProbeStats`].
    pub fn of<T: Clone + Send + Sync + 'static>(
        items: Vec<T>,
        yield_between: bool,
    ) -> Source<T, Arc<ProbeStats>> {
        Source::from_materializer(move |_| {
            let stats = Arc::new(ProbeStats::default());
            let s = Counting {
                items: items.clone().into_iter(),
                stats: stats.clone(),
                yield_between,
                yielded: false,
                done: false,
            };
            (Box::pin(s) as Elems<T>, stats)
        })
    }
}

struct Counting<T> {
    items: std::vec::IntoIter<T>,
    stats: Arc<ProbeStats>,
    yield_between: bool,
    yielded: bool,
    done: bool,
}

impl<T> Stream for Counting<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.yield_between && !self.yielded {
            self.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.yielded = false;
        match self.items.next() {
            Some(x) => {
                self.stats.pulled.fetch_add(1, Ordering::SeqCst);
                Poll::Ready(Some(Ok(x)))
            }
            None => {
                self.done = true;
                Poll::Ready(None)
            }
        }
    }
}

impl<T> Drop for Counting<T> {
    fn drop(&mut self) {
        if !self.done {
            self.stats.cancelled.store(true, Ordering::SeqCst);
        }
    }
}

impl<T> Unpin for Counting<T> {}
