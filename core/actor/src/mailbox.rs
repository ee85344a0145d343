//! An actor's mailbox: a lock-free queue of ordinary messages, a small locked side queue for
//! system messages and unstashed messages, and one atomic state word (scheduled, closed).
//!
//! Senders never take a lock for ordinary messages: they push onto a lock-free multi-producer
//! queue and set the scheduled bit with one atomic operation. Only the running actor consumes.
//! The queues are allocated on the first message, so an idle actor that never got one stays
//! small.
//!
//! Protocol (no message is lost):
//! - a sender pushes, then sets `SCHEDULED`; it schedules the actor when the bit was clear;
//! - the consumer, finding nothing, clears `SCHEDULED`, then looks again; if work appeared it
//!   takes the bit back (or leaves, when a sender already took it and scheduled a new turn);
//! - `close` sets `CLOSED` and drains; a sender that sees `CLOSED` in the state it replaced
//!   after its push drains too, so a message pushed during close still reaches dead letters.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use crossbeam_queue::SegQueue;
use parking_lot::Mutex;

use crate::cell::{Envelope, SysMsg};

const SCHEDULED: u32 = 1;
const CLOSED: u32 = 2;
/// The side queue (system or unstashed messages) may hold something.
const SIDE: u32 = 4;
const FLAG_BITS: u32 = 8;

/// What the consumer takes next.
pub(crate) enum Item<M> {
    Sys(SysMsg),
    User(Envelope<M>),
}

/// The outcome of putting a message in.
pub(crate) enum Push<M> {
    /// Queued; the caller must schedule the actor when `true`.
    Queued(bool),
    /// Not queued: closed or full.
    Rejected(Envelope<M>),
    /// Queued, but the mailbox closed meanwhile: these messages (the caller's among them)
    /// were drained and go to dead letters.
    Drained(Vec<Envelope<M>>),
}

struct Side<M> {
    sys: VecDeque<SysMsg>,
    /// Messages put back at the front (unstash), taken before the lock-free queue.
    front: VecDeque<Envelope<M>>,
}

struct Queues<M> {
    user: SegQueue<Envelope<M>>,
    side: Mutex<Side<M>>,
}

/// Leftovers of a closed mailbox.
pub(crate) struct Leftovers<M> {
    pub(crate) sys: Vec<SysMsg>,
    pub(crate) user: Vec<Envelope<M>>,
}

pub(crate) struct Mailbox<M> {
    /// Flag bits, and the dispatcher index above `FLAG_BITS`.
    state: AtomicU32,
    /// 0 means unbounded.
    capacity: u32,
    q: OnceLock<Box<Queues<M>>>,
}

impl<M> Mailbox<M> {
    pub(crate) fn new(capacity: u32, dispatcher: u8) -> Self {
        Mailbox {
            state: AtomicU32::new(u32::from(dispatcher) << FLAG_BITS),
            capacity,
            q: OnceLock::new(),
        }
    }

    fn queues(&self) -> &Queues<M> {
        self.q.get_or_init(|| {
            Box::new(Queues {
                user: SegQueue::new(),
                side: Mutex::new(Side {
                    sys: VecDeque::new(),
                    front: VecDeque::new(),
                }),
            })
        })
    }

    pub(crate) fn dispatcher(&self) -> u8 {
        (self.state.load(Ordering::Relaxed) >> FLAG_BITS) as u8
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Sets the scheduled bit; `true` when it was clear (the caller schedules).
    pub(crate) fn try_schedule(&self) -> bool {
        let prev = self.state.fetch_or(SCHEDULED, Ordering::AcqRel);
        prev & (SCHEDULED | CLOSED) == 0
    }

    /// Clears the scheduled bit (a turn on a closed mailbox ends).
    pub(crate) fn clear_scheduled(&self) {
        self.state.fetch_and(!SCHEDULED, Ordering::AcqRel);
    }

    /// Puts an ordinary message in (senders; lock-free).
    pub(crate) fn push(&self, env: Envelope<M>) -> Push<M> {
        if self.is_closed() {
            return Push::Rejected(env);
        }
        let q = self.queues();
        if self.capacity != 0 && q.user.len() >= self.capacity as usize {
            return Push::Rejected(env);
        }
        q.user.push(env);
        let prev = self.state.fetch_or(SCHEDULED, Ordering::AcqRel);
        if prev & CLOSED != 0 {
            let mut drained = Vec::new();
            while let Some(e) = q.user.pop() {
                drained.push(e);
            }
            return Push::Drained(drained);
        }
        Push::Queued(prev & SCHEDULED == 0)
    }

    /// Puts a system message in; `Err` gives it back when the mailbox is closed, `Ok(true)`
    /// means the caller schedules.
    pub(crate) fn push_sys(&self, msg: SysMsg) -> Result<bool, SysMsg> {
        let q = self.queues();
        let mut side = q.side.lock();
        if self.is_closed() {
            return Err(msg);
        }
        side.sys.push_back(msg);
        let prev = self.state.fetch_or(SIDE | SCHEDULED, Ordering::AcqRel);
        Ok(prev & SCHEDULED == 0)
    }

    /// Puts messages back at the front, in order (unstash; only from the running actor).
    /// `Err` gives them back when the mailbox is closed.
    pub(crate) fn prepend(&self, msgs: VecDeque<M>) -> Result<(), VecDeque<M>> {
        let q = self.queues();
        let mut side = q.side.lock();
        if self.is_closed() {
            return Err(msgs);
        }
        for m in msgs.into_iter().rev() {
            side.front.push_front(Envelope::Msg(m));
        }
        self.state.fetch_or(SIDE, Ordering::AcqRel);
        Ok(())
    }

    /// Takes the next item (only the running actor): system messages first, then unstashed
    /// messages, then the queue; ordinary messages only when `running`.
    pub(crate) fn next(&self, running: bool) -> Option<Item<M>> {
        let q = self.q.get()?;
        if self.state.load(Ordering::Acquire) & SIDE != 0 {
            let mut side = q.side.lock();
            let item = match side.sys.pop_front() {
                Some(s) => Some(Item::Sys(s)),
                None if running => side.front.pop_front().map(Item::User),
                None => None,
            };
            if side.sys.is_empty() && side.front.is_empty() {
                self.state.fetch_and(!SIDE, Ordering::AcqRel);
            }
            if item.is_some() {
                return item;
            }
        }
        if running {
            q.user.pop().map(Item::User)
        } else {
            None
        }
    }

    fn has_work(&self, running: bool) -> bool {
        let Some(q) = self.q.get() else {
            return false;
        };
        if self.state.load(Ordering::Acquire) & SIDE != 0 {
            let side = q.side.lock();
            if !side.sys.is_empty() || (running && !side.front.is_empty()) {
                return true;
            }
        }
        running && !q.user.is_empty()
    }

    /// Called by the consumer that found nothing: `true` when the actor is now idle (or a new
    /// turn was scheduled by a sender), `false` when work arrived and this turn goes on.
    pub(crate) fn go_idle(&self, running: bool) -> bool {
        self.state.fetch_and(!SCHEDULED, Ordering::AcqRel);
        if !self.has_work(running) {
            return true;
        }
        let prev = self.state.fetch_or(SCHEDULED, Ordering::AcqRel);
        prev & SCHEDULED != 0
    }

    /// Closes the mailbox and takes what is left in it.
    pub(crate) fn close(&self) -> Leftovers<M> {
        self.state.fetch_or(CLOSED, Ordering::AcqRel);
        let mut left = Leftovers {
            sys: Vec::new(),
            user: Vec::new(),
        };
        if let Some(q) = self.q.get() {
            {
                let mut side = q.side.lock();
                left.sys.extend(side.sys.drain(..));
                left.user.extend(side.front.drain(..));
            }
            while let Some(e) = q.user.pop() {
                left.user.push(e);
            }
        }
        left
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn msg(e: Item<u64>) -> u64 {
        match e {
            Item::User(Envelope::Msg(m)) => m,
            _ => u64::MAX,
        }
    }

    #[test]
    fn first_push_schedules_and_later_ones_do_not() {
        let mb = Mailbox::<u64>::new(0, 3);
        assert_eq!(mb.dispatcher(), 3);
        assert!(matches!(mb.push(Envelope::Msg(1)), Push::Queued(true)));
        assert!(matches!(mb.push(Envelope::Msg(2)), Push::Queued(false)));
        assert_eq!(mb.next(true).map(msg), Some(1));
        assert_eq!(mb.next(true).map(msg), Some(2));
        assert!(mb.next(true).is_none());
        assert!(mb.go_idle(true));
        assert!(matches!(mb.push(Envelope::Msg(3)), Push::Queued(true)));
    }

    #[test]
    fn system_messages_come_first_and_unstashed_before_queued() {
        let mb = Mailbox::<u64>::new(0, 0);
        assert!(matches!(mb.push(Envelope::Msg(10)), Push::Queued(true)));
        assert!(matches!(mb.push_sys(SysMsg::Stop), Ok(false)));
        assert!(mb.prepend(VecDeque::from(vec![1, 2])).is_ok());
        assert!(matches!(mb.next(true), Some(Item::Sys(SysMsg::Stop))));
        assert_eq!(mb.next(true).map(msg), Some(1));
        assert_eq!(mb.next(true).map(msg), Some(2));
        assert_eq!(mb.next(true).map(msg), Some(10));
        assert!(mb.next(true).is_none());
    }

    #[test]
    fn not_running_takes_only_system_messages() {
        let mb = Mailbox::<u64>::new(0, 0);
        let _ = mb.push(Envelope::Msg(1));
        assert!(mb.next(false).is_none());
        assert!(mb.go_idle(false));
        assert_eq!(mb.next(true).map(msg), Some(1));
    }

    #[test]
    fn go_idle_keeps_the_turn_when_work_arrived() {
        let mb = Mailbox::<u64>::new(0, 0);
        let _ = mb.push(Envelope::Msg(1));
        // Work is there: the consumer keeps the turn (scheduled stays set).
        assert!(!mb.go_idle(true));
        assert!(matches!(mb.push(Envelope::Msg(2)), Push::Queued(false)));
    }

    #[test]
    fn bounded_rejects_when_full() {
        let mb = Mailbox::<u64>::new(2, 0);
        let _ = mb.push(Envelope::Msg(1));
        let _ = mb.push(Envelope::Msg(2));
        assert!(matches!(mb.push(Envelope::Msg(3)), Push::Rejected(_)));
    }

    #[test]
    fn closed_rejects_and_returns_leftovers_in_order() {
        let mb = Mailbox::<u64>::new(0, 0);
        let _ = mb.push(Envelope::Msg(3));
        let _ = mb.prepend(VecDeque::from(vec![1, 2]));
        let _ = mb.push_sys(SysMsg::Stop);
        let left = mb.close();
        assert_eq!(left.sys.len(), 1);
        let user: Vec<u64> = left.user.into_iter().map(|e| msg(Item::User(e))).collect();
        assert_eq!(user, vec![1, 2, 3]);
        assert!(mb.is_closed());
        assert!(matches!(mb.push(Envelope::Msg(4)), Push::Rejected(_)));
        assert!(mb.push_sys(SysMsg::Stop).is_err());
        assert!(mb.prepend(VecDeque::from(vec![5])).is_err());
    }

    /// Several senders and one consumer that goes idle whenever it finds nothing: every message
    /// arrives once, each sender's in order, and whenever the consumer went idle the next push
    /// asked for a new turn.
    #[test]
    fn concurrent_senders_lose_nothing_and_keep_order() {
        const SENDERS: u64 = 4;
        const PER: u64 = 20_000;
        let mb = Arc::new(Mailbox::<u64>::new(0, 0));
        let turns = Arc::new(AtomicU32::new(0));
        let handles: Vec<_> = (0..SENDERS)
            .map(|s| {
                let mb = mb.clone();
                let turns = turns.clone();
                std::thread::spawn(move || {
                    for i in 0..PER {
                        if let Push::Queued(true) = mb.push(Envelope::Msg(s * PER + i)) {
                            turns.fetch_add(1, Ordering::AcqRel);
                        }
                    }
                })
            })
            .collect();
        let mut next = [0u64; SENDERS as usize];
        let mut got = 0;
        let mut consumed_turns = 0;
        while got < SENDERS * PER {
            if turns.load(Ordering::Acquire) == consumed_turns {
                std::thread::yield_now();
                continue;
            }
            consumed_turns += 1;
            // One turn: drain until idle.
            loop {
                match mb.next(true) {
                    Some(e) => {
                        let m = msg(e);
                        let s = (m / PER) as usize;
                        assert_eq!(m % PER, next[s], "sender {s} out of order");
                        next[s] += 1;
                        got += 1;
                    }
                    None => {
                        if mb.go_idle(true) {
                            break;
                        }
                    }
                }
            }
        }
        for h in handles {
            let _ = h.join();
        }
        assert!(mb.next(true).is_none());
        assert_eq!(next, [PER; SENDERS as usize]);
    }
}
