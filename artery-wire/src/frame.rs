//! TCP framing: `[i32 little-endian length][envelope]`, no padding, no
//! checksum. [`FrameDecoder`] is a streaming decoder over [`BytesMut`] that
//! yields each envelope as a zero-copy [`Bytes`] slice of the read buffer.
//! [`InboundDecoder`] combines it with the preamble for an accepted
//! connection.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{Result, WireError};
use crate::preamble::{Preamble, StreamId, PREAMBLE_LEN};

/// Size of the length prefix.
pub const FRAME_HEADER_LEN: usize = 4;

/// Pekko's default `maximum-frame-size` (streams 1 and 2): 256 KiB.
pub const DEFAULT_MAXIMUM_FRAME_SIZE: usize = 256 * 1024;
/// Pekko's default `maximum-large-frame-size` (stream 3): 2 MiB.
pub const DEFAULT_MAXIMUM_LARGE_FRAME_SIZE: usize = 2 * 1024 * 1024;

/// Writes the 4-byte length prefix for an envelope of `len` bytes.
pub fn put_frame_header(dst: &mut BytesMut, len: usize) -> Result<()> {
    let len = i32::try_from(len).map_err(|_| WireError::Encode {
        what: "frame length",
        reason: format!("{len} does not fit a signed 32-bit length"),
    })?;
    dst.put_i32_le(len);
    Ok(())
}

/// Writes one complete frame around `envelope`.
pub fn encode_frame(envelope: &[u8], dst: &mut BytesMut) -> Result<()> {
    dst.reserve(FRAME_HEADER_LEN + envelope.len());
    put_frame_header(dst, envelope.len())?;
    dst.put_slice(envelope);
    Ok(())
}

/// Streaming frame decoder with a maximum frame size.
///
/// Feed bytes into a `BytesMut` and call [`FrameDecoder::decode`] until it
/// returns `Ok(None)`. A length above the maximum (or negative) is an error
/// as soon as the 4 length bytes are seen, before any payload is buffered.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_frame_size: usize,
}

impl FrameDecoder {
    /// A decoder that refuses frames longer than `max_frame_size` bytes.
    pub fn new(max_frame_size: usize) -> Self {
        FrameDecoder { max_frame_size }
    }

    /// The configured maximum.
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// Takes the next complete frame from `buf`, if there is one.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>> {
        if buf.len() < FRAME_HEADER_LEN {
            return Ok(None);
        }
        let len = i32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
        if len < 0 {
            return Err(WireError::NegativeFrameLength(len));
        }
        let len = len as usize;
        if len > self.max_frame_size {
            return Err(WireError::FrameTooLarge {
                length: len,
                max: self.max_frame_size,
            });
        }
        if buf.len() < FRAME_HEADER_LEN + len {
            buf.reserve(FRAME_HEADER_LEN + len - buf.len());
            return Ok(None);
        }
        buf.advance(FRAME_HEADER_LEN);
        Ok(Some(buf.split_to(len).freeze()))
    }

    /// Call at end of stream: an error if a partial frame is left.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>> {
        match self.decode(buf)? {
            Some(f) => Ok(Some(f)),
            None if buf.is_empty() => Ok(None),
            None => Err(WireError::Truncated {
                buffered: buf.len(),
                needed: needed_for(buf),
            }),
        }
    }
}

fn needed_for(buf: &BytesMut) -> usize {
    if buf.len() < FRAME_HEADER_LEN {
        FRAME_HEADER_LEN
    } else {
        FRAME_HEADER_LEN + i32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]).max(0) as usize
    }
}

/// What an accepted connection has produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// The preamble was read; the connection carries this stream.
    Preamble(Preamble),
    /// One envelope's bytes.
    Frame(Bytes),
}

/// Decoder for an accepted (inbound) connection: preamble, then frames.
///
/// The maximum frame size is chosen per stream once the preamble is known
/// (`max_frame_size` for control and ordinary, `max_large_frame_size` for
/// large).
#[derive(Debug, Clone)]
pub struct InboundDecoder {
    accepted_magics: Vec<[u8; 4]>,
    max_frame_size: usize,
    max_large_frame_size: usize,
    stream: Option<StreamId>,
    frames: FrameDecoder,
}

impl InboundDecoder {
    /// A decoder accepting the given magics and frame size limits.
    pub fn new(
        accepted_magics: Vec<[u8; 4]>,
        max_frame_size: usize,
        max_large_frame_size: usize,
    ) -> Self {
        InboundDecoder {
            accepted_magics,
            max_frame_size,
            max_large_frame_size,
            stream: None,
            frames: FrameDecoder::new(max_frame_size),
        }
    }

    /// The stream id, once the preamble has been read.
    pub fn stream(&self) -> Option<StreamId> {
        self.stream
    }

    /// Takes the next item from `buf`.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Inbound>> {
        match self.stream {
            None => match Preamble::parse(buf, &self.accepted_magics)? {
                None => Ok(None),
                Some(p) => {
                    buf.advance(PREAMBLE_LEN);
                    self.stream = Some(p.stream);
                    let max = if p.stream == StreamId::Large {
                        self.max_large_frame_size
                    } else {
                        self.max_frame_size
                    };
                    self.frames = FrameDecoder::new(max);
                    Ok(Some(Inbound::Preamble(p)))
                }
            },
            Some(_) => Ok(self.frames.decode(buf)?.map(Inbound::Frame)),
        }
    }

    /// Call at end of stream: an error if a partial preamble or frame is left.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<Inbound>> {
        match self.decode(buf)? {
            Some(item) => Ok(Some(item)),
            None if buf.is_empty() => Ok(None),
            None if self.stream.is_none() => Err(WireError::Truncated {
                buffered: buf.len(),
                needed: PREAMBLE_LEN,
            }),
            None => Err(WireError::Truncated {
                buffered: buf.len(),
                needed: needed_for(buf),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_frames_split_anywhere() {
        let mut wire = BytesMut::new();
        encode_frame(b"hello", &mut wire).unwrap();
        encode_frame(b"", &mut wire).unwrap();
        encode_frame(b"world!", &mut wire).unwrap();
        let all = wire.freeze();
        for split in 0..all.len() {
            let mut dec = FrameDecoder::new(100);
            let mut buf = BytesMut::new();
            let mut out = Vec::new();
            buf.extend_from_slice(&all[..split]);
            while let Some(f) = dec.decode(&mut buf).unwrap() {
                out.push(f);
            }
            buf.extend_from_slice(&all[split..]);
            while let Some(f) = dec.decode(&mut buf).unwrap() {
                out.push(f);
            }
            assert_eq!(out, vec![&b"hello"[..], &b""[..], &b"world!"[..]]);
            assert!(dec.decode_eof(&mut buf).unwrap().is_none());
        }
    }

    #[test]
    fn oversize_length_is_an_error_before_buffering() {
        let mut buf = BytesMut::from(&[0x01, 0x00, 0x10, 0x00][..]);
        assert_eq!(
            FrameDecoder::new(1024).decode(&mut buf),
            Err(WireError::FrameTooLarge {
                length: 0x100001,
                max: 1024
            })
        );
    }

    #[test]
    fn negative_length_is_an_error() {
        let mut buf = BytesMut::from(&[0xff, 0xff, 0xff, 0xff][..]);
        assert_eq!(
            FrameDecoder::new(1024).decode(&mut buf),
            Err(WireError::NegativeFrameLength(-1))
        );
    }

    #[test]
    fn truncated_frame_at_eof() {
        let mut buf = BytesMut::from(&[0x05, 0, 0, 0, b'a'][..]);
        assert_eq!(
            FrameDecoder::new(1024).decode_eof(&mut buf),
            Err(WireError::Truncated {
                buffered: 5,
                needed: 9
            })
        );
    }

    #[test]
    fn inbound_decoder_reads_preamble_then_frames() {
        let mut buf = BytesMut::from(&b"AKKA\x03"[..]);
        encode_frame(&[7u8; 50], &mut buf).unwrap();
        let mut dec = InboundDecoder::new(vec![*b"AKKA"], 10, 64);
        assert_eq!(
            dec.decode(&mut buf).unwrap(),
            Some(Inbound::Preamble(Preamble::new(StreamId::Large)))
        );
        // 50 bytes exceed the ordinary limit (10) but not the large one (64).
        assert_eq!(
            dec.decode(&mut buf).unwrap(),
            Some(Inbound::Frame(Bytes::from(vec![7u8; 50])))
        );
        assert_eq!(dec.decode_eof(&mut buf).unwrap(), None);
    }

    #[test]
    fn inbound_decoder_rejects_garbage_and_truncated_preamble() {
        let mut dec = InboundDecoder::new(vec![*b"AKKA"], 10, 64);
        let mut garbage = BytesMut::from(&b"GET / HTTP/1.1\r\n"[..]);
        assert!(matches!(
            dec.decode(&mut garbage),
            Err(WireError::BadMagic { .. })
        ));
        let mut dec = InboundDecoder::new(vec![*b"AKKA"], 10, 64);
        let mut short = BytesMut::from(&b"AKK"[..]);
        assert!(matches!(
            dec.decode_eof(&mut short),
            Err(WireError::Truncated { .. })
        ));
    }
}
