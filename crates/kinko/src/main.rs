//! The `kinko` binary. `kinko serve` runs the server; configuration comes from flags, then
//! `KINKO_*` environment variables, then a TOML file (`--config`), then defaults.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use kinko_server::{Config, FileConfig, Server};

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
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// TOML config file with any of: data_dir, listen, region, store.
    #[arg(long, env = "KINKO_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory: database, root key (file provider) and the credentials file.
    #[arg(long, env = "KINKO_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:7700].
    #[arg(long, env = "KINKO_LISTEN")]
    listen: Option<String>,
    /// Default region [default: us-east-1]; requests use the region of their SigV4 scope.
    #[arg(long, env = "KINKO_REGION")]
    region: Option<String>,
    /// Storage URL [default: sqlite file <data-dir>/kinko.db].
    #[arg(long, env = "KINKO_STORE")]
    store: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KINKO_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve(args) => serve(args),
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let file = match &args.config {
        Some(path) => FileConfig::load(path)?,
        None => FileConfig::default(),
    };
    let config = Config::resolve(file, args.data_dir, args.listen, args.region, args.store)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    runtime.block_on(async move {
        let server = Server::open(&config).await?;
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
    })
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
