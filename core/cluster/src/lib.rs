//! Cluster membership compatible with Pekko clusters: the transport-independent heart.
//!
//! This crate holds Pekko's cluster membership protocol as plain types and pure functions
//! (the current time is always passed in):
//!
//! * identities and members: [`Address`], [`UniqueAddress`], [`Member`], [`MemberStatus`];
//! * [`VectorClock`], [`Reachability`], [`Gossip`] with Pekko's merge rules;
//! * [`MembershipState`]: convergence, leader election, leader actions;

//!
//! ```
//! use rekko_cluster::{Address, Gossip, Member, MembershipState, UniqueAddress};
//!
//! let node = UniqueAddress::new(Address::new("ClusterSystem", "127.0.0.1", 2552), 42);
//! let gossip = Gossip::with_members([Member::joining(node.clone(), vec![], "1.0.0")]);
//! let state = MembershipState::new(gossip, node.clone(), "default");
//! assert_eq!(state.leader(), Some(node));
//! ```

pub mod address;
pub mod codec;
pub mod error;
pub mod gossip;
pub mod member;
pub mod membership;
pub mod reachability;
pub mod sbr;
pub mod settings;
pub mod vclock;

pub use address::{Address, UniqueAddress};
pub use error::{ClusterError, Result};
pub use gossip::Gossip;
pub use member::{Member, MemberStatus};
pub use membership::{LeaderActionSettings, MembershipState};
pub use reachability::{Reachability, ReachabilityStatus};
pub use settings::ClusterSettings;
pub use vclock::{VcOrdering, VectorClock};
