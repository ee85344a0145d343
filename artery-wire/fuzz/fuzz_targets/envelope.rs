//! Envelope decoding; whatever decodes must encode back to a decodable
//! envelope equal to itself.
#![no_main]

use artery_wire::envelope::Envelope;
use bytes::{Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = Envelope::decode(Bytes::copy_from_slice(data)) {
        let mut out = BytesMut::new();
        if env.encode(&mut out).is_ok() {
            let again = Envelope::decode(out.freeze()).expect("re-encoded envelope decodes");
            assert_eq!(again, env);
        }
    }
});
