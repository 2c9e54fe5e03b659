//! SoftHSM2 set-up shared by the integration tests and the benchmark: a throwaway token
//! directory under Cargo's target tmp dir, a `softhsm2.conf` pointing at it, `SOFTHSM2_CONF`
//! set for this process, and tokens initialised with `softhsm2-util`. A missing SoftHSM2 is a
//! failure with install instructions, never a skip.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where Debian's softhsm2 package puts the module; `KINKO_PKCS11_MODULE` overrides it.
pub const DEFAULT_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
/// The security officer PIN of every test token.
pub const SO_PIN: &str = "5678";

const INSTALL_HINT: &str = "these tests need SoftHSM2: install it with \
    `apt-get update && apt-get install -y softhsm2` (Debian/Ubuntu), \
    or point KINKO_PKCS11_MODULE at libsofthsm2.so";

/// A SoftHSM2 installation with freshly initialised tokens.
#[derive(Debug)]
pub struct Hsm {
    /// The PKCS#11 module to load.
    pub module: PathBuf,
}

/// The module path: `KINKO_PKCS11_MODULE` or the Debian default.
pub fn module_path() -> PathBuf {
    std::env::var_os("KINKO_PKCS11_MODULE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_MODULE))
}

/// Wipes `<target tmp>/<name>`, writes a SoftHSM2 configuration there, sets `SOFTHSM2_CONF` for
/// this process and initialises one token per `(label, user PIN)`.
///
/// Must run before anything in this process loads the module (SoftHSM reads its configuration
/// in `C_Initialize`), and before other threads can read the environment: callers run it once,
/// inside a `OnceLock` that every test goes through first.
pub fn init(name: &str, tokens: &[(&str, &str)]) -> Result<Hsm, String> {
    let module = module_path();
    if !module.exists() {
        return Err(format!(
            "PKCS#11 module {} not found; {INSTALL_HINT}",
            module.display()
        ));
    }
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("removing {}: {e}", dir.display()))?;
    }
    let token_dir = dir.join("tokens");
    std::fs::create_dir_all(&token_dir)
        .map_err(|e| format!("creating {}: {e}", token_dir.display()))?;
    let conf = dir.join("softhsm2.conf");
    let text = format!(
        "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n\
         slots.removable = false\nslots.mechanisms = ALL\nlibrary.reset_on_fork = false\n",
        token_dir.display()
    );
    std::fs::write(&conf, text).map_err(|e| format!("writing {}: {e}", conf.display()))?;
    set_conf(&conf);

    for (label, pin) in tokens {
        let output = Command::new("softhsm2-util")
            .env("SOFTHSM2_CONF", &conf)
            .args(["--init-token", "--free", "--label", label])
            .args(["--pin", pin, "--so-pin", SO_PIN])
            .output()
            .map_err(|e| format!("running softhsm2-util: {e}; {INSTALL_HINT}"))?;
        if !output.status.success() {
            return Err(format!(
                "softhsm2-util --init-token --label {label} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    Ok(Hsm { module })
}

#[allow(unsafe_code)]
fn set_conf(conf: &Path) {
    // SAFETY: `init` runs inside a `OnceLock` initialiser that every test (or the benchmark's
    // single thread) passes before loading the module or starting threads of its own, so no
    // other thread reads or writes the environment while this runs.
    unsafe { std::env::set_var("SOFTHSM2_CONF", conf) };
}
