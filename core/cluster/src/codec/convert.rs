//! Conversion between the model types and their protobuf forms, including the index tables
//! (addresses, roles, clock hashes, app versions) of the gossip encoding.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::proto;
use crate::address::{Address, UniqueAddress};
use crate::gossip::Gossip;
use crate::member::{with_dc_role, Member, MemberStatus};
use crate::reachability::{Reachability, ReachabilityStatus, Record};
use crate::vclock::VectorClock;

/// Builds the cluster `Address` proto (protocol always written).
pub fn address_to_proto(a: &Address) -> proto::Address {
    proto::Address {
        system: a.system.clone(),
        hostname: a.host.clone(),
        port: u32::from(a.port),
        protocol: Some(a.protocol.clone()),
    }
}

/// Reads a cluster `Address` proto; a port above 65535 is an error.
pub fn address_from_proto(a: &proto::Address) -> Result<Address, String> {
    let port = u16::try_from(a.port).map_err(|_| format!("port {} out of range", a.port))?;
    Ok(Address {
        protocol: a.protocol.clone().unwrap_or_default(),
        system: a.system.clone(),
        host: a.hostname.clone(),
        port,
    })
}

/// Builds the `UniqueAddress` proto: low 32 bits in `uid`, high 32 bits in `uid2`.
pub fn unique_address_to_proto(u: &UniqueAddress) -> proto::UniqueAddress {
    proto::UniqueAddress {
        address: address_to_proto(&u.address),
        uid: u.uid as u32,
        uid2: Some(((u.uid as u64) >> 32) as u32),
    }
}

/// Reads a `UniqueAddress` proto; without `uid2` the 32-bit uid is sign-extended.
pub fn unique_address_from_proto(u: &proto::UniqueAddress) -> Result<UniqueAddress, String> {
    let uid = match u.uid2 {
        Some(hi) => ((u64::from(hi) << 32) | u64::from(u.uid)) as i64,
        None => i64::from(u.uid as i32),
    };
    Ok(UniqueAddress {
        address: address_from_proto(&u.address)?,
        uid,
    })
}

/// Encodes a vector clock against a hash table (which must contain every key).
pub(crate) fn vclock_to_proto(
    v: &VectorClock,
    hash_index: &HashMap<&str, i32>,
) -> proto::VectorClock {
    proto::VectorClock {
        timestamp: Some(0),
        versions: v
            .entries()
            .iter()
            .filter_map(|(k, c)| {
                hash_index
                    .get(k.as_str())
                    .map(|&i| proto::vector_clock::Version {
                        hash_index: i,
                        timestamp: *c,
                    })
            })
            .collect(),
    }
}

fn index<T: Clone>(table: &[T], i: i32, what: &str) -> Result<T, String> {
    usize::try_from(i)
        .ok()
        .and_then(|i| table.get(i))
        .cloned()
        .ok_or_else(|| format!("{what} index {i} out of range (table has {})", table.len()))
}

/// Decodes a vector clock against a hash table.
pub(crate) fn vclock_from_proto(
    v: &proto::VectorClock,
    hashes: &[String],
) -> Result<VectorClock, String> {
    let mut entries = BTreeMap::new();
    for ver in &v.versions {
        entries.insert(
            index(hashes, ver.hash_index, "vector clock hash")?,
            ver.timestamp,
        );
    }
    Ok(VectorClock::from_entries(entries))
}

/// Encodes a gossip with its index tables as the JVM does.
pub fn gossip_to_proto(g: &Gossip) -> proto::Gossip {
    let mut addresses: Vec<UniqueAddress> = g.members.keys().cloned().collect();
    addresses.extend(g.tombstones.keys().cloned());
    let mut addr_index: HashMap<UniqueAddress, i32> = HashMap::new();
    for (i, a) in addresses.iter().enumerate() {
        addr_index.entry(a.clone()).or_insert(i as i32);
    }
    // nodes referenced elsewhere but neither member nor tombstone (not expected) get entries too
    let mut ensure = |a: &UniqueAddress, addresses: &mut Vec<UniqueAddress>| -> i32 {
        if let Some(&i) = addr_index.get(a) {
            return i;
        }
        let i = addresses.len() as i32;
        addresses.push(a.clone());
        addr_index.insert(a.clone(), i);
        i
    };
    let roles: Vec<String> = g
        .members
        .values()
        .flat_map(|m| m.roles.iter().cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let role_index: HashMap<&str, i32> = roles
        .iter()
        .enumerate()
        .map(|(i, r)| (r.as_str(), i as i32))
        .collect();
    let hashes: Vec<String> = g.version.entries().keys().cloned().collect();
    let hash_index: HashMap<&str, i32> = hashes
        .iter()
        .enumerate()
        .map(|(i, h)| (h.as_str(), i as i32))
        .collect();
    let app_versions: Vec<String> = g
        .members
        .values()
        .map(|m| m.app_version.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let app_index: HashMap<&str, i32> = app_versions
        .iter()
        .enumerate()
        .map(|(i, v)| (v.as_str(), i as i32))
        .collect();

    let members = g
        .members
        .values()
        .map(|m| proto::Member {
            address_index: ensure(&m.unique_address, &mut addresses),
            up_number: m.up_number,
            status: m.status.to_proto(),
            roles_indexes: m
                .roles
                .iter()
                .filter_map(|r| role_index.get(r.as_str()).copied())
                .collect(),
            app_version_index: app_index.get(m.app_version.as_str()).copied(),
        })
        .collect();
    let seen = g.seen.iter().map(|s| ensure(s, &mut addresses)).collect();
    let records = g.reachability.records();
    let observer_reachability = g
        .reachability
        .versions()
        .iter()
        .map(|(observer, version)| {
            let subject_reachability = records
                .iter()
                .filter(|r| &r.observer == observer)
                .map(|r| proto::SubjectReachability {
                    address_index: ensure(&r.subject, &mut addresses),
                    status: r.status.to_proto(),
                    version: r.version,
                })
                .collect();
            proto::ObserverReachability {
                address_index: ensure(observer, &mut addresses),
                version: *version,
                subject_reachability,
            }
        })
        .collect();
    let tombstones = g
        .tombstones
        .iter()
        .map(|(node, ts)| proto::Tombstone {
            address_index: ensure(node, &mut addresses),
            timestamp: *ts,
        })
        .collect();
    proto::Gossip {
        all_addresses: addresses.iter().map(unique_address_to_proto).collect(),
        all_roles: roles.clone(),
        all_hashes: hashes.clone(),
        members,
        overview: proto::GossipOverview {
            seen,
            observer_reachability,
        },
        version: vclock_to_proto(&g.version, &hash_index),
        tombstones,
        all_app_versions: app_versions.clone(),
    }
}

/// Decodes a gossip, resolving every index against its tables.
pub fn gossip_from_proto(p: &proto::Gossip) -> Result<Gossip, String> {
    let addresses: Vec<UniqueAddress> = p
        .all_addresses
        .iter()
        .map(unique_address_from_proto)
        .collect::<Result<_, _>>()?;
    let mut members = BTreeMap::new();
    for m in &p.members {
        let node = index(&addresses, m.address_index, "member address")?;
        let status = MemberStatus::from_proto(m.status)
            .ok_or_else(|| format!("unknown member status {}", m.status))?;
        if status == MemberStatus::Removed {
            return Err(format!("member {node} has status Removed"));
        }
        let roles = m
            .roles_indexes
            .iter()
            .map(|&i| index(&p.all_roles, i, "role"))
            .collect::<Result<Vec<_>, _>>()?;
        let app_version = if p.all_app_versions.is_empty() {
            "0.0.0".to_string()
        } else {
            index(
                &p.all_app_versions,
                m.app_version_index.unwrap_or(0),
                "app version",
            )?
        };
        members.insert(
            node.clone(),
            Member {
                unique_address: node,
                up_number: m.up_number,
                status,
                roles: with_dc_role(roles),
                app_version,
            },
        );
    }
    let seen = p
        .overview
        .seen
        .iter()
        .map(|&i| index(&addresses, i, "seen address"))
        .collect::<Result<BTreeSet<_>, _>>()?;
    let mut records = Vec::new();
    let mut versions = Vec::new();
    for o in &p.overview.observer_reachability {
        let observer = index(&addresses, o.address_index, "reachability observer")?;
        for s in &o.subject_reachability {
            records.push(Record {
                observer: observer.clone(),
                subject: index(&addresses, s.address_index, "reachability subject")?,
                status: ReachabilityStatus::from_proto(s.status)
                    .ok_or_else(|| format!("unknown reachability status {}", s.status))?,
                version: s.version,
            });
        }
        versions.push((observer, o.version));
    }
    let tombstones = p
        .tombstones
        .iter()
        .map(|t| {
            Ok((
                index(&addresses, t.address_index, "tombstone address")?,
                t.timestamp,
            ))
        })
        .collect::<Result<BTreeMap<_, _>, String>>()?;
    Ok(Gossip {
        members,
        seen,
        reachability: Reachability::from_parts(records, versions),
        version: vclock_from_proto(&p.version, &p.all_hashes)?,
        tombstones,
    })
}
