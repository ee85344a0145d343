//! Cluster membership compatible with Pekko clusters: the transport-independent heart.
//!
//! This crate holds Pekko's cluster membership protocol as plain types and pure functions
//! (the current time is always passed in):
//!
//! * identities and members: [`Address`], [`UniqueAddress`], [`Member`], [`MemberStatus`];
//! * [`VectorClock`], [`Reachability`], [`Gossip`] with Pekko's merge rules;
//! * [`MembershipState`]: convergence, leader election, leader actions;
//! * [`codec`]: the cluster serializer (id 5) messages and their manifests;
//! * [`sbr`]: split brain resolver decisions and their timing;
//! * [`daemon::ClusterCore`]: the membership core as a sans-I/O state machine (join, gossip,
//!   leave, down, leader actions), with [`ClusterEvent`]s as output;
//! * [`settings`]: `pekko.cluster.*` settings and the bundled `reference.conf`.
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
pub mod daemon;
pub mod error;
pub mod events;
pub mod gossip;
pub mod heartbeat;
pub mod join_config;
pub mod member;
pub mod membership;
pub mod node;
pub mod reachability;
pub mod sbr;
pub mod seed;
pub mod settings;
pub mod vclock;

pub use address::{Address, UniqueAddress};
pub use error::{ClusterError, Result};
pub use events::ClusterEvent;
pub use gossip::Gossip;
pub use member::{Member, MemberStatus};
pub use membership::{LeaderActionSettings, MembershipState};
pub use node::ClusterNode;
pub use reachability::{Reachability, ReachabilityStatus};
pub use settings::ClusterSettings;
pub use vclock::{VcOrdering, VectorClock};
