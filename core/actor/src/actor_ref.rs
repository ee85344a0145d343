//! `ActorRef<M>`: a cheap, clonable handle to send messages of type `M` to an actor.

use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::cell::{Cell, ErasedCell};
use crate::error::AskError;
use crate::path::{ActorPath, Address};

/// The target behind a non-local [`ActorRef`]: message adapters, ask promises, and refs that
/// another crate provides (remote actors). Implement it to make an `ActorRef<M>` that sends
/// somewhere else, e.g. over Artery.
pub trait ActorRefTarget<M>: Send + Sync + 'static {
    /// Delivers (or forwards) one message.
    fn tell(&self, msg: M);
    /// The path this ref stands for.
    fn path(&self) -> ActorPath;
    /// The local actor behind this ref, if any (used for death watch).
    fn local_cell(&self) -> Option<AnyActorRef> {
        None
    }
}

pub(crate) enum RefInner<M> {
    Local(Arc<Cell<M>>),
    Target(Arc<dyn ActorRefTarget<M>>),
}

/// Handle to send messages of type `M` to an actor (Pekko's `ActorRef[T]`). Clone is cheap.
pub struct ActorRef<M>(pub(crate) RefInner<M>);

impl<M> Clone for ActorRef<M> {
    fn clone(&self) -> Self {
        ActorRef(match &self.0 {
            RefInner::Local(c) => RefInner::Local(c.clone()),
            RefInner::Target(t) => RefInner::Target(t.clone()),
        })
    }
}

impl<M: Send + 'static> ActorRef<M> {
    /// Wraps a custom target (adapter, remote ref, ...).
    pub fn from_target(target: Arc<dyn ActorRefTarget<M>>) -> Self {
        ActorRef(RefInner::Target(target))
    }

    /// Sends a message; fire and forget (Pekko's `tell` / `!`). Messages from one sender to
    /// one receiver arrive in the order sent. A message to a stopped actor goes to dead letters.
    #[inline]
    pub fn tell(&self, msg: M) {
        match &self.0 {
            RefInner::Local(c) => c.tell(msg),
            RefInner::Target(t) => t.tell(msg),
        }
    }

    /// The actor's path including its uid.
    pub fn path(&self) -> ActorPath {
        match &self.0 {
            RefInner::Local(c) => c.path(),
            RefInner::Target(t) => t.path(),
        }
    }

    /// This ref without its message type (for `Terminated`, children lists, comparisons).
    pub fn to_any(&self) -> AnyActorRef {
        match &self.0 {
            RefInner::Local(c) => AnyActorRef::local(c.clone()),
            RefInner::Target(t) => match t.local_cell() {
                Some(a) => a,
                None => AnyActorRef(AnyInner::Path(Arc::new(t.path()))),
            },
        }
    }

    /// Sends `make(reply_to)` and waits up to `timeout` for one reply (Pekko's `ask` / `?`).
    pub fn ask<R, F>(
        &self,
        make: F,
        timeout: Duration,
    ) -> impl Future<Output = Result<R, AskError>> + Send + 'static
    where
        R: Send + 'static,
        F: FnOnce(ActorRef<R>) -> M,
    {
        let (reply_to, rx) = promise_ref::<R>(self.temp_address());
        let target = self.path();
        self.tell(make(reply_to));
        async move {
            match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(r)) => Ok(r),
                _ => Err(AskError::Timeout { target, timeout }),
            }
        }
    }

    /// Like [`ask`](Self::ask) for a `StatusReply<R>`: an error reply becomes `AskError::Status`.
    pub fn ask_with_status<R, F>(
        &self,
        make: F,
        timeout: Duration,
    ) -> impl Future<Output = Result<R, AskError>> + Send + 'static
    where
        R: Send + 'static,
        F: FnOnce(ActorRef<StatusReply<R>>) -> M,
    {
        let target = self.path();
        let fut = self.ask(make, timeout);
        async move {
            match fut.await? {
                StatusReply::Success(r) => Ok(r),
                StatusReply::Error(message) => Err(AskError::Status { target, message }),
            }
        }
    }

    fn temp_address(&self) -> Address {
        match &self.0 {
            RefInner::Local(c) => c.system().address().clone(),
            RefInner::Target(t) => t.path().address,
        }
    }

    pub(crate) fn local(&self) -> Option<&Arc<Cell<M>>> {
        match &self.0 {
            RefInner::Local(c) => Some(c),
            _ => None,
        }
    }
}

impl<M: Send + 'static> fmt::Debug for ActorRef<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            RefInner::Local(c) => write!(f, "Actor[{}]", c.path()),
            RefInner::Target(t) => write!(f, "Actor[{}]", t.path()),
        }
    }
}

impl<M: Send + 'static> PartialEq for ActorRef<M> {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (RefInner::Local(a), RefInner::Local(b)) => Arc::ptr_eq(a, b),
            (RefInner::Target(a), RefInner::Target(b)) => a.path() == b.path(),
            _ => false,
        }
    }
}
impl<M: Send + 'static> Eq for ActorRef<M> {}

impl<M: Send + 'static> Hash for ActorRef<M> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        match &self.0 {
            RefInner::Local(c) => (Arc::as_ptr(c) as usize).hash(state),
            RefInner::Target(t) => t.path().hash(state),
        }
    }
}

impl<M: Send + 'static> PartialEq<AnyActorRef> for ActorRef<M> {
    fn eq(&self, other: &AnyActorRef) -> bool {
        match (&self.0, &other.0) {
            (RefInner::Local(a), AnyInner::Local(b)) => {
                Arc::as_ptr(a) as *const () == Arc::as_ptr(b) as *const ()
            }
            (RefInner::Target(t), _) => t.path() == other.path(),
            _ => false,
        }
    }
}

/// An actor ref without its message type (Pekko's `ActorRef[Nothing]`): found in `Terminated`,
/// `children()`; can be turned back with [`downcast`](Self::downcast).
#[derive(Clone)]
pub struct AnyActorRef(pub(crate) AnyInner);

#[derive(Clone)]
pub(crate) enum AnyInner {
    Local(Arc<dyn ErasedCell>),
    Path(Arc<ActorPath>),
}

impl AnyActorRef {
    pub(crate) fn local(c: Arc<dyn ErasedCell>) -> Self {
        AnyActorRef(AnyInner::Local(c))
    }

    /// The actor's path with uid.
    pub fn path(&self) -> ActorPath {
        match &self.0 {
            AnyInner::Local(c) => c.erased_path(),
            AnyInner::Path(p) => (**p).clone(),
        }
    }

    /// The actor's name (last path element).
    pub fn name(&self) -> String {
        match &self.0 {
            AnyInner::Local(c) => c.header().name.render().into_owned(),
            AnyInner::Path(p) => p.name().to_string(),
        }
    }

    /// The typed ref, if the actor accepts `M`.
    pub fn downcast<M: Send + 'static>(&self) -> Option<ActorRef<M>> {
        match &self.0 {
            AnyInner::Local(c) => {
                let any = c.clone().into_any();
                any.downcast::<Cell<M>>()
                    .ok()
                    .map(|c| ActorRef(RefInner::Local(c)))
            }
            AnyInner::Path(_) => None,
        }
    }

    pub(crate) fn cell(&self) -> Option<&Arc<dyn ErasedCell>> {
        match &self.0 {
            AnyInner::Local(c) => Some(c),
            _ => None,
        }
    }
}

impl fmt::Debug for AnyActorRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Actor[{}]", self.path())
    }
}

impl PartialEq for AnyActorRef {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (AnyInner::Local(a), AnyInner::Local(b)) => a.id() == b.id(),
            _ => self.path() == other.path(),
        }
    }
}
impl Eq for AnyActorRef {}

impl<M: Send + 'static> PartialEq<ActorRef<M>> for AnyActorRef {
    fn eq(&self, other: &ActorRef<M>) -> bool {
        other == self
    }
}

/// A reply that is either a value or an error text (Pekko's `StatusReply`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusReply<T> {
    /// Success with a value.
    Success(T),
    /// Failure with a message.
    Error(String),
}

impl<T> StatusReply<T> {
    /// `StatusReply.success(value)`.
    pub fn success(value: T) -> Self {
        StatusReply::Success(value)
    }
    /// `StatusReply.error(message)`.
    pub fn error(message: impl Into<String>) -> Self {
        StatusReply::Error(message.into())
    }
    /// `StatusReply.ack()` for `StatusReply<()>`-like replies.
    pub fn is_success(&self) -> bool {
        matches!(self, StatusReply::Success(_))
    }
}

impl StatusReply<()> {
    /// Pekko's `StatusReply.Ack`.
    pub fn ack() -> Self {
        StatusReply::Success(())
    }
}

struct PromiseTarget<R> {
    tx: Mutex<Option<oneshot::Sender<R>>>,
    path: ActorPath,
}

impl<R: Send + 'static> ActorRefTarget<R> for PromiseTarget<R> {
    fn tell(&self, msg: R) {
        if let Some(tx) = self.tx.lock().take() {
            let _ = tx.send(msg);
        } else {
            tracing::debug!(recipient = %self.path, "second reply to an ask dropped");
        }
    }
    fn path(&self) -> ActorPath {
        self.path.clone()
    }
}

static TEMP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// A one-shot ref whose first message completes the returned receiver (used by `ask`).
pub(crate) fn promise_ref<R: Send + 'static>(
    address: Address,
) -> (ActorRef<R>, oneshot::Receiver<R>) {
    let (tx, rx) = oneshot::channel();
    let n = TEMP.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = ActorPath::root(address)
        .child("temp")
        .child(&crate::path::anonymous_name(n));
    let target = PromiseTarget {
        tx: Mutex::new(Some(tx)),
        path,
    };
    (ActorRef(RefInner::Target(Arc::new(target))), rx)
}

/// A ref that maps `U` to `M` and sends it to a local actor (used by `message_adapter`).
pub(crate) struct AdapterTarget<U, M> {
    pub(crate) target: Arc<Cell<M>>,
    pub(crate) f: Arc<dyn Fn(U) -> M + Send + Sync>,
    pub(crate) name: String,
}

impl<U: Send + 'static, M: Send + 'static> ActorRefTarget<U> for AdapterTarget<U, M> {
    fn tell(&self, msg: U) {
        let f = self.f.clone();
        self.target
            .enqueue(crate::cell::Envelope::Adapted(Box::new(move || f(msg))));
    }
    fn path(&self) -> ActorPath {
        let p = self.target.path();
        p.child(&self.name)
    }
    fn local_cell(&self) -> Option<AnyActorRef> {
        Some(AnyActorRef::local(self.target.clone()))
    }
}
