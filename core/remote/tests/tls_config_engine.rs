//! `transport = tls-tcp` with Pekko's default `ConfigSSLEngineProvider`:
//! PKCS12 key and trust stores made by the JDK's `keytool` at test time,
//! read from `pekko.remote.artery.ssl.config-ssl-engine`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hocon_config::Config;
use rekko_interop_tests::{keytool_or_skip, keytool_run, keytool_stores};
use rekko_remote::{RemoteEvent, RemoteNode, RemoteSettings, SslEngineProvider};

const T: Duration = Duration::from_secs(10);
const PASSWORD: &str = "changeit";

/// `<name>.p12` with a self-signed RSA key pair for `CN=<name>` and
/// `<name>-trust.p12` with its certificate, of type `store_type`.
fn stores(keytool: &Path, dir: &Path, name: &str, store_type: &str) -> (PathBuf, PathBuf) {
    keytool_stores(keytool, dir, name, store_type, PASSWORD).expect("keytool makes the stores")
}

/// Settings of node `name` read from HOCON with the given stores and extra
/// `config-ssl-engine` lines.
fn settings(name: &str, ks: &Path, ts: &Path, extra: &str) -> RemoteSettings {
    let conf = format!(
        "pekko.remote.artery {{\n  transport = tls-tcp\n  canonical.hostname = 127.0.0.1\n  canonical.port = 0\n  \
         ssl.config-ssl-engine {{\n    key-store = \"{}\"\n    trust-store = \"{}\"\n    \
         key-store-password = {PASSWORD}\n    key-password = {PASSWORD}\n    trust-store-password = {PASSWORD}\n    {extra}\n  }}\n}}\n",
        ks.display(),
        ts.display()
    );
    let c = Config::parse_string(&conf).expect("parse test config");
    let mut s = RemoteSettings::from_config(name, &c).expect("read settings");
    s.handshake.timeout = Duration::from_secs(3);
    s.outbound_restart_backoff = Duration::from_millis(100);
    s
}

/// Asserts that the stores of `s` do not load and that the error names
/// `expected`.
fn assert_rejected(s: RemoteSettings, expected: &str) {
    let e = s.check_tls().unwrap_err().to_string();
    assert!(e.contains(expected), "{e}");
}

#[test]
fn keytool_stores_are_read_and_bad_ones_named() {
    let Some(kt) = keytool_or_skip("tls_config_engine") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (ks, ts) = stores(&kt, dir.path(), "node-a", "PKCS12");
    let ok = settings("A", &ks, &ts, "");
    assert!(matches!(
        ok.ssl_engine_provider,
        Some(SslEngineProvider::Config(_))
    ));
    ok.check_tls().expect("keytool PKCS12 stores load");
    settings(
        "A",
        &ks,
        &ts,
        "protocol = TLSv1.2, enabled-algorithms = [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]",
    )
    .check_tls()
    .expect("TLSv1.2 with an ECDHE-RSA suite loads");

    assert_rejected(
        settings(
            "A",
            &ks,
            &ts,
            "key-store-password = wrong, key-password = wrong",
        ),
        &format!("key-store {}: wrong key-store-password", ks.display()),
    );
    assert_rejected(
        settings("A", &ks, &ts, "trust-store-password = wrong"),
        &format!("trust-store {}: wrong trust-store-password", ts.display()),
    );
    assert_rejected(
        settings("A", &ts, &ts, ""),
        &format!("key-store {}: holds no private key entry", ts.display()),
    );
    let missing = dir.path().join("missing.p12");
    assert_rejected(
        settings("A", &missing, &ts, ""),
        &format!("key-store {}: cannot read", missing.display()),
    );
    assert_rejected(
        settings(
            "A",
            &ks,
            &ts,
            "enabled-algorithms = [TLS_AES_128_GCM_SHA256, TLS_DHE_RSA_WITH_AES_256_GCM_SHA384]",
        ),
        "enabled-algorithms: cipher suite TLS_DHE_RSA_WITH_AES_256_GCM_SHA384 is not supported",
    );
    assert_rejected(
        settings("A", &ks, &ts, "protocol = TLSv1"),
        "protocol: \"TLSv1\" is not supported",
    );

    // JKS stores (keytool -storetype JKS) are read too, also next to PKCS12.
    let (jks, jks_ts) = stores(&kt, &dir.path().join("jks"), "node-j", "JKS");
    settings("A", &jks, &jks_ts, "")
        .check_tls()
        .expect("keytool JKS stores load");
    settings("A", &jks, &ts, "")
        .check_tls()
        .expect("a JKS key store with a PKCS12 trust store loads");
    assert_rejected(
        settings("A", &jks, &jks_ts, "key-store-password = wrong"),
        &format!("key-store {}: wrong key-store-password", jks.display()),
    );

    // EC keys as keytool writes them (without their public key) load, from
    // PKCS12 and JKS, with the TLSv1.3 defaults and with an ECDHE-ECDSA suite.
    for (store_type, curve) in [("PKCS12", "secp256r1"), ("JKS", "secp384r1")] {
        let ec = dir.path().join(format!("ec-{curve}.{store_type}"));
        let path = ec.display().to_string();
        keytool_run(
            &kt,
            &[
                "-genkeypair",
                "-keystore",
                &path,
                "-storetype",
                store_type,
                "-storepass",
                PASSWORD,
                "-keypass",
                PASSWORD,
                "-alias",
                "ec",
                "-keyalg",
                "EC",
                "-groupname",
                curve,
                "-dname",
                "CN=ec",
            ],
        )
        .expect("keytool makes the EC store");
        settings("A", &ec, &ec, "")
            .check_tls()
            .unwrap_or_else(|e| panic!("keytool {store_type} {curve} store loads: {e}"));
        settings(
            "A",
            &ec,
            &ts,
            "protocol = TLSv1.2, enabled-algorithms = [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]",
        )
        .check_tls()
        .unwrap_or_else(|e| panic!("{store_type} {curve} with TLSv1.2 ECDHE-ECDSA: {e}"));
    }
}

/// Waits for the next `InboundConnectionClosed` of `events`.
async fn refused(events: &mut tokio::sync::broadcast::Receiver<RemoteEvent>) -> String {
    loop {
        if let RemoteEvent::InboundConnectionClosed { reason, .. } =
            tokio::time::timeout(T, events.recv())
                .await
                .expect("an inbound connection is refused")
                .expect("event stream open")
        {
            return reason;
        }
    }
}

#[tokio::test]
async fn rekko_nodes_over_config_engine_and_mutual_auth_refusal() {
    let Some(kt) = keytool_or_skip("tls_config_engine") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (ks, ts) = stores(&kt, dir.path(), "cluster", "PKCS12");
    let (other_ks, _) = stores(&kt, dir.path(), "intruder", "PKCS12");

    let a = RemoteNode::start(settings("A", &ks, &ts, ""))
        .await
        .unwrap();
    let b = RemoteNode::start(settings("B", &ks, &ts, ""))
        .await
        .unwrap();
    b.register_echo("/user/echo");
    let path = format!("{}/user/echo", b.address());
    let r = a
        .send_string(&path, "over config-ssl-engine", Some(T))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        r.message.as_text().as_deref(),
        Some("over config-ssl-engine")
    );

    // The intruder trusts B's certificate but presents its own, which B
    // does not trust: require-mutual-authentication refuses it. (With TLS
    // 1.3 the client has finished its handshake when the server checks its
    // certificate, so the intruder sees the connection closed.)
    let mut events = b.subscribe();
    let intruder = RemoteNode::start(settings("X", &other_ks, &ts, ""))
        .await
        .unwrap();
    intruder
        .send_string(&path, "let me in", Some(Duration::from_secs(3)))
        .await
        .expect_err("B refuses the intruder");
    let reason = refused(&mut events).await;
    assert!(reason.contains("TLS handshake failed"), "{reason}");

    // The good association still works.
    let r = a
        .send_string(&path, "still fine", Some(T))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.message.as_text().as_deref(), Some("still fine"));
    intruder.shutdown().await;
    a.shutdown().await;
    b.shutdown().await;
}

/// A node configured with `config-ssl-engine` either refuses to start or
/// speaks TLS: a plain TCP peer is refused, never served.
#[tokio::test]
async fn config_engine_node_never_serves_plain_tcp() {
    let Some(kt) = keytool_or_skip("tls_config_engine") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (ks, ts) = stores(&kt, dir.path(), "cluster", "PKCS12");
    let a = match RemoteNode::start(settings("A", &ks, &ts, "")).await {
        Err(e) => {
            let e = e.to_string();
            assert!(e.starts_with("TLS: "), "{e}");
            return;
        }
        Ok(a) => a,
    };
    let mut events = a.subscribe();
    let plain = RemoteNode::start(RemoteSettings::new("P", "127.0.0.1", 0))
        .await
        .unwrap();
    plain
        .tell(
            &format!("{}/user/echo", a.address()),
            None,
            rekko_remote::SerializedMessage::string("x"),
        )
        .unwrap();
    let reason = refused(&mut events).await;
    assert!(reason.contains("TLS"), "{reason}");
    plain.shutdown().await;
    a.shutdown().await;
}
