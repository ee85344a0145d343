//! The 5-byte connection preamble: a 4-byte magic (`AKKA` or `PEKK`) and the
//! stream id, written once by the connecting side of every TCP connection.

use crate::error::{Result, WireError};

/// Length of the preamble in bytes.
pub const PREAMBLE_LEN: usize = 5;

/// The magic every Pekko 1.x sends by default and accepts.
pub const MAGIC_AKKA: [u8; 4] = *b"AKKA";
/// The magic Pekko 1.7.0 accepts by default (and 2.0 sends).
pub const MAGIC_PEKK: [u8; 4] = *b"PEKK";

/// The three Artery streams; over TCP each is its own connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum StreamId {
    /// Handshakes, acks, system messages, heartbeats, quarantine notices.
    Control = 1,
    /// All other messages.
    Ordinary = 2,
    /// Messages to `large-message-destinations`.
    Large = 3,
}

impl StreamId {
    /// The id byte on the wire.
    pub fn as_u8(self) -> u8 {
        self as u8
    }

    /// Parses the id byte of a preamble.
    pub fn from_u8(b: u8) -> Result<Self> {
        match b {
            1 => Ok(StreamId::Control),
            2 => Ok(StreamId::Ordinary),
            3 => Ok(StreamId::Large),
            other => Err(WireError::BadStreamId(other)),
        }
    }

    /// A short name for logs.
    pub fn name(self) -> &'static str {
        match self {
            StreamId::Control => "control",
            StreamId::Ordinary => "ordinary",
            StreamId::Large => "large",
        }
    }
}

/// A parsed connection preamble.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preamble {
    /// The magic bytes.
    pub magic: [u8; 4],
    /// The stream this connection carries.
    pub stream: StreamId,
}

impl Preamble {
    /// A preamble with the default `AKKA` magic.
    pub fn new(stream: StreamId) -> Self {
        Preamble {
            magic: MAGIC_AKKA,
            stream,
        }
    }

    /// The 5 bytes to write.
    pub fn to_bytes(self) -> [u8; PREAMBLE_LEN] {
        let m = self.magic;
        [m[0], m[1], m[2], m[3], self.stream.as_u8()]
    }

    /// Parses the first 5 bytes of `buf`, accepting any magic in `accepted`.
    ///
    /// Returns `Ok(None)` while fewer than 5 bytes are available. The magic is
    /// checked as soon as 4 bytes are there, so garbage fails early.
    pub fn parse(buf: &[u8], accepted: &[[u8; 4]]) -> Result<Option<Preamble>> {
        if buf.len() < 4 {
            // Fail early on a prefix that cannot become an accepted magic.
            if !accepted.iter().any(|m| m.starts_with(buf)) {
                let mut found = [0u8; 4];
                found[..buf.len()].copy_from_slice(buf);
                return Err(bad_magic(found, accepted));
            }
            return Ok(None);
        }
        let magic = [buf[0], buf[1], buf[2], buf[3]];
        if !accepted.contains(&magic) {
            return Err(bad_magic(magic, accepted));
        }
        if buf.len() < PREAMBLE_LEN {
            return Ok(None);
        }
        Ok(Some(Preamble {
            magic,
            stream: StreamId::from_u8(buf[4])?,
        }))
    }
}

fn bad_magic(found: [u8; 4], accepted: &[[u8; 4]]) -> WireError {
    WireError::BadMagic {
        found,
        accepted: accepted
            .iter()
            .map(|m| String::from_utf8_lossy(m).into_owned())
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// Converts a configured `tcp-magic` entry (at least 4 UTF-8 bytes; the
/// first 4 count) into magic bytes.
pub fn magic_from_config(s: &str) -> Result<[u8; 4]> {
    let b = s.as_bytes();
    if b.len() < 4 {
        return Err(WireError::Encode {
            what: "tcp-magic",
            reason: format!("{s:?} is shorter than 4 bytes"),
        });
    }
    Ok([b[0], b[1], b[2], b[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOTH: &[[u8; 4]] = &[MAGIC_AKKA, MAGIC_PEKK];

    #[test]
    fn writes_akka_and_stream_id() {
        assert_eq!(
            Preamble::new(StreamId::Ordinary).to_bytes(),
            [0x41, 0x4b, 0x4b, 0x41, 2]
        );
    }

    #[test]
    fn parses_both_magics_and_all_streams() {
        for m in BOTH {
            for s in 1..=3u8 {
                let mut b = m.to_vec();
                b.push(s);
                let p = Preamble::parse(&b, BOTH).unwrap().unwrap();
                assert_eq!(p.stream.as_u8(), s);
                assert_eq!(&p.magic, m);
            }
        }
    }

    #[test]
    fn incomplete_is_none() {
        assert_eq!(Preamble::parse(b"AK", BOTH).unwrap(), None);
        assert_eq!(Preamble::parse(b"PEKK", BOTH).unwrap(), None);
    }

    #[test]
    fn wrong_magic_fails_early() {
        assert!(matches!(
            Preamble::parse(b"GE", BOTH),
            Err(WireError::BadMagic { .. })
        ));
        assert!(matches!(
            Preamble::parse(b"PEKK\x01", &[MAGIC_AKKA]),
            Err(WireError::BadMagic { .. })
        ));
    }

    #[test]
    fn bad_stream_id() {
        assert_eq!(
            Preamble::parse(b"AKKA\x04", BOTH),
            Err(WireError::BadStreamId(4))
        );
    }

    #[test]
    fn magic_from_config_takes_first_four_bytes() {
        assert_eq!(magic_from_config("PEKKO").unwrap(), MAGIC_PEKK);
        assert!(magic_from_config("AK").is_err());
    }
}
