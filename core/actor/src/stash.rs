//! Stash buffer (Pekko's `StashBuffer`): keep messages aside and replay them later in order.

use std::collections::VecDeque;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;

use crate::behavior::Behavior;
use crate::cell::Cell;
use crate::context::ActorContext;
use crate::error::StashOverflow;

/// A bounded buffer of messages owned by one actor. Obtained from
/// [`Behaviors::with_stash`](crate::Behaviors::with_stash).
pub struct StashBuffer<M> {
    buf: Arc<Mutex<VecDeque<M>>>,
    capacity: usize,
    cell: Weak<Cell<M>>,
}

impl<M> Clone for StashBuffer<M> {
    fn clone(&self) -> Self {
        StashBuffer {
            buf: self.buf.clone(),
            capacity: self.capacity,
            cell: self.cell.clone(),
        }
    }
}

impl<M: Send + 'static> StashBuffer<M> {
    pub(crate) fn new(ctx: &ActorContext<M>, capacity: usize) -> Self {
        StashBuffer {
            buf: Arc::new(Mutex::new(VecDeque::new())),
            capacity,
            cell: Arc::downgrade(ctx.cell()),
        }
    }

    /// Adds a message; fails when the buffer holds `capacity` messages.
    pub fn stash(&self, msg: M) -> Result<(), StashOverflow> {
        let mut b = self.buf.lock();
        if b.len() >= self.capacity {
            return Err(StashOverflow {
                actor: self
                    .cell
                    .upgrade()
                    .map(|c| c.path().to_string())
                    .unwrap_or_default(),
                capacity: self.capacity,
            });
        }
        b.push_back(msg);
        Ok(())
    }

    /// Number of stashed messages.
    pub fn size(&self) -> usize {
        self.buf.lock().len()
    }

    /// Whether nothing is stashed.
    pub fn is_empty(&self) -> bool {
        self.buf.lock().is_empty()
    }

    /// Whether the buffer is full.
    pub fn is_full(&self) -> bool {
        self.buf.lock().len() >= self.capacity
    }

    /// The capacity.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Drops all stashed messages.
    pub fn clear(&self) {
        self.buf.lock().clear();
    }

    /// Switches to `behavior` and has it process all stashed messages first, in the order
    /// they were stashed, before any message that is still in the mailbox.
    pub fn unstash_all(&self, behavior: Behavior<M>) -> Behavior<M> {
        let msgs = std::mem::take(&mut *self.buf.lock());
        if let Some(c) = self.cell.upgrade() {
            c.prepend(msgs);
        }
        behavior
    }
}
