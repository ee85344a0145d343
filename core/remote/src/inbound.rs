//! Inbound side: the listener, one reader task per accepted connection, and
//! the dispatch of decoded envelopes. Bad bytes (wrong magic, bad stream id,
//! oversize or negative frame length, truncated frame, malformed envelope
//! header) close that connection with a warning; a message that cannot be
//! understood (unknown serializer or manifest, bad protobuf) is dropped with
//! a warning and the connection lives.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use artery_wire::control::ArteryMessage;
use artery_wire::envelope::{Envelope, Field};
use artery_wire::frame::{Inbound, InboundDecoder};
use artery_wire::handshake::{respond, Incarnation};
use artery_wire::misc::MiscMessage;
use artery_wire::quarantine::{quarantined_us, InboundVerdict};
use artery_wire::selection::{SelectionElement, SelectionEnvelope};
use artery_wire::serializers::{self, artery as am, misc as mm};
use artery_wire::sysmsg::SystemMessage;
use artery_wire::{compression::TableKind, ActorPath, StreamId, UniqueAddress, WireError};
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;
use tracing::{debug, info, warn};

use crate::association::Association;
use crate::message::{Delivery, SerializedMessage};
use crate::node::{
    normalize, FastMap, Inner, Loopback, RemoteEvent, RemoteNode, FLUSH_ON_SHUTDOWN, REMOTE_WATCHER,
};

pub(crate) async fn run_listener(inner: Arc<Inner>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((sock, peer)) => {
                let _ = sock.set_nodelay(true);
                debug!(peer = %peer, "inbound connection accepted");
                let me = inner.clone();
                match inner.tls.clone() {
                    None => inner.spawn(run_reader(me, sock, peer)),
                    Some(tls) => inner.spawn(async move {
                        let t = me.settings.handshake.timeout;
                        let r = tokio::time::timeout(t, tls.acceptor.accept(sock)).await;
                        let stream = match r {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                return tls_refused(&me, peer, format!("TLS handshake failed: {e}"))
                            }
                            Err(_) => {
                                return tls_refused(
                                    &me,
                                    peer,
                                    format!("TLS handshake timed out after {t:?}"),
                                )
                            }
                        };
                        if let Err(e) = tls.check_peer(stream.get_ref().1.peer_certificates()) {
                            return tls_refused(&me, peer, e);
                        }
                        run_reader(me, stream, peer).await
                    }),
                }
            }
            Err(e) => {
                warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

fn close(inner: &Inner, peer: SocketAddr, stream: Option<StreamId>, e: &WireError) {
    warn!(
        peer = %peer,
        stream = stream.map(StreamId::name).unwrap_or("unknown"),
        error = %e,
        "closing inbound connection from {peer}: {e}"
    );
    inner.emit(RemoteEvent::InboundConnectionClosed {
        peer: peer.to_string(),
        reason: e.to_string(),
    });
}

fn tls_refused(inner: &Inner, peer: SocketAddr, reason: String) {
    warn!(peer = %peer, "refusing inbound TLS connection from {peer}: {reason}");
    inner.emit(RemoteEvent::InboundConnectionClosed {
        peer: peer.to_string(),
        reason,
    });
}

async fn run_reader<S: AsyncRead + Unpin>(inner: Arc<Inner>, mut sock: S, peer: SocketAddr) {
    let mut dec = InboundDecoder::new(
        inner.settings.tcp_magic.clone(),
        inner.settings.maximum_frame_size,
        inner.settings.maximum_large_frame_size,
    );
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let mut cache = ReaderCache::default();
    loop {
        loop {
            match dec.decode(&mut buf) {
                Ok(Some(Inbound::Preamble(p))) => {
                    debug!(peer = %peer, stream = p.stream.name(), "inbound stream opened");
                }
                Ok(Some(Inbound::Frame(f))) => {
                    let stream = dec.stream().unwrap_or(StreamId::Ordinary);
                    inner.traffic.received(stream, f.len());
                    if let Err(e) = on_frame(&inner, &mut cache, stream, f) {
                        close(&inner, peer, dec.stream(), &e);
                        return;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    close(&inner, peer, dec.stream(), &e);
                    return;
                }
            }
        }
        if buf.capacity() - buf.len() < 8 * 1024 {
            buf.reserve(64 * 1024);
        }
        match sock.read_buf(&mut buf).await {
            Ok(0) => {
                if let Err(e) = dec.decode_eof(&mut buf) {
                    close(&inner, peer, dec.stream(), &e);
                } else {
                    debug!(peer = %peer, "inbound connection closed by peer");
                }
                return;
            }
            Ok(_) => {}
            Err(e) => {
                debug!(peer = %peer, error = %e, "inbound connection read failed");
                return;
            }
        }
    }
}

fn dropped(inner: &Inner, reason: String) {
    warn!("dropping inbound message: {reason}");
    inner.emit(RemoteEvent::MessageDropped { reason });
}

/// What one connection's reader remembers between envelopes, so that a
/// stream of messages from one peer to one recipient resolves each only once.
#[derive(Default)]
pub(crate) struct ReaderCache {
    /// The last origin: its uid, the `uid_generation` it was looked up in,
    /// its association and unique address.
    origin: Option<(u64, u64, Arc<Association>, UniqueAddress)>,
    /// The local path (`/user/echo`) of each recipient literal seen; `None`
    /// for a path of another node.
    recipients: FastMap<Bytes, Option<Box<str>>>,
}

/// Most recipient literals a reader remembers before it starts over.
const READER_CACHE_CAPACITY: usize = 1024;

impl ReaderCache {
    /// The association and unique address of the node with `uid`, if it
    /// completed a handshake.
    fn origin(
        &mut self,
        inner: &Arc<Inner>,
        uid: u64,
    ) -> Option<(Arc<Association>, UniqueAddress)> {
        let generation = inner.uid_generation.load(Ordering::Acquire);
        if let Some((u, g, a, o)) = &self.origin {
            if *u == uid && *g == generation {
                return Some((a.clone(), o.clone()));
            }
        }
        let remote = inner.uid_index.lock().get(&uid).cloned()?;
        let assoc = inner.association(&remote);
        let origin = UniqueAddress::new(remote, uid);
        self.origin = Some((uid, generation, assoc.clone(), origin.clone()));
        Some((assoc, origin))
    }

    /// The local path of the recipient literal `recipient`, if it names a
    /// path of this node.
    fn local(&mut self, inner: &Inner, recipient: &Bytes) -> Option<&str> {
        if !self.recipients.contains_key(recipient) {
            if self.recipients.len() >= READER_CACHE_CAPACITY {
                self.recipients.clear();
            }
            let local = std::str::from_utf8(recipient)
                .ok()
                .and_then(|r| local_path(inner, r))
                .map(String::into_boxed_str);
            self.recipients.insert(recipient.clone(), local);
        }
        self.recipients.get(recipient).and_then(|l| l.as_deref())
    }
}

/// Handles one envelope. An `Err` closes the connection.
fn on_frame(
    inner: &Arc<Inner>,
    cache: &mut ReaderCache,
    stream: StreamId,
    frame: Bytes,
) -> Result<(), WireError> {
    let mut env = Envelope::decode(frame)?;
    let compressed = [&env.sender, &env.recipient, &env.manifest]
        .iter()
        .any(|f| matches!(f, Field::Compressed(_)));
    if compressed {
        if let Err(e) = inner.inbound_compression.lock().decompress(&mut env) {
            // E.g. a table of a previous incarnation: drop, like the JVM.
            dropped(inner, format!("{e}"));
            return Ok(());
        }
    }
    let manifest = env.manifest.text().unwrap_or_default().to_string();
    if env.serializer_id == serializers::ARTERY
        && (manifest == am::HANDSHAKE_REQ || manifest == am::HANDSHAKE_RSP)
    {
        on_handshake(inner, stream, &manifest, env.payload);
        return Ok(());
    }
    let Some((assoc, origin)) = cache.origin(inner, env.origin_uid) else {
        dropped(
            inner,
            format!(
                "Unknown system with UID [{}]; messages are accepted after a handshake",
                env.origin_uid as i64
            ),
        );
        return Ok(());
    };
    let exempt = env.serializer_id == serializers::ARTERY
        && (manifest == am::QUARANTINED || manifest == am::ARTERY_HEARTBEAT);
    match assoc
        .quarantine
        .lock()
        .check_inbound(&inner.local, &origin, exempt)
    {
        InboundVerdict::Accept => {}
        InboundVerdict::Drop => return Ok(()),
        InboundVerdict::DropAndNotify(m) => {
            inner.send_control(&origin.address, &m);
            dropped(inner, format!("message from quarantined {origin}"));
            return Ok(());
        }
    }
    if stream == StreamId::Ordinary && env.serializer_id != serializers::ARTERY {
        inner.inbound_compression.lock().count(&env);
    }
    let sender = env.sender.as_str().map(str::to_string);
    let msg = SerializedMessage {
        serializer_id: env.serializer_id,
        manifest,
        payload: env.payload,
    };
    match msg.serializer_id {
        serializers::ARTERY => {
            let recipient = env.recipient.as_str().map(str::to_string);
            on_artery(inner, stream, &origin, sender, recipient, msg)
        }
        serializers::MESSAGE_CONTAINER => {
            let base = match &env.recipient {
                Field::Literal(r) if !r.is_empty() => cache.local(inner, r).map(str::to_string),
                _ => None,
            };
            on_selection(inner, &origin, sender, base, msg)
        }
        _ => match &env.recipient {
            Field::Literal(r) if !r.is_empty() => match cache.local(inner, r) {
                Some(local) => {
                    let local = local.to_string();
                    deliver_local(inner, origin, sender, local, msg)
                }
                None => not_here(inner, env.recipient.as_str().unwrap_or("?")),
            },
            _ => without_recipient(inner, &msg),
        },
    }
    Ok(())
}

/// A `HandshakeReq` or `HandshakeRsp`.
fn on_handshake(inner: &Arc<Inner>, stream: StreamId, manifest: &str, payload: Bytes) {
    match ArteryMessage::decode(manifest, payload) {
        Ok(ArteryMessage::HandshakeReq { from, .. })
            if !inner.settings.accepts_protocol(&from.address.protocol) =>
        {
            let reason = format!(
                "protocol [{}] is not in pekko.remote.accept-protocol-names [{}]",
                from.address.protocol,
                inner.settings.accept_protocol_names.join(", ")
            );
            warn!(from = %from, "Refusing handshake from [{from}] with UID [{}]: {reason}", from.uid as i64);
            inner.emit(RemoteEvent::HandshakeRefused { from, reason });
        }
        Ok(ArteryMessage::HandshakeReq { from, to }) => match respond(&inner.local, &to) {
            Ok(rsp) => {
                complete_handshake(inner, &from);
                inner.send_control(&from.address, &rsp);
            }
            Err(e) => warn!(
                from = %from,
                "Dropping Handshake Request from [{from}] addressed to unknown local address [{to}]: {e:?}"
            ),
        },
        Ok(ArteryMessage::HandshakeRsp(from)) if stream == StreamId::Control => {
            complete_handshake(inner, &from);
        }
        Ok(other) => {
            debug!(msg = ?other, stream = stream.name(), "ignoring handshake message on wrong stream")
        }
        Err(e) => dropped(inner, format!("bad handshake message: {e}")),
    }
}

fn complete_handshake(inner: &Arc<Inner>, from: &UniqueAddress) {
    let assoc = inner.association(&from.address);
    let mut same = false;
    assoc.complete_handshake(from.uid, |inc| match inc {
        Incarnation::Same => same = true,
        Incarnation::First => {
            info!(remote = %from.address, uid = from.uid as i64, "Association to [{}] with UID [{}] established", from.address, from.uid as i64);
            known_uid(inner, from);
        }
        Incarnation::New { old_uid } => {
            info!(remote = %from.address, "Association to [{}] with new UID [{}] (old UID [{}])", from.address, from.uid as i64, old_uid as i64);
            inner.uid_index.lock().remove(&old_uid);
            inner.inbound_compression.lock().forget(old_uid);
            assoc.compression.lock().clear();
            assoc.system_sender.lock().clear();
            inner
                .acker
                .lock()
                .forget(&UniqueAddress::new(from.address.clone(), old_uid));
            known_uid(inner, from);
        }
    });
    if same {
        return;
    }
    *assoc.last_error.lock() = None;
    inner.emit(RemoteEvent::AssociationEstablished(from.clone()));
}

/// Accepts messages from `from`'s uid from now on (readers look origins up by uid).
fn known_uid(inner: &Inner, from: &UniqueAddress) {
    inner
        .uid_index
        .lock()
        .insert(from.uid, from.address.clone());
    inner.uid_generation.fetch_add(1, Ordering::Release);
}

fn node(inner: &Arc<Inner>) -> RemoteNode {
    RemoteNode {
        inner: inner.clone(),
    }
}

fn reply(inner: &Arc<Inner>, to: &str, sender: Option<&str>, msg: SerializedMessage) {
    match inner.resolve(to) {
        Ok(r) => {
            if let Err(e) = inner.send_resolved(&r, sender, &msg, false) {
                warn!(to, error = %e, "reply failed");
            }
        }
        Err(e) => warn!(to, error = %e, "cannot reply to sender path"),
    }
}

fn on_artery(
    inner: &Arc<Inner>,
    stream: StreamId,
    origin: &UniqueAddress,
    sender: Option<String>,
    recipient: Option<String>,
    msg: SerializedMessage,
) {
    let decoded = match ArteryMessage::decode(&msg.manifest, msg.payload.clone()) {
        Ok(m) => m,
        Err(e) => {
            dropped(
                inner,
                format!("serializer 17 manifest {:?}: {e}", msg.manifest),
            );
            return;
        }
    };
    let assoc = inner.association(&origin.address);
    let now = Instant::now();
    let decoded_kind = match msg.manifest.as_str() {
        am::ACTOR_REF_COMPRESSION_ADVERTISEMENT_ACK => Some(TableKind::ActorRef),
        am::CLASS_MANIFEST_COMPRESSION_ADVERTISEMENT_ACK => Some(TableKind::Manifest),
        _ => None,
    };
    match decoded {
        ArteryMessage::Quarantined { from, to } => {
            if quarantined_us(&inner.local, &to) {
                warn!(remote = %from, "Other node [{from}] quarantined this node; it will not accept messages from this incarnation");
                inner.emit(RemoteEvent::QuarantinedByPeer(from));
            }
        }
        ArteryMessage::ActorSystemTerminating(from) => {
            info!(remote = %from, "peer actor system is terminating");
            inner.emit(RemoteEvent::PeerTerminating(from.clone()));
            assoc.compression.lock().clear();
            if let Some(s) = sender {
                let ack = ArteryMessage::ActorSystemTerminatingAck(inner.local.clone());
                reply(
                    inner,
                    &s,
                    None,
                    SerializedMessage {
                        serializer_id: serializers::ARTERY,
                        manifest: ack.manifest().into(),
                        payload: ack.encode(),
                    },
                );
            }
            if stream == StreamId::Control {
                // Like the JVM: quarantine harmlessly after the flush
                // timeout, so the peer's flush on its other streams is
                // still answered.
                let delay = inner.settings.shutdown_flush_timeout;
                let me = inner.clone();
                inner.spawn(async move {
                    tokio::time::sleep(delay).await;
                    let uid = assoc.peer_uid();
                    assoc
                        .quarantine
                        .lock()
                        .quarantine(&me.local, &from, uid, true, Instant::now());
                    if uid == Some(from.uid) {
                        assoc.system_sender.lock().clear();
                    }
                });
            }
        }
        ArteryMessage::ActorRefCompressionAdvertisement(adv)
        | ArteryMessage::ClassManifestCompressionAdvertisement(adv) => {
            let kind = if msg.manifest == am::ACTOR_REF_COMPRESSION_ADVERTISEMENT {
                TableKind::ActorRef
            } else {
                TableKind::Manifest
            };
            let peer = assoc.peer();
            let r =
                assoc
                    .compression
                    .lock()
                    .on_advertisement(kind, &adv, &inner.local, peer.as_ref());
            match r {
                Ok(Some(ack)) => {
                    debug!(remote = %adv.from, version = adv.table_version, kind = ?kind, "compression table installed");
                    inner.send_control(&origin.address, &ack);
                    inner.emit(RemoteEvent::CompressionTableInstalled {
                        from: adv.from.clone(),
                        actor_refs: kind == TableKind::ActorRef,
                        version: adv.table_version,
                        keys: adv.entries.iter().map(|(k, _)| k.clone()).collect(),
                    });
                }
                Ok(None) => {
                    debug!(remote = %origin, "ignoring compression advertisement for another incarnation")
                }
                Err(e) => dropped(inner, format!("bad compression advertisement: {e}")),
            }
        }
        ArteryMessage::SystemMessageEnvelope(env) => {
            let decision = inner.acker.lock().on_envelope(&env);
            inner.send_control(&decision.reply_to, &decision.reply);
            if decision.deliver {
                on_system_message(inner, origin, recipient, &env);
            }
        }
        ArteryMessage::Ack { seq_no, from } => {
            assoc
                .system_sender
                .lock()
                .on_ack(seq_no, &from, &origin.address, now);
            inner.emit(RemoteEvent::SystemMessageAcked { from, seq_no });
        }
        ArteryMessage::Nack { seq_no, from } => {
            if !assoc
                .system_sender
                .lock()
                .on_nack(seq_no, &from, &origin.address, now)
            {
                warn!(remote = %from, seq_no, "Nack for a sequence number never sent");
            }
        }
        ArteryMessage::ArteryHeartbeat => heartbeat(inner, sender),
        ArteryMessage::Flush => {
            if let Some(s) = sender {
                let ack = ArteryMessage::FlushAck { expected_acks: 1 };
                reply(
                    inner,
                    &s,
                    None,
                    SerializedMessage {
                        serializer_id: serializers::ARTERY,
                        manifest: ack.manifest().into(),
                        payload: ack.encode(),
                    },
                );
            }
        }
        ArteryMessage::HandshakeReq { .. } | ArteryMessage::HandshakeRsp(_) => {}
        ArteryMessage::ActorSystemTerminatingAck(_)
        | ArteryMessage::ArteryHeartbeatRsp { .. }
        | ArteryMessage::FlushAck { .. } => {
            deliver(inner, origin, sender, recipient, msg);
        }
        ArteryMessage::ActorRefCompressionAdvertisementAck { from, version }
        | ArteryMessage::ClassManifestCompressionAdvertisementAck { from, version } => {
            let actor_refs = matches!(decoded_kind, Some(TableKind::ActorRef));
            let kind = if actor_refs {
                TableKind::ActorRef
            } else {
                TableKind::Manifest
            };
            inner
                .inbound_compression
                .lock()
                .on_ack(from.uid, kind, version);
            inner.emit(RemoteEvent::CompressionAdvertisementAcked {
                from,
                actor_refs,
                version,
            });
        }
    }
}

fn heartbeat(inner: &Arc<Inner>, sender: Option<String>) {
    let Some(s) = sender else {
        debug!("heartbeat without sender ignored");
        return;
    };
    let rsp = ArteryMessage::ArteryHeartbeatRsp {
        uid: inner.local.uid,
    };
    let me = inner.full_path(REMOTE_WATCHER);
    reply(
        inner,
        &s,
        Some(&me),
        SerializedMessage {
            serializer_id: serializers::ARTERY,
            manifest: rsp.manifest().into(),
            payload: rsp.encode(),
        },
    );
}

fn on_system_message(
    inner: &Arc<Inner>,
    origin: &UniqueAddress,
    recipient: Option<String>,
    env: &artery_wire::control::SystemMessageEnvelope,
) {
    if env.serializer_id != serializers::SYSTEM_MESSAGE {
        warn!(
            serializer = env.serializer_id,
            "acked system message with unknown serializer, ignored"
        );
        return;
    }
    match SystemMessage::decode(env.message.clone()) {
        Ok(SystemMessage::Watch { watchee, watcher }) => {
            let exists = local_path(inner, &watchee)
                .is_some_and(|p| inner.endpoints.lock().contains_key(&p));
            if exists {
                debug!(watchee, watcher, "remote watch registered");
                let mut w = inner.watchers.lock();
                let list = w.entry(watchee.clone()).or_default();
                if !list.contains(&watcher) {
                    list.push(watcher);
                }
            } else {
                inner.send_system(
                    &watcher,
                    SystemMessage::DeathWatchNotification {
                        actor: watchee,
                        existence_confirmed: false,
                        address_terminated: false,
                    },
                );
            }
        }
        Ok(SystemMessage::Unwatch { watchee, watcher }) => {
            if let Some(list) = inner.watchers.lock().get_mut(&watchee) {
                list.retain(|w| *w != watcher);
            }
        }
        Ok(SystemMessage::DeathWatchNotification {
            actor,
            existence_confirmed,
            ..
        }) => {
            info!(actor, existence_confirmed, recipient = ?recipient, "remote actor terminated");
            // The JVM names the actor with its `#uid`; report it as it was
            // watched (with or without uid).
            let mut actor = actor;
            if let Ok(p) = actor.parse::<ActorPath>() {
                let mut rw = inner.remote_watch.lock();
                let same = |w: &String| {
                    w.parse::<ActorPath>().is_ok_and(|q| {
                        q.address == p.address
                            && q.elements == p.elements
                            && (q.uid.is_none() || q.uid == p.uid)
                    })
                };
                if let Some(w) = rw.watched(&p.address).into_iter().find(same) {
                    actor = w;
                }
                rw.unwatch(&p.address, &actor);
            }
            inner.emit(RemoteEvent::Terminated {
                actor,
                existence_confirmed,
                address_terminated: false,
            });
        }
        Ok(SystemMessage::Other(p)) => {
            debug!(from = %origin, kind = p.r#type, "acked and ignored system message (remote deployment is not supported)");
        }
        Err(e) => dropped(inner, format!("bad system message (acked): {e}")),
    }
}

/// The local part (`/user/echo`) of a path on this node, without `#uid`.
fn local_path(inner: &Inner, path: &str) -> Option<String> {
    let p: ActorPath = path.parse().ok()?;
    (p.address == inner.local.address).then(|| p.path_string())
}

/// A message whose recipient is a path of another node.
fn not_here(inner: &Inner, recipient: &str) {
    dropped(
        inner,
        format!(
            "recipient {recipient} is not on this node ({})",
            inner.local.address
        ),
    );
}

/// A message without recipient that is not a transport message.
fn without_recipient(inner: &Inner, msg: &SerializedMessage) {
    dropped(
        inner,
        format!(
            "message without recipient (serializer {}, manifest {:?})",
            msg.serializer_id, msg.manifest
        ),
    );
}

fn deliver(
    inner: &Arc<Inner>,
    origin: &UniqueAddress,
    sender: Option<String>,
    recipient: Option<String>,
    msg: SerializedMessage,
) {
    let Some(rec) = recipient else {
        without_recipient(inner, &msg);
        return;
    };
    let Some(local) = local_path(inner, &rec) else {
        not_here(inner, &rec);
        return;
    };
    deliver_local(inner, origin.clone(), sender, local, msg);
}

/// Delivers messages sent to paths of this node's own address (see
/// `Inner::send_resolved`), in the order they were sent, as if they came
/// from another node with this node's unique address.
pub(crate) async fn run_loopback(
    inner: std::sync::Weak<Inner>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<Loopback>,
) {
    while let Some(m) = rx.recv().await {
        let Some(inner) = inner.upgrade() else { return };
        let origin = inner.local.clone();
        match m.message.serializer_id {
            serializers::MESSAGE_CONTAINER => {
                on_selection(&inner, &origin, m.sender, Some(m.recipient), m.message)
            }
            _ => deliver_local(&inner, origin, m.sender, m.recipient, m.message),
        }
    }
}

fn deliver_local(
    inner: &Arc<Inner>,
    origin: UniqueAddress,
    sender: Option<String>,
    local: String,
    msg: SerializedMessage,
) {
    if local.starts_with("/temp/") {
        if let Some(tx) = inner.temp.lock().remove(&local) {
            let d = Delivery {
                recipient: local,
                sender,
                message: msg,
                origin,
            };
            let _ = tx.send(d);
            return;
        }
    }
    let d = Delivery {
        recipient: local,
        sender,
        message: msg,
        origin,
    };
    if d.recipient == FLUSH_ON_SHUTDOWN {
        if let Ok(ArteryMessage::ActorSystemTerminatingAck(from)) =
            ArteryMessage::decode(&d.message.manifest, d.message.payload.clone())
        {
            if let Some(tx) = inner.flush_acks.lock().as_ref() {
                let _ = tx.send(from);
            }
        }
        return;
    }
    if d.recipient == REMOTE_WATCHER {
        if d.message.serializer_id == serializers::ARTERY {
            match ArteryMessage::decode(&d.message.manifest, d.message.payload.clone()) {
                Ok(ArteryMessage::ArteryHeartbeat) => heartbeat(inner, d.sender),
                Ok(ArteryMessage::ArteryHeartbeatRsp { uid }) => {
                    // The responder is identified by its sender's address.
                    let from = d
                        .sender
                        .as_deref()
                        .and_then(|s| s.parse::<ActorPath>().ok())
                        .map(|p| p.address)
                        .unwrap_or_else(|| d.origin.address.clone());
                    let action =
                        inner
                            .remote_watch
                            .lock()
                            .on_heartbeat_rsp(&from, uid, Instant::now());
                    inner.emit(RemoteEvent::HeartbeatResponse(UniqueAddress::new(
                        from, uid,
                    )));
                    if let Some(a) = action {
                        crate::outbound::watch_action(inner, a);
                    }
                }
                _ => {}
            }
        }
        return;
    }
    if d.message.serializer_id == serializers::MISC && d.message.manifest == mm::IDENTIFY {
        identify(inner, d, true);
        return;
    }
    let handler = inner.endpoints.lock().get(&d.recipient).cloned();
    match handler {
        Some(h) => h(&node(inner), d),
        None => info!(
            recipient = %d.recipient,
            serializer = d.message.serializer_id,
            manifest = %d.message.manifest,
            "Message to [{}] was not delivered: dead letters",
            d.recipient
        ),
    }
}

/// Answers `Identify` sent to `d.recipient` (which exists if `exists`).
fn identify(inner: &Arc<Inner>, d: Delivery, exists: bool) {
    let id = match MiscMessage::decode(&d.message.manifest, d.message.payload.clone()) {
        Ok(MiscMessage::Identify { message_id }) => message_id,
        Ok(_) => return,
        Err(e) => {
            dropped(inner, format!("bad Identify: {e}"));
            return;
        }
    };
    let Some(sender) = d.sender.clone() else {
        debug!("Identify without sender ignored");
        return;
    };
    let found = exists
        && (inner.endpoints.lock().contains_key(&d.recipient) || d.recipient == REMOTE_WATCHER);
    // An actor's identity names its incarnation (`#uid`), as Pekko's
    // serialization format of a ref does.
    let me = found.then(|| {
        let path = inner.full_path(&d.recipient);
        match inner.endpoints.lock().uid(&d.recipient) {
            Some(uid) if uid != 0 => format!("{path}#{uid}"),
            _ => path,
        }
    });
    let answer = MiscMessage::ActorIdentity {
        correlation_id: id,
        actor_ref: me.clone(),
    };
    reply(
        inner,
        &sender,
        me.as_deref(),
        SerializedMessage {
            serializer_id: serializers::MISC,
            manifest: answer.manifest().into(),
            payload: answer.encode(),
        },
    );
}

/// Delivers an actor selection arriving at the local path `base` (the root
/// when `None`), walked like Pekko's `ActorSelection.deliverSelection`:
/// names and `*`/`?` wildcards select children of the recipients reached so
/// far, and `..` goes from each of them to its parent (through actors that
/// must exist; above the root nothing is reached). A recipient reached
/// through several branches gets the message once per branch, as on the
/// JVM. An `Identify` that reaches nothing is answered with an empty
/// `ActorIdentity`, unless a wildcard fanned out on the way.
fn on_selection(
    inner: &Arc<Inner>,
    origin: &UniqueAddress,
    sender: Option<String>,
    base: Option<String>,
    msg: SerializedMessage,
) {
    let sel = match SelectionEnvelope::decode(msg.payload) {
        Ok(s) => s,
        Err(e) => {
            dropped(inner, format!("bad actor selection: {e}"));
            return;
        }
    };
    let base = base.unwrap_or_else(|| "/".into());
    let anchor: Vec<SelectionElement> = base
        .split('/')
        .filter(|e| !e.is_empty())
        .map(|e| SelectionElement::ChildName(e.to_string()))
        .collect();
    let (matches, fan_out) = walk(inner, anchor.clone(), &sel.elements);
    let inner_msg = SerializedMessage {
        serializer_id: sel.message.serializer_id,
        manifest: sel.message.manifest.clone(),
        payload: sel.message.bytes.clone(),
    };
    let is_identify =
        inner_msg.serializer_id == serializers::MISC && inner_msg.manifest == mm::IDENTIFY;
    if matches.is_empty() {
        if is_identify && !fan_out && !sel.wildcard_fan_out {
            let target = normalize(
                &anchor
                    .iter()
                    .chain(&sel.elements)
                    .map(|p| match p {
                        SelectionElement::ChildName(n) | SelectionElement::ChildPattern(n) => {
                            n.clone()
                        }
                        SelectionElement::Parent => "..".into(),
                    })
                    .collect::<Vec<_>>()
                    .join("/"),
            );
            let d = Delivery {
                recipient: target,
                sender,
                message: inner_msg,
                origin: origin.clone(),
            };
            identify(inner, d, false);
        } else {
            info!(serializer = inner_msg.serializer_id, manifest = %inner_msg.manifest, "actor selection matched nothing: dead letters");
        }
        return;
    }
    for m in matches {
        deliver_local(inner, origin.clone(), sender.clone(), m, inner_msg.clone());
    }
}

/// The local paths a selection of `elements` reaches from `anchor`, and
/// whether a wildcard matched more than one child on the way.
fn walk(
    inner: &Inner,
    anchor: Vec<SelectionElement>,
    elements: &[SelectionElement],
) -> (Vec<String>, bool) {
    let mut fan_out = false;
    // The recipients reached so far, each as its path elements.
    let mut reached: Vec<Vec<SelectionElement>> = vec![anchor];
    // Child elements not applied yet.
    let mut run: Vec<SelectionElement> = Vec::new();
    for e in elements {
        match e {
            SelectionElement::Parent => {
                if !run.is_empty() {
                    reached = children(inner, reached, &run, &mut fan_out);
                    run.clear();
                }
                // The root has no parent that could take a message.
                reached.retain_mut(|p| p.pop().is_some());
            }
            child => run.push(child.clone()),
        }
    }
    if run.is_empty() {
        let paths = reached
            .iter()
            .map(|p| normalize(&names(p).join("/")))
            .collect();
        return (paths, fan_out);
    }
    let mut paths = Vec::new();
    for prefix in reached {
        let pattern: Vec<SelectionElement> =
            prefix.into_iter().chain(run.iter().cloned()).collect();
        let found = matches(inner, &pattern);
        fan_out |= found.len() > 1
            && run
                .iter()
                .any(|e| matches!(e, SelectionElement::ChildPattern(_)));
        paths.extend(found);
    }
    (paths, fan_out)
}

/// The recipients `pattern` (one element per level below the root) matches.
fn matches(inner: &Inner, pattern: &[SelectionElement]) -> Vec<String> {
    let mut found = inner.endpoints.lock().select(pattern);
    if crate::endpoints::matches_pattern(pattern, REMOTE_WATCHER) {
        found.push(REMOTE_WATCHER.to_string());
    }
    found
}

/// The recipients `run` reaches below each of `reached`, as path elements.
fn children(
    inner: &Inner,
    reached: Vec<Vec<SelectionElement>>,
    run: &[SelectionElement],
    fan_out: &mut bool,
) -> Vec<Vec<SelectionElement>> {
    let mut out = Vec::new();
    for prefix in reached {
        let pattern: Vec<SelectionElement> =
            prefix.into_iter().chain(run.iter().cloned()).collect();
        let found = matches(inner, &pattern);
        *fan_out |= found.len() > 1;
        out.extend(found.iter().map(|p| {
            p.split('/')
                .filter(|e| !e.is_empty())
                .map(|e| SelectionElement::ChildName(e.to_string()))
                .collect()
        }));
    }
    out
}

/// The names of literal path elements.
fn names(path: &[SelectionElement]) -> Vec<&str> {
    path.iter()
        .filter_map(|e| match e {
            SelectionElement::ChildName(n) => Some(n.as_str()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::RemoteSettings;

    fn el(path: &str) -> Vec<SelectionElement> {
        path.split('/')
            .filter(|e| !e.is_empty())
            .map(SelectionElement::parse)
            .collect()
    }

    #[tokio::test]
    async fn selections_walk_parents_through_existing_recipients() {
        let node = RemoteNode::start(RemoteSettings::new("A", "127.0.0.1", 0))
            .await
            .unwrap();
        for p in ["/user/a", "/user/b", "/user/c/d"] {
            node.register(p, Arc::new(|_: &RemoteNode, _: Delivery| {}));
        }
        let inner = &node.inner;
        let walk_from_root = |sel: &str| walk(inner, Vec::new(), &el(sel));
        let one = |p: &str| (vec![p.to_string()], false);
        assert_eq!(walk_from_root("user/a/../b"), one("/user/b"));
        assert_eq!(walk_from_root("user/c/d/../../b"), one("/user/b"));
        assert_eq!(walk_from_root("user/a/.."), one("/user"));
        // Through a recipient that does not exist: nothing, as on the JVM.
        assert_eq!(walk_from_root("user/nobody/../b"), (vec![], false));
        // Above the root: nothing.
        assert_eq!(walk_from_root("../user/b"), (vec![], false));
        // Each branch of a wildcard goes up on its own: one message per branch.
        assert_eq!(
            walk_from_root("user/*/../b"),
            (vec!["/user/b".to_string(), "/user/b".to_string()], true)
        );
        // Without `..` a selection is one pattern, as before.
        let (mut all, fan_out) = walk_from_root("user/*");
        all.sort();
        assert_eq!(
            (all, fan_out),
            (vec!["/user/a".into(), "/user/b".into()], true)
        );
        // Relative to an anchor below the root.
        assert_eq!(walk(inner, el("user/a"), &el("../b")), one("/user/b"));
        node.shutdown().await;
    }

    #[tokio::test]
    async fn readers_resolve_each_recipient_literal_once() {
        let node = RemoteNode::start(RemoteSettings::new("A", "127.0.0.1", 0))
            .await
            .unwrap();
        let inner = &node.inner;
        let mut cache = ReaderCache::default();
        let me = Bytes::from(format!("{}/user/echo#12", node.address()));
        assert_eq!(cache.local(inner, &me), Some("/user/echo"));
        assert_eq!(cache.local(inner, &me), Some("/user/echo"));
        assert_eq!(cache.recipients.len(), 1);
        let other = Bytes::from_static(b"pekko://B@127.0.0.1:1/user/echo");
        assert_eq!(cache.local(inner, &other), None);
        assert_eq!(cache.local(inner, &Bytes::from_static(b"\xff")), None);
        assert!(cache.origin(inner, 42).is_none());
        node.shutdown().await;
    }
}
