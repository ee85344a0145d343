//! The system scheduler (Pekko's `Scheduler`), on tokio's timer.

use std::time::Duration;

use tokio::runtime::Handle;
use tokio::task::AbortHandle;

/// Handle to cancel a scheduled task.
#[derive(Debug)]
pub struct Cancellable(AbortHandle);

impl Cancellable {
    pub(crate) fn new(h: AbortHandle) -> Self {
        Cancellable(h)
    }
    /// Cancels; returns `true` if it had not run to completion yet.
    pub fn cancel(&self) -> bool {
        let was = !self.0.is_finished();
        self.0.abort();
        was
    }
    /// Whether it was cancelled or finished.
    pub fn is_cancelled(&self) -> bool {
        self.0.is_finished()
    }
}

/// Runs closures later or periodically.
#[derive(Clone, Debug)]
pub struct Scheduler {
    runtime: Handle,
}

impl Scheduler {
    pub(crate) fn new(runtime: Handle) -> Self {
        Scheduler { runtime }
    }

    /// Runs `f` once after `delay`.
    pub fn schedule_once<F>(&self, delay: Duration, f: F) -> Cancellable
    where
        F: FnOnce() + Send + 'static,
    {
        let h = self.runtime.spawn(async move {
            tokio::time::sleep(delay).await;
            f();
        });
        Cancellable(h.abort_handle())
    }

    /// Runs `f` after `initial`, then again `delay` after each run.
    pub fn schedule_with_fixed_delay<F>(
        &self,
        initial: Duration,
        delay: Duration,
        f: F,
    ) -> Cancellable
    where
        F: Fn() + Send + 'static,
    {
        let h = self.runtime.spawn(async move {
            tokio::time::sleep(initial).await;
            loop {
                f();
                tokio::time::sleep(delay).await;
            }
        });
        Cancellable(h.abort_handle())
    }

    /// Runs `f` after `initial`, then every `interval` (catching up when late).
    pub fn schedule_at_fixed_rate<F>(
        &self,
        initial: Duration,
        interval: Duration,
        f: F,
    ) -> Cancellable
    where
        F: Fn() + Send + 'static,
    {
        let h = self.runtime.spawn(async move {
            let mut iv = tokio::time::interval_at(tokio::time::Instant::now() + initial, interval);
            iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            loop {
                iv.tick().await;
                f();
            }
        });
        Cancellable(h.abort_handle())
    }
}
