//! Node identities: [`Address`] and [`UniqueAddress`], with Pekko's orderings.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use md5::{Digest, Md5};

use crate::error::ClusterError;

/// Compares two strings as Java's `String.compareTo` does (by UTF-16 code unit).
pub fn java_string_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.as_bytes().cmp(b.as_bytes());
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// A node address `protocol://system@host:port`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    /// Protocol, `pekko` with Artery.
    pub protocol: String,
    /// Actor system name.
    pub system: String,
    /// Host name or IP.
    pub host: String,
    /// Port.
    pub port: u16,
}

impl Address {
    /// Builds an address with protocol `pekko`.
    pub fn new(system: impl Into<String>, host: impl Into<String>, port: u16) -> Address {
        Address {
            protocol: "pekko".into(),
            system: system.into(),
            host: host.into(),
            port,
        }
    }
}

/// Pekko's `Member.addressOrdering`: host (Java string order), then port. Protocol and system
/// break remaining ties only so that the order is total and consistent with `Eq`.
impl Ord for Address {
    fn cmp(&self, other: &Self) -> Ordering {
        java_string_cmp(&self.host, &other.host)
            .then(self.port.cmp(&other.port))
            .then_with(|| self.protocol.cmp(&other.protocol))
            .then_with(|| self.system.cmp(&other.system))
    }
}

impl PartialOrd for Address {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}@{}:{}",
            self.protocol, self.system, self.host, self.port
        )
    }
}

impl FromStr for Address {
    type Err = ClusterError;

    /// Parses `protocol://system@host:port`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |reason: &str| ClusterError::Address {
            input: s.to_string(),
            reason: reason.to_string(),
        };
        let (protocol, rest) = s.split_once("://").ok_or_else(|| bad("missing `://`"))?;
        let (system, hostport) = rest.split_once('@').ok_or_else(|| bad("missing `@`"))?;
        let (host, port) = hostport
            .rsplit_once(':')
            .ok_or_else(|| bad("missing `:port`"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| bad("port is not a number 0-65535"))?;
        if protocol.is_empty() || system.is_empty() || host.is_empty() {
            return Err(bad("empty protocol, system or host"));
        }
        Ok(Address {
            protocol: protocol.into(),
            system: system.into(),
            host: host.into(),
            port,
        })
    }
}

/// An [`Address`] plus the 64-bit uid of one incarnation of the node (the Artery uid).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct UniqueAddress {
    /// The node address.
    pub address: Address,
    /// The incarnation's uid.
    pub uid: i64,
}

impl UniqueAddress {
    /// Builds a unique address.
    pub fn new(address: Address, uid: i64) -> UniqueAddress {
        UniqueAddress { address, uid }
    }

    /// The vector clock node name: `<address>-<signed uid>`.
    pub fn vclock_name(&self) -> String {
        format!("{}-{}", self.address, self.uid)
    }

    /// The vector clock key of this node: lowercase hex MD5 of [`Self::vclock_name`].
    pub fn vclock_node(&self) -> String {
        let digest = Md5::digest(self.vclock_name().as_bytes());
        let mut s = String::with_capacity(32);
        for b in digest {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }

    /// Java's `Long.hashCode(uid)`, the key of the heartbeat ring.
    pub fn ring_hash(&self) -> i32 {
        let u = self.uid as u64;
        (u ^ (u >> 32)) as u32 as i32
    }
}

/// Pekko's `UniqueAddress.compare`: address ordering, then signed uid.
impl Ord for UniqueAddress {
    fn cmp(&self, other: &Self) -> Ordering {
        self.address
            .cmp(&other.address)
            .then(self.uid.cmp(&other.uid))
    }
}

impl PartialOrd for UniqueAddress {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for UniqueAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UniqueAddress({},{})", self.address, self.uid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ua(port: u16, uid: i64) -> UniqueAddress {
        UniqueAddress::new(Address::new("ClusterSystem", "127.0.0.1", port), uid)
    }

    #[test]
    fn vclock_node_matches_jvm_vectors() {
        assert_eq!(
            ua(25520, 8469301372340155426).vclock_node(),
            "774a6742bc36ab6f391b63ca56a8668a"
        );
        let n = ua(25520, -4223372036854775808);
        assert_eq!(
            n.vclock_name(),
            "pekko://ClusterSystem@127.0.0.1:25520--4223372036854775808"
        );
        assert_eq!(n.vclock_node(), "b106343dd7c060e72ae9630530d629c8");
    }

    #[test]
    fn ring_hash_matches_java_long_hash_code() {
        assert_eq!(ua(1, 8469301372340155426).ring_hash(), -1483131749);
        assert_eq!(ua(1, -4223372036854775808).ring_hash(), -2120773246);
    }

    #[test]
    fn address_order_is_host_string_then_port() {
        let a = Address::new("S", "10.0.0.10", 1);
        let b = Address::new("S", "10.0.0.2", 1);
        assert!(a < b, "string order of hosts");
        let c = Address::new("S", "10.0.0.2", 2);
        assert!(b < c);
        assert!(ua(1, -5) < ua(1, 3), "signed uid tie-break");
    }

    #[test]
    fn parse_and_display_round_trip() {
        let a: Address = "pekko://Sys@127.0.0.1:2552".parse().unwrap();
        assert_eq!(a, Address::new("Sys", "127.0.0.1", 2552));
        assert_eq!(a.to_string(), "pekko://Sys@127.0.0.1:2552");
        assert!("pekko://Sys@host".parse::<Address>().is_err());
        assert!("nothing".parse::<Address>().is_err());
    }
}
