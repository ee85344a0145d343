//! A remoting node: its identity, associations, local endpoints and the
//! public API to send, ask and identify.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use artery_wire::compression::TableKind;
use artery_wire::control::ArteryMessage;
use artery_wire::envelope::{Envelope, Field};
use artery_wire::misc::{MiscMessage, Payload};
use artery_wire::remote_watch::RemoteWatch;
use artery_wire::selection::SelectionEnvelope;
use artery_wire::serializers;
use artery_wire::sysmsg::SystemMessage;
use artery_wire::system_delivery::{SystemMessageAcker, SystemMessageSender};
use artery_wire::{ActorPath, Address, StreamId, UniqueAddress};
use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::association::{
    stream_channels, Association, StreamKey, StreamQueues, StreamStats, TrafficCounters,
};
use crate::codec::RemoteMessage;
use crate::error::{RemoteError, Result};
use crate::message::{Delivery, SerializedMessage};
use crate::recipient::{RemoteRecipient, Resolved, CACHE_CAPACITY};
use crate::settings::RemoteSettings;

/// A hash map with a fast, non-cryptographic hasher for the per-message
/// lookups (keys come from this node or from authenticated peers).
pub(crate) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// A message sent to a path of this node, delivered by the loopback task.
pub(crate) struct Loopback {
    pub sender: Option<String>,
    pub recipient: String,
    pub message: SerializedMessage,
}

/// Recipient paths the JVM always routes over the control stream.
const PRIORITY_PATHS: &[&str] = &[
    "/system/remote-watcher",
    "/system/cluster/core/daemon/heartbeatSender",
    "/system/cluster/core/daemon/crossDcHeartbeatSender",
    "/system/cluster/heartbeatReceiver",
];

/// Path that receives DeathWatchNotifications for watches made with
/// [`RemoteNode::watch`].
pub(crate) const WATCHER: &str = "/system/rekko-watcher";

/// Path that collects `ActorSystemTerminatingAck`s during shutdown.
pub(crate) const FLUSH_ON_SHUTDOWN: &str = "/system/remoteFlushOnShutdown";

/// Path of the built-in heartbeat responder.
pub(crate) const REMOTE_WATCHER: &str = "/system/remote-watcher";

/// A local endpoint: called for every message delivered to its path. It runs
/// on the connection's reader task and must not block.
pub type Handler = Arc<dyn Fn(&RemoteNode, Delivery) + Send + Sync>;

/// Something observable that happened in the transport (also logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteEvent {
    /// A handshake with a peer incarnation completed.
    AssociationEstablished(UniqueAddress),
    /// An accepted connection was closed because of bad input.
    InboundConnectionClosed {
        /// The TCP peer.
        peer: String,
        /// What was wrong.
        reason: String,
    },
    /// An inbound message was dropped (the connection lives).
    MessageDropped {
        /// Why.
        reason: String,
    },
    /// An outbound handshake timed out.
    HandshakeTimedOut(Address),
    /// A peer told us it quarantined this incarnation.
    QuarantinedByPeer(UniqueAddress),
    /// A watched remote actor stopped (DeathWatchNotification received), or
    /// its node was lost (`address_terminated`).
    Terminated {
        /// The actor that stopped, as given to [`RemoteNode::watch`].
        actor: String,
        /// False if it never existed (or its node was lost).
        existence_confirmed: bool,
        /// True when the failure detector declared its node lost.
        address_terminated: bool,
    },
    /// A peer announced that its actor system is terminating; its
    /// incarnation is quarantined harmlessly.
    PeerTerminating(UniqueAddress),
    /// A peer advertised a compression table for what this node sends it;
    /// it was installed and acknowledged.
    CompressionTableInstalled {
        /// The advertising peer.
        from: UniqueAddress,
        /// True for actor refs, false for manifests.
        actor_refs: bool,
        /// The table version.
        version: u32,
        /// The keys (actor paths or manifests).
        keys: Vec<String>,
    },
    /// A peer acknowledged a compression table this node advertised.
    CompressionAdvertisementAcked {
        /// The peer.
        from: UniqueAddress,
        /// True for actor refs, false for manifests.
        actor_refs: bool,
        /// The acknowledged version.
        version: u32,
    },
    /// A watched node answered a heartbeat.
    HeartbeatResponse(UniqueAddress),
    /// The failure detector declared a watched node lost; its last uid is
    /// quarantined.
    AddressTerminated(Address),
    /// A peer acknowledged the system messages this node sent it up to
    /// `seq_no` (e.g. a `Watch` arrived).
    SystemMessageAcked {
        /// The acknowledging peer.
        from: UniqueAddress,
        /// The highest acknowledged sequence number.
        seq_no: u64,
    },
    /// An inbound handshake was refused (e.g. its protocol is not in
    /// `accept-protocol-names`).
    HandshakeRefused {
        /// The system that asked.
        from: UniqueAddress,
        /// Why.
        reason: String,
    },
    /// An outbound connection was opened (before its handshake).
    OutboundConnected {
        /// The peer.
        remote: Address,
        /// The stream.
        stream: StreamId,
        /// The lane (0 unless `outbound-lanes` > 1 on the ordinary stream).
        lane: usize,
    },
    /// An outbound stream was stopped because the association was idle
    /// longer than `stop-idle-outbound-after`; the next message starts it.
    OutboundStreamIdleStopped {
        /// The peer.
        remote: Address,
        /// The stream.
        stream: StreamId,
        /// The lane.
        lane: usize,
    },
    /// This node quarantined a peer incarnation.
    Quarantined {
        /// The peer incarnation.
        remote: UniqueAddress,
        /// Why.
        reason: String,
    },
}

pub(crate) struct Inner {
    pub local: UniqueAddress,
    pub settings: RemoteSettings,
    pub associations: Mutex<FastMap<Address, Arc<Association>>>,
    pub uid_index: Mutex<FastMap<u64, Address>>,
    /// Bumped whenever `uid_index` changes (readers cache their origin).
    pub uid_generation: AtomicU64,
    /// Recipients resolved from the path strings given to `tell` & co.
    pub recipients: Mutex<FastMap<Box<str>, Arc<Resolved>>>,
    /// Messages to paths of this node, delivered in order by one task.
    pub loopback: mpsc::UnboundedSender<Loopback>,
    pub endpoints: Mutex<crate::endpoints::LocalEndpoints>,
    pub temp: Mutex<FastMap<String, oneshot::Sender<Delivery>>>,
    pub watchers: Mutex<HashMap<String, Vec<String>>>,
    temp_counter: AtomicU64,
    pub compressed_sends: AtomicU64,
    pub traffic: TrafficCounters,
    pub acker: Mutex<SystemMessageAcker>,
    pub remote_watch: Mutex<RemoteWatch>,
    pub tls: Option<Arc<crate::tls::Tls>>,
    pub flush_acks: Mutex<Option<mpsc::UnboundedSender<UniqueAddress>>>,
    pub inbound_compression: Mutex<crate::compression::InboundCompression>,
    pub events: broadcast::Sender<RemoteEvent>,
    pub tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Inner {
    pub fn emit(&self, e: RemoteEvent) {
        let _ = self.events.send(e);
    }

    pub fn spawn(&self, f: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut tasks = self.tasks.lock();
        tasks.retain(|t| !t.is_finished());
        tasks.push(tokio::spawn(f));
    }

    /// The association for `remote`, created if needed.
    pub fn association(self: &Arc<Self>, remote: &Address) -> Arc<Association> {
        self.associations
            .lock()
            .entry(remote.clone())
            .or_insert_with(|| {
                Arc::new(Association::new(
                    remote.clone(),
                    SystemMessageSender::new(self.local.clone(), self.settings.system_messages),
                ))
            })
            .clone()
    }

    /// The full path of a local path like `/user/echo`.
    pub fn full_path(&self, local_path: &str) -> String {
        format!("{}{}", self.local.address, local_path)
    }

    /// Queues one encoded frame toward `remote` on `stream`, starting the
    /// stream's writer if needed.
    pub fn enqueue(
        self: &Arc<Self>,
        remote: &Address,
        stream: StreamId,
        frame: Bytes,
        urgent: bool,
    ) {
        self.try_enqueue(remote, stream, frame, urgent);
    }

    /// Like [`Inner::enqueue`]; false if the message was dropped (queue
    /// full or stream gone).
    pub fn try_enqueue(
        self: &Arc<Self>,
        remote: &Address,
        stream: StreamId,
        frame: Bytes,
        urgent: bool,
    ) -> bool {
        self.try_enqueue_lane(remote, (stream, 0), frame, urgent)
    }

    /// Like [`Inner::try_enqueue`] on one lane of a stream. A non-urgent
    /// frame marks the association as used (see `stop-idle-outbound-after`).
    pub fn try_enqueue_lane(
        self: &Arc<Self>,
        remote: &Address,
        key: StreamKey,
        frame: Bytes,
        urgent: bool,
    ) -> bool {
        let stream = key.0;
        let queues = self.lane_queues(remote, key);
        let ok = if urgent {
            queues.urgent.send(frame).is_ok()
        } else {
            if let Some(a) = self.associations.lock().get(remote) {
                a.touch();
            }
            match queues.gated.try_send(frame) {
                Ok(()) => true,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    warn!(remote = %remote, stream = stream.name(), "outbound queue full, message dropped");
                    return false;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            }
        };
        if !ok {
            warn!(remote = %remote, stream = stream.name(), "outbound stream is gone, message dropped");
        }
        ok
    }

    /// The queues of `stream` toward `remote`, starting its writer (which
    /// connects and sends a `HandshakeReq` first) if needed.
    pub fn queues(self: &Arc<Self>, remote: &Address, stream: StreamId) -> StreamQueues {
        self.lane_queues(remote, (stream, 0))
    }

    /// The queues of one lane of a stream toward `remote`, starting its
    /// writer if needed.
    pub fn lane_queues(self: &Arc<Self>, remote: &Address, key: StreamKey) -> StreamQueues {
        let assoc = self.association(remote);
        self.lane_queues_of(&assoc, key)
    }

    /// The queues of one lane of a stream of `assoc`, starting its writer
    /// if needed.
    pub fn lane_queues_of(
        self: &Arc<Self>,
        assoc: &Arc<Association>,
        key: StreamKey,
    ) -> StreamQueues {
        let stream = key.0;
        let mut streams = assoc.streams.lock();
        streams
            .entry(key)
            .or_insert_with(|| {
                let size = match stream {
                    StreamId::Control => self.settings.outbound_control_queue_size,
                    StreamId::Ordinary => self.settings.outbound_message_queue_size,
                    StreamId::Large => self.settings.outbound_large_message_queue_size,
                };
                let (q, rx) = stream_channels(size);
                let me = self.clone();
                let a = assoc.clone();
                self.spawn(crate::outbound::run_writer(me, a, key, rx));
                q
            })
            .clone()
    }

    /// Encodes an envelope from this node.
    pub fn frame(
        &self,
        sender: Option<&str>,
        recipient: Option<&str>,
        serializer_id: i32,
        manifest: &str,
        payload: Bytes,
    ) -> Result<Bytes> {
        let env = Envelope::new(
            self.local.uid,
            serializer_id,
            Field::optional(sender),
            Field::optional(recipient),
            Field::literal(manifest),
            payload,
        );
        let mut buf = BytesMut::with_capacity(env.encoded_len() + 4);
        env.encode_frame(&mut buf)?;
        Ok(buf.freeze())
    }

    /// Sends a recipient-less transport control message on stream 1.
    pub fn send_control(self: &Arc<Self>, remote: &Address, msg: &ArteryMessage) {
        match self.frame(
            None,
            None,
            serializers::ARTERY,
            msg.manifest(),
            msg.encode(),
        ) {
            Ok(f) => self.enqueue(remote, StreamId::Control, f, true),
            Err(e) => warn!(remote = %remote, error = %e, "cannot encode control message"),
        }
    }

    /// Refuses a recipient whose protocol is not in `accept-protocol-names`.
    fn check_protocol(&self, recipient: &ActorPath) -> Result<()> {
        if self.settings.accepts_protocol(&recipient.address.protocol) {
            Ok(())
        } else {
            Err(RemoteError::Wire(artery_wire::WireError::WrongProtocol {
                path: recipient.to_string(),
                accepted: self.settings.accept_protocol_names.join(", "),
            }))
        }
    }

    /// The recipient at the full path `path`, resolved once and then taken
    /// from the node's cache.
    pub fn resolve(self: &Arc<Self>, path: &str) -> Result<Arc<Resolved>> {
        if let Some(r) = self.recipients.lock().get(path) {
            return Ok(r.clone());
        }
        let parsed: ActorPath = path.parse()?;
        let r = Arc::new(self.resolve_path(parsed)?);
        if path.contains("/temp/") {
            // Ask replies go to a temporary path once; never worth a slot.
            return Ok(r);
        }
        let mut cache = self.recipients.lock();
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(path.into(), r.clone());
        Ok(r)
    }

    /// Resolves a parsed path (not cached).
    pub fn resolve_path(self: &Arc<Self>, path: ActorPath) -> Result<Resolved> {
        self.check_protocol(&path)?;
        Ok(Resolved::new(self, path))
    }

    /// Sends a message to a full actor path; messages to [`PRIORITY_PATHS`] go on the control
    /// stream.
    pub fn tell_path(
        self: &Arc<Self>,
        recipient: &ActorPath,
        sender: Option<&str>,
        msg: &SerializedMessage,
    ) -> Result<()> {
        self.send_path(recipient, sender, msg, false)
    }

    /// Sends a message to a full actor path; `priority` puts it on the control stream whatever
    /// the path (the JVM's `PriorityMessage`).
    pub fn send_path(
        self: &Arc<Self>,
        recipient: &ActorPath,
        sender: Option<&str>,
        msg: &SerializedMessage,
        priority: bool,
    ) -> Result<()> {
        let r = self.resolve_path(recipient.clone())?;
        self.send_resolved(&r, sender, msg, priority)
    }

    /// Sends a message to a resolved recipient; `priority` puts it on the
    /// control stream. A recipient on this node's own address is delivered
    /// locally, in order, without a connection.
    pub fn send_resolved(
        self: &Arc<Self>,
        r: &Resolved,
        sender: Option<&str>,
        msg: &SerializedMessage,
        priority: bool,
    ) -> Result<()> {
        if r.local {
            return self.send_loopback(r, sender, msg);
        }
        let (key, max) = if priority && r.key.0 != StreamId::Control {
            ((StreamId::Control, 0), self.settings.maximum_frame_size)
        } else {
            (r.key, r.max)
        };
        let stream = key.0;
        let frame = self.resolved_frame(r, stream == StreamId::Ordinary, sender, msg)?;
        let size = frame.len() - 4;
        if size > max {
            warn!(recipient = %r.text, size, max, stream = stream.name(), "dropping message larger than the maximum frame size");
            return Err(RemoteError::MessageTooLarge {
                path: r.text.to_string(),
                size,
                max,
                stream: stream.name(),
            });
        }
        if self.enqueue_resolved(r, key, frame) {
            Ok(())
        } else {
            Err(RemoteError::QueueFull {
                path: r.text.to_string(),
                stream: stream.name(),
            })
        }
    }

    /// Hands a message for a path of this node to the loopback task.
    fn send_loopback(
        &self,
        r: &Resolved,
        sender: Option<&str>,
        msg: &SerializedMessage,
    ) -> Result<()> {
        let m = Loopback {
            sender: sender.map(str::to_string),
            recipient: r.path.path_string(),
            message: msg.clone(),
        };
        self.loopback.send(m).map_err(|_| RemoteError::Shutdown)
    }

    /// Queues `frame` on `key` of the recipient's association: through the
    /// recipient's cached queue when its writer still runs, else through the
    /// association (starting the writer). Marks the association as used.
    fn enqueue_resolved(self: &Arc<Self>, r: &Resolved, key: StreamKey, frame: Bytes) -> bool {
        r.assoc.touch();
        let mut frame = frame;
        let own_lane = key == r.key;
        if own_lane {
            if let Some(q) = r.cached_queue() {
                match q.try_send(frame) {
                    Ok(()) => return true,
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        warn!(remote = %r.assoc.remote, stream = key.0.name(), "outbound queue full, message dropped");
                        return false;
                    }
                    // The stream was stopped (idle): start a new one.
                    Err(mpsc::error::TrySendError::Closed(f)) => frame = f,
                }
            }
        }
        let queues = self.lane_queues_of(&r.assoc, key);
        if own_lane {
            r.cache_queue(&queues.gated);
        }
        match queues.gated.try_send(frame) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                warn!(remote = %r.assoc.remote, stream = key.0.name(), "outbound queue full, message dropped");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                warn!(remote = %r.assoc.remote, stream = key.0.name(), "outbound stream is gone, message dropped");
                false
            }
        }
    }

    /// Encodes an envelope to a resolved recipient. On the ordinary stream
    /// (`compress`) the refs and manifest found in the tables the peer
    /// advertised are written compressed.
    fn resolved_frame(
        &self,
        r: &Resolved,
        compress: bool,
        sender: Option<&str>,
        msg: &SerializedMessage,
    ) -> Result<Bytes> {
        let env = if compress {
            let table = r.assoc.compression.lock();
            let mut used = false;
            let mut field = |kind: TableKind, text: Option<&str>| match text {
                Some(t) if !t.is_empty() => match table.compress(kind, t) {
                    Some((_, i)) => {
                        used = true;
                        Field::Compressed(i)
                    }
                    None => Field::literal(t),
                },
                _ => Field::empty(),
            };
            let sender_f = field(TableKind::ActorRef, sender);
            let manifest_f = field(TableKind::Manifest, Some(&msg.manifest));
            let recipient_f = match table.compress(TableKind::ActorRef, &r.text) {
                Some((_, i)) => {
                    used = true;
                    Field::Compressed(i)
                }
                None => Field::Literal(r.literal.clone()),
            };
            let mut env = Envelope::new(
                self.local.uid,
                msg.serializer_id,
                sender_f,
                recipient_f,
                manifest_f,
                msg.payload.clone(),
            );
            env.actor_ref_table_version = table.version(TableKind::ActorRef);
            env.manifest_table_version = table.version(TableKind::Manifest);
            drop(table);
            if used {
                self.compressed_sends.fetch_add(1, Ordering::Relaxed);
            }
            env
        } else {
            Envelope::new(
                self.local.uid,
                msg.serializer_id,
                Field::optional(sender),
                Field::Literal(r.literal.clone()),
                Field::literal(&msg.manifest),
                msg.payload.clone(),
            )
        };
        let mut buf = BytesMut::with_capacity(env.encoded_len() + 4);
        env.encode_frame(&mut buf)?;
        Ok(buf.freeze())
    }

    /// Sends a system message to `to` with acknowledged delivery.
    pub fn send_system(self: &Arc<Self>, to: &str, m: SystemMessage) {
        let Ok(path) = to.parse::<ActorPath>() else {
            warn!(to, "cannot send system message to unparsable path");
            return;
        };
        let assoc = self.association(&path.address);
        let Some(uid) = assoc.peer_uid() else {
            warn!(
                to,
                "no handshake with {}; system message dropped", path.address
            );
            return;
        };
        let r = assoc
            .system_sender
            .lock()
            .send(uid, to.to_string(), m.encode(), Instant::now());
        match r {
            Ok(s) => {
                let msg = s.message();
                match self.frame(
                    None,
                    Some(to),
                    serializers::ARTERY,
                    msg.manifest(),
                    msg.encode(),
                ) {
                    Ok(f) => self.enqueue(&path.address, StreamId::Control, f, false),
                    Err(e) => warn!(error = %e, "cannot encode system message"),
                }
            }
            Err(e) => warn!(to, reason = ?e, "system message buffer overflow"),
        }
    }

    /// Opens the control stream to `remote` if needed and waits until the
    /// handshake has completed; returns the peer's uid.
    pub async fn associate(self: &Arc<Self>, remote: &Address, timeout: Duration) -> Result<u64> {
        let assoc = self.association(remote);
        let mut rx = assoc.subscribe_uid();
        self.queues(remote, StreamId::Control);
        let wait = async {
            loop {
                if let Some(uid) = *rx.borrow_and_update() {
                    return Some(uid);
                }
                if rx.changed().await.is_err() {
                    return None;
                }
            }
        };
        match tokio::time::timeout(timeout, wait).await {
            Ok(Some(uid)) => Ok(uid),
            Ok(None) => Err(RemoteError::Shutdown),
            Err(_) => Err(RemoteError::AssociationFailed {
                remote: remote.to_string(),
                timeout,
                cause: assoc.last_error.lock().clone(),
            }),
        }
    }

    /// Registers a temporary reply path and returns it with its receiver.
    pub fn temp_path(&self) -> (String, oneshot::Receiver<Delivery>) {
        let n = self.temp_counter.fetch_add(1, Ordering::Relaxed);
        let path = format!("/temp/$rekko{n}");
        let (tx, rx) = oneshot::channel();
        self.temp.lock().insert(path.clone(), tx);
        (path, rx)
    }

    async fn await_reply(
        &self,
        path: &str,
        target: &ActorPath,
        rx: oneshot::Receiver<Delivery>,
        timeout: Duration,
    ) -> Result<Delivery> {
        let r = tokio::time::timeout(timeout, rx).await;
        self.temp.lock().remove(path);
        match r {
            Ok(Ok(d)) => Ok(d),
            Ok(Err(_)) => Err(RemoteError::Shutdown),
            Err(_) => {
                let cause = self
                    .associations
                    .lock()
                    .get(&target.address)
                    .and_then(|a| a.last_error.lock().clone());
                Err(RemoteError::AskTimeout {
                    path: target.to_string(),
                    timeout,
                    cause,
                })
            }
        }
    }
}

/// A running remoting node. Cheap to clone; all clones share the node.
#[derive(Clone)]
pub struct RemoteNode {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for RemoteNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteNode")
            .field("address", &self.inner.local)
            .finish()
    }
}

impl RemoteNode {
    /// Binds the listener and starts the node. With canonical port 0 the
    /// bound port becomes the canonical port.
    pub async fn start(settings: RemoteSettings) -> Result<RemoteNode> {
        let bind_host = settings
            .bind_hostname
            .clone()
            .unwrap_or_else(|| settings.canonical_hostname.clone());
        let bind_host = bind_host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let bind_port = settings.bind_port.unwrap_or(settings.canonical_port);
        let addr = format!("{bind_host}:{bind_port}");
        let listener = TcpListener::bind((bind_host.as_str(), bind_port))
            .await
            .map_err(|source| RemoteError::Bind {
                addr: addr.clone(),
                source,
            })?;
        let bound = listener.local_addr().map_err(|source| RemoteError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let port = if settings.canonical_port == 0 {
            bound.port()
        } else {
            settings.canonical_port
        };
        let address = Address {
            protocol: settings.protocol.clone(),
            system: settings.system_name.clone(),
            host: settings.canonical_hostname.clone(),
            port,
        };
        let mut uid = 0;
        while uid == 0 {
            uid = rand::random::<u64>();
        }
        let local = UniqueAddress::new(address, uid);
        let tls = crate::tls::Tls::from_settings(&settings)?.map(Arc::new);
        let (loopback_tx, loopback_rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            acker: Mutex::new(SystemMessageAcker::new(local.clone())),
            flush_acks: Mutex::new(None),
            tls,
            inbound_compression: Mutex::new(crate::compression::InboundCompression::new(
                Instant::now(),
                settings.compression_actor_refs_interval,
                settings.compression_manifests_interval,
            )),
            remote_watch: Mutex::new(RemoteWatch::new(settings.watch_failure_detector)),
            local,
            settings,
            associations: Mutex::new(FastMap::default()),
            uid_index: Mutex::new(FastMap::default()),
            uid_generation: AtomicU64::new(0),
            recipients: Mutex::new(FastMap::default()),
            loopback: loopback_tx,
            endpoints: Mutex::new(Default::default()),
            temp: Mutex::new(FastMap::default()),
            watchers: Mutex::new(HashMap::new()),
            temp_counter: AtomicU64::new(0),
            compressed_sends: AtomicU64::new(0),
            traffic: TrafficCounters::default(),
            events: broadcast::channel(1024).0,
            tasks: Mutex::new(Vec::new()),
        });
        info!(address = %inner.local.address, uid = inner.local.uid as i64, bound = %bound, "Remoting started; listening on address [{}] with UID [{}]", inner.local.address, inner.local.uid as i64);
        inner.spawn(crate::inbound::run_listener(inner.clone(), listener));
        inner.spawn(crate::outbound::run_ticker(inner.clone()));
        inner.spawn(crate::inbound::run_loopback(
            Arc::downgrade(&inner),
            loopback_rx,
        ));
        Ok(RemoteNode { inner })
    }

    /// This node's canonical address.
    pub fn address(&self) -> &Address {
        &self.inner.local.address
    }

    /// This node's address and system uid.
    pub fn unique_address(&self) -> &UniqueAddress {
        &self.inner.local
    }

    /// The settings the node was started with.
    pub fn settings(&self) -> &RemoteSettings {
        &self.inner.settings
    }

    /// Transport events (handshakes, dropped input, closed connections).
    pub fn subscribe(&self) -> broadcast::Receiver<RemoteEvent> {
        self.inner.events.subscribe()
    }

    /// Registers a local endpoint at `path` (e.g. `/user/echo`).
    pub fn register(&self, path: &str, handler: Handler) {
        self.inner.endpoints.lock().insert(normalize(path), handler);
    }

    /// Removes the endpoint at `path` (the local actor stopped): every remote
    /// watcher of it gets a `DeathWatchNotification(existenceConfirmed =
    /// true)` naming the watchee exactly as its `Watch` did.
    pub fn unregister(&self, path: &str) {
        let local = normalize(path);
        if self.inner.endpoints.lock().remove(&local).is_none() {
            return;
        }
        let mut watched = Vec::new();
        self.inner.watchers.lock().retain(|watchee, watchers| {
            let here = watchee
                .parse::<ActorPath>()
                .is_ok_and(|p| p.address == self.inner.local.address && p.path_string() == local);
            if here {
                watched.push((watchee.clone(), std::mem::take(watchers)));
            }
            !here
        });
        for (watchee, watchers) in watched {
            for w in watchers {
                self.inner.send_system(
                    &w,
                    SystemMessage::DeathWatchNotification {
                        actor: watchee.clone(),
                        existence_confirmed: true,
                        address_terminated: false,
                    },
                );
            }
        }
    }

    /// Registers an endpoint at `path` that replies to every message with
    /// the same message.
    pub fn register_echo(&self, path: &str) {
        let me = self.inner.full_path(&normalize(path));
        self.register(
            path,
            Arc::new(move |node: &RemoteNode, d: Delivery| {
                if let Some(sender) = &d.sender {
                    if let Err(e) = node.tell(sender, Some(&me), d.message.clone()) {
                        warn!(error = %e, "echo reply failed");
                    }
                }
            }),
        );
    }

    /// Sends `msg` to the actor at `path` with an optional sender path. The
    /// path is parsed and resolved (association, stream, lane) once and kept
    /// in a bounded cache, so repeated sends to it cost no parsing. A path
    /// of this node's own address is delivered locally.
    pub fn tell(&self, path: &str, sender: Option<&str>, msg: SerializedMessage) -> Result<()> {
        let r = self.inner.resolve(path)?;
        self.inner.send_resolved(&r, sender, &msg, false)
    }

    /// The recipient at the full path `path`, resolved once: sending through
    /// the returned handle parses, formats and looks up nothing by path
    /// (Pekko's `RemoteActorRef` holding its path and association).
    pub fn recipient(&self, path: &str) -> Result<RemoteRecipient> {
        Ok(RemoteRecipient {
            inner: self.inner.clone(),
            resolved: self.inner.resolve(path)?,
        })
    }

    /// Sends `msg` to the actor at `path` on the control stream, as the JVM sends a
    /// `PriorityMessage` (e.g. the cluster's `Heartbeat` and `HeartbeatRsp`, also when they
    /// travel inside an actor selection to the remote root path): it is not queued behind
    /// ordinary traffic. Otherwise like [`RemoteNode::tell`].
    pub fn tell_priority(
        &self,
        path: &str,
        sender: Option<&str>,
        msg: SerializedMessage,
    ) -> Result<()> {
        let r = self.inner.resolve(path)?;
        self.inner.send_resolved(&r, sender, &msg, true)
    }

    /// Sends `msg` to `path` with a temporary sender and waits for the first
    /// reply.
    pub async fn ask(
        &self,
        path: &str,
        msg: SerializedMessage,
        timeout: Duration,
    ) -> Result<Delivery> {
        let r = self.inner.resolve(path)?;
        let (temp, rx) = self.inner.temp_path();
        let sender = self.inner.full_path(&temp);
        if let Err(e) = self.inner.send_resolved(&r, Some(&sender), &msg, false) {
            self.inner.temp.lock().remove(&temp);
            return Err(e);
        }
        self.inner.await_reply(&temp, &r.path, rx, timeout).await
    }

    /// Sends the typed message `msg` (encoded with its bound serializer and
    /// manifest) to `path` with an optional sender path.
    pub fn tell_typed<M: RemoteMessage>(
        &self,
        path: &str,
        sender: Option<&str>,
        msg: &M,
    ) -> Result<()> {
        self.tell(path, sender, msg.to_message()?)
    }

    /// Asks `path` with the typed message `msg` and decodes the reply as
    /// `R`; a reply of another serializer id or manifest is a
    /// [`RemoteError::Codec`] naming both.
    pub async fn ask_typed<M: RemoteMessage, R: RemoteMessage>(
        &self,
        path: &str,
        msg: &M,
        timeout: Duration,
    ) -> Result<R> {
        let reply = self.ask(path, msg.to_message()?, timeout).await?;
        Ok(R::from_message(&reply.message)?)
    }

    /// Registers an endpoint at `path` for messages of type `M`: each
    /// delivery is decoded and given to `handler` with its envelope. A
    /// message of another serializer id or manifest, or one that does not
    /// decode, is dropped with a warning naming the serializer id and
    /// manifest (also a [`RemoteEvent::MessageDropped`]); the connection
    /// lives.
    pub fn register_typed<M, F>(&self, path: &str, handler: F)
    where
        M: RemoteMessage + 'static,
        F: Fn(&RemoteNode, &Delivery, M) + Send + Sync + 'static,
    {
        self.register(
            path,
            Arc::new(
                move |node: &RemoteNode, d: Delivery| match M::from_message(&d.message) {
                    Ok(m) => handler(node, &d, m),
                    Err(e) => {
                        warn!(
                            recipient = %d.recipient,
                            serializer = d.message.serializer_id,
                            manifest = %d.message.manifest,
                            "dropping message for {}: {e}",
                            d.recipient
                        );
                        node.inner.emit(RemoteEvent::MessageDropped {
                            reason: format!("{} for {}", e, d.recipient),
                        });
                    }
                },
            ),
        );
    }

    /// Sends `text` as a String to `path`; with `ask` waits that long for
    /// the reply.
    pub async fn send_string(
        &self,
        path: &str,
        text: &str,
        ask: Option<Duration>,
    ) -> Result<Option<Delivery>> {
        let msg = SerializedMessage::string(text);
        match ask {
            None => self.tell(path, None, msg).map(|()| None),
            Some(t) => self.ask(path, msg, t).await.map(Some),
        }
    }

    /// Resolves `path` (may contain `*`/`?` wildcards) with `Identify` sent
    /// through an actor selection; returns the full path with `#uid` of the
    /// actor, or `None` if nothing is there.
    pub async fn identify(&self, path: &str, timeout: Duration) -> Result<Option<String>> {
        let target: ActorPath = path.parse()?;
        let (temp, rx) = self.inner.temp_path();
        let sender = self.inner.full_path(&temp);
        let id = Payload::new(
            serializers::STRING,
            "",
            Bytes::copy_from_slice(temp.as_bytes()),
        );
        let identify = MiscMessage::Identify { message_id: id };
        let sel = SelectionEnvelope::new(
            Payload::new(serializers::MISC, identify.manifest(), identify.encode()),
            &target.path_string(),
        );
        let root = ActorPath::root(target.address.clone());
        let msg = SerializedMessage {
            serializer_id: serializers::MESSAGE_CONTAINER,
            manifest: String::new(),
            payload: sel.encode(),
        };
        self.inner.tell_path(&root, Some(&sender), &msg)?;
        let reply = self.inner.await_reply(&temp, &target, rx, timeout).await?;
        if reply.message.serializer_id != serializers::MISC {
            return Err(RemoteError::Wire(artery_wire::WireError::BadPayload {
                serializer_id: reply.message.serializer_id,
                reason: "expected ActorIdentity".into(),
            }));
        }
        match MiscMessage::decode(&reply.message.manifest, reply.message.payload)? {
            MiscMessage::ActorIdentity { actor_ref, .. } => Ok(actor_ref),
            other => Err(RemoteError::Wire(artery_wire::WireError::BadPayload {
                serializer_id: serializers::MISC,
                reason: format!("expected ActorIdentity, got {}", other.manifest()),
            })),
        }
    }

    /// Watches the remote actor at `path` (exactly as given, with or without
    /// `#uid`): when it stops, or if it does not exist, the peer sends a
    /// DeathWatchNotification, published as [`RemoteEvent::Terminated`].
    /// Completes the handshake first (up to the handshake timeout).
    pub async fn watch(&self, path: &str) -> Result<()> {
        let target: ActorPath = path.parse()?;
        if !self
            .inner
            .remote_watch
            .lock()
            .watch(&target.address, path, Instant::now())
        {
            // The node was already declared lost.
            self.inner.emit(RemoteEvent::Terminated {
                actor: path.to_string(),
                existence_confirmed: false,
                address_terminated: true,
            });
            return Ok(());
        }
        self.inner
            .associate(&target.address, self.inner.settings.handshake.timeout)
            .await?;
        self.inner.send_system(
            path,
            SystemMessage::Watch {
                watchee: path.to_string(),
                watcher: self.inner.full_path(WATCHER),
            },
        );
        Ok(())
    }

    /// Cancels a [`RemoteNode::watch`].
    pub async fn unwatch(&self, path: &str) -> Result<()> {
        let target: ActorPath = path.parse()?;
        self.inner
            .remote_watch
            .lock()
            .unwatch(&target.address, path);
        self.inner
            .associate(&target.address, self.inner.settings.handshake.timeout)
            .await?;
        self.inner.send_system(
            path,
            SystemMessage::Unwatch {
                watchee: path.to_string(),
                watcher: self.inner.full_path(WATCHER),
            },
        );
        Ok(())
    }

    /// Envelopes and bytes written and read per Artery stream since start.
    pub fn stream_stats(&self) -> StreamStats {
        self.inner.traffic.snapshot()
    }

    /// How many received envelopes carried at least one compressed tag
    /// (decoded with tables this node advertised).
    pub fn decompressed_receives(&self) -> u64 {
        self.inner.inbound_compression.lock().decompressed
    }

    /// How many envelopes were sent with at least one compressed tag (using
    /// tables the peers advertised).
    pub fn compressed_sends(&self) -> u64 {
        self.inner.compressed_sends.load(Ordering::Relaxed)
    }

    /// The peer uid of `remote`, if a handshake completed.
    pub fn peer_uid(&self, remote: &Address) -> Option<u64> {
        self.inner
            .associations
            .lock()
            .get(remote)
            .and_then(|a| a.peer_uid())
    }

    /// Shuts the node down politely, as Pekko does: sends
    /// `ActorSystemTerminating` on every open outbound stream of every
    /// established association, waits up to `shutdown_flush_timeout` for the
    /// acks (which also means everything queued before has been written),
    /// then stops the listener, all connections and timers. Returns when the
    /// listener socket is closed and every task ended.
    pub async fn shutdown(&self) -> ShutdownReport {
        let inner = &self.inner;
        let (tx, mut rx) = mpsc::unbounded_channel();
        *inner.flush_acks.lock() = Some(tx);
        let me = inner.full_path(FLUSH_ON_SHUTDOWN);
        let msg = ArteryMessage::ActorSystemTerminating(inner.local.clone());
        let mut sent = 0;
        let assocs: Vec<Arc<Association>> = inner.associations.lock().values().cloned().collect();
        for a in assocs {
            let Some(uid) = a.peer_uid() else { continue };
            if a.quarantine.lock().is_quarantined(uid) {
                continue;
            }
            let streams: Vec<StreamKey> = a.streams.lock().keys().copied().collect();
            for key in streams {
                if let Ok(f) = inner.frame(
                    Some(&me),
                    None,
                    serializers::ARTERY,
                    msg.manifest(),
                    msg.encode(),
                ) {
                    inner.try_enqueue_lane(&a.remote, key, f, false);
                    sent += 1;
                }
            }
        }
        let mut acked = 0;
        if sent > 0 {
            let wait = async {
                while acked < sent {
                    if rx.recv().await.is_none() {
                        break;
                    }
                    acked += 1;
                }
            };
            let _ = tokio::time::timeout(inner.settings.shutdown_flush_timeout, wait).await;
        }
        let tasks: Vec<JoinHandle<()>> = inner.tasks.lock().drain(..).collect();
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
        inner.temp.lock().clear();
        *inner.flush_acks.lock() = None;
        info!(address = %inner.local.address, flush_sent = sent, flush_acked = acked, "Remoting shut down");
        ShutdownReport {
            flush_sent: sent,
            flush_acked: acked,
        }
    }
}

/// What [`RemoteNode::shutdown`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownReport {
    /// `ActorSystemTerminating` messages sent (one per open outbound stream).
    pub flush_sent: usize,
    /// Acks received before the flush timeout.
    pub flush_acked: usize,
}

/// The stream a message to `recipient` goes on and that stream's maximum frame size: the
/// control stream for a priority message or a [`PRIORITY_PATHS`] recipient, the large-message
/// stream for a `large-message-destinations` match, the ordinary stream otherwise.
pub(crate) fn stream_for(
    settings: &RemoteSettings,
    recipient: &ActorPath,
    priority: bool,
) -> (StreamId, usize) {
    if priority || PRIORITY_PATHS.contains(&recipient.path_string().as_str()) {
        (StreamId::Control, settings.maximum_frame_size)
    } else if settings
        .large_message_destinations
        .iter()
        .any(|p| path_matches(p, &recipient.elements))
    {
        (StreamId::Large, settings.maximum_large_frame_size)
    } else {
        (StreamId::Ordinary, settings.maximum_frame_size)
    }
}

/// True if the `large-message-destinations` entry `pattern` (e.g.
/// `/user/big*` or `/user/*/large`) matches the path elements.
pub(crate) fn path_matches(pattern: &str, elements: &[String]) -> bool {
    let parts: Vec<&str> = pattern.split('/').filter(|e| !e.is_empty()).collect();
    parts.len() == elements.len()
        && parts
            .iter()
            .zip(elements)
            .all(|(p, e)| artery_wire::selection::glob_match(p.as_bytes(), e.as_bytes()))
}

/// `user/echo` and `/user/echo/` become `/user/echo`.
pub(crate) fn normalize(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|e| !e.is_empty()).collect();
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> ActorPath {
        format!("pekko://S@127.0.0.1:2552{p}").parse().unwrap()
    }

    #[test]
    fn priority_messages_and_priority_paths_go_on_the_control_stream() {
        let s = RemoteSettings::default();
        // An explicit priority send: a cluster heartbeat inside a selection to the root path.
        assert_eq!(stream_for(&s, &path("/"), true).0, StreamId::Control);
        assert_eq!(
            stream_for(&s, &path("/user/anything"), true).0,
            StreamId::Control
        );
        for p in PRIORITY_PATHS {
            assert_eq!(stream_for(&s, &path(p), false).0, StreamId::Control, "{p}");
        }
    }

    #[test]
    fn other_messages_go_on_the_ordinary_or_large_stream() {
        let mut s = RemoteSettings::default();
        // Gossip to the root path (a selection) goes on the ordinary stream, as on the JVM.
        assert_eq!(stream_for(&s, &path("/"), false).0, StreamId::Ordinary);
        s.large_message_destinations = vec!["/user/big*".into()];
        assert_eq!(
            stream_for(&s, &path("/user/bigger"), false),
            (StreamId::Large, s.maximum_large_frame_size)
        );
        assert_eq!(
            stream_for(&s, &path("/user/small"), false),
            (StreamId::Ordinary, s.maximum_frame_size)
        );
    }

    #[tokio::test]
    async fn resolved_frames_are_the_literal_frames_byte_for_byte() {
        let node = RemoteNode::start(RemoteSettings::new("A", "127.0.0.1", 0))
            .await
            .unwrap();
        let inner = &node.inner;
        let msg = SerializedMessage {
            serializer_id: 4,
            manifest: "m".into(),
            payload: Bytes::from_static(b"xyz"),
        };
        for p in [
            "pekko://B@127.0.0.1:1/user/echo",
            "pekko://B@127.0.0.1:1/user/a/b/#-5",
            "pekko://B@127.0.0.1:1/",
            "pekko://B@127.0.0.1:1/system/remote-watcher",
        ] {
            let r = inner.resolve(p).unwrap();
            assert!(Arc::ptr_eq(&r, &inner.resolve(p).unwrap()), "cached: {p}");
            let text = p.parse::<ActorPath>().unwrap().to_string();
            assert_eq!(&*r.text, text.as_str());
            for sender in [None, Some("pekko://A@127.0.0.1:2/user/s")] {
                let expected = inner
                    .frame(
                        sender,
                        Some(&text),
                        msg.serializer_id,
                        &msg.manifest,
                        msg.payload.clone(),
                    )
                    .unwrap();
                // Without compression tables both encodings write literals.
                for compress in [false, true] {
                    assert_eq!(
                        inner.resolved_frame(&r, compress, sender, &msg).unwrap(),
                        expected,
                        "{p} {sender:?} {compress}"
                    );
                }
            }
        }
        assert_eq!(
            inner
                .resolve("pekko://B@127.0.0.1:1/system/remote-watcher")
                .unwrap()
                .key,
            (StreamId::Control, 0)
        );
        assert!(inner.resolve("not a path").is_err());
        node.shutdown().await;
    }

    #[tokio::test]
    async fn messages_to_the_own_address_are_delivered_locally_in_order() {
        let node = RemoteNode::start(RemoteSettings::new("A", "127.0.0.1", 0))
            .await
            .unwrap();
        let (tx, mut rx) = mpsc::unbounded_channel();
        node.register(
            "/user/sink",
            Arc::new(move |_: &RemoteNode, d: Delivery| {
                let _ = tx.send(d);
            }),
        );
        node.register_echo("/user/echo");
        let me = node.address().to_string();
        let sink = format!("{me}/user/sink");
        for i in 0..100 {
            node.tell(
                &sink,
                Some("pekko://X@h:1/user/s"),
                SerializedMessage::string(&i.to_string()),
            )
            .unwrap();
        }
        for i in 0..100 {
            let d = rx.recv().await.unwrap();
            assert_eq!(d.message.as_text(), Some(i.to_string()));
            assert_eq!(d.recipient, "/user/sink");
            assert_eq!(d.sender.as_deref(), Some("pekko://X@h:1/user/s"));
            assert_eq!(&d.origin, node.unique_address());
        }
        let wait = Duration::from_secs(5);
        let reply = node
            .ask(
                &format!("{me}/user/echo"),
                SerializedMessage::string("hi"),
                wait,
            )
            .await
            .unwrap();
        assert_eq!(reply.message.as_text().as_deref(), Some("hi"));
        // A selection of the own address walks the local endpoints.
        assert_eq!(
            node.identify(&format!("{me}/user/ec*"), wait)
                .await
                .unwrap(),
            Some(format!("{me}/user/echo"))
        );
        assert_eq!(
            node.identify(&format!("{me}/user/sink/../echo"), wait)
                .await
                .unwrap(),
            Some(format!("{me}/user/echo"))
        );
        assert_eq!(
            node.identify(&format!("{me}/user/nobody/../echo"), wait)
                .await
                .unwrap(),
            None
        );
        // Nothing of it went over a connection.
        assert_eq!(node.stream_stats(), StreamStats::default());
        node.shutdown().await;
    }
}
