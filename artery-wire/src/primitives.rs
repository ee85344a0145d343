//! Pekko's primitive serializers: String (20), Long (18), Int (19),
//! Boolean (35), ByteString (21) and byte arrays (4).

use bytes::Bytes;

use crate::error::{Result, WireError};
use crate::serializers::{BOOLEAN, INT, LONG, STRING};

/// Serializer 20: UTF-8 bytes, no length prefix.
pub fn encode_string(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Serializer 20.
pub fn decode_string(payload: &[u8]) -> Result<String> {
    String::from_utf8(payload.to_vec()).map_err(|e| WireError::BadPayload {
        serializer_id: STRING,
        reason: format!("not UTF-8: {e}"),
    })
}

/// Serializer 18: 8 bytes little endian.
pub fn encode_long(v: i64) -> Bytes {
    Bytes::copy_from_slice(&v.to_le_bytes())
}

/// Serializer 18.
pub fn decode_long(payload: &[u8]) -> Result<i64> {
    let a: [u8; 8] = payload.try_into().map_err(|_| WireError::BadPayload {
        serializer_id: LONG,
        reason: format!("{} bytes, expected 8", payload.len()),
    })?;
    Ok(i64::from_le_bytes(a))
}

/// Serializer 19: 4 bytes little endian.
pub fn encode_int(v: i32) -> Bytes {
    Bytes::copy_from_slice(&v.to_le_bytes())
}

/// Serializer 19.
pub fn decode_int(payload: &[u8]) -> Result<i32> {
    let a: [u8; 4] = payload.try_into().map_err(|_| WireError::BadPayload {
        serializer_id: INT,
        reason: format!("{} bytes, expected 4", payload.len()),
    })?;
    Ok(i32::from_le_bytes(a))
}

/// Serializer 35: one byte 0 or 1.
pub fn encode_bool(v: bool) -> Bytes {
    Bytes::from_static(if v { &[1] } else { &[0] })
}

/// Serializer 35.
pub fn decode_bool(payload: &[u8]) -> Result<bool> {
    match payload {
        [0] => Ok(false),
        [1] => Ok(true),
        other => Err(WireError::BadPayload {
            serializer_id: BOOLEAN,
            reason: format!("expected one byte 0 or 1, got {other:02x?}"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_round_trip() {
        assert_eq!(decode_string(&encode_string("héllo")).unwrap(), "héllo");
        assert_eq!(&encode_long(1)[..], &[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(decode_long(&encode_long(-5)).unwrap(), -5);
        assert_eq!(&encode_int(0x01020304)[..], &[4, 3, 2, 1]);
        assert_eq!(decode_int(&encode_int(i32::MIN)).unwrap(), i32::MIN);
        assert!(decode_bool(&encode_bool(true)).unwrap());
        assert!(decode_bool(&[2]).is_err());
        assert!(decode_long(&[1, 2]).is_err());
        assert!(decode_string(&[0xff]).is_err());
    }
}
