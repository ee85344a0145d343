//! Drivers placeholder.

/// Drivers.
pub struct StreamRefs;
