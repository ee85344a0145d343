//! Typed actor runtime with Pekko's semantics: actor system, behaviors, supervision, timers,
//! stash, scheduler, event stream, dead letters, receptionist and coordinated shutdown.
//!
//! Names follow Pekko typed, so a Pekko developer reads this without a dictionary:
//! [`Behaviors::setup`], [`Behaviors::receive`], [`Behaviors::same`], [`Behaviors::stopped`],
//! [`Behaviors::supervise`], [`Behaviors::with_timers`], [`Behaviors::with_stash`],
//! [`ActorContext`], [`ActorRef`], `ask`, signals [`Signal::PostStop`], [`Signal::PreRestart`],
//! [`Signal::Terminated`], [`Signal::ChildFailed`].
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use rekko_actor::{ActorRef, ActorSystem, ActorSystemSettings, Behaviors, Behavior};
//!
//! enum Counter {
//!     Increment,
//!     Get { reply_to: ActorRef<u64> },
//! }
//!
//! fn counter(n: u64) -> Behavior<Counter> {
//!     Behaviors::receive_message(move |msg| match msg {
//!         Counter::Increment => counter(n + 1),
//!         Counter::Get { reply_to } => {
//!             reply_to.tell(n);
//!             Behaviors::same()
//!         }
//!     })
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let system = ActorSystem::new(counter(0), "Example", ActorSystemSettings::default()).unwrap();
//! system.tell(Counter::Increment);
//! system.tell(Counter::Increment);
//! let n = system
//!     .guardian()
//!     .ask(|reply_to| Counter::Get { reply_to }, Duration::from_secs(3))
//!     .await;
//! assert_eq!(n, Ok(2));
//! system.terminate();
//! system.when_terminated().await;
//! # }
//! ```
//!
//! # Patterns
//!
//! * **State** lives in the behavior: return a new behavior (`counter(n + 1)`) or implement
//!   [`AbstractBehavior`] for mutable state, created inside `setup` so restarts start fresh.
//! * **Children** are spawned with [`ActorContext::spawn`] / [`ActorContext::spawn_anonymous`];
//!   stopping an actor stops its children first; `PostStop` goes to children before the parent.
//! * **Death watch**: [`ActorContext::watch`] gives [`Signal::Terminated`] (or a message with
//!   [`ActorContext::watch_with`]); an unhandled `Terminated` fails the watcher (death pact).
//! * **Supervision**: `Behaviors::supervise(b).on_failure(SupervisorStrategy::restart())`.
//!   A panic in a handler is a failure; without supervision the actor stops and a watching
//!   parent gets [`Signal::ChildFailed`].
//! * **Request-response**: put an `ActorRef<Reply>` in the message; from outside use
//!   [`ActorRef::ask`], inside actors [`ActorContext::ask`] or [`ActorContext::message_adapter`].
//!
//! # Configuration
//!
//! [`ActorSystem::from_config`] reads Pekko's keys (`pekko.actor.*`, `pekko.scheduler.*`,
//! `pekko.coordinated-shutdown.*`, `pekko.log-dead-letters*`) from a `hocon_config::Config`,
//! falling back to the bundled `reference.conf` ([`settings::REFERENCE_CONF`]), whose values are
//! Pekko's defaults (checked by a test against Pekko's own reference.conf).
//! [`ActorSystem::new`] takes an [`ActorSystemSettings`] directly.
//!
//! # Testing
//!
//! [`testkit::TestProbe`] is an `ActorRef<M>` whose messages a test awaits. Timing-dependent
//! behavior (timers, backoff, receive timeout, ask timeout) is tested with tokio's paused clock.
//!
//! # Runtime model
//!
//! An idle actor is a small heap object without a task. Sending to it schedules it on a tokio
//! task: a new one when sent from outside, else the sending actor's task, which runs its actors
//! in round robin, up to `throughput` messages (`pekko.actor.default-dispatcher.throughput`)
//! and at most `throughput-deadline-time` per turn, and yields to other tasks after each round. System messages (watch, stop, termination notices)
//! go before ordinary ones. Handlers are synchronous; use `pipe_to_self` for futures.
//! A sender holds the mailbox's spin lock only to append one message (one atomic
//! read-modify-write; the release is a plain store); the running actor takes a batch of messages
//! per lock. The queues are allocated on an actor's first message; starting a `setup` actor
//! allocates none.
//!
//! # Remoting boundary
//!
//! See [`remote`]: a [`remote::WireMessage`] binds a type to a Pekko serializer id and manifest;
//! a [`remote::SerializerRegistry`] decodes inbound bytes and delivers them to the local actor at
//! a path and uid ([`SystemHandle::resolve_local`]); a [`remote::RemoteRefProvider`] (implemented
//! by the remote crate) makes `ActorRef<M>`s for remote paths over [`ActorRefTarget`].

mod actor_ref;
mod behavior;
mod cell;
mod context;
pub mod coordinated_shutdown;
mod error;
mod event_stream;
mod mailbox;
pub mod path;
pub mod receptionist;
pub mod remote;
mod scheduler;
pub mod settings;
mod stash;
mod supervision;
mod system;
pub mod testkit;
mod timers;

pub use actor_ref::{ActorRef, ActorRefTarget, AnyActorRef, StatusReply};
pub use behavior::{AbstractBehavior, Behavior, Behaviors, ChildFailed, Signal, Terminated};
pub use context::{ActorContext, DispatcherSelector, Log, MailboxSelector, Props};
pub use coordinated_shutdown::{CoordinatedShutdown, Reason};
pub use error::{ActorError, AskError, StashOverflow};
pub use event_stream::{DeadLetter, EventStream};
pub use path::{ActorPath, Address};
pub use receptionist::{Listing, Receptionist, ReceptionistCommand, ServiceKey};
pub use scheduler::{Cancellable, Scheduler};
pub use settings::ActorSystemSettings;
pub use stash::StashBuffer;
pub use supervision::{
    ActorFailure, BackoffStrategy, RestartStrategy, Supervise, SupervisorStrategy,
};
pub use system::{ActorSystem, SystemHandle};
pub use timers::TimerScheduler;
