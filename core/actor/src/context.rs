//! `ActorContext<M>`: what a behavior can do besides handling the message.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::task::AbortHandle;

use crate::actor_ref::{ActorRef, AdapterTarget, AnyActorRef, RefInner};
use crate::behavior::{Behavior, PostStopFn};
use crate::cell::{Cell, Envelope, ErasedCell, Header, Life, Name, ParentLink, SysMsg};
use crate::error::{ActorError, AskError};
use crate::path::{validate_name, ActorPath};
use crate::scheduler::Cancellable;
use crate::supervision::ActorFailure;
use crate::system::SystemHandle;
use crate::timers::{TimerScheduler, TimerState};

/// Which dispatcher runs an actor (Pekko's `DispatcherSelector`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum DispatcherSelector {
    /// `pekko.actor.default-dispatcher`: tokio worker threads with `throughput` fairness.
    #[default]
    Default,
    /// `pekko.actor.default-blocking-io-dispatcher`: tokio's blocking thread pool.
    Blocking,
    /// The parent's dispatcher.
    SameAsParent,
    /// A dispatcher configured under this config path.
    FromConfig(String),
}

impl DispatcherSelector {
    /// The default dispatcher.
    pub fn default_dispatcher() -> Self {
        DispatcherSelector::Default
    }
    /// The blocking-io dispatcher.
    pub fn blocking() -> Self {
        DispatcherSelector::Blocking
    }
    /// The parent's dispatcher.
    pub fn same_as_parent() -> Self {
        DispatcherSelector::SameAsParent
    }
    /// A dispatcher from config.
    pub fn from_config(path: impl Into<String>) -> Self {
        DispatcherSelector::FromConfig(path.into())
    }
}

/// Which mailbox an actor gets (Pekko's `MailboxSelector`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum MailboxSelector {
    /// Unbounded (the default).
    #[default]
    Default,
    /// Bounded: messages beyond `capacity` go to dead letters.
    Bounded(u32),
    /// A mailbox configured under this config path (`mailbox-capacity` > 0 makes it bounded).
    FromConfig(String),
}

impl MailboxSelector {
    /// A bounded mailbox.
    pub fn bounded(capacity: u32) -> Self {
        MailboxSelector::Bounded(capacity)
    }
    /// A mailbox from config.
    pub fn from_config(path: impl Into<String>) -> Self {
        MailboxSelector::FromConfig(path.into())
    }
}

/// Deployment properties of a spawned actor (Pekko's `Props`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Props {
    /// Dispatcher selection.
    pub dispatcher: DispatcherSelector,
    /// Mailbox selection.
    pub mailbox: MailboxSelector,
}

impl Props {
    /// Empty props (defaults).
    pub fn empty() -> Self {
        Props::default()
    }
    /// With a dispatcher.
    pub fn with_dispatcher(mut self, d: DispatcherSelector) -> Self {
        self.dispatcher = d;
        self
    }
    /// With a mailbox.
    pub fn with_mailbox(mut self, m: MailboxSelector) -> Self {
        self.mailbox = m;
        self
    }
}

pub(crate) struct ReceiveTimeoutState<M> {
    timeout: Duration,
    msg: M,
    clone: fn(&M) -> M,
    gen: u64,
    abort: Option<AbortHandle>,
}

/// Post-stop hook and failure cause of a stopping actor.
pub(crate) type Stopping = (Option<Arc<PostStopFn>>, Option<Arc<ActorFailure>>);

/// Watchers and watched actors, taken at termination.
pub(crate) type WatchState = (Vec<Arc<dyn ErasedCell>>, Vec<Arc<dyn ErasedCell>>);

/// Per-actor data allocated only once an actor uses it (children, watches, timers...).
pub(crate) struct Extras<M> {
    life: Life,
    /// Children slab: a child's header holds its index.
    children: Vec<Option<Arc<dyn ErasedCell>>>,
    free: Vec<u32>,
    child_count: usize,
    named: HashMap<Box<str>, u32>,
    self_link: Option<Arc<ParentLink>>,
    anon: u64,
    adapters: u64,
    watching: HashMap<usize, (Arc<dyn ErasedCell>, Option<M>)>,
    watchers: HashMap<usize, Arc<dyn ErasedCell>>,
    timers: Option<Arc<Mutex<TimerState>>>,
    receive_timeout: Option<ReceiveTimeoutState<M>>,
    stopping: Option<Stopping>,
}

impl<M> Extras<M> {
    pub(crate) fn with_life(life: Life) -> Self {
        Extras {
            life,
            ..Default::default()
        }
    }

    pub(crate) fn child_entry(&self, name: &Name) -> Option<Arc<dyn ErasedCell>> {
        match name {
            Name::Named(n) => {
                let slot = *self.named.get(n.as_str())?;
                self.children.get(slot as usize)?.clone()
            }
            Name::Anon(_) => self
                .children
                .iter()
                .flatten()
                .find(|c| c.header().name == *name)
                .cloned(),
        }
    }

    /// Every live child, in slot order.
    pub(crate) fn child_list(&self) -> Vec<Arc<dyn ErasedCell>> {
        self.children.iter().flatten().cloned().collect()
    }

    /// Holds nothing but the running state: a started actor can drop it and stay small.
    /// (The name counters count as content: anonymous names are never reused.)
    fn is_vacant(&self) -> bool {
        self.life == Life::Running
            && self.child_count == 0
            && self.children.is_empty()
            && self.free.is_empty()
            && self.named.is_empty()
            && self.self_link.is_none()
            && self.anon == 0
            && self.adapters == 0
            && self.watching.is_empty()
            && self.watchers.is_empty()
            && self.timers.is_none()
            && self.receive_timeout.is_none()
            && self.stopping.is_none()
    }

    fn is_child(&self, c: &Arc<dyn ErasedCell>) -> bool {
        match self.children.get(c.header().slot as usize) {
            Some(Some(x)) => x.id() == c.id(),
            _ => false,
        }
    }

    fn name_taken(&self, name: &Name) -> bool {
        match name {
            Name::Named(n) => self.named.contains_key(n.as_str()),
            Name::Anon(_) => false,
        }
    }
}

impl<M> Default for Extras<M> {
    fn default() -> Self {
        Extras {
            life: Life::Running,
            children: Vec::new(),
            free: Vec::new(),
            child_count: 0,
            named: HashMap::new(),
            self_link: None,
            anon: 0,
            adapters: 0,
            watching: HashMap::new(),
            watchers: HashMap::new(),
            timers: None,
            receive_timeout: None,
            stopping: None,
        }
    }
}

/// The actor's view of itself and the system, passed to every handler (Pekko's `ActorContext[T]`).
pub struct ActorContext<M> {
    cell: Arc<Cell<M>>,
    ext: Option<Box<Extras<M>>>,
    pub(crate) life: Life,
    /// Messages this turn took out of the mailbox and has not processed yet.
    pub(crate) batch: crate::mailbox::Batch<M>,
}

/// Logger bound to an actor: every event carries the actor path (Pekko's `context.log`).
pub struct Log {
    path: String,
}

impl Log {
    /// ERROR level.
    pub fn error(&self, msg: &str) {
        tracing::error!(actor = %self.path, "{msg}");
    }
    /// WARN level.
    pub fn warn(&self, msg: &str) {
        tracing::warn!(actor = %self.path, "{msg}");
    }
    /// INFO level.
    pub fn info(&self, msg: &str) {
        tracing::info!(actor = %self.path, "{msg}");
    }
    /// DEBUG level.
    pub fn debug(&self, msg: &str) {
        tracing::debug!(actor = %self.path, "{msg}");
    }
    /// TRACE level.
    pub fn trace(&self, msg: &str) {
        tracing::trace!(actor = %self.path, "{msg}");
    }
}

impl<M: Send + 'static> ActorContext<M> {
    pub(crate) fn new(cell: Arc<Cell<M>>, ext: Option<Box<Extras<M>>>) -> Self {
        let life = ext.as_ref().map(|e| e.life).unwrap_or(Life::Running);
        ActorContext {
            cell,
            ext,
            life,
            batch: crate::mailbox::Batch::new(),
        }
    }

    /// Hands the per-actor data back to the cell, with the lifecycle state in it.
    pub(crate) fn take_ext(&mut self) -> Option<Box<Extras<M>>> {
        let life = self.life;
        match self.ext.as_mut() {
            Some(e) => e.life = life,
            None if life != Life::Running => self.ext = Some(Box::new(Extras::with_life(life))),
            None => {}
        }
        // A `setup` actor got its extras to carry the `New` state; once started with nothing
        // else in them, they go.
        self.ext.take().filter(|e| !e.is_vacant())
    }

    fn ext_mut(&mut self) -> &mut Extras<M> {
        self.ext.get_or_insert_with(Box::default)
    }

    /// This actor's own ref.
    pub fn self_ref(&self) -> ActorRef<M> {
        ActorRef(RefInner::Local(self.cell.clone()))
    }

    /// This actor's path.
    pub fn self_path(&self) -> ActorPath {
        self.cell.path()
    }

    /// The actor system.
    pub fn system(&self) -> &SystemHandle {
        self.cell.system()
    }

    /// A logger tagged with this actor's path.
    pub fn log(&self) -> Log {
        Log {
            path: self.cell.path().to_string(),
        }
    }

    /// Spawns a child named `name`. Panics (failing this actor, as Pekko throws) on an invalid or
    /// duplicate name; see [`try_spawn`](Self::try_spawn).
    pub fn spawn<C: Send + 'static>(&mut self, behavior: Behavior<C>, name: &str) -> ActorRef<C> {
        match self.try_spawn(behavior, name, Props::default()) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    /// Spawns a child with props (dispatcher, mailbox).
    pub fn spawn_with_props<C: Send + 'static>(
        &mut self,
        behavior: Behavior<C>,
        name: &str,
        props: Props,
    ) -> ActorRef<C> {
        match self.try_spawn(behavior, name, props) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    /// Spawns a child, returning an error for an invalid or duplicate name.
    pub fn try_spawn<C: Send + 'static>(
        &mut self,
        behavior: Behavior<C>,
        name: &str,
        props: Props,
    ) -> Result<ActorRef<C>, ActorError> {
        validate_name(name)?;
        self.spawn_named(behavior, Name::Named(Box::new(name.to_string())), props)
    }

    /// Spawns a child with a generated name (`$a`, `$b`, ...).
    pub fn spawn_anonymous<C: Send + 'static>(&mut self, behavior: Behavior<C>) -> ActorRef<C> {
        self.spawn_anonymous_with_props(behavior, Props::default())
    }

    /// Spawns a child with a generated name and props.
    pub fn spawn_anonymous_with_props<C: Send + 'static>(
        &mut self,
        behavior: Behavior<C>,
        props: Props,
    ) -> ActorRef<C> {
        let ext = self.ext_mut();
        let n = ext.anon;
        ext.anon += 1;
        match self.spawn_named(behavior, Name::Anon(n), props) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    pub(crate) fn spawn_named<C: Send + 'static>(
        &mut self,
        behavior: Behavior<C>,
        name: Name,
        props: Props,
    ) -> Result<ActorRef<C>, ActorError> {
        let system = self.cell.system().clone();
        if self.ext_mut().name_taken(&name) {
            return Err(ActorError::NameNotUnique {
                name: name.render().into_owned(),
                parent: self.cell.path().to_string(),
            });
        }
        if matches!(self.life, Life::Terminating | Life::Terminated) {
            return Err(ActorError::SystemTerminated {
                system: system.name().to_string(),
                name: name.render().into_owned(),
            });
        }
        let dispatcher = match &props.dispatcher {
            DispatcherSelector::SameAsParent => self.cell.dispatcher_index(),
            d => system.dispatcher_index(d)?,
        };
        let capacity = system.mailbox_capacity(&props.mailbox)?;
        let me: Arc<dyn ErasedCell> = self.cell.clone();
        let ext = self.ext_mut();
        let link = ext
            .self_link
            .get_or_insert_with(|| Arc::new(ParentLink(me)))
            .clone();
        let slot = match ext.free.pop() {
            Some(s) => s,
            None => {
                ext.children.push(None);
                (ext.children.len() - 1) as u32
            }
        };
        if let Name::Named(n) = &name {
            ext.named.insert(n.as_str().into(), slot);
        }
        let needs_start = behavior.needs_start();
        let header = Header {
            name,
            parent: Some(link),
            system,
            uid: new_uid(),
            slot,
        };
        let cell = Cell::new(header, behavior, capacity, dispatcher);
        ext.children[slot as usize] = Some(cell.clone());
        ext.child_count += 1;
        cell.start_if_needed(needs_start);
        Ok(ActorRef(RefInner::Local(cell)))
    }

    /// Stops a child (asynchronously; its name stays taken until it has terminated).
    pub fn stop<C: Send + 'static>(&mut self, child: &ActorRef<C>) -> Result<(), ActorError> {
        let any = child.to_any();
        if self.stop_any(&any) {
            Ok(())
        } else {
            Err(ActorError::NotAChild {
                child: child.path().to_string(),
                parent: self.cell.path().to_string(),
            })
        }
    }

    pub(crate) fn stop_any(&mut self, child: &AnyActorRef) -> bool {
        let Some(c) = child.cell() else { return false };
        let is_child = self.ext.as_ref().map(|e| e.is_child(c)).unwrap_or(false);
        if is_child {
            c.clone().send_sys(SysMsg::Stop);
        }
        is_child
    }

    /// Watches `other`: when it terminates this actor gets `Signal::Terminated` (or
    /// `ChildFailed` for a failed child). Watching a dead actor yields `Terminated` at once.
    pub fn watch<C: Send + 'static>(&mut self, other: &ActorRef<C>) {
        self.watch_any(&other.to_any());
    }

    /// Watches `other` and receives `msg` instead of the `Terminated` signal.
    pub fn watch_with<C: Send + 'static>(&mut self, other: &ActorRef<C>, msg: M) {
        self.watch_inner(&other.to_any(), Some(msg));
    }

    /// Watches an untyped ref.
    pub fn watch_any(&mut self, other: &AnyActorRef) {
        self.watch_inner(other, None);
    }

    fn watch_inner(&mut self, other: &AnyActorRef, msg: Option<M>) {
        let Some(c) = other.cell() else {
            tracing::warn!(actor = %self.cell.path(), "cannot watch non-local actor [{}]", other.path());
            return;
        };
        let me: Arc<dyn ErasedCell> = self.cell.clone();
        let id = c.id();
        if id == me.id() {
            return;
        }
        self.ext_mut().watching.insert(id, (c.clone(), msg));
        c.clone().send_sys(SysMsg::Watch(me));
    }

    /// Stops watching; no `Terminated` for `other` is delivered afterwards.
    pub fn unwatch<C: Send + 'static>(&mut self, other: &ActorRef<C>) {
        let any = other.to_any();
        if let Some(c) = any.cell() {
            let id = c.id();
            if self.ext_mut().watching.remove(&id).is_some() {
                let me = self.cell.clone();
                c.clone().send_sys(SysMsg::Unwatch(ErasedCell::id(&*me)));
            }
        }
    }

    /// The current children.
    pub fn children(&self) -> Vec<AnyActorRef> {
        self.ext
            .as_ref()
            .map(|e| {
                e.children
                    .iter()
                    .flatten()
                    .map(|c| AnyActorRef::local(c.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The child named `name`, if alive (or still stopping).
    pub fn child(&self, name: &str) -> Option<AnyActorRef> {
        let key = match name.strip_prefix('$') {
            Some(_) => Name::Anon(crate::path::parse_anonymous_name(name)?),
            None => Name::Named(Box::new(name.to_string())),
        };
        self.ext
            .as_ref()
            .and_then(|e| e.child_entry(&key))
            .map(AnyActorRef::local)
    }

    /// A ref accepting `U` that turns each message into `M` with `f` and sends it to this actor.
    pub fn message_adapter<U, F>(&mut self, f: F) -> ActorRef<U>
    where
        U: Send + 'static,
        F: Fn(U) -> M + Send + Sync + 'static,
    {
        let ext = self.ext_mut();
        let n = ext.adapters;
        ext.adapters += 1;
        let name = format!("$${}-adapter", &crate::path::anonymous_name(n)[1..]);
        ActorRef::from_target(Arc::new(AdapterTarget {
            target: self.cell.clone(),
            f: Arc::new(f),
            name,
        }))
    }

    /// Asks `target` and turns the reply or timeout into a message to this actor.
    pub fn ask<T, R, Mk, Map>(
        &mut self,
        target: &ActorRef<T>,
        make: Mk,
        timeout: Duration,
        map: Map,
    ) where
        T: Send + 'static,
        R: Send + 'static,
        Mk: FnOnce(ActorRef<R>) -> T,
        Map: FnOnce(Result<R, AskError>) -> M + Send + 'static,
    {
        let fut = target.ask(make, timeout);
        self.pipe_to_self(fut, map);
    }

    /// Runs `fut` and sends `map(result)` to this actor when it completes.
    pub fn pipe_to_self<T, Fut, Map>(&mut self, fut: Fut, map: Map)
    where
        Fut: Future<Output = T> + Send + 'static,
        T: Send + 'static,
        Map: FnOnce(T) -> M + Send + 'static,
    {
        let me = self.self_ref();
        self.cell.system().runtime().spawn(async move {
            let r = fut.await;
            me.tell(map(r));
        });
    }

    /// Sends `msg` to `target` after `delay`.
    pub fn schedule_once<T: Send + 'static>(
        &mut self,
        delay: Duration,
        target: &ActorRef<T>,
        msg: T,
    ) -> Cancellable {
        let target = target.clone();
        let h = self.cell.system().runtime().spawn(async move {
            tokio::time::sleep(delay).await;
            target.tell(msg);
        });
        Cancellable::new(h.abort_handle())
    }

    /// After `timeout` without messages this actor receives `msg` (Pekko's `setReceiveTimeout`).
    pub fn set_receive_timeout(&mut self, timeout: Duration, msg: M)
    where
        M: Clone,
    {
        self.cancel_receive_timeout();
        self.ext_mut().receive_timeout = Some(ReceiveTimeoutState {
            timeout,
            msg,
            clone: M::clone,
            gen: 0,
            abort: None,
        });
        self.rearm_receive_timeout();
    }

    /// Cancels the receive timeout.
    pub fn cancel_receive_timeout(&mut self) {
        if let Some(rt) = self.ext.as_mut().and_then(|e| e.receive_timeout.take()) {
            if let Some(a) = rt.abort {
                a.abort();
            }
        }
    }

    #[inline]
    pub(crate) fn rearm_receive_timeout(&mut self) {
        if self.ext.as_ref().map(|e| e.receive_timeout.is_some()) == Some(true) {
            self.rearm_receive_timeout_slow();
        }
    }

    fn rearm_receive_timeout_slow(&mut self) {
        let weak = Arc::downgrade(&self.cell);
        let runtime = self.cell.system().runtime().clone();
        if let Some(rt) = self.ext.as_mut().and_then(|e| e.receive_timeout.as_mut()) {
            if let Some(a) = rt.abort.take() {
                a.abort();
            }
            rt.gen += 1;
            let gen = rt.gen;
            let timeout = rt.timeout;
            let h = runtime.spawn(async move {
                tokio::time::sleep(timeout).await;
                if let Some(c) = weak.upgrade() {
                    c.enqueue(Envelope::ReceiveTimeout(gen));
                }
            });
            rt.abort = Some(h.abort_handle());
        }
    }

    pub(crate) fn receive_timeout_fired(&mut self, gen: u64) -> Option<M> {
        let rt = self.ext.as_mut()?.receive_timeout.as_mut()?;
        if rt.gen == gen {
            Some((rt.clone)(&rt.msg))
        } else {
            None
        }
    }

    /// This actor's timer scheduler (created on first use).
    pub fn timers(&mut self) -> TimerScheduler<M> {
        let weak = Arc::downgrade(&self.cell);
        let runtime = self.cell.system().runtime().clone();
        let state = self
            .ext_mut()
            .timers
            .get_or_insert_with(|| Arc::new(Mutex::new(TimerState::default())))
            .clone();
        TimerScheduler::new(state, weak, runtime)
    }

    pub(crate) fn timer_fired(&mut self, id: u64) -> bool {
        match self.ext.as_ref().and_then(|e| e.timers.as_ref()) {
            Some(t) => t.lock().fired(id),
            None => false,
        }
    }

    pub(crate) fn cancel_timers(&mut self) {
        if let Some(t) = self.ext.as_ref().and_then(|e| e.timers.as_ref()) {
            t.lock().cancel_all();
        }
    }

    pub(crate) fn cancel_all_timers(&mut self) {
        if let Some(t) = self.ext.as_ref().and_then(|e| e.timers.as_ref()) {
            t.lock().cancel_all();
        }
        self.cancel_receive_timeout();
    }

    pub(crate) fn schedule_internal(&mut self, delay: Duration, token: u64) {
        let weak = Arc::downgrade(&self.cell);
        self.cell.system().runtime().spawn(async move {
            tokio::time::sleep(delay).await;
            if let Some(c) = weak.upgrade() {
                c.enqueue(Envelope::Internal(token));
            }
        });
    }

    pub(crate) fn unstash_front(&mut self, msgs: VecDeque<M>) {
        self.cell.prepend(msgs);
    }

    pub(crate) fn cell(&self) -> &Arc<Cell<M>> {
        &self.cell
    }

    pub(crate) fn dead_letter(&self, msg: M) {
        self.cell.dead_letter(msg);
    }

    pub(crate) fn set_stopping(
        &mut self,
        hook: Option<Arc<PostStopFn>>,
        failure: Option<Arc<ActorFailure>>,
    ) {
        self.ext_mut().stopping = Some((hook, failure));
    }

    pub(crate) fn take_stopping(&mut self) -> (Option<Arc<PostStopFn>>, Option<Arc<ActorFailure>>) {
        self.ext
            .as_mut()
            .and_then(|e| e.stopping.take())
            .unwrap_or((None, None))
    }

    pub(crate) fn has_children(&self) -> bool {
        self.ext
            .as_ref()
            .map(|e| e.child_count > 0)
            .unwrap_or(false)
    }

    pub(crate) fn child_cells(&self) -> Vec<Arc<dyn ErasedCell>> {
        self.ext
            .as_ref()
            .map(|e| e.children.iter().flatten().cloned().collect())
            .unwrap_or_default()
    }

    pub(crate) fn remove_child(&mut self, actor: &Arc<dyn ErasedCell>) -> bool {
        let Some(e) = self.ext.as_mut() else {
            return false;
        };
        if !e.is_child(actor) {
            return false;
        }
        let slot = actor.header().slot;
        e.children[slot as usize] = None;
        e.free.push(slot);
        e.child_count -= 1;
        if let Name::Named(n) = &actor.header().name {
            e.named.remove(n.as_str());
        }
        if e.child_count == 0 {
            e.children = Vec::new();
            e.free = Vec::new();
        }
        true
    }

    pub(crate) fn take_watched(&mut self, id: usize) -> Option<Option<M>> {
        self.ext.as_mut()?.watching.remove(&id).map(|(_, m)| m)
    }

    pub(crate) fn add_watcher(&mut self, w: Arc<dyn ErasedCell>) {
        self.ext_mut().watchers.insert(w.id(), w);
    }

    pub(crate) fn remove_watcher(&mut self, id: usize) {
        if let Some(e) = self.ext.as_mut() {
            e.watchers.remove(&id);
        }
    }

    pub(crate) fn take_watch_state(&mut self) -> WatchState {
        match self.ext.as_mut() {
            Some(e) => (
                e.watchers.drain().map(|(_, w)| w).collect(),
                e.watching.drain().map(|(_, (w, _))| w).collect(),
            ),
            None => (Vec::new(), Vec::new()),
        }
    }
}

fn new_uid() -> i32 {
    loop {
        let u: i32 = rand::random();
        if u != 0 {
            return u;
        }
    }
}

pub(crate) fn uid() -> i32 {
    new_uid()
}
