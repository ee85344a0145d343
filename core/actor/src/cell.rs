//! The actor cell: mailbox, scheduling on the dispatcher, message processing, lifecycle.
//!
//! An idle actor owns no task: it is a small heap object. A message sent to an idle actor
//! marks it scheduled. Sent from outside the system's actors, it spawns a short tokio task; sent
//! by a running actor, the actor joins that actor's task. A task runs the actors of its run
//! queue in round robin, up to `throughput` messages (and `throughput-deadline-time`) per turn,
//! yields to other tasks after each round, and ends when all its actors are idle.

use std::any::Any;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;

use crate::actor_ref::AnyActorRef;
use crate::behavior::{interpret_message, interpret_signal, start, Behavior, Behaviors, Inner};
use crate::behavior::{ChildFailed, Signal, Terminated};
use crate::context::ActorContext;
use crate::mailbox::{Item, Mailbox, Push};
use crate::path::{anonymous_name, ActorPath};
use crate::supervision::{guarded, ActorFailure};
use crate::system::{DispatcherKind, SystemHandle};

/// An actor's name: a user-given name or an anonymous counter rendered as `$a`, `$b`, ...
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Name {
    Anon(u64),
    // A thin pointer keeps `Name` at 16 bytes; named actors pay one extra allocation.
    #[allow(clippy::box_collection)]
    Named(Box<String>),
}

impl Name {
    pub(crate) fn render(&self) -> Cow<'_, str> {
        match self {
            Name::Anon(n) => Cow::Owned(anonymous_name(*n)),
            Name::Named(s) => Cow::Borrowed(s.as_str()),
        }
    }
}

/// Identity and place in the hierarchy; fixed for the cell's life.
pub(crate) struct Header {
    pub(crate) name: Name,
    pub(crate) parent: Option<Arc<ParentLink>>,
    pub(crate) system: SystemHandle,
    pub(crate) uid: i32,
    /// Index in the parent's children slab.
    pub(crate) slot: u32,
}

/// A parent as seen by its children: one shared allocation per parent keeps child headers thin.
pub(crate) struct ParentLink(pub(crate) Arc<dyn ErasedCell>);

/// System messages: death watch and stop. They are processed before ordinary messages.
pub(crate) enum SysMsg {
    Watch(Arc<dyn ErasedCell>),
    Unwatch(usize),
    DeathNotice {
        actor: Arc<dyn ErasedCell>,
        failure: Option<Arc<ActorFailure>>,
    },
    Stop,
}

/// What sits in the ordinary queue.
pub(crate) enum Envelope<M> {
    Msg(M),
    /// A message for a message adapter: the adapter function runs inside this actor, so its
    /// failure is this actor's failure (as in Pekko).
    Adapted(AdaptFn<M>),
    Timer {
        id: u64,
        msg: M,
    },
    ReceiveTimeout(u64),
    Internal(u64),
}

pub(crate) type AdaptFn<M> = Box<dyn FnOnce() -> M + Send>;

/// The message-type-independent face of a cell.
pub(crate) trait ErasedCell: Send + Sync + 'static {
    fn header(&self) -> &Header;
    fn id(&self) -> usize;
    fn send_sys(self: Arc<Self>, msg: SysMsg);
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
    fn erased_path(&self) -> ActorPath;
    fn is_terminated(&self) -> bool;
    fn child_by_name(&self, name: &str) -> Option<AnyActorRef>;
    /// The live children (empty when asked from inside this actor's own turn, as
    /// `child_by_name`).
    fn children(&self) -> Vec<AnyActorRef>;
    /// Processes one turn; `me` is this actor (the current one on this thread). Returns `true`
    /// when it went idle or terminated, `false` when messages are left for another turn.
    fn turn(&self, me: &Arc<dyn ErasedCell>, limits: TurnLimits) -> bool;
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Life {
    New,
    Running,
    Terminating,
    Terminated,
}

pub(crate) struct ActorState<M> {
    pub(crate) behavior: Behavior<M>,
    /// Also holds the lifecycle state; `None` means running with nothing extra.
    pub(crate) ext: Option<Box<crate::context::Extras<M>>>,
}

/// One actor incarnation.
pub(crate) struct Cell<M> {
    pub(crate) header: Header,
    mailbox: Mailbox<M>,
    state: parking_lot::Mutex<ActorState<M>>,
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<dyn ErasedCell>>> = const { RefCell::new(None) };
}

/// How many turns one task runs before it yields to other tokio tasks, however many of them
/// ended with the actor idle.
const MAX_INLINE_TURNS: u32 = 64;

/// How many busy actors one task keeps across a yield; the others are handed to new tasks so
/// that idle worker threads can take them.
const MAX_GROUP: usize = 4;

/// How much one turn of an actor may do (`throughput`, `throughput-deadline-time`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TurnLimits {
    /// Messages per turn (at least 1).
    pub(crate) throughput: usize,
    /// Time per turn, when set (Pekko applies it when it is at least 1ms).
    pub(crate) deadline: Option<std::time::Duration>,
}

impl TurnLimits {
    /// No limit (the blocking dispatcher: a turn runs until the mailbox is empty).
    const UNLIMITED: TurnLimits = TurnLimits {
        throughput: usize::MAX,
        deadline: None,
    };
}

type Runnable = (Arc<dyn ErasedCell>, TurnLimits);

thread_local! {
    /// The system whose run loop is active on this thread (0: none).
    static RUNNING_SYSTEM: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// Actors scheduled by the running actor, to be run by the same task.
    static READY: RefCell<Vec<Runnable>> = const { RefCell::new(Vec::new()) };
}

/// Spawns a task that runs actors like a dispatcher thread: one turn per actor in round robin
/// over its run queue, which starts with `first` and takes the actors that its actors schedule.
/// An actor whose turn ends with messages left goes to the back of the queue. Once every actor
/// that was busy at the start of the round had a turn (or after `MAX_INLINE_TURNS` turns) the
/// task yields to other tasks, as a dispatcher thread moves on to other actors; then it keeps at
/// most `MAX_GROUP` actors and hands the others to new tasks. The task ends when its queue is
/// empty.
fn spawn_run(runtime: &tokio::runtime::Handle, first: Runnable, sys_id: usize) {
    let rt = runtime.clone();
    runtime.spawn(async move {
        let mut queue: VecDeque<Runnable> = VecDeque::with_capacity(MAX_GROUP);
        queue.push_back(first);
        loop {
            // One round: every actor now in the queue gets a turn; actors that go idle and
            // the actors they schedule run on without counting.
            let round = queue.len();
            let mut busy = 0;
            let mut turns = 0;
            let prev = RUNNING_SYSTEM.with(|r| r.replace(sys_id));
            while busy < round && turns < MAX_INLINE_TURNS {
                let Some((cell, limits)) = queue.pop_front() else {
                    break;
                };
                let again = run_turn(cell, limits);
                READY.with(|r| {
                    let mut r = r.borrow_mut();
                    if !r.is_empty() {
                        queue.extend(r.drain(..));
                    }
                });
                turns += 1;
                if let Some(cell) = again {
                    queue.push_back((cell, limits));
                    busy += 1;
                }
            }
            RUNNING_SYSTEM.with(|r| r.set(prev));
            if queue.is_empty() {
                return;
            }
            while queue.len() > MAX_GROUP {
                if let Some(r) = queue.pop_back() {
                    spawn_run(&rt, r, sys_id);
                }
            }
            YieldNow(false).await;
        }
    });
}

/// The actor currently processing on this thread (the implicit sender for dead-letter logs).
pub(crate) fn current_actor_path() -> Option<ActorPath> {
    CURRENT.with(|c| c.borrow().as_ref().map(|a| a.erased_path()))
}

/// Runs one turn of `cell` as the current actor of this thread: the thread-local slot owns the
/// actor for the turn and the turn borrows it from there, so a turn clones the actor's `Arc` only
/// once (for its context). Gives the actor back when messages are left for another turn (`None`:
/// it went idle or terminated). Turns never nest on one thread.
fn run_turn(cell: Arc<dyn ErasedCell>, limits: TurnLimits) -> Option<Arc<dyn ErasedCell>> {
    let prev = CURRENT.with(|c| c.replace(Some(cell)));
    let done = CURRENT.with(|c| match &*c.borrow() {
        Some(me) => me.turn(me, limits),
        None => true,
    });
    let cell = CURRENT.with(|c| c.replace(prev));
    if done {
        None
    } else {
        cell
    }
}

/// Gives other tasks a turn: wakes itself and returns `Pending` once. Unlike
/// `tokio::task::yield_now` it does not wait for the next I/O driver poll.
struct YieldNow(bool);

impl std::future::Future for YieldNow {
    type Output = ();
    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

impl<M: Send + 'static> Cell<M> {
    pub(crate) fn new(
        header: Header,
        behavior: Behavior<M>,
        capacity: u32,
        dispatcher: u8,
    ) -> Arc<Self> {
        let ext = if behavior.needs_start() {
            Some(Box::new(crate::context::Extras::with_life(Life::New)))
        } else {
            None
        };
        Arc::new(Cell {
            header,
            mailbox: Mailbox::new(capacity, dispatcher),
            state: parking_lot::Mutex::new(ActorState { behavior, ext }),
        })
    }

    pub(crate) fn dispatcher_index(&self) -> u8 {
        self.mailbox.dispatcher()
    }

    pub(crate) fn system(&self) -> &SystemHandle {
        &self.header.system
    }

    pub(crate) fn path(&self) -> ActorPath {
        let mut elements = Vec::new();
        elements.push(self.header.name.render().into_owned());
        let mut p = self.header.parent.clone();
        while let Some(link) = p {
            let c = &link.0;
            if c.header().parent.is_some() {
                elements.push(c.header().name.render().into_owned());
            }
            p = c.header().parent.clone();
        }
        if self.header.parent.is_none() {
            elements.clear();
        }
        elements.reverse();
        ActorPath {
            address: self.header.system.address().clone(),
            elements,
            uid: self.header.uid,
        }
    }

    /// Schedules the start of a behavior that needs it (a `setup`).
    pub(crate) fn start_if_needed(self: &Arc<Self>, needs_start: bool) {
        if needs_start && self.mailbox.try_schedule() {
            self.schedule(self.mailbox.dispatcher());
        }
    }

    #[inline]
    pub(crate) fn tell(self: &Arc<Self>, msg: M) {
        self.enqueue(Envelope::Msg(msg));
    }

    pub(crate) fn enqueue(self: &Arc<Self>, env: Envelope<M>) {
        match self.mailbox.push(env) {
            Push::Queued(true) => self.schedule(self.mailbox.dispatcher()),
            Push::Queued(false) => {}
            Push::Rejected(env) => self.dead_letter_env(env),
        }
    }

    /// Delivers `msg` unless the actor is terminated; returns `false` then (no dead letter).
    pub(crate) fn try_tell(self: &Arc<Self>, msg: M) -> bool {
        if self.mailbox.is_closed() {
            return false;
        }
        self.tell(msg);
        true
    }

    /// Puts messages back at the front of the queue, in order (unstash).
    pub(crate) fn prepend(&self, msgs: VecDeque<M>) {
        if msgs.is_empty() {
            return;
        }
        // Only called from inside this actor's processing, so it is already scheduled.
        if let Err(msgs) = self.mailbox.prepend(msgs) {
            for m in msgs {
                self.dead_letter(m);
            }
        }
    }

    fn dead_letter_env(&self, env: Envelope<M>) {
        match env {
            Envelope::Msg(m) => self.dead_letter(m),
            Envelope::Adapted(_) => self.header.system.record_dead_letter(
                "adapted message",
                Box::new(()),
                current_actor_path(),
                self.path(),
            ),
            _ => {}
        }
    }

    pub(crate) fn dead_letter(&self, msg: M) {
        let system = &self.header.system;
        system.record_dead_letter(
            std::any::type_name::<M>(),
            Box::new(msg),
            current_actor_path(),
            self.path(),
        );
    }

    fn schedule(self: &Arc<Self>, dispatcher: u8) {
        let system = &self.header.system;
        match system.dispatcher(dispatcher) {
            DispatcherKind::Default(limits) => {
                let limits = *limits;
                let sys_id = system.id();
                let me: Arc<dyn ErasedCell> = self.clone();
                if RUNNING_SYSTEM.with(|r| r.get()) == sys_id {
                    // Sent from an actor of the same system on this thread: run it in the
                    // sender's task instead of spawning one.
                    READY.with(|r| r.borrow_mut().push((me, limits)));
                } else {
                    spawn_run(system.runtime(), (me, limits), sys_id);
                }
            }
            DispatcherKind::Blocking => {
                let mut cell: Option<Arc<dyn ErasedCell>> = Some(self.clone());
                system.runtime().spawn_blocking(move || {
                    while let Some(c) = cell.take() {
                        cell = run_turn(c, TurnLimits::UNLIMITED);
                    }
                });
            }
        }
    }

    /// Runs `f` with this actor's context from outside the actor (used to set up guardians).
    pub(crate) fn with_context<R>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut ActorContext<M>) -> R,
    ) -> R {
        let mut guard = self.state.lock();
        let mut ctx = ActorContext::new(self.clone(), guard.ext.take());
        let r = f(&mut ctx);
        guard.ext = ctx.take_ext();
        r
    }

    /// Processes up to `limits.throughput` items, and stops early when the turn's deadline has
    /// passed. Returns `true` when the actor went idle or terminated.
    fn process_batch(&self, me: Arc<Self>, limits: TurnLimits) -> bool {
        let budget = limits.throughput;
        let deadline = limits.deadline.map(|d| std::time::Instant::now() + d);
        let mut guard = self.state.lock();
        let st = &mut *guard;
        if self.mailbox.is_closed() {
            self.mailbox.clear_scheduled();
            return true;
        }
        let mut ctx = ActorContext::new(me, st.ext.take());
        if ctx.life == Life::New {
            self.do_start(st, &mut ctx);
        }
        let mut n = 0;
        let done = loop {
            if ctx.life == Life::Terminated {
                break true;
            }
            if n >= budget {
                break false;
            }
            let running = ctx.life == Life::Running;
            match self.mailbox.next(running, &mut ctx.batch, budget - n) {
                Some(Item::Sys(s)) => self.handle_sys(st, &mut ctx, s),
                Some(Item::User(e)) => self.handle_user(st, &mut ctx, e),
                None => {
                    if self.mailbox.go_idle(running) {
                        break true;
                    }
                    continue;
                }
            }
            n += 1;
            if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                break ctx.life == Life::Terminated;
            }
        };
        for e in self.mailbox.give_back(&mut ctx.batch) {
            self.dead_letter_env(e);
        }
        if ctx.life != Life::Terminated {
            st.ext = ctx.take_ext();
        }
        done
    }

    fn do_start(&self, st: &mut ActorState<M>, ctx: &mut ActorContext<M>) {
        ctx.life = Life::Running;
        let b = std::mem::replace(&mut st.behavior, Behaviors::empty());
        match guarded(|| start(b, ctx)) {
            Ok(b) => match b.0 {
                Inner::Stopped(hook) => self.begin_stop(st, ctx, hook, None),
                other => st.behavior = Behavior(other),
            },
            Err(f) => self.fail(st, ctx, f),
        }
    }

    #[inline]
    fn handle_user(&self, st: &mut ActorState<M>, ctx: &mut ActorContext<M>, env: Envelope<M>) {
        match env {
            Envelope::Msg(m) => self.deliver(st, ctx, m),
            Envelope::Adapted(f) => match guarded(|| Ok(f())) {
                Ok(m) => self.deliver(st, ctx, m),
                Err(e) => self.fail(st, ctx, e),
            },
            Envelope::Timer { id, msg } => {
                if ctx.timer_fired(id) {
                    self.deliver(st, ctx, msg)
                }
            }
            Envelope::ReceiveTimeout(gen) => {
                if let Some(m) = ctx.receive_timeout_fired(gen) {
                    self.deliver(st, ctx, m)
                }
            }
            Envelope::Internal(token) => {
                let r = guarded(|| match &mut st.behavior.0 {
                    Inner::Wrapped(w) => w.internal(ctx, token).unwrap_or(Ok(Behaviors::same())),
                    _ => Ok(Behaviors::same()),
                });
                self.apply(st, ctx, r, None);
            }
        }
    }

    #[inline]
    fn deliver(&self, st: &mut ActorState<M>, ctx: &mut ActorContext<M>, m: M) {
        let r = guarded(|| interpret_message(&mut st.behavior, ctx, m));
        self.apply(st, ctx, r, None);
        if ctx.life == Life::Running {
            ctx.rearm_receive_timeout();
        }
    }

    #[inline]
    fn apply(
        &self,
        st: &mut ActorState<M>,
        ctx: &mut ActorContext<M>,
        r: Result<Behavior<M>, ActorFailure>,
        signal: Option<&Signal>,
    ) {
        match r {
            Ok(next) => match next.0 {
                Inner::Same => {}
                Inner::Unhandled => {
                    if let Some(actor) = signal.and_then(|s| s.terminated_ref()) {
                        let f = ActorFailure::death_pact(&actor.path().to_string());
                        self.fail(st, ctx, f);
                    } else if signal.is_none() {
                        tracing::debug!(actor = %self.path(), "unhandled message of type {}", std::any::type_name::<M>());
                    }
                }
                Inner::Stopped(hook) => self.begin_stop(st, ctx, hook, None),
                other => match guarded(|| start(Behavior(other), ctx)) {
                    Ok(b) => match b.0 {
                        Inner::Stopped(hook) => self.begin_stop(st, ctx, hook, None),
                        other => st.behavior = Behavior(other),
                    },
                    Err(f) => self.fail(st, ctx, f),
                },
            },
            Err(f) => self.fail(st, ctx, f),
        }
    }

    fn fail(&self, st: &mut ActorState<M>, ctx: &mut ActorContext<M>, f: ActorFailure) {
        tracing::error!(actor = %self.path(), "actor failed and is stopped: {f}");
        self.begin_stop(st, ctx, None, Some(Arc::new(f)));
    }

    fn begin_stop(
        &self,
        st: &mut ActorState<M>,
        ctx: &mut ActorContext<M>,
        hook: Option<Arc<crate::behavior::PostStopFn>>,
        failure: Option<Arc<ActorFailure>>,
    ) {
        if matches!(ctx.life, Life::Terminating | Life::Terminated) {
            return;
        }
        ctx.life = Life::Terminating;
        ctx.set_stopping(hook, failure);
        ctx.cancel_all_timers();
        let children = ctx.child_cells();
        if children.is_empty() {
            self.finish(st, ctx);
        } else {
            for c in children {
                c.send_sys(SysMsg::Stop);
            }
        }
    }

    fn finish(&self, st: &mut ActorState<M>, ctx: &mut ActorContext<M>) {
        if ctx.life != Life::Terminating {
            return;
        }
        let (hook, failure) = ctx.take_stopping();
        let mut b = std::mem::replace(&mut st.behavior, Behaviors::empty());
        if !matches!(b.0, Inner::Setup(_)) {
            if let Err(e) = guarded(|| interpret_signal(&mut b, ctx, &Signal::PostStop)) {
                tracing::error!(actor = %self.path(), "failure during PostStop: {e}");
            }
        }
        if let Some(h) = hook {
            if let Err(e) = guarded(|| {
                h();
                Ok(())
            }) {
                tracing::error!(actor = %self.path(), "failure in post-stop action: {e}");
            }
        }
        drop(b);
        ctx.life = Life::Terminated;
        let me: Arc<dyn ErasedCell> = ctx.cell().clone();
        let leftover = self.mailbox.close(&mut ctx.batch);
        let parent_id = self.header.parent.as_ref().map(|p| p.0.id());
        {
            let q = leftover;
            for s in q.sys {
                if let SysMsg::Watch(w) = s {
                    if Some(w.id()) != parent_id {
                        w.send_sys(SysMsg::DeathNotice {
                            actor: me.clone(),
                            failure: failure.clone(),
                        });
                    }
                }
            }
            for e in q.user {
                self.dead_letter_env(e);
            }
        }
        let (watchers, watching) = ctx.take_watch_state();
        for w in watchers {
            w.send_sys(SysMsg::DeathNotice {
                actor: me.clone(),
                failure: failure.clone(),
            });
        }
        for w in watching {
            w.send_sys(SysMsg::Unwatch(me.id()));
        }
        drop(ctx.take_ext());
        match &self.header.parent {
            Some(p) => {
                p.0.clone()
                    .send_sys(SysMsg::DeathNotice { actor: me, failure })
            }
            None => self.header.system.root_terminated(),
        }
    }

    fn handle_sys(&self, st: &mut ActorState<M>, ctx: &mut ActorContext<M>, s: SysMsg) {
        match s {
            SysMsg::Watch(w) => {
                let is_parent = self.header.parent.as_ref().map(|p| p.0.id()) == Some(w.id());
                if ctx.life == Life::Terminated {
                    w.send_sys(SysMsg::DeathNotice {
                        actor: ctx.cell().clone(),
                        failure: None,
                    });
                } else if !is_parent {
                    ctx.add_watcher(w);
                }
            }
            SysMsg::Unwatch(id) => ctx.remove_watcher(id),
            SysMsg::Stop => self.begin_stop(st, ctx, None, None),
            SysMsg::DeathNotice { actor, failure } => {
                let is_child = ctx.remove_child(&actor);
                let watched = ctx.take_watched(actor.id());
                if ctx.life == Life::Running {
                    match watched {
                        Some(Some(msg)) => self.deliver(st, ctx, msg),
                        Some(None) => {
                            let any = AnyActorRef::local(actor);
                            let sig = match failure {
                                Some(cause) if is_child => {
                                    Signal::ChildFailed(ChildFailed { actor: any, cause })
                                }
                                _ => Signal::Terminated(Terminated { actor: any }),
                            };
                            let r = guarded(|| interpret_signal(&mut st.behavior, ctx, &sig));
                            self.apply(st, ctx, r, Some(&sig));
                        }
                        None => {}
                    }
                }
                if ctx.life == Life::Terminating && !ctx.has_children() {
                    self.finish(st, ctx);
                }
            }
        }
    }
}

impl<M: Send + 'static> ErasedCell for Cell<M> {
    fn header(&self) -> &Header {
        &self.header
    }
    fn id(&self) -> usize {
        self as *const Self as *const () as usize
    }
    fn send_sys(self: Arc<Self>, msg: SysMsg) {
        match self.mailbox.push_sys(msg) {
            Ok(true) => self.schedule(self.mailbox.dispatcher()),
            Ok(false) => {}
            Err(msg) => {
                if let SysMsg::Watch(w) = msg {
                    let me: Arc<dyn ErasedCell> = self.clone();
                    w.send_sys(SysMsg::DeathNotice {
                        actor: me,
                        failure: None,
                    });
                }
            }
        }
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
    fn erased_path(&self) -> ActorPath {
        self.path()
    }
    fn is_terminated(&self) -> bool {
        self.mailbox.is_closed()
    }
    fn turn(&self, me: &Arc<dyn ErasedCell>, limits: TurnLimits) -> bool {
        match me.clone().into_any().downcast::<Cell<M>>() {
            Ok(me) => self.process_batch(me, limits),
            // `me` is always this cell; a mismatch would be a bug, and the turn ends.
            Err(_) => true,
        }
    }
    fn child_by_name(&self, name: &str) -> Option<AnyActorRef> {
        let st = self.state_outside_turn()?;
        let key = match name.strip_prefix('$') {
            Some(_) => Name::Anon(crate::path::parse_anonymous_name(name)?),
            None => Name::Named(Box::new(name.to_string())),
        };
        st.ext
            .as_ref()
            .and_then(|e| e.child_entry(&key))
            .map(AnyActorRef::local)
    }
    fn children(&self) -> Vec<AnyActorRef> {
        let Some(st) = self.state_outside_turn() else {
            return Vec::new();
        };
        st.ext
            .as_ref()
            .map(|e| e.child_list().into_iter().map(AnyActorRef::local).collect())
            .unwrap_or_default()
    }
}

impl<M: Send + 'static> Cell<M> {
    /// The actor's state, waiting for a running turn to end; `None` when called from inside
    /// this actor's own turn (its children are then in its context, not here, and waiting for
    /// the lock would never end).
    fn state_outside_turn(&self) -> Option<parking_lot::MutexGuard<'_, ActorState<M>>> {
        if let Some(st) = self.state.try_lock() {
            return Some(st);
        }
        let me = self.id();
        let inside = CURRENT.with(|c| c.borrow().as_ref().map(|a| a.id()) == Some(me));
        if inside {
            return None;
        }
        Some(self.state.lock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keeps an idle actor small: with the `Arc` counts this is a 128-byte allocation.
    #[test]
    fn idle_cell_stays_small() {
        assert!(
            std::mem::size_of::<Cell<u64>>() <= 104,
            "{}",
            std::mem::size_of::<Cell<u64>>()
        );
    }

    /// A `setup` actor that started and got no message allocated no mailbox queues: its idle
    /// footprint is the same as that of an actor that never ran.
    #[tokio::test]
    async fn a_started_setup_actor_without_messages_has_no_queues() {
        use crate::{ActorRef, ActorSystem, ActorSystemSettings};
        let mut settings = ActorSystemSettings::default();
        settings.coordinated_shutdown.run_by_jvm_shutdown_hook = false;
        let (tx, rx) = tokio::sync::oneshot::channel::<ActorRef<u8>>();
        let tx = std::sync::Mutex::new(Some(tx));
        let guardian = Behaviors::setup(move |ctx: &mut ActorContext<()>| {
            let child = ctx.spawn(
                Behaviors::setup(|_| Behaviors::receive_message(|_: u8| Behaviors::same())),
                "child",
            );
            if let Some(tx) = tx.lock().ok().and_then(|mut t| t.take()) {
                let _ = tx.send(child);
            }
            Behaviors::empty()
        });
        let sys = ActorSystem::new(guardian, "Lazy", settings).expect("system");
        let child = rx.await.expect("child spawned");
        let cell = child.local().expect("local actor").clone();
        // Wait until its start ran (the turn cleared the scheduled flag).
        while cell
            .state
            .try_lock()
            .map(|s| s.ext.is_some())
            .unwrap_or(true)
        {
            tokio::task::yield_now().await;
        }
        assert!(!cell.mailbox.has_queues());
        child.tell(1);
        assert!(cell.mailbox.has_queues());
        sys.terminate();
        sys.when_terminated().await;
    }
}
