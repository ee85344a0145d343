//! The boundary remoting builds on (Artery lives in `rekko-remote`; this is the contract).
//!
//! * [`WireMessage`]: a message type states its Pekko serializer id and manifest once, with its
//!   encoder and decoder.
//! * [`SerializerRegistry`]: decodes inbound `(serializer id, manifest, bytes)` into a typed
//!   message and delivers it to a local actor found by path and uid.
//! * [`RemoteRefProvider`]: the remote crate implements it to hand out `ActorRef<M>`s that point
//!   at a remote path (they are `ActorRef::from_target` over an [`ActorRefTarget`]).

use std::any::{Any, TypeId};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use parking_lot::RwLock;

use crate::actor_ref::{ActorRef, ActorRefTarget, RefInner};
use crate::path::ActorPath;
use crate::system::SystemHandle;

pub use crate::actor_ref::ActorRefTarget as RemoteTarget;

/// Why a wire message could not be handled.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    /// No binding for this serializer id and manifest.
    #[error("no message type bound to serializer id [{serializer_id}] and manifest [{manifest}]")]
    UnknownManifest {
        /// Serializer id.
        serializer_id: i32,
        /// Manifest.
        manifest: String,
    },
    /// The bytes did not decode.
    #[error("cannot decode message with serializer id [{serializer_id}] and manifest [{manifest}]: {reason}")]
    Decode {
        /// Serializer id.
        serializer_id: i32,
        /// Manifest.
        manifest: String,
        /// Decoder's error.
        reason: String,
    },
    /// No local actor at that path (or with that uid).
    #[error("no local actor at [{0}]")]
    NoRecipient(String),
    /// The actor exists but does not accept this message type.
    #[error("actor [{path}] does not accept messages bound to manifest [{manifest}]")]
    WrongType {
        /// Recipient path.
        path: String,
        /// Manifest.
        manifest: String,
    },
}

/// A message that can cross the wire, bound to a Pekko serializer id and manifest
/// (e.g. Jackson JSON: id 31 with the JVM class name as manifest; protobuf: id 2).
pub trait WireMessage: Sized + Send + 'static {
    /// Pekko serializer id.
    const SERIALIZER_ID: i32;
    /// Manifest written with the message (JVM class name for Jackson/protobuf).
    fn manifest(&self) -> String;
    /// Encodes the payload.
    fn to_bytes(&self) -> Result<Bytes, WireError>;
    /// Decodes a payload written under `manifest`.
    fn from_bytes(manifest: &str, bytes: &[u8]) -> Result<Self, WireError>;
}

type Decoder = Arc<dyn Fn(&str, &[u8]) -> Result<Box<dyn Any + Send>, WireError> + Send + Sync>;
type Deliverer =
    Arc<dyn Fn(&crate::actor_ref::AnyActorRef, Box<dyn Any + Send>) -> bool + Send + Sync>;

struct Binding {
    decode: Decoder,
    deliver: Deliverer,
    type_id: TypeId,
}

/// Maps `(serializer id, manifest)` to message types and delivers decoded messages to local actors.
#[derive(Default, Clone)]
pub struct SerializerRegistry {
    bindings: Arc<RwLock<HashMap<(i32, String), Binding>>>,
}

impl SerializerRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds `manifest` under `M::SERIALIZER_ID` to `M`; inbound messages with them decode as `M`
    /// and go to actors accepting `M`.
    pub fn bind<M: WireMessage>(&self, manifest: &str) {
        let decode: Decoder = Arc::new(|man, bytes| {
            M::from_bytes(man, bytes).map(|m| Box::new(m) as Box<dyn Any + Send>)
        });
        let deliver: Deliverer =
            Arc::new(
                |target, msg| match (target.downcast::<M>(), msg.downcast::<M>()) {
                    (Some(r), Ok(m)) => {
                        r.tell(*m);
                        true
                    }
                    _ => false,
                },
            );
        self.bindings.write().insert(
            (M::SERIALIZER_ID, manifest.to_string()),
            Binding {
                decode,
                deliver,
                type_id: TypeId::of::<M>(),
            },
        );
    }

    /// Whether a binding exists.
    pub fn is_bound(&self, serializer_id: i32, manifest: &str) -> bool {
        self.bindings
            .read()
            .contains_key(&(serializer_id, manifest.to_string()))
    }

    /// Decodes a message bound to `(serializer_id, manifest)` without delivering it (for
    /// recipients that are not actors in the tree, such as ask promises and adapters).
    pub fn decode(
        &self,
        serializer_id: i32,
        manifest: &str,
        bytes: &[u8],
    ) -> Result<Box<dyn Any + Send>, WireError> {
        let decode = self
            .bindings
            .read()
            .get(&(serializer_id, manifest.to_string()))
            .map(|b| b.decode.clone())
            .ok_or_else(|| WireError::UnknownManifest {
                serializer_id,
                manifest: manifest.to_string(),
            })?;
        decode(manifest, bytes)
    }

    /// The type bound to `(id, manifest)`.
    pub fn bound_type(&self, serializer_id: i32, manifest: &str) -> Option<TypeId> {
        self.bindings
            .read()
            .get(&(serializer_id, manifest.to_string()))
            .map(|b| b.type_id)
    }

    /// Decodes an inbound message and delivers it to the local actor at `recipient`
    /// (matching its uid when the path carries one).
    pub fn deliver(
        &self,
        system: &SystemHandle,
        recipient: &ActorPath,
        serializer_id: i32,
        manifest: &str,
        bytes: &[u8],
    ) -> Result<(), WireError> {
        let (decode, deliver) = {
            let b = self.bindings.read();
            let binding = b
                .get(&(serializer_id, manifest.to_string()))
                .ok_or_else(|| WireError::UnknownManifest {
                    serializer_id,
                    manifest: manifest.to_string(),
                })?;
            (binding.decode.clone(), binding.deliver.clone())
        };
        let msg = decode(manifest, bytes)?;
        let target = system
            .resolve_local(&recipient.elements, recipient.uid)
            .ok_or_else(|| WireError::NoRecipient(recipient.to_string()))?;
        if deliver(&target, msg) {
            Ok(())
        } else {
            Err(WireError::WrongType {
                path: recipient.to_string(),
                manifest: manifest.to_string(),
            })
        }
    }
}

/// Implemented by the remote transport: refs to actors on other systems.
pub trait RemoteRefProvider: Send + Sync + 'static {
    /// A ref that serializes each message (with its [`WireMessage`] binding) and sends it to `path`.
    fn remote_ref<M: WireMessage>(&self, path: &ActorPath) -> ActorRef<M>;
}

/// Helper for remote crates: wraps a target as an `ActorRef` that [`is_remote_ref`] recognises.
pub fn remote_actor_ref<M: Send + 'static>(target: Arc<dyn ActorRefTarget<M>>) -> ActorRef<M> {
    let marked = Arc::new(RemoteMarked { target });
    remote_targets()
        .lock()
        .insert(Arc::as_ptr(&marked) as *const () as usize);
    ActorRef::from_target(marked)
}

/// Whether `r` points at an actor on another system (made by [`remote_actor_ref`]), as opposed
/// to a local actor, an adapter or an ask promise.
pub fn is_remote_ref<M: Send + 'static>(r: &ActorRef<M>) -> bool {
    match &r.0 {
        RefInner::Target(t) => remote_targets()
            .lock()
            .contains(&(Arc::as_ptr(t) as *const () as usize)),
        RefInner::Local(_) => false,
    }
}

/// Whether `r` is a ref to a local actor of the tree (found again by path and uid with
/// [`SystemHandle::resolve_local`]); false for adapters, promises and remote refs.
pub fn is_local_actor<M: Send + 'static>(r: &ActorRef<M>) -> bool {
    matches!(r.0, RefInner::Local(_))
}

/// Addresses of live targets made by [`remote_actor_ref`].
fn remote_targets() -> &'static parking_lot::Mutex<HashSet<usize>> {
    static SET: OnceLock<parking_lot::Mutex<HashSet<usize>>> = OnceLock::new();
    SET.get_or_init(Default::default)
}

struct RemoteMarked<M> {
    target: Arc<dyn ActorRefTarget<M>>,
}

impl<M: Send + 'static> ActorRefTarget<M> for RemoteMarked<M> {
    fn tell(&self, msg: M) {
        self.target.tell(msg);
    }
    fn path(&self) -> ActorPath {
        self.target.path()
    }
    fn local_cell(&self) -> Option<crate::actor_ref::AnyActorRef> {
        self.target.local_cell()
    }
}

impl<M> Drop for RemoteMarked<M> {
    fn drop(&mut self) {
        remote_targets()
            .lock()
            .remove(&(self as *const Self as *const () as usize));
    }
}

/// `java.lang.String` with Pekko's `StringSerializer` (id 20, no manifest, UTF-8 bytes).
impl WireMessage for String {
    const SERIALIZER_ID: i32 = 20;
    fn manifest(&self) -> String {
        String::new()
    }
    fn to_bytes(&self) -> Result<Bytes, WireError> {
        Ok(Bytes::copy_from_slice(self.as_bytes()))
    }
    fn from_bytes(manifest: &str, bytes: &[u8]) -> Result<Self, WireError> {
        String::from_utf8(bytes.to_vec()).map_err(|e| WireError::Decode {
            serializer_id: Self::SERIALIZER_ID,
            manifest: manifest.to_string(),
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::Address;

    struct Sink(ActorPath);
    impl ActorRefTarget<String> for Sink {
        fn tell(&self, _msg: String) {}
        fn path(&self) -> ActorPath {
            self.0.clone()
        }
    }

    #[test]
    fn remote_refs_are_recognised_and_forgotten_when_dropped() {
        let path = ActorPath::root(Address::remote("Jvm", "127.0.0.1", 2552)).child("user");
        let remote = remote_actor_ref::<String>(Arc::new(Sink(path.clone())));
        let other =
            ActorRef::from_target(Arc::new(Sink(path.clone())) as Arc<dyn ActorRefTarget<String>>);
        assert!(is_remote_ref(&remote));
        assert!(is_remote_ref(&remote.clone()));
        assert!(!is_remote_ref(&other));
        assert!(!is_local_actor(&remote));
        assert_eq!(remote.path(), path);
        let key = match &remote.0 {
            RefInner::Target(t) => Arc::as_ptr(t) as *const () as usize,
            RefInner::Local(_) => unreachable!("a remote ref has a target"),
        };
        assert!(remote_targets().lock().contains(&key));
        drop(remote);
        assert!(!remote_targets().lock().contains(&key));
    }

    #[test]
    fn strings_use_pekkos_string_serializer() {
        let s = "héllo".to_string();
        assert_eq!(String::SERIALIZER_ID, 20);
        assert_eq!(s.manifest(), "");
        let bytes = s.to_bytes().expect("encodes");
        assert_eq!(&bytes[..], "héllo".as_bytes());
        assert_eq!(String::from_bytes("", &bytes).ok(), Some(s));
        assert!(matches!(
            String::from_bytes("", &[0xff]),
            Err(WireError::Decode {
                serializer_id: 20,
                ..
            })
        ));
        let registry = SerializerRegistry::new();
        registry.bind::<String>("");
        let any = registry.decode(20, "", b"x").expect("decodes");
        assert_eq!(
            any.downcast::<String>().ok().map(|b| *b),
            Some("x".to_string())
        );
        assert!(matches!(
            registry.decode(31, "com.example.X", b"{}"),
            Err(WireError::UnknownManifest {
                serializer_id: 31,
                ..
            })
        ));
    }
}
