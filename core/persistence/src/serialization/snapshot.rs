//! Pekko's persistence `SnapshotSerializer` (id 8): the `Snapshot(data)` wrapper used by the
//! legacy JDBC `snapshot` column and the local file snapshot store.
//!
//! Layout (little-endian 32-bit integers): header length, serializer id of the state, the state's
//! manifest as UTF-8 (header length - 4 bytes), then the state bytes.

use crate::model::SerializedPayload;
use crate::{PersistenceError, Result};

/// Serializer id of `SnapshotSerializer`.
pub const SNAPSHOT_SERIALIZER_ID: i32 = 8;

/// Wraps a serialized state in the `Snapshot` layout.
pub fn encode_snapshot(state: &SerializedPayload) -> Vec<u8> {
    let manifest = state.manifest.as_bytes();
    let mut out = Vec::with_capacity(8 + manifest.len() + state.bytes.len());
    out.extend_from_slice(&((4 + manifest.len()) as u32).to_le_bytes());
    out.extend_from_slice(&state.serializer_id.to_le_bytes());
    out.extend_from_slice(manifest);
    out.extend_from_slice(&state.bytes);
    out
}

/// Unwraps the `Snapshot` layout, refusing Akka 2.3 data as the JVM does.
pub fn decode_snapshot(bytes: &[u8]) -> Result<SerializedPayload> {
    let err = |reason: &str| PersistenceError::Decode {
        serializer_id: SNAPSHOT_SERIALIZER_ID,
        manifest: String::new(),
        what: "Snapshot wrapper".into(),
        reason: reason.to_string(),
    };
    if bytes.len() < 8 {
        return Err(err("shorter than its 8-byte header"));
    }
    let header_len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
    let ser_id = i32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    if (ser_id & 0xEDAC) == 0xEDAC {
        return Err(err(
            "snapshot from Akka 2.3.x (Java serialization) is not supported",
        ));
    }
    if header_len < 4 || 4 + header_len > bytes.len() {
        return Err(err("header length out of range"));
    }
    let manifest =
        std::str::from_utf8(&bytes[8..4 + header_len]).map_err(|_| err("manifest is not UTF-8"))?;
    Ok(SerializedPayload::new(
        ser_id,
        manifest,
        bytes[4 + header_len..].to_vec(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn round_trip(id in 0i32..0xEDAC, manifest in ".{0,30}",
                      data in proptest::collection::vec(any::<u8>(), 0..50)) {
            let p = SerializedPayload::new(id, manifest, data);
            prop_assert_eq!(decode_snapshot(&encode_snapshot(&p)).unwrap(), p);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_snapshot(&bytes);
        }
    }

    #[test]
    fn layout_is_little_endian() {
        let p = SerializedPayload::new(31, "a.B", vec![b'{', b'}']);
        assert_eq!(
            encode_snapshot(&p),
            vec![7, 0, 0, 0, 31, 0, 0, 0, b'a', b'.', b'B', b'{', b'}']
        );
    }
}
