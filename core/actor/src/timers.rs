//! Timers bound to an actor (Pekko's `TimerScheduler`): keyed, cancellable, and never
//! delivering a message from a cancelled or replaced timer.

use std::any::Any;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::runtime::Handle;
use tokio::task::AbortHandle;

use crate::cell::{Cell, Envelope};

trait KeyObj: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn eq_dyn(&self, other: &dyn KeyObj) -> bool;
}

impl<K: Eq + Send + Sync + 'static> KeyObj for K {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn eq_dyn(&self, other: &dyn KeyObj) -> bool {
        other.as_any().downcast_ref::<K>() == Some(self)
    }
}

#[derive(Clone)]
struct TimerKey {
    hash: u64,
    key: Arc<dyn KeyObj>,
}

impl TimerKey {
    fn new<K: Hash + Eq + Send + Sync + 'static>(k: K) -> Self {
        let mut h = DefaultHasher::new();
        std::any::TypeId::of::<K>().hash(&mut h);
        k.hash(&mut h);
        TimerKey {
            hash: h.finish(),
            key: Arc::new(k),
        }
    }
}

impl Hash for TimerKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.hash.hash(state)
    }
}
impl PartialEq for TimerKey {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.key.eq_dyn(&*other.key)
    }
}
impl Eq for TimerKey {}

struct Entry {
    id: u64,
    abort: AbortHandle,
    repeat: bool,
}

/// The timers of one actor.
#[derive(Default)]
pub(crate) struct TimerState {
    by_key: HashMap<TimerKey, Entry>,
    by_id: HashMap<u64, TimerKey>,
    next_id: u64,
}

impl TimerState {
    fn remove_key(&mut self, key: &TimerKey) {
        if let Some(e) = self.by_key.remove(key) {
            e.abort.abort();
            self.by_id.remove(&e.id);
        }
    }

    /// Whether a fired message with this id is still current; single timers end here.
    pub(crate) fn fired(&mut self, id: u64) -> bool {
        let Some(key) = self.by_id.get(&id).cloned() else {
            return false;
        };
        let repeat = self.by_key.get(&key).map(|e| e.repeat).unwrap_or(false);
        if !repeat {
            self.by_id.remove(&id);
            self.by_key.remove(&key);
        }
        true
    }

    pub(crate) fn cancel_all(&mut self) {
        for (_, e) in self.by_key.drain() {
            e.abort.abort();
        }
        self.by_id.clear();
    }
}

/// Starts and cancels timers that send messages to the owning actor. Obtained from
/// [`Behaviors::with_timers`](crate::Behaviors::with_timers) or `ActorContext::timers`.
/// Starting a timer with a key that is in use replaces the old timer; a message from a
/// replaced or cancelled timer is never delivered, even if it was already enqueued.
pub struct TimerScheduler<M> {
    state: Arc<Mutex<TimerState>>,
    cell: Weak<Cell<M>>,
    runtime: Handle,
}

impl<M> Clone for TimerScheduler<M> {
    fn clone(&self) -> Self {
        TimerScheduler {
            state: self.state.clone(),
            cell: self.cell.clone(),
            runtime: self.runtime.clone(),
        }
    }
}

enum Kind {
    FixedDelay(Duration, Duration),
    FixedRate(Duration, Duration),
}

impl<M: Send + 'static> TimerScheduler<M> {
    pub(crate) fn new(state: Arc<Mutex<TimerState>>, cell: Weak<Cell<M>>, runtime: Handle) -> Self {
        TimerScheduler {
            state,
            cell,
            runtime,
        }
    }

    /// Sends `msg` once after `delay`.
    pub fn start_single_timer<K>(&self, key: K, msg: M, delay: Duration)
    where
        K: Hash + Eq + Send + Sync + 'static,
    {
        let key = TimerKey::new(key);
        let mut st = self.state.lock();
        st.remove_key(&key);
        st.next_id += 1;
        let id = st.next_id;
        let cell = self.cell.clone();
        let h = self.runtime.spawn(async move {
            tokio::time::sleep(delay).await;
            if let Some(c) = cell.upgrade() {
                c.enqueue(Envelope::Timer { id, msg });
            }
        });
        st.by_id.insert(id, key.clone());
        st.by_key.insert(
            key,
            Entry {
                id,
                abort: h.abort_handle(),
                repeat: false,
            },
        );
    }

    /// Sends `msg` every `delay`, measured from the previous send.
    pub fn start_timer_with_fixed_delay<K>(&self, key: K, msg: M, delay: Duration)
    where
        K: Hash + Eq + Send + Sync + 'static,
        M: Clone,
    {
        self.start_repeating(TimerKey::new(key), msg, Kind::FixedDelay(delay, delay));
    }

    /// Like [`start_timer_with_fixed_delay`](Self::start_timer_with_fixed_delay) with a different first delay.
    pub fn start_timer_with_fixed_delay_initial<K>(
        &self,
        key: K,
        msg: M,
        initial: Duration,
        delay: Duration,
    ) where
        K: Hash + Eq + Send + Sync + 'static,
        M: Clone,
    {
        self.start_repeating(TimerKey::new(key), msg, Kind::FixedDelay(initial, delay));
    }

    /// Sends `msg` at a fixed rate of once per `interval` (catching up after delays).
    pub fn start_timer_at_fixed_rate<K>(&self, key: K, msg: M, interval: Duration)
    where
        K: Hash + Eq + Send + Sync + 'static,
        M: Clone,
    {
        self.start_repeating(TimerKey::new(key), msg, Kind::FixedRate(interval, interval));
    }

    fn start_repeating(&self, key: TimerKey, msg: M, kind: Kind)
    where
        M: Clone,
    {
        let mut st = self.state.lock();
        st.remove_key(&key);
        st.next_id += 1;
        let id = st.next_id;
        let cell = self.cell.clone();
        let h = self.runtime.spawn(async move {
            match kind {
                Kind::FixedDelay(initial, delay) => {
                    tokio::time::sleep(initial).await;
                    loop {
                        match cell.upgrade() {
                            Some(c) => c.enqueue(Envelope::Timer {
                                id,
                                msg: msg.clone(),
                            }),
                            None => return,
                        }
                        tokio::time::sleep(delay).await;
                    }
                }
                Kind::FixedRate(initial, interval) => {
                    let start = tokio::time::Instant::now() + initial;
                    let mut iv = tokio::time::interval_at(start, interval);
                    iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                    loop {
                        iv.tick().await;
                        match cell.upgrade() {
                            Some(c) => c.enqueue(Envelope::Timer {
                                id,
                                msg: msg.clone(),
                            }),
                            None => return,
                        }
                    }
                }
            }
        });
        st.by_id.insert(id, key.clone());
        st.by_key.insert(
            key,
            Entry {
                id,
                abort: h.abort_handle(),
                repeat: true,
            },
        );
    }

    /// Whether a timer with this key is active.
    pub fn is_timer_active<K>(&self, key: K) -> bool
    where
        K: Hash + Eq + Send + Sync + 'static,
    {
        self.state.lock().by_key.contains_key(&TimerKey::new(key))
    }

    /// Cancels the timer with this key; its pending message is discarded.
    pub fn cancel<K>(&self, key: K)
    where
        K: Hash + Eq + Send + Sync + 'static,
    {
        self.state.lock().remove_key(&TimerKey::new(key));
    }

    /// Cancels all timers.
    pub fn cancel_all(&self) {
        self.state.lock().cancel_all();
    }
}
