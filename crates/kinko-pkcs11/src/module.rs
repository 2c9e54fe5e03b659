//! One loaded and initialised PKCS#11 context per module for the whole process.
//!
//! `C_Initialize` and `C_Finalize` act on the library, not on a handle: a second `Pkcs11::new` of
//! the same module shares the first one's state, and finalising it would pull the token out from
//! under every other root key (a re-open, a second provider, a test). So each module is
//! initialised once, with OS locking, and stays initialised until the process exits.
//!
//! `C_Initialize` itself need not be thread-safe (SoftHSM 2.6 tests and sets its "initialised"
//! flag without a lock; two racing calls corrupt its state), so everything in the process that
//! loads a module should come through here, where one mutex orders the loads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};

use crate::Pkcs11Error;
use crate::error::describe;

static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();

/// The initialised context of the module at `path`, loading it on first use.
pub(crate) fn load(path: &Path) -> Result<Pkcs11, Pkcs11Error> {
    let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut modules = MODULES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(ctx) = modules.get(&key) {
        return Ok(ctx.clone());
    }
    let failed = |reason: String| Pkcs11Error::ModuleLoad {
        module: path.to_path_buf(),
        reason,
    };
    if !path.exists() {
        return Err(failed(
            "no such file (for SoftHSM2 install the softhsm2 package)".to_owned(),
        ));
    }
    let ctx = Pkcs11::new(path).map_err(|e| failed(describe(&e)))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Someone else in this process initialised the library first: its state is shared.
        Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(failed(describe(&e))),
    }
    modules.insert(key, ctx.clone());
    Ok(ctx)
}
