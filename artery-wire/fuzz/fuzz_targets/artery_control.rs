//! Every ArteryControlFormats decoder (serializer 17, manifests `a`..`p`);
//! the first byte picks the manifest. Decoded messages must round-trip.
#![no_main]

use artery_wire::control::ArteryMessage;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

const MANIFESTS: [&str; 16] = [
    "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, payload)) = data.split_first() else {
        return;
    };
    let manifest = MANIFESTS[usize::from(pick) % MANIFESTS.len()];
    if let Ok(msg) = ArteryMessage::decode(manifest, Bytes::copy_from_slice(payload)) {
        let again = ArteryMessage::decode(msg.manifest(), msg.encode()).expect("round trip");
        assert_eq!(again, msg);
    }
});
