//! Thin drivers running the stage state machines on a [`RemoteNode`].
//!
//! Each stage registers an endpoint (its stage actor) whose handler drives
//! the stage's state machine directly, behind a mutex, on the thread that
//! delivered the message: an arriving element is handed to the polling
//! downstream of a receiving stage, and a demand wakes the upstream puller of
//! a sending stage, with no queue and no task in between. Protocol messages
//! are sent under that mutex, so they leave in the order the machine produced
//! them.
//!
//! A small control task per stage does what needs `.await` or a wait (watch
//! and unwatch, timers, death-watch events) and unregisters the endpoint once
//! the stage is over, which notifies its remote watchers. A sending stage's
//! control task also pulls its upstream.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use futures::{FutureExt, Stream, StreamExt};
use parking_lot::Mutex;
use rand::Rng;
use rekko_remote::{Delivery, RemoteEvent, RemoteNode, RemoteRecipient, SerializedMessage};
use rekko_stream::{Elems, Sink, Source, StreamError};
use tokio::sync::{broadcast, oneshot, Notify};
use tracing::{debug, warn};

use crate::codec::{self, SinkRef, SourceRef, StreamRefMessage};
use crate::error::StreamRefError;
use crate::receiver::{Effect, Receiver};
use crate::sender::Sender;
use crate::settings::StreamRefSettings;

/// Parent path of the stage actors on a Rekko node.
pub const STAGE_PARENT: &str = "/system/StreamSupervisor-rekko";

/// Upstream elements a sending stage takes in a row, when they are ready at
/// once, before it looks at its timer and events again.
const READY_BATCH: usize = 64;

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

/// What the drivers need of a stage state machine.
trait Machine: Send + 'static {
    fn drain_effects(&mut self, into: &mut Vec<Effect>);
    fn next_deadline(&self) -> Option<Instant>;
    fn partner(&self) -> Option<&str>;
    fn on_message(&mut self, sender: Option<&str>, msg: StreamRefMessage, now: Instant);
    fn on_terminated(&mut self, actor: &str, now: Instant);
    fn on_failure(&mut self, e: StreamRefError);
    fn buffered(&self) -> usize {
        0
    }
}

impl Machine for Receiver {
    fn drain_effects(&mut self, into: &mut Vec<Effect>) {
        Receiver::drain_effects(self, into)
    }
    fn next_deadline(&self) -> Option<Instant> {
        Receiver::next_deadline(self)
    }
    fn partner(&self) -> Option<&str> {
        Receiver::partner(self)
    }
    fn on_message(&mut self, sender: Option<&str>, msg: StreamRefMessage, now: Instant) {
        Receiver::on_message(self, sender, msg, now)
    }
    fn on_terminated(&mut self, actor: &str, now: Instant) {
        Receiver::on_terminated(self, actor, now)
    }
    fn on_failure(&mut self, e: StreamRefError) {
        Receiver::on_failure(self, e)
    }
    fn buffered(&self) -> usize {
        Receiver::buffered(self)
    }
}

impl Machine for Sender {
    fn drain_effects(&mut self, into: &mut Vec<Effect>) {
        Sender::drain_effects(self, into)
    }
    fn next_deadline(&self) -> Option<Instant> {
        Sender::next_deadline(self)
    }
    fn partner(&self) -> Option<&str> {
        Sender::partner(self)
    }
    fn on_message(&mut self, sender: Option<&str>, msg: StreamRefMessage, _now: Instant) {
        Sender::on_message(self, sender, msg)
    }
    fn on_terminated(&mut self, actor: &str, _now: Instant) {
        Sender::on_terminated(self, actor)
    }
    fn on_failure(&mut self, e: StreamRefError) {
        Sender::on_failure(self, e)
    }
}

/// A stage's state machine and what its drivers share about it.
struct Core<M> {
    sm: M,
    /// Scratch space for the machine's effects (keeps its allocation).
    effects: Vec<Effect>,
    /// Effects for the control task: watch, unwatch, cancel upstream.
    deferred: Vec<Effect>,
    /// The deadline the control task waits for (it is woken when the
    /// machine's next deadline comes earlier).
    armed: Option<Instant>,
    /// The stage's end, once it is over.
    done: Option<Result<(), StreamRefError>>,
    /// Receiver: the element answering the outstanding pull.
    handoff: Option<SerializedMessage>,
    /// Receiver: a pull was given to the machine and not answered yet.
    pulled: bool,
    /// Receiver: the downstream task waiting for an element or the end.
    waker: Option<Waker>,
    /// Receiver: the most elements its buffer held.
    max_buffered: usize,
    /// Sender: the machine asked for an upstream element.
    pull: bool,
    /// The partner's path and its resolved recipient, kept while the
    /// machine's partner stays the same (nothing is looked up per element).
    partner: Option<(String, RemoteRecipient)>,
}

/// What to do once the core's lock is released.
#[derive(Default)]
struct After {
    waker: Option<Waker>,
    control: bool,
    buffered: Option<usize>,
}

impl<M: Machine> Core<M> {
    fn new(sm: M) -> Self {
        Core {
            sm,
            effects: Vec::new(),
            deferred: Vec::new(),
            armed: None,
            done: None,
            handoff: None,
            pulled: false,
            waker: None,
            max_buffered: 0,
            pull: false,
            partner: None,
        }
    }

    /// Performs the machine's pending effects: sends at once, hands a pushed
    /// element over, records pulls and the end, defers what needs the
    /// control task.
    fn run_effects(&mut self, node: &RemoteNode, me: &str) -> After {
        let mut after = After::default();
        let mut effects = std::mem::take(&mut self.effects);
        loop {
            self.sm.drain_effects(&mut effects);
            if effects.is_empty() {
                break;
            }
            let mut failure = None;
            for effect in effects.drain(..) {
                match effect {
                    Effect::Element { seq_nr, payload } => {
                        if failure.is_some() {
                            continue;
                        }
                        let msg = codec::sequenced_on_next(seq_nr, &payload);
                        failure = match self.sm.partner() {
                            Some(to) => tell_partner(
                                &mut self.partner,
                                node,
                                me,
                                to,
                                &msg,
                                codec::SEQUENCED_ON_NEXT,
                            )
                            .err(),
                            None => Some(StreamRefError::Transport(
                                "element without a partner".into(),
                            )),
                        };
                    }
                    Effect::Send { to, msg } => {
                        if failure.is_none() {
                            failure = if self.sm.partner() == Some(to.as_str()) {
                                tell_partner(
                                    &mut self.partner,
                                    node,
                                    me,
                                    &to,
                                    &msg.to_serialized(),
                                    msg.manifest(),
                                )
                            } else {
                                tell(node, me, &to, msg.to_serialized(), msg.manifest())
                            }
                            .err();
                        }
                    }
                    Effect::Push(x) => {
                        debug_assert!(self.handoff.is_none(), "a push answers one pull");
                        self.handoff = Some(x);
                        self.pulled = false;
                        after.waker = self.waker.take();
                    }
                    Effect::Pull => {
                        self.pull = true;
                        after.control = true;
                    }
                    e @ (Effect::Watch(_) | Effect::Unwatch(_) | Effect::CancelUpstream(_)) => {
                        self.deferred.push(e);
                        after.control = true;
                    }
                    Effect::Complete | Effect::Cancelled => {
                        self.done.get_or_insert(Ok(()));
                        after.waker = self.waker.take();
                        after.control = true;
                    }
                    Effect::Fail(e) => {
                        debug!(stage = %me, error = %e, "StreamRef stage failed");
                        self.done.get_or_insert(Err(e));
                        after.waker = self.waker.take();
                        after.control = true;
                    }
                }
            }
            if let Some(e) = failure {
                warn!(stage = %me, error = %e, "StreamRef send failed");
                self.sm.on_failure(e);
            }
        }
        self.effects = effects;
        if let Some(d) = self.sm.next_deadline() {
            if self.armed.is_none_or(|a| d < a) {
                self.armed = Some(d);
                after.control = true;
            }
        }
        let buffered = self.sm.buffered();
        if buffered > self.max_buffered {
            self.max_buffered = buffered;
            after.buffered = Some(buffered);
        }
        after
    }
}

/// A stage: its core behind a mutex, shared by the endpoint's handler, the
/// control task and (receiver) the downstream stream.
struct Stage<M> {
    core: Mutex<Core<M>>,
    /// Wakes the control task.
    notify: Notify,
    node: RemoteNode,
    /// The stage actor's full path (the sender of everything it sends).
    full: String,
    high_water: Arc<AtomicUsize>,
}

impl<M: Machine> Stage<M> {
    /// Runs `f` on the core and performs the effects it caused; the waker
    /// and the control task are woken after the lock is released (the
    /// control task only when `from_control` is false: it looks again
    /// anyway).
    fn update<R>(&self, from_control: bool, f: impl FnOnce(&mut Core<M>) -> R) -> R {
        let (r, after) = {
            let mut core = self.core.lock();
            let r = f(&mut core);
            (r, core.run_effects(&self.node, &self.full))
        };
        self.after(after, from_control);
        r
    }

    /// Does what the effects left for after the lock: records the buffer's
    /// high water, wakes the downstream task and the control task.
    fn after(&self, after: After, from_control: bool) {
        if let Some(b) = after.buffered {
            self.high_water.fetch_max(b, Ordering::Relaxed);
        }
        if let Some(w) = after.waker {
            w.wake();
        }
        if after.control && !from_control {
            self.notify.notify_one();
        }
    }

    /// Hands one inbound delivery to the machine (the endpoint's handler).
    fn deliver(&self, d: Delivery) {
        match StreamRefMessage::from_serialized(&d.message) {
            Ok(msg) => self.update(false, |c| {
                c.sm.on_message(d.sender.as_deref(), msg, Instant::now())
            }),
            Err(e) => {
                warn!(stage = %self.full, sender = ?d.sender, error = %e, "undecodable StreamRef message dropped");
            }
        }
    }

    /// Hands a transport event to the machine (from the control task).
    fn on_event(&self, event: Result<RemoteEvent, broadcast::error::RecvError>) {
        let now = Instant::now();
        match event {
            Ok(RemoteEvent::Terminated { actor, .. }) => {
                self.update(true, |c| c.sm.on_terminated(&actor, now))
            }
            Ok(e) => self.update(true, |c| {
                if let Some(p) = lost_partner(&e, c.sm.partner()) {
                    c.sm.on_terminated(&p, now)
                }
            }),
            Err(broadcast::error::RecvError::Closed) => self.update(true, |c| {
                c.sm.on_failure(StreamRefError::Transport("node stopped".into()))
            }),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                warn!(stage = %self.full, missed = n, "StreamRef stage missed transport events");
            }
        }
    }

    /// Performs deferred watch / unwatch effects (control task); returns
    /// whether upstream is to be cancelled.
    async fn perform(&self, deferred: &mut Vec<Effect>) -> bool {
        let mut cancel_upstream = false;
        for effect in deferred.drain(..) {
            match effect {
                Effect::Watch(p) => {
                    if let Err(e) = self.node.watch(&p).await {
                        let e = StreamRefError::Transport(format!("watching {p}: {e}"));
                        self.update(true, |c| c.sm.on_failure(e));
                    }
                }
                Effect::Unwatch(p) => {
                    if let Err(e) = self.node.unwatch(&p).await {
                        debug!(path = %p, error = %e, "unwatch failed");
                    }
                }
                Effect::CancelUpstream(_) => cancel_upstream = true,
                _ => {}
            }
        }
        cancel_upstream
    }

    /// What the control task looks at before it waits: the deferred effects
    /// (moved to `deferred`), the stage's end, the deadline to wait for and
    /// (sender) whether upstream was asked for an element.
    fn next_step(&self, deferred: &mut Vec<Effect>) -> Step {
        self.core.lock().step(deferred)
    }
}

impl<M: Machine> Core<M> {
    /// See [`Stage::next_step`].
    fn step(&mut self, deferred: &mut Vec<Effect>) -> Step {
        deferred.append(&mut self.deferred);
        self.armed = self.sm.next_deadline();
        Step {
            done: self.done.clone(),
            deadline: self.armed,
            pull: self.pull,
        }
    }
}

struct Step {
    done: Option<Result<(), StreamRefError>>,
    deadline: Option<Instant>,
    pull: bool,
}

fn tell(
    node: &RemoteNode,
    me: &str,
    to: &str,
    msg: SerializedMessage,
    what: &str,
) -> Result<(), StreamRefError> {
    node.tell(to, Some(me), msg)
        .map_err(|e| StreamRefError::Transport(format!("sending {what} to {to}: {e}")))
}

/// Sends `msg` to the partner `to` through its resolved recipient, resolving
/// it (into `cache`) when the partner is new.
fn tell_partner(
    cache: &mut Option<(String, RemoteRecipient)>,
    node: &RemoteNode,
    me: &str,
    to: &str,
    msg: &SerializedMessage,
    what: &str,
) -> Result<(), StreamRefError> {
    let failed = |e| StreamRefError::Transport(format!("sending {what} to {to}: {e}"));
    let recipient = match cache {
        Some((path, r)) if path == to => r,
        _ => {
            let r = node.recipient(to).map_err(failed)?;
            &cache.insert((to.to_string(), r)).1
        }
    };
    recipient.tell(Some(me), msg).map_err(failed)
}

/// The registration of a stage actor; dropping it stops the actor, which
/// notifies its remote watchers.
struct Endpoint {
    node: RemoteNode,
    local: String,
    events: broadcast::Receiver<RemoteEvent>,
    timer: Timer,
}

impl Drop for Endpoint {
    fn drop(&mut self) {
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

    /// A new stage actor's local and full path.
    fn stage_path(&self, kind: &str) -> (String, String) {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let local = format!("{STAGE_PARENT}/$${}-{kind}-{n}", self.prefix);
        let full = format!("{}{local}", self.node.address());
        (local, full)
    }

    /// Registers the stage actor at `local` driving the machine `make`
    /// builds from the actor's full path.
    fn stage<M: Machine>(
        &self,
        kind: &str,
        make: impl FnOnce(&str) -> M,
    ) -> (Arc<Stage<M>>, Endpoint) {
        let (local, full) = self.stage_path(kind);
        let stage = Arc::new(Stage {
            core: Mutex::new(Core::new(make(&full))),
            notify: Notify::new(),
            node: self.node.clone(),
            full,
            high_water: self.high_water.clone(),
        });
        // Subscribed before the actor exists, so no event about it is missed.
        let events = self.node.subscribe();
        let handler = stage.clone();
        self.node.register(
            &local,
            Arc::new(move |_: &RemoteNode, d: Delivery| handler.deliver(d)),
        );
        // Effects of the machine's creation (a target's watch, handshake).
        stage.update(true, |_| ());
        let ep = Endpoint {
            node: self.node.clone(),
            local,
            events,
            timer: Timer::new(),
        };
        (stage, ep)
    }

    /// A source emitting the elements of the remote stream behind `source_ref`
    /// (Pekko `SourceRef.source`). Each materialization subscribes anew; a
    /// ref can be consumed once.
    pub fn source(&self, source_ref: &SourceRef) -> Source<SerializedMessage, ()> {
        let this = self.clone();
        let partner = source_ref.origin_ref.clone();
        Source::from_materializer(move |_| {
            let settings = this.settings.clone();
            let (stage, ep) = this.stage("SourceRef", |me| {
                Receiver::target(me, &partner, settings, Instant::now())
            });
            (spawn_receiver(stage, ep), ())
        })
    }

    /// A source whose materialized [`SinkRef`] lets a remote stream write into
    /// it (Pekko `StreamRefs.sinkRef()`).
    pub fn sink_ref(&self) -> Source<SerializedMessage, SinkRef> {
        let this = self.clone();
        Source::from_materializer(move |_| {
            let settings = this.settings.clone();
            let (stage, ep) = this.stage("SourceRef", |me| {
                Receiver::origin(me, settings, Instant::now())
            });
            let target_ref = stage.full.clone();
            (spawn_receiver(stage, ep), SinkRef { target_ref })
        })
    }

    /// A sink writing into the remote stream behind `sink_ref` (Pekko
    /// `SinkRef.sink`); its [`StageDone`] completes when the remote side has
    /// taken the whole stream.
    pub fn sink(&self, sink_ref: &SinkRef) -> Sink<SerializedMessage, StageDone> {
        let this = self.clone();
        let partner = sink_ref.target_ref.clone();
        Sink::from_materializer(move |up, _| {
            let settings = this.settings.clone();
            let (stage, ep) = this.stage("SinkRef", |me| Sender::target(me, &partner, settings));
            let (tx, rx) = oneshot::channel();
            (
                StageDone(rx),
                Box::pin(run_sender(stage, ep, up, tx)) as futures::future::BoxFuture<'static, ()>,
            )
        })
    }

    /// A sink whose materialized [`SourceRef`] lets a remote stream read what
    /// flows into it (Pekko `StreamRefs.sourceRef()`).
    pub fn source_ref(&self) -> Sink<SerializedMessage, (SourceRef, StageDone)> {
        let this = self.clone();
        Sink::from_materializer(move |up, _| {
            let settings = this.settings.clone();
            let (stage, ep) =
                this.stage("SinkRef", |me| Sender::origin(me, settings, Instant::now()));
            let origin_ref = stage.full.clone();
            let (tx, rx) = oneshot::channel();
            (
                (SourceRef { origin_ref }, StageDone(rx)),
                Box::pin(run_sender(stage, ep, up, tx)) as futures::future::BoxFuture<'static, ()>,
            )
        })
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

/// The downstream side of a receiving stage: polling it pulls from the
/// machine; an element that arrives for an outstanding pull is handed over
/// by the endpoint's handler, which wakes the polling task.
struct ReceiverStream {
    stage: Arc<Stage<Receiver>>,
    ended: bool,
}

impl Stream for ReceiverStream {
    type Item = Result<SerializedMessage, StreamError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.ended {
            return Poll::Ready(None);
        }
        let stage = &this.stage;
        let (polled, after) = {
            let mut c = stage.core.lock();
            // This task is awake: an earlier waker is no longer needed.
            c.waker = None;
            let mut after = After::default();
            if c.handoff.is_none() && c.done.is_none() && !c.pulled {
                c.pulled = true;
                c.sm.on_pull(Instant::now());
                after = c.run_effects(&stage.node, &stage.full);
            }
            let polled = if let Some(x) = c.handoff.take() {
                Poll::Ready(Some(Ok(x)))
            } else if let Some(done) = &c.done {
                this.ended = true;
                Poll::Ready(done.clone().err().map(|e| Err(StreamError::failed(e))))
            } else {
                c.waker = Some(cx.waker().clone());
                Poll::Pending
            };
            (polled, after)
        };
        stage.after(after, false);
        polled
    }
}

impl Drop for ReceiverStream {
    fn drop(&mut self) {
        // Downstream cancelled (nothing to do once the stage is over).
        self.stage.update(false, |c| {
            c.handoff = None;
            c.waker = None;
            if c.done.is_none() {
                c.sm.on_downstream_cancel(false, Instant::now());
            }
        });
    }
}

fn spawn_receiver(stage: Arc<Stage<Receiver>>, ep: Endpoint) -> Elems<SerializedMessage> {
    tokio::spawn(run_receiver(stage.clone(), ep));
    Box::pin(ReceiverStream {
        stage,
        ended: false,
    })
}

/// The control task of a receiving stage.
async fn run_receiver(stage: Arc<Stage<Receiver>>, mut ep: Endpoint) {
    let mut deferred = Vec::new();
    loop {
        let step = stage.next_step(&mut deferred);
        if !deferred.is_empty() {
            stage.perform(&mut deferred).await;
            continue;
        }
        if step.done.is_some() {
            break;
        }
        ep.timer.arm(step.deadline);
        tokio::select! {
            () = stage.notify.notified() => {}
            () = ep.timer.wait() => stage.update(true, |c| c.sm.on_timer(Instant::now())),
            e = ep.events.recv() => stage.on_event(e),
        }
    }
    // Dropping the endpoint stops the stage actor.
    drop(ep);
}

/// Hands what upstream produced to a sending stage; returns the control
/// task's next step, taken under the same lock (one lock per element).
fn sender_upstream(
    stage: &Stage<Sender>,
    up: &mut Option<Elems<SerializedMessage>>,
    x: Option<Result<SerializedMessage, StreamError>>,
    deferred: &mut Vec<Effect>,
) -> Step {
    if !matches!(x, Some(Ok(_))) {
        *up = None;
    }
    let (step, after) = {
        let mut c = stage.core.lock();
        c.pull = false;
        match x {
            Some(Ok(x)) => c.sm.on_element(x),
            Some(Err(e)) => c.sm.on_upstream_finish(Err(e.to_string())),
            None => c.sm.on_upstream_finish(Ok(())),
        }
        let after = c.run_effects(&stage.node, &stage.full);
        (c.step(deferred), after)
    };
    stage.after(after, true);
    step
}

/// The control task of a sending stage; it also pulls upstream within the
/// partner's demand.
async fn run_sender(
    stage: Arc<Stage<Sender>>,
    mut ep: Endpoint,
    up: Elems<SerializedMessage>,
    done: oneshot::Sender<Result<(), StreamRefError>>,
) {
    let mut up = Some(up);
    let mut deferred = Vec::new();
    let mut ready_in_a_row = 0;
    let mut next = None;
    let result = loop {
        let step = match next.take() {
            Some(step) => step,
            None => stage.next_step(&mut deferred),
        };
        if !deferred.is_empty() {
            if stage.perform(&mut deferred).await {
                up = None;
            }
            continue;
        }
        if let Some(result) = step.done {
            break result;
        }
        let pulling = step.pull && up.is_some();
        // An element upstream has ready is taken without a trip through the
        // select below (a bounded run of them, so timers and events are
        // still seen regularly).
        if pulling && ready_in_a_row < READY_BATCH {
            if let Some(x) = up.as_mut().and_then(|s| s.next().now_or_never()) {
                ready_in_a_row += 1;
                next = Some(sender_upstream(&stage, &mut up, x, &mut deferred));
                continue;
            }
        }
        ready_in_a_row = 0;
        ep.timer.arm(step.deadline);
        let next_element = async {
            match up.as_mut() {
                Some(s) if pulling => s.next().await,
                _ => futures::future::pending().await,
            }
        };
        tokio::select! {
            x = next_element => next = Some(sender_upstream(&stage, &mut up, x, &mut deferred)),
            () = stage.notify.notified() => {}
            () = ep.timer.wait() => stage.update(true, |c| c.sm.on_timer(Instant::now())),
            e = ep.events.recv() => stage.on_event(e),
        }
    };
    drop(up);
    if let Err(e) = &result {
        debug!(stage = %stage.full, error = %e, "StreamRef sender finished with failure");
    }
    // Dropping the endpoint stops the stage actor.
    drop(ep);
    let _ = done.send(result);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rekko_remote::RemoteSettings;
    use tokio::sync::mpsc;

    use super::*;

    const WAIT: Duration = Duration::from_secs(20);

    async fn node(name: &str) -> RemoteNode {
        RemoteNode::start(RemoteSettings::new(name, "127.0.0.1", 0))
            .await
            .expect("start node")
    }

    fn text(x: &SerializedMessage) -> String {
        x.as_text().expect("a String")
    }

    /// The receiving stage's data path runs without any task of its own:
    /// no control task is started here, the protocol messages are handed to
    /// the stage as its endpoint's handler would, and the elements reach the
    /// polling consumer in order, with Pekko's demand (capacity, then a
    /// top-up once fewer than half are outstanding) and never more than the
    /// buffer capacity held.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn receiver_hands_elements_to_the_poller_without_a_task() {
        let a = node("StageA").await;
        let b = node("StageB").await;
        // The partner records the demand it is sent.
        let partner = format!("{}/user/partner", b.address());
        let (tx, mut demands) = mpsc::unbounded_channel();
        b.register(
            "/user/partner",
            Arc::new(move |_: &RemoteNode, d: Delivery| {
                if let Ok(StreamRefMessage::CumulativeDemand(n)) =
                    StreamRefMessage::from_serialized(&d.message)
                {
                    let _ = tx.send(n);
                }
            }),
        );
        let mut next_demand = async || {
            tokio::time::timeout(WAIT, demands.recv())
                .await
                .expect("demand within the wait")
                .expect("partner endpoint alive")
        };
        let capacity = 4;
        let settings = StreamRefSettings::default().with_buffer_capacity(capacity);
        let refs = StreamRefs::new(a.clone(), settings.clone());
        let (stage, _ep) = refs.stage("SourceRef", |me| {
            Receiver::target(me, &partner, settings, Instant::now())
        });
        let mut elements = ReceiverStream {
            stage: stage.clone(),
            ended: false,
        };
        let from_partner = |m: StreamRefMessage| {
            stage.deliver(Delivery {
                recipient: String::new(),
                sender: Some(partner.clone()),
                message: m.to_serialized(),
                origin: b.unique_address().clone(),
            })
        };
        let element = |i: i64| StreamRefMessage::SequencedOnNext {
            seq_nr: i,
            payload: SerializedMessage::string(&i.to_string()),
        };

        // The first pull asks for a buffer's worth.
        assert!(futures::poll!(elements.next()).is_pending());
        assert_eq!(next_demand().await, capacity as i64);
        from_partner(StreamRefMessage::OnSubscribeHandshake(partner.clone()));
        for i in 0..4 {
            from_partner(element(i));
        }
        // Element 0 answered the pull; 1..3 wait in the buffer.
        assert_eq!(stage.core.lock().sm.buffered(), 3);
        for i in 0..4 {
            match futures::poll!(elements.next()) {
                Poll::Ready(Some(Ok(x))) => assert_eq!(text(&x), i.to_string()),
                other => panic!("element {i}: {other:?}"),
            }
        }
        // Once only 1 (< 4 / 2) was outstanding, demand went up by 3.
        assert_eq!(next_demand().await, 7);

        // A partner sending beyond the demand fills the buffer to its
        // capacity and then fails the stage instead of growing it.
        for i in 4..8 {
            from_partner(element(i));
        }
        assert_eq!(stage.core.lock().sm.buffered(), capacity);
        from_partner(element(8));
        match futures::poll!(elements.next()) {
            Poll::Ready(Some(Err(e))) => {
                assert!(
                    e.to_string().contains("Attempted to overflow buffer!"),
                    "{e}"
                )
            }
            other => panic!("expected the overflow failure, got {other:?}"),
        }
        assert!(matches!(futures::poll!(elements.next()), Poll::Ready(None)));
        assert_eq!(refs.max_buffered(), capacity);
        a.shutdown().await;
        b.shutdown().await;
    }
}
