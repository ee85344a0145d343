//! Pekko-style streams: `Source`, `Flow` and `Sink` blueprints with
//! demand-driven back-pressure, built on async Rust.
