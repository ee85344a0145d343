//! HOCON parser and `Config` API behaving like Lightbend config 1.4.x,
//! the configuration library Pekko ships.
//!
//! Rekko reads the same `application.conf` a JVM Pekko service uses; any
//! difference from Lightbend config is a bug.
