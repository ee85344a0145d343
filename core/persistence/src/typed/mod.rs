//! Pekko typed's `EventSourcedBehavior` on the rekko-actor runtime.
//!
//! An entity is a persistence id, an empty state, a command handler returning an [`Effect`] and
//! an event handler. Its actor goes through Pekko's phases:
//!
//! 1. **recovering**: load the latest snapshot (if a snapshot codec is set), then replay later
//!    events in pages of `replay_batch_size` (the journal plugin's `replayBatchSize`), then the
//!    [`EventSourcedSignal::RecoveryCompleted`] signal. A payload that cannot be decoded gives
//!    [`EventSourcedSignal::RecoveryFailed`] with an error naming persistence id, sequence number,
//!    serializer and manifest, and the actor fails;
//! 2. **running**: commands go to the command handler;
//! 3. **persisting** / **snapshotting**: commands are stashed (bounded by
//!    `pekko.persistence.typed.stash-capacity`, overflow per `stash-overflow-strategy`) and
//!    processed one by one, in arrival order, once the journal confirmed the write.
//!
//! Every incarnation writes with a fresh writer UUID. A failed write gives
//! [`EventSourcedSignal::JournalPersistFailed`] and fails the actor; supervise the behavior with
//! `SupervisorStrategy::restart_with_backoff` to get Pekko's `onPersistFailure`: the actor is
//! restarted after the back-off and recovers from the store again; side effects of the failed
//! write never run.
//!
//! Differences from Pekko: the command handler receives the command by reference (so
//! `Effect::stash` can keep it); typed event adapters map the event type to itself; there is no
//! recovery permit (`max-concurrent-recoveries`) and no replay timeout; stashed commands do not
//! survive a restart.

mod behavior;
mod effect;
mod settings;

pub use behavior::{
    command_ref, EntityMessage, EventAdapter, EventSourcedBehavior, InternalMessage, Persistence,
};
pub use effect::Effect;
pub use settings::{
    EventSourcedSettings, EventSourcedSignal, PersistenceId, Recovery, RetentionCriteria,
    StashOverflowStrategy,
};
