//! `tls-tcp` with a JVM using Pekko's rotating-keys engine (PEM files):
//! mutual TLS in both directions, and a certificate from another CA refused
//! on both sides.

use std::path::Path;
use std::time::Duration;

use rekko_interop_tests::{
    interop_logs_dir, require_jvm, test_pki, tls_exchange_and_refusal, FixtureSpec, HarnessError,
    JvmNode, PekkoVersion,
};
use rekko_remote::{RemoteSettings, TlsSettings};

const ANSWER: Duration = Duration::from_secs(30);

/// A CA and one node certificate (CN and SAN `name`) signed by it, as TLS settings.
fn pki(dir: &Path, name: &str) -> TlsSettings {
    test_pki(dir, name)
        .expect("test certificates are created with openssl")
        .tls_settings()
}

fn jvm_conf(dir: &Path, pki: &TlsSettings) -> String {
    let conf = dir.join("jvm-tls.conf");
    std::fs::write(
        &conf,
        format!(
            "pekko.remote.artery {{\n  transport = tls-tcp\n  ssl {{\n    \
             ssl-engine-provider = \"org.apache.pekko.remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider\"\n    \
             rotating-keys-engine {{\n      key-file = \"{}\"\n      cert-file = \"{}\"\n      ca-cert-file = \"{}\"\n    }}\n  }}\n}}\n",
            pki.key_file.display(),
            pki.cert_file.display(),
            pki.ca_cert_file.display()
        ),
    )
    .expect("write jvm conf");
    conf.display().to_string()
}

fn settings(pki: &TlsSettings) -> RemoteSettings {
    let mut s = RemoteSettings::new("RekkoTls", "127.0.0.1", 0);
    s.tls = Some(pki.clone());
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_with_pekko_1_7() -> Result<(), HarnessError> {
    require_jvm!();
    mutual_tls(PekkoVersion::V1_7_0).await
}

/// Pekko 1.0.3's rotating-keys engine defaults to TLS 1.2 with
/// `TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`, which rustls also speaks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_with_pekko_1_0_3() -> Result<(), HarnessError> {
    require_jvm!();
    mutual_tls(PekkoVersion::V1_0_3).await
}

async fn mutual_tls(version: PekkoVersion) -> Result<(), HarnessError> {
    let dir = interop_logs_dir()?.join(format!(
        "artery-tls-{}-{}",
        version.as_str(),
        std::process::id()
    ));
    let good = pki(&dir.join("good"), "rekko-cluster");
    let other = pki(&dir.join("other"), "rekko-cluster");
    let conf = jvm_conf(&dir, &good);
    let jvm = tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.EchoNode")
                .name(&format!("artery-tls-{}", version.as_str()))
                .version(version)
                .args(["--system", "JvmTls", "--config", &conf]),
        )
    })?;
    tls_exchange_and_refusal(jvm, settings(&good), settings(&other), ANSWER).await
}
