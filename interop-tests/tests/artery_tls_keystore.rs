//! `tls-tcp` with a JVM using Pekko's default `ConfigSSLEngineProvider`:
//! both sides read the same PKCS12 key store and trust store (made with the
//! JDK's `keytool` at test time) from `ssl.config-ssl-engine`, and exchange
//! tell/ask both ways; a Rekko node whose trust store does not hold the
//! cluster certificate fails the handshake both ways with a TLS error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hocon_config::Config;
use rekko_interop_tests::{
    interop_logs_dir, keytool_or_skip, keytool_stores, require_jvm, FixtureSpec, HarnessError,
    JvmNode, PekkoVersion,
};
use rekko_remote::{RemoteEvent, RemoteNode, RemoteSettings};

const ANSWER: Duration = Duration::from_secs(30);
const PASSWORD: &str = "changeit";

/// `<name>.p12`: a PKCS12 key store with a self-signed RSA key pair for
/// `CN=<name>`; `<name>-trust.p12`: a PKCS12 trust store with its
/// certificate.
fn stores(keytool: &Path, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    keytool_stores(keytool, dir, name, "PKCS12", PASSWORD).expect("keytool makes the stores")
}

/// The `pekko.remote.artery` block both sides read: tls-tcp with the default
/// provider and `config-ssl-engine` pointing at the stores.
fn artery_conf(ks: &Path, ts: &Path, extra: &str) -> String {
    format!(
        "pekko.remote.artery {{\n  transport = tls-tcp\n  ssl.config-ssl-engine {{\n    \
         key-store = \"{}\"\n    trust-store = \"{}\"\n    key-store-password = {PASSWORD}\n    \
         key-password = {PASSWORD}\n    trust-store-password = {PASSWORD}\n    {extra}\n  }}\n}}\n",
        ks.display(),
        ts.display()
    )
}

fn rekko_settings(name: &str, ks: &Path, ts: &Path, extra: &str) -> RemoteSettings {
    let conf = format!(
        "{}pekko.remote.artery.canonical {{ hostname = 127.0.0.1, port = 0 }}\n",
        artery_conf(ks, ts, extra)
    );
    let c = Config::parse_string(&conf).expect("parse Rekko config");
    RemoteSettings::from_config(name, &c).expect("read Rekko settings")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_ssl_engine_with_pekko_1_7() -> Result<(), HarnessError> {
    require_jvm!();
    exchange(PekkoVersion::V1_7_0, "").await
}

/// Pekko 1.0.3's defaults (TLSv1.2 with DHE and CBC suites) are not spoken by
/// rustls; both sides choose TLSv1.2 with an ECDHE-RSA GCM suite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_ssl_engine_with_pekko_1_0_3() -> Result<(), HarnessError> {
    require_jvm!();
    exchange(
        PekkoVersion::V1_0_3,
        "protocol = TLSv1.2\n    enabled-algorithms = [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]",
    )
    .await
}

async fn exchange(version: PekkoVersion, extra: &str) -> Result<(), HarnessError> {
    let dir = interop_logs_dir()?.join(format!(
        "artery-tls-keystore-{}-{}",
        version.as_str(),
        std::process::id()
    ));
    let Some(kt) = keytool_or_skip("artery_tls_keystore") else {
        return Ok(());
    };
    let (ks, ts) = stores(&kt, &dir, "rekko-cluster");
    let (_, foreign_ts) = stores(&kt, &dir, "foreign");
    let conf = dir.join("jvm-tls-keystore.conf");
    std::fs::write(&conf, artery_conf(&ks, &ts, extra)).expect("write JVM config");
    let conf = conf.display().to_string();
    let mut jvm = tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.EchoNode")
                .name(&format!("artery-tls-keystore-{}", version.as_str()))
                .version(version)
                .args(["--system", "JvmTlsKs", "--config", &conf]),
        )
    })?;
    let rust = RemoteNode::start(rekko_settings("RekkoTlsKs", &ks, &ts, extra))
        .await
        .expect("start Rekko node");
    rust.register_echo("/user/echo");
    let jvm_echo = format!("{}/user/echo", jvm.address());

    // Rekko -> JVM (Rekko is the TLS client), and the reply JVM -> Rekko
    // (the JVM is the client).
    let r = rust
        .send_string(&jvm_echo, "keystore hello", Some(ANSWER))
        .await
        .expect("ask over TLS")
        .expect("reply");
    assert_eq!(r.message.as_text().as_deref(), Some("keystore hello"));
    let rust_echo = format!("{}/user/echo", rust.address());
    let answer = tokio::task::block_in_place(|| {
        jvm.request(&format!("send {rust_echo} keystore from jvm"), ANSWER)
    })?;
    assert_eq!(answer, "REPLY keystore from jvm");

    // Same key store, but a trust store without the cluster certificate:
    // the handshake fails both ways, with a TLS error and no crash.
    let mut wrong = rekko_settings("RekkoWrongTrust", &ks, &foreign_ts, extra);
    wrong.handshake.timeout = Duration::from_secs(3);
    let wrong = RemoteNode::start(wrong)
        .await
        .expect("start wrong-trust node");
    let mut wrong_events = wrong.subscribe();
    let err = wrong
        .send_string(&jvm_echo, "do you know me", Some(Duration::from_secs(3)))
        .await
        .expect_err("the JVM's certificate is not trusted")
        .to_string();
    assert!(err.contains("TLS"), "{err}");
    wrong.register_echo("/user/echo");
    let wrong_echo = format!("{}/user/echo", wrong.address());
    let answer =
        tokio::task::block_in_place(|| jvm.request(&format!("send {wrong_echo} hi"), ANSWER))?;
    assert!(answer.starts_with("ERROR"), "{answer}");
    let refused = loop {
        match tokio::time::timeout(ANSWER, wrong_events.recv()).await {
            Ok(Ok(RemoteEvent::InboundConnectionClosed { reason, .. })) => break reason,
            Ok(Ok(_)) => continue,
            other => panic!("the wrong-trust node did not refuse the JVM: {other:?}"),
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

    wrong.shutdown().await;
    rust.shutdown().await;
    tokio::task::block_in_place(|| jvm.quit(ANSWER))?;
    Ok(())
}
