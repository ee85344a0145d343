//! Throwable decoders of the misc serializer (16): `F` (ThrowableSupport),
//! `AIEX` and `TNSEX`, with nested causes; the first byte picks the
//! manifest. Whatever decodes must round-trip.
#![no_main]

use artery_wire::throwable::JvmThrowable;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

const MANIFESTS: [&str; 3] = ["F", "AIEX", "TNSEX"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, payload)) = data.split_first() else {
        return;
    };
    let manifest = MANIFESTS[usize::from(pick) % MANIFESTS.len()];
    if let Ok(t) = JvmThrowable::decode(manifest, Bytes::copy_from_slice(payload)) {
        let back = JvmThrowable::decode(t.manifest(), t.encode()).expect("round trip");
        assert_eq!(back, t);
        let _ = t.to_string();
    }
});
