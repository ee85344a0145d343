//! Event-sourced persistence that shares journals with JVM Pekko: typed
//! event-sourced behaviors, journals, snapshot stores and persistence queries.
