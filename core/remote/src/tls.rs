//! TLS for `transport = tls-tcp`, with either of Pekko's SSL engine
//! providers:
//!
//! - `ConfigSSLEngineProvider` (Pekko's default), `ssl.config-ssl-engine`:
//!   a PKCS12 key store and trust store, one protocol version, the enabled
//!   cipher suites by their JVM names, optional mutual authentication and
//!   host name verification; no check after the handshake.
//! - `RotatingKeysSSLEngineProvider`, `ssl.rotating-keys-engine`: PEM files
//!   (the node's private key and certificate, and the CA that issued the node
//!   certificates). Mutual authentication is always on, the presented chain
//!   is `[node cert, CA cert]`, only the CA is trusted, host names are not
//!   verified, and after each handshake the peer's leaf certificate must
//!   share a subject name (CN or DNS SAN) with this node's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig,
    SignatureScheme,
};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::error::RemoteError;
use crate::keystore;
use crate::settings::RemoteSettings;

/// PEM files of `pekko.remote.artery.ssl.rotating-keys-engine`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// `key-file`: the node's private key (PKCS#1, PKCS#8 or SEC1 PEM).
    pub key_file: PathBuf,
    /// `cert-file`: the node's certificate.
    pub cert_file: PathBuf,
    /// `ca-cert-file`: the CA that issued the node certificates.
    pub ca_cert_file: PathBuf,
}

/// `pekko.remote.artery.ssl.config-ssl-engine`: the settings of Pekko's
/// default `ConfigSSLEngineProvider`.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfigSslEngineSettings {
    /// `key-store`: PKCS12 file with this node's private key and certificate
    /// chain (a relative path is relative to the working directory).
    pub key_store: PathBuf,
    /// `key-store-password`.
    pub key_store_password: String,
    /// `key-password`: must equal `key-store-password` (PKCS12 protects its
    /// keys with the store password).
    pub key_password: String,
    /// `trust-store`: PKCS12 file with the trusted certificates.
    pub trust_store: PathBuf,
    /// `trust-store-password`.
    pub trust_store_password: String,
    /// `protocol`: the one TLS version spoken, `TLSv1.3` or `TLSv1.2`.
    pub protocol: String,
    /// `enabled-algorithms`: cipher suites by their JVM (IANA) names.
    pub enabled_algorithms: Vec<String>,
    /// `random-number-generator`: a JDK `SecureRandom` algorithm name or
    /// empty; Rekko always uses the operating system's generator.
    pub random_number_generator: String,
    /// `require-mutual-authentication`: the accepting side demands a client
    /// certificate issued by a trusted certificate.
    pub require_mutual_authentication: bool,
    /// `hostname-verification`: the connecting side checks the peer's
    /// certificate against the host name it connects to.
    pub hostname_verification: bool,
}

impl std::fmt::Debug for ConfigSslEngineSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigSslEngineSettings")
            .field("key_store", &self.key_store)
            .field("key_store_password", &"<redacted>")
            .field("key_password", &"<redacted>")
            .field("trust_store", &self.trust_store)
            .field("trust_store_password", &"<redacted>")
            .field("protocol", &self.protocol)
            .field("enabled_algorithms", &self.enabled_algorithms)
            .field("random_number_generator", &self.random_number_generator)
            .field(
                "require_mutual_authentication",
                &self.require_mutual_authentication,
            )
            .field("hostname_verification", &self.hostname_verification)
            .finish()
    }
}

impl ConfigSslEngineSettings {
    /// Pekko 1.7.0's defaults (`TLSv1.3`, `TLS_AES_128_GCM_SHA256` and
    /// `TLS_AES_256_GCM_SHA384`, mutual authentication on, host name
    /// verification off) with the given stores and one password for all.
    pub fn new(
        key_store: impl Into<PathBuf>,
        trust_store: impl Into<PathBuf>,
        password: &str,
    ) -> Self {
        ConfigSslEngineSettings {
            key_store: key_store.into(),
            key_store_password: password.into(),
            key_password: password.into(),
            trust_store: trust_store.into(),
            trust_store_password: password.into(),
            protocol: "TLSv1.3".into(),
            enabled_algorithms: vec![
                "TLS_AES_128_GCM_SHA256".into(),
                "TLS_AES_256_GCM_SHA384".into(),
            ],
            random_number_generator: String::new(),
            require_mutual_authentication: true,
            hostname_verification: false,
        }
    }
}

/// `pekko.remote.artery.ssl.ssl-engine-provider` when it is not the
/// rotating-keys engine (which [`TlsSettings`] describes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SslEngineProvider {
    /// `org.apache.pekko.remote.artery.tcp.ConfigSSLEngineProvider`.
    Config(ConfigSslEngineSettings),
    /// Another class name: Rekko cannot run it, and refuses to start.
    Unsupported(String),
}

/// Loaded TLS configuration of a node.
pub(crate) struct Tls {
    pub acceptor: TlsAcceptor,
    pub connector: TlsConnector,
    /// The rotating-keys engine's post-handshake check: the peer must share
    /// one of these subject names. `None`: no check (config engine).
    local_names: Option<Vec<String>>,
}

/// The cipher suites of the ring provider, by their JVM (IANA) names.
const CIPHER_SUITES: [(&str, rustls::CipherSuite); 9] = [
    (
        "TLS_AES_128_GCM_SHA256",
        rustls::CipherSuite::TLS13_AES_128_GCM_SHA256,
    ),
    (
        "TLS_AES_256_GCM_SHA384",
        rustls::CipherSuite::TLS13_AES_256_GCM_SHA384,
    ),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        rustls::CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];

/// `SecureRandom` algorithm names of the JDK accepted in
/// `random-number-generator` (besides empty).
const JDK_RNG_NAMES: [&str; 8] = [
    "SecureRandom",
    "SHA1PRNG",
    "NativePRNG",
    "NativePRNGBlocking",
    "NativePRNGNonBlocking",
    "DRBG",
    "Windows-PRNG",
    "PKCS11",
];

fn config_err(key: &str, detail: impl std::fmt::Display) -> RemoteError {
    RemoteError::Tls(format!(
        "pekko.remote.artery.ssl.config-ssl-engine.{key}: {detail}"
    ))
}

static TLS13_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];
static TLS12_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];

/// The protocol versions of `protocol` (exactly one, as Pekko enables only
/// the configured protocol).
fn protocol_versions(
    protocol: &str,
) -> Result<&'static [&'static rustls::SupportedProtocolVersion], RemoteError> {
    match protocol {
        "TLSv1.3" => Ok(TLS13_ONLY),
        "TLSv1.2" => Ok(TLS12_ONLY),
        other => Err(config_err(
            "protocol",
            format!("{other:?} is not supported (use \"TLSv1.3\" or \"TLSv1.2\")"),
        )),
    }
}

/// The ring provider restricted to `enabled-algorithms`, checked against
/// `protocol`.
fn crypto_provider(
    s: &ConfigSslEngineSettings,
) -> Result<rustls::crypto::CryptoProvider, RemoteError> {
    let mut provider = rustls::crypto::ring::default_provider();
    let mut wanted = Vec::new();
    for name in &s.enabled_algorithms {
        let Some((_, suite)) = CIPHER_SUITES.iter().find(|(n, _)| n == name) else {
            let supported: Vec<&str> = CIPHER_SUITES.iter().map(|(n, _)| *n).collect();
            return Err(config_err(
                "enabled-algorithms",
                format!(
                    "cipher suite {name} is not supported by Rekko (supported: {})",
                    supported.join(", ")
                ),
            ));
        };
        wanted.push(*suite);
    }
    provider
        .cipher_suites
        .retain(|cs| wanted.contains(&cs.suite()));
    let version = protocol_versions(&s.protocol)?[0];
    if !provider
        .cipher_suites
        .iter()
        .any(|cs| cs.version() == version)
    {
        return Err(config_err(
            "enabled-algorithms",
            format!(
                "{:?} has no cipher suite for protocol {}",
                s.enabled_algorithms, s.protocol
            ),
        ));
    }
    Ok(provider)
}

fn tls_err(what: &str, path: &Path, e: impl std::fmt::Display) -> RemoteError {
    RemoteError::Tls(format!("{what} {}: {e}", path.display()))
}

/// Reads a PEM file, refusing a binary PKCS12 key store by name.
fn read_pem(path: &Path) -> Result<Vec<u8>, RemoteError> {
    let pem = std::fs::read(path).map_err(|e| tls_err("cannot read", path, e))?;
    if pem.first() == Some(&0x30) && !pem.windows(10).any(|w| w == b"-----BEGIN") {
        return Err(tls_err(
            "not PEM:",
            path,
            "a binary (DER or PKCS12) file; PKCS12 key stores are read by \
             ssl.config-ssl-engine (ssl-engine-provider = ConfigSSLEngineProvider)",
        ));
    }
    Ok(pem)
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, RemoteError> {
    let pem = read_pem(path)?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_err("bad PEM certificate in", path, e))?;
    if certs.is_empty() {
        return Err(tls_err("no certificate in", path, "empty"));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, RemoteError> {
    let pem = read_pem(path)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|e| tls_err("bad PEM key in", path, e))?
        .ok_or_else(|| tls_err("no private key in", path, "empty"))
}

/// Subject CN and DNS SAN entries of a DER certificate.
pub(crate) fn subject_names(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Vec::new();
    };
    let mut names: Vec<String> = cert
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok().map(str::to_string))
        .collect();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(d) = n {
                names.push((*d).to_string());
            }
        }
    }
    names
}

impl Tls {
    /// The TLS configuration of a node: `None` for plain `tcp`; the
    /// `ssl_engine_provider` if set, else the rotating-keys `tls` settings.
    pub fn from_settings(s: &RemoteSettings) -> Result<Option<Tls>, RemoteError> {
        match (&s.ssl_engine_provider, &s.tls) {
            (Some(SslEngineProvider::Config(c)), _) => Tls::load_config_engine(c).map(Some),
            (Some(SslEngineProvider::Unsupported(p)), _) => Err(RemoteError::Tls(format!(
                "pekko.remote.artery.ssl.ssl-engine-provider: {p} is not supported (use \
                 org.apache.pekko.remote.artery.tcp.ConfigSSLEngineProvider or \
                 org.apache.pekko.remote.artery.tcp.ssl.RotatingKeysSSLEngineProvider)"
            ))),
            (None, Some(t)) => Tls::load(t).map(Some),
            (None, None) => Ok(None),
        }
    }

    /// Loads the key store and trust store of `ssl.config-ssl-engine` and
    /// builds server and client configurations as Pekko's
    /// `ConfigSSLEngineProvider` sets up its `SSLEngine`s.
    pub fn load_config_engine(s: &ConfigSslEngineSettings) -> Result<Tls, RemoteError> {
        let tls_err = |e: keystore::KeyStoreError| RemoteError::Tls(e.to_string());
        let versions = protocol_versions(&s.protocol)?;
        let provider = Arc::new(crypto_provider(s)?);
        let rng = s.random_number_generator.as_str();
        if !rng.is_empty() && !JDK_RNG_NAMES.contains(&rng) {
            return Err(config_err(
                "random-number-generator",
                format!("{rng:?} is not a SecureRandom algorithm (leave it empty)"),
            ));
        }
        tracing::debug!(
            random_number_generator = rng,
            "TLS uses the operating system's random number generator"
        );
        let entry = keystore::load_key_entry(&s.key_store, &s.key_store_password, &s.key_password)
            .map_err(tls_err)?;
        let trusted =
            keystore::load_trusted(&s.trust_store, &s.trust_store_password).map_err(tls_err)?;
        let trust_path = s.trust_store.display();
        let mut roots = RootCertStore::empty();
        for c in trusted {
            roots.add(c).map_err(|e| {
                RemoteError::Tls(format!(
                    "trust-store {trust_path}: unusable certificate: {e}"
                ))
            })?;
        }
        let roots = Arc::new(roots);
        let key_path = s.key_store.display();
        let cfg = |e: rustls::Error| {
            RemoteError::Tls(format!("key-store {key_path} (alias {}): {e}", entry.alias))
        };

        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .map_err(cfg)?;
        let server = if s.require_mutual_authentication {
            let v = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
                .build()
                .map_err(|e| RemoteError::Tls(format!("trust-store {trust_path}: {e}")))?;
            server.with_client_cert_verifier(v)
        } else {
            server.with_no_client_auth()
        }
        .with_single_cert(entry.chain.clone(), entry.key.clone_key())
        .map_err(cfg)?;

        let server_verifier = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| RemoteError::Tls(format!("trust-store {trust_path}: {e}")))?;
        let client = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .map_err(cfg)?;
        let client = if s.hostname_verification {
            client.with_webpki_verifier(server_verifier)
        } else {
            tracing::info!(
                "TLS/SSL hostname verification is disabled (pekko.remote.artery.ssl.config-ssl-engine.hostname-verification = off)"
            );
            client
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly(server_verifier)))
        }
        .with_client_auth_cert(entry.chain, entry.key)
        .map_err(cfg)?;

        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            connector: TlsConnector::from(Arc::new(client)),
            local_names: None,
        })
    }

    /// Loads the PEM files and builds server and client configurations.
    pub fn load(s: &TlsSettings) -> Result<Tls, RemoteError> {
        let certs = read_certs(&s.cert_file)?;
        let ca = read_certs(&s.ca_cert_file)?;
        let key = read_key(&s.key_file)?;
        let mut roots = RootCertStore::empty();
        for c in &ca {
            roots
                .add(c.clone())
                .map_err(|e| tls_err("bad CA certificate in", &s.ca_cert_file, e))?;
        }
        let roots = Arc::new(roots);
        let mut chain = vec![certs[0].clone()];
        chain.extend(ca.iter().cloned());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let versions = rustls::ALL_VERSIONS;
        let cfg = |e: rustls::Error| RemoteError::Tls(format!("TLS configuration: {e}"));

        let client_verifier =
            WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
                .build()
                .map_err(|e| RemoteError::Tls(format!("client verifier: {e}")))?;
        let server = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(versions)
            .map_err(cfg)?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(cfg)?;

        let server_verifier = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| RemoteError::Tls(format!("server verifier: {e}")))?;
        let client = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(versions)
            .map_err(cfg)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnly(server_verifier)))
            .with_client_auth_cert(chain, key)
            .map_err(cfg)?;

        Ok(Tls {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            connector: TlsConnector::from(Arc::new(client)),
            local_names: Some(subject_names(&certs[0])),
        })
    }

    /// The post-handshake check of the rotating-keys engine: the peer's leaf
    /// certificate must share a subject name with this node's. The config
    /// engine checks nothing after the handshake.
    pub fn check_peer(&self, peer_certs: Option<&[CertificateDer<'_>]>) -> Result<(), String> {
        let Some(local_names) = &self.local_names else {
            return Ok(());
        };
        let leaf = peer_certs
            .and_then(|c| c.first())
            .ok_or_else(|| "peer presented no certificate".to_string())?;
        let names = subject_names(leaf);
        if names.iter().any(|n| local_names.contains(n)) {
            Ok(())
        } else {
            Err(format!(
                "peer certificate names {names:?} share none with ours {local_names:?}"
            ))
        }
    }

    /// The name to connect to `host` with (IP literals send no SNI).
    pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
        let h = host.trim_start_matches('[').trim_end_matches(']');
        ServerName::try_from(h.to_string()).map_err(|e| format!("bad host {host:?}: {e}"))
    }
}

/// Verifies the server chain against the CA but not the host name (Pekko's
/// default `hostname-verification = off`).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Ok(v) => Ok(v),
            Err(rustls::Error::InvalidCertificate(CertificateError::NotValidForName)) => {
                Ok(ServerCertVerified::assertion())
            }
            Err(rustls::Error::InvalidCertificate(e))
                if format!("{e:?}").starts_with("NotValidForName") =>
            {
                Ok(ServerCertVerified::assertion())
            }
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keystore::testing;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Handshakes `client` with `server` over an in-memory pipe, connecting
    /// to `host`, and sends one byte each way.
    async fn handshake(client: &Tls, server: &Tls, host: &str) -> Result<(), String> {
        let (c, s) = tokio::io::duplex(64 * 1024);
        let name = Tls::server_name(host)?;
        let accept = async {
            let mut s = server
                .acceptor
                .accept(s)
                .await
                .map_err(|e| format!("server: {e}"))?;
            let mut b = [0u8; 1];
            s.read_exact(&mut b)
                .await
                .map_err(|e| format!("server read: {e}"))?;
            s.write_all(&b)
                .await
                .map_err(|e| format!("server write: {e}"))?;
            s.flush().await.map_err(|e| format!("server flush: {e}"))?;
            Ok::<_, String>(())
        };
        let connect = async {
            let mut c = client
                .connector
                .connect(name, c)
                .await
                .map_err(|e| format!("client: {e}"))?;
            c.write_all(&[7])
                .await
                .map_err(|e| format!("client write: {e}"))?;
            c.flush().await.map_err(|e| format!("client flush: {e}"))?;
            let mut b = [0u8; 1];
            c.read_exact(&mut b)
                .await
                .map_err(|e| format!("client read: {e}"))?;
            assert_eq!(b, [7]);
            Ok::<_, String>(())
        };
        match tokio::join!(accept, connect) {
            (Ok(()), Ok(())) => Ok(()),
            (a, c) => Err(format!("{a:?} / {c:?}")),
        }
    }

    fn stores() -> Option<&'static testing::Shared> {
        testing::shared()
    }

    fn engine(ks: &Path, ts: &Path) -> ConfigSslEngineSettings {
        ConfigSslEngineSettings::new(ks, ts, "changeit")
    }

    #[tokio::test]
    async fn pekko_defaults_handshake_with_mutual_auth() {
        let Some(s) = stores() else { return };
        let tls = Tls::load_config_engine(&engine(&s.a.0, &s.a.1)).unwrap();
        handshake(&tls, &tls, "127.0.0.1").await.unwrap();
        // No post-handshake name check in the config engine.
        tls.check_peer(None).unwrap();
        for protocol in ["TLSv1.2"] {
            let mut e = engine(&s.a.0, &s.a.1);
            e.protocol = protocol.into();
            e.enabled_algorithms = vec!["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".into()];
            let tls = Tls::load_config_engine(&e).unwrap();
            handshake(&tls, &tls, "localhost").await.unwrap();
        }
    }

    #[tokio::test]
    async fn mutual_authentication_refuses_an_untrusted_client() {
        let Some(s) = stores() else { return };
        // The server trusts only a; the client presents b (and trusts a).
        let server = Tls::load_config_engine(&engine(&s.a.0, &s.a.1)).unwrap();
        let client = Tls::load_config_engine(&engine(&s.b.0, &s.a.1)).unwrap();
        let err = handshake(&client, &server, "127.0.0.1").await.unwrap_err();
        assert!(
            err.contains("Err(\"server: invalid peer certificate"),
            "{err}"
        );

        // Without mutual authentication the server asks for no certificate.
        let mut open = engine(&s.a.0, &s.a.1);
        open.require_mutual_authentication = false;
        let server = Tls::load_config_engine(&open).unwrap();
        handshake(&client, &server, "127.0.0.1").await.unwrap();

        // The client refuses a server it does not trust.
        let client = Tls::load_config_engine(&engine(&s.b.0, &s.b.1)).unwrap();
        let err = handshake(&client, &server, "127.0.0.1").await.unwrap_err();
        assert!(err.contains("client: invalid peer certificate"), "{err}");
    }

    #[tokio::test]
    async fn hostname_verification_checks_the_name() {
        let Some(s) = stores() else { return };
        let mut e = engine(&s.a.0, &s.a.1);
        e.hostname_verification = true;
        let tls = Tls::load_config_engine(&e).unwrap();
        handshake(&tls, &tls, "localhost").await.unwrap();
        handshake(&tls, &tls, "127.0.0.1").await.unwrap();
        let err = handshake(&tls, &tls, "rekko.example").await.unwrap_err();
        assert!(err.contains("client: invalid peer certificate"), "{err}");
        // Off (Pekko's default): any name.
        let tls = Tls::load_config_engine(&engine(&s.a.0, &s.a.1)).unwrap();
        handshake(&tls, &tls, "rekko.example").await.unwrap();
    }

    #[tokio::test]
    async fn jks_stores_handshake_with_mutual_auth() {
        let Some(s) = testing::shared_jks() else {
            return;
        };
        let (ks, ts) = &s.node;
        let server = Tls::load_config_engine(&engine(ks, ts)).unwrap();
        handshake(&server, &server, "127.0.0.1").await.unwrap();
        // A client whose key has a key password of its own; the server's
        // JKS trust store holds its certificate.
        let mut other = engine(&s.other, ts);
        other.key_password = "keysecret".into();
        let client = Tls::load_config_engine(&other).unwrap();
        handshake(&client, &server, "127.0.0.1").await.unwrap();
        other.key_password = "changeit".into();
        let err = Tls::load_config_engine(&other).err().unwrap().to_string();
        assert!(err.contains("wrong key-password"), "{err}");
    }

    /// Keys the JDK writes with `keytool -keyalg EC` (PKCS#8 without the
    /// public key) load from PKCS12 and JKS stores, on P-256 and P-384, and
    /// complete a mutual-TLS handshake with Pekko's defaults (TLSv1.3) and
    /// with TLSv1.2 and an ECDHE-ECDSA suite. A P-521 key is refused naming
    /// the key store, the alias and the curve.
    #[tokio::test]
    async fn jdk_ec_keys_handshake_with_mutual_auth() {
        let Some(s) = testing::shared_ec() else {
            return;
        };
        for (store_type, curve, ks) in &s.stores {
            let what = format!("{store_type} {curve}");
            let tls =
                Tls::load_config_engine(&engine(ks, ks)).unwrap_or_else(|e| panic!("{what}: {e}"));
            handshake(&tls, &tls, "127.0.0.1")
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let mut e = engine(ks, ks);
            e.protocol = "TLSv1.2".into();
            e.enabled_algorithms = vec!["TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384".into()];
            e.hostname_verification = true;
            let tls = Tls::load_config_engine(&e).unwrap_or_else(|e| panic!("{what}: {e}"));
            handshake(&tls, &tls, "localhost")
                .await
                .unwrap_or_else(|e| panic!("{what} TLSv1.2: {e}"));
        }
        let err = Tls::load_config_engine(&engine(&s.p521, &s.p521))
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains(&format!(
                "key-store {} (alias p521): EC key on curve secp521r1 (P-521) is not supported",
                s.p521.display()
            )),
            "{err}"
        );
    }

    #[test]
    fn protocol_and_algorithms_are_checked() {
        let Some(s) = stores() else { return };
        let err = |f: &dyn Fn(&mut ConfigSslEngineSettings)| {
            let mut e = engine(&s.a.0, &s.a.1);
            f(&mut e);
            match Tls::load_config_engine(&e) {
                Ok(_) => panic!("{e:?} loaded"),
                Err(e) => e.to_string(),
            }
        };
        let m = err(&|e| e.protocol = "TLSv1.1".into());
        assert!(
            m.contains("config-ssl-engine.protocol: \"TLSv1.1\" is not supported"),
            "{m}"
        );
        let m = err(&|e| {
            e.enabled_algorithms
                .push("TLS_RSA_WITH_AES_128_CBC_SHA".into())
        });
        assert!(
            m.contains(
                "enabled-algorithms: cipher suite TLS_RSA_WITH_AES_128_CBC_SHA is not supported"
            ),
            "{m}"
        );
        let m = err(&|e| e.protocol = "TLSv1.2".into());
        assert!(
            m.contains("has no cipher suite for protocol TLSv1.2"),
            "{m}"
        );
        let m = err(&|e| e.random_number_generator = "Fortuna".into());
        assert!(m.contains("random-number-generator"), "{m}");
        let m = err(&|e| e.key_store_password = "nope".into());
        assert!(m.contains("wrong key-store-password"), "{m}");
        let m = err(&|e| e.trust_store = s.b.0.with_file_name("missing.p12"));
        assert!(
            m.contains("trust-store") && m.contains("missing.p12: cannot read"),
            "{m}"
        );
        let mut ok = engine(&s.a.0, &s.a.1);
        ok.random_number_generator = "SHA1PRNG".into();
        Tls::load_config_engine(&ok).unwrap();
    }

    #[test]
    fn pem_loading_refuses_a_pkcs12_store() {
        let Some(s) = stores() else { return };
        let pem = TlsSettings {
            key_file: s.a.0.clone(),
            cert_file: s.a.0.clone(),
            ca_cert_file: s.a.1.clone(),
        };
        let m = Tls::load(&pem)
            .err()
            .expect("PKCS12 is not PEM")
            .to_string();
        assert!(m.contains(&format!("not PEM: {}", s.a.0.display())), "{m}");
        assert!(m.contains("config-ssl-engine"), "{m}");
    }

    #[test]
    fn passwords_are_not_in_debug_output() {
        let e = ConfigSslEngineSettings::new("/k", "/t", "top-secret");
        let d = format!("{e:?}");
        assert!(!d.contains("top-secret"), "{d}");
    }
}
