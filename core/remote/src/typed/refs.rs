//! The targets behind typed refs: remote actors, ask promises and exported
//! recipients.

use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use parking_lot::Mutex;
use rekko_actor::remote::WireMessage;
use rekko_actor::{ActorPath, ActorRef, ActorRefTarget};
use tokio::sync::oneshot;
use tracing::{debug, warn};

use crate::message::Delivery;
use crate::recipient::Resolved;

use super::provider::{Export, ExportFn};
use super::resolver::ActorRefResolver;

/// An actor on another node: `tell` serializes with `M`'s binding and sends
/// over Artery without a sender. The path is rendered and resolved by the
/// node once, on the first `tell`.
pub(crate) struct RemoteTarget<M> {
    resolver: ActorRefResolver,
    path: ActorPath,
    text: String,
    resolved: OnceLock<Arc<Resolved>>,
    _m: PhantomData<fn(M)>,
}

impl<M> RemoteTarget<M> {
    pub fn new(resolver: ActorRefResolver, path: ActorPath) -> Self {
        RemoteTarget {
            resolver,
            text: path.to_string(),
            path,
            resolved: OnceLock::new(),
            _m: PhantomData,
        }
    }

    fn resolved(&self) -> Result<&Arc<Resolved>, super::error::RefError> {
        if let Some(r) = self.resolved.get() {
            return Ok(r);
        }
        let r = self.resolver.resolve(&self.text)?;
        Ok(self.resolved.get_or_init(|| r))
    }
}

impl<M: WireMessage> ActorRefTarget<M> for RemoteTarget<M> {
    fn tell(&self, msg: M) {
        let sent = self
            .resolved()
            .and_then(|r| self.resolver.send_resolved(r, &self.text, None, &msg));
        if let Err(e) = sent {
            warn!(recipient = %self.path, error = %e, "message to remote actor not sent");
        }
    }
    fn path(&self) -> ActorPath {
        self.path.clone()
    }
}

/// The reply ref of an ask: its first message completes the ask.
pub(crate) struct PromiseTarget<R> {
    tx: Mutex<Option<oneshot::Sender<R>>>,
    path: ActorPath,
}

impl<R> PromiseTarget<R> {
    pub fn new(tx: oneshot::Sender<R>, path: ActorPath) -> Self {
        PromiseTarget {
            tx: Mutex::new(Some(tx)),
            path,
        }
    }
}

impl<R: Send + 'static> ActorRefTarget<R> for PromiseTarget<R> {
    fn tell(&self, msg: R) {
        match self.tx.lock().take() {
            Some(tx) => {
                let _ = tx.send(msg);
            }
            None => debug!(recipient = %self.path, "second reply to an ask dropped"),
        }
    }
    fn path(&self) -> ActorPath {
        self.path.clone()
    }
}

/// Delivers inbound messages to `r`: decoded with the registry, given to
/// `r` if it accepts the decoded type.
pub(crate) fn typed_export<M: Send + 'static>(r: ActorRef<M>) -> ExportFn {
    Arc::new(move |res: &ActorRefResolver, d: Delivery| {
        let registry = &res.core().registry;
        let m = res
            .with_current(|| {
                registry.decode(
                    d.message.serializer_id,
                    &d.message.manifest,
                    &d.message.payload,
                )
            })
            .map_err(|e| e.to_string())?;
        let m = m.downcast::<M>().map_err(|_| {
            format!(
                "[{}] accepts {}, not the type bound to this serializer id and manifest",
                d.recipient,
                std::any::type_name::<M>()
            )
        })?;
        r.tell(*m);
        Ok(())
    })
}

/// A ref to an exported recipient of this node, resolved from its string:
/// messages go through the same path as inbound ones.
pub(crate) struct ExportTarget<M> {
    resolver: ActorRefResolver,
    export: Export,
    local: String,
    path: ActorPath,
    _m: PhantomData<fn(M)>,
}

impl<M> ExportTarget<M> {
    pub fn new(resolver: ActorRefResolver, export: Export, local: String, path: ActorPath) -> Self {
        ExportTarget {
            resolver,
            export,
            local,
            path,
            _m: PhantomData,
        }
    }
}

impl<M: WireMessage> ActorRefTarget<M> for ExportTarget<M> {
    fn tell(&self, msg: M) {
        let message = match self.resolver.serialize(&self.path.to_string(), &msg) {
            Ok(m) => m,
            Err(e) => {
                warn!(recipient = %self.path, error = %e, "message not delivered");
                return;
            }
        };
        let d = Delivery {
            recipient: self.local.clone(),
            sender: None,
            message,
            origin: self.resolver.node().unique_address().clone(),
        };
        if let Err(reason) = (self.export.deliver)(&self.resolver, d) {
            warn!(recipient = %self.path, "message not delivered: {reason}");
        }
    }
    fn path(&self) -> ActorPath {
        self.path.clone()
    }
}
