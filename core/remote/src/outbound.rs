//! Outbound side: one writer task per (association, stream). It connects,
//! writes the preamble and a `HandshakeReq`, holds application frames until
//! the peer's uid is known, retries the handshake, reconnects with backoff,
//! and batches queued frames into one write.

use std::sync::Arc;
use std::time::{Duration, Instant};

use artery_wire::control::ArteryMessage;
use artery_wire::handshake::{HandshakeAction, OutboundHandshake};
use artery_wire::preamble::Preamble;
use artery_wire::serializers;
use artery_wire::{StreamId, UniqueAddress};
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::{debug, info, warn};

use crate::association::{Association, StreamKey, StreamReceivers};
use crate::tls::Tls;
use artery_wire::misc::Payload;
use artery_wire::quarantine::QuarantineOutcome;
use artery_wire::remote_watch::WatchAction;
use artery_wire::selection::SelectionEnvelope;
use artery_wire::serializers::artery as am;
use artery_wire::sysmsg::SystemMessage;

use crate::message::SerializedMessage;
use crate::node::{Inner, RemoteEvent, REMOTE_WATCHER, WATCHER};

/// Most bytes gathered into one write.
const MAX_BATCH: usize = 256 * 1024;

/// Bytes gathered for one write, with the number of envelopes in them.
struct Batch {
    buf: BytesMut,
    frames: u64,
    bytes: usize,
}

impl Batch {
    fn push(&mut self, frame: &Bytes) {
        self.buf.extend_from_slice(frame);
        self.frames += 1;
        self.bytes += frame.len().saturating_sub(4);
    }

    fn len(&self) -> usize {
        self.buf.len()
    }
}

fn control_frame(inner: &Inner, msg: &ArteryMessage) -> Option<Bytes> {
    inner
        .frame(
            None,
            None,
            serializers::ARTERY,
            msg.manifest(),
            msg.encode(),
        )
        .map_err(|e| warn!(error = %e, "cannot encode handshake request"))
        .ok()
}

enum Exit {
    /// Connection failed; reconnect after a backoff.
    Reconnect,
    /// All senders are gone; stop the task.
    Stop,
}

pub(crate) async fn run_writer(
    inner: Arc<Inner>,
    assoc: Arc<Association>,
    key: StreamKey,
    mut rx: StreamReceivers,
) {
    let (stream, lane) = key;
    let remote = assoc.remote.clone();
    let mut failing_since: Option<Instant> = None;
    loop {
        if rx.urgent.is_closed() && rx.gated.is_closed() {
            // The stream was stopped (idle) or the node shut down.
            return;
        }
        let host = remote.host.trim_start_matches('[').trim_end_matches(']');
        let connect = TcpStream::connect((host, remote.port));
        let sock = match tokio::time::timeout(inner.settings.connection_timeout, connect).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                let msg = format!("connection to {remote} refused or failed: {e}");
                fail(&inner, &assoc, stream, &mut rx, &mut failing_since, msg).await;
                continue;
            }
            Err(_) => {
                let msg = format!(
                    "connection to {remote} timed out after {:?}",
                    inner.settings.connection_timeout
                );
                fail(&inner, &assoc, stream, &mut rx, &mut failing_since, msg).await;
                continue;
            }
        };
        let _ = sock.set_nodelay(true);
        debug!(remote = %remote, stream = stream.name(), lane, "outbound connection established");
        inner.emit(RemoteEvent::OutboundConnected {
            remote: remote.clone(),
            stream,
            lane,
        });
        let exit = match inner.tls.clone() {
            None => write_loop(&inner, &assoc, stream, sock, &mut rx).await,
            Some(tls) => {
                let name = match Tls::server_name(&remote.host) {
                    Ok(n) => n,
                    Err(e) => {
                        fail(&inner, &assoc, stream, &mut rx, &mut failing_since, e).await;
                        continue;
                    }
                };
                let t = inner.settings.connection_timeout;
                match tokio::time::timeout(t, tls.connector.connect(name, sock)).await {
                    Ok(Ok(s)) => match tls.check_peer(s.get_ref().1.peer_certificates()) {
                        Ok(()) => write_loop(&inner, &assoc, stream, s, &mut rx).await,
                        Err(e) => {
                            let msg = format!("TLS connection to {remote} refused: {e}");
                            fail(&inner, &assoc, stream, &mut rx, &mut failing_since, msg).await;
                            continue;
                        }
                    },
                    Ok(Err(e)) => {
                        let msg = format!("TLS handshake with {remote} failed: {e}");
                        fail(&inner, &assoc, stream, &mut rx, &mut failing_since, msg).await;
                        continue;
                    }
                    Err(_) => {
                        let msg = format!("TLS handshake with {remote} timed out after {t:?}");
                        fail(&inner, &assoc, stream, &mut rx, &mut failing_since, msg).await;
                        continue;
                    }
                }
            }
        };
        match exit {
            Exit::Stop => return,
            Exit::Reconnect => {
                tokio::time::sleep(inner.settings.outbound_restart_backoff).await;
            }
        }
    }
}

async fn fail(
    inner: &Inner,
    assoc: &Association,
    stream: StreamId,
    rx: &mut StreamReceivers,
    failing_since: &mut Option<Instant>,
    msg: String,
) {
    warn!(remote = %assoc.remote, stream = stream.name(), "{msg}");
    assoc.set_error(msg);
    let since = *failing_since.get_or_insert_with(Instant::now);
    if since.elapsed() >= inner.settings.handshake.timeout {
        let mut dropped = 0;
        while rx.gated.try_recv().is_ok() {
            dropped += 1;
        }
        if dropped > 0 {
            warn!(remote = %assoc.remote, dropped, "dropping queued messages: association not established");
        }
    }
    tokio::time::sleep(inner.settings.outbound_restart_backoff).await;
}

async fn write_loop<S: AsyncRead + AsyncWrite + Unpin>(
    inner: &Arc<Inner>,
    assoc: &Arc<Association>,
    stream: StreamId,
    sock: S,
    rx: &mut StreamReceivers,
) -> Exit {
    let remote = assoc.remote.clone();
    let mut hs = OutboundHandshake::new(
        inner.local.clone(),
        remote.clone(),
        inner.settings.handshake,
    );
    let mut uid_rx = assoc.subscribe_uid();
    // The peer never writes on a connection we opened: a readable socket
    // means it was closed (EOF), reset, or the peer misbehaves. Reading it
    // notices a dead peer before the next frame is lost in a dead socket.
    let (mut rd, mut sock) = tokio::io::split(sock);
    let mut junk = [0u8; 64];
    let mut buf = Batch {
        buf: BytesMut::with_capacity(64 * 1024),
        frames: 0,
        bytes: 0,
    };
    buf.buf.extend_from_slice(
        &Preamble {
            magic: inner.settings.send_magic(),
            stream,
        }
        .to_bytes(),
    );
    let req = hs.start(assoc.peer_uid(), Instant::now());
    if let Some(f) = control_frame(inner, &req) {
        buf.push(&f);
    }
    loop {
        if !buf.buf.is_empty() {
            if let Err(e) = sock.write_all(&buf.buf).await {
                let msg = format!("write to {remote} failed: {e}");
                warn!(remote = %remote, stream = stream.name(), "{msg}; reconnecting");
                assoc.set_error(msg);
                return Exit::Reconnect;
            }
            inner.traffic.sent(stream, buf.frames, buf.bytes);
            buf.buf.clear();
            buf.frames = 0;
            buf.bytes = 0;
        }
        if !hs.is_complete() {
            if let Some(uid) = *uid_rx.borrow_and_update() {
                hs.on_peer_uid(&UniqueAddress::new(remote.clone(), uid));
                debug!(remote = %remote, stream = stream.name(), uid = uid as i64, "handshake complete, releasing queued messages");
            }
        }
        let deadline = hs.poll_at().map(tokio::time::Instant::from_std);
        let complete = hs.is_complete();
        tokio::select! {
            biased;
            r = rd.read(&mut junk) => {
                match r {
                    Ok(0) => debug!(remote = %remote, stream = stream.name(), "outbound connection closed by peer; reconnecting"),
                    Ok(n) => warn!(remote = %remote, stream = stream.name(), bytes = n, "Unexpected incoming bytes in outbound connection; reconnecting"),
                    Err(e) => debug!(remote = %remote, stream = stream.name(), error = %e, "outbound connection failed; reconnecting"),
                }
                assoc.set_error(format!("connection to {remote} was closed by the peer"));
                // The peer may come back as a new incarnation that does not
                // know the tables it advertised: send literals until it
                // advertises again.
                assoc.compression.lock().clear();
                return Exit::Reconnect;
            }
            f = rx.urgent.recv() => match f {
                Some(f) => {
                    buf.push(&f);
                    while buf.len() < MAX_BATCH {
                        match rx.urgent.try_recv() {
                            Ok(f) => buf.push(&f),
                            Err(_) => break,
                        }
                    }
                }
                None => return Exit::Stop,
            },
            f = rx.gated.recv(), if complete => match f {
                Some(f) => {
                    if let Some(req) = hs.inject_before_send(Instant::now()) {
                        if let Some(r) = control_frame(inner, &req) {
                            buf.push(&r);
                        }
                    }
                    buf.push(&f);
                    while buf.len() < MAX_BATCH {
                        match rx.gated.try_recv() {
                            Ok(f) => buf.push(&f),
                            Err(_) => break,
                        }
                    }
                }
                None => return Exit::Stop,
            },
            r = uid_rx.changed() => {
                if r.is_err() {
                    return Exit::Stop;
                }
            }
            _ = sleep_until(deadline), if deadline.is_some() => {
                match hs.poll(Instant::now()) {
                    Some(HandshakeAction::SendRequest(req)) => {
                        debug!(remote = %remote, stream = stream.name(), "resending HandshakeReq");
                        if let Some(f) = control_frame(inner, &req) {
                            buf.push(&f);
                        }
                    }
                    Some(HandshakeAction::TimedOut) => {
                        let msg = format!(
                            "handshake with {remote} timed out after {:?}",
                            inner.settings.handshake.timeout
                        );
                        warn!(remote = %remote, stream = stream.name(), "{msg}; dropping queued messages");
                        assoc.set_error(msg);
                        inner.emit(RemoteEvent::HandshakeTimedOut(remote.clone()));
                        while rx.gated.try_recv().is_ok() {}
                        // Try again: a later message may find the peer up.
                        let req = hs.start(assoc.peer_uid(), Instant::now());
                        if let Some(f) = control_frame(inner, &req) {
                            buf.push(&f);
                        }
                    }
                    None => {}
                }
            }
        }
    }
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Carries out one action of the remote watcher.
pub(crate) fn watch_action(inner: &Arc<Inner>, action: WatchAction) {
    match action {
        WatchAction::SendHeartbeat(addr) => {
            let sel = SelectionEnvelope::new(
                Payload::new(serializers::ARTERY, am::ARTERY_HEARTBEAT, Bytes::new()),
                REMOTE_WATCHER,
            );
            let msg = SerializedMessage {
                serializer_id: serializers::MESSAGE_CONTAINER,
                manifest: String::new(),
                payload: sel.encode(),
            };
            let me = inner.full_path(REMOTE_WATCHER);
            // Heartbeats go on the control stream, like the JVM's.
            match inner.frame(
                Some(&me),
                Some(&addr.root_path()),
                msg.serializer_id,
                &msg.manifest,
                msg.payload,
            ) {
                Ok(f) => inner.enqueue(&addr, StreamId::Control, f, false),
                Err(e) => warn!(error = %e, "cannot encode heartbeat"),
            }
        }
        WatchAction::Rewatch(addr, actors) => {
            debug!(remote = %addr, count = actors.len(), "watching remote actors (again)");
            let watcher = inner.full_path(WATCHER);
            for a in actors {
                inner.send_system(
                    &a,
                    SystemMessage::Watch {
                        watchee: a.clone(),
                        watcher: watcher.clone(),
                    },
                );
            }
        }
        WatchAction::AddressTerminated {
            address,
            uid,
            actors,
        } => {
            warn!(remote = %address, "Detected unreachable: [{address}]");
            let assoc = inner.association(&address);
            if let Some(uid) = uid {
                let peer = UniqueAddress::new(address.clone(), uid);
                let outcome = assoc.quarantine.lock().quarantine(
                    &inner.local,
                    &peer,
                    assoc.peer_uid(),
                    false,
                    Instant::now(),
                );
                if let QuarantineOutcome::Quarantined(notice) = outcome {
                    warn!(remote = %peer, "Association to [{address}] with UID [{}] is quarantined: node unreachable", uid as i64);
                    assoc.system_sender.lock().clear();
                    if let Some(m) = notice {
                        inner.send_control(&address, &m);
                    }
                }
            }
            inner.emit(RemoteEvent::AddressTerminated(address));
            for actor in actors {
                inner.emit(RemoteEvent::Terminated {
                    actor,
                    existence_confirmed: false,
                    address_terminated: true,
                });
            }
        }
    }
}

/// Periodic work: resend unacknowledged system messages, heartbeats and
/// failure detection of watched nodes.
pub(crate) async fn run_ticker(inner: Arc<Inner>) {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        crate::compression::advertise_due(&inner, Instant::now());
        let actions = inner.remote_watch.lock().tick(Instant::now());
        for a in actions {
            watch_action(&inner, a);
        }
        let assocs: Vec<Arc<Association>> = inner.associations.lock().values().cloned().collect();
        for a in assocs {
            idle_check(&inner, &a, Instant::now());
            let out = a.system_sender.lock().poll(Instant::now());
            match out {
                Ok(resend) => {
                    for s in resend {
                        let msg = s.message();
                        match inner.frame(
                            None,
                            Some(&s.recipient),
                            serializers::ARTERY,
                            msg.manifest(),
                            msg.encode(),
                        ) {
                            Ok(f) => inner.enqueue(&a.remote, StreamId::Control, f, false),
                            Err(e) => warn!(error = %e, "cannot encode system message"),
                        }
                    }
                }
                Err(give_up) => {
                    warn!(remote = %a.remote, reason = ?give_up, "system message delivery gave up; quarantining association");
                    if let Some(peer) = a.peer() {
                        let outcome = a.quarantine.lock().quarantine(
                            &inner.local,
                            &peer,
                            Some(peer.uid),
                            false,
                            Instant::now(),
                        );
                        if let QuarantineOutcome::Quarantined(Some(m)) = outcome {
                            inner.send_control(&a.remote, &m);
                        }
                    }
                    a.system_sender.lock().clear();
                }
            }
        }
    }
}

/// `stop-idle-outbound-after` and `quarantine-idle-outbound-after`: stops
/// the outbound streams of an association that queued nothing for that long
/// (the next message starts them again), and quarantines the peer
/// incarnation of one idle even longer.
pub(crate) fn idle_check(inner: &Arc<Inner>, assoc: &Arc<Association>, now: Instant) {
    let settings = &inner.settings;
    if assoc.idle_for(now) >= settings.quarantine_idle_outbound_after {
        if let Some(peer) = assoc.peer() {
            let outcome =
                assoc
                    .quarantine
                    .lock()
                    .quarantine(&inner.local, &peer, Some(peer.uid), false, now);
            if let QuarantineOutcome::Quarantined(notice) = outcome {
                let reason = format!(
                    "Idle longer than quarantine-idle-outbound-after [{:?}]",
                    settings.quarantine_idle_outbound_after
                );
                warn!(remote = %peer, "Association to [{}] with UID [{}] is quarantined: {reason}", peer.address, peer.uid as i64);
                assoc.system_sender.lock().clear();
                if let Some(m) = notice {
                    inner.send_control(&assoc.remote, &m);
                }
                inner.emit(RemoteEvent::Quarantined {
                    remote: peer,
                    reason,
                });
                return;
            }
        }
    }
    let stopped: Vec<StreamKey> = {
        let mut streams = assoc.streams.lock();
        // Checked again under the lock: a sender marks the association used
        // before it takes a stream's queues.
        if streams.is_empty() || assoc.idle_for(now) < settings.stop_idle_outbound_after {
            return;
        }
        // Dropping the queues ends each writer (its receivers report that
        // every sender is gone); the next message starts a new one.
        streams.drain().map(|(k, _)| k).collect()
    };
    for (stream, lane) in stopped {
        info!(remote = %assoc.remote, stream = stream.name(), lane, "Stopping idle outbound stream [{}] to [{}]", stream.name(), assoc.remote);
        inner.emit(RemoteEvent::OutboundStreamIdleStopped {
            remote: assoc.remote.clone(),
            stream,
            lane,
        });
    }
}
