//! ContainerFormats decoders: the misc serializer (16) messages and the
//! ActorSelection envelope (6); the first byte picks the decoder.
#![no_main]

use artery_wire::misc::MiscMessage;
use artery_wire::selection::SelectionEnvelope;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

const MANIFESTS: [&str; 10] = ["A", "B", "D", "E", "G", "P", "K", "DONE", "NU", "TNSEX"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, payload)) = data.split_first() else {
        return;
    };
    let payload = Bytes::copy_from_slice(payload);
    let i = usize::from(pick) % (MANIFESTS.len() + 1);
    if i == MANIFESTS.len() {
        if let Ok(sel) = SelectionEnvelope::decode(payload) {
            assert_eq!(SelectionEnvelope::decode(sel.encode()).expect("round trip"), sel);
        }
    } else if let Ok(msg) = MiscMessage::decode(MANIFESTS[i], payload) {
        assert_eq!(
            MiscMessage::decode(msg.manifest(), msg.encode()).expect("round trip"),
            msg
        );
    }
});
