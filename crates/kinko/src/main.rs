//! The `kinko` binary. `kinko serve` runs the server; `kinko root migrate`, `kinko backup` and
//! `kinko restore` work on a data directory. Configuration comes from flags, then `KINKO_*`
//! environment variables, then a TOML file (`--config`), then defaults.

mod hygiene;

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::{Parser, Subcommand, ValueEnum};
use kinko_crypto::SecretBytes;
use kinko_server::{Config, FileConfig, Provider, RootOptions, Server};

#[derive(Debug, Parser)]
#[command(
    name = "kinko",
    version,
    about = "Kinko: a self-hosted key management service that speaks the AWS KMS API"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server (KMS API on POST /, health on GET /healthz).
    Serve(ServeArgs),
    /// Root-of-trust administration.
    Root {
        #[command(subcommand)]
        command: RootCommand,
    },
    /// Write a consistent backup of the database (key material stays wrapped) while the server runs.
    Backup {
        #[command(flatten)]
        location: Location,
        /// The backup file to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup into an empty data directory; refuses a different root of trust.
    Restore {
        /// The backup file.
        #[arg(long = "in")]
        input: PathBuf,
        #[command(flatten)]
        location: Location,
        #[command(flatten)]
        root: RootArgs,
    },
}

#[derive(Debug, Subcommand)]
enum RootCommand {
    /// Rewrap every key under a new root of trust. Interrupted, rerun it to finish.
    Migrate {
        #[command(flatten)]
        location: Location,
        /// The new provider.
        #[arg(long, value_enum)]
        to: RootChoice,
        #[command(flatten)]
        root: RootArgs,
        /// File holding the NEW passphrase (else KINKO_NEW_ROOT_PASSPHRASE, else a prompt).
        #[arg(long)]
        new_passphrase_file: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum RootChoice {
    File,
    Passphrase,
    Pkcs11,
}

impl From<RootChoice> for Provider {
    fn from(c: RootChoice) -> Provider {
        match c {
            RootChoice::File => Provider::File,
            RootChoice::Passphrase => Provider::Passphrase,
            RootChoice::Pkcs11 => Provider::Pkcs11,
        }
    }
}

#[derive(Debug, clap::Args)]
struct Location {
    /// TOML config file with any of: data_dir, listen, region, store.
    #[arg(long, env = "KINKO_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory: database, root key (file provider) and the credentials file.
    #[arg(long, env = "KINKO_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Storage URL [default: sqlite file <data-dir>/kinko.db].
    #[arg(long, env = "KINKO_STORE")]
    store: Option<String>,
}

#[derive(Debug, clap::Args)]
struct RootArgs {
    /// Root-of-trust provider [default: what the data directory records; `file` on a new one].
    #[arg(long = "root", value_enum, env = "KINKO_ROOT")]
    provider: Option<RootChoice>,
    /// File holding the passphrase (else KINKO_ROOT_PASSPHRASE, else a prompt on a terminal).
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
    /// PKCS#11 module, e.g. /usr/lib/softhsm/libsofthsm2.so. The PIN comes from KINKO_PKCS11_PIN.
    #[arg(long, env = "KINKO_PKCS11_MODULE")]
    pkcs11_module: Option<PathBuf>,
    /// PKCS#11 token label.
    #[arg(long, env = "KINKO_PKCS11_TOKEN")]
    pkcs11_token: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    location: Location,
    /// Address to listen on [default: 127.0.0.1:7700].
    #[arg(long, env = "KINKO_LISTEN")]
    listen: Option<String>,
    /// Default region [default: us-east-1]; requests use the region of their SigV4 scope.
    #[arg(long, env = "KINKO_REGION")]
    region: Option<String>,
    #[command(flatten)]
    root: RootArgs,
}

fn main() -> anyhow::Result<()> {
    hygiene::harden_process();
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KINKO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    hygiene::report();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
        Command::Root {
            command:
                RootCommand::Migrate {
                    location,
                    to,
                    root,
                    new_passphrase_file,
                },
        } => runtime.block_on(async move {
            let config = config(&location, None, None)?;
            let current = root_options(&root)?;
            let target = RootOptions {
                provider: Some(to.into()),
                passphrase: match to {
                    RootChoice::Passphrase => Some(read_passphrase(
                        new_passphrase_file.as_deref(),
                        "KINKO_NEW_ROOT_PASSPHRASE",
                        "New root passphrase: ",
                    )?),
                    _ => None,
                },
                pkcs11_module: root.pkcs11_module.clone(),
                pkcs11_token: root.pkcs11_token.clone(),
                pkcs11_pin: pin()?,
            };
            let report = kinko_server::migrate_root(&config, &current, to.into(), &target).await?;
            tracing::info!(
                materials = report.materials_rewrapped,
                access_keys = report.access_keys_rewrapped,
                already_done = report.already_done,
                "root migration finished: every key is now wrapped under the new root. Keep the old root until no backup needs it, then destroy it"
            );
            Ok(())
        }),
        Command::Backup { location, out } => runtime.block_on(async move {
            let config = config(&location, None, None)?;
            kinko_server::backup(&config, &out).await?;
            tracing::info!(out = %out.display(), "backup written; its key material is wrapped under this installation's root of trust");
            Ok(())
        }),
        Command::Restore {
            input,
            location,
            root,
        } => runtime.block_on(async move {
            let config = config(&location, None, None)?;
            let options = root_options(&root)?;
            kinko_server::restore(&input, &config, &options).await?;
            tracing::info!(data_dir = %config.data_dir.display(), "backup restored");
            Ok(())
        }),
    }
}

fn config(
    location: &Location,
    listen: Option<String>,
    region: Option<String>,
) -> anyhow::Result<Config> {
    let file = match &location.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    Config::resolve(
        file,
        location.data_dir.clone(),
        listen,
        region,
        location.store.clone(),
    )
}

fn pin() -> anyhow::Result<Option<SecretBytes>> {
    Ok(std::env::var_os("KINKO_PKCS11_PIN").map(|p| SecretBytes::new(p.into_encoded_bytes())))
}

/// The passphrase from a file, else an environment variable, else a prompt on a terminal.
fn read_passphrase(file: Option<&Path>, env: &str, prompt: &str) -> anyhow::Result<SecretBytes> {
    if let Some(path) = file {
        let mut bytes =
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        while bytes.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            bytes.pop();
        }
        return Ok(SecretBytes::new(bytes));
    }
    if let Some(value) = std::env::var_os(env) {
        return Ok(SecretBytes::new(value.into_encoded_bytes()));
    }
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        let typed = rpassword::prompt_password(prompt).context("reading the passphrase")?;
        return Ok(SecretBytes::new(typed.into_bytes()));
    }
    Err(anyhow!(
        "no passphrase: set {env}, pass a passphrase file, or run on a terminal"
    ))
}

fn root_options(args: &RootArgs) -> anyhow::Result<RootOptions> {
    let wants_passphrase = matches!(args.provider, Some(RootChoice::Passphrase));
    let passphrase = if args.passphrase_file.is_some()
        || std::env::var_os("KINKO_ROOT_PASSPHRASE").is_some()
        || wants_passphrase
    {
        Some(read_passphrase(
            args.passphrase_file.as_deref(),
            "KINKO_ROOT_PASSPHRASE",
            "Root passphrase: ",
        )?)
    } else {
        None
    };
    Ok(RootOptions {
        provider: args.provider.map(Provider::from),
        passphrase,
        pkcs11_module: args.pkcs11_module.clone(),
        pkcs11_token: args.pkcs11_token.clone(),
        pkcs11_pin: pin()?,
    })
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = config(&args.location, args.listen, args.region)?;
    let root = root_options(&args.root)?;
    let server = Server::open(&config, &root).await?;
    drop(root);
    let credentials = config.data_dir.join(kinko_server::CREDENTIALS_FILE);
    if let Some(key) = &server.new_access_key {
        tracing::info!(account = %key.account, access_key_id = %key.id, path = %credentials.display(),
            "first start: created the default account and wrote its root credentials");
    }
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    tracing::info!(
        %addr,
        data_dir = %config.data_dir.display(),
        "Kinko is listening; try: AWS_SHARED_CREDENTIALS_FILE={} aws --endpoint-url http://{addr} --region {} kms list-keys",
        credentials.display(),
        config.region
    );
    server.serve(listener, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: draining requests");
}
