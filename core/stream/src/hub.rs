//! Dynamic fan-in and fan-out: `MergeHub` and `BroadcastHub`.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use parking_lot::Mutex;
use tokio::sync::{mpsc, Notify};

use crate::dsl::{Elems, Sink, Source};
use crate::error::StreamError;
use crate::ops::decouple::{forward, Forwarded};

struct RxStream<T>(mpsc::Receiver<Result<T, StreamError>>);

impl<T> Stream for RxStream<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// Many producers into one stream (Pekko `MergeHub`).
pub struct MergeHub;

impl MergeHub {
    /// A source materializing a [`Sink`] that any number of producers can run into; their
    /// elements are merged, with `buffer_size` elements of shared buffer. A failing producer
    /// ends only its own stream. The hub completes when it is cancelled, or when the
    /// materialized sink blueprint and every running producer are gone.
    pub fn source<T: Send + 'static>(buffer_size: usize) -> Source<T, Sink<T, ()>> {
        let size = buffer_size.max(1);
        Source::from_materializer(move |_| {
            let (tx, rx) = mpsc::channel::<Result<T, StreamError>>(size);
            let sink = Sink::from_materializer(move |up: Elems<T>, _| {
                let tx = tx.clone();
                let drive = async move {
                    if let Forwarded::Failed(e) = forward(up, &tx, false).await {
                        tracing::debug!(error = %e, "MergeHub producer failed");
                    }
                };
                ((), Box::pin(drive) as BoxFuture<'static, ()>)
            });
            (Box::pin(RxStream(rx)) as Elems<T>, sink)
        })
    }
}

struct HubShared<T> {
    consumers: Mutex<Vec<mpsc::Sender<Result<T, StreamError>>>>,
    finished: Mutex<Option<Result<(), StreamError>>>,
    registered: Notify,
}

/// One stream to many dynamic consumers (Pekko `BroadcastHub`).
pub struct BroadcastHub;

impl BroadcastHub {
    /// A sink materializing a [`Source`] that any number of consumers can run; each gets
    /// the elements that arrive after it attached, with a per-consumer buffer of
    /// `buffer_size`. The slowest consumer sets the pace; with no consumer attached the hub
    /// back-pressures. Consumers attaching after completion complete at once.
    pub fn sink<T: Clone + Send + Sync + 'static>(buffer_size: usize) -> Sink<T, Source<T, ()>> {
        let size = buffer_size.max(1);
        Sink::from_materializer(move |mut up: Elems<T>, _| {
            let shared = Arc::new(HubShared {
                consumers: Mutex::new(Vec::new()),
                finished: Mutex::new(None),
                registered: Notify::new(),
            });
            let for_source = shared.clone();
            let source = Source::from_materializer(move |_| {
                let finished = for_source.finished.lock().clone();
                if let Some(r) = finished {
                    let s: Elems<T> = match r {
                        Ok(()) => Box::pin(futures::stream::empty()),
                        Err(e) => Box::pin(futures::stream::once(futures::future::ready(Err(e)))),
                    };
                    return (s, ());
                }
                let (tx, rx) = mpsc::channel(size);
                for_source.consumers.lock().push(tx);
                for_source.registered.notify_one();
                (Box::pin(RxStream(rx)) as Elems<T>, ())
            });
            let drive = async move {
                loop {
                    // wait for at least one live consumer
                    loop {
                        let notified = shared.registered.notified();
                        {
                            let mut c = shared.consumers.lock();
                            c.retain(|tx| !tx.is_closed());
                            if !c.is_empty() {
                                break;
                            }
                        }
                        notified.await;
                    }
                    let next = up.next().await;
                    let targets: Vec<_> = shared.consumers.lock().clone();
                    match next {
                        Some(x) => {
                            let fail = x.is_err();
                            for tx in &targets {
                                let _ = tx.send(x.clone()).await;
                            }
                            if let Some(Err(e)) = fail.then(|| x.map(|_| ())) {
                                *shared.finished.lock() = Some(Err(e));
                                shared.consumers.lock().clear();
                                return;
                            }
                        }
                        None => {
                            *shared.finished.lock() = Some(Ok(()));
                            shared.consumers.lock().clear();
                            return;
                        }
                    }
                }
            };
            (source, Box::pin(drive) as BoxFuture<'static, ()>)
        })
    }
}
