//! Per-remote-address state: the peer's uid, outbound stream queues,
//! system message delivery, compression tables toward the peer, quarantine.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use artery_wire::compression::OutboundCompression;
use artery_wire::handshake::{Incarnation, PeerUid};
use artery_wire::quarantine::QuarantineSet;
use artery_wire::system_delivery::SystemMessageSender;
use artery_wire::{Address, StreamId, UniqueAddress};
use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::{mpsc, watch};

/// Queues feeding one outbound stream's writer task.
#[derive(Debug, Clone)]
pub(crate) struct StreamQueues {
    /// Transport replies (HandshakeRsp, Ack, Nack, compression acks,
    /// Quarantined): sent even while the handshake is pending.
    pub urgent: mpsc::UnboundedSender<Bytes>,
    /// Everything else: held until the handshake completes; bounded by the
    /// stream's `outbound-*-queue-size`.
    pub gated: mpsc::Sender<Bytes>,
}

/// The receiving ends, owned by the writer task.
pub(crate) struct StreamReceivers {
    pub urgent: mpsc::UnboundedReceiver<Bytes>,
    pub gated: mpsc::Receiver<Bytes>,
}

pub(crate) fn stream_channels(queue_size: usize) -> (StreamQueues, StreamReceivers) {
    let (urgent, urgent_rx) = mpsc::unbounded_channel();
    let (gated, gated_rx) = mpsc::channel(queue_size.max(1));
    (
        StreamQueues { urgent, gated },
        StreamReceivers {
            urgent: urgent_rx,
            gated: gated_rx,
        },
    )
}

/// One outbound connection of an association: its stream and lane (lanes
/// other than 0 exist only on the ordinary stream).
pub(crate) type StreamKey = (StreamId, usize);

/// The ordinary-stream lane of a recipient: by its actor uid like Pekko
/// (`abs(uid % lanes)`); a path without uid is spread by a hash of its text,
/// so one recipient always uses the same lane and its messages stay in order.
pub(crate) fn lane_of(uid: Option<i32>, path: &str, lanes: usize) -> usize {
    if lanes <= 1 {
        return 0;
    }
    match uid {
        Some(uid) if uid != 0 => (uid % lanes as i32).unsigned_abs() as usize,
        _ => {
            // FNV-1a: stable across runs and processes.
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in path.bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            (h % lanes as u64) as usize
        }
    }
}

/// Frames and bytes this node wrote and read per Artery stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Envelopes written per stream, indexed by stream id - 1 (control,
    /// ordinary, large); handshake and transport replies included.
    pub outbound_frames: [u64; 3],
    /// Envelope bytes written per stream (frame length prefixes excluded).
    pub outbound_bytes: [u64; 3],
    /// Envelopes read per stream.
    pub inbound_frames: [u64; 3],
    /// Envelope bytes read per stream.
    pub inbound_bytes: [u64; 3],
}

impl StreamStats {
    /// Envelopes written on `stream`.
    pub fn sent(&self, stream: StreamId) -> u64 {
        self.outbound_frames[usize::from(stream.as_u8() - 1)]
    }

    /// Envelopes read on `stream`.
    pub fn received(&self, stream: StreamId) -> u64 {
        self.inbound_frames[usize::from(stream.as_u8() - 1)]
    }
}

/// The live counters behind [`StreamStats`].
#[derive(Debug, Default)]
pub(crate) struct TrafficCounters {
    out_frames: [AtomicU64; 3],
    out_bytes: [AtomicU64; 3],
    in_frames: [AtomicU64; 3],
    in_bytes: [AtomicU64; 3],
}

impl TrafficCounters {
    /// Counts `frames` envelopes of `bytes` in total written on `stream`.
    pub fn sent(&self, stream: StreamId, frames: u64, bytes: usize) {
        let i = usize::from(stream.as_u8() - 1);
        self.out_frames[i].fetch_add(frames, Ordering::Relaxed);
        self.out_bytes[i].fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts one envelope of `bytes` read on `stream`.
    pub fn received(&self, stream: StreamId, bytes: usize) {
        let i = usize::from(stream.as_u8() - 1);
        self.in_frames[i].fetch_add(1, Ordering::Relaxed);
        self.in_bytes[i].fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// A snapshot.
    pub fn snapshot(&self) -> StreamStats {
        let load = |a: &[AtomicU64; 3]| {
            [
                a[0].load(Ordering::Relaxed),
                a[1].load(Ordering::Relaxed),
                a[2].load(Ordering::Relaxed),
            ]
        };
        StreamStats {
            outbound_frames: load(&self.out_frames),
            outbound_bytes: load(&self.out_bytes),
            inbound_frames: load(&self.in_frames),
            inbound_bytes: load(&self.in_bytes),
        }
    }
}

/// State of the association with one remote address.
pub(crate) struct Association {
    pub remote: Address,
    peer: Mutex<PeerUid>,
    uid_tx: watch::Sender<Option<u64>>,
    pub streams: Mutex<HashMap<StreamKey, StreamQueues>>,
    /// When the association was created (base of `last_used_ms`).
    created: Instant,
    /// Milliseconds after `created` when a message was last queued.
    last_used_ms: AtomicU64,
    pub last_error: Mutex<Option<String>>,
    pub compression: Mutex<OutboundCompression>,
    pub system_sender: Mutex<SystemMessageSender>,
    pub quarantine: Mutex<QuarantineSet>,
}

impl Association {
    pub fn new(remote: Address, system_sender: SystemMessageSender) -> Self {
        Association {
            remote,
            peer: Mutex::new(PeerUid::default()),
            uid_tx: watch::channel(None).0,
            streams: Mutex::new(HashMap::new()),
            created: Instant::now(),
            last_used_ms: AtomicU64::new(0),
            last_error: Mutex::new(None),
            compression: Mutex::new(OutboundCompression::default()),
            system_sender: Mutex::new(system_sender),
            quarantine: Mutex::new(QuarantineSet::default()),
        }
    }

    /// The peer's current uid, once a handshake completed.
    pub fn peer_uid(&self) -> Option<u64> {
        self.peer.lock().get()
    }

    /// The peer's current unique address.
    pub fn peer(&self) -> Option<UniqueAddress> {
        self.peer_uid()
            .map(|uid| UniqueAddress::new(self.remote.clone(), uid))
    }

    /// Records a completed handshake, runs `before_release` with what it was (same, first or
    /// new incarnation), then wakes the writers.
    pub fn complete_handshake(&self, uid: u64, before_release: impl FnOnce(Incarnation)) {
        let inc = self.peer.lock().complete(uid);
        // The node's own bookkeeping (uid index, forgotten tables) must be in place before the
        // writers release queued messages: a reply to one of them can arrive on another
        // connection at once, and is accepted only from a known uid.
        before_release(inc);
        if inc != Incarnation::Same {
            self.uid_tx.send_replace(Some(uid));
        }
    }

    /// Watches the peer uid (writers wait on it).
    pub fn subscribe_uid(&self) -> watch::Receiver<Option<u64>> {
        self.uid_tx.subscribe()
    }

    pub fn set_error(&self, e: String) {
        *self.last_error.lock() = Some(e);
    }

    /// Records that a message was queued toward the peer now.
    pub fn touch(&self) {
        let ms = self.created.elapsed().as_millis() as u64;
        self.last_used_ms.store(ms, Ordering::Relaxed);
    }

    /// How long no message was queued toward the peer, as of `now`.
    pub fn idle_for(&self, now: Instant) -> Duration {
        let last = self.created + Duration::from_millis(self.last_used_ms.load(Ordering::Relaxed));
        now.saturating_duration_since(last)
    }
}
