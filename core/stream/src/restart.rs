//! `RestartSource`: re-materializes a source with exponential back-off (Pekko
//! `RestartSource.withBackoff` / `onFailuresWithBackoff`).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use futures::Stream;
use rand::Rng;
use tokio::time::Instant;

use crate::attributes::Attributes;
use crate::dsl::{Elems, Source};
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
    let factory = Arc::new(factory);
    Source::from_materializer(move |attrs| {
        let s = Restart {
            factory: factory.clone(),
            attrs: attrs.clone(),
            cur: None,
            started: false,
            waiting: false,
            done: false,
            settings,
            only_failures,
            restarts: 0,
            reset_deadline: None,
            timer: Timer::default(),
        };
        (Box::pin(s) as Elems<T>, ())
    })
}

struct Restart<T, F> {
    factory: Arc<F>,
    attrs: Attributes,
    cur: Option<Elems<T>>,
    started: bool,
    waiting: bool,
    done: bool,
    settings: RestartSettings,
    only_failures: bool,
    restarts: u32,
    reset_deadline: Option<Instant>,
    timer: Timer,
}

impl<T, F> Unpin for Restart<T, F> {}

impl<T: Send + 'static, M: 'static, F: Fn() -> Source<T, M>> Restart<T, F> {
    fn max_reached(&mut self) -> bool {
        if self.reset_deadline.is_some_and(|d| Instant::now() >= d) {
            self.restarts = 0;
        }
        self.settings.max_restarts == Some(self.restarts)
    }

    fn schedule(&mut self) {
        let delay = self.settings.delay(self.restarts);
        self.restarts += 1;
        let now = Instant::now();
        self.reset_deadline = Some(now + self.settings.max_restarts_within);
        self.timer.arm(now + delay);
        self.waiting = true;
    }
}

impl<T: Send + 'static, M: 'static, F: Fn() -> Source<T, M>> Stream for Restart<T, F> {
    type Item = Result<T, StreamError>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if this.done {
                return Poll::Ready(None);
            }
            if this.waiting {
                ready!(this.timer.poll_fire(cx));
                this.waiting = false;
                this.cur = None;
            }
            if this.cur.is_none() {
                if this.started {
                    tracing::info!(
                        restarts = this.restarts,
                        "RestartSource: restarting the wrapped source"
                    );
                }
                this.started = true;
                this.cur = Some((this.factory)().materialize(&this.attrs).0);
            }
            match ready!(poll_up(&mut this.cur, cx)) {
                Some(Ok(x)) => return Poll::Ready(Some(Ok(x))),
                Some(Err(e)) => {
                    if this.max_reached() {
                        this.done = true;
                        return Poll::Ready(Some(Err(e)));
                    }
                    tracing::warn!(error = %e, "RestartSource: wrapped source failed, restarting after back-off");
                    this.schedule();
                }
                None => {
                    if this.only_failures || this.max_reached() {
                        this.done = true;
                        return Poll::Ready(None);
                    }
                    this.schedule();
                }
            }
        }
    }
}
