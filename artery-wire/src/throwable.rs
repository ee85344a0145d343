//! JVM throwables as Pekko's MiscMessageSerializer (16) writes them, e.g. as
//! the cause of a `Status.Failure`:
//!
//! - `F`: any throwable bound to the serializer (ThrowableSupport): class
//!   name, message, cause as a nested payload, stack trace;
//! - `AIEX`: `ActorInitializationException`: actor ref, message, cause;
//! - `TNSEX`: `ThrowableNotSerializableException`, what the JVM sends for a
//!   throwable it may not serialize (Java serialization is off by default):
//!   the original class name and message.
//!
//! All three decode into one [`JvmThrowable`] value.

use bytes::Bytes;
use prost::Message;

use crate::error::{protobuf_err, Result, WireError};
use crate::misc::Payload;
use crate::proto::container as pb;
use crate::serializers::{misc as m, MISC};

/// Causes nested deeper than this are refused (bounded recursion).
pub const MAX_CAUSE_DEPTH: usize = 32;

/// One stack frame of a JVM throwable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackFrame {
    /// Declaring class.
    pub class_name: String,
    /// Method.
    pub method_name: String,
    /// Source file; `None` when unknown (written as `""`).
    pub file_name: Option<String>,
    /// Line number (negative when unknown or native).
    pub line_number: i32,
}

/// Which JVM encoding a [`JvmThrowable`] came in (and goes out in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThrowableKind {
    /// `F`: a throwable bound to the MiscMessageSerializer.
    Throwable,
    /// `AIEX`: `org.apache.pekko.actor.ActorInitializationException`.
    ActorInitialization {
        /// Serialized path of the actor that failed, if known.
        actor: Option<String>,
    },
    /// `TNSEX`: `ThrowableNotSerializableException` standing in for a
    /// throwable of `class_name`; `message` is the stand-in's own message.
    NotSerializable {
        /// `"Serialization of [<class>] failed. <message>"`.
        message: String,
    },
}

/// A JVM throwable as Rekko sees it: class name, message, cause and stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JvmThrowable {
    /// The JVM class (for `TNSEX`, the original class).
    pub class_name: String,
    /// The message (for `TNSEX`, the original message).
    pub message: Option<String>,
    /// The cause, if any.
    pub cause: Option<Box<JvmThrowable>>,
    /// Stack frames (only `F` carries them).
    pub stack_trace: Vec<StackFrame>,
    /// The encoding.
    pub kind: ThrowableKind,
}

/// The class name of `ActorInitializationException`.
pub const ACTOR_INITIALIZATION_EXCEPTION: &str =
    "org.apache.pekko.actor.ActorInitializationException";

impl JvmThrowable {
    /// A throwable of `class_name` with `message`, encoded as `F`.
    pub fn new(class_name: impl Into<String>, message: impl Into<String>) -> Self {
        JvmThrowable {
            class_name: class_name.into(),
            message: Some(message.into()),
            cause: None,
            stack_trace: Vec::new(),
            kind: ThrowableKind::Throwable,
        }
    }

    /// With `cause`.
    pub fn with_cause(mut self, cause: JvmThrowable) -> Self {
        self.cause = Some(Box::new(cause));
        self
    }

    /// With one more stack frame (innermost first, as the JVM lists them).
    pub fn with_frame(mut self, frame: StackFrame) -> Self {
        self.stack_trace.push(frame);
        self
    }

    /// The serializer-16 manifest of this throwable's encoding.
    pub fn manifest(&self) -> &'static str {
        match self.kind {
            ThrowableKind::Throwable => m::THROWABLE,
            ThrowableKind::ActorInitialization { .. } => m::ACTOR_INIT_EXCEPTION,
            ThrowableKind::NotSerializable { .. } => m::THROWABLE_NOT_SERIALIZABLE,
        }
    }

    /// Encodes the payload bytes (serializer 16, [`JvmThrowable::manifest`]).
    pub fn encode(&self) -> Bytes {
        let cause = || self.cause.as_ref().map(|c| c.to_payload().to_proto());
        let v = match &self.kind {
            ThrowableKind::Throwable => pb::Throwable {
                class_name: self.class_name.clone(),
                message: self.message.clone(),
                cause: cause(),
                stack_trace: self
                    .stack_trace
                    .iter()
                    .map(|f| pb::StackTraceElement {
                        class_name: f.class_name.clone(),
                        method_name: f.method_name.clone(),
                        file_name: f.file_name.clone().unwrap_or_default(),
                        line_number: f.line_number,
                    })
                    .collect(),
            }
            .encode_to_vec(),
            ThrowableKind::ActorInitialization { actor } => pb::ActorInitializationException {
                actor: actor.as_ref().map(|p| pb::ActorRef { path: p.clone() }),
                message: self.message.clone().unwrap_or_default(),
                // A missing cause is written as the null serializer (0), as
                // the JVM writes a null cause.
                cause: cause().unwrap_or_else(|| Payload::new(0, "", Bytes::new()).to_proto()),
            }
            .encode_to_vec(),
            ThrowableKind::NotSerializable { message } => pb::ThrowableNotSerializable {
                message: message.clone(),
                original_message: self.message.clone().unwrap_or_default(),
                original_class_name: self.class_name.clone(),
            }
            .encode_to_vec(),
        };
        Bytes::from(v)
    }

    /// This throwable as a nested payload (e.g. of `Status.Failure`).
    pub fn to_payload(&self) -> Payload {
        Payload::new(MISC, self.manifest(), self.encode())
    }

    /// Decodes a serializer-16 throwable payload with its manifest.
    pub fn decode(manifest: &str, payload: Bytes) -> Result<Self> {
        Self::decode_at(manifest, payload, 0)
    }

    /// Decodes a nested payload (serializer 16 with `F`, `AIEX` or `TNSEX`).
    pub fn from_payload(p: &Payload) -> Result<Self> {
        Self::from_payload_at(p, 0)
    }

    fn from_payload_at(p: &Payload, depth: usize) -> Result<Self> {
        if p.serializer_id != MISC {
            return Err(WireError::BadPayload {
                serializer_id: p.serializer_id,
                reason: format!(
                    "a throwable with manifest {:?} of serializer {} cannot be decoded (only serializer 16 throwables: F, AIEX, TNSEX)",
                    p.manifest, p.serializer_id
                ),
            });
        }
        Self::decode_at(&p.manifest, p.bytes.clone(), depth)
    }

    fn decode_cause(cause: Option<pb::Payload>, depth: usize) -> Result<Option<Box<Self>>> {
        match cause {
            None => Ok(None),
            Some(c) => {
                if depth + 1 > MAX_CAUSE_DEPTH {
                    return Err(WireError::Protobuf {
                        message: "Throwable",
                        reason: format!("causes nested deeper than {MAX_CAUSE_DEPTH}"),
                    });
                }
                let p = Payload::from_proto(c)?;
                Ok(Some(Box::new(Self::from_payload_at(&p, depth + 1)?)))
            }
        }
    }

    fn decode_at(manifest: &str, payload: Bytes, depth: usize) -> Result<Self> {
        Ok(match manifest {
            m::THROWABLE => {
                let t = pb::Throwable::decode(payload).map_err(protobuf_err("Throwable"))?;
                JvmThrowable {
                    class_name: t.class_name,
                    message: t.message,
                    cause: Self::decode_cause(t.cause, depth)?,
                    stack_trace: t
                        .stack_trace
                        .into_iter()
                        .map(|f| StackFrame {
                            class_name: f.class_name,
                            method_name: f.method_name,
                            file_name: (!f.file_name.is_empty()).then_some(f.file_name),
                            line_number: f.line_number,
                        })
                        .collect(),
                    kind: ThrowableKind::Throwable,
                }
            }
            m::ACTOR_INIT_EXCEPTION => {
                let t = pb::ActorInitializationException::decode(payload)
                    .map_err(protobuf_err("ActorInitializationException"))?;
                JvmThrowable {
                    class_name: ACTOR_INITIALIZATION_EXCEPTION.to_string(),
                    message: Some(t.message),
                    cause: if t.cause.serializer_id == 0 {
                        None
                    } else {
                        Self::decode_cause(Some(t.cause), depth)?
                    },
                    stack_trace: Vec::new(),
                    kind: ThrowableKind::ActorInitialization {
                        actor: t.actor.map(|a| a.path),
                    },
                }
            }
            m::THROWABLE_NOT_SERIALIZABLE => {
                let t = pb::ThrowableNotSerializable::decode(payload)
                    .map_err(protobuf_err("ThrowableNotSerializable"))?;
                JvmThrowable {
                    class_name: t.original_class_name,
                    message: Some(t.original_message),
                    cause: None,
                    stack_trace: Vec::new(),
                    kind: ThrowableKind::NotSerializable { message: t.message },
                }
            }
            other => {
                return Err(WireError::UnknownManifest {
                    serializer_id: MISC,
                    manifest: other.to_string(),
                })
            }
        })
    }
}

impl std::fmt::Display for JvmThrowable {
    /// Like the JVM's `Throwable.toString`, with the cause chain.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.message {
            Some(msg) => write!(f, "{}: {}", self.class_name, msg)?,
            None => write!(f, "{}", self.class_name)?,
        }
        if let Some(c) = &self.cause {
            write!(f, "; caused by {c}")?;
        }
        Ok(())
    }
}

impl std::error::Error for JvmThrowable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throwable_layout_matches_container_formats() {
        let t = JvmThrowable::new("java.lang.IllegalStateException", "x");
        let bytes = t.encode();
        // className = 1 (len 31), message = 2 ("x")
        assert_eq!(bytes[0], 0x0a);
        assert_eq!(usize::from(bytes[1]), t.class_name.len());
        assert_eq!(&bytes[bytes.len() - 3..], &[0x12, 0x01, b'x']);
        assert_eq!(JvmThrowable::decode("F", bytes).unwrap(), t);
    }

    #[test]
    fn not_serializable_stand_in_names_the_original() {
        let p = pb::ThrowableNotSerializable {
            message: "Serialization of [java.lang.Foo] failed. boom".into(),
            original_message: "boom".into(),
            original_class_name: "java.lang.Foo".into(),
        };
        let t = JvmThrowable::decode("TNSEX", Bytes::from(p.encode_to_vec())).unwrap();
        assert_eq!(t.class_name, "java.lang.Foo");
        assert_eq!(t.message.as_deref(), Some("boom"));
        assert_eq!(t.to_string(), "java.lang.Foo: boom");
    }

    #[test]
    fn cause_of_another_serializer_is_an_error_naming_it() {
        let p = pb::Throwable {
            class_name: "a.B".into(),
            message: None,
            cause: Some(Payload::new(1, "", Bytes::from_static(b"\xac\xed")).to_proto()),
            stack_trace: vec![],
        };
        let e = JvmThrowable::decode("F", Bytes::from(p.encode_to_vec())).unwrap_err();
        assert!(e.to_string().contains("serializer 1"), "{e}");
    }

    #[test]
    fn deep_cause_chains_are_refused() {
        let mut t = JvmThrowable::new("a.B", "leaf");
        for _ in 0..MAX_CAUSE_DEPTH + 1 {
            t = JvmThrowable::new("a.B", "wrap").with_cause(t);
        }
        assert!(JvmThrowable::decode("F", t.encode()).is_err());
    }
}
