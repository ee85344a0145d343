//! Test helpers in the spirit of Pekko's `actor-testkit-typed`: a [`TestProbe`] is an
//! `ActorRef<M>` whose messages a test can await.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::sync::Mutex;

use crate::actor_ref::{ActorRef, ActorRefTarget};
use crate::path::{ActorPath, Address};

struct ProbeTarget<M> {
    tx: mpsc::UnboundedSender<M>,
    path: ActorPath,
}

impl<M: Send + 'static> ActorRefTarget<M> for ProbeTarget<M> {
    fn tell(&self, msg: M) {
        let _ = self.tx.send(msg);
    }
    fn path(&self) -> ActorPath {
        self.path.clone()
    }
}

/// Receives messages sent to its [`ref_`](TestProbe::ref_) so a test can assert on them.
pub struct TestProbe<M> {
    rx: Mutex<mpsc::UnboundedReceiver<M>>,
    r: ActorRef<M>,
}

impl<M: Send + 'static> TestProbe<M> {
    /// A probe named `name` (path `pekko://testkit/system/name`).
    pub fn new(name: &str) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let path = ActorPath::root(Address::local("testkit"))
            .child("system")
            .child(name);
        TestProbe {
            rx: Mutex::new(rx),
            r: ActorRef::from_target(Arc::new(ProbeTarget { tx, path })),
        }
    }

    /// The ref to hand to actors.
    pub fn ref_(&self) -> ActorRef<M> {
        self.r.clone()
    }

    /// Waits for the next message; `None` if none arrives within `max`.
    pub async fn receive(&self, max: Duration) -> Option<M> {
        let mut rx = self.rx.lock().await;
        tokio::time::timeout(max, rx.recv()).await.ok().flatten()
    }

    /// Waits for the next message, panicking (failing the test) after `max`.
    pub async fn expect_message(&self, max: Duration) -> M {
        match self.receive(max).await {
            Some(m) => m,
            None => panic!("no message received within {max:?}"),
        }
    }

    /// Returns an already queued message without waiting.
    pub fn try_receive(&self) -> Option<M> {
        self.rx.try_lock().ok()?.try_recv().ok()
    }
}
