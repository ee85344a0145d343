//! The persistence data model: events as the journal stores them, atomic writes, snapshots.
//!
//! These mirror Pekko's `PersistentRepr`, `AtomicWrite`, `SnapshotMetadata` and
//! `SnapshotSelectionCriteria`; the payloads are already serialized (serializer id, manifest, bytes).

use bytes::Bytes;

/// A serialized object: the triple Pekko stores for every event, snapshot and metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SerializedPayload {
    /// Serializer id (31 Jackson JSON, 33 Jackson CBOR, 2 protobuf, ...).
    pub serializer_id: i32,
    /// Serializer manifest (for Jackson: the JVM class name, maybe with `#version`).
    pub manifest: String,
    /// The serialized bytes, exactly as stored.
    pub bytes: Bytes,
}

impl SerializedPayload {
    /// Builds a payload from its parts.
    pub fn new(serializer_id: i32, manifest: impl Into<String>, bytes: impl Into<Bytes>) -> Self {
        SerializedPayload {
            serializer_id,
            manifest: manifest.into(),
            bytes: bytes.into(),
        }
    }
}

/// One event of one entity, as Pekko's `PersistentRepr` carries it to and from the journal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersistentRepr {
    /// Identity of the entity, e.g. `ShoppingCart|cart-42`.
    pub persistence_id: String,
    /// Position of the event in the entity's stream, from 1, gapless.
    pub sequence_nr: i64,
    /// The serialized event.
    pub payload: SerializedPayload,
    /// The event-adapter manifest (`""` when no adapter manifest is used).
    pub adapter_manifest: String,
    /// Writer UUID of the incarnation that wrote the event.
    pub writer_uuid: String,
    /// Epoch milliseconds when the journal stored the event (0 = not yet stored).
    pub timestamp: i64,
    /// Obsolete logical-delete flag; always `false` for new events.
    pub deleted: bool,
    /// Optional metadata (Replicated Event Sourcing only).
    pub metadata: Option<SerializedPayload>,
    /// Tags of the event (written to `event_tag`; empty for untagged events).
    pub tags: Vec<String>,
}

impl PersistentRepr {
    /// A new, untagged event with no metadata and no timestamp yet.
    pub fn new(
        persistence_id: impl Into<String>,
        sequence_nr: i64,
        payload: SerializedPayload,
        writer_uuid: impl Into<String>,
    ) -> Self {
        PersistentRepr {
            persistence_id: persistence_id.into(),
            sequence_nr,
            payload,
            adapter_manifest: String::new(),
            writer_uuid: writer_uuid.into(),
            timestamp: 0,
            deleted: false,
            metadata: None,
            tags: Vec::new(),
        }
    }

    /// Returns this event with the given tags.
    pub fn with_tags<I, S>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }
}

/// An event read back from a journal, with its global position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    /// Global insertion number (`event_journal.ordering`); the query offset `Sequence(ordering)`.
    pub ordering: i64,
    /// The event.
    pub repr: PersistentRepr,
}

/// The all-or-nothing unit of a journal write: consecutive events of one entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AtomicWrite {
    events: Vec<PersistentRepr>,
}

impl AtomicWrite {
    /// Checks Pekko's rules: non-empty, one persistence id, consecutive sequence numbers.
    pub fn new(events: Vec<PersistentRepr>) -> crate::Result<Self> {
        let first = events.first().ok_or_else(|| {
            crate::PersistenceError::InvalidWrite("an atomic write needs at least one event".into())
        })?;
        for (i, e) in events.iter().enumerate() {
            if e.persistence_id != first.persistence_id {
                return Err(crate::PersistenceError::InvalidWrite(format!(
                    "atomic write mixes persistence ids {:?} and {:?}",
                    first.persistence_id, e.persistence_id
                )));
            }
            if e.sequence_nr != first.sequence_nr + i as i64 {
                return Err(crate::PersistenceError::InvalidWrite(format!(
                    "atomic write of {:?}: sequence numbers not consecutive at {}",
                    first.persistence_id, e.sequence_nr
                )));
            }
            if e.sequence_nr < 1 {
                return Err(crate::PersistenceError::InvalidWrite(format!(
                    "atomic write of {:?}: sequence number {} < 1",
                    first.persistence_id, e.sequence_nr
                )));
            }
        }
        Ok(AtomicWrite { events })
    }

    /// The persistence id of all events.
    pub fn persistence_id(&self) -> &str {
        &self.events[0].persistence_id
    }

    /// The events, in sequence order.
    pub fn events(&self) -> &[PersistentRepr] {
        &self.events
    }

    /// Sequence number of the last event.
    pub fn highest_sequence_nr(&self) -> i64 {
        self.events[self.events.len() - 1].sequence_nr
    }
}

/// Identity and time of a snapshot (Pekko's `SnapshotMetadata`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotMetadata {
    /// Entity the snapshot belongs to.
    pub persistence_id: String,
    /// Sequence number of the last event included in the state.
    pub sequence_nr: i64,
    /// Epoch milliseconds when saved (column `created`).
    pub timestamp: i64,
}

/// A stored snapshot: metadata plus the serialized state (stored directly, not wrapped).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotRecord {
    /// Identity and time.
    pub metadata: SnapshotMetadata,
    /// The serialized state.
    pub state: SerializedPayload,
    /// Optional metadata object (Replicated Event Sourcing only).
    pub meta: Option<SerializedPayload>,
}

/// Selects snapshots for load and delete (Pekko's `SnapshotSelectionCriteria`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotSelectionCriteria {
    /// Upper bound of the sequence number (inclusive).
    pub max_sequence_nr: i64,
    /// Upper bound of the timestamp (inclusive).
    pub max_timestamp: i64,
    /// Lower bound of the sequence number (inclusive).
    pub min_sequence_nr: i64,
    /// Lower bound of the timestamp (inclusive).
    pub min_timestamp: i64,
}

impl SnapshotSelectionCriteria {
    /// The newest snapshot (all bounds open).
    pub const LATEST: SnapshotSelectionCriteria = SnapshotSelectionCriteria {
        max_sequence_nr: i64::MAX,
        max_timestamp: i64::MAX,
        min_sequence_nr: 0,
        min_timestamp: 0,
    };
    /// No snapshot at all (recovery without snapshot).
    pub const NONE: SnapshotSelectionCriteria = SnapshotSelectionCriteria {
        max_sequence_nr: 0,
        max_timestamp: 0,
        min_sequence_nr: 0,
        min_timestamp: 0,
    };

    /// Snapshots up to this sequence number.
    pub fn up_to(max_sequence_nr: i64) -> Self {
        SnapshotSelectionCriteria {
            max_sequence_nr,
            ..Self::LATEST
        }
    }

    /// Whether the snapshot with this metadata matches.
    pub fn matches(&self, m: &SnapshotMetadata) -> bool {
        m.sequence_nr <= self.max_sequence_nr
            && m.timestamp <= self.max_timestamp
            && m.sequence_nr >= self.min_sequence_nr
            && m.timestamp >= self.min_timestamp
    }
}

impl Default for SnapshotSelectionCriteria {
    fn default() -> Self {
        Self::LATEST
    }
}

/// Current wall-clock time in epoch milliseconds.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A fresh writer UUID: random version 4, lowercase hyphenated, as the JVM makes them.
pub fn new_writer_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}
