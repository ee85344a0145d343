//! The typed `ActorRefResolver`: refs to and from their string form.

use std::cell::RefCell;
use std::sync::Arc;

use rekko_actor::remote::{is_local_actor, is_remote_ref, remote_actor_ref, WireMessage};
use rekko_actor::{ActorPath, ActorRef, Address};

use crate::error::RemoteError;
use crate::message::SerializedMessage;
use crate::node::RemoteNode;
use crate::recipient::Resolved;

use super::error::RefError;
use super::provider::{elements, local_path, Core, Export};
use super::refs::{typed_export, ExportTarget, RemoteTarget};

thread_local! {
    static CURRENT: RefCell<Vec<ActorRefResolver>> = const { RefCell::new(Vec::new()) };
}

/// Pekko's typed `ActorRefResolver`: renders refs as strings another node
/// (a JVM too) can resolve, and resolves such strings back to refs. Get it
/// from [`RemoteActorRefProvider::resolver`](super::RemoteActorRefProvider::resolver).
#[derive(Clone)]
pub struct ActorRefResolver {
    node: RemoteNode,
    core: Arc<Core>,
}

impl std::fmt::Debug for ActorRefResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActorRefResolver")
            .field("address", self.node.address())
            .finish()
    }
}

impl ActorRefResolver {
    pub(crate) fn new(node: RemoteNode, core: Arc<Core>) -> Self {
        ActorRefResolver { node, core }
    }

    pub(crate) fn node(&self) -> &RemoteNode {
        &self.node
    }

    pub(crate) fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// The full string form of `r`, with this node's host and port and the
    /// `#uid` of the incarnation, as Pekko's `toSerializationFormat`
    /// (`pekko://Sys@127.0.0.1:25520/user/a#-1234`). An adapter or ask
    /// promise is exported so that messages sent to the string reach it.
    pub fn to_serialization_format<M: Send + 'static>(&self, r: &ActorRef<M>) -> String {
        let p = r.path();
        if is_remote_ref(r) {
            return p.to_string();
        }
        let own = self.is_own(&p.address);
        let uid = if p.uid != 0 {
            format!("#{}", p.uid)
        } else {
            String::new()
        };
        if is_local_actor(r) && own {
            let local = local_path(&p.elements);
            return format!("{}{}{}", self.node.address(), local, uid);
        }
        // Adapters, promises and other targets: reachable through an export.
        let local = if own && !p.elements.is_empty() {
            local_path(&p.elements)
        } else {
            self.core.temp_path("ref")
        };
        let once = local.starts_with("/temp/");
        self.core.exports.lock().insert(
            local.clone(),
            Export {
                deliver: typed_export(r.clone()),
                once,
            },
        );
        format!("{}{}{}", self.node.address(), local, uid)
    }

    /// Resolves the string form of a ref: a path of this node gives the
    /// local actor (checked against `#uid` when present), a path of another
    /// node gives a ref that sends over Artery with `M`'s binding.
    pub fn resolve_actor_ref<M: WireMessage>(&self, s: &str) -> Result<ActorRef<M>, RefError> {
        let p = ActorPath::parse(s).map_err(|e| RefError::InvalidPath {
            path: s.to_string(),
            reason: e.to_string(),
        })?;
        if !self.is_own(&p.address) {
            return Ok(self.remote_ref(&p));
        }
        let local = local_path(&p.elements);
        let export = self.core.exports.lock().get(&local).cloned();
        if let Some(e) = export {
            return Ok(ActorRef::from_target(Arc::new(ExportTarget::new(
                self.clone(),
                e,
                local,
                self.full_path(&p),
            ))));
        }
        let found = self
            .core
            .system
            .resolve_local(&p.elements, p.uid)
            .ok_or_else(|| RefError::NotFound(s.to_string()))?;
        found.downcast::<M>().ok_or_else(|| RefError::WrongType {
            path: s.to_string(),
            type_name: std::any::type_name::<M>(),
        })
    }

    /// A ref to `path` on another node whose `tell` sends without sender.
    pub(crate) fn remote_ref<M: WireMessage>(&self, path: &ActorPath) -> ActorRef<M> {
        remote_actor_ref(Arc::new(RemoteTarget::new(self.clone(), path.clone())))
    }

    /// Serializes `msg` with its binding (refs inside written by this
    /// resolver) and sends it to the remote `to` with an optional sender.
    pub(crate) fn send<M: WireMessage>(
        &self,
        to: &ActorPath,
        sender: Option<&str>,
        msg: &M,
    ) -> Result<(), RefError> {
        let text = to.to_string();
        let r = self.resolve(&text)?;
        self.send_resolved(&r, &text, sender, msg)
    }

    /// The recipient at the full path `text`, resolved once by the node.
    pub(crate) fn resolve(&self, text: &str) -> Result<Arc<Resolved>, RefError> {
        self.node.inner.resolve(text).map_err(|e| match e {
            RemoteError::Wire(artery_wire::WireError::WrongProtocol { .. }) => RefError::Remote(e),
            RemoteError::Wire(w) => RefError::InvalidPath {
                path: text.to_string(),
                reason: w.to_string(),
            },
            other => RefError::Remote(other),
        })
    }

    /// Serializes `msg` and sends it to the resolved recipient `r` (whose
    /// path is `text`) with an optional sender.
    pub(crate) fn send_resolved<M: WireMessage>(
        &self,
        r: &Resolved,
        text: &str,
        sender: Option<&str>,
        msg: &M,
    ) -> Result<(), RefError> {
        let message = self.serialize(text, msg)?;
        self.node.inner.send_resolved(r, sender, &message, false)?;
        Ok(())
    }

    /// `msg` in wire form; refs inside are written by this resolver.
    pub(crate) fn serialize<M: WireMessage>(
        &self,
        to: &str,
        msg: &M,
    ) -> Result<SerializedMessage, RefError> {
        let payload = self
            .with_current(|| msg.to_bytes())
            .map_err(|source| RefError::Encode {
                path: to.to_string(),
                source,
            })?;
        Ok(SerializedMessage {
            serializer_id: M::SERIALIZER_ID,
            manifest: msg.manifest(),
            payload,
        })
    }

    /// Runs `f` with this resolver as the one [`super::serde_actor_ref`]
    /// uses on this thread.
    pub fn with_current<R>(&self, f: impl FnOnce() -> R) -> R {
        struct Pop;
        impl Drop for Pop {
            fn drop(&mut self) {
                CURRENT.with(|c| {
                    c.borrow_mut().pop();
                });
            }
        }
        CURRENT.with(|c| c.borrow_mut().push(self.clone()));
        let _pop = Pop;
        f()
    }

    /// The resolver of the innermost [`with_current`](Self::with_current) on
    /// this thread (set while messages are serialized and deserialized).
    pub fn current() -> Option<ActorRefResolver> {
        CURRENT.with(|c| c.borrow().last().cloned())
    }

    /// Whether `a` is this node: the actor system's local address or the
    /// node's canonical address.
    fn is_own(&self, a: &Address) -> bool {
        let me = self.node.address();
        *a.system == *me.system
            && match (&a.host, a.port) {
                (None, None) => true,
                (Some(h), Some(p)) => {
                    **h == *me.host && p == me.port && *a.protocol == *me.protocol
                }
                _ => false,
            }
    }

    /// `p` with this node's canonical address.
    fn full_path(&self, p: &ActorPath) -> ActorPath {
        let me = self.node.address();
        ActorPath {
            address: Address {
                protocol: Arc::from(me.protocol.as_str()),
                system: Arc::from(me.system.as_str()),
                host: Some(Arc::from(me.host.as_str())),
                port: Some(me.port),
            },
            elements: elements(&local_path(&p.elements)),
            uid: p.uid,
        }
    }
}
