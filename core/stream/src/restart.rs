//! `RestartSource`: re-materializes a source with exponential back-off (Pekko
//! `RestartSource.withBackoff` / `onFailuresWithBackoff`).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures::future::BoxFuture;
use futures::Stream;
use parking_lot::Mutex;
use rand::Rng;
use tokio::time::Instant;

use crate::attributes::Attributes;
use crate::dsl::{Elems, Flow, Sink, Source};
use crate::error::StreamError;
use crate::ops::poll_up;
use crate::ops::timing::Timer;

/// Back-off settings (Pekko `RestartSettings`).
#[derive(Debug, Clone, Copy)]
pub struct RestartSettings {
    min_backoff: Duration,
    max_backoff: Duration,
    random_factor: f64,
    max_restarts: Option<u32>,
    max_restarts_within: Duration,
}

impl RestartSettings {
    /// Restart after `min_backoff * 2^restarts`, capped at `max_backoff`, times a random
    /// factor in `[1, 1 + random_factor)`. Unlimited restarts.
    pub fn new(min_backoff: Duration, max_backoff: Duration, random_factor: f64) -> Self {
        RestartSettings {
            min_backoff,
            max_backoff,
            random_factor: random_factor.max(0.0),
            max_restarts: None,
            max_restarts_within: min_backoff,
        }
    }

    /// At most `count` restarts; the count resets when no restart happened for `within`
    /// (Pekko `withMaxRestarts`).
    pub fn with_max_restarts(mut self, count: u32, within: Duration) -> Self {
        self.max_restarts = Some(count);
        self.max_restarts_within = within;
        self
    }

    fn delay(&self, restarts: u32) -> Duration {
        let exp = self.min_backoff.as_secs_f64() * 2f64.powi(restarts.min(62) as i32);
        let capped = exp.min(self.max_backoff.as_secs_f64());
        let rnd = if self.random_factor > 0.0 {
            1.0 + rand::thread_rng().gen::<f64>() * self.random_factor
        } else {
            1.0
        };
        Duration::try_from_secs_f64(capped * rnd).unwrap_or(self.max_backoff)
    }
}

/// Restart counting and back-off delays of one restarting stage.
struct Backoff {
    settings: RestartSettings,
    restarts: u32,
    reset_deadline: Option<Instant>,
}

impl Backoff {
    fn new(settings: RestartSettings) -> Self {
        Backoff {
            settings,
            restarts: 0,
            reset_deadline: None,
        }
    }

    /// Whether the restart limit is reached (the count resets after a quiet period).
    fn max_reached(&mut self) -> bool {
        if self.reset_deadline.is_some_and(|d| Instant::now() >= d) {
            self.restarts = 0;
        }
        self.settings.max_restarts == Some(self.restarts)
    }

    /// Counts a restart; returns when it is due.
    fn next_restart(&mut self) -> Instant {
        let delay = self.settings.delay(self.restarts);
        self.restarts += 1;
        let now = Instant::now();
        self.reset_deadline = Some(now + self.settings.max_restarts_within);
        now + delay
    }
}

/// Restarting wrappers (Pekko `RestartSource`).
pub struct RestartSource;

impl RestartSource {
    /// Runs the source `factory` builds and builds a new one, after a back-off, whenever it
    /// completes or fails. When the restart limit is reached, the last completion or failure
    /// is passed on.
    pub fn with_backoff<T, M, F>(settings: RestartSettings, factory: F) -> Source<T, ()>
    where
        T: Send + 'static,
        M: 'static,
        F: Fn() -> Source<T, M> + Send + Sync + 'static,
    {
        restarting(settings, factory, false)
    }

    /// Like [`RestartSource::with_backoff`] but restarts only on failure; completion
    /// completes the stream.
    pub fn on_failures_with_backoff<T, M, F>(settings: RestartSettings, factory: F) -> Source<T, ()>
    where
        T: Send + 'static,
        M: 'static,
        F: Fn() -> Source<T, M> + Send + Sync + 'static,
    {
        restarting(settings, factory, true)
    }
}

fn restarting<T, M, F>(settings: RestartSettings, factory: F, only_failures: bool) -> Source<T, ()>
where
    T: Send + 'static,
    M: 'static,
    F: Fn() -> Source<T, M> + Send + Sync + 'static,
{
    // a restarting flow whose wrapped flows ignore their (never ending) input
    let flow = restarting_flow(
        settings,
        move || {
            let source = factory();
            Flow::from_materializer(move |_: Elems<()>, attrs| (source.materialize(attrs).0, ()))
        },
        only_failures,
        "RestartSource",
    );
    Source::never().via(flow)
}

/// Restarting sink wrapper (Pekko `RestartSink`).
pub struct RestartSink;

impl RestartSink {
    /// Feeds the sink `factory` builds and builds a new one, after a back-off, whenever it
    /// finishes (completes, cancels or fails) while upstream still runs (Pekko
    /// `RestartSink.withBackoff`). Elements are back-pressured meanwhile; none is lost
    /// between two sinks. Upstream completion or failure reaches the current sink and ends
    /// the wrapper. When the restart limit is reached, upstream is cancelled.
    pub fn with_backoff<T, M, F>(settings: RestartSettings, factory: F) -> Sink<T, ()>
    where
        T: Send + 'static,
        M: 'static,
        F: Fn() -> Sink<T, M> + Send + Sync + 'static,
    {
        let factory = Arc::new(factory);
        Sink::from_materializer(move |up: Elems<T>, attrs| {
            let factory = factory.clone();
            let attrs = attrs.clone();
            let up = Arc::new(Mutex::new(Lent {
                up: Some(up),
                ended: false,
            }));
            let run = async move {
                let mut backoff = Backoff::new(settings);
                loop {
                    let lend = Lend { shared: up.clone() };
                    let (_, inner) = factory().materialize(Box::pin(lend), &attrs);
                    inner.await;
                    if up.lock().ended {
                        return;
                    }
                    if backoff.max_reached() {
                        tracing::warn!("RestartSink: restart limit reached, cancelling upstream");
                        return;
                    }
                    let at = backoff.next_restart();
                    tracing::info!(
                        restarts = backoff.restarts,
                        "RestartSink: wrapped sink finished, restarting after back-off"
                    );
                    tokio::time::sleep_until(at).await;
                }
            };
            ((), Box::pin(run) as BoxFuture<'static, ()>)
        })
    }
}

/// The upstream of a [`RestartSink`], lent to one wrapped sink after the other.
struct Lent<T> {
    up: Option<Elems<T>>,
    /// Upstream completed or failed (the wrapper ends with the current sink).
    ended: bool,
}

struct Lend<T> {
    shared: Arc<Mutex<Lent<T>>>,
}

impl<T> Stream for Lend<T> {
    type Item = Result<T, StreamError>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut lent = self.shared.lock();
        let r = ready!(poll_up(&mut lent.up, cx));
        if !matches!(r, Some(Ok(_))) {
            lent.ended = true;
        }
        Poll::Ready(r)
    }
}

/// Restarting flow wrapper (Pekko `RestartFlow`).
pub struct RestartFlow;

impl RestartFlow {
    /// Runs elements through the flow `factory` builds and builds a new one, after a
    /// back-off, whenever it completes or fails while upstream still runs (Pekko
    /// `RestartFlow.withBackoff`). Elements inside the failed flow are lost, none between
    /// two flows. When upstream has ended, the flow's completion or failure is passed on;
    /// when the restart limit is reached too, and upstream is cancelled.
    pub fn with_backoff<I, O, M, F>(settings: RestartSettings, factory: F) -> Flow<I, O, ()>
    where
        I: Send + 'static,
        O: Send + 'static,
        M: 'static,
        F: Fn() -> Flow<I, O, M> + Send + Sync + 'static,
    {
        restarting_flow(settings, factory, false, "RestartFlow")
    }

    /// Like [`RestartFlow::with_backoff`] but restarts only on failure; completion of the
    /// wrapped flow completes the stream (Pekko `RestartFlow.onFailuresWithBackoff`).
    pub fn on_failures_with_backoff<I, O, M, F>(
        settings: RestartSettings,
        factory: F,
    ) -> Flow<I, O, ()>
    where
        I: Send + 'static,
        O: Send + 'static,
        M: 'static,
        F: Fn() -> Flow<I, O, M> + Send + Sync + 'static,
    {
        restarting_flow(settings, factory, true, "RestartFlow")
    }
}

/// The restarting stage behind `RestartFlow` and `RestartSource` (`name` is for logs).
fn restarting_flow<I, O, M, F>(
    settings: RestartSettings,
    factory: F,
    only_failures: bool,
    name: &'static str,
) -> Flow<I, O, ()>
where
    I: Send + 'static,
    O: Send + 'static,
    M: 'static,
    F: Fn() -> Flow<I, O, M> + Send + Sync + 'static,
{
    let factory = Arc::new(factory);
    Flow::from_materializer(move |up: Elems<I>, attrs| {
        let s = RestartingFlow {
            factory: factory.clone(),
            attrs: attrs.clone(),
            up: Arc::new(Mutex::new(Lent {
                up: Some(up),
                ended: false,
            })),
            cur: None,
            waiting: false,
            done: false,
            only_failures,
            backoff: Backoff::new(settings),
            timer: Timer::default(),
            started: false,
            name,
        };
        (Box::pin(s) as Elems<O>, ())
    })
}

struct RestartingFlow<I, O, F> {
    factory: Arc<F>,
    attrs: Attributes,
    up: Arc<Mutex<Lent<I>>>,
    cur: Option<Elems<O>>,
    waiting: bool,
    done: bool,
    only_failures: bool,
    backoff: Backoff,
    timer: Timer,
    started: bool,
    name: &'static str,
}

impl<I, O, F> Unpin for RestartingFlow<I, O, F> {}

impl<I, O, M, F> Stream for RestartingFlow<I, O, F>
where
    I: Send + 'static,
    O: Send + 'static,
    M: 'static,
    F: Fn() -> Flow<I, O, M>,
{
    type Item = Result<O, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            if this.waiting {
                ready!(this.timer.poll_fire(cx));
                this.waiting = false;
            }
            if this.cur.is_none() {
                if this.started {
                    tracing::info!(
                        restarts = this.backoff.restarts,
                        "{}: restarting the wrapped stage",
                        this.name
                    );
                }
                this.started = true;
                let lend = Lend {
                    shared: this.up.clone(),
                };
                this.cur = Some((this.factory)().materialize(Box::pin(lend), &this.attrs).0);
            }
            let r = ready!(poll_up(&mut this.cur, cx));
            let failed = match &r {
                Some(Ok(_)) => return Poll::Ready(r),
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "{}: wrapped stage failed", this.name);
                    true
                }
                None => false,
            };
            let ended = this.up.lock().ended;
            if ended || (!failed && this.only_failures) || this.backoff.max_reached() {
                this.done = true;
                this.up.lock().up = None; // cancel upstream
                return Poll::Ready(r);
            }
            let at = this.backoff.next_restart();
            this.timer.arm(at);
            this.waiting = true;
        }
    }
}
