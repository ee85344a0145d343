//! ActorSelection container (serializer 6): a wrapped message plus the path
//! pattern to walk from the recipient (normally the root `<address>/`).

use bytes::Bytes;
use prost::Message;

use crate::error::{protobuf_err, Result, WireError};
use crate::misc::Payload;
use crate::proto::container as pb;

/// One element of a selection path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectionElement {
    /// `..`
    Parent,
    /// A literal child name.
    ChildName(String),
    /// A glob with `*` and `?`.
    ChildPattern(String),
}

impl SelectionElement {
    /// Classifies one path element as the JVM does.
    pub fn parse(e: &str) -> Self {
        if e == ".." {
            SelectionElement::Parent
        } else if e.contains('*') || e.contains('?') {
            SelectionElement::ChildPattern(e.to_string())
        } else {
            SelectionElement::ChildName(e.to_string())
        }
    }

    /// True if this element matches the child `name`.
    pub fn matches(&self, name: &str) -> bool {
        match self {
            SelectionElement::Parent => false,
            SelectionElement::ChildName(n) => n == name,
            SelectionElement::ChildPattern(p) => glob_match(p.as_bytes(), name.as_bytes()),
        }
    }
}

/// Glob matching with `*` (any run) and `?` (one character).
pub fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// A decoded or to-be-encoded `SelectionEnvelope`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectionEnvelope {
    /// The wrapped message.
    pub message: Payload,
    /// The path pattern, in order.
    pub elements: Vec<SelectionElement>,
    /// Set on copies forwarded by a wildcard that matched several children.
    pub wildcard_fan_out: bool,
}

impl SelectionEnvelope {
    /// A selection of `path` (e.g. `/user/echo` or `user/*`); empty elements
    /// are dropped.
    pub fn new(message: Payload, path: &str) -> Self {
        SelectionEnvelope {
            message,
            elements: path
                .split('/')
                .filter(|e| !e.is_empty())
                .map(SelectionElement::parse)
                .collect(),
            wildcard_fan_out: false,
        }
    }

    /// Serializes (always writes `wildcardFanOut`, like the JVM).
    pub fn encode(&self) -> Bytes {
        let p = self.message.to_proto();
        pb::SelectionEnvelope {
            enclosed_message: p.enclosed_message,
            serializer_id: p.serializer_id,
            pattern: self
                .elements
                .iter()
                .map(|e| match e {
                    SelectionElement::Parent => pb::Selection {
                        r#type: pb::PatternType::Parent as i32,
                        matcher: None,
                    },
                    SelectionElement::ChildName(n) => pb::Selection {
                        r#type: pb::PatternType::ChildName as i32,
                        matcher: Some(n.clone()),
                    },
                    SelectionElement::ChildPattern(n) => pb::Selection {
                        r#type: pb::PatternType::ChildPattern as i32,
                        matcher: Some(n.clone()),
                    },
                })
                .collect(),
            message_manifest: p.message_manifest,
            wildcard_fan_out: Some(self.wildcard_fan_out),
        }
        .encode_to_vec()
        .into()
    }

    /// Parses a serializer-6 payload.
    pub fn decode(payload: Bytes) -> Result<Self> {
        let p =
            pb::SelectionEnvelope::decode(payload).map_err(protobuf_err("SelectionEnvelope"))?;
        let message = Payload::from_proto(pb::Payload {
            enclosed_message: p.enclosed_message,
            serializer_id: p.serializer_id,
            message_manifest: p.message_manifest,
        })?;
        let elements = p
            .pattern
            .into_iter()
            .map(|s| {
                let matcher = || {
                    s.matcher.clone().ok_or(WireError::MissingField {
                        message: "Selection",
                        field: "matcher",
                    })
                };
                match pb::PatternType::try_from(s.r#type) {
                    Ok(pb::PatternType::Parent) => Ok(SelectionElement::Parent),
                    Ok(pb::PatternType::ChildName) => Ok(SelectionElement::ChildName(matcher()?)),
                    Ok(pb::PatternType::ChildPattern) => {
                        Ok(SelectionElement::ChildPattern(matcher()?))
                    }
                    Err(_) => Err(WireError::Protobuf {
                        message: "Selection",
                        reason: format!("unknown pattern type {}", s.r#type),
                    }),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SelectionEnvelope {
            message,
            elements,
            wildcard_fan_out: p.wildcard_fan_out.unwrap_or(false),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serializers::ARTERY;

    /// The heartbeat selection of the wire spec, section 12.5.
    #[test]
    fn heartbeat_selection_matches_spec() {
        let sel = SelectionEnvelope::new(
            Payload::new(ARTERY, "m", Bytes::new()),
            "/system/remote-watcher",
        );
        let mut expected = vec![0x0a, 0x00, 0x10, 0x11];
        expected.extend_from_slice(b"\x1a\x0a\x08\x01\x12\x06system");
        expected.extend_from_slice(b"\x1a\x12\x08\x01\x12\x0eremote-watcher");
        expected.extend_from_slice(b"\x22\x01m\x28\x00");
        assert_eq!(&sel.encode()[..], &expected[..]);
        assert_eq!(SelectionEnvelope::decode(sel.encode()).unwrap(), sel);
    }

    #[test]
    fn element_kinds_and_globs() {
        let sel = SelectionEnvelope::new(Payload::new(20, "", Bytes::new()), "user/../e*h?/x");
        assert_eq!(
            sel.elements,
            vec![
                SelectionElement::ChildName("user".into()),
                SelectionElement::Parent,
                SelectionElement::ChildPattern("e*h?".into()),
                SelectionElement::ChildName("x".into()),
            ]
        );
        assert!(glob_match(b"e*h?", b"echo"));
        assert!(glob_match(b"*", b""));
        assert!(!glob_match(b"e*x", b"echo"));
        assert!(SelectionElement::parse("*").matches("anything"));
    }
}
