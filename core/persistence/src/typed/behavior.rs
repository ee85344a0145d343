//! The event-sourced actor: recovery, running, persisting and snapshotting phases.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rekko_actor::{
    AbstractBehavior, ActorContext, ActorPath, ActorRef, ActorRefTarget, AnyActorRef, Behavior,
    Behaviors, Signal,
};

use crate::journal::{Journal, SnapshotStore};
use crate::model::{
    new_writer_uuid, now_millis, AtomicWrite, EventRecord, PersistentRepr, SnapshotMetadata,
    SnapshotRecord, SnapshotSelectionCriteria,
};
use crate::plugin::PluginRegistry;
use crate::recovery::recovery_error;
use crate::serialization::PayloadCodec;
use crate::settings::string_at;
use crate::typed::effect::{Effect, Primary, SideEffect};
use crate::typed::settings::{
    EventSourcedSettings, EventSourcedSignal, PersistenceId, Recovery, RetentionCriteria,
    StashOverflowStrategy,
};
use crate::{PersistenceError, Result};

/// The journal, snapshot store and settings entities use (Pekko's `Persistence` extension).
#[derive(Clone)]
pub struct Persistence {
    /// The event journal.
    pub journal: Arc<dyn Journal>,
    /// The snapshot store.
    pub snapshots: Arc<dyn SnapshotStore>,
    /// Stash and replay settings.
    pub settings: EventSourcedSettings,
}

impl Persistence {
    /// Stores given directly, default settings.
    pub fn new(journal: Arc<dyn Journal>, snapshots: Arc<dyn SnapshotStore>) -> Self {
        Persistence {
            journal,
            snapshots,
            settings: EventSourcedSettings::default(),
        }
    }

    /// The default journal and snapshot store of the registry's config
    /// (`pekko.persistence.journal.plugin`, `pekko.persistence.snapshot-store.plugin`) and the
    /// settings of `pekko.persistence.typed` and of the journal plugin's section.
    pub async fn from_registry(registry: &PluginRegistry) -> Result<Self> {
        let journal = registry.default_journal().await?;
        let snapshots = registry.default_snapshot_store().await?;
        let plugin =
            string_at(registry.config(), "pekko.persistence.journal.plugin").unwrap_or_default();
        let settings = EventSourcedSettings::from_config(registry.config(), &plugin)?;
        Ok(Persistence {
            journal,
            snapshots,
            settings,
        })
    }

    /// Returns this with other settings.
    pub fn with_settings(mut self, settings: EventSourcedSettings) -> Self {
        self.settings = settings;
        self
    }
}

/// A typed event adapter (Pekko's `EventAdapter`, with the stored type equal to the event type):
/// converts events on write, names them with an adapter manifest, and turns a stored event back
/// into zero, one or several events on replay (e.g. upcasting old versions).
pub trait EventAdapter<E>: Send + Sync + 'static {
    /// The event as stored.
    fn to_journal(&self, event: &E) -> E;
    /// The adapter manifest stored with the event (`adapter_manifest` column); `""` by default.
    fn manifest(&self, _event: &E) -> String {
        String::new()
    }
    /// The events a stored event stands for on replay.
    fn events_from_journal(&self, event: E, manifest: &str) -> Vec<E>;
}

type CommandHandler<C, E, S> = dyn Fn(&S, &C) -> Effect<E, S> + Send + Sync;
type EventHandler<E, S> = dyn Fn(S, &E) -> S + Send + Sync;
type Tagger<E> = dyn Fn(&E) -> Vec<String> + Send + Sync;
type SnapshotPredicate<E, S> = dyn Fn(&S, &E, i64) -> bool + Send + Sync;
type SignalHandler<S> = dyn Fn(&S, &EventSourcedSignal) + Send + Sync;

struct Definition<C, E, S> {
    pid: PersistenceId,
    empty: S,
    persistence: Persistence,
    event_codec: Arc<dyn PayloadCodec<E>>,
    snapshot_codec: Option<Arc<dyn PayloadCodec<S>>>,
    command_handler: Arc<CommandHandler<C, E, S>>,
    event_handler: Arc<EventHandler<E, S>>,
    tagger: Option<Arc<Tagger<E>>>,
    adapter: Option<Arc<dyn EventAdapter<E>>>,
    snapshot_when: Option<Arc<SnapshotPredicate<E, S>>>,
    retention: Option<RetentionCriteria>,
    recovery: Recovery,
    signal_handler: Option<Arc<SignalHandler<S>>>,
}

/// Pekko typed's `EventSourcedBehavior[Command, Event, State]`; turn it into an actor behavior
/// with [`into_behavior`](EventSourcedBehavior::into_behavior).
///
/// The actor's message type is [`EntityMessage<C>`]: commands wrapped in
/// [`EntityMessage::Command`] (`From<C>` is implemented) plus internal journal replies. Use
/// [`command_ref`] for an `ActorRef<C>` that wraps commands.
pub struct EventSourcedBehavior<C, E, S> {
    def: Definition<C, E, S>,
}

impl<C, E, S> EventSourcedBehavior<C, E, S>
where
    C: Send + 'static,
    E: Send + 'static,
    S: Clone + Send + Sync + 'static,
{
    /// An entity with a persistence id, an empty state, the event codec (e.g. a
    /// [`JacksonCodec`](crate::serialization::jackson::JacksonCodec) with JVM class names), a
    /// command handler `(state, command) -> Effect` and an event handler `(state, event) -> state`.
    pub fn new<CH, EH>(
        persistence: &Persistence,
        persistence_id: PersistenceId,
        empty_state: S,
        event_codec: Arc<dyn PayloadCodec<E>>,
        command_handler: CH,
        event_handler: EH,
    ) -> Self
    where
        CH: Fn(&S, &C) -> Effect<E, S> + Send + Sync + 'static,
        EH: Fn(S, &E) -> S + Send + Sync + 'static,
    {
        EventSourcedBehavior {
            def: Definition {
                pid: persistence_id,
                empty: empty_state,
                persistence: persistence.clone(),
                event_codec,
                snapshot_codec: None,
                command_handler: Arc::new(command_handler),
                event_handler: Arc::new(event_handler),
                tagger: None,
                adapter: None,
                snapshot_when: None,
                retention: None,
                recovery: Recovery::default(),
                signal_handler: None,
            },
        }
    }

    /// The codec of snapshots (without one, no snapshots are saved or loaded).
    pub fn with_snapshot_codec(mut self, codec: Arc<dyn PayloadCodec<S>>) -> Self {
        self.def.snapshot_codec = Some(codec);
        self
    }

    /// Tags for each persisted event (called with the domain event, before the adapter).
    pub fn with_tagger<F>(mut self, f: F) -> Self
    where
        F: Fn(&E) -> Vec<String> + Send + Sync + 'static,
    {
        self.def.tagger = Some(Arc::new(f));
        self
    }

    /// A typed event adapter.
    pub fn with_event_adapter(mut self, adapter: impl EventAdapter<E>) -> Self {
        self.def.adapter = Some(Arc::new(adapter));
        self
    }

    /// Saves a snapshot after a write in which `predicate(state after the event, event, seq)`
    /// held for some event; such snapshots never delete anything.
    pub fn snapshot_when<F>(mut self, predicate: F) -> Self
    where
        F: Fn(&S, &E, i64) -> bool + Send + Sync + 'static,
    {
        self.def.snapshot_when = Some(Arc::new(predicate));
        self
    }

    /// Snapshot every N events, keep N snapshots, optionally delete events.
    pub fn with_retention(mut self, retention: RetentionCriteria) -> Self {
        self.def.retention = Some(retention);
        self
    }

    /// What recovery loads.
    pub fn with_recovery(mut self, recovery: Recovery) -> Self {
        self.def.recovery = recovery;
        self
    }

    /// Stash capacity (defaults to `pekko.persistence.typed.stash-capacity`).
    pub fn with_stash_capacity(mut self, capacity: usize) -> Self {
        self.def.persistence.settings.stash_capacity = capacity.max(1);
        self
    }

    /// Events read per replay query.
    pub fn with_replay_batch_size(mut self, n: usize) -> Self {
        self.def.persistence.settings.replay_batch_size = n.max(1);
        self
    }

    /// The signal handler; it sees the current state.
    pub fn receive_signal<F>(mut self, f: F) -> Self
    where
        F: Fn(&S, &EventSourcedSignal) + Send + Sync + 'static,
    {
        self.def.signal_handler = Some(Arc::new(f));
        self
    }

    /// The actor behavior. Every start (and every supervised restart) is a new incarnation with
    /// a fresh writer UUID that recovers from the stores first.
    ///
    /// Journal failures (write, recovery) fail the actor after the `JournalPersistFailed` /
    /// `RecoveryFailed` signal, so `Behaviors::supervise(b).on_failure(
    /// SupervisorStrategy::restart_with_backoff(..))` is the equivalent of Pekko's
    /// `onPersistFailure`; unsupervised the actor stops, Pekko's default.
    pub fn into_behavior(self) -> Behavior<EntityMessage<C>> {
        let def = Arc::new(self.def);
        Behaviors::setup(move |ctx| EntityActor::start(def.clone(), ctx).into_behavior())
    }
}

/// The message type of an event-sourced actor.
pub enum EntityMessage<C> {
    /// A command for the command handler.
    Command(C),
    /// A journal or snapshot-store reply (internal).
    Internal(InternalMessage),
}

impl<C> From<C> for EntityMessage<C> {
    fn from(c: C) -> Self {
        EntityMessage::Command(c)
    }
}

/// A journal or snapshot-store reply to an entity (opaque).
pub struct InternalMessage {
    incarnation: u64,
    kind: Internal,
}

enum Internal {
    Loaded(Result<(Option<SnapshotRecord>, i64)>),
    Replayed(usize, Result<Vec<EventRecord>>),
    Written(Result<()>),
    SnapshotSaved(SnapshotMetadata, bool, Result<()>),
    EventsDeleted(i64, Result<()>),
    SnapshotsDeleted(SnapshotSelectionCriteria, Result<()>),
}

struct CommandTarget<C> {
    inner: ActorRef<EntityMessage<C>>,
}

impl<C: Send + 'static> ActorRefTarget<C> for CommandTarget<C> {
    fn tell(&self, msg: C) {
        self.inner.tell(EntityMessage::Command(msg));
    }
    fn path(&self) -> ActorPath {
        self.inner.path()
    }
    fn local_cell(&self) -> Option<AnyActorRef> {
        Some(self.inner.to_any())
    }
}

/// An `ActorRef<C>` that sends commands to an event-sourced actor.
pub fn command_ref<C: Send + 'static>(entity: &ActorRef<EntityMessage<C>>) -> ActorRef<C> {
    ActorRef::from_target(Arc::new(CommandTarget {
        inner: entity.clone(),
    }))
}

static INCARNATIONS: AtomicU64 = AtomicU64::new(1);

enum Phase<S> {
    Recovering,
    Running,
    Persisting {
        new_seq: i64,
        snapshot: Option<bool>,
        side_effects: Vec<SideEffect<S>>,
        stop: bool,
    },
    Snapshotting {
        side_effects: Vec<SideEffect<S>>,
        stop: bool,
    },
}

struct EntityActor<C, E, S> {
    def: Arc<Definition<C, E, S>>,
    incarnation: u64,
    writer_uuid: String,
    state: Option<S>,
    seq_nr: i64,
    highest: i64,
    replayed: u64,
    phase: Phase<S>,
    internal_stash: VecDeque<C>,
    user_stash: VecDeque<C>,
    unstash_user: usize,
    stopping: bool,
}

/// Fails the actor (a panic is how a rekko-actor behavior fails; supervision catches it).
fn fail(message: String) -> ! {
    std::panic::panic_any(message)
}

impl<C, E, S> EntityActor<C, E, S>
where
    C: Send + 'static,
    E: Send + 'static,
    S: Clone + Send + Sync + 'static,
{
    fn start(def: Arc<Definition<C, E, S>>, ctx: &mut ActorContext<EntityMessage<C>>) -> Self {
        let incarnation = INCARNATIONS.fetch_add(1, Ordering::Relaxed);
        let me = EntityActor {
            state: Some(def.empty.clone()),
            def,
            incarnation,
            writer_uuid: new_writer_uuid(),
            seq_nr: 0,
            highest: 0,
            replayed: 0,
            phase: Phase::Recovering,
            internal_stash: VecDeque::new(),
            user_stash: VecDeque::new(),
            unstash_user: 0,
            stopping: false,
        };
        tracing::debug!(pid = %me.def.pid, writer = %me.writer_uuid, "event-sourced entity starting recovery");
        let journal = me.def.persistence.journal.clone();
        let snapshots = me.def.persistence.snapshots.clone();
        let pid = me.def.pid.id().to_string();
        let criteria = if me.def.snapshot_codec.is_some() {
            me.def.recovery.criteria
        } else {
            SnapshotSelectionCriteria::NONE
        };
        me.pipe(
            ctx,
            async move {
                let snap = if criteria == SnapshotSelectionCriteria::NONE {
                    None
                } else {
                    snapshots.load(&pid, criteria).await?
                };
                let highest = journal.highest_sequence_nr(&pid).await?;
                Ok((snap, highest))
            },
            Internal::Loaded,
        );
        me
    }

    fn pipe<T, F>(
        &self,
        ctx: &mut ActorContext<EntityMessage<C>>,
        fut: F,
        map: impl FnOnce(T) -> Internal + Send + 'static,
    ) where
        T: Send + 'static,
        F: std::future::Future<Output = T> + Send + 'static,
    {
        let incarnation = self.incarnation;
        ctx.pipe_to_self(fut, move |r| {
            EntityMessage::Internal(InternalMessage {
                incarnation,
                kind: map(r),
            })
        });
    }

    fn state(&self) -> &S {
        self.state.as_ref().unwrap_or(&self.def.empty)
    }

    fn signal(&self, s: EventSourcedSignal) {
        match &s {
            EventSourcedSignal::SnapshotFailed(m, e) => {
                tracing::warn!(pid = %self.def.pid, seq = m.sequence_nr, "snapshot failed: {e}")
            }
            EventSourcedSignal::DeleteEventsFailed(to, e) => {
                tracing::warn!(pid = %self.def.pid, to, "deleting events failed: {e}")
            }
            EventSourcedSignal::DeleteSnapshotsFailed(_, e) => {
                tracing::warn!(pid = %self.def.pid, "deleting snapshots failed: {e}")
            }
            _ => {}
        }
        if let Some(h) = &self.def.signal_handler {
            h(self.state(), &s);
        }
    }

    fn stash_internal(&mut self, cmd: C) {
        let cap = self.def.persistence.settings.stash_capacity;
        if self.internal_stash.len() >= cap {
            self.overflow("internal");
        } else {
            self.internal_stash.push_back(cmd);
        }
    }

    fn overflow(&self, which: &str) {
        match self.def.persistence.settings.stash_overflow {
            StashOverflowStrategy::Drop => tracing::warn!(
                pid = %self.def.pid,
                "{which} stash of {} is full (capacity {}): command dropped",
                self.def.pid,
                self.def.persistence.settings.stash_capacity
            ),
            StashOverflowStrategy::Fail => fail(format!(
                "{which} stash of {} overflowed (capacity {})",
                self.def.pid, self.def.persistence.settings.stash_capacity
            )),
        }
    }

    // ---- recovery ----

    fn on_loaded(
        &mut self,
        ctx: &mut ActorContext<EntityMessage<C>>,
        r: Result<(Option<SnapshotRecord>, i64)>,
    ) -> Behavior<EntityMessage<C>> {
        let (snap, highest) = match r {
            Ok(x) => x,
            Err(e) => return self.recovery_failed(e),
        };
        self.highest = highest;
        if let (Some(s), Some(codec)) = (snap, &self.def.snapshot_codec) {
            match codec.decode(&s.state) {
                Ok(st) => {
                    self.state = Some(st);
                    self.seq_nr = s.metadata.sequence_nr;
                }
                Err(e) => {
                    let e = recovery_error(self.def.pid.id(), s.metadata.sequence_nr, &s.state, e);
                    return self.recovery_failed(e);
                }
            }
        }
        self.replay_next(ctx)
    }

    fn replay_to(&self) -> i64 {
        self.highest.min(self.def.recovery.to_sequence_nr)
    }

    fn replay_next(
        &mut self,
        ctx: &mut ActorContext<EntityMessage<C>>,
    ) -> Behavior<EntityMessage<C>> {
        let to = self.replay_to();
        let remaining = self.def.recovery.replay_max.saturating_sub(self.replayed);
        if self.seq_nr >= to || remaining == 0 {
            return self.recovery_completed(ctx);
        }
        let limit =
            (self.def.persistence.settings.replay_batch_size as u64).min(remaining) as usize;
        let journal = self.def.persistence.journal.clone();
        let pid = self.def.pid.id().to_string();
        let from = self.seq_nr + 1;
        self.pipe(
            ctx,
            async move { journal.read_events(&pid, from, to, limit).await },
            move |r| Internal::Replayed(limit, r),
        );
        Behaviors::same()
    }

    fn on_replayed(
        &mut self,
        ctx: &mut ActorContext<EntityMessage<C>>,
        limit: usize,
        r: Result<Vec<EventRecord>>,
    ) -> Behavior<EntityMessage<C>> {
        let rows = match r {
            Ok(rows) => rows,
            Err(e) => return self.recovery_failed(e),
        };
        let n = rows.len();
        for row in rows {
            let repr = row.repr;
            let event = match self.def.event_codec.decode(&repr.payload) {
                Ok(e) => e,
                Err(e) => {
                    let e = recovery_error(self.def.pid.id(), repr.sequence_nr, &repr.payload, e);
                    return self.recovery_failed(e);
                }
            };
            let events = match &self.def.adapter {
                Some(a) => a.events_from_journal(event, &repr.adapter_manifest),
                None => vec![event],
            };
            let mut st = self.state.take().unwrap_or_else(|| self.def.empty.clone());
            for e in &events {
                st = (self.def.event_handler)(st, e);
            }
            self.state = Some(st);
            self.seq_nr = repr.sequence_nr;
            self.replayed += 1;
        }
        if n < limit {
            return self.recovery_completed(ctx);
        }
        self.replay_next(ctx)
    }

    fn recovery_failed(&mut self, e: PersistenceError) -> Behavior<EntityMessage<C>> {
        let msg = format!("recovery of {} failed: {e}", self.def.pid);
        tracing::error!(pid = %self.def.pid, "{msg}");
        self.signal(EventSourcedSignal::RecoveryFailed(Arc::new(e)));
        fail(msg)
    }

    fn recovery_completed(
        &mut self,
        ctx: &mut ActorContext<EntityMessage<C>>,
    ) -> Behavior<EntityMessage<C>> {
        self.seq_nr = self.seq_nr.max(self.highest);
        self.phase = Phase::Running;
        tracing::debug!(pid = %self.def.pid, seq = self.seq_nr, replayed = self.replayed, "recovery completed");
        self.signal(EventSourcedSignal::RecoveryCompleted);
        if let Some(r) = self.def.retention {
            if self.replayed >= r.number_of_events as u64 && self.save_snapshot(ctx, false) {
                self.phase = Phase::Snapshotting {
                    side_effects: Vec::new(),
                    stop: false,
                };
                return Behaviors::same();
            }
        }
        self.drain(ctx)
    }

    // ---- running ----

    /// Processes stashed commands one by one while running.
    fn drain(&mut self, ctx: &mut ActorContext<EntityMessage<C>>) -> Behavior<EntityMessage<C>> {
        while matches!(self.phase, Phase::Running) && !self.stopping {
            let next = if self.unstash_user > 0 {
                self.unstash_user -= 1;
                self.user_stash.pop_front()
            } else {
                self.internal_stash.pop_front()
            };
            match next {
                Some(cmd) => {
                    self.handle_command(ctx, cmd);
                }
                None => break,
            }
        }
        if self.stopping {
            Behaviors::stopped()
        } else {
            Behaviors::same()
        }
    }

    /// Runs the command handler; returns whether the command was unhandled.
    fn handle_command(&mut self, ctx: &mut ActorContext<EntityMessage<C>>, cmd: C) -> bool {
        let effect = (self.def.command_handler)(self.state(), &cmd);
        let Effect {
            primary,
            side_effects,
        } = effect;
        match primary {
            Primary::Persist(events) if !events.is_empty() => {
                self.persist(ctx, events, side_effects);
                false
            }
            Primary::Persist(_) | Primary::None => {
                self.run_side_effects(side_effects, false);
                false
            }
            Primary::Unhandled => {
                tracing::debug!(pid = %self.def.pid, "command unhandled");
                self.run_side_effects(side_effects, false);
                true
            }
            Primary::Stash => {
                if self.user_stash.len() >= self.def.persistence.settings.stash_capacity {
                    self.overflow("user");
                } else {
                    self.user_stash.push_back(cmd);
                }
                self.run_side_effects(side_effects, false);
                false
            }
            Primary::Stop => {
                self.run_side_effects(side_effects, true);
                false
            }
        }
    }

    fn run_side_effects(&mut self, side_effects: Vec<SideEffect<S>>, stop: bool) {
        let mut stop = stop;
        for se in side_effects {
            match se {
                SideEffect::Run(f) => f(self.state()),
                SideEffect::Stop => stop = true,
                SideEffect::UnstashAll => self.unstash_user = self.user_stash.len(),
            }
        }
        if stop {
            self.stopping = true;
        }
    }

    fn persist(
        &mut self,
        ctx: &mut ActorContext<EntityMessage<C>>,
        events: Vec<E>,
        side_effects: Vec<SideEffect<S>>,
    ) {
        let def = self.def.clone();
        let mut st = self.state.take().unwrap_or_else(|| def.empty.clone());
        let mut seq = self.seq_nr;
        let mut reprs = Vec::with_capacity(events.len());
        let mut snapshot: Option<bool> = None;
        for e in &events {
            seq += 1;
            st = (def.event_handler)(st, e);
            if let Some(r) = def.retention {
                if seq % r.number_of_events == 0 {
                    snapshot = Some(true);
                }
            }
            if snapshot.is_none() {
                if let Some(p) = &def.snapshot_when {
                    if p(&st, e, seq) {
                        snapshot = Some(false);
                    }
                }
            }
            let tags = def.tagger.as_ref().map(|t| t(e)).unwrap_or_default();
            let (payload, adapter_manifest) = match &def.adapter {
                Some(a) => (def.event_codec.encode(&a.to_journal(e)), a.manifest(e)),
                None => (def.event_codec.encode(e), String::new()),
            };
            let payload = match payload {
                Ok(p) => p,
                Err(err) => {
                    let msg = format!("event {seq} of {} was rejected: {err}", def.pid);
                    self.signal(EventSourcedSignal::JournalPersistRejected(Arc::new(err)));
                    fail(msg)
                }
            };
            let mut repr =
                PersistentRepr::new(def.pid.id(), seq, payload, self.writer_uuid.clone())
                    .with_tags(tags);
            repr.adapter_manifest = adapter_manifest;
            reprs.push(repr);
        }
        self.state = Some(st);
        let write = match AtomicWrite::new(reprs) {
            Ok(w) => w,
            Err(e) => fail(format!("invalid write of {}: {e}", def.pid)),
        };
        let journal = def.persistence.journal.clone();
        self.pipe(
            ctx,
            async move { journal.write(std::slice::from_ref(&write)).await },
            Internal::Written,
        );
        self.phase = Phase::Persisting {
            new_seq: seq,
            snapshot,
            side_effects,
            stop: false,
        };
    }

    fn on_written(
        &mut self,
        ctx: &mut ActorContext<EntityMessage<C>>,
        r: Result<()>,
    ) -> Behavior<EntityMessage<C>> {
        let Phase::Persisting {
            new_seq,
            snapshot,
            side_effects,
            stop,
        } = std::mem::replace(&mut self.phase, Phase::Running)
        else {
            return Behaviors::same();
        };
        if let Err(e) = r {
            let msg = format!(
                "writing events {}..={new_seq} of {} failed: {e}",
                self.seq_nr + 1,
                self.def.pid
            );
            tracing::warn!(pid = %self.def.pid, "{msg}");
            self.signal(EventSourcedSignal::JournalPersistFailed(Arc::new(e)));
            fail(msg)
        }
        self.seq_nr = new_seq;
        if let Some(retention) = snapshot {
            if self.save_snapshot(ctx, retention) {
                self.phase = Phase::Snapshotting { side_effects, stop };
                return Behaviors::same();
            }
        }
        self.run_side_effects(side_effects, stop);
        self.drain(ctx)
    }

    /// Starts saving a snapshot of the current state; false when no snapshot codec is set or
    /// the state cannot be encoded (reported as `SnapshotFailed`).
    fn save_snapshot(&mut self, ctx: &mut ActorContext<EntityMessage<C>>, retention: bool) -> bool {
        let Some(codec) = &self.def.snapshot_codec else {
            return false;
        };
        let meta = SnapshotMetadata {
            persistence_id: self.def.pid.id().to_string(),
            sequence_nr: self.seq_nr,
            timestamp: now_millis(),
        };
        let state = match codec.encode(self.state()) {
            Ok(p) => p,
            Err(e) => {
                self.signal(EventSourcedSignal::SnapshotFailed(meta, Arc::new(e)));
                return false;
            }
        };
        let record = SnapshotRecord {
            metadata: meta.clone(),
            state,
            meta: None,
        };
        let store = self.def.persistence.snapshots.clone();
        self.pipe(ctx, async move { store.save(&record).await }, move |r| {
            Internal::SnapshotSaved(meta, retention, r)
        });
        true
    }

    fn on_snapshot_saved(
        &mut self,
        ctx: &mut ActorContext<EntityMessage<C>>,
        meta: SnapshotMetadata,
        retention: bool,
        r: Result<()>,
    ) -> Behavior<EntityMessage<C>> {
        let seq = meta.sequence_nr;
        match r {
            Ok(()) => {
                self.signal(EventSourcedSignal::SnapshotCompleted(meta));
                if let (true, Some(rc)) = (retention, self.def.retention) {
                    let u = rc.delete_up_to(seq);
                    if u > 0 {
                        if rc.delete_events_on_snapshot {
                            let journal = self.def.persistence.journal.clone();
                            let pid = self.def.pid.id().to_string();
                            self.pipe(
                                ctx,
                                async move { journal.delete_to(&pid, u).await },
                                move |r| Internal::EventsDeleted(u, r),
                            );
                        } else {
                            self.delete_snapshots(ctx, u);
                        }
                    }
                }
            }
            Err(e) => self.signal(EventSourcedSignal::SnapshotFailed(meta, Arc::new(e))),
        }
        if let Phase::Snapshotting { side_effects, stop } =
            std::mem::replace(&mut self.phase, Phase::Running)
        {
            self.run_side_effects(side_effects, stop);
            return self.drain(ctx);
        }
        Behaviors::same()
    }

    fn delete_snapshots(&mut self, ctx: &mut ActorContext<EntityMessage<C>>, up_to: i64) {
        let Some(rc) = self.def.retention else {
            return;
        };
        let criteria = SnapshotSelectionCriteria {
            min_sequence_nr: (up_to - rc.keep_n_snapshots * rc.number_of_events).max(0),
            ..SnapshotSelectionCriteria::up_to(up_to)
        };
        let store = self.def.persistence.snapshots.clone();
        let pid = self.def.pid.id().to_string();
        self.pipe(
            ctx,
            async move { store.delete_matching(&pid, criteria).await },
            move |r| Internal::SnapshotsDeleted(criteria, r),
        );
    }

    fn on_internal(
        &mut self,
        ctx: &mut ActorContext<EntityMessage<C>>,
        m: InternalMessage,
    ) -> Behavior<EntityMessage<C>> {
        if m.incarnation != self.incarnation {
            return Behaviors::same();
        }
        match m.kind {
            Internal::Loaded(r) => self.on_loaded(ctx, r),
            Internal::Replayed(limit, r) => self.on_replayed(ctx, limit, r),
            Internal::Written(r) => self.on_written(ctx, r),
            Internal::SnapshotSaved(meta, retention, r) => {
                self.on_snapshot_saved(ctx, meta, retention, r)
            }
            Internal::EventsDeleted(to, r) => {
                match r {
                    Ok(()) => {
                        self.signal(EventSourcedSignal::DeleteEventsCompleted(to));
                        self.delete_snapshots(ctx, to - 1);
                    }
                    Err(e) => self.signal(EventSourcedSignal::DeleteEventsFailed(to, Arc::new(e))),
                }
                Behaviors::same()
            }
            Internal::SnapshotsDeleted(c, r) => {
                match r {
                    Ok(()) => self.signal(EventSourcedSignal::DeleteSnapshotsCompleted(c)),
                    Err(e) => {
                        self.signal(EventSourcedSignal::DeleteSnapshotsFailed(c, Arc::new(e)))
                    }
                }
                Behaviors::same()
            }
        }
    }
}

impl<C, E, S> AbstractBehavior<EntityMessage<C>> for EntityActor<C, E, S>
where
    C: Send + 'static,
    E: Send + 'static,
    S: Clone + Send + Sync + 'static,
{
    fn on_message(
        &mut self,
        ctx: &mut ActorContext<EntityMessage<C>>,
        msg: EntityMessage<C>,
    ) -> Behavior<EntityMessage<C>> {
        match msg {
            EntityMessage::Internal(m) => self.on_internal(ctx, m),
            EntityMessage::Command(cmd) => {
                if !matches!(self.phase, Phase::Running) || !self.internal_stash.is_empty() {
                    self.stash_internal(cmd);
                    return Behaviors::same();
                }
                let unhandled = self.handle_command(ctx, cmd);
                let next = self.drain(ctx);
                if unhandled && next.is_same() {
                    Behaviors::unhandled()
                } else {
                    next
                }
            }
        }
    }

    fn on_signal(
        &mut self,
        _ctx: &mut ActorContext<EntityMessage<C>>,
        signal: &Signal,
    ) -> Behavior<EntityMessage<C>> {
        if let Signal::PostStop = signal {
            self.signal(EventSourcedSignal::PostStop);
        }
        Behaviors::same()
    }
}
