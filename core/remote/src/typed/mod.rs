//! Location transparency for typed actors: `ActorRef<M>` for remote paths,
//! the typed [`ActorRefResolver`], actor selection with wildcards, and the
//! delivery of inbound messages to the actors of a `rekko-actor` system.
//!
//! A [`RemoteActorRefProvider`] joins a running [`RemoteNode`](crate::RemoteNode)
//! and an actor system (same system name). From then on:
//!
//! * messages from other nodes to `/user/...` paths reach the actors of the
//!   system, decoded by the [`SerializerRegistry`](rekko_actor::remote::SerializerRegistry)
//!   (a message with an unbound serializer id and manifest is dropped with a
//!   warning naming both);
//! * [`ActorRefResolver::resolve_actor_ref`] turns `pekko://Sys@host:port/user/a#uid`
//!   into an `ActorRef<M>`: a local actor, or a ref whose `tell` serializes
//!   with `M`'s [`WireMessage`](rekko_actor::remote::WireMessage) binding and
//!   sends over Artery;
//! * [`ActorRefResolver::to_serialization_format`] renders any ref (local
//!   actor, adapter, ask promise, remote) as the string a JVM resolves with
//!   its own `ActorRefResolver`, and makes it reachable from other nodes;
//! * [`RemoteActorRefProvider::tell_from`] and [`RemoteActorRefProvider::ask`]
//!   send with a sender ref the receiver can reply to;
//! * [`ActorSelection`] sends through a (wildcard) selection on another node
//!   and collects `ActorIdentity` answers.
//!
//! Refs inside messages are written as path strings, as Pekko's Jackson
//! serializer does, with `#[serde(with = "rekko_remote::typed::serde_actor_ref")]`.
//!
//! ```no_run
//! use rekko_actor::remote::SerializerRegistry;
//! use rekko_actor::{ActorRef, ActorSystem, ActorSystemSettings, Behaviors};
//! use rekko_remote::typed::RemoteActorRefProvider;
//! use rekko_remote::{RemoteNode, RemoteSettings};
//! use std::time::Duration;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let system = ActorSystem::new(Behaviors::ignore::<String>(), "Rekko", ActorSystemSettings::default())?;
//! let node = RemoteNode::start(RemoteSettings::new("Rekko", "127.0.0.1", 25520)).await?;
//! let registry = SerializerRegistry::new();
//! registry.bind::<String>("");
//! let provider = RemoteActorRefProvider::new(&node, system.handle(), registry)?;
//! let echo: ActorRef<String> = provider
//!     .resolver()
//!     .resolve_actor_ref("pekko://Jvm@127.0.0.1:25521/user/echo")?;
//! echo.tell("fire and forget".to_string());
//! let reply: String = provider
//!     .ask(&echo, |_reply_to: ActorRef<String>| "hello".to_string(), Duration::from_secs(3))
//!     .await?;
//! # let _ = reply; Ok(()) }
//! ```

mod error;
mod provider;
mod refs;
mod resolver;
mod selection;
pub mod serde_actor_ref;

pub use error::RefError;
pub use provider::RemoteActorRefProvider;
pub use resolver::ActorRefResolver;
pub use selection::{ActorIdentity, ActorSelection, Identities};
