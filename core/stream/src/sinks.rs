//! Sink factories (Pekko `Sink.foreach`, `Sink.seq`, `Sink.head`, ...).

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};

use crate::dsl::{promise, Elems, Sink, StreamFuture};
use crate::error::StreamError;
use crate::ops::fanout::{self, fan_out_sink};
use crate::ops::SYNC_LIMIT;

/// Consumes `up`, calling `f` per element until it returns `false` (then cancels upstream).
async fn drain<T, F: FnMut(T) -> bool>(mut up: Elems<T>, mut f: F) -> Result<(), StreamError> {
    let mut n = 0u32;
    while let Some(x) = up.next().await {
        if !f(x?) {
            return Ok(());
        }
        n += 1;
        if n >= SYNC_LIMIT {
            n = 0;
            tokio::task::yield_now().await;
        }
    }
    Ok(())
}

fn sink_with<T, A, S, F, G>(
    init: impl Fn() -> S + Send + Sync + 'static,
    step: F,
    finish: G,
) -> Sink<T, StreamFuture<A>>
where
    T: Send + 'static,
    A: Send + 'static,
    S: Send + 'static,
    F: Fn(&mut S, T) -> bool + Send + Sync + 'static,
    G: Fn(S) -> Result<A, StreamError> + Send + Sync + 'static,
{
    let (step, finish) = (Arc::new(step), Arc::new(finish));
    Sink::from_materializer(move |up, _| {
        let (mut p, fut) = promise();
        let mut state = init();
        let (step, finish) = (step.clone(), finish.clone());
        let drive = async move {
            let r = drain(up, |x| step(&mut state, x)).await;
            p.complete(r.and_then(|()| finish(state)));
        };
        (fut, Box::pin(drive) as BoxFuture<'static, ()>)
    })
}

/// Pulls elements on request (Pekko `SinkQueueWithCancel`).
pub struct SinkQueue<T> {
    inner: tokio::sync::Mutex<Option<Elems<T>>>,
}

impl<T> std::fmt::Debug for SinkQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SinkQueue")
    }
}

impl<T: Send + 'static> SinkQueue<T> {
    /// The next element, `Ok(None)` on completion, `Err` on failure.
    pub async fn pull(&self) -> Result<Option<T>, StreamError> {
        let mut g = self.inner.lock().await;
        let Some(s) = g.as_mut() else { return Ok(None) };
        match s.next().await {
            Some(Ok(x)) => Ok(Some(x)),
            Some(Err(e)) => {
                *g = None;
                Err(e)
            }
            None => {
                *g = None;
                Ok(None)
            }
        }
    }

    /// Cancels the stream.
    pub async fn cancel(&self) {
        *self.inner.lock().await = None;
    }
}

impl<T: Send + 'static> Sink<T, StreamFuture<()>> {
    /// Calls `f` for every element; completes with the stream (Pekko `Sink.foreach`).
    pub fn for_each<F>(f: F) -> Self
    where
        F: FnMut(T) + Send + Sync + Clone + 'static,
    {
        sink_with(
            move || f.clone(),
            |f, x| {
                f(x);
                true
            },
            |_| Ok(()),
        )
    }

    /// Discards all elements (Pekko `Sink.ignore`).
    pub fn ignore() -> Self {
        sink_with(|| (), |_, _| true, |_| Ok(()))
    }
}

impl<T: Send + 'static> Sink<T, StreamFuture<Vec<T>>> {
    /// Collects all elements (Pekko `Sink.seq`).
    pub fn seq() -> Self {
        sink_with(
            Vec::new,
            |v, x| {
                v.push(x);
                true
            },
            Ok,
        )
    }
}

impl<T: Send + 'static> Sink<T, StreamFuture<T>> {
    /// The first element, then cancels upstream; fails on an empty stream (Pekko `Sink.head`).
    pub fn head() -> Self {
        sink_with(
            || None,
            |h, x| {
                *h = Some(x);
                false
            },
            |h| {
                h.ok_or(StreamError::NoSuchElement {
                    stage: "Sink::head",
                })
            },
        )
    }

    /// The last element; fails on an empty stream (Pekko `Sink.last`).
    pub fn last() -> Self {
        sink_with(
            || None,
            |h, x| {
                *h = Some(x);
                true
            },
            |h| {
                h.ok_or(StreamError::NoSuchElement {
                    stage: "Sink::last",
                })
            },
        )
    }

    /// Combines all elements with `f`; fails on an empty stream (Pekko `Sink.reduce`).
    pub fn reduce<F>(f: F) -> Self
    where
        F: Fn(T, T) -> T + Send + Sync + 'static,
    {
        sink_with(
            || None,
            move |acc: &mut Option<T>, x| {
                *acc = Some(match acc.take() {
                    None => x,
                    Some(a) => f(a, x),
                });
                true
            },
            |h| {
                h.ok_or(StreamError::NoSuchElement {
                    stage: "Sink::reduce",
                })
            },
        )
    }
}

impl<T: Send + 'static> Sink<T, StreamFuture<Option<T>>> {
    /// The first element or `None` (Pekko `Sink.headOption`).
    pub fn head_option() -> Self {
        sink_with(
            || None,
            |h, x| {
                *h = Some(x);
                false
            },
            Ok,
        )
    }

    /// The last element or `None` (Pekko `Sink.lastOption`).
    pub fn last_option() -> Self {
        sink_with(
            || None,
            |h, x| {
                *h = Some(x);
                true
            },
            Ok,
        )
    }
}

impl<T: Send + 'static> Sink<T, ()> {
    /// Cancels upstream at once (Pekko `Sink.cancelled`).
    pub fn cancelled() -> Self {
        Sink::from_materializer(|up, _| {
            drop(up);
            ((), Box::pin(async {}) as BoxFuture<'static, ()>)
        })
    }
}

impl<T: Send + 'static> Sink<T, SinkQueue<T>> {
    /// Materializes a [`SinkQueue`] to pull elements from (Pekko `Sink.queue`).
    pub fn queue() -> Self {
        Sink::from_materializer(|up, _| {
            (
                SinkQueue {
                    inner: tokio::sync::Mutex::new(Some(up)),
                },
                Box::pin(async {}) as BoxFuture<'static, ()>,
            )
        })
    }
}

impl<T: Send + 'static> Sink<T, Elems<T>> {
    /// Materializes the incoming elements as a `futures::Stream`, driven by whoever polls
    /// it (Pekko `Sink.asPublisher(fanout = false)`).
    pub fn into_stream() -> Self {
        Sink::from_materializer(|up, _| (up, Box::pin(async {}) as BoxFuture<'static, ()>))
    }
}

impl<T: Send + 'static, A: Clone + Send + Sync + 'static> Sink<T, StreamFuture<A>> {
    /// Folds all elements (Pekko `Sink.fold`).
    pub fn fold<F>(zero: A, f: F) -> Self
    where
        F: Fn(A, T) -> A + Send + Sync + 'static,
    {
        sink_with(
            move || Some(zero.clone()),
            move |acc: &mut Option<A>, x| {
                if let Some(a) = acc.take() {
                    *acc = Some(f(a, x));
                }
                true
            },
            |acc| {
                acc.ok_or(StreamError::AbruptTermination(
                    "Sink::fold lost its accumulator",
                ))
            },
        )
    }
}

impl<T: Clone + Send + 'static, M: 'static> Sink<T, Vec<M>> {
    /// Sends every element to all `sinks`; the slowest sets the pace. With `eager_cancel`
    /// one cancelled output cancels the whole fan-out, otherwise the others go on (Pekko
    /// `Broadcast`, `Sink.combine`).
    pub fn broadcast(sinks: Vec<Sink<T, M>>, eager_cancel: bool) -> Self {
        fan_out_sink(
            sinks,
            Arc::new(move |up, outs| fanout::broadcast(up, outs, eager_cancel).boxed()),
        )
    }
}

impl<T: Send + 'static, M: 'static> Sink<T, Vec<M>> {
    /// Sends each element to one output that is ready for it (Pekko `Balance`). Elements
    /// are moved, never cloned.
    pub fn balance(sinks: Vec<Sink<T, M>>) -> Self {
        fan_out_sink(
            sinks,
            Arc::new(|up, outs| fanout::balance(up, outs).boxed()),
        )
    }

    /// Sends each element to output `f(&elem)`; an out-of-range index fails the stream and
    /// elements for a cancelled output are dropped (Pekko `Partition`). Elements are moved,
    /// never cloned.
    pub fn partition<F>(sinks: Vec<Sink<T, M>>, f: F) -> Self
    where
        F: Fn(&T) -> usize + Send + Sync + 'static,
    {
        let f: Arc<dyn Fn(&T) -> usize + Send + Sync> = Arc::new(f);
        fan_out_sink(
            sinks,
            Arc::new(move |up, outs| fanout::partition(up, outs, f.clone()).boxed()),
        )
    }
}
