//! Fan-out: `also_to`, `wire_tap` and the `Sink::broadcast` / `balance` / `partition`
//! junctions. Outputs are fed through one-slot channels, so no output runs more than one
//! element ahead.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures::future::BoxFuture;
use futures::{Stream, StreamExt};

use super::{poll_up, slot};
use crate::attributes::Attributes;
use crate::dsl::{Elems, Sink};
use crate::error::StreamError;

type Item<T> = Option<Result<T, StreamError>>;
pub(crate) type Tx<T> = slot::Sender<Result<T, StreamError>>;

/// Materializes `sink` fed by a fresh one-slot channel.
pub(crate) fn attach<T: Send + 'static, M: 'static>(
    sink: &Sink<T, M>,
    attrs: &Attributes,
) -> (Tx<T>, M, BoxFuture<'static, ()>) {
    let (tx, rx) = slot::channel::<Result<T, StreamError>>(false);
    let (m, fut) = sink.materialize(Box::pin(rx), attrs);
    (tx, m, fut)
}

/// `also_to` (back-pressured by both, side cancellation completes the stream) and
/// `wire_tap` (elements the side is not ready for are dropped; its cancellation is ignored).
pub(crate) struct AlsoTo<T> {
    pub up: Option<Elems<T>>,
    pub tx: Option<Tx<T>>,
    pub side: Option<BoxFuture<'static, ()>>,
    pub tap: bool,
}
impl<T: Clone + Send + 'static> Stream for AlsoTo<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Item<T>> {
        let this = &mut *self;
        if let Some(f) = this.side.take() {
            tokio::spawn(f);
        }
        if !this.tap {
            if let Some(tx) = this.tx.as_mut() {
                if ready!(tx.poll_ready(cx)).is_err() {
                    // side cancelled: eager cancel of the whole stream
                    this.tx = None;
                    this.up = None;
                    return Poll::Ready(None);
                }
            }
        }
        let r = ready!(poll_up(&mut this.up, cx));
        match &r {
            Some(x) => {
                if let Some(tx) = this.tx.as_mut() {
                    let res = if this.tap {
                        tx.try_send(x.clone()).map_err(|_| ())
                    } else {
                        tx.start_send(x.clone()).map_err(|_| ())
                    };
                    if res.is_err() && !this.tap {
                        this.tx = None;
                    }
                }
                if x.is_err() {
                    this.tx = None;
                }
            }
            None => this.tx = None,
        }
        Poll::Ready(r)
    }
}

/// Drives a fan-out junction: pulls from its input and routes to its outputs (`None` for
/// an output that cancelled). The future ends when the junction is done.
pub(crate) type Router<T> =
    dyn Fn(Elems<T>, Vec<Option<Tx<T>>>) -> BoxFuture<'static, ()> + Send + Sync;

/// `Broadcast`: every element to every live output once all of them can take it.
pub(crate) async fn broadcast<T: Clone + Send + 'static>(
    mut up: Elems<T>,
    mut outs: Vec<Option<Tx<T>>>,
    eager_cancel: bool,
) {
    loop {
        // wait until every live output can take an element
        let cancelled = poll_fn(|cx| {
            let mut pending = false;
            let mut cancelled = false;
            for o in outs.iter_mut() {
                if let Some(tx) = o {
                    match tx.poll_ready(cx) {
                        Poll::Ready(Ok(())) => {}
                        Poll::Ready(Err(_)) => {
                            *o = None;
                            cancelled = true;
                        }
                        Poll::Pending => pending = true,
                    }
                }
            }
            if cancelled && eager_cancel {
                return Poll::Ready(true);
            }
            if pending {
                Poll::Pending
            } else {
                Poll::Ready(false)
            }
        })
        .await;
        if cancelled || outs.iter().all(|o| o.is_none()) {
            return; // cancel upstream
        }
        match up.next().await {
            Some(x) => {
                let fail = x.is_err();
                for tx in outs.iter_mut().flatten() {
                    let _ = tx.start_send(x.clone());
                }
                if fail {
                    return;
                }
            }
            None => return,
        }
    }
}

/// `Balance`: each element to one output that is ready for it, trying them round-robin.
pub(crate) async fn balance<T: Send + 'static>(mut up: Elems<T>, mut outs: Vec<Option<Tx<T>>>) {
    let n = outs.len();
    let mut rr = 0usize;
    loop {
        let chosen = poll_fn(|cx| {
            let mut any = false;
            for k in 0..n {
                let i = (rr + k) % n;
                if let Some(tx) = outs[i].as_mut() {
                    match tx.poll_ready(cx) {
                        Poll::Ready(Ok(())) => return Poll::Ready(Some(i)),
                        Poll::Ready(Err(_)) => outs[i] = None,
                        Poll::Pending => any = true,
                    }
                }
            }
            if any {
                Poll::Pending
            } else {
                Poll::Ready(None)
            }
        })
        .await;
        // `None`: every output cancelled, so cancel upstream
        let Some(i) = chosen else { return };
        rr = i + 1;
        match up.next().await {
            Some(Ok(x)) => {
                if let Some(tx) = outs[i].as_mut() {
                    let _ = tx.start_send(Ok(x));
                }
            }
            Some(Err(e)) => {
                broadcast_error(&mut outs, e).await;
                return;
            }
            None => return,
        }
    }
}

/// `Partition`: each element to output `f(&x)`; an index out of range fails every output,
/// elements for a cancelled output are dropped.
pub(crate) async fn partition<T: Send + 'static>(
    mut up: Elems<T>,
    mut outs: Vec<Option<Tx<T>>>,
    f: Arc<dyn Fn(&T) -> usize + Send + Sync>,
) {
    loop {
        if outs.iter().all(|o| o.is_none()) {
            return; // every output cancelled: cancel upstream
        }
        match up.next().await {
            Some(Ok(x)) => {
                let i = f(&x);
                if i >= outs.len() {
                    let e = StreamError::msg(format!(
                        "partition: index {i} out of range for {} outputs",
                        outs.len()
                    ));
                    broadcast_error(&mut outs, e).await;
                    return;
                }
                if let Some(tx) = outs[i].as_mut() {
                    if poll_fn(|cx| tx.poll_ready(cx)).await.is_ok() {
                        let _ = tx.start_send(Ok(x));
                    } else {
                        outs[i] = None;
                    }
                }
            }
            Some(Err(e)) => {
                broadcast_error(&mut outs, e).await;
                return;
            }
            None => return,
        }
    }
}

async fn broadcast_error<T>(outs: &mut [Option<Tx<T>>], e: StreamError) {
    for tx in outs.iter_mut().flatten() {
        if poll_fn(|cx| tx.poll_ready(cx)).await.is_ok() {
            let _ = tx.start_send(Err(e.clone()));
        }
    }
}

/// Builds a fan-out sink over `sinks`, routed by `router`.
pub(crate) fn fan_out_sink<T: Send + 'static, M: 'static>(
    sinks: Vec<Sink<T, M>>,
    router: Arc<Router<T>>,
) -> Sink<T, Vec<M>> {
    Sink::from_materializer(move |up, attrs| {
        let mut outs = Vec::with_capacity(sinks.len());
        let mut mats = Vec::with_capacity(sinks.len());
        let mut futs = Vec::with_capacity(sinks.len());
        for s in &sinks {
            let (tx, m, fut) = attach(s, attrs);
            outs.push(Some(tx));
            mats.push(m);
            futs.push(fut);
        }
        let driver = router(up, outs);
        let all = async move {
            futures::future::join(driver, futures::future::join_all(futs)).await;
        };
        (mats, Box::pin(all) as BoxFuture<'static, ()>)
    })
}

impl<T> Unpin for AlsoTo<T> {}
