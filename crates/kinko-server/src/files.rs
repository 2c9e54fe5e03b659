//! The data directory's private files: the directory itself (0700), files created 0600 that
//! must not exist yet (root key, backup), and the credentials file written on first start. Their
//! errors name the file, never what it holds.

use std::io::Write;
use std::path::{Path, PathBuf};

use kinko_core::NewAccessKey;

/// A file or directory operation that failed, naming the path.
#[derive(Debug, thiserror::Error)]
#[error("{what} {}", path.display())]
pub struct FileError {
    /// The step: `creating`, `writing`, `syncing`, `reading`, `copying`, ...
    pub what: &'static str,
    /// The file or directory.
    pub path: PathBuf,
    /// The system's error.
    #[source]
    pub source: std::io::Error,
}

impl FileError {
    /// A `map_err` adapter naming the step and the path.
    pub(crate) fn at(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FileError {
        let path = path.to_owned();
        move |source| FileError { what, path, source }
    }
}

/// Why the credentials file could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// The secret is not UTF-8 (never happens with keys Kinko makes); the secret is not shown.
    #[error("secret access key is not text")]
    NotText(#[source] std::str::Utf8Error),
    /// Writing the file failed.
    #[error(transparent)]
    File(#[from] FileError),
}

/// Creates `dir` (and its parents) with mode 0700.
pub(crate) fn create_private_dir(dir: &Path) -> Result<(), FileError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(FileError::at("creating data directory", dir))
}

/// Creates `path` with mode 0600 and writes `bytes`; fails if the file exists.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(FileError::at("creating", path))?;
    file.write_all(bytes)
        .map_err(FileError::at("writing", path))?;
    file.sync_all().map_err(FileError::at("syncing", path))?;
    Ok(())
}

/// Writes the AWS shared-credentials file (profile `default`, mode 0600), replacing an old one.
pub(crate) fn write_credentials(path: &Path, key: &NewAccessKey) -> Result<(), CredentialsError> {
    let secret = std::str::from_utf8(key.secret.expose()).map_err(CredentialsError::NotText)?;
    let text = kinko_crypto::SecretBytes::new(
        format!(
            "# Kinko credentials for {} (account {}).\n[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            key.principal_arn, key.account, key.id, secret
        )
        .into_bytes(),
    );
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    write_private(&tmp, text.expose())?;
    std::fs::rename(&tmp, path).map_err(FileError::at("writing", path))?;
    Ok(())
}
