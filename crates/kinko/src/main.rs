//! The `kinko` binary. `kinko serve` runs the server; `kinko root migrate`, `kinko backup`,
//! `kinko restore`, `kinko audit` (verify, query, tail, export) and `kinko report compliance`
//! work on a data directory;
//! `kinko store copy` copies a stopped installation's store into another (SQLite → PostgreSQL).
//! Configuration comes from flags, then `KINKO_*` environment variables, then a TOML file
//! (`--config`), then defaults.

mod cli;
mod hygiene;
mod logging;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::Parser;
use kinko_crypto::SecretBytes;
use kinko_server::listener::ListenerFileConfig;
use kinko_server::{Config, FileConfig, Provider, RootOptions, Server, with_installation};

use crate::cli::{
    AccountCommand, AuditCommand, AuthzCommand, Cli, Command, Location, ReportCommand,
    ReportFormat, RootArgs, RootChoice, RootCommand, ServeArgs, StoreCommand, TlsCommand,
};

/// mimalloc instead of glibc's allocator: a request makes many small short-lived allocations on
/// tokio's worker threads, where glibc's arenas spent ~17% of the server's CPU (`cargo xtask
/// profile encrypt`); mimalloc's thread-local free lists cut the server's CPU per Encrypt by
/// ~13-20% (kinko-bench, memory sink). Freed memory is not kept secret by either allocator:
/// secrets are zeroized by their types before they are freed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    hygiene::harden_process();
    let cli = Cli::parse();
    logging::init(&cli)?;
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
            let config = config(&location, FileConfig::default())?;
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
                sessions = report.sessions_rewrapped,
                already_done = report.already_done,
                "root migration finished: every key is now wrapped under the new root. Keep the old root until no backup needs it, then destroy it"
            );
            Ok(())
        }),
        Command::Backup { location, out } => runtime.block_on(async move {
            let config = config(&location, FileConfig::default())?;
            kinko_server::backup(&config, &out).await?;
            tracing::info!(out = %out.display(), "backup written; its key material is wrapped under this installation's root of trust");
            Ok(())
        }),
        Command::Restore {
            input,
            location,
            root,
        } => runtime.block_on(async move {
            let config = config(&location, FileConfig::default())?;
            let options = root_options(&root)?;
            kinko_server::restore(&input, &config, &options).await?;
            tracing::info!(data_dir = %config.data_dir.display(), "backup restored");
            Ok(())
        }),
        Command::Account {
            command:
                AccountCommand::Create {
                    location,
                    root,
                    out,
                },
        } => runtime.block_on(async move {
            let config = config(&location, FileConfig::default())?;
            let options = root_options(&root)?;
            let (account, path) =
                kinko_server::create_account(&config, &options, out.as_deref()).await?;
            let mut stdout = std::io::stdout().lock();
            writeln!(
                stdout,
                "created account {account}; its root access key is in {}",
                path.display()
            )?;
            Ok(())
        }),
        Command::Store {
            command: StoreCommand::Copy { from, to },
        } => runtime.block_on(async move {
            let report = kinko_server::copy_store(&from, &to).await?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "store copied and checked:")?;
            for (table, rows) in &report.tables {
                writeln!(out, "  {table}: {rows} rows")?;
            }
            for (chain, seq) in &report.chains {
                writeln!(out, "  audit chain {chain}: head at {seq}, equal in both stores")?;
            }
            writeln!(
                out,
                "serve the copy with the same root of trust (same data directory, passphrase or token)"
            )?;
            Ok(())
        }),
        Command::Authz {
            command:
                AuthzCommand::Explain {
                    location,
                    principal,
                    action,
                    key,
                    secret,
                    region,
                    context,
                    source_ip,
                },
        } => {
            if secret.is_some() && !action.starts_with("secretsmanager:") {
                anyhow::bail!("--secret goes with a secretsmanager: action, not {action}");
            }
            let config = config(&location, FileConfig::default())?;
            let mut pairs = std::collections::BTreeMap::new();
            for pair in &context {
                let (k, v) = pair
                    .split_once('=')
                    .ok_or_else(|| anyhow!("--context {pair}: expected KEY=VALUE"))?;
                pairs.insert(k.to_owned(), v.to_owned());
            }
            let request = kinko_server::ExplainRequest {
                principal_arn: principal,
                action,
                key: key.or(secret),
                region,
                context: pairs,
                source_ip,
            };
            let explanation =
                runtime.block_on(kinko_server::explain_installation(&config, &request))?;
            let mut out = std::io::stdout().lock();
            for line in &explanation.lines {
                writeln!(out, "{line}")?;
            }
            if !explanation.allowed {
                let _ = out.flush();
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Tls {
            command: TlsCommand::Init { data_dir, names },
        } => {
            let data_dir = data_dir.unwrap_or_else(|| PathBuf::from(kinko_server::DEFAULT_DATA_DIR));
            let made = kinko_server::dev_tls::init(&data_dir, &names)?;
            let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_owned());
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "made a development CA and a server certificate for localhost, 127.0.0.1 and ::1 (valid {} days; the CA's key was not kept)",
                kinko_server::dev_tls::VALID_DAYS
            )?;
            writeln!(
                out,
                "serve with:\n  kinko serve --data-dir {} --tls-cert {} --tls-key {}",
                data_dir.display(),
                absolute(&made.cert).display(),
                absolute(&made.key).display()
            )?;
            writeln!(
                out,
                "clients trust it with:\n  export AWS_CA_BUNDLE={}",
                absolute(&made.ca).display()
            )?;
            Ok(())
        }
        Command::Report {
            command: ReportCommand::Compliance { location, format },
        } => runtime.block_on(async move {
            let config = config(&location, FileConfig::default())?;
            let report = kinko_server::compliance_installation(&config).await?;
            let text = match format {
                ReportFormat::Json => kinko_server::compliance_json(&report),
                ReportFormat::Html => kinko_server::compliance_html(&report),
            };
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{text}")?;
            Ok(())
        }),
        Command::Audit { command } => {
            let intact = runtime.block_on(audit(command))?;
            if !intact {
                let _ = std::io::stdout().flush();
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

/// Runs an `audit` subcommand; false when verification found the trail broken (exit 1).
async fn audit(command: AuditCommand) -> anyhow::Result<bool> {
    let mut stdout = std::io::stdout().lock();
    let mut print = |record: &[u8]| -> std::io::Result<()> {
        stdout.write_all(record)?;
        stdout.write_all(b"\n")
    };
    match command {
        AuditCommand::Verify {
            location,
            public_key,
            export,
        } => {
            let verdict = match &export {
                Some(dir) => {
                    let key = public_key.as_deref().ok_or_else(|| {
                        anyhow!("--export needs --public-key: the key you trust, not one shipped with the export")
                    })?;
                    kinko_audit::verify_export_dir(dir, key)?
                }
                None => {
                    let config = config(&location, FileConfig::default())?;
                    with_installation(&config, async |store| {
                        kinko_audit::verify_installation(
                            store,
                            &config.data_dir,
                            &config.node_id,
                            public_key.as_deref(),
                        )
                        .await
                        .map_err(anyhow::Error::from)
                    })
                    .await?
                }
            };
            match verdict {
                kinko_audit::Verdict::Intact(report) => {
                    print(b"audit trail intact")?;
                    for line in report.summary_lines() {
                        print(format!("  {line}").as_bytes())?;
                    }
                    Ok(true)
                }
                kinko_audit::Verdict::Broken(at) => {
                    eprintln!("{at}");
                    Ok(false)
                }
                kinko_audit::Verdict::Untrusted(why) => {
                    eprintln!("audit trail cannot be trusted: {why}");
                    Ok(false)
                }
            }
        }
        AuditCommand::Query {
            location,
            filters,
            limit,
        } => {
            let config = config(&location, FileConfig::default())?;
            let filter = filters.selection().to_filter()?;
            with_installation(&config, async |store| {
                kinko_audit::query(store, &filter, limit, &mut print)
                    .await
                    .map_err(anyhow::Error::from)
            })
            .await?;
            Ok(true)
        }
        AuditCommand::Tail {
            location,
            filters,
            limit,
            follow,
        } => {
            let config = config(&location, FileConfig::default())?;
            let filter = filters.selection().to_filter()?;
            with_installation(&config, async |store| {
                kinko_audit::tail(store, &filter, limit, follow, &mut print)
                    .await
                    .map_err(anyhow::Error::from)
            })
            .await?;
            Ok(true)
        }
        AuditCommand::Export {
            location,
            out,
            filters,
            root,
        } => {
            let config = config(&location, FileConfig::default())?;
            let filter = filters.selection().to_filter()?;
            let options = root_options(&root)?;
            kinko_audit::ensure_new_export_dir(&out)?;
            let report = with_installation(&config, async |store| {
                let root = kinko_server::open_current_root(&config, store, &options);
                kinko_audit::export_installation(store, root, &out, &filter)
                    .await
                    .map_err(anyhow::Error::from)
            })
            .await?;
            drop(options);
            print(
                format!(
                    "exported {} records to {}: {} log files, {} digest files",
                    report.records,
                    report.out_dir.display(),
                    report.log_files,
                    report.digest_files
                )
                .as_bytes(),
            )?;
            Ok(true)
        }
    }
}

/// The config file `location` names (if any) under `overrides` and `location`'s own flags.
fn config(location: &Location, overrides: FileConfig) -> anyhow::Result<Config> {
    let file = match &location.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let overrides = FileConfig {
        data_dir: location.data_dir.clone(),
        store: location.store.clone(),
        ..overrides
    };
    Ok(Config::merge(file, overrides)?)
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
    let overrides = FileConfig {
        listen: args.listen,
        region: args.region,
        node_id: args.node_id,
        audit_digest_seconds: args.audit_digest_seconds,
        audit_retention_days: args.audit_retention_days,
        jobs_interval_seconds: args.jobs_interval_seconds,
        listener: ListenerFileConfig {
            tls_cert: args.tls_cert,
            tls_key: args.tls_key,
            max_connections: args.max_connections,
            header_timeout_seconds: args.header_timeout_seconds,
            body_timeout_seconds: args.body_timeout_seconds,
            idle_timeout_seconds: args.idle_timeout_seconds,
            shutdown_timeout_seconds: args.shutdown_timeout_seconds,
        },
        quotas: quota_flags(&args.quotas)?,
        rotation_functions: rotation_function_flags(&args.rotation_functions)?,
        max_requests_in_flight: args.max_requests_in_flight,
        metrics_listen: args.metrics_listen,
        ..FileConfig::default()
    };
    let mut config = config(&args.location, overrides)?;
    config.insecure_audit_memory_sink = args.insecure_audit_memory_sink;
    config.insecure_test_clock = args.insecure_test_clock;
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
    let scheme = if config.listener.tls.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(
        %addr,
        data_dir = %config.data_dir.display(),
        max_connections = config.listener.limits.max_connections,
        "Kinko is listening; try: AWS_SHARED_CREDENTIALS_FILE={} aws --endpoint-url {scheme}://{addr} --region {} kms list-keys",
        credentials.display(),
        config.region
    );
    let metrics = match config.metrics_listen {
        Some(metrics_addr) => {
            let metrics_listener = tokio::net::TcpListener::bind(metrics_addr)
                .await
                .with_context(|| format!("binding the metrics listener {metrics_addr}"))?;
            let bound = metrics_listener
                .local_addr()
                .context("reading the metrics listener's address")?;
            tracing::info!(addr = %bound, "serving Prometheus metrics at /metrics");
            let state = server.state.clone();
            Some(tokio::spawn(async move {
                let serving =
                    kinko_server::serve_metrics(metrics_listener, state, std::future::pending());
                if let Err(e) = serving.await {
                    tracing::error!(error = %e, "the metrics listener stopped");
                }
            }))
        }
        None => None,
    };
    server.serve(listener, shutdown_signal()).await?;
    if let Some(metrics) = metrics {
        metrics.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

/// The `--rotation-function ARN=URL` flags, later ones winning.
fn rotation_function_flags(
    flags: &[String],
) -> anyhow::Result<Option<std::collections::BTreeMap<String, String>>> {
    if flags.is_empty() {
        return Ok(None);
    }
    let mut map = std::collections::BTreeMap::new();
    for flag in flags {
        let (arn, url) = flag
            .split_once('=')
            .with_context(|| format!("--rotation-function {flag:?}: expected ARN=URL"))?;
        if !arn.starts_with("arn:") || !url.starts_with("http://") {
            anyhow::bail!("--rotation-function {flag:?}: expected a Lambda ARN = an http:// URL");
        }
        map.insert(arn.to_owned(), url.to_owned());
    }
    Ok(Some(map))
}

/// The `--quota NAME=RATE` flags, later ones winning.
fn quota_flags(
    flags: &[String],
) -> anyhow::Result<Option<std::collections::BTreeMap<String, kinko_server::quota::QuotaRate>>> {
    if flags.is_empty() {
        return Ok(None);
    }
    let mut map = std::collections::BTreeMap::new();
    for flag in flags {
        let (name, rate) = kinko_server::quota::parse_flag(flag)?;
        map.insert(name, rate);
    }
    Ok(Some(map))
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
