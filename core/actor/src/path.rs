//! Actor addresses and paths, rendered like Pekko's (`pekko://System/user/a/b#uid`).

use std::fmt;
use std::sync::Arc;

use crate::error::ActorError;

/// Characters besides ASCII letters and digits that Pekko accepts in an actor name.
const VALID_SYMBOLS: &str = "-_.*$+:@&=,!~';";

/// Checks an actor name against Pekko's rules (RFC-2396 path element, not empty,
/// not starting with `$`, ASCII letters, digits, `-_.*$+:@&=,!~';` and `%XX` escapes).
pub fn validate_name(name: &str) -> Result<(), ActorError> {
    if name.is_empty() {
        return Err(ActorError::InvalidName {
            name: name.to_string(),
            reason: "actor path element must not be empty".into(),
        });
    }
    let bytes = name.as_bytes();
    if bytes[0] == b'$' {
        return Err(ActorError::InvalidName {
            name: name.to_string(),
            reason: "illegal character [$] at position: 0; names starting with `$` are reserved"
                .into(),
        });
    }
    let mut pos = 0;
    while pos < bytes.len() {
        let c = bytes[pos];
        if c.is_ascii_alphanumeric() || VALID_SYMBOLS.as_bytes().contains(&c) {
            pos += 1;
        } else if c == b'%'
            && pos + 2 < bytes.len()
            && bytes[pos + 1].is_ascii_hexdigit()
            && bytes[pos + 2].is_ascii_hexdigit()
        {
            pos += 3;
        } else {
            let ch = name[pos..].chars().next().unwrap_or('?');
            return Err(ActorError::InvalidName {
                name: name.to_string(),
                reason: format!(
                    "illegal character [{ch}] at position: {pos}; actor names may contain only ASCII letters, digits and {VALID_SYMBOLS}"
                ),
            });
        }
    }
    Ok(())
}

/// Renders an anonymous-name counter the way Pekko does (`$a`, `$b`, ..., `$ab`).
pub fn anonymous_name(mut n: u64) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+~";
    let mut s = String::from("$");
    loop {
        s.push(CHARS[(n & 63) as usize] as char);
        n >>= 6;
        if n == 0 {
            return s;
        }
    }
}

/// Inverse of [`anonymous_name`].
pub fn parse_anonymous_name(s: &str) -> Option<u64> {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+~";
    let digits = s.strip_prefix('$')?.as_bytes();
    if digits.is_empty() || digits.len() > 10 {
        return None;
    }
    let mut n = 0u64;
    for (i, d) in digits.iter().enumerate() {
        let v = CHARS.iter().position(|c| c == d)? as u64;
        n |= v << (6 * i);
    }
    Some(n)
}

/// The address of an actor system: protocol, system name and, for remote systems, host and port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Address {
    /// Protocol, `pekko` for Pekko/Artery.
    pub protocol: Arc<str>,
    /// Actor system name.
    pub system: Arc<str>,
    /// Host, `None` for a local address.
    pub host: Option<Arc<str>>,
    /// Port, `None` for a local address.
    pub port: Option<u16>,
}

impl Address {
    /// A local address `pekko://system`.
    pub fn local(system: &str) -> Self {
        Address {
            protocol: Arc::from("pekko"),
            system: Arc::from(system),
            host: None,
            port: None,
        }
    }

    /// A remote address `pekko://system@host:port`.
    pub fn remote(system: &str, host: &str, port: u16) -> Self {
        Address {
            protocol: Arc::from("pekko"),
            system: Arc::from(system),
            host: Some(Arc::from(host)),
            port: Some(port),
        }
    }

    /// Whether this address carries host and port.
    pub fn has_global_scope(&self) -> bool {
        self.host.is_some()
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.protocol, self.system)?;
        if let (Some(h), Some(p)) = (&self.host, self.port) {
            write!(f, "@{h}:{p}")?;
        }
        Ok(())
    }
}

/// A full actor path: address, path elements from the root, and the incarnation uid
/// (0 means "any incarnation", as in Pekko).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ActorPath {
    /// The system address.
    pub address: Address,
    /// Elements below the root, e.g. `["user", "a", "b"]`.
    pub elements: Vec<String>,
    /// Incarnation uid, 0 when unknown.
    pub uid: i32,
}

impl ActorPath {
    /// The root path of an address.
    pub fn root(address: Address) -> Self {
        ActorPath {
            address,
            elements: Vec::new(),
            uid: 0,
        }
    }

    /// This path with one more element (uid reset to 0).
    pub fn child(&self, name: &str) -> Self {
        let mut elements = self.elements.clone();
        elements.push(name.to_string());
        ActorPath {
            address: self.address.clone(),
            elements,
            uid: 0,
        }
    }

    /// The last element (the actor's name); `""` for the root.
    pub fn name(&self) -> &str {
        self.elements.last().map(String::as_str).unwrap_or("")
    }

    /// The path without the `#uid` suffix.
    pub fn to_string_without_uid(&self) -> String {
        let mut s = self.address.to_string();
        if self.elements.is_empty() {
            s.push('/');
        }
        for e in &self.elements {
            s.push('/');
            s.push_str(e);
        }
        s
    }

    /// Parses `pekko://System@host:port/user/a#123` (the uid part is optional).
    pub fn parse(s: &str) -> Result<ActorPath, ActorError> {
        let bad = |why: &str| ActorError::InvalidPath {
            path: s.to_string(),
            reason: why.to_string(),
        };
        let (proto, rest) = s.split_once("://").ok_or_else(|| bad("missing `://`"))?;
        let (rest, uid) = match rest.split_once('#') {
            Some((r, u)) => (
                r,
                u.parse::<i32>().map_err(|_| bad("uid is not an integer"))?,
            ),
            None => (rest, 0),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (system, host, port) = match authority.split_once('@') {
            Some((sys, hp)) => {
                let (h, p) = hp.rsplit_once(':').ok_or_else(|| bad("missing port"))?;
                let p = p.parse::<u16>().map_err(|_| bad("port is not a number"))?;
                (sys, Some(Arc::from(h)), Some(p))
            }
            None => (authority, None, None),
        };
        if system.is_empty() {
            return Err(bad("empty system name"));
        }
        let elements = path
            .split('/')
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect();
        Ok(ActorPath {
            address: Address {
                protocol: Arc::from(proto),
                system: Arc::from(system),
                host,
                port,
            },
            elements,
            uid,
        })
    }
}

impl fmt::Display for ActorPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_without_uid())?;
        if self.uid != 0 {
            write!(f, "#{}", self.uid)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_pekko_rules() {
        assert!(validate_name("abc").is_ok());
        assert!(validate_name("a-b_c.d*e+f:g@h&i=j,k!l~m';n$").is_ok());
        assert!(validate_name("a%20b").is_ok());
        assert!(validate_name("").is_err());
        assert!(validate_name("$a").is_err());
        assert!(validate_name("a b").is_err());
        assert!(validate_name("a/b").is_err());
        assert!(validate_name("a%2").is_err());
        assert!(validate_name("ä").is_err());
    }

    #[test]
    fn anonymous_names_like_pekko() {
        assert_eq!(anonymous_name(0), "$a");
        assert_eq!(anonymous_name(1), "$b");
        assert_eq!(anonymous_name(63), "$~");
        assert_eq!(anonymous_name(64), "$ab");
        for n in [0, 1, 63, 64, 4095, 1_000_000] {
            assert_eq!(parse_anonymous_name(&anonymous_name(n)), Some(n));
        }
    }

    #[test]
    fn path_render_and_parse() {
        let p = ActorPath::root(Address::local("Sys"))
            .child("user")
            .child("a");
        let p = ActorPath { uid: 42, ..p };
        assert_eq!(p.to_string(), "pekko://Sys/user/a#42");
        assert_eq!(ActorPath::parse("pekko://Sys/user/a#42").ok(), Some(p));
        let r = ActorPath::parse("pekko://S@127.0.0.1:2552/user/x").ok();
        assert_eq!(
            r.map(|p| p.to_string()),
            Some("pekko://S@127.0.0.1:2552/user/x".to_string())
        );
        assert!(ActorPath::parse("nonsense").is_err());
    }
}
