//! `kinko tls init`: a local certificate authority and a server certificate for `localhost`,
//! `127.0.0.1` and `::1`, for development and tests. Writes `<data-dir>/tls/ca.pem`,
//! `server.pem` and `server-key.pem` (mode 0600) and refuses to replace any of them. The CA's
//! private key is never written: it signs the one server certificate and is dropped, so nobody
//! who can read the data directory can mint certificates that clients trusting `ca.pem` accept.
//! To renew, remove `tls/` and run it again (clients then need the new `ca.pem`).

use std::io::Write;
use std::path::{Path, PathBuf};

use kinko_core::Clock;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};

/// The directory under the data directory.
pub const TLS_DIR: &str = "tls";
/// How long the certificates are valid.
pub const VALID_DAYS: i64 = 365;

/// What `kinko tls init` wrote.
#[derive(Debug, Clone)]
pub struct DevTls {
    /// The CA certificate clients trust (`AWS_CA_BUNDLE`).
    pub ca: PathBuf,
    /// The server's certificate (`--tls-cert`).
    pub cert: PathBuf,
    /// The server's private key (`--tls-key`), mode 0600.
    pub key: PathBuf,
}

/// Why the certificates could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DevTlsError {
    /// A file to be written exists already.
    #[error(
        "{0} exists: refusing to overwrite it (remove the tls directory to make new certificates)"
    )]
    Exists(PathBuf),
    /// Writing failed.
    #[error("writing {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// rcgen refused.
    #[error("making the certificates")]
    Certificate(#[from] rcgen::Error),
    /// The clock is outside what a certificate can carry.
    #[error("the system clock reads a time a certificate cannot carry")]
    Clock,
}

/// Makes the CA and the server certificate under `<data_dir>/tls/`.
pub fn init(data_dir: &Path, extra_names: &[String]) -> Result<DevTls, DevTlsError> {
    let dir = data_dir.join(TLS_DIR);
    let out = DevTls {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server-key.pem"),
    };
    for path in [&out.ca, &out.cert, &out.key] {
        if path.exists() {
            return Err(DevTlsError::Exists(path.clone()));
        }
    }
    let now = time::OffsetDateTime::from_unix_timestamp(kinko_core::SystemClock.now().as_secs())
        .map_err(|_| DevTlsError::Clock)?;
    let not_before = now - time::Duration::hours(1);
    let not_after = now + time::Duration::days(VALID_DAYS);

    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "Kinko development CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = not_before;
    ca.not_after = not_after;
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let server_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    names.extend(extra_names.iter().cloned());
    let mut server = CertificateParams::new(names)?;
    server
        .distinguished_name
        .push(DnType::CommonName, "Kinko development server");
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.use_authority_key_identifier_extension = true;
    server.not_before = not_before;
    server.not_after = not_after;
    let server_cert = server.signed_by(&server_key, &issuer)?;

    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(&dir).map_err(|source| DevTlsError::Io {
        path: dir.clone(),
        source,
    })?;
    let key_pem = kinko_crypto::SecretBytes::new(server_key.serialize_pem().into_bytes());
    write_new(&out.key, key_pem.expose(), 0o600)?;
    write_new(&out.cert, server_cert.pem().as_bytes(), 0o644)?;
    write_new(&out.ca, ca_cert.pem().as_bytes(), 0o644)?;
    Ok(out)
}

/// Creates `path` (never replacing a file) with `mode` and writes `bytes`.
fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), DevTlsError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let io = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            DevTlsError::Exists(path.to_owned())
        } else {
            DevTlsError::Io {
                path: path.to_owned(),
                source,
            }
        }
    };
    let mut file = options.open(path).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_a_pair_the_listener_loads_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().expect("tempdir");
        let made = init(dir.path(), &["kms.internal".to_owned()]).expect("init");
        let files = crate::listener::TlsFiles {
            cert: made.cert.clone(),
            key: made.key.clone(),
        };
        crate::listener::TlsServer::load(&files).expect("the listener loads what init made");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&made.key)
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let before = std::fs::read(&made.key).expect("key");
        assert!(matches!(
            init(dir.path(), &[]),
            Err(DevTlsError::Exists(p)) if p == made.ca
        ));
        assert_eq!(std::fs::read(&made.key).expect("key"), before);
    }
}
