//! `rekko node`: runs a cluster node from a Pekko `application.conf` (remoting and joining
//! through its seed nodes), prints `READY <address>` once remoting is up, reports membership
//! changes on stderr as Pekko logs them, and leaves the cluster gracefully on SIGTERM or
//! Ctrl-C (exit status 0 once the exit is confirmed).
//!
//! Management HTTP: a Pekko application serves Pekko Management only when it starts it
//! (`PekkoManagement(system).start()`), and an application that does so configures it under
//! `pekko.management.http`. `rekko node` therefore starts the management endpoint (cluster
//! routes and health checks, `rekko-management`) when the configuration sets any
//! `pekko.management.http.*` key, with Pekko Management's defaults for the keys it leaves out.
//! The embedded default configuration sets it on `127.0.0.1:7626`.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use hocon_config::{Config, Loader};
use rekko::bundled_references;
use rekko_cluster::{ClusterEvent, ClusterNode};
use rekko_management::{ManagementServer, ManagementSettings};
use rekko_remote::{RemoteNode, RemoteSettings};

use super::config_resolve::located;
use super::FAILED;
use crate::cli::NodeArgs;

/// The embedded default configuration (a one-node cluster on 127.0.0.1).
const DEFAULT_CONF: &str = include_str!("../node.conf");
/// The system name when neither `rekko.node.system-name` nor a seed node names one.
const DEFAULT_SYSTEM: &str = "ClusterSystem";
/// How long a graceful leave may take before the node stops anyway.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the node until it leaves, is removed or downed.
pub fn run(args: &NodeArgs) -> ExitCode {
    tracing::debug!("rekko node: process started");
    let config = match load(args.config.as_deref()) {
        Ok(c) => c,
        Err(message) => return fail(&message),
    };
    tracing::debug!("rekko node: configuration loaded");
    let system = system_name(&config);
    let settings = match RemoteSettings::from_config(&system, &config) {
        Ok(s) => s,
        Err(e) => return fail(&format!("remote settings: {e}")),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(&format!("starting the runtime: {e}")),
    };
    match runtime.block_on(run_node(settings, config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

fn load(file: Option<&Path>) -> Result<Config, String> {
    let loader = Loader::new().references(&bundled_references());
    match file {
        Some(file) => loader
            .load_file(file)
            .map_err(|e| located(&e, &file.display().to_string())),
        None => {
            let embedded = Config::parse_string(DEFAULT_CONF)
                .map_err(|e| format!("embedded node.conf: {e}"))?;
            loader
                .load(&embedded)
                .map_err(|e| format!("embedded node.conf: {e}"))
        }
    }
}

/// `rekko.node.system-name`, else the system of the first seed node, else `ClusterSystem`.
fn system_name(config: &Config) -> String {
    if let Ok(name) = config.get_string("rekko.node.system-name") {
        return name;
    }
    config
        .get::<Vec<String>>("pekko.cluster.seed-nodes")
        .ok()
        .and_then(|seeds| seeds.first().cloned())
        .and_then(|s| s.parse::<rekko_cluster::Address>().ok())
        .map(|a| a.system)
        .unwrap_or_else(|| DEFAULT_SYSTEM.to_string())
}

async fn run_node(settings: RemoteSettings, config: Config) -> Result<(), String> {
    let remote = RemoteNode::start(settings)
        .await
        .map_err(|e| format!("starting remoting: {e}"))?;
    tracing::debug!("rekko node: transport bound at {}", remote.address());
    let cluster = ClusterNode::start(remote.clone(), &config)
        .map_err(|e| format!("starting the cluster extension: {e}"))?;
    let me = cluster.self_address().clone();
    let management = start_management(&config, &cluster, &me).await?;
    let mut events = cluster.subscribe();
    cluster
        .join_configured_seed_nodes()
        .map_err(|e| format!("pekko.cluster.seed-nodes: {e}"))?;
    if cluster
        .configured_seed_nodes()
        .map_or(true, |s| s.is_empty())
    {
        eprintln!(
            "[INFO] Cluster Node [{me}] - No seed-nodes configured, manual cluster join required"
        );
    }
    println!("READY {me}");
    let _ = std::io::stdout().flush();

    let reporter = {
        let me = me.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(e) => report(&me, &e),
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        })
    };
    tokio::select! {
        _ = shutdown_signal() => {
            eprintln!("[INFO] Cluster Node [{me}] - Received shutdown signal; leaving the cluster");
            if !cluster.leave_gracefully(LEAVE_TIMEOUT).await {
                eprintln!("[WARN] Cluster Node [{me}] - Leaving did not complete within {LEAVE_TIMEOUT:?}");
            }
        }
        _ = cluster.terminated() => {}
    }
    // Let the reporter print what is already queued, then stop it.
    tokio::task::yield_now().await;
    reporter.abort();
    if let Some(m) = management {
        m.stop().await;
    }
    cluster.stop();
    remote.shutdown().await;
    eprintln!("[INFO] Cluster Node [{me}] - Stopped");
    Ok(())
}

/// Starts the management HTTP endpoint when the configuration sets `pekko.management.http`.
/// Invalid settings stop the node; a failed bind is logged and the node runs without it, as a
/// Pekko application whose `PekkoManagement.start()` future failed.
async fn start_management(
    config: &Config,
    cluster: &ClusterNode,
    me: &rekko_cluster::Address,
) -> Result<Option<ManagementServer>, String> {
    if !rekko_management::is_configured(config) {
        return Ok(None);
    }
    let settings =
        ManagementSettings::from_config(config).map_err(|e| format!("management settings: {e}"))?;
    let bind = format!("{}:{}", settings.bind_hostname, settings.bind_port);
    match ManagementServer::start(settings, Arc::new(cluster.clone())).await {
        Ok(server) => {
            eprintln!(
                "[INFO] Cluster Node [{me}] - Bound Pekko Management (HTTP) endpoint to: {}:{} ({})",
                server.local_addr().ip(),
                server.local_addr().port(),
                server.base_uri()
            );
            Ok(Some(server))
        }
        Err(e) => {
            eprintln!("[ERROR] Cluster Node [{me}] - Failed to start Pekko Management HTTP endpoint at {bind}: {e}");
            Ok(None)
        }
    }
}

/// One stderr line per membership change, worded as Pekko logs them.
fn report(me: &rekko_cluster::Address, e: &ClusterEvent) {
    let line = match e {
        ClusterEvent::MemberJoined(m) => format!("Node [{}] is JOINING", m.unique_address.address),
        ClusterEvent::MemberWeaklyUp(m) => {
            format!("Member is WeaklyUp: [{}]", m.unique_address.address)
        }
        ClusterEvent::MemberUp(m) => format!("Member is Up: [{}]", m.unique_address.address),
        ClusterEvent::MemberLeft(m) => {
            format!("Member is Leaving: [{}]", m.unique_address.address)
        }
        ClusterEvent::MemberExited(m) => {
            format!("Member is Exiting: [{}]", m.unique_address.address)
        }
        ClusterEvent::MemberDowned(m) => format!("Member is Down: [{}]", m.unique_address.address),
        ClusterEvent::MemberPreparingForShutdown(m) => format!(
            "Member is PreparingForShutdown: [{}]",
            m.unique_address.address
        ),
        ClusterEvent::MemberReadyForShutdown(m) => {
            format!("Member is ReadyForShutdown: [{}]", m.unique_address.address)
        }
        ClusterEvent::MemberRemoved { member, .. } => {
            format!("Member removed: [{}]", member.unique_address.address)
        }
        ClusterEvent::UnreachableMember(m) => {
            format!("Marking node as UNREACHABLE [{}]", m.unique_address.address)
        }
        ClusterEvent::ReachableMember(m) => {
            format!("Marking node as REACHABLE [{}]", m.unique_address.address)
        }
        ClusterEvent::LeaderChanged(Some(l)) => format!("Leader is [{l}]"),
        ClusterEvent::LeaderChanged(None) => "No leader".to_string(),
        ClusterEvent::SeenChanged(_)
        | ClusterEvent::ReachabilityChanged(_)
        | ClusterEvent::SelfUp(_)
        | ClusterEvent::SelfRemoved { .. } => return,
    };
    eprintln!("[INFO] Cluster Node [{me}] - {line}");
}

#[cfg(unix)]
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

fn fail(message: &str) -> ExitCode {
    eprintln!("rekko node: {message}");
    ExitCode::from(FAILED)
}

#[cfg(test)]
mod tests {
    use super::{load, system_name};

    #[test]
    fn embedded_default_is_a_one_node_cluster_on_localhost() {
        let c = load(None).expect("embedded config loads");
        assert_eq!(system_name(&c), "ClusterSystem");
        let s = rekko_cluster::ClusterSettings::from_config(&c).expect("cluster settings");
        assert_eq!(s.seed_nodes, vec!["pekko://ClusterSystem@127.0.0.1:25520"]);
        assert!(s.sbr_enabled());
    }

    #[test]
    fn embedded_default_serves_management_on_localhost_7626() {
        let c = load(None).expect("embedded config loads");
        assert!(rekko_management::is_configured(&c));
        let m = rekko_management::ManagementSettings::from_config(&c).expect("management settings");
        assert_eq!((m.bind_hostname.as_str(), m.bind_port), ("127.0.0.1", 7626));
        assert!(m.read_only);
    }

    #[test]
    fn management_is_off_when_the_config_does_not_set_it() {
        let c =
            hocon_config::Config::parse_string("pekko.actor.provider = cluster").expect("parses");
        assert!(!rekko_management::is_configured(&c));
    }
}
