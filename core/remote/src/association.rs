//! Per-remote-address state: the peer's uid, outbound stream queues,
//! system message delivery, compression tables toward the peer, quarantine.

use std::collections::HashMap;

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

/// State of the association with one remote address.
pub(crate) struct Association {
    pub remote: Address,
    peer: Mutex<PeerUid>,
    uid_tx: watch::Sender<Option<u64>>,
    pub streams: Mutex<HashMap<StreamId, StreamQueues>>,
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

    /// Records a completed handshake and wakes the writers.
    pub fn complete_handshake(&self, uid: u64) -> Incarnation {
        let inc = self.peer.lock().complete(uid);
        if inc != Incarnation::Same {
            self.uid_tx.send_replace(Some(uid));
        }
        inc
    }

    /// Watches the peer uid (writers wait on it).
    pub fn subscribe_uid(&self) -> watch::Receiver<Option<u64>> {
        self.uid_tx.subscribe()
    }

    pub fn set_error(&self, e: String) {
        *self.last_error.lock() = Some(e);
    }
}
