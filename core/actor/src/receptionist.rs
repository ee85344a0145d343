//! Local receptionist (Pekko's `Receptionist`): register actors under a [`ServiceKey`], find
//! them, subscribe to changes. Registrations end when the actor terminates.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::actor_ref::{ActorRef, AnyActorRef};
use crate::behavior::{AbstractBehavior, Behavior, Behaviors, Signal};
use crate::context::ActorContext;

/// Names a service offered by actors accepting `M`.
pub struct ServiceKey<M> {
    id: Arc<str>,
    _m: PhantomData<fn(M)>,
}

impl<M> ServiceKey<M> {
    /// A key with this id.
    pub fn new(id: &str) -> Self {
        ServiceKey {
            id: Arc::from(id),
            _m: PhantomData,
        }
    }
    /// The id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl<M> Clone for ServiceKey<M> {
    fn clone(&self) -> Self {
        ServiceKey {
            id: self.id.clone(),
            _m: PhantomData,
        }
    }
}
impl<M> fmt::Debug for ServiceKey<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServiceKey[{}]", self.id)
    }
}
impl<M> PartialEq for ServiceKey<M> {
    fn eq(&self, o: &Self) -> bool {
        self.id == o.id
    }
}

/// The actors registered under a key (sent for `find` and to subscribers on every change).
pub struct Listing<M> {
    /// The key.
    pub key: ServiceKey<M>,
    /// The registered actors.
    pub services: Vec<ActorRef<M>>,
}

impl<M> Clone for Listing<M> {
    fn clone(&self) -> Self {
        Listing {
            key: self.key.clone(),
            services: self.services.clone(),
        }
    }
}
impl<M: Send + 'static> fmt::Debug for Listing<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Listing({:?}, {:?})", self.key, self.services)
    }
}

type Slot = (String, TypeId);
type Reply = Box<dyn FnOnce(&[Box<dyn Any + Send>]) + Send>;
type Entry = (AnyActorRef, Box<dyn Any + Send>);
type Notify = Box<dyn Fn(&[Box<dyn Any + Send>]) -> bool + Send>;

enum Cmd {
    Register {
        slot: Slot,
        any: AnyActorRef,
        typed: Box<dyn Any + Send>,
        ack: Option<Box<dyn FnOnce() + Send>>,
    },
    Deregister {
        slot: Slot,
        any: AnyActorRef,
    },
    Find {
        slot: Slot,
        reply: Reply,
    },
    Subscribe {
        slot: Slot,
        notify: Notify,
    },
}

/// A message to the receptionist; build it with [`Receptionist`]'s functions.
pub struct ReceptionistCommand(Cmd);

/// Builders of receptionist commands (send them to `system.receptionist()`).
pub struct Receptionist;

fn slot<M: 'static>(key: &ServiceKey<M>) -> Slot {
    (key.id.to_string(), TypeId::of::<M>())
}

fn listing<M: Send + 'static>(key: &ServiceKey<M>, entries: &[Box<dyn Any + Send>]) -> Listing<M> {
    Listing {
        key: key.clone(),
        services: entries
            .iter()
            .filter_map(|e| e.downcast_ref::<ActorRef<M>>().cloned())
            .collect(),
    }
}

impl Receptionist {
    /// Registers `service` under `key`.
    pub fn register<M: Send + 'static>(
        key: &ServiceKey<M>,
        service: ActorRef<M>,
    ) -> ReceptionistCommand {
        ReceptionistCommand(Cmd::Register {
            slot: slot(key),
            any: service.to_any(),
            typed: wrap_ref(service),
            ack: None,
        })
    }

    /// Registers and replies `Registered` (the key) to `reply_to` once done.
    pub fn register_with_ack<M: Send + 'static>(
        key: &ServiceKey<M>,
        service: ActorRef<M>,
        reply_to: ActorRef<ServiceKey<M>>,
    ) -> ReceptionistCommand {
        let k = key.clone();
        ReceptionistCommand(Cmd::Register {
            slot: slot(key),
            any: service.to_any(),
            typed: wrap_ref(service),
            ack: Some(Box::new(move || reply_to.tell(k))),
        })
    }

    /// Removes a registration.
    pub fn deregister<M: Send + 'static>(
        key: &ServiceKey<M>,
        service: &ActorRef<M>,
    ) -> ReceptionistCommand {
        ReceptionistCommand(Cmd::Deregister {
            slot: slot(key),
            any: service.to_any(),
        })
    }

    /// Replies the current [`Listing`] to `reply_to`.
    pub fn find<M: Send + 'static>(
        key: &ServiceKey<M>,
        reply_to: ActorRef<Listing<M>>,
    ) -> ReceptionistCommand {
        let k = key.clone();
        ReceptionistCommand(Cmd::Find {
            slot: slot(key),
            reply: Box::new(move |entries| reply_to.tell(listing(&k, entries))),
        })
    }

    /// Sends the current [`Listing`] to `subscriber` now and after every change.
    pub fn subscribe<M: Send + 'static>(
        key: &ServiceKey<M>,
        subscriber: ActorRef<Listing<M>>,
    ) -> ReceptionistCommand {
        let k = key.clone();
        ReceptionistCommand(Cmd::Subscribe {
            slot: slot(key),
            notify: Box::new(move |entries| {
                let alive = match subscriber.local() {
                    Some(c) => !crate::cell::ErasedCell::is_terminated(&**c),
                    None => true,
                };
                if alive {
                    subscriber.tell(listing(&k, entries));
                }
                alive
            }),
        })
    }
}

#[derive(Default)]
struct Registry {
    services: HashMap<Slot, Vec<Entry>>,
    subscribers: HashMap<Slot, Vec<Notify>>,
}

impl Registry {
    fn notify(&mut self, slot: &Slot) {
        if let Some(subs) = self.subscribers.get_mut(slot) {
            let list = self.services.get(slot).map(|v| v.as_slice()).unwrap_or(&[]);
            subs.retain(|n| n(&typed_slice(list)));
        }
    }
}

fn typed_slice(entries: &[(AnyActorRef, Box<dyn Any + Send>)]) -> Vec<Box<dyn Any + Send>> {
    // Each entry is an `ActorRef<M>` boxed as `Any`; refs are cheap to clone but `dyn Any` is not
    // clonable, so the registry stores a clone function alongside (see `CloneRef`).
    entries
        .iter()
        .filter_map(|(_, t)| t.downcast_ref::<CloneRef>().map(|c| (c.0)(c)))
        .collect()
}

/// An `ActorRef<M>` boxed with the function that clones it as `Box<dyn Any>`.
struct CloneRef(
    fn(&CloneRef) -> Box<dyn Any + Send>,
    Box<dyn Any + Send + Sync>,
);

fn clone_ref<M: Send + 'static>(c: &CloneRef) -> Box<dyn Any + Send> {
    match c.1.downcast_ref::<ActorRef<M>>() {
        Some(r) => Box::new(r.clone()),
        None => Box::new(()),
    }
}

struct ReceptionistActor {
    reg: Registry,
}

impl AbstractBehavior<ReceptionistCommand> for ReceptionistActor {
    fn on_message(
        &mut self,
        ctx: &mut ActorContext<ReceptionistCommand>,
        msg: ReceptionistCommand,
    ) -> Behavior<ReceptionistCommand> {
        match msg.0 {
            Cmd::Register {
                slot,
                any,
                typed,
                ack,
            } => {
                let list = self.reg.services.entry(slot.clone()).or_default();
                if !list.iter().any(|(a, _)| *a == any) {
                    ctx.watch_any(&any);
                    list.push((any, typed));
                    self.reg.notify(&slot);
                }
                if let Some(a) = ack {
                    a();
                }
            }
            Cmd::Deregister { slot, any } => {
                if let Some(list) = self.reg.services.get_mut(&slot) {
                    let before = list.len();
                    list.retain(|(a, _)| *a != any);
                    if list.len() != before {
                        self.reg.notify(&slot);
                    }
                }
            }
            Cmd::Find { slot, reply } => {
                let list = self
                    .reg
                    .services
                    .get(&slot)
                    .map(|v| v.as_slice())
                    .unwrap_or(&[]);
                reply(&typed_slice(list));
            }
            Cmd::Subscribe { slot, notify } => {
                let list = self
                    .reg
                    .services
                    .get(&slot)
                    .map(|v| v.as_slice())
                    .unwrap_or(&[]);
                if notify(&typed_slice(list)) {
                    self.reg.subscribers.entry(slot).or_default().push(notify);
                }
            }
        }
        Behaviors::same()
    }

    fn on_signal(
        &mut self,
        _ctx: &mut ActorContext<ReceptionistCommand>,
        signal: &Signal,
    ) -> Behavior<ReceptionistCommand> {
        if let Some(dead) = signal.terminated_ref() {
            let mut changed = Vec::new();
            for (slot, list) in self.reg.services.iter_mut() {
                let before = list.len();
                list.retain(|(a, _)| a != dead);
                if list.len() != before {
                    changed.push(slot.clone());
                }
            }
            for s in changed {
                self.reg.notify(&s);
            }
        }
        Behaviors::same()
    }
}

pub(crate) fn behavior() -> Behavior<ReceptionistCommand> {
    Behaviors::setup(|_| {
        ReceptionistActor {
            reg: Registry::default(),
        }
        .into_behavior()
    })
}

pub(crate) fn wrap_ref<M: Send + 'static>(r: ActorRef<M>) -> Box<dyn Any + Send> {
    Box::new(CloneRef(clone_ref::<M>, Box::new(r)))
}
