//! Journal and snapshot store backends.

pub mod inmem;
pub mod legacy;
pub mod sql;
