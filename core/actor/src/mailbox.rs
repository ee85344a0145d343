//! An actor's mailbox: one short spin lock around the queues, flags the lock guards, and a
//! batch that the running actor takes out of the queue in one go.
//!
//! A sender takes the lock once per message: it appends and learns, in the same critical
//! section, whether the actor was idle (then the sender schedules it). The consumer takes the
//! lock once per batch (up to its remaining `throughput`), so its cost per message is small,
//! and once more to go idle. The flags (scheduled, closed, side queues waiting) live in one
//! atomic word that only a lock holder writes, so a write is a plain store and a reader outside
//! the lock needs no read-modify-write either; releasing the lock is a plain store as well, which
//! leaves one atomic read-modify-write per message on the sender's side. Because the scheduled
//! flag only changes under the lock, no message can be left behind by an actor that went idle,
//! and a bounded mailbox never holds more than its capacity however many senders race.
//!
//! The lock sits in the actor itself; the queues are allocated on the first message, so an idle
//! actor that never got one (a `setup` actor that only started included) stays small.
//!
//! System messages and unstashed messages wait in side queues; the `SIDE` bit tells the consumer
//! to look there before it takes the next message of its batch, and any batch it holds then goes
//! back to the head of the queue, so order is never changed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};

use smallvec::SmallVec;

use crate::cell::{Envelope, SysMsg};

/// The lock of a mailbox and of an actor's state: taking it is one compare-and-swap, releasing
/// it a plain store; a waiter yields its thread, so a holder that lost its CPU gets it back.
pub(crate) type SpinLock<T> = spin::mutex::SpinMutex<T, spin::relax::Yield>;

const CLOSED: u32 = 1;
/// The side queue (system or unstashed messages) may hold something.
const SIDE: u32 = 2;
/// A turn is scheduled or running.
const SCHEDULED: u32 = 4;
const FLAG_BITS: u32 = 8;

/// How many messages the consumer takes out of the queue at most per lock.
pub(crate) const BATCH: usize = 16;

/// Messages the consumer took out of the queue, newest first: `pop` gives the oldest.
pub(crate) type Batch<M> = SmallVec<[Envelope<M>; BATCH]>;

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
}

struct Queues<M> {
    user: VecDeque<Envelope<M>>,
    sys: VecDeque<SysMsg>,
    /// Messages put back at the front (unstash), taken before `user`.
    front: VecDeque<Envelope<M>>,
}

impl<M> Queues<M> {
    fn boxed() -> Box<Self> {
        Box::new(Queues {
            user: VecDeque::new(),
            sys: VecDeque::new(),
            front: VecDeque::new(),
        })
    }

    /// Puts a batch the consumer took back at the head of the queue, order kept.
    fn give_back(&mut self, batch: &mut Batch<M>) {
        // The batch is newest first: pushing each at the front leaves the oldest first.
        for e in batch.drain(..) {
            self.user.push_front(e);
        }
    }
}

/// Leftovers of a closed mailbox.
pub(crate) struct Leftovers<M> {
    pub(crate) sys: Vec<SysMsg>,
    pub(crate) user: Vec<Envelope<M>>,
}

type Guard<'a, M> = spin::mutex::SpinMutexGuard<'a, Option<Box<Queues<M>>>>;

pub(crate) struct Mailbox<M> {
    /// `CLOSED`, `SIDE` and `SCHEDULED` bits, written only while holding `q`; the dispatcher
    /// index above `FLAG_BITS` (fixed).
    state: AtomicU32,
    /// 0 means unbounded.
    capacity: u32,
    q: SpinLock<Option<Box<Queues<M>>>>,
}

impl<M> Mailbox<M> {
    pub(crate) fn new(capacity: u32, dispatcher: u8) -> Self {
        Mailbox {
            state: AtomicU32::new(u32::from(dispatcher) << FLAG_BITS),
            capacity,
            q: SpinLock::new(None),
        }
    }

    /// The flags, read by a lock holder (`_g` proves it holds the lock).
    #[inline]
    fn flags(&self, _g: &Guard<'_, M>) -> u32 {
        self.state.load(Ordering::Relaxed)
    }

    /// Sets and clears flags; only a lock holder writes them, so a store is enough.
    #[inline]
    fn set_flags(&self, _g: &Guard<'_, M>, set: u32, clear: u32) {
        let s = self.state.load(Ordering::Relaxed);
        let n = (s | set) & !clear;
        if n != s {
            self.state.store(n, Ordering::Release);
        }
    }

    pub(crate) fn dispatcher(&self) -> u8 {
        (self.state.load(Ordering::Relaxed) >> FLAG_BITS) as u8
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.state.load(Ordering::Acquire) & CLOSED != 0
    }

    /// Marks the actor scheduled; `true` when it was idle (the caller schedules). Allocates
    /// nothing.
    pub(crate) fn try_schedule(&self) -> bool {
        let g = self.q.lock();
        if self.flags(&g) & (CLOSED | SCHEDULED) != 0 {
            return false;
        }
        self.set_flags(&g, SCHEDULED, 0);
        true
    }

    /// Clears the scheduled flag (a turn on a closed mailbox ends).
    pub(crate) fn clear_scheduled(&self) {
        let g = self.q.lock();
        self.set_flags(&g, 0, SCHEDULED);
    }

    /// Puts an ordinary message in (senders).
    #[inline]
    pub(crate) fn push(&self, env: Envelope<M>) -> Push<M> {
        let mut g = self.q.lock();
        let flags = self.flags(&g);
        if flags & CLOSED != 0 {
            return Push::Rejected(env);
        }
        let q = g.get_or_insert_with(Queues::boxed);
        if self.capacity != 0 && q.user.len() >= self.capacity as usize {
            return Push::Rejected(env);
        }
        q.user.push_back(env);
        if flags & SCHEDULED != 0 {
            return Push::Queued(false);
        }
        self.set_flags(&g, SCHEDULED, 0);
        Push::Queued(true)
    }

    /// Puts a system message in; `Err` gives it back when the mailbox is closed, `Ok(true)`
    /// means the caller schedules.
    pub(crate) fn push_sys(&self, msg: SysMsg) -> Result<bool, SysMsg> {
        let mut g = self.q.lock();
        let flags = self.flags(&g);
        if flags & CLOSED != 0 {
            return Err(msg);
        }
        g.get_or_insert_with(Queues::boxed).sys.push_back(msg);
        self.set_flags(&g, SIDE | SCHEDULED, 0);
        Ok(flags & SCHEDULED == 0)
    }

    /// Puts messages back at the front, in order (unstash; only from the running actor).
    /// `Err` gives them back when the mailbox is closed.
    pub(crate) fn prepend(&self, msgs: VecDeque<M>) -> Result<(), VecDeque<M>> {
        let mut g = self.q.lock();
        if self.flags(&g) & CLOSED != 0 {
            return Err(msgs);
        }
        let q = g.get_or_insert_with(Queues::boxed);
        for m in msgs.into_iter().rev() {
            q.front.push_front(Envelope::Msg(m));
        }
        self.set_flags(&g, SIDE, 0);
        Ok(())
    }

    /// Takes the next item (only the running actor): system messages first, then unstashed
    /// messages, then the queue; ordinary messages only when `running`. `batch` is the
    /// consumer's own store of messages already taken out of the queue; it is refilled with
    /// up to `want - 1` further messages when empty.
    #[inline]
    pub(crate) fn next(&self, running: bool, batch: &mut Batch<M>, want: usize) -> Option<Item<M>> {
        if running && self.state.load(Ordering::Acquire) & SIDE == 0 {
            if let Some(e) = batch.pop() {
                return Some(Item::User(e));
            }
        }
        let mut g = self.q.lock();
        let q = g.as_mut()?;
        if !batch.is_empty() {
            q.give_back(batch);
        }
        let item = if let Some(s) = q.sys.pop_front() {
            Some(Item::Sys(s))
        } else if !running {
            None
        } else if let Some(e) = q.front.pop_front() {
            Some(Item::User(e))
        } else {
            q.user.pop_front().map(|e| {
                let more = want.clamp(1, BATCH + 1).saturating_sub(1).min(q.user.len());
                for _ in 0..more {
                    if let Some(e) = q.user.pop_front() {
                        batch.push(e);
                    }
                }
                // Newest first, so that `pop` gives the oldest.
                batch.reverse();
                Item::User(e)
            })
        };
        let side = !(q.sys.is_empty() && q.front.is_empty());
        if !side {
            self.set_flags(&g, 0, SIDE);
        }
        item
    }

    /// Puts what is left of the consumer's batch back at the head of the queue (end of a
    /// turn); when the mailbox is closed the messages are returned for dead letters instead.
    pub(crate) fn give_back(&self, batch: &mut Batch<M>) -> Vec<Envelope<M>> {
        if batch.is_empty() {
            return Vec::new();
        }
        let mut g = self.q.lock();
        if self.flags(&g) & CLOSED != 0 {
            return batch.drain(..).rev().collect();
        }
        g.get_or_insert_with(Queues::boxed).give_back(batch);
        Vec::new()
    }

    /// Called by the consumer that found nothing: `true` when the actor is now idle, `false`
    /// when work arrived and this turn goes on.
    pub(crate) fn go_idle(&self, running: bool) -> bool {
        let g = self.q.lock();
        if let Some(q) = g.as_ref() {
            let work = !q.sys.is_empty() || (running && !(q.front.is_empty() && q.user.is_empty()));
            if work {
                return false;
            }
        }
        self.set_flags(&g, 0, SCHEDULED);
        true
    }

    /// Closes the mailbox and takes what is left in it (the consumer's batch included).
    pub(crate) fn close(&self, batch: &mut Batch<M>) -> Leftovers<M> {
        let mut g = self.q.lock();
        self.set_flags(&g, CLOSED, 0);
        let mut left = Leftovers {
            sys: Vec::new(),
            user: Vec::new(),
        };
        let q = match g.as_mut() {
            Some(q) => q,
            None if batch.is_empty() => return left,
            None => g.insert(Queues::boxed()),
        };
        q.give_back(batch);
        left.sys.extend(q.sys.drain(..));
        left.user.reserve(q.front.len() + q.user.len());
        left.user.extend(q.front.drain(..));
        left.user.extend(q.user.drain(..));
        left
    }

    /// Whether the queues were allocated (an actor that never got a message has none).
    #[cfg(test)]
    pub(crate) fn has_queues(&self) -> bool {
        self.q.lock().is_some()
    }

    /// How many ordinary messages wait in the queue (not counting a consumer's batch).
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.q.lock().as_ref().map(|q| q.user.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;
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
        let mut b = Batch::new();
        assert_eq!(mb.dispatcher(), 3);
        assert!(matches!(mb.push(Envelope::Msg(1)), Push::Queued(true)));
        assert!(matches!(mb.push(Envelope::Msg(2)), Push::Queued(false)));
        assert_eq!(mb.next(true, &mut b, 5).map(msg), Some(1));
        assert_eq!(mb.next(true, &mut b, 5).map(msg), Some(2));
        assert!(mb.next(true, &mut b, 5).is_none());
        assert!(mb.go_idle(true));
        assert!(matches!(mb.push(Envelope::Msg(3)), Push::Queued(true)));
    }

    /// Scheduling a start and a turn that finds nothing allocate no queues: an idle `setup`
    /// actor stays as small as one that never started.
    #[test]
    fn a_start_without_messages_allocates_no_queues() {
        let mb = Mailbox::<u64>::new(0, 0);
        let mut b = Batch::new();
        assert!(mb.try_schedule());
        assert!(!mb.try_schedule());
        assert!(mb.next(true, &mut b, 5).is_none());
        assert!(mb.go_idle(true));
        assert!(!mb.has_queues());
        assert!(matches!(mb.push(Envelope::Msg(1)), Push::Queued(true)));
        assert!(mb.has_queues());
    }

    #[test]
    fn a_batch_takes_at_most_what_is_wanted() {
        let mb = Mailbox::<u64>::new(0, 0);
        let mut b = Batch::new();
        for i in 0..10 {
            let _ = mb.push(Envelope::Msg(i));
        }
        assert_eq!(mb.next(true, &mut b, 3).map(msg), Some(0));
        assert_eq!(b.len(), 2);
        assert_eq!(mb.queued(), 7);
        // What is left of a batch goes back to the head of the queue.
        assert!(mb.give_back(&mut b).is_empty());
        assert!(b.is_empty());
        let all: Vec<u64> = std::iter::from_fn(|| mb.next(true, &mut b, 100).map(msg)).collect();
        assert_eq!(all, (1..10).collect::<Vec<_>>());
    }

    #[test]
    fn system_messages_come_first_and_unstashed_before_queued() {
        let mb = Mailbox::<u64>::new(0, 0);
        let mut b = Batch::new();
        assert!(matches!(mb.push(Envelope::Msg(10)), Push::Queued(true)));
        assert!(matches!(mb.push_sys(SysMsg::Stop), Ok(false)));
        assert!(mb.prepend(VecDeque::from(vec![1, 2])).is_ok());
        assert!(matches!(
            mb.next(true, &mut b, 5),
            Some(Item::Sys(SysMsg::Stop))
        ));
        assert_eq!(mb.next(true, &mut b, 5).map(msg), Some(1));
        assert_eq!(mb.next(true, &mut b, 5).map(msg), Some(2));
        assert_eq!(mb.next(true, &mut b, 5).map(msg), Some(10));
        assert!(mb.next(true, &mut b, 5).is_none());
    }

    /// A system message or an unstash that arrives while the consumer holds a batch is seen
    /// before the rest of the batch, and the batch keeps its place before newer messages.
    #[test]
    fn side_queues_overtake_a_batch_without_reordering_it() {
        let mb = Mailbox::<u64>::new(0, 0);
        let mut b = Batch::new();
        for i in 10..15 {
            let _ = mb.push(Envelope::Msg(i));
        }
        assert_eq!(mb.next(true, &mut b, 3).map(msg), Some(10));
        assert!(mb.push_sys(SysMsg::Stop).is_ok());
        assert!(mb.prepend(VecDeque::from(vec![1, 2])).is_ok());
        assert!(matches!(
            mb.next(true, &mut b, 3),
            Some(Item::Sys(SysMsg::Stop))
        ));
        let rest: Vec<u64> = std::iter::from_fn(|| mb.next(true, &mut b, 3).map(msg)).collect();
        assert_eq!(rest, vec![1, 2, 11, 12, 13, 14]);
    }

    #[test]
    fn not_running_takes_only_system_messages() {
        let mb = Mailbox::<u64>::new(0, 0);
        let mut b = Batch::new();
        let _ = mb.push(Envelope::Msg(1));
        assert!(mb.next(false, &mut b, 5).is_none());
        assert!(mb.go_idle(false));
        assert_eq!(mb.next(true, &mut b, 5).map(msg), Some(1));
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
        let mut b = Batch::new();
        for i in 3..6 {
            let _ = mb.push(Envelope::Msg(i));
        }
        // The consumer holds 4 and 5 in its batch when the mailbox closes.
        assert_eq!(mb.next(true, &mut b, 3).map(msg), Some(3));
        let _ = mb.push(Envelope::Msg(6));
        let _ = mb.prepend(VecDeque::from(vec![1, 2]));
        let _ = mb.push_sys(SysMsg::Stop);
        let left = mb.close(&mut b);
        assert!(b.is_empty());
        assert_eq!(left.sys.len(), 1);
        let user: Vec<u64> = left.user.into_iter().map(|e| msg(Item::User(e))).collect();
        assert_eq!(user, vec![1, 2, 4, 5, 6]);
        assert!(mb.is_closed());
        assert!(matches!(mb.push(Envelope::Msg(7)), Push::Rejected(_)));
        assert!(mb.push_sys(SysMsg::Stop).is_err());
        assert!(mb.prepend(VecDeque::from(vec![8])).is_err());
        assert!(!mb.try_schedule());
        let mut late = Batch::new();
        late.push(Envelope::Msg(9));
        assert_eq!(mb.give_back(&mut late).len(), 1);
    }

    /// Drains one turn after another like a dispatcher until `stop` says so; calls `seen` for
    /// every message.
    fn consume(mb: &Mailbox<u64>, turns: &AtomicU32, mut seen: impl FnMut(u64) -> bool) {
        let mut consumed_turns = 0;
        let mut b = Batch::new();
        loop {
            if turns.load(Ordering::Acquire) == consumed_turns {
                std::thread::yield_now();
                continue;
            }
            consumed_turns += 1;
            loop {
                match mb.next(true, &mut b, 5) {
                    Some(e) => {
                        if !seen(msg(e)) {
                            return;
                        }
                    }
                    None => {
                        if mb.go_idle(true) {
                            break;
                        }
                    }
                }
            }
        }
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
        consume(&mb, &turns, |m| {
            let s = (m / PER) as usize;
            assert_eq!(m % PER, next[s], "sender {s} out of order");
            next[s] += 1;
            got += 1;
            got < SENDERS * PER
        });
        for h in handles {
            let _ = h.join();
        }
        let mut b = Batch::new();
        assert!(mb.next(true, &mut b, 5).is_none());
        assert_eq!(next, [PER; SENDERS as usize]);
    }

    /// Many senders race on a bounded mailbox while a consumer drains it: the queue never
    /// holds more than its capacity, and every message is either delivered or rejected.
    #[test]
    fn bounded_never_exceeds_capacity_with_concurrent_senders() {
        const SENDERS: u64 = 8;
        const PER: u64 = 5_000;
        const CAP: usize = 16;
        let mb = Arc::new(Mailbox::<u64>::new(CAP as u32, 0));
        let turns = Arc::new(AtomicU32::new(0));
        let rejected = Arc::new(AtomicU64::new(0));
        let over = Arc::new(AtomicU64::new(0));
        let handles: Vec<_> = (0..SENDERS)
            .map(|s| {
                let (mb, turns) = (mb.clone(), turns.clone());
                let (rejected, over) = (rejected.clone(), over.clone());
                std::thread::spawn(move || {
                    for i in 0..PER {
                        match mb.push(Envelope::Msg(s * PER + i)) {
                            Push::Queued(true) => {
                                turns.fetch_add(1, Ordering::AcqRel);
                            }
                            Push::Queued(false) => {}
                            Push::Rejected(_) => {
                                rejected.fetch_add(1, Ordering::AcqRel);
                            }
                        }
                        if mb.queued() > CAP {
                            over.fetch_add(1, Ordering::AcqRel);
                        }
                    }
                })
            })
            .collect();
        let consumer = {
            let (mb, turns) = (mb.clone(), turns.clone());
            std::thread::spawn(move || {
                let mut delivered = 0u64;
                consume(&mb, &turns, |m| {
                    if m != u64::MAX {
                        delivered += 1;
                    }
                    m != u64::MAX
                });
                delivered
            })
        };
        for h in handles {
            let _ = h.join();
        }
        // Every sender is done: a final marker (sent by this thread, which waits for room)
        // ends the consumer after everything queued before it.
        loop {
            match mb.push(Envelope::Msg(u64::MAX)) {
                Push::Queued(idle) => {
                    if idle {
                        turns.fetch_add(1, Ordering::AcqRel);
                    }
                    break;
                }
                Push::Rejected(_) => std::thread::yield_now(),
            }
        }
        let delivered = consumer.join().unwrap_or(0);
        assert_eq!(
            over.load(Ordering::Acquire),
            0,
            "queue held more than {CAP}"
        );
        assert_eq!(delivered + rejected.load(Ordering::Acquire), SENDERS * PER);
        assert!(mb.queued() <= CAP);
    }
}
