//! `tls-tcp` between Rekko nodes: mutual TLS with PEM files, and peers with
//! certificates from another CA refused on both sides.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use rekko_interop_tests::test_pki;
use rekko_remote::{RemoteEvent, RemoteNode, RemoteSettings, TlsSettings};

const T: Duration = Duration::from_secs(10);

/// A CA and one node certificate (CN and SAN `name`) signed by it, as TLS settings.
fn pki(dir: &Path, name: &str) -> TlsSettings {
    test_pki(dir, name)
        .expect("test certificates are created with openssl")
        .tls_settings()
}

/// The reason of the next closed inbound connection.
async fn next_inbound_closed(events: &mut tokio::sync::broadcast::Receiver<RemoteEvent>) -> String {
    loop {
        if let RemoteEvent::InboundConnectionClosed { reason, .. } =
            tokio::time::timeout(T, events.recv())
                .await
                .unwrap()
                .unwrap()
        {
            return reason;
        }
    }
}

fn tls_settings(name: &str, tls: &TlsSettings) -> RemoteSettings {
    let mut s = RemoteSettings::new(name, "127.0.0.1", 0);
    s.tls = Some(tls.clone());
    s.handshake.timeout = Duration::from_secs(3);
    s.outbound_restart_backoff = Duration::from_millis(100);
    s
}

fn have_openssl() -> bool {
    let ok = Command::new("openssl").arg("version").output().is_ok();
    if !ok {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "openssl is required under CI=true"
        );
        eprintln!("SKIPPED: openssl not found");
    }
    ok
}

#[tokio::test]
async fn mutual_tls_between_rekko_nodes() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path(), "rekko-cluster");
    let a = RemoteNode::start(tls_settings("A", &pki)).await.unwrap();
    let b = RemoteNode::start(tls_settings("B", &pki)).await.unwrap();
    b.register_echo("/user/echo");
    let path = format!("{}/user/echo", b.address());
    let r = a
        .send_string(&path, "over tls", Some(T))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.message.as_text().as_deref(), Some("over tls"));
    assert_eq!(
        a.identify(&path, T).await.unwrap().as_deref(),
        Some(path.as_str())
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused() {
    if !have_openssl() {
        return;
    }
    let d1 = tempfile::tempdir().unwrap();
    let d2 = tempfile::tempdir().unwrap();
    let good = pki(d1.path(), "rekko-cluster");
    let other = pki(d2.path(), "rekko-cluster");
    let b = RemoteNode::start(tls_settings("B", &good)).await.unwrap();
    b.register_echo("/user/echo");
    let mut events = b.subscribe();
    let intruder = RemoteNode::start(tls_settings("X", &other)).await.unwrap();
    let path = format!("{}/user/echo", b.address());
    let err = intruder
        .send_string(&path, "let me in", Some(Duration::from_secs(2)))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("TLS"), "{err}");
    let reason = next_inbound_closed(&mut events).await;
    assert!(reason.contains("TLS handshake failed"), "{reason}");
    intruder.shutdown().await;
    b.shutdown().await;
}

#[tokio::test]
async fn plain_tcp_to_a_tls_node_is_refused() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(dir.path(), "rekko-cluster");
    let b = RemoteNode::start(tls_settings("B", &pki)).await.unwrap();
    let mut events = b.subscribe();
    let plain = RemoteNode::start(RemoteSettings::new("P", "127.0.0.1", 0))
        .await
        .unwrap();
    let path = format!("{}/user/echo", b.address());
    plain
        .tell(&path, None, rekko_remote::SerializedMessage::string("x"))
        .unwrap();
    let reason = next_inbound_closed(&mut events).await;
    assert!(reason.contains("TLS"), "{reason}");
    plain.shutdown().await;
    b.shutdown().await;
}
