//! Root-of-trust providers that need I/O. Today: `file`, a 32-byte key in a 0600 file in the
//! data directory, created on first start. It is the development default and says so at start.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use kinko_crypto::{RootKey, SecretBytes, SoftwareRootKey, random_secret};

/// File name of the `file` provider's key inside the data directory.
pub const ROOT_KEY_FILE: &str = "root.key";

/// Loads the `file` root key from `data_dir`, creating it (mode 0600) if it does not exist.
pub fn load_or_create_file_root(data_dir: &Path) -> anyhow::Result<Arc<dyn RootKey>> {
    let path = data_dir.join(ROOT_KEY_FILE);
    let key = if path.exists() {
        let bytes = SecretBytes::new(
            std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?,
        );
        if bytes.len() != 32 {
            bail!(
                "{} is not a Kinko root key (expected 32 bytes, found {})",
                path.display(),
                bytes.len()
            );
        }
        bytes
    } else {
        let key = random_secret(32).map_err(|e| anyhow::anyhow!("generating the root key: {e}"))?;
        write_private(&path, key.expose())?;
        key
    };
    tracing::warn!(
        path = %path.display(),
        "root of trust: `file` provider. The root key sits in a file next to the data; this is for development, not production"
    );
    Ok(Arc::new(
        SoftwareRootKey::new(&key, "file").map_err(|e| anyhow::anyhow!("{e}"))?,
    ))
}

/// Creates `path` with mode 0600 and writes `bytes`; fails if the file exists.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    file.sync_all()
        .with_context(|| format!("syncing {}", path.display()))?;
    Ok(())
}
