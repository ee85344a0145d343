//! Supervision: what happens when a behavior fails (panics or a wrapped behavior gives up).

use std::any::Any;
use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::behavior::{
    interpret_message, interpret_signal, start, Behavior, Behaviors, Inner, Signal, Wrapper,
};
use crate::context::ActorContext;

/// Why an actor failed: the panic message, or a death pact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActorFailure {
    message: String,
    death_pact: bool,
}

impl ActorFailure {
    /// A failure with a message.
    pub fn new(message: impl Into<String>) -> Self {
        ActorFailure {
            message: message.into(),
            death_pact: false,
        }
    }

    /// Pekko's `DeathPactException`: a `Terminated` signal about `actor` was not handled.
    pub fn death_pact(actor: &str) -> Self {
        ActorFailure {
            message: format!("DeathPactException: monitored actor [{actor}] terminated"),
            death_pact: true,
        }
    }

    /// Builds a failure from a caught panic payload.
    pub fn from_panic(payload: Box<dyn Any + Send>) -> Self {
        let message = if let Some(s) = payload.downcast_ref::<&'static str>() {
            (*s).to_string()
        } else if let Some(s) = payload.downcast_ref::<String>() {
            s.clone()
        } else {
            "actor panicked with a non-string payload".to_string()
        };
        ActorFailure::new(message)
    }

    /// The failure's text.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether this is a death pact (unhandled `Terminated`).
    pub fn is_death_pact(&self) -> bool {
        self.death_pact
    }
}

impl fmt::Display for ActorFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Runs `f`, turning a panic into an [`ActorFailure`].
#[inline]
pub(crate) fn guarded<T>(f: impl FnOnce() -> Result<T, ActorFailure>) -> Result<T, ActorFailure> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => Err(ActorFailure::from_panic(p)),
    }
}

/// Restart settings (Pekko's `SupervisorStrategy.restart`).
#[derive(Clone, Debug)]
pub struct RestartStrategy {
    max_restarts: Option<u32>,
    within: Duration,
    stop_children: bool,
    stash_capacity: Option<usize>,
}

impl RestartStrategy {
    /// At most `max_restarts` restarts within `within`; one more failure in that window stops the actor.
    pub fn with_limit(mut self, max_restarts: u32, within: Duration) -> Self {
        self.max_restarts = Some(max_restarts);
        self.within = within;
        self
    }
    /// Whether children are stopped before the restart (default `true`).
    pub fn with_stop_children(mut self, stop: bool) -> Self {
        self.stop_children = stop;
        self
    }
    /// Messages kept while waiting for children to stop (default `pekko.actor.typed.restart-stash-capacity`).
    pub fn with_stash_capacity(mut self, capacity: usize) -> Self {
        self.stash_capacity = Some(capacity);
        self
    }
}

/// Restart-with-backoff settings (Pekko's `SupervisorStrategy.restartWithBackoff`).
#[derive(Clone, Debug)]
pub struct BackoffStrategy {
    min_backoff: Duration,
    max_backoff: Duration,
    random_factor: f64,
    reset_backoff_after: Duration,
    max_restarts: Option<u32>,
    stop_children: bool,
    stash_capacity: Option<usize>,
}

impl BackoffStrategy {
    /// After this long without a failure the backoff starts again from `min_backoff`
    /// (default: `min_backoff`).
    pub fn with_reset_backoff_after(mut self, d: Duration) -> Self {
        self.reset_backoff_after = d;
        self
    }
    /// Stop after this many restarts (default unlimited).
    pub fn with_max_restarts(mut self, n: u32) -> Self {
        self.max_restarts = Some(n);
        self
    }
    /// Whether children are stopped before the restart (default `true`).
    pub fn with_stop_children(mut self, stop: bool) -> Self {
        self.stop_children = stop;
        self
    }
    /// Messages kept while backing off (default `pekko.actor.typed.restart-stash-capacity`).
    pub fn with_stash_capacity(mut self, capacity: usize) -> Self {
        self.stash_capacity = Some(capacity);
        self
    }

    /// The delay before restart number `restart_count` (0-based), as Pekko computes it:
    /// `min(max, min * 2^n) * (1 + random * random_factor)`.
    pub fn delay(&self, restart_count: u32, random: f64) -> Duration {
        let rnd = 1.0 + random * self.random_factor;
        if restart_count >= 30 {
            return self.max_backoff;
        }
        let exp = self.min_backoff.as_secs_f64() * 2f64.powi(restart_count as i32);
        let capped = exp.min(self.max_backoff.as_secs_f64());
        Duration::try_from_secs_f64(capped * rnd).unwrap_or(self.max_backoff)
    }
}

/// What a supervisor does when the behavior fails.
#[derive(Clone, Debug)]
pub enum SupervisorStrategy {
    /// Stop the actor (the default without `supervise`).
    Stop,
    /// Keep the current behavior and state; the failing message is dropped.
    Resume,
    /// Replace the behavior with a fresh copy of the initial one; the mailbox is kept, the failing message dropped.
    Restart(RestartStrategy),
    /// Restart after an exponentially growing delay.
    Backoff(BackoffStrategy),
}

impl SupervisorStrategy {
    /// Stop on failure.
    pub fn stop() -> Self {
        SupervisorStrategy::Stop
    }
    /// Resume on failure.
    pub fn resume() -> Self {
        SupervisorStrategy::Resume
    }
    /// Restart without limit; refine with [`RestartStrategy::with_limit`].
    pub fn restart() -> RestartStrategy {
        RestartStrategy {
            max_restarts: None,
            within: Duration::ZERO,
            stop_children: true,
            stash_capacity: None,
        }
    }
    /// Restart with exponential backoff.
    pub fn restart_with_backoff(
        min_backoff: Duration,
        max_backoff: Duration,
        random_factor: f64,
    ) -> BackoffStrategy {
        BackoffStrategy {
            min_backoff,
            max_backoff,
            random_factor,
            reset_backoff_after: min_backoff,
            max_restarts: None,
            stop_children: true,
            stash_capacity: None,
        }
    }
}

impl From<RestartStrategy> for SupervisorStrategy {
    fn from(r: RestartStrategy) -> Self {
        SupervisorStrategy::Restart(r)
    }
}

impl From<BackoffStrategy> for SupervisorStrategy {
    fn from(b: BackoffStrategy) -> Self {
        SupervisorStrategy::Backoff(b)
    }
}

/// A behavior waiting for its supervisor strategy; see [`Behaviors::supervise`].
pub struct Supervise<M> {
    behavior: Behavior<M>,
}

static TOKENS: AtomicU64 = AtomicU64::new(1);

impl<M: Send + 'static> Supervise<M> {
    pub(crate) fn new(behavior: Behavior<M>) -> Self {
        Supervise { behavior }
    }

    /// Applies `strategy` to every failure of the wrapped behavior.
    pub fn on_failure(self, strategy: impl Into<SupervisorStrategy>) -> Behavior<M> {
        Behavior(Inner::Wrapped(Box::new(Supervisor {
            template: Some(self.behavior),
            current: Behaviors::empty(),
            strategy: strategy.into(),
            restart_count: 0,
            deadline: None,
            last_restart: None,
            restarting: None,
            token: TOKENS.fetch_add(1, Ordering::Relaxed),
        })))
    }
}

struct Restarting<M> {
    stash: VecDeque<M>,
    children: HashSet<usize>,
    got_scheduled: bool,
}

struct Supervisor<M> {
    template: Option<Behavior<M>>,
    current: Behavior<M>,
    strategy: SupervisorStrategy,
    restart_count: u32,
    deadline: Option<Instant>,
    last_restart: Option<Instant>,
    restarting: Option<Restarting<M>>,
    token: u64,
}

impl<M: Send + 'static> Supervisor<M> {
    fn fresh(&mut self) -> Option<Behavior<M>> {
        let t = self.template.as_ref()?;
        match t.try_clone() {
            Some(b) => Some(b),
            None => self.template.take(),
        }
    }

    fn handle(
        &mut self,
        ctx: &mut ActorContext<M>,
        r: Result<Behavior<M>, ActorFailure>,
    ) -> Result<Behavior<M>, ActorFailure> {
        match r {
            Ok(next) => match next.0 {
                Inner::Same | Inner::Unhandled | Inner::Stopped(_) => Ok(next),
                _ => {
                    let started = guarded(|| start(next, ctx));
                    match started {
                        Ok(b) if b.is_stopped() => Ok(b),
                        Ok(b) => {
                            self.current = b;
                            Ok(Behaviors::same())
                        }
                        Err(f) => self.on_failure(ctx, f),
                    }
                }
            },
            Err(f) => self.on_failure(ctx, f),
        }
    }

    fn on_failure(
        &mut self,
        ctx: &mut ActorContext<M>,
        failure: ActorFailure,
    ) -> Result<Behavior<M>, ActorFailure> {
        let path = ctx.self_path();
        let (max, stop_children, stash_capacity, backoff) = match &self.strategy {
            SupervisorStrategy::Stop => return Err(failure),
            SupervisorStrategy::Resume => {
                tracing::error!(actor = %path, "supervisor resumes after failure: {failure}");
                return Ok(Behaviors::same());
            }
            SupervisorStrategy::Restart(r) => {
                let now = Instant::now();
                if let Some(d) = self.deadline {
                    if now >= d {
                        self.restart_count = 0;
                        self.deadline = None;
                    }
                }
                if self.deadline.is_none() && r.max_restarts.is_some() {
                    self.deadline = Some(now + r.within);
                }
                (r.max_restarts, r.stop_children, r.stash_capacity, None)
            }
            SupervisorStrategy::Backoff(b) => {
                let now = Instant::now();
                if let Some(t) = self.last_restart {
                    if now.duration_since(t) >= b.reset_backoff_after {
                        self.restart_count = 0;
                    }
                }
                (
                    b.max_restarts,
                    b.stop_children,
                    b.stash_capacity,
                    Some(b.clone()),
                )
            }
        };
        if let Some(max) = max {
            if self.restart_count >= max {
                tracing::error!(actor = %path, "supervisor gives up after {max} restarts: {failure}");
                return Err(failure);
            }
        }
        if self.template.is_none() {
            tracing::error!(actor = %path, "behavior cannot be restarted (not clonable): {failure}");
            return Err(failure);
        }
        tracing::error!(actor = %path, "supervisor restarts actor after failure: {failure}");
        // PreRestart goes to the failed behavior; its own failure is only logged.
        let mut current = std::mem::replace(&mut self.current, Behaviors::empty());
        if let Err(e) = guarded(|| interpret_signal(&mut current, ctx, &Signal::PreRestart)) {
            tracing::error!(actor = %path, "failure during PreRestart: {e}");
        }
        drop(current);
        // Timers belong to the failed incarnation (as in Pekko).
        ctx.cancel_timers();
        let mut children = HashSet::new();
        if stop_children {
            for child in ctx.children() {
                if let Some(cell) = child.cell() {
                    children.insert(cell.id());
                    ctx.watch_any(&child);
                    ctx.stop_any(&child);
                }
            }
        }
        let _ = stash_capacity;
        let stash = self.restarting.take().map(|r| r.stash).unwrap_or_default();
        self.restarting = Some(Restarting {
            stash,
            children,
            got_scheduled: backoff.is_none(),
        });
        if let Some(b) = backoff {
            let delay = b.delay(self.restart_count, rand::random::<f64>());
            ctx.schedule_internal(delay, self.token);
        }
        self.restart_count += 1;
        self.maybe_restart(ctx)
    }

    fn maybe_restart(&mut self, ctx: &mut ActorContext<M>) -> Result<Behavior<M>, ActorFailure> {
        let ready = match &self.restarting {
            Some(r) => r.got_scheduled && r.children.is_empty(),
            None => false,
        };
        if !ready {
            return Ok(Behaviors::same());
        }
        let Some(fresh) = self.fresh() else {
            return Err(ActorFailure::new("behavior cannot be restarted"));
        };
        match guarded(|| start(fresh, ctx)) {
            Ok(b) if b.is_stopped() => Ok(b),
            Ok(b) => {
                self.current = b;
                self.last_restart = Some(Instant::now());
                if let Some(r) = self.restarting.take() {
                    ctx.unstash_front(r.stash);
                }
                Ok(Behaviors::same())
            }
            Err(f) => self.on_failure(ctx, f),
        }
    }

    fn stash_capacity(&self, ctx: &ActorContext<M>) -> usize {
        let configured = match &self.strategy {
            SupervisorStrategy::Restart(r) => r.stash_capacity,
            SupervisorStrategy::Backoff(b) => b.stash_capacity,
            _ => None,
        };
        configured.unwrap_or_else(|| ctx.system().settings().actor.typed.restart_stash_capacity)
    }
}

impl<M: Send + 'static> Wrapper<M> for Supervisor<M> {
    fn start(&mut self, ctx: &mut ActorContext<M>) -> Result<Behavior<M>, ActorFailure> {
        let Some(fresh) = self.fresh() else {
            return Err(ActorFailure::new("behavior cannot be started twice"));
        };
        match guarded(|| start(fresh, ctx)) {
            Ok(b) if b.is_stopped() => Ok(b),
            Ok(b) => {
                self.current = b;
                Ok(Behaviors::same())
            }
            Err(f) => match &self.strategy {
                // A failing start is retried only by limited restarts and backoff, as in Pekko.
                SupervisorStrategy::Restart(r) if r.max_restarts.is_some() => {
                    self.on_failure(ctx, f)
                }
                SupervisorStrategy::Backoff(_) => self.on_failure(ctx, f),
                _ => Err(f),
            },
        }
    }

    fn receive(&mut self, ctx: &mut ActorContext<M>, msg: M) -> Result<Behavior<M>, ActorFailure> {
        if self.restarting.is_some() {
            let cap = self.stash_capacity(ctx);
            if let Some(r) = &mut self.restarting {
                if r.stash.len() < cap {
                    r.stash.push_back(msg);
                } else {
                    ctx.dead_letter(msg);
                }
            }
            return Ok(Behaviors::same());
        }
        let r = guarded(|| interpret_message(&mut self.current, ctx, msg));
        self.handle(ctx, r)
    }

    fn signal(
        &mut self,
        ctx: &mut ActorContext<M>,
        sig: &Signal,
    ) -> Result<Behavior<M>, ActorFailure> {
        if let Some(r) = &mut self.restarting {
            if let Some(id) = sig.terminated_ref().and_then(|a| a.cell()).map(|c| c.id()) {
                if r.children.remove(&id) {
                    return self.maybe_restart(ctx);
                }
            }
            if matches!(sig, Signal::PostStop) {
                return Ok(Behaviors::same());
            }
            tracing::debug!(actor = %ctx.self_path(), "signal {sig:?} dropped while restarting");
            return Ok(Behaviors::same());
        }
        let r = guarded(|| interpret_signal(&mut self.current, ctx, sig));
        if matches!(sig, Signal::PostStop) {
            return r.or_else(|f| {
                tracing::error!(actor = %ctx.self_path(), "failure during PostStop: {f}");
                Ok(Behaviors::same())
            });
        }
        self.handle(ctx, r)
    }

    fn internal(
        &mut self,
        ctx: &mut ActorContext<M>,
        token: u64,
    ) -> Option<Result<Behavior<M>, ActorFailure>> {
        if token == self.token {
            if let Some(r) = &mut self.restarting {
                r.got_scheduled = true;
            }
            return Some(self.maybe_restart(ctx));
        }
        match &mut self.current.0 {
            Inner::Wrapped(w) => {
                let r = w.internal(ctx, token)?;
                Some(self.handle(ctx, r))
            }
            _ => None,
        }
    }

    fn try_clone(&self) -> Option<Box<dyn Wrapper<M>>> {
        Some(Box::new(Supervisor {
            template: Some(self.template.as_ref()?.try_clone()?),
            current: Behaviors::empty(),
            strategy: self.strategy.clone(),
            restart_count: 0,
            deadline: None,
            last_restart: None,
            restarting: None,
            token: TOKENS.fetch_add(1, Ordering::Relaxed),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_delays_double_up_to_max() {
        let b = SupervisorStrategy::restart_with_backoff(
            Duration::from_millis(100),
            Duration::from_secs(1),
            0.0,
        );
        let d: Vec<u128> = (0..6).map(|n| b.delay(n, 0.5).as_millis()).collect();
        assert_eq!(d, vec![100, 200, 400, 800, 1000, 1000]);
        let r = SupervisorStrategy::restart_with_backoff(
            Duration::from_millis(100),
            Duration::from_secs(1),
            0.2,
        );
        assert_eq!(r.delay(0, 1.0).as_millis(), 120);
    }
}
