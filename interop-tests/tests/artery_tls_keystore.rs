//! `tls-tcp` with a JVM using Pekko's default `ConfigSSLEngineProvider`:
//! both sides read the same PKCS12 key store and trust store (made with the
//! JDK's `keytool` at test time) from `ssl.config-ssl-engine`, and exchange
//! tell/ask both ways; a Rekko node whose trust store does not hold the
//! cluster certificate fails the handshake both ways with a TLS error.
//! The same scenario runs with JKS stores (`keytool -storetype JKS`), which
//! both sides read from the same files, and with EC keys (`keytool -keyalg EC`
//! on secp256r1 and secp384r1), which the JDK writes without their public key
//! and Rekko completes.
//!
//! Cipher suites with EC keys: Pekko 1.7.0's defaults (`TLSv1.3` with
//! `TLS_AES_128_GCM_SHA256` and `TLS_AES_256_GCM_SHA384`) do not depend on the
//! key type, so the JVM signs with an EC key as it is. Pekko 1.0.3's defaults
//! (`TLSv1.2` with `TLS_DHE_RSA_WITH_AES_256_GCM_SHA384` and
//! `TLS_RSA_WITH_AES_128_CBC_SHA`) need an RSA key even between two JVMs; with
//! EC keys both sides enable an ECDHE-ECDSA suite.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hocon_config::Config;
use rekko_interop_tests::{
    interop_logs_dir, keytool_or_skip, keytool_run, keytool_stores, require_jvm,
    tls_exchange_and_refusal, FixtureSpec, HarnessError, JvmNode, PekkoVersion,
};
use rekko_remote::RemoteSettings;

const ANSWER: Duration = Duration::from_secs(30);
const PASSWORD: &str = "changeit";

/// The key pair of the stores.
#[derive(Debug, Clone, Copy)]
enum Key {
    /// RSA, 2048 bits.
    Rsa,
    /// EC on the named curve (`secp256r1`, `secp384r1`).
    Ec(&'static str),
}

impl Key {
    fn label(self) -> &'static str {
        match self {
            Key::Rsa => "rsa",
            Key::Ec(curve) => curve,
        }
    }
}

/// `<name>.p12`: a key store of `store_type` (`PKCS12`, `JKS`) with a
/// self-signed `key` pair for `CN=<name>`; `<name>-trust.p12`: a trust
/// store of the same type with its certificate. (Both sides tell the type by
/// the file's content, not its name.)
fn stores(
    keytool: &Path,
    dir: &Path,
    name: &str,
    store_type: &str,
    key: Key,
) -> (PathBuf, PathBuf) {
    match key {
        Key::Rsa => keytool_stores(keytool, dir, name, store_type, PASSWORD)
            .expect("keytool makes the stores"),
        Key::Ec(curve) => ec_stores(keytool, dir, name, store_type, curve),
    }
}

/// As [`stores`] with an EC key pair on `curve` (`keytool -keyalg EC
/// -groupname <curve>`), SAN `localhost` and `127.0.0.1`.
fn ec_stores(
    keytool: &Path,
    dir: &Path,
    name: &str,
    store_type: &str,
    curve: &str,
) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).expect("create the store directory");
    let ks = dir.join(format!("{name}.p12")).display().to_string();
    let ts = dir.join(format!("{name}-trust.p12")).display().to_string();
    let crt = dir.join(format!("{name}.crt")).display().to_string();
    let store = [
        "-storetype",
        store_type,
        "-storepass",
        PASSWORD,
        "-alias",
        name,
    ];
    let run = |args: &[&[&str]]| keytool_run(keytool, &args.concat()).expect("keytool");
    let dname = format!("CN={name}");
    run(&[
        &["-genkeypair", "-keystore", &ks, "-keypass", PASSWORD],
        &store,
        &["-keyalg", "EC", "-groupname", curve, "-dname", &dname],
        &["-validity", "365", "-ext", "SAN=dns:localhost,ip:127.0.0.1"],
    ]);
    run(&[&["-exportcert", "-keystore", &ks, "-file", &crt], &store]);
    run(&[
        &["-importcert", "-noprompt", "-keystore", &ts, "-file", &crt],
        &store,
    ]);
    (ks.into(), ts.into())
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
    exchange(PekkoVersion::V1_7_0, "PKCS12", Key::Rsa, "").await
}

/// JKS stores: Pekko 1.7.0 loads them through the JDK's `KeyStore`
/// (`keytool -storetype JKS` output), Rekko through its JKS reader.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_ssl_engine_jks_with_pekko_1_7() -> Result<(), HarnessError> {
    require_jvm!();
    exchange(PekkoVersion::V1_7_0, "JKS", Key::Rsa, "").await
}

/// EC (P-256) keys in PKCS12 stores, as `keytool -keyalg EC` writes them,
/// with Pekko 1.7.0's defaults (TLS 1.3 suites, which work with any key type).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_ssl_engine_ec_p256_with_pekko_1_7() -> Result<(), HarnessError> {
    require_jvm!();
    exchange(PekkoVersion::V1_7_0, "PKCS12", Key::Ec("secp256r1"), "").await
}

/// EC (P-384) keys in JKS stores with Pekko 1.7.0's defaults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_ssl_engine_ec_p384_jks_with_pekko_1_7() -> Result<(), HarnessError> {
    require_jvm!();
    exchange(PekkoVersion::V1_7_0, "JKS", Key::Ec("secp384r1"), "").await
}

/// EC (P-256) keys with Pekko 1.0.3: its default suites need RSA keys, so
/// both sides choose TLSv1.2 with an ECDHE-ECDSA GCM suite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_ssl_engine_ec_with_pekko_1_0_3() -> Result<(), HarnessError> {
    require_jvm!();
    exchange(
        PekkoVersion::V1_0_3,
        "PKCS12",
        Key::Ec("secp256r1"),
        "protocol = TLSv1.2\n    enabled-algorithms = [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]",
    )
    .await
}

/// Pekko 1.0.3's defaults (TLSv1.2 with DHE and CBC suites) are not spoken by
/// rustls; both sides choose TLSv1.2 with an ECDHE-RSA GCM suite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_ssl_engine_with_pekko_1_0_3() -> Result<(), HarnessError> {
    require_jvm!();
    exchange(
        PekkoVersion::V1_0_3,
        "PKCS12",
        Key::Rsa,
        "protocol = TLSv1.2\n    enabled-algorithms = [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]",
    )
    .await
}

async fn exchange(
    version: PekkoVersion,
    store_type: &str,
    key: Key,
    extra: &str,
) -> Result<(), HarnessError> {
    let label = format!("{}-{store_type}-{}", version.as_str(), key.label());
    let dir = interop_logs_dir()?.join(format!(
        "artery-tls-keystore-{label}-{}",
        std::process::id()
    ));
    let Some(kt) = keytool_or_skip("artery_tls_keystore") else {
        return Ok(());
    };
    let (ks, ts) = stores(&kt, &dir, "rekko-cluster", store_type, key);
    let (_, foreign_ts) = stores(&kt, &dir, "foreign", store_type, key);
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
                .name(&format!("artery-tls-keystore-{label}"))
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
