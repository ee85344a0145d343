//! A Rekko cluster member with its management HTTP endpoint, as the management tests start it.

use std::sync::Arc;

use hocon_config::Config;
use rekko_cluster::ClusterNode;
use rekko_management::{ManagementServer, ManagementSettings};
use rekko_remote::{RemoteNode, RemoteSettings};

/// Starts remoting for `system` on 127.0.0.1:`port`, a cluster node with the `pekko.cluster`
/// settings of `config`, and the management endpoint bound by its `pekko.management.http` keys.
/// Panics when any of them cannot start: the calling test cannot go on without it.
pub async fn start_managed_rekko(
    system: &str,
    port: u16,
    config: &str,
) -> (ClusterNode, ManagementServer) {
    let remote = RemoteNode::start(RemoteSettings::new(system, "127.0.0.1", port))
        .await
        .expect("Rekko remoting starts");
    let config = Config::parse_string(config).expect("config parses");
    let cluster = ClusterNode::start(remote, &config).expect("Rekko cluster starts");
    let settings = ManagementSettings::from_config(&config).expect("management settings");
    let server = ManagementServer::start(settings, Arc::new(cluster.clone()))
        .await
        .expect("management endpoint binds");
    (cluster, server)
}
