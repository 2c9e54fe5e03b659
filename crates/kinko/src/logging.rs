//! Log setup: text (the default) or JSON lines on stderr, filtered by `KINKO_LOG` (default
//! `info`). The server wraps each request in a span carrying its request id, so every line a
//! request logs names it: `request{request_id=…}:` in text, `"span":{"request_id":…}` in JSON.
//! A line that cannot be written is dropped: logging never fails a request.

use anyhow::bail;

use crate::cli::{Cli, Command, LogFormat};

/// The log format of `kinko serve`: the flag, else the config file's `log_format`; text for
/// every other command.
fn format(cli: &Cli) -> anyhow::Result<LogFormat> {
    let Command::Serve(args) = &cli.command else {
        return Ok(LogFormat::Text);
    };
    if let Some(format) = args.log_format {
        return Ok(format);
    }
    let Some(path) = &args.location.config else {
        return Ok(LogFormat::Text);
    };
    match kinko_server::FileConfig::load(path)?.log_format.as_deref() {
        None | Some("text") => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        Some(other) => bail!(
            "log_format {other:?} in {}: expected text or json",
            path.display()
        ),
    }
}

/// Installs the process's subscriber.
pub(crate) fn init(cli: &Cli) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("KINKO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // A log line that cannot be written (a full disk, a file-size limit, a closed pipe) is
        // dropped. The default reports the failure with `eprintln!`, which panics when stderr
        // itself is the file that cannot be written, and takes the request down with it.
        .log_internal_errors(false);
    match format(cli)? {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    Ok(())
}
