//! HTTPS: rustls on the aws-lc-rs provider, TLS 1.2 and 1.3 with AWS's cipher choices (ECDHE key
//! exchange with AES-GCM or ChaCha20-Poly1305; no CBC, no RSA key exchange). The certificate and
//! key are PEM files; [`TlsServer::reload`] reads them again (on SIGHUP) and swaps them in for new
//! handshakes, leaving open connections as they are. A bad new file keeps the old certificate.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::crypto::CryptoProvider;
use rustls::crypto::aws_lc_rs::cipher_suite;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_rustls::TlsAcceptor;

/// The certificate chain and private key files `kinko serve` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, the server's certificate first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why the certificate or key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("reading {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A file is not the PEM it should be.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What was wrong (no certificate, no key, bad PEM).
        what: String,
    },
    /// rustls refused the key, the pair, or the configuration.
    #[error("the TLS certificate and key in {cert} and {key} cannot be used")]
    Rustls {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason (no key material in it).
        #[source]
        source: rustls::Error,
    },
}

/// The crypto provider: aws-lc-rs with AWS's cipher suites.
fn provider() -> CryptoProvider {
    CryptoProvider {
        cipher_suites: vec![
            cipher_suite::TLS13_AES_128_GCM_SHA256,
            cipher_suite::TLS13_AES_256_GCM_SHA384,
            cipher_suite::TLS13_CHACHA20_POLY1305_SHA256,
            cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
            cipher_suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
            cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            cipher_suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        ],
        ..rustls::crypto::aws_lc_rs::default_provider()
    }
}

/// The certificate new handshakes get; swapped by [`TlsServer::reload`].
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // A poisoned lock still holds a whole Arc: the last certificate stored.
        Some(match self.0.read() {
            Ok(current) => current.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        })
    }
}

/// A TLS acceptor whose certificate can be replaced while it serves.
#[derive(Clone)]
pub struct TlsServer {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: Arc<Current>,
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsServer")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl TlsServer {
    /// Loads `files` and builds the server configuration.
    pub fn load(files: &TlsFiles) -> Result<TlsServer, TlsError> {
        let provider = Arc::new(provider());
        let key = load_pair(files, &provider)?;
        let current = Arc::new(Current(RwLock::new(Arc::new(key))));
        let rustls_error = |source| TlsError::Rustls {
            cert: files.cert.clone(),
            key: files.key.clone(),
            source,
        };
        let mut config = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(rustls_error)?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        // Kinko speaks HTTP/1.1 only.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsServer {
            files: files.clone(),
            provider,
            current,
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// The acceptor for new connections.
    pub fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    /// Reads the certificate and key files again; on success new handshakes present the new
    /// certificate. On failure nothing changes and the error says why.
    pub fn reload(&self) -> Result<(), TlsError> {
        let key = Arc::new(load_pair(&self.files, &self.provider)?);
        match self.current.0.write() {
            Ok(mut current) => *current = key,
            Err(poisoned) => *poisoned.into_inner() = key,
        }
        Ok(())
    }

    /// The files this server reads.
    pub fn files(&self) -> &TlsFiles {
        &self.files
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Reads and checks a certificate chain and its key: the key must belong to the first
/// certificate.
fn load_pair(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let pem_error = |path: &Path, what: String| TlsError::Pem {
        path: path.to_owned(),
        what,
    };
    let cert_pem = read(&files.cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(&files.cert, format!("not a PEM certificate chain ({e})")))?;
    if chain.is_empty() {
        return Err(pem_error(&files.cert, "holds no CERTIFICATE block".into()));
    }
    let key_pem = kinko_crypto::SecretBytes::new(read(&files.key)?);
    // The parse error names the PEM problem, never the key's bytes.
    let key = PrivateKeyDer::from_pem_slice(key_pem.expose())
        .map_err(|e| pem_error(&files.key, format!("no usable PEM private key ({e})")))?;
    CertifiedKey::from_der(chain, key, provider).map_err(|source| TlsError::Rustls {
        cert: files.cert.clone(),
        key: files.key.clone(),
        source,
    })
}
