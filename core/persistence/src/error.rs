//! The crate's error type.

use thiserror::Error;

/// Everything that can go wrong in `rekko-persistence`, naming what and where.
#[derive(Debug, Error)]
pub enum PersistenceError {
    /// A payload could not be decoded.
    #[error(
        "cannot decode payload (serializer {serializer_id}, manifest {manifest:?}) of {what}: {reason}"
    )]
    Decode {
        /// Serializer id of the payload.
        serializer_id: i32,
        /// Serializer manifest of the payload.
        manifest: String,
        /// Which record it was, e.g. `event ShoppingCart|a seq 3`.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// A value could not be encoded.
    #[error("cannot encode {what}: {reason}")]
    Encode {
        /// What was being encoded.
        what: String,
        /// Why it failed.
        reason: String,
    },
    /// No codec knows this serializer id / manifest pair.
    #[error("no codec for serializer {serializer_id} with manifest {manifest:?}")]
    UnknownPayload {
        /// Serializer id of the payload.
        serializer_id: i32,
        /// Serializer manifest of the payload.
        manifest: String,
    },
    /// The database (or the in-memory store) refused or failed an operation.
    #[error("{backend} journal/snapshot store failed during {operation}: {source}")]
    Store {
        /// Which backend (`postgres`, `sqlite`, `inmem`).
        backend: &'static str,
        /// What was being done, e.g. `write 3 events of ShoppingCart|a`.
        operation: String,
        /// The driver's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A write broke the journal's rules (sequence numbers, persistence ids).
    #[error("invalid write: {0}")]
    InvalidWrite(String),
    /// A setting is missing or has a wrong value.
    #[error("configuration error at {path}: {reason}")]
    Config {
        /// The config path, e.g. `jdbc-journal.slick.db.url`.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// An entity's recovery failed on one stored event or snapshot.
    #[error(
        "recovery of {persistence_id} failed at sequence number {sequence_nr} \
         (serializer {serializer_id}, manifest {manifest:?}): {reason}"
    )]
    Recovery {
        /// The entity.
        persistence_id: String,
        /// The event's (or snapshot's) sequence number.
        sequence_nr: i64,
        /// Serializer id of the stored payload.
        serializer_id: i32,
        /// Serializer manifest of the stored payload.
        manifest: String,
        /// Why it failed.
        reason: String,
    },
    /// The plugin id is not known to the registry.
    #[error("no persistence plugin registered with id {0:?}")]
    UnknownPlugin(String),
}

/// Result alias of this crate.
pub type Result<T, E = PersistenceError> = std::result::Result<T, E>;

impl PersistenceError {
    pub(crate) fn store(
        backend: &'static str,
        operation: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        PersistenceError::Store {
            backend,
            operation: operation.into(),
            source: Box::new(source),
        }
    }
}
