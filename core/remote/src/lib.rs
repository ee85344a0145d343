//! Artery TCP and TLS transport drivers: associations, remote actor refs and
//! remote death watch, interoperable with JVM Pekko nodes.
//!
//! The protocol logic lives in the sans-I/O `artery-wire` crate; this crate
//! holds the thin tokio drivers around it.
