//! Event stream (publish/subscribe by event type) and dead letters.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::actor_ref::{ActorRef, RefInner};
use crate::path::ActorPath;
use crate::settings::LogDeadLetters;

/// A message that could not be delivered (Pekko's `DeadLetter`), published on the event stream.
#[derive(Clone, Debug)]
pub struct DeadLetter {
    /// Rust type name of the message.
    pub message_type: &'static str,
    /// The actor that was processing when the message was sent, if any.
    pub sender: Option<ActorPath>,
    /// The intended recipient.
    pub recipient: ActorPath,
}

type Subscriber = (usize, Box<dyn Any + Send + Sync>);

/// Publish/subscribe by event type (Pekko's `EventStream`): subscribers get every published
/// event of the type they subscribed to; terminated subscribers are dropped.
#[derive(Default)]
pub struct EventStream {
    subs: Mutex<HashMap<TypeId, Vec<Subscriber>>>,
}

fn ref_id<E>(r: &ActorRef<E>) -> usize {
    match &r.0 {
        RefInner::Local(c) => std::sync::Arc::as_ptr(c) as *const () as usize,
        RefInner::Target(t) => std::sync::Arc::as_ptr(t) as *const () as usize,
    }
}

impl EventStream {
    /// Subscribes `subscriber` to events of type `E`.
    pub fn subscribe<E: Clone + Send + 'static>(&self, subscriber: ActorRef<E>) {
        let id = ref_id(&subscriber);
        let mut subs = self.subs.lock();
        let list = subs.entry(TypeId::of::<E>()).or_default();
        if !list.iter().any(|(i, _)| *i == id) {
            list.push((id, Box::new(subscriber)));
        }
    }

    /// Removes a subscription.
    pub fn unsubscribe<E: Clone + Send + 'static>(&self, subscriber: &ActorRef<E>) {
        let id = ref_id(subscriber);
        if let Some(list) = self.subs.lock().get_mut(&TypeId::of::<E>()) {
            list.retain(|(i, _)| *i != id);
        }
    }

    /// Publishes an event to the subscribers of its type.
    pub fn publish<E: Clone + Send + 'static>(&self, event: E) {
        let targets: Vec<ActorRef<E>> = {
            let subs = self.subs.lock();
            match subs.get(&TypeId::of::<E>()) {
                Some(list) => list
                    .iter()
                    .filter_map(|(_, b)| b.downcast_ref::<ActorRef<E>>().cloned())
                    .collect(),
                None => return,
            }
        };
        let mut dead = Vec::new();
        for t in targets {
            let ok = match &t.0 {
                RefInner::Local(c) => c.try_tell(event.clone()),
                RefInner::Target(x) => {
                    x.tell(event.clone());
                    true
                }
            };
            if !ok {
                dead.push(ref_id(&t));
            }
        }
        if !dead.is_empty() {
            if let Some(list) = self.subs.lock().get_mut(&TypeId::of::<E>()) {
                list.retain(|(i, _)| !dead.contains(i));
            }
        }
    }
}

/// Counts dead letters and logs them, rate limited like `pekko.log-dead-letters`.
pub(crate) struct DeadLetterLog {
    limit: LogDeadLetters,
    during_shutdown: bool,
    suspend: Option<Duration>,
    count: AtomicU64,
    logged: Mutex<(u64, Option<tokio::time::Instant>)>,
    pub(crate) shutting_down: AtomicBool,
}

impl DeadLetterLog {
    pub(crate) fn new(
        limit: LogDeadLetters,
        during_shutdown: bool,
        suspend: Option<Duration>,
    ) -> Self {
        DeadLetterLog {
            limit,
            during_shutdown,
            suspend,
            count: AtomicU64::new(0),
            logged: Mutex::new((0, None)),
            shutting_down: AtomicBool::new(false),
        }
    }

    /// Total dead letters seen.
    pub(crate) fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    pub(crate) fn record(&self, dl: &DeadLetter) {
        let total = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        if self.shutting_down.load(Ordering::Relaxed) && !self.during_shutdown {
            return;
        }
        let max = match self.limit {
            LogDeadLetters::Off => return,
            LogDeadLetters::On => u64::MAX,
            LogDeadLetters::Limit(n) => n as u64,
        };
        let mut l = self.logged.lock();
        if let Some(until) = l.1 {
            if tokio::time::Instant::now() < until {
                return;
            }
            *l = (0, None);
        }
        l.0 += 1;
        let sender = dl
            .sender
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_else(|| "Actor[deadLetters]".to_string());
        if l.0 < max {
            tracing::info!(
                sender = %sender,
                recipient = %dl.recipient,
                "Message [{}] from {} to {} was not delivered. [{}] dead letters encountered. \
                 Adjust logging with 'pekko.log-dead-letters' and 'pekko.log-dead-letters-during-shutdown'.",
                dl.message_type, sender, dl.recipient, total
            );
        } else if l.0 == max {
            let how_long = match self.suspend {
                Some(d) => format!("for {} s", d.as_secs()),
                None => "any more".to_string(),
            };
            tracing::info!(
                sender = %sender,
                recipient = %dl.recipient,
                "Message [{}] from {} to {} was not delivered. [{}] dead letters encountered, no more dead letters will be logged {}.",
                dl.message_type, sender, dl.recipient, total, how_long
            );
            l.1 = Some(match self.suspend {
                Some(d) => tokio::time::Instant::now() + d,
                None => tokio::time::Instant::now() + Duration::from_secs(u32::MAX as u64),
            });
        }
    }
}
