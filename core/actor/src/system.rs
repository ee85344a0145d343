//! The actor system: guardians, dispatchers, event stream, dead letters, scheduler.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::ops::Deref;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use tokio::runtime::{Handle, Runtime};

use crate::actor_ref::{ActorRef, AnyActorRef, RefInner};
use crate::behavior::{Behavior, Behaviors};
use crate::cell::{Cell, Header, Name, TurnLimits};
use crate::context::{DispatcherSelector, MailboxSelector, Props};
use crate::coordinated_shutdown::{CoordinatedShutdown, Reason};
use crate::error::ActorError;
use crate::event_stream::{DeadLetter, DeadLetterLog, EventStream};
use crate::path::{validate_name, ActorPath, Address};
use crate::receptionist::{self, ReceptionistCommand};
use crate::scheduler::Scheduler;
use crate::settings::{ActorSystemSettings, DispatcherSettings};

pub(crate) enum DispatcherKind {
    Default(TurnLimits),
    Blocking,
}

impl DispatcherKind {
    fn from_settings(d: &DispatcherSettings) -> Self {
        DispatcherKind::Default(TurnLimits {
            throughput: d.throughput.max(1),
            // Pekko applies the deadline only when it is at least one millisecond.
            deadline: (d.throughput_deadline_time.as_millis() > 0)
                .then_some(d.throughput_deadline_time),
        })
    }
}

/// Never instantiated: the message type of the root guardian.
pub(crate) enum RootMsg {}
/// Never instantiated: the message type of the `/system` guardian.
pub(crate) enum SystemGuardianMsg {}

pub(crate) struct SystemShared {
    name: String,
    address: Address,
    settings: ActorSystemSettings,
    handle: Handle,
    own_runtime: Mutex<Option<Runtime>>,
    dispatchers: Vec<DispatcherKind>,
    dispatcher_names: HashMap<String, u8>,
    event_stream: EventStream,
    dead_letters: DeadLetterLog,
    terminated: tokio::sync::watch::Sender<bool>,
    root: Mutex<Option<Arc<Cell<RootMsg>>>>,
    system_guardian: Mutex<Option<Arc<Cell<SystemGuardianMsg>>>>,
    user_guardian: Mutex<Option<AnyActorRef>>,
    coordinated_shutdown: OnceLock<CoordinatedShutdown>,
    receptionist: OnceLock<ActorRef<ReceptionistCommand>>,
}

impl Drop for SystemShared {
    fn drop(&mut self) {
        if let Some(rt) = self.own_runtime.lock().take() {
            rt.shutdown_background();
        }
    }
}

/// A handle to the actor system (what `context.system` gives in Pekko): cheap to clone.
#[derive(Clone)]
pub struct SystemHandle(pub(crate) Arc<SystemShared>);

impl std::fmt::Debug for SystemHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ActorSystem[{}]", self.0.name)
    }
}

impl SystemHandle {
    /// The system's name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The system's address (`pekko://name`).
    pub fn address(&self) -> &Address {
        &self.0.address
    }

    /// The settings the system was created with.
    pub fn settings(&self) -> &ActorSystemSettings {
        &self.0.settings
    }

    pub(crate) fn id(&self) -> usize {
        Arc::as_ptr(&self.0) as usize
    }

    /// The tokio runtime actors run on.
    pub fn runtime(&self) -> &Handle {
        &self.0.handle
    }

    /// The event stream.
    pub fn event_stream(&self) -> &EventStream {
        &self.0.event_stream
    }

    /// The scheduler.
    pub fn scheduler(&self) -> Scheduler {
        Scheduler::new(self.0.handle.clone())
    }

    /// How many dead letters this system has seen.
    pub fn dead_letter_count(&self) -> u64 {
        self.0.dead_letters.count()
    }

    /// Coordinated shutdown of this system.
    pub fn coordinated_shutdown(&self) -> &CoordinatedShutdown {
        self.0
            .coordinated_shutdown
            .get_or_init(|| CoordinatedShutdown::new(self.clone()))
    }

    /// The local receptionist.
    pub fn receptionist(&self) -> ActorRef<ReceptionistCommand> {
        self.0
            .receptionist
            .get_or_init(|| {
                match self.system_actor_of(receptionist::behavior(), "receptionist") {
                    Ok(r) => r,
                    // Only fails when the system is terminated; a closed ref sends to dead letters.
                    Err(_) => self
                        .system_actor_of(receptionist::behavior(), "receptionist-1")
                        .unwrap_or_else(|_| {
                            ActorRef::from_target(Arc::new(DeadRef(self.address().clone())))
                        }),
                }
            })
            .clone()
    }

    /// Spawns an actor under `/system` (Pekko's `systemActorOf`).
    pub fn system_actor_of<M: Send + 'static>(
        &self,
        behavior: Behavior<M>,
        name: &str,
    ) -> Result<ActorRef<M>, ActorError> {
        validate_name(name)?;
        let g = self.0.system_guardian.lock().clone();
        match g {
            Some(g) => g.with_context(|ctx| {
                ctx.spawn_named(
                    behavior,
                    Name::Named(Box::new(name.to_string())),
                    Props::default(),
                )
            }),
            None => Err(ActorError::SystemTerminated {
                system: self.0.name.clone(),
                name: name.to_string(),
            }),
        }
    }

    /// Starts terminating: runs coordinated shutdown (when `run-by-actor-system-terminate` is on),
    /// which stops `/user` (children first), then `/system`, then the root.
    pub fn terminate(&self) {
        if self
            .0
            .settings
            .coordinated_shutdown
            .run_by_actor_system_terminate
        {
            let cs = self.coordinated_shutdown().clone();
            self.0.handle.spawn(async move {
                cs.run(Reason::ActorSystemTerminate).await;
            });
        } else {
            self.stop_guardians();
        }
    }

    pub(crate) fn stop_guardians(&self) {
        self.0
            .dead_letters
            .shutting_down
            .store(true, Ordering::Relaxed);
        let user = self.0.user_guardian.lock().clone();
        if let Some(c) = user.as_ref().and_then(|u| u.cell()) {
            c.clone().send_sys(crate::cell::SysMsg::Stop);
        }
    }

    /// Completes when the system has terminated.
    pub fn when_terminated(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut rx = self.0.terminated.subscribe();
        async move {
            let _ = rx.wait_for(|t| *t).await;
        }
    }

    /// Whether the system has terminated.
    pub fn is_terminated(&self) -> bool {
        *self.0.terminated.borrow()
    }

    /// Finds a local actor by path elements below the root (e.g. `["user", "a"]`) and, when
    /// `uid != 0`, by incarnation. Used to deliver messages that arrive from remote systems.
    pub fn resolve_local(&self, elements: &[String], uid: i32) -> Option<AnyActorRef> {
        let root = self.0.root.lock().clone()?;
        let mut cur: AnyActorRef = AnyActorRef::local(root);
        for e in elements {
            let next = cur.cell()?.child_by_name(e)?;
            cur = next;
        }
        if uid != 0 && cur.path().uid != uid {
            return None;
        }
        Some(cur)
    }

    /// The live children of the local actor at `elements` below the root (`[]` is the root,
    /// `["user"]` the user guardian), e.g. to walk the tree for an actor selection with
    /// wildcards. Empty when no actor lives there or it has no children; when called from
    /// inside that actor's own message handler it is empty too (use
    /// [`ActorContext::children`](crate::ActorContext::children) there).
    pub fn children_of(&self, elements: &[String]) -> Vec<AnyActorRef> {
        match self.resolve_local(elements, 0) {
            Some(r) => r.cell().map(|c| c.children()).unwrap_or_default(),
            None => Vec::new(),
        }
    }

    /// Resolves a path of this system to a typed ref.
    pub fn resolve<M: Send + 'static>(&self, path: &ActorPath) -> Option<ActorRef<M>> {
        if path.address.system != self.0.address.system {
            return None;
        }
        self.resolve_local(&path.elements, path.uid)?
            .downcast::<M>()
    }

    pub(crate) fn dispatcher(&self, idx: u8) -> &DispatcherKind {
        &self.0.dispatchers[idx as usize]
    }

    pub(crate) fn dispatcher_index(&self, sel: &DispatcherSelector) -> Result<u8, ActorError> {
        match sel {
            DispatcherSelector::Default | DispatcherSelector::SameAsParent => Ok(0),
            DispatcherSelector::Blocking => Ok(1),
            DispatcherSelector::FromConfig(name) => {
                match name.as_str() {
                    "pekko.actor.default-dispatcher" => return Ok(0),
                    "pekko.actor.default-blocking-io-dispatcher" => return Ok(1),
                    _ => {}
                }
                self.0
                    .dispatcher_names
                    .get(name)
                    .copied()
                    .ok_or_else(|| ActorError::DispatcherNotFound(name.clone()))
            }
        }
    }

    pub(crate) fn mailbox_capacity(&self, sel: &MailboxSelector) -> Result<u32, ActorError> {
        Ok(match sel {
            MailboxSelector::Default => self.0.settings.actor.default_mailbox.bound(),
            MailboxSelector::Bounded(n) => *n,
            MailboxSelector::FromConfig(name) => match self.0.settings.mailboxes.get(name) {
                Some(m) => m.bound(),
                None => {
                    return Err(ActorError::InvalidSetting {
                        key: name.clone(),
                        reason: "mailbox not configured".into(),
                    })
                }
            },
        })
    }

    pub(crate) fn record_dead_letter(
        &self,
        message_type: &'static str,
        _msg: Box<dyn Any + Send>,
        sender: Option<ActorPath>,
        recipient: ActorPath,
    ) {
        let dl = DeadLetter {
            message_type,
            sender,
            recipient,
        };
        self.0.dead_letters.record(&dl);
        if message_type != std::any::type_name::<DeadLetter>() {
            self.0.event_stream.publish(dl);
        }
    }

    pub(crate) fn root_terminated(&self) {
        self.0.root.lock().take();
        self.0.system_guardian.lock().take();
        self.0.user_guardian.lock().take();
        self.0.terminated.send_replace(true);
        tracing::debug!(system = %self.0.name, "actor system terminated");
    }
}

struct DeadRef(Address);
impl<M: Send + 'static> crate::actor_ref::ActorRefTarget<M> for DeadRef {
    fn tell(&self, _msg: M) {
        tracing::debug!("message to a terminated system dropped");
    }
    fn path(&self) -> ActorPath {
        ActorPath::root(self.0.clone()).child("deadLetters")
    }
}

/// An actor system with a user guardian accepting `M` (Pekko's `ActorSystem[T]`). Dereferences
/// to [`SystemHandle`]; `tell` sends to the guardian.
pub struct ActorSystem<M> {
    handle: SystemHandle,
    guardian: ActorRef<M>,
}

impl<M> Clone for ActorSystem<M> {
    fn clone(&self) -> Self {
        ActorSystem {
            handle: self.handle.clone(),
            guardian: self.guardian.clone(),
        }
    }
}

impl<M> Deref for ActorSystem<M> {
    type Target = SystemHandle;
    fn deref(&self) -> &SystemHandle {
        &self.handle
    }
}

impl<M: Send + 'static> ActorSystem<M> {
    /// Creates a system named `name` running `guardian` as `/user`. Uses the current tokio
    /// runtime when called inside one; otherwise starts its own multi-threaded runtime sized by
    /// `pekko.actor.default-dispatcher.fork-join-executor`.
    pub fn new(
        guardian: Behavior<M>,
        name: &str,
        settings: ActorSystemSettings,
    ) -> Result<Self, ActorError> {
        validate_name(name)?;
        let (handle, own_runtime) = match Handle::try_current() {
            Ok(h) => (h, None),
            Err(_) => {
                let cores = std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2);
                let threads = settings
                    .actor
                    .default_dispatcher
                    .fork_join_executor
                    .parallelism(cores);
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(threads)
                    .thread_name(format!("{name}-dispatcher"))
                    .enable_all()
                    .build()
                    .map_err(|e| ActorError::InvalidSetting {
                        key: "pekko.actor.default-dispatcher".into(),
                        reason: format!("cannot start runtime: {e}"),
                    })?;
                (rt.handle().clone(), Some(rt))
            }
        };
        let mut dispatchers = vec![
            DispatcherKind::from_settings(&settings.actor.default_dispatcher),
            DispatcherKind::Blocking,
        ];
        let mut dispatcher_names = HashMap::new();
        for (n, d) in &settings.dispatchers {
            if dispatchers.len() >= u8::MAX as usize {
                break;
            }
            dispatcher_names.insert(n.clone(), dispatchers.len() as u8);
            dispatchers.push(if d.is_blocking() {
                DispatcherKind::Blocking
            } else {
                DispatcherKind::from_settings(d)
            });
        }
        let dead_letters = DeadLetterLog::new(
            settings.log_dead_letters,
            settings.log_dead_letters_during_shutdown,
            settings.log_dead_letters_suspend_duration,
        );
        let (terminated, _) = tokio::sync::watch::channel(false);
        let shared = Arc::new(SystemShared {
            name: name.to_string(),
            address: Address::local(name),
            settings,
            handle,
            own_runtime: Mutex::new(own_runtime),
            dispatchers,
            dispatcher_names,
            event_stream: EventStream::default(),
            dead_letters,
            terminated,
            root: Mutex::new(None),
            system_guardian: Mutex::new(None),
            user_guardian: Mutex::new(None),
            coordinated_shutdown: OnceLock::new(),
            receptionist: OnceLock::new(),
        });
        let sys = SystemHandle(shared);
        let root_behavior: Behavior<RootMsg> =
            Behaviors::receive_signal(|ctx, sig| match sig.terminated_ref().map(|a| a.name()) {
                Some(n) if n == "user" => {
                    if let Some(s) = ctx.child("system") {
                        ctx.stop_any(&s);
                    }
                    Behaviors::same()
                }
                Some(n) if n == "system" => Behaviors::stopped(),
                _ => Behaviors::same(),
            });
        let root = Cell::new(
            Header {
                name: Name::Named(Box::default()),
                parent: None,
                system: sys.clone(),
                uid: crate::context::uid(),
                slot: 0,
            },
            root_behavior,
            0,
            0,
        );
        let (system_guardian, user) = root.with_context(|ctx| {
            let sg = ctx.spawn_named(
                Behaviors::empty::<SystemGuardianMsg>(),
                Name::Named(Box::new("system".to_string())),
                Props::default(),
            )?;
            let user = ctx.spawn_named(
                guardian,
                Name::Named(Box::new("user".to_string())),
                Props::default(),
            )?;
            ctx.watch(&sg);
            ctx.watch(&user);
            Ok::<_, ActorError>((sg, user))
        })?;
        *sys.0.root.lock() = Some(root);
        if let RefInner::Local(c) = &system_guardian.0 {
            *sys.0.system_guardian.lock() = Some(c.clone());
        }
        *sys.0.user_guardian.lock() = Some(user.to_any());
        if sys.0.settings.coordinated_shutdown.run_by_jvm_shutdown_hook {
            crate::coordinated_shutdown::install_sigterm(&sys);
        }
        Ok(ActorSystem {
            handle: sys,
            guardian: user,
        })
    }

    /// Creates a system whose settings come from `config` (the application config; the bundled
    /// reference.conf fills in every key it does not set). See [`ActorSystemSettings::from_config`].
    pub fn from_config(
        guardian: Behavior<M>,
        name: &str,
        config: &hocon_config::Config,
    ) -> Result<Self, ActorError> {
        Self::new(guardian, name, ActorSystemSettings::from_config(config)?)
    }

    /// Sends a message to the user guardian.
    pub fn tell(&self, msg: M) {
        self.guardian.tell(msg);
    }

    /// The user guardian's ref.
    pub fn guardian(&self) -> &ActorRef<M> {
        &self.guardian
    }

    /// A handle without the guardian type.
    pub fn handle(&self) -> &SystemHandle {
        &self.handle
    }
}
