//! Actor selections on other nodes, with wildcards, and `Identify`.

use std::sync::Arc;

use artery_wire::misc::{MiscMessage, Payload};
use artery_wire::selection::SelectionEnvelope;
use artery_wire::serializers;
use bytes::Bytes;
use rekko_actor::remote::WireMessage;
use rekko_actor::ActorRef;
use tokio::sync::mpsc;

use crate::message::{Delivery, SerializedMessage};

use super::error::RefError;
use super::provider::{Core, Export};
use super::resolver::ActorRefResolver;

/// Pekko's `ActorSelection` of a path; its elements may be `*`/`?`
/// wildcards (`/user/worker-*`) or `..`. Messages are wrapped in a
/// selection envelope and fanned out by the receiving node to every
/// matching actor. A selection of this node's own address is delivered
/// locally, walked the same way.
#[derive(Clone, Debug)]
pub struct ActorSelection {
    resolver: ActorRefResolver,
    /// The anchor: the root of the target node.
    root: crate::ActorPath,
    /// The pattern below the root, e.g. `/user/worker-*`.
    pattern: String,
    text: String,
}

/// One answer to [`ActorSelection::identify`]: the full path with `#uid` of
/// a matching actor, or `None` when nothing matched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorIdentity {
    /// The identified actor's path, as its node wrote it.
    pub actor_ref: Option<String>,
}

/// The `ActorIdentity` answers to one [`ActorSelection::identify`], as they
/// arrive. Dropping it stops accepting answers.
#[derive(Debug)]
pub struct Identities {
    rx: mpsc::UnboundedReceiver<ActorIdentity>,
    core: Arc<Core>,
    local: String,
}

impl Identities {
    /// The next answer; `None` once no more can come.
    pub async fn recv(&mut self) -> Option<ActorIdentity> {
        self.rx.recv().await
    }
}

impl Drop for Identities {
    fn drop(&mut self) {
        self.core.exports.lock().remove(&self.local);
    }
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("system", &self.system)
            .finish()
    }
}

impl ActorSelection {
    pub(crate) fn new(resolver: ActorRefResolver, path: &str) -> Result<Self, RefError> {
        let target: crate::ActorPath =
            path.parse()
                .map_err(|e: artery_wire::WireError| RefError::InvalidPath {
                    path: path.to_string(),
                    reason: e.to_string(),
                })?;
        Ok(ActorSelection {
            pattern: target.path_string(),
            root: crate::ActorPath::root(target.address.clone()),
            resolver,
            text: path.to_string(),
        })
    }

    /// Sends `msg` to every actor matching the selection, without sender.
    pub fn tell<M: WireMessage>(&self, msg: &M) -> Result<(), RefError> {
        let m = self.resolver.serialize(&self.text, msg)?;
        self.send(None, m)
    }

    /// Sends `msg` to every matching actor with `sender` as the sender;
    /// their replies to it reach `sender`.
    pub fn tell_from<M: WireMessage, S: Send + 'static>(
        &self,
        msg: &M,
        sender: &ActorRef<S>,
    ) -> Result<(), RefError> {
        let s = self.resolver.to_serialization_format(sender);
        let m = self.resolver.serialize(&self.text, msg)?;
        self.send(Some(&s), m)
    }

    /// Sends `Identify` through the selection: every matching actor answers
    /// with its identity (a single `None` answer when nothing matched).
    pub fn identify(&self) -> Result<Identities, RefError> {
        let core = self.resolver.core().clone();
        let local = core.temp_path("identify");
        let (tx, rx) = mpsc::unbounded_channel();
        let deliver = Arc::new(move |_: &ActorRefResolver, d: Delivery| {
            if d.message.serializer_id != serializers::MISC {
                return Err(format!(
                    "expected ActorIdentity, got serializer id {}",
                    d.message.serializer_id
                ));
            }
            match MiscMessage::decode(&d.message.manifest, d.message.payload) {
                Ok(MiscMessage::ActorIdentity { actor_ref, .. }) => {
                    let _ = tx.send(ActorIdentity { actor_ref });
                    Ok(())
                }
                Ok(other) => Err(format!("expected ActorIdentity, got {}", other.manifest())),
                Err(e) => Err(format!("bad ActorIdentity: {e}")),
            }
        });
        core.exports.lock().insert(
            local.clone(),
            Export {
                deliver: deliver.clone(),
                once: false,
            },
        );
        let identities = Identities {
            rx,
            core: core.clone(),
            local: local.clone(),
        };
        let id = Payload::new(
            serializers::STRING,
            "",
            Bytes::copy_from_slice(local.as_bytes()),
        );
        let identify = MiscMessage::Identify { message_id: id };
        let sender = format!("{}{}", self.resolver.node().address(), local);
        self.send(
            Some(&sender),
            SerializedMessage {
                serializer_id: serializers::MISC,
                manifest: identify.manifest().to_string(),
                payload: identify.encode(),
            },
        )?;
        Ok(identities)
    }

    fn send(&self, sender: Option<&str>, m: SerializedMessage) -> Result<(), RefError> {
        let sel = SelectionEnvelope::new(
            Payload::new(m.serializer_id, m.manifest, m.payload),
            &self.pattern,
        );
        let msg = SerializedMessage {
            serializer_id: serializers::MESSAGE_CONTAINER,
            manifest: String::new(),
            payload: sel.encode(),
        };
        self.resolver
            .node()
            .inner
            .tell_path(&self.root, sender, &msg)?;
        Ok(())
    }
}
