//! Event-sourced persistence that shares journals with JVM Pekko.
//!
//! The storage layer of Rekko's event sourcing:
//!
//! - [`model`]: events (`PersistentRepr`), atomic writes, snapshots, selection criteria;
//! - [`serialization`]: codecs that read and write what the JVM's serializers produce —
//!   Jackson JSON (31) and CBOR (33) with class-name manifests, `#version` and gzip/LZ4,
//!   protobuf (2), Pekko's `MessageSerializer` (7) and `SnapshotSerializer` (8);
//! - [`journal`]: the [`Journal`](journal::Journal) and [`SnapshotStore`](journal::SnapshotStore)
//!   traits, with backends in [`backend`]: in-memory, embedded SQLite and PostgreSQL, both SQL
//!   ones in pekko-persistence-jdbc's default schema (`event_journal`, `event_tag`, `snapshot`);
//! - [`settings`], [`config`] and [`plugin`]: the plugin's own config keys (`jdbc-journal`,
//!   `jdbc-snapshot-store`, `jdbc-read-journal`) and plugin selection by
//!   `pekko.persistence.journal.plugin` / `snapshot-store.plugin`;
//! - [`query`]: `events_by_persistence_id`, `events_by_tag`, `persistence_ids`, current and live,
//!   as back-pressured streams;
//! - [`recovery`]: snapshot + replay recovery and a writer that continues an entity's stream as a
//!   new incarnation; [`typed`]: the event-sourced actor; [`cli`]: helpers for
//!   `rekko journal events|ids`.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use rekko_persistence::backend::inmem::{InMemoryJournal, InMemorySnapshotStore};
//! use rekko_persistence::journal::Journal;
//! use rekko_persistence::recovery::{recover, EntityWriter};
//! use rekko_persistence::serialization::jackson::{JacksonCodec, JacksonFormat};
//! use rekko_persistence::serialization::PayloadCodec;
//! use rekko_persistence::SnapshotSelectionCriteria;
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Added { amount: i64 }
//!
//! let journal: Arc<dyn Journal> = Arc::new(InMemoryJournal::new());
//! let snapshots = InMemorySnapshotStore::new();
//! let events = JacksonCodec::<Added>::single(JacksonFormat::Json, "com.example.Added");
//! let totals = JacksonCodec::<i64>::single(JacksonFormat::Json, "java.lang.Long");
//!
//! let mut writer = EntityWriter::new(journal.clone(), "Counter|a", 0);
//! writer.persist(vec![(events.encode(&Added { amount: 5 }).unwrap(), vec!["counters".into()])])
//!     .await.unwrap();
//!
//! let recovered = recover(journal, &snapshots, "Counter|a", SnapshotSelectionCriteria::LATEST,
//!     0, &totals, &events, |total, e: Added| total + e.amount, 400).await.unwrap();
//! assert_eq!((recovered.state, recovered.sequence_nr), (5, 1));
//! # });
//! ```
//!
//! # Typed `EventSourcedBehavior`
//!
//! [`typed`] is the actor half: Pekko typed's `EventSourcedBehavior` on the rekko-actor runtime
//! (effects, recovery, stashing, snapshots with retention, tags, event adapters, signals).
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use std::time::Duration;
//! use rekko_actor::{ActorRef, ActorSystem, ActorSystemSettings};
//! use rekko_persistence::backend::inmem::{InMemoryJournal, InMemorySnapshotStore};
//! use rekko_persistence::serialization::jackson::{JacksonCodec, JacksonFormat};
//! use rekko_persistence::typed::{command_ref, Effect, EventSourcedBehavior, Persistence, PersistenceId};
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Added { amount: i64 }
//! enum Command { Add(i64, ActorRef<i64>) }
//!
//! let persistence = Persistence::new(Arc::new(InMemoryJournal::new()),
//!     Arc::new(InMemorySnapshotStore::new()));
//! let behavior = EventSourcedBehavior::new(
//!     &persistence,
//!     PersistenceId::new("Counter", "a"),                    // "Counter|a"
//!     0i64,                                                  // empty state
//!     Arc::new(JacksonCodec::<Added>::single(JacksonFormat::Json, "com.example.Added")),
//!     |_total: &i64, cmd: &Command| match cmd {              // command handler
//!         Command::Add(n, reply_to) => Effect::persist(Added { amount: *n })
//!             .then_reply(reply_to.clone(), |total: &i64| *total),
//!     },
//!     |total: i64, e: &Added| total + e.amount,              // event handler
//! )
//! .into_behavior();
//! let system = ActorSystem::new(behavior, "Example", ActorSystemSettings::default()).unwrap();
//! let counter = command_ref(system.guardian());
//! let total = counter.ask(|r| Command::Add(5, r), Duration::from_secs(3)).await;
//! assert_eq!(total, Ok(5));
//! system.terminate();
//! # });
//! ```

pub mod backend;
pub mod batching;
pub mod cli;
pub mod config;
pub mod error;
mod inflight;
pub mod journal;
pub mod model;
pub mod plugin;
pub mod query;
pub mod recovery;
pub mod serialization;
pub mod settings;
pub mod typed;

pub use error::{PersistenceError, Result};
pub use model::{
    AtomicWrite, EventRecord, PersistentRepr, SerializedPayload, SnapshotMetadata, SnapshotRecord,
    SnapshotSelectionCriteria,
};
