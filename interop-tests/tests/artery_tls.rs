//! `tls-tcp` with a JVM using Pekko's rotating-keys engine (PEM files):
//! mutual TLS in both directions, and a certificate from another CA refused
//! on both sides.

use std::path::Path;
use std::time::Duration;

use rekko_interop_tests::{
    interop_logs_dir, require_jvm, test_pki, FixtureSpec, HarnessError, JvmNode, PekkoVersion,
};
use rekko_remote::{RemoteEvent, RemoteNode, RemoteSettings, TlsSettings};

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
    let mut jvm = tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.EchoNode")
                .name(&format!("artery-tls-{}", version.as_str()))
                .version(version)
                .args(["--system", "JvmTls", "--config", &conf]),
        )
    })?;
    let rust = RemoteNode::start(settings(&good))
        .await
        .expect("start Rekko node");
    rust.register_echo("/user/echo");
    let jvm_echo = format!("{}/user/echo", jvm.address());

    // Rust -> JVM over TLS (Rust is the TLS client), reply JVM -> Rust (JVM
    // is the client).
    let r = rust
        .send_string(&jvm_echo, "tls hello", Some(ANSWER))
        .await
        .expect("ask over TLS")
        .expect("reply");
    assert_eq!(r.message.as_text().as_deref(), Some("tls hello"));
    let rust_echo = format!("{}/user/echo", rust.address());
    let answer = tokio::task::block_in_place(|| {
        jvm.request(&format!("send {rust_echo} tls from jvm"), ANSWER)
    })?;
    assert_eq!(answer, "REPLY tls from jvm");

    // A Rekko node with a certificate from another CA: the JVM refuses it,
    // and it refuses the JVM.
    let mut intruder_settings = settings(&other);
    intruder_settings.handshake.timeout = Duration::from_secs(3);
    let intruder = RemoteNode::start(intruder_settings)
        .await
        .expect("start intruder");
    let mut intruder_events = intruder.subscribe();
    let err = intruder
        .send_string(&jvm_echo, "let me in", Some(Duration::from_secs(3)))
        .await
        .expect_err("the JVM must refuse a foreign certificate")
        .to_string();
    assert!(err.contains("TLS"), "{err}");
    let intruder_echo = format!("{}/user/echo", intruder.address());
    intruder.register_echo("/user/echo");
    let answer =
        tokio::task::block_in_place(|| jvm.request(&format!("send {intruder_echo} hi"), ANSWER))?;
    assert!(answer.starts_with("ERROR"), "{answer}");
    let refused = loop {
        match tokio::time::timeout(ANSWER, intruder_events.recv()).await {
            Ok(Ok(RemoteEvent::InboundConnectionClosed { reason, .. })) => break reason,
            Ok(Ok(_)) => continue,
            other => panic!("the intruder did not refuse the JVM: {other:?}"),
        }
    };
    assert!(refused.contains("TLS"), "{refused}");

    // The good association still works.
    let r = rust
        .send_string(&jvm_echo, "still fine", Some(ANSWER))
        .await
        .expect("ask")
        .expect("reply");
    assert_eq!(r.message.as_text().as_deref(), Some("still fine"));

    intruder.shutdown().await;
    rust.shutdown().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}
