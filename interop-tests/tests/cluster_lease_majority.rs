//! lease-majority across runtimes: a mixed cluster (3 JVM Pekko 1.7.0 nodes and 2 Rekko
//! nodes) shares one lease, a file both runtimes implement (`org.rekko.fixtures.FileLease` on
//! the JVM, [`FileLease`] below registered under the same `lease-class` in Rekko). The cluster
//! is partitioned 3 + 2; the side whose leader acquires the lease keeps its members and downs
//! the other side, the other side's leader fails to acquire it and downs its own side. Every
//! node, JVM and Rekko, agrees; the lease file names the surviving leader.
//!
//! Two runs: a Rekko leader on the majority side against a JVM leader on the minority side,
//! and a JVM majority leader against a Rekko minority leader. The leaders are chosen by port
//! order (Pekko's leader is the reachable member with the lowest address).
//!
//! The cluster is a [`MixedCluster`]: every node's canonical port is an `ArteryProxy` port
//! forwarding to the node's bind port, so the test cuts traffic between nodes without touching
//! the host's network. Conditions are polled until a deadline; nothing sleeps as
//! synchronisation.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rekko_cluster::MemberStatus;
use rekko_coordination::{
    CoordinationError, Lease, LeaseLostCallback, LeaseProvider, LeaseSettings,
};
use rekko_interop_tests::cluster_conf::split_brain_conf;
use rekko_interop_tests::logs::{capture_logs, captured_log};
use rekko_interop_tests::mixed_cluster::{MixedCluster, CONVERGE};
use rekko_interop_tests::{free_port, require_jvm, HarnessError};

/// The JVM fixture's class, and the name the Rust implementation is registered under.
const FILE_LEASE_CLASS: &str = "org.rekko.fixtures.FileLease";
/// Pekko's default lease name: `<actor-system-name>-pekko-sbr`.
const LEASE_NAME: &str = "ClusterSystem-pekko-sbr";

/// The JVM `FileLease` in Rust: the lease is the file `<directory>/<lease-name>` holding the
/// owner's name, created atomically by hard-linking a temporary file to it.
#[derive(Debug)]
struct FileLease {
    settings: LeaseSettings,
    directory: PathBuf,
    file: PathBuf,
}

impl FileLease {
    fn new(settings: LeaseSettings) -> Result<FileLease, CoordinationError> {
        let directory = PathBuf::from(settings.lease_config.get_string("directory")?);
        let file = directory.join(&settings.lease_name);
        Ok(FileLease {
            settings,
            directory,
            file,
        })
    }

    fn error(&self, operation: &str, e: std::io::Error) -> CoordinationError {
        CoordinationError::Lease {
            lease_name: self.settings.lease_name.clone(),
            message: format!(
                "file lease {}: {operation} failed: {e}",
                self.file.display()
            ),
        }
    }

    fn owned_by_me(&self) -> std::io::Result<bool> {
        match std::fs::read_to_string(&self.file) {
            Ok(owner) => Ok(owner == self.settings.owner_name),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn try_acquire(&self) -> std::io::Result<bool> {
        if self.owned_by_me()? {
            return Ok(true);
        }
        std::fs::create_dir_all(&self.directory)?;
        let tmp = self.directory.join(format!(
            ".{}.{}.tmp",
            self.settings.lease_name,
            uuid::Uuid::new_v4()
        ));
        std::fs::write(&tmp, &self.settings.owner_name)?;
        let linked = std::fs::hard_link(&tmp, &self.file);
        std::fs::remove_file(&tmp)?;
        match linked {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => self.owned_by_me(),
            Err(e) => Err(e),
        }
    }
}

#[rekko_coordination::async_trait]
impl Lease for FileLease {
    fn settings(&self) -> &LeaseSettings {
        &self.settings
    }

    async fn acquire_with_lost_callback(
        &self,
        _on_lost: LeaseLostCallback,
    ) -> rekko_coordination::Result<bool> {
        // The file never expires, so a held lease is never lost.
        self.try_acquire().map_err(|e| self.error("acquire", e))
    }

    async fn release(&self) -> rekko_coordination::Result<bool> {
        if !self.owned_by_me().map_err(|e| self.error("release", e))? {
            return Ok(false);
        }
        std::fs::remove_file(&self.file).map_err(|e| self.error("release", e))?;
        Ok(true)
    }

    fn check_lease(&self) -> bool {
        self.owned_by_me().unwrap_or(false)
    }
}

fn register_file_lease() {
    LeaseProvider::global().register(FILE_LEASE_CLASS, |settings| {
        Ok(Arc::new(FileLease::new(settings)?) as Arc<dyn Lease>)
    });
}

/// Settings shared by every node (JVM and Rekko): lease-majority with the file lease in
/// `lease_dir`, short stable-after. The minority waits 3s before trying the lease, so the
/// majority's leader gets it even when it notices the partition a little later (both
/// runtimes decide on one-second ticks). down-all-when-unstable is 15s: its default here
/// (4s, counted from the first unreachability) would make the minority's other nodes down
/// everything before their leader's delayed attempt, as it would in Pekko. The lease is kept
/// 60s after the downed members were removed, longer than the test looks at it.
fn cluster_conf(lease_dir: &Path) -> String {
    format!(
        r#"{}
pekko.cluster.split-brain-resolver.down-all-when-unstable = 15s
pekko.cluster.split-brain-resolver.lease-majority {{
  lease-implementation = "rekko-test-file-lease"
  acquire-lease-delay-for-minority = 3s
  release-after = 60s
}}
rekko-test-file-lease {{
  lease-class = "{FILE_LEASE_CLASS}"
  directory = "{}"
}}
"#,
        split_brain_conf("lease-majority", "3s"),
        lease_dir.display()
    )
}

/// Which runtime leads the majority side (and so holds the lease); the other runtime leads
/// the minority side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Holder {
    Rekko,
    Jvm,
}

/// The cluster runs one scenario at a time: five nodes each are enough for two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn partition_with_lease(holder: Holder) -> Result<(), HarnessError> {
    let _turn = ONE_AT_A_TIME.lock().await;
    capture_logs();
    // Only this run's Rekko log lines count (the other run shares the process).
    let log_start = captured_log().len();
    register_file_lease();
    // j* are JVM nodes, r* Rekko nodes; listed in port order, so the first of each side is
    // that side's leader after the partition.
    let (majority, minority): ([&str; 3], [&str; 2]) = match holder {
        Holder::Rekko => (["r1", "j1", "j2"], ["j3", "r2"]),
        Holder::Jvm => (["j1", "r1", "j2"], ["r2", "j3"]),
    };
    let order = [
        majority[0],
        minority[0],
        majority[1],
        majority[2],
        minority[1],
    ];
    let mut canonical: Vec<u16> = (0..5).map(|_| free_port()).collect::<Result<_, _>>()?;
    canonical.sort_unstable();
    let dir = tempfile::tempdir().map_err(|e| HarnessError::io("temp dir", e))?;
    let lease_dir = dir.path().join("leases");
    let conf = cluster_conf(&lease_dir);
    // The first node (the first seed) has the lowest address: the leader of the whole cluster.
    let mut cluster = MixedCluster::start("lease-majority", &conf, &order, &canonical).await?;
    cluster.await_all_up().await?;
    cluster.partition(&majority, &minority);

    // The majority side removes the minority; its JVM and Rekko members agree.
    cluster
        .await_side_up("majority side after the partition", &majority)
        .await?;
    // The lease file names the majority side's leader.
    let lease_file = lease_dir.join(LEASE_NAME);
    let owner = std::fs::read_to_string(&lease_file)
        .map_err(|e| HarnessError::io("reading the lease file", e))?;
    let leader = cluster.addr_of(majority[0]);
    assert_eq!(
        format!("pekko://{owner}"),
        leader,
        "the lease is held by the majority leader {}",
        majority[0]
    );

    // The minority side downed itself: its Rekko node shut its cluster down ...
    let minority_rekko = minority
        .iter()
        .find(|n| n.starts_with('r'))
        .expect("a Rekko node");
    tokio::time::timeout(CONVERGE, cluster.rekkos[minority_rekko].terminated())
        .await
        .expect("the minority Rekko node stops");
    // ... and its JVM node took or received the same decision.
    let minority_jvm = minority
        .iter()
        .find(|n| n.starts_with('j'))
        .expect("a JVM node");
    let state = cluster.await_jvm_gone(minority_jvm).await?;
    eprintln!("minority JVM node {minority_jvm}: {state}");

    // Both leaders logged their lease decisions with Pekko's words.
    let mut logs = captured_log()
        .get(log_start..)
        .unwrap_or_default()
        .to_string();
    logs.push_str(&cluster.jvm_logs());
    let line = |needles: &[&str]| {
        logs.lines()
            .find(|l| needles.iter().all(|n| l.contains(n)))
            .map(str::to_string)
    };
    let minority_addrs: Vec<String> = minority.iter().map(|n| cluster.addr_of(n)).collect();
    let downs_minority = |l: &str| minority_addrs.iter().all(|a| l.contains(a.as_str()));
    let acquired = logs
        .lines()
        .find(|l| {
            l.contains("SBR took decision AcquireLeaseAndDownUnreachable(") && downs_minority(l)
        })
        .map(str::to_string)
        .expect("the majority leader's AcquireLeaseAndDownUnreachable decision");
    line(&["SBR acquired lease for decision"]).expect("the majority leader acquired the lease");
    let reversed = line(&["SBR couldn't acquire lease, reverse decision"])
        .expect("the minority leader could not acquire the lease");
    let downed_itself = logs
        .lines()
        .find(|l| {
            l.contains("SBR took decision DownReachable and is downing")
                && l.contains("including myself")
                && downs_minority(l)
        })
        .map(str::to_string)
        .expect("the minority leader's DownReachable decision");
    eprintln!("majority: {acquired}\nminority: {reversed}\n          {downed_itself}");
    assert_eq!(
        cluster.rekkos["r1"].self_member().map(|m| m.status),
        Some(MemberStatus::Up),
        "the majority Rekko node is still Up"
    );

    cluster.shutdown().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rekko_majority_leader_holds_the_lease_and_the_jvm_minority_downs_itself(
) -> Result<(), HarnessError> {
    require_jvm!();
    partition_with_lease(Holder::Rekko).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jvm_majority_leader_holds_the_lease_and_the_rekko_minority_downs_itself(
) -> Result<(), HarnessError> {
    require_jvm!();
    partition_with_lease(Holder::Jvm).await
}
