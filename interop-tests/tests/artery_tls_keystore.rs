//! `tls-tcp` with a JVM using Pekko's default `ConfigSSLEngineProvider`:
//! both sides read the same PKCS12 key store and trust store (made with the
//! JDK's `keytool` at test time) from `ssl.config-ssl-engine`, and exchange
//! tell/ask both ways; a Rekko node whose trust store does not hold the
//! cluster certificate fails the handshake both ways with a TLS error.
//! The same scenario runs with JKS stores (`keytool -storetype JKS`), which
//! both sides read from the same files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hocon_config::Config;
use rekko_interop_tests::{
    interop_logs_dir, keytool_or_skip, keytool_stores, require_jvm, tls_exchange_and_refusal,
    FixtureSpec, HarnessError, JvmNode, PekkoVersion,
};
use rekko_remote::RemoteSettings;

const ANSWER: Duration = Duration::from_secs(30);
const PASSWORD: &str = "changeit";

/// `<name>.p12`: a key store of `store_type` (`PKCS12`, `JKS`) with a
/// self-signed RSA key pair for `CN=<name>`; `<name>-trust.p12`: a trust
/// store of the same type with its certificate. (Both sides tell the type by
/// the file's content, not its name.)
fn stores(keytool: &Path, dir: &Path, name: &str, store_type: &str) -> (PathBuf, PathBuf) {
    keytool_stores(keytool, dir, name, store_type, PASSWORD).expect("keytool makes the stores")
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
    exchange(PekkoVersion::V1_7_0, "PKCS12", "").await
}

/// JKS stores: Pekko 1.7.0 loads them through the JDK's `KeyStore`
/// (`keytool -storetype JKS` output), Rekko through its JKS reader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_ssl_engine_jks_with_pekko_1_7() -> Result<(), HarnessError> {
    require_jvm!();
    exchange(PekkoVersion::V1_7_0, "JKS", "").await
}

/// Pekko 1.0.3's defaults (TLSv1.2 with DHE and CBC suites) are not spoken by
/// rustls; both sides choose TLSv1.2 with an ECDHE-RSA GCM suite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_ssl_engine_with_pekko_1_0_3() -> Result<(), HarnessError> {
    require_jvm!();
    exchange(
        PekkoVersion::V1_0_3,
        "PKCS12",
        "protocol = TLSv1.2\n    enabled-algorithms = [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]",
    )
    .await
}

async fn exchange(
    version: PekkoVersion,
    store_type: &str,
    extra: &str,
) -> Result<(), HarnessError> {
    let dir = interop_logs_dir()?.join(format!(
        "artery-tls-keystore-{}-{store_type}-{}",
        version.as_str(),
        std::process::id()
    ));
    let Some(kt) = keytool_or_skip("artery_tls_keystore") else {
        return Ok(());
    };
    let (ks, ts) = stores(&kt, &dir, "rekko-cluster", store_type);
    let (_, foreign_ts) = stores(&kt, &dir, "foreign", store_type);
    let magic =
        std::fs::read(&ks).map_err(|e| HarnessError::io(format!("reading {}", ks.display()), e))?;
    if store_type == "JKS" {
        assert_eq!(
            magic.get(..4),
            Some(&[0xFE, 0xED, 0xFE, 0xED][..]),
            "keytool wrote JKS"
        );
    }
    let conf = dir.join("jvm-tls-keystore.conf");
    std::fs::write(&conf, artery_conf(&ks, &ts, extra)).expect("write JVM config");
    let conf = conf.display().to_string();
    let jvm = tokio::task::block_in_place(|| {
        JvmNode::start(
            FixtureSpec::new("org.rekko.fixtures.EchoNode")
                .name(&format!(
                    "artery-tls-keystore-{}-{store_type}",
                    version.as_str()
                ))
                .version(version)
                .args(["--system", "JvmTlsKs", "--config", &conf]),
        )
    })?;
    tls_exchange_and_refusal(
        jvm,
        rekko_settings("RekkoTlsKs", &ks, &ts, extra),
        rekko_settings("RekkoWrongTrust", &ks, &foreign_ts, extra),
        ANSWER,
    )
    .await
}
