//! The Artery envelope: a 28-byte little-endian header, an optional metadata
//! container, the literal section (sender, recipient, manifest in that order)
//! and the payload.
//!
//! Decoding is zero-copy: literals, metadata and payload are [`Bytes`] slices
//! of the frame.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{Result, WireError};
use crate::frame::{put_frame_header, FRAME_HEADER_LEN};

/// Size of the fixed header.
pub const HEADER_LEN: usize = 28;
/// The only envelope version of Pekko 1.x.
pub const VERSION: u8 = 0;
/// Flag bit: a metadata container follows the header.
pub const FLAG_METADATA: u8 = 0x01;
/// Longest literal the JVM reads back correctly (it reads the length signed).
pub const MAX_LITERAL_LEN: usize = i16::MAX as usize;
/// High byte the JVM writes into compressed tags.
const COMPRESSED_MARK: u32 = 0xFF00_0000;

const OFF_FLAGS: usize = 1;
const OFF_REF_TABLE: usize = 2;
const OFF_MANIFEST_TABLE: usize = 3;
const OFF_UID: usize = 4;
const OFF_SERIALIZER: usize = 12;
const OFF_SENDER: usize = 16;

/// A sender, recipient or manifest field of an envelope.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Field {
    /// Literal ASCII text; empty means "none" (no sender, no recipient, empty
    /// manifest).
    Literal(Bytes),
    /// Index into the compression table whose version is in the header.
    Compressed(u16),
}

impl Field {
    /// An empty literal ("no sender" / "no recipient" / empty manifest).
    pub fn empty() -> Self {
        Field::Literal(Bytes::new())
    }

    /// A literal holding `s`.
    pub fn literal(s: &str) -> Self {
        Field::Literal(Bytes::copy_from_slice(s.as_bytes()))
    }

    /// A literal from a static string, without copying.
    pub fn from_static(s: &'static str) -> Self {
        Field::Literal(Bytes::from_static(s.as_bytes()))
    }

    /// A literal for an optional string (`None` = empty literal).
    pub fn optional(s: Option<&str>) -> Self {
        s.map_or_else(Field::empty, Field::literal)
    }

    /// True for an empty literal.
    pub fn is_empty(&self) -> bool {
        matches!(self, Field::Literal(b) if b.is_empty())
    }

    /// The literal text, `None` when empty or compressed or not UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Field::Literal(b) if !b.is_empty() => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// The literal text, `""` when empty; `None` when compressed or not UTF-8.
    pub fn text(&self) -> Option<&str> {
        match self {
            Field::Literal(b) => std::str::from_utf8(b).ok(),
            Field::Compressed(_) => None,
        }
    }
}

/// One decoded or to-be-encoded envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Version of the actor-ref compression table the sender used (0 = none).
    pub actor_ref_table_version: i8,
    /// Version of the manifest compression table the sender used (0 = none).
    pub manifest_table_version: i8,
    /// The sending node's system uid (two's-complement of the JVM long).
    pub origin_uid: u64,
    /// Serializer of the payload.
    pub serializer_id: i32,
    /// Sender actor path; empty literal = no sender.
    pub sender: Field,
    /// Recipient actor path; empty literal = none (transport messages).
    pub recipient: Field,
    /// Serializer manifest; empty literal = `""`.
    pub manifest: Field,
    /// Raw remote-instrument metadata entries (flag bit 0), if present.
    pub metadata: Option<Bytes>,
    /// The serialized message.
    pub payload: Bytes,
}

impl Envelope {
    /// An envelope without compression and without metadata.
    pub fn new(
        origin_uid: u64,
        serializer_id: i32,
        sender: Field,
        recipient: Field,
        manifest: Field,
        payload: Bytes,
    ) -> Self {
        Envelope {
            actor_ref_table_version: 0,
            manifest_table_version: 0,
            origin_uid,
            serializer_id,
            sender,
            recipient,
            manifest,
            metadata: None,
            payload,
        }
    }

    /// Number of bytes [`Envelope::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        let lit = |f: &Field| match f {
            Field::Literal(b) => 2 + b.len(),
            Field::Compressed(_) => 0,
        };
        HEADER_LEN
            + self.metadata.as_ref().map_or(0, |m| 4 + m.len())
            + lit(&self.sender)
            + lit(&self.recipient)
            + lit(&self.manifest)
            + self.payload.len()
    }

    /// Appends the envelope bytes to `dst`.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<()> {
        for (what, f) in [
            ("sender literal", &self.sender),
            ("recipient literal", &self.recipient),
            ("manifest literal", &self.manifest),
        ] {
            if let Field::Literal(b) = f {
                if b.len() > MAX_LITERAL_LEN {
                    return Err(WireError::Encode {
                        what,
                        reason: format!("{} bytes, at most {MAX_LITERAL_LEN}", b.len()),
                    });
                }
            }
        }
        if let Some(m) = &self.metadata {
            if m.len() > i32::MAX as usize {
                return Err(WireError::Encode {
                    what: "metadata",
                    reason: "longer than 2 GiB".into(),
                });
            }
        }
        dst.reserve(self.encoded_len());
        dst.put_u8(VERSION);
        dst.put_u8(if self.metadata.is_some() {
            FLAG_METADATA
        } else {
            0
        });
        dst.put_i8(self.actor_ref_table_version);
        dst.put_i8(self.manifest_table_version);
        dst.put_u64_le(self.origin_uid);
        dst.put_i32_le(self.serializer_id);
        let mut offset = HEADER_LEN + self.metadata.as_ref().map_or(0, |m| 4 + m.len());
        for f in [&self.sender, &self.recipient, &self.manifest] {
            match f {
                Field::Literal(b) => {
                    dst.put_u32_le(offset as u32);
                    offset += 2 + b.len();
                }
                Field::Compressed(i) => dst.put_u32_le(COMPRESSED_MARK | u32::from(*i)),
            }
        }
        if let Some(m) = &self.metadata {
            dst.put_i32_le(m.len() as i32);
            dst.put_slice(m);
        }
        for f in [&self.sender, &self.recipient, &self.manifest] {
            if let Field::Literal(b) = f {
                dst.put_u16_le(b.len() as u16);
                dst.put_slice(b);
            }
        }
        dst.put_slice(&self.payload);
        Ok(())
    }

    /// Appends a complete TCP frame (length prefix + envelope) to `dst`.
    pub fn encode_frame(&self, dst: &mut BytesMut) -> Result<()> {
        dst.reserve(FRAME_HEADER_LEN + self.encoded_len());
        put_frame_header(dst, self.encoded_len())?;
        self.encode(dst)
    }

    /// Decodes one envelope (the bytes of one frame).
    ///
    /// Literals are read sequentially in the order sender, recipient,
    /// manifest, as the JVM does; the offsets stored in literal tags are not
    /// trusted.
    pub fn decode(buf: Bytes) -> Result<Envelope> {
        let len = buf.len();
        let need = |offset: usize, needed: usize| -> Result<()> {
            if offset.checked_add(needed).is_some_and(|end| end <= len) {
                Ok(())
            } else {
                Err(WireError::EnvelopeTooShort {
                    offset,
                    needed,
                    len,
                })
            }
        };
        need(0, HEADER_LEN)?;
        let version = buf[0] as i8;
        if version > VERSION as i8 {
            return Err(WireError::UnsupportedVersion(version));
        }
        let flags = buf[OFF_FLAGS];
        let actor_ref_table_version = buf[OFF_REF_TABLE] as i8;
        let manifest_table_version = buf[OFF_MANIFEST_TABLE] as i8;
        let origin_uid = u64::from_le_bytes(arr8(&buf[OFF_UID..OFF_UID + 8]));
        let serializer_id = i32::from_le_bytes(arr4(&buf[OFF_SERIALIZER..OFF_SERIALIZER + 4]));
        let tag = |i: usize| {
            let o = OFF_SENDER + 4 * i;
            u32::from_le_bytes(arr4(&buf[o..o + 4]))
        };
        let tags = [tag(0), tag(1), tag(2)];
        let mut cursor = HEADER_LEN;
        let metadata = if flags & FLAG_METADATA != 0 {
            need(cursor, 4)?;
            let t = i32::from_le_bytes(arr4(&buf[cursor..cursor + 4]));
            let t = usize::try_from(t).map_err(|_| WireError::EnvelopeTooShort {
                offset: cursor,
                needed: 4,
                len,
            })?;
            need(cursor + 4, t)?;
            let m = buf.slice(cursor + 4..cursor + 4 + t);
            cursor += 4 + t;
            Some(m)
        } else {
            None
        };
        let mut fields = [Field::empty(), Field::empty(), Field::empty()];
        for (field, tag) in fields.iter_mut().zip(tags) {
            if tag & 0xFF00_0000 != 0 {
                *field = Field::Compressed((tag & 0xFFFF) as u16);
            } else {
                need(cursor, 2)?;
                let l = u16::from_le_bytes([buf[cursor], buf[cursor + 1]]) as usize;
                need(cursor + 2, l)?;
                *field = Field::Literal(buf.slice(cursor + 2..cursor + 2 + l));
                cursor += 2 + l;
            }
        }
        let [sender, recipient, manifest] = fields;
        Ok(Envelope {
            actor_ref_table_version,
            manifest_table_version,
            origin_uid,
            serializer_id,
            sender,
            recipient,
            manifest,
            metadata,
            payload: buf.slice(cursor..),
        })
    }
}

fn arr4(s: &[u8]) -> [u8; 4] {
    [s[0], s[1], s[2], s[3]]
}

fn arr8(s: &[u8]) -> [u8; 8] {
    [s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    /// The String example of the wire spec (section 12.3): A sends "hello"
    /// from /user/src to B's /user/echo.
    #[test]
    fn string_envelope_matches_spec_layout() {
        let env = Envelope::new(
            0x1122_10f4_7de9_8115,
            20,
            Field::literal("pekko://A@127.0.0.1:25520/user/src"),
            Field::literal("pekko://B@127.0.0.1:25521/user/echo"),
            Field::empty(),
            Bytes::from_static(b"hello"),
        );
        let mut out = BytesMut::new();
        env.encode_frame(&mut out).unwrap();
        assert_eq!(out.len(), 112);
        assert_eq!(
            &out[..32],
            &hex("6c 00 00 00 00 00 00 00 15 81 e9 7d f4 10 22 11 \
                  14 00 00 00 1c 00 00 00 40 00 00 00 65 00 00 00")[..]
        );
        assert_eq!(&out[32..34], &[0x22, 0x00]);
        assert_eq!(&out[105..], b"\x00\x00hello");
        let back = Envelope::decode(out.freeze().slice(4..)).unwrap();
        assert_eq!(back, env);
    }

    /// The Ack envelope of the wire spec (section 12.4), byte for byte.
    #[test]
    fn decodes_spec_ack_envelope() {
        let bytes = hex("00 00 00 00 00 00 00 00 00 00 00 a0 11 00 00 00 \
             1c 00 00 00 1e 00 00 00 20 00 00 00 00 00 00 00 \
             01 00 6b 08 01 12 26 0a 19 0a 05 70 65 6b 6b 6f \
             12 01 42 1a 09 31 32 37 2e 30 2e 30 2e 31 20 b1 \
             c7 01 10 80 80 80 80 80 80 80 80 a0 01");
        let env = Envelope::decode(Bytes::from(bytes.clone())).unwrap();
        assert_eq!(env.serializer_id, 17);
        assert_eq!(env.origin_uid, 0xa000_0000_0000_0000);
        assert!(env.sender.is_empty() && env.recipient.is_empty());
        assert_eq!(env.manifest.text(), Some("k"));
        let mut again = BytesMut::new();
        env.encode(&mut again).unwrap();
        assert_eq!(&again[..], &bytes[..]);
    }

    #[test]
    fn compressed_tags_and_metadata_round_trip() {
        let mut env = Envelope::new(
            7,
            31,
            Field::Compressed(3),
            Field::literal("pekko://B@h:1/user/x"),
            Field::Compressed(0xffff),
            Bytes::from_static(b"{}"),
        );
        env.actor_ref_table_version = 5;
        env.manifest_table_version = -1;
        env.metadata = Some(Bytes::from_static(&[0, 0, 0, 4, 1, 2]));
        let mut out = BytesMut::new();
        env.encode(&mut out).unwrap();
        assert_eq!(out.len(), env.encoded_len());
        assert_eq!(&out[16..20], &[3, 0, 0, 0xff]);
        assert_eq!(Envelope::decode(out.freeze()).unwrap(), env);
    }

    #[test]
    fn rejects_short_and_future_versions() {
        assert!(matches!(
            Envelope::decode(Bytes::from_static(&[0; 27])),
            Err(WireError::EnvelopeTooShort { .. })
        ));
        let mut b = vec![0u8; 40];
        b[0] = 1;
        assert_eq!(
            Envelope::decode(Bytes::from(b)),
            Err(WireError::UnsupportedVersion(1))
        );
    }

    #[test]
    fn literal_running_past_the_end_is_an_error() {
        let mut b = vec![0u8; 30];
        b[28] = 0xff;
        b[29] = 0x00;
        assert!(matches!(
            Envelope::decode(Bytes::from(b)),
            Err(WireError::EnvelopeTooShort { offset: 30, .. })
        ));
    }

    #[test]
    fn refuses_to_encode_overlong_literal() {
        let env = Envelope::new(
            1,
            20,
            Field::Literal(Bytes::from(vec![b'a'; MAX_LITERAL_LEN + 1])),
            Field::empty(),
            Field::empty(),
            Bytes::new(),
        );
        assert!(env.encode(&mut BytesMut::new()).is_err());
    }
}
