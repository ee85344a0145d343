//! System messages (serializer 22, `SystemMessageFormats`): the death watch
//! trio Watch / Unwatch / DeathWatchNotification typed, the rest (remote
//! deployment and supervision) kept as raw protobuf so they can be acked and
//! ignored.

use bytes::Bytes;
use prost::Message;

use crate::error::{protobuf_err, Result, WireError};
use crate::proto::container::ActorRef;
use crate::proto::system_message::{self as ps, system_message::Type};

/// A decoded system message.
#[derive(Debug, Clone, PartialEq)]
pub enum SystemMessage {
    /// `watcher` wants to know when `watchee` stops.
    Watch {
        /// Path of the watched actor (on the receiving node).
        watchee: String,
        /// Path of the watcher.
        watcher: String,
    },
    /// Cancels a `Watch`.
    Unwatch {
        /// Path of the watched actor.
        watchee: String,
        /// Path of the watcher.
        watcher: String,
    },
    /// `actor` has stopped.
    DeathWatchNotification {
        /// Path of the stopped actor.
        actor: String,
        /// False when the actor did not exist when the watch arrived.
        existence_confirmed: bool,
        /// True when caused by node loss.
        address_terminated: bool,
    },
    /// Any other system message type (create, supervise, terminate, ...).
    Other(ps::SystemMessage),
}

fn aref(r: ActorRef, field: &'static str) -> Result<String> {
    // prost decodes an absent required ActorRef as an empty path.
    if r.path.is_empty() {
        return Err(WireError::MissingField {
            message: "SystemMessage",
            field,
        });
    }
    Ok(r.path)
}

impl SystemMessage {
    /// Serializes with serializer 22 (manifest `""`).
    pub fn encode(&self) -> Bytes {
        let watch = |t: Type, watchee: &str, watcher: &str| ps::SystemMessage {
            r#type: t as i32,
            watch_data: Some(ps::WatchData {
                watchee: ActorRef {
                    path: watchee.to_string(),
                },
                watcher: ActorRef {
                    path: watcher.to_string(),
                },
            }),
            ..Default::default()
        };
        let p = match self {
            SystemMessage::Watch { watchee, watcher } => watch(Type::Watch, watchee, watcher),
            SystemMessage::Unwatch { watchee, watcher } => watch(Type::Unwatch, watchee, watcher),
            SystemMessage::DeathWatchNotification {
                actor,
                existence_confirmed,
                address_terminated,
            } => ps::SystemMessage {
                r#type: Type::DeathwatchNotification as i32,
                dw_notification_data: Some(ps::DeathWatchNotificationData {
                    actor: ActorRef {
                        path: actor.clone(),
                    },
                    existence_confirmed: *existence_confirmed,
                    address_terminated: *address_terminated,
                }),
                ..Default::default()
            },
            SystemMessage::Other(p) => p.clone(),
        };
        p.encode_to_vec().into()
    }

    /// Parses a serializer-22 payload.
    pub fn decode(payload: Bytes) -> Result<Self> {
        let p = ps::SystemMessage::decode(payload).map_err(protobuf_err("SystemMessage"))?;
        let t = Type::try_from(p.r#type).map_err(|_| WireError::Protobuf {
            message: "SystemMessage",
            reason: format!("unknown type {}", p.r#type),
        })?;
        Ok(match t {
            Type::Watch | Type::Unwatch => {
                let w = p.watch_data.ok_or(WireError::MissingField {
                    message: "SystemMessage",
                    field: "watchData",
                })?;
                let watchee = aref(w.watchee, "watchData.watchee")?;
                let watcher = aref(w.watcher, "watchData.watcher")?;
                if t == Type::Watch {
                    SystemMessage::Watch { watchee, watcher }
                } else {
                    SystemMessage::Unwatch { watchee, watcher }
                }
            }
            Type::DeathwatchNotification => {
                let d = p.dw_notification_data.ok_or(WireError::MissingField {
                    message: "SystemMessage",
                    field: "dwNotificationData",
                })?;
                SystemMessage::DeathWatchNotification {
                    actor: aref(d.actor, "dwNotificationData.actor")?,
                    existence_confirmed: d.existence_confirmed,
                    address_terminated: d.address_terminated,
                }
            }
            _ => SystemMessage::Other(p),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_layout_matches_spec_prefix() {
        let w = SystemMessage::Watch {
            watchee: "pekko://B@127.0.0.1:25521/user/echo#-1454305470".into(),
            watcher: "pekko://A@127.0.0.1:25520/system/remote-watcher#1811716950".into(),
        };
        let b = w.encode();
        // type = WATCH (6), watchData length 113 (spec section 12.4)
        assert_eq!(&b[..4], &[0x08, 0x06, 0x12, 0x71]);
        assert_eq!(b.len(), 117);
        assert_eq!(SystemMessage::decode(b).unwrap(), w);
    }

    #[test]
    fn dwn_round_trip_and_missing_data() {
        let d = SystemMessage::DeathWatchNotification {
            actor: "pekko://S@h:1/user/a".into(),
            existence_confirmed: false,
            address_terminated: false,
        };
        assert_eq!(SystemMessage::decode(d.encode()).unwrap(), d);
        assert!(SystemMessage::decode(Bytes::from_static(&[0x08, 0x09])).is_err());
        assert!(SystemMessage::decode(Bytes::from_static(&[0x08, 0x2a])).is_err());
    }
}
