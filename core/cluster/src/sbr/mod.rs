//! Split Brain Resolver: Pekko's downing strategies as pure functions of the membership and
//! reachability ([`strategy`]), the stable-after timing as a state machine ([`resolver`]), and
//! the `pekko.cluster.split-brain-resolver.*` settings ([`settings`]).

pub mod resolver;
pub mod settings;
pub mod strategy;

pub use resolver::{SbrAction, SbrEvent, SplitBrainResolver};
pub use settings::{DownAllWhenUnstable, SbrSettings, StrategyName};
pub use strategy::{Decision, SbrView, Strategy};
