//! Which public key to trust when verifying an installation, and the verdict: the key file the
//! operator passes, or else the key the store records, which the published PEM in the data
//! directory must then match.

use std::path::Path;

use kinko_core::Store;

use super::chain::verify_chains;
use super::report::{Verdict, VerifyError};
use crate::signing::{PUBLIC_KEY_FILE, read_pem_file, recorded_public_key};

/// `kinko audit verify --data-dir`: verifies an installation's trail (its store, its data
/// directory `data_dir`, and the chain of this node, `node_id`, which must be accounted for even
/// if its events were all deleted) with `public_key_file`, or else with the key the store
/// records, which `<data-dir>/audit-public-key.pem` must then match.
pub async fn verify_installation(
    store: &dyn Store,
    data_dir: &Path,
    node_id: &str,
    public_key_file: Option<&Path>,
) -> Result<Verdict, VerifyError> {
    let recorded = recorded_public_key(store).await?;
    let public_key = match public_key_file {
        Some(path) => {
            let trusted = read_pem_file(path)?;
            if recorded.as_ref().is_some_and(|r| *r != trusted) {
                return Ok(Verdict::Untrusted(format!(
                    "the store records a different audit public key than {}",
                    path.display()
                )));
            }
            trusted
        }
        None => {
            let recorded = recorded.ok_or(VerifyError::NoPublicKey)?;
            let published = data_dir.join(PUBLIC_KEY_FILE);
            if published.exists() {
                let file_key = read_pem_file(&published)?;
                if file_key != recorded {
                    return Ok(Verdict::Untrusted(format!(
                        "the published public key {} does not match the audit public key the store records",
                        published.display()
                    )));
                }
            }
            recorded
        }
    };
    match verify_chains(store, &public_key, &[node_id]).await {
        Ok(report) => Ok(Verdict::Intact(report)),
        Err(VerifyError::Broken(b)) => Ok(Verdict::Broken(b)),
        Err(e) => Err(e),
    }
}
