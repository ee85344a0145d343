//! Management HTTP compatible with Pekko Management's cluster HTTP routes and health checks.
//!
//! Tools written for Pekko Management (scripts, Kubernetes probes, dashboards) work unchanged
//! against a Rekko node:
//!
//! | Request | Answer |
//! |---|---|
//! | `GET /cluster/members` | cluster status: `selfNode`, `members`, `unreachable`, `leader`, `oldest`, `oldestPerRole` |
//! | `GET /cluster/members/{address}` | one member, or 404 `{"message":"Member [<address>] not found"}` |
//! | `PUT /cluster/members/{address}` form `operation=Leave\|Down` | `{"message":"Leaving <a>"}` / `{"message":"Downing <a>"}`; other operations 400 |
//! | `DELETE /cluster/members/{address}` | leave, `{"message":"Leaving <a>"}` |
//! | `POST /cluster/members` form `address=<a>` | join, `{"message":"Joining <a>"}` |
//! | `PUT /cluster` form `operation=prepare-for-full-shutdown` | starts a full cluster shutdown ([`ManagedCluster::prepare_for_full_cluster_shutdown`]), `{"message":"Preparing for full cluster shutdown"}`; other operations 400 `{"message":"Operation not supported"}` |
//! | `GET /cluster/shards`, `/cluster/shards/{name}` | `{"entityTypeKeys":[]}`, 404 `{"message":"Shard Region <name> is not started"}` (no sharding) |
//! | `GET /cluster/domain-events[?type=T...]` | cluster events (and role leaders) as server-sent events, written as Pekko HTTP writes them |
//! | `GET /ready`, `/alive`, `/startup` | 200 `OK`, or 500 `Not Healthy: Check [<class>] not ok` |
//!
//! Mutating routes are served only with `pekko.management.http.route-providers-read-only =
//! false`, as in Pekko Management (the default is read-only: 405 for PUT, POST and DELETE under
//! `/cluster/members`). JSON keys are in name order, as Pekko Management (spray JSON) writes
//! them. The interop test `management_routes` compares every answer with a JVM node; see
//! `docs/management.md`.
//! The endpoint is bound by the `pekko.management.http.*` keys ([`ManagementSettings`]).
//!
//! Layout: [`settings`] reads the keys, [`model`] computes the JSON documents from a
//! [`rekko_cluster::MembershipState`], [`routes`] maps a request to a reply (pure), and
//! [`server`] is the thin axum driver.
//!
//! ```no_run
//! # async fn demo(cluster: rekko_cluster::ClusterNode, config: hocon_config::Config)
//! #     -> rekko_management::Result<()> {
//! use std::sync::Arc;
//! use rekko_management::{ManagementServer, ManagementSettings};
//!
//! let settings = ManagementSettings::from_config(&config)?;
//! let server = ManagementServer::start(settings, Arc::new(cluster)).await?;
//! println!("management at {}", server.base_uri());
//! # Ok(()) }
//! ```

pub mod error;
pub mod events;
pub mod model;
pub mod routes;
pub mod server;
pub mod settings;

pub use error::{ManagementError, Result};
pub use model::{
    ClusterMember, ClusterMembers, ClusterUnreachableMember, ManagementMessage, ShardEntityTypeKeys,
};
pub use routes::{handle, ManagedCluster, Reply, Request};
pub use server::ManagementServer;
pub use settings::{is_configured, ManagementSettings, REFERENCE_CONF};
