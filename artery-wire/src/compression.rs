//! Compression tables for actor refs and manifests, sans-I/O.
//!
//! Compression is driven by the *receiver*: it advertises a table
//! (`f`/`h`), the sender installs it, acks (`g`/`i`) and may then write
//! compressed tags with that table version.
//!
//! * [`OutboundCompression`]: the side that received an advertisement
//!   (it compresses toward the advertiser). Validates it, keeps the table,
//!   and produces the ack.
//! * [`InboundDecompression`]: the side that advertises and decompresses,
//!   per origin uid: the active table, up to 3 old ones, the advertisement
//!   in progress (confirmed by its ack or by first use).

use std::collections::{HashMap, VecDeque};

use crate::address::UniqueAddress;
use crate::control::{ArteryMessage, CompressionAdvertisement};
use crate::envelope::{Envelope, Field};
use crate::error::{Result, WireError};

/// Actor refs or manifests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableKind {
    /// Actor ref table (`f`/`g`, header byte 2).
    ActorRef,
    /// Class manifest table (`h`/`i`, header byte 3).
    Manifest,
}

impl TableKind {
    fn name(self) -> &'static str {
        match self {
            TableKind::ActorRef => "actor ref",
            TableKind::Manifest => "manifest",
        }
    }
}

/// One versioned table: ids 0..n-1 to keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Version 0..=127.
    pub version: i8,
    /// `keys[id]`.
    pub keys: Vec<String>,
}

impl Table {
    /// Builds a table from advertised `(key, id)` pairs; ids must be 0..n-1.
    pub fn from_entries(version: i8, entries: &[(String, u32)]) -> Result<Self> {
        let mut keys = vec![None; entries.len()];
        for (k, id) in entries {
            let slot = keys
                .get_mut(*id as usize)
                .ok_or_else(|| WireError::Protobuf {
                    message: "CompressionTableAdvertisement",
                    reason: format!("id {id} outside 0..{}", entries.len()),
                })?;
            if slot.replace(k.clone()).is_some() {
                return Err(WireError::Protobuf {
                    message: "CompressionTableAdvertisement",
                    reason: format!("duplicate id {id}"),
                });
            }
        }
        Ok(Table {
            version,
            keys: keys.into_iter().flatten().collect(),
        })
    }
}

fn version_from(v: u32) -> Result<i8> {
    i8::try_from(v).map_err(|_| WireError::Protobuf {
        message: "CompressionTableAdvertisement",
        reason: format!("table version {v} outside 0..=127"),
    })
}

/// Index of a table's keys, looked up for every envelope sent: hashed with
/// a fast non-cryptographic hasher (the keys come from an associated peer).
type KeyIndex = HashMap<String, u16, foldhash::fast::RandomState>;

/// Tables advertised to this node by one peer; used to compress toward it.
#[derive(Debug, Clone, Default)]
pub struct OutboundCompression {
    actor_refs: Option<(Table, KeyIndex)>,
    manifests: Option<(Table, KeyIndex)>,
}

impl OutboundCompression {
    /// Handles an `f` or `h` from the peer whose current incarnation is
    /// `peer`. Returns the ack to send on the control stream, or `None` if the
    /// advertisement is not for this node or from a stale incarnation.
    pub fn on_advertisement(
        &mut self,
        kind: TableKind,
        adv: &CompressionAdvertisement,
        local: &UniqueAddress,
        peer: Option<&UniqueAddress>,
    ) -> Result<Option<ArteryMessage>> {
        if adv.origin_uid != local.uid || peer != Some(&adv.from) {
            return Ok(None);
        }
        let version = version_from(adv.table_version)?;
        let table = Table::from_entries(version, &adv.entries)?;
        let index = table
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), i as u16))
            .collect();
        let from = local.clone();
        let v = adv.table_version;
        Ok(Some(match kind {
            TableKind::ActorRef => {
                self.actor_refs = Some((table, index));
                ArteryMessage::ActorRefCompressionAdvertisementAck { from, version: v }
            }
            TableKind::Manifest => {
                self.manifests = Some((table, index));
                ArteryMessage::ClassManifestCompressionAdvertisementAck { from, version: v }
            }
        }))
    }

    /// The compressed form of `key`, with the table version to write.
    pub fn compress(&self, kind: TableKind, key: &str) -> Option<(i8, u16)> {
        let t = match kind {
            TableKind::ActorRef => &self.actor_refs,
            TableKind::Manifest => &self.manifests,
        };
        t.as_ref()
            .and_then(|(t, idx)| idx.get(key).map(|i| (t.version, *i)))
    }

    /// The version to write in the header for `kind` (0 without table).
    pub fn version(&self, kind: TableKind) -> i8 {
        match kind {
            TableKind::ActorRef => self.actor_refs.as_ref().map_or(0, |t| t.0.version),
            TableKind::Manifest => self.manifests.as_ref().map_or(0, |t| t.0.version),
        }
    }

    /// Forgets all tables (new incarnation or quarantine).
    pub fn clear(&mut self) {
        *self = OutboundCompression::default();
    }
}

const MAX_OLD_TABLES: usize = 3;

/// Decompression state of one kind for one origin uid.
#[derive(Debug, Clone)]
pub struct DecompressionState {
    active: Table,
    old: VecDeque<Table>,
    in_progress: Option<Table>,
    next_version: i8,
}

impl Default for DecompressionState {
    fn default() -> Self {
        DecompressionState {
            active: Table {
                version: 0,
                keys: Vec::new(),
            },
            old: VecDeque::new(),
            in_progress: None,
            next_version: 1,
        }
    }
}

impl DecompressionState {
    /// Starts advertising `keys` as the next table version. The table can
    /// be used for decoding at once (the sender may use it immediately).
    pub fn advertise(&mut self, keys: Vec<String>) -> Table {
        let t = Table {
            version: self.next_version,
            keys,
        };
        self.next_version = if self.next_version == i8::MAX {
            0
        } else {
            self.next_version + 1
        };
        self.in_progress = Some(t.clone());
        t
    }

    /// An ack for `version`: the table in progress becomes active.
    pub fn on_ack(&mut self, version: i8) {
        if self
            .in_progress
            .as_ref()
            .is_some_and(|t| t.version == version)
        {
            self.confirm();
        }
    }

    fn confirm(&mut self) {
        if let Some(t) = self.in_progress.take() {
            let prev = std::mem::replace(&mut self.active, t);
            self.old.push_front(prev);
            self.old.truncate(MAX_OLD_TABLES);
        }
    }

    /// Resolves `index` of table `version`. Using the advertised table
    /// confirms it.
    pub fn decompress(&mut self, version: i8, index: u16) -> Option<&str> {
        if self
            .in_progress
            .as_ref()
            .is_some_and(|t| t.version == version)
        {
            self.confirm();
        }
        std::iter::once(&self.active)
            .chain(self.old.iter())
            .find(|t| t.version == version)
            .and_then(|t| t.keys.get(index as usize))
            .map(String::as_str)
    }
}

/// Per-origin-uid decompression for both kinds.
#[derive(Debug, Clone, Default)]
pub struct InboundDecompression {
    by_uid: HashMap<u64, (DecompressionState, DecompressionState)>,
}

impl InboundDecompression {
    /// The state for `(origin_uid, kind)`.
    pub fn state(&mut self, origin_uid: u64, kind: TableKind) -> &mut DecompressionState {
        let e = self.by_uid.entry(origin_uid).or_default();
        match kind {
            TableKind::ActorRef => &mut e.0,
            TableKind::Manifest => &mut e.1,
        }
    }

    /// Builds the `f`/`h` advertisement of `keys` from `local` to the node
    /// `origin_uid`, installing the table for decoding first.
    pub fn advertise(
        &mut self,
        local: &UniqueAddress,
        origin_uid: u64,
        kind: TableKind,
        keys: Vec<String>,
    ) -> ArteryMessage {
        let t = self.state(origin_uid, kind).advertise(keys);
        let adv = CompressionAdvertisement {
            from: local.clone(),
            origin_uid,
            table_version: t.version as u32,
            entries: t.keys.into_iter().zip(0u32..).collect(),
        };
        match kind {
            TableKind::ActorRef => ArteryMessage::ActorRefCompressionAdvertisement(adv),
            TableKind::Manifest => ArteryMessage::ClassManifestCompressionAdvertisement(adv),
        }
    }

    /// Drops the state of a quarantined or replaced incarnation.
    pub fn forget(&mut self, origin_uid: u64) {
        self.by_uid.remove(&origin_uid);
    }

    fn resolve(&mut self, env: &Envelope, kind: TableKind, f: &Field) -> Result<Option<String>> {
        match f {
            Field::Literal(_) => Ok(None),
            Field::Compressed(i) => {
                let version = match kind {
                    TableKind::ActorRef => env.actor_ref_table_version,
                    TableKind::Manifest => env.manifest_table_version,
                };
                let err = WireError::UnknownCompression {
                    kind: kind.name(),
                    index: u32::from(*i),
                    version,
                    origin_uid: env.origin_uid,
                };
                if version < 0 {
                    return Err(err);
                }
                self.state(env.origin_uid, kind)
                    .decompress(version, *i)
                    .map(|s| Some(s.to_string()))
                    .ok_or(err)
            }
        }
    }

    /// Replaces compressed sender, recipient and manifest by literals.
    /// An unresolvable tag is an error: the envelope must be dropped.
    pub fn decompress_envelope(&mut self, env: &mut Envelope) -> Result<()> {
        for (kind, which) in [
            (TableKind::ActorRef, 0),
            (TableKind::ActorRef, 1),
            (TableKind::Manifest, 2),
        ] {
            let f = match which {
                0 => &env.sender,
                1 => &env.recipient,
                _ => &env.manifest,
            }
            .clone();
            if let Some(s) = self.resolve(env, kind, &f)? {
                let lit = Field::Literal(s.into_bytes().into());
                match which {
                    0 => env.sender = lit,
                    1 => env.recipient = lit,
                    _ => env.manifest = lit,
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::Address;
    use bytes::Bytes;

    fn a() -> UniqueAddress {
        UniqueAddress::new(Address::new("A", "h", 1), 1)
    }
    fn b() -> UniqueAddress {
        UniqueAddress::new(Address::new("B", "h", 2), 2)
    }

    fn adv(version: u32, origin_uid: u64) -> CompressionAdvertisement {
        CompressionAdvertisement {
            from: b(),
            origin_uid,
            table_version: version,
            entries: vec![("/user/y".into(), 1), ("/user/x".into(), 0)],
        }
    }

    #[test]
    fn accepts_advertisement_and_acks() {
        let mut c = OutboundCompression::default();
        let ack = c
            .on_advertisement(TableKind::ActorRef, &adv(3, 1), &a(), Some(&b()))
            .unwrap();
        assert_eq!(
            ack,
            Some(ArteryMessage::ActorRefCompressionAdvertisementAck {
                from: a(),
                version: 3
            })
        );
        assert_eq!(c.compress(TableKind::ActorRef, "/user/y"), Some((3, 1)));
        assert_eq!(c.compress(TableKind::Manifest, "/user/y"), None);
        assert_eq!(c.version(TableKind::ActorRef), 3);
        c.clear();
        assert_eq!(c.version(TableKind::ActorRef), 0);
    }

    #[test]
    fn ignores_advertisement_for_other_uid_or_stale_peer() {
        let mut c = OutboundCompression::default();
        assert_eq!(
            c.on_advertisement(TableKind::Manifest, &adv(1, 99), &a(), Some(&b()))
                .unwrap(),
            None
        );
        let stale = UniqueAddress::new(b().address, 5);
        assert_eq!(
            c.on_advertisement(TableKind::Manifest, &adv(1, 1), &a(), Some(&stale))
                .unwrap(),
            None
        );
        assert!(c
            .on_advertisement(TableKind::Manifest, &adv(200, 1), &a(), Some(&b()))
            .is_err());
    }

    #[test]
    fn bad_ids_are_rejected() {
        assert!(Table::from_entries(1, &[("a".into(), 1)]).is_err());
        assert!(Table::from_entries(1, &[("a".into(), 0), ("b".into(), 0)]).is_err());
    }

    #[test]
    fn decompresses_by_version_with_old_tables() {
        let mut d = InboundDecompression::default();
        let msg = d.advertise(&b(), 1, TableKind::ActorRef, vec!["p0".into(), "p1".into()]);
        let ArteryMessage::ActorRefCompressionAdvertisement(adv) = msg else {
            panic!("wrong kind")
        };
        assert_eq!(adv.table_version, 1);
        let st = d.state(1, TableKind::ActorRef);
        // First use of version 1 confirms it.
        assert_eq!(st.decompress(1, 1), Some("p1"));
        st.advertise(vec!["q0".into()]);
        st.on_ack(2);
        assert_eq!(st.decompress(2, 0), Some("q0"));
        assert_eq!(st.decompress(1, 0), Some("p0"));
        assert_eq!(st.decompress(1, 5), None);
        assert_eq!(st.decompress(9, 0), None);
    }

    #[test]
    fn versions_wrap_and_old_tables_are_bounded() {
        let mut st = DecompressionState::default();
        for i in 0..130 {
            let t = st.advertise(vec![format!("k{i}")]);
            st.on_ack(t.version);
        }
        assert_eq!(st.active.version, 2);
        assert_eq!(st.old.len(), MAX_OLD_TABLES);
    }

    #[test]
    fn envelope_decompression() {
        let mut d = InboundDecompression::default();
        d.advertise(
            &b(),
            7,
            TableKind::ActorRef,
            vec!["pekko://B@h:2/user/x".into()],
        );
        d.advertise(&b(), 7, TableKind::Manifest, vec!["com.Foo".into()]);
        let mut env = Envelope::new(
            7,
            31,
            Field::empty(),
            Field::Compressed(0),
            Field::Compressed(0),
            Bytes::new(),
        );
        env.actor_ref_table_version = 1;
        env.manifest_table_version = 1;
        d.decompress_envelope(&mut env).unwrap();
        assert_eq!(env.recipient.as_str(), Some("pekko://B@h:2/user/x"));
        assert_eq!(env.manifest.as_str(), Some("com.Foo"));
        let mut unknown = Envelope::new(
            8,
            31,
            Field::Compressed(0),
            Field::empty(),
            Field::empty(),
            Bytes::new(),
        );
        assert!(matches!(
            d.decompress_envelope(&mut unknown),
            Err(WireError::UnknownCompression { origin_uid: 8, .. })
        ));
    }
}
