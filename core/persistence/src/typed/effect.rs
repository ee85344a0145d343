//! Effects returned by an event-sourced command handler (Pekko's `Effect`).

use rekko_actor::ActorRef;

/// What the command handler asks for first.
pub(crate) enum Primary<E> {
    Persist(Vec<E>),
    None,
    Unhandled,
    Stash,
    Stop,
}

/// A chained side effect, run after the primary action (after the write for persists).
pub(crate) enum SideEffect<S> {
    Run(Box<dyn FnOnce(&S) + Send>),
    Stop,
    UnstashAll,
}

/// A primary action (persist one or many events, none, unhandled, stash, stop) plus side
/// effects that run in declaration order once the primary action is done — for persists only
/// after the journal confirmed the write, so replies are sent for durable events only.
pub struct Effect<E, S> {
    pub(crate) primary: Primary<E>,
    pub(crate) side_effects: Vec<SideEffect<S>>,
}

impl<E, S> std::fmt::Debug for Effect<E, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = match &self.primary {
            Primary::Persist(es) => format!("Persist({} events)", es.len()),
            Primary::None => "None".into(),
            Primary::Unhandled => "Unhandled".into(),
            Primary::Stash => "Stash".into(),
            Primary::Stop => "Stop".into(),
        };
        write!(f, "Effect({p}, {} side effects)", self.side_effects.len())
    }
}

impl<E, S: 'static> Effect<E, S> {
    fn primary(primary: Primary<E>) -> Self {
        Effect {
            primary,
            side_effects: Vec::new(),
        }
    }

    /// Persists one event.
    pub fn persist(event: E) -> Self {
        Self::primary(Primary::Persist(vec![event]))
    }

    /// Persists several events as one atomic write (an empty list behaves like [`Effect::none`]).
    pub fn persist_all(events: Vec<E>) -> Self {
        Self::primary(Primary::Persist(events))
    }

    /// Persists nothing; side effects run at once.
    pub fn none() -> Self {
        Self::primary(Primary::None)
    }

    /// The command was not handled (logged as unhandled); side effects still run.
    pub fn unhandled() -> Self {
        Self::primary(Primary::Unhandled)
    }

    /// Stops the actor after the side effects.
    pub fn stop() -> Self {
        Self::primary(Primary::Stop)
    }

    /// Puts the command into the user stash (bounded by the stash capacity).
    pub fn stash() -> Self {
        Self::primary(Primary::Stash)
    }

    /// Starts unstashing the user stash: its commands are processed one after another.
    pub fn unstash_all() -> Self {
        Self::none().then_unstash_all()
    }

    /// Sends `msg` to `reply_to` (a reply-only effect, like Pekko's `Effect.reply`).
    pub fn reply<R: Send + 'static>(reply_to: ActorRef<R>, msg: R) -> Self {
        Self::none().then_run(move |_| reply_to.tell(msg))
    }

    /// Runs `f` with the state after the primary action.
    pub fn then_run<F>(mut self, f: F) -> Self
    where
        F: FnOnce(&S) + Send + 'static,
    {
        self.side_effects.push(SideEffect::Run(Box::new(f)));
        self
    }

    /// Replies to `reply_to` with `f(state)` after the primary action.
    pub fn then_reply<R, F>(self, reply_to: ActorRef<R>, f: F) -> Self
    where
        R: Send + 'static,
        F: FnOnce(&S) -> R + Send + 'static,
    {
        self.then_run(move |s| reply_to.tell(f(s)))
    }

    /// Stops the actor after the primary action and the earlier side effects.
    pub fn then_stop(mut self) -> Self {
        self.side_effects.push(SideEffect::Stop);
        self
    }

    /// Starts unstashing the user stash after the primary action.
    pub fn then_unstash_all(mut self) -> Self {
        self.side_effects.push(SideEffect::UnstashAll);
        self
    }
}
