//! `KillSwitch` (unique and shared) and `watch_termination`.

use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Weak};
use std::task::{ready, Context, Poll};

use futures::task::AtomicWaker;
use futures::Stream;
use parking_lot::Mutex;

use crate::bidi::BidiFlow;
use crate::dsl::{promise, Elems, Flow, Promise, StreamFuture};
use crate::error::StreamError;
use crate::ops::poll_up;

const RUNNING: u8 = 0;
const SHUTDOWN: u8 = 1;
const ABORTED: u8 = 2;

#[derive(Default)]
struct KillState {
    state: AtomicU8,
    error: Mutex<Option<StreamError>>,
    /// One per stage the state controls (two for `single_bidi`).
    wakers: [AtomicWaker; 2],
}

impl KillState {
    fn trigger(&self, r: Result<(), StreamError>) {
        let mut err = self.error.lock();
        if self.state.load(Ordering::Acquire) != RUNNING {
            return; // only the first command counts
        }
        match r {
            Ok(()) => self.state.store(SHUTDOWN, Ordering::Release),
            Err(e) => {
                *err = Some(e);
                self.state.store(ABORTED, Ordering::Release);
            }
        }
        drop(err);
        for w in &self.wakers {
            w.wake();
        }
    }
}

struct KillStage<T> {
    up: Option<Elems<T>>,
    st: Arc<KillState>,
    /// Which of the state's wakers this stage uses.
    slot: usize,
    done: bool,
}

impl<T> KillStage<T> {
    fn new(up: Elems<T>, st: Arc<KillState>, slot: usize) -> Self {
        KillStage {
            up: Some(up),
            st,
            slot,
            done: false,
        }
    }
}

impl<T> Stream for KillStage<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        this.st.wakers[this.slot].register(cx.waker());
        match this.st.state.load(Ordering::Acquire) {
            SHUTDOWN => {
                this.done = true;
                this.up = None;
                return Poll::Ready(None);
            }
            ABORTED => {
                this.done = true;
                this.up = None;
                let e = this
                    .st
                    .error
                    .lock()
                    .clone()
                    .unwrap_or_else(|| StreamError::msg("aborted by kill switch"));
                return Poll::Ready(Some(Err(e)));
            }
            _ => {}
        }
        poll_up(&mut this.up, cx)
    }
}

/// Terminates the one stream it was materialized in (Pekko `UniqueKillSwitch`).
#[derive(Clone)]
pub struct UniqueKillSwitch {
    st: Arc<KillState>,
}

impl std::fmt::Debug for UniqueKillSwitch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UniqueKillSwitch")
    }
}

impl UniqueKillSwitch {
    /// Completes downstream and cancels upstream. Only the first command has an effect.
    pub fn shutdown(&self) {
        self.st.trigger(Ok(()));
    }
    /// Fails downstream with `e` and cancels upstream. Only the first command has an effect.
    pub fn abort(&self, e: StreamError) {
        self.st.trigger(Err(e));
    }
}

struct SharedInner {
    name: String,
    terminal: Mutex<Option<Result<(), StreamError>>>,
    members: Mutex<Vec<Weak<KillState>>>,
}

/// Terminates every stream its flows were materialized in, including later ones (Pekko
/// `SharedKillSwitch`).
#[derive(Clone)]
pub struct SharedKillSwitch {
    inner: Arc<SharedInner>,
}

impl std::fmt::Debug for SharedKillSwitch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedKillSwitch")
            .field("name", &self.inner.name)
            .finish()
    }
}

impl SharedKillSwitch {
    /// The name given at creation.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// A flow stage controlled by this switch; usable in any number of streams.
    pub fn flow<T: Send + 'static>(&self) -> Flow<T, T, ()> {
        let inner = self.inner.clone();
        Flow::from_materializer(move |up, _| {
            let st = Arc::new(KillState::default());
            match inner.terminal.lock().clone() {
                Some(r) => st.trigger(r),
                None => {
                    let mut m = inner.members.lock();
                    m.retain(|w| w.strong_count() > 0);
                    m.push(Arc::downgrade(&st));
                }
            }
            (Box::pin(KillStage::new(up, st, 0)) as Elems<T>, ())
        })
    }

    /// Completes all controlled streams. Only the first command has an effect.
    pub fn shutdown(&self) {
        self.trigger(Ok(()));
    }

    /// Fails all controlled streams with `e`. Only the first command has an effect.
    pub fn abort(&self, e: StreamError) {
        self.trigger(Err(e));
    }

    fn trigger(&self, r: Result<(), StreamError>) {
        {
            let mut t = self.inner.terminal.lock();
            if t.is_some() {
                return;
            }
            *t = Some(r.clone());
        }
        let members: Vec<_> = self.inner.members.lock().drain(..).collect();
        for m in members.iter().filter_map(Weak::upgrade) {
            m.trigger(r.clone());
        }
    }
}

/// Kill switch factories (Pekko `KillSwitches`).
pub struct KillSwitches;

impl KillSwitches {
    /// A flow materializing a [`UniqueKillSwitch`] (Pekko `KillSwitches.single`).
    pub fn single<T: Send + 'static>() -> Flow<T, T, UniqueKillSwitch> {
        Flow::from_materializer(|up, _| {
            let st = Arc::new(KillState::default());
            (
                Box::pin(KillStage::new(up, st.clone(), 0)) as Elems<T>,
                UniqueKillSwitch { st },
            )
        })
    }

    /// A bidi flow passing both directions through unchanged, materializing one
    /// [`UniqueKillSwitch`] that terminates both (Pekko `KillSwitches.singleBidi`).
    pub fn single_bidi<T1: Send + 'static, T2: Send + 'static>(
    ) -> BidiFlow<T1, T1, T2, T2, UniqueKillSwitch> {
        BidiFlow::from_materializer(|top: Elems<T1>, bottom: Elems<T2>, _| {
            let st = Arc::new(KillState::default());
            (
                Box::pin(KillStage::new(top, st.clone(), 0)) as Elems<T1>,
                Box::pin(KillStage::new(bottom, st.clone(), 1)) as Elems<T2>,
                UniqueKillSwitch { st },
            )
        })
    }

    /// A new [`SharedKillSwitch`] (Pekko `KillSwitches.shared`).
    pub fn shared(name: impl Into<String>) -> SharedKillSwitch {
        SharedKillSwitch {
            inner: Arc::new(SharedInner {
                name: name.into(),
                terminal: Mutex::new(None),
                members: Mutex::new(Vec::new()),
            }),
        }
    }
}

struct WatchTermination<T> {
    up: Option<Elems<T>>,
    p: Promise<()>,
}

impl<T> Stream for WatchTermination<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let r = ready!(poll_up(&mut this.up, cx));
        match &r {
            Some(Err(e)) => this.p.complete(Err(e.clone())),
            None => this.p.complete(Ok(())),
            Some(Ok(_)) => {}
        }
        Poll::Ready(r)
    }
}

impl<T> Drop for WatchTermination<T> {
    fn drop(&mut self) {
        // downstream cancelled: a normal termination
        if !self.p.is_completed() {
            self.p.complete(Ok(()));
        }
    }
}

impl<T: Send + 'static> Flow<T, T, StreamFuture<()>> {
    /// A pass-through whose materialized future completes when the stream terminates
    /// here: `Ok` on completion or cancellation, `Err` on failure (Pekko `watchTermination`).
    pub fn watch_termination() -> Self {
        Flow::from_materializer(|up, _| {
            let (p, fut) = promise();
            (
                Box::pin(WatchTermination { up: Some(up), p }) as Elems<T>,
                fut,
            )
        })
    }
}

impl<T> Unpin for KillStage<T> {}
impl<T> Unpin for WatchTermination<T> {}
