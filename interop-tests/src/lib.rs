//! Test harness that runs real JVM Pekko fixture nodes next to Rekko nodes.
