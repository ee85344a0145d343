//! Addresses (`pekko://System@host:port`), unique addresses (address + system
//! uid) and actor paths (`<address>/user/a/b#uid`), with conversions to the
//! protobuf forms.

use std::fmt;
use std::str::FromStr;

use crate::error::{Result, WireError};
use crate::proto::{artery_control as pc, wire as pw};

/// A node's canonical address. Two addresses are equal only if all four
/// parts are equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    /// `pekko` (or `akka` during migrations).
    pub protocol: String,
    /// The ActorSystem name.
    pub system: String,
    /// The canonical host string, exactly as configured (IPv6 in brackets).
    pub host: String,
    /// The canonical port.
    pub port: u16,
}

impl Address {
    /// A `pekko://system@host:port` address.
    pub fn new(system: impl Into<String>, host: impl Into<String>, port: u16) -> Self {
        Address {
            protocol: "pekko".into(),
            system: system.into(),
            host: host.into(),
            port,
        }
    }

    /// To `ArteryControlFormats.Address`.
    pub fn to_proto(&self) -> pc::Address {
        pc::Address {
            protocol: self.protocol.clone(),
            system: self.system.clone(),
            hostname: self.host.clone(),
            port: u32::from(self.port),
        }
    }

    /// From `ArteryControlFormats.Address`.
    pub fn from_proto(p: &pc::Address) -> Result<Self> {
        // prost decodes an absent required field as its default; an address
        // without system or host cannot be real, so treat it as missing.
        for (v, field) in [(&p.system, "system"), (&p.hostname, "hostname")] {
            if v.is_empty() {
                return Err(WireError::MissingField {
                    message: "Address",
                    field,
                });
            }
        }
        Ok(Address {
            protocol: p.protocol.clone(),
            system: p.system.clone(),
            host: p.hostname.clone(),
            port: port_from(p.port, "Address.port")?,
        })
    }

    /// To `WireFormats.AddressData` (misc manifest `AD`).
    pub fn to_address_data(&self) -> pw::AddressData {
        pw::AddressData {
            system: self.system.clone(),
            hostname: self.host.clone(),
            port: u32::from(self.port),
            protocol: Some(self.protocol.clone()),
        }
    }

    /// From `WireFormats.AddressData`.
    pub fn from_address_data(p: &pw::AddressData) -> Result<Self> {
        Ok(Address {
            protocol: p.protocol.clone().unwrap_or_else(|| "pekko".into()),
            system: p.system.clone(),
            host: p.hostname.clone(),
            port: port_from(p.port, "AddressData.port")?,
        })
    }

    /// The root actor path of this address: `<address>/`.
    pub fn root_path(&self) -> String {
        format!("{self}/")
    }
}

fn port_from(p: u32, field: &'static str) -> Result<u16> {
    u16::try_from(p).map_err(|_| WireError::BadPayload {
        serializer_id: crate::serializers::ARTERY,
        reason: format!("{field} {p} out of range"),
    })
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
    type Err = WireError;

    fn from_str(s: &str) -> Result<Self> {
        let (addr, rest) = split_address(s)?;
        if !rest.is_empty() && rest != "/" {
            return Err(bad(s, "address must not contain a path"));
        }
        Ok(addr)
    }
}

fn bad(input: &str, reason: &'static str) -> WireError {
    WireError::BadPath {
        input: input.to_string(),
        reason,
    }
}

/// Splits `proto://sys@host:port/rest` into the address and `/rest`.
fn split_address(s: &str) -> Result<(Address, &str)> {
    let (protocol, rest) = s.split_once("://").ok_or_else(|| bad(s, "missing `://`"))?;
    let (system, rest) = rest
        .split_once('@')
        .ok_or_else(|| bad(s, "missing `@` (remote addresses need system@host:port)"))?;
    let end = rest.find('/').unwrap_or(rest.len());
    let (hostport, path) = rest.split_at(end);
    let colon = hostport
        .rfind(':')
        .ok_or_else(|| bad(s, "missing `:port`"))?;
    let (host, port) = (&hostport[..colon], &hostport[colon + 1..]);
    let port: u16 = port
        .parse()
        .map_err(|_| bad(s, "port is not a number 0..65535"))?;
    if protocol.is_empty() || system.is_empty() || host.is_empty() {
        return Err(bad(s, "empty protocol, system or host"));
    }
    if host.starts_with('[') != host.ends_with(']') {
        return Err(bad(s, "unbalanced brackets around IPv6 host"));
    }
    Ok((
        Address {
            protocol: protocol.into(),
            system: system.into(),
            host: host.into(),
            port,
        },
        path,
    ))
}

/// An address plus the system uid of one incarnation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UniqueAddress {
    /// The canonical address.
    pub address: Address,
    /// The random 64-bit system uid of this incarnation.
    pub uid: u64,
}

impl UniqueAddress {
    /// Builds a unique address.
    pub fn new(address: Address, uid: u64) -> Self {
        UniqueAddress { address, uid }
    }

    /// To `ArteryControlFormats.UniqueAddress`.
    pub fn to_proto(&self) -> pc::UniqueAddress {
        pc::UniqueAddress {
            address: self.address.to_proto(),
            uid: self.uid,
        }
    }

    /// From `ArteryControlFormats.UniqueAddress`.
    pub fn from_proto(p: &pc::UniqueAddress) -> Result<Self> {
        Ok(UniqueAddress {
            address: Address::from_proto(&p.address)?,
            uid: p.uid,
        })
    }
}

impl fmt::Display for UniqueAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.address, self.uid as i64)
    }
}

/// A remote actor path: address, path elements and optional actor uid.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ActorPath {
    /// The node the actor lives on.
    pub address: Address,
    /// Path elements below the root, e.g. `["user", "echo"]`.
    pub elements: Vec<String>,
    /// The actor incarnation uid (`#uid`), if known; 0 is never written.
    pub uid: Option<i32>,
}

impl ActorPath {
    /// The root path of `address`.
    pub fn root(address: Address) -> Self {
        ActorPath {
            address,
            elements: Vec::new(),
            uid: None,
        }
    }

    /// A child path.
    pub fn child(&self, name: &str) -> Self {
        let mut elements = self.elements.clone();
        elements.push(name.to_string());
        ActorPath {
            address: self.address.clone(),
            elements,
            uid: None,
        }
    }

    /// The same path without the `#uid` fragment.
    pub fn without_uid(&self) -> Self {
        ActorPath {
            uid: None,
            ..self.clone()
        }
    }

    /// `/user/echo` (or `/` for the root), without address and uid.
    pub fn path_string(&self) -> String {
        if self.elements.is_empty() {
            "/".into()
        } else {
            self.elements.iter().map(|e| format!("/{e}")).collect()
        }
    }
}

impl fmt::Display for ActorPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.address, self.path_string())?;
        if let Some(uid) = self.uid {
            write!(f, "#{uid}")?;
        }
        Ok(())
    }
}

impl FromStr for ActorPath {
    type Err = WireError;

    fn from_str(s: &str) -> Result<Self> {
        let (address, rest) = split_address(s)?;
        let (path, uid) = match rest.split_once('#') {
            Some((p, u)) => {
                let uid: i32 = u
                    .parse()
                    .map_err(|_| bad(s, "`#uid` is not a 32-bit integer"))?;
                (p, (uid != 0).then_some(uid))
            }
            None => (rest, None),
        };
        let elements: Vec<String> = path
            .split('/')
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect();
        if elements.iter().any(|e| !e.is_ascii()) {
            return Err(bad(s, "path elements must be ASCII (use %XX escapes)"));
        }
        Ok(ActorPath {
            address,
            elements,
            uid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_round_trip() {
        let a: Address = "pekko://Sys@127.0.0.1:25520".parse().unwrap();
        assert_eq!(a, Address::new("Sys", "127.0.0.1", 25520));
        assert_eq!(a.to_string(), "pekko://Sys@127.0.0.1:25520");
        assert_eq!(Address::from_proto(&a.to_proto()).unwrap(), a);
        let v6: Address = "pekko://S@[::1]:1".parse().unwrap();
        assert_eq!(v6.host, "[::1]");
    }

    #[test]
    fn bad_addresses() {
        for s in [
            "pekko://Sys127.0.0.1:1",
            "Sys@h:1",
            "pekko://S@h",
            "pekko://S@h:99999",
            "pekko://S@h:1/user",
        ] {
            assert!(s.parse::<Address>().is_err(), "{s}");
        }
    }

    #[test]
    fn actor_path_with_uid() {
        let p: ActorPath = "pekko://B@127.0.0.1:25521/user/echo#-1454305470"
            .parse()
            .unwrap();
        assert_eq!(p.elements, ["user", "echo"]);
        assert_eq!(p.uid, Some(-1454305470));
        assert_eq!(
            p.to_string(),
            "pekko://B@127.0.0.1:25521/user/echo#-1454305470"
        );
        let root: ActorPath = "pekko://B@h:1/".parse().unwrap();
        assert_eq!(root.to_string(), "pekko://B@h:1/");
        assert_eq!(root.address.root_path(), "pekko://B@h:1/");
    }

    #[test]
    fn unique_address_proto() {
        let u = UniqueAddress::new(Address::new("B", "127.0.0.1", 25521), 0xa000_0000_0000_0000);
        assert_eq!(UniqueAddress::from_proto(&u.to_proto()).unwrap(), u);
        assert!(UniqueAddress::from_proto(&pc::UniqueAddress {
            address: pc::Address::default(),
            uid: 1
        })
        .is_err());
    }
}
