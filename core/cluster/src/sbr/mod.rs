//! Split Brain Resolver: Pekko's downing strategies as pure functions of the membership and
//! reachability ([`strategy`]), the stable-after timing and the lease-majority lease as a state
//! machine ([`resolver`]) with a thin lease driver ([`lease`]), and the
//! `pekko.cluster.split-brain-resolver.*` settings ([`settings`]).

pub mod lease;
pub mod resolver;
pub mod settings;
pub mod strategy;

pub use lease::{LeaseDriver, LeaseHandle, LeaseRequest, LeaseResponse};
pub use resolver::{LeaseRelease, SbrAction, SbrEvent, SplitBrainResolver};
pub use settings::{DownAllWhenUnstable, LeaseMajoritySettings, SbrSettings, StrategyName};
pub use strategy::{Decision, SbrView, Strategy};

#[cfg(test)]
mod lease_tests;
