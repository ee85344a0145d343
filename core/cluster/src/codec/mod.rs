//! Pekko's cluster membership serializer (`ClusterMessageSerializer`, id 5): the messages,
//! their string manifests and their protobuf encodings, including the gzip compression of
//! `Welcome` and of the gossip inside `GossipEnvelope`.

mod convert;
mod gzip;
mod messages;

/// prost types generated from `proto/ClusterMessages.proto`.
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    include!(concat!(env!("OUT_DIR"), "/rekko.cluster.rs"));
}

pub use convert::{
    address_from_proto, address_to_proto, gossip_from_proto, gossip_to_proto,
    unique_address_from_proto, unique_address_to_proto,
};
pub use gzip::{gunzip, gzip, MAX_DECOMPRESSED_SIZE};
pub use messages::{ClusterMessage, ConfigCheck, Heartbeat, HeartbeatRsp, Join};

/// The Pekko message type a manifest of the cluster serializer stands for (for logs);
/// `"unknown"` for other manifests.
pub fn message_name(manifest: &str) -> &'static str {
    let short = manifest
        .strip_prefix("org.apache.pekko.cluster.")
        .unwrap_or(manifest);
    match short {
        "J" | "InternalClusterAction$Join" => "Join",
        "W" | "InternalClusterAction$Welcome" => "Welcome",
        "L" | "ClusterUserAction$Leave" => "Leave",
        "D" | "ClusterUserAction$Down" => "Down",
        "IJ" | "InternalClusterAction$InitJoin$" => "InitJoin",
        "IJA" | "InternalClusterAction$InitJoinAck" => "InitJoinAck",
        "IJN" | "InternalClusterAction$InitJoinNack" => "InitJoinNack",
        "EC" | "InternalClusterAction$ExitingConfirmed" => "ExitingConfirmed",
        "GS" | "GossipStatus" => "GossipStatus",
        "GE" | "GossipEnvelope" => "GossipEnvelope",
        "HB" | "ClusterHeartbeatSender$Heartbeat" => "Heartbeat",
        "HBR" | "ClusterHeartbeatSender$HeartbeatRsp" => "HeartbeatRsp",
        "CRP" => "ClusterRouterPool",
        _ => "unknown",
    }
}

/// Serializer id of Pekko's `ClusterMessageSerializer`.
pub const SERIALIZER_ID: i32 = 5;

/// Fully qualified JVM class of the serializer.
pub const SERIALIZER_CLASS: &str = "org.apache.pekko.cluster.protobuf.ClusterMessageSerializer";
