//! Thin tokio drivers running the stage state machines on a [`RemoteNode`]:
//! each stage registers an endpoint (its stage actor), forwards inbound
//! protocol messages and death-watch events to its machine, performs the
//! effects and unregisters when it stops (which notifies remote watchers).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use futures::{FutureExt, StreamExt};
use rand::Rng;
use rekko_remote::{Delivery, RemoteEvent, RemoteNode, SerializedMessage};
use rekko_stream::{Elems, Sink, Source, StreamError};
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::{debug, warn};

use crate::codec::{SinkRef, SourceRef, StreamRefMessage};
use crate::error::StreamRefError;
use crate::receiver::{Effect, Receiver};
use crate::sender::Sender;
use crate::settings::StreamRefSettings;

/// Parent path of the stage actors on a Rekko node.
pub const STAGE_PARENT: &str = "/system/StreamSupervisor-rekko";

/// Creates and resolves stream refs on one [`RemoteNode`].
#[derive(Clone)]
pub struct StreamRefs {
    node: RemoteNode,
    settings: StreamRefSettings,
    counter: Arc<AtomicU64>,
    prefix: Arc<str>,
    high_water: Arc<AtomicUsize>,
}

/// Completes when a sending stage finishes: `Ok` once its partner saw the
/// whole stream (or cancelled normally), else the stage's error.
#[derive(Debug)]
pub struct StageDone(oneshot::Receiver<Result<(), StreamRefError>>);

impl Future for StageDone {
    type Output = Result<(), StreamRefError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|r| {
            r.unwrap_or_else(|_| {
                Err(StreamRefError::Transport(
                    "stream ref stage stopped without a result".into(),
                ))
            })
        })
    }
}

/// One inbound protocol message: envelope sender and decoded message.
type Inbound = (Option<String>, Result<StreamRefMessage, StreamRefError>);

/// The timer of a stage: one `Sleep`, moved only when the deadline changes
/// (not re-registered on every wake-up).
struct Timer {
    sleep: Pin<Box<tokio::time::Sleep>>,
    at: Option<Instant>,
}

impl Timer {
    fn new() -> Self {
        Timer {
            sleep: Box::pin(tokio::time::sleep(std::time::Duration::from_secs(3600))),
            at: None,
        }
    }

    fn arm(&mut self, deadline: Option<Instant>) {
        if deadline != self.at {
            self.at = deadline;
            if let Some(d) = deadline {
                self.sleep.as_mut().reset(tokio::time::Instant::from_std(d));
            }
        }
    }

    async fn wait(&mut self) {
        match self.at {
            Some(_) => self.sleep.as_mut().await,
            None => futures::future::pending().await,
        }
    }
}

/// Elements a receiving stage may hand to its downstream task ahead of its
/// pulls: the input buffer of the async boundary between them (Pekko's
/// `max-input-buffer-size` default).
const OUT_BUFFER: usize = 16;

/// Inbound messages a stage takes in one go before acting on them.
const INBOX_BATCH: usize = 64;

struct Endpoint {
    node: RemoteNode,
    timer: Timer,
    local: String,
    full: String,
    inbox: mpsc::Receiver<Inbound>,
    overflow: Arc<AtomicBool>,
    events: broadcast::Receiver<RemoteEvent>,
    high_water: Arc<AtomicUsize>,
    inbox_capacity: usize,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        // Stopping the stage actor notifies its remote watchers.
        self.node.unregister(&self.local);
    }
}

impl StreamRefs {
    /// Stream refs on `node` with `settings`.
    pub fn new(node: RemoteNode, settings: StreamRefSettings) -> Self {
        let mut rng = rand::thread_rng();
        let prefix: String = (0..6).map(|_| rng.gen_range('a'..='z')).collect();
        StreamRefs {
            node,
            settings,
            counter: Arc::new(AtomicU64::new(0)),
            prefix: prefix.into(),
            high_water: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The most elements any receiving stage of these refs has held in its
    /// buffer at once (never more than `buffer-capacity`).
    pub fn max_buffered(&self) -> usize {
        self.high_water.load(Ordering::Relaxed)
    }

    /// The settings stages are created with.
    pub fn settings(&self) -> &StreamRefSettings {
        &self.settings
    }

    fn endpoint(&self, kind: &str) -> Endpoint {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let local = format!("{STAGE_PARENT}/$${}-{kind}-{n}", self.prefix);
        let full = format!("{}{local}", self.node.address());
        // Inbound traffic is bounded by the protocol (demand); a peer that
        // ignores demand overflows this queue and fails the stage.
        let inbox_capacity = self.settings.buffer_capacity * 2 + 16;
        let (tx, inbox) = mpsc::channel(inbox_capacity);
        let overflow = Arc::new(AtomicBool::new(false));
        let flag = overflow.clone();
        let events = self.node.subscribe();
        self.node.register(
            &local,
            Arc::new(move |_: &RemoteNode, d: Delivery| {
                let msg = StreamRefMessage::from_serialized(&d.message).map_err(Into::into);
                if tx.try_send((d.sender, msg)).is_err() {
                    flag.store(true, Ordering::Release);
                }
            }),
        );
        Endpoint {
            node: self.node.clone(),
            timer: Timer::new(),
            local,
            full,
            inbox,
            overflow,
            events,
            high_water: self.high_water.clone(),
            inbox_capacity,
        }
    }

    /// A source emitting the elements of the remote stream behind `source_ref`
    /// (Pekko `SourceRef.source`). Each materialization subscribes anew; a
    /// ref can be consumed once.
    pub fn source(&self, source_ref: &SourceRef) -> Source<SerializedMessage, ()> {
        let this = self.clone();
        let partner = source_ref.origin_ref.clone();
        Source::from_materializer(move |_| {
            let ep = this.endpoint("SourceRef");
            let sm = Receiver::target(&ep.full, &partner, this.settings.clone(), Instant::now());
            (spawn_receiver(ep, sm), ())
        })
    }

    /// A source whose materialized [`SinkRef`] lets a remote stream write into
    /// it (Pekko `StreamRefs.sinkRef()`).
    pub fn sink_ref(&self) -> Source<SerializedMessage, SinkRef> {
        let this = self.clone();
        Source::from_materializer(move |_| {
            let ep = this.endpoint("SourceRef");
            let target_ref = ep.full.clone();
            let sm = Receiver::origin(&ep.full, this.settings.clone(), Instant::now());
            (spawn_receiver(ep, sm), SinkRef { target_ref })
        })
    }

    /// A sink writing into the remote stream behind `sink_ref` (Pekko
    /// `SinkRef.sink`); its [`StageDone`] completes when the remote side has
    /// taken the whole stream.
    pub fn sink(&self, sink_ref: &SinkRef) -> Sink<SerializedMessage, StageDone> {
        let this = self.clone();
        let partner = sink_ref.target_ref.clone();
        Sink::from_materializer(move |up, _| {
            let ep = this.endpoint("SinkRef");
            let sm = Sender::target(&ep.full, &partner, this.settings.clone());
            let (tx, rx) = oneshot::channel();
            (
                StageDone(rx),
                Box::pin(run_sender(ep, sm, up, tx)) as futures::future::BoxFuture<'static, ()>,
            )
        })
    }

    /// A sink whose materialized [`SourceRef`] lets a remote stream read what
    /// flows into it (Pekko `StreamRefs.sourceRef()`).
    pub fn source_ref(&self) -> Sink<SerializedMessage, (SourceRef, StageDone)> {
        let this = self.clone();
        Sink::from_materializer(move |up, _| {
            let ep = this.endpoint("SinkRef");
            let origin_ref = ep.full.clone();
            let sm = Sender::origin(&ep.full, this.settings.clone(), Instant::now());
            let (tx, rx) = oneshot::channel();
            (
                (SourceRef { origin_ref }, StageDone(rx)),
                Box::pin(run_sender(ep, sm, up, tx)) as futures::future::BoxFuture<'static, ()>,
            )
        })
    }
}

fn to_stream_error(e: StreamRefError) -> StreamError {
    StreamError::failed(e)
}

async fn watch(node: &RemoteNode, path: &str) -> Result<(), StreamRefError> {
    node.watch(path)
        .await
        .map_err(|e| StreamRefError::Transport(format!("watching {path}: {e}")))
}

async fn unwatch(node: &RemoteNode, path: &str) {
    if let Err(e) = node.unwatch(path).await {
        debug!(path, error = %e, "unwatch failed");
    }
}

fn send(ep: &Endpoint, to: &str, msg: &StreamRefMessage) -> Result<(), StreamRefError> {
    ep.node
        .tell(to, Some(&ep.full), msg.to_serialized())
        .map_err(|e| StreamRefError::Transport(format!("sending {} to {to}: {e}", msg.manifest())))
}

/// What the next loop iteration of a driver was woken by.
enum Wake {
    Inbound(Option<Inbound>),
    Event(Result<RemoteEvent, broadcast::error::RecvError>),
    Timer,
}

async fn next_wake(ep: &mut Endpoint, deadline: Option<Instant>) -> Wake {
    ep.timer.arm(deadline);
    tokio::select! {
        m = ep.inbox.recv() => Wake::Inbound(m),
        e = ep.events.recv() => Wake::Event(e),
        () = ep.timer.wait() => Wake::Timer,
    }
}

/// Hands one inbound message to a receiving stage.
fn receiver_inbound(ep: &Endpoint, sm: &mut Receiver, inbound: Inbound, now: Instant) {
    match inbound {
        (sender, Ok(msg)) => sm.on_message(sender.as_deref(), msg, now),
        (sender, Err(e)) => {
            warn!(stage = %ep.full, ?sender, error = %e, "undecodable StreamRef message dropped");
        }
    }
}

/// The partner's path if `event` says its node is gone (lost to the failure
/// detector, or its system announced termination).
fn lost_partner(event: &RemoteEvent, partner: Option<&str>) -> Option<String> {
    let partner = partner?;
    let address = match event {
        RemoteEvent::AddressTerminated(a) => a.to_string(),
        RemoteEvent::PeerTerminating(ua) => ua.address.to_string(),
        _ => return None,
    };
    partner
        .strip_prefix(address.as_str())
        .is_some_and(|rest| rest.starts_with('/'))
        .then(|| partner.to_string())
}

fn spawn_receiver(ep: Endpoint, sm: Receiver) -> Elems<SerializedMessage> {
    let (out, rx) = mpsc::channel(OUT_BUFFER);
    tokio::spawn(run_receiver(ep, sm, out));
    Box::pin(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|x| (x, rx))
    }))
}

type Out = mpsc::Sender<Result<SerializedMessage, StreamError>>;

async fn run_receiver(mut ep: Endpoint, mut sm: Receiver, out: Out) {
    let mut permit: Option<mpsc::OwnedPermit<Result<SerializedMessage, StreamError>>> = None;
    let mut cancelled = false;
    loop {
        for effect in sm.take_effects() {
            match effect {
                Effect::Send { to, msg } => {
                    if let Err(e) = send(&ep, &to, &msg) {
                        warn!(stage = %ep.full, error = %e, "StreamRef send failed");
                        let _ = out.send(Err(to_stream_error(e))).await;
                        return;
                    }
                }
                Effect::Watch(p) => {
                    if let Err(e) = watch(&ep.node, &p).await {
                        let _ = out.send(Err(to_stream_error(e))).await;
                        return;
                    }
                }
                Effect::Unwatch(p) => unwatch(&ep.node, &p).await,
                Effect::Push(x) => match permit.take() {
                    Some(p) => {
                        p.send(Ok(x));
                    }
                    None => warn!(stage = %ep.full, "element pushed without demand dropped"),
                },
                Effect::Fail(e) => {
                    debug!(stage = %ep.full, error = %e, "StreamRef receiver failed");
                    drop(permit.take());
                    if !cancelled {
                        let _ = out.send(Err(to_stream_error(e))).await;
                    }
                    return;
                }
                Effect::Complete | Effect::Cancelled => return,
                Effect::Pull | Effect::CancelUpstream(_) => {}
            }
        }
        ep.high_water.fetch_max(sm.buffered(), Ordering::Relaxed);
        if sm.is_finished() {
            return;
        }
        if ep.overflow.load(Ordering::Acquire) {
            let e = StreamRefError::BufferOverflow {
                capacity: ep.inbox_capacity,
            };
            let _ = out.send(Err(to_stream_error(e))).await;
            return;
        }
        let deadline = sm.next_deadline();
        let wake = tokio::select! {
            p = out.clone().reserve_owned(), if permit.is_none() && !cancelled => match p {
                Ok(p) => {
                    permit = Some(p);
                    sm.on_pull(Instant::now());
                    continue;
                }
                Err(_) => None,
            },
            () = out.closed(), if permit.is_some() && !cancelled => None,
            w = next_wake(&mut ep, deadline) => Some(w),
        };
        let now = Instant::now();
        match wake {
            None => {
                cancelled = true;
                permit = None;
                sm.on_downstream_cancel(false, now);
            }
            Some(Wake::Inbound(Some(inbound))) => {
                receiver_inbound(&ep, &mut sm, inbound, now);
                // Take what else has arrived before acting on it.
                for _ in 0..INBOX_BATCH {
                    if sm.is_finished() {
                        break;
                    }
                    match ep.inbox.try_recv() {
                        Ok(inbound) => receiver_inbound(&ep, &mut sm, inbound, now),
                        Err(_) => break,
                    }
                }
            }
            Some(Wake::Inbound(None)) => return,
            Some(Wake::Event(Ok(RemoteEvent::Terminated { actor, .. }))) => {
                sm.on_terminated(&actor, now)
            }
            Some(Wake::Event(Ok(e))) => {
                if let Some(p) = lost_partner(&e, sm.partner()) {
                    sm.on_terminated(&p, now)
                }
            }
            Some(Wake::Event(Err(broadcast::error::RecvError::Closed))) => return,
            Some(Wake::Event(_)) => {}
            Some(Wake::Timer) => sm.on_timer(now),
        }
    }
}

/// Hands what upstream produced to a sending stage.
fn sender_upstream(
    sm: &mut Sender,
    up: &mut Option<Elems<SerializedMessage>>,
    x: Option<Result<SerializedMessage, StreamError>>,
) {
    match x {
        Some(Ok(x)) => sm.on_element(x),
        Some(Err(e)) => {
            *up = None;
            sm.on_upstream_finish(Err(e.to_string()));
        }
        None => {
            *up = None;
            sm.on_upstream_finish(Ok(()));
        }
    }
}

async fn run_sender(
    mut ep: Endpoint,
    mut sm: Sender,
    up: Elems<SerializedMessage>,
    done: oneshot::Sender<Result<(), StreamRefError>>,
) {
    let mut up = Some(up);
    let mut pulling = false;
    let mut ready_in_a_row = 0;
    let mut effects = Vec::new();
    let result = 'outer: loop {
        sm.drain_effects(&mut effects);
        for effect in effects.drain(..) {
            match effect {
                Effect::Send { to, msg } => {
                    if let Err(e) = send(&ep, &to, &msg) {
                        break 'outer Err(e);
                    }
                }
                Effect::Watch(p) => {
                    if let Err(e) = watch(&ep.node, &p).await {
                        break 'outer Err(e);
                    }
                }
                Effect::Unwatch(p) => unwatch(&ep.node, &p).await,
                Effect::Pull => pulling = true,
                Effect::CancelUpstream(_) => {
                    up = None;
                    pulling = false;
                }
                Effect::Complete | Effect::Cancelled => break 'outer Ok(()),
                Effect::Fail(e) => break 'outer Err(e),
                Effect::Push(_) => {}
            }
        }
        if ep.overflow.load(Ordering::Acquire) {
            break Err(StreamRefError::BufferOverflow {
                capacity: ep.inbox_capacity,
            });
        }
        // An element upstream has ready is taken without a trip through the
        // select below (a bounded run of them, so inbound messages are
        // still seen regularly).
        if pulling && ready_in_a_row < INBOX_BATCH {
            if let Some(x) = up.as_mut().and_then(|s| s.next().now_or_never()) {
                ready_in_a_row += 1;
                pulling = false;
                sender_upstream(&mut sm, &mut up, x);
                continue;
            }
        }
        ready_in_a_row = 0;
        let deadline = sm.next_deadline();
        let next_element = async {
            match up.as_mut() {
                Some(s) if pulling => s.next().await,
                _ => futures::future::pending().await,
            }
        };
        let wake = tokio::select! {
            x = next_element => {
                pulling = false;
                sender_upstream(&mut sm, &mut up, x);
                continue;
            }
            w = next_wake(&mut ep, deadline) => w,
        };
        match wake {
            Wake::Inbound(Some((sender, Ok(msg)))) => sm.on_message(sender.as_deref(), msg),
            Wake::Inbound(Some((sender, Err(e)))) => {
                warn!(stage = %ep.full, ?sender, error = %e, "undecodable StreamRef message dropped");
            }
            Wake::Inbound(None) => break Err(StreamRefError::Transport("inbox closed".into())),
            Wake::Event(Ok(RemoteEvent::Terminated { actor, .. })) => sm.on_terminated(&actor),
            Wake::Event(Ok(e)) => {
                if let Some(p) = lost_partner(&e, sm.partner()) {
                    sm.on_terminated(&p)
                }
            }
            Wake::Event(Err(broadcast::error::RecvError::Closed)) => {
                break Err(StreamRefError::Transport("node stopped".into()))
            }
            Wake::Event(_) => {}
            Wake::Timer => sm.on_timer(Instant::now()),
        }
    };
    drop(up);
    if let Err(e) = &result {
        debug!(stage = %ep.full, error = %e, "StreamRef sender finished with failure");
    }
    let _ = done.send(result);
}
