//! Behaviors: what an actor does with the next message or signal (Pekko's `Behavior` / `Behaviors`).

use std::fmt;
use std::sync::Arc;

use crate::actor_ref::AnyActorRef;
use crate::context::ActorContext;
use crate::stash::StashBuffer;
use crate::supervision::{ActorFailure, Supervise};
use crate::timers::TimerScheduler;

/// A lifecycle or death-watch notification delivered to a behavior.
#[derive(Clone, Debug)]
pub enum Signal {
    /// Sent to the failed behavior before it is replaced by a restart.
    PreRestart,
    /// Sent once, as the last thing an actor sees, after all its children have stopped.
    PostStop,
    /// A watched actor has terminated.
    Terminated(Terminated),
    /// A watched child has stopped because of a failure (a `Terminated` with a cause).
    ChildFailed(ChildFailed),
}

impl Signal {
    /// The terminated actor for `Terminated` and `ChildFailed`.
    pub fn terminated_ref(&self) -> Option<&AnyActorRef> {
        match self {
            Signal::Terminated(t) => Some(&t.actor),
            Signal::ChildFailed(c) => Some(&c.actor),
            _ => None,
        }
    }
}

/// Payload of [`Signal::Terminated`].
#[derive(Clone, Debug)]
pub struct Terminated {
    /// The actor that terminated.
    pub actor: AnyActorRef,
}

/// Payload of [`Signal::ChildFailed`].
#[derive(Clone, Debug)]
pub struct ChildFailed {
    /// The child that failed.
    pub actor: AnyActorRef,
    /// Its failure.
    pub cause: Arc<ActorFailure>,
}

pub(crate) type MsgFn<M> = dyn Fn(&mut ActorContext<M>, M) -> Behavior<M> + Send + Sync;
pub(crate) type SigFn<M> = dyn Fn(&mut ActorContext<M>, &Signal) -> Behavior<M> + Send + Sync;
pub(crate) type SetupFn<M> = dyn Fn(&mut ActorContext<M>) -> Behavior<M> + Send + Sync;
pub(crate) type PostStopFn = dyn Fn() + Send + Sync;

pub(crate) struct ReceiveFns<M> {
    pub(crate) on_message: Option<Arc<MsgFn<M>>>,
    pub(crate) on_signal: Option<Arc<SigFn<M>>>,
}

/// An object-style behavior with mutable state, like Pekko's `AbstractBehavior`.
///
/// Convert it with [`into_behavior`](AbstractBehavior::into_behavior) (usually inside [`Behaviors::setup`] so that a restart creates a fresh instance).
/// Returning [`Behaviors::same`] keeps this instance.
pub trait AbstractBehavior<M>: Send + 'static {
    /// Handles a message.
    fn on_message(&mut self, ctx: &mut ActorContext<M>, msg: M) -> Behavior<M>;
    /// Handles a signal; unhandled by default.
    fn on_signal(&mut self, _ctx: &mut ActorContext<M>, _signal: &Signal) -> Behavior<M> {
        Behaviors::unhandled()
    }
    /// Turns this object into a behavior (keeps this instance while handlers return `same`).
    fn into_behavior(self) -> Behavior<M>
    where
        Self: Sized,
        M: Send + 'static,
    {
        Behavior(Inner::Object(Box::new(self)))
    }
}

/// Internal interceptor protocol used by `supervise` and `log_messages`.
pub(crate) trait Wrapper<M>: Send {
    /// Starts (undefers) the wrapped behavior. Returns `Stopped` if it stopped.
    fn start(&mut self, ctx: &mut ActorContext<M>) -> Result<Behavior<M>, ActorFailure>;
    fn receive(&mut self, ctx: &mut ActorContext<M>, msg: M) -> Result<Behavior<M>, ActorFailure>;
    fn signal(
        &mut self,
        ctx: &mut ActorContext<M>,
        sig: &Signal,
    ) -> Result<Behavior<M>, ActorFailure>;
    /// An internal message addressed to a wrapper (by token); returns `None` when not this wrapper's.
    fn internal(
        &mut self,
        ctx: &mut ActorContext<M>,
        token: u64,
    ) -> Option<Result<Behavior<M>, ActorFailure>>;
    fn try_clone(&self) -> Option<Box<dyn Wrapper<M>>>;
}

pub(crate) enum Inner<M> {
    Same,
    Unhandled,
    Empty,
    Ignore,
    Stopped(Option<Arc<PostStopFn>>),
    Setup(Arc<SetupFn<M>>),
    Receive(Arc<ReceiveFns<M>>),
    Object(Box<dyn AbstractBehavior<M>>),
    Wrapped(Box<dyn Wrapper<M>>),
}

/// What an actor does with the next message: Pekko's `Behavior[T]`.
///
/// Build behaviors with [`Behaviors`]. Behaviors built from closures can be cloned and reused
/// (spawned many times, restarted); behaviors built from an [`AbstractBehavior`] instance cannot.
pub struct Behavior<M>(pub(crate) Inner<M>);

impl<M> fmt::Debug for Behavior<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match &self.0 {
            Inner::Same => "Same",
            Inner::Unhandled => "Unhandled",
            Inner::Empty => "Empty",
            Inner::Ignore => "Ignore",
            Inner::Stopped(_) => "Stopped",
            Inner::Setup(_) => "Setup",
            Inner::Receive(_) => "Receive",
            Inner::Object(_) => "AbstractBehavior",
            Inner::Wrapped(_) => "Wrapped",
        };
        write!(f, "Behavior::{name}")
    }
}

impl<M: Send + 'static> Behavior<M> {
    /// A copy of this behavior for another spawn or a restart; `None` for [`AbstractBehavior`] instances.
    pub fn try_clone(&self) -> Option<Behavior<M>> {
        Some(Behavior(match &self.0 {
            Inner::Same => Inner::Same,
            Inner::Unhandled => Inner::Unhandled,
            Inner::Empty => Inner::Empty,
            Inner::Ignore => Inner::Ignore,
            Inner::Stopped(h) => Inner::Stopped(h.clone()),
            Inner::Setup(f) => Inner::Setup(f.clone()),
            Inner::Receive(r) => Inner::Receive(r.clone()),
            Inner::Object(_) => return None,
            Inner::Wrapped(w) => Inner::Wrapped(w.try_clone()?),
        }))
    }

    /// Adds a signal handler to a behavior built by `receive` / `receive_message`
    /// (Pekko's `.receiveSignal`). On other behaviors it wraps them so that signals go to
    /// `f` first and messages to `self`.
    pub fn receive_signal<F>(self, f: F) -> Behavior<M>
    where
        F: Fn(&mut ActorContext<M>, &Signal) -> Behavior<M> + Send + Sync + 'static,
    {
        match self.0 {
            Inner::Receive(r) => Behavior(Inner::Receive(Arc::new(ReceiveFns {
                on_message: r.on_message.clone(),
                on_signal: Some(Arc::new(f)),
            }))),
            Inner::Empty => Behaviors::receive_signal(f),
            other => Behavior(Inner::Wrapped(Box::new(WithSignal {
                inner: Behavior(other),
                on_signal: Arc::new(f),
            }))),
        }
    }

    /// Whether this is `Behaviors::same()`.
    pub fn is_same(&self) -> bool {
        matches!(self.0, Inner::Same)
    }
    /// Whether this is `Behaviors::unhandled()`.
    pub fn is_unhandled(&self) -> bool {
        matches!(self.0, Inner::Unhandled)
    }
    /// Whether this is `Behaviors::stopped()`.
    pub fn is_stopped(&self) -> bool {
        matches!(self.0, Inner::Stopped(_))
    }

    /// Whether starting this behavior runs user code (a deferred `setup`).
    pub(crate) fn needs_start(&self) -> bool {
        !matches!(
            self.0,
            Inner::Receive(_) | Inner::Empty | Inner::Ignore | Inner::Object(_)
        )
    }
}

/// Factory for behaviors, named as in Pekko's `Behaviors`.
pub struct Behaviors;

impl Behaviors {
    /// Runs `f` when the actor starts (and again on every restart); `f` returns the behavior to run.
    pub fn setup<M, F>(f: F) -> Behavior<M>
    where
        M: Send + 'static,
        F: Fn(&mut ActorContext<M>) -> Behavior<M> + Send + Sync + 'static,
    {
        Behavior(Inner::Setup(Arc::new(f)))
    }

    /// Handles messages with access to the context.
    pub fn receive<M, F>(f: F) -> Behavior<M>
    where
        M: Send + 'static,
        F: Fn(&mut ActorContext<M>, M) -> Behavior<M> + Send + Sync + 'static,
    {
        Behavior(Inner::Receive(Arc::new(ReceiveFns {
            on_message: Some(Arc::new(f)),
            on_signal: None,
        })))
    }

    /// Handles messages without the context.
    pub fn receive_message<M, F>(f: F) -> Behavior<M>
    where
        M: Send + 'static,
        F: Fn(M) -> Behavior<M> + Send + Sync + 'static,
    {
        Self::receive(move |_ctx, m| f(m))
    }

    /// Handles only signals; messages are unhandled.
    pub fn receive_signal<M, F>(f: F) -> Behavior<M>
    where
        M: Send + 'static,
        F: Fn(&mut ActorContext<M>, &Signal) -> Behavior<M> + Send + Sync + 'static,
    {
        Behavior(Inner::Receive(Arc::new(ReceiveFns {
            on_message: None,
            on_signal: Some(Arc::new(f)),
        })))
    }

    /// Keep the current behavior.
    pub fn same<M>() -> Behavior<M> {
        Behavior(Inner::Same)
    }

    /// The message was not handled: it is published as `UnhandledMessage`; an unhandled
    /// `Terminated` fails the actor with a death pact.
    pub fn unhandled<M>() -> Behavior<M> {
        Behavior(Inner::Unhandled)
    }

    /// Stop this actor (its children are stopped first, then it gets `PostStop`).
    pub fn stopped<M>() -> Behavior<M> {
        Behavior(Inner::Stopped(None))
    }

    /// Stop this actor and run `post_stop` after the previous behavior got `PostStop`.
    pub fn stopped_with<M, F>(post_stop: F) -> Behavior<M>
    where
        F: Fn() + Send + Sync + 'static,
    {
        Behavior(Inner::Stopped(Some(Arc::new(post_stop))))
    }

    /// Treats every message and signal as unhandled.
    pub fn empty<M>() -> Behavior<M> {
        Behavior(Inner::Empty)
    }

    /// Drops every message and signal silently.
    pub fn ignore<M>() -> Behavior<M> {
        Behavior(Inner::Ignore)
    }

    /// Wraps a behavior with a supervisor; finish with `.on_failure(strategy)`.
    pub fn supervise<M: Send + 'static>(behavior: Behavior<M>) -> Supervise<M> {
        Supervise::new(behavior)
    }

    /// Gives the behavior a [`TimerScheduler`] bound to this actor; timers die with it.
    pub fn with_timers<M, F>(f: F) -> Behavior<M>
    where
        M: Send + 'static,
        F: Fn(TimerScheduler<M>) -> Behavior<M> + Send + Sync + 'static,
    {
        Self::setup(move |ctx| f(ctx.timers()))
    }

    /// Gives the behavior a bounded [`StashBuffer`] of `capacity` messages.
    pub fn with_stash<M, F>(capacity: usize, f: F) -> Behavior<M>
    where
        M: Send + 'static,
        F: Fn(StashBuffer<M>) -> Behavior<M> + Send + Sync + 'static,
    {
        Self::setup(move |ctx| f(StashBuffer::new(ctx, capacity)))
    }

    /// Logs every message (at DEBUG, with the actor path) before `behavior` handles it.
    pub fn log_messages<M>(behavior: Behavior<M>) -> Behavior<M>
    where
        M: Send + fmt::Debug + 'static,
    {
        Behavior(Inner::Wrapped(Box::new(LogMessages { inner: behavior })))
    }
}

struct WithSignal<M> {
    inner: Behavior<M>,
    on_signal: Arc<SigFn<M>>,
}

impl<M: Send + 'static> Wrapper<M> for WithSignal<M> {
    fn start(&mut self, ctx: &mut ActorContext<M>) -> Result<Behavior<M>, ActorFailure> {
        let b = std::mem::replace(&mut self.inner, Behaviors::empty());
        let started = start(b, ctx)?;
        if started.is_stopped() {
            return Ok(started);
        }
        self.inner = started;
        Ok(Behaviors::same())
    }

    fn receive(&mut self, ctx: &mut ActorContext<M>, msg: M) -> Result<Behavior<M>, ActorFailure> {
        let next = interpret_message(&mut self.inner, ctx, msg)?;
        replace_inner(&mut self.inner, ctx, next)
    }

    fn signal(
        &mut self,
        ctx: &mut ActorContext<M>,
        sig: &Signal,
    ) -> Result<Behavior<M>, ActorFailure> {
        let first = (self.on_signal)(ctx, sig);
        if first.is_unhandled() {
            let next = interpret_signal(&mut self.inner, ctx, sig)?;
            replace_inner(&mut self.inner, ctx, next)
        } else {
            replace_inner(&mut self.inner, ctx, first)
        }
    }

    fn internal(
        &mut self,
        ctx: &mut ActorContext<M>,
        token: u64,
    ) -> Option<Result<Behavior<M>, ActorFailure>> {
        match &mut self.inner.0 {
            Inner::Wrapped(w) => {
                let r = w.internal(ctx, token)?;
                Some(r.and_then(|next| replace_inner(&mut self.inner, ctx, next)))
            }
            _ => None,
        }
    }

    fn try_clone(&self) -> Option<Box<dyn Wrapper<M>>> {
        Some(Box::new(WithSignal {
            inner: self.inner.try_clone()?,
            on_signal: self.on_signal.clone(),
        }))
    }
}

/// Shared by wrappers: keep `same`/`unhandled`/`stopped` as results, otherwise start the
/// new behavior and install it as the wrapped one.
pub(crate) fn replace_inner<M: Send + 'static>(
    inner: &mut Behavior<M>,
    ctx: &mut ActorContext<M>,
    next: Behavior<M>,
) -> Result<Behavior<M>, ActorFailure> {
    match next.0 {
        Inner::Same | Inner::Unhandled | Inner::Stopped(_) => Ok(next),
        _ => {
            let started = start(next, ctx)?;
            if started.is_stopped() {
                return Ok(started);
            }
            *inner = started;
            Ok(Behaviors::same())
        }
    }
}

struct LogMessages<M> {
    inner: Behavior<M>,
}

impl<M: Send + fmt::Debug + 'static> Wrapper<M> for LogMessages<M> {
    fn start(&mut self, ctx: &mut ActorContext<M>) -> Result<Behavior<M>, ActorFailure> {
        let b = std::mem::replace(&mut self.inner, Behaviors::empty());
        let started = start(b, ctx)?;
        if started.is_stopped() {
            return Ok(started);
        }
        self.inner = started;
        Ok(Behaviors::same())
    }

    fn receive(&mut self, ctx: &mut ActorContext<M>, msg: M) -> Result<Behavior<M>, ActorFailure> {
        tracing::debug!(actor = %ctx.self_path(), "received message {:?}", msg);
        let next = interpret_message(&mut self.inner, ctx, msg)?;
        self.replace(ctx, next)
    }

    fn signal(
        &mut self,
        ctx: &mut ActorContext<M>,
        sig: &Signal,
    ) -> Result<Behavior<M>, ActorFailure> {
        tracing::debug!(actor = %ctx.self_path(), "received signal {:?}", sig);
        let next = interpret_signal(&mut self.inner, ctx, sig)?;
        self.replace(ctx, next)
    }

    fn internal(
        &mut self,
        ctx: &mut ActorContext<M>,
        token: u64,
    ) -> Option<Result<Behavior<M>, ActorFailure>> {
        match &mut self.inner.0 {
            Inner::Wrapped(w) => {
                let r = w.internal(ctx, token)?;
                Some(r.and_then(|next| self.replace(ctx, next)))
            }
            _ => None,
        }
    }

    fn try_clone(&self) -> Option<Box<dyn Wrapper<M>>> {
        Some(Box::new(LogMessages {
            inner: self.inner.try_clone()?,
        }))
    }
}

impl<M: Send + 'static> LogMessages<M> {
    fn replace(
        &mut self,
        ctx: &mut ActorContext<M>,
        next: Behavior<M>,
    ) -> Result<Behavior<M>, ActorFailure> {
        replace_inner(&mut self.inner, ctx, next)
    }
}

/// Undefers a behavior: runs `setup`s and starts wrappers. The result is never `Setup`;
/// it is `Stopped` if the behavior stopped while starting.
pub(crate) fn start<M: Send + 'static>(
    mut b: Behavior<M>,
    ctx: &mut ActorContext<M>,
) -> Result<Behavior<M>, ActorFailure> {
    loop {
        match b.0 {
            Inner::Setup(f) => b = f(ctx),
            Inner::Wrapped(mut w) => {
                let r = w.start(ctx)?;
                return Ok(if r.is_stopped() {
                    r
                } else {
                    Behavior(Inner::Wrapped(w))
                });
            }
            Inner::Same | Inner::Unhandled => {
                return Err(ActorFailure::new(
                    "setup returned `same` or `unhandled`, which is not a valid initial behavior",
                ))
            }
            other => return Ok(Behavior(other)),
        }
    }
}

/// Feeds one message to a started behavior.
#[inline]
pub(crate) fn interpret_message<M: Send + 'static>(
    b: &mut Behavior<M>,
    ctx: &mut ActorContext<M>,
    msg: M,
) -> Result<Behavior<M>, ActorFailure> {
    match &mut b.0 {
        Inner::Receive(r) => Ok(match &r.on_message {
            Some(f) => f(ctx, msg),
            None => Behaviors::unhandled(),
        }),
        Inner::Object(o) => Ok(o.on_message(ctx, msg)),
        Inner::Wrapped(w) => w.receive(ctx, msg),
        Inner::Ignore => Ok(Behaviors::same()),
        _ => Ok(Behaviors::unhandled()),
    }
}

/// Feeds one signal to a started behavior.
pub(crate) fn interpret_signal<M: Send + 'static>(
    b: &mut Behavior<M>,
    ctx: &mut ActorContext<M>,
    sig: &Signal,
) -> Result<Behavior<M>, ActorFailure> {
    match &mut b.0 {
        Inner::Receive(r) => Ok(match &r.on_signal {
            Some(f) => f(ctx, sig),
            None => Behaviors::unhandled(),
        }),
        Inner::Object(o) => Ok(o.on_signal(ctx, sig)),
        Inner::Wrapped(w) => w.signal(ctx, sig),
        Inner::Ignore => Ok(Behaviors::same()),
        _ => Ok(Behaviors::unhandled()),
    }
}
