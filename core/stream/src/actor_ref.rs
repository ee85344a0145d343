//! Stream stages that talk to `rekko-actor` actors with acknowledgements:
//! [`Source::actor_ref_with_ack`] (Pekko typed `ActorSource.actorRefWithBackpressure`)
//! and [`Sink::actor_ref_with_backpressure`] (Pekko typed
//! `ActorSink.actorRefWithBackpressure`).

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::{Stream, StreamExt};
use parking_lot::Mutex;
use rekko_actor::{
    ActorContext, ActorPath, ActorRef, ActorRefTarget, Address, AskError, Behaviors, Signal,
    StatusReply, SystemHandle,
};
use tokio::sync::{mpsc, oneshot};

use crate::dsl::{Elems, Flow, Sink, Source};
use crate::error::StreamError;
use crate::flow_ops::FlowOps;
use crate::ops::decouple::OverflowStrategy;
use crate::queue::{QueueOfferResult, SourceQueue};

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
    /// A source materializing an [`ActorRef`] without acknowledgements (Pekko typed
    /// `ActorSource.actorRef`): each [`ActorSourceMsg::Element`] is buffered, up to
    /// `buffer_size`, until downstream takes it; a full buffer applies `strategy`
    /// (`Backpressure` cannot hold the sender back, so, as in Pekko, it fails the stream
    /// when the buffer overflows). `Complete` completes after the buffered elements
    /// (Pekko's draining completion of the typed API), `Fail` fails at once.
    pub fn actor_ref(buffer_size: usize, strategy: OverflowStrategy) -> Self {
        let buffer_size = buffer_size.max(1);
        Source::queue(buffer_size, strategy).map_materialized_value(move |queue| {
            ActorRef::from_target(Arc::new(QueueTarget {
                queue,
                backpressure: strategy == OverflowStrategy::Backpressure,
                buffer_size,
                path: stage_path("actorRefSource"),
            }))
        })
    }

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

/// The materialized ref of [`Source::actor_ref`]: feeds the queue behind the source.
struct QueueTarget<T> {
    queue: SourceQueue<T>,
    backpressure: bool,
    buffer_size: usize,
    path: ActorPath,
}

impl<T: Send + 'static> ActorRefTarget<ActorSourceMsg<T>> for QueueTarget<T> {
    fn tell(&self, msg: ActorSourceMsg<T>) {
        match msg {
            ActorSourceMsg::Element(x) => {
                if let QueueOfferResult::Dropped = self.queue.offer(x) {
                    if self.backpressure {
                        self.queue.fail(StreamError::msg(format!(
                            "Source::actor_ref: buffer of {} is full and the Backpressure strategy is not supported",
                            self.buffer_size
                        )));
                    }
                }
            }
            ActorSourceMsg::Complete => self.queue.complete(),
            ActorSourceMsg::Fail(e) => self.queue.fail(e),
        }
    }

    fn path(&self) -> ActorPath {
        self.path.clone()
    }
}

/// The acknowledgement ref handed to the target actor by
/// [`Sink::actor_ref_with_backpressure`] (one per materialization, like Pekko's stage actor).
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

/// A fresh ack ref (named `path`) and the receiving end of its channel.
fn ack_channel<A: Send + 'static>(path: &ActorPath) -> (ActorRef<A>, mpsc::UnboundedReceiver<A>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let target = AckTarget {
        tx,
        path: path.clone(),
    };
    (ActorRef::from_target(Arc::new(target)), rx)
}

/// Waits for `ack` on the ack ref, ignoring other messages.
async fn await_ack<A: PartialEq>(acks: &mut mpsc::UnboundedReceiver<A>, ack: &A) {
    while let Some(a) = acks.recv().await {
        if a == *ack {
            return;
        }
    }
    // the stage holds its own ack ref, so the channel stays open
    std::future::pending::<()>().await
}

/// Commands of the actor that death-watches a sink's target.
enum WatcherCmd {
    Stop,
}

/// Death watch of a sink's target by a system actor (Pekko's stage actor watching `ref`).
/// `terminated` resolves when the target terminated, or when the watcher itself is gone
/// (its system shut down, which stops the target too). Dropping the `Watch` stops the
/// watcher.
struct Watch {
    watcher: Option<ActorRef<WatcherCmd>>,
    terminated: oneshot::Receiver<()>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Some(w) = self.watcher.take() {
            w.tell(WatcherCmd::Stop);
        }
    }
}

fn watch_target<M: Send + 'static>(system: &SystemHandle, target: &ActorRef<M>) -> Watch {
    let (tx, terminated) = oneshot::channel::<()>();
    let tx = Arc::new(Mutex::new(Some(tx)));
    let watched = target.clone();
    let behavior = Behaviors::setup(move |ctx: &mut ActorContext<WatcherCmd>| {
        ctx.watch(&watched);
        let tx = tx.clone();
        Behaviors::receive_message(|WatcherCmd::Stop| Behaviors::stopped()).receive_signal(
            move |_, signal| match signal {
                Signal::Terminated(_) | Signal::ChildFailed(_) => {
                    if let Some(tx) = tx.lock().take() {
                        let _ = tx.send(());
                    }
                    Behaviors::stopped()
                }
                _ => Behaviors::same(),
            },
        )
    });
    let n = REF_COUNTER.fetch_add(1, Ordering::Relaxed);
    match system.system_actor_of(behavior, &format!("actorRefSinkWatch-{n}")) {
        Ok(w) => Watch {
            watcher: Some(w),
            terminated,
        },
        Err(e) => {
            // the behavior (and the sender in it) is dropped: reads as terminated
            tracing::warn!(target = %target.path(), error = %e, "cannot watch the target of an actor sink; the sink ends");
            Watch {
                watcher: None,
                terminated,
            }
        }
    }
}

impl<T: Send + 'static> Sink<T, ()> {
    /// A sink telling every element to `target` without waiting for it, then
    /// `on_complete` or `on_failure(error)` (Pekko typed `ActorSink.actorRef`). There is no
    /// back-pressure: the actor's mailbox takes whatever upstream produces. Like Pekko's
    /// stage, each materialization death-watches `target` (see
    /// [`Sink::actor_ref_with_backpressure`]) and completes, cancelling upstream, when it
    /// terminates.
    pub fn actor_ref<FF>(
        system: &SystemHandle,
        target: ActorRef<T>,
        on_complete: T,
        on_failure: FF,
    ) -> Self
    where
        T: Clone + Sync,
        FF: Fn(StreamError) -> T + Send + Sync + 'static,
    {
        let system = system.clone();
        let on_failure = Arc::new(on_failure);
        Sink::from_materializer(move |mut up: Elems<T>, _| {
            let mut watch = watch_target(&system, &target);
            let target = target.clone();
            let on_complete = on_complete.clone();
            let on_failure = on_failure.clone();
            let run = async move {
                loop {
                    let next = tokio::select! {
                        biased;
                        _ = &mut watch.terminated => return,
                        next = up.next() => next,
                    };
                    match next {
                        Some(Ok(x)) => target.tell(x),
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

    /// A sink sending elements to `target` one at a time: first `on_init(ack_ref)`, then
    /// for each element `message(ack_ref, element)`, each only after the actor answered the
    /// previous message with `ack` sent to `ack_ref`; at the end `on_complete` or
    /// `on_failure(error)` (Pekko typed `ActorSink.actorRefWithBackpressure`). Messages on
    /// the ack ref other than `ack` are ignored. As Pekko's stage, the sink pulls ahead up
    /// to the `input_buffer` attribute (default 16) while it waits for acknowledgements;
    /// at most one message to the target is unacknowledged. `on_complete` follows the last
    /// buffered element; `on_failure` is sent at once (buffered elements are dropped).
    ///
    /// Like Pekko's stage, each materialization death-watches `target` (from an actor it
    /// spawns under `/system` of `system`); when the target terminates the stage completes
    /// at once and cancels upstream, whether it was waiting for an acknowledgement or for
    /// upstream. Only local targets can be watched this way.
    pub fn actor_ref_with_backpressure<M, A, FM, FI, FF>(
        system: &SystemHandle,
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
        let system = system.clone();
        let message = Arc::new(message);
        let on_init = Arc::new(on_init);
        let on_failure = Arc::new(on_failure);
        Sink::from_materializer(move |mut up: Elems<T>, attrs| {
            let ack_path = stage_path("actorRefSinkAck");
            let mut watch = watch_target(&system, &target);
            let max_buffer = attrs.get_input_buffer().max(1);
            let target = target.clone();
            let message = message.clone();
            let on_init = on_init.clone();
            let on_failure = on_failure.clone();
            let on_complete = on_complete.clone();
            let ack = ack.clone();
            let run = async move {
                // Returning early drops `up`: upstream is cancelled; dropping `watch` stops
                // the watcher.
                let (ack_ref, mut acks) = ack_channel(&ack_path);
                let mut buffer = VecDeque::new();
                // the target acknowledged the last message and waits for the next element
                let mut acknowledged = false;
                // upstream completed while elements were still buffered
                let mut completing = false;
                target.tell(on_init(ack_ref.clone()));
                loop {
                    let pull = !completing && buffer.len() < max_buffer;
                    tokio::select! {
                        biased;
                        _ = &mut watch.terminated => return,
                        _ = await_ack(&mut acks, &ack) => match buffer.pop_front() {
                            Some(x) => target.tell(message(ack_ref.clone(), x)),
                            None if completing => {
                                target.tell(on_complete);
                                return;
                            }
                            None => acknowledged = true,
                        },
                        next = up.next(), if pull => match next {
                            Some(Ok(x)) if acknowledged => {
                                acknowledged = false;
                                target.tell(message(ack_ref.clone(), x));
                            }
                            Some(Ok(x)) => buffer.push_back(x),
                            Some(Err(e)) => {
                                target.tell(on_failure(e));
                                return;
                            }
                            None if buffer.is_empty() => {
                                target.tell(on_complete);
                                return;
                            }
                            None => completing = true,
                        },
                    }
                }
            };
            ((), Box::pin(run) as BoxFuture<'static, ()>)
        })
    }
}

/// Streams that ask actors (Pekko typed `ActorFlow`).
pub struct ActorFlow;

impl ActorFlow {
    /// A flow asking `target` for every element: `make(element, reply_to)` is sent and the
    /// reply is emitted, in input order, with at most `parallelism` asks outstanding (Pekko
    /// `ActorFlow.ask(parallelism)(ref)(makeMessage)` with an implicit timeout). A reply
    /// that does not come within `timeout` fails the stream with the ask's timeout error
    /// (Pekko `AskTimeoutException`), unless the supervision attribute says otherwise.
    pub fn ask<I, Q, A, F>(
        parallelism: usize,
        target: ActorRef<Q>,
        timeout: std::time::Duration,
        make: F,
    ) -> Flow<I, A, ()>
    where
        I: Send + 'static,
        Q: Send + 'static,
        A: Send + 'static,
        F: Fn(I, ActorRef<A>) -> Q + Send + Sync + 'static,
    {
        let make = Arc::new(make);
        Flow::new().try_map_async(parallelism, move |x: I| {
            let make = make.clone();
            let reply = target.ask(move |reply_to| make(x, reply_to), timeout);
            async move { reply.await.map_err(StreamError::failed) }
        })
    }

    /// Like [`ActorFlow::ask`] for actors answering with a `StatusReply`: an error reply
    /// fails the stream (Pekko `ActorFlow.askWithStatus`).
    pub fn ask_with_status<I, Q, A, F>(
        parallelism: usize,
        target: ActorRef<Q>,
        timeout: std::time::Duration,
        make: F,
    ) -> Flow<I, A, ()>
    where
        I: Send + 'static,
        Q: Send + 'static,
        A: Send + 'static,
        F: Fn(I, ActorRef<StatusReply<A>>) -> Q + Send + Sync + 'static,
    {
        let path = target.path();
        Self::ask(parallelism, target, timeout, make).try_map(move |reply| match reply {
            StatusReply::Success(a) => Ok(a),
            StatusReply::Error(message) => Err(StreamError::failed(AskError::Status {
                target: path.clone(),
                message,
            })),
        })
    }
}
