//! TLS for `transport = tls-tcp`, with PEM files as Pekko's
//! `ssl.rotating-keys-engine` reads them: the node's private key and
//! certificate, and the CA that issued the node certificates.
//!
//! Like Pekko's rotating-keys engine: mutual authentication is always on,
//! the presented chain is `[node cert, CA cert]`, only the CA is trusted,
//! host names are not verified, and after each handshake the peer's leaf
//! certificate must share a subject name (CN or DNS SAN) with this node's.

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

/// Loaded TLS configuration of a node.
pub(crate) struct Tls {
    pub acceptor: TlsAcceptor,
    pub connector: TlsConnector,
    local_names: Vec<String>,
}

fn tls_err(what: &str, path: &Path, e: impl std::fmt::Display) -> RemoteError {
    RemoteError::Tls(format!("{what} {}: {e}", path.display()))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, RemoteError> {
    let pem = std::fs::read(path).map_err(|e| tls_err("cannot read", path, e))?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_err("bad PEM certificate in", path, e))?;
    if certs.is_empty() {
        return Err(tls_err("no certificate in", path, "empty"));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, RemoteError> {
    let pem = std::fs::read(path).map_err(|e| tls_err("cannot read", path, e))?;
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
            local_names: subject_names(&certs[0]),
        })
    }

    /// The post-handshake check of the rotating-keys engine: the peer's leaf
    /// certificate must share a subject name with this node's.
    pub fn check_peer(&self, peer_certs: Option<&[CertificateDer<'_>]>) -> Result<(), String> {
        let leaf = peer_certs
            .and_then(|c| c.first())
            .ok_or_else(|| "peer presented no certificate".to_string())?;
        let names = subject_names(leaf);
        if names.iter().any(|n| self.local_names.contains(n)) {
            Ok(())
        } else {
            Err(format!(
                "peer certificate names {names:?} share none with ours {:?}",
                self.local_names
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
