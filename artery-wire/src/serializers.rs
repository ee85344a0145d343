//! Serializer ids and manifests of Pekko's built-in serializers.
//!
//! Ids 0..=40 are reserved for Pekko. Values are the ones the JVM uses on the
//! wire (see the `serialization-identifiers` of Pekko's reference.conf).

/// `NullSerializer` (`null`).
pub const NULL: i32 = 0;
/// `JavaSerializer`; disabled by default on the JVM.
pub const JAVA: i32 = 1;
/// `ProtobufSerializer`: manifest = FQCN of the generated Java class.
pub const PROTOBUF: i32 = 2;
/// `DaemonMsgCreateSerializer` (remote deployment).
pub const DAEMON_MSG_CREATE: i32 = 3;
/// `ByteArraySerializer`: raw bytes.
pub const BYTE_ARRAY: i32 = 4;
/// `ClusterMessageSerializer`.
pub const CLUSTER: i32 = 5;
/// `MessageContainerSerializer`: ActorSelection envelopes.
pub const MESSAGE_CONTAINER: i32 = 6;
/// Persistence `MessageSerializer`.
pub const PERSISTENCE_MESSAGE: i32 = 7;
/// Persistence `SnapshotSerializer`.
pub const PERSISTENCE_SNAPSHOT: i32 = 8;
/// `DistributedPubSubMessageSerializer`.
pub const PUBSUB: i32 = 9;
/// Cluster metrics `MessageSerializer`.
pub const CLUSTER_METRICS: i32 = 10;
/// `ReplicatedDataSerializer`.
pub const REPLICATED_DATA: i32 = 11;
/// `ReplicatorMessageSerializer`.
pub const DATA_REPLICATION: i32 = 12;
/// `ClusterShardingMessageSerializer`.
pub const SHARDING: i32 = 13;
/// `ClusterSingletonMessageSerializer`.
pub const SINGLETON: i32 = 14;
/// `ClusterClientMessageSerializer`.
pub const CLUSTER_CLIENT: i32 = 15;
/// `MiscMessageSerializer`: Identify, ActorIdentity, Status, PoisonPill, ...
pub const MISC: i32 = 16;
/// `ArteryMessageSerializer`: Artery control messages.
pub const ARTERY: i32 = 17;
/// `LongSerializer`: 8 bytes little endian.
pub const LONG: i32 = 18;
/// `IntSerializer`: 4 bytes little endian.
pub const INT: i32 = 19;
/// `StringSerializer`: UTF-8 bytes.
pub const STRING: i32 = 20;
/// `ByteStringSerializer`: raw bytes.
pub const BYTE_STRING: i32 = 21;
/// `SystemMessageSerializer`: Watch, Unwatch, DeathWatchNotification, ...
pub const SYSTEM_MESSAGE: i32 = 22;
/// testkit `TestJavaSerializer`.
pub const TEST_JAVA: i32 = 23;
/// Typed `MiscMessageSerializer` (typed ActorRef, manifest `a`).
pub const TYPED_MISC: i32 = 24;
/// Typed sharding `ShardingSerializer`.
pub const TYPED_SHARDING: i32 = 25;
/// Receptionist `ServiceKeySerializer`.
pub const SERVICE_KEY: i32 = 26;
/// `PekkoClusterTypedSerializer`.
pub const TYPED_CLUSTER: i32 = 28;
/// `StreamRefSerializer`.
pub const STREAM_REF: i32 = 30;
/// Jackson JSON; manifest = class FQCN (optionally `#version`).
pub const JACKSON_JSON: i32 = 31;
/// Legacy Jackson "CBOR" id that really carries JSON.
pub const JACKSON_CBOR_264: i32 = 32;
/// Jackson CBOR; manifest = class FQCN.
pub const JACKSON_CBOR: i32 = 33;
/// `BooleanSerializer`: one byte 0 or 1.
pub const BOOLEAN: i32 = 35;
/// `ReliableDeliverySerializer`.
pub const RELIABLE_DELIVERY: i32 = 36;
/// `QuerySerializer` of persistence-query.
pub const PERSISTENCE_QUERY: i32 = 39;
/// `ReplicatedEventSourcingSerializer`.
pub const REPLICATED_EVENT_SOURCING: i32 = 40;

/// The manifest of the typed ActorRef under [`TYPED_MISC`].
pub const TYPED_ACTOR_REF_MANIFEST: &str = "a";

/// Manifests of [`ARTERY`] (ArteryMessageSerializer).
pub mod artery {
    /// `Quarantined(from, to)`.
    pub const QUARANTINED: &str = "a";
    /// `ActorSystemTerminating(from)`.
    pub const ACTOR_SYSTEM_TERMINATING: &str = "b";
    /// `ActorSystemTerminatingAck(from)`.
    pub const ACTOR_SYSTEM_TERMINATING_ACK: &str = "c";
    /// `HandshakeReq(from, to)`.
    pub const HANDSHAKE_REQ: &str = "d";
    /// `HandshakeRsp(from)`.
    pub const HANDSHAKE_RSP: &str = "e";
    /// `ActorRefCompressionAdvertisement`.
    pub const ACTOR_REF_COMPRESSION_ADVERTISEMENT: &str = "f";
    /// `ActorRefCompressionAdvertisementAck`.
    pub const ACTOR_REF_COMPRESSION_ADVERTISEMENT_ACK: &str = "g";
    /// `ClassManifestCompressionAdvertisement`.
    pub const CLASS_MANIFEST_COMPRESSION_ADVERTISEMENT: &str = "h";
    /// `ClassManifestCompressionAdvertisementAck`.
    pub const CLASS_MANIFEST_COMPRESSION_ADVERTISEMENT_ACK: &str = "i";
    /// `SystemMessageEnvelope`.
    pub const SYSTEM_MESSAGE_ENVELOPE: &str = "j";
    /// `SystemMessageDelivery.Ack`.
    pub const SYSTEM_MESSAGE_DELIVERY_ACK: &str = "k";
    /// `SystemMessageDelivery.Nack`.
    pub const SYSTEM_MESSAGE_DELIVERY_NACK: &str = "l";
    /// `ArteryHeartbeat` (empty payload).
    pub const ARTERY_HEARTBEAT: &str = "m";
    /// `ArteryHeartbeatRsp(uid)`.
    pub const ARTERY_HEARTBEAT_RSP: &str = "n";
    /// `Flush` (empty payload).
    pub const FLUSH: &str = "o";
    /// `FlushAck(expectedAcks)`.
    pub const FLUSH_ACK: &str = "p";
}

/// Manifests of [`MISC`] (MiscMessageSerializer).
pub mod misc {
    /// `Identify(messageId)`.
    pub const IDENTIFY: &str = "A";
    /// `ActorIdentity(correlationId, ref)`.
    pub const ACTOR_IDENTITY: &str = "B";
    /// Scala `Option`.
    pub const OPTION: &str = "C";
    /// `Status.Success`.
    pub const STATUS_SUCCESS: &str = "D";
    /// `Status.Failure`.
    pub const STATUS_FAILURE: &str = "E";
    /// A throwable bound to pekko-misc.
    pub const THROWABLE: &str = "F";
    /// Classic `ActorRef`.
    pub const ACTOR_REF: &str = "G";
    /// `java.util.Optional`.
    pub const OPTIONAL: &str = "H";
    /// `PoisonPill`.
    pub const POISON_PILL: &str = "P";
    /// `Kill`.
    pub const KILL: &str = "K";
    /// Classic `RemoteWatcher.Heartbeat`.
    pub const REMOTE_WATCHER_HEARTBEAT: &str = "RWHB";
    /// Classic `RemoteWatcher.HeartbeatRsp`.
    pub const REMOTE_WATCHER_HEARTBEAT_RSP: &str = "RWHR";
    /// `Done`.
    pub const DONE: &str = "DONE";
    /// `NotUsed`.
    pub const NOT_USED: &str = "NU";
    /// `Address`.
    pub const ADDRESS: &str = "AD";
    /// `UniqueAddress`.
    pub const UNIQUE_ADDRESS: &str = "UD";
    /// `ActorInitializationException`.
    pub const ACTOR_INIT_EXCEPTION: &str = "AIEX";
    /// `ThrowableNotSerializableException`.
    pub const THROWABLE_NOT_SERIALIZABLE: &str = "TNSEX";
    /// `LocalScope`.
    pub const LOCAL_SCOPE: &str = "LS";
    /// `RemoteScope`.
    pub const REMOTE_SCOPE: &str = "RS";
    /// Typesafe `Config`.
    pub const CONFIG: &str = "CF";
    /// Routing `FromConfig`.
    pub const FROM_CONFIG: &str = "FC";
    /// `DefaultResizer`.
    pub const DEFAULT_RESIZER: &str = "DR";
    /// `BalancingPool`.
    pub const BALANCING_POOL: &str = "ROBAP";
    /// `BroadcastPool`.
    pub const BROADCAST_POOL: &str = "ROBP";
    /// `RandomPool`.
    pub const RANDOM_POOL: &str = "RORP";
    /// `RoundRobinPool`.
    pub const ROUND_ROBIN_POOL: &str = "RORRP";
    /// `ScatterGatherFirstCompletedPool`.
    pub const SCATTER_GATHER_POOL: &str = "ROSGP";
    /// `TailChoppingPool`.
    pub const TAIL_CHOPPING_POOL: &str = "ROTCP";
    /// `RemoteRouterConfig`.
    pub const REMOTE_ROUTER_CONFIG: &str = "RORRC";
    /// `StatusReply.Success(value)`.
    pub const STATUS_REPLY_SUCCESS: &str = "S";
    /// `StatusReply.Ack`.
    pub const STATUS_REPLY_ACK: &str = "SA";
    /// `StatusReply.Error` with a message.
    pub const STATUS_REPLY_ERROR_MESSAGE: &str = "SM";
    /// `StatusReply.Error` with an exception.
    pub const STATUS_REPLY_ERROR_EXCEPTION: &str = "SE";
}

/// Human-readable name of a built-in serializer id, for logs.
pub fn name(id: i32) -> Option<&'static str> {
    Some(match id {
        NULL => "null",
        JAVA => "java",
        PROTOBUF => "proto",
        DAEMON_MSG_CREATE => "daemon-create",
        BYTE_ARRAY => "bytes",
        MESSAGE_CONTAINER => "pekko-containers",
        MISC => "pekko-misc",
        ARTERY => "artery",
        LONG => "primitive-long",
        INT => "primitive-int",
        STRING => "primitive-string",
        BYTE_STRING => "primitive-bytestring",
        SYSTEM_MESSAGE => "pekko-system-msg",
        TYPED_MISC => "typed-misc",
        JACKSON_JSON => "jackson-json",
        JACKSON_CBOR => "jackson-cbor",
        BOOLEAN => "primitive-boolean",
        _ => return None,
    })
}
