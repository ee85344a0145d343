//! Gossip decoding: the input is a `Gossip` protobuf (uncompressed, so the fuzzer reaches the
//! index-table resolution) and, second, the payload of a `GossipEnvelope`. Whatever decodes
//! must re-encode to something that decodes to a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use rekko_cluster::codec::{self, proto, ClusterMessage};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = proto::Gossip::decode(data) {
        if let Ok(g) = codec::gossip_from_proto(&p) {
            let once = codec::gossip_from_proto(&codec::gossip_to_proto(&g)).expect("re-encoded gossip decodes");
            let twice = codec::gossip_from_proto(&codec::gossip_to_proto(&once)).expect("fixed point decodes");
            assert_eq!(once, twice);
        }
    }
    if let Ok(msg) = ClusterMessage::from_binary("GE", data) {
        let again = ClusterMessage::from_binary("GE", &msg.to_binary()).expect("round trip");
        let third = ClusterMessage::from_binary("GE", &again.to_binary()).expect("round trip");
        assert_eq!(again, third);
    }
});
