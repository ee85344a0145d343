//! Stream stages that talk to `rekko-actor` actors with acknowledgements:
//! [`Source::actor_ref_with_ack`] (Pekko typed `ActorSource.actorRefWithBackpressure`)
//! and [`Sink::actor_ref_with_backpressure`] (Pekko typed
//! `ActorSink.actorRefWithBackpressure`).

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use rekko_actor::{ActorPath, ActorRef, ActorRefTarget, Address};
use tokio::sync::mpsc;

use crate::dsl::{Elems, Sink, Source};
use crate::error::StreamError;

/// What an actor sends to the ref materialized by [`Source::actor_ref_with_ack`].
#[derive(Debug)]
pub enum ActorSourceMsg<T> {
    /// Emit this element; the stream acknowledges it once downstream took it. Send the
    /// next element only after that acknowledgement.
    Element(T),
    /// Complete the stream after the elements already sent.
    Complete,
    /// Fail the stream.
    Fail(StreamError),
}

static REF_COUNTER: AtomicU64 = AtomicU64::new(0);

fn stage_path(kind: &str) -> ActorPath {
    let n = REF_COUNTER.fetch_add(1, Ordering::Relaxed);
    ActorPath::root(Address::local("rekko-stream"))
        .child("system")
        .child("StreamSupervisor")
        .child(&format!("{kind}-{n}"))
}

/// The materialized ref of an actor source: forwards into the stage.
struct SourceTarget<T> {
    tx: mpsc::UnboundedSender<ActorSourceMsg<T>>,
    in_flight: Arc<AtomicUsize>,
    path: ActorPath,
}

impl<T: Send + 'static> ActorRefTarget<ActorSourceMsg<T>> for SourceTarget<T> {
    fn tell(&self, msg: ActorSourceMsg<T>) {
        if matches!(msg, ActorSourceMsg::Element(_)) {
            self.in_flight.fetch_add(1, Ordering::AcqRel);
        }
        // A closed stage drops the message (dead letters).
        let _ = self.tx.send(msg);
    }

    fn path(&self) -> ActorPath {
        self.path.clone()
    }
}

struct ActorSourceStream<T, A> {
    rx: mpsc::UnboundedReceiver<ActorSourceMsg<T>>,
    in_flight: Arc<AtomicUsize>,
    ack_to: ActorRef<A>,
    ack: A,
    done: bool,
}

impl<T, A> Stream for ActorSourceStream<T, A>
where
    T: Send + 'static,
    A: Clone + Send + Unpin + 'static,
{
    type Item = Result<T, StreamError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) | Poll::Ready(Some(ActorSourceMsg::Complete)) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(ActorSourceMsg::Fail(e))) => {
                self.done = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(Some(ActorSourceMsg::Element(x))) => {
                // At most one element may be sent before its acknowledgement.
                if self.in_flight.fetch_sub(1, Ordering::AcqRel) > 1 {
                    self.done = true;
                    return Poll::Ready(Some(Err(StreamError::msg(
                        "Received new element before ack was signaled back",
                    ))));
                }
                self.ack_to.tell(self.ack.clone());
                Poll::Ready(Some(Ok(x)))
            }
        }
    }
}

impl<T: Send + 'static> Source<T, ActorRef<ActorSourceMsg<T>>> {
    /// A source materializing an [`ActorRef`]: every [`ActorSourceMsg::Element`] sent to it is
    /// emitted, and `ack` is sent to `ack_to` once downstream has taken it; the sender must
    /// wait for that acknowledgement before sending the next element (a second element
    /// before the ack fails the stream). No element is ever buffered beyond the one in
    /// flight. Dropping the stream makes the ref drop further messages.
    pub fn actor_ref_with_ack<A>(ack_to: ActorRef<A>, ack: A) -> Self
    where
        A: Clone + Send + Sync + Unpin + 'static,
    {
        Source::from_materializer(move |_| {
            let (tx, rx) = mpsc::unbounded_channel();
            let in_flight = Arc::new(AtomicUsize::new(0));
            let target = SourceTarget {
                tx,
                in_flight: in_flight.clone(),
                path: stage_path("actorRefSource"),
            };
            let stream = ActorSourceStream {
                rx,
                in_flight,
                ack_to: ack_to.clone(),
                ack: ack.clone(),
                done: false,
            };
            (
                Box::pin(stream) as Elems<T>,
                ActorRef::from_target(Arc::new(target)),
            )
        })
    }
}

/// The acknowledgement ref handed to the target actor by
/// [`Sink::actor_ref_with_backpressure`], one per message sent: its channel closes once
/// every copy of that ref is gone, which is how the stage learns that no acknowledgement
/// can come any more (the target stopped and dropped its mailbox and state).
struct AckTarget<A> {
    tx: mpsc::UnboundedSender<A>,
    path: ActorPath,
}

impl<A: Send + 'static> ActorRefTarget<A> for AckTarget<A> {
    fn tell(&self, msg: A) {
        let _ = self.tx.send(msg);
    }

    fn path(&self) -> ActorPath {
        self.path.clone()
    }
}

/// A fresh ack ref (always named `path`) and the receiving end of its channel.
fn ack_channel<A: Send + 'static>(path: &ActorPath) -> (ActorRef<A>, mpsc::UnboundedReceiver<A>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let target = AckTarget {
        tx,
        path: path.clone(),
    };
    (ActorRef::from_target(Arc::new(target)), rx)
}

/// Waits for `ack` on the ack ref; false once that ref can no longer be told (all its
/// copies dropped without the acknowledgement).
async fn await_ack<A: PartialEq>(acks: &mut mpsc::UnboundedReceiver<A>, ack: &A) -> bool {
    while let Some(a) = acks.recv().await {
        if a == *ack {
            return true;
        }
    }
    false
}

impl<T: Send + 'static> Sink<T, ()> {
    /// A sink sending elements to `target` one at a time: first `on_init(ack_ref)`, then
    /// for each element `message(ack_ref, element)`, each only after the actor answered the
    /// previous message with `ack` sent to `ack_ref`; at the end `on_complete` or
    /// `on_failure(error)` (Pekko typed `ActorSink.actorRefWithBackpressure`). Messages on
    /// the ack ref other than `ack` are ignored. Upstream is pulled only after an ack, so at
    /// most one element is outstanding.
    ///
    /// If the target stops, the stage completes and cancels upstream, as Pekko's stage does
    /// on the `Terminated` of its watched target: the stage notices it while it waits for an
    /// acknowledgement (each message carries its own ack ref, and a stopped actor drops the
    /// messages and state holding them). Unlike Pekko, an actor that drops the ack ref
    /// without acknowledging (so that no acknowledgement can ever come) also ends the stage
    /// instead of leaving it waiting forever; a target that stops while the stage waits for
    /// upstream is noticed with the next element.
    pub fn actor_ref_with_backpressure<M, A, FM, FI, FF>(
        target: ActorRef<M>,
        message: FM,
        on_init: FI,
        ack: A,
        on_complete: M,
        on_failure: FF,
    ) -> Self
    where
        M: Clone + Send + Sync + 'static,
        A: PartialEq + Send + Sync + 'static + Clone,
        FM: Fn(ActorRef<A>, T) -> M + Send + Sync + 'static,
        FI: Fn(ActorRef<A>) -> M + Send + Sync + 'static,
        FF: Fn(StreamError) -> M + Send + Sync + 'static,
    {
        let message = Arc::new(message);
        let on_init = Arc::new(on_init);
        let on_failure = Arc::new(on_failure);
        Sink::from_materializer(move |mut up: Elems<T>, _| {
            let ack_path = stage_path("actorRefSinkAck");
            let target = target.clone();
            let message = message.clone();
            let on_init = on_init.clone();
            let on_failure = on_failure.clone();
            let on_complete = on_complete.clone();
            let ack = ack.clone();
            let run = async move {
                // Returning early drops `up`: upstream is cancelled.
                let (ack_ref, mut acks) = ack_channel(&ack_path);
                target.tell(on_init(ack_ref));
                if !await_ack(&mut acks, &ack).await {
                    return;
                }
                loop {
                    match up.next().await {
                        Some(Ok(x)) => {
                            let (ack_ref, mut acks) = ack_channel(&ack_path);
                            target.tell(message(ack_ref, x));
                            if !await_ack(&mut acks, &ack).await {
                                return;
                            }
                        }
                        Some(Err(e)) => {
                            target.tell(on_failure(e));
                            return;
                        }
                        None => {
                            target.tell(on_complete);
                            return;
                        }
                    }
                }
            };
            ((), Box::pin(run) as BoxFuture<'static, ()>)
        })
    }
}
