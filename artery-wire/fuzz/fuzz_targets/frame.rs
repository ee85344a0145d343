//! Preamble + frame decoding of an accepted connection, fed in chunks whose
//! sizes come from the input itself.
#![no_main]

use artery_wire::frame::InboundDecoder;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, rest)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(chunk).max(1);
    let mut dec = InboundDecoder::new(vec![*b"AKKA", *b"PEKK"], 4096, 65536);
    let mut buf = BytesMut::new();
    for part in rest.chunks(chunk) {
        buf.extend_from_slice(part);
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => return,
            }
        }
    }
    let _ = dec.decode_eof(&mut buf);
});
