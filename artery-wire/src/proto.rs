//! Generated prost types for Pekko's protobuf schemas (written for Rekko in
//! `proto/`): `ArteryControlFormats`, `ContainerFormats`,
//! `SystemMessageFormats` and the `WireFormats` messages Artery uses.
//!
//! All schemas are proto2. prost decodes missing `required` fields as
//! defaults (or `None` for messages); the typed wrappers in
//! [`crate::control`] and [`crate::misc`] check presence where it matters.

#![allow(missing_docs, clippy::all)]

/// `ArteryControlFormats.proto`: handshake, acks, quarantine, compression.
pub mod artery_control {
    include!(concat!(env!("OUT_DIR"), "/artery_control.rs"));
}

/// `ContainerFormats.proto`: selections, payloads, identify, throwables.
pub mod container {
    include!(concat!(env!("OUT_DIR"), "/container.rs"));
}

/// `SystemMessageFormats.proto`: watch, unwatch, death watch notification.
pub mod system_message {
    include!(concat!(env!("OUT_DIR"), "/system_message.rs"));
}

/// `WireFormats.proto`: the pieces referenced by the misc serializer.
pub mod wire {
    include!(concat!(env!("OUT_DIR"), "/wire.rs"));
}
