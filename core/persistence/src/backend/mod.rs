//! Journal and snapshot store backends.

pub mod inmem;
pub mod legacy;
pub(crate) mod shared;
pub mod sql;
