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
//!   new incarnation; [`cli`]: helpers for `rekko journal events|ids`.
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
//! # Planned: typed `EventSourcedBehavior` (needs the actor runtime; not implemented)
//!
//! The actor half will follow Pekko typed's names and semantics on top of [`recovery`],
//! [`journal`] and [`serialization`]. Intended shape (not compiled):
//!
//! ```ignore
//! let behavior = EventSourcedBehavior::new(
//!         PersistenceId::new("ShoppingCart", &entity_id),      // "ShoppingCart|<id>"
//!         Cart::default(),                                      // empty state
//!         |state: &Cart, cmd: Command| -> Effect<Event, Cart> { // command handler
//!             match cmd {
//!                 Command::Add { item, reply_to } => Effect::persist(Event::Added { item })
//!                     .then_reply(reply_to, |s: &Cart| s.summary()),
//!                 Command::Get { reply_to } => Effect::none().then_reply(reply_to, Cart::summary),
//!                 Command::Close => Effect::persist_all(vec![Event::Closed]).then_stop(),
//!             }
//!         },
//!         |state: Cart, event: &Event| state.apply(event),     // event handler
//!     )
//!     .with_event_codec(events)                 // PayloadCodec<Event> (Jackson / protobuf)
//!     .with_snapshot_codec(states)              // PayloadCodec<Cart>
//!     .with_tagger(|e: &Event| set!["carts"])
//!     .with_retention(RetentionCriteria::snapshot_every(100, 2).with_delete_events_on_snapshot())
//!     .snapshot_when(|state, event, seq_nr| matches!(event, Event::Closed))
//!     .with_journal_plugin_id("jdbc-journal")
//!     .with_snapshot_plugin_id("jdbc-snapshot-store")
//!     .on_persist_failure(SupervisorStrategy::restart_with_backoff(min, max, 0.2))
//!     .receive_signal(|state, signal| match signal {
//!         EventSourcedSignal::RecoveryCompleted => {}
//!         EventSourcedSignal::RecoveryFailed(err) => {}   // err names id, seq, serializer, manifest
//!         EventSourcedSignal::SnapshotCompleted(meta) | EventSourcedSignal::SnapshotFailed(..) => {}
//!         EventSourcedSignal::DeleteEventsCompleted(to) | EventSourcedSignal::DeleteSnapshotsCompleted(..) => {}
//!         _ => {}
//!     });
//! ```
//!
//! Phases as in Pekko: recovery permit (`max-concurrent-recoveries`), snapshot load, replay in
//! `replayBatchSize` pages ([`recovery::recover`]), running, persisting (commands stashed up to
//! `stash-capacity`), storing snapshot; `Effect` = primary action (`persist`, `persist_all`,
//! `none`, `unhandled`, `stash`, `stop`) plus ordered side effects (`then_run`, `then_reply`,
//! `then_stop`, `then_unstash_all`); each incarnation writes with a fresh writer UUID
//! ([`recovery::EntityWriter`]); a journal failure stops the actor so supervision restarts it
//! with back-off and it recovers again.

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

pub use error::{PersistenceError, Result};
pub use model::{
    AtomicWrite, EventRecord, PersistentRepr, SerializedPayload, SnapshotMetadata, SnapshotRecord,
    SnapshotSelectionCriteria,
};
