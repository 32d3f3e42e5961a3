//! Structured logs (tracing): text for people, JSON lines for machines, on stderr.

use crate::config::Config;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber per the configuration.
pub fn init(config: &Config) -> anyhow::Result<()> {
    let filter =
        EnvFilter::try_new(&config.log).map_err(|e| anyhow::anyhow!("invalid log filter `{}`: {e}", config.log))?;
    // Colours only for a terminal: a log file or collector gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    let result = if config.log_json { builder.json().try_init() } else { builder.try_init() };
    // A second init (tests running several commands in one process) keeps the first subscriber.
    let _ = result;
    Ok(())
}
