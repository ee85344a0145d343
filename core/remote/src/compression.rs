//! Inbound compression, driver side: counts the actor refs and manifests
//! each peer incarnation sends on the ordinary stream, periodically
//! advertises tables of the most used ones, and decodes compressed tags with
//! the tables it advertised (the tables themselves live in
//! `artery_wire::compression`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use artery_wire::compression::{InboundDecompression, TableKind};
use artery_wire::envelope::{Envelope, Field};
use artery_wire::WireError;
use tracing::debug;

use crate::node::{FastMap, Inner};

/// Per-origin hit counts plus the decompression tables.
pub(crate) struct InboundCompression {
    tables: InboundDecompression,
    refs: FastMap<u64, FastMap<String, u64>>,
    manifests: FastMap<u64, FastMap<String, u64>>,
    next_refs: Instant,
    next_manifests: Instant,
    /// Envelopes received with at least one compressed tag.
    pub decompressed: u64,
}

impl InboundCompression {
    /// The first advertisements go out one interval after `now`.
    pub fn new(now: Instant, refs_interval: Duration, manifests_interval: Duration) -> Self {
        InboundCompression {
            tables: InboundDecompression::default(),
            refs: FastMap::default(),
            manifests: FastMap::default(),
            next_refs: now + refs_interval,
            next_manifests: now + manifests_interval,
            decompressed: 0,
        }
    }

    /// Replaces compressed tags by literals; an error drops the envelope.
    pub fn decompress(&mut self, env: &mut Envelope) -> Result<(), WireError> {
        let compressed = [&env.sender, &env.recipient, &env.manifest]
            .iter()
            .any(|f| matches!(f, Field::Compressed(_)));
        if compressed {
            self.tables.decompress_envelope(env)?;
            self.decompressed += 1;
        }
        Ok(())
    }

    /// Counts the refs and manifest of an ordinary-stream envelope; a key
    /// seen before costs no allocation.
    pub fn count(&mut self, env: &Envelope) {
        let refs = self.refs.entry(env.origin_uid).or_default();
        for f in [&env.sender, &env.recipient] {
            if let Some(p) = f.as_str() {
                // Temporary (ask) refs are used once; never worth a slot.
                if !p.contains("/temp/") {
                    bump(refs, p);
                }
            }
        }
        if let Some(m) = env.manifest.as_str() {
            bump(self.manifests.entry(env.origin_uid).or_default(), m);
        }
    }

    /// An ack of a table this node advertised.
    pub fn on_ack(&mut self, origin_uid: u64, kind: TableKind, version: u32) {
        if let Ok(v) = i8::try_from(version) {
            self.tables.state(origin_uid, kind).on_ack(v);
        }
    }

    /// Forgets a quarantined or replaced incarnation.
    pub fn forget(&mut self, origin_uid: u64) {
        self.tables.forget(origin_uid);
        self.refs.remove(&origin_uid);
        self.manifests.remove(&origin_uid);
    }
}

/// Adds one hit for `key`.
fn bump(counts: &mut FastMap<String, u64>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_string(), 1);
        }
    }
}

fn top(counts: FastMap<String, u64>, max: usize) -> Vec<String> {
    let mut v: Vec<(String, u64)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.into_iter().take(max).map(|(k, _)| k).collect()
}

/// Advertises tables whose interval has come, to every origin that sent
/// something since the last advertisement.
pub(crate) fn advertise_due(inner: &Arc<Inner>, now: Instant) {
    let s = &inner.settings;
    let mut out = Vec::new();
    {
        let mut c = inner.inbound_compression.lock();
        for (kind, max, interval) in [
            (
                TableKind::ActorRef,
                s.compression_actor_refs_max,
                s.compression_actor_refs_interval,
            ),
            (
                TableKind::Manifest,
                s.compression_manifests_max,
                s.compression_manifests_interval,
            ),
        ] {
            if max == 0 {
                continue;
            }
            let next = match kind {
                TableKind::ActorRef => &mut c.next_refs,
                TableKind::Manifest => &mut c.next_manifests,
            };
            if now < *next {
                continue;
            }
            *next = now + interval;
            let counts = match kind {
                TableKind::ActorRef => std::mem::take(&mut c.refs),
                TableKind::Manifest => std::mem::take(&mut c.manifests),
            };
            for (uid, hits) in counts {
                if hits.is_empty() {
                    continue;
                }
                let keys = top(hits, max);
                let msg = c.tables.advertise(&inner.local, uid, kind, keys);
                out.push((uid, msg));
            }
        }
    }
    for (uid, msg) in out {
        let addr = inner.uid_index.lock().get(&uid).cloned();
        if let Some(addr) = addr {
            debug!(remote = %addr, manifest = msg.manifest(), "advertising compression table");
            inner.send_control(&addr, &msg);
        }
    }
}
