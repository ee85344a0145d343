//! The one-element channel that connects graph stages and feeds fan-out outputs.
//!
//! The receiver holds at most one element. A plain channel lets the sender put an element
//! in whenever the slot is empty (one element of look-ahead, like a one-slot buffer). A
//! *gated* channel also waits for demand: the sender may send only after the receiver
//! asked for an element (a `poll_next` that found the slot empty), which is Pekko's
//! pull/push handshake across the connection with no look-ahead at all.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use futures::Stream;
use parking_lot::Mutex;

struct State<I> {
    item: Option<I>,
    /// The receiver is waiting for an element (meaningful for gated channels).
    demand: bool,
    tx_alive: bool,
    rx_alive: bool,
    rx_waker: Option<Waker>,
    tx_waker: Option<Waker>,
}

struct Shared<I> {
    gated: bool,
    state: Mutex<State<I>>,
}

/// Sending end: ready when the receiver is alive, the slot is empty and (for a gated
/// channel) the receiver asked for an element.
pub(crate) struct Sender<I>(Arc<Shared<I>>);

/// Receiving end, a stream of the sent elements that ends once the sender is gone and the
/// slot is empty.
pub(crate) struct Receiver<I>(Arc<Shared<I>>);

/// The receiver is gone: the connection is cancelled.
#[derive(Debug)]
pub(crate) struct Closed;

/// A fresh channel; `gated` makes the sender wait for the receiver's demand.
pub(crate) fn channel<I>(gated: bool) -> (Sender<I>, Receiver<I>) {
    let shared = Arc::new(Shared {
        gated,
        state: Mutex::new(State {
            item: None,
            demand: false,
            tx_alive: true,
            rx_alive: true,
            rx_waker: None,
            tx_waker: None,
        }),
    });
    (Sender(shared.clone()), Receiver(shared))
}

fn store(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

impl<I> Sender<I> {
    /// Ready (`Ok`) when an element can be sent now, `Err` when the receiver is gone.
    pub(crate) fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Closed>> {
        let mut s = self.0.state.lock();
        if !s.rx_alive {
            return Poll::Ready(Err(Closed));
        }
        if s.item.is_none() && (s.demand || !self.0.gated) {
            return Poll::Ready(Ok(()));
        }
        store(&mut s.tx_waker, cx);
        Poll::Pending
    }

    /// Sends `x` if the channel is ready for it now, else gives it back.
    pub(crate) fn try_send(&mut self, x: I) -> Result<(), I> {
        let waker = {
            let mut s = self.0.state.lock();
            if !s.rx_alive || s.item.is_some() || (self.0.gated && !s.demand) {
                return Err(x);
            }
            s.item = Some(x);
            s.demand = false;
            s.rx_waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Sends `x` after [`Sender::poll_ready`] returned `Ok`; gives it back if the receiver
    /// went away in between.
    pub(crate) fn start_send(&mut self, x: I) -> Result<(), I> {
        self.try_send(x)
    }
}

impl<I> Drop for Sender<I> {
    fn drop(&mut self) {
        let waker = {
            let mut s = self.0.state.lock();
            s.tx_alive = false;
            s.rx_waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl<I> Stream for Receiver<I> {
    type Item = I;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<I>> {
        let shared = &self.0;
        let mut s = shared.state.lock();
        if let Some(x) = s.item.take() {
            // a plain channel has room again; a gated one waits for the next demand
            let waker = if shared.gated {
                None
            } else {
                s.tx_waker.take()
            };
            drop(s);
            if let Some(w) = waker {
                w.wake();
            }
            return Poll::Ready(Some(x));
        }
        if !s.tx_alive {
            return Poll::Ready(None);
        }
        store(&mut s.rx_waker, cx);
        let waker = if shared.gated && !s.demand {
            s.demand = true;
            s.tx_waker.take()
        } else {
            None
        };
        drop(s);
        if let Some(w) = waker {
            w.wake();
        }
        Poll::Pending
    }
}

impl<I> Drop for Receiver<I> {
    fn drop(&mut self) {
        let (item, waker) = {
            let mut s = self.0.state.lock();
            s.rx_alive = false;
            (s.item.take(), s.tx_waker.take())
        };
        drop(item);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::task::noop_waker_ref;
    use futures::StreamExt;

    fn cx() -> Context<'static> {
        Context::from_waker(noop_waker_ref())
    }

    #[test]
    fn plain_channel_holds_one_element_ahead() {
        let (mut tx, mut rx) = channel::<u32>(false);
        assert!(matches!(tx.poll_ready(&mut cx()), Poll::Ready(Ok(()))));
        assert!(tx.start_send(1).is_ok());
        assert!(tx.poll_ready(&mut cx()).is_pending(), "the slot is full");
        assert_eq!(tx.try_send(2), Err(2));
        assert_eq!(rx.poll_next_unpin(&mut cx()), Poll::Ready(Some(1)));
        assert!(matches!(tx.poll_ready(&mut cx()), Poll::Ready(Ok(()))));
    }

    #[test]
    fn gated_channel_sends_only_after_demand() {
        let (mut tx, mut rx) = channel::<u32>(true);
        assert!(tx.poll_ready(&mut cx()).is_pending(), "no demand yet");
        assert_eq!(tx.try_send(1), Err(1));
        assert!(rx.poll_next_unpin(&mut cx()).is_pending());
        assert!(matches!(tx.poll_ready(&mut cx()), Poll::Ready(Ok(()))));
        assert!(tx.start_send(1).is_ok());
        assert!(tx.poll_ready(&mut cx()).is_pending(), "demand used up");
        assert_eq!(rx.poll_next_unpin(&mut cx()), Poll::Ready(Some(1)));
        assert!(
            tx.poll_ready(&mut cx()).is_pending(),
            "taking an element is not yet demand for the next"
        );
    }

    #[test]
    fn ends_after_the_last_element_once_the_sender_is_gone() {
        let (mut tx, mut rx) = channel::<u32>(false);
        assert!(tx.start_send(7).is_ok());
        drop(tx);
        assert_eq!(rx.poll_next_unpin(&mut cx()), Poll::Ready(Some(7)));
        assert_eq!(rx.poll_next_unpin(&mut cx()), Poll::Ready(None));
    }

    #[test]
    fn dropping_the_receiver_closes_the_sender() {
        let (mut tx, rx) = channel::<u32>(true);
        drop(rx);
        assert!(matches!(tx.poll_ready(&mut cx()), Poll::Ready(Err(Closed))));
        assert_eq!(tx.try_send(1), Err(1));
    }
}
