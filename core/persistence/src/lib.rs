//! Event-sourced persistence that shares journals with JVM Pekko.
//!
//! The storage layer: events and snapshots in pekko-persistence-jdbc's default schema
//! (`event_journal`, `event_tag`, `snapshot`), payload codecs that read and write what the
//! JVM's serializers produce, journals and snapshot stores behind traits (in-memory, embedded
//! SQLite, PostgreSQL), persistence queries as streams, and plugin selection by Pekko's config keys.

pub mod error;
pub mod model;
pub mod serialization;

pub use error::{PersistenceError, Result};
pub use model::{
    AtomicWrite, EventRecord, PersistentRepr, SerializedPayload, SnapshotMetadata, SnapshotRecord,
    SnapshotSelectionCriteria,
};
pub mod backend;
pub mod journal;
pub mod plugin;
pub mod query;
pub mod settings;
