//! Test harness that runs real JVM Pekko fixture nodes next to Rekko nodes.
//!
//! Every wire or semantic claim Rekko makes is checked against a real Pekko node. This crate
//! starts those nodes: it builds the fixture jar from `jvm-fixtures/` once per test run
//! ([`fixture_jar`]), starts fixture main classes as child processes ([`JvmNode`]), waits for
//! their `READY <address>` line, talks to them with line commands on stdin/stdout, keeps their
//! output under `target/interop-logs/`, and kills them when the handle is dropped.
//!
//! Tests begin with [`require_jvm!`]: where `java` or `mvn` is missing the test is skipped with
//! a message, except under `CI=true`, where it fails.
//!
//! ```no_run
//! use rekko_interop_tests::{require_jvm, FixtureSpec, JvmNode};
//! use std::time::Duration;
//!
//! require_jvm!();
//! let mut a = JvmNode::start(FixtureSpec::new("org.rekko.fixtures.EchoNode").name("a"))?;
//! let b = JvmNode::start(FixtureSpec::new("org.rekko.fixtures.EchoNode").name("b"))?;
//! let reply = a.request(&format!("send {}/user/echo hi", b.address()), Duration::from_secs(20))?;
//! assert_eq!(reply, "REPLY hi");
//! # Ok::<(), rekko_interop_tests::HarnessError>(())
//! ```

pub mod artery_proxy;
pub mod cluster_conf;
mod error;
mod jar;
mod keytool;
pub mod logs;
pub mod managed_rekko;
pub mod mixed_cluster;
mod paths;
pub mod persistence_fixture;
mod pki;
mod process;
pub mod remote_events;
mod requirements;
mod tls_exchange;
pub mod typed_node;

pub use error::HarnessError;
pub use jar::{fixture_jar, PekkoVersion};
pub use keytool::{keytool_or_skip, keytool_run, keytool_stores};
pub use logs::init_test_logs;
pub use paths::{free_port, interop_logs_dir, repo_root, write_fixture_conf};
pub use pki::{test_pki, TestPki};
pub use process::{FixtureSpec, JvmNode, LineProcess};
pub use requirements::{jvm_available_or_fail, running_in_ci, Skipped};
pub use tls_exchange::tls_exchange_and_refusal;
