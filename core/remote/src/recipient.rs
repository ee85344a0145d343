//! Remote recipients resolved once: the parsed path, the association, the
//! stream, lane and frame limit, and the recipient literal of the envelope.
//! A send to a resolved recipient parses, formats and looks up nothing by
//! path; [`RemoteNode::tell`](crate::RemoteNode::tell) keeps the recipients
//! of the paths it was given in a bounded cache.

use std::sync::Arc;

use artery_wire::{ActorPath, StreamId};
use bytes::Bytes;
use parking_lot::Mutex;
use tokio::sync::mpsc;

use crate::association::{Association, StreamKey};
use crate::error::Result;
use crate::message::SerializedMessage;
use crate::node::{stream_for, Inner};

/// How many path strings the node's recipient cache keeps before it starts
/// over (a node sends to far fewer distinct paths in steady state).
pub(crate) const CACHE_CAPACITY: usize = 4096;

/// A recipient on another node, resolved once.
pub(crate) struct Resolved {
    /// The parsed path.
    pub path: ActorPath,
    /// The path as written in envelopes (`path.to_string()`).
    pub text: Box<str>,
    /// `text` as the bytes of the recipient literal.
    pub literal: Bytes,
    /// The association with the recipient's node (never replaced).
    pub assoc: Arc<Association>,
    /// Stream and lane of ordinary (not priority) messages.
    pub key: StreamKey,
    /// The largest frame that stream takes.
    pub max: usize,
    /// True for a path of this node's own address (delivered locally).
    pub local: bool,
    /// The lane's queue, held weakly so that an idle stream still stops.
    queue: Mutex<Option<mpsc::WeakSender<Bytes>>>,
}

impl Resolved {
    /// Resolves `path` for sending from `inner`.
    pub fn new(inner: &Arc<Inner>, path: ActorPath) -> Self {
        let (stream, max) = stream_for(&inner.settings, &path, false);
        let text = path.to_string();
        let lane = if stream == StreamId::Ordinary {
            crate::association::lane_of(path.uid, &text, inner.settings.outbound_lanes)
        } else {
            0
        };
        Resolved {
            local: path.address == inner.local.address,
            assoc: inner.association(&path.address),
            literal: Bytes::copy_from_slice(text.as_bytes()),
            text: text.into_boxed_str(),
            path,
            key: (stream, lane),
            max,
            queue: Mutex::new(None),
        }
    }

    /// The cached queue of the recipient's lane, if its writer still runs.
    pub fn cached_queue(&self) -> Option<mpsc::Sender<Bytes>> {
        self.queue.lock().as_ref().and_then(|w| w.upgrade())
    }

    /// Remembers the queue of the recipient's lane.
    pub fn cache_queue(&self, q: &mpsc::Sender<Bytes>) {
        *self.queue.lock() = Some(q.downgrade());
    }
}

/// A remote actor path resolved once for sending: the parsed path, the
/// association with its node, the stream and lane its messages take and
/// the recipient as written in envelopes. Sending through it costs no
/// parsing, formatting or lookup by path. Get one from
/// [`RemoteNode::recipient`](crate::RemoteNode::recipient); cheap to clone.
#[derive(Clone)]
pub struct RemoteRecipient {
    pub(crate) inner: Arc<Inner>,
    pub(crate) resolved: Arc<Resolved>,
}

impl std::fmt::Debug for RemoteRecipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RemoteRecipient")
            .field(&self.resolved.text)
            .finish()
    }
}

impl RemoteRecipient {
    /// The recipient's path.
    pub fn path(&self) -> &ActorPath {
        &self.resolved.path
    }

    /// Sends `msg` with an optional sender path, as
    /// [`RemoteNode::tell`](crate::RemoteNode::tell) does.
    pub fn tell(&self, sender: Option<&str>, msg: &SerializedMessage) -> Result<()> {
        self.inner.send_resolved(&self.resolved, sender, msg, false)
    }

    /// Sends `msg` on the control stream, as
    /// [`RemoteNode::tell_priority`](crate::RemoteNode::tell_priority) does.
    pub fn tell_priority(&self, sender: Option<&str>, msg: &SerializedMessage) -> Result<()> {
        self.inner.send_resolved(&self.resolved, sender, msg, true)
    }
}
