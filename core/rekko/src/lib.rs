//! Rekko: a Rust actor runtime wire-compatible with Apache Pekko.
//!
//! This facade crate re-exports the runtime crates; the `rekko` binary runs
//! nodes and offers configuration and diagnostic tools.

pub use hocon_config as config;
pub use rekko_actor as actor;
pub use rekko_cluster as cluster;
pub use rekko_persistence as persistence;
pub use rekko_remote as remote;
pub use rekko_stream as stream;

mod references;

pub use references::bundled_references;
