//! The cluster messages with their manifests, encoding and decoding.

use bytes::Bytes;
use prost::encoding::{decode_key, skip_field, DecodeContext, WireType};
use prost::Message;

use super::convert::*;
use super::gzip::{gunzip, gzip};
use super::proto;
use crate::address::{Address, UniqueAddress};
use crate::error::ClusterError;
use crate::gossip::Gossip;
use crate::vclock::VectorClock;

/// `Join`: a node asks its contact node to be admitted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Join {
    /// The joining node.
    pub node: UniqueAddress,
    /// Its roles, including the `dc-` role.
    pub roles: Vec<String>,
    /// Its app version (`0.0.0` when absent on the wire).
    pub app_version: String,
}

/// Result of the configuration compatibility check carried by `InitJoinAck`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigCheck {
    /// The contact node did not check.
    Unchecked,
    /// The joiner's configuration is incompatible.
    Incompatible,
    /// Compatible; the contact node's values for the keys the joiner sent (HOCON/JSON text).
    Compatible(String),
}

/// `Heartbeat` from a monitoring node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Heartbeat {
    /// Sender address (no uid).
    pub from: Address,
    /// Round number (-1 from legacy peers).
    pub sequence_nr: i64,
    /// Sender's monotonic clock in nanoseconds (-1 from legacy peers).
    pub creation_time: i64,
}

/// `HeartbeatRsp`: the monitored node's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeartbeatRsp {
    /// Responder (must equal its member identity).
    pub from: UniqueAddress,
    /// Echoed round number.
    pub sequence_nr: i64,
    /// Echoed creation time.
    pub creation_time: i64,
}

/// A message of Pekko's cluster membership protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterMessage {
    /// `Join` (manifest `J`).
    Join(Join),
    /// `Welcome` (manifest `W`, whole message gzip-compressed).
    Welcome {
        /// The contact node.
        from: UniqueAddress,
        /// Its gossip, containing the joiner as Joining.
        gossip: Gossip,
    },
    /// `InitJoin` (manifest `IJ`) with the joiner's configuration subset.
    InitJoin {
        /// HOCON/JSON text of the join configuration (absent or empty: unknown).
        current_config: Option<String>,
    },
    /// `InitJoinAck` (manifest `IJA`).
    InitJoinAck {
        /// Address to send `Join` to.
        address: Address,
        /// Outcome of the configuration check.
        config_check: ConfigCheck,
    },
    /// `InitJoinNack` (manifest `IJN`): not a member yet.
    InitJoinNack(Address),
    /// `Leave` (manifest `L`).
    Leave(Address),
    /// `Down` (manifest `D`).
    Down(Address),
    /// `ExitingConfirmed` (manifest `EC`).
    ExitingConfirmed(UniqueAddress),
    /// `GossipEnvelope` (manifest `GE`; the gossip is gzip-compressed inside).
    GossipEnvelope {
        /// Sender.
        from: UniqueAddress,
        /// Intended receiver.
        to: UniqueAddress,
        /// The gossip.
        gossip: Gossip,
    },
    /// `GossipStatus` (manifest `GS`).
    GossipStatus {
        /// Sender.
        from: UniqueAddress,
        /// Sender's gossip version.
        version: VectorClock,
        /// SHA-1 of the sender's seen set (absent: treated as matching).
        seen_digest: Option<Vec<u8>>,
    },
    /// `Heartbeat` (manifest `HB`).
    Heartbeat(Heartbeat),
    /// `HeartbeatRsp` (manifest `HBR`).
    HeartbeatRsp(HeartbeatRsp),
}

fn decode_err(manifest: &str, reason: impl std::fmt::Display) -> ClusterError {
    ClusterError::Decode {
        manifest: manifest.to_string(),
        reason: reason.to_string(),
    }
}

fn parse<M: Message + Default>(manifest: &str, bytes: &[u8]) -> Result<M, ClusterError> {
    M::decode(bytes).map_err(|e| decode_err(manifest, e))
}

/// Top-level fields present in a protobuf message: (tag, wire type, payload for
/// length-delimited fields). `None` when the bytes are not a well-formed message.
/// One scanned field: tag, wire type, payload of a length-delimited field.
type Field<'a> = (u32, WireType, Option<&'a [u8]>);

fn scan_fields(mut buf: &[u8]) -> Option<Vec<Field<'_>>> {
    let mut out = Vec::new();
    while !buf.is_empty() {
        let (tag, wt) = decode_key(&mut buf).ok()?;
        if wt == WireType::LengthDelimited {
            let len = prost::encoding::decode_varint(&mut buf).ok()?;
            let len = usize::try_from(len).ok().filter(|l| *l <= buf.len())?;
            out.push((tag, wt, Some(&buf[..len])));
            buf = &buf[len..];
        } else {
            skip_field(wt, tag, &mut buf, DecodeContext::default()).ok()?;
            out.push((tag, wt, None));
        }
    }
    Some(out)
}

fn has(fields: &[Field<'_>], tag: u32, wt: WireType) -> bool {
    fields.iter().any(|(t, w, _)| *t == tag && *w == wt)
}

/// True when `bytes` hold an `Address` with its required fields.
fn is_full_address(bytes: &[u8]) -> bool {
    scan_fields(bytes).is_some_and(|f| {
        has(&f, 1, WireType::LengthDelimited)
            && has(&f, 2, WireType::LengthDelimited)
            && has(&f, 3, WireType::Varint)
    })
}

/// True when `bytes` hold an `InitJoinAck` with its required fields (used to tell it from the
/// legacy bare-`Address` form, as the JVM's required-field check does).
fn is_full_init_join_ack(bytes: &[u8]) -> bool {
    let Some(fields) = scan_fields(bytes) else {
        return false;
    };
    let addr_ok = fields
        .iter()
        .any(|(t, _, p)| *t == 1 && p.is_some_and(is_full_address));
    let check_ok = fields.iter().any(|(t, _, p)| {
        *t == 2 && p.is_some_and(|c| scan_fields(c).is_some_and(|cf| has(&cf, 1, WireType::Varint)))
    });
    addr_ok && check_ok
}

impl ClusterMessage {
    /// The string manifest the JVM writes for this message.
    pub fn manifest(&self) -> &'static str {
        match self {
            ClusterMessage::Join(_) => "J",
            ClusterMessage::Welcome { .. } => "W",
            ClusterMessage::InitJoin { .. } => "IJ",
            ClusterMessage::InitJoinAck { .. } => "IJA",
            ClusterMessage::InitJoinNack(_) => "IJN",
            ClusterMessage::Leave(_) => "L",
            ClusterMessage::Down(_) => "D",
            ClusterMessage::ExitingConfirmed(_) => "EC",
            ClusterMessage::GossipEnvelope { .. } => "GE",
            ClusterMessage::GossipStatus { .. } => "GS",
            ClusterMessage::Heartbeat(_) => "HB",
            ClusterMessage::HeartbeatRsp(_) => "HBR",
        }
    }

    /// Serializes the message as Pekko's `ClusterMessageSerializer.toBinary` does.
    pub fn to_binary(&self) -> Vec<u8> {
        match self {
            ClusterMessage::Join(j) => proto::Join {
                node: unique_address_to_proto(&j.node),
                roles: j.roles.clone(),
                app_version: Some(j.app_version.clone()),
            }
            .encode_to_vec(),
            ClusterMessage::Welcome { from, gossip } => gzip(
                &proto::Welcome {
                    from: unique_address_to_proto(from),
                    gossip: gossip_to_proto(gossip),
                }
                .encode_to_vec(),
            ),
            ClusterMessage::InitJoin { current_config } => proto::InitJoin {
                current_config: current_config.clone(),
            }
            .encode_to_vec(),
            ClusterMessage::InitJoinAck {
                address,
                config_check,
            } => {
                use proto::config_check::Type;
                let (t, cfg) = match config_check {
                    ConfigCheck::Unchecked => (Type::UncheckedConfig, None),
                    ConfigCheck::Incompatible => (Type::IncompatibleConfig, None),
                    ConfigCheck::Compatible(c) => (Type::CompatibleConfig, Some(c.clone())),
                };
                proto::InitJoinAck {
                    address: address_to_proto(address),
                    config_check: proto::ConfigCheck {
                        r#type: t as i32,
                        cluster_config: cfg,
                    },
                }
                .encode_to_vec()
            }
            ClusterMessage::InitJoinNack(a)
            | ClusterMessage::Leave(a)
            | ClusterMessage::Down(a) => address_to_proto(a).encode_to_vec(),
            ClusterMessage::ExitingConfirmed(u) => unique_address_to_proto(u).encode_to_vec(),
            ClusterMessage::GossipEnvelope { from, to, gossip } => proto::GossipEnvelope {
                from: unique_address_to_proto(from),
                to: unique_address_to_proto(to),
                serialized_gossip: Bytes::from(gzip(&gossip_to_proto(gossip).encode_to_vec())),
            }
            .encode_to_vec(),
            ClusterMessage::GossipStatus {
                from,
                version,
                seen_digest,
            } => {
                let hashes: Vec<String> = version.entries().keys().cloned().collect();
                let idx = hashes
                    .iter()
                    .enumerate()
                    .map(|(i, h)| (h.as_str(), i as i32))
                    .collect();
                proto::GossipStatus {
                    from: unique_address_to_proto(from),
                    version: vclock_to_proto(version, &idx),
                    all_hashes: hashes.clone(),
                    seen_digest: seen_digest.clone().map(Bytes::from),
                }
                .encode_to_vec()
            }
            ClusterMessage::Heartbeat(h) => proto::Heartbeat {
                from: address_to_proto(&h.from),
                sequence_nr: Some(h.sequence_nr),
                creation_time: Some(h.creation_time),
            }
            .encode_to_vec(),
            ClusterMessage::HeartbeatRsp(h) => proto::HeartBeatResponse {
                from: unique_address_to_proto(&h.from),
                sequence_nr: Some(h.sequence_nr),
                creation_time: Some(h.creation_time),
            }
            .encode_to_vec(),
        }
    }

    /// Deserializes a message from its manifest and bytes, accepting the legacy class-name
    /// manifests too. Never panics; malformed input is an error naming the manifest.
    pub fn from_binary(manifest: &str, bytes: &[u8]) -> Result<ClusterMessage, ClusterError> {
        const PFX: &str = "org.apache.pekko.cluster.";
        let m = manifest;
        let e = |r: String| decode_err(m, r);
        let canonical = match manifest.strip_prefix(PFX) {
            None => manifest,
            Some("InternalClusterAction$Join") => "J",
            Some("InternalClusterAction$Welcome") => "W",
            Some("ClusterUserAction$Leave") => "L",
            Some("ClusterUserAction$Down") => "D",
            Some("InternalClusterAction$InitJoin$") => "IJ",
            Some("InternalClusterAction$InitJoinAck") => "IJA",
            Some("InternalClusterAction$InitJoinNack") => "IJN",
            Some("InternalClusterAction$ExitingConfirmed") => "EC",
            Some("GossipStatus") => "GS",
            Some("GossipEnvelope") => "GE",
            Some("ClusterHeartbeatSender$Heartbeat") => "legacy-HB",
            Some("ClusterHeartbeatSender$HeartbeatRsp") => "legacy-HBR",
            Some(_) => return Err(ClusterError::UnknownManifest(manifest.to_string())),
        };
        Ok(match canonical {
            "J" => {
                let p: proto::Join = parse(m, bytes)?;
                ClusterMessage::Join(Join {
                    node: unique_address_from_proto(&p.node).map_err(e)?,
                    roles: p.roles,
                    app_version: p.app_version.unwrap_or_else(|| "0.0.0".into()),
                })
            }
            "W" => {
                let raw = gunzip(bytes).map_err(e)?;
                let p: proto::Welcome = parse(m, &raw)?;
                ClusterMessage::Welcome {
                    from: unique_address_from_proto(&p.from).map_err(e)?,
                    gossip: gossip_from_proto(&p.gossip).map_err(e)?,
                }
            }
            "IJ" => {
                let p: proto::InitJoin = parse(m, bytes)?;
                ClusterMessage::InitJoin {
                    current_config: p.current_config,
                }
            }
            "IJA" => {
                if is_full_init_join_ack(bytes) {
                    let p: proto::InitJoinAck = parse(m, bytes)?;
                    use proto::config_check::Type;
                    let check = match Type::try_from(p.config_check.r#type) {
                        Ok(Type::UncheckedConfig) => ConfigCheck::Unchecked,
                        Ok(Type::IncompatibleConfig) => ConfigCheck::Incompatible,
                        Ok(Type::CompatibleConfig) => ConfigCheck::Compatible(
                            p.config_check.cluster_config.unwrap_or_default(),
                        ),
                        Err(_) => {
                            return Err(e(format!(
                                "unknown config check type {}",
                                p.config_check.r#type
                            )))
                        }
                    };
                    ClusterMessage::InitJoinAck {
                        address: address_from_proto(&p.address).map_err(e)?,
                        config_check: check,
                    }
                } else if is_full_address(bytes) {
                    let p: proto::Address = parse(m, bytes)?;
                    ClusterMessage::InitJoinAck {
                        address: address_from_proto(&p).map_err(e)?,
                        config_check: ConfigCheck::Unchecked,
                    }
                } else {
                    return Err(e("neither an InitJoinAck nor a bare Address".into()));
                }
            }
            "IJN" | "L" | "D" => {
                let p: proto::Address = parse(m, bytes)?;
                let a = address_from_proto(&p).map_err(e)?;
                match canonical {
                    "IJN" => ClusterMessage::InitJoinNack(a),
                    "L" => ClusterMessage::Leave(a),
                    _ => ClusterMessage::Down(a),
                }
            }
            "EC" => {
                let p: proto::UniqueAddress = parse(m, bytes)?;
                ClusterMessage::ExitingConfirmed(unique_address_from_proto(&p).map_err(e)?)
            }
            "GE" => {
                let p: proto::GossipEnvelope = parse(m, bytes)?;
                let raw = gunzip(&p.serialized_gossip).map_err(e)?;
                let g: proto::Gossip = parse(m, &raw)?;
                ClusterMessage::GossipEnvelope {
                    from: unique_address_from_proto(&p.from).map_err(e)?,
                    to: unique_address_from_proto(&p.to).map_err(e)?,
                    gossip: gossip_from_proto(&g).map_err(e)?,
                }
            }
            "GS" => {
                let p: proto::GossipStatus = parse(m, bytes)?;
                ClusterMessage::GossipStatus {
                    from: unique_address_from_proto(&p.from).map_err(e)?,
                    version: vclock_from_proto(&p.version, &p.all_hashes).map_err(e)?,
                    seen_digest: p.seen_digest.map(|b| b.to_vec()),
                }
            }
            "HB" => {
                let p: proto::Heartbeat = parse(m, bytes)?;
                ClusterMessage::Heartbeat(Heartbeat {
                    from: address_from_proto(&p.from).map_err(e)?,
                    sequence_nr: p.sequence_nr.unwrap_or(-1),
                    creation_time: p.creation_time.unwrap_or(-1),
                })
            }
            "HBR" => {
                let p: proto::HeartBeatResponse = parse(m, bytes)?;
                ClusterMessage::HeartbeatRsp(HeartbeatRsp {
                    from: unique_address_from_proto(&p.from).map_err(e)?,
                    sequence_nr: p.sequence_nr.unwrap_or(-1),
                    creation_time: p.creation_time.unwrap_or(-1),
                })
            }
            "legacy-HB" => {
                let p: proto::Address = parse(m, bytes)?;
                ClusterMessage::Heartbeat(Heartbeat {
                    from: address_from_proto(&p).map_err(e)?,
                    sequence_nr: -1,
                    creation_time: -1,
                })
            }
            "legacy-HBR" => {
                let p: proto::UniqueAddress = parse(m, bytes)?;
                ClusterMessage::HeartbeatRsp(HeartbeatRsp {
                    from: unique_address_from_proto(&p).map_err(e)?,
                    sequence_nr: -1,
                    creation_time: -1,
                })
            }
            _ => return Err(ClusterError::UnknownManifest(manifest.to_string())),
        })
    }

    /// Decodes only the gossip of a `GE` payload (for fuzzing and diagnostics).
    pub fn decode_gossip_envelope(bytes: &[u8]) -> Result<ClusterMessage, ClusterError> {
        ClusterMessage::from_binary("GE", bytes)
    }
}
