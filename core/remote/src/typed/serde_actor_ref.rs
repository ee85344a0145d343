//! Refs inside serde messages, written as path strings like Pekko's Jackson
//! serializer writes `ActorRef` fields:
//!
//! ```
//! use rekko_actor::ActorRef;
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Hello {
//!     text: String,
//!     #[serde(rename = "replyTo", with = "rekko_remote::typed::serde_actor_ref")]
//!     reply_to: ActorRef<String>,
//! }
//! ```
//!
//! Serializing and deserializing needs the [`ActorRefResolver`] of the
//! node: refs sent or received through the typed API have it set
//! ([`ActorRefResolver::with_current`]); elsewhere it is an error.

use rekko_actor::remote::WireMessage;
use rekko_actor::ActorRef;
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

use super::resolver::ActorRefResolver;

const NO_RESOLVER: &str =
    "an ActorRef field needs the node's ActorRefResolver (ActorRefResolver::with_current)";

/// Writes `r` as its [`ActorRefResolver::to_serialization_format`] string.
pub fn serialize<M: Send + 'static, S: Serializer>(
    r: &ActorRef<M>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match ActorRefResolver::current() {
        Some(res) => s.serialize_str(&res.to_serialization_format(r)),
        None => Err(S::Error::custom(NO_RESOLVER)),
    }
}

/// Reads a path string and resolves it with [`ActorRefResolver::resolve_actor_ref`].
pub fn deserialize<'de, M: WireMessage, D: Deserializer<'de>>(
    d: D,
) -> Result<ActorRef<M>, D::Error> {
    let s = String::deserialize(d)?;
    let res = ActorRefResolver::current().ok_or_else(|| D::Error::custom(NO_RESOLVER))?;
    res.resolve_actor_ref::<M>(&s).map_err(D::Error::custom)
}
