//! A mixed cluster of JVM Pekko `ClusterNode` fixtures and Rekko cluster nodes, every node
//! behind an [`ArteryProxy`] so a test can partition it (for split brain resolver tests).
//!
//! Nodes are named `j*` (JVM) and `r*` (Rekko). Each node's canonical port is a proxy port
//! forwarding to the node's bind port, so traffic between nodes is cut without touching the
//! host's network. Conditions are polled until a deadline; nothing sleeps as synchronisation.
//! The runtime must be tokio's multi-thread one: JVM calls block in place.
//!
//! ```no_run
//! # async fn run() -> Result<(), rekko_interop_tests::HarnessError> {
//! use rekko_interop_tests::cluster_conf::split_brain_conf;
//! use rekko_interop_tests::free_port;
//! use rekko_interop_tests::mixed_cluster::MixedCluster;
//!
//! let names = ["j1", "r1", "r2", "j2", "j3"];
//! let mut ports = Vec::new();
//! for _ in names {
//!     ports.push(free_port()?);
//! }
//! let conf = split_brain_conf("keep-majority", "3s");
//! let mut cluster = MixedCluster::start("partition", &conf, &names, &ports).await?;
//! cluster.await_all_up().await?;
//! cluster.partition(&["j1", "j2", "r1"], &["j3", "r2"]);
//! cluster.await_side_up("majority side", &["j1", "j2", "r1"]).await?;
//! cluster.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hocon_config::Config;
use rekko_cluster::{Address, ClusterNode};
use rekko_remote::{RemoteNode, RemoteSettings};
use tempfile::TempDir;

use crate::artery_proxy::ArteryProxy;
use crate::{free_port, FixtureSpec, HarnessError, JvmNode};

/// The actor system name of every node.
pub const SYSTEM: &str = "ClusterSystem";
/// How long a JVM node may take to answer one command.
pub const ANSWER: Duration = Duration::from_secs(30);
/// How long the cluster may take to reach an expected state.
pub const CONVERGE: Duration = Duration::from_secs(90);

/// `pekko://ClusterSystem@127.0.0.1:<port>`.
pub fn address(port: u16) -> String {
    format!("pekko://{SYSTEM}@127.0.0.1:{port}")
}

/// `MEMBERS a=Up,b=Up` for `addresses`, sorted as the JVM fixture sorts.
pub fn all_up_line(addresses: &[String]) -> String {
    let mut v: Vec<String> = addresses.iter().map(|a| format!("{a}=Up")).collect();
    v.sort();
    format!("MEMBERS {}", v.join(","))
}

/// A Rekko node's members as sorted `address=status` entries.
pub fn member_entries(node: &ClusterNode) -> Vec<String> {
    let mut v: Vec<String> = node
        .members()
        .iter()
        .map(|m| format!("{}={}", m.unique_address.address, m.status))
        .collect();
    v.sort();
    v
}

/// A Rekko node's membership in the JVM fixture's `members` format.
pub fn rekko_view(node: &ClusterNode) -> String {
    format!("MEMBERS {}", member_entries(node).join(","))
}

/// One node: its name and ports.
#[derive(Clone, Copy, Debug)]
struct Plan {
    name: &'static str,
    canonical: u16,
    bind: u16,
}

/// A running mixed cluster behind an [`ArteryProxy`].
pub struct MixedCluster {
    /// The proxy in front of every node.
    pub proxy: ArteryProxy,
    /// The JVM nodes by name.
    pub jvms: BTreeMap<&'static str, JvmNode>,
    /// The Rekko nodes by name.
    pub rekkos: BTreeMap<&'static str, ClusterNode>,
    plans: Vec<Plan>,
    _dir: TempDir,
}

impl MixedCluster {
    /// Starts one node per name of `names` (`j*` a JVM `ClusterNode` fixture named
    /// `<label>-<name>`, `r*` a Rekko node), in that order, with the canonical ports
    /// `canonical` (same order) behind the proxy and a free bind port each. Every node reads
    /// `conf`; the first node is the seed every node joins.
    pub async fn start(
        label: &str,
        conf: &str,
        names: &[&'static str],
        canonical: &[u16],
    ) -> Result<MixedCluster, HarnessError> {
        assert_eq!(names.len(), canonical.len(), "one canonical port per node");
        let mut plans = Vec::new();
        for (name, port) in names.iter().zip(canonical) {
            plans.push(Plan {
                name,
                canonical: *port,
                bind: free_port()?,
            });
        }
        let proxy = ArteryProxy::new();
        for p in &plans {
            proxy.add_node(p.name, p.canonical, p.bind).await?;
        }
        let dir = tempfile::tempdir().map_err(|e| HarnessError::io("temp dir", e))?;
        let seed = address(plans[0].canonical);
        let mut jvms = BTreeMap::new();
        let mut rekkos = BTreeMap::new();
        for plan in &plans {
            if plan.name.starts_with('j') {
                jvms.insert(plan.name, start_jvm(&dir, label, conf, plan, &seed)?);
            } else {
                rekkos.insert(plan.name, start_rekko(conf, plan, &seed).await);
            }
        }
        Ok(MixedCluster {
            proxy,
            jvms,
            rekkos,
            plans,
            _dir: dir,
        })
    }

    /// The canonical address of node `name`.
    pub fn addr_of(&self, name: &str) -> String {
        let plan = self.plans.iter().find(|p| p.name == name);
        address(plan.expect("a node of this cluster").canonical)
    }

    /// Polls until every node lists every node as Up.
    pub async fn await_all_up(&mut self) -> Result<(), HarnessError> {
        let names: Vec<&str> = self.plans.iter().map(|p| p.name).collect();
        self.await_side_up("every node Up", &names).await
    }

    /// Polls until every node of `side` lists exactly the nodes of `side`, all Up (`what`
    /// names the state in the failure message).
    pub async fn await_side_up(&mut self, what: &str, side: &[&str]) -> Result<(), HarnessError> {
        let addresses: Vec<String> = side.iter().map(|n| self.addr_of(n)).collect();
        let expected = all_up_line(&addresses);
        let deadline = Instant::now() + CONVERGE;
        loop {
            let mut views = Vec::new();
            for (_, j) in self.jvms.iter_mut().filter(|(n, _)| side.contains(*n)) {
                views.push(tokio::task::block_in_place(|| {
                    j.request("members", ANSWER)
                })?);
            }
            views.extend(
                self.rekkos
                    .iter()
                    .filter(|(n, _)| side.contains(*n))
                    .map(|(_, r)| rekko_view(r)),
            );
            if views.iter().all(|v| *v == expected) {
                return Ok(());
            }
            assert!(
                Instant::now() < deadline,
                "{what}: expected {expected}, views {views:#?}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Teaches the proxy every node's uid (as the first Rekko node knows the members) and
    /// cuts all traffic between `majority` and `minority`.
    pub fn partition(&self, majority: &[&str], minority: &[&str]) {
        let observer = self.rekkos.values().next().expect("a Rekko node");
        for m in observer.members() {
            let a = m.unique_address.address.to_string();
            let name = self
                .plans
                .iter()
                .find(|p| address(p.canonical) == a)
                .map(|p| p.name)
                .expect("member is one of ours");
            self.proxy.register_uid(m.unique_address.uid as u64, name);
        }
        self.proxy.partition(&[majority, minority]);
        assert!(
            self.proxy.silenced_connections() > 0,
            "no connection crossed the partition: {:?}",
            self.proxy
        );
    }

    /// Polls JVM node `name` until it reports itself Down or Removed; returns that line.
    pub async fn await_jvm_gone(&mut self, name: &str) -> Result<String, HarnessError> {
        let node = self.jvms.get_mut(name).expect("a JVM node of this cluster");
        let deadline = Instant::now() + CONVERGE;
        loop {
            let line = tokio::task::block_in_place(|| node.process().request("self", ANSWER))?;
            if line == "SELF Down" || line == "SELF Removed" {
                return Ok(line);
            }
            assert!(Instant::now() < deadline, "minority JVM node still {line}");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// The log files of every JVM node, concatenated.
    pub fn jvm_logs(&mut self) -> String {
        let mut logs = String::new();
        for j in self.jvms.values_mut() {
            logs.push_str(&std::fs::read_to_string(j.process().log_path()).unwrap_or_default());
        }
        logs
    }

    /// Stops the proxy and the Rekko nodes' remoting (JVM nodes stop when dropped).
    pub async fn shutdown(&self) {
        self.proxy.shutdown();
        for r in self.rekkos.values() {
            r.remote().shutdown().await;
        }
    }
}

fn start_jvm(
    dir: &TempDir,
    label: &str,
    conf: &str,
    plan: &Plan,
    seed: &str,
) -> Result<JvmNode, HarnessError> {
    let path = dir.path().join(format!("{}.conf", plan.name));
    let text = format!("{conf}\npekko.remote.artery.bind.port = {}\n", plan.bind);
    std::fs::write(&path, text).map_err(|e| HarnessError::io("writing node conf", e))?;
    tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.ClusterNode")
                .name(&format!("{label}-{}", plan.name))
                .args(["--system", SYSTEM, "--port", &plan.canonical.to_string()])
                .args(["--seeds", seed])
                .args(["--config".to_string(), path.display().to_string()]),
        )
    })
}

async fn start_rekko(conf: &str, plan: &Plan, seed: &str) -> ClusterNode {
    let mut settings = RemoteSettings::new(SYSTEM, "127.0.0.1", plan.canonical);
    settings.bind_port = Some(plan.bind);
    let remote = RemoteNode::start(settings)
        .await
        .expect("Rekko remoting starts");
    let config = Config::parse_string(conf).expect("config parses");
    let node = ClusterNode::start(remote, &config).expect("Rekko cluster starts");
    node.join_seed_nodes(&[seed.parse::<Address>().expect("seed address")]);
    node
}
