//! gzip as `java.util.zip.GZIPOutputStream` writes it, with a bound on inflated size.

use std::io::{Read, Write};

use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

/// Largest inflated payload accepted (protects against decompression bombs).
pub const MAX_DECOMPRESSED_SIZE: u64 = 64 * 1024 * 1024;

/// Compresses `data` into a single-member gzip stream.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(
        Vec::with_capacity(data.len() / 2 + 32),
        Compression::default(),
    );
    // writing into a Vec cannot fail
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// Inflates a gzip stream; errors on invalid data or more than [`MAX_DECOMPRESSED_SIZE`] bytes.
pub fn gunzip(data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    GzDecoder::new(data)
        .take(MAX_DECOMPRESSED_SIZE + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("invalid gzip data: {e}"))?;
    if out.len() as u64 > MAX_DECOMPRESSED_SIZE {
        return Err(format!(
            "gzip payload inflates beyond {MAX_DECOMPRESSED_SIZE} bytes"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let data = b"hello gossip".repeat(10);
        assert_eq!(gunzip(&gzip(&data)).unwrap(), data);
        assert!(gunzip(b"not gzip").is_err());
        assert!(gunzip(&gzip(&data)[..10]).is_err());
    }
}
