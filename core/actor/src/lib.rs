//! Typed actor runtime with Pekko's semantics: actor system, behaviors,
//! supervision, timers, stash, scheduler, event stream and coordinated shutdown.
