//! Every cluster serializer manifest; the first byte picks the manifest. Decoded messages
//! must re-encode and decode to a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rekko_cluster::codec::ClusterMessage;

const MANIFESTS: [&str; 14] = [
    "J", "W", "IJ", "IJA", "IJN", "L", "D", "EC", "GE", "GS", "HB", "HBR",
    "org.apache.pekko.cluster.ClusterHeartbeatSender$Heartbeat",
    "org.apache.pekko.cluster.ClusterHeartbeatSender$HeartbeatRsp",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, payload)) = data.split_first() else {
        return;
    };
    let manifest = MANIFESTS[usize::from(pick) % MANIFESTS.len()];
    if let Ok(msg) = ClusterMessage::from_binary(manifest, payload) {
        let again = ClusterMessage::from_binary(msg.manifest(), &msg.to_binary()).expect("round trip");
        let third = ClusterMessage::from_binary(again.manifest(), &again.to_binary()).expect("round trip");
        assert_eq!(again, third);
    }
});
