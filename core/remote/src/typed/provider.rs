//! The provider joining a remoting node and an actor system.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

use artery_wire::selection::SelectionElement;
use artery_wire::sysmsg::SystemMessage;

use parking_lot::Mutex;
use rekko_actor::remote::{is_remote_ref, RemoteRefProvider, SerializerRegistry, WireMessage};
use rekko_actor::{ActorPath, ActorRef, AnyActorRef, Behavior, Behaviors, SystemHandle};
use tokio::sync::oneshot;
use tracing::warn;

use crate::endpoints::{matches_pattern, LocalActors};
use crate::message::Delivery;
use crate::node::{Handler, Inner, RemoteEvent, RemoteNode};

use super::error::RefError;
use super::refs::PromiseTarget;
use super::resolver::ActorRefResolver;
use super::selection::ActorSelection;

/// Delivers one inbound message to an exported recipient (promise, adapter,
/// selection answer collector); the error text says why it was dropped.
pub(crate) type ExportFn =
    Arc<dyn Fn(&ActorRefResolver, Delivery) -> Result<(), String> + Send + Sync>;

/// A recipient that is not an actor of the tree but is reachable by path.
#[derive(Clone)]
pub(crate) struct Export {
    pub deliver: ExportFn,
    /// Removed after its first message (ask promises).
    pub once: bool,
}

/// State shared by the provider, its resolvers and the inbound handler.
pub(crate) struct Core {
    pub system: SystemHandle,
    pub registry: SerializerRegistry,
    /// Exported recipients by local path (`/temp/$rekko-ask1`).
    pub exports: Mutex<HashMap<String, Export>>,
    counter: AtomicU64,
    /// Watches the actors other nodes looked up, to notify their remote watchers.
    deathwatch: OnceLock<ActorRef<AnyActorRef>>,
    /// Local paths the deathwatch actor watches.
    watched: Mutex<HashSet<String>>,
}

impl Core {
    /// A fresh temporary local path `/temp/$rekko-<kind><n>`.
    pub fn temp_path(&self, kind: &str) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        format!("/temp/$rekko-{kind}{n}")
    }

    fn exists(&self, local_path: &str) -> bool {
        if self.exports.lock().contains_key(local_path) {
            return true;
        }
        self.system
            .resolve_local(&elements(local_path), 0)
            .is_some()
    }
}

impl Core {
    /// The local paths of the live actors of the system that a selection
    /// pattern reaches, walking the actor tree from the root one level per
    /// pattern element: a literal name looks up that child, a `*`/`?`
    /// wildcard lists the children and keeps the matching ones (Pekko's
    /// `ActorSelection` delivery).
    fn select_actors(&self, pattern: &[SelectionElement]) -> Vec<String> {
        if pattern.is_empty() {
            return Vec::new();
        }
        let mut level: Vec<Vec<String>> = vec![Vec::new()];
        for p in pattern {
            let mut next = Vec::new();
            for prefix in level {
                match p {
                    SelectionElement::ChildName(name) => {
                        let mut e = prefix;
                        e.push(name.clone());
                        if self.system.resolve_local(&e, 0).is_some() {
                            next.push(e);
                        }
                    }
                    SelectionElement::ChildPattern(_) => {
                        for child in self.system.children_of(&prefix) {
                            let path = child.path();
                            if let Some(name) = path.elements.last().filter(|n| p.matches(n)) {
                                let mut e = prefix.clone();
                                e.push(name.clone());
                                next.push(e);
                            }
                        }
                    }
                    // Applied to the pattern before the walk.
                    SelectionElement::Parent => {}
                }
            }
            if next.is_empty() {
                return Vec::new();
            }
            level = next;
        }
        level.iter().map(|e| local_path(e)).collect()
    }
}

/// Path elements of a local path.
pub(crate) fn elements(local_path: &str) -> Vec<String> {
    local_path
        .split('/')
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .collect()
}

/// The local path (`/user/a`) of path elements.
pub(crate) fn local_path(elements: &[String]) -> String {
    format!("/{}", elements.join("/"))
}

/// The actor system as seen by the node's inbound dispatch.
struct Actors {
    core: Arc<Core>,
    handler: Handler,
}

impl LocalActors for Actors {
    fn exists(&self, local_path: &str) -> bool {
        self.core.exists(local_path)
    }

    fn on_lookup(&self, local_path: &str) {
        let Some(deathwatch) = self.core.deathwatch.get() else {
            return;
        };
        if !self.core.watched.lock().insert(local_path.to_string()) {
            return;
        }
        match self.core.system.resolve_local(&elements(local_path), 0) {
            Some(actor) => deathwatch.tell(actor),
            None => {
                self.core.watched.lock().remove(local_path);
            }
        }
    }

    fn select(&self, pattern: &[SelectionElement]) -> Vec<String> {
        let mut paths: Vec<String> = self
            .core
            .exports
            .lock()
            .keys()
            .filter(|k| matches_pattern(pattern, k))
            .cloned()
            .collect();
        for p in self.core.select_actors(pattern) {
            if !paths.contains(&p) {
                paths.push(p);
            }
        }
        paths
    }

    fn uid(&self, local_path: &str) -> Option<i32> {
        if self.core.exports.lock().contains_key(local_path) {
            return None;
        }
        self.core
            .system
            .resolve_local(&elements(local_path), 0)
            .map(|a| a.path().uid)
    }

    fn handler(&self) -> &Handler {
        &self.handler
    }
}

/// Joins a [`RemoteNode`] and an actor system: the system's actors become
/// reachable from other nodes by path, and refs to remote paths send over
/// the node (Pekko's `RemoteActorRefProvider`). Cheap to clone.
#[derive(Clone)]
pub struct RemoteActorRefProvider {
    resolver: ActorRefResolver,
}

impl std::fmt::Debug for RemoteActorRefProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteActorRefProvider")
            .field("address", self.resolver.node().address())
            .finish()
    }
}

impl RemoteActorRefProvider {
    /// Attaches `system` to `node`: inbound messages for paths of the
    /// system are decoded with `registry` and delivered to its actors. The
    /// system and the node must have the same system name. Binds `String`
    /// (serializer 20) in `registry` if nothing is bound to it yet.
    pub fn new(
        node: &RemoteNode,
        system: &SystemHandle,
        registry: SerializerRegistry,
    ) -> Result<Self, RefError> {
        if system.name() != node.address().system {
            return Err(RefError::SystemNameMismatch {
                system: system.name().to_string(),
                node: node.address().system.clone(),
            });
        }
        if !registry.is_bound(20, "") {
            registry.bind::<String>("");
        }
        let core = Arc::new(Core {
            system: system.clone(),
            registry,
            exports: Mutex::new(HashMap::new()),
            counter: AtomicU64::new(0),
            deathwatch: OnceLock::new(),
            watched: Mutex::new(HashSet::new()),
        });
        match system.system_actor_of(
            deathwatch(Arc::downgrade(&node.inner), Arc::downgrade(&core)),
            "rekko-remote-deathwatch",
        ) {
            Ok(r) => {
                let _ = core.deathwatch.set(r);
            }
            Err(e) => {
                warn!(error = %e, "remote watchers of this system's actors will not be notified")
            }
        }
        let inbound_core = core.clone();
        let handler: Handler = Arc::new(move |node: &RemoteNode, d: Delivery| {
            ActorRefResolver::new(node.clone(), inbound_core.clone()).deliver_inbound(d);
        });
        node.inner.endpoints.lock().attach(Arc::new(Actors {
            core: core.clone(),
            handler,
        }));
        Ok(RemoteActorRefProvider {
            resolver: ActorRefResolver::new(node.clone(), core),
        })
    }

    /// The typed ref resolver of this node and system.
    pub fn resolver(&self) -> ActorRefResolver {
        self.resolver.clone()
    }

    /// The remoting node.
    pub fn node(&self) -> &RemoteNode {
        self.resolver.node()
    }

    /// A ref to the actor at `path` on another node; its `tell` serializes
    /// with `M`'s binding and sends without a sender.
    pub fn remote_ref<M: WireMessage>(&self, path: &ActorPath) -> ActorRef<M> {
        self.resolver.remote_ref(path)
    }

    /// The full path of the local actor `r` as other nodes address it, as
    /// [`ActorRefResolver::to_serialization_format`]. Every actor of the
    /// system is reachable from other nodes by exact path, `Identify` and
    /// wildcard selection without this; it only renders the path.
    pub fn expose<M: Send + 'static>(&self, r: &ActorRef<M>) -> String {
        self.resolver.to_serialization_format(r)
    }

    /// Sends `msg` to `to` with `sender` as the envelope's sender: a remote
    /// receiver sees a ref it can reply to (`getSender()` on the JVM), and
    /// replies reach `sender`. To a local actor this is a plain `tell`.
    pub fn tell_from<M: WireMessage, S: Send + 'static>(
        &self,
        to: &ActorRef<M>,
        msg: M,
        sender: &ActorRef<S>,
    ) -> Result<(), RefError> {
        if is_remote_ref(to) {
            let s = self.resolver.to_serialization_format(sender);
            self.resolver.send(&to.path(), Some(&s), &msg)
        } else {
            to.tell(msg);
            Ok(())
        }
    }

    /// Asks `to`: `make` builds the request from a temporary reply ref,
    /// which is also the envelope's sender, so the answer may come to the
    /// `replyTo` inside the message (Pekko typed) or to the sender (Pekko
    /// classic). The reply type must be bound in the registry.
    pub async fn ask<M, R, F>(
        &self,
        to: &ActorRef<M>,
        make: F,
        timeout: Duration,
    ) -> Result<R, RefError>
    where
        M: WireMessage,
        R: Send + 'static,
        F: FnOnce(ActorRef<R>) -> M,
    {
        let core = self.resolver.core();
        let local = core.temp_path("ask");
        let full = format!("{}{}", self.node().address(), local);
        let path = ActorPath::parse(&full).map_err(|e| RefError::InvalidPath {
            path: full.clone(),
            reason: e.to_string(),
        })?;
        let (tx, rx) = oneshot::channel();
        let promise = ActorRef::from_target(Arc::new(PromiseTarget::new(tx, path)));
        core.exports.lock().insert(
            local.clone(),
            Export {
                deliver: super::refs::typed_export(promise.clone()),
                once: true,
            },
        );
        let msg = make(promise);
        let sent = if is_remote_ref(to) {
            self.resolver.send(&to.path(), Some(&full), &msg)
        } else {
            to.tell(msg);
            Ok(())
        };
        let r = match sent {
            Ok(()) => tokio::time::timeout(timeout, rx)
                .await
                .ok()
                .and_then(Result::ok),
            Err(e) => {
                core.exports.lock().remove(&local);
                return Err(e);
            }
        };
        core.exports.lock().remove(&local);
        r.ok_or_else(|| RefError::AskTimeout {
            path: to.path().to_string(),
            timeout,
        })
    }

    /// An actor selection on another node; `path` may contain `*` and `?`
    /// wildcards and `..` (e.g. `pekko://Sys@host:2552/user/worker-*`).
    pub fn actor_selection(&self, path: &str) -> Result<ActorSelection, RefError> {
        ActorSelection::new(self.resolver.clone(), path)
    }
}

impl RemoteRefProvider for RemoteActorRefProvider {
    fn remote_ref<M: WireMessage>(&self, path: &ActorPath) -> ActorRef<M> {
        self.resolver.remote_ref(path)
    }
}

impl ActorRefResolver {
    /// Delivers one inbound message for a local path that is not a
    /// registered endpoint: an exported recipient, else the actor of the
    /// system at that path.
    pub(crate) fn deliver_inbound(&self, d: Delivery) {
        let recipient = d.recipient.clone();
        let serializer = d.message.serializer_id;
        let manifest = d.message.manifest.clone();
        let export = {
            let mut exports = self.core().exports.lock();
            let e = exports.get(&recipient).cloned();
            if e.as_ref().is_some_and(|e| e.once) {
                exports.remove(&recipient);
            }
            e
        };
        let result = match export {
            Some(e) => (e.deliver)(self, d),
            None => {
                let core = self.core();
                let path = ActorPath {
                    address: core.system.address().clone(),
                    elements: elements(&recipient),
                    uid: 0,
                };
                self.with_current(|| {
                    core.registry.deliver(
                        &core.system,
                        &path,
                        serializer,
                        &manifest,
                        &d.message.payload,
                    )
                })
                .map_err(|e| e.to_string())
            }
        };
        if let Err(reason) = result {
            warn!(
                recipient = %recipient,
                serializer,
                manifest = %manifest,
                "dropping message for [{recipient}] (serializer id [{serializer}], manifest [{manifest}]): {reason}"
            );
            self.node().inner.emit(RemoteEvent::MessageDropped {
                reason: format!(
                    "{reason} (recipient {recipient}, serializer id {serializer}, manifest {manifest:?})"
                ),
            });
        }
    }
}

/// Watches local actors that other nodes looked up (`Watch`, `Identify`);
/// when one stops, every remote watcher registered for it gets a
/// `DeathWatchNotification` naming the watchee exactly as its `Watch` did.
fn deathwatch(node: Weak<Inner>, core: Weak<Core>) -> Behavior<AnyActorRef> {
    Behaviors::receive(|ctx, actor: AnyActorRef| {
        ctx.watch_any(&actor);
        Behaviors::same()
    })
    .receive_signal(move |_ctx, signal| {
        if let Some(actor) = signal.terminated_ref() {
            let local = local_path(&actor.path().elements);
            if let Some(core) = core.upgrade() {
                core.watched.lock().remove(&local);
            }
            if let Some(inner) = node.upgrade() {
                notify_remote_watchers(&inner, &local);
            }
        }
        Behaviors::same()
    })
}

/// Sends `DeathWatchNotification(existenceConfirmed = true)` to every remote
/// watcher of the local actor at `local`.
fn notify_remote_watchers(inner: &Arc<Inner>, local: &str) {
    let mut watched = Vec::new();
    inner.watchers.lock().retain(|watchee, watchers| {
        let here = watchee
            .parse::<crate::ActorPath>()
            .is_ok_and(|p| p.address == inner.local.address && p.path_string() == local);
        if here {
            watched.push((watchee.clone(), std::mem::take(watchers)));
        }
        !here
    });
    for (watchee, watchers) in watched {
        for w in watchers {
            inner.send_system(
                &w,
                SystemMessage::DeathWatchNotification {
                    actor: watchee.clone(),
                    existence_confirmed: true,
                    address_terminated: false,
                },
            );
        }
    }
}
